# Body of the fused kernel, included by _jsae_kernels.pyx (baseline build) and
# _jsae_kernels_avx2.pyx (built with -mavx2 -mfma).  Cython names a module
# after its .pyx file, so each build needs its own .pyx; the code lives here
# once.  The string below is the design note of both modules.
"""Fused loss-and-gradient kernel of the Jacobian-regularized sparse autoencoder.

Design
------
What is fused.  One call computes the cost and every gradient of the model
described in ``jsae_fast.reference``.  The five matrix products of size
``m x n x s`` (``X W^T``, ``H V^T``, ``delta2^T H``, ``delta2 V`` and
``delta1^T X``) go to BLAS ``gemm`` through ``scipy.linalg.cython_blas``.
Every elementwise step between them runs in two loops over the rows of a block
while that block is still in cache: the decoder epilogue (bias, sigmoid,
residual, reconstruction error, ``delta2``, sum for ``gc``) and the encoder
epilogue (KL and Jacobian terms of ``dH``, ``delta1``, sums for ``gb`` and for
the Jacobian cost).  Sums over samples (``rho_hat``, ``gb``, ``gc``, the
reconstruction error and ``sum_i Q_ij^2``) are kept per column in float64,
also for float32 input.  The sigmoid takes its exponential from
``_jsae_math.h``, an inline polynomial version that the compiler vectorizes,
because calls to libm's ``exp`` would keep the epilogue loops scalar.

How samples are blocked.  The rows of ``X`` are cut into blocks of at most
``block_size`` rows, as many blocks as needed rounded up to a multiple of the
thread count, with the rows spread evenly over them (:func:`block_layout`),
so that every thread gets the same number of rows.  Each block costs one ``gemm`` call per product, never one per sample,
and its temporaries (``H``, ``Z`` and ``dH`` blocks, ``block_size * (2 s + n)``
values) stay in the thread's cache.

Two passes.  The KL derivative needs the mean activation ``rho_hat`` of the
whole data set before any ``delta1`` can be formed.  When ``sparsity_weight``
is zero there is no KL gradient and the kernel makes one pass.  Otherwise a
first pass computes ``H`` block by block and sums it.  The second pass reuses
``H`` for the rows that fit into a cache of ``cache_bytes`` and recomputes
``X W^T`` (a sixth product) only for the rest, so the extra memory is bounded
by ``cache_bytes`` plus the per-thread buffers.

How threads are used.  Blocks are shared out by an OpenMP ``prange`` with a
static schedule, so block ``k`` always goes to thread ``k % n_threads``.  Each
thread allocates its scratch blocks and its own partial ``gW`` and ``gV``
inside the parallel region and adds its products into them (``beta = 1`` in
``gemm`` after its first block), so no two threads write the same memory.
After the region a second ``prange`` over rows adds the partials in thread
order, in float64, so a given ``n_threads`` gives bitwise identical results,
and different thread counts agree within rounding.  BLAS itself must
run single-threaded inside the region; the Python wrapper
``jsae_fast._cython_backend`` sets that limit.  Without OpenMP the module
builds and runs with one thread.

The Python-level function :func:`loss_and_grad` checks types and shapes while
it still holds the GIL, allocates the outputs and the per-thread column sums
with NumPy, and releases the GIL for both passes and the reduction.

Instruction sets.  setup.py compiles this source up to three times: for the
platform's baseline (SSE2 on x86-64), and on x86-64 also with ``-mavx2
-mfma`` and with AVX-512 (``-mavx512f -mavx512dq -mavx512vl``).  The
elementwise epilogues, not the BLAS calls, profit from the wider vectors,
since OpenBLAS picks its own code path at run time.  ``SIMD`` names the
target a module was compiled for, and ``jsae_fast._cython_backend`` imports
the widest one the CPU supports.  With FMA the compiler fuses multiply-adds,
so the builds agree only within rounding.

Cost.  Measured with one thread at (m, n, s) = (10000, 784, 196) on a 2-core
AMD EPYC Zen 4 (OpenBLAS 0.3.30 from SciPy 1.17, GCC 12), the CPU time of a
call was 1.21 to 1.27 (float32) and 1.12 to 1.17 (float64) times that of the
five bare NumPy products on one BLAS thread for the baseline build, and 1.07
to 1.13 (float32) and 0.95 to 1.01 (float64) times for the AVX2 build.  The
epilogues, mostly the divisions and exponentials of the decoder sigmoid, take
the difference.  On that CPU the AVX-512 build was 2 to 3% faster than the
AVX2 one; on a 2-core Xeon with AVX-512, float32, 2 threads and 512-row
blocks, it took 1.098x the bare products against 1.181x for AVX2 at
m=10000, and 1.109x against 1.144x at m=2000 (``bench/interleaved.py``).
Wider preferred vectors (``-mprefer-vector-width=512``) gained nothing in a
trial build.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from libc.math cimport fabs, fabsf
from libc.stdlib cimport calloc, free, malloc
from scipy.linalg.cython_blas cimport dgemm, sgemm

import numpy as np

cdef extern from *:
    """
    #ifdef _OPENMP
    #define JSAE_HAVE_OPENMP 1
    #else
    #define JSAE_HAVE_OPENMP 0
    #endif
    """
    bint JSAE_HAVE_OPENMP

cdef extern from *:
    """
    #if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__FMA__)
    #define JSAE_SIMD_TARGET "avx512"
    #elif defined(__AVX2__) && defined(__FMA__)
    #define JSAE_SIMD_TARGET "avx2"
    #else
    #define JSAE_SIMD_TARGET "baseline"
    #endif
    """
    const char *JSAE_SIMD_TARGET

cdef extern from "_jsae_math.h":
    float jsae_exp_nonpos_f(float t) noexcept nogil
    double jsae_exp_nonpos_d(double t) noexcept nogil


#: True when the module was compiled with OpenMP.  Otherwise every call runs
#: on one thread whatever ``n_threads`` is.
OPENMP_ENABLED = bool(JSAE_HAVE_OPENMP)

#: Instruction set the module was compiled for, read from the compiler's
#: predefined macros: "avx512", "avx2" (AVX2 with FMA) or "baseline" (the
#: platform default, SSE2 on x86-64).
SIMD = JSAE_SIMD_TARGET.decode("ascii")

#: Bounds of the clip applied to ``rho_hat`` before the KL term.  It equals
#: ``jsae_fast._model.KL_EPS``, which a test checks.
KL_EPS = 1e-8

#: Default number of rows per block (at most; see :func:`block_layout`).
#: Each block costs BLAS one packing of the weight matrix per product, which
#: weighs more with small blocks, while a block's ``Z`` (``rows x n``) should
#: stay in the core's cache.  At (m, n, s) = (2000, 784, 196) and (10000, 784,
#: 196), float32, 2 threads, on a Xeon with AVX-512 and 2 MB of L2 per core,
#: the AVX-512 build took 1.109x and 1.098x the bare products with 512 rows
#: and 1.160x and 1.136x with 256 (``bench/interleaved.py``); 1000 rows took
#: 1.37x at m=2000.  On a 2-core AMD EPYC (1 MB of L2) 256 and 512 rows were
#: alike.
DEFAULT_BLOCK_SIZE = 512

#: Default memory budget for keeping ``H`` between the two passes, in bytes.
#: It holds ``H`` whole for (m, s) = (10000, 196) in either dtype.  At
#: (m, n, s) = (60000, 784, 196) in float32, where ``H`` would be 25% of the
#: size of ``X``, it holds 53% of the rows and the rest are encoded twice.
DEFAULT_CACHE_BYTES = 24 * 1024 * 1024

# Each thread's row of float64 sums is padded to a multiple of this many
# doubles (64 bytes), so that two threads never write the same cache line.
cdef Py_ssize_t _PAD = 8


# ---------------------------------------------------------------------------
# Point functions


cdef inline floating _sigmoid(floating x) noexcept nogil:
    # exp(-|x|) is at most 1, so neither form can overflow.  Both forms are
    # computed and then selected, which the compiler vectorizes as a blend
    # (GCC needs -fno-trapping-math for that, set in setup.py).
    cdef floating one = 1
    cdef floating e, upper, lower
    if floating is float:
        e = jsae_exp_nonpos_f(-fabsf(x))
    else:
        e = jsae_exp_nonpos_d(-fabs(x))
    upper = one / (one + e)
    lower = e * upper
    return upper if x >= 0 else lower


cdef inline void _gemm(bint trans_a, bint trans_b, int m, int n, int k,
                       floating alpha, const floating *a, int lda,
                       const floating *b, int ldb, floating beta,
                       floating *c, int ldc) noexcept nogil:
    # Compute C = alpha op(A) op(B) + beta C for row-major (C-ordered)
    # matrices: C is m x n, op(A) is m x k, op(B) is k x n, and each leading
    # dimension is the stored row length.  Fortran BLAS is column-major and
    # reads a row-major matrix as its transpose, so it is asked for
    # C^T = op(B)^T op(A)^T, which swaps the operands and the sizes m and n.
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float *> b, &ldb,
              <float *> a, &lda, &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double *> b, &ldb,
              <double *> a, &lda, &beta, c, &ldc)


# ---------------------------------------------------------------------------
# Block steps.  Every pointer is to C-contiguous data; ``mb`` is the number of
# rows in the block.


cdef inline void _encode_block(const floating *Xb, const floating *W,
                               const floating *b, floating *H,
                               int mb, int n, int s) noexcept nogil:
    """Store sigmoid(Xb W^T + b) into H (mb x s)."""
    cdef Py_ssize_t i, j
    cdef floating *row
    _gemm(False, True, mb, s, n, <floating> 1, Xb, n, W, n,
          <floating> 0, H, s)
    for i in range(mb):
        row = H + i * s
        for j in range(s):
            row[j] = _sigmoid(row[j] + b[j])


cdef inline void _add_column_sums(const floating *H, double *sums,
                                  int mb, int s) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef const floating *row
    for i in range(mb):
        row = H + i * s
        for j in range(s):
            sums[j] += row[j]


cdef inline void _decoder_epilogue(floating *Z, const floating *Xb,
                                   const floating *c, double inv_m,
                                   double *sq_err, double *gc,
                                   int mb, int n) noexcept nogil:
    """Turn Z = H V^T (the decoder pre-activation before adding c) into delta2.

    Adds each column's squared reconstruction error to ``sq_err`` and each
    column's sum of ``delta2`` to ``gc``.
    """
    cdef Py_ssize_t i, j
    cdef floating *row
    cdef const floating *x
    cdef floating z, r
    cdef floating one = 1
    cdef floating scale = <floating> inv_m
    for i in range(mb):
        row = Z + i * n
        x = Xb + i * n
        for j in range(n):
            z = _sigmoid(row[j] + c[j])
            r = z - x[j]
            sq_err[j] += <double> r * r
            r = r * z * (one - z) * scale
            gc[j] += r
            row[j] = r


cdef inline void _encoder_epilogue(floating *D, const floating *H,
                                   const double *kl_term, const double *jac_scale,
                                   double *gb, double *q_sq,
                                   int mb, int s) noexcept nogil:
    """Turn D = delta2 V into delta1, in place.

    ``kl_term[j]`` is ``k_j / m`` and ``jac_scale[j]`` is
    ``jacobian_weight / m * ||W_j||^2``.  Adds each column's sum of ``delta1``
    to ``gb`` and of ``Q^2`` to ``q_sq``.
    """
    cdef Py_ssize_t i, j
    cdef floating *row
    cdef const floating *h_row
    cdef double h, q, dh
    for i in range(mb):
        row = D + i * s
        h_row = H + i * s
        for j in range(s):
            h = h_row[j]
            q = h * (1 - h)
            dh = row[j] + kl_term[j] + jac_scale[j] * q * (1 - 2 * h)
            dh = dh * q
            gb[j] += dh
            q_sq[j] += q * q
            row[j] = <floating> dh


def sigmoid(const floating[::1] x):
    """Return the kernel's sigmoid of a 1-d array, for testing its accuracy."""
    cdef Py_ssize_t i
    out_arr = np.empty(x.shape[0], dtype=np.float32 if floating is float else np.float64)
    cdef floating[::1] out = out_arr
    for i in range(x.shape[0]):
        out[i] = _sigmoid(x[i])
    return out_arr


