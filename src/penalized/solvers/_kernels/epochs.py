"""Coordinate-descent epochs, Anderson extrapolation and the sub-problem solver."""

import numpy as np

from .anderson import anderson_combination
from .base import (
    _JIT,
    _JIT_FAST,
    CHEAP_STEP_ENTRIES,
    CHEAP_STEP_EPOCHS,
    DUAL_SHARE,
    P_ANDERSON_AUTO,
    P_CHECK_COST,
    P_DUAL_K,
    P_LAST_MOVE,
    P_MOVE_TOL,
    P_SUPPORT_COST,
    P_TOL_FLOOR,
    PEN_ENET,
    SQUARED_ERROR,
    njit,
)
from .certificate import duality_gap_of, improve_gap, record_predictor
from .datafits import (
    datafit_value,
    dense_coordinate_gradient,
    gradient,
    intercept_curvature,
    sparse_coordinate_gradient,
    weighted_derivatives,
)
from .matrix import cols_axpy, dense_axpy, sparse_axpy, sparse_dot, sparse_dot3
from .penalties import coord_prox, pen_value, penalty_value
from .penalty_enet import enet_plain
from .support import squared_support_step

# --------------------------------------------------------------------- CD iterations


@njit(**_JIT)
def cd_epoch(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept, buf, plain):
    """One pass of proximal coordinate descent over ``ws`` (then the intercept).

    Each step minimises the quadratic upper bound with curvature ``L_j`` along the
    centred direction (exact for the squared error). Returns the new intercept and
    ``moved = Σ L_j Δ_j²`` (twice the decrease the steps guarantee on the quadratic bound).
    ``plain``: the penalty is the elastic net without a box on ``ws`` (:func:`enet_plain`).
    """
    if df == SQUARED_ERROR and not sparse:
        return dense_squared_epoch(X, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept, buf, plain)
    moved = 0.0
    # Sparse centred steps need ∂_b L_data: invariant under them for the squared error
    # (the only sparse case that centres), so computed once per epoch.
    grad_b = weighted_derivatives(df, y, a, zx, b, buf) if sparse and fit_intercept else 0.0
    if sparse:  # (the loop once per layout: see cols_dot)
        for j in ws:
            if L[j] == 0.0:
                continue
            start = Xp[j]
            stop = Xp[j + 1]
            g = sparse_coordinate_gradient(df, Xd, Xi, start, stop, y, a, zx, b) - mu[j] * grad_b
            old = w[j]
            step = 1.0 / L[j]
            new = coord_prox(plain, pen, P, j, old - step * g, step)
            if new != old:
                w[j] = new
                moved += L[j] * (new - old) * (new - old)
                sparse_axpy(Xd, Xi, start, stop, new - old, zx)
                b -= mu[j] * (new - old)
    else:
        for j in ws:
            if L[j] == 0.0:
                continue
            g = dense_coordinate_gradient(df, X, j, y, a, zx, b, mu[j])
            old = w[j]
            step = 1.0 / L[j]
            new = coord_prox(plain, pen, P, j, old - step * g, step)
            if new != old:
                w[j] = new
                moved += L[j] * (new - old) * (new - old)
                dense_axpy(X, j, new - old, zx, mu[j])
    if fit_intercept:
        b -= weighted_derivatives(df, y, a, zx, b, buf) / intercept_curvature(df, y, a, zx, b)
    return b, moved


@njit(**_JIT)
def sparse_squared_epoch(Xd, Xi, Xp, r, a, uniform, b, w, ws, L, pen, P, mu, fit_intercept, grad_b, plain):
    """:func:`cd_epoch` for the squared error on sparse ``X``, on the residual ``r = y − Xw``.

    Each step reads one stream per non-zero (``r``; and ``a`` for non-uniform weights)
    instead of four (``a``, ``y``, ``Xw`` and the data fit's dispatch). With
    ``s_j = Σ_i a_i x_ij r_i``, the derivative along the centred column is
    ``−2 s_j + mu_j (2b − grad_b)``; ``grad_b = ∂_b L_data`` does not change under centred steps
    (it is passed in), and the exact intercept step at the end sets it to 0. Returns
    ``(b, moved, grad_b)`` (``moved`` as in :func:`cd_epoch`).
    """
    moved = 0.0
    a0 = a[0]
    for j in ws:
        if L[j] == 0.0:
            continue
        start = Xp[j]
        stop = Xp[j + 1]
        if uniform:
            s = a0 * sparse_dot(Xd, Xi, start, stop, r)
        else:
            s = sparse_dot3(Xd, Xi, start, stop, a, r)
        g = -2.0 * s + mu[j] * (2.0 * b - grad_b)
        old = w[j]
        step = 1.0 / L[j]
        new = coord_prox(plain, pen, P, j, old - step * g, step)
        if new != old:
            d = new - old
            w[j] = new
            moved += L[j] * d * d
            sparse_axpy(Xd, Xi, start, stop, -d, r)
            b -= mu[j] * d
    if fit_intercept:
        b -= 0.5 * grad_b
        grad_b = 0.0
    return b, moved, grad_b


