"""Exact support steps: Newton / face minimisation on the current support."""

import numpy as np

from .base import _JIT, _JIT_FAST, P_FACE_SOLVES, PEN_ENET, SQUARED_ERROR, njit
from .datafits import datafit_value, weighted_derivatives
from .matrix import col_axpy, col_dot
from .penalties import pen_kinked, penalty_value

# ------------------------------------------------------------- exact support steps


@njit(**_JIT_FAST)
def gather_columns(X, Xd, Xi, Xp, sparse, S, offsets, sw, decouple):
    """``B`` (n × |S|, Fortran order): columns ``sqrt(sw) ∘ x̂_j`` for ``j`` in ``S``.

    ``x̂_j = x_j − offsets_j`` (dense) or ``x_j`` (sparse), further centred by its
    ``sw``-weighted mean when ``decouple`` (an intercept that absorbs the mean), so that
    ``BᵀB = X̂_Sᵀ diag(sw) X̂_S``. Dense columns are read twice at most (the mean, then
    the scaled copy) and ``B`` written once.
    """
    n = sw.shape[0]
    k = S.shape[0]
    total = 0.0
    for i in range(n):
        total += sw[i]
    root = np.sqrt(sw)
    center = decouple and total > 0.0
    if not sparse:
        B = np.empty((k, n)).T
        for t in range(k):
            j = S[t]
            m = offsets[j]
            mean = 0.0
            if center:
                for i in range(n):
                    mean += sw[i] * (X[i, j] - m)
                mean /= total
            for i in range(n):
                B[i, t] = ((X[i, j] - m) - mean) * root[i]
        return B
    B = np.zeros((k, n)).T
    for t in range(k):
        j = S[t]
        for q in range(Xp[j], Xp[j + 1]):
            B[Xi[q], t] = Xd[q]
        if center:
            mean = 0.0
            for i in range(n):
                mean += sw[i] * B[i, t]
            mean /= total
            for i in range(n):
                B[i, t] -= mean
        for i in range(n):
            B[i, t] *= root[i]
    return B


@njit(**_JIT)
def clipped_step(values, delta, kinked, k):
    """Largest ``t ≤ 1`` keeping ``values + t·delta`` in the closed orthant of ``values``.

    Only coefficients with a kink at zero (``kinked``: an L1 part) are held to their
    orthant; the others are smooth there. Returns ``(t, blocking)``: the index of the
    coefficient that reaches zero, or −1.
    """
    t_max = 1.0
    blocking = -1
    for t in range(k):
        v = values[t]
        d = delta[t]
        if kinked[t] and v * d < 0.0 and abs(d) * t_max > abs(v):
            t_max = -v / d
            blocking = t
    return t_max, blocking


@njit(**_JIT)
def face_minimize(H, rhs, values, kinked, max_solves):
    """Minimise a quadratic over the closed orthant face of ``values`` (in place).

    ``H`` is the Hessian and ``rhs`` the gradient at ``values`` of a smooth function
    that equals the objective on the face (signs held). Each round solves the Newton
    system on the coefficients still non-zero and moves as far as the face allows; a
    coefficient that reaches zero leaves (the objective cannot increase along the way,
    and it decreases strictly). Coefficients without a kink at zero (``kinked`` false:
    no L1 part) move freely. A rank-deficient ``H`` (more coefficients than samples)
    gets a tiny ridge, whose steps follow the flat directions until a coefficient
    leaves. Returns the number of Newton solves, 0 on numerical failure.
    """
    k = values.shape[0]
    keep = np.empty(k, dtype=np.int64)
    ks = np.empty(k, dtype=np.bool_)
    m = 0
    for t in range(k):
        if values[t] != 0.0 or not kinked[t]:
            keep[m] = t
            m += 1
    g = rhs.copy()
    solves = 0
    while m > 0 and solves < max_solves:
        Hs = np.empty((m, m))
        scale = 0.0
        for u in range(m):
            for v in range(m):
                Hs[u, v] = H[keep[u], keep[v]]
            scale = max(scale, Hs[u, u])
        if not scale > 0.0:
            return 0
        gs = np.empty(m)
        vs = np.empty(m)
        for u in range(m):
            Hs[u, u] += 1e-12 * scale
            gs[u] = -g[keep[u]]
            vs[u] = values[keep[u]]
            ks[u] = kinked[keep[u]]
        delta = np.linalg.solve(Hs, gs)
        solves += 1
        for u in range(m):
            if not np.isfinite(delta[u]):
                return 0
        t_max, blocking = clipped_step(vs, delta, ks, m)
        for u in range(m):  # the gradient moves with the (exact) Hessian
            step = t_max * delta[u]
            if step != 0.0:
                col = keep[u]
                for r in range(k):
                    g[r] += H[r, col] * step
        for u in range(m):
            new = vs[u] + t_max * delta[u]
            if ks[u] and (u == blocking or (new > 0.0) != (vs[u] > 0.0)):
                new = 0.0
            values[keep[u]] = new
        if blocking < 0:
            break
        q = 0
        for u in range(m):
            if values[keep[u]] != 0.0 or not ks[u]:
                keep[q] = keep[u]
                q += 1
        m = q
    return solves


