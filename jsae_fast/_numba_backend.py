"""Numba backend: blocked, fused loss and gradient of the Jacobian sparse autoencoder.

Design
------
Symbols follow the model definition: ``X`` (m, n) samples in rows, encoder
``W`` (s, n) and ``b``, decoder ``V`` (n, s) and ``c``, hidden activations
``H = sigmoid(X W^T + b)``, reconstruction ``Z = sigmoid(H V^T + c)`` and
``Q = H (1 - H)``.

Blocking.  Samples are cut into blocks of ``BLOCK_ROWS`` rows, and each block
makes one call per matrix product.  ``np.dot`` compiled by Numba calls the
``gemm`` of SciPy's BLAS, so the products stay BLAS-sized while every
temporary holds one block, not the whole data set.

Two passes.  The KL derivative ``k_j`` needs the mean activation over all
samples before any ``delta1`` can be formed, and ``gW`` receives ``delta1^T X``.
Pass 1 therefore computes ``H`` block by block (product ``X W^T``, fused with
bias, sigmoid and the float64 column sums for ``rho_hat``), and pass 2 forms
the gradient.  Between the passes ``H`` is kept only within a budget of
``cache_bytes`` (default :data:`H_CACHE_BYTES`).  If all of ``H`` fits, it is
kept whole and pass 2 makes the five products.  Otherwise every chunk (see
Threading) keeps its first blocks within an equal share of the budget, and
pass 2 encodes the other blocks again, a sixth product on those rows only.
Each chunk keeps the same number of blocks (all of its own if it has
fewer), so both passes stay balanced across threads.  With
``sparsity_weight == 0`` no ``k_j`` is needed, so pass 1 is skipped and
pass 2 encodes every block.

Memory and time.  ``H`` is ``s/n`` of the size of ``X``, 25% at
(m, n, s) = (60000, 784, 196).  The 24 MiB budget keeps 31744 of those
60000 rows in float32 and 15872 in float64 (2 threads, 256-row blocks).
Pass 2 then encodes 47% (float32) or 74% (float64) of the samples again,
which adds an estimated 9% or 15% to the arithmetic of the five products.
When ``H`` fits (``m s`` up to 6.3 million values in float32, 3.1 million
in float64), nothing is encoded twice, so the speed at (10000, 784, 196)
does not change.  The rest of the extra memory is per chunk: a
(block_rows, n) and two (block_rows, s) scratch blocks, and float64
partials of ``gW`` and ``gV`` (``2 n s`` values each).  Measured with
``bench/memory_probe.py`` at (60000, 784, 196) on 2 threads, the peak
memory beyond ``X`` is 15.8% of the size of ``X`` in float32 and 8.9% in
float64, against 27.5% and 27.1% when all of ``H`` was kept.  In two
interleaved timings on the shared 2-core AMD EPYC (load average 6-8), a
call at that shape took 1.00-1.06 (float32) and 1.08 (float64) times as
long as with all of ``H`` kept, rough figures.

Fusion.  After ``H V^T`` one loop adds ``c``, applies the sigmoid, and forms
``Z - X``, the squared-error sum, ``delta2`` and the ``gc`` sums.  After
``delta2 V`` one loop adds the KL and Jacobian terms to ``dH``, forms
``delta1``, and accumulates ``gb`` and ``sum_i Q_ij^2``.  The Jacobian part of
the cost is then ``sum_j ||W_j||^2 sum_i Q_ij^2``, so it costs nothing per
element.  The sigmoid is evaluated in float64 for both dtypes.  Loss,
``rho_hat`` and bias-gradient sums are kept in float64.  Weight-gradient
products run per block in the dtype of ``X`` and are summed over blocks in
float64.  Gradients are returned in the dtype of ``X``.

Threading.  The parallel kernel runs ``prange`` over ``n_threads`` chunks.
Each chunk is a fixed contiguous range of blocks with its own scratch and
float64 gradient partials.  The partials are summed in chunk order afterwards,
so the result is bitwise reproducible for a fixed ``n_threads`` and changes
only by rounding between thread counts.  BLAS is held to one thread for the
whole call (``jsae_fast._threads.blas_limits(1)``), because each chunk
already owns a core.  The other design, one chunk whose products use
multithreaded BLAS, was measured at (m, n, s) = (10000, 784, 196) with 2
threads on a 2-core AMD EPYC: it took 1.06-1.6 times the five bare NumPy
products, against 0.86-1.07 for the chunked kernel.  The machine was shared
(load average 5-8) during that measurement, so the ratios are rough.

Compilation.  Every function is a module-level ``njit(cache=True)`` function,
so the machine code is written to ``__pycache__`` on first use and loaded from
there by later processes.  Only the outer kernel has ``parallel=True``.
Tied weights pass ``W.T`` copied into a C-ordered (n, s) array plus a flag, so
each dtype (float32, float64) compiles one signature.  The first call in a
fresh cache compiled for 12-25 s per dtype, and loading from the cache took
about 1 s, on the shared 2-core machine above.  The elementwise loops allow
only fused multiply-add (see ``_FASTMATH``), and the KL helper uses no
fastmath flag.
"""

