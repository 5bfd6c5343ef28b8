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


def load_table(data, target, task="auto", max_levels=20):
    """Read and check ``data`` (a CSV path or a DataFrame)."""
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        frame, source = read_csv_table(data), repr(str(data))
    else:
        frame, source = data, "the table"
    return check_table(frame, target, task=task, max_levels=max_levels, source=source)


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
    return pz.LogisticRegression(penalty=v.check_path_penalty(penalty, l1_ratio).scaled(lam), tol=1e-6,
                                 max_iter=10_000)


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
    return pz.LogisticRegressionCV(penalty=penalty, l1_ratio=l1_ratio, cv=cv, select=select), 1.0


def _binary_targets(y, task):
    """The targets of the paths: ``y``, or one-vs-rest ``y == c`` per class for more than two
    classes (the problems ``pz.LogisticRegression`` and ``pz.LogisticRegressionCV`` solve)."""
    classes = np.unique(y) if task == "classification" else []
    return [y == c for c in classes] if len(classes) > 2 else [y]


def _datafit(task):
    return "logistic" if task == "classification" else "squared_error"


def _grid(Xs, y, task, penalty, l1_ratio=0.5, n_lambdas=50):
    """The path's grid: from ``pz.lambda_max`` (the largest over the classes) down to 1/100 of
    it (``n < p`` or classification) or 1/1000; for L2, whose ``λ_max`` is glmnet's convention
    (no coefficient is ever zero), six decades, down to a nearly unpenalized fit."""
    import penalized as pz
    from penalized.path import lambda_grid

    lam_max = max(pz.lambda_max(Xs, t, penalty, l1_ratio=l1_ratio, datafit=_datafit(task))
                  for t in _binary_targets(y, task))
    n, p = Xs.shape
    eps = 1e-6 if penalty == "l2" else 1e-2 if (n < p or task == "classification") else 1e-3
    return lambda_grid(lam_max, n_lambdas, eps)


def _path(Xs, y, task, penalty, lambdas, l1_ratio=0.5):
    """Coefficients along ``lambdas`` (``pz.regularization_path``): (p, k), or
    (n_classes, p, k) one-vs-rest for more than two classes."""
    import penalized as pz

    coefs = [pz.regularization_path(Xs, t, penalty, l1_ratio=l1_ratio, datafit=_datafit(task), lambdas=lambdas,
                                    tol=1e-6, max_iter=5000).coefs for t in _binary_targets(y, task)]
    return coefs[0] if len(coefs) == 1 else np.stack(coefs)


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
    grid = _grid(Xs, table.y, table.task, penalty, l1_ratio, n_lambdas)
    coefs = _path(Xs, table.y, table.task, penalty, grid, l1_ratio)
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
    capped by the data, with a fixed ``lam``).

    Returns a ``Bunch`` with ``pipeline`` (fitted, takes a DataFrame of the feature
    columns), ``lam``, ``coefficients`` (rows of (feature, coefficient(s)) for the
    non-zero ones), ``metrics``, ``figures`` and ``notes``.
    """
    from sklearn.base import clone
    from sklearn.model_selection import cross_validate
    from sklearn.pipeline import Pipeline

    task, y = table.task, table.y
    classification = task == "classification"
    prep = preprocessor(table)
    Xs = prep.fit_transform(table.X)
    names = list(prep.get_feature_names_out())
    notes = []
    cv_curve = None
    if lam is None:
        check_cv_folds(table, cv)
        cv_est, scale = cv_estimator(task, penalty, folds(task, cv), l1_ratio, select)
        cv_est.fit(Xs, y)
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
    model = estimator(task, penalty, lam, l1_ratio).fit(Xs, y)
    pipeline = Pipeline([("prepare", prep), ("model", model)])

    coef = np.atleast_2d(model.coef_)
    nonzero = np.flatnonzero(np.any(coef != 0, axis=0))
    order = nonzero[np.argsort(-np.abs(coef[:, nonzero]).max(axis=0))]
    if classification and coef.shape[0] > 1:
        labels = [f"coef ({c})" for c in model.classes_]
    elif classification:
        labels = [f"coef (+ = {model.classes_[1]})"]
    else:
        labels = ["coef"]
    coefficients = [(names[j], *[float(c) for c in coef[:, j]]) for j in order]

    metrics = {"rows": int(len(y)), "features after encoding": len(names), "λ": float(lam),
               "features selected": int(nonzero.size)}
    if classification:
        metrics["classes"] = [str(c) for c in model.classes_]
        metrics["training accuracy"] = float(np.mean(model.predict(Xs) == y))
    else:
        pred = model.predict(Xs)
        metrics["training MSE"] = float(np.mean((pred - y) ** 2))
        metrics["training R²"] = float(1 - np.mean((pred - y) ** 2) / np.var(y)) if np.var(y) > 0 else None
    if n_folds >= 2:
        scoring = ["accuracy", "balanced_accuracy"] if classification else ["neg_mean_squared_error", "r2"]
        unfitted = Pipeline([("prepare", preprocessor(table)),
                             ("model", clone(estimator(task, penalty, lam, l1_ratio)))])
        scores = cross_validate(unfitted, table.X, y, cv=folds(task, n_folds), scoring=scoring)
        key = f"{n_folds}-fold CV"
        if classification:
            metrics[f"{key} accuracy"] = float(scores["test_accuracy"].mean())
            metrics[f"{key} balanced accuracy"] = float(scores["test_balanced_accuracy"].mean())
        else:
            metrics[f"{key} MSE"] = float(-scores["test_neg_mean_squared_error"].mean())
            metrics[f"{key} R²"] = float(scores["test_r2"].mean())
        if cv_curve is not None:
            notes.append("the CV scores are at the λ chosen with the same folds, so slightly optimistic")
    else:
        notes.append("too few rows per class for a cross-validated score")

    grid = _grid(Xs, y, task, penalty, l1_ratio, n_lambdas)
    if grid[-1] > lam or grid[0] < lam:  # widen the grid to show the chosen λ
        grid = np.geomspace(max(grid[0], lam * 1.5), min(grid[-1], lam / 1.5), n_lambdas)
    coefs = _path(Xs, y, task, penalty, grid, l1_ratio)
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
