"""Regularized models for a user's own table: what ``penalized fit`` and ``penalized path`` do.

:func:`fit_table` reads and checks a CSV file (:mod:`penalized.table_input`), builds a
scikit-learn pipeline — standardize numeric columns, one-hot encode (then standardize)
low-cardinality text columns, fit a penalized linear model — chooses λ by
cross-validation or takes it fixed, and returns the fitted pipeline with the selected
features, the metrics and the figures (path and CV curve). :func:`path_table` computes
and draws the regularization path of a table.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from . import _validation as v
from .plots import cv_axes, figure, path_axes, style
from .table_input import check_cv_folds, check_table, read_csv_table

PENALTIES = ("l1", "l2", "elasticnet")


def load_table(data, target, task="auto", max_levels=20, offset=None):
    """Read and check ``data`` (a CSV path or a DataFrame); ``offset``: the name of an offset column
    (Poisson)."""
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        frame, source = read_csv_table(data), repr(str(data))
    else:
        frame, source = data, "the table"
    return check_table(frame, target, task=task, max_levels=max_levels, source=source, offset=offset)


def preprocessor(table):
    """Standardize numeric columns; one-hot encode and standardize text columns."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts = []
    if table.numeric:
        parts.append(("num", StandardScaler(), list(table.numeric)))
    if table.categorical:
        parts.append(("cat", make_pipeline(OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                                           StandardScaler()), list(table.categorical)))
    return ColumnTransformer(parts, verbose_feature_names_out=False)


def estimator(task, penalty, lam, l1_ratio=0.5):
    """The penalized estimator for a task, a penalty name and a fixed λ."""
    import penalized as pz

    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {', '.join(PENALTIES)}, got {penalty!r}.")
    v.check_strength(lam, "lam")
    if task == "regression":
        if penalty == "l1":
            return pz.Lasso(lam=lam, tol=1e-6, max_iter=10_000)
        if penalty == "l2":
            return pz.Ridge(lam=lam, tol=1e-6, max_iter=10_000)
        return pz.ElasticNet(lam=lam, l1_ratio=l1_ratio, tol=1e-6, max_iter=10_000)
    # the paths' and the CV estimators' penalty at λ (elastic net: l1 = ρλ, l2 = (1 − ρ)λ/2)
    at_lam = v.check_path_penalty(penalty, l1_ratio).scaled(lam)
    if task == "poisson":
        return pz.PoissonRegressor(penalty=at_lam, tol=1e-6, max_iter=10_000)
    # two classes: the log-loss; more: the multinomial model
    return pz.LogisticRegression(penalty=at_lam, tol=1e-6, max_iter=10_000)


def folds(task, k):
    """``k`` shuffled folds with a fixed seed (stratified for classes): a table may be sorted
    (by the target, by class), and then unshuffled folds are not random samples."""
    from sklearn.model_selection import KFold, StratifiedKFold

    return (StratifiedKFold if task == "classification" else KFold)(k, shuffle=True, random_state=0)


def cv_estimator(task, penalty, cv, l1_ratio=0.5, select="1se"):
    """``(estimator, scale)``: the library's cross-validated estimator for this case and
    the factor turning its λ into the λ of :func:`estimator`.

    L2 least squares is ``ElasticNetCV(l1_ratio=0)`` (there is no ``RidgeCV``), whose
    penalty ``λ·(1/2)·Σw²`` is ``Ridge(λ/2)``: the scale is 1/2. Its grid starts at the
    elastic net's ``λ_max`` at ``l1_ratio = 1e-3`` (glmnet's convention for ridge), which is
    ``2 × pz.lambda_max(X, y, "l2")`` — the same grid on Ridge's scale.
    """
    import penalized as pz

    if task == "regression":
        if penalty == "l1":
            return pz.LassoCV(cv=cv, select=select), 1.0
        if penalty == "elasticnet":
            return pz.ElasticNetCV(l1_ratio=l1_ratio, cv=cv, select=select), 1.0
        return pz.ElasticNetCV(l1_ratio=0.0, cv=cv, select=select), 0.5
    if task == "poisson":
        return pz.PoissonRegressorCV(penalty=penalty, l1_ratio=l1_ratio, cv=cv, select=select), 1.0
    return pz.LogisticRegressionCV(penalty=penalty, l1_ratio=l1_ratio, cv=cv, select=select), 1.0


