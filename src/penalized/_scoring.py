"""Held-out scores of a whole path at once, for cross-validation.

A metric takes the held-out targets and the linear predictors of every λ,
``Z`` of shape (n_test, n_outputs, k) (``n_outputs`` is 1 for one target and binary
classification, K for the multinomial's classes or a 2-D ``y``'s tasks; offsets included),
and returns one score per λ.

Built-in metrics (errors: lower is better), all sample-weighted means over the held-out
samples:

======================  ===============================================================
``"mse"``               ``Σ a_i (y_i − ŷ_i)²`` (default for regression); with T tasks also
                        averaged over them, ``Σ a_i Σ_t (y_it − ŷ_it)² / T`` (scikit-learn's
                        ``MultiTaskLassoCV.mse_path_``)
``"mae"``               ``Σ a_i |y_i − ŷ_i|``
``"poisson_deviance"``  ``2 Σ a_i (y_i log(y_i/μ_i) − y_i + μ_i)`` (default for Poisson; scikit-learn's
                        ``mean_poisson_deviance``)
``"deviance"``          ``−2 Σ a_i log p̂_i(y_i)`` (default for classes, two or more: glmnet's binomial
                        and multinomial deviance)
``"log_loss"``          ``−Σ a_i log p̂_i(y_i)`` (half the deviance: the scale of ``Logistic`` and
                        ``Multinomial``)
``"misclassification"`` ``Σ a_i [ŷ_i ≠ y_i]`` (glmnet's ``type.measure="class"``; also ``"class"``)
``"auc"``               two classes: the area under the ROC curve of the held-out part (a score,
                        higher is better; ``sklearn.metrics.roc_auc_score`` with the weights)
``"mse"``, ``"mae"``    for classes, cv.lognet's: ``Σ a_i Σ_k (y_ik − p̂_ik)²`` and ``Σ a_i Σ_k |y_ik − p̂_ik|``
                        over the one-hot classes (twice the Brier score for two classes)
======================  ===============================================================

glmnet's ``type.measure`` names all work: ``"deviance"`` is the mean squared error for least
squares and the Poisson deviance for counts. The classification ``"deviance"`` is glmnet's: every
probability is bounded to ``[1e-5, 1 − 1e-5]`` first (cv.glmnet's ``prob_min``), so one confident
mistake costs at most ``−2 log 1e-5 ≈ 23``; ``"log_loss"`` is not bounded.

Predictions: ``ŷ = z`` for least squares, ``μ = exp(z)`` for Poisson; ``p̂`` is the sigmoid of
``z`` for two classes, the softmax of the K scores for more.

Anything else is handed to scikit-learn (``sklearn.metrics.get_scorer``: ``"accuracy"``,
``"roc_auc"``, ``"r2"``, ``"neg_mean_squared_error"``, … or a callable
``scorer(estimator, X, y)``): those are scores, higher is better, evaluated on a fitted
estimator per λ (slower than the built-ins; not with an offset, which scikit-learn's scorers
cannot pass to ``predict``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax

__all__ = ["Metric", "resolve_metric"]

#: built-in metrics per kind of model
BUILT_INS = {
    "regression": ("mse", "mae", "deviance"),
    "poisson": ("poisson_deviance", "mse", "mae", "deviance"),
    "classification": ("deviance", "log_loss", "misclassification", "class", "auc", "mse", "mae"),
}
#: glmnet's ``type.measure`` names that are another built-in's
ALIASES = {"regression": {"deviance": "mse"}, "poisson": {"deviance": "poisson_deviance"},
           "classification": {"class": "misclassification"}}
#: glmnet bounds predicted probabilities to [PROB_MIN, 1 − PROB_MIN] in its binomial and
#: multinomial CV deviance (cv.glmnet's ``prob_min``)
PROB_MIN = 1e-5
#: built-ins that are scores (higher is better)
SCORES = ("auc",)
DEFAULTS = {"regression": "mse", "poisson": "poisson_deviance", "classification": "deviance"}


class Metric:
    """A held-out score per λ; ``greater_is_better`` tells errors from scores.

    ``kind``: ``"regression"`` (least squares, one or several targets), ``"poisson"`` or
    ``"classification"``; ``prototype``: an unfitted estimator of the model, which
    scikit-learn scorers evaluate (its ``coef_`` set to every λ's coefficients in turn).
    """

    def __init__(self, name, greater_is_better=False, scorer=None, kind="regression", prototype=None):
        self.name = name
        self.greater_is_better = greater_is_better
        self.scorer = scorer
        self.kind = kind
        self.prototype = prototype

    def __repr__(self):
        return f"Metric({self.name!r})"

    def __call__(self, y, Z, sample_weight=None, classes=None, X=None, coefs=None, intercepts=None):
        """``y`` (n_test,) or (n_test, T) raw targets, ``Z`` (n_test, n_outputs, k) → scores (k,).

        scikit-learn scorers also need ``X`` and the models: ``coefs`` (n_outputs, p, k)
        and ``intercepts`` (n_outputs, k).
        """
        if self.scorer is not None:
            return self._sklearn_scores(y, sample_weight, classes, X, coefs, intercepts)
        a = np.full(len(y), 1.0 / len(y)) if sample_weight is None else sample_weight / sample_weight.sum()
        name = ALIASES.get(self.kind, {}).get(self.name, self.name)
        if self.kind != "classification":
            y = np.asarray(y, dtype=np.float64)
            pred = np.exp(Z[:, 0, :]) if self.kind == "poisson" else (Z[:, 0, :] if y.ndim == 1 else Z)
            if name == "poisson_deviance":
                return a @ poisson_deviances(y, pred)
            r = (y[:, None] if y.ndim == 1 else y[:, :, None]) - pred
            per_sample = r * r if name == "mse" else np.abs(r)
            return a @ (per_sample if per_sample.ndim == 2 else per_sample.mean(axis=1))
        if name == "deviance":  # glmnet's: probabilities bounded to [1e-5, 1 − 1e-5]
            return -2.0 * (a @ np.log(np.clip(np.exp(_log_proba_of_truth(y, Z, classes)), PROB_MIN, 1 - PROB_MIN)))
        if name == "log_loss":
            return -(a @ _log_proba_of_truth(y, Z, classes))
        if name in ("mse", "mae"):  # glmnet's: over the classes, Σ_k (y_ik − p̂_ik)² or |y_ik − p̂_ik|
            r = _one_hot(y, classes)[:, :, None] - _probabilities(Z)
            return a @ ((r * r) if name == "mse" else np.abs(r)).sum(axis=1)
        if name == "auc":
            return _auc(y, Z, classes, sample_weight)
        return a @ (predicted_labels(Z, classes) != np.asarray(y)[:, None])

    def _sklearn_scores(self, y, sample_weight, classes, X, coefs, intercepts):
        from sklearn.base import clone

        scores = np.empty(coefs.shape[2])
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        single = self.kind != "classification" and np.ndim(y) == 1
        for i in range(coefs.shape[2]):
            est = clone(self.prototype)
            coef, intercept = coefs[:, :, i], intercepts[:, i]
            if single:
                est.coef_, est.intercept_ = coef[0], float(intercept[0])
            else:
                est.coef_, est.intercept_ = coef, intercept
            if classes is not None:
                est.classes_ = classes
            est.n_features_in_ = X.shape[1]
            scores[i] = self.scorer(est, X, y, **kwargs)
        return scores


def poisson_deviances(y, mu):
    """Per sample and λ, ``2 (y log(y/μ) − y + μ)`` (``y log y = 0`` at ``y = 0``); ``mu`` (n, k)."""
    y = y[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ylog = np.where(y > 0, y * (np.log(np.where(y > 0, y, 1.0)) - np.log(mu)), 0.0)
    return 2.0 * (ylog - y + mu)


def _log_proba_of_truth(y, Z, classes):
    """``log p̂_i(y_i)`` per λ: the sigmoid for two classes, the softmax of the K scores for more."""
    if Z.shape[1] == 1:
        sign = np.where(np.asarray(y) == classes[1], 1.0, -1.0)
        return log_expit(sign[:, None] * Z[:, 0, :])
    idx = np.searchsorted(classes, y)
    return log_softmax(Z, axis=1)[np.arange(len(y)), idx, :]


def _one_hot(y, classes):
    return (np.asarray(y)[:, None] == np.asarray(classes)[None, :]).astype(np.float64)


def _probabilities(Z):
    """Class probabilities (n, K, k): both classes for a binary model, the softmax for more."""
    if Z.shape[1] == 1:
        p1 = expit(Z[:, 0, :])
        return np.stack([1.0 - p1, p1], axis=1)
    return softmax(Z, axis=1)


def _auc(y, Z, classes, sample_weight):
    """The area under the ROC curve per λ (two classes; glmnet's ``type.measure="auc"``): the
    weighted probability that a sample of ``classes[1]`` scores above one of ``classes[0]``
    (ties count one half)."""
    from sklearn.metrics import roc_auc_score

    if Z.shape[1] != 1:
        raise ValueError("scoring='auc' is for two classes (glmnet's binomial type.measure); got "
                         f"{Z.shape[1]} classes.")
    truth = (np.asarray(y) == classes[1]).astype(int)
    if truth.min() == truth.max():
        return np.full(Z.shape[2], np.nan)  # a held-out part with one class has no AUC
    return np.array([roc_auc_score(truth, Z[:, 0, j], sample_weight=sample_weight) for j in range(Z.shape[2])])


def predicted_labels(Z, classes):
    """Labels per λ from decision values (n, n_outputs, k) → (n, k)."""
    if Z.shape[1] == 1:
        return np.asarray(classes)[(Z[:, 0, :] > 0).astype(int)]
    return np.asarray(classes)[np.argmax(Z, axis=1)]


def resolve_metric(scoring, kind, prototype=None):
    """``None`` (the model's default: ``"mse"``, ``"poisson_deviance"`` or ``"deviance"``), a
    built-in name, a scikit-learn scorer name or a callable ``scorer(estimator, X, y)``.

    ``kind``: ``"regression"``, ``"poisson"`` or ``"classification"`` (``True``/``False`` are
    read as classification/regression); ``prototype``: the estimator scikit-learn scorers
    evaluate (default: ``LinearRegression()`` or ``LogisticRegression()``).
    """
    if isinstance(kind, (bool, np.bool_)):
        kind = "classification" if kind else "regression"
    if prototype is None:
        from .linear_model import LinearRegression, LogisticRegression, PoissonRegressor

        prototype = {"regression": LinearRegression, "poisson": PoissonRegressor,
                     "classification": LogisticRegression}[kind]()
    if scoring is None:
        return Metric(DEFAULTS[kind], kind=kind)
    if isinstance(scoring, str):
        own = BUILT_INS[kind]
        if scoring in own:
            return Metric(scoring, greater_is_better=scoring in SCORES, kind=kind)
        if any(scoring in names for names in BUILT_INS.values()):
            what = {"regression": "a regressor", "poisson": "a Poisson regressor",
                    "classification": "a classifier"}[kind]
            raise ValueError(f"scoring={scoring!r} does not apply to {what}; use one of {own} or a "
                             "scikit-learn scorer name.")
        from sklearn.metrics import get_scorer

        try:
            scorer = get_scorer(scoring)
        except ValueError:
            raise ValueError(
                f"scoring={scoring!r} is neither one of {own} nor a scikit-learn scorer name "
                "(see sklearn.metrics.get_scorer_names())."
            ) from None
        return Metric(scoring, greater_is_better=True, scorer=scorer, kind=kind, prototype=prototype)
    if callable(scoring):
        return Metric(getattr(scoring, "__name__", repr(scoring)), greater_is_better=True, scorer=scoring,
                      kind=kind, prototype=prototype)
    raise TypeError(f"scoring must be None, a string or a callable scorer(estimator, X, y), got {scoring!r}.")
