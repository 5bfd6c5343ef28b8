"""The Cox partial likelihood's proximal Newton loop for the elastic-net family, compiled.

The data fit (:mod:`penalized.glm.cox`) reaches these kernels as ``cox = (order, grp, tg, SE, TW,
total)``: ``order`` sorts the samples by time; in that order ``grp`` is each sample's distinct-time
index (non-decreasing), ``SE[0]`` its weight ``s`` and ``SE[1]`` its event indicator; one term per
(event time, Efron index ``l``) has its time index ``tg``, ``TW[0] = c = l/d_k`` and weight
``TW[1]`` (Breslow: ``c = 0``, weight ``D_k``); ``total = Σs``. With ``u = s·e^{η − max η}`` and
the terms' denominators ``den_t = S_k − c_t E_k`` (``S_k`` the risk set's sum of ``u``, ``E_k`` the
events' at ``t_k``), ``L = (−Σ s δ η + Σ_t w_t (log den_t + max η)) / total``.

Every pass over the risk sets is O(n + terms) (cumulative sums over the sorted times): the value,
the gradient ``g`` and Hessian diagonal ``h`` in ``η``, and the exact Hessian-vector product
``(Hv)_i = u_i (first_i v_i − Σ_t β_ti w_t m_t / den_t²) / total`` with ``m_t = Σ_j β_tj u_j v_j``
(``β_tj`` = 1 in the risk set, ``1 − c_t`` for an event at ``t_k``). The Newton model is the exact
second-order one (not glmnet's diagonal): coordinate descent on it, with the Hessian times each
working column computed once per Newton step, then a backtracking line search on the objective.

The buffer ``W`` (rows by sample) holds: 0 ``u`` and 1 ``first_i = Σ_t β_ti w_t / den_t`` in the
sorted order; in the caller's order 2 ``g``, 3 ``h``, 4 ``d = XΔ``, 5 ``g + HXΔ``, 6 a column,
7 the trial ``η``.
"""

import numpy as np

from .base import _JIT, _JIT_FAST, PEN_ENET, ROW_HI, ROW_LO, njit
from .matrix import col_axpy, col_dot
from .penalties import pen_kinked, pen_prox, pen_violation
from .support import face_minimize

_TINY = 2.2250738585072014e-308
_ROUND = 64.0 * 2.220446049250313e-16
_CHORD = 0.1  # a Newton model keeps the last Hessian where the full step before moved η by at most this
_BATCH_ENTRIES = 1 << 20  # the batched Hessian-column pass holds five n × m (or G × m) arrays: ≤ 40 MB
_FACE_AFTER = 100  # passes of coordinate descent on one Newton model before a face step


@njit(**_JIT)
def cox_risk_sums(eta, cox, W, den, gbuf):
    """``u`` (W[0], sorted), ``den_t`` (``den[:T]``); returns the partial likelihood's value ``L`` at
    ``eta``."""
    order, grp, tg, SE, TW, total = cox
    n = eta.shape[0]
    m = -np.inf
    for i in range(n):
        if eta[i] > m:
            m = eta[i]
    S = gbuf[0]
    E = gbuf[1]
    S[:] = 0.0
    E[:] = 0.0
    linear = 0.0
    for r in range(n):
        e = eta[order[r]]
        v = SE[0, r] * np.exp(e - m)
        W[0, r] = v
        S[grp[r]] += v
        E[grp[r]] += v * SE[1, r]
        linear += SE[0, r] * SE[1, r] * e
    acc = 0.0
    for k in range(S.shape[0] - 1, -1, -1):
        acc += S[k]
        S[k] = acc
    logs = 0.0
    for t in range(tg.shape[0]):
        k = tg[t]
        d = max(S[k] - TW[0, t] * E[k], _TINY)
        den[t] = d
        logs += TW[1, t] * (np.log(d) + m)
    return (logs - linear) / total


