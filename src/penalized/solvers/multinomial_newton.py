"""Proximal Newton for the multinomial log-loss on all classes at once (the true block Hessian).

Where the problem restricted to a working set is small (:data:`MAX_COORDS` coordinates), this is
the multinomial's first solver (:func:`.multinomial.solve_hybrid`). Each outer iteration builds
the exact second-order model of ``L_data = Σ_i a_i CE(y_i, W x_i + b)`` at the current ``(W, b)``,

    f + gᵀd + ½ dᵀHd,   H = Σ_i a_i J_iᵀ (diag(p_i) − p_i p_iᵀ) J_i,

over the coefficients of the working-set features and the intercepts (``J_i`` maps them to the
scores ``z_i``; ``p_i`` the softmax probabilities), cross-class terms included. The model plus the
penalty is minimised by coordinate descent on ``H`` (:func:`._kernels.gram_solve`: O(size) per
step, exact steps on a stable support), then a backtracking line search on the true objective
(Armijo with the proximal-Newton decrease ``gᵀd + pen(w + d) − pen(w)``; Lee, Sun & Saunders
2014). Unlike class-by-class steps (:mod:`.multinomial`) the model sees how classes trade off,
and unlike the bound ``½`` it sees the true curvature ``p(1 − p)``: on collinear features at
small λ (flat directions) the iterations converge where the others stall.

The model is written as the weighted least squares the Gram kernel takes: with
``t_i = (p_i − y_i) / p_i`` (``H_i t_i = p_i − y_i``: the residual sums to 0 over the classes),
``½ Σ a_i (z_i(v) − τ_i)ᵀ H_i (z_i(v) − τ_i)``, ``τ_i = z_i(u) − t_i``: ``G = H/2``,
``c = (Hu − g)/2``, ``yy = ½ Σ a_i τ_iᵀ H_i τ_i``.

Along a path the Hessian is kept (on the problem) while the steps taken with it gain a factor
:data:`REUSE_GAIN` on the certificate, and rebuilt otherwise (or when the working set changes,
or a kept one yields no descent): any PSD model whose range holds the gradient gives a descent
direction, and the line search keeps every step monotone. The outer loop stops on the block
certificate (:func:`.blocks.certify_blocks`: the duality gap, ≤ ``tol·L(0)``) over every
feature; working-set features are added where the gradient violates their optimality conditions.
"""

from __future__ import annotations

import numpy as np

from .results import _ROUNDING_FLOOR, SolverPlan, SolverResult

MAX_COORDS = 600  # (working-set features + 1) × classes: larger models go to the class-wise steps
MAX_DESIGN = 1 << 24  # samples × (working-set features + 1): the dense copy of those columns (128 MB)
ARMIJO = 1e-4
MAX_HALVINGS = 40
STALL_STEPS = 25  # Newton steps without halving the certificate: stop (rounding)
MIN_PROB = 1e-300
GRAM_EPOCHS = 10_000  # coordinate-descent epochs on a model's Gram matrix (O(size²) each), at most
REUSE_GAIN = 0.25  # a kept Hessian is rebuilt once a step with it gains less than this factor


def applies(problem, kp, coef):
    """Whether the joint model is small enough at ``coef`` (K, p): its working set times classes."""
    K = coef.shape[0]
    size = min(2 * (int(np.count_nonzero(np.abs(coef).sum(0))) + 1), problem.n_features) + 1
    return problem.datafit.code == problem.kernels.MULTINOMIAL and kp.groups is None and kp.code == 0 \
        and not kp.bounded and size * K <= MAX_COORDS and problem.n_samples * size <= MAX_DESIGN


def _scores(problem, W, b):
    Z = np.asarray(problem.X @ W) + b
    if problem.offset is not None:
        Z += problem.offset
    return Z


def _objective(problem, Y, Z, W, kp):
    top = Z.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(Z - top).sum(1))
    loss = float(problem.a @ (lse - (Y * Z).sum(1)))
    return loss + _penalty(kp, W)


def _penalty(kp, W):
    l1, l2 = kp.params[0], kp.params[1]  # per feature: l1_j |w| + l2_j w² (the kernels' convention)
    return float(l1 @ np.abs(W).sum(1) + l2 @ (W * W).sum(1))


def _probabilities(Z):
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    return P