import math
import threading

try:
    import numba
    from llvmlite import ir as llvm_ir
    from numba import njit, prange, types
    from numba.extending import intrinsic
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the numba backend needs the 'numba' package, which could not be "
        f"imported ({exc}). Install it with 'pip install numba' or use "
        "backend='numpy'."
    ) from exc

import numpy as np

from ._model import KL_EPS
from ._threads import blas_limits

__all__ = ["loss_and_grad", "BLOCK_ROWS", "H_CACHE_BYTES"]

#: Rows per block.  A block of ``Z`` (BLOCK_ROWS x n) is 0.8 MB for n = 784 in
#: float32.  128, 256, 512 and 1024 rows ran within measurement noise of each
#: other at (10000, 784, 196), and smaller blocks need less scratch.
BLOCK_ROWS = 256

#: Bytes of hidden activations kept between the two passes.  Pass 2 encodes
#: the blocks beyond it again.  24 MiB keeps ``H`` whole for
#: (m, s) = (10000, 196) in float64.  At (60000, 784, 196) in float32 it is
#: 13% of the size of ``X``, to which the per-chunk buffers add.
H_CACHE_BYTES = 24 * 1024 * 1024

# Only fused multiply-add is allowed in the elementwise loops: it cannot change
# a sign or NaN test, and it keeps the two-constant range reduction of
# _exp_nonpositive exact, which reassociation would break.  The loops keep
# per-column sums, so they vectorize without ``reassoc``.  They also use
# error_model="numpy", because the default zero-division check on ``1 / x``
# stops LLVM from vectorizing them.
_FASTMATH = {"contract"}

# The workqueue threading layer aborts the process when two Python threads
# launch parallel kernels at once, so calls into the kernel are serialized.
_KERNEL_LOCK = threading.Lock()


@intrinsic
def _float64_from_bits(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.DoubleType())

    return types.float64(types.int64), codegen


_LOG2_E = 1.4426950408889634
# ln(2) split so that k * _LN2_HI is exact for |k| < 2**21 (the fdlibm
# constants), which keeps the reduced argument accurate.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10