def _datafit(task, y):
    """The data fit of a task: least squares, Poisson, the log-loss for two classes, the
    multinomial for more (what ``LogisticRegression`` fits)."""
    if task == "classification":
        return "logistic" if np.unique(y).shape[0] == 2 else "multinomial"
    return "poisson" if task == "poisson" else "squared_error"


def _grid(Xs, y, task, penalty, l1_ratio=0.5, n_lambdas=50, offset=None):
    """The path's grid: from ``pz.lambda_max`` down to 1/100 of it (``n < p``, classes or counts)
    or 1/1000; for L2, whose ``λ_max`` is glmnet's convention (no coefficient is ever zero), six
    decades, down to a nearly unpenalized fit."""
    import penalized as pz
    from penalized.path import lambda_grid

    lam_max = pz.lambda_max(Xs, y, penalty, l1_ratio=l1_ratio, datafit=_datafit(task, y), offset=offset)
    n, p = Xs.shape
    eps = 1e-6 if penalty == "l2" else 1e-2 if (n < p or task != "regression") else 1e-3
    return lambda_grid(lam_max, n_lambdas, eps)


def _path(Xs, y, task, penalty, lambdas, l1_ratio=0.5, offset=None):
    """Coefficients along ``lambdas`` (``pz.regularization_path``): (p, k), or (n_classes, p, k) for
    the multinomial model (more than two classes)."""
    import penalized as pz

    return pz.regularization_path(Xs, y, penalty, l1_ratio=l1_ratio, datafit=_datafit(task, y), lambdas=lambdas,
                                  tol=1e-6, max_iter=5000, offset=offset).coefs


def _path_figure(grid, coefs, names, marks, title, max_named=10):
    coefs2 = coefs if coefs.ndim == 2 else np.sqrt((coefs**2).sum(axis=0))  # multiclass: norm
    strongest = np.argsort(-np.abs(coefs2[:, -1]))[:max_named]
    highlight = np.zeros(coefs2.shape[0], dtype=bool)
    highlight[strongest] = True
    fig, ax = figure(width=7.0, height=4.6)
    named = np.array(names, dtype=object)
    path_axes(ax, grid, coefs2, names=[n if h else None for n, h in zip(named, highlight, strict=True)],
              highlight=highlight, lam_marks=marks, title=title)
    if coefs.ndim == 3:
        ax.set_ylabel("‖coefficients over classes‖₂")
    if highlight.sum() <= 12:
        ax.legend(fontsize=8, frameon=False, loc="upper left")
    return fig


def path_table(table, penalty="l1", l1_ratio=0.5, n_lambdas=50):
    """The regularization path of a checked table: ``Bunch(lambdas, coefs, names, entry, figure)``."""
    prep = preprocessor(table)
    Xs = prep.fit_transform(table.X)
    names = list(prep.get_feature_names_out())
    offset = table.get("offset")
    grid = _grid(Xs, table.y, table.task, penalty, l1_ratio, n_lambdas, offset)
    coefs = _path(Xs, table.y, table.task, penalty, grid, l1_ratio, offset)
    nz = (coefs != 0) if coefs.ndim == 2 else (coefs != 0).any(axis=0)
    first = [int(np.flatnonzero(row)[0]) if row.any() else None for row in nz]
    order = sorted((k, names[j]) for j, k in enumerate(first) if k is not None)
    fig = _path_figure(grid, coefs, names, {}, f"{penalty.upper()} path: {table.target} "
                       f"({table.task}, {len(names)} features)")
    return Bunch(lambdas=grid, coefs=coefs, names=names, n_nonzero=nz.sum(axis=0),
                 entry_order=[name for _, name in order], figure=fig)