def _design(problem, S):
    """``[X_S, 1]`` (dense, n × (|S| + intercept))."""
    X = problem.X[:, S]
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)
    if problem.fit_intercept:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    return X


def _hessian(problem, Xs, P):
    """``H/2`` (Fortran-ordered) on the coordinates (feature-major: index ``col·K + k``)."""
    a = problem.a
    K = P.shape[1]
    m = Xs.shape[1]
    H = np.empty((m, K, m, K))
    for k in range(K):
        for q in range(k, K):
            h = (0.5 * a) * (P[:, k] * ((k == q) - P[:, q]))
            block = (Xs * h[:, None]).T @ Xs
            H[:, k, :, q] = block
            H[:, q, :, k] = block.T
    return np.asfortranarray(H.reshape(m * K, m * K))


def _model(problem, Xs, P, Y, Zlin, u, G, Ph):
    """``(c, yy, g)`` of the Newton model on the coordinates ``u`` with ``G = H/2``, the Hessian at
    the probabilities ``Ph`` (the current ``P``, or those of an earlier step whose Hessian is
    reused: any PSD ``H`` whose range holds ``g`` gives a model whose minimiser is a descent
    direction); see the module docstring."""
    a = problem.a
    R = P - Y
    g = (Xs.T @ (a[:, None] * R)).ravel()
    c = G @ u - 0.5 * g
    # ½ Σ a τᵀH_iτ with τ = Zlin − t, H_i t_i = r_i for t_i = r_i / Ph_i (Σ_k r_ik = 0)
    HZ = Ph * Zlin - Ph * (Ph * Zlin).sum(1, keepdims=True)
    yy = 0.5 * float(a @ ((Zlin * HZ).sum(1) - 2.0 * (Zlin * R).sum(1) + (R * R / np.maximum(Ph, MIN_PROB)).sum(1)))
    return c, yy, g


def _kernel_params(kp, S, K, fit_intercept):
    """The penalty rows for the coordinates (each feature's ``l1, l2`` repeated over the classes;
    the intercepts unpenalized)."""
    P = np.repeat(kp.params[:, S], K, axis=1)
    if fit_intercept:
        free = np.zeros((kp.params.shape[0], K))
        free[2], free[3] = -np.inf, np.inf  # the box rows (ROW_LO, ROW_HI): unbounded
        P = np.hstack([P, free])
    return np.ascontiguousarray(P)


def _working_set(W, G, kp, current):
    """Non-zero rows, the current set, and the features whose gradient violates their optimality
    conditions at zero most (up to as many again)."""
    nonzero = np.abs(W).sum(1) > 0
    keep = nonzero | current
    l1 = kp.params[0]
    violation = np.where(keep, -np.inf, (np.maximum(np.abs(G) - l1[:, None], 0.0)).max(1))
    room = max(10, int(keep.sum()))
    order = np.argsort(-violation)[:room]
    keep[order[violation[order] > 0]] = True
    return keep


