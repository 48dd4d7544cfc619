"""Shared helpers of the benchmark suite.

Run with ``pytest bench/ --benchmark-json=FILE``; ``bench/report.py FILE``
turns the JSON into the tables and plot of ``docs/BENCHMARKS.md``.  Each
benchmark warms up outside the timing, checks its output, and pins the BLAS
thread count for its own block.
"""

import os
import platform
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import jsae_fast

PENALTIES = {"sparsity_target": 0.1, "weight_decay": 3e-3, "sparsity_weight": 3.0,
             "jacobian_weight": 0.1}
AVAILABLE = [name for name, info in jsae_fast.backends().items() if info["available"]]
DTYPES = {"float32": np.float32, "float64": np.float64}

#: Seconds to wait before a timed block.  OpenBLAS workers keep spinning for
#: about 0.1 s after a call, and OpenMP workers for a shorter while.  A block
#: that starts during that time shares the cores with them.
SETTLE_SECONDS = 0.3


def settle():
    """Wait until worker threads left spinning by earlier work have gone to sleep."""
    time.sleep(SETTLE_SECONDS)


def make_problem(m, n, s, dtype, seed=0):
    """Return data in [0, 1] and parameters of the given shape and dtype."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, n), dtype=np.float64).astype(dtype)
    params = jsae_fast.init_params(n, s, dtype=dtype, random_state=seed)
    return X, params


class FiveProducts:
    """The five bare matrix products of one cost evaluation, with preallocated outputs.

    Their time is the machine's limit for one evaluation: every backend must
    do at least these ``10 m n s`` floating-point operations.
    """

    def __init__(self, X, W, V):
        m, n = X.shape
        s = W.shape[0]
        self.X, self.W, self.V = X, W, V
        self.H = np.empty((m, s), dtype=X.dtype)
        self.Z = np.empty((m, n), dtype=X.dtype)
        self.D1 = np.empty((m, s), dtype=X.dtype)
        self.gV = np.empty((n, s), dtype=X.dtype)
        self.gW = np.empty((s, n), dtype=X.dtype)

    def __call__(self):
        np.matmul(self.X, self.W.T, out=self.H)      # encode
        np.matmul(self.H, self.V.T, out=self.Z)      # decode
        np.matmul(self.Z.T, self.H, out=self.gV)     # decoder gradient
        np.matmul(self.Z, self.V, out=self.D1)       # back to the hidden layer
        np.matmul(self.D1.T, self.X, out=self.gW)    # encoder gradient
        return self.gW


@pytest.fixture
def blas_threads():
    """Return a function that pins BLAS to a thread count for the rest of the test."""
    limiters = []

    def pin(n_threads):
        limiters.append(threadpool_limits(limits=n_threads, user_api="blas"))

    yield pin
    for limiter in reversed(limiters):
        limiter.restore_original_limits()


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["jsae_fast"] = jsae_fast.__version__
    machine_info["numpy"] = np.__version__
    machine_info["backends"] = {k: v["available"] for k, v in jsae_fast.backends().items()}
    machine_info["blas"] = [
        {k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
        for lib in threadpool_info()
    ]
    machine_info["cpu_count"] = os.cpu_count()
    machine_info["load_average"] = os.getloadavg()
    machine_info["python"] = platform.python_version()
