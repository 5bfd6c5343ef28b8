"""The outer loop every whole-vector data fit reduces to: proximal Newton / IRLS.

At ``(w, b)`` with ``η = Xw + b + offset``, the data fit gives ``g = ∇_η L_data`` and weights
``h ≥ 0`` (:mod:`penalized.glm.base`). With ``H = Σ h_i``, ``a = h/H`` and working response
``z = η − offset − g/h``, the quadratic model of ``L_data`` is, up to a constant,

    (H/2) · Σ_i a_i (z_i − x_iᵀw' − b')²,

so one step solves the penalized weighted least-squares problem
``Σ a_i (z_i − x_iᵀw' − b')² + (2/H)·penalty(w')`` with the compiled squared-error solver (every
penalty it takes: L1, L2, L1L2, GroupL1, sums, MCP, SCAD, bounds), then searches along
``(w' − w, b' − b)`` by backtracking on the true objective (Armijo, with the proximal-Newton
decrease ``gᵀΔη + pen(w') − pen(w)``).

``(2/H)·penalty``: the convex penalties scale their strength (:meth:`Penalty.scaled`);
``c·MCP(λ, γ) = MCP(cλ, γ/c)``; SCAD is not closed under scaling but is homogeneous,
``SCAD_λ(tu) = t²·SCAD_{λ/t}(u)``, so the step solves for ``u = w/t`` on ``t·X`` with
``SCAD(λ√c)``, ``t = 1/√c`` (a scaled copy of ``X``).

**Certificate.** At the returned point the model is rebuilt around it; its gradient there is the
true one, so the model's own certificate (the duality gap of the weighted least-squares
problem for convex penalties, its stationarity measure for MCP/SCAD, box conditions included),
times ``H/2``, is zero exactly when the KKT conditions of the true problem hold. It is a KKT
residual in the objective's units, not a bound on the true suboptimality; the loop stops when it
is ≤ ``tol·(L(0) − L_sat)`` (half the null deviance over ``Σs``). The duality gap of the model is
first-order in the KKT violation, the objective's decrease second-order: near the optimum the
steps change the objective by less than its rounding error and still settle the KKT conditions,
so they are taken (the line search allows the objective's rounding) as long as they halve the
certificate; after three that do not, the loop stops with ``converged`` True and a certificate
above the threshold (rounding-limited).

Cox with an elastic-net-family penalty does not take this loop: :func:`fit_vector` hands it to
:mod:`penalized.glm.cox_compiled` (the exact Newton model in one compiled call, certified by its
Newton decrement).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["fit_vector", "model_penalty"]

_ARMIJO = 1e-4
_FORCING = 0.1  # each weighted least-squares model is solved to this fraction of the certificate
_FLAT_STEPS = 3  # steps at the objective's rounding that do not halve the certificate: stop


def model_penalty(penalty, factor):
    """``(P, t)`` with ``factor·penalty(t·u) = P(u)`` for the inner solve (see the module docstring)."""
    if penalty is None:
        return None, 1.0
    from ..penalties import MCP, SCAD

    if isinstance(penalty, SCAD):
        t = 1.0 / np.sqrt(factor)
        return SCAD(penalty.lam * np.sqrt(factor), penalty.gamma, penalty.weights), t
    if isinstance(penalty, MCP):
        return MCP(penalty.lam * factor, penalty.gamma / factor, penalty.weights), 1.0
    if not penalty.convex:
        raise NotImplementedError(f"{type(penalty).__name__} cannot be scaled for the proximal Newton steps.")
    return penalty.scaled(factor), 1.0


def _penalty_value(penalty, w):
    return 0.0 if penalty is None else float(penalty.value(w))


class _Model:
    """The weighted least-squares model around one point, as the squared-error solver takes it."""

    def __init__(self, bound, X, eta, offset, penalty, bounds, fit_intercept):
        from ..datafits import SquaredError
        from ..solvers import LinearProblem

        g, h = bound.derivatives(eta)
        self.g = g
        hmax = float(h.max())
        if not hmax > 0:
            raise ValueError("the data fit has no curvature at this point (every weight is 0).")
        h = np.where(h > 1e-12 * hmax, h, 0.0)
        self.H = float(h.sum())
        z = eta - offset - np.divide(g, h, out=np.zeros_like(g), where=h > 0)
        self.pen, self.t = model_penalty(penalty, 2.0 / self.H)
        Xs = X if self.t == 1.0 else (X * self.t if sp.issparse(X) else np.asarray(X) * self.t)
        self.bounds = None if bounds is None else tuple(None if v is None else v / self.t for v in bounds)
        self.problem = LinearProblem.build(Xs, z, SquaredError(), h, fit_intercept)

    def certificate(self, w, b):
        from ..solvers import certify

        return 0.5 * self.H * certify(self.problem, self.pen, w / self.t, b, bounds=self.bounds).value

    def solve(self, w, b, abs_tol, max_iter, first):
        from ..solvers import solve

        scale = 0.5 * self.H * max(self.problem.null_loss, 1e-300)
        tol = float(np.clip(abs_tol / scale, 1e-14, 0.1))
        res = solve(self.problem, self.pen, coef_init=None if first else w / self.t,
                    intercept_init=None if first else b, tol=tol, max_iter=max_iter, bounds=self.bounds,
                    support_solve=False)
        return np.asarray(res.coef, dtype=np.float64) * self.t, float(res.intercept), res.n_iter


def _rounding(objective):
    """The rounding error of the objective's value."""
    return 64 * np.finfo(np.float64).eps * max(abs(objective), 1.0)


