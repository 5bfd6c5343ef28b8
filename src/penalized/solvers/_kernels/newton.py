"""Proximal Newton: quadratic models, their coordinate descent and the outer loop."""

import numpy as np

from .anderson import anderson_combination
from .base import (
    _INLINE,
    _JIT,
    _JIT_FAST,
    P_ANDERSON_AUTO,
    P_CHECK_COST,
    P_DUAL_K,
    P_LAST_MOVE,
    P_MODEL_ANDERSON,
    P_MOVE_TOL,
    P_NEWTON_FORCING,
    P_SUPPORT_COST,
    P_TOL_FLOOR,
    PEN_ENET,
    SAMPLE_COST,
    njit,
)
from .certificate import duality_gap, improve_gap, record_predictor
from .datafits import sample_loss_change, sample_loss_derivatives
from .matrix import col_axpy, col_dot3, cols_axpy, cols_dot, dense_axpy, dense_dot3, sparse_axpy, sparse_dot3
from .penalties import pen_change, pen_concavity, pen_convex, pen_kinked, pen_prox, pen_value, pen_violation
from .penalty_enet import enet_plain, prox_enet
from .support import support_newton

# ------------------------------------------------------------------- proximal Newton


@njit(**_JIT)
def second_order(df, y, a, zx, b, d1, h):
    """``d1_i = a_i ℓ'(z_i)``, ``h_i = a_i ℓ''(z_i)``; returns ``(Σ d1, Σ h)``."""
    s1 = 0.0
    sh = 0.0
    for i in range(y.shape[0]):
        g, c = sample_loss_derivatives(df, y[i], zx[i] + b)
        d1[i] = a[i] * g
        h[i] = a[i] * c
        s1 += d1[i]
        sh += h[i]
    return s1, sh


@njit(**_JIT)
def datafit_change(df, y, a, zx, b, du, db, t):
    """``Σ_i a_i [ℓ(z_i + t(du_i + db)) − ℓ(z_i)]``, accurate for tiny steps
    (:func:`sample_loss_change`)."""
    total = 0.0
    for i in range(y.shape[0]):
        d = t * (du[i] + db)
        if d != 0.0:
            total += a[i] * sample_loss_change(df, y[i], zx[i] + b, d)
    return total


@njit(**_JIT)
def model_value(gt, delta, w, ws, pen, P, h, u, sum_h, fit_intercept):
    """The proximal Newton model of :func:`newton_direction` at ``delta`` (``u = X̃δ``), up to
    a constant: ``gtᵀδ + ½(Σ_i h_i u_i² − U²/Σh) + pen(w + δ)``, ``U = Σ_i h_i u_i`` (the
    intercept's step minimised out; ``U = 0`` without one)."""
    quad = 0.0
    U = 0.0
    for i in range(u.shape[0]):
        hv = h[i] * u[i]
        quad += hv * u[i]
        U += hv
    if fit_intercept and sum_h > 0.0:
        quad -= U * U / sum_h
    value = 0.5 * quad
    for t in range(ws.shape[0]):
        j = ws[t]
        value += gt[t] * delta[t] + pen_value(pen, P, j, w[j] + delta[t])
    return value


@njit(**_JIT)
def _model_anderson(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, gt, h, sum_h, fit_intercept, hist, delta, u,
                    u_try, d_try):
    """Anderson extrapolation of the model iterates in ``hist`` (rows of ``δ``); kept if it
    lowers :func:`model_value`. Returns whether it was (``delta`` and ``u`` then updated)."""
    if not anderson_combination(hist, d_try):
        return False
    u_try[:] = u
    steps = d_try - delta
    cols_axpy(X, Xd, Xi, Xp, sparse, ws, steps, u_try, mu)
    if model_value(gt, d_try, w, ws, pen, P, h, u_try, sum_h, fit_intercept) < model_value(
            gt, delta, w, ws, pen, P, h, u, sum_h, fit_intercept):
        delta[:] = d_try
        u[:] = u_try
        return True
    return False