@njit(**_JIT_FAST)
def dense_squared_epoch(X, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept, r, plain):
    """:func:`cd_epoch` for the squared error on dense ``X``, on the residual.

    The residual ``r = y − zx − b`` (in ``r``) is what each step reads and updates: two
    streams per column (``x_j`` and ``r``) instead of four (``x_j``, ``a``, ``y``,
    ``zx``), as in scikit-learn's coordinate descent, and the weights drop out when they
    are uniform. ``zx`` and ``b`` are brought up to date at the end. Returns ``(b,
    moved)`` like :func:`cd_epoch`.
    """
    n = y.shape[0]
    moved = 0.0
    uniform = True
    for i in range(n):
        r[i] = y[i] - zx[i] - b
        if a[i] != a[0]:
            uniform = False
    for j in ws:
        if L[j] == 0.0:
            continue
        m = mu[j]
        s = 0.0
        if uniform:
            for i in range(n):
                s += (X[i, j] - m) * r[i]
            s *= a[0]
        else:
            for i in range(n):
                s += (X[i, j] - m) * a[i] * r[i]
        g = -2.0 * s
        old = w[j]
        step = 1.0 / L[j]
        new = coord_prox(plain, pen, P, j, old - step * g, step)
        if new != old:
            w[j] = new
            d = new - old
            moved += L[j] * d * d
            for i in range(n):
                r[i] -= d * (X[i, j] - m)
    shift = 0.0
    if fit_intercept:  # exact for the squared error: b += Σ a r
        for i in range(n):
            shift += a[i] * r[i]
    for i in range(n):
        zx[i] = y[i] - r[i] - b
    return b + shift, moved


@njit(**_JIT)
def _anderson_step(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, pen, P, mu, hist, zx_try):
    """Anderson extrapolation of the last iterates in ``hist``; keeps it if it lowers L.

    Returns ``(b, accepted)``; ``w`` and ``zx`` are updated in place on acceptance.
    """
    n_ws = ws.shape[0]
    extrap = np.empty(hist.shape[1])
    if not anderson_combination(hist, extrap):
        return b, False
    zx_try[:] = zx
    pen_try = 0.0
    delta = np.empty(n_ws)
    for t in range(n_ws):
        j = ws[t]
        delta[t] = extrap[t] - w[j]
        pen_try += pen_value(pen, P, j, extrap[t])
    cols_axpy(X, Xd, Xi, Xp, sparse, ws, delta, zx_try, mu)
    b_try = extrap[n_ws]
    current = datafit_value(df, y, a, zx, b) + penalty_value(w, pen, P, ws)
    trial = datafit_value(df, y, a, zx_try, b_try) + pen_try
    if trial < current:
        for t in range(n_ws):
            w[ws[t]] = extrap[t]
        zx[:] = zx_try
        return b_try, True
    return b, False


