"""Naive reference implementation of the JSAE cost and gradient.

This module is the oracle that every fast backend is tested against, so it is
written to be obviously right rather than fast:

* it works in float64 whatever the input dtype, one sample at a time;
* it builds each sample's explicit encoder Jacobian ``J_i = dh(x_i)/dx_i``
  of shape ``(s, n)`` and evaluates ``||J_i||_F^2`` from it;
* it differentiates the Jacobian penalty by the chain rule through the
  explicit derivative ``dJ_i[j, :] / dW[j, :]``, an ``(n, n)`` matrix per
  sample and hidden unit, which costs O(s n^2 m) in all;
* it shares no code with the fast backends.

The fast backends use the identity ``||J_i||_F^2 = sum_j (h_j (1 - h_j))^2
||W_j||^2`` instead and cost O(s n m).
"""

import numpy as np
from scipy.special import expit

__all__ = ["loss_and_grad"]

# The clip of the mean activation in the KL term: part of the cost's definition
# (see docs/model.md), repeated here so that this module stays independent.
_KL_EPS = 1e-8


def loss_and_grad(X, W, b, V, c, *, sparsity_target, weight_decay,
                  sparsity_weight, jacobian_weight):
    """Compute the JSAE cost and its gradient the slow, explicit way.

    Parameters
    ----------
    X : array-like of shape (m, n)
        Data in ``[0, 1]``, one sample per row.
    W : ndarray of shape (s, n)
        Encoder weights.
    b : ndarray of shape (s,)
        Encoder bias.
    V : ndarray of shape (n, s) or None
        Decoder weights; None for tied weights (the decoder uses ``W.T``).
    c : ndarray of shape (n,)
        Decoder bias.
    sparsity_target : float
        Target mean activation ``p`` of the KL term, in ``(0, 1)``.
    weight_decay : float
        Coefficient ``lambda`` of ``lambda/2 * (||W||^2 + ||V||^2)``.
    sparsity_weight : float
        Coefficient ``beta`` of the KL sparsity term.
    jacobian_weight : float
        Coefficient ``gamma`` of ``gamma/(2m) sum_i ||J_i||_F^2``.

    Returns
    -------
    loss : float
        The cost.
    grads : dict
        Gradients ``"W"``, ``"b"``, ``"V"`` (None when tied) and ``"c"``, in
        the dtype of ``X``.
    """
    out_dtype = np.asarray(X).dtype
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    tied = V is None
    decoder = W.T if tied else np.asarray(V, dtype=np.float64)
    p = float(sparsity_target)
    lam, beta, gamma = float(weight_decay), float(sparsity_weight), float(jacobian_weight)
    m, n = X.shape
    s = W.shape[0]

    # Forward pass, one sample at a time.
    H = np.zeros((m, s))
    Z = np.zeros((m, n))
    for i in range(m):
        H[i] = expit(W @ X[i] + b)
        Z[i] = expit(decoder @ H[i] + c)

    # Explicit per-sample Jacobians of the encoder: J_i[j, k] = dh_j / dx_k.
    jacobians = []
    for i in range(m):
        h = H[i]
        jacobians.append((h * (1 - h))[:, None] * W)

    # The four terms of the cost.
    reconstruction = np.sum((Z - X) ** 2) / (2 * m)
    decay = lam / 2 * np.sum(W ** 2)
    if not tied:
        decay += lam / 2 * np.sum(decoder ** 2)
    rho_hat = H.mean(axis=0)
    rho = np.clip(rho_hat, _KL_EPS, 1 - _KL_EPS)
    kl = np.sum(p * np.log(p / rho) + (1 - p) * np.log((1 - p) / (1 - rho)))
    contraction = sum(np.sum(J ** 2) for J in jacobians) / (2 * m)
    loss = reconstruction + decay + beta * kl + gamma * contraction

    # Gradient by the chain rule.
    grad_W = lam * W
    grad_b = np.zeros(s)
    grad_decoder = np.zeros((n, s)) if tied else lam * decoder
    grad_c = np.zeros(n)

    # d(beta * KL)/d rho_j, which is zero where the clip keeps rho constant.
    dkl_drho = -p / rho + (1 - p) / (1 - rho)
    dkl_drho[(rho_hat <= _KL_EPS) | (rho_hat >= 1 - _KL_EPS)] = 0.0

    for i in range(m):
        x, h, z = X[i], H[i], Z[i]
        q = h * (1 - h)

        # Reconstruction term through the decoder.
        dz = (z - x) / m
        da2 = dz * z * (1 - z)
        grad_decoder += np.outer(da2, h)
        grad_c += da2
        dh = decoder.T @ da2

        # KL term: rho_j = mean_i h_ij, so d rho_j / d h_ij = 1/m.
        dh += beta * dkl_drho / m

        # Jacobian term of this sample: C_i = gamma/(2m) ||J_i||^2, so
        # dC_i/dJ_i = gamma/m J_i.  Row j of J_i is q_j W[j, :], and q_j depends
        # on W[j, :] and b_j through a_j = W[j, :] @ x + b_j.
        dC_dJ = gamma / m * jacobians[i]
        for j in range(s):
            dq_da = q[j] * (1 - 2 * h[j])
            # dJ_i[j, k] / dW[j, l] = q_j [k == l] + W[j, k] dq_da x_l
            dJrow_dWrow = q[j] * np.eye(n) + dq_da * np.outer(W[j], x)
            grad_W[j] += dC_dJ[j] @ dJrow_dWrow
            grad_b[j] += dC_dJ[j] @ (dq_da * W[j])

        # Reconstruction and KL terms through the encoder.
        da1 = dh * q
        grad_W += np.outer(da1, x)
        grad_b += da1

    if tied:
        grad_W += grad_decoder.T
        grad_V = None
    else:
        grad_V = grad_decoder.astype(out_dtype)
    grads = {
        "W": grad_W.astype(out_dtype),
        "b": grad_b.astype(out_dtype),
        "V": grad_V,
        "c": grad_c.astype(out_dtype),
    }
    return float(loss), grads