@njit(**_JIT)
def cox_derivatives(eta, cox, W, den, gbuf):
    """The value at ``eta`` (returned), ``g`` (W[2]), the Hessian's diagonal ``h`` (W[3]) and
    ``first`` (W[1]), in one pass over the risk sets; ``den[T:]`` receives ``w_t/den_t²``."""
    order, grp, tg, SE, TW, total = cox
    value = cox_risk_sums(eta, cox, W, den, gbuf)
    nt = tg.shape[0]
    A, B, A2, B2 = gbuf[0], gbuf[1], gbuf[2], gbuf[3]
    A[:] = 0.0
    B[:] = 0.0
    A2[:] = 0.0
    B2[:] = 0.0
    for t in range(tg.shape[0]):
        k = tg[t]
        c = TW[0, t]
        q = TW[1, t] / den[t]
        den[nt + t] = q / den[t]  # w_t / den_t², for the Hessian-vector products
        A[k] += q
        B[k] += q * (1.0 - c)
        A2[k] += q / den[t]
        B2[k] += q * (1.0 - c) * (1.0 - c) / den[t]
    cum = 0.0
    cum2 = 0.0
    done = 0
    for r in range(eta.shape[0]):
        k = grp[r]
        while done <= k:
            cum += A[done]
            cum2 += A2[done]
            done += 1
        ev = SE[1, r]
        f1 = cum - ev * (A[k] - B[k])
        f2 = cum2 - ev * (A2[k] - B2[k])
        u = W[0, r]
        W[1, r] = f1
        i = order[r]
        W[2, i] = (u * f1 - SE[0, r] * ev) / total
        W[3, i] = max(u * f1 - u * u * f2, 0.0) / total
    return value


@njit(**_JIT)
def cox_hessian_vector(v, out, cox, W, den, gbuf):
    """``out = H v``, ``H`` the Hessian of ``L`` in ``η`` at the point of the last
    :func:`cox_derivatives` (``v`` and ``out`` in the caller's order)."""
    order, grp, tg, SE, TW, total = cox
    Sv, Ev, M, Mc = gbuf[0], gbuf[1], gbuf[2], gbuf[3]
    Sv[:] = 0.0
    Ev[:] = 0.0
    M[:] = 0.0
    Mc[:] = 0.0
    n = v.shape[0]
    nt = tg.shape[0]
    scale = 1.0 / total
    for r in range(n):
        x = W[0, r] * v[order[r]]
        Sv[grp[r]] += x
        Ev[grp[r]] += x * SE[1, r]
    acc = 0.0
    for k in range(Sv.shape[0] - 1, -1, -1):
        acc += Sv[k]
        Sv[k] = acc
    for t in range(tg.shape[0]):
        k = tg[t]
        c = TW[0, t]
        q = den[nt + t] * (Sv[k] - c * Ev[k])
        M[k] += q
        Mc[k] += c * q
    cum = 0.0
    done = 0
    for r in range(n):
        k = grp[r]
        while done <= k:
            cum += M[done]
            done += 1
        i = order[r]
        out[i] = W[0, r] * (W[1, r] * v[i] - (cum - SE[1, r] * Mc[k])) * scale


@njit(**_JIT)
def load_column(Xt, j, out):
    """Column ``j`` of ``X`` written densely into ``out``."""
    X, Xd, Xi, Xp, sparse = Xt
    if sparse:
        out[:] = 0.0
        for k in range(Xp[j], Xp[j + 1]):
            out[Xi[k]] = Xd[k]
    else:
        for i in range(out.shape[0]):
            out[i] = X[i, j]


@njit(**_JIT)
def enet_value(w, P):
    s = 0.0
    for j in range(w.shape[0]):
        if w[j] != 0.0:
            s += P[0, j] * abs(w[j]) + P[1, j] * w[j] * w[j]
    return s


@njit(**_JIT_FAST)
def cox_hessian_columns(Xt, ws, m, cox, bufs, HX, curv):
    """:func:`cox_hessian_vector` of the ``m`` working columns at once (rows ``HX[:m]``) and their
    curvatures ``curv = x_jᵀ H x_j``: the same sums, the samples in the order of the times outside
    and the columns inside (contiguous, vectorised)."""
    order, grp, tg, SE, TW, total = cox
    W, den, gbuf = bufs
    n = W.shape[1]
    G = gbuf.shape[1]
    nt = tg.shape[0]
    V = np.empty((n, m))
    for a in range(m):
        load_column(Xt, ws[a], W[6])
        for r in range(n):
            V[r, a] = W[6, order[r]]
    S = np.zeros((G, m))
    E = np.zeros((G, m))
    for r in range(n):
        k = grp[r]
        u = W[0, r]
        for a in range(m):
            S[k, a] += u * V[r, a]
        if SE[1, r] != 0.0:
            for a in range(m):
                E[k, a] += u * V[r, a]
    for k in range(G - 2, -1, -1):
        for a in range(m):
            S[k, a] += S[k + 1, a]
    M = np.zeros((G, m))
    Mc = np.zeros((G, m))
    for t in range(nt):
        k = tg[t]
        c = TW[0, t]
        q = den[nt + t]
        for a in range(m):
            val = q * (S[k, a] - c * E[k, a])
            M[k, a] += val
            Mc[k, a] += c * val
    cum = np.zeros(m)
    scale = 1.0 / total
    done = 0
    curv[:m] = 0.0
    for r in range(n):
        k = grp[r]
        while done <= k:
            for a in range(m):
                cum[a] += M[done, a]
            done += 1
        u = W[0, r] * scale
        f = W[1, r]
        ev = SE[1, r]
        i = order[r]
        for a in range(m):
            h = u * (f * V[r, a] - (cum[a] - ev * Mc[k, a]))
            HX[a, i] = h
            curv[a] += h * V[r, a]