@njit(**_JIT)
def solve_subproblem(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept,
                     tol, max_epochs, anderson_k, check_every, grad, support_max, params, dual_z):
    """Coordinate descent restricted to ``ws`` until its certificate is ≤ ``tol``.

    Anderson acceleration every ``anderson_k + 1`` epochs (0 disables it; with
    ``params[P_ANDERSON_AUTO]``, only while the support has more than ``support_max``
    features). For the squared error, once an epoch leaves the signs of ``w`` on ``ws``
    unchanged, the quadratic on that support (at most ``support_max`` features; 0 disables it)
    is solved exactly (:func:`squared_support_step`) and the certificate checked at once.

    Costs are counted in column entries read: an epoch reads the working set's columns
    (``n·|ws|`` dense, their non-zeros sparse), a support step on ``k`` features about
    ``params[P_SUPPORT_COST] · n · (20 + 2k + k²/8 + k³/(12 n))`` (gathering, gradients, then
    BLAS-3 products and a solve). A step is tried only once the epochs since the last try
    have cost as much, which keeps the total within twice that of the better of the two
    strategies, and (``n ≥ p``) not while the epochs, at the rate of convergence of their
    movement ``Σ L_j Δ_j²``, are predicted to reach ``tol`` for less (unless it is cheap, see
    :data:`CHEAP_STEP_EPOCHS`).

    Once the certificate is ≤ ``tol`` for less than ``params[P_CHECK_COST]`` entries (the
    caller's check over every feature), the epochs go on towards ``params[P_TOL_FLOOR]`` until
    they have cost that much: where the checks dominate (small working sets of a large
    design), each one then buys more progress, and the waste on a working set that turns
    out to be wrong is at most one check's cost.
    With ``params[P_DUAL_K] = K > 0`` (elastic net), ``dual_z`` holds the linear predictor of the
    best dual point seen (in and out), and a check whose gap is above its target also tries it and
    the extrapolation of the last ``K + 1`` predictors (:func:`improve_gap`), as long as these
    candidates have cost at most :data:`DUAL_SHARE` of the work.
    With ``params[P_MOVE_TOL] = m > 0`` (glmnet's convergence rule on top of the certificate), a
    sub-problem whose certificate is met goes on, without further checks, until an epoch moves by
    ``Σ L_j Δ_j² ≤ m``; the last epoch's movement is written to ``params[P_LAST_MOVE]``.
    Returns ``(b, epochs, gap, stationarity, support_steps, won)`` of the restricted problem
    at exit (``won``: 1 when the last gap is that of ``dual_z``'s dual point, not the current one's).
    """
    n = y.shape[0]
    n_ws = ws.shape[0]
    buf = np.empty(n)
    dual_k = int(params[P_DUAL_K]) if pen == PEN_ENET else 0
    zhist = np.empty((dual_k + 1, n if dual_k > 0 else 0))
    gcand = np.empty(grad.shape[0] if dual_k > 0 else 0)
    tcand = np.empty(n if dual_k > 0 else 0)
    recorded = 0
    dual_spent = 0.0  # entries read by the dual candidates (at most DUAL_SHARE of all)
    won = 0  # the last check's gap is a candidate's (dual_z's)
    zx_try = np.empty(n)
    hist = np.empty((anderson_k + 1, n_ws + 1))
    signs = np.zeros(n_ws, dtype=np.int8)
    tried = np.zeros(n_ws, dtype=np.int8)  # the sign pattern of the last support step
    use_support = df == SQUARED_ERROR and support_max > 0
    plain = enet_plain(pen, P, ws)
    anderson_auto = params[P_ANDERSON_AUTO] != 0.0 and use_support
    # sparse squared error: epochs on the residual r = y − Xw (zx is brought up to date
    # before anything else reads it)
    resid = sparse and df == SQUARED_ERROR
    r = np.empty(n if resid else 1)
    uniform = True
    grad_b = 0.0
    if resid:
        s = 0.0
        for i in range(n):
            r[i] = y[i] - zx[i]
            s += a[i] * r[i]
            if a[i] != a[0]:
                uniform = False
        if fit_intercept:
            grad_b = -2.0 * (s - b)
    epoch_cost = 0.0  # entries read by one epoch
    for j in ws:
        epoch_cost += (Xp[j + 1] - Xp[j]) if sparse else n
    epoch_cost += n_ws
    budget = params[P_CHECK_COST]
    floor = min(params[P_TOL_FLOOR], tol)
    target = tol
    spent = 0.0  # entries read by this call
    gap = np.inf
    stationarity = np.inf
    epoch = 0
    slot = 0
    support_steps = 0
    size = -1  # the support on ws, once counted
    work = 0.0  # entries read since the last support step
    ratio = 1.0  # certificate ÷ epoch movement, at the last check
    previous = 0.0  # the movement of the previous epoch
    move_tol = params[P_MOVE_TOL]
    settling = False  # certified: epochs go on until one moves by at most move_tol
    moved = 0.0
    while epoch < max_epochs:
        work += epoch_cost
        spent += epoch_cost
        if resid:
            b, moved, grad_b = sparse_squared_epoch(Xd, Xi, Xp, r, a, uniform, b, w, ws, L, pen, P, mu,
                                                    fit_intercept, grad_b, plain)
        else:
            b, moved = cd_epoch(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept, buf,
                                plain)
        epoch += 1
        rate = moved / previous if previous > 0.0 else 1.0  # linear convergence rate, per epoch
        previous = moved
        # the certificate every check_every epochs, or as soon as the epoch's movement,
        # scaled by the gap/movement ratio seen at the last check, predicts convergence
        check = epoch % check_every == 0 or epoch == max_epochs or moved * ratio <= target
        if use_support:
            stable = True
            same_as_tried = True
            size = 0
            for t in range(n_ws):
                v = w[ws[t]]
                sg = 1 if v > 0.0 else (-1 if v < 0.0 else 0)
                if sg != signs[t]:
                    stable = False
                    signs[t] = sg
                if sg != tried[t]:
                    same_as_tried = False
                if sg != 0:
                    size += 1
            cost = params[P_SUPPORT_COST] * n * (20.0 + 2.0 * size + size * size / 8.0
                                                 + size * size * size / (12.0 * n))
            worth = True
            if (n >= L.shape[0] and rate < 1.0 and moved > 0.0 and cost > CHEAP_STEP_EPOCHS * epoch_cost
                    and cost > CHEAP_STEP_ENTRIES):
                left = moved * ratio  # the certificate predicted from this epoch's movement
                remaining = np.log(left / target) / -np.log(rate) if left > target else 0.0  # epochs
                worth = remaining * epoch_cost >= cost
            if stable and not same_as_tried and 0 < size <= support_max and work >= cost and worth:
                tried[:] = signs
                work = 0.0
                spent += cost
                if resid:
                    _residual_to_state(y, r, zx)
                b, accepted = squared_support_step(X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, P, mu,
                                                   fit_intercept, buf, support_max, params)
                if resid:
                    grad_b = _state_to_residual(y, a, zx, b, r, fit_intercept)
                if accepted:
                    support_steps += 1
                    check = True
                    slot = 0  # the iterates before the jump say nothing about after it
        if anderson_k > 0:
            for t in range(n_ws):
                hist[slot, t] = w[ws[t]]
            hist[slot, n_ws] = b
            if slot == anderson_k:
                if not (anderson_auto and 0 <= size <= support_max):
                    if resid:
                        _residual_to_state(y, r, zx)
                    b, accepted = _anderson_step(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, pen, P, mu,
                                                 hist, zx_try)
                    if resid and accepted:
                        grad_b = _state_to_residual(y, a, zx, b, r, fit_intercept)
                slot = 0
            else:
                slot += 1
        if dual_k > 0:
            recorded = record_predictor(zhist, recorded, y, zx, r, b, resid)
        if settling:
            if moved <= move_tol:
                break
            continue
        if check:
            if resid:
                _residual_to_state(y, r, zx)
            gb = gradient(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, mu, ws, grad, buf)
            if resid:
                grad_b = gb if fit_intercept else 0.0  # the exact value (no drift)
            spent += epoch_cost
            gap, stationarity = duality_gap_of(df, y, a, zx, b, w, grad, gb, pen, P, L, ws, fit_intercept, plain)
            won = 0
            if gap > target and dual_k > 0 and dual_spent <= DUAL_SHARE * spent:
                spent += 2.0 * epoch_cost + (dual_k + 4) * n
                dual_spent += 2.0 * epoch_cost + (dual_k + 4) * n
                own = gap
                gap = improve_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, ws, plain, gap, target,
                                  dual_z, zhist, recorded, gcand, buf, tcand)
                won = 1 if gap < own else 0
            done = False
            if gap <= target and stationarity <= target:
                if target <= floor or spent >= budget:
                    done = True
                else:
                    target = floor  # cheap so far: go on while it stays cheaper than a check
            elif gap <= tol and stationarity <= tol and spent >= budget:
                done = True
            if done:
                if moved <= move_tol or move_tol <= 0.0:
                    break
                settling = True
            if moved > 0.0:
                ratio = max(1.0, (gap + stationarity) / moved)
    if resid:
        _residual_to_state(y, r, zx)
    params[P_LAST_MOVE] = moved
    return b, epoch, gap, stationarity, support_steps, won


@njit(**_JIT)
def _residual_to_state(y, r, zx):
    for i in range(y.shape[0]):
        zx[i] = y[i] - r[i]


@njit(**_JIT)
def _state_to_residual(y, a, zx, b, r, fit_intercept):
    """``r = y − zx``; returns the squared error's ``∂_b L_data`` (0 without an intercept)."""
    s = 0.0
    for i in range(y.shape[0]):
        r[i] = y[i] - zx[i]
        s += a[i] * r[i]
    return -2.0 * (s - b) if fit_intercept else 0.0
