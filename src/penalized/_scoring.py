"""Held-out scores of a whole path at once, for cross-validation.

A metric takes the held-out targets and the decision values of every λ,
``Z`` of shape (n_test, n_problems, k) (``n_problems`` is 1 for regression and binary
classification, the number of classes for one-vs-rest), and returns one score per λ.

Built-in metrics (errors: lower is better), all sample-weighted means over the held-out
samples:

==================  ===============================================================
``"mse"``           ``Σ a_i (y_i − z_i)²`` (default for regression)
``"mae"``           ``Σ a_i |y_i − z_i|``
``"deviance"``      ``−2 Σ a_i log p̂_i(y_i)`` (default for logistic; glmnet's binomial deviance)
``"log_loss"``      ``−Σ a_i log p̂_i(y_i)`` (half the deviance: the scale of ``Logistic``)
``"misclassification"``  ``Σ a_i [ŷ_i ≠ y_i]`` (glmnet's ``type.measure="class"``)
==================  ===============================================================

Anything else is handed to scikit-learn (``sklearn.metrics.get_scorer``: ``"accuracy"``,
``"roc_auc"``, ``"r2"``, ``"neg_mean_squared_error"``, … or a callable
``scorer(estimator, X, y)``): those are scores, higher is better, evaluated on a fitted
estimator per λ (slower than the built-ins).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_expit

__all__ = ["Metric", "resolve_metric"]

_REGRESSION = ("mse", "mae")
_CLASSIFICATION = ("deviance", "log_loss", "misclassification")


class Metric:
    """A held-out score per λ; ``greater_is_better`` tells errors from scores."""

    def __init__(self, name, greater_is_better=False, scorer=None):
        self.name = name
        self.greater_is_better = greater_is_better
        self.scorer = scorer

    def __repr__(self):
        return f"Metric({self.name!r})"

    def __call__(self, y, Z, sample_weight=None, classes=None, X=None, coefs=None, intercepts=None):
        """``y`` (n_test,) raw targets, ``Z`` (n_test, n_problems, k) → scores (k,).

        scikit-learn scorers also need ``X`` and the models: ``coefs`` (n_problems, p, k)
        and ``intercepts`` (n_problems, k).
        """
        if self.scorer is not None:
            return self._sklearn_scores(y, sample_weight, classes, X, coefs, intercepts)
        a = np.full(len(y), 1.0 / len(y)) if sample_weight is None else sample_weight / sample_weight.sum()
        if self.name in _REGRESSION:
            r = np.asarray(y, dtype=np.float64)[:, None] - Z[:, 0, :]
            return a @ (r * r if self.name == "mse" else np.abs(r))
        log_p = _log_proba_of_truth(y, Z, classes)
        if self.name == "deviance":
            return -2.0 * (a @ log_p)
        if self.name == "log_loss":
            return -(a @ log_p)
        return a @ (predicted_labels(Z, classes) != np.asarray(y)[:, None])

    def _sklearn_scores(self, y, sample_weight, classes, X, coefs, intercepts):
        from .linear_model import LinearRegression, LogisticRegression

        scores = np.empty(coefs.shape[2])
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        for i in range(coefs.shape[2]):
            est = LinearRegression() if classes is None else LogisticRegression()
            coef, intercept = coefs[:, :, i], intercepts[:, i]
            if classes is None:
                est.coef_, est.intercept_ = coef[0], float(intercept[0])
            else:
                est.coef_, est.intercept_, est.classes_ = coef, intercept, classes
            est.n_features_in_ = X.shape[1]
            scores[i] = self.scorer(est, X, y, **kwargs)
        return scores


def _log_proba_of_truth(y, Z, classes):
    """``log p̂_i(y_i)`` per λ: sigmoid for two classes, normalised one-vs-rest otherwise."""
    if Z.shape[1] == 1:
        sign = np.where(np.asarray(y) == classes[1], 1.0, -1.0)
        return log_expit(sign[:, None] * Z[:, 0, :])
    idx = np.searchsorted(classes, y)
    log_sig = log_expit(Z)  # (n, K, k)
    log_norm = np.log(np.exp(log_sig).sum(axis=1))
    return log_sig[np.arange(len(y)), idx, :] - log_norm


def predicted_labels(Z, classes):
    """Labels per λ from decision values (n, n_problems, k) → (n, k)."""
    if Z.shape[1] == 1:
        return np.asarray(classes)[(Z[:, 0, :] > 0).astype(int)]
    return np.asarray(classes)[np.argmax(Z, axis=1)]


def resolve_metric(scoring, classifier):
    """``None`` (the default: ``"mse"`` or ``"deviance"``), a built-in name, a scikit-learn
    scorer name or a callable ``scorer(estimator, X, y)``."""
    if scoring is None:
        return Metric("deviance" if classifier else "mse")
    if isinstance(scoring, str):
        own = _CLASSIFICATION if classifier else _REGRESSION
        if scoring in own:
            return Metric(scoring)
        other = _REGRESSION if classifier else _CLASSIFICATION
        if scoring in other:
            kind = "a classifier" if classifier else "a regressor"
            raise ValueError(f"scoring={scoring!r} does not apply to {kind}; use one of {own} or a "
                             "scikit-learn scorer name.")
        from sklearn.metrics import get_scorer

        try:
            scorer = get_scorer(scoring)
        except ValueError:
            raise ValueError(
                f"scoring={scoring!r} is neither one of {own} nor a scikit-learn scorer name "
                "(see sklearn.metrics.get_scorer_names())."
            ) from None
        return Metric(scoring, greater_is_better=True, scorer=scorer)
    if callable(scoring):
        return Metric(getattr(scoring, "__name__", repr(scoring)), greater_is_better=True, scorer=scoring)
    raise TypeError(f"scoring must be None, a string or a callable scorer(estimator, X, y), got {scoring!r}.")