@njit(**_JIT)
def cox_model_setup(Xt, ws, m, cox, bufs, HX, curv):
    """``H x_j`` of the working features (cached in the rows of ``HX`` as far as it goes) and the
    model's coordinate curvatures ``curv = x_jᵀ H x_j``; ``W[5] = g`` (the model's gradient at Δ = 0)."""
    W, den, gbuf = bufs
    n = W.shape[1]
    for i in range(n):
        W[5, i] = W[2, i]
    if m <= HX.shape[0] and n * m <= _BATCH_ENTRIES:
        cox_hessian_columns(Xt, ws, m, cox, bufs, HX, curv)
        return
    for a in range(m):
        load_column(Xt, ws[a], W[6])
        hx = HX[a] if a < HX.shape[0] else W[7]
        cox_hessian_vector(W[6], hx, cox, W, den, gbuf)
        c = 0.0
        for i in range(n):
            c += W[6, i] * hx[i]
        curv[a] = c


@njit(**_JIT)
def cox_model_epoch(Xt, ws, m, cox, bufs, P, wn, HX, curv, full):
    """One pass of coordinate descent on the Newton model over ``ws[:m]`` (only the non-zero
    coordinates unless ``full``), ``W[5] = g + HXΔ`` kept current; returns the largest ``c_j|δ_j|``
    (about the coordinate's violation of the model's optimality conditions before its step)."""
    X, Xd, Xi, Xp, sparse = Xt
    W, den, gbuf = bufs
    n = W.shape[1]
    worst = 0.0
    moved = 0
    for a in range(m):
        c = curv[a]
        j = ws[a]
        if c <= 0.0 or not (full or wn[j] != 0.0):
            continue
        slope = col_dot(X, Xd, Xi, Xp, sparse, j, W[5], 0.0)
        old = wn[j]
        new = pen_prox(PEN_ENET, P, j, old - slope / c, 1.0 / c)
        delta = new - old
        if delta == 0.0:
            continue
        wn[j] = new
        if (old == 0.0) != (new == 0.0):
            moved += 1
        if a < HX.shape[0]:
            hx = HX[a]
        else:
            load_column(Xt, j, W[6])
            hx = W[7]
            cox_hessian_vector(W[6], hx, cox, W, den, gbuf)
        for i in range(n):
            W[5, i] += delta * hx[i]
        worst = max(worst, c * abs(delta))
    return worst, moved


@njit(**_JIT)
def cox_face_step(Xt, ws, m, bufs, P, wn, HX):
    """The exact minimiser of the Newton model over the orthant face of ``wn`` on the working set
    (:func:`face_minimize` on ``Q = X_SᵀHX_S + 2 diag(l2_S)``, ``H x_j`` from the cache ``HX``, which
    must hold every working feature); ``W[5]`` follows. For the flat directions where coordinate
    descent crawls (``p > n`` at small λ). Returns False when nothing was done (a box that is not a
    sign constraint, or a numerical failure)."""
    W = bufs[0]
    n = W.shape[1]
    pos = np.empty(m, dtype=np.int64)
    kinked = np.empty(m, dtype=np.bool_)
    k = 0
    for a in range(m):
        j = ws[a]
        lo, hi = P[ROW_LO, j], P[ROW_HI, j]
        if not ((lo == 0.0 or lo == -np.inf) and (hi == 0.0 or hi == np.inf)):
            return False
        kink = pen_kinked(PEN_ENET, P, j)
        if wn[j] != 0.0 or not kink:
            pos[k] = a
            kinked[k] = kink
            k += 1
    if k == 0:
        return False
    XS = np.empty((k, n))
    HS = np.empty((k, n))
    for t in range(k):
        load_column(Xt, ws[pos[t]], XS[t])
        HS[t] = HX[pos[t]]
    Q = HS @ XS.T
    rhs = np.empty(k)
    values = np.empty(k)
    for t in range(k):
        j = ws[pos[t]]
        x = wn[j]
        values[t] = x
        rhs[t] = np.dot(XS[t], W[5]) + 2.0 * P[1, j] * x + (0.0 if x == 0.0 else (P[0, j] if x > 0.0 else -P[0, j]))
        for u in range(t):
            Q[t, u] = Q[u, t] = 0.5 * (Q[t, u] + Q[u, t])
        Q[t, t] += 2.0 * P[1, j]
    if face_minimize(Q, rhs, values, kinked[:k], 4) == 0:
        return False
    for t in range(k):
        a = pos[t]
        delta = values[t] - wn[ws[a]]
        if delta != 0.0:
            wn[ws[a]] = values[t]
            for i in range(n):
                W[5, i] += delta * HX[a, i]
    return True


