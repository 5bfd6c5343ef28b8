"""Cross-validated λ: :class:`LassoCV`, :class:`ElasticNetCV`, :class:`LogisticRegressionCV` (two classes
or the multinomial model), :class:`PoissonRegressorCV`, :class:`MultiTaskLassoCV`,
:class:`MultiTaskElasticNetCV`.

The procedure is glmnet's ``cv.glmnet``:

1. **One λ grid, from the full data**: ``n_lambdas`` values log-spaced from ``λ_max`` (the
   smallest λ zeroing every penalized coefficient on *all* the samples) down to
   ``eps·λ_max``; every fold uses this grid, so fold errors line up λ by λ.
2. **Each fold** fits the whole path on its training part (warm starts along the grid)
   and scores every λ on its held-out part.
3. **Mean and standard error** per λ, weighting fold f by its held-out weight ``W_f``
   (its number of samples without ``sample_weight``)::

       cv_mean_    = Σ_f W_f s_f / Σ_f W_f
       cv_std_err_ = sqrt( Σ_f W_f (s_f − cv_mean_)² / Σ_f W_f / (K − 1) )

4. **Selection**: ``lam_min_`` is the λ with the best mean (the largest such λ on ties);
   ``lam_1se_`` is the *largest* λ whose mean is within one standard error of that best
   mean (the one-standard-error rule of Breiman et al. 1984, ESL §7.10, glmnet's
   ``lambda.1se``): the sparsest model that cannot be told apart from the best one.
   ``lam_`` is the one chosen by ``select="min"`` (the default, as scikit-learn) or
   ``"1se"`` (glmnet's default for prediction).
5. **No refit**: the path on all the data runs *first* (as cv.glmnet: its early exit, ``dfmax``
   and ``pmax`` cut the grid the folds then use); the estimator keeps its point at ``lam_``:
   ``coef_``, ``intercept_``, ``dual_gap_``, ``n_iter_``; the full-data path is ``path_``.

Folds run through joblib (``n_jobs``; threads by default: the compiled solver releases
the GIL). Any joblib backend works, e.g. on a Dask cluster::

    import joblib
    from dask.distributed import Client
    client = Client("scheduler-address:8786")
    with joblib.parallel_backend("dask"):
        LassoCV(n_jobs=-1).fit(X, y)

Scales: ``lam`` is the estimator's (``Lasso``, ``ElasticNet``: the mean squared error
``Σ a_i (y_i − x_iᵀw − b)²`` plus ``lam·R(w)``; scikit-learn ``alpha = lam/2``, glmnet
gaussian ``lambda = lam/2``). Scores are described in :mod:`penalized._scoring`.
"""

from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning

from . import _validation as v
from ._path_store import dense_rows, used_features
from ._scoring import resolve_metric
from .cv_rule import _FoldOutcome, cv_statistics, default_folds, select_lambda
from .dask import is_dask_collection
from .datafits import Poisson, SquaredError
from .linear_model import LogisticRegression, MultiTaskLasso, PoissonRegressor, _Regressor
from .path import (
    _lambda_max,
    check_thresh,
    convergence_message,
    default_eps,
    lambda_grid,
    make_result,
    prepare_data,
    single_threaded_blas,
    solve_path,
)
from .path_predict import response_of
from .path_relax import relax_path, relaxed_at
from .penalties import check_bounds
from .relaxed import mix
from .relaxed_glm import refit_support, relaxed_refits
from .solvers import gram_path
from .standardize import check_standardize, path_arrays_to_original, standardized_path_inputs

__all__ = ["LassoCV", "ElasticNetCV", "LogisticRegressionCV", "PoissonRegressorCV", "MultiTaskLassoCV",
           "MultiTaskElasticNetCV", "select_lambda", "cv_statistics", "DEFAULT_GAMMAS"]

DEFAULT_GAMMAS = (0.0, 0.25, 0.5, 0.75, 1.0)  # glmnet's relaxed-lasso grid


# ------------------------------------------------------------------------ statistics and rule


def _cut_columns(coefs, k):
    """The first ``k`` points of stored coefficients (dense or sparse)."""
    import scipy.sparse as sp

    return sp.csc_array(coefs)[:, :k] if sp.issparse(coefs) else coefs[..., :k]


def _stopping_rules(est, n_features):
    """``early_stop`` ("auto", True, False), ``dfmax`` and ``pmax`` of a CV estimator, checked."""
    early = getattr(est, "early_stop", "auto")
    if not (isinstance(early, (bool, np.bool_)) or (isinstance(early, str) and early == "auto")):
        raise ValueError(f"early_stop must be True, False or 'auto', got {early!r}.")
    return {"early_stop": early if isinstance(early, str) else bool(early),
            "dfmax": v.check_max_features(getattr(est, "dfmax", None), "dfmax"),
            "pmax": v.check_max_features(getattr(est, "pmax", None), "pmax")}


# ------------------------------------------------------------------------------------ folds


def _decision(X, coefs, intercepts, offset=None):
    """Linear predictors (n, n_outputs, k) of models ``coefs`` (n_outputs, p, k), ``intercepts``
    (n_outputs, k), plus ``offset`` ((n,) or (n, n_outputs))."""
    Z = np.stack([np.asarray(X @ coefs[j]) + intercepts[j] for j in range(coefs.shape[0])], axis=1)
    if offset is not None:
        Z += offset[:, None, None] if offset.ndim == 1 else offset[:, :, None]
    return Z


def _fold_models(arrays, n_lambdas):
    """``(coefs (n_outputs, m, k), intercepts (n_outputs, k), used)`` of a fold's path, on the ``m``
    features non-zero somewhere along it (``used``); a path that stopped before the end of the grid
    (``pmax``) is extended with its last point, as cv.glmnet predicts beyond a fold's last λ."""
    used = used_features(arrays.coefs)
    coefs = dense_rows(arrays.coefs, used)
    intercepts = arrays.intercepts
    if coefs.ndim == 2:
        coefs, intercepts = coefs[None], intercepts[None]
    missing = n_lambdas - coefs.shape[-1]
    if missing > 0:
        coefs = np.concatenate([coefs, np.repeat(coefs[..., -1:], missing, axis=-1)], axis=-1)
        intercepts = np.concatenate([intercepts, np.repeat(intercepts[..., -1:], missing, axis=-1)], axis=-1)
    return coefs, intercepts, used


