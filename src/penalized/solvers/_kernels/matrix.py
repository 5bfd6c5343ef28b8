"""Column operations on the design ``(X, Xd, Xi, Xp, sparse)``: dots, axpys, moments, ``Xw``."""

import numpy as np

from .base import _INLINE, _JIT, _JIT_FAST, njit

# --------------------------------------------------------------------------- columns
# A call between kernels that passes arrays costs ~50 ns (their reference counts), as much
# as reading a sparse column of ~20 non-zeros. So the sparse column loops are inlined into
# their callers (numba IR inlining), the dense ones stay calls (their cost is spread over n
# entries, and they keep their own ``fastmath`` flags: vectorised), and loops over many
# columns (``cols_*``, the epochs) are written once per layout: a branch on the layout
# inside them costs about as much as the call. ``col_*`` dispatch one column (outside the
# hot loops).


@njit(**_INLINE)
def sparse_dot(Xd, Xi, start, stop, v):
    """``Σ_k Xd_k v[Xi_k]`` over the entries ``start:stop``."""
    s = 0.0
    for k in range(start, stop):
        s += Xd[k] * v[Xi[k]]
    return s


@njit(**_JIT_FAST)
def dense_dot(X, j, v, m):
    s = 0.0
    for i in range(X.shape[0]):
        s += (X[i, j] - m) * v[i]
    return s


@njit(**_INLINE)
def col_dot(X, Xd, Xi, Xp, sparse, j, v, m):
    """``(x_j − m)ᵀ v`` for a dense ``X``, ``x_jᵀ v`` for a sparse one."""
    if sparse:
        return sparse_dot(Xd, Xi, Xp[j], Xp[j + 1], v)
    return dense_dot(X, j, v, m)


@njit(**_INLINE)
def sparse_axpy(Xd, Xi, start, stop, alpha, v):
    for k in range(start, stop):
        v[Xi[k]] += alpha * Xd[k]


@njit(**_JIT_FAST)
def dense_axpy(X, j, alpha, v, m):
    for i in range(X.shape[0]):
        v[i] += alpha * (X[i, j] - m)


@njit(**_INLINE)
def col_axpy(X, Xd, Xi, Xp, sparse, j, alpha, v, m):
    """``v += alpha · (x_j − m)`` for a dense ``X``, ``v += alpha · x_j`` for a sparse one."""
    if sparse:
        sparse_axpy(Xd, Xi, Xp[j], Xp[j + 1], alpha, v)
    else:
        dense_axpy(X, j, alpha, v, m)


@njit(**_INLINE)
def sparse_dot3(Xd, Xi, start, stop, h, v):
    s = 0.0
    for k in range(start, stop):
        i = Xi[k]
        s += Xd[k] * h[i] * v[i]
    return s


@njit(**_JIT_FAST)
def dense_dot3(X, j, h, v, m):
    s = 0.0
    for i in range(X.shape[0]):
        s += (X[i, j] - m) * h[i] * v[i]
    return s


@njit(**_INLINE)
def col_dot3(X, Xd, Xi, Xp, sparse, j, h, v, m):
    """``Σ_i h_i v_i (x_ij − m)`` (dense) or ``Σ_i h_i v_i x_ij`` (sparse)."""
    if sparse:
        return sparse_dot3(Xd, Xi, Xp[j], Xp[j + 1], h, v)
    return dense_dot3(X, j, h, v, m)


@njit(**_JIT_FAST)
def cols_dot(X, Xd, Xi, Xp, sparse, idx, v, mu, out):
    """``out_j = (x_j − mu_j)ᵀ v`` (dense) or ``x_jᵀ v`` (sparse) for ``j`` in ``idx``.

    Loops over many columns are written once per layout (here and in the epochs): a branch
    on the layout inside them costs as much as a short sparse column."""
    if sparse:
        for j in idx:
            out[j] = sparse_dot(Xd, Xi, Xp[j], Xp[j + 1], v)
    else:
        for j in idx:
            out[j] = dense_dot(X, j, v, mu[j])


@njit(**_JIT_FAST)
def cols_axpy(X, Xd, Xi, Xp, sparse, idx, coefs, v, mu):
    """``v += Σ_t coefs_t · (x_j − mu_j)`` (dense) or ``coefs_t · x_j`` (sparse), ``j = idx_t``."""
    if sparse:
        for t in range(idx.shape[0]):
            if coefs[t] != 0.0:
                j = idx[t]
                sparse_axpy(Xd, Xi, Xp[j], Xp[j + 1], coefs[t], v)
    else:
        for t in range(idx.shape[0]):
            if coefs[t] != 0.0:
                j = idx[t]
                dense_axpy(X, j, coefs[t], v, mu[j])


@njit(**_JIT_FAST)
def col_weighted_moments(X, Xd, Xi, Xp, sparse, a, means, sqnorms):
    """``means_j = Σ_i a_i x_ij`` and ``sqnorms_j = Σ_i a_i (x_ij − means_j)²``."""
    for j in range(means.shape[0]):
        m = 0.0
        if sparse:
            for k in range(Xp[j], Xp[j + 1]):
                m += a[Xi[k]] * Xd[k]
        else:
            for i in range(X.shape[0]):
                m += a[i] * X[i, j]
        q = 0.0
        if sparse:  # Σ a x² − m², clipped: zeros contribute m² each
            for k in range(Xp[j], Xp[j + 1]):
                q += a[Xi[k]] * Xd[k] * Xd[k]
            q = max(q - m * m, 0.0)
        else:
            for i in range(X.shape[0]):
                d = X[i, j] - m
                q += a[i] * d * d
        means[j] = m
        sqnorms[j] = q


@njit(**_JIT)
def matvec(X, Xd, Xi, Xp, sparse, w, mu, out):
    """``out = X̃w`` (dense, centred by ``mu``) or ``Xw`` (sparse)."""
    out[:] = 0.0
    cols_axpy(X, Xd, Xi, Xp, sparse, np.arange(w.shape[0]), w, out, mu)
