"""A whole Trainer fit against the bare products of its cost evaluations.

400 L-BFGS iterations of a 196-unit JSAE on 2000 images of the embedded MNIST
sample, float32.  The fit's time divided by (evaluations x time of the five
bare products at (2000, 784, 196)) is the overhead factor of the optimizer,
the validation and the kernel over the machine's limit.
"""

import warnings

import numpy as np
import pytest
from conftest import AVAILABLE, PENALTIES, FiveProducts

import jsae_fast

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
    benchmark.pedantic(FiveProducts(images, params["W"], params["V"]), rounds=30,
                       warmup_rounds=3)


@pytest.mark.parametrize("backend", AVAILABLE)
def test_fit(benchmark, images, backend):
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

    result = benchmark.pedantic(fit, rounds=1, warmup_rounds=0)
    benchmark.extra_info.update(impl=backend, n_iter=result.n_iter,
                                n_evaluations=result.n_evaluations, threads=THREADS)
    assert result.loss_history[-1] < result.loss_history[0]
