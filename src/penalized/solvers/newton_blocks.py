"""Group penalties with an unbounded-curvature data fit (Poisson): proximal Newton over blocks.

The block solver (:mod:`.blocks`) steps with a bound on the loss's curvature, which Poisson does
not have (``ℓ'' = e^z``). Here, as for the multinomial (:mod:`.multinomial`) and the whole-vector
data fits (:mod:`penalized.glm.newton`), each outer iteration builds the second-order model of
``L_data = Σ a_i (e^{η_i} − y_i η_i)`` at ``η = Xw + b + offset``,

    ½ Σ_i h_i (t_i − x_iᵀw' − b')² + penalty(w'),    h_i = a_i μ_i,   t_i = η_i − offset_i − (μ_i − y_i)/μ_i,

(``μ = e^η``) and solves it with the block solver on the squared error (every group penalty it
takes: the group lasso, the sparse group lasso, their elastic-net variants), then searches along
the step by backtracking on the true objective (Armijo, with the proximal-Newton decrease
``gᵀΔη + pen(w') − pen(w)``; Lee, Sun & Saunders 2014).

**Certificate.** Before each check the intercept is set to its exact optimum for the current
``w`` (for Poisson a closed form: ``Σ a_i μ_i = Σ a_i y_i``), so the dual point
``θ = −α·a(μ − y)`` sums to zero and the Fenchel duality gap of the block kernels (``α``
rescaling ``θ`` into every group's dual ball, Poisson's conjugate) bounds the suboptimality of
the problem with its free intercept: the same certificate, ≤ ``tol·L(0)``, as the other solvers.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .results import _ROUNDING_FLOOR, Certificate, SolverPlan, SolverResult

ARMIJO = 1e-4
MAX_HALVINGS = 40
STALL_STEPS = 20  # Newton steps without halving the certificate: stop (rounding)

__all__ = ["solve_newton_blocks", "certify_newton_blocks"]


def _scaled(kp, factor):
    """``factor·penalty``: the elastic-net rows and the group strengths times ``factor``."""
    P = kp.params.copy()
    P[:2] *= factor
    return replace(kp, params=P, groups=replace(kp.groups, lam=kp.groups.lam * factor))


def _eta(problem, w, b):
    eta = np.asarray(problem.X @ w, dtype=np.float64).ravel() + b
    return eta if problem.offset is None else eta + problem.offset


def _exact_intercept(problem, w, b):
    """The intercept minimising the Poisson loss for fixed ``w``: ``Σ a e^η = Σ a y``."""
    if not problem.fit_intercept:
        return 0.0
    eta = _eta(problem, w, 0.0)
    top = float(eta.max())
    mass = float(problem.a @ problem.y)
    if not mass > 0:
        return b
    return float(np.log(mass) - top - np.log(problem.a @ np.exp(eta - top)))


def _loss(problem, eta):
    return float(problem.a @ (np.exp(eta) - problem.y * eta))


def _penalty(problem, kp, w):
    s = kp.groups
    return float(problem.kernels.block_penalty_value(np.ascontiguousarray(w[:, None]), kp.params, s.ptr, s.idx, s.lam))


def certify_newton_blocks(problem, kp, coef, intercept=0.0, given=False):
    """``(Certificate, b*)``: the duality gap at ``(coef, b*)``, ``b*`` the exact optimal intercept
    for ``coef`` (see the module docstring). With ``given``, the certificate of ``(coef,
    intercept)`` itself: that gap plus ``P(coef, intercept) − P(coef, b*) ≥ 0``."""
    from .blocks import block_penalty, group_lipschitz

    k = problem.kernels
    n, p = problem.n_samples, problem.n_features
    kp = block_penalty(kp, p)
    w = np.asarray(coef, dtype=np.float64).ravel()
    b_given = float(np.ravel(intercept)[0])
    if not problem.fit_intercept and b_given != 0.0:
        raise ValueError("the problem has no intercept but a non-zero intercept was given.")
    b = _exact_intercept(problem, w, b_given)
    eta = _eta(problem, w, b)
    Y = np.ascontiguousarray(problem.y.reshape(n, 1))
    Z = np.ascontiguousarray(eta[:, None])
    B = np.zeros(1)
    D = problem.a * (np.exp(eta) - problem.y)  # ∂L/∂η
    G = np.ascontiguousarray(np.asarray(problem.X.T @ D, dtype=np.float64).reshape(p, 1))
    s = kp.groups
    LG = group_lipschitz(problem, s)[0]
    W = np.ascontiguousarray(w[:, None])
    gap, stationarity = k.block_certificate(problem.datafit.code, Y, problem.a, Z, B, W, G, np.zeros(1), kp.params,
                                            s.ptr, s.idx, s.lam, LG, np.arange(s.n_groups), False)
    objective = _loss(problem, eta) + _penalty(problem, kp, w)
    value = float(gap + stationarity)
    if given and b_given != b:
        given_objective = _loss(problem, _eta(problem, w, b_given)) + _penalty(problem, kp, w)
        value += max(given_objective - objective, 0.0)
        objective = given_objective
    return Certificate(value=value, null_loss=float(problem.null_loss), objective=float(objective)), b


def _model(problem, w, b):
    """The weighted least-squares model at ``(w, b)`` and its factor ``2/Σh`` (build() normalises
    the weights: ``½Σh(t − z)² + pen = (Σh/2)·[Σ a'(t − z)² + (2/Σh)·pen]``)."""
    from ..datafits import SquaredError
    from .problem import LinearProblem

    eta = _eta(problem, w, b)
    mu = np.exp(eta)
    h = problem.a * mu
    t = eta - (mu - problem.y) / mu
    if problem.offset is not None:
        t = t - problem.offset
    model = LinearProblem.build(problem.X, t, SquaredError(), sample_weight=h, fit_intercept=problem.fit_intercept,
                                kernels=problem.kernels.mode)
    return model, eta, problem.a * (mu - problem.y), 2.0 / float(h.sum())


def solve_newton_blocks(problem, kp, solve_blocks, *, coef_init=None, intercept_init=None, tol=1e-4, max_iter=1000,
                        **_ignored):
    """Minimise ``Σ a_i (e^{η_i} − y_i η_i) + penalty(w)`` for a group penalty ``kp``; returns a
    :class:`SolverResult` (``max_iter`` counts the inner block epochs). ``solve_blocks`` is
    :func:`.blocks.solve_blocks` (passed in: that module dispatches here)."""
    from .blocks import block_penalty

    if problem.n_outputs != 1 or problem.datafit.code != problem.kernels.POISSON:
        raise ValueError(f"group penalties with the {problem.datafit.name} data fit and several outputs are not "
                         "supported.")
    p = problem.n_features
    kp = block_penalty(kp, p)
    w = np.zeros(p) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel()
    b = float(problem.null_intercept if intercept_init is None else intercept_init) if problem.fit_intercept else 0.0
    threshold = max(tol * problem.null_loss, _ROUNDING_FLOOR * float(problem.a @ (problem.y * problem.y)))
    epochs, steps, best, since_best = 0, 0, np.inf, 0
    while True:
        cert, b = certify_newton_blocks(problem, kp, w, b)
        certificate = cert.finite_value()
        if certificate <= threshold or epochs >= max_iter:
            break
        best, since_best = (certificate, 0) if certificate < 0.5 * best else (best, since_best + 1)
        if since_best >= STALL_STEPS:
            break
        model, eta, grad, factor = _model(problem, w, b)
        wanted = max(0.1 * certificate, 0.25 * threshold)
        inner = solve_blocks(model, _scaled(kp, factor), coef_init=w, intercept_init=b,
                             tol=max(wanted * factor / max(model.null_loss, np.finfo(float).tiny), 1e-15),
                             max_iter=max(max_iter - epochs, 1))
        epochs += max(int(inner.n_iter), 1)
        w_new = np.asarray(inner.coef, dtype=np.float64).ravel()
        dw, db = w_new - w, (float(inner.intercept) - b) if problem.fit_intercept else 0.0
        dz = np.asarray(problem.X @ dw, dtype=np.float64).ravel() + db
        pen = _penalty(problem, kp, w)
        objective = _loss(problem, eta) + pen
        decrease = float(grad @ dz) + _penalty(problem, kp, w_new) - pen
        # Near the optimum the certificate is first-order in the step, the objective's decrease
        # second-order: a step that fixes the last digits of the KKT conditions changes the objective
        # below its rounding error. Such steps are taken (the model's solution is trusted there).
        rounding = 64 * np.finfo(np.float64).eps * max(abs(objective), 1.0)
        if not decrease < rounding:
            break  # the model sees no descent: the point is optimal to rounding
        step = 1.0
        for _ in range(MAX_HALVINGS):
            w_t = w + step * dw
            trial = _loss(problem, eta + step * dz) + _penalty(problem, kp, w_t)
            if trial <= objective + ARMIJO * step * min(decrease, 0.0) + rounding:
                break
            step *= 0.5
        else:
            break
        w, b, steps = w_t, b + step * db, steps + 1
    plan = SolverPlan(datafit=problem.datafit.name or type(problem.datafit).__name__, penalty=kp.name,
                      method="proximal Newton (true curvature e^η), block coordinate descent inside, line search",
                      working_sets="inner", gram=False, anderson_k=0, support_steps=False, screening=False,
                      certificate="duality gap",
                      reasons=("group penalty with an unbounded-curvature data fit (Poisson)",))
    return SolverResult(coef=w, intercept=float(b), certificate=float(certificate), threshold=float(threshold),
                        n_iter=int(epochs), converged=bool(certificate <= threshold), objective=float(cert.objective),
                        support_steps=steps, plan=plan)
