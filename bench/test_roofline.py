"""One cost evaluation against the five bare matrix products of the same shapes.

For each shape and dtype the group contains the numpy products (``gemm``) and
every available backend, all on the same thread count; the ratio
backend / gemm is how close a backend comes to the machine's limit.
"""

import numpy as np
import pytest
from conftest import AVAILABLE, DTYPES, PENALTIES, FiveProducts, make_problem, settle

import jsae_fast

SHAPES = [(10000, 784, 196), (60000, 784, 196)]


def _shape_id(shape):
    return "m{}-n{}-s{}".format(*shape)


@pytest.mark.parametrize("impl", ["gemm"] + AVAILABLE)
@pytest.mark.parametrize("threads", [2, 1], ids=lambda t: f"threads={t}")
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("shape", SHAPES, ids=_shape_id)
def test_roofline(benchmark, blas_threads, shape, dtype, threads, impl):
    if threads == 1 and shape[0] > 10000:
        pytest.skip("the one-thread comparison runs at m=10000 only")
    X, p = make_problem(*shape, DTYPES[dtype])
    benchmark.group = f"roofline {_shape_id(shape)} {dtype} threads={threads}"
    benchmark.extra_info.update(m=shape[0], n=shape[1], s=shape[2], dtype=dtype,
                                impl=impl, threads=threads)
    rounds = 10 if shape[0] <= 10000 else 4
    if impl == "gemm":
        blas_threads(threads)
        products = FiveProducts(X, p["W"], p["V"])
        settle()
        result = benchmark.pedantic(products, rounds=rounds, warmup_rounds=2)
        assert np.all(np.isfinite(result))
        return

    def run():
        return jsae_fast.loss_and_grad(X, **p, **PENALTIES, backend=impl, n_threads=threads)

    settle()
    loss, grads = benchmark.pedantic(run, rounds=rounds, warmup_rounds=2)
    expected, _ = jsae_fast.loss_and_grad(X, **p, **PENALTIES, backend="numpy",
                                          n_threads=threads)
    assert loss == pytest.approx(expected, rel=1e-4 if dtype == "float32" else 1e-9)
    assert np.all(np.isfinite(grads["W"]))
