"""The separable penalties' dispatch by code (``pen_*``) over the blocks of the ``penalty_*`` modules."""

import numpy as np

from .base import _INLINE, _JIT, PEN_BERHU, PEN_ENET, PEN_MCP, PEN_SCAD, ROW_HI, ROW_LO, njit, unknown_code
from .penalty_berhu import berhu_change, berhu_conjugate_argmax, berhu_prox, berhu_slope, berhu_value
from .penalty_enet import enet_plain_all, prox_enet
from .penalty_nonconvex import mcp_value, scad_value

# ------------------------------------------------------------------------ penalties
# A separable penalty reaches the kernels as ``(pen, P)``: its code and an array of shape
# (N_PEN_ROWS, p) of per-feature parameters. Rows ROW_LO and ROW_HI hold the box
# ``lo_j ≤ w_j ≤ hi_j`` of every penalty (±inf: no bound; 0 always lies in the box).
# Each penalty is one block of primitives: value, slope away from zero, half-width of
# the subdifferential at zero, prox (exact, with the box), and, for the convex ones, the
# conjugate term of the duality gap. The dispatchers raise on an unknown code.


# Traits of the blocks: which penalties are convex (a Fenchel gap certifies them) and, for
# those other than the elastic net (whose own loops are below), the maximiser of their
# conjugate's sup and how far the dual scaling lets the dual point go. A new convex penalty adds
# a case to each.
@njit(**_INLINE)
def pen_convex(pen):
    """Has the penalty a conjugate, so a duality gap (else: the stationarity measure)?"""
    return pen == PEN_ENET or pen == PEN_BERHU


@njit(**_INLINE)
def pen_conjugate_argmax(pen, P, j, u):
    """``x*`` maximising ``u·x − pen_j(x)`` over the box ``[lo_j, hi_j]`` (the maximand is concave
    in ``x``: the box clips the free maximiser); the conjugate is ``u·x* − pen_j(x*)``."""
    x = 0.0
    if pen == PEN_BERHU:
        x = berhu_conjugate_argmax(P[0, j], P[1, j], u)
    elif pen == PEN_ENET:
        if P[1, j] > 0.0:
            x = prox_enet(u, P[0, j], 0.0) / (2.0 * P[1, j])
        elif u > P[0, j]:
            x = np.inf
        elif u < -P[0, j]:
            x = -np.inf
    else:
        unknown_code(1, pen)
    return min(max(x, P[ROW_LO, j]), P[ROW_HI, j])


@njit(**_INLINE)
def pen_dual_radius(pen, P, j, x, up):
    """How large the dual scaling lets ``|u|`` be on the side ``up`` (u > 0) or not, at ``w_j = x``:
    where ``pen_j*`` stops being finite (the elastic net without L2 part, no bound on that side), or
    where it leaves its flat part ``pen_j* = 0`` while ``x`` lies in the penalty's linear part
    (BerHu with ``|x| ≤ M``: beyond ``lam_j`` its conjugate grows as ``M·(|u| − lam_j)``, so an
    unscaled dual point would make the gap first order in the distance to the optimum). ``inf``: no
    limit."""
    if (P[ROW_HI, j] if up else -P[ROW_LO, j]) == np.inf:
        if pen == PEN_ENET and P[1, j] == 0.0:
            return P[0, j]
        if pen == PEN_BERHU and abs(x) <= P[1, j]:
            return P[0, j]
    return np.inf


@njit(**_INLINE)
def pen_value(pen, P, j, x):
    """The penalty of coordinate ``j`` at ``x`` (the box is not part of the value)."""
    if pen == PEN_ENET:
        return P[0, j] * abs(x) + P[1, j] * x * x
    if pen == PEN_MCP:
        return mcp_value(P[0, j], P[1, j], abs(x))
    if pen == PEN_SCAD:
        return scad_value(P[0, j], P[1, j], abs(x))
    if pen == PEN_BERHU:
        return berhu_value(P[0, j], P[1, j], abs(x))
    unknown_code(1, pen)
    return 0.0


