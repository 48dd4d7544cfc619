"""Cost and gradient through the compiled Cython kernel.

The kernel works on blocks of samples, calls BLAS once per block and product,
and spreads the blocks over OpenMP threads.  This module limits BLAS to one
thread while the kernel runs, because a multithreaded BLAS called from
several OpenMP threads at once would oversubscribe the cores.

Instruction sets.  The kernel source (``kernels/_jsae_kernels_impl.pxi``) is
built into one extension module per instruction set: ``_jsae_kernels`` for
the platform's baseline, and on x86-64 ``_jsae_kernels_avx2``, compiled with
``-mavx2 -mfma``, and ``_jsae_kernels_avx512``, compiled for AVX-512 F, DQ
and VL as well.  At import this module loads the widest build that exists
and that the CPU supports, as NumPy's run-time CPU detection reports it, and
:data:`SIMD` names it.  The environment variable ``JSAE_FAST_SIMD`` caps the
choice: ``baseline`` forces the portable build, ``avx2`` allows at most AVX2,
``avx512`` at most AVX-512, and ``auto`` (or unset) takes the widest.  It is
read once, at import.

Importing this module raises ImportError when the baseline extension was not
built or ``JSAE_FAST_SIMD`` has an invalid value.
"""

import importlib
import importlib.util
import logging
import os

from ._threads import blas_limits

logger = logging.getLogger("jsae_fast.cython_backend")

#: Environment variable that caps the instruction set of the kernel build.
SIMD_ENV_VAR = "JSAE_FAST_SIMD"

#: Kernel builds by instruction set, widest first, as (name, module, CPU
#: features that NumPy must report).  FMA3 is needed because both wide builds
#: use ``-mfma``.
SIMD_LEVELS = (
    ("avx512", "jsae_fast._jsae_kernels_avx512",
     ("AVX", "AVX2", "FMA3", "AVX512F", "AVX512DQ", "AVX512VL")),
    ("avx2", "jsae_fast._jsae_kernels_avx2", ("AVX", "AVX2", "FMA3")),
    ("baseline", "jsae_fast._jsae_kernels", ()),
)

_LEVEL_NAMES = tuple(name for name, _, _ in SIMD_LEVELS)


def _numpy_cpu_features():
    """Return NumPy's map of CPU feature names to booleans, or {}.

    NumPy 2 stores it in ``numpy._core._multiarray_umath`` and NumPy 1 in
    ``numpy.core._multiarray_umath``.  NumPy's detection
    (``npy_cpu_features.c``) reports AVX, FMA3 and AVX2 only when the XCR0
    register shows that the operating system saves the YMM registers.  With
    an empty map only the baseline build is used.
    """
    for module_name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        features = getattr(module, "__cpu_features__", None)
        if isinstance(features, dict):
            return features
    return {}


def _extension_dir(module_name):
    """Return the folder of an extension's file without importing it, or None."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return os.path.dirname(os.path.abspath(spec.origin))


def supported_simd_levels(cpu_features=None):
    """Return the names of the builds that exist and can run on this CPU.

    Parameters
    ----------
    cpu_features : dict or None, default=None
        Map of NumPy CPU feature names to booleans; None reads NumPy's.

    Returns
    -------
    levels : list of str
        Names from :data:`SIMD_LEVELS`, widest first.  ``"baseline"`` is
        included only if its extension was built, and a wider build only if
        its file is in the same folder as the baseline one.
    """
    if cpu_features is None:
        cpu_features = _numpy_cpu_features()
    # A wider build counts only next to the baseline one.  Both then come
    # from one build, even when an editable install's import hook would find
    # a wider build in another source tree.
    baseline_dir = _extension_dir("jsae_fast._jsae_kernels")
    levels = []
    for name, module_name, required in SIMD_LEVELS:
        if not all(cpu_features.get(feature, False) for feature in required):
            continue
        folder = _extension_dir(module_name)
        if folder is not None and folder == baseline_dir:
            levels.append(name)
    return levels


def _requested_level(value):
    """Return the level named by the JSAE_FAST_SIMD value, or None for auto."""
    value = value.strip().lower()
    if value in ("", "auto"):
        return None
    if value not in _LEVEL_NAMES:
        valid = ", ".join(("auto",) + _LEVEL_NAMES)
        # backend="auto" then falls back to Numba, so the reason is also
        # logged where a user sees it without calling backends().
        logger.warning("%s=%r is not one of %s; the Cython backend is disabled.",
                       SIMD_ENV_VAR, value, valid)
        raise ImportError(
            f"the Cython backend is not available because the environment "
            f"variable {SIMD_ENV_VAR} is {value!r}, which is not one of "
            f"{valid}. Unset it or set it to one of those values."
        )
    return value


def _load_kernels():
    """Import the widest usable build, within the JSAE_FAST_SIMD cap."""
    requested = _requested_level(os.environ.get(SIMD_ENV_VAR, ""))
    supported = supported_simd_levels()
    candidates = list(_LEVEL_NAMES)
    if requested is not None:
        candidates = candidates[candidates.index(requested):]
        if requested not in supported:
            logger.warning(
                "%s=%s but that kernel build is not available here (built and "
                "supported by this CPU: %s); using the widest narrower one.",
                SIMD_ENV_VAR, requested, ", ".join(supported) or "none",
            )
    modules = dict((name, module_name) for name, module_name, _ in SIMD_LEVELS)
    for name in candidates:
        if name != "baseline" and name not in supported:
            continue
        try:
            module = importlib.import_module(modules[name])
        except ImportError as exc:
            if name == "baseline":
                raise ImportError(
                    "the Cython backend is not available because the compiled "
                    f"extension jsae_fast._jsae_kernels could not be imported "
                    f"({exc}). Install the package with 'pip install .' (or "
                    "'pip install -e .') from the source tree, which needs a C "
                    "compiler. Python started in the source tree's root folder "
                    "imports the uncompiled jsae_fast folder there instead of the "
                    "installed package; start it elsewhere."
                ) from exc
            logger.warning("could not import %s (%s); trying a narrower build.",
                           modules[name], exc)
            continue
        return name, module
    raise AssertionError("unreachable: the baseline build is always a candidate")


#: Name of the loaded build: "avx512", "avx2" or "baseline".
SIMD, KERNELS = _load_kernels()
logger.debug("using the %s build of the Cython kernel (%s)", SIMD, KERNELS.__name__)

#: True when the kernel was compiled with OpenMP.  Without it every call runs
#: on one thread whatever ``n_threads`` is.
OPENMP_ENABLED = KERNELS.OPENMP_ENABLED

#: Rows of ``X`` per block, passed to the kernel.
BLOCK_SIZE = KERNELS.DEFAULT_BLOCK_SIZE

#: Memory budget in bytes for keeping the hidden activations between the
#: kernel's two passes; rows beyond it are encoded twice.
H_CACHE_BYTES = KERNELS.DEFAULT_CACHE_BYTES


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
        return KERNELS.loss_and_grad(
            X, W, b, V, c, sparsity_target, weight_decay, sparsity_weight,
            jacobian_weight, block_size=BLOCK_SIZE, cache_bytes=H_CACHE_BYTES,
            n_threads=n_threads,
        )
