"""Duality gaps, dual scaling and stationarity measures of the separable problems."""

import numpy as np

from .base import _INLINE, _JIT, PEN_ENET, ROW_HI, ROW_LO, njit
from .datafits import intercept_curvature, sample_gap
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
