"""The block (group) solver: certificate, epochs, Anderson and the sub-problem."""

import numpy as np

from .anderson import anderson_combination
from .base import _JIT, MULTINOMIAL, SQUARED_ERROR, njit
from .block_datafits import (
    block_curvature,
    block_derivatives,
    block_gradient,
    block_loss,
    block_sample_gap,
    sample_grad_block,
)
from .block_matrix import _resid_dot, col_axpy_block, col_axpy_block_weighted, col_dot_block, col_dot_block_weighted
from .matrix import col_axpy
from .penalty_group import (
    _group_exact_steps,
    _group_view,
    block_penalty_groups,
    group_dual_scaling,
    group_gap_term,
    group_violation,
)

# --------------------------------------------------------------------------- blocks
# The block kernels: coefficients ``W`` of shape (p, K) (K outputs: K = 1 for one target,
# the tasks of multi-task least squares, the classes of the multinomial), state
# ``Z = X̃W + offset`` (n, K), intercepts ``B`` (K,), targets ``Y`` (n, K) (the multinomial's
# one-hot). Features are grouped (CSR: group g holds features ``gidx[gptr[g]:gptr[g+1]]``);
# a group's block ``W_g`` (|g| × K) carries ``λ_g ‖W_g‖_F`` plus the elastic-net terms
# ``l1_j|W_jk| + l2 W_jk²`` (``P`` rows 0 and 1; ``l2`` equal within a group). Block
# coordinate descent takes prox-gradient steps on one group at a time with step ``1/LG_g``,
# ``LG_g = ℓ''_max · λ_max(X̃_gᵀ A X̃_g)``.


@njit(**_JIT)
def block_certificate(df, Y, a, Z, B, W, G, gB, P, gptr, gidx, glam, LG, groups, fit_intercept):
    """``(gap, stationarity)`` over ``groups`` (as the scalar :func:`duality_gap`): the
    Fenchel duality gap of the penalized groups with the dual point ``θ = −α∇F`` rescaled
    into every group's dual ball, and ``Σ v_g² / (2 LG_g)`` over the unpenalized groups and
    ``‖gB‖² / (2 ℓ''_max)`` for the intercepts. ``G`` holds the gradient of those groups."""
    K = B.shape[0]
    maxsize = 0
    for g in groups:
        maxsize = max(maxsize, gptr[g + 1] - gptr[g])
    Wg = np.empty((maxsize, K))
    Gg = np.empty((maxsize, K))
    l1g = np.empty(maxsize)
    alpha = 1.0
    stationarity = 0.0
    for g in groups:
        start = gptr[g]
        size = gptr[g + 1] - start
        if size == 0 or LG[g] <= 0.0:
            continue
        _group_view(G, gidx, start, size, Gg)
        free = glam[g] == 0.0
        for t in range(size):
            l1g[t] = P[0, gidx[start + t]]
            if l1g[t] != 0.0:
                free = False
        l2 = P[1, gidx[start]]
        if free and l2 == 0.0:
            _group_view(W, gidx, start, size, Wg)
            v = group_violation(Wg[:size], Gg[:size], l1g[:size], 0.0, 0.0)
            stationarity += v * v / (2.0 * LG[g])
            continue
        alpha = group_dual_scaling(Gg[:size], l1g[:size], l2, glam[g], alpha)
    gap = 0.0
    if alpha < 1.0:
        tmp = np.empty(K)
        for i in range(Y.shape[0]):
            gap += a[i] * block_sample_gap(df, Y, Z, B, i, alpha, tmp)
    for g in groups:
        start = gptr[g]
        size = gptr[g + 1] - start
        if size == 0 or LG[g] <= 0.0:
            continue
        free = glam[g] == 0.0
        for t in range(size):
            l1g[t] = P[0, gidx[start + t]]
            if l1g[t] != 0.0:
                free = False
        l2 = P[1, gidx[start]]
        if free and l2 == 0.0:
            continue
        _group_view(W, gidx, start, size, Wg)
        _group_view(G, gidx, start, size, Gg)
        for t in range(size):
            for k in range(K):
                Gg[t, k] *= -alpha
        gap += group_gap_term(Wg[:size], Gg[:size], l1g[:size], l2, glam[g])
    if fit_intercept:
        c = block_curvature(df)
        for k in range(K):
            stationarity += gB[k] * gB[k] / (2.0 * c)
    return gap, stationarity