@njit(**_JIT)
def support_newton(X, Xd, Xi, Xp, sparse, S, offsets, sw, decouple, rhs, P, values, face_max, params):
    """Exact minimiser of ``½ΔᵀHΔ + rhsᵀΔ`` over the orthant face of ``values`` (in place).

    ``H = X̂_Sᵀ diag(sw) X̂_S + 2 diag(l2_S)`` (see :func:`gather_columns`). Up to
    ``face_max`` coefficients, ``H`` is formed (one BLAS-3 product) and handed to
    :func:`face_minimize`; with more coefficients than samples and every ``l2_S > 0``,
    one Newton step through the ``n × n`` Woodbury form instead, cut at the face.
    Returns False when nothing was done.
    """
    n = sw.shape[0]
    k = S.shape[0]
    ridge_free = True
    flat = False  # a coordinate with neither an L1 kink nor an L2 term
    kinked = np.empty(k, dtype=np.bool_)
    for t in range(k):
        kinked[t] = pen_kinked(PEN_ENET, P, S[t])
        if not P[1, S[t]] > 0.0:
            ridge_free = False
            if not kinked[t]:
                flat = True
    if flat and k >= n:
        # more free coefficients than samples: the minimiser is not unique, and the tiny
        # ridge would pick one from rounding noise; coordinate descent picks one reproducibly
        return False
    if k <= face_max and (k <= n or not ridge_free):
        B = gather_columns(X, Xd, Xi, Xp, sparse, S, offsets, sw, decouple)
        H = B.T @ B
        for t in range(k):
            H[t, t] += 2.0 * P[1, S[t]]
        return face_minimize(H, rhs, values, kinked, max(1, int(params[P_FACE_SOLVES]))) > 0
    if not ridge_free:
        return False
    dinv = np.empty(k)
    for t in range(k):
        dinv[t] = 1.0 / (2.0 * P[1, S[t]])
    B = gather_columns(X, Xd, Xi, Xp, sparse, S, offsets, sw, decouple)
    v = -rhs * dinv
    M = (B * dinv) @ B.T
    for i in range(n):
        M[i, i] += 1.0
    z = np.linalg.solve(M, B @ v)
    delta = v - dinv * (B.T @ z)
    for t in range(k):
        if not np.isfinite(delta[t]):
            return False
    t_max, blocking = clipped_step(values, delta, kinked, k)
    for t in range(k):
        new = values[t] + t_max * delta[t]
        if kinked[t] and (t == blocking or (new > 0.0) != (values[t] > 0.0)):
            new = 0.0
        values[t] = new
    return True


@njit(**_JIT)
def squared_support_step(X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, P, mu, fit_intercept, buf,
                         face_max, params):
    """Exact minimiser of the squared-error objective on the current support of ``ws``.

    On the support, with the signs held, the objective is a quadratic (see
    :func:`support_newton`); coefficients that would change sign stop at zero, so the
    objective cannot increase; the step is undone if rounding says otherwise. Returns
    ``(b, accepted)``.
    """
    k = 0
    for j in ws:
        if w[j] != 0.0 or not pen_kinked(PEN_ENET, P, j):  # the support, and the coordinates smooth at zero
            k += 1
    if k == 0:
        return b, False
    S = np.empty(k, dtype=np.int64)
    k = 0
    for j in ws:
        if w[j] != 0.0 or not pen_kinked(PEN_ENET, P, j):
            S[k] = j
            k += 1
    grad_b = weighted_derivatives(SQUARED_ERROR, y, a, zx, b, buf)
    rhs = np.empty(k)
    values = np.empty(k)
    for t in range(k):
        j = S[t]
        g = col_dot(X, Xd, Xi, Xp, sparse, j, buf, mu[j])
        if sparse:
            g -= mu[j] * grad_b
        sign = 1.0 if w[j] > 0.0 else (-1.0 if w[j] < 0.0 else 0.0)
        rhs[t] = g + P[0, j] * sign + 2.0 * P[1, j] * w[j]
        values[t] = w[j]
    if not support_newton(X, Xd, Xi, Xp, sparse, S, mu, 2.0 * a, fit_intercept, rhs, P, values,
                          face_max, params):
        return b, False
    before = datafit_value(SQUARED_ERROR, y, a, zx, b) + penalty_value(w, PEN_ENET, P, S)
    saved = zx.copy()
    old = np.empty(k)
    for t in range(k):
        j = S[t]
        old[t] = w[j]
        if values[t] != old[t]:
            col_axpy(X, Xd, Xi, Xp, sparse, j, values[t] - old[t], zx, mu[j])
            w[j] = values[t]
    new_b = best_squared_intercept(y, a, zx) if fit_intercept else b
    after = datafit_value(SQUARED_ERROR, y, a, zx, new_b) + penalty_value(w, PEN_ENET, P, S)
    if after <= before:
        return new_b, True
    for t in range(k):  # rounding made it worse: undo
        w[S[t]] = old[t]
    zx[:] = saved
    return b, False


@njit(**_JIT)
def best_squared_intercept(y, a, zx):
    """``Σ_i a_i (y_i − zx_i)``: the optimal intercept of the squared error given ``zx``."""
    s = 0.0
    for i in range(y.shape[0]):
        s += a[i] * (y[i] - zx[i])
    return s