# ---------------------------------------------------------------------------
# Passes over the blocks.  Both run in a parallel region; a thread that cannot
# allocate its scratch blocks sets ``status[tid]`` and skips its blocks, and
# the caller raises MemoryError after the region.


cdef struct BlockLayout:
    int m                    # samples
    int n                    # visible units
    int s                    # hidden units
    int block_rows           # rows per block (the last block may be shorter)
    int n_blocks
    int n_threads
    Py_ssize_t cached_rows   # rows of H kept in the cache, whole blocks or m
    Py_ssize_t sums_stride   # doubles per thread in the column-sum array


# Offsets of the column sums inside one thread's row of the sums array.
cdef inline Py_ssize_t _off_rho(BlockLayout L) noexcept nogil:
    return 0

cdef inline Py_ssize_t _off_gb(BlockLayout L) noexcept nogil:
    return L.s

cdef inline Py_ssize_t _off_q_sq(BlockLayout L) noexcept nogil:
    return 2 * L.s

cdef inline Py_ssize_t _off_gc(BlockLayout L) noexcept nogil:
    return 3 * L.s

cdef inline Py_ssize_t _off_sq_err(BlockLayout L) noexcept nogil:
    return 3 * L.s + L.n


cdef void _mean_activation_pass(BlockLayout L, const floating *X,
                                const floating *W, const floating *b,
                                floating *H_cache, double *sums,
                                int *status) noexcept nogil:
    """Add the column sums of H into ``sums``; fill the cached rows of H."""
    cdef int blk, mb, tid
    cdef Py_ssize_t i0
    cdef floating *H_buf
    cdef floating *Hb
    with parallel(num_threads=L.n_threads):
        tid = threadid()
        H_buf = <floating *> malloc(<size_t> L.block_rows * L.s * sizeof(floating))
        if H_buf == NULL:
            status[tid] = 1
        for blk in prange(L.n_blocks, schedule="static", chunksize=1):
            if H_buf == NULL:
                continue
            i0 = <Py_ssize_t> blk * L.block_rows
            mb = min(L.block_rows, L.m - i0)
            if i0 + mb <= L.cached_rows:
                Hb = H_cache + i0 * L.s
            else:
                Hb = H_buf
            _encode_block(X + i0 * L.n, W, b, Hb, mb, L.n, L.s)
            _add_column_sums(Hb, sums + tid * L.sums_stride + _off_rho(L), mb, L.s)
        free(H_buf)


