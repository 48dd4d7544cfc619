"""A whole Trainer fit against the bare products of its cost evaluations.

400 L-BFGS iterations of a 196-unit JSAE on 2000 images of the embedded MNIST
sample, float32.  The fit's time divided by (evaluations x time of the five
bare products at (2000, 784, 196)) is the overhead factor of the optimizer,
the validation and the kernel over the machine's limit.
"""

import warnings

import numpy as np
import pytest
from conftest import AVAILABLE, PENALTIES, FiveProducts, settle

import jsae_fast
import jsae_fast._vectors

THREADS = 2


@pytest.fixture(scope="module")
def images():
    X, _ = jsae_fast.datasets.load_mnist_sample(dtype=np.float32)
    return np.ascontiguousarray(X[:2000])


def test_fit_products(benchmark, blas_threads, images):
    params = jsae_fast.init_params(784, 196, dtype=np.float32, random_state=0)
    benchmark.group = "trainer fit 2000x784x196 float32"
    benchmark.extra_info.update(impl="gemm", m=2000, n=784, s=196, threads=THREADS)
    blas_threads(THREADS)
    settle()
    benchmark.pedantic(FiveProducts(images, params["W"], params["V"]), rounds=30,
                       warmup_rounds=3)


@pytest.mark.parametrize("backend, vector_passes",
                         [(name, "compiled") for name in AVAILABLE]
                         + [("cython", "numpy")] if "cython" in AVAILABLE else [])
def test_fit(benchmark, images, backend, vector_passes, monkeypatch):
    if vector_passes == "numpy":
        # The optimizer's NumPy passes, for a comparison in the same run.
        monkeypatch.setattr(jsae_fast._vectors, "COMPILED_OPS", None)
    elif not jsae_fast._vectors.COMPILED:
        vector_passes = "numpy"
    benchmark.group = "trainer fit 2000x784x196 float32"
    start = jsae_fast.init_params(784, 196, dtype=np.float32, random_state=0)
    trainer = jsae_fast.Trainer(max_iter=400, backend=backend, n_threads=THREADS)
    results = []

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = trainer.fit(images, start, **PENALTIES)
        results.append(result)
        return result

    settle()
    result = benchmark.pedantic(fit, rounds=1, warmup_rounds=0)
    impl = backend if vector_passes == "compiled" else f"{backend}, numpy vector passes"
    benchmark.extra_info.update(impl=impl, n_iter=result.n_iter,
                                n_evaluations=result.n_evaluations, threads=THREADS)
    assert result.loss_history[-1] < result.loss_history[0]
