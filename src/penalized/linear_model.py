"""scikit-learn estimators built on one generic fit: ``fit_linear(datafit, penalty, X, y)``.

Every estimator minimises ``L_data(w, b) + L_reg(w)`` with the scales of
:mod:`penalized.datafits` and :mod:`penalized.penalties`:

==========================================  =============================================
estimator                                   objective
==========================================  =============================================
``Lasso(lam)``                              ``MSE + lam·Σ c_j|w_j|``
``Ridge(lam)``                              ``MSE + lam·Σ c_j w_j²``
``ElasticNet(lam, l1_ratio=ρ)``             ``MSE + lam·(ρ Σ c_j|w_j| + (1−ρ)/2 Σ c_j w_j²)``
``LinearRegression(penalty=P)``             ``MSE + P(w)``
``LogisticRegression(penalty=P)``           ``mean log-loss + P(w)``
==========================================  =============================================

MSE is the (sample-weighted) mean squared error ``Σ a_i (y_i − x_iᵀw − b)²``. The
intercept ``b`` is never penalized. Conversions: scikit-learn ``Lasso(alpha)`` and
``ElasticNet(alpha, l1_ratio)`` are ``lam = 2·alpha`` with the same ``l1_ratio``;
``Ridge(alpha)`` is ``lam = alpha / n``; ``LogisticRegression(C)`` is ``lam = 1/(n·C)``.

Fitted attributes: ``coef_``, ``intercept_``, ``n_iter_`` (coordinate-descent epochs),
``dual_gap_`` (the optimality certificate at the returned point, see
:mod:`penalized.solvers.coordinate_descent`), ``selected_features_``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from . import _validation as v
from .dask import is_dask_collection
from .datafits import Logistic, SquaredError
from .penalties import L1, L1L2, L2

__all__ = [
    "fit_linear",
    "Lasso",
    "Ridge",
    "ElasticNet",
    "LinearRegression",
    "LogisticRegression",
]


def fit_linear(datafit, penalty, X, y, *, sample_weight=None, fit_intercept=True, coef_init=None,
               intercept_init=None, tol=1e-4, max_iter=1000):
    """Solve one problem ``datafit + penalty`` on validated data; returns a ``SolverResult``."""
    from .solvers import LinearProblem, solve  # compiled code: loaded on first fit only

    problem = LinearProblem.build(X, y, datafit, sample_weight, fit_intercept)
    return solve(problem, penalty, coef_init=coef_init, intercept_init=intercept_init, tol=tol,
                 max_iter=max_iter)


def _convergence_message(name, results, tol, max_iter):
    failed = [r for r in results if not r.converged]
    worst = max(failed, key=lambda r: r.certificate / max(r.threshold, 1e-300))
    which = "" if len(results) == 1 else f" ({len(failed)} of {len(results)} sub-problems)"
    return (
        f"{name} did not converge in max_iter={max_iter} epochs{which}: optimality certificate "
        f"{worst.certificate:.3g} > tol·L(0) = {worst.threshold:.3g} (tol={tol:g}). "
        "Increase max_iter, loosen tol, standardize X, or increase the penalty."
    )


class _PenalizedLinearModel(BaseEstimator):
    """Shared fit/predict machinery; subclasses define ``_penalty(n_features)``."""

    _datafit = SquaredError()

    def _penalty(self, n_features):  # pragma: no cover - abstract
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _solve(self, X, y, sample_weight, coef_init, intercept_init):
        penalty = self._penalty(X.shape[1])
        if penalty is not None:
            from .solvers.coordinate_descent import coordinate_strengths

            coordinate_strengths(penalty, X.shape[1])  # checks penalty weights against X
        return fit_linear(self._datafit, penalty, X, y, sample_weight=sample_weight,
                          fit_intercept=self.fit_intercept, coef_init=coef_init,
                          intercept_init=intercept_init, tol=self.tol, max_iter=self.max_iter)

    def _warm_start(self, n_targets, n_features):
        """Previous solution as ``(coef (k, p), intercept (k,))`` if usable, else Nones."""
        if self.warm_start and hasattr(self, "coef_"):
            coef = np.atleast_2d(self.coef_)
            if coef.shape == (n_targets, n_features):
                return coef, np.atleast_1d(self.intercept_)
        return None, None

    def _warn_if_not_converged(self, results):
        if not all(r.converged for r in results):
            warnings.warn(_convergence_message(type(self).__name__, results, self.tol, self.max_iter),
                          ConvergenceWarning, stacklevel=3)

    def _decision(self, X):
        check_is_fitted(self)
        if is_dask_collection(X):  # a Dask array of decision values, computed chunk by chunk
            from .dask.estimators import decision

            return decision(self, X)
        X = v.validate_predict_data(self, X)
        coef = np.atleast_2d(self.coef_)
        scores = X @ coef.T if not sp.issparse(X) else np.asarray(X @ coef.T)
        scores = scores + np.atleast_1d(self.intercept_)
        return scores

    # -- feature selection ----------------------------------------------------------------
    def get_support(self, indices=False):
        """Mask (or indices) of the features with a non-zero coefficient."""
        check_is_fitted(self)
        mask = np.any(np.atleast_2d(self.coef_) != 0, axis=0)
        return np.flatnonzero(mask) if indices else mask

    @property
    def selected_features_(self):
        """Names of the features with a non-zero coefficient (``x0, x1, …`` without names)."""
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.array([f"x{j}" for j in range(self.n_features_in_)], dtype=object)
        return names[self.get_support()]


class _Regressor(RegressorMixin, _PenalizedLinearModel):
    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (n_samples, n_features), dense or sparse, and ``y`` (n_samples,)."""
        self._check_params()
        if is_dask_collection(X):  # fit on the cluster, X never gathered (penalized.dask)
            from .dask.estimators import fit_regressor

            return fit_regressor(self, X, y, sample_weight)
        # the solver's first pass over X finds NaN and infinity (LinearProblem.build)
        X, y, sample_weight = v.validate_fit_data(self, X, y, sample_weight, check_finite_X=False)
        coef0, b0 = self._warm_start(1, X.shape[1])
        result = self._solve(X, y, sample_weight, None if coef0 is None else coef0[0],
                             None if b0 is None else b0[0])
        self.coef_ = result.coef.astype(X.dtype, copy=False)
        self.intercept_ = float(result.intercept)
        self.n_iter_ = result.n_iter
        self.dual_gap_ = result.certificate
        self._warn_if_not_converged([result])
        return self

    def predict(self, X):
        """``X @ coef_ + intercept_``."""
        return self._decision(X)[:, 0]

    def _check_params(self):
        v.check_solver_params(self)


