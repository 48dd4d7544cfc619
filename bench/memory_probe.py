"""Measure the peak memory of one ``loss_and_grad`` call beyond its inputs.

Run as ``python bench/memory_probe.py BACKEND M N S DTYPE THREADS``; prints one
JSON line.  Linux only: the probe resets the kernel's peak-RSS counter
(``/proc/self/clear_refs``) after the inputs exist and a warm-up call has
run, then reads the new peak (``VmHWM``) after one more call.
"""

import json
import sys

import numpy as np

import jsae_fast


def _status_kib(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def main(argv):
    backend, m, n, s, dtype, threads = argv
    m, n, s, threads = int(m), int(n), int(s), int(threads)
    rng = np.random.default_rng(0)
    X = rng.random((m, n), dtype=np.float32 if dtype == "float32" else np.float64)
    params = jsae_fast.init_params(n, s, dtype=X.dtype, random_state=0)
    penalties = {"sparsity_target": 0.1, "weight_decay": 3e-3, "sparsity_weight": 3.0,
                 "jacobian_weight": 0.1}
    # The warm-up loads libraries, compiles Numba code and starts thread pools,
    # none of which belongs to the call's working memory.
    _, grads = jsae_fast.loss_and_grad(X, **params, **penalties, backend=backend,
                                       n_threads=threads)
    del grads
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = _status_kib("VmRSS")
    _, grads = jsae_fast.loss_and_grad(X, **params, **penalties, backend=backend,
                                       n_threads=threads)
    peak = _status_kib("VmHWM")
    extra = (peak - before) * 1024
    print(json.dumps({"backend": backend, "m": m, "n": n, "s": s, "dtype": dtype,
                      "threads": threads, "x_bytes": X.nbytes, "extra_bytes": extra,
                      "extra_fraction_of_x": extra / X.nbytes}))


if __name__ == "__main__":
    main(sys.argv[1:])
