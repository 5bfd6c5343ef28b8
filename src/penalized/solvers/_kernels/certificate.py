"""Duality gaps, dual scaling and stationarity measures of the separable problems."""

import numpy as np

from .anderson import anderson_combination
from .base import (
    _INLINE,
    _JIT,
    EXTRAPOLATE_WITHIN,
    LOGISTIC,
    PEN_ENET,
    POISSON,
    ROW_HI,
    ROW_LO,
    SQUARED_ERROR,
    njit,
    unknown_code,
)
from .datafits import gradient, intercept_curvature, log1pexp, sample_gap
from .penalties import pen_conjugate_argmax, pen_convex, pen_dual_radius, pen_free, pen_value, pen_violation
from .penalty_enet import coordinate_gap, enet_plain, plain_coordinate_gap, plain_dual_scaling

# ----------------------------------------------------------------------- certificate


@njit(**_JIT)
def dual_scaling(grad, P, idx):
    """Largest ``α ≤ 1`` keeping the dual point ``θ = −α·∇F`` feasible for the elastic net:
    ``α·|grad_j| ≤ l1_j`` wherever ``r_j*`` is finite only there (no L2 part, no bound on
    the side of ``−grad_j``)."""
    alpha = 1.0
    for j in idx:
        l1j = P[0, j]
        if P[1, j] == 0.0 and l1j > 0.0:
            g = grad[j]
            unbounded = P[ROW_HI, j] == np.inf if g < 0.0 else P[ROW_LO, j] == -np.inf
            if unbounded and abs(g) * alpha > l1j:
                alpha = l1j / abs(g)
    return alpha


@njit(**_JIT)
def convex_dual_scaling(pen, P, w, grad, idx):
    """:func:`dual_scaling` for any convex penalty: the largest ``α ≤ 1`` with ``α·|grad_j|`` within
    :func:`pen_dual_radius` for every penalized coordinate."""
    alpha = 1.0
    for j in idx:
        g = grad[j]
        if g != 0.0 and not pen_free(pen, P, j):
            bound = pen_dual_radius(pen, P, j, w[j], g < 0.0)
            if abs(g) * alpha > bound:
                alpha = bound / abs(g)
    return alpha


@njit(**_INLINE)
def pen_gap_term(pen, P, j, wj, u, edge):
    """Fenchel-Young gap ``pen_j(w_j) + pen_j*(u) − w_j·u ≥ 0`` of a convex penalty (with its box),
    from :func:`pen_conjugate_argmax`: ``pen_j*(u) = u·x* − pen_j(x*)``. Where ``pen_j*(u)`` is
    infinite: ``inf``, or, with ``edge`` (``u`` was scaled onto :func:`pen_dual_radius`, and only
    its rounding put it beyond), the term on the edge."""
    x = pen_conjugate_argmax(pen, P, j, u)
    if not np.isfinite(x):
        if not edge:
            return np.inf
        x = 0.0
    return max(pen_value(pen, P, j, wj) - pen_value(pen, P, j, x) + (x - wj) * u, 0.0)


@njit(**_JIT)
def convex_gap(df, y, a, zx, b, w, grad, pen, P, L, idx, stationarity):
    """The Fenchel gap of :func:`duality_gap_of` for a convex penalty other than the elastic net
    (its own loops): the dual point ``θ = −α·∇F`` scaled by :func:`convex_dual_scaling`, the
    data fit's conjugate term where ``α < 1`` and :func:`pen_gap_term` per penalized coordinate;
    unpenalized ones add ``v_j²/(2 L_j)`` to ``stationarity``. Where ``α < 1``, the unscaled point
    (``α = 1``: no data-fit term) is a dual point too when the conjugate is finite there: the gap is
    the smaller of the two. Returns ``(gap, stationarity)``."""
    gap = 0.0
    unscaled = 0.0
    alpha = convex_dual_scaling(pen, P, w, grad, idx)
    if alpha < 1.0:
        log_alpha = np.log(alpha) if alpha > 0.0 else 0.0
        log1m_alpha = np.log1p(-alpha)
        for i in range(y.shape[0]):
            gap += a[i] * sample_gap(df, y[i], zx[i] + b, alpha, log_alpha, log1m_alpha)
    for j in idx:
        if L[j] <= 0.0:
            continue
        if pen_free(pen, P, j):
            v = pen_violation(pen, P, j, w[j], grad[j])
            stationarity += v * v / (2.0 * L[j])
            continue
        gap += pen_gap_term(pen, P, j, w[j], -alpha * grad[j], True)
        if alpha < 1.0:
            unscaled += pen_gap_term(pen, P, j, w[j], -grad[j], False)
    if alpha < 1.0:
        gap = min(gap, unscaled)
    return gap, stationarity


