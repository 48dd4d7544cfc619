"""Analytic O(s n m) cost and gradient in plain NumPy.

Full-batch: five matrix products over the whole data set and elementwise work
on the ``(m, s)`` and ``(m, n)`` intermediates, updated in place where
possible.  It needs about two ``(m, n)`` temporaries, so the native backends,
which work in blocks of samples, use far less memory.
"""

import numpy as np
from scipy.special import expit

from ._model import kl_divergence_and_derivative
from ._threads import blas_limits


def loss_and_grad(X, W, b, V, c, sparsity_target, weight_decay,
                  sparsity_weight, jacobian_weight, n_threads):
    """Return ``(loss, gW, gb, gV, gc)`` for validated, same-dtype inputs."""
    with blas_limits(n_threads):
        return _loss_and_grad(X, W, b, V, c, sparsity_target, weight_decay,
                              sparsity_weight, jacobian_weight)


def _loss_and_grad(X, W, b, V, c, p, lam, beta, gamma):
    m = X.shape[0]
    dtype = X.dtype
    tied = V is None
    decoder = W.T if tied else V

    # Encoder: H = sigmoid(X W^T + b), Q = H (1 - H).
    H = X @ W.T
    H += b
    expit(H, out=H)
    Q = H * (1 - H)

    # Decoder; delta2 = (Z - X) Z (1 - Z) / m overwrites Z.
    Z = H @ decoder.T
    Z += c
    expit(Z, out=Z)
    residual = Z - X
    reconstruction = 0.5 * float(np.einsum("ij,ij->", residual, residual, dtype=np.float64))
    Z *= 1 - Z
    Z *= residual
    del residual
    Z *= dtype.type(1.0 / m)
    delta2 = Z

    row_norms_sq = np.einsum("ij,ij->i", W, W, dtype=np.float64)
    rho_hat = H.mean(axis=0, dtype=np.float64)
    kl, dkl = kl_divergence_and_derivative(p, rho_hat)
    q_sq_sum = np.einsum("ij,ij->j", Q, Q, dtype=np.float64)
    contraction = float(q_sq_sum @ row_norms_sq)

    loss = (reconstruction / m
            + 0.5 * lam * float(np.sum(W * W, dtype=np.float64))
            + beta * kl
            + 0.5 * gamma / m * contraction)
    if not tied:
        loss += 0.5 * lam * float(np.sum(V * V, dtype=np.float64))

    # Decoder gradients.
    g_decoder = delta2.T @ H
    gc = delta2.sum(axis=0, dtype=np.float64).astype(dtype)

    # Back to the hidden layer: reconstruction, KL and Jacobian terms.
    dH = delta2 @ decoder
    del delta2, Z
    dH += (beta / m * dkl).astype(dtype)
    if gamma != 0.0:
        jac_factor = (gamma / m * row_norms_sq).astype(dtype)
        # d/dH of (H (1-H))^2 is 2 Q (1 - 2H); the 1/2 of the cost cancels the 2.
        H *= -2
        H += 1
        H *= Q
        H *= jac_factor
        dH += H
    del H
    dH *= Q
    delta1 = dH

    gW = delta1.T @ X
    gb = delta1.sum(axis=0, dtype=np.float64).astype(dtype)
    gW += lam * W
    if gamma != 0.0:
        gW += (gamma / m * q_sq_sum).astype(dtype)[:, None] * W

    if tied:
        gW += g_decoder.T
        return float(loss), gW, gb, None, gc
    g_decoder += lam * V
    return float(loss), gW, gb, g_decoder, gc