def _line_search(bound, penalty, X, w, b, eta, objective, g, w_new, b_new):
    d, db = w_new - w, b_new - b
    deta = np.asarray(X @ d).ravel() + db
    decrease = float(g @ deta) + _penalty_value(penalty, w_new) - _penalty_value(penalty, w)
    step = 1.0
    while True:
        w_t, eta_t = w + step * d, eta + step * deta
        f_t = bound.value(eta_t) + _penalty_value(penalty, w_t)
        # (with a slack at the objective's rounding: near the optimum the steps that settle the last
        # digits of the KKT conditions change the objective by less than that)
        if f_t <= objective + _ARMIJO * step * min(decrease, 0.0) + _rounding(objective) or step < 1e-10:
            return w_t, b + step * db, eta_t, f_t, step, decrease
        step *= 0.5


def fit_vector(datafit, penalty, X, y, *, sample_weight=None, fit_intercept=True, coef_init=None,
               intercept_init=None, tol=1e-4, max_iter=100, bounds=None, offset=None, inner_max_iter=1000,
               bound=None):
    """Minimise ``datafit(Xw + b + offset) + penalty(w)`` (within ``bounds``) by proximal Newton.

    ``max_iter`` counts the outer (Newton) steps; returns a
    :class:`~penalized.solvers.SolverResult` whose ``certificate`` is described in the module
    docstring and whose ``n_iter`` is the number of outer steps. ``bound`` may pass a
    :class:`BoundDatafit` already made from ``y`` (paths reuse it).
    """
    from ..solvers import SolverResult
    from .cox_compiled import compiled_penalty, fit_cox_compiled

    bound = datafit.bind(y, sample_weight) if bound is None else bound
    fit_intercept = bool(fit_intercept and bound.has_intercept)
    X = X.tocsc() if sp.issparse(X) else np.asfortranarray(X)  # the solver's layout, once (not per step)
    # A loss invariant to shifts of η (Cox) takes the model's free intercept and drops it after
    # each step: the model is then centred (h-weighted), closer to the risk-set covariances.
    model_intercept = fit_intercept or bound.shift_invariant
    n, p = X.shape
    offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=np.float64)
    null_b = bound.null_intercept(offset) if fit_intercept else 0.0
    null_value = bound.value(offset + null_b)
    null_loss = null_value - bound.saturated
    threshold = max(tol * null_loss, 1e-15 * max(abs(null_value), 1.0))
    w = np.zeros(p) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel()
    if bounds is not None:
        w = np.clip(w, *(np.full(p, -np.inf) if bounds[0] is None else bounds[0],
                         np.full(p, np.inf) if bounds[1] is None else bounds[1]))
    b = (null_b if intercept_init is None else float(intercept_init)) if fit_intercept else 0.0
    kp = None if fit_intercept else compiled_penalty(bound, penalty, p, bounds)
    if kp is not None:  # Cox with the elastic-net family: the whole loop compiled
        w, certificate, it, converged, objective = fit_cox_compiled(bound, kp, X, w, offset, threshold, max_iter)
        return SolverResult(coef=w, intercept=0.0, certificate=certificate, threshold=float(threshold), n_iter=it,
                            converged=converged, objective=objective)
    eta = np.asarray(X @ w).ravel() + b + offset
    objective = bound.value(eta) + _penalty_value(penalty, w)
    certificate, inner_epochs, it, stalled, at_rounding = np.inf, 0, 0, False, False
    previous, flat = np.inf, 0
    for it in range(1, max_iter + 1):
        model = _Model(bound, X, eta, offset, penalty, bounds, model_intercept)
        certificate = model.certificate(w, b)
        if certificate <= threshold:
            it -= 1
            break
        # Steps below the objective's rounding still settle the KKT conditions (the certificate is
        # first-order in their violation, the objective second-order): go on while they halve it.
        flat = flat + 1 if (at_rounding and certificate > 0.5 * previous) else 0
        if flat >= _FLAT_STEPS:
            stalled = True
            break
        previous = certificate
        w_new, b_new, epochs = model.solve(w, b, max(0.25 * threshold, _FORCING * certificate), inner_max_iter,
                                           first=coef_init is None and it == 1 and not np.any(w))
        inner_epochs += epochs
        if not fit_intercept:
            b_new = 0.0  # (shift-invariant: the model's intercept changes nothing)
        w, b, eta, new_objective, step, decrease = _line_search(bound, penalty, X, w, b, eta, objective,
                                                                model.g, w_new, b_new)
        # the model promises less than the rounding error of the objective: nothing left to gain
        at_rounding = -decrease <= _rounding(objective)
        stalled = not at_rounding and new_objective >= objective and step < 1e-9
        objective = new_objective if at_rounding else min(objective, new_objective)
        if stalled:
            certificate = _Model(bound, X, eta, offset, penalty, bounds, model_intercept).certificate(w, b)
            break
    else:
        certificate = _Model(bound, X, eta, offset, penalty, bounds, model_intercept).certificate(w, b)
    converged = certificate <= threshold or (stalled and at_rounding)
    return SolverResult(coef=w, intercept=b, certificate=float(certificate), threshold=float(threshold),
                        n_iter=it, converged=bool(converged), objective=float(objective))