@njit(**_INLINE)
def _model_prox(plain, pen, P, j, v, G, H):
    """A coordinate step on the proximal Newton model: ``(new value, curvature used)``.

    A non-convex penalty's prox with a long step jumps to far-away minimisers where the
    quadratic model means nothing: each coordinate's model is kept convex (a proximal term)."""
    if plain:
        return prox_enet(v - G / H, P[0, j] / H, P[1, j] / H), H
    Ht = max(H, 1.01 * pen_concavity(pen, P, j))
    return pen_prox(pen, P, j, v - G / Ht, 1.0 / Ht), Ht


@njit(**_JIT)
def _model_epoch(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, gt, H, m, sum_h, h, u, U, delta, plain):
    """One coordinate-descent epoch on the model of :func:`newton_direction` (state
    ``u = X̃δ``, ``U = Σ h u``); returns ``(U, largest H_j |step_j|)``. The loop is written
    once per layout: a branch on it inside the loop costs as much as a short sparse column."""
    biggest = 0.0
    if sparse:
        for t in range(ws.shape[0]):
            if H[t] <= 0.0:
                continue
            j = ws[t]
            v = w[j] + delta[t]
            G = gt[t] + sparse_dot3(Xd, Xi, Xp[j], Xp[j + 1], h, u) - m[t] * U
            new, Ht = _model_prox(plain, pen, P, j, v, G, H[t])
            if new != v:
                step = new - v
                delta[t] += step
                sparse_axpy(Xd, Xi, Xp[j], Xp[j + 1], step, u)
                U += step * m[t] * sum_h
                biggest = max(biggest, Ht * abs(step))
    else:
        for t in range(ws.shape[0]):
            if H[t] <= 0.0:
                continue
            j = ws[t]
            v = w[j] + delta[t]
            G = gt[t] + dense_dot3(X, j, h, u, mu[j]) - m[t] * U
            new, Ht = _model_prox(plain, pen, P, j, v, G, H[t])
            if new != v:
                step = new - v
                delta[t] += step
                dense_axpy(X, j, step, u, mu[j])
                U += step * m[t] * sum_h
                biggest = max(biggest, Ht * abs(step))
    return U, biggest


@njit(**_JIT_FAST)
def _model_setup(X, Xd, Xi, Xp, sparse, ws, mu, h, sum_h, fit_intercept, grad, grad_b, m, H, gt):
    """The model's column quantities on ``ws`` (see :func:`newton_direction`): ``h``-weighted
    means ``m``, curvatures ``H`` and gradients ``gt`` along the ``h``-centred columns."""
    centre = fit_intercept and sum_h > 0.0
    for t in range(ws.shape[0]):
        j = ws[t]
        q = 0.0
        s = 0.0
        if sparse:
            for k in range(Xp[j], Xp[j + 1]):
                hx = h[Xi[k]] * Xd[k]
                s += hx
                q += hx * Xd[k]
        else:
            mj = mu[j]
            for i in range(X.shape[0]):
                d = X[i, j] - mj
                hx = h[i] * d
                s += hx
                q += hx * d
        m[t] = s / sum_h if centre else 0.0
        H[t] = max(q - m[t] * m[t] * sum_h, 0.0)
        gt[t] = grad[j] - grad_b * m[t]


