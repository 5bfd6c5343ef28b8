"""Paths and cross-validation of the squared error on Dask input: one pass, then the client.

Pass 0 computes the co-moments of ``[X, y]`` separately for every fold's held-out part
(and the samples no fold holds out). Chan's merge then gives, without another pass, the
Gram statistics of every training part (all the other parts) and of the full data, so
that every fold's λ path (warm starts along the grid, in Gram mode), the held-out mean
squared errors (a quadratic form in the held-out part's statistics) and the refit on
all the data run on the client — or, through joblib, on the cluster: the fold paths are
joblib tasks like the in-memory ones (``with joblib.parallel_backend("dask")`` ships each
fold's ``p × p`` statistics to a worker). ``scoring="mae"`` costs one more pass.

The procedure, the λ grid, the selection rules and the fitted attributes are those of
:mod:`penalized.model_selection` and :mod:`penalized.path`.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed

from .. import _validation as v
from .._scoring import resolve_metric
from ..cv_rule import _FoldOutcome, cv_statistics, default_folds, select_lambda
from ..path_result import RIDGE_L1_RATIO, PathArrays, default_eps, lambda_grid, make_result
from ..solvers.coordinate_descent import _ROUNDING_FLOOR
from . import bridge, newton
from . import chunks as C
from .data import prepare
from .newton import check_partial, summary_of


def _require_gram(p, what):
    if p > newton.GRAM_MAX_FEATURES:
        raise ValueError(
            f"{what} on Dask input computes the Gram statistics of the folds: it needs at most "
            f"{newton.GRAM_MAX_FEATURES} features, X has {p}. Fit Lasso/ElasticNet at chosen λ values instead "
            "(they take any number of features).")


def _refuse_groups(units, what, p):
    """Paths on Dask input run the elastic-net family (their λ_max and Gram path); a group penalty's
    path is not distributed yet (single fits are)."""
    for unit in units:
        if bridge.as_view(unit, p).grouped:
            raise NotImplementedError(
                f"{what} on Dask input runs L1, L2 and L1L2 paths; {unit!r} is a group penalty, whose path is not "
                "distributed yet. Fit LinearRegression(penalty=GroupL1(...)) on the Dask data at chosen λ values.")


# -------------------------------------------------------------------------------- λ_max
def gram_lambda_max(summary, unit, fit_intercept, tol=1e-4):
    """``(λ_max, (w, b))`` of :func:`penalized.path.lambda_max` from the Gram statistics: the largest
    of the penalty's ``zero_levels`` (else its ``ridge_lambda_max``) at the gradient of the fit of
    the unpenalized part (intercept and features with ``c_j = 0``)."""
    G, c, yy = summary.gram(fit_intercept)
    p = c.shape[0]
    view = bridge.as_view(unit, p)
    free = view.free
    w = np.zeros(p)
    if free.any():
        F = np.flatnonzero(free)
        sol = bridge.solve_penalized_quadratic(G[np.ix_(F, F)], c[F], yy, None, np.zeros(F.size),
                                               min(1e-2 * tol, 1e-10) * max(yy, 1e-300), 100_000)
        w[F] = sol.coef
    grad = 2.0 * (G @ w - c)
    levels = view.zero_levels(grad)
    finite = np.isfinite(levels)
    lam = float(np.max(levels[finite])) if finite.any() else unit.ridge_lambda_max(grad, RIDGE_L1_RATIO)
    if not np.isfinite(lam) or lam <= 0.0:
        lam = float(np.finfo(np.float64).resolution)
    b = float(summary.ybar - summary.mu @ w) if fit_intercept else 0.0
    return lam, (w, b)


# ----------------------------------------------------------------------------------- paths
def gram_path(summary, unit, lambdas, *, fit_intercept, tol, max_iter, start=None):
    """The path ``L_data + unit.scaled(λ_k)`` on the Gram statistics of ``summary`` (warm starts)."""
    G, c, yy = summary.gram(fit_intercept)
    p, k = c.shape[0], len(lambdas)
    threshold = max(tol * yy, _ROUNDING_FLOOR * (summary.yvar + summary.ybar ** 2))
    out = PathArrays(np.zeros((p, k)), np.zeros(k), np.zeros(k), np.full(k, threshold), np.zeros(k, dtype=int),
                     np.zeros(k, dtype=bool), np.zeros(k))
    w = np.zeros(p) if start is None else np.array(start[0], dtype=np.float64)
    for i, lam in enumerate(lambdas):
        sol = bridge.solve_penalized_quadratic(G, c, yy, unit.scaled(lam), w, 0.3 * threshold, max_iter)
        w = sol.coef
        out.coefs[:, i] = w
        out.intercepts[i] = float(summary.ybar - summary.mu @ w) if fit_intercept else 0.0
        out.certificates[i] = sol.certificate
        out.n_iter[i] = sol.epochs
        out.converged[i] = sol.certificate <= threshold
        out.train_loss[i] = max(float(yy - 2.0 * c @ w + w @ (G @ w)), 0.0)
    return out


def _test_mse(test, coefs, intercepts):
    """Weighted mean of ``(y − Xw − b)²`` over a held-out part, for every column of ``coefs``."""
    p = coefs.shape[0]
    W = test.W
    Gt = test.block[:p, :p] / W
    ct = test.block[:p, p] / W
    var = float(test.block[p, p] / W) - 2.0 * (ct @ coefs) + np.einsum("jk,jk->k", coefs, Gt @ coefs)
    bias = test.mean[p] - test.mean[:p] @ coefs - intercepts
    return np.maximum(var, 0.0) + bias * bias


# ----------------------------------------------------------------------------------- folds
def _fold_labels(est, data):
    """``(labels, n_folds)``: the held-out fold of every sample (``n_folds`` for none)."""
    from sklearn.model_selection import check_cv

    n = data.n_samples
    if isinstance(est.cv, int) and not isinstance(est.cv, bool):
        if est.cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got cv={est.cv}.")
        v.check_n_splits(est.cv, n)
    cv = est.cv
    if isinstance(cv, int) and not isinstance(cv, bool):  # the in-memory default: shuffled, seeded
        cv = default_folds(cv, False, getattr(est, "random_state", 0))
    splitter = check_cv(cv, None, classifier=False)
    try:
        splits = list(splitter.split(np.zeros((n, 1))))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "with Dask input, cv must split the samples by position alone (an int, KFold, ShuffleSplit "
            f"with disjoint test sets, or an iterable of (train, test) indices); {type(splitter).__name__} "
            f"needs more: {exc}") from None
    labels = np.full(n, len(splits), dtype=np.int32)
    for f, (train, test) in enumerate(splits):
        test = np.asarray(test)
        if np.any(labels[test] != len(splits)) or len(train) + len(test) != n or \
                np.intersect1d(train, test).size:
            raise ValueError(
                "with Dask input, the cross-validation folds must hold out disjoint sets of samples and train "
                "on all the others (as KFold does): the training statistics of a fold are those of the other "
                f"folds' held-out parts. Fold {f} does not.")
        labels[test] = f
    return labels, len(splits)


def _fold_path(train, test, unit, grid, solver, metric):
    arrays = gram_path(train, unit, grid, **solver)
    scores = None
    if metric == "mse":
        scores = _test_mse(test, arrays.coefs, arrays.intercepts)[None]
    return arrays, scores


def fit_cv(est, X, y, sample_weight=None, offset=None):
    """``_PathCV._fit_cv`` on Dask input (squared error; see the module docstring)."""
    name = type(est).__name__
    if not est._classifier and (type(est._cv_datafit).__name__ != "SquaredError"
                                or getattr(est, "_requires_2d_y", False) or getattr(y, "ndim", 1) > 1):
        raise NotImplementedError(f"{name} does not take Dask input: cross-validation on Dask input is LassoCV's "
                                  "and ElasticNetCV's (the squared error, one target).")
    if offset is not None:
        raise NotImplementedError(f"{name}.fit(offset=...) does not take Dask input.")
    if getattr(est, "dfmax", None) is not None or getattr(est, "pmax", None) is not None or \
            getattr(est, "keep", False) or getattr(est, "early_stop", "auto") is True:
        raise NotImplementedError(f"{name} on Dask input runs the whole λ grid: it takes no dfmax=, pmax=, keep=True "
                                  "or early_stop=True (compute X to NumPy for them).")
    if est._classifier:
        raise NotImplementedError(
            f"{name} does not take Dask collections yet (the log-loss has no sufficient statistics: every λ "
            "of every fold would cost several passes over the data). Use LogisticRegression(penalty=...) on "
            "the Dask data at chosen λ values, or cross-validate on a sample that fits in memory.")
    est._check_cv_params()
    if est._gammas() is not None:
        raise NotImplementedError(f"{name}(relax=True) does not take Dask collections yet: its unpenalized refits "
                                  "on every support (least squares here, which the one pass's Gram statistics would "
                                  "allow) are not distributed. Use relax=False (or compute X to NumPy).")
    metric = resolve_metric(est.scoring, False)
    if metric.scorer is not None or metric.name not in ("mse", "mae"):
        raise ValueError(f"with Dask input, {name} scores folds with 'mse' or 'mae'; got scoring={est.scoring!r}.")
    data = prepare(X, y, sample_weight, classifier=False)
    p = data.n_features
    _require_gram(p, name)
    outers = est._units(p)
    _refuse_groups([unit for _, unit in outers], name, p)
    if data.row_chunks is None:  # a DataFrame: partition lengths are needed to place the folds
        rows = data.run(C.count_chunk).rows
        data.row_chunks = tuple(rows[i] for i in range(data.n_chunks))
        data.n_samples = int(sum(data.row_chunks))
    labels, n_folds = _fold_labels(est, data)
    part = data.run(C.moments_chunk, C.Target(), gram=True, n_parts=n_folds + 1,
                    per_chunk={"labels": data.chunked_like_X(labels)})
    check_partial(part)
    parts = [part.moments[f"part{f}"] for f in range(n_folds + 1)]
    n = data.n_samples

    def merged(skip):
        out = None
        for f, m in enumerate(parts):
            if f != skip:
                out = m if out is None else out.merge(m)
        return out

    def summary(m, count):
        return summary_of(m, p, n_samples=count)

    full = summary(merged(-1), n)
    trains = [summary(merged(f), n - int(np.sum(labels == f))) for f in range(n_folds)]
    solver = dict(fit_intercept=est.fit_intercept, tol=est.tol, max_iter=est.max_iter)
    grids = []
    for _, unit in outers:
        if est.lambdas is not None:
            grids.append((v.check_lambda_grid(est.lambdas), float("nan"), None))
            continue
        lam_max, start = gram_lambda_max(full, unit, est.fit_intercept, est.tol)
        eps = default_eps(n, p) if est.eps is None else est.eps
        grids.append((lambda_grid(lam_max, est.n_lambdas, eps), lam_max, start))
    tasks = [(o, f) for o in range(len(outers)) for f in range(n_folds)]
    results = Parallel(n_jobs=est.n_jobs, prefer="threads")(
        delayed(_fold_path)(trains[f], parts[f], outers[o][1], grids[o][0], solver, metric.name) for o, f in tasks)
    k = len(grids[0][0])
    scores = np.empty((len(outers), n_folds, 1, k))
    if metric.name == "mse":
        for (o, f), (_, s) in zip(tasks, results, strict=True):
            scores[o, f] = s
    else:  # mae: one more pass, every fold's models on its held-out rows
        for o in range(len(outers)):
            coefs = np.stack([results[o * n_folds + f][0].coefs for f in range(n_folds)])
            intercepts = np.stack([results[o * n_folds + f][0].intercepts for f in range(n_folds)])
            sums = data.run(C.absolute_error_chunk, coefs, intercepts, C.Target(),
                            per_chunk={"labels": data.chunked_like_X(labels)}).sums["mae"]
            scores[o, :, 0] = sums / np.array([parts[f].W for f in range(n_folds)])[:, None]
    weights = np.array([parts[f].W for f in range(n_folds)])
    outcomes = [_FoldOutcome(scores=scores[o, f], weight=float(weights[f]), certificates=a.certificates,
                             thresholds=a.thresholds, converged=a.converged, lambdas=grids[o][0])
                for (o, f), (a, _) in zip(tasks, results, strict=True)]
    mean, se = cv_statistics(np.moveaxis(scores, 1, 0), weights)
    o_best = est._select_outer(mean, metric.greater_is_better)
    (r_min, k_min), (r_1se, k_1se) = select_lambda(mean[o_best], se[o_best], metric.greater_is_better)
    grid, lam_max, start = grids[o_best]
    unit = outers[o_best][1]
    full_path = gram_path(full, unit, grid, start=start, **solver)
    est._store(outers, grids, scores, mean, se, metric, o_best, (r_min, k_min), (r_1se, k_1se), None)
    est.n_features_in_ = p
    if data.feature_names is not None:
        est.feature_names_in_ = data.feature_names
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    k_sel = k_min if est.select == "min" else k_1se
    names = data.feature_names if data.feature_names is not None else np.array(
        [f"x{j}" for j in range(p)], dtype=object)
    est.path_ = make_result(full_path, grid, unit, est._datafit, lam_max, names, None, est.tol)
    est._set_coef(full_path.coefs[:, k_sel].copy(), float(full_path.intercepts[k_sel]), None)
    est.dual_gap_ = float(full_path.certificates[k_sel])
    est.n_iter_ = int(full_path.n_iter[k_sel])
    est._warn(outcomes, full_path, grid)
    return est


def regularization_path(X, y, penalty="l1", *, l1_ratio=0.5, weights=None, datafit="squared_error",
                        lambdas=None, n_lambdas=100, eps=None, sample_weight=None, fit_intercept=True,
                        tol=1e-4, max_iter=1000, screening="auto"):
    """:func:`penalized.regularization_path` on Dask input (squared error): one pass, then Gram mode."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from ..path_result import convergence_message, resolve_datafit

    fit = resolve_datafit(datafit)
    if type(fit).__name__ != "SquaredError":
        raise NotImplementedError(
            f"regularization_path on Dask input takes datafit='squared_error' ({type(fit).__name__} has no "
            "sufficient statistics); fit LogisticRegression or PoissonRegressor at chosen λ values instead.")
    v.check_path_solver_params(tol, max_iter, fit_intercept)
    v.check_screening(screening)
    data = prepare(X, y, sample_weight, classifier=False)
    p = data.n_features
    _require_gram(p, "regularization_path")
    unit = v.check_path_penalty(penalty, l1_ratio, weights, p)
    _refuse_groups([unit], "regularization_path", p)
    part = data.run(C.moments_chunk, C.Target(), gram=True)
    check_partial(part)
    full = summary_of(part.moments["all"], p, n_samples=int(sum(part.rows.values())))
    if lambdas is None:
        v.check_grid_params(n_lambdas, eps)
        lam_max, start = gram_lambda_max(full, unit, fit_intercept, tol)
        grid = lambda_grid(lam_max, n_lambdas, default_eps(full.n_samples, p) if eps is None else eps)
    else:
        grid, lam_max, start = v.check_lambda_grid(lambdas), float("nan"), None
    arrays = gram_path(full, unit, grid, fit_intercept=fit_intercept, tol=tol, max_iter=max_iter, start=start)
    if not arrays.converged.all():
        warnings.warn(convergence_message("regularization_path", arrays.certificates, arrays.thresholds,
                                          arrays.converged, grid, tol, max_iter), ConvergenceWarning, stacklevel=2)
    names = data.feature_names if data.feature_names is not None else np.array(
        [f"x{j}" for j in range(p)], dtype=object)
    return make_result(arrays, grid, unit, fit, lam_max, names, None, tol)
