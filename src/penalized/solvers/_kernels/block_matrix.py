"""Column operations on blocks of outputs and the groups' Lipschitz constants."""

import numpy as np

from .base import _JIT, _JIT_FAST, njit


@njit(**_JIT_FAST)
def col_dot_block(X, Xd, Xi, Xp, sparse, j, D, m, out):
    """``out_k = Σ_i (x_ij − m) D_ik`` (dense) or ``Σ_i x_ij D_ik`` (sparse). One output at a time:
    with ``D`` Fortran-ordered (the block solver's layout) each is a contiguous, vectorised dot."""
    K = out.shape[0]
    for k in range(K):
        s = 0.0
        if sparse:
            for q in range(Xp[j], Xp[j + 1]):
                s += Xd[q] * D[Xi[q], k]
        else:
            for i in range(X.shape[0]):
                s += (X[i, j] - m) * D[i, k]
        out[k] = s


@njit(**_JIT_FAST)
def col_axpy_block(X, Xd, Xi, Xp, sparse, j, delta, V, m):
    """``V_ik += (x_ij − m)·delta_k`` (dense) or ``x_ij·delta_k`` (sparse); one output at a time
    (``V`` Fortran-ordered: contiguous columns)."""
    K = delta.shape[0]
    for k in range(K):
        d = delta[k]
        if d == 0.0:
            continue
        if sparse:
            for q in range(Xp[j], Xp[j + 1]):
                V[Xi[q], k] += Xd[q] * d
        else:
            for i in range(X.shape[0]):
                V[i, k] += (X[i, j] - m) * d


@njit(**_JIT_FAST)
def col_axpy_block_weighted(X, j, a, delta, V, m):
    """``V_ik += a_i (x_ij − m)·delta_k`` (dense ``X``; ``V`` Fortran-ordered)."""
    K = delta.shape[0]
    for k in range(K):
        d = delta[k]
        if d == 0.0:
            continue
        for i in range(X.shape[0]):
            V[i, k] += a[i] * (X[i, j] - m) * d


@njit(**_JIT)
def group_lipschitz(X, Xd, Xi, Xp, sparse, a, mu, gptr, gidx, curvature, out, hptr, HG):
    """``out_g = curvature · λ_max(X̃_gᵀ A X̃_g)`` (power iterations on the small Gram matrix), and
    that Gram matrix, row-major, in ``HG[hptr[g]:hptr[g+1]]`` for the groups that have room
    (``hptr[g+1] − hptr[g] = |g|²``; 0 for the others)."""
    n = a.shape[0]
    for g in range(gptr.shape[0] - 1):
        start = gptr[g]
        size = gptr[g + 1] - start
        if size == 0:
            out[g] = 0.0
            continue
        C = np.zeros((size, n))
        for t in range(size):
            j = gidx[start + t]
            if sparse:
                for q in range(Xp[j], Xp[j + 1]):
                    C[t, Xi[q]] = Xd[q]
                if mu[j] != 0.0:
                    for i in range(n):
                        C[t, i] -= mu[j]
            else:
                for i in range(n):
                    C[t, i] = X[i, j] - mu[j]
            for i in range(n):
                C[t, i] *= np.sqrt(a[i])
        H = C @ C.T
        if hptr[g + 1] - hptr[g] == size * size:
            for u in range(size):
                for v in range(size):
                    HG[hptr[g] + u * size + v] = H[u, v]
        if size == 1:
            out[g] = curvature * H[0, 0]
            continue
        v = np.ones(size) / np.sqrt(size)
        lam = 0.0
        for _ in range(100):
            u = H @ v
            norm = np.sqrt(np.sum(u * u))
            if norm == 0.0:
                break
            new = np.sum(v * u)
            v = u / norm
            if abs(new - lam) <= 1e-12 * new:
                lam = new
                break
            lam = new
        # the power iterate approaches λ_max from below: pad by the residual's bound
        u = H @ v
        res = np.sqrt(np.sum((u - lam * v) ** 2))
        out[g] = curvature * (lam + res)


@njit(**_JIT_FAST)
def col_dot_block_weighted(X, j, a, R, m, out):
    """``out_k = Σ_i (x_ij − m) a_i R_ik`` (dense ``X``; ``R`` Fortran-ordered: one contiguous,
    vectorised dot per output)."""
    K = out.shape[0]
    for k in range(K):
        s = 0.0
        for i in range(X.shape[0]):
            s += (X[i, j] - m) * a[i] * R[i, k]
        out[k] = s


@njit(**_JIT_FAST)
def _resid_dot(X, j, r, a, m, uniform):
    """``Σ_i (x_ij − m) a_i r_i`` (dense)."""
    s = 0.0
    if uniform:
        for i in range(X.shape[0]):
            s += (X[i, j] - m) * r[i]
        return s * a[0]
    for i in range(X.shape[0]):
        s += (X[i, j] - m) * a[i] * r[i]
    return s