def solve_joint_newton(problem, kp, *, coef_init, intercept_init, tol=1e-4, max_iter=1000, **_ignored):
    """Minimise ``Σ a_i CE(y_i, W x_i + b) + penalty(W)`` (an elementwise elastic net) by joint
    proximal Newton steps; returns a :class:`SolverResult` (``n_iter``: the Newton steps, each a
    few passes over the data; ``max_iter`` bounds them)."""
    from .blocks import block_penalty, certify_blocks

    k = problem.kernels
    n, p = problem.n_samples, problem.n_features
    Y = np.ascontiguousarray(problem.y.reshape(n, -1))
    K = Y.shape[1]
    W = np.array(np.asarray(coef_init, dtype=np.float64).reshape(K, p).T, order="C")
    b = np.array(np.broadcast_to(intercept_init if problem.fit_intercept else 0.0, (K,)), dtype=np.float64)
    bkp = block_penalty(kp, p)
    threshold = max(tol * problem.null_loss, _ROUNDING_FLOOR * float(problem.a @ (Y * Y).sum(1)))
    params = np.zeros(k.N_PARAMS)
    params[k.P_SUPPORT_COST] = 1.0
    params[k.P_FACE_SOLVES] = 4
    current = np.zeros(p, dtype=bool)
    # the Hessian (its working set, H/2, the probabilities it was taken at, the certificate of the
    # last step that used it) is kept along a path (the points' models differ little) while each
    # step with it gains a factor REUSE_GAIN on the certificate
    cache = problem.__dict__.setdefault("_joint_newton", {})
    stored = cache.get("hessian")
    if stored is not None and stored[2].shape != (n, K):
        stored = None
    if stored is not None:
        stored = stored[:3] + (np.inf,)
    epochs, steps, best, since_best = 0, 0, np.inf, 0
    while True:
        cert = certify_blocks(problem, bkp, W.T, b if problem.fit_intercept else 0.0)
        certificate = cert.finite_value()
        if certificate <= threshold or epochs >= max_iter:
            break
        best, since_best = (certificate, 0) if certificate < 0.5 * best else (best, since_best + 1)
        if since_best >= STALL_STEPS:
            break
        Z = _scores(problem, W, b)
        P = _probabilities(Z)
        if not current.all():
            Gfull = np.asarray(problem.X.T @ (problem.a[:, None] * (P - Y)))  # (uncentred: to rank violators)
            current = _working_set(W, Gfull, kp, current)
        S = np.flatnonzero(current)
        if (S.size + 1) * K > MAX_COORDS or n * (S.size + 1) > MAX_DESIGN:
            break
        Xs = _design(problem, S)
        u = np.concatenate([W[S].ravel(), b]) if problem.fit_intercept else W[S].ravel().copy()
        Zlin = Z - (problem.offset if problem.offset is not None else 0.0)
        key = S.tobytes()
        fresh = stored is None or stored[0] != key or not certificate < REUSE_GAIN * stored[3]
        if fresh:
            stored = (key, _hessian(problem, Xs, P), P, certificate)  # a new Hessian: the last one was slow
        else:
            stored = stored[:3] + (certificate,)
        G, Ph = stored[1], stored[2]
        c, yy, g = _model(problem, Xs, P, Y, Zlin, u, G, Ph)
        v = u.copy()
        gv = G @ v
        inner = max(0.1 * certificate, 0.1 * threshold)
        k.gram_solve(G, c, yy, v, gv, 0, _kernel_params(kp, S, K, problem.fit_intercept), inner, GRAM_EPOCHS, 64,
                     params)
        epochs += 1  # a Newton step: a few passes over the data (the CD epochs on G do not touch X)
        d = v - u
        dW = d[:S.size * K].reshape(S.size, K)
        db = d[S.size * K:] if problem.fit_intercept else np.zeros(K)
        dZ = Xs @ d.reshape(-1, K)
        Wn = W.copy()
        Wn[S] += dW
        objective = cert.objective
        pen_old = _penalty(kp, W)
        decrease = float(g @ d) + _penalty(kp, Wn) - pen_old
        # near the optimum the certificate is first-order in the step, the objective's decrease second-
        # order: steps whose decrease is below the objective's rounding are taken (as in .newton_blocks)
        rounding = 64 * np.finfo(np.float64).eps * max(abs(objective), 1.0)
        if not decrease < rounding:
            if not fresh:  # a kept Hessian: try the current one before concluding
                stored = None
                continue
            break  # the model sees no descent: optimal to rounding on this working set
        t = 1.0
        for _ in range(MAX_HALVINGS):
            Wt = W.copy()
            Wt[S] += t * dW
            trial = _objective(problem, Y, Z + t * dZ, Wt, kp)
            if trial <= objective + ARMIJO * t * min(decrease, 0.0) + rounding:
                break
            t *= 0.5
        else:
            if not fresh:
                stored = None
                continue
            break
        W, b, steps = Wt, b + t * db, steps + 1
        if problem.fit_intercept:
            b -= b.mean()
        cache["hessian"] = stored
    plan = SolverPlan(datafit=problem.datafit.name or type(problem.datafit).__name__, penalty=kp.name,
                      method="proximal Newton on all classes (true block Hessian), coordinate descent on its Gram "
                             "matrix, line search", working_sets="on", gram=True, anderson_k=0, support_steps=True,
                      screening=False, certificate="duality gap",
                      reasons=("multinomial where block steps stall: the exact Hessian of a small working set",))
    return SolverResult(coef=W.T.copy(), intercept=b.copy(), certificate=float(certificate),
                        threshold=float(threshold), n_iter=int(epochs), converged=bool(certificate <= threshold),
                        objective=float(cert.objective), support_steps=steps, plan=plan)
