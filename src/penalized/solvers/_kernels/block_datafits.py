"""The block data fits (multinomial, multi-task squared error): losses, gradients, gaps."""

import numpy as np

from .base import _JIT, MULTINOMIAL, njit
from .datafits import curvature_bound, gradient, sample_gap, sample_loss, sample_loss_derivative
from .matrix import cols_dot


@njit(**_JIT)
def block_curvature(df):
    """Bound on the Hessian of ``ℓ(y_i, ·)`` in the operator norm: 2, ¼, or ½ (multinomial,
    Böhning's bound ``diag(p) − ppᵀ ≤ ½ I``)."""
    if df == MULTINOMIAL:
        return 0.5
    return curvature_bound(df)


@njit(**_JIT)
def sample_grad_block(df, Y, Z, B, i, out):
    """``out_k = ∂ℓ(y_i, z_i + B)/∂z_k``; returns ``ℓ(y_i, z_i + B)``."""
    K = out.shape[0]
    if df == MULTINOMIAL:
        top = -np.inf
        for k in range(K):
            top = max(top, Z[i, k] + B[k])
        s = 0.0
        zy = 0.0
        for k in range(K):
            e = np.exp(Z[i, k] + B[k] - top)
            out[k] = e
            s += e
            zy += Y[i, k] * (Z[i, k] + B[k])
        for k in range(K):
            out[k] = out[k] / s - Y[i, k]
        return top + np.log(s) - zy
    loss = 0.0
    for k in range(K):
        z = Z[i, k] + B[k]
        out[k] = sample_loss_derivative(df, Y[i, k], z)
        loss += sample_loss(df, Y[i, k], z)
    return loss


@njit(**_JIT)
def block_loss(df, Y, a, Z, B):
    """``Σ_i a_i ℓ(y_i, z_i + B)``."""
    K = B.shape[0]
    tmp = np.empty(K)
    s = 0.0
    for i in range(Y.shape[0]):
        s += a[i] * sample_grad_block(df, Y, Z, B, i, tmp)
    return s


@njit(**_JIT)
def block_sample_gap(df, Y, Z, B, i, alpha, tmp):
    """``f(z_i) + f*(v_i) − v_iᵀz_i ≥ 0`` at the dual point ``v_i = alpha·∇f(z_i)``."""
    K = B.shape[0]
    if alpha == 1.0:
        return 0.0
    if df == MULTINOMIAL:
        loss = sample_grad_block(df, Y, Z, B, i, tmp)
        total = loss
        for k in range(K):
            p = tmp[k] + Y[i, k]
            q = alpha * p + (1.0 - alpha) * Y[i, k]
            if q > 0.0:
                total += q * np.log(q)
            total -= alpha * tmp[k] * (Z[i, k] + B[k])
        return max(total, 0.0)
    log_alpha = np.log(alpha) if alpha > 0.0 else 0.0
    log1m_alpha = np.log1p(-alpha)
    total = 0.0
    for k in range(K):
        total += sample_gap(df, Y[i, k], Z[i, k] + B[k], alpha, log_alpha, log1m_alpha)
    return total


@njit(**_JIT)
def block_derivatives(df, Y, a, Z, B, D, gB):
    """``D_ik = a_i ∂ℓ/∂z_ik``; ``gB = Σ_i D_i`` (the intercepts' gradient)."""
    K = B.shape[0]
    tmp = np.empty(K)
    gB[:] = 0.0
    for i in range(Y.shape[0]):
        sample_grad_block(df, Y, Z, B, i, tmp)
        for k in range(K):
            D[i, k] = a[i] * tmp[k]
            gB[k] += D[i, k]


@njit(**_JIT)
def block_gradient(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, mu, features, G, D, gB):
    """``G_j = X̃_jᵀD`` for ``j`` in ``features`` (centred directions; see the scalar
    :func:`gradient`); fills ``D`` and ``gB``."""
    K = B.shape[0]
    if K == 1 and df != MULTINOMIAL:  # one output: the scalar kernel on 1-D views
        n = Y.shape[0]
        gB[0] = gradient(df, X, Xd, Xi, Xp, sparse, Y.reshape(n), a, Z.reshape(n), B[0], mu, features,
                         G.reshape(G.shape[0]), D.reshape(n))
        return
    block_derivatives(df, Y, a, Z, B, D, gB)
    n = D.shape[0]
    # one output at a time through the vectorised column dots: K passes over the columns
    # beat one pass whose inner loop runs over the K outputs
    col = np.empty(n)
    out = np.empty(G.shape[0])
    for k in range(K):
        for i in range(n):
            col[i] = D[i, k]
        cols_dot(X, Xd, Xi, Xp, sparse, features, col, mu, out)
        for j in features:
            G[j, k] = out[j] - (mu[j] * gB[k] if sparse else 0.0)