def fit_table(table, *, penalty="l1", lam=None, cv=5, l1_ratio=0.5, select="1se", n_lambdas=50):
    """Fit a penalized model on a checked table (:func:`load_table`).

    With ``lam`` the model is fitted at that λ; otherwise λ is chosen by ``cv``-fold
    cross-validation (the library's CV estimators, on shuffled folds: :func:`folds`). The
    metrics include a cross-validated score at the final λ, on the same folds (or on 5,
    capped by the data, with a fixed ``lam``). Classes: the log-loss for two, the multinomial
    model for more; ``task="poisson"``: Poisson regression with the table's offset column.

    Returns a ``Bunch`` with ``pipeline`` (fitted, takes a DataFrame of the feature
    columns; for Poisson with an offset, ``pipeline.predict(frame, offset=...)``), ``lam``,
    ``coefficients`` (rows of (feature, coefficient(s)) for the non-zero ones), ``metrics``,
    ``figures`` and ``notes``.
    """
    from sklearn.pipeline import Pipeline

    task, y = table.task, table.y
    offset = table.get("offset")
    classification = task == "classification"
    prep = preprocessor(table)
    Xs = prep.fit_transform(table.X)
    names = list(prep.get_feature_names_out())
    notes = []
    cv_curve = None
    fit_params = {} if offset is None else {"offset": offset}
    if lam is None:
        check_cv_folds(table, cv)
        cv_est, scale = cv_estimator(task, penalty, folds(task, cv), l1_ratio, select)
        cv_est.fit(Xs, y, **fit_params)
        lam = scale * float(cv_est.lam_)
        cv_curve = {"lambdas": scale * cv_est.lambdas_, "mean": cv_est.cv_mean_, "se": cv_est.cv_std_err_,
                    "score": cv_est.scoring_,
                    "marks": {"λ_min": scale * cv_est.lam_min_, "λ_1se": scale * cv_est.lam_1se_}}
        notes.append(f"λ chosen by {cv}-fold cross-validation ({type(cv_est).__name__}, select={select!r})")
        n_folds = cv
    else:
        notes.append(f"λ fixed at {lam:g} (--lam)")
        n_folds = min(5, len(y))
        if classification:
            n_folds = min(n_folds, int(np.unique(y, return_counts=True)[1].min()))
    model = estimator(task, penalty, lam, l1_ratio).fit(Xs, y, **fit_params)
    pipeline = Pipeline([("prepare", prep), ("model", model)])

    coef = np.atleast_2d(model.coef_)
    nonzero = np.flatnonzero(np.any(coef != 0, axis=0))
    order = nonzero[np.argsort(-np.abs(coef[:, nonzero]).max(axis=0))]
    if classification and coef.shape[0] > 1:
        labels = [f"coef ({c})" for c in model.classes_]
        notes.append(f"multinomial model: one coefficient per class and feature ({coef.shape[0]} classes, "
                     "softmax probabilities)")
    elif classification:
        labels = [f"coef (+ = {model.classes_[1]})"]
    elif task == "poisson":
        labels = ["coef (log rate)"]
        if offset is not None:
            notes.append(f"offset column {table.offset_name!r} added to the linear predictor (log rate = Xw + b + "
                         "offset); predict with pipeline.predict(frame, offset=...)")
    else:
        labels = ["coef"]
    coefficients = [(names[j], *[float(c) for c in coef[:, j]]) for j in order]

    metrics = {"rows": int(len(y)), "features after encoding": len(names), "λ": float(lam),
               "features selected": int(nonzero.size)}
    if classification:
        metrics["classes"] = [str(c) for c in model.classes_]
        metrics["training accuracy"] = float(np.mean(model.predict(Xs) == y))
        metrics["training log-loss"] = float(_log_loss(y, model.predict_proba(Xs), model.classes_))
    elif task == "poisson":
        mu = model.predict(Xs, offset=offset)
        metrics["training mean Poisson deviance"] = float(_poisson_deviance(y, mu))
        metrics["training D² (deviance explained)"] = _d2(y, mu)
    else:
        pred = model.predict(Xs)
        metrics["training MSE"] = float(np.mean((pred - y) ** 2))
        metrics["training R²"] = float(1 - np.mean((pred - y) ** 2) / np.var(y)) if np.var(y) > 0 else None
    if n_folds >= 2:
        metrics.update(_cv_metrics(table, task, penalty, lam, l1_ratio, n_folds))
        if cv_curve is not None:
            notes.append("the CV scores are at the λ chosen with the same folds, so slightly optimistic")
    else:
        notes.append("too few rows per class for a cross-validated score")

    grid = _grid(Xs, y, task, penalty, l1_ratio, n_lambdas, offset)
    if grid[-1] > lam or grid[0] < lam:  # widen the grid to show the chosen λ
        grid = np.geomspace(max(grid[0], lam * 1.5), min(grid[-1], lam / 1.5), n_lambdas)
    coefs = _path(Xs, y, task, penalty, grid, l1_ratio, offset)
    marks = dict(cv_curve["marks"]) if cv_curve else {"λ (--lam)": float(lam)}
    figures = {"path": _path_figure(grid, coefs, names, marks, f"{penalty.upper()} path of {table.target!r}")}
    if cv_curve is not None:
        fig, ax = figure(width=7.0, height=4.4)
        cv_axes(ax, cv_curve["lambdas"], cv_curve["mean"], cv_curve["se"], cv_curve["marks"],
                f"{cv}-fold CV {cv_curve['score']} ± 1 s.e.")
        style(ax, title="Cross-validation curve", xlabel="λ (log scale, decreasing →)",
              ylabel=f"CV {cv_curve['score']}")
        figures["cv"] = fig
    return Bunch(pipeline=pipeline, lam=float(lam), coefficients=coefficients, coef_labels=labels,
                 metrics=metrics, figures=figures, notes=notes, names=names, task=task,
                 cv_curve=cv_curve)