cdef void _gradient_pass(BlockLayout L, bint tied, const floating *X,
                         const floating *W, const floating *b,
                         const floating *V, const floating *c,
                         const floating *H_cache, const double *kl_term,
                         const double *jac_scale, double inv_m, double *sums,
                         floating **acc_W, floating **acc_V, int *started,
                         int *status) noexcept nogil:
    """Accumulate each thread's gradient partials and column sums.

    Thread ``tid`` allocates its partials of ``gW`` (and of ``gV`` unless
    tied), stores the pointers in ``acc_W[tid]`` and ``acc_V[tid]`` for the
    caller to reduce and free, and sets ``started[tid]`` once they hold data.
    The first block of a thread overwrites them (``beta = 0``), so they need
    no zeroing.  ``V`` is ``W`` when ``tied`` is true: the tied products read
    ``W`` with the transpose flags swapped, and ``delta2^T H`` goes into the
    ``gW`` partial transposed.
    """
    cdef int blk, mb, tid
    cdef int n = L.n, s = L.s
    cdef int ld_V = n if tied else s
    cdef Py_ssize_t i0
    cdef floating *H_buf
    cdef floating *Z_buf
    cdef floating *D_buf
    cdef const floating *Hb
    cdef const floating *Xb
    cdef double *my_sums
    cdef floating *my_acc_W
    cdef floating *my_acc_V
    cdef bint ready
    cdef floating one = 1, zero = 0, beta
    with parallel(num_threads=L.n_threads):
        tid = threadid()
        H_buf = <floating *> malloc(<size_t> L.block_rows * s * sizeof(floating))
        Z_buf = <floating *> malloc(<size_t> L.block_rows * n * sizeof(floating))
        D_buf = <floating *> malloc(<size_t> L.block_rows * s * sizeof(floating))
        my_acc_W = <floating *> malloc(<size_t> s * n * sizeof(floating))
        my_acc_V = NULL
        if not tied:
            my_acc_V = <floating *> malloc(<size_t> s * n * sizeof(floating))
        acc_W[tid] = my_acc_W
        acc_V[tid] = my_acc_V
        ready = (H_buf != NULL and Z_buf != NULL and D_buf != NULL
                 and my_acc_W != NULL and (tied or my_acc_V != NULL))
        if not ready:
            status[tid] = 1
        my_sums = sums + tid * L.sums_stride
        for blk in prange(L.n_blocks, schedule="static", chunksize=1):
            if not ready:
                continue
            i0 = <Py_ssize_t> blk * L.block_rows
            mb = min(L.block_rows, L.m - i0)
            Xb = X + i0 * n
            beta = one if started[tid] else zero
            if i0 + mb <= L.cached_rows:
                Hb = H_cache + i0 * s
            else:
                _encode_block(Xb, W, b, H_buf, mb, n, s)
                Hb = H_buf

            # Z = H V^T (tied: H W), then delta2 in place.
            _gemm(False, not tied, mb, n, s, one, Hb, s, V, ld_V, zero, Z_buf, n)
            _decoder_epilogue(Z_buf, Xb, c, inv_m, my_sums + _off_sq_err(L),
                              my_sums + _off_gc(L), mb, n)

            # gV += delta2^T H; tied: gW += H^T delta2, its transpose.
            if tied:
                _gemm(True, False, s, n, mb, one, Hb, s, Z_buf, n, beta, my_acc_W, n)
            else:
                _gemm(True, False, n, s, mb, one, Z_buf, n, Hb, s, beta, my_acc_V, s)

            # D = delta2 V (tied: delta2 W^T), then delta1 in place.
            _gemm(False, tied, mb, s, n, one, Z_buf, n, V, ld_V, zero, D_buf, s)
            _encoder_epilogue(D_buf, Hb, kl_term, jac_scale, my_sums + _off_gb(L),
                              my_sums + _off_q_sq(L), mb, s)

            # gW += delta1^T X.
            if tied:
                _gemm(True, False, s, n, mb, one, D_buf, s, Xb, n, one, my_acc_W, n)
            else:
                _gemm(True, False, s, n, mb, one, D_buf, s, Xb, n, beta, my_acc_W, n)
            started[tid] = 1
        free(H_buf)
        free(Z_buf)
        free(D_buf)


