"""Proximal Newton for the multinomial log-loss with an elementwise penalty (L1, L2, L1L2).

:func:`solve_hybrid` (what :func:`.coordinate_descent.solve` runs for this problem) first takes
joint proximal Newton steps on all classes (:mod:`.multinomial_newton`) where the working set is
small, then the block solver's steps; if those have not converged after :data:`BLOCK_FIRST`
epochs it switches to Newton steps (joint, or the class-wise ones below), and back to block
steps for the last digits if Newton stalls at rounding.

The block solver (:mod:`.blocks`) steps with the Böhning bound ``½ I`` on the Hessian of the
cross-entropy: safe, but where the fitted probabilities are near 0 or 1 (small λ, separable
classes) the true curvature ``p(1 − p)`` is far below ``½`` and those steps crawl (a gap of
1.5e-2 after 20,000 epochs at λ = 2.5e-5). Here, as in glmnet, each outer iteration cycles
over the classes; for class ``k``, with the other classes fixed, the loss as a function of
``z_k = X w_k + b_k`` has the *diagonal* Hessian ``diag(a_i p_ik (1 − p_ik))``, so its
second-order model is the weighted least-squares problem

    ½ Σ_i h_i (t_i − x_iᵀw − b)² + penalty(w),   h_i = a_i p_ik (1 − p_ik),
    t_i = z_ik − a_i (p_ik − y_ik) / h_i,

solved by the coordinate-descent solver of :mod:`.coordinate_descent` (working sets, warm
started at ``w_k``), followed by a backtracking line search on the true objective (Armijo
with the model's decrease, Lee, Sun & Saunders 2014). The outer loop stops on the same
certificate as the block solver (:func:`.blocks.certify_blocks`: the duality gap, ≤
``tol · L(0)``), so the two solvers answer the same question.
"""

from __future__ import annotations

import numpy as np

from .multinomial_newton import _objective, _penalty, _scores
from .results import _ROUNDING_FLOOR, SolverPlan, SolverResult

BLOCK_FIRST = 300  # block epochs before Newton steps take over
STALL_CYCLES = 20  # cycles without halving the certificate: Newton stops
MIN_CURVATURE = 1e-10  # p(1 − p) floor: a probability at 0 or 1 still gives a finite model
ARMIJO = 1e-4
MAX_HALVINGS = 30


class _Given:
    """A kernel penalty passed where :func:`.coordinate_descent.solve` expects a penalty."""

    def __init__(self, kp):
        self.kp = kp

    def kernel(self, n_features, bounds=None):
        return self.kp


def applies(problem, kp):
    """Whether this solver handles the problem: the multinomial loss, an elementwise convex
    penalty without bounds (group penalties across the classes go to the block solver)."""
    return (problem.datafit.code == problem.kernels.MULTINOMIAL and kp.groups is None and kp.convex
            and kp.code == 0 and not kp.bounded)


def _recentre(W, kp):
    """Shift every row ``W_j·`` by the ``c_j`` that minimises its penalty ``Σ_k l1|w_jk − c| +
    l2 (w_jk − c)²``: the loss does not change (softmax is invariant to adding ``c_j x_ij`` to
    every class's score), so the objective does not increase. Class-by-class steps cannot move
    along this flat direction but by tiny increments (the stall at small λ): glmnet recentres too.
    """
    K = W.shape[1]
    l1, l2 = kp.params[0][:, None], kp.params[1][:, None]
    below = np.arange(K + 1)[None, :]  # how many w_jk lie below c: the stationary point of that piece
    with np.errstate(divide="ignore", invalid="ignore"):
        stationary = W.mean(1, keepdims=True) + l1 * (K - 2 * below) / (2 * l2 * K)
    candidates = np.concatenate([W, np.where(np.isfinite(stationary), stationary, 0.0)], axis=1)
    diff = W[:, None, :] - candidates[:, :, None]  # (p, candidates, K)
    cost = l1 * np.abs(diff).sum(2) + l2 * (diff * diff).sum(2)
    best = candidates[np.arange(W.shape[0]), np.argmin(cost, axis=1)]
    # only where it lowers the penalty (ties and zero rows stay as they are)
    keep = cost.min(1) < l1[:, 0] * np.abs(W).sum(1) + l2[:, 0] * (W * W).sum(1)
    return W - np.where(keep, best, 0.0)[:, None]


