"""Finite-difference gradient check for any backend and any settings."""

import numpy as np

from ._backends import resolve_backend
from ._threads import resolve_n_threads
from ._validation import (
    check_params,
    check_penalties,
    check_positive_int,
    check_random_state,
    check_X,
)


#: Rounding error of one cost evaluation, in units of its last place.
_ROUNDING_ULPS = 8


def check_gradient(X, W, b, V, c, *, sparsity_target, weight_decay, sparsity_weight,
                   jacobian_weight, backend="auto", n_threads=None, epsilon=1e-6,
                   max_entries=200, random_state=0):
    """Compare a backend's gradient with central finite differences.

    The analytic gradient comes from ``backend`` at the dtype of ``X``.  The
    finite differences always run the same backend in float64, whatever the
    input dtype, because float32 differences are too coarse to judge a
    gradient by.  For each parameter the check perturbs at most
    ``max_entries`` entries, chosen at random, and reports

    ``max_k e_k / max(max_k |d_k|, max_k |g_k|, 1e-8)``,

    the largest error relative to the largest gradient entry, which stays
    meaningful where single entries are near zero.  ``e_k`` is
    ``|g_k - d_k|`` less the rounding error of the difference quotient
    (8 ulps of each of the two costs, divided by ``2 epsilon``) and at least
    0: where the cost is large and the gradient small, the two costs of a
    difference agree in all but their last bits, and a difference at that
    level carries no information about the gradient.

    Parameters
    ----------
    X, W, b, V, c
        Data and parameters as for :func:`jsae_fast.loss_and_grad`.
    sparsity_target, weight_decay, sparsity_weight, jacobian_weight : float
        Cost hyperparameters.
    backend : str, default="auto"
        Backend whose gradient is checked.
    n_threads : int or None, default=None
        Threads for the backend.
    epsilon : float, default=1e-6
        Step of the central differences.
    max_entries : int, default=200
        Entries checked per parameter; all of them when the parameter is
        smaller.
    random_state : int, RandomState instance or None, default=0
        Chooses the checked entries.

    Returns
    -------
    errors : dict
        Maximum relative error for ``"W"``, ``"b"``, ``"c"`` and, unless the
        weights are tied, ``"V"``.  Values near 1e-7 or below (float64) mean
        the gradient is right; float32 gradients typically give 1e-4 to 1e-3.

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast import check_gradient, init_params
    >>> X = np.random.default_rng(0).random((10, 6))
    >>> p = init_params(6, 4, random_state=0)
    >>> err = check_gradient(X, p["W"], p["b"], p["V"], p["c"], sparsity_target=0.1,
    ...                      weight_decay=1e-3, sparsity_weight=3.0, jacobian_weight=0.5)
    >>> max(err.values()) < 1e-6
    True
    """
    penalties = check_penalties(sparsity_target, weight_decay, sparsity_weight,
                                jacobian_weight)
    X = check_X(X)
    W, b, V, c = check_params(X, W, b, V, c)
    max_entries = check_positive_int(max_entries, "max_entries")
    if not (np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be a positive finite number, got {epsilon!r}.")
    _, kernel = resolve_backend(backend)
    n_threads = resolve_n_threads(n_threads)
    rng = check_random_state(random_state)

    params = {"W": W, "b": b, "V": V, "c": c}
    _, *analytic = kernel(X, W, b, V, c, *penalties, n_threads)
    analytic = dict(zip("WbVc", analytic))

    X64 = X.astype(np.float64)
    p64 = {k: None if v is None else v.astype(np.float64) for k, v in params.items()}

    def cost(q):
        return kernel(X64, q["W"], q["b"], q["V"], q["c"], *penalties, n_threads)[0]

    errors = {}
    for name, value in p64.items():
        if value is None:
            continue
        flat = value.reshape(-1)
        size = flat.size
        chosen = (np.arange(size) if size <= max_entries
                  else rng.choice(size, max_entries, replace=False))
        numeric = np.empty(len(chosen))
        noise = np.empty(len(chosen))
        for k, index in enumerate(chosen):
            original = flat[index]
            flat[index] = original + epsilon
            up = cost(p64)
            flat[index] = original - epsilon
            down = cost(p64)
            flat[index] = original
            numeric[k] = (up - down) / (2 * epsilon)
            # Rounding of the two costs, a few ulps each, divided by the step.
            noise[k] = _ROUNDING_ULPS * np.finfo(np.float64).eps * (abs(up) + abs(down)) / (
                2 * epsilon)
        exact = analytic[name].astype(np.float64).reshape(-1)[chosen]
        # The floor keeps an all-zero gradient from dividing by zero; below it
        # the error is absolute.
        scale = max(float(np.max(np.abs(numeric))), float(np.max(np.abs(exact))), 1e-8)
        beyond_noise = np.maximum(np.abs(exact - numeric) - noise, 0.0)
        errors[name] = float(np.max(beyond_noise) / scale)
    return errors
