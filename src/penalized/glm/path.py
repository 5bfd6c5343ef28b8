"""Paths and cross-validation for the whole-vector data fits: ``regularization_path(datafit="cox"
| Huber(δ))`` (dispatched here from :func:`penalized.regularization_path`) and :class:`CoxPHCV`.

A path is a decreasing λ grid solved with warm starts by :func:`penalized.glm.newton.fit_vector`
(the proximal Newton loop), on one bound data fit. ``λ_max`` is the penalty's zero level at the
null model's gradient (every penalized coefficient is zero at and above it).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .. import _validation as v
from ..penalties import check_bounds
from .cox import Cox
from .newton import fit_vector
from .survival import check_survival_target, concordance_index

__all__ = ["vector_path", "CoxPHCV"]


def _grid_start(X, bound, unit, offset, fit_intercept):
    """``λ_max`` of ``unit`` at the null model (w = 0, best intercept)."""
    b = bound.null_intercept(offset) if fit_intercept and bound.has_intercept else 0.0
    grad = np.asarray(X.T @ bound.gradient(offset + b)).ravel()
    try:
        levels = np.asarray(unit.zero_levels(grad), dtype=np.float64)
        finite = levels[np.isfinite(levels)]
        return float(finite.max()) if finite.size else 0.0
    except TypeError:  # pure L2: glmnet's convention
        return float(unit.ridge_lambda_max(grad))


def _solve_grid(X, y, datafit, unit, grid, *, bound, sample_weight, fit_intercept, tol, max_iter, box, offset):
    from .cox_compiled import cox_path_compiled

    p, k = X.shape[1], len(grid)
    compiled = None if fit_intercept else cox_path_compiled(bound, unit, X, grid, offset, tol, max_iter, box)
    if compiled is not None:  # Cox with the elastic-net family: the whole path in one compiled call
        coefs, gaps, thresholds, n_iter, converged, loss = compiled
        return coefs, np.zeros(k), gaps, thresholds, n_iter, converged, loss
    coefs, intercepts = np.zeros((p, k)), np.zeros(k)
    gaps, thresholds, n_iter = np.zeros(k), np.zeros(k), np.zeros(k, dtype=int)
    converged, loss = np.zeros(k, dtype=bool), np.zeros(k)
    w, b = np.zeros(p), None
    off = np.zeros(X.shape[0]) if offset is None else offset
    for i, lam in enumerate(grid):
        res = fit_vector(datafit, unit.scaled(lam), X, y, sample_weight=sample_weight, fit_intercept=fit_intercept,
                         coef_init=w, intercept_init=b, tol=tol, max_iter=max_iter, bounds=box, offset=offset,
                         bound=bound)
        w, b = res.coef, res.intercept
        coefs[:, i], intercepts[i] = w, b
        gaps[i], thresholds[i], n_iter[i], converged[i] = res.certificate, res.threshold, res.n_iter, res.converged
        loss[i] = bound.value(np.asarray(X @ w).ravel() + b + off)
    return coefs, intercepts, gaps, thresholds, n_iter, converged, loss


def vector_path(X, y, penalty="l1", *, datafit, l1_ratio=0.5, weights=None, lambdas=None, n_lambdas=100, eps=None,
                sample_weight=None, fit_intercept=True, tol=1e-4, max_iter=100, positive=False, bounds=None,
                offset=None, standardize=False):
    """:func:`penalized.regularization_path` for a whole-vector data fit (same parameters;
    ``max_iter`` counts proximal Newton steps per λ). Cox has no intercept (``intercepts`` are 0).
    ``standardize``: glmnet's (:mod:`penalized.standardize`: the elastic-net family on ``X`` with
    per-feature factors, no copy; λ_max and the grid those of the standardized problem)."""
    from ..path_result import PathResult, default_eps, lambda_grid
    from ..standardize import check_standardize, standardized_path_inputs

    names = np.asarray(X.columns, dtype=object) if hasattr(X, "columns") else None
    X = check_array(X, accept_sparse="csc", dtype=np.float64, order="F")
    n, p = X.shape
    names = names if names is not None else np.array([f"x{j}" for j in range(p)], dtype=object)
    if len(y) != n:
        raise ValueError(f"X has {n} samples but y has {len(y)}.")
    bound = datafit.bind(y, sample_weight)
    sample_weight = None if sample_weight is None else bound.s
    offset = v.check_offset(offset, n)
    unit = v.check_path_penalty(penalty, l1_ratio, weights, p)
    box = check_bounds(bounds, positive, p)
    fit_intercept = bool(fit_intercept and bound.has_intercept)
    st, reported = None, unit
    if check_standardize(standardize):
        X, unit, box, st = standardized_path_inputs(X, unit, box, sample_weight)
        reported = st.reported_penalty(reported)
    if lambdas is None:
        v.check_grid_params(n_lambdas, eps)
        lam_max = _grid_start(X, bound, unit, np.zeros(n) if offset is None else offset, fit_intercept)
        grid = lambda_grid(lam_max, n_lambdas, default_eps(n, p) if eps is None else eps)
    else:
        grid, lam_max = v.check_lambda_grid(lambdas), float("nan")
    coefs, intercepts, gaps, thresholds, n_iter, converged, loss = _solve_grid(
        X, y, datafit, unit, grid, bound=bound, sample_weight=sample_weight, fit_intercept=fit_intercept, tol=tol,
        max_iter=max_iter, box=box, offset=offset)
    if st is not None:
        coefs = st.to_original(coefs, axis=0)
    if not converged.all():
        warnings.warn(f"regularization_path: {np.count_nonzero(~converged)} of {len(grid)} points did not reach "
                      f"tol={tol:g} in max_iter={max_iter} Newton steps.", ConvergenceWarning, stacklevel=3)
    return PathResult(lambdas=np.asarray(grid, dtype=np.float64), coef_store=coefs, intercepts=intercepts,
                      dual_gaps=gaps, n_nonzero=np.count_nonzero(coefs, axis=0), train_loss=loss, n_iter=n_iter,
                      converged=converged, penalty=reported, datafit=datafit, lambda_max=lam_max, feature_names=names,
                      tol=tol, thresholds=thresholds)


def _subset(y, idx):
    y = np.asarray(y)
    return y[idx]


def _fold_scores(X, y, coefs, train, test, datafit, scoring, sample_weight, offset):
    """Per λ: glmnet's grouped partial-likelihood deviance ``D_all(β₋ₖ) − D₋ₖ(β₋ₖ)`` (per weighted
    event of the fold) or Harrell's C on the held-out fold."""
    eta = np.asarray(X @ coefs)
    if offset is not None:
        eta = eta + offset[:, None]
    if scoring == "C":
        time, event = check_survival_target(_subset(y, test))
        return np.array([concordance_index(time, event, eta[test, i]) for i in range(coefs.shape[1])])
    sw = None if sample_weight is None else sample_weight
    full = datafit.bind(y, sw)
    part = datafit.bind(_subset(y, train), None if sw is None else sw[train])
    dev = np.array([full.deviance(eta[:, i]) - part.deviance(eta[train, i]) for i in range(coefs.shape[1])])
    time, event = check_survival_target(_subset(y, test))
    events = float(np.sum(event * (1.0 if sw is None else sw[test])))
    return dev / events, events