@njit(**_JIT)
def duality_gap(df, y, a, zx, b, w, grad, grad_b, pen, P, L, idx, fit_intercept):
    """:func:`duality_gap_of` (whether the penalty is a plain elastic net on ``idx`` tested here)."""
    return duality_gap_of(df, y, a, zx, b, w, grad, grad_b, pen, P, L, idx, fit_intercept, enet_plain(pen, P, idx))


@njit(**_JIT)
def duality_gap_of(df, y, a, zx, b, w, grad, grad_b, pen, P, L, idx, fit_intercept, plain):
    """Certificate of optimality at ``(w, b)`` over the coordinates ``idx``.

    Returns ``(gap, stationarity)``. For the elastic net (convex), ``gap`` is the Fenchel
    duality gap of the problem in the penalized coordinates of ``idx`` with every other
    coordinate (unpenalized features, the intercept, features outside ``idx``) held at its
    current value; the dual point is ``θ = −alpha·∇F(zx + b)``, rescaled to be feasible
    (:func:`dual_scaling`). It is a sum of non-negative terms, zero exactly at the optimum.
    ``stationarity = Σ v_j² / (2 L_j)`` over the unpenalized coordinates (``v_j`` their
    optimality violation, ``|g_j|`` without a box) and the intercept: the decrease one exact
    coordinate step would bring on a quadratic. Other convex penalties (BerHu) get the same
    gap from their conjugates (:func:`convex_gap`). Non-convex penalties (MCP, SCAD) have no
    dual: ``gap`` is then that same stationarity measure over every coordinate of ``idx``,
    zero exactly at a stationary point. ``plain``: the penalty is the elastic net with no
    finite bound on ``idx`` (:func:`enet_plain`), a loop without them.
    """
    stationarity = 0.0
    if fit_intercept:
        stationarity += grad_b * grad_b / (2.0 * intercept_curvature(df, y, a, zx, b))
    gap = 0.0
    if not pen_convex(pen):
        for j in idx:
            if L[j] > 0.0:
                v = pen_violation(pen, P, j, w[j], grad[j])
                if pen_free(pen, P, j):
                    stationarity += v * v / (2.0 * L[j])
                else:
                    gap += v * v / (2.0 * L[j])
        return gap, stationarity
    if pen != PEN_ENET:  # another convex penalty: its conjugate (the elastic net's own loops below)
        return convex_gap(df, y, a, zx, b, w, grad, pen, P, L, idx, stationarity)
    alpha = plain_dual_scaling(grad, P, idx) if plain else dual_scaling(grad, P, idx)
    if alpha < 1.0:
        log_alpha = np.log(alpha) if alpha > 0.0 else 0.0
        log1m_alpha = np.log1p(-alpha)
        for i in range(y.shape[0]):
            gap += a[i] * sample_gap(df, y[i], zx[i] + b, alpha, log_alpha, log1m_alpha)
    if plain:
        for j in idx:
            l1j = P[0, j]
            l2j = P[1, j]
            if l1j == 0.0 and l2j == 0.0:
                if L[j] > 0.0:
                    stationarity += grad[j] * grad[j] / (2.0 * L[j])
                continue
            gap += plain_coordinate_gap(w[j], -alpha * grad[j], l1j, l2j)
        return gap, stationarity
    for j in idx:
        if P[0, j] == 0.0 and P[1, j] == 0.0:
            if L[j] > 0.0:
                v = pen_violation(pen, P, j, w[j], grad[j])
                stationarity += v * v / (2.0 * L[j])
            continue
        gap += coordinate_gap(w[j], -alpha * grad[j], P[0, j], P[1, j], P[ROW_LO, j], P[ROW_HI, j])
    return gap, stationarity


@njit(**_JIT)
def sample_fenchel_young(df, y, t, sigma):
    """``ℓ(y, t) + ℓ*(y, σ) − σt ≥ 0`` (Fenchel-Young) for any ``σ``; ``inf`` outside the domain of
    ``ℓ*``. Squared error: ``(y − t + σ/2)²``. Log-loss (``y = ±1``, ``p = −yσ ∈ [0, 1]``): the
    Kullback-Leibler divergence between Bernoulli(p) and Bernoulli(sigmoid(−yt)). Poisson
    (``s = σ + y ≥ 0``): ``e^t − yt + s(log s − 1) − σt``."""
    if df == SQUARED_ERROR:
        d = y - t + 0.5 * sigma
        return d * d
    if df == LOGISTIC:
        p = -y * sigma
        if p < 0.0 or p > 1.0:
            return np.inf
        m = y * t
        v = p * log1pexp(m) + (1.0 - p) * log1pexp(-m)
        if p > 0.0:
            v += p * np.log(p)
        if p < 1.0:
            v += (1.0 - p) * np.log1p(-p)
        return max(v, 0.0)
    if df == POISSON:
        s = sigma + y
        if s < 0.0:
            return np.inf
        conj = s * (np.log(s) - 1.0) if s > 0.0 else 0.0
        return max(np.exp(t) - y * t + conj - sigma * t, 0.0)
    unknown_code(0, df)
    return 0.0