def _fold_task(X, y, target, sample_weight, offset, train, test, datafit, unit, lambdas, metric, classes,
               gammas, solver, keep=False, pmax=None):
    """Path on the training part, scores of every λ (and γ) on the held-out part.

    ``y``: the targets as given (class labels, numbers; what the metric scores), ``target``: as
    the solver takes them (±1, one-hot rows, ...).
    """
    sw_train = None if sample_weight is None else sample_weight[train]
    sw_test = None if sample_weight is None else sample_weight[test]
    off_train = None if offset is None else offset[train]
    off_test = None if offset is None else offset[test]
    X_train, X_test = X[train], X[test]
    solver = dict(solver)
    # glmnet standardizes every fold on its own training part
    X_fit, unit_fit, box, st = _solver_inputs(X_train, unit, solver.pop("bounds"), sw_train, solver.pop("standardize"))
    # the covariance method: this fold's Gram matrix is the shared one minus the held-out rows' part
    gram = gram_path.for_design(gram_path.fold_stats(solver.pop("gram", None), X_test, target[test], sw_test,
                                                     off_test), st)
    arrays = solve_path(X_fit, target[train], datafit, unit_fit, lambdas, sample_weight=sw_train, offset=off_train,
                        bounds=box, pmax=pmax, gram=gram, **solver)
    if st is not None:
        arrays = path_arrays_to_original(arrays, st)
    coefs, intercepts, used = _fold_models(arrays, len(lambdas))
    X_train, X_test = X_train[:, used], X_test[:, used]
    models = [(coefs, intercepts)]
    if gammas is not None:  # the unpenalized refit of every support (penalized.relaxed_glm)
        R, Rb, _ = relaxed_refits(datafit, X_train, target[train], coefs, sw_train, off_train,
                                  solver["fit_intercept"])
        models = [mix(g, coefs, intercepts, R, Rb) for g in gammas]
    Zs = [_decision(X_test, c, b, off_test) for c, b in models]
    scores = np.array([metric(y[test], Z, sw_test, classes, X_test, c, b)
                       for Z, (c, b) in zip(Zs, models, strict=True)])
    return _FoldOutcome(
        scores=scores, weight=float(len(test) if sw_test is None else sw_test.sum()),
        certificates=arrays.certificates, thresholds=arrays.thresholds, converged=arrays.converged,
        lambdas=np.asarray(lambdas)[: len(arrays.certificates)],
        test=np.asarray(test) if keep else None,
        preds=np.stack([response_of(datafit, Z) for Z in Zs], axis=1) if keep else None,
    )


def _solver_inputs(X, unit, box, sample_weight, standardize):
    """``(X, unit, box, st)`` as the solver takes them: with ``standardize``, glmnet's standardization
    of this training set (:mod:`penalized.standardize`; ``st`` maps the coefficients back)."""
    if not standardize:
        return X, unit, box, None
    return standardized_path_inputs(X, unit, box, sample_weight)


