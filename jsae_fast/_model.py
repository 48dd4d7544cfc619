"""Model-level constants and helpers shared by the fast backends and the trainer.

The naive reference in :mod:`jsae_fast.reference` deliberately does not import
from here, so that it stays an independent oracle.
"""

import numpy as np
from scipy.special import expit

#: Bounds of the clip applied to the mean hidden activation ``rho_hat`` before
#: the KL sparsity term is evaluated.  Without it the term is infinite when a
#: unit's mean activation reaches 0 or 1 in floating point.  Where the clip is
#: active the cost does not depend on ``rho_hat``, so the KL gradient is zero.
KL_EPS = 1e-8


def kl_divergence_and_derivative(sparsity_target, rho_hat):
    """Return ``sum_j KL(p || rho_hat_j)`` and its derivative in ``rho_hat``.

    Both are computed in float64 on the clipped ``rho_hat``.

    Parameters
    ----------
    sparsity_target : float
        Target mean activation ``p`` in ``(0, 1)``.
    rho_hat : ndarray of shape (n_hidden,)
        Mean activation of each hidden unit.

    Returns
    -------
    kl : float
        The summed divergence.
    dkl : ndarray of shape (n_hidden,), float64
        Derivative of ``kl`` with respect to each ``rho_hat_j``; zero where the
        clip is active.
    """
    p = float(sparsity_target)
    rho = np.asarray(rho_hat, dtype=np.float64)
    clipped = np.clip(rho, KL_EPS, 1.0 - KL_EPS)
    kl = np.sum(p * np.log(p / clipped) + (1.0 - p) * np.log((1.0 - p) / (1.0 - clipped)))
    dkl = -p / clipped + (1.0 - p) / (1.0 - clipped)
    dkl[(rho <= KL_EPS) | (rho >= 1.0 - KL_EPS)] = 0.0
    return float(kl), dkl


def init_params(n_features, n_hidden, *, tied=False, dtype=np.float64, random_state=None):
    """Draw initial autoencoder parameters.

    Weights are uniform in ``[-r, r]`` with ``r = sqrt(6 / (n_features +
    n_hidden + 1))``, the usual choice for sigmoid autoencoders; biases are
    zero.

    Parameters
    ----------
    n_features : int
        Number of visible units ``n``.
    n_hidden : int
        Number of hidden units ``s``.
    tied : bool, default=False
        If True, return ``V=None``: the decoder uses ``W.T``.
    dtype : {np.float32, np.float64}, default=np.float64
        Floating-point type of the parameters.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for the draw.

    Returns
    -------
    params : dict
        ``{"W": (s, n), "b": (s,), "V": (n, s) or None, "c": (n,)}``.

    Examples
    --------
    >>> from jsae_fast import init_params
    >>> p = init_params(784, 196, random_state=0)
    >>> p["W"].shape, p["V"].shape
    ((196, 784), (784, 196))
    """
    from ._validation import check_bool, check_dtype, check_positive_int, check_random_state

    n_features = check_positive_int(n_features, "n_features")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    tied = check_bool(tied, "tied")
    dtype = check_dtype(dtype)
    rng = check_random_state(random_state)
    r = np.sqrt(6.0 / (n_features + n_hidden + 1))
    try:
        W = rng.uniform(-r, r, size=(n_hidden, n_features)).astype(dtype)
        V = None if tied else rng.uniform(-r, r, size=(n_features, n_hidden)).astype(dtype)
    except MemoryError:
        # The draw is made in float64 and then converted.
        needed = (1 if tied else 2) * n_hidden * n_features * (8 + np.dtype(dtype).itemsize)
        raise MemoryError(f"n_hidden={n_hidden} with {n_features} features needs about "
                          f"{needed / 2**30:.1f} GiB for the initial weights; use fewer "
                          f"hidden units.") from None
    return {
        "W": W,
        "b": np.zeros(n_hidden, dtype=dtype),
        "V": V,
        "c": np.zeros(n_features, dtype=dtype),
    }


def encode(X, W, b):
    """Return the hidden activations ``sigmoid(X @ W.T + b)``."""
    A = X @ W.T
    A += b
    return expit(A, out=A)


def decode(H, V, c):
    """Return the reconstruction ``sigmoid(H @ V.T + c)``."""
    A = H @ V.T
    A += c
    return expit(A, out=A)


#: Default penalty hyperparameters.  The first three follow the classic sparse
#: autoencoder settings for MNIST.  The Jacobian weight gave the best
#: validation accuracy on held-out MNIST training images; docs/model.md
#: has the numbers.
DEFAULT_PENALTIES = {
    "sparsity_target": 0.1,
    "weight_decay": 3e-3,
    "sparsity_weight": 3.0,
    "jacobian_weight": 0.03,
}
