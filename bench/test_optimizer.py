"""The L-BFGS optimizer's passes over parameter-length vectors, NumPy against compiled.

The vectors have the 308,700 parameters of a 196-unit untied JSAE on 784
inputs, float32, and the history has the 20 rows of 10 curvature pairs:
the sizes of the Trainer fit in ``test_trainer_fit.py``.  BLAS runs on one
thread, as in the Trainer.
"""

import numpy as np
import pytest
from conftest import settle

from jsae_fast import _vectors

N = 784 * 196 * 2 + 196 + 784
ROWS = 20
IMPLS = [("numpy", 1)] + ([("compiled", 1), ("compiled", 2)] if _vectors.COMPILED else [])


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    a, b, c, d = (rng.standard_normal(N).astype(np.float32) for _ in range(4))
    history = rng.standard_normal((ROWS, N)).astype(np.float32)
    coefficients = rng.standard_normal(ROWS)
    return a, b, c, d, history, coefficients


def _operations(ops, threads, vectors):
    a, b, c, d, history, coefficients = vectors
    out, s, y = (np.empty(N, np.float32) for _ in range(3))
    return {
        "dot": lambda: ops.dot(a, b, threads),
        "step_point": lambda: ops.step_point(a, b, 0.5, out, threads),
        "curvature_pair": lambda: ops.curvature_pair(a, b, c, d, s, y, threads),
        "rows_dot": lambda: ops.rows_dot(history, a, threads),
        "combine_rows": lambda: ops.combine_rows(history, coefficients, a, -0.5, out,
                                                 threads),
    }


@pytest.mark.parametrize("operation", ["dot", "step_point", "curvature_pair", "rows_dot",
                                       "combine_rows"])
@pytest.mark.parametrize("impl, threads", IMPLS, ids=[f"{i}-{t}" for i, t in IMPLS])
def test_vector_pass(benchmark, blas_threads, vectors, operation, impl, threads):
    blas_threads(1)
    ops = _vectors.get(impl == "compiled")
    call = _operations(ops, threads, vectors)[operation]
    benchmark.group = f"lbfgs {operation} n={N} float32"
    benchmark.extra_info.update(impl=impl, threads=threads, n=N, rows=ROWS)
    settle()
    benchmark.pedantic(call, rounds=200, warmup_rounds=10)