@njit(**_JIT)
def newton_direction(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, fit_intercept, grad, grad_b, h, sum_h,
                     tol, max_epochs, support_max, params, delta, u, anderson_k):
    """Proximal Newton direction on ``ws``: coordinate descent on the quadratic model.

    Minimises ``gᵀδ + g_b δ_b + ½ Σ_i h_i (x̃_iᵀδ + δ_b)² + pen(w + δ)``. With an
    intercept, ``δ_b`` is eliminated exactly by centring each column with its
    ``h``-weighted mean ``m_j`` (the model then separates), leaving a weighted lasso in
    ``δ`` with gradient ``g_j − g_b m_j`` and curvature ``Σ h x̃_j² − m_j² Σ h``. Epochs
    stop when the largest ``H_j |step_j|`` (the model's optimality violation, in gradient
    units) falls below ``tol``; when an epoch leaves the signs unchanged without getting
    there, the model is solved on its support exactly (:func:`support_newton`). For a
    convex penalty, the epochs' iterates are Anderson-extrapolated every ``anderson_k + 1``
    epochs (0: never; kept when the model decreases), as coordinate descent on a lasso.
    The state is ``u = X̃δ``. Writes ``delta`` and ``u``; returns ``(δ_b, epochs)``.
    """
    n_ws = ws.shape[0]
    m = np.zeros(n_ws)
    H = np.empty(n_ws)
    gt = np.empty(n_ws)
    _model_setup(X, Xd, Xi, Xp, sparse, ws, mu, h, sum_h, fit_intercept, grad, grad_b, m, H, gt)
    plain = enet_plain(pen, P, ws)
    delta[:] = 0.0
    u[:] = 0.0  # X̃δ
    U = 0.0  # Σ h ∘ X̃δ
    signs = np.zeros(n_ws, dtype=np.int8)
    for t in range(n_ws):
        v = w[ws[t]]
        signs[t] = 1 if v > 0.0 else (-1 if v < 0.0 else 0)
    tried = np.zeros(n_ws, dtype=np.int8)
    use_anderson = anderson_k > 0 and pen_convex(pen)
    depth = anderson_k if use_anderson else 0
    hist = np.empty((depth + 1, n_ws if use_anderson else 0))
    u_try = np.empty(u.shape[0] if use_anderson else 0)
    d_try = np.empty(n_ws if use_anderson else 0)
    slot = 0
    epochs = 0
    work = 0.0
    n = h.shape[0]
    while epochs < max_epochs:
        epochs += 1
        work += n_ws
        U, biggest = _model_epoch(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, gt, H, m, sum_h, h, u, U, delta,
                                  plain)
        if biggest <= tol:
            break
        stable = True
        size = 0
        for t in range(n_ws):
            if H[t] <= 0.0:
                continue
            j = ws[t]
            v = w[j] + delta[t]
            s = 1 if v > 0.0 else (-1 if v < 0.0 else 0)
            if s != signs[t]:
                stable = False
                signs[t] = s
            if s != 0 or not pen_kinked(pen, P, j):  # the support, and the coordinates smooth at zero
                size += 1
        same_as_tried = True
        for t in range(n_ws):
            if signs[t] != tried[t]:
                same_as_tried = False
                break
        cost = params[P_SUPPORT_COST] * (size + size * size / 8.0 + size * size * size / (12.0 * n))
        if stable and not same_as_tried and 0 < size <= support_max and work >= cost:
            tried[:] = signs
            work = 0.0
            S = np.empty(size, dtype=np.int64)
            pos = np.empty(size, dtype=np.int64)
            rhs = np.empty(size)
            values = np.empty(size)
            q = 0
            for t in range(n_ws):
                if signs[t] != 0 or not pen_kinked(pen, P, ws[t]):
                    j = ws[t]
                    v = w[j] + delta[t]
                    G = gt[t] + col_dot3(X, Xd, Xi, Xp, sparse, j, h, u, mu[j]) - m[t] * U
                    S[q] = j
                    pos[q] = t
                    values[q] = v
                    rhs[q] = G + P[0, j] * signs[t] + 2.0 * P[1, j] * v
                    q += 1
            if support_newton(X, Xd, Xi, Xp, sparse, S, mu, h, fit_intercept, rhs, P, values,
                              support_max, params):
                for q in range(size):
                    t = pos[q]
                    step = values[q] - (w[S[q]] + delta[t])
                    if step != 0.0:
                        delta[t] += step
                        col_axpy(X, Xd, Xi, Xp, sparse, S[q], step, u, mu[S[q]])
                        U += step * m[t] * sum_h
                slot = 0  # the iterates before the jump say nothing about after it
                continue
        if use_anderson:
            for t in range(n_ws):
                hist[slot, t] = delta[t]
            if slot == depth and not (params[P_ANDERSON_AUTO] != 0.0 and size <= support_max):
                if _model_anderson(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, gt, h, sum_h, fit_intercept, hist,
                                   delta, u, u_try, d_try):
                    U = 0.0
                    for i in range(n):
                        U += h[i] * u[i]
                    work += n_ws
                slot = 0
            elif slot == depth:
                slot = 0
            else:
                slot += 1
    delta_b = 0.0
    if fit_intercept and sum_h > 0.0:
        delta_b = -grad_b / sum_h
        for t in range(n_ws):
            delta_b -= m[t] * delta[t]
    return delta_b, epochs


