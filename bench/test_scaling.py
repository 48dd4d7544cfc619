"""Scaling study: time of one evaluation as m, n and s grow, one axis at a time.

The fast backends cost O(m n s), so the fitted growth exponent on each axis
should be near 1.  The naive reference differentiates each sample's explicit
Jacobian at O(m n^2 s) and runs at small sizes only; its exponent in ``n``
should be near 2.  ``bench/report.py`` fits the exponents.
"""

import os

import numpy as np
import pytest
from conftest import AVAILABLE, DTYPES, PENALTIES, FiveProducts, make_problem, settle

import jsae_fast
from jsae_fast import reference

# Geometric grids around the MNIST shape (m, n, s) = (m, 784, 196).
BASE = {"m": 4000, "n": 784, "s": 196}
GRID = {"m": [1000, 2000, 4000, 8000, 16000],
        "n": [196, 392, 784, 1568, 3136],
        "s": [49, 98, 196, 392, 784]}
# Thread counts of the study; JSAE_BENCH_THREADS="2" runs a shorter study.
THREAD_COUNTS = [int(t) for t in os.environ.get("JSAE_BENCH_THREADS", "1,2").split(",")]
# The reference's n^2 term dominates its per-sample Python overhead only from
# a few hundred features on, so its grid starts there.
REFERENCE_BASE = {"m": 8, "n": 256, "s": 8}
REFERENCE_GRID = {"m": [4, 8, 16, 32], "n": [128, 256, 512, 1024], "s": [4, 8, 16, 32]}


def _cases(base, grid):
    for axis, values in grid.items():
        for value in values:
            shape = dict(base, **{axis: value})
            yield pytest.param(axis, (shape["m"], shape["n"], shape["s"]),
                               id=f"{axis}-m{shape['m']}-n{shape['n']}-s{shape['s']}")


@pytest.mark.parametrize("threads", THREAD_COUNTS, ids=lambda t: f"threads={t}")
@pytest.mark.parametrize("backend", AVAILABLE)
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("axis,shape", list(_cases(BASE, GRID)))
def test_scaling(benchmark, axis, shape, dtype, backend, threads):
    X, p = make_problem(*shape, DTYPES[dtype])
    benchmark.group = f"scaling {axis} {dtype} {backend} threads={threads}"
    benchmark.extra_info.update(axis=axis, m=shape[0], n=shape[1], s=shape[2], dtype=dtype,
                                impl=backend, threads=threads)

    def run():
        return jsae_fast.loss_and_grad(X, **p, **PENALTIES, backend=backend,
                                       n_threads=threads)

    settle()
    loss, _ = benchmark.pedantic(run, rounds=5, warmup_rounds=2)
    assert np.isfinite(loss)


@pytest.mark.parametrize("threads", THREAD_COUNTS, ids=lambda t: f"threads={t}")
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("axis,shape", list(_cases(BASE, GRID)))
def test_scaling_gemm(benchmark, blas_threads, axis, shape, dtype, threads):
    """The five bare products on the same grid: the growth any backend can reach."""
    X, p = make_problem(*shape, DTYPES[dtype])
    blas_threads(threads)
    products = FiveProducts(X, p["W"], p["V"])
    benchmark.group = f"scaling {axis} {dtype} gemm threads={threads}"
    benchmark.extra_info.update(axis=axis, m=shape[0], n=shape[1], s=shape[2], dtype=dtype,
                                impl="gemm", threads=threads)
    settle()
    result = benchmark.pedantic(products, rounds=5, warmup_rounds=2)
    assert np.isfinite(result).all()


@pytest.mark.parametrize("axis,shape", list(_cases(REFERENCE_BASE, REFERENCE_GRID)))
def test_scaling_reference(benchmark, axis, shape):
    X, p = make_problem(*shape, np.float64)
    benchmark.group = f"scaling {axis} float64 reference threads=1"
    benchmark.extra_info.update(axis=axis, m=shape[0], n=shape[1], s=shape[2],
                                dtype="float64", impl="reference", threads=1)

    def run():
        return reference.loss_and_grad(X, **p, **PENALTIES)

    settle()
    loss, grads = benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    fast, fast_grads = jsae_fast.loss_and_grad(X, **p, **PENALTIES, backend="numpy")
    assert loss == pytest.approx(fast, rel=1e-9)
    np.testing.assert_allclose(grads["W"], fast_grads["W"], rtol=1e-7, atol=1e-12)