def _log_loss(y, proba, classes):
    idx = np.searchsorted(classes, y)
    return -np.mean(np.log(np.clip(proba[np.arange(len(y)), idx], 1e-300, None)))


def _poisson_deviance(y, mu):
    from sklearn.metrics import mean_poisson_deviance

    return mean_poisson_deviance(y, mu)


def _d2(y, mu):
    """The fraction of Poisson deviance explained, against the mean count (None when y is constant)."""
    null = _poisson_deviance(y, np.full(len(y), np.mean(y)))
    return float(1.0 - _poisson_deviance(y, mu) / null) if null > 0 else None


def _cv_metrics(table, task, penalty, lam, l1_ratio, n_folds):
    """Held-out metrics of the whole pipeline (preprocessing fitted on each training part) at ``lam``,
    on :func:`folds`: accuracy (and balanced) and log-loss for classes, MSE and R² for numbers, mean
    Poisson deviance and D² for counts (with the offset of each part)."""
    from sklearn.base import clone
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, mean_squared_error, r2_score
    from sklearn.pipeline import Pipeline

    y, offset = table.y, table.get("offset")
    key = f"{n_folds}-fold CV"
    names = {"classification": ("accuracy", "balanced accuracy", "log-loss"), "regression": ("MSE", "R²"),
             "poisson": ("mean Poisson deviance", "D² (deviance explained)")}[task]
    scores = {name: [] for name in names}
    for train, test in folds(task, n_folds).split(table.X, y):
        pipe = Pipeline([("prepare", preprocessor(table)), ("model", clone(estimator(task, penalty, lam, l1_ratio)))])
        X_train, X_test = table.X.iloc[train], table.X.iloc[test]
        if task == "poisson":
            pipe.fit(X_train, y[train], model__offset=None if offset is None else offset[train])
            mu = pipe.predict(X_test, offset=None if offset is None else offset[test])
            scores[names[0]].append(_poisson_deviance(y[test], mu))
            scores[names[1]].append(_d2(y[test], mu))
        elif task == "classification":
            pipe.fit(X_train, y[train])
            pred = pipe.predict(X_test)
            scores["accuracy"].append(accuracy_score(y[test], pred))
            scores["balanced accuracy"].append(balanced_accuracy_score(y[test], pred))
            model = pipe["model"]
            scores["log-loss"].append(_log_loss(y[test], pipe.predict_proba(X_test), model.classes_))
        else:
            pipe.fit(X_train, y[train])
            pred = pipe.predict(X_test)
            scores["MSE"].append(mean_squared_error(y[test], pred))
            scores["R²"].append(r2_score(y[test], pred))
    return {f"{key} {name}": (float(np.mean(vals)) if all(x is not None for x in vals) else None)
            for name, vals in scores.items()}