@njit(**_JIT)
def _line_search(df, y, a, zx, b, w, ws, pen, P, h, du, delta, delta_b, decrease):
    """Backtracking along ``(δ, δ_b)`` from ``t = 1`` (halving, at most 40 trials) until the
    objective's change meets the Armijo condition against ``decrease``, the model's predicted
    change at ``t = 1``; returns ``(t, accepted, trials)``. A non-convex penalty is not linear
    along the step: the model's own change at ``t`` is used there (its curvature ``δᵀHδ`` from
    ``h`` and ``du = X̃δ``)."""
    n = y.shape[0]
    n_ws = ws.shape[0]
    convex = pen_convex(pen)
    linear = decrease  # gᵀδ + g_b δ_b, and the curvature δᵀHδ of the model along the step
    curv = 0.0
    if not convex:
        for t in range(n_ws):
            if delta[t] != 0.0:
                linear -= pen_change(pen, P, ws[t], w[ws[t]], w[ws[t]] + delta[t])
        for i in range(n):
            curv += h[i] * (du[i] + delta_b) * (du[i] + delta_b)
    t_step = 1.0
    for trial in range(40):
        change = datafit_change(df, y, a, zx, b, du, delta_b, t_step)
        pen_part = 0.0
        for t in range(n_ws):
            if delta[t] != 0.0:
                j = ws[t]
                pen_part += pen_change(pen, P, j, w[j], w[j] + t_step * delta[t])
        change += pen_part
        if convex:  # Armijo: a convex penalty changes by at most t·(its change at t = 1)
            predicted = t_step * decrease
        else:  # the model's own change at t (the penalty is not linear along the step)
            predicted = t_step * linear + 0.5 * t_step * t_step * curv + pen_part
        if predicted < 0.0 and change <= 1e-4 * predicted:
            return t_step, True, trial + 1
        t_step *= 0.5
    return t_step, False, 40