@njit(**_INLINE)
def pen_slope(pen, P, j, x):
    """The penalty's derivative at ``x ≠ 0``."""
    s = 1.0 if x > 0.0 else -1.0
    if pen == PEN_ENET:
        return P[0, j] * s + 2.0 * P[1, j] * x
    ax = abs(x)
    lam = P[0, j]
    if pen == PEN_MCP:
        return s * max(lam - ax / P[1, j], 0.0)
    if pen == PEN_SCAD:
        if ax <= lam:
            return s * lam
        return s * max(P[1, j] * lam - ax, 0.0) / (P[1, j] - 1.0)
    if pen == PEN_BERHU:
        return berhu_slope(lam, P[1, j], x)
    unknown_code(1, pen)
    return 0.0


@njit(**_INLINE)
def pen_concavity(pen, P, j):
    """How concave the penalty can be: the smallest ``c`` with ``pen_j + c·x²/2`` convex (0 for the
    elastic net, ``1/γ`` for MCP, ``1/(γ − 1)`` for SCAD)."""
    if pen == PEN_MCP:
        return 1.0 / P[1, j]
    if pen == PEN_SCAD:
        return 1.0 / (P[1, j] - 1.0)
    return 0.0


@njit(**_INLINE)
def pen_kink(pen, P, j):
    """Half-width of the subdifferential at zero: ``∂pen_j(0) = [−k, k]`` (l1 or lam)."""
    return P[0, j]


@njit(**_INLINE)
def pen_kinked(pen, P, j):
    """Is coordinate ``j`` non-smooth at zero (an L1-type kink, or a bound at 0)?"""
    return P[0, j] > 0.0 or P[ROW_LO, j] == 0.0 or P[ROW_HI, j] == 0.0


@njit(**_INLINE)
def pen_free(pen, P, j):
    """Is coordinate ``j`` unpenalized (it may still have a box)?"""
    if pen == PEN_ENET:
        return P[0, j] == 0.0 and P[1, j] == 0.0
    return P[0, j] == 0.0


@njit(**_INLINE)
def pen_violation(pen, P, j, x, g):
    """``dist(−g, ∂(pen_j + box_j)(x))``: the optimality violation of coordinate ``j`` when
    ``g`` is the data fit's derivative (the limiting subdifferential for MCP and SCAD)."""
    lo = P[ROW_LO, j]
    hi = P[ROW_HI, j]
    if x == 0.0:
        k = pen_kink(pen, P, j)
        low = -np.inf if lo == 0.0 else -k
        high = np.inf if hi == 0.0 else k
    else:
        d = pen_slope(pen, P, j, x)
        low = -np.inf if x == lo else d
        high = np.inf if x == hi else d
    return max(low + g, -g - high, 0.0)


@njit(**_JIT)
def _piece_argmin(pen, P, j, ax, step, left, right, curv, stat, best, best_val):
    """Minimise ``φ(t) = ½(t − ax)² + step·pen_j(t)`` over ``[left, right]``, where φ is a
    quadratic of curvature ``curv`` with stationary point ``stat``; keeps the better of
    that and ``(best, best_val)``."""
    if right < left:
        return best, best_val
    if curv > 0.0:
        cands = (min(max(stat, left), right), left)
    else:
        cands = (left, right)
    for t in cands:
        if np.isfinite(t):
            v = 0.5 * (t - ax) * (t - ax) + step * pen_value(pen, P, j, t)
            if v < best_val:
                best, best_val = t, v
    return best, best_val