class Lasso(_Regressor):
    """Least squares with an L1 penalty: ``Σ a_i (y_i − x_iᵀw − b)² + lam · Σ_j c_j |w_j|``.

    scikit-learn's ``Lasso(alpha)`` is ``Lasso(lam=2·alpha)``; glmnet's gaussian
    ``lambda`` is ``lam = 2·lambda``.

    Parameters
    ----------
    lam : float, default=1.0
        Penalty strength λ ≥ 0.
    weights : array of shape (n_features,), optional
        Per-feature penalty factors ``c_j`` ≥ 0 (0 = unpenalized).
    fit_intercept : bool, default=True
        Fit an unpenalized intercept ``b``.
    tol : float, default=1e-4
        Stop when the duality-gap certificate is ≤ ``tol · L(0)`` (the null model's loss).
    max_iter : int, default=1000
        Maximum number of coordinate-descent epochs.
    warm_start : bool, default=False
        Start from the previous solution.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
    dual_gap_ : float
        Optimality certificate at ``coef_`` (0 at the exact optimum).
    selected_features_ : ndarray of str
    """

    def __init__(self, lam=1.0, *, weights=None, fit_intercept=True, tol=1e-4, max_iter=1000,
                 warm_start=False):
        self.lam = lam
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty(self, n_features):
        return L1(v.check_strength(self.lam, "lam"), self.weights)


class Ridge(_Regressor):
    """Least squares with an L2 penalty: ``Σ a_i (y_i − x_iᵀw − b)² + lam · Σ_j c_j w_j²``.

    scikit-learn's ``Ridge(alpha)`` (which sums squared errors) is ``Ridge(lam=alpha/n)``.
    Parameters and attributes as in :class:`Lasso`.
    """

    def __init__(self, lam=1.0, *, weights=None, fit_intercept=True, tol=1e-4, max_iter=1000,
                 warm_start=False):
        self.lam = lam
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty(self, n_features):
        return L2(v.check_strength(self.lam, "lam"), self.weights)


class ElasticNet(_Regressor):
    """Least squares with the elastic-net penalty (scikit-learn's and glmnet's scale).

    ``Σ a_i (y_i − x_iᵀw − b)² + lam · (l1_ratio · Σ c_j|w_j| + (1 − l1_ratio)/2 · Σ c_j w_j²)``,
    i.e. ``L1L2(l1=lam·l1_ratio, l2=lam·(1 − l1_ratio)/2)``. ``l1_ratio=1`` is
    :class:`Lasso`; scikit-learn's ``ElasticNet(alpha, l1_ratio)`` is
    ``ElasticNet(lam=2·alpha, l1_ratio)``. Other parameters as in :class:`Lasso`.
    """

    def __init__(self, lam=1.0, l1_ratio=0.5, *, weights=None, fit_intercept=True, tol=1e-4,
                 max_iter=1000, warm_start=False):
        self.lam = lam
        self.l1_ratio = l1_ratio
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty(self, n_features):
        lam = v.check_strength(self.lam, "lam")
        rho = v.check_l1_ratio(self.l1_ratio)
        return L1L2(l1=lam * rho, l2=lam * (1.0 - rho) / 2.0, weights=self.weights)