@njit(cache=True, inline="always", error_model="numpy")
def _exp_nonpositive(t):
    """Return exp(t) for t <= 0 in float64, in a form LLVM can vectorize.

    Without Intel SVML, Numba compiles ``math.exp`` to a scalar libm call,
    and the sigmoid then cost about half as much as the five products in
    float32.  This is the usual
    reduction ``t = k ln2 + r`` with ``|r| <= ln2/2``, a degree-13 Taylor
    polynomial for ``exp(r)`` and ``2**k`` built from its exponent bits.
    The relative error measured against ``np.exp`` is below 4e-15 for
    ``-700 < t <= 0``.  Below -708 the input is clamped, so the result stays
    a normal number near 3e-308 instead of underflowing; NaN propagates.
    """
    if t < -708.0:
        t = -708.0
    k = math.floor(t * _LOG2_E + 0.5)
    r = (t - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _float64_from_bits((np.int64(k) + 1023) << 52)


@njit(cache=True, inline="always", error_model="numpy")
def _sigmoid(x):
    """Return the logistic sigmoid of ``x`` in float64, stable for any input."""
    x = np.float64(x)
    # exp(-|x|) <= 1, so neither branch overflows.
    e = _exp_nonpositive(-abs(x))
    r = 1.0 / (1.0 + e)
    return r if x >= 0 else e * r


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _encode_epilogue(Hb, b, rho_sum):
    """Apply bias and sigmoid to the block ``Hb`` in place; add its column sums."""
    rows, s = Hb.shape
    for i in range(rows):
        for j in range(s):
            h = _sigmoid(Hb[i, j] + b[j])
            Hb[i, j] = h
            rho_sum[j] += h


@njit(cache=True)
def _encode_block(Xb, Wt, b, Hb, rho_sum):
    """Store ``sigmoid(Xb W^T + b)`` in ``Hb`` and add its column sums to ``rho_sum``."""
    np.dot(Xb, Wt, Hb)
    _encode_epilogue(Hb, b, rho_sum)


@njit(cache=True)
def _chunk_cache_span(chunk, start, stop, m, chunk_cache_rows):
    """Return where the cached rows of a chunk start in ``H_cache``, and how many.

    ``chunk_cache_rows >= m`` means that ``H_cache`` contains all of ``H`` in
    sample order.  Otherwise chunk ``chunk`` owns the rows
    ``chunk * chunk_cache_rows`` onward, for its first blocks.
    """
    if chunk_cache_rows >= m:
        return start, stop - start
    return chunk * chunk_cache_rows, chunk_cache_rows


@njit(cache=True)
def _encode_chunk(X, Wt, b, H_cache, cache_start, cache_rows, rho_sum, start, stop,
                  block_rows):
    """Add the column sums of ``H`` over rows ``start:stop`` to ``rho_sum``.

    The blocks among the first ``cache_rows`` rows of the chunk are stored in
    ``H_cache`` from row ``cache_start`` on.  The others go through a scratch
    block and are dropped.
    """
    s = Wt.shape[1]
    rows_max = min(block_rows, max(stop - start, 1))
    H_buf = np.empty((rows_max if cache_rows < stop - start else 0, s), X.dtype)
    for i0 in range(start, stop, block_rows):
        i1 = min(stop, i0 + block_rows)
        local = i0 - start
        if local + (i1 - i0) <= cache_rows:
            Hb = H_cache[cache_start + local:cache_start + local + (i1 - i0)]
        else:
            Hb = H_buf[:i1 - i0]
        _encode_block(X[i0:i1], Wt, b, Hb, rho_sum)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _decode_epilogue(Zb, Xb, c, inv_m, gc_sum, sq_err_sum):
    """Turn ``Zb = H V^T`` into ``delta2`` in place.

    Adds the column sums of ``delta2`` to ``gc_sum`` and those of
    ``(Z - X)^2`` to ``sq_err_sum`` (both float64).
    """
    rows, n = Zb.shape
    for i in range(rows):
        for j in range(n):
            z = _sigmoid(Zb[i, j] + c[j])
            d = z - Xb[i, j]
            sq_err_sum[j] += d * d
            delta2 = d * z * (1 - z) * inv_m
            Zb[i, j] = delta2
            gc_sum[j] += delta2


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _hidden_epilogue(Db, Hb, kl_term, jac_term, gb_sum, q_sq_sum):
    """Turn ``Db = delta2 V`` into ``delta1`` in place.

    ``kl_term[j]`` is ``k_j / m`` and ``jac_term[j]`` is
    ``jacobian_weight / m * ||W_j||^2``.  Adds the column sums of ``delta1``
    to ``gb_sum`` and those of ``Q^2`` to ``q_sq_sum`` (both float64).
    """
    rows, s = Db.shape
    for i in range(rows):
        for j in range(s):
            h = Hb[i, j]
            q = h * (1 - h)
            dh = Db[i, j] + kl_term[j] + jac_term[j] * q * (1 - 2 * h)
            delta1 = dh * q
            Db[i, j] = delta1
            gb_sum[j] += delta1
            q_sq_sum[j] += np.float64(q) * np.float64(q)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _accumulate(total, part):
    """Add the 2-D array ``part`` to the float64 array ``total`` in place."""
    rows, cols = part.shape
    for i in range(rows):
        for j in range(cols):
            total[i, j] += part[i, j]


@njit(cache=True)
def _backward_chunk(X, Wt, b, H_cache, cache_start, cache_rows, V, c, kl_term,
                    jac_term, tied, start, stop, block_rows, gW_sum, gV_sum,
                    gb_sum, gc_sum, q_sq_sum, sq_err_sum):
    """Accumulate the gradient and cost sums of rows ``start:stop``.

    Blocks among the first ``cache_rows`` rows of the chunk read ``H`` from
    ``H_cache`` (from row ``cache_start`` on), as pass 1 stored it.  The
    others are encoded again.  Tied weights add ``H^T delta2`` (the transpose
    of the decoder gradient) to ``gW_sum`` and leave ``gV_sum`` untouched.
    """
    m, n = X.shape
    s = Wt.shape[1]
    dtype = X.dtype
    inv_m = 1.0 / m

    # Scratch owned by this chunk, so threads never share a temporary.
    rows_max = min(block_rows, max(stop - start, 1))
    Z_buf = np.empty((rows_max, n), dtype)
    D_buf = np.empty((rows_max, s), dtype)
    H_buf = np.empty((rows_max if cache_rows < stop - start else 0, s), dtype)
    # Column sums of re-encoded blocks, unused because rho_hat is known.
    rho_unused = np.zeros(s)
    sn_buf = np.empty((s, n), dtype)
    ns_buf = np.empty((0, 0), dtype) if tied else np.empty((n, s), dtype)

    for i0 in range(start, stop, block_rows):
        i1 = min(stop, i0 + block_rows)
        rows = i1 - i0
        local = i0 - start
        Xb = X[i0:i1]
        Zb = Z_buf[:rows]
        Db = D_buf[:rows]
        if local + rows <= cache_rows:
            Hb = H_cache[cache_start + local:cache_start + local + rows]
        else:
            Hb = H_buf[:rows]
            _encode_block(Xb, Wt, b, Hb, rho_unused)

        np.dot(Hb, V.T, Zb)
        _decode_epilogue(Zb, Xb, c, inv_m, gc_sum, sq_err_sum)

        if tied:
            np.dot(Hb.T, Zb, sn_buf)
            _accumulate(gW_sum, sn_buf)
        else:
            np.dot(Zb.T, Hb, ns_buf)
            _accumulate(gV_sum, ns_buf)

        np.dot(Zb, V, Db)
        _hidden_epilogue(Db, Hb, kl_term, jac_term, gb_sum, q_sq_sum)

        np.dot(Db.T, Xb, sn_buf)
        _accumulate(gW_sum, sn_buf)


@njit(cache=True)
def _kl_and_derivative(rho_hat, p, sparsity_weight):
    """Return ``sum_j KL(p || rho_c_j)`` and ``sparsity_weight`` times its derivative."""
    s = rho_hat.shape[0]
    kl = 0.0
    k = np.zeros(s)
    for j in range(s):
        r = rho_hat[j]
        rc = min(max(r, KL_EPS), 1.0 - KL_EPS)
        kl += p * math.log(p / rc) + (1.0 - p) * math.log((1.0 - p) / (1.0 - rc))
        # Where the clip is active the cost is flat in rho_hat.
        if KL_EPS < r < 1.0 - KL_EPS:
            k[j] = sparsity_weight * (-p / rc + (1.0 - p) / (1.0 - rc))
    return kl, k


@njit(cache=True)
def _chunk_bounds(n_rows, n_chunks, block_rows, chunk):
    """Return the row range of ``chunk``: a contiguous run of whole blocks."""
    n_blocks = (n_rows + block_rows - 1) // block_rows
    start = min(n_rows, (chunk * n_blocks // n_chunks) * block_rows)
    stop = min(n_rows, ((chunk + 1) * n_blocks // n_chunks) * block_rows)
    return start, stop


@njit(cache=True, parallel=True)
def _loss_and_grad_kernel(X, W, b, V, c, tied, sparsity_target, weight_decay,
                          sparsity_weight, jacobian_weight, n_chunks, block_rows,
                          two_pass, chunk_cache_rows):
    m, n = X.shape
    s = W.shape[0]
    dtype = X.dtype

    # H_cache contains all of H (chunk_cache_rows >= m) or chunk_cache_rows
    # rows per chunk.
    if chunk_cache_rows >= m:
        H_cache = np.empty((m, s), dtype)
    else:
        H_cache = np.empty((n_chunks * chunk_cache_rows, s), dtype)

    # Pass 1: float64 column sums of H per chunk, and H within the cache.
    kl = 0.0
    k = np.zeros(s)
    if two_pass:
        rho_parts = np.zeros((n_chunks, s))
        for t in prange(n_chunks):
            start, stop = _chunk_bounds(m, n_chunks, block_rows, t)
            cache_start, cache_rows = _chunk_cache_span(t, start, stop, m,
                                                        chunk_cache_rows)
            _encode_chunk(X, W.T, b, H_cache, cache_start, cache_rows, rho_parts[t],
                          start, stop, block_rows)

        rho_hat = np.zeros(s)
        for t in range(n_chunks):
            rho_hat += rho_parts[t]
        rho_hat /= m
        kl, k = _kl_and_derivative(rho_hat, sparsity_target, sparsity_weight)

    w_sq = np.zeros(s)
    for j in range(s):
        acc = 0.0
        for col in range(n):
            acc += np.float64(W[j, col]) * np.float64(W[j, col])
        w_sq[j] = acc
    kl_term = (k / m).astype(dtype)
    jac_term = (jacobian_weight / m * w_sq).astype(dtype)

    # Pass 2: per-chunk float64 partial sums.
    gW_parts = np.zeros((n_chunks, s, n))
    gV_parts = np.zeros((n_chunks, 0, 0)) if tied else np.zeros((n_chunks, n, s))
    gb_parts = np.zeros((n_chunks, s))
    gc_parts = np.zeros((n_chunks, n))
    q_sq_parts = np.zeros((n_chunks, s))
    sq_err_parts = np.zeros((n_chunks, n))
    for t in prange(n_chunks):
        start, stop = _chunk_bounds(m, n_chunks, block_rows, t)
        # Without pass 1 nothing is cached, so every block is encoded here.
        cache_start, cache_rows = _chunk_cache_span(t, start, stop, m,
                                                    chunk_cache_rows)
        _backward_chunk(
            X, W.T, b, H_cache, cache_start, cache_rows, V, c, kl_term, jac_term,
            tied, start, stop, block_rows, gW_parts[t], gV_parts[t], gb_parts[t],
            gc_parts[t], q_sq_parts[t], sq_err_parts[t])

    # Fixed-order reduction of the chunk partials.
    gW_sum = gW_parts[0].copy()
    gb_sum = gb_parts[0].copy()
    gc_sum = gc_parts[0].copy()
    q_sq = q_sq_parts[0].copy()
    sq_err_sum = sq_err_parts[0].copy()
    for t in range(1, n_chunks):
        gW_sum += gW_parts[t]
        gb_sum += gb_parts[t]
        gc_sum += gc_parts[t]
        q_sq += q_sq_parts[t]
        sq_err_sum += sq_err_parts[t]
    sq_err = sq_err_sum.sum()

    gW = np.empty((s, n), dtype)
    w_norm2 = 0.0
    for j in range(s):
        shrink = jacobian_weight / m * q_sq[j]
        for col in range(n):
            w = np.float64(W[j, col])
            gW[j, col] = gW_sum[j, col] + (weight_decay + shrink) * w
            w_norm2 += w * w

    v_norm2 = 0.0
    if tied:
        gV = np.empty((0, 0), dtype)
    else:
        gV = np.empty((n, s), dtype)
        for row in range(n):
            acc = gV_parts[0, row].copy()
            for t in range(1, n_chunks):
                acc += gV_parts[t, row]
            for j in range(s):
                v = np.float64(V[row, j])
                gV[row, j] = acc[j] + weight_decay * v
                v_norm2 += v * v

    jac = 0.0
    for j in range(s):
        jac += w_sq[j] * q_sq[j]

    loss = (sq_err / (2.0 * m)
            + 0.5 * weight_decay * (w_norm2 + v_norm2)
            + sparsity_weight * kl
            + jacobian_weight / (2.0 * m) * jac)
    return loss, gW, gb_sum.astype(dtype), gV, gc_sum.astype(dtype)


def _check_arrays(X, W, b, V, c):
    """Raise ValueError unless the arrays match what the compiled kernel expects."""
    dtype = X.dtype
    if dtype not in (np.float32, np.float64):
        raise ValueError(
            f"X must be float32 or float64, got dtype {dtype}; convert it with "
            "X.astype(np.float64)."
        )
    if X.ndim != 2 or W.ndim != 2:
        raise ValueError(
            f"X and W must be 2-D, got X.ndim={X.ndim} and W.ndim={W.ndim}."
        )
    m, n = X.shape
    s = W.shape[0]
    expected = {"W": (s, n), "b": (s,), "c": (n,)}
    arrays = {"X": X, "W": W, "b": b, "c": c}
    if V is not None:
        expected["V"] = (n, s)
        arrays["V"] = V
    for name, arr in arrays.items():
        if arr.dtype != dtype:
            raise ValueError(
                f"{name} has dtype {arr.dtype} but X has dtype {dtype}; pass all "
                "arrays in one dtype."
            )
        if name in expected and arr.shape != expected[name]:
            raise ValueError(
                f"{name} has shape {arr.shape}, expected {expected[name]} for X "
                f"of shape {X.shape} and W of shape {W.shape}."
            )
        if not arr.flags.c_contiguous:
            raise ValueError(
                f"{name} must be C-contiguous; pass np.ascontiguousarray({name})."
            )
    if m < 1 or n < 1 or s < 1:
        raise ValueError(
            f"X and W must have at least one row and column, got X.shape={X.shape} "
            f"and W.shape={W.shape}."
        )


def _check_positive_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _check_cache_bytes(value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 0:
        raise ValueError(
            f"cache_bytes must be a non-negative integer, got {value!r}. Pass 0 "
            "to keep no hidden activations between the passes."
        )
    return int(value)


def _chunk_cache_rows(m, s, itemsize, n_chunks, block_rows, cache_bytes):
    """Return the rows of ``H`` each chunk keeps between the passes.

    Returns ``m`` when all of ``H`` fits into ``cache_bytes``.  Otherwise the
    whole blocks that fit are shared equally among the chunks, so the result
    is a multiple of ``block_rows`` (possibly 0) and ``n_chunks`` times it
    fits into the budget.
    """
    row_bytes = s * itemsize
    if m * row_bytes <= cache_bytes:
        return m
    blocks = cache_bytes // (block_rows * row_bytes)
    return (blocks // n_chunks) * block_rows


def loss_and_grad(X, W, b, V, c, sparsity_target, weight_decay,
                  sparsity_weight, jacobian_weight, n_threads, *, block_rows=BLOCK_ROWS,
                  cache_bytes=H_CACHE_BYTES):
    """Compute the JSAE cost and its gradient with the Numba kernel.

    Arguments are expected already validated by :mod:`jsae_fast._validation`;
    only shapes, dtypes and contiguity are checked again here.

    Parameters
    ----------
    X : ndarray of shape (m, n), float32 or float64
        Samples in rows.
    W : ndarray of shape (s, n)
        Encoder weights.
    b : ndarray of shape (s,)
        Encoder bias.
    V : ndarray of shape (n, s) or None
        Decoder weights, or None for tied weights (the decoder is ``W.T``).
    c : ndarray of shape (n,)
        Decoder bias.
    sparsity_target, weight_decay, sparsity_weight, jacobian_weight : float
        Hyperparameters of the cost.
    n_threads : int
        Number of chunks and of Numba threads (capped at
        ``numba.config.NUMBA_NUM_THREADS``).  Results are bitwise
        reproducible for fixed ``n_threads``, ``block_rows`` and
        ``cache_bytes``.
    block_rows : int, default=BLOCK_ROWS
        Samples per block.  Changes only speed, memory and rounding.
    cache_bytes : int, default=H_CACHE_BYTES
        Memory budget in bytes for keeping the hidden activations between
        the two passes.  Blocks beyond it are encoded twice.  Changes speed
        and memory, and the results by rounding at most.

    Returns
    -------
    loss : float
    gW, gb, gV, gc : ndarray
        Gradients in the dtype of ``X``; ``gV`` is None for tied weights.

    Raises
    ------
    ValueError
        If an array has the wrong shape, dtype or memory layout, or
        ``n_threads`` or ``block_rows`` is not a positive integer, or
        ``cache_bytes`` is not a non-negative integer.
    """
    _check_arrays(X, W, b, V, c)
    n_threads = _check_positive_int(n_threads, "n_threads")
    block_rows = _check_positive_int(block_rows, "block_rows")
    cache_bytes = _check_cache_bytes(cache_bytes)

    m, n = X.shape
    s = W.shape[0]
    # Without the KL term nothing needs rho_hat, so pass 1 is skipped.
    two_pass = sparsity_weight != 0
    chunk_cache_rows = 0
    if two_pass:
        chunk_cache_rows = _chunk_cache_rows(m, s, X.itemsize, n_threads, block_rows,
                                             cache_bytes)

    tied = V is None
    # A C-ordered copy of W.T gives the tied case the same compiled signature.
    V_arr = np.ascontiguousarray(W.T) if tied else V

    numba_threads = min(n_threads, numba.config.NUMBA_NUM_THREADS)
    with _KERNEL_LOCK, blas_limits(1):
        previous = numba.get_num_threads()
        numba.set_num_threads(numba_threads)
        try:
            loss, gW, gb, gV, gc = _loss_and_grad_kernel(
                X, W, b, V_arr, c, tied, float(sparsity_target),
                float(weight_decay), float(sparsity_weight),
                float(jacobian_weight), n_threads, block_rows, two_pass,
                chunk_cache_rows)
        finally:
            numba.set_num_threads(previous)
    return float(loss), gW, gb, (None if tied else gV), gc