@njit(**_INLINE)
def pen_prox(pen, P, j, x, step):
    """``argmin_{lo_j ≤ u ≤ hi_j} ½(u − x)² + step·pen_j(u)``, exactly.

    Elastic net: the clipped soft-threshold; BerHu: its closed form, clipped. MCP and SCAD are quadratic by pieces in
    ``|u|``: the minimiser (of the sign of ``x``) is the best of each piece's minimiser,
    which also holds where ``step`` is too large for the 1-D problem to be convex
    (:func:`nonconvex_prox`).
    """
    if pen == PEN_ENET:
        u = prox_enet(x, step * P[0, j], step * P[1, j])
        return min(max(u, P[ROW_LO, j]), P[ROW_HI, j])
    if pen == PEN_BERHU:  # convex: the box clips the unconstrained minimiser
        return min(max(berhu_prox(x, step * P[0, j], P[1, j]), P[ROW_LO, j]), P[ROW_HI, j])
    return nonconvex_prox(pen, P, j, x, step)


@njit(**_JIT)
def nonconvex_prox(pen, P, j, x, step):
    """:func:`pen_prox` for MCP and SCAD."""
    lo = P[ROW_LO, j]
    hi = P[ROW_HI, j]
    if pen != PEN_MCP and pen != PEN_SCAD:
        unknown_code(1, pen)
    s = 1.0 if x >= 0.0 else -1.0
    ax = abs(x)
    cap = hi if s > 0.0 else -lo  # the box on the half-line of x
    lam = P[0, j]
    g = P[1, j]
    best = 0.0
    best_val = 0.5 * ax * ax
    if pen == PEN_MCP:
        c = 1.0 - step / g
        stat = (ax - step * lam) / c if c > 0.0 else 0.0
        best, best_val = _piece_argmin(pen, P, j, ax, step, 0.0, min(g * lam, cap), c, stat, best, best_val)
        best, best_val = _piece_argmin(pen, P, j, ax, step, g * lam, cap, 1.0, ax, best, best_val)
    else:
        best, best_val = _piece_argmin(pen, P, j, ax, step, 0.0, min(lam, cap), 1.0, ax - step * lam,
                                       best, best_val)
        c = 1.0 - step / (g - 1.0)
        stat = (ax * (g - 1.0) - step * g * lam) / (g - 1.0 - step) if c > 0.0 else 0.0
        best, best_val = _piece_argmin(pen, P, j, ax, step, lam, min(g * lam, cap), c, stat, best, best_val)
        best, best_val = _piece_argmin(pen, P, j, ax, step, g * lam, cap, 1.0, ax, best, best_val)
    return s * best


@njit(**_INLINE)
def pen_change(pen, P, j, old, new):
    """``pen_j(new) − pen_j(old)`` (for the elastic net without cancellation)."""
    if pen == PEN_ENET:
        return P[0, j] * (abs(new) - abs(old)) + P[1, j] * (new - old) * (new + old)
    if pen == PEN_BERHU:
        return berhu_change(P[0, j], P[1, j], abs(old), abs(new))
    return pen_value(pen, P, j, new) - pen_value(pen, P, j, old)


@njit(**_INLINE)
def coord_prox(plain, pen, P, j, x, step):
    """:func:`pen_prox`, without the dispatch and the box when ``plain`` (:func:`enet_plain`)."""
    if plain:
        return prox_enet(x, step * P[0, j], step * P[1, j])
    return pen_prox(pen, P, j, x, step)


@njit(**_JIT)
def penalty_value(w, pen, P, idx):
    s = 0.0
    for j in idx:
        if w[j] != 0.0:
            s += pen_value(pen, P, j, w[j])
    return s


@njit(**_JIT)
def violations(w, grad, pen, P, L, out):
    """:func:`pen_violation` per feature; −1 for features with ``L_j = 0``."""
    if enet_plain_all(pen, P):  # dist(−g, l1·∂|x| + 2 l2 x)
        for j in range(w.shape[0]):
            x = w[j]
            if L[j] == 0.0:
                out[j] = -1.0
            elif x == 0.0:
                out[j] = max(abs(grad[j]) - P[0, j], 0.0)
            else:
                out[j] = abs(grad[j] + (P[0, j] if x > 0.0 else -P[0, j]) + 2.0 * P[1, j] * x)
        return
    for j in range(w.shape[0]):
        if L[j] == 0.0:
            out[j] = -1.0
        else:
            out[j] = pen_violation(pen, P, j, w[j], grad[j])