cdef void _reduce_partials(floating *out, floating **partials,
                           const int *started, int n_partials, int rows,
                           int cols, const floating *param, double decay,
                           const double *row_scale, int n_threads) noexcept nogil:
    """Store sum_t partials[t] + (decay + row_scale[r]) * param into ``out``.

    The partials are added in index order in float64, skipping those of
    threads that got no block; ``row_scale`` may be NULL.
    """
    cdef int r, j, t
    cdef Py_ssize_t k
    cdef double total, coef
    for r in prange(rows, schedule="static", num_threads=n_threads):
        coef = decay
        if row_scale != NULL:
            coef = coef + row_scale[r]
        for j in range(cols):
            k = <Py_ssize_t> r * cols + j
            total = 0
            for t in range(n_partials):
                if started[t]:
                    total = total + partials[t][k]
            out[k] = <floating> (total + coef * param[k])


cdef inline double _squared_norm(const floating *row, int cols) noexcept nogil:
    """Return sum_j row[j]^2 accumulated in float64.

    Eight float64 accumulators take every eighth product, so the compiler
    keeps them in vector registers, and the grouping of the sum is fixed by
    the code.
    """
    cdef int j, k, full = cols - cols % 8
    cdef double acc[8]
    cdef floating p
    for k in range(8):
        acc[k] = 0.0
    for j in range(0, full, 8):
        for k in range(8):
            p = row[j + k] * row[j + k]
            acc[k] += <double> p
    for j in range(full, cols):
        p = row[j] * row[j]
        acc[j - full] += <double> p
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))


