"""Validated encoder and decoder passes for trained parameters."""

from ._model import decode as _decode
from ._model import encode as _encode
from ._validation import check_params, check_X


def encode(X, params):
    """Compute the hidden codes ``sigmoid(X @ W.T + b)``.

    Parameters
    ----------
    X : array-like of shape (m, n)
        Data in ``[0, 1]``.
    params : dict
        Parameters with keys ``"W"``, ``"b"``, ``"V"``, ``"c"``, as returned by
        :func:`jsae_fast.init_params` or :class:`jsae_fast.Trainer`.

    Returns
    -------
    H : ndarray of shape (m, s)
        Hidden activations in the dtype of the parameters.
    """
    W = params["W"]
    X = check_X(X, dtype=getattr(W, "dtype", None))
    W, b, _, _ = check_params(X, W, params["b"], params.get("V"), params["c"])
    return _encode(X, W, b)


def decode(H, params):
    """Compute the reconstruction ``sigmoid(H @ V.T + c)``, with ``V = W.T`` if tied.

    Parameters
    ----------
    H : array-like of shape (m, s)
        Hidden codes in ``[0, 1]``.
    params : dict
        Parameters with keys ``"W"``, ``"b"``, ``"V"``, ``"c"``.

    Returns
    -------
    Z : ndarray of shape (m, n)
    """
    W = params["W"]
    V = params.get("V")
    decoder = W.T if V is None else V
    H = check_X(H, name="H", dtype=getattr(W, "dtype", None))
    if H.shape[1] != decoder.shape[1]:
        raise ValueError(f"H has {H.shape[1]} columns, but the model has "
                         f"{decoder.shape[1]} hidden units.")
    return _decode(H, decoder, params["c"])
