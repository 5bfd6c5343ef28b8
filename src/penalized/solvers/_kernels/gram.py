"""The Gram (covariance) mode: coordinate descent on ``XᵀX`` for small designs."""

import numpy as np

from .base import _JIT, P_FACE_SOLVES, PEN_ENET, ROW_HI, ROW_LO, njit
from .certificate import convex_dual_scaling, dual_scaling, pen_gap_term
from .penalties import coord_prox, pen_convex, pen_free, pen_kinked, pen_violation
from .penalty_enet import coordinate_gap, enet_plain_all, plain_coordinate_gap, plain_dual_scaling
from .support import face_minimize

# ------------------------------------------------------------------------ Gram mode


@njit(**_JIT)
def gram_gap(G, c, yy, w, gw, pen, P, grad, plain):
    """Certificate of ``yy − 2cᵀw + wᵀGw + pen(w)`` from the Gram quantities.

    The same dual point and terms as :func:`duality_gap` for the squared error (the
    residual's weighted sum of squares is ``yy − 2cᵀw + wᵀGw``), with ``L_j = 2 G_jj``.
    Fills ``grad``. ``plain``: the elastic net without a box (:func:`enet_plain`).
    """
    p = w.shape[0]
    rss = yy
    for j in range(p):
        grad[j] = 2.0 * (gw[j] - c[j])
        rss += w[j] * (gw[j] - 2.0 * c[j])
    gap = 0.0
    stationarity = 0.0
    if pen_convex(pen) and pen != PEN_ENET:  # another convex penalty: its conjugate (convex_gap)
        alpha = convex_dual_scaling(pen, P, w, grad, np.arange(p))
        gap = max(rss, 0.0) * (1.0 - alpha) * (1.0 - alpha)
        unscaled = 0.0  # the smaller of the gaps at α and at 1 (see convex_gap)
        for j in range(p):
            if G[j, j] <= 0.0:
                continue
            if pen_free(pen, P, j):
                v = pen_violation(pen, P, j, w[j], grad[j])
                stationarity += v * v / (4.0 * G[j, j])
            else:
                gap += pen_gap_term(pen, P, j, w[j], -alpha * grad[j], True)
                if alpha < 1.0:
                    unscaled += pen_gap_term(pen, P, j, w[j], -grad[j], False)
        return (min(gap, unscaled) if alpha < 1.0 else gap), stationarity
    convex = pen == PEN_ENET
    if plain:
        alpha = plain_dual_scaling(grad, P, np.arange(p))
    else:
        alpha = dual_scaling(grad, P, np.arange(p)) if convex else 1.0
    if convex:
        gap = max(rss, 0.0) * (1.0 - alpha) * (1.0 - alpha)
    if plain:
        for j in range(p):
            if G[j, j] <= 0.0:
                continue
            if P[0, j] == 0.0 and P[1, j] == 0.0:
                stationarity += grad[j] * grad[j] / (4.0 * G[j, j])
            else:
                gap += plain_coordinate_gap(w[j], -alpha * grad[j], P[0, j], P[1, j])
        return gap, stationarity
    for j in range(p):
        if G[j, j] <= 0.0:
            continue
        if pen_free(pen, P, j) or not convex:
            v = pen_violation(pen, P, j, w[j], grad[j])
            if pen_free(pen, P, j):
                stationarity += v * v / (4.0 * G[j, j])
            else:
                gap += v * v / (4.0 * G[j, j])
            continue
        gap += coordinate_gap(w[j], -alpha * grad[j], P[0, j], P[1, j], P[ROW_LO, j], P[ROW_HI, j])
    return gap, stationarity


@njit(**_JIT)
def gram_solve(G, c, yy, w, gw, pen, P, tol, max_epochs, support_max, params):
    """Coordinate descent on ``yy − 2cᵀw + wᵀGw + pen(w)`` (``G = X̃ᵀAX̃``, ``c = X̃ᵀAỹ``).

    Every step costs O(p) (``gw = Gw`` is kept up to date) instead of O(n). Once an
    epoch leaves the signs unchanged, the quadratic on the support is solved exactly
    from ``G``'s sub-matrix. Returns ``(epochs, gap, stationarity, support_steps)``.
    """
    p = w.shape[0]
    grad = np.empty(p)
    signs = np.zeros(p, dtype=np.int8)
    tried = np.zeros(p, dtype=np.int8)
    gap = np.inf
    stationarity = np.inf
    epochs = 0
    steps = 0
    plain = enet_plain_all(pen, P)
    while epochs < max_epochs:
        epochs += 1
        for j in range(p):
            if G[j, j] <= 0.0:
                continue
            lj = 2.0 * G[j, j]
            g = 2.0 * (gw[j] - c[j])
            old = w[j]
            new = coord_prox(plain, pen, P, j, old - g / lj, 1.0 / lj)
            if new != old:
                d = new - old
                w[j] = new
                for i in range(p):
                    gw[i] += d * G[i, j]
        stable = True
        same = True
        size = 0
        for j in range(p):
            s = 1 if w[j] > 0.0 else (-1 if w[j] < 0.0 else 0)
            if s != signs[j]:
                stable = False
                signs[j] = s
            if s != tried[j]:
                same = False
            if s != 0 or not pen_kinked(pen, P, j):
                size += 1
        if stable and not same and 0 < size <= support_max:
            tried[:] = signs
            S = np.empty(size, dtype=np.int64)
            q = 0
            for j in range(p):
                if signs[j] != 0 or not pen_kinked(pen, P, j):
                    S[q] = j
                    q += 1
            H = np.empty((size, size))
            rhs = np.empty(size)
            values = np.empty(size)
            kinked = np.empty(size, dtype=np.bool_)
            for u in range(size):
                j = S[u]
                for v in range(size):
                    H[u, v] = 2.0 * G[j, S[v]]
                H[u, u] += 2.0 * P[1, j]
                rhs[u] = 2.0 * (gw[j] - c[j]) + P[0, j] * signs[j] + 2.0 * P[1, j] * w[j]
                values[u] = w[j]
                kinked[u] = pen_kinked(pen, P, j)
            if face_minimize(H, rhs, values, kinked, max(1, int(params[P_FACE_SOLVES]))) > 0:
                for u in range(size):
                    j = S[u]
                    d = values[u] - w[j]
                    if d != 0.0:
                        w[j] = values[u]
                        for i in range(p):
                            gw[i] += d * G[i, j]
                steps += 1
        gap, stationarity = gram_gap(G, c, yy, w, gw, pen, P, grad, plain)
        if gap <= tol and stationarity <= tol:
            break
    return epochs, gap, stationarity, steps
