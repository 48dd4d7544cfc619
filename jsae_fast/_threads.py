"""Thread-count resolution and BLAS thread limits shared by every backend."""

import contextlib
import functools
import os
import numbers

from threadpoolctl import ThreadpoolController


#: Largest accepted ``n_threads``: this many threads per usable core, but
#: never fewer than MIN_THREAD_LIMIT, so that tests with odd thread counts run
#: on small machines.
THREADS_PER_CORE_LIMIT = 4
MIN_THREAD_LIMIT = 8


def _usable_cpu_count():
    """Return the number of CPUs this process may run on."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    # A cgroup CPU quota (containers) can be lower than the affinity mask.
    try:
        with open("/sys/fs/cgroup/cpu.max") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def resolve_n_threads(n_threads):
    """Turn the public ``n_threads`` argument into a positive thread count.

    ``None`` means every usable core, capped by ``OMP_NUM_THREADS`` when that
    variable is set to a positive integer.  Positive integers are used as
    given, up to four per usable core (at least 8).

    Raises
    ------
    TypeError
        If ``n_threads`` is not an integer.
    ValueError
        If ``n_threads`` is zero, negative or above the limit.
    """
    if n_threads is None:
        count = _usable_cpu_count()
        env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
        if env.isdigit() and int(env) > 0:
            count = min(count, int(env))
        return count
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(
            f"n_threads must be a positive integer or None, got {n_threads!r} "
            f"of type {type(n_threads).__name__}."
        )
    if n_threads < 1:
        raise ValueError(
            f"n_threads must be a positive integer or None (all cores), got {n_threads}."
        )
    # Far more threads than cores only slows the kernels down, and OpenMP
    # runtimes crash or abort when asked for tens of thousands.  Counts up to
    # MIN_THREAD_LIMIT are always allowed, so they skip reading the affinity
    # mask and the cgroup quota, which the kernels would otherwise do on
    # every call.
    if n_threads <= MIN_THREAD_LIMIT:
        return int(n_threads)
    limit = max(MIN_THREAD_LIMIT, THREADS_PER_CORE_LIMIT * _usable_cpu_count())
    if n_threads > limit:
        raise ValueError(
            f"n_threads={n_threads} is more than {THREADS_PER_CORE_LIMIT} times the "
            f"{_usable_cpu_count()} usable cores (at most {limit}); pass None to use "
            f"every core."
        )
    return int(n_threads)


@functools.lru_cache(maxsize=1)
def _controller():
    # Building a controller scans the loaded shared libraries, which takes
    # milliseconds, so it is done once per process.  SciPy's BLAS, which the
    # compiled kernels call through scipy.linalg.cython_blas, must be loaded
    # before the scan so that its thread count is controlled too.
    import scipy.linalg  # noqa: F401

    return ThreadpoolController()


def blas_limits(n_threads):
    """Return a context manager that caps BLAS libraries at ``n_threads`` threads."""
    try:
        return _controller().limit(limits=int(n_threads), user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl failure is not fatal
        return contextlib.nullcontext()