cdef void _row_squared_norms(const floating *A, int rows, int cols, double *out,
                             int n_threads) noexcept nogil:
    """Store the squared norm of each row of the C-ordered ``rows x cols`` matrix ``A``."""
    cdef int r
    for r in prange(rows, schedule="static", num_threads=n_threads):
        out[r] = _squared_norm(A + <Py_ssize_t> r * cols, cols)


# ---------------------------------------------------------------------------
# Driver


def _raise_if_allocation_failed(status, block_rows):
    if status.any():
        raise MemoryError(
            f"could not allocate the per-thread scratch blocks of {block_rows} "
            f"rows; pass a smaller block_size or fewer n_threads."
        )


def _sum_in_thread_order(partials):
    """Return the float64 sum over axis 0, added in index order."""
    total = partials[0].astype(np.float64)
    for t in range(1, partials.shape[0]):
        total += partials[t]
    return total


def _kl_and_derivative(rho_hat, p):
    """Return sum_j KL(p || rho_c_j) and its derivative, zero where clipped."""
    rho_c = np.clip(rho_hat, KL_EPS, 1.0 - KL_EPS)
    kl = float(np.sum(p * np.log(p / rho_c) + (1.0 - p) * np.log((1.0 - p) / (1.0 - rho_c))))
    dkl = -p / rho_c + (1.0 - p) / (1.0 - rho_c)
    dkl[(rho_hat <= KL_EPS) | (rho_hat >= 1.0 - KL_EPS)] = 0.0
    return kl, dkl