@njit(**_JIT)
def cox_model_cd(Xt, ws, m, cox, bufs, P, w, wn, HX, curv, fresh, tol, max_epochs):
    """Coordinate descent on the exact Newton model over the working set ``ws[:m]``:
    ``gᵀXΔ + ½ ΔᵀXᵀHXΔ + pen(w + Δ)``, ``wn`` the new coefficients (``w`` on entry); then
    ``W[4] = XΔ``. Unless ``fresh``, the Hessian is the last model's (``HX`` and ``curv`` kept: the
    same working set, a point a full step away that moved ``η`` by at most ``_CHORD``: a chord step, with
    the gradient of the new point).
    Full passes alternate with passes over the non-zero coordinates (glmnet's active cycling);
    stops after a full pass whose largest ``c_j|δ_j|`` times ``‖w‖₁``, and its square over
    ``max c_j``, are at most ``tol``. Returns the passes."""
    X, Xd, Xi, Xp, sparse = Xt
    W = bufs[0]
    if fresh:
        cox_model_setup(Xt, ws, m, cox, bufs, HX, curv)
    else:
        W[5, :] = W[2]
    curv_max = max(curv[:m].max(), _TINY) if m > 0 else 1.0
    epochs = 0
    full = True
    faces = 0
    while epochs < max_epochs:
        epochs += 1
        worst, moved = cox_model_epoch(Xt, ws, m, cox, bufs, P, wn, HX, curv, full)
        norm1 = 0.0
        for a in range(m):
            norm1 += abs(wn[ws[a]])
        # the model's KKT violation (≈ c_j|δ_j|) times ‖w‖₁ bounds what is left of its decrease to
        # first order; where ‖w‖₁ is small, the decrease of the steps (c_j δ_j²)
        if worst * norm1 <= tol and worst * worst <= tol * curv_max:
            if full:
                break
            full = True
        else:
            full = False
            # slow and the support settled: the exact minimiser on its face
            if epochs >= _FACE_AFTER * (faces + 1) and moved == 0 and m <= HX.shape[0] and faces < 2:
                faces += 1
                cox_face_step(Xt, ws, m, bufs, P, wn, HX)
    W[4, :] = 0.0
    for a in range(m):
        j = ws[a]
        if wn[j] != w[j]:
            col_axpy(X, Xd, Xi, Xp, sparse, j, wn[j] - w[j], W[4], 0.0)
    return epochs


@njit(**_JIT)
def cox_line_search(eta, w, wn, objective, cox, bufs, P):
    """Backtracking (Armijo, with a slack at the objective's rounding) from ``(w, eta)`` along
    ``(wn − w, W[4])``; updates ``w`` and ``eta``. Returns ``(objective, step, decrease)``."""
    W, den, gbuf = bufs
    n = eta.shape[0]
    decrease = enet_value(wn, P) - enet_value(w, P)
    for i in range(n):
        decrease += W[2, i] * W[4, i]
    rounding = _ROUND * max(abs(objective), 1.0)
    step = 1.0
    while True:
        for i in range(n):
            W[7, i] = eta[i] + step * W[4, i]
        f = cox_risk_sums(W[7], cox, W, den, gbuf)
        pen = 0.0
        for j in range(w.shape[0]):
            x = w[j] + step * (wn[j] - w[j])
            if x != 0.0:
                pen += P[0, j] * abs(x) + P[1, j] * x * x
        f += pen
        if f <= objective + 1e-4 * step * min(decrease, 0.0) + rounding or step < 1e-10:
            break
        step *= 0.5
    for j in range(w.shape[0]):
        w[j] = w[j] + step * (wn[j] - w[j])
    for i in range(n):
        eta[i] = W[7, i]
    return f, step, decrease