class LinearRegression(_Regressor):
    """Least squares with any penalty: ``Σ a_i (y_i − x_iᵀw − b)² + penalty(w)``.

    Parameters
    ----------
    penalty : L1, L2, L1L2 or None, default=None
        The penalty object (``None``: ordinary least squares).
    Other parameters and attributes as in :class:`Lasso`.
    """

    def __init__(self, penalty=None, *, fit_intercept=True, tol=1e-4, max_iter=1000,
                 warm_start=False):
        self.penalty = penalty
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty(self, n_features):
        return v.check_penalty(self.penalty)


class LogisticRegression(ClassifierMixin, _PenalizedLinearModel):
    """Logistic regression with any penalty: ``mean log-loss + penalty(w)``.

    ``Σ a_i log(1 + exp(−s_i (x_iᵀw + b))) + penalty(w)``, ``s_i = ±1`` from any two
    class labels (``classes_[1]`` is +1). With more than two classes, one such problem
    is solved per class against the rest (one-vs-rest). scikit-learn's
    ``LogisticRegression(C)`` with the same penalty type is ``lam = 1/(n·C)``.

    Parameters
    ----------
    penalty : L1, L2, L1L2 or None, default=None
        The penalty object (``None``: unpenalized; diverges on separable classes).
    fit_intercept, tol, max_iter, warm_start : as in :class:`Lasso`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, (n_classes, n_features) else
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_, dual_gap_ : ndarray, one entry per binary problem
    selected_features_ : ndarray of str
    """

    _datafit = Logistic()

    def __init__(self, penalty=None, *, fit_intercept=True, tol=1e-4, max_iter=1000,
                 warm_start=False):
        self.penalty = penalty
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty(self, n_features):
        return v.check_penalty(self.penalty)

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (n_samples, n_features), dense or sparse, and class labels ``y``."""
        v.check_solver_params(self)
        if is_dask_collection(X):  # fit on the cluster, X never gathered (penalized.dask)
            from .dask.estimators import fit_classifier

            return fit_classifier(self, X, y, sample_weight)
        X, y, sample_weight = v.validate_fit_data(self, X, y, sample_weight, classifier=True,
                                                  check_finite_X=False)
        classes = np.unique(y)
        if classes.shape[0] < 2:
            name, only = type(self).__name__, classes.tolist()[0]
            raise ValueError(f"{name} needs at least 2 classes in y; got only one class: {only!r}.")
        problems = [classes] if classes.shape[0] == 2 else [(c,) for c in classes]
        coef0, b0 = self._warm_start(len(problems), X.shape[1])
        results = []
        separated = False
        for k, labels in enumerate(problems):
            if len(labels) == 2:
                y_pm = v.encode_binary_targets(y, labels, sample_weight)
            else:
                y_pm = np.where(y == labels[0], 1.0, -1.0)
                v.encode_binary_targets(y_pm, np.array([-1.0, 1.0]), sample_weight)
            result = self._solve(X, y_pm, sample_weight, None if coef0 is None else coef0[k],
                                 None if b0 is None else b0[k])
            results.append(result)
            separated = separated or self._separated_with_weak_penalty(X, y_pm, sample_weight, result)
        self.classes_ = classes
        self.coef_ = np.array([r.coef for r in results]).astype(X.dtype, copy=False)
        self.intercept_ = np.array([r.intercept for r in results])
        self.n_iter_ = np.array([r.n_iter for r in results])
        self.dual_gap_ = np.array([r.certificate for r in results])
        self._warn_if_not_converged(results)
        if separated:
            warnings.warn(
                f"{type(self).__name__}: the classes are perfectly separated on the training data and "
                "the penalty is (almost) inactive, so the coefficients grow like 1/λ (without a penalty "
                "the maximum-likelihood estimate does not exist). Use a stronger penalty.",
                ConvergenceWarning, stacklevel=2)
        return self

    def _separated_with_weak_penalty(self, X, y_pm, sample_weight, result):
        """Perfect separation with a penalty worth < 0.1% of the data fit (or none)."""
        margins = y_pm * (np.asarray(X @ result.coef).ravel() + result.intercept)
        counted = margins if sample_weight is None else margins[sample_weight > 0]
        if not np.all(counted > 0):
            return False
        penalty = self._penalty(X.shape[1])
        data_loss = self._datafit.value(y_pm, margins * y_pm, sample_weight)
        return penalty is None or penalty.value(result.coef) < 1e-3 * data_loss

    def decision_function(self, X):
        """``X @ coef_.T + intercept_``: shape (n_samples,) for two classes."""
        scores = self._decision(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities; one-vs-rest scores are normalised to sum to one."""
        scores = self._decision(X)
        if scores.shape[1] == 1:
            p = expit(scores[:, 0])
            return np.stack([1.0 - p, p], axis=1)  # (np.stack also works on Dask arrays)
        p = expit(scores)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """The class with the highest score."""
        scores = self.decision_function(X)
        if is_dask_collection(scores):
            from .dask.estimators import take_classes

            return take_classes(self.classes_, scores)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]
