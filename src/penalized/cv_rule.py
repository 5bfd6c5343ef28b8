"""The cross-validation rule, shared by the in-memory CV estimators (:mod:`penalized.model_selection`)
and the Dask route (:mod:`penalized.dask.cv`): the default folds, the weighted mean and standard
error of the fold scores, and the choice of λ_min and λ_1se (glmnet's). A leaf module."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def cv_statistics(fold_scores, fold_weights):
    """``(mean, std_err)`` over folds (axis 0), glmnet's weighted formulas (module docstring)."""
    s = np.asarray(fold_scores, dtype=np.float64)
    w = np.asarray(fold_weights, dtype=np.float64)
    w = (w / w.sum()).reshape((-1,) + (1,) * (s.ndim - 1))
    mean = (w * s).sum(axis=0)
    n_folds = s.shape[0]
    if n_folds < 2:
        return mean, np.zeros_like(mean)
    var = (w * (s - mean) ** 2).sum(axis=0)
    return mean, np.sqrt(var / (n_folds - 1))


def select_lambda(cv_mean, cv_std_err, greater_is_better=False):
    """``((row_min, k_min), (row_1se, k_1se))`` on a decreasing λ grid (the last axis).

    ``cv_mean`` is (k,) or (m, k): m alternative models sharing the λ grid (the γ of the
    relaxed lasso). The best is the smallest error (largest score); ties go to the
    largest λ, then the last row. The 1-SE choice is the largest λ with an error at most
    ``best + std_err[best]``; ties over rows again go to the last row (for γ: the most
    penalized model).
    """
    mean = np.atleast_2d(np.asarray(cv_mean, dtype=np.float64))
    se = np.atleast_2d(np.asarray(cv_std_err, dtype=np.float64))
    err = -mean if greater_is_better else mean
    err = np.where(np.isfinite(err), err, np.inf)
    best = err.min()
    k_min = int(np.flatnonzero((err == best).any(axis=0))[0])
    r_min = int(np.flatnonzero(err[:, k_min] == best)[-1])
    within = err <= best + se[r_min, k_min]
    k_1se = int(np.flatnonzero(within.any(axis=0))[0])
    r_1se = int(np.flatnonzero(within[:, k_1se])[-1])
    return (r_min, k_min), (r_1se, k_1se)


def default_folds(n_splits, classifier, random_state=0):
    """The splitter of ``cv=<int>``: shuffled ``KFold`` (``StratifiedKFold`` for classes) seeded by
    ``random_state``, as cv.glmnet draws random folds (docs/paths_and_cv.md says why)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = StratifiedKFold if classifier else KFold
    return splitter(n_splits, shuffle=True, random_state=random_state)


@dataclass
class _FoldOutcome:
    scores: np.ndarray  # (n_gammas, k)
    weight: float
    certificates: np.ndarray
    thresholds: np.ndarray
    converged: np.ndarray
    lambdas: np.ndarray
    test: np.ndarray | None = None  # the held-out rows (with keep=True)
    preds: np.ndarray | None = None  # their predictions on the response scale, (n_test, n_gammas, n_outputs, k)