def _class_model(problem, Y, Z, k):
    """The weighted least-squares problem of class ``k``, its gradient in ``z_k`` and the factor
    ``2/Σh``: build() normalises the weights to sum 1, so the model ``½ Σ h (t − z)² + pen``
    is ``Σh/2`` times ``Σ a'(t − z)² + (2/Σh)·pen`` (the same minimiser)."""
    from ..datafits import SquaredError
    from .problem import LinearProblem

    top = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - top)
    P = E / E.sum(1, keepdims=True)
    pk = P[:, k]
    curv = np.maximum(pk * (1.0 - pk), MIN_CURVATURE)
    h = problem.a * curv
    target = Z[:, k] - (pk - Y[:, k]) / curv
    if problem.offset is not None:
        target = target - problem.offset[:, k]
    model = LinearProblem.build(problem.X, target, SquaredError(), sample_weight=h,
                                fit_intercept=problem.fit_intercept, kernels=problem.kernels.mode)
    return model, problem.a * (pk - Y[:, k]), 2.0 / float(h.sum())


def _scaled(kp, factor):
    """``kp`` with its strengths times ``factor`` (the box rows unchanged)."""
    from dataclasses import replace

    P = kp.params.copy()
    P[:2] *= factor
    return replace(kp, params=P)


def solve_multinomial(problem, kp, solve, *, coef_init=None, intercept_init=None, tol=1e-4, max_iter=1000,
                      working_set="auto", **_ignored):
    """Minimise ``Σ a_i CE(y_i, W x_i + b) + penalty(W)``; returns a :class:`SolverResult`
    (``max_iter`` counts the inner coordinate-descent epochs, as the other solvers do). ``solve`` is
    :func:`.coordinate_descent.solve` (passed in: that module dispatches here), run on each class's
    weighted least-squares model."""
    from .blocks import block_penalty, certify_blocks

    n, p = problem.n_samples, problem.n_features
    Y = np.ascontiguousarray(problem.y.reshape(n, -1))
    K = Y.shape[1]
    W = np.zeros((p, K)) if coef_init is None else np.array(
        np.asarray(coef_init, dtype=np.float64).reshape(K, p).T, order="C")
    if problem.fit_intercept:
        b = np.array(np.broadcast_to(problem.null_intercept if intercept_init is None else intercept_init, (K,)),
                     dtype=np.float64)
    else:
        b = np.zeros(K)
    bkp = block_penalty(kp, p)
    scale = float(problem.a @ (Y * Y).sum(1))
    threshold = max(tol * problem.null_loss, _ROUNDING_FLOOR * scale)
    epochs, newton_steps = 0, 0
    Z = _scores(problem, W, b)
    objective = _objective(problem, Y, Z, W, kp)
    last_drop = np.inf
    best, since_best = np.inf, 0  # a stall (a flat subspace: collinear features) hands back to the caller
    while True:
        cert = certify_blocks(problem, bkp, W.T, b if problem.fit_intercept else 0.0)
        certificate = cert.finite_value()
        if certificate <= threshold or epochs >= max_iter:
            break
        if certificate < 0.5 * best:
            best, since_best = certificate, 0
        else:
            since_best += 1
            if since_best >= STALL_CYCLES:
                break
        progress = False
        cycle_start = objective
        for k in range(K):
            model, grad, factor = _class_model(problem, Y, Z, k)
            # on our scale: a fraction of the certificate, and of the last cycle's progress (at small
            # λ the certificate is loose, and inner solves that stop at it make no progress)
            wanted = max(0.1 * min(certificate, cert.objective, last_drop) / K, 1e-3 * threshold / K)
            inner_tol = wanted * factor / max(model.null_loss, np.finfo(float).tiny)
            inner = solve(model, _Given(_scaled(kp, factor)), coef_init=W[:, k], intercept_init=float(b[k]),
                          tol=max(inner_tol, 1e-15), max_iter=max(max_iter - epochs, 1), working_set=working_set)
            epochs += max(int(inner.n_iter), 1)
            dw, db = inner.coef - W[:, k], (float(inner.intercept) - b[k]) if problem.fit_intercept else 0.0
            dz = np.asarray(problem.X @ dw) + db
            old_pen = _penalty(kp, W[:, k:k + 1])
            new_pen = _penalty(kp, inner.coef[:, None])
            decrease = float(grad @ dz) + new_pen - old_pen  # the model's first-order decrease (≤ 0)
            if not decrease < 0:
                continue
            t = 1.0
            for _ in range(MAX_HALVINGS):
                Zt = Z.copy()
                Zt[:, k] += t * dz
                Wt = W.copy()
                Wt[:, k] += t * dw
                trial = _objective(problem, Y, Zt, Wt, kp)
                if trial <= objective + ARMIJO * t * decrease:
                    break
                t *= 0.5
            else:
                continue
            W, Z, objective = Wt, Zt, trial
            b[k] += t * db
            newton_steps += 1
            progress = True
        W = _recentre(W, kp)
        if problem.fit_intercept:
            b -= b.mean()
        Z = _scores(problem, W, b)
        last_drop, objective = cycle_start - _objective(problem, Y, Z, W, kp), _objective(problem, Y, Z, W, kp)
        if not progress:  # no class can improve: the certificate is as good as rounding allows
            cert = certify_blocks(problem, bkp, W.T, b if problem.fit_intercept else 0.0)
            certificate = cert.value
            break
    plan = SolverPlan(datafit=problem.datafit.name or type(problem.datafit).__name__, penalty=kp.name,
                      method="proximal Newton per class (true curvature p(1−p)), coordinate descent inside, "
                             "line search", working_sets=str(working_set), gram=False, anderson_k=0,
                      support_steps=False, screening=False, certificate="duality gap",
                      reasons=("multinomial with an elementwise penalty: glmnet's class-wise Newton steps",))
    return SolverResult(coef=W.T.copy(), intercept=b.copy(), certificate=float(certificate),
                        threshold=float(threshold), n_iter=int(epochs), converged=bool(certificate <= threshold),
                        objective=float(cert.objective), support_steps=newton_steps, plan=plan)