@njit(**_JIT)
def candidate_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, t, gcand, buf):
    """The elastic net's Fenchel gap at ``(w, b)`` over the penalized coordinates of ``idx`` (as
    :func:`duality_gap_of`, every other coordinate held) for the dual point made from another
    linear predictor ``t`` (n): ``θ = −α·∇F(t)``, ``α`` from :func:`dual_scaling` of the gradient
    at ``t`` (written to ``gcand[idx]``, ``a_i ℓ'(t_i)`` to ``buf``). Any ``t`` gives a feasible
    dual point, hence an upper bound on the suboptimality of the restricted problem; a ``t``
    close to the optimum's gives a gap close to it (``F(w) − F*`` plus the dual's own error).
    Unpenalized coordinates are not counted (their stationarity terms stay as they are)."""
    gradient(df, X, Xd, Xi, Xp, sparse, y, a, t, 0.0, mu, idx, gcand, buf)
    alpha = plain_dual_scaling(gcand, P, idx) if plain else dual_scaling(gcand, P, idx)
    gap = 0.0
    for i in range(y.shape[0]):
        if a[i] > 0.0:
            gap += a[i] * sample_fenchel_young(df, y[i], zx[i] + b, alpha * buf[i] / a[i])
    for j in idx:
        l1j = P[0, j]
        l2j = P[1, j]
        if l1j == 0.0 and l2j == 0.0:
            continue
        if plain:
            gap += plain_coordinate_gap(w[j], -alpha * gcand[j], l1j, l2j)
        else:
            gap += coordinate_gap(w[j], -alpha * gcand[j], l1j, l2j, P[ROW_LO, j], P[ROW_HI, j])
    return gap


@njit(**_JIT)
def best_dual_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, gap, target, best, gcand, buf):
    """:func:`improve_gap` without extrapolation (whether the elastic net has a box on ``idx``
    tested here): the smaller of ``gap`` and the gap at the dual point of ``best``."""
    return improve_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, enet_plain(PEN_ENET, P, idx),
                       gap, target, best, np.empty((0, 0)), 0, gcand, buf, np.empty(0))


@njit(**_JIT)
def record_predictor(zhist, recorded, y, zx, r, b, resid):
    """Store the linear predictor ``zx + b`` (``y − r + b`` on the residual) in the ring ``zhist``
    (row ``recorded mod rows``); returns ``recorded + 1``."""
    row = zhist[recorded % zhist.shape[0]]
    if resid:
        for i in range(y.shape[0]):
            row[i] = y[i] - r[i] + b
    else:
        for i in range(y.shape[0]):
            row[i] = zx[i] + b
    return recorded + 1


@njit(**_JIT)
def extrapolated_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, zhist, recorded, t,
                     gcand, buf):
    """:func:`candidate_gap` at the Anderson extrapolation (:func:`anderson_combination`) of the
    last ``min(recorded, rows)`` predictors of the ring ``zhist`` (at least 3); the extrapolated
    predictor is left in ``t``. ``inf`` where there is none."""
    rows = zhist.shape[0]
    m = min(recorded, rows)
    if m < 3:
        return np.inf
    ordered = np.empty((m, y.shape[0]))
    for k in range(m):  # oldest first
        ordered[k] = zhist[(recorded - m + k) % rows]
    if not anderson_combination(ordered, t):
        return np.inf
    return candidate_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, t, gcand, buf)


@njit(**_JIT)
def improve_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, gap, target, best, zhist,
                recorded, gcand, buf, t):
    """The smallest of ``gap`` (the current point's own dual point), the gap at the dual point of the
    kept predictor ``best`` and, while still above ``target`` (by less than
    :data:`EXTRAPOLATE_WITHIN`), at the extrapolation of the ring ``zhist``
    (:func:`extrapolated_gap`, in ``t``); ``best`` becomes the predictor of the winner
    (``zx + b`` when it is the current point): the best dual point seen, compared at the same
    ``(w, b)``. Each candidate is a feasible dual point, so each gap bounds the suboptimality."""
    winner = 0
    cand = candidate_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, best, gcand, buf)
    if cand < gap:
        gap = cand
        winner = 1
    if target < gap <= EXTRAPOLATE_WITHIN * target and zhist.shape[1] > 0:
        cand = extrapolated_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, zhist, recorded,
                                t, gcand, buf)
        if cand < gap:
            gap = cand
            winner = 2
            best[:] = t
    if winner == 0:
        for i in range(y.shape[0]):
            best[i] = zx[i] + b
    return gap