# ------------------------------------------------------------------------------ the estimator
class _PathCV:
    """Cross-validation over a λ grid (and an optional outer grid); see the module docstring.

    Subclasses define ``_units(n_features)`` → list of ``(outer_value, unit penalty)``,
    ``_gammas()`` (relaxed lasso grid or None), ``_set_coef(coef, intercept, classes)`` and
    ``_cv_datafit`` (a Datafit, or None: two classes → log-loss, more → multinomial).
    """

    _classifier = False
    _metric_kind = "regression"
    _outer_name = None  # e.g. "l1_ratio"

    def _gammas(self):
        """The relaxed fit's γ grid with ``relax=True`` (None without)."""
        relax = getattr(self, "relax", False)
        if not isinstance(relax, (bool, np.bool_)):
            raise TypeError(f"relax must be True or False, got {relax!r}.")
        if not relax:
            return None
        return np.unique(v.check_gamma(DEFAULT_GAMMAS if self.gamma is None else self.gamma))

    def _scoring_prototype(self):
        """The estimator scikit-learn scorers evaluate at each λ (the model fitted at one λ)."""
        return None

    def _check_cv_params(self):
        v.check_grid_params(self.n_lambdas, self.eps)
        v.check_path_solver_params(self.tol, self.max_iter, self.fit_intercept)
        v.check_select(self.select)
        v.check_screening(self.screening)
        if self.lambdas is not None:
            v.check_lambda_grid(self.lambdas)

    def _splits(self, X, y, classes, sample_weight, model):
        from sklearn.model_selection import check_cv

        cv = self.cv
        if isinstance(self.cv, numbers.Integral) and not isinstance(self.cv, bool):
            if self.cv < 2:
                raise ValueError(f"cv must be at least 2 folds, got cv={self.cv}.")
            v.check_n_splits(self.cv, X.shape[0])
            cv = default_folds(self.cv, self._classifier, getattr(self, "random_state", 0))
            if self._classifier and np.unique(y, return_counts=True)[1].max() < self.cv:
                from sklearn.model_selection import KFold  # StratifiedKFold would refuse: glmnet's plain folds

                cv = KFold(self.cv, shuffle=True, random_state=getattr(self, "random_state", 0))
        splitter = check_cv(cv, y, classifier=self._classifier)
        splits = list(splitter.split(X, y))
        if sample_weight is not None:
            for f, (train, test) in enumerate(splits):
                v.check_fold_weights(sample_weight, train, test, f)
        if classes is not None:
            for f, (train, _) in enumerate(splits):
                v.check_fold_classes(y[train], classes, f,
                                     None if sample_weight is None else sample_weight[train], model=model)
        return splits

    def _grid(self, X, target, datafit, unit, sample_weight, offset, box=None):
        """``(grid, λ_max, start)``: the full-data grid and the unpenalized fit it starts from
        (``X``, ``unit``, ``box`` as the solver takes them)."""
        if self.lambdas is not None:
            return v.check_lambda_grid(self.lambdas), float("nan"), None
        lam_max, _, start = _lambda_max(X, target, datafit, unit, sample_weight, self.fit_intercept, self.tol,
                                        bounds=box, offset=offset)
        eps = default_eps(*X.shape) if self.eps is None else self.eps
        return lambda_grid(lam_max, self.n_lambdas, eps), lam_max, start

    def _fit_cv(self, X, y, sample_weight, offset=None):
        if is_dask_collection(X):  # one pass for every fold's statistics (penalized.dask.cv)
            from .dask.cv import fit_cv

            if self.standardize or self.positive or self.bounds is not None:
                raise NotImplementedError(f"{type(self).__name__} on Dask input takes no standardize=, positive= or "
                                          "bounds= (compute X to NumPy for them).")
            return fit_cv(self, X, y, sample_weight, offset)
        self._check_cv_params()
        metric = resolve_metric(self.scoring, self._metric_kind, self._scoring_prototype())
        if offset is not None and metric.scorer is not None:
            raise ValueError(f"offset cannot be used with scoring={metric.name!r}: scikit-learn scorers call "
                             "predict(X) without the offset. Use a built-in score (e.g. scoring=None).")
        data = prepare_data(X, y, self._cv_datafit, sample_weight, offset, holder=self,
                            multi_target=getattr(self, "_multi_output", False))
        X, sample_weight, datafit = data.X, data.sample_weight, data.datafit
        if getattr(self, "_requires_2d_y", False) and np.ndim(data.labels) != 2:
            raise ValueError(f"{type(self).__name__} needs a 2-D y of shape (n_samples, n_tasks), got shape "
                             f"{np.shape(data.labels)}; use LassoCV for one target.")
        splits = self._splits(X, data.labels, data.classes, sample_weight, datafit.name)
        outers = self._units(X.shape[1])
        gammas = self._gammas()
        box = check_bounds(self.bounds, self.positive, X.shape[1])
        standardize = check_standardize(self.standardize)
        if box is not None and gammas is not None:
            raise ValueError(f"{type(self).__name__}: relax=True refits without a penalty or constraints; it "
                             "takes no positive= or bounds=.")
        solver = dict(fit_intercept=self.fit_intercept, tol=self.tol, max_iter=self.max_iter,
                      screening=self.screening, thresh=check_thresh(getattr(self, "thresh", None)))
        stops = _stopping_rules(self, X.shape[1])
        with single_threaded_blas():
            # one Gram product shared by the full path and every fold (the covariance method, where it pays)
            moments = gram_path.cv_moments(X, data.y, datafit, outers[0][1], self._grid_length(), sample_weight,
                                           self.fit_intercept, data.offset)
            fold_solver = dict(solver, bounds=box, standardize=standardize, gram=moments)
            grids, fulls, reported = self._full_paths(X, data, outers, dict(solver, gram=moments), stops, box,
                                                      standardize)
            outcomes = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(_fold_task)(X, data.labels, data.y, sample_weight, data.offset, train, test, datafit, unit,
                                    grid, metric, data.classes, gammas, fold_solver, keep=self._keep(),
                                    pmax=stops["pmax"])
                for (_, unit), (grid, _, _) in zip(outers, grids, strict=True) for train, test in splits)
            n_folds = len(splits)
            # scores: (n_outer, n_folds, n_gammas, k)
            k = len(grids[0][0])
            scores = np.array([o.scores for o in outcomes]).reshape(len(outers), n_folds, -1, k)
            weights = np.array([o.weight for o in outcomes[:n_folds]])
            mean, se = cv_statistics(np.moveaxis(scores, 1, 0), weights)  # (n_outer, n_gammas, k)
            o_best = self._select_outer(mean, metric.greater_is_better)
            (r_min, k_min), (r_1se, k_1se) = select_lambda(mean[o_best], se[o_best], metric.greater_is_better)
            grid, lam_max, start = grids[o_best]
            unit = reported[o_best]
            full = fulls[o_best]
        self._store(outers, grids, scores, mean, se, metric, o_best, (r_min, k_min), (r_1se, k_1se), gammas)
        if self._keep():
            self._store_preval(outcomes[o_best * n_folds:(o_best + 1) * n_folds], X.shape[0], gammas)
        k_sel, r_sel = (k_min, r_min) if self.select == "min" else (k_1se, r_1se)
        self.path_ = make_result(full, grid, unit, datafit, lam_max, data.feature_names, data.classes, self.tol,
                                 outputs=data.outputs)
        self.path_.stopped_early = len(grid) < self._grid_length()
        coef, intercept = self.path_.coef_at(k_sel), self.path_.intercepts[..., k_sel]
        if gammas is not None:  # the relaxed fits of the whole path too: predict(X, lam=...) without refitting
            relax_path(self.path_, X, data.y, data.sample_weight, data.offset, self.fit_intercept, quiet=True)
            coef, intercept = self._relaxed_refit(X, data, coef, intercept)
        self._set_coef(np.asarray(coef).astype(X.dtype, copy=False), intercept, data.classes)
        self.dual_gap_ = float(full.certificates[k_sel])
        self.n_iter_ = int(full.n_iter[k_sel])
        if self._classifier:
            self.dual_gap_, self.n_iter_ = np.array([self.dual_gap_]), np.array([self.n_iter_])
        self._warn(outcomes, full, grid)
        return self

    def _relaxed_refit(self, X, data, coef, intercept):
        """The relaxed fit at ``(lam_, gamma_)``: the unpenalized refit of the data fit on the
        support of ``coef`` mixed with it (:mod:`penalized.relaxed_glm`)."""
        coef = np.asarray(coef, dtype=np.float64)
        support = np.any(np.atleast_2d(coef) != 0, axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            refit, b, converged = refit_support(data.datafit, X, data.y, support, data.sample_weight, data.offset,
                                                self.fit_intercept)
        if not converged:
            warnings.warn(f"{type(self).__name__}: the unpenalized refit on the {int(support.sum())} selected "
                          "features did not converge (separated classes?); the relaxed fit carries its large "
                          "coefficients.", ConvergenceWarning, stacklevel=3)
        coef, intercept = mix(self.gamma_, coef, np.asarray(intercept, dtype=np.float64), refit.reshape(coef.shape),
                              np.reshape(b, np.shape(intercept)))
        return coef, (float(intercept) if np.ndim(intercept) == 0 else intercept)

    def _grid_length(self):
        return len(self.lambdas) if self.lambdas is not None else self.n_lambdas

    def _keep(self):
        keep = getattr(self, "keep", False)
        if not isinstance(keep, (bool, np.bool_)):
            raise TypeError(f"keep must be True or False, got {keep!r}.")
        return bool(keep)

    def _full_paths(self, X, data, outers, solver, stops, box, standardize):
        """The path on all the data for every outer value, first (as cv.glmnet): the grid the folds
        use is the part of it that the full path reached (glmnet's early exit, ``dfmax``, ``pmax``);
        with several outer values every grid is cut to the shortest. Returns the grids, the paths
        (coefficients on the original scale) and each path's penalty as a function of them."""
        grids, fulls, reported = [], [], []
        solver = dict(solver)
        moments = solver.pop("gram", None)
        for _, unit in outers:
            X_fit, unit_fit, box_fit, st = _solver_inputs(X, unit, box, data.sample_weight, standardize)
            solver["gram"] = gram_path.for_design(None if moments is None else moments.stats(), st)
            grid, lam_max, start = self._grid(X_fit, data.y, data.datafit, unit_fit, data.sample_weight, data.offset,
                                              box_fit)
            early = stops["early_stop"] if stops["early_stop"] != "auto" else self.lambdas is None
            full = solve_path(X_fit, data.y, data.datafit, unit_fit, grid, sample_weight=data.sample_weight,
                              start=start, offset=data.offset, bounds=box_fit, early_stop=early, dfmax=stops["dfmax"],
                              pmax=stops["pmax"], **solver)
            grids.append((grid, lam_max, start))
            fulls.append(full if st is None else path_arrays_to_original(full, st))
            reported.append(unit if st is None else st.reported_penalty(unit))
        k = min(len(f.certificates) for f in fulls)
        fulls = [f if len(f.certificates) == k else f.truncated(k, _cut_columns(f.coefs, k)) for f in fulls]
        return [(g[:k], m, s) for g, m, s in grids], fulls, reported

    def _store_preval(self, outcomes, n_samples, gammas):
        """``fit_preval_`` (glmnet's ``fit.preval``: every sample's prediction, response scale, by the
        fold that held it out) and ``foldid_`` (−1 for a sample no fold held out)."""
        shape = outcomes[0].preds.shape[1:]
        preval = np.full((n_samples,) + shape, np.nan)
        foldid = np.full(n_samples, -1, dtype=int)
        for f, o in enumerate(outcomes):
            preval[o.test] = o.preds
            foldid[o.test] = f
        if gammas is None:
            preval = preval[:, 0]
        if preval.shape[-2] == 1:  # one output
            preval = preval[..., 0, :]
        self.fit_preval_, self.foldid_ = preval, foldid

    def _at(self, lam):
        """The fitted estimator with its coefficients at ``lam``: ``"min"``, ``"1se"`` (grid points of
        ``path_``) or a number (interpolated along ``path_`` as glmnet's ``predict(cvfit, s=)``)."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        if lam is None:
            return self
        relaxed = getattr(self, "gammas_", None) is not None  # the path's refits (penalized.path_relax)
        if isinstance(lam, str):
            if lam not in ("min", "1se"):
                raise ValueError(f"lam must be None, 'min', '1se' or a number, got {lam!r}.")
            k = self.index_min_ if lam == "min" else self.index_1se_
            path = relaxed_at(self.path_, gamma=(self.gamma_min_ if lam == "min" else self.gamma_1se_) if relaxed
                              else None)
            coef, intercept = path.coef_at(k), path.intercepts[..., k]
        else:
            coef, intercept = self.path_.interpolate(lam, gamma=self.gamma_ if relaxed else None)
        est = copy.copy(self)
        est._set_coef(np.asarray(coef, dtype=np.asarray(self.coef_).dtype), intercept,
                      getattr(self, "classes_", None))
        return est

    @staticmethod
    def _select_outer(mean, greater_is_better):
        err = -mean if greater_is_better else mean
        err = np.where(np.isfinite(err), err, np.inf)
        return int(np.argmin(err.reshape(err.shape[0], -1).min(axis=1)))

    def _store(self, outers, grids, scores, mean, se, metric, o_best, best, one_se, gammas):
        single_outer = len(outers) == 1 or self._outer_name is None
        squeeze = (lambda a: a[0]) if single_outer else (lambda a: a)
        # with a γ grid, keep its axis; without, drop it
        drop_gamma = (lambda a: a[..., 0, :]) if gammas is None else (lambda a: a)
        self.lambdas_ = squeeze(np.array([g[0] for g in grids]))
        self.lambda_max_ = squeeze(np.array([g[1] for g in grids]))
        self.cv_mean_ = squeeze(drop_gamma(mean))
        self.cv_std_err_ = squeeze(drop_gamma(se))
        self.cv_scores_ = squeeze(drop_gamma(scores))
        self.scoring_ = metric.name
        self.n_splits_ = scores.shape[1]
        self.greater_is_better_ = metric.greater_is_better
        grid = grids[o_best][0]
        self.lam_min_ = float(grid[best[1]])
        self.lam_1se_ = float(grid[one_se[1]])
        self.lam_ = self.lam_min_ if self.select == "min" else self.lam_1se_
        self.index_min_, self.index_1se_ = best[1], one_se[1]
        if self._outer_name is not None:
            setattr(self, self._outer_name + "_", outers[o_best][0])
        if gammas is not None:
            self.gammas_ = gammas
            self.gamma_min_ = float(gammas[best[0]])
            self.gamma_1se_ = float(gammas[one_se[0]])
            self.gamma_ = self.gamma_min_ if self.select == "min" else self.gamma_1se_

    def _warn(self, outcomes, full, grid):
        certs = np.concatenate([o.certificates for o in outcomes] + [full.certificates])
        thrs = np.concatenate([o.thresholds for o in outcomes] + [full.thresholds])
        conv = np.concatenate([o.converged for o in outcomes] + [full.converged])
        lams = np.concatenate([o.lambdas for o in outcomes] + [grid])
        if not conv.all():
            warnings.warn(convergence_message(type(self).__name__, certs, thrs, conv, lams, self.tol,
                                              self.max_iter), ConvergenceWarning, stacklevel=4)

    def predict(self, X, *args, lam=None, **kwargs):
        """Predictions as the estimator's ``predict`` (same arguments, e.g. ``offset=``), from the refit
        (``lam=None``) or from ``path_`` at ``lam="min"``, ``"1se"`` or a number (interpolated on the λ
        scale, as glmnet's ``predict(cvfit, s=)``), without refitting."""
        return super(_PathCV, self._at(lam)).predict(X, *args, **kwargs)

    def plot(self, ax=None, **kwargs):
        """The CV curve (mean ± one standard error) with ``lam_min_`` and ``lam_1se_`` marked."""
        from .plots import plot_cv

        return plot_cv(self, ax=ax, **kwargs)


class _RegressionPathCV(_PathCV, _Regressor):
    _cv_datafit = SquaredError()

    def _set_coef(self, coef, intercept, classes):
        self.coef_ = coef
        self.intercept_ = float(intercept) if np.ndim(coef) == 1 else np.asarray(intercept, dtype=np.float64)

    def fit(self, X, y, sample_weight=None, offset=None):
        """Cross-validate λ on ``X`` (n_samples, n_features) and ``y``, then refit at ``lam_``;
        ``offset`` (n_samples,) is added to the linear predictor (here: subtracted from ``y``)."""
        return self._fit_cv(X, y, sample_weight, offset)


_COMMON_PARAMS = """
    n_lambdas : int, default=100
        Length of the λ grid.
    eps : float, optional
        ``λ_min / λ_max`` of the grid; default 1e-2 when n_samples < n_features, else 1e-4.
    lambdas : array, optional
        Your own grid (positive, strictly decreasing); overrides ``n_lambdas`` and ``eps``.
    weights : array (n_features,), optional
        Per-feature penalty factors ``c_j`` ≥ 0 (glmnet's ``penalty.factor``; 0 = unpenalized).
    cv : int, cross-validation generator or iterable, default=10
        An int is shuffled ``KFold`` (``StratifiedKFold`` for classifiers) seeded by
        ``random_state``, as cv.glmnet's random folds (contiguous folds break on sorted rows; for a
        classifier whose every class has fewer samples than folds, stratification is impossible:
        shuffled plain ``KFold``, and every training part must still hold every class); pass
        ``KFold(10)`` for scikit-learn's unshuffled folds, or any scikit-learn splitter.
    scoring : str or callable, optional
        Default ``"mse"`` for regression (averaged over the tasks of a 2-D ``y``), ``"deviance"`` for
        classes (binomial or multinomial; glmnet's defaults);
        see :mod:`penalized._scoring` for the others, including any scikit-learn scorer.
    select : {"min", "1se"}, default="min"
        Which λ the refit uses: the best mean CV score or the one-standard-error rule.
    positive, bounds : (not the multi-task estimators) as in :class:`~penalized.Lasso`: a box on the
        original-scale coefficients, also with ``standardize=True`` (glmnet's ``lower.limits`` /
        ``upper.limits``); every fold and the refit are constrained, and ``λ_max`` is the box's
        (one-sided conditions at zero). Not with ``relax=True``.
    standardize : bool, default=False
        glmnet's ``standardize=TRUE``: the penalty acts on the coefficients of the columns scaled by
        their (weighted, 1/n) standard deviations, computed on the full data for the λ grid and on
        each fold's own training part for its path; ``coef_`` is on the original scale
        (:mod:`penalized.standardize`).
    fit_intercept : bool, default=True
    tol : float, default=1e-4
        Every fit stops when its certificate is ≤ ``tol · L(0)``.
    max_iter : int, default=1000
        Maximum coordinate-descent epochs per λ.
    screening : bool or "auto", default="auto"
        Sequential strong rules with a KKT check along each path (exact; only changes the
        speed); "auto" turns them on when n_features ≥ 1000 and n_features > n_samples.
    n_jobs : int, optional
        Folds in parallel through joblib (threads unless a joblib backend is active).
    early_stop : bool or "auto", default="auto"
        glmnet's early exit of the full-data path (deviance ratio saturated; see
        :func:`penalized.regularization_path`); "auto": on for the default grid. The folds use the
        part of the grid that the full-data path reached.
    dfmax, pmax : int, optional
        glmnet's limits on the features of the full-data path (``pmax`` also on the folds; a fold
        that ends early is predicted by its last point at the remaining λ, as cv.glmnet does).
    keep : bool, default=False
        Store the prevalidated predictions ``fit_preval_`` and the folds ``foldid_`` (glmnet's
        ``keep=TRUE``).
    random_state : int, RandomState or None, default=0
        Seeds the shuffled folds of an int ``cv``.
"""

_THRESH_PARAM = """    thresh : float, optional
        glmnet's convergence rule on top of the certificate, on every path (the full data's and the
        folds'): see :func:`penalized.regularization_path`. With a loose ``tol`` (1e-2) it keeps the
        points about as close to the optimum as glmnet's where the duality gap certifies late
        (near-interpolating paths, n_features > n_samples). Default None: off.
"""

_COMMON_ATTRIBUTES = """
    lambdas_ : ndarray (n_lambdas,)
        The grid (computed on the full data, shared by the folds).
    cv_mean_, cv_std_err_ : ndarray (n_lambdas,)
        Mean held-out score and its standard error per λ.
    cv_scores_ : ndarray (n_folds, n_lambdas)
        Held-out score of every fold.
    lam_min_, lam_1se_, lam_ : float
        Best λ, the one-standard-error λ, and the one used (``select``).
    index_min_, index_1se_ : int
        Their positions in ``lambdas_``.
    path_ : PathResult
        The path on all the data (for the refit; ``path_.plot()``).
    coef_, intercept_, dual_gap_, n_iter_ : the refit at ``lam_``.
    selected_features_ : ndarray of str
        Names of the non-zero features; ``get_support()`` gives the mask.
    lambda_max_ : float
        The grid's λ_max (``nan`` for a user grid).
    scoring_ : str
        The metric's name; ``greater_is_better_`` tells a score (accuracy, …) from an error.
    n_splits_ : int
    fit_preval_ : ndarray (n_samples, n_lambdas), with ``keep=True``
        Out-of-fold predictions on the response scale (glmnet's ``fit.preval``); (n_samples,
        n_classes, n_lambdas) for the multinomial, a γ axis after the samples with ``relax=True``.
    foldid_ : ndarray (n_samples,), with ``keep=True``
        The fold that held out each sample (−1: none).

    ``predict(X, lam=...)`` (and ``predict_proba`` / ``decision_function`` for classes) predicts at
    ``lam="min"``, ``"1se"`` or any number from ``path_`` without refitting (interpolated on the λ
    scale between grid points, as glmnet's ``predict(cvfit, s=)``).
"""


class LassoCV(_RegressionPathCV):
    __doc__ = (
        """Lasso with λ chosen by K-fold cross-validation (glmnet's ``cv.glmnet``).

    Objective at each λ: ``Σ a_i (y_i − x_iᵀw − b)² + λ·Σ_j c_j|w_j|`` (mean squared
    error; scikit-learn ``alpha = λ/2``, glmnet ``lambda = λ/2``). See
    :mod:`penalized.model_selection` for the procedure and the λ_1se rule.

    Parameters
    ----------"""
        + _COMMON_PARAMS
        + """    relax : bool, default=False
        Cross-validate the relaxed lasso ``γ·w_λ + (1 − γ)·w̃_λ`` (:mod:`penalized.relaxed`)
        over ``(γ, λ)``; the refit uses ``gamma_`` and ``lam_``.
    gamma : float or list of floats in [0, 1], optional
        The γ grid for ``relax=True`` (sorted); default glmnet's ``(0, 0.25, 0.5, 0.75, 1)``.
        The 1-SE choice is the largest λ with some γ within one standard error of the best
        ``(λ, γ)``, and at that λ the largest such γ.
"""
        + _THRESH_PARAM
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRIBUTES
        + """    gamma_, gamma_min_, gamma_1se_, gammas_ : with ``relax=True``; ``cv_mean_`` etc.
        then have shape (n_gammas, n_lambdas), ``cv_scores_`` (n_folds, n_gammas, n_lambdas).
    """
    )

    def __init__(self, *, n_lambdas=100, eps=None, lambdas=None, weights=None, cv=10, scoring=None,
                 select="min", relax=False, gamma=None, positive=False, bounds=None, standardize=False,
                 fit_intercept=True, tol=1e-4, max_iter=1000, screening="auto", n_jobs=None,
                 early_stop="auto", dfmax=None, pmax=None, keep=False, random_state=0, thresh=None):
        self.thresh = thresh
        self.n_lambdas = n_lambdas
        self.eps = eps
        self.lambdas = lambdas
        self.weights = weights
        self.cv = cv
        self.scoring = scoring
        self.select = select
        self.relax = relax
        self.gamma = gamma
        self.positive = positive
        self.bounds = bounds
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.screening = screening
        self.n_jobs = n_jobs
        self.early_stop, self.dfmax, self.pmax = early_stop, dfmax, pmax
        self.keep, self.random_state = keep, random_state

    def _units(self, n_features):
        return [(1.0, v.check_path_penalty("l1", weights=self.weights, n_features=n_features))]


class ElasticNetCV(_RegressionPathCV):
    __doc__ = (
        """Elastic net with λ (and optionally ``l1_ratio``) chosen by K-fold cross-validation.

    Objective: ``Σ a_i (y_i − x_iᵀw − b)² + λ·(ρ Σ c_j|w_j| + (1−ρ)/2 Σ c_j w_j²)`` (as
    :class:`~penalized.ElasticNet`; scikit-learn ``alpha = λ/2``). Each ``l1_ratio`` has its
    own grid (its ``λ_max = max_j |g_j| / (ρ c_j)``; ``ρ = 0`` uses ``ρ = 1e-3`` for the grid,
    as glmnet); ``l1_ratio_`` is the one with the best CV score, and ``lam_1se_`` applies
    the one-standard-error rule along its path.

    Parameters
    ----------
    l1_ratio : float or list of floats in [0, 1], default=0.5
        ρ, or a grid of them to search (e.g. ``[.1, .5, .7, .9, .95, .99, 1]``)."""
        + _COMMON_PARAMS
        + _THRESH_PARAM
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRIBUTES
        + """    l1_ratio_ : float
        With a list of ``l1_ratio``, ``lambdas_``, ``cv_mean_``, ``cv_std_err_`` have shape
        (n_l1_ratios, n_lambdas) and ``cv_scores_`` (n_l1_ratios, n_folds, n_lambdas).
    """
    )

    _outer_name = "l1_ratio"

    def __init__(self, *, l1_ratio=0.5, n_lambdas=100, eps=None, lambdas=None, weights=None, cv=10,
                 scoring=None, select="min", positive=False, bounds=None, standardize=False, fit_intercept=True,
                 tol=1e-4, max_iter=1000, screening="auto", n_jobs=None,
                 early_stop="auto", dfmax=None, pmax=None, keep=False, random_state=0, thresh=None):
        self.thresh = thresh
        self.l1_ratio = l1_ratio
        self.n_lambdas = n_lambdas
        self.eps = eps
        self.lambdas = lambdas
        self.weights = weights
        self.cv = cv
        self.scoring = scoring
        self.select = select
        self.positive = positive
        self.bounds = bounds
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.screening = screening
        self.n_jobs = n_jobs
        self.early_stop, self.dfmax, self.pmax = early_stop, dfmax, pmax
        self.keep, self.random_state = keep, random_state

    def _units(self, n_features):
        return _l1_ratio_units("elasticnet", self.l1_ratio, self.weights, n_features)


def _l1_ratio_units(penalty, l1_ratio, weights, n_features):
    ratios = np.atleast_1d(l1_ratio)
    if ratios.ndim != 1 or ratios.size == 0:
        raise ValueError(f"l1_ratio must be a number in [0, 1] or a non-empty list of them, "
                         f"got {l1_ratio!r}.")
    return [(float(r), v.check_path_penalty(penalty, r, weights, n_features)) for r in ratios]


_RELAX_PARAMS = """    relax : bool, default=False
        Cross-validate the relaxed fit ``γ·w_λ + (1 − γ)·w̃_λ`` over ``(γ, λ)``: ``w̃_λ`` is the
        unpenalized refit of the same data fit on the support of ``w_λ`` (glmnet's ``relax=TRUE``;
        :mod:`penalized.relaxed_glm`); the refit uses ``gamma_`` and ``lam_``.
    gamma : float or list of floats in [0, 1], optional
        The γ grid for ``relax=True``; default glmnet's ``(0, 0.25, 0.5, 0.75, 1)``. Attributes
        ``gamma_``, ``gamma_min_``, ``gamma_1se_``, ``gammas_`` as in :class:`LassoCV`.
"""


class LogisticRegressionCV(_PathCV, LogisticRegression):
    __doc__ = (
        """Penalized logistic regression with λ chosen by K-fold cross-validation.

    Two classes: at each λ, ``Σ a_i log(1 + exp(−s_i (x_iᵀw + b))) + λ·R(w)`` (mean log-loss,
    ``s_i = ±1``, ``classes_[1]`` is +1). More classes: the multinomial model
    ``Σ a_i (−log softmax(W x_i + b)_{y_i}) + λ·R(W)`` (``W`` of shape (K, p)), as
    :class:`~penalized.LogisticRegression` fits it; ``GroupL1`` groups each feature across the
    classes. scikit-learn's ``C = 1/(n·λ)`` for ``"l1"`` and ``"elasticnet"`` (same ``l1_ratio``),
    ``C = 1/(2n·λ)`` for ``"l2"`` (its ``½‖w‖²``). Default score: the deviance ``−2 Σ a_i log p̂_i(y_i)``
    (glmnet's ``type.measure="deviance"``, binomial or multinomial: twice the mean log-loss; pass
    ``scoring="log_loss"`` for the log-loss itself — the same λ).

    Parameters
    ----------
    penalty : "l1", "l2", "elasticnet" or a penalty object, default="l1"
        ``R`` as in :func:`penalized.regularization_path` (a penalty object is scaled by λ).
    l1_ratio : float or list of floats, default=0.5
        ρ of ``"elasticnet"`` (a list is searched, as in :class:`ElasticNetCV`)."""
        + _COMMON_PARAMS
        + _RELAX_PARAMS
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRIBUTES
        + """    classes_ : ndarray
    coef_ : ndarray (1, n_features) for two classes, (n_classes, n_features) otherwise
    intercept_ : ndarray (1,) or (n_classes,)
    dual_gap_, n_iter_ : ndarray (1,)
    l1_ratio_ : float (``penalty="elasticnet"`` only)
    path_ : PathResult (coefs (n_classes, n_features, n_lambdas) for more than two classes)

    Every training part of the folds must hold every class (with positive weight): a fold
    that misses one is a ``ValueError`` naming the fold and the class (use fewer folds or a
    stratified splitter).
    """
    )

    def __init__(self, penalty="l1", *, l1_ratio=0.5, n_lambdas=100, eps=None, lambdas=None, weights=None,
                 cv=10, scoring=None, select="min", positive=False, bounds=None, standardize=False,
                 fit_intercept=True, tol=1e-4, max_iter=1000, screening="auto", n_jobs=None,
                 early_stop="auto", dfmax=None, pmax=None, keep=False, random_state=0, relax=False, gamma=None):
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.n_lambdas = n_lambdas
        self.eps = eps
        self.lambdas = lambdas
        self.weights = weights
        self.cv = cv
        self.scoring = scoring
        self.select = select
        self.relax, self.gamma = relax, gamma
        self.positive = positive
        self.bounds = bounds
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.screening = screening
        self.n_jobs = n_jobs
        self.early_stop, self.dfmax, self.pmax = early_stop, dfmax, pmax
        self.keep, self.random_state = keep, random_state

    _classifier = True
    _metric_kind = "classification"
    _cv_datafit = None  # two classes: the log-loss; more: the multinomial

    @property
    def _outer_name(self):
        return "l1_ratio" if isinstance(self.penalty, str) and self.penalty == "elasticnet" else None

    def _units(self, n_features):
        return _penalty_units(self.penalty, self.l1_ratio, self.weights, n_features)

    def decision_function(self, X, *, lam=None):
        """Decision values at the refit or at ``lam`` (``"min"``, ``"1se"``, a number), as :meth:`predict`."""
        return super(_PathCV, self._at(lam)).decision_function(X)

    def predict_proba(self, X, *, lam=None):
        """Class probabilities at the refit or at ``lam`` (``"min"``, ``"1se"``, a number), as :meth:`predict`."""
        return super(_PathCV, self._at(lam)).predict_proba(X)

    def predict_log_proba(self, X, *, lam=None):
        """Log class probabilities at the refit or at ``lam``, as :meth:`predict`."""
        return super(_PathCV, self._at(lam)).predict_log_proba(X)

    def _set_coef(self, coef, intercept, classes):
        self.classes_ = classes
        self.coef_ = np.atleast_2d(coef)
        self.intercept_ = np.atleast_1d(np.asarray(intercept, dtype=np.float64))

    def fit(self, X, y, sample_weight=None, offset=None):
        """Cross-validate λ on ``X`` and class labels ``y``, then refit at ``lam_``; ``offset``:
        (n_samples,), or (n_samples, n_classes) for more than two classes."""
        return self._fit_cv(X, y, sample_weight, offset)


def _penalty_units(penalty, l1_ratio, weights, n_features):
    """The unit penalties of a CV with ``penalty=`` (a name or an object): one, or one per
    ``l1_ratio`` for ``"elasticnet"`` with a list."""
    if isinstance(penalty, str) and penalty == "elasticnet":
        return _l1_ratio_units("elasticnet", l1_ratio, weights, n_features)
    return [(None, v.check_path_penalty(penalty, l1_ratio, weights, n_features))]


class PoissonRegressorCV(_PathCV, PoissonRegressor):
    __doc__ = (
        """Penalized Poisson regression (log link) with λ chosen by K-fold cross-validation.

    Objective at each λ: ``Σ a_i (exp(η_i) − y_i η_i) + λ·R(w)``, ``η_i = x_iᵀw + b + offset_i``
    (as :class:`~penalized.PoissonRegressor`; glum's ``alpha`` with ``l1_ratio=1`` is λ for
    ``penalty="l1"``). Default score: the mean Poisson deviance
    ``2 Σ a_i (y_i log(y_i/μ_i) − y_i + μ_i)`` on the held-out part (glmnet's
    ``type.measure="deviance"``, scikit-learn's ``mean_poisson_deviance``).

    Parameters
    ----------
    penalty : "l1", "l2", "elasticnet" or a penalty object, default="l1"
        ``R`` as in :func:`penalized.regularization_path` (a penalty object is scaled by λ).
    l1_ratio : float or list of floats, default=0.5
        ρ of ``"elasticnet"`` (a list is searched, as in :class:`ElasticNetCV`)."""
        + _COMMON_PARAMS.replace('Default ``"mse"`` for regression (averaged over the tasks of a 2-D ``y``), '
                                 '``"deviance"`` for\n        classes (binomial or multinomial; glmnet\'s defaults)',
                                 'Default ``"poisson_deviance"``; also ``"mse"``, ``"mae"`` (on ``μ = exp(η)``)')
        + _RELAX_PARAMS
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRIBUTES
        + """    l1_ratio_ : float (``penalty="elasticnet"`` with a list)

    ``fit(X, y, sample_weight=None, offset=None)`` and ``predict(X, offset=None)`` (the expected
    counts): with exposures, ``offset = log(exposure)`` in both.
    """
    )

    def __init__(self, penalty="l1", *, l1_ratio=0.5, n_lambdas=100, eps=None, lambdas=None, weights=None,
                 cv=10, scoring=None, select="min", positive=False, bounds=None, standardize=False,
                 fit_intercept=True, tol=1e-4, max_iter=1000, screening="auto", n_jobs=None,
                 early_stop="auto", dfmax=None, pmax=None, keep=False, random_state=0, relax=False, gamma=None):
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.n_lambdas = n_lambdas
        self.eps = eps
        self.lambdas = lambdas
        self.weights = weights
        self.cv = cv
        self.scoring = scoring
        self.select = select
        self.relax, self.gamma = relax, gamma
        self.positive = positive
        self.bounds = bounds
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.screening = screening
        self.n_jobs = n_jobs
        self.early_stop, self.dfmax, self.pmax = early_stop, dfmax, pmax
        self.keep, self.random_state = keep, random_state

    _metric_kind = "poisson"
    _cv_datafit = Poisson()

    @property
    def _outer_name(self):
        return "l1_ratio" if isinstance(self.penalty, str) and self.penalty == "elasticnet" else None

    def _units(self, n_features):
        return _penalty_units(self.penalty, self.l1_ratio, self.weights, n_features)

    def _scoring_prototype(self):
        return PoissonRegressor()

    def _set_coef(self, coef, intercept, classes):
        self.coef_ = coef
        self.intercept_ = float(intercept)

    def fit(self, X, y, sample_weight=None, offset=None):
        """Cross-validate λ on ``X`` and counts ``y`` ≥ 0, then refit at ``lam_``; ``offset``
        (n_samples,) is added to the linear predictor (``log(exposure)`` for rates)."""
        return self._fit_cv(X, y, sample_weight, offset)


class MultiTaskLassoCV(_RegressionPathCV, MultiTaskLasso):
    __doc__ = (
        """Multi-task lasso with λ chosen by K-fold cross-validation.

    Objective at each λ: ``Σ_i a_i ‖y_i − W x_i − b‖² + λ·Σ_j c_j ‖W_{:,j}‖₂`` (as
    :class:`~penalized.MultiTaskLasso`; scikit-learn's ``alpha = λ/2``): a feature is selected
    for all tasks or none. ``y`` of shape (n, T). Default score: the mean squared error over the
    held-out samples and the tasks (scikit-learn's ``MultiTaskLassoCV.mse_path_``).

    Parameters
    ----------"""
        + _COMMON_PARAMS
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRIBUTES
        + """    coef_ : ndarray (n_tasks, n_features); intercept_ : ndarray (n_tasks,)
    path_ : PathResult with coefs (n_tasks, n_features, n_lambdas)
    """
    )

    def __init__(self, *, n_lambdas=100, eps=None, lambdas=None, weights=None, cv=10, scoring=None, select="min",
                 standardize=False, fit_intercept=True, tol=1e-4, max_iter=1000, screening="auto", n_jobs=None,
                 early_stop="auto", dfmax=None, pmax=None, keep=False, random_state=0):
        self.n_lambdas = n_lambdas
        self.eps = eps
        self.lambdas = lambdas
        self.weights = weights
        self.cv = cv
        self.scoring = scoring
        self.select = select
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.screening = screening
        self.n_jobs = n_jobs
        self.early_stop, self.dfmax, self.pmax = early_stop, dfmax, pmax
        self.keep, self.random_state = keep, random_state

    def _units(self, n_features):
        return [(1.0, _multi_task_unit(1.0, self.weights, n_features))]

    def _scoring_prototype(self):
        return MultiTaskLasso()

    def fit(self, X, y, sample_weight=None, offset=None):
        """Cross-validate λ on ``X`` and ``y`` (n_samples, n_tasks), then refit at ``lam_``; ``offset``:
        (n_samples,) or (n_samples, n_tasks), added to the linear predictor."""
        return self._fit_cv(X, y, sample_weight, offset)


def _multi_task_unit(l1_ratio, weights, n_features):
    """``GroupL1(ρ) + L2((1 − ρ)/2)`` over each feature's T coefficients (``MultiTaskElasticNet(λ, ρ)``'s
    penalty at ``λ = 1``)."""
    from .penalties import L2, GroupL1, check_penalty_weights

    rho = float(v.check_l1_ratio(l1_ratio))
    c = check_penalty_weights(weights, n_features)
    if rho == 0:
        return L2(0.5, weights=c)
    group = GroupL1(rho, weights=c)
    return group if rho == 1 else group + L2((1.0 - rho) / 2.0, weights=c)


class MultiTaskElasticNetCV(MultiTaskLassoCV):
    __doc__ = (
        """Multi-task elastic net with λ (and optionally ``l1_ratio``) chosen by K-fold cross-validation.

    Objective at each λ: ``Σ_i a_i ‖y_i − W x_i − b‖² + λ·(ρ Σ_j c_j ‖W_{:,j}‖₂ + (1 − ρ)/2 Σ_j c_j
    ‖W_{:,j}‖²)`` (as :class:`~penalized.MultiTaskElasticNet`; scikit-learn's ``alpha = λ/2``). Each
    ``l1_ratio`` has its own grid (``λ_max = max_j ‖g_j‖ / (ρ c_j)``).

    Parameters
    ----------
    l1_ratio : float or list of floats in [0, 1], default=0.5"""
        + _COMMON_PARAMS
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRIBUTES
        + """    l1_ratio_ : float
    coef_ : ndarray (n_tasks, n_features); intercept_ : ndarray (n_tasks,)
    """
    )

    _outer_name = "l1_ratio"

    def __init__(self, *, l1_ratio=0.5, n_lambdas=100, eps=None, lambdas=None, weights=None, cv=10, scoring=None,
                 select="min", standardize=False, fit_intercept=True, tol=1e-4, max_iter=1000, screening="auto",
                 n_jobs=None, early_stop="auto", dfmax=None, pmax=None, keep=False, random_state=0):
        self.l1_ratio = l1_ratio
        super().__init__(n_lambdas=n_lambdas, eps=eps, lambdas=lambdas, weights=weights, cv=cv, scoring=scoring,
                         select=select, standardize=standardize, fit_intercept=fit_intercept, tol=tol,
                         max_iter=max_iter, screening=screening, n_jobs=n_jobs, early_stop=early_stop, dfmax=dfmax,
                         pmax=pmax, keep=keep, random_state=random_state)

    def _units(self, n_features):
        ratios = np.atleast_1d(self.l1_ratio)
        if ratios.ndim != 1 or ratios.size == 0:
            raise ValueError(f"l1_ratio must be a number in [0, 1] or a non-empty list of them, "
                             f"got {self.l1_ratio!r}.")
        return [(float(r), _multi_task_unit(r, self.weights, n_features)) for r in ratios]

    def _scoring_prototype(self):
        from .linear_model import MultiTaskElasticNet

        return MultiTaskElasticNet()