def _merge(first, second, epochs):
    from dataclasses import replace

    plan = second.plan
    if first is not None and first.plan is not None and plan is not None:
        plan = replace(plan, method=f"{first.plan.method}, then {plan.method}",
                       reasons=first.plan.reasons + plan.reasons)
    return replace(second, n_iter=int(epochs), plan=plan,
                   support_steps=second.support_steps + (first.support_steps if first is not None else 0))


def solve_hybrid(problem, kp, solve_blocks, solve, *, coef_init=None, intercept_init=None, tol=1e-4,
                 max_iter=1000, **options):
    """With an L1 part, where the working set times the classes is small (:func:`.multinomial_newton.applies`), joint
    proximal Newton steps on the true block Hessian first (:mod:`.multinomial_newton`: few steps
    per point of a path, and they converge on collinear features at small λ, where the others
    stall). Then, if not converged, block steps for :data:`BLOCK_FIRST` epochs; then the joint
    steps if they were not tried, else (or if those stop short) class-wise Newton steps
    (:func:`solve_multinomial`); if those stall above the tolerance, block steps again with what
    is left of ``max_iter``."""
    from . import multinomial_newton

    K = np.asarray(problem.y).reshape(problem.n_samples, -1).shape[1]
    first = np.zeros((K, problem.n_features)) if coef_init is None else np.asarray(coef_init).reshape(K, -1)
    joint = None
    # a small working set with an L1 part: the exact Hessian first (a smooth L2-only model keeps the
    # block steps first: their last digits make weighted and repeated fits agree beyond tol)
    if np.any(kp.params[0] > 0) and multinomial_newton.applies(problem, kp, first):
        b0 = problem.null_intercept if intercept_init is None else intercept_init
        joint = multinomial_newton.solve_joint_newton(problem, kp, coef_init=first, intercept_init=b0, tol=tol,
                                                      max_iter=max_iter)
        if joint.converged or joint.n_iter >= max_iter:
            return joint
        coef_init, intercept_init = joint.coef, joint.intercept
    start = solve_blocks(problem, kp, coef_init=coef_init, intercept_init=intercept_init, tol=tol,
                         max_iter=min(max_iter - (joint.n_iter if joint else 0), BLOCK_FIRST), **options)
    if joint is not None:
        start = _merge(joint, start, joint.n_iter + start.n_iter)
    if start.converged or start.n_iter >= max_iter:
        return start
    epochs = start.n_iter
    if joint is None and multinomial_newton.applies(problem, kp, start.coef):
        joint = multinomial_newton.solve_joint_newton(problem, kp, coef_init=start.coef,
                                                      intercept_init=start.intercept, tol=tol,
                                                      max_iter=max_iter - epochs)
        epochs += joint.n_iter
        merged = _merge(start, joint, epochs)
        if joint.converged or epochs >= max_iter:
            return merged
        start = merged
    newton = solve_multinomial(problem, kp, solve, coef_init=start.coef, intercept_init=start.intercept, tol=tol,
                               max_iter=max_iter - epochs, working_set=options.get("working_set", "auto"))
    epochs += newton.n_iter
    if newton.converged or epochs >= max_iter:
        return _merge(start, newton, epochs)
    finish = solve_blocks(problem, kp, coef_init=newton.coef, intercept_init=newton.intercept, tol=tol,
                          max_iter=max_iter - epochs, **options)
    best = finish if finish.certificate <= newton.certificate else newton
    return _merge(start, best, epochs + finish.n_iter)
