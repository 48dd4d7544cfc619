"""Compare kernel builds and block sizes with interleaved timing blocks.

Usage: ``python bench/interleaved.py M N S [ROUNDS]`` from the repository root.

Each round times the five bare products (``FiveProducts``) on 2 BLAS
threads, then every (build, block size) setting of the Cython kernel on 2
OpenMP threads, each in a block of 10 calls after 2 warm-up calls.  The
order of the settings is reversed every other round, so that slow phases of
a shared machine hit all settings alike.  The script prints, for each setting, the
median over rounds of the block medians divided by that of the products.
Builds that were not compiled or that the CPU cannot run are skipped.
"""

import importlib
import sys
import time

import numpy as np
from conftest import PENALTIES, FiveProducts, make_problem
from threadpoolctl import threadpool_limits

from jsae_fast import _cython_backend

THREADS = 2
BLOCK_SIZES = (256, 512)


def block_median_ms(call, calls=10, warmup=2):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main(argv):
    m, n, s = (int(value) for value in argv[1:4])
    rounds = int(argv[4]) if len(argv) > 4 else 8
    X, p = make_problem(m, n, s, np.float32)
    products = FiveProducts(X, p["W"], p["V"])
    supported = _cython_backend.supported_simd_levels()
    builds = {name: importlib.import_module(module)
              for name, module, _ in _cython_backend.SIMD_LEVELS
              if name in supported and name != "baseline"}
    settings = [(build, size) for build in builds for size in BLOCK_SIZES]
    times = {setting: [] for setting in settings}
    gemm = []
    for round_index in range(rounds):
        with threadpool_limits(THREADS, user_api="blas"):
            gemm.append(block_median_ms(products))
        order = settings if round_index % 2 == 0 else settings[::-1]
        with threadpool_limits(1, user_api="blas"):
            for build, size in order:
                kernels = builds[build]

                def call():
                    return kernels.loss_and_grad(X, p["W"], p["b"], p["V"], p["c"],
                                                 *PENALTIES.values(), block_size=size,
                                                 n_threads=THREADS)

                times[build, size].append(block_median_ms(call))
    products_ms = float(np.median(gemm))
    print(f"(m, n, s) = ({m}, {n}, {s}), float32, {THREADS} threads: bare products "
          f"{products_ms:.2f} ms")
    for (build, size), values in times.items():
        print(f"  {build}, {size}-row blocks: {np.median(values) / products_ms:.3f}")


if __name__ == "__main__":
    main(sys.argv)
