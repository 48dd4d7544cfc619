"""Registry of cost-and-gradient backends and the public ``loss_and_grad``.

Each backend is a module ``jsae_fast._<name>_backend`` with a function
``loss_and_grad(X, W, b, V, c, sparsity_target, weight_decay, sparsity_weight,
jacobian_weight, n_threads)`` that takes validated, C-contiguous arrays of one
float dtype and returns ``(loss, gW, gb, gV, gc)``.  A backend that cannot run
here raises ImportError with the reason when its module is imported.
"""

import importlib

from ._threads import resolve_n_threads
from ._validation import check_params, check_penalties, check_X

#: Backend names in the order ``backend="auto"`` tries them, fastest first.
BACKEND_ORDER = ("cython", "numba", "numpy")

_MODULES = {name: f"jsae_fast._{name}_backend" for name in BACKEND_ORDER}
_loaded = {}
_failures = {}


def _load(name):
    if name in _loaded:
        return _loaded[name]
    if name in _failures:
        return None
    try:
        module = importlib.import_module(_MODULES[name])
    except ImportError as exc:
        _failures[name] = str(exc) or type(exc).__name__
        return None
    _loaded[name] = module
    return module


def backends():
    """List the cost-and-gradient backends and whether each can run here.

    Returns
    -------
    info : dict
        Maps each backend name, in the order ``backend="auto"`` tries them, to
        ``{"available": bool, "reason": str}``; ``reason`` explains why an
        unavailable backend is missing, or notes a limit of an available
        one (the Cython kernels built without OpenMP run on one thread).

    Examples
    --------
    >>> import jsae_fast
    >>> jsae_fast.backends()["numpy"]["available"]
    True
    """
    info = {}
    for name in BACKEND_ORDER:
        module = _load(name)
        if module is None:
            info[name] = {"available": False, "reason": _failures[name]}
        else:
            reason = ""
            if name == "cython" and not getattr(module, "OPENMP_ENABLED", True):
                reason = ("built without OpenMP: runs on one thread whatever n_threads "
                          "is; reinstall without JSAE_FAST_DISABLE_OPENMP set, with a "
                          "compiler that supports -fopenmp")
            info[name] = {"available": True, "reason": reason}
    return info


def resolve_backend(backend):
    """Return ``(name, kernel)`` for a backend name or ``"auto"``."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string, got {backend!r}.")
    if backend == "auto":
        for name in BACKEND_ORDER:
            module = _load(name)
            if module is not None:
                return name, module.loss_and_grad
        raise ImportError("no backend is available: " + str(_failures))  # pragma: no cover
    if backend not in _MODULES:
        valid = ", ".join(repr(n) for n in ("auto",) + BACKEND_ORDER)
        raise ValueError(f"unknown backend {backend!r}; valid backends are {valid}.")
    module = _load(backend)
    if module is None:
        reason = _failures[backend].rstrip(".")
        raise ImportError(f"backend {backend!r} is not available: {reason}. "
                          f"Use backend='auto' to pick the fastest available one.")
    return backend, module.loss_and_grad


def loss_and_grad(X, W, b, V, c, *, sparsity_target, weight_decay, sparsity_weight,
                  jacobian_weight, backend="auto", n_threads=None):
    """Compute the JSAE cost and its gradient.

    With ``H = sigmoid(X W^T + b)`` and ``Z = sigmoid(H V^T + c)`` the cost is

    ``1/(2m) ||Z - X||^2 + weight_decay/2 (||W||^2 + ||V||^2)
    + sparsity_weight sum_j KL(sparsity_target || mean_i H_ij)
    + jacobian_weight/(2m) sum_ij (H_ij (1 - H_ij))^2 ||W_j||^2``,

    where the last term equals ``jacobian_weight/(2m) sum_i ||dH_i/dX_i||_F^2``
    for the sigmoid encoder.  Cost and gradient take O(m n s) time: five
    matrix products plus elementwise work.  See ``docs/model.md``.

    Parameters
    ----------
    X : array-like of shape (m, n)
        Data in ``[0, 1]``, one sample per row, float32 or float64.
    W : ndarray of shape (s, n)
        Encoder weights, same dtype as ``X``.
    b : ndarray of shape (s,)
        Encoder bias.
    V : ndarray of shape (n, s) or None
        Decoder weights, or None for tied weights (the decoder is ``W.T``).
    c : ndarray of shape (n,)
        Decoder bias.
    sparsity_target : float
        Target mean activation in ``(0, 1)``.
    weight_decay, sparsity_weight, jacobian_weight : float
        Non-negative penalty weights.
    backend : {"auto", "cython", "numba", "numpy"}, default="auto"
        Implementation; ``"auto"`` picks the fastest available one.
    n_threads : int or None, default=None
        Threads for the kernels and BLAS; None uses all usable cores.

    Returns
    -------
    loss : float
        The cost.
    grads : dict
        ``{"W", "b", "V", "c"}`` gradients with the parameters' shapes and
        dtype. ``grads["V"]`` is None for tied weights, and ``grads["W"]`` is
        then the whole tied gradient.

    Raises
    ------
    ValueError, TypeError
        On invalid data, parameters or hyperparameters; the message names the
        argument and the accepted values.

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast import init_params, loss_and_grad
    >>> X = np.random.default_rng(0).random((20, 8))
    >>> p = init_params(8, 3, random_state=0)
    >>> loss, grads = loss_and_grad(X, p["W"], p["b"], p["V"], p["c"],
    ...                             sparsity_target=0.1, weight_decay=3e-3,
    ...                             sparsity_weight=3.0, jacobian_weight=0.1)
    >>> grads["W"].shape
    (3, 8)
    """
    penalties = check_penalties(sparsity_target, weight_decay, sparsity_weight,
                                jacobian_weight)
    X = check_X(X)
    W, b, V, c = check_params(X, W, b, V, c)
    _, kernel = resolve_backend(backend)
    n_threads = resolve_n_threads(n_threads)
    loss, gW, gb, gV, gc = kernel(X, W, b, V, c, *penalties, n_threads)
    return loss, {"W": gW, "b": gb, "V": gV, "c": gc}
