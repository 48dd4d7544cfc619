"""Cost and gradient through the compiled Cython kernel.

The kernel (``jsae_fast._jsae_kernels``, built from
``kernels/_jsae_kernels.pyx``) works on blocks of samples, calls BLAS once per
block and product, and spreads the blocks over OpenMP threads.  This module
limits BLAS to one thread while the kernel runs, because a multithreaded BLAS
called from several OpenMP threads at once would oversubscribe the cores.

Importing this module raises ImportError when the extension was not built.
"""

from ._threads import blas_limits

try:
    from . import _jsae_kernels
except ImportError as exc:  # pragma: no cover - depends on the build
    raise ImportError(
        "the Cython backend is not available because the compiled extension "
        f"jsae_fast._jsae_kernels could not be imported ({exc}). Build it with "
        "'pip install --no-build-isolation -e .' from the source tree, which "
        "needs a C compiler, Cython>=3, NumPy and SciPy."
    ) from exc

#: True when the kernel was compiled with OpenMP.  Without it every call runs
#: on one thread whatever ``n_threads`` is.
OPENMP_ENABLED = _jsae_kernels.OPENMP_ENABLED

#: Rows of ``X`` per block, passed to the kernel.
BLOCK_SIZE = _jsae_kernels.DEFAULT_BLOCK_SIZE

#: Memory budget in bytes for keeping the hidden activations between the
#: kernel's two passes; rows beyond it are encoded twice.
H_CACHE_BYTES = _jsae_kernels.DEFAULT_CACHE_BYTES


def loss_and_grad(X, W, b, V, c, sparsity_target, weight_decay,
                  sparsity_weight, jacobian_weight, n_threads):
    """Return ``(loss, gW, gb, gV, gc)`` for validated, same-dtype inputs.

    ``gV`` is None for tied weights (``V is None``); ``gW`` then includes the
    decoder's share.  The kernel runs on ``n_threads`` OpenMP threads, or on
    one thread when the extension was built without OpenMP.
    """
    # Entering and leaving the limit took 15 to 30 microseconds per call when
    # measured, because the controller that scans the loaded libraries is
    # built once and cached.
    with blas_limits(1):
        return _jsae_kernels.loss_and_grad(
            X, W, b, V, c, sparsity_target, weight_decay, sparsity_weight,
            jacobian_weight, block_size=BLOCK_SIZE, cache_bytes=H_CACHE_BYTES,
            n_threads=n_threads,
        )