@njit(**_JIT)
def block_violations(W, G, P, gptr, gidx, glam, LG, out):
    """Per group, :func:`group_violation` (−1 where ``LG_g = 0``)."""
    K = W.shape[1]
    maxsize = 0
    for g in range(gptr.shape[0] - 1):
        maxsize = max(maxsize, gptr[g + 1] - gptr[g])
    Wg = np.empty((maxsize, K))
    Gg = np.empty((maxsize, K))
    l1g = np.empty(maxsize)
    for g in range(gptr.shape[0] - 1):
        start = gptr[g]
        size = gptr[g + 1] - start
        if size == 0 or LG[g] <= 0.0:
            out[g] = -1.0
            continue
        _group_view(W, gidx, start, size, Wg)
        _group_view(G, gidx, start, size, Gg)
        for t in range(size):
            l1g[t] = P[0, gidx[start + t]]
        out[g] = group_violation(Wg[:size], Gg[:size], l1g[:size], P[1, gidx[start]], glam[g])


@njit(**_JIT)
def block_epoch(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, W, groups, gptr, gidx, glam, LG, P, mu,
                fit_intercept, D, R, hptr, HG):
    """One pass of block coordinate descent over ``groups`` (then the intercepts).

    The squared error on dense ``X`` keeps the residual ``R = Y − Z − B`` (its gradient is
    ``−2 X̃ᵀAR``; ``Z`` is brought up to date at the end, exact steps on the intercepts); other
    cases recompute the derivatives of the rows a group touches before its step (sparse centred
    squared error: the intercepts' gradient is invariant under the steps, as in the scalar
    kernels). With the group's Gram matrix (``HG``, least squares), the group's quadratic is
    minimised by prox-gradient steps that need no pass over the data (adelie solves it exactly
    too). Returns ``Σ_g LG_g ‖ΔW_g‖²``.
    """
    n, K = Z.shape
    squared = df == SQUARED_ERROR
    resid = squared and not sparse
    maxsize = 0
    for g in groups:
        maxsize = max(maxsize, gptr[g + 1] - gptr[g])
    Vg = np.empty((maxsize, K))
    g0 = np.empty((maxsize, K))
    cur = np.empty((maxsize, K))
    start_w = np.empty((maxsize, K))
    l1g = np.empty(maxsize)
    row = np.empty(K)
    delta = np.empty(K)
    tmp = np.empty(K)
    gB = np.zeros(K)
    no_gram = np.empty(0)
    uniform = _block_epoch_start(Y, a, Z, B, R, gB, resid, sparse and squared and fit_intercept)
    moved = 0.0
    r1 = R.T[0]  # K = 1: the residual as a contiguous vector (R is Fortran-ordered)
    # The multinomial on dense X: the derivatives D0 at the epoch's start Z0, then each group's
    # gradient is that of Böhning's quadratic bound ½·a_i(I − 11ᵀ/K) on the softmax's Hessian
    # around Z0 — a majorizer, so every step still lowers the objective — with no exp per group:
    # D = D0 + ½·a(ΔZ − mean_k ΔZ), kept up to date as each group moves (linear in ΔZ).
    bohning = df == MULTINOMIAL and not sparse
    if bohning:
        for i in range(n):
            sample_grad_block(df, Y, Z, B, i, tmp)
            for k in range(K):
                D[i, k] = a[i] * tmp[k]
    for g in groups:
        start = gptr[g]
        size = gptr[g + 1] - start
        if size == 0 or LG[g] <= 0.0:
            continue
        if not (resid or bohning):
            if sparse:  # the rows each column touches
                for t in range(size):
                    j = gidx[start + t]
                    for q in range(Xp[j], Xp[j + 1]):
                        i = Xi[q]
                        sample_grad_block(df, Y, Z, B, i, tmp)
                        for k in range(K):
                            D[i, k] = a[i] * tmp[k]
            else:
                for i in range(n):
                    sample_grad_block(df, Y, Z, B, i, tmp)
                    for k in range(K):
                        D[i, k] = a[i] * tmp[k]
        step = 1.0 / LG[g]
        for t in range(size):
            j = gidx[start + t]
            if resid and K == 1:
                row[0] = -2.0 * _resid_dot(X, j, r1, a, mu[j], uniform)
            elif resid:
                col_dot_block_weighted(X, j, a, R, mu[j], row)
                for k in range(K):
                    row[k] *= -2.0
            else:
                col_dot_block(X, Xd, Xi, Xp, sparse, j, D, mu[j], row)
                if sparse:
                    for k in range(K):
                        row[k] -= mu[j] * gB[k]
            for k in range(K):
                g0[t, k] = row[k]
                start_w[t, k] = W[j, k]
                cur[t, k] = W[j, k]
            l1g[t] = P[0, j]
        exact = squared and hptr[g + 1] - hptr[g] == size * size
        Hg = HG[hptr[g]:hptr[g + 1]] if exact else no_gram
        _group_exact_steps(cur, start_w, g0, Hg, size, K, l1g, P[1, gidx[start]], glam[g], step,
                           30 if exact else 1, Vg)
        for t in range(size):
            j = gidx[start + t]
            changed = False
            for k in range(K):
                delta[k] = cur[t, k] - W[j, k]
                if delta[k] != 0.0:
                    changed = True
            if not changed:
                continue
            for k in range(K):
                moved += LG[g] * delta[k] * delta[k]
                W[j, k] = cur[t, k]
            if resid:  # Z is recomputed from R at the end
                for k in range(K):
                    delta[k] = -delta[k]
                if K == 1:
                    col_axpy(X, Xd, Xi, Xp, sparse, j, delta[0], r1, mu[j])
                else:
                    col_axpy_block(X, Xd, Xi, Xp, sparse, j, delta, R, mu[j])
            else:
                col_axpy_block(X, Xd, Xi, Xp, sparse, j, delta, Z, mu[j])
                if bohning:
                    shift = 0.0
                    for k in range(K):
                        shift += delta[k]
                    shift /= K
                    for k in range(K):
                        delta[k] = 0.5 * (delta[k] - shift)
                    col_axpy_block_weighted(X, j, a, delta, D, mu[j])
                if sparse and squared and fit_intercept:
                    for k in range(K):
                        B[k] -= mu[j] * delta[k]
    _block_epoch_end(df, Y, a, Z, B, R, D, gB, resid, fit_intercept)
    return moved