@njit(**_JIT)
def cox_working_set(w, grad, P, inws, ws):
    """Adds to ``inws`` every non-zero or KKT-violating feature (beyond the gradient's rounding);
    lists them in ``ws``; returns how many, and how many were added."""
    m = 0
    added = 0
    for j in range(w.shape[0]):
        # (a violation at the rounding of the gradient, as at λ_max, is none)
        if not inws[j] and (w[j] != 0.0 or pen_violation(PEN_ENET, P, j, w[j], grad[j])
                            > 1e-12 * (abs(grad[j]) + P[0, j])):
            inws[j] = True
            added += 1
        if inws[j]:
            ws[m] = j
            m += 1
    return m, added


@njit(**_JIT)
def cox_model_decrease(w, wn, P, W):
    """What the Newton model promises: ``−(gᵀd + ½ dᵀHd + pen(w') − pen(w))``, ``d = W[4]``,
    ``Hd = W[5] − W[2]``."""
    change = enet_value(wn, P) - enet_value(w, P)
    for i in range(W.shape[1]):
        change += W[4, i] * (W[2, i] + 0.5 * (W[5, i] - W[2, i]))
    return -change


@njit(**_JIT)
def cox_workspace(Xt, n, terms, times, hx_rows):
    """The buffers of :func:`cox_solve`: ``(W, den, gbuf, HX, grad, wn, ws, inws, curv, screen)``,
    ``screen = (g_ref, grad_ref, ‖x_j‖, state)`` for :func:`cox_screened_gradient`."""
    p = Xt[3].shape[0] - 1 if Xt[4] else Xt[0].shape[1]
    norms = np.empty(p)
    col = np.empty(n)
    for j in range(p):
        load_column(Xt, j, col)
        norms[j] = np.sqrt(np.dot(col, col))
    screen = (np.empty(n), np.empty(p), norms, np.zeros(1))
    return (np.empty((8, n)), np.empty(2 * terms), np.empty((4, times)), np.empty((hx_rows, n)), np.empty(p),
            np.empty(p), np.empty(p, dtype=np.int64), np.zeros(p, dtype=np.bool_), np.empty(p), screen)


@njit(**_JIT)
def cox_screened_gradient(Xt, g, w, P, inws, grad, screen):
    """``grad = Xᵀg`` where it can matter: for the working and non-zero features, and for a zero
    one unless ``|grad_ref_j| + ‖x_j‖·‖g − g_ref‖ < l1_j`` proves it satisfies its KKT condition
    (then ``grad_j`` keeps ``grad_ref_j``, which does too). The reference (``g_ref``, ``grad_ref``)
    is the last full gradient; it is renewed when over half the features need computing."""
    X, Xd, Xi, Xp, sparse = Xt
    g_ref, grad_ref, norms, state = screen
    p = grad.shape[0]
    radius = np.inf
    if state[0] > 0.0:
        acc = 0.0
        for i in range(g.shape[0]):
            acc += (g[i] - g_ref[i]) * (g[i] - g_ref[i])
        radius = np.sqrt(acc) * (1.0 + 1e-12)
    computed = 0
    for j in range(p):
        if inws[j] or w[j] != 0.0 or not abs(grad_ref[j]) + norms[j] * radius < P[0, j] * (1.0 - 1e-12):
            computed += 1
    if 2 * computed > p:
        for j in range(p):
            grad[j] = col_dot(X, Xd, Xi, Xp, sparse, j, g, 0.0)
            grad_ref[j] = grad[j]
        g_ref[:] = g
        state[0] = 1.0
        return
    for j in range(p):
        if inws[j] or w[j] != 0.0 or not abs(grad_ref[j]) + norms[j] * radius < P[0, j] * (1.0 - 1e-12):
            grad[j] = col_dot(X, Xd, Xi, Xp, sparse, j, g, 0.0)
        else:
            grad[j] = grad_ref[j]