def block_layout(Py_ssize_t m, Py_ssize_t block_size, Py_ssize_t n_threads):
    """Return ``(block_rows, n_blocks)`` for ``m`` rows on ``n_threads`` threads.

    Blocks have at most ``block_size`` rows.  Their number is rounded up to a
    multiple of ``n_threads`` (while there are rows enough) and the rows are
    spread evenly over them, so that the static schedule gives each thread
    the same share.  Only the last block may be shorter, by less than the
    number of blocks.  At (m, block_size, n_threads) = (2000, 256, 2) this
    gives eight blocks of 250 rows instead of seven of 256 and one of 208.
    With fewer rows than blocks the count can end up below a multiple of
    ``n_threads`` (three blocks of three rows for m=9 and four threads),
    which costs balance but not correctness.

    Raises ValueError unless all three arguments are at least 1.
    """
    if m < 1 or block_size < 1 or n_threads < 1:
        raise ValueError(
            f"block_layout needs m, block_size and n_threads of at least 1, got "
            f"m={m}, block_size={block_size}, n_threads={n_threads}."
        )
    cdef Py_ssize_t n_blocks = (m + block_size - 1) // block_size
    n_blocks = ((n_blocks + n_threads - 1) // n_threads) * n_threads
    n_blocks = min(n_blocks, m)
    cdef Py_ssize_t block_rows = (m + n_blocks - 1) // n_blocks
    return block_rows, (m + block_rows - 1) // block_rows


def _run(const floating[:, ::1] X, const floating[:, ::1] W,
         const floating[::1] b, const floating[:, ::1] V,
         const floating[::1] c, bint tied,
         double sparsity_target, double weight_decay,
         double sparsity_weight, double jacobian_weight,
         int block_size, Py_ssize_t cache_bytes, int n_threads):
    # ``V`` is ``W`` itself when ``tied`` is true.
    cdef BlockLayout L
    L.m = X.shape[0]
    L.n = X.shape[1]
    L.s = W.shape[0]
    L.n_threads = n_threads if JSAE_HAVE_OPENMP else 1
    L.block_rows, L.n_blocks = block_layout(L.m, block_size, L.n_threads)
    L.sums_stride = ((3 * L.s + 2 * L.n + _PAD - 1) // _PAD) * _PAD
    cdef double inv_m = 1.0 / L.m
    cdef bint two_pass = sparsity_weight != 0
    dtype = np.float32 if floating is float else np.float64

    # Rows of H kept between the passes: whole blocks within the budget, or
    # all rows.  With one pass nothing is kept.
    L.cached_rows = 0
    if two_pass:
        L.cached_rows = cache_bytes // (L.s * sizeof(floating))
        if L.cached_rows >= L.m:
            L.cached_rows = L.m
        else:
            L.cached_rows = (L.cached_rows // L.block_rows) * L.block_rows
    H_cache_arr = np.empty((max(L.cached_rows, 1), L.s), dtype=dtype)
    cdef floating[:, ::1] H_cache = H_cache_arr

    # Column sums in float64, one row per thread.  The gradient partials are
    # allocated by the threads themselves.
    sums_arr = np.zeros((L.n_threads, L.sums_stride), dtype=np.float64)
    started_arr = np.zeros(L.n_threads, dtype=np.intc)
    status_arr = np.zeros(L.n_threads, dtype=np.intc)
    cdef double[:, ::1] sums = sums_arr
    cdef int[::1] started = started_arr
    cdef int[::1] status = status_arr
    gW_arr = np.empty((L.s, L.n), dtype=dtype)
    gV_arr = None if tied else np.empty((L.n, L.s), dtype=dtype)
    cdef floating[:, ::1] gW = gW_arr
    cdef floating[:, ::1] gV = gW_arr if tied else gV_arr

    # Per-unit constants of the encoder epilogue, in float64.
    w_norm_sq_arr = np.empty(L.s, dtype=np.float64)
    v_norm_sq_arr = np.zeros(L.n if not tied else 1, dtype=np.float64)
    cdef double[::1] w_norm_sq = w_norm_sq_arr
    cdef double[::1] v_norm_sq = v_norm_sq_arr
    with nogil:
        _row_squared_norms(&W[0, 0], L.s, L.n, &w_norm_sq[0], L.n_threads)
        if not tied:
            _row_squared_norms(&V[0, 0], L.n, L.s, &v_norm_sq[0], L.n_threads)
    cdef double[::1] jac_scale = (jacobian_weight * inv_m) * w_norm_sq_arr
    cdef double[::1] kl_term = np.zeros(L.s, dtype=np.float64)
    weight_sq = float(w_norm_sq_arr.sum())
    if not tied:
        weight_sq += float(v_norm_sq_arr.sum())

    kl_value = 0.0
    if two_pass:
        with nogil:
            _mean_activation_pass(L, &X[0, 0], &W[0, 0], &b[0], &H_cache[0, 0],
                                  &sums[0, 0], &status[0])
        _raise_if_allocation_failed(status_arr, L.block_rows)
        rho_hat = sums_arr[:, _off_rho(L):_off_rho(L) + L.s].sum(axis=0) * inv_m
        kl_value, dkl = _kl_and_derivative(rho_hat, sparsity_target)
        np.multiply(dkl, sparsity_weight * inv_m, out=np.asarray(kl_term))

    cdef floating **acc_W = <floating **> calloc(L.n_threads, sizeof(floating *))
    cdef floating **acc_V = <floating **> calloc(L.n_threads, sizeof(floating *))
    cdef double[::1] jac_rows
    cdef int t
    try:
        if acc_W == NULL or acc_V == NULL:
            raise MemoryError("could not allocate the per-thread pointer arrays.")
        with nogil:
            _gradient_pass(L, tied, &X[0, 0], &W[0, 0], &b[0], &V[0, 0], &c[0],
                           &H_cache[0, 0], &kl_term[0], &jac_scale[0], inv_m,
                           &sums[0, 0], acc_W, acc_V, &started[0], &status[0])
        _raise_if_allocation_failed(status_arr, L.block_rows)

        totals = _sum_in_thread_order(sums_arr)
        q_sq = totals[_off_q_sq(L):_off_q_sq(L) + L.s]
        jac_rows = np.multiply(q_sq, jacobian_weight * inv_m)
        with nogil:
            _reduce_partials(&gW[0, 0], acc_W, &started[0], L.n_threads, L.s,
                             L.n, &W[0, 0], weight_decay, &jac_rows[0],
                             L.n_threads)
            if not tied:
                _reduce_partials(&gV[0, 0], acc_V, &started[0], L.n_threads,
                                 L.n, L.s, &V[0, 0], weight_decay, NULL,
                                 L.n_threads)
    finally:
        for t in range(L.n_threads):
            if acc_W != NULL:
                free(acc_W[t])
            if acc_V != NULL:
                free(acc_V[t])
        free(acc_W)
        free(acc_V)

    gb_arr = totals[_off_gb(L):_off_gb(L) + L.s].astype(dtype)
    gc_arr = totals[_off_gc(L):_off_gc(L) + L.n].astype(dtype)
    loss = (
        0.5 * inv_m * float(totals[_off_sq_err(L):_off_sq_err(L) + L.n].sum())
        + 0.5 * weight_decay * weight_sq
        + sparsity_weight * kl_value
        + 0.5 * jacobian_weight * inv_m * float(np.dot(q_sq, w_norm_sq_arr))
    )
    return loss, gW_arr, gb_arr, gV_arr, gc_arr


def _check_matrix(name, A, dtype, shape):
    if not isinstance(A, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(A).__name__}.")
    if A.dtype != dtype:
        raise ValueError(
            f"{name} has dtype {A.dtype}, but X has dtype {dtype}; "
            f"convert every array to one of float32 or float64."
        )
    if A.shape != shape:
        raise ValueError(
            f"{name} has shape {A.shape}, expected {shape} from the shapes "
            f"of X (m, n) and W (s, n)."
        )
    if not A.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous; pass numpy.ascontiguousarray({name})."
        )


def loss_and_grad(X, W, b, V, c, double sparsity_target, double weight_decay,
                  double sparsity_weight, double jacobian_weight, *,
                  int block_size=DEFAULT_BLOCK_SIZE,
                  Py_ssize_t cache_bytes=DEFAULT_CACHE_BYTES, int n_threads=1):
    """Compute the JSAE cost and its gradients with the fused kernel.

    Parameters
    ----------
    X : ndarray of shape (m, n), float32 or float64, C-contiguous
        Samples in rows.
    W : ndarray of shape (s, n)
        Encoder weights.
    b : ndarray of shape (s,)
        Encoder bias.
    V : ndarray of shape (n, s) or None
        Decoder weights; None for tied weights (the decoder uses ``W.T``).
    c : ndarray of shape (n,)
        Decoder bias.
    sparsity_target, weight_decay, sparsity_weight, jacobian_weight : float
        Hyperparameters of the cost; see ``jsae_fast.reference``.
    block_size : int, default=DEFAULT_BLOCK_SIZE
        Maximum number of rows per block.
    cache_bytes : int, default=DEFAULT_CACHE_BYTES
        Memory budget for keeping ``H`` between the two passes; rows beyond it
        are encoded twice.
    n_threads : int, default=1
        Number of OpenMP threads.  BLAS must be limited to one thread by the
        caller while this runs.

    Returns
    -------
    loss : float
    gW : ndarray of shape (s, n)
    gb : ndarray of shape (s,)
    gV : ndarray of shape (n, s) or None
    gc : ndarray of shape (n,)
        Gradients in the dtype of ``X``; ``gV`` is None for tied weights, and
        then ``gW`` includes the decoder's share.

    Raises
    ------
    TypeError
        If an array argument is not a numpy.ndarray.
    ValueError
        If shapes, dtypes or contiguity do not match, or if ``block_size``,
        ``n_threads`` or ``cache_bytes`` are out of range.
    """
    if not isinstance(X, np.ndarray):
        raise TypeError(f"X must be a numpy.ndarray, got {type(X).__name__}.")
    if X.dtype not in (np.float32, np.float64):
        raise ValueError(f"X has dtype {X.dtype}; expected float32 or float64.")
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"X must be a non-empty 2-d array (m, n), got shape {X.shape}."
        )
    if not isinstance(W, np.ndarray) or W.ndim != 2 or W.shape[0] < 1:
        raise ValueError(
            f"W must be a non-empty 2-d numpy.ndarray (s, n), got "
            f"{getattr(W, 'shape', type(W).__name__)}."
        )
    m, n = X.shape
    s = W.shape[0]
    # Sizes go to BLAS as C int; block sizes are far smaller than m.
    if max(m, n, s) > 2**31 - 1 or n * s > 2**31 - 1:
        raise ValueError(
            f"shapes m={m}, n={n}, s={s} exceed the 32-bit BLAS index range."
        )
    _check_matrix("W", W, X.dtype, (s, n))
    _check_matrix("b", b, X.dtype, (s,))
    _check_matrix("c", c, X.dtype, (n,))
    _check_matrix("X", X, X.dtype, (m, n))
    if V is not None:
        _check_matrix("V", V, X.dtype, (n, s))
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, got {block_size}.")
    if n_threads < 1:
        raise ValueError(f"n_threads must be at least 1, got {n_threads}.")
    # Beyond a few threads per core OpenMP runtimes crash or abort.
    from jsae_fast._threads import resolve_n_threads

    resolve_n_threads(n_threads)
    if cache_bytes < 0:
        raise ValueError(f"cache_bytes must be non-negative, got {cache_bytes}.")
    if not 0 < sparsity_target < 1:
        raise ValueError(
            f"sparsity_target must lie strictly between 0 and 1, got {sparsity_target}."
        )
    tied = V is None
    return _run(X, W, b, W if tied else V, c, tied, sparsity_target,
                weight_decay, sparsity_weight, jacobian_weight,
                block_size, cache_bytes, n_threads)