@njit(**_JIT)
def solve_subproblem_newton(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept,
                            tol, max_epochs, grad, support_max, params, dual_z):
    """Proximal Newton on ``ws``, until the restricted certificate is ≤ ``tol``.

    Each step: the quadratic model at the current point (weights ``a_i ℓ''``), its
    minimiser by :func:`newton_direction`, then a backtracking line search on the true
    objective (Armijo condition with the model's predicted decrease, as in Tseng & Yun
    2009 and glmnet/skglm's proximal Newton). Returns ``(b, epochs, gap, stationarity,
    newton_steps)``; ``epochs`` counts the coordinate-descent epochs on the models. The
    certificate is first checked after a step (the caller has just found it above ``tol``).
    As :func:`solve_subproblem`, a sub-problem that met ``tol`` for less than
    ``params[P_CHECK_COST]`` entries goes on towards ``params[P_TOL_FLOOR]`` until it has
    spent as much (a model epoch reads the working set's columns; a Newton step's other
    passes over the ``n`` samples count ``SAMPLE_COST`` each). With ``params[P_DUAL_K] > 0`` (elastic
    net), the predictors after each step feed :func:`improve_gap` as in :func:`solve_subproblem`
    (``dual_z``: the best dual point's predictor, in and out); returns ``won`` last, as it does.
    With ``params[P_MOVE_TOL] = m > 0`` (glmnet's convergence rule), a met certificate also needs the
    last step to move by ``t²·Σ L_j δ_j² ≤ m``; that movement is written to ``params[P_LAST_MOVE]``.
    """
    n = y.shape[0]
    n_ws = ws.shape[0]
    dual_k = int(params[P_DUAL_K]) if pen == PEN_ENET else 0
    zhist = np.empty((dual_k + 1, n if dual_k > 0 else 0))
    gcand = np.empty(grad.shape[0] if dual_k > 0 else 0)
    tcand = np.empty(n if dual_k > 0 else 0)
    dbuf = np.empty(n if dual_k > 0 else 0)
    plain = enet_plain(pen, P, ws)
    recorded = 0
    won = 0
    d1 = np.empty(n)
    h = np.empty(n)
    u = np.empty(n)
    du = np.empty(n)
    delta = np.empty(n_ws)
    gap = np.inf
    stationarity = np.inf
    epochs = 0
    steps = 0
    epoch_cost = float(n_ws)
    for j in ws:
        epoch_cost += (Xp[j + 1] - Xp[j]) if sparse else n
    budget = params[P_CHECK_COST]
    floor = min(params[P_TOL_FLOOR], tol)
    target = tol
    spent = 0.0
    anderson_k = int(params[P_MODEL_ANDERSON])
    move_tol = params[P_MOVE_TOL]
    moved = np.inf  # the last accepted step's movement Σ L_j (t δ_j)²
    while epochs < max_epochs:
        grad_b, sum_h = second_order(df, y, a, zx, b, d1, h)
        cols_dot(X, Xd, Xi, Xp, sparse, ws, d1, mu, grad)
        spent += epoch_cost + SAMPLE_COST * n
        if steps > 0:
            gap, stationarity = duality_gap(df, y, a, zx, b, w, grad, grad_b, pen, P, L, ws,
                                            fit_intercept)
            won = 0
            if gap > target and dual_k > 0:
                spent += (2.0 + SAMPLE_COST) * epoch_cost
                own = gap
                gap = improve_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, ws, plain, gap, target,
                                  dual_z, zhist, recorded, gcand, dbuf, tcand)
                won = 1 if gap < own else 0
            settled = moved <= move_tol or move_tol <= 0.0
            if gap <= target and stationarity <= target:
                if (target <= floor or spent >= budget) and settled:
                    break
                target = floor  # cheap so far: go on while it stays cheaper than a check
            elif gap <= tol and stationarity <= tol and spent >= budget and settled:
                break
        worst = 0.0  # largest optimality violation on ws, in gradient units
        for j in ws:
            worst = max(worst, pen_violation(pen, P, j, w[j], grad[j]))
        inner_tol = params[P_NEWTON_FORCING] * worst
        delta_b, inner = newton_direction(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, fit_intercept, grad,
                                          grad_b, h, sum_h, inner_tol, max_epochs - epochs, support_max,
                                          params, delta, u, anderson_k)
        epochs += max(inner, 1)
        spent += (max(inner, 1) + 3) * epoch_cost
        # Δz = X̃δ + δ_b and the model's predicted decrease
        du[:] = 0.0
        cols_axpy(X, Xd, Xi, Xp, sparse, ws, delta, du, mu)
        decrease = grad_b * delta_b  # model's predicted change: gᵀδ + pen(w + δ) − pen(w)
        for t in range(n_ws):
            j = ws[t]
            if delta[t] != 0.0:
                v = w[j] + delta[t]
                decrease += grad[j] * delta[t] + pen_change(pen, P, j, w[j], v)
        if not decrease < 0.0:
            break  # no descent left at this precision
        t_step, accepted, trials = _line_search(df, y, a, zx, b, w, ws, pen, P, h, du, delta, delta_b, decrease)
        spent += SAMPLE_COST * n * trials
        if not accepted:
            break
        steps += 1
        moved = 0.0
        for t in range(n_ws):
            if delta[t] != 0.0:
                w[ws[t]] += t_step * delta[t]
                moved += L[ws[t]] * (t_step * delta[t]) ** 2
        for i in range(n):
            zx[i] += t_step * du[i]
        b += t_step * delta_b
        if dual_k > 0:
            recorded = record_predictor(zhist, recorded, y, zx, zx, b, False)
    params[P_LAST_MOVE] = moved
    return b, epochs, gap, stationarity, steps, won