@njit(**_JIT)
def cox_solve(Xt, cox, P, w, eta, ctrl, work, stats):
    """Proximal Newton on ``L(Xw + offset) + Σ_j l1_j|w_j| + l2_j w_j²`` (within the box rows of
    ``P``) from ``(w, eta = Xw + offset)``, both updated in place.

    ``ctrl = (total, threshold, max_iter, max_epochs, inner_factor, HX rows, …)``. Each step solves
    the exact Newton model over the working set (every non-zero or KKT-violating feature of the full
    gradient), then searches along it. The certificate is the decrease the last model promised (the
    Newton decrement: an estimate of the suboptimality of the point it started from, second order
    in its KKT violation); the loop stops when it is at most ``threshold`` (or the objective's
    rounding) and the full gradient at the new point adds no feature to the working set, or with
    ``w = 0`` satisfying the KKT conditions exactly (certificate 0). ``stats`` receives
    ``(steps, certificate, objective, converged, epochs, data fit)``."""
    X, Xd, Xi, Xp, sparse = Xt
    W, den, gbuf, HX, grad, wn, ws, inws, curv, screen = work
    bufs = (W, den, gbuf)
    threshold, max_iter, max_epochs = ctrl[1], int(ctrl[2]), int(ctrl[3])
    inws[:] = False
    objective = cox_risk_sums(eta, cox, W, den, gbuf) + enet_value(w, P)
    epochs, it, m, step, moved = 0, 0, 0, 0.0, np.inf
    promised, converged = np.inf, False
    while True:
        cox_derivatives(eta, cox, W, den, gbuf)
        cox_screened_gradient(Xt, W[2], w, P, inws, grad, screen)
        m, added = cox_working_set(w, grad, P, inws, ws)
        limit = max(threshold, _ROUND * max(abs(objective), 1.0))
        if m == 0 or (added == 0 and promised <= limit):
            converged = True
            break
        if it >= max_iter:
            break
        wn[:] = w
        # the last Hessian serves again where the last step changed η by ≤ _CHORD (H moves with e^η)
        fresh = it == 0 or added > 0 or step < 1.0 or moved > _CHORD
        epochs += cox_model_cd(Xt, ws, m, cox, bufs, P, w, wn, HX, curv, fresh, ctrl[4] * limit, max_epochs)
        promised = max(cox_model_decrease(w, wn, P, W), 0.0)
        moved = np.abs(W[4]).max()
        it += 1
        new_objective, step, decrease = cox_line_search(eta, w, wn, objective, cox, bufs, P)
        if new_objective >= objective and step < 1e-9:  # no progress: the model is below rounding
            converged = promised <= limit
            break
        objective = min(objective, new_objective)
    stats[0] = it
    stats[1] = 0.0 if m == 0 else promised
    stats[2] = objective
    stats[3] = 1.0 if converged else 0.0
    stats[4] = epochs
    stats[5] = objective - enet_value(w, P)


@njit(**_JIT)
def cox_enet_fit(X, Xd, Xi, Xp, sparse, order, grp, tg, SE, TW, P, w, eta, ctrl, stats):
    """One fit by :func:`cox_solve` (``stats`` of length 6)."""
    n = eta.shape[0]
    work = cox_workspace((X, Xd, Xi, Xp, sparse), n, tg.shape[0], grp[n - 1] + 1, int(ctrl[5]))
    cox_solve((X, Xd, Xi, Xp, sparse), (order, grp, tg, SE, TW, ctrl[0]), P, w, eta, ctrl, work, stats)


@njit(**_JIT)
def cox_enet_path(X, Xd, Xi, Xp, sparse, order, grp, tg, SE, TW, P, eta, ctrl, coefs, stats):
    """The path of :func:`cox_solve` over ``λ_k = ctrl[6 + k]`` (``coefs`` has one row per λ):
    the penalty ``λ_k·P`` (rows 0–1; the box rows as given), warm-started from ``w = 0`` at
    ``eta`` (the offset) and then from each solution; ``stats[k]`` are the fit's."""
    n, p = eta.shape[0], coefs.shape[1]
    Xt = (X, Xd, Xi, Xp, sparse)
    work = cox_workspace(Xt, n, tg.shape[0], grp[n - 1] + 1, int(ctrl[5]))
    cox = (order, grp, tg, SE, TW, ctrl[0])
    Pk = P.copy()
    w = np.zeros(p)
    for k in range(coefs.shape[0]):
        lam = ctrl[6 + k]
        for j in range(p):
            Pk[0, j] = lam * P[0, j]
            Pk[1, j] = lam * P[1, j]
        cox_solve(Xt, cox, Pk, w, eta, ctrl, work, stats[k])
        coefs[k] = w