def _gamma_grid(relax, gamma):
    """The relaxed fit's γ grid (None without ``relax``)."""
    if not isinstance(relax, (bool, np.bool_)):
        raise TypeError(f"relax must be True or False, got {relax!r}.")
    if not relax:
        return None
    return np.unique(v.check_gamma((0.0, 0.25, 0.5, 0.75, 1.0) if gamma is None else gamma))


def _relaxed_models(datafit, X, y, coefs, train, sample_weight, offset, gammas):
    """``γ·coefs + (1 − γ)·refits`` for every γ: the training part's unpenalized refits on the
    supports of its path (:func:`penalized.relaxed_glm.relaxed_refits`)."""
    from ..relaxed_glm import relaxed_refits

    R, _, _ = relaxed_refits(datafit, X[train], _subset(y, train), np.asarray(coefs)[None],
                             None if sample_weight is None else sample_weight[train],
                             None if offset is None else offset[train], fit_intercept=False)
    return [g * coefs + (1.0 - g) * R[0] for g in gammas]


class CoxPHCV(BaseEstimator):
    """Cross-validated penalized Cox model: a path of ``penalty`` on every training fold, λ chosen by
    glmnet's partial-likelihood deviance (``scoring="deviance"``, lower is better) or Harrell's C
    (``scoring="C"``), then refitted on all the data (``lam_min_`` or ``lam_1se_``, by ``select``).

    The deviance is ``cv.glmnet``'s for Cox (``grouped=TRUE``): for fold k,
    ``D(β₋ₖ; all data) − D(β₋ₖ; data without k)``, divided by the fold's weighted events; its
    mean and standard error over the folds are weighted by those events, as in glmnet.

    Parameters
    ----------
    penalty : "l1", "elasticnet", "mcp", "scad", or a unit penalty object, default "l1"
    l1_ratio : float, default 0.5
        ρ of ``"elasticnet"`` (``R = ρ‖w‖₁ + (1−ρ)/2‖w‖²``: scikit-survival's and glmnet's).
    ties : "breslow" or "efron"
    lambdas, n_lambdas, eps : the grid, as in :func:`penalized.regularization_path`.
    cv : int or a scikit-learn splitter, default 5
        An int is ``KFold(cv, shuffle=True, random_state=random_state)`` (glmnet's folds are
        random too).
    scoring : "deviance" or "C"
    select : "min" or "1se", default "min"
    standardize, tol, max_iter : as in :class:`penalized.CoxPH`.
    relax : bool, default False
        Cross-validate the relaxed fit ``γ·w_λ + (1 − γ)·w̃_λ`` over ``(γ, λ)``, ``w̃_λ`` the
        unpenalized partial-likelihood refit on the support of ``w_λ`` (glmnet's ``relax=TRUE``;
        :mod:`penalized.relaxed_glm`); ``coef_`` is the relaxed fit at ``(lam_, gamma_)``.
    gamma : float or list of floats in [0, 1], optional
        The γ grid for ``relax=True``; default glmnet's ``(0, 0.25, 0.5, 0.75, 1)``.

    Attributes: ``lambdas_``, ``cv_mean_``, ``cv_std_err_``, ``lam_min_``, ``lam_1se_``, ``lam_``,
    ``coef_``, ``path_`` (the full-data path), ``dual_gap_``, ``n_iter_``; with ``relax=True``
    also ``gammas_``, ``gamma_min_``, ``gamma_1se_``, ``gamma_`` (the choice of the λ rule, as
    :class:`penalized.LassoCV`'s), and ``cv_mean_``, ``cv_std_err_`` of shape (n_gammas, n_lambdas),
    ``cv_scores_`` (n_folds, n_gammas, n_lambdas).
    """

    def __init__(self, penalty="l1", *, l1_ratio=0.5, ties="breslow", lambdas=None, n_lambdas=50, eps=None, cv=5,
                 scoring="deviance", select="min", standardize=False, tol=1e-4, max_iter=100, random_state=0,
                 relax=False, gamma=None):
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.ties = ties
        self.lambdas = lambdas
        self.n_lambdas = n_lambdas
        self.eps = eps
        self.cv = cv
        self.scoring = scoring
        self.select = select
        self.standardize = standardize
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.relax, self.gamma = relax, gamma

    def fit(self, X, y, sample_weight=None, offset=None):
        from sklearn.model_selection import KFold, check_cv

        if self.scoring not in ("deviance", "C"):
            raise ValueError(f"scoring must be 'deviance' or 'C', got {self.scoring!r}.")
        v.check_select(self.select)
        datafit = Cox(self.ties)
        X = check_array(X, accept_sparse="csc", dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        check_survival_target(y)
        offset = v.check_offset(offset, X.shape[0])
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

        def path(rows, lambdas):
            """The path on ``rows`` (standardized on them alone if asked), coefficients on X's scale."""
            Xr, swr = X[rows], None if sw is None else sw[rows]
            return vector_path(Xr, _subset(y, rows), self.penalty, datafit=datafit, l1_ratio=self.l1_ratio,
                               lambdas=lambdas, n_lambdas=self.n_lambdas, eps=self.eps, sample_weight=swr,
                               tol=self.tol, max_iter=self.max_iter, offset=None if offset is None else offset[rows],
                               standardize=self.standardize)

        self.path_ = path(np.arange(X.shape[0]), self.lambdas)
        grid = self.path_.lambdas
        splitter = KFold(self.cv, shuffle=True, random_state=self.random_state) if isinstance(self.cv, int) \
            else check_cv(self.cv)
        gammas = _gamma_grid(self.relax, self.gamma)
        scores, fold_w = [], []
        for train, test in splitter.split(X):
            coefs = path(train, grid).coefs
            models = [coefs] if gammas is None else _relaxed_models(datafit, X, y, coefs, train, sw, offset, gammas)
            outs = [_fold_scores(X, y, c, train, test, datafit, self.scoring, sw, offset) for c in models]
            scores.append([o if self.scoring == "C" else o[0] for o in outs])
            fold_w.append(1.0 if self.scoring == "C" else outs[0][1])
        scores = np.array(scores)  # (n_folds, n_gammas, n_lambdas)
        if gammas is None:
            self._select(scores[:, 0], np.array(fold_w), grid)
        else:
            self._select_relaxed(scores, np.array(fold_w), grid, gammas)
        k = int(np.flatnonzero(grid == self.lam_)[0])
        self.coef_ = self.path_.coefs[:, k].copy()
        if gammas is not None:
            from ..relaxed_glm import refit_support

            refit, _, _ = refit_support(datafit, X, y, self.coef_ != 0, sw, offset, fit_intercept=False)
            self.coef_ = self.gamma_ * self.coef_ + (1.0 - self.gamma_) * refit
        self.dual_gap_ = float(self.path_.dual_gaps[k])
        self.n_iter_ = int(self.path_.n_iter[k])
        return self

    def _select_relaxed(self, scores, fold_w, grid, gammas):
        """``(γ, λ)`` by :func:`penalized.cv_rule.select_lambda` on the event-weighted fold means."""
        from ..cv_rule import select_lambda

        wts = fold_w / fold_w.sum()
        mean = np.tensordot(wts, scores, axes=1)
        se = np.sqrt(np.tensordot(wts, (scores - mean) ** 2, axes=1) / max(len(fold_w) - 1, 1))
        (r_min, k_min), (r_1se, k_1se) = select_lambda(mean, se, greater_is_better=self.scoring == "C")
        self.lambdas_, self.cv_mean_, self.cv_std_err_, self.cv_scores_ = grid, mean, se, scores
        self.lam_min_, self.lam_1se_ = float(grid[k_min]), float(grid[k_1se])
        self.gammas_, self.gamma_min_, self.gamma_1se_ = gammas, float(gammas[r_min]), float(gammas[r_1se])
        self.lam_ = self.lam_min_ if self.select == "min" else self.lam_1se_
        self.gamma_ = self.gamma_min_ if self.select == "min" else self.gamma_1se_

    def _select(self, scores, fold_w, grid):
        wts = fold_w / fold_w.sum()
        mean = wts @ scores
        var = wts @ (scores - mean) ** 2 / max(len(fold_w) - 1, 1)
        se = np.sqrt(var)
        sign = 1.0 if self.scoring == "deviance" else -1.0  # deviance: lower is better
        best = int(np.argmin(sign * mean))
        within = sign * mean <= sign * mean[best] + se[best]
        self.lambdas_, self.cv_mean_, self.cv_std_err_, self.cv_scores_ = grid, mean, se, scores.T
        self.lam_min_ = float(grid[best])
        self.lam_1se_ = float(grid[int(np.flatnonzero(within)[0])])
        self.lam_ = self.lam_min_ if self.select == "min" else self.lam_1se_

    def predict(self, X, *, lam=None):
        """The linear predictor ``X @ coef``: at the refit ``coef_`` (``lam=None``), or from ``path_``
        without refitting at ``lam="min"``, ``"1se"`` or a number (linear interpolation on the λ scale
        between grid points, as glmnet's ``predict(cvfit, s=)``; clamped to the grid's ends)."""
        check_is_fitted(self)
        return np.asarray(check_array(X, accept_sparse="csr") @ self._coef_at(lam)).ravel()

    def _coef_at(self, lam):
        if lam is None:
            return self.coef_
        if getattr(self, "gammas_", None) is not None:
            raise ValueError("CoxPHCV(relax=True) predicts at its refit only (lam=None): the path's "
                             "relaxed refits are not stored.")
        if isinstance(lam, str):
            if lam not in ("min", "1se"):
                raise ValueError(f"lam must be None, 'min', '1se' or a number, got {lam!r}.")
            k = int(np.flatnonzero(self.path_.lambdas == (self.lam_min_ if lam == "min" else self.lam_1se_))[0])
            return self.path_.coefs[:, k]
        if isinstance(lam, (bool, np.bool_)) or not isinstance(lam, (int, float, np.integer, np.floating)) \
                or not np.isfinite(lam) or lam < 0:
            raise ValueError(f"lam must be None, 'min', '1se' or a finite number >= 0, got {lam!r}.")
        coef, _ = self.path_.interpolate(float(lam))
        return np.asarray(coef).ravel()

    def score(self, X, y):
        """Harrell's C of ``predict(X)``."""
        time, event = check_survival_target(y)
        return concordance_index(time, event, self.predict(X))
