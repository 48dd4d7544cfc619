# cython: language_level=3
"""Multithreaded passes over long vectors for jsae_fast's L-BFGS.

Design
------
One L-BFGS iteration of a 196-unit model on MNIST-sized inputs touches
vectors of 308,700 parameters a few dozen times: dot products, the trial
point ``x + t d``, the new curvature pair and two passes over the history of
20 such vectors.  Each pass is bound by memory bandwidth.  NumPy runs them on
one thread and needs temporaries for float64-accumulated float32 dot
products; BLAS level-2 calls on several threads leave OpenBLAS workers
spinning into the next call of the (OpenMP) cost kernel.  The functions here
fuse each step into one pass and share it out over OpenMP threads, the same
thread pool the Cython cost kernel uses.

Reproducibility.  Every sum is cut into chunks of ``CHUNK`` consecutive
elements.  Within a chunk, element ``i`` goes to lane ``i % 8`` of eight
float64 accumulators, which the compiler keeps in vector registers; the
lanes are then added in order, and the chunks' partial sums are added in
chunk order after the parallel loop.  The grouping is fixed by the code, not
by the compiler or the thread count, so a result depends neither on the
number of threads nor on how the OpenMP runtime schedules the chunks.
Products of float32 values are rounded to float32 before they are added,
as in ``numpy.multiply`` followed by a float64 sum.

The two passes over the curvature history (``rows_dot`` and
``combine_rows``) call BLAS ``gemv`` once per chunk instead, because a
hand-written float64-accumulated loop ran about three times slower than
OpenBLAS's ``sgemv`` (one thread, float32, 20 rows of 308,700 values).
``rows_dot`` therefore sums within a chunk in the input type and adds the
chunks in float64, in chunk order; the result still does not depend on the
thread count.

The Python-level functions check shapes and dtypes while they hold the GIL
and raise ValueError with the offending shapes; the loops run without it.
Without OpenMP the module builds and runs on one thread.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemv, sgemv

import numpy as np

cdef enum:
    _CHUNK = 8192
    # Accumulators per sum; the loops below step by this literal value.
    _LANES = 8

#: Elements per chunk of a reduction (32 KiB of float32 values).
CHUNK = _CHUNK


cdef inline Py_ssize_t _n_chunks(Py_ssize_t n) noexcept nogil:
    return (n + _CHUNK - 1) // _CHUNK


cdef inline double _add_lanes(const double *acc) noexcept nogil:
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))


cdef inline double _dot_ptr(const floating *a, const floating *b,
                            Py_ssize_t n) noexcept nogil:
    """Return sum a[i] b[i] in float64 lanes, products rounded to the input type."""
    cdef double acc[_LANES]
    cdef Py_ssize_t i, j, full = n - n % _LANES
    cdef floating p
    for j in range(_LANES):
        acc[j] = 0.0
    for i in range(0, full, 8):
        for j in range(_LANES):
            p = a[i + j] * b[i + j]
            acc[j] += <double> p
    for i in range(full, n):
        p = a[i] * b[i]
        acc[i - full] += <double> p
    return _add_lanes(acc)


cdef inline void _pair_ptr(const floating *x_new, const floating *x, const floating *g_new,
                           const floating *g, floating *s, floating *y, Py_ssize_t n,
                           double *sy, double *yy) noexcept nogil:
    cdef double acc_sy[_LANES]
    cdef double acc_yy[_LANES]
    cdef Py_ssize_t i, j, full = n - n % _LANES
    cdef floating si, yi, p, q
    for j in range(_LANES):
        acc_sy[j] = 0.0
        acc_yy[j] = 0.0
    for i in range(0, full, 8):
        for j in range(_LANES):
            si = x_new[i + j] - x[i + j]
            yi = g_new[i + j] - g[i + j]
            s[i + j] = si
            y[i + j] = yi
            p = si * yi
            q = yi * yi
            acc_sy[j] += <double> p
            acc_yy[j] += <double> q
    for i in range(full, n):
        si = x_new[i] - x[i]
        yi = g_new[i] - g[i]
        s[i] = si
        y[i] = yi
        p = si * yi
        q = yi * yi
        acc_sy[i - full] += <double> p
        acc_yy[i - full] += <double> q
    sy[0] = _add_lanes(acc_sy)
    yy[0] = _add_lanes(acc_yy)


def _check_threads(n_threads):
    # The public rule: at least 1, at most a few threads per usable core,
    # because OpenMP runtimes crash when asked for tens of thousands.
    from jsae_fast._threads import resolve_n_threads

    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}.")
    return resolve_n_threads(int(n_threads))


def _check_same(name, a, ref):
    if a.shape[0] != ref.shape[0]:
        raise ValueError(f"{name} has {a.shape[0]} elements, expected {ref.shape[0]}.")


cdef double _sum_partials(const double *partials, Py_ssize_t count) noexcept nogil:
    cdef double total = 0.0
    cdef Py_ssize_t k
    for k in range(count):
        total += partials[k]
    return total


cdef double *_alloc_partials(Py_ssize_t count) except NULL:
    cdef double *partials = <double *> malloc(max(count, 1) * sizeof(double))
    if partials == NULL:
        raise MemoryError(f"cannot allocate {count} partial sums")
    return partials


def dot(const floating[::1] a, const floating[::1] b, int n_threads=1):
    """Return ``a.b`` accumulated in float64, the same for every thread count.

    A NaN or infinite element gives a non-finite result, so the value also
    serves as a finiteness check of the product.
    """
    _check_same("b", b, a)
    n_threads = _check_threads(n_threads)
    cdef Py_ssize_t n = a.shape[0], n_chunks = _n_chunks(n), k, lo
    cdef double total = 0.0
    if n == 0:
        return total
    cdef double *partials = _alloc_partials(n_chunks)
    with nogil:
        for k in prange(n_chunks, schedule="static", num_threads=n_threads):
            lo = k * _CHUNK
            partials[k] = _dot_ptr(&a[lo], &b[lo], min(_CHUNK, n - lo))
        total = _sum_partials(partials, n_chunks)
    free(partials)
    return total


def step_point(const floating[::1] x, const floating[::1] d, double step,
               floating[::1] out, int n_threads=1):
    """Write ``x + step * d`` into ``out``, rounding ``step * d`` first as NumPy does."""
    _check_same("d", d, x)
    _check_same("out", out, x)
    n_threads = _check_threads(n_threads)
    cdef Py_ssize_t n = x.shape[0], i
    cdef floating t = <floating> step
    cdef floating scaled
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads):
            scaled = d[i] * t
            out[i] = x[i] + scaled


def curvature_pair(const floating[::1] x_new, const floating[::1] x,
                   const floating[::1] g_new, const floating[::1] g,
                   floating[::1] s, floating[::1] y, int n_threads=1):
    """Write ``s = x_new - x`` and ``y = g_new - g``; return ``(s.y, y.y)`` in float64."""
    for name, v in (("x", x), ("g_new", g_new), ("g", g), ("s", s), ("y", y)):
        _check_same(name, v, x_new)
    n_threads = _check_threads(n_threads)
    cdef Py_ssize_t n = x_new.shape[0], n_chunks = _n_chunks(n), k, lo
    cdef double sy = 0.0, yy = 0.0
    if n == 0:
        return sy, yy
    cdef double *partials = _alloc_partials(2 * n_chunks)
    with nogil:
        for k in prange(n_chunks, schedule="static", num_threads=n_threads):
            lo = k * _CHUNK
            _pair_ptr(&x_new[lo], &x[lo], &g_new[lo], &g[lo], &s[lo], &y[lo],
                      min(_CHUNK, n - lo), &partials[k], &partials[n_chunks + k])
        sy = _sum_partials(partials, n_chunks)
        yy = _sum_partials(partials + n_chunks, n_chunks)
    free(partials)
    return sy, yy


cdef inline void _gemv(bint trans, int m, int n, floating alpha, const floating *a,
                       int lda, const floating *x, floating beta,
                       floating *y) noexcept nogil:
    # y = alpha op(A) x + beta y for a column-major m x n matrix A.
    cdef char t = b'T' if trans else b'N'
    cdef int one = 1
    if floating is float:
        sgemv(&t, &m, &n, &alpha, <float *> a, &lda, <float *> x, &one, &beta, y, &one)
    else:
        dgemv(&t, &m, &n, &alpha, <double *> a, &lda, <double *> x, &one, &beta, y, &one)


def _check_blas_size(n):
    if n >= 2 ** 31:
        raise ValueError(f"vectors of {n} elements exceed the 32-bit BLAS index range.")


def rows_dot(const floating[:, ::1] H, const floating[::1] v, int n_threads=1):
    """Return ``H @ v`` as float64.

    Each chunk of ``CHUNK`` columns goes to one BLAS ``gemv`` call, which sums
    in the input's type; the chunks' results are added in float64 in chunk
    order.  BLAS must be limited to one thread by the caller when
    ``n_threads > 1``.
    """
    if H.shape[1] != v.shape[0]:
        raise ValueError(f"H has {H.shape[1]} columns but v has {v.shape[0]} elements.")
    n_threads = _check_threads(n_threads)
    _check_blas_size(H.shape[1])
    cdef Py_ssize_t rows = H.shape[0], n = H.shape[1], n_chunks = _n_chunks(n)
    cdef Py_ssize_t k, r, lo
    out = np.zeros(rows, dtype=np.float64)
    cdef double[::1] result = out
    if rows == 0 or n == 0:
        return out
    partials_array = np.empty((n_chunks, rows),
                              dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, ::1] partials = partials_array
    cdef const floating *h = &H[0, 0]
    with nogil:
        for k in prange(n_chunks, schedule="static", num_threads=n_threads):
            lo = k * _CHUNK
            _gemv(True, <int> min(_CHUNK, n - lo), <int> rows, <floating> 1.0, h + lo,
                  <int> n, &v[lo], <floating> 0.0, &partials[k, 0])
        for k in range(n_chunks):
            for r in range(rows):
                result[r] += <double> partials[k, r]
    return out


def combine_rows(const floating[:, ::1] H, const double[::1] coefficients,
                 const floating[::1] g, double scale, floating[::1] out,
                 int n_threads=1):
    """Write ``scale * g + H^T coefficients`` into ``out``.

    Each chunk of ``CHUNK`` elements of ``out`` goes to one BLAS ``gemv``
    call.  ``out`` must not overlap ``H`` or ``g``.  BLAS must be limited to
    one thread by the caller when ``n_threads > 1``.
    """
    if H.shape[0] != coefficients.shape[0]:
        raise ValueError(f"H has {H.shape[0]} rows but there are "
                         f"{coefficients.shape[0]} coefficients.")
    if H.shape[1] != g.shape[0] or out.shape[0] != g.shape[0]:
        raise ValueError(f"H has {H.shape[1]} columns, g {g.shape[0]} and out "
                         f"{out.shape[0]} elements; they must be equal.")
    n_threads = _check_threads(n_threads)
    _check_blas_size(H.shape[1])
    cdef Py_ssize_t rows = H.shape[0], n = H.shape[1], n_chunks = _n_chunks(n)
    cdef Py_ssize_t k, i, lo, hi
    cdef floating f = <floating> scale
    if n == 0:
        return
    if rows == 0:
        with nogil:
            for i in prange(n, schedule="static", num_threads=n_threads):
                out[i] = f * g[i]
        return
    coefficient_array = np.asarray(coefficients).astype(
        np.float32 if floating is float else np.float64)
    cdef floating[::1] c = coefficient_array
    cdef const floating *h = &H[0, 0]
    with nogil:
        for k in prange(n_chunks, schedule="static", num_threads=n_threads):
            lo = k * _CHUNK
            hi = min(lo + _CHUNK, n)
            for i in range(lo, hi):
                out[i] = g[i]
            _gemv(False, <int> (hi - lo), <int> rows, <floating> 1.0, h + lo, <int> n,
                  &c[0], f, &out[lo])