@njit(**_JIT)
def _block_epoch_start(Y, a, Z, B, R, gB, resid, sparse_centred):
    """:func:`block_epoch`'s state before its first group: the residual ``R = Y − Z − B`` (dense
    squared error) or the intercepts' gradient ``gB`` (sparse centred squared error: invariant
    under the steps). Returns whether the sample weights are uniform."""
    n, K = Z.shape
    uniform = True
    for i in range(n):
        if a[i] != a[0]:
            uniform = False
            break
    if resid:
        for i in range(n):
            for k in range(K):
                R[i, k] = Y[i, k] - Z[i, k] - B[k]
    elif sparse_centred:
        for i in range(n):
            for k in range(K):
                gB[k] -= 2.0 * a[i] * (Y[i, k] - Z[i, k] - B[k])
    return uniform


@njit(**_JIT)
def _block_epoch_end(df, Y, a, Z, B, R, D, gB, resid, fit_intercept):
    """:func:`block_epoch`'s last steps: ``Z`` from the residual (dense squared error) and the
    intercepts' steps (exact for the squared error, a curvature-bounded step otherwise)."""
    n, K = Z.shape
    squared = df == SQUARED_ERROR
    if resid:
        for k in range(K):
            shift = 0.0
            if fit_intercept:
                for i in range(n):
                    shift += a[i] * R[i, k]
            for i in range(n):
                Z[i, k] = Y[i, k] - R[i, k] - B[k]
            B[k] += shift
    elif fit_intercept:
        if squared:
            for k in range(K):
                s = 0.0
                for i in range(n):
                    s += a[i] * (Y[i, k] - Z[i, k] - B[k])
                B[k] += s
        else:
            block_derivatives(df, Y, a, Z, B, D, gB)
            c = block_curvature(df)
            for k in range(K):
                B[k] -= gB[k] / c


