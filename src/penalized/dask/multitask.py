"""Several targets on Dask input: multi-task least squares from one pass, solved on the client.

``L_data(W, b) = Σ_i a_i ‖y_i − W x_i − b‖²`` (``y`` of shape (n, T), ``W`` of shape (T, p)) has
sufficient statistics: pass 0 computes the co-moments of ``[X, Y]`` (the centred Gram matrix
``G = X̃ᵀAX̃``, ``C = X̃ᵀAỸ`` and ``yy_t = ỹ_tᵀAỹ_t``), and the problem is
``Σ_t (yy_t − 2c_tᵀw_t + w_tᵀGw_t) + pen(W)``: one penalized quadratic per task sharing ``G``,
coupled by the penalty (:class:`~penalized.MultiTaskLasso`'s ``‖W_j‖₂`` rows, group lasso
across features and tasks, or an elementwise L1/L2). It is written as the least-squares
problem it is (:func:`penalized.dask.groups.least_squares_form`, one right-hand side per
task) and solved by the in-memory block solver, whose certificate is then the problem's
own. A separable penalty (the elastic net, MCP, SCAD, BerHu; with a box) decouples the tasks:
one Gram solve per task, each at its own threshold, as the in-memory solver's one solve per
output. The intercepts are ``ȳ_t − x̄ᵀw_t``. One pass over the data; ``p`` up to
:data:`penalized.dask.newton.GRAM_MAX_FEATURES`.
"""

from __future__ import annotations

import numpy as np

from ..solvers.results import _ROUNDING_FLOOR
from . import bridge, groups, newton
from . import chunks as C
from .data import prepare


def block_view(penalty, p):
    """The penalty as the block solver takes it on several outputs (an elementwise L1/L2 on singleton
    groups), with its checks."""
    from ..solvers.blocks import _check_groups, block_penalty
    from ..solvers.coordinate_descent import kernel_penalty

    kp = block_penalty(kernel_penalty(penalty, p), p)
    _check_groups(kp)
    return kp


def statistics(m, p, fit_intercept):
    """``(G, C, yy, x̄, ȳ, scale)`` from the co-moments ``m`` of ``[X, Y]`` (a-weighted; raw moments
    without an intercept); ``scale = Σ_t Σ a y_t²`` (the rounding floor's unit)."""
    if m.W <= 0:
        raise ValueError("sample_weight sums to zero: at least one sample needs a positive weight.")
    B = m.block / m.W
    mu, ybar = m.mean[:p], m.mean[p:]
    G, Cm, yy = B[:p, :p], B[:p, p:], np.diag(B[p:, p:]).copy()
    scale = float(np.sum(yy + ybar * ybar))
    if not fit_intercept:
        G = G + np.outer(mu, mu)
        Cm = Cm + np.outer(mu, ybar)
        yy = yy + ybar * ybar
    return G, Cm, yy, mu, ybar, scale


def solve(kp, G, Cm, yy, W0, threshold, max_iter):
    """Minimise ``Σ_t (yy_t − 2c_tᵀw_t + w_tᵀGw_t) + pen(W)``; returns the block solver's result
    (``coef`` of shape (T, p)) with its certificate ≤ ``threshold`` when it converges."""
    from ..datafits import SquaredError
    from ..solvers.blocks import solve_blocks
    from ..solvers.problem import LinearProblem

    M, R = groups.least_squares_form(G, Cm, yy)
    problem = LinearProblem.build(M, R, SquaredError(), fit_intercept=False)
    null = float(problem.null_loss)
    if not null > 0.0:  # C = 0: W = 0 is the solution
        return None
    return solve_blocks(problem, kp, coef_init=W0, tol=threshold / null, max_iter=max_iter)


def solve_columns(view, G, Cm, yy, ybar, tol, max_iter, coef0, fit_intercept):
    """A separable penalty: ``(coef (T, p), Σ certificates, Σ thresholds)``, one
    :func:`~penalized.dask.newton.solve_gram` per task (its threshold from its own null loss and
    ``Σ a y_t²``, as the in-memory solver's per-output solves)."""
    T, p = Cm.shape[1], Cm.shape[0]
    coef = np.zeros((T, p))
    certificate = threshold = 0.0
    for t in range(T):
        scale = float(yy[t] + (ybar[t] ** 2 if fit_intercept else 0.0))
        sol, thr, _ = newton.solve_gram(G, Cm[:, t], float(yy[t]), scale, view, tol=tol, max_iter=max_iter,
                                        coef_init=None if coef0 is None else coef0[t])
        coef[t] = sol.coef
        certificate += sol.certificate
        threshold += thr
    return coef, certificate, threshold


def fit_multitask(est, X, y, sample_weight=None, offset=None):
    """``_Regressor.fit`` on Dask input with several targets (one pass; see the module docstring)."""
    name = type(est).__name__
    if offset is not None:
        raise NotImplementedError(f"{name}.fit(offset=...) with several targets does not take Dask input.")
    data = prepare(X, y, sample_weight, offset=None, multi_target=True)
    p = data.n_features
    if p > newton.GRAM_MAX_FEATURES:
        raise NotImplementedError(f"{name} on Dask input with several targets needs at most "
                                  f"{newton.GRAM_MAX_FEATURES} features (its statistics are a Gram matrix); X has {p}.")
    from ..penalties import check_bounds

    bounds = check_bounds(est.bounds, est.positive, p)
    view = bridge.PenaltyView(est._penalty(p), p, bounds)
    if view.grouped and bounds is not None:
        raise NotImplementedError(f"{name} with several targets and a group penalty takes no bounds= or "
                                  "positive=True on Dask input.")
    kp = block_view(est._penalty(p), p) if view.grouped else None
    part = data.run(C.moments_chunk, C.Target("multi"), gram=True)
    newton.check_partial(part)
    G, Cm, yy, mu, ybar, scale = statistics(part.moments["all"], p, est.fit_intercept)
    T = Cm.shape[1]
    coef0, _ = est._warm_start(T, p)
    coef0 = None if coef0 is None else np.asarray(coef0, dtype=np.float64)
    if kp is None:
        coef, certificate, threshold = solve_columns(view, G, Cm, yy, ybar, est.tol, est.max_iter, coef0,
                                                     est.fit_intercept)
    else:
        threshold = max(est.tol * float(yy.sum()), _ROUNDING_FLOOR * scale)
        result = solve(kp, G, Cm, yy, coef0, threshold, est.max_iter)
        if result is None:
            coef, certificate = np.zeros((T, p)), 0.0
        else:
            coef, certificate = np.reshape(result.coef, (T, p)), float(result.certificate)
    n_iter = 1  # passes over the data (the client's epochs are not passes)
    rss = float(yy.sum() - 2.0 * np.sum(Cm.T * coef) + np.einsum("tj,jk,tk->", coef, G, coef))
    outcome = newton.DaskResult(coef=coef, intercept=0.0, certificate=certificate, threshold=threshold, n_iter=n_iter,
                                converged=certificate <= threshold, objective=rss, data_loss=rss)
    est.n_features_in_ = p
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    est.coef_ = coef
    est.intercept_ = (ybar - coef @ mu) if est.fit_intercept else np.zeros(T)
    est.n_iter_ = n_iter
    est.dual_gap_ = certificate
    est._warn_if_not_converged([outcome])
    return est