@njit(**_JIT)
def _block_anderson(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, W, feats, groups, gptr, gidx, glam, P, mu, hist,
                    Wtry, Ztry):
    """Anderson extrapolation of the last iterates in ``hist`` (rows: ``W[feats]`` then ``B``,
    flattened); kept if it lowers the objective. Returns whether it was."""
    n, K = Z.shape
    extrap = np.empty(hist.shape[1])
    if not anderson_combination(hist, extrap):
        return False
    m = feats.shape[0]
    Ztry[:, :] = Z
    Wtry[:, :] = W
    delta = np.empty(K)
    for t in range(m):
        j = feats[t]
        moved = False
        for k in range(K):
            Wtry[j, k] = extrap[t * K + k]
            delta[k] = Wtry[j, k] - W[j, k]
            if delta[k] != 0.0:
                moved = True
        if moved:
            col_axpy_block(X, Xd, Xi, Xp, sparse, j, delta, Ztry, mu[j])
    Btry = extrap[m * K:].copy()
    current = block_loss(df, Y, a, Z, B) + block_penalty_groups(W, P, gptr, gidx, glam, groups)
    trial = block_loss(df, Y, a, Ztry, Btry) + block_penalty_groups(Wtry, P, gptr, gidx, glam, groups)
    if trial < current:
        for t in range(m):
            j = feats[t]
            for k in range(K):
                W[j, k] = Wtry[j, k]
        Z[:, :] = Ztry
        B[:] = Btry
        return True
    return False


@njit(**_JIT)
def solve_blocks_subproblem(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, W, groups, gptr, gidx, glam, LG, P, mu,
                            fit_intercept, tol, max_epochs, check_every, anderson_k, G, hptr, HG):
    """Block coordinate descent on ``groups`` until their certificate is ≤ ``tol``, Anderson-
    extrapolated every ``anderson_k + 1`` epochs (0: never).

    Returns ``(epochs, gap, stationarity)`` of the restricted problem at exit."""
    n, K = Z.shape
    # The state Fortran-ordered inside (copied back at exit): the column kernels then run one
    # contiguous, vectorised pass per output instead of a strided one over the K outputs.
    Zc = Z
    Z = np.ascontiguousarray(Zc.T).T
    Y = np.ascontiguousarray(Y.T).T
    D = np.empty((K, n)).T
    R = np.empty((K, n)).T
    gB = np.empty(K)
    feats = np.empty(gidx.shape[0], dtype=np.int64)
    m = 0
    for g in groups:
        for q in range(gptr[g], gptr[g + 1]):
            feats[m] = gidx[q]
            m += 1
    feats = feats[:m]
    gap = np.inf
    stationarity = np.inf
    epoch = 0
    ratio = 1.0
    hist = np.empty((anderson_k + 1, m * K + K))
    Wtry = np.empty_like(W) if anderson_k > 0 else np.empty((1, K))
    Ztry = np.empty((K, n)).T if anderson_k > 0 else np.empty((K, 1)).T
    slot = 0
    while epoch < max_epochs:
        moved = block_epoch(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, W, groups, gptr, gidx, glam, LG, P, mu,
                            fit_intercept, D, R, hptr, HG)
        epoch += 1
        if anderson_k > 0:
            for t in range(m):
                for k in range(K):
                    hist[slot, t * K + k] = W[feats[t], k]
            for k in range(K):
                hist[slot, m * K + k] = B[k]
            if slot == anderson_k:
                _block_anderson(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, W, feats, groups, gptr, gidx, glam, P, mu,
                                hist, Wtry, Ztry)
                slot = 0
            else:
                slot += 1
        if epoch % check_every == 0 or epoch == max_epochs or moved * ratio <= tol:
            block_gradient(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, mu, feats, G, D, gB)
            gap, stationarity = block_certificate(df, Y, a, Z, B, W, G, gB, P, gptr, gidx, glam, LG, groups,
                                                  fit_intercept)
            if gap <= tol and stationarity <= tol:
                break
            if moved > 0.0:
                ratio = max(1.0, (gap + stationarity) / moved)
    Zc[:, :] = Z
    return epoch, gap, stationarity
