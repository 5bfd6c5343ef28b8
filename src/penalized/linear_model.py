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
``Ridge(alpha)`` is ``lam = alpha / n``; ``LogisticRegression(C)`` is ``L1(1/(n·C))`` with
``penalty="l1"`` and ``L2(1/(2n·C))`` with ``penalty="l2"`` (its ``½‖w‖²``).

Fitted attributes: ``coef_``, ``intercept_``, ``n_iter_`` (coordinate-descent epochs),
``dual_gap_`` (the optimality certificate at the returned point, see
:mod:`penalized.solvers.coordinate_descent`), ``selected_features_``. A fit returns without a
``ConvergenceWarning`` only with ``dual_gap_ ≤ tol·L(0)``; columns of ``X`` whose squared norms
over- or underflow in double precision, and targets whose squares do, are refused by name.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from . import _validation as v
from ._support import SupportMixin
from .dask import is_dask_collection
from .datafits import Logistic, Multinomial, Poisson, SquaredError
from .penalties import L1, L1L2, L2, GroupL1, check_bounds
from .standardize import check_standardize, fit_standardized

__all__ = [
    "fit_linear",
    "Lasso",
    "Ridge",
    "ElasticNet",
    "LinearRegression",
    "LogisticRegression",
    "PoissonRegressor",
    "MultiTaskLasso",
    "MultiTaskElasticNet",
]


def fit_linear(datafit, penalty, X, y, *, sample_weight=None, fit_intercept=True, coef_init=None,
               intercept_init=None, tol=1e-4, max_iter=1000, bounds=None, offset=None):
    """Solve one problem ``datafit + penalty`` (within ``bounds``) on validated data; returns a
    ``SolverResult`` (with its ``plan``). A data fit on whole vectors (``Huber``, ``Cox``) runs
    the proximal Newton loop of :mod:`penalized.glm.newton` (``max_iter`` counts its steps)."""
    from .glm import as_vector_datafit

    if as_vector_datafit(datafit) is not None:
        from .glm.newton import fit_vector

        return fit_vector(as_vector_datafit(datafit), penalty, X, y, sample_weight=sample_weight,
                          fit_intercept=fit_intercept, coef_init=coef_init, intercept_init=intercept_init,
                          tol=tol, max_iter=max_iter, bounds=bounds, offset=offset)
    from .solvers import LinearProblem, solve  # compiled code: loaded on first fit only

    problem = LinearProblem.build(X, y, datafit, sample_weight, fit_intercept, offset=offset)
    return solve(problem, penalty, coef_init=coef_init, intercept_init=intercept_init, tol=tol,
                 max_iter=max_iter, bounds=bounds)


def _convergence_message(name, results, tol, max_iter):
    failed = [r for r in results if not r.converged]
    worst = max(failed, key=lambda r: r.certificate / max(r.threshold, 1e-300))
    which = "" if len(results) == 1 else f" ({len(failed)} of {len(results)} sub-problems)"
    return (
        f"{name} did not converge in max_iter={max_iter} epochs{which}: optimality certificate "
        f"{worst.certificate:.3g} > tol·L(0) = {worst.threshold:.3g} (tol={tol:g}). "
        "Increase max_iter, loosen tol, standardize X, or increase the penalty."
    )


def _no_dask_standardize(model):
    if check_standardize(model.standardize):
        raise NotImplementedError(f"{type(model).__name__}(standardize=True) does not take Dask input; "
                                  "standardize the columns on the cluster (dask_ml's StandardScaler) instead.")


class _PenalizedLinearModel(SupportMixin, BaseEstimator):
    """Shared fit/predict machinery; subclasses define ``_penalty(n_features)``."""

    _datafit = SquaredError()
    # estimators whose __init__ does not take them (RelaxedLasso) fit without a box
    positive = False
    bounds = None
    standardize = False

    def _penalty(self, n_features):  # pragma: no cover - abstract
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _solve(self, X, y, sample_weight, coef_init, intercept_init, offset=None, datafit=None):
        penalty = self._penalty(X.shape[1])
        bounds = check_bounds(self.bounds, self.positive, X.shape[1])
        fit = fit_linear
        if check_standardize(self.standardize):  # glmnet's (penalized.standardize)
            fit = functools.partial(fit_standardized, fit_linear)
        return fit(datafit or self._datafit, penalty, X, y, sample_weight=sample_weight,
                   fit_intercept=self.fit_intercept, coef_init=coef_init,
                   intercept_init=intercept_init, tol=self.tol, max_iter=self.max_iter,
                   bounds=bounds, offset=offset)

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


class _Regressor(RegressorMixin, _PenalizedLinearModel):
    #: Takes a 2-D ``y`` (several targets: multi-task least squares, coef_ of shape (T, p)).
    _multi_output = False
    _requires_2d_y = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = self._multi_output
        return tags

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit on ``X`` (n_samples, n_features), dense or sparse, and ``y`` (n_samples,) — or
        (n_samples, n_targets) for the multi-output estimators; ``offset`` (n_samples,) is
        added to the linear predictor."""
        self._check_params()
        if is_dask_collection(X):  # fit on the cluster, X never gathered (penalized.dask)
            _no_dask_standardize(self)
            from .dask.estimators import fit_regressor

            return fit_regressor(self, X, y, sample_weight, offset)
        # the solver's first pass over X finds NaN and infinity (LinearProblem.build)
        X, y, sample_weight = v.validate_fit_data(self, X, y, sample_weight, check_finite_X=False,
                                                  multi_output=self._multi_output)
        if self._requires_2d_y and y.ndim != 2:
            raise ValueError(f"{type(self).__name__} needs a 2-D y of shape (n_samples, n_tasks), got shape "
                             f"{y.shape}; use Lasso for one target.")
        self._datafit.check_target(y)
        n_targets = 1 if y.ndim == 1 else y.shape[1]
        if n_targets == 1:
            offset = v.check_offset(offset, X.shape[0])
        else:  # (n,) is the same offset for every target
            offset = v.check_multi_offset(offset, X.shape[0], n_targets)
            if offset is not None and offset.ndim == 1:
                offset = np.ascontiguousarray(np.broadcast_to(offset[:, None], y.shape))
        coef0, b0 = self._warm_start(n_targets, X.shape[1])
        if y.ndim == 1:
            coef0, b0 = None if coef0 is None else coef0[0], None if b0 is None else b0[0]
        result = self._solve(X, y if y.ndim == 1 or n_targets > 1 else y[:, 0], sample_weight, coef0, b0, offset)
        if y.ndim == 1:
            self.coef_ = result.coef.astype(X.dtype, copy=False)
            self.intercept_ = float(result.intercept)
        else:  # scikit-learn's layout: coef_ (n_targets, n_features), intercept_ (n_targets,)
            self.coef_ = np.reshape(result.coef, (n_targets, X.shape[1])).astype(X.dtype, copy=False)
            self.intercept_ = np.reshape(np.asarray(result.intercept, dtype=np.float64), (n_targets,))
        self.n_iter_ = result.n_iter
        self.dual_gap_ = result.certificate
        self.solver_plan_ = result.plan
        self._warn_if_not_converged([result])
        return self

    def predict(self, X):
        """``X @ coef_.T + intercept_``: shape (n_samples,), or (n_samples, n_targets)."""
        scores = self._decision(X)
        return scores[:, 0] if np.ndim(self.coef_) == 1 else scores

    def _check_params(self):
        v.check_solver_params(self)
        check_bounds(self.bounds, self.positive)


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
    positive : bool, default=False
        Constrain the coefficients to be ≥ 0 (scikit-learn's ``positive``).
    bounds : (lower, upper), optional
        A box ``lower_j ≤ w_j ≤ upper_j`` (scalars or per-feature arrays, ``None`` for no
        bound on a side: glmnet's ``lower.limits``/``upper.limits``); it must contain 0. The
        certificate includes the box's optimality conditions.
    standardize : bool, default=False
        glmnet's ``standardize=TRUE``: the penalty acts on the coefficients of the columns scaled
        by their (sample-weighted, 1/n) standard deviations ``s_j`` (and centred, with an
        intercept), i.e. ``c_j`` becomes ``c_j·s_j`` for |w_j| and ``c_j·s_j²`` for w_j²;
        ``coef_`` and ``bounds`` stay on the original scale and X is not copied (see
        :mod:`penalized.standardize`; constant columns are held at 0).
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
        Optimality certificate at ``coef_`` (0 at the exact optimum): the duality gap (plus
        the stationarity of unpenalized coordinates) for convex penalties, the stationarity
        measure ``Σ_j dist(−∇_j L_data, ∂pen_j(w_j))² / (2 L_j)`` for MCP and SCAD.
    solver_plan_ : SolverPlan
        What the solver ran and why (``print(model.solver_plan_)``).
    selected_features_ : ndarray of str
    """

    def __init__(self, lam=1.0, *, weights=None, positive=False, bounds=None, standardize=False, fit_intercept=True,
                 tol=1e-4, max_iter=1000, warm_start=False):
        self.lam = lam
        self.weights = weights
        self.positive = positive
        self.bounds = bounds
        self.standardize = standardize
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

    def __init__(self, lam=1.0, *, weights=None, positive=False, bounds=None, standardize=False, fit_intercept=True,
                 tol=1e-4, max_iter=1000, warm_start=False):
        self.lam = lam
        self.weights = weights
        self.positive = positive
        self.bounds = bounds
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty(self, n_features):
        return L2(v.check_strength(self.lam, "lam"), self.weights)


class ElasticNet(_Regressor):
    """Least squares with the elastic-net penalty (scikit-learn's scale).

    ``Σ a_i (y_i − x_iᵀw − b)² + lam · (l1_ratio · Σ c_j|w_j| + (1 − l1_ratio)/2 · Σ c_j w_j²)``,
    i.e. ``L1L2(l1=lam·l1_ratio, l2=lam·(1 − l1_ratio)/2)``. ``l1_ratio=1`` is
    :class:`Lasso`; scikit-learn's ``ElasticNet(alpha, l1_ratio)`` is
    ``ElasticNet(lam=2·alpha, l1_ratio)``. glmnet's gaussian ``(lambda, alpha)`` is not
    ``(lam/2, l1_ratio)`` unless ``alpha = 1``: glmnet divides its ridge part by sd(y); use
    ``LinearRegression(penalty=pz.glmnet_penalty(lambda, alpha, y=y), standardize=True)``. Other
    parameters as in :class:`Lasso`.
    """

    def __init__(self, lam=1.0, l1_ratio=0.5, *, weights=None, positive=False, bounds=None, standardize=False,
                 fit_intercept=True, tol=1e-4, max_iter=1000, warm_start=False):
        self.lam = lam
        self.l1_ratio = l1_ratio
        self.weights = weights
        self.positive = positive
        self.bounds = bounds
        self.standardize = standardize
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

    With a 2-D ``y`` (n, T): multi-task least squares ``Σ_i a_i ‖y_i − W x_i − b‖² + penalty(W)``
    (``coef_`` of shape (T, p)); ``GroupL1`` then groups each feature across the tasks
    (elementwise penalties act on every entry of ``W``).

    Parameters
    ----------
    penalty : penalty object or None, default=None
        Any penalty (``L1``, ``L2``, ``L1L2``, ``GroupL1``, ``L1 + GroupL1``, ``MCP``, ``SCAD``;
        ``None``: ordinary least squares, or non-negative least squares with ``positive=True``).
    Other parameters and attributes as in :class:`Lasso`.
    """

    def __init__(self, penalty=None, *, positive=False, bounds=None, standardize=False, fit_intercept=True, tol=1e-4,
                 max_iter=1000, warm_start=False):
        self.penalty = penalty
        self.positive = positive
        self.bounds = bounds
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    _multi_output = True

    def _penalty(self, n_features):
        return v.check_penalty(self.penalty)


class LogisticRegression(ClassifierMixin, _PenalizedLinearModel):
    """Logistic regression with any penalty: ``mean log-loss + penalty(w)``.

    ``Σ a_i log(1 + exp(−s_i (x_iᵀw + b))) + penalty(w)``, ``s_i = ±1`` from any two
    class labels (``classes_[1]`` is +1). With K > 2 classes, the multinomial model
    ``Σ a_i (−log softmax(W x_i + b)_{y_i}) + penalty(W)`` (``W`` of shape (K, p)), as
    scikit-learn fits by default: elementwise penalties act on every entry of ``W``, and
    ``GroupL1`` groups each feature across the K classes (glmnet's ``type.multinomial =
    "grouped"``: a feature is in or out for all classes). One-vs-rest stays available through
    ``sklearn.multiclass.OneVsRestClassifier``. scikit-learn's ``LogisticRegression(C)`` minimises
    ``C·Σ_i loss_i + R(w)``: ``penalty="l1"`` is ``L1(1/(n·C))``; ``penalty="l2"`` (``R = ½‖w‖²``) is
    ``L2(1/(2n·C))``; ``"elasticnet"`` is ``L1L2(l1=ρ/(n·C), l2=(1−ρ)/(2n·C))``.

    Parameters
    ----------
    penalty : penalty object or None, default=None
        Any penalty, as in :class:`LinearRegression` (``None``: unpenalized; diverges on
        separable classes).
    positive, bounds, fit_intercept, tol, max_iter, warm_start : as in :class:`Lasso`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, (n_classes, n_features) else
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_, dual_gap_ : ndarray of shape (1,)
    selected_features_ : ndarray of str
    """

    _datafit = Logistic()

    def __init__(self, penalty=None, *, positive=False, bounds=None, standardize=False, fit_intercept=True, tol=1e-4,
                 max_iter=1000, warm_start=False):
        self.penalty = penalty
        self.positive = positive
        self.bounds = bounds
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty(self, n_features):
        return v.check_penalty(self.penalty)

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit on ``X`` (n_samples, n_features), dense or sparse, and class labels ``y``;
        ``offset`` is added to the linear predictor: (n_samples,), or (n_samples, n_classes)
        for more than two classes."""
        v.check_solver_params(self)
        check_bounds(self.bounds, self.positive)
        if is_dask_collection(X):  # fit on the cluster, X never gathered (penalized.dask)
            _no_dask_standardize(self)
            from .dask.estimators import fit_classifier

            return fit_classifier(self, X, y, sample_weight, offset)
        X, y, sample_weight = v.validate_fit_data(self, X, y, sample_weight, classifier=True,
                                                  check_finite_X=False)
        classes = np.unique(y)
        if classes.shape[0] < 2:
            name, only = type(self).__name__, classes.tolist()[0]
            raise ValueError(f"{name} needs at least 2 classes in y; got only one class: {only!r}.")
        K = classes.shape[0]
        binary = K == 2
        coef0, b0 = self._warm_start(1 if binary else K, X.shape[1])
        separated = False
        if binary:
            offset = v.check_offset(offset, X.shape[0])
            target = v.encode_binary_targets(y, classes, sample_weight)
            result = self._solve(X, target, sample_weight, None if coef0 is None else coef0[0],
                                 None if b0 is None else b0[0], offset)
            separated = self._separated_with_weak_penalty(X, target, sample_weight, result)
        else:
            offset = v.check_multi_offset(offset, X.shape[0], K)
            target = v.encode_one_hot(y, classes, sample_weight)
            result = self._solve(X, target, sample_weight, coef0, b0, offset, datafit=Multinomial())
        self.classes_ = classes
        self.coef_ = np.reshape(result.coef, (1 if binary else K, X.shape[1])).astype(X.dtype, copy=False)
        self.intercept_ = np.reshape(np.asarray(result.intercept, dtype=np.float64), (1 if binary else K,))
        self.n_iter_ = np.array([result.n_iter])
        self.dual_gap_ = np.array([result.certificate])
        self.solver_plan_ = result.plan
        self._warn_if_not_converged([result])
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
        """Class probabilities: the sigmoid for two classes, the softmax of the scores else."""
        scores = self._decision(X)
        if scores.shape[1] == 1:
            p = expit(scores[:, 0])
            return np.stack([1.0 - p, p], axis=1)  # (np.stack also works on Dask arrays)
        if is_dask_collection(scores):  # softmax written out: it maps over the chunks
            e = np.exp(scores - scores.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        return softmax(scores, axis=1)

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


class PoissonRegressor(_Regressor):
    """Poisson regression (log link) with any penalty: ``Σ a_i (exp(η_i) − y_i η_i) + penalty(w)``,
    ``η_i = x_iᵀw + b + offset_i``, counts ``y_i ≥ 0``.

    The data fit is half the mean Poisson deviance up to a constant (see
    :class:`penalized.Poisson`). glum's ``GeneralizedLinearRegressor(family="poisson", alpha,
    l1_ratio=1)`` is ``penalty=L1(alpha)``; scikit-learn's ``PoissonRegressor(alpha)`` is
    ``penalty=L2(alpha/2)``. An offset is glmnet's: ``log(exposure)`` for rates. The solver takes
    proximal Newton steps with a line search (the curvature is unbounded).

    Parameters
    ----------
    penalty : penalty object or None, default=None
        Any penalty, as in :class:`LinearRegression`.
    positive, bounds, fit_intercept, tol, max_iter, warm_start : as in :class:`Lasso`.

    Attributes as in :class:`Lasso`. ``predict`` returns the mean ``exp(Xw + b [+ offset])``;
    ``score`` is the fraction of Poisson deviance explained (D², scikit-learn's).

    The stopping rule ``dual_gap_ ≤ tol·L(0)`` is relative to the null model's loss on the whole
    sample (half its deviance). One huge count (say 1e15 among counts near 1) dominates ``L(0)``,
    so the objective is then certified to ``tol`` times that large number: lower ``tol`` (down to
    about 1e-14) to fit the other samples as tightly (docs/performance.md, "What the rule promises").
    """

    _datafit = Poisson()

    def __init__(self, penalty=None, *, positive=False, bounds=None, standardize=False, fit_intercept=True, tol=1e-4,
                 max_iter=1000, warm_start=False):
        self.penalty = penalty
        self.positive = positive
        self.bounds = bounds
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags

    def _penalty(self, n_features):
        return v.check_penalty(self.penalty)

    def predict(self, X, offset=None):
        """The expected counts ``exp(X @ coef_ + intercept_ + offset)``."""
        eta = self._decision(X)[:, 0]
        offset = v.check_offset(offset, eta.shape[0])
        return np.exp(eta if offset is None else eta + offset)

    def score(self, X, y, sample_weight=None):
        """D²: the fraction of the Poisson deviance explained (1 is perfect, 0 the mean)."""
        from sklearn.metrics import d2_tweedie_score

        return d2_tweedie_score(y, self.predict(X), sample_weight=sample_weight, power=1)


class MultiTaskLasso(_Regressor):
    """Multi-task lasso: ``Σ_i a_i ‖y_i − W x_i − b‖² + lam · Σ_j c_j ‖W_{:,j}‖₂``.

    ``y`` of shape (n, T); a feature is selected for all tasks or none. scikit-learn's
    ``MultiTaskLasso(alpha)`` is ``lam = 2·alpha`` (its data fit carries ½). The same as
    ``LinearRegression(penalty=GroupL1(lam, weights=c))`` on a 2-D ``y``.

    Parameters
    ----------
    lam : float, default=1.0
    weights : array of shape (n_features,), optional
        Per-feature factors ``c_j`` ≥ 0 (0 = unpenalized).
    fit_intercept, tol, max_iter, warm_start : as in :class:`Lasso`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
    intercept_ : ndarray of shape (n_tasks,)
    n_iter_, dual_gap_, solver_plan_, selected_features_ : as in :class:`Lasso`.
    """

    _multi_output = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = False  # y must be 2-D (scikit-learn's MultiTaskLasso too)
        return tags

    def __init__(self, lam=1.0, *, weights=None, standardize=False, fit_intercept=True, tol=1e-4, max_iter=1000,
                 warm_start=False):
        self.lam = lam
        self.weights = weights
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty(self, n_features):
        return GroupL1(v.check_strength(self.lam, "lam"), weights=self.weights)

    _requires_2d_y = True

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples, n_tasks); ``offset`` (n_samples,) or
        (n_samples, n_tasks) is added to the linear predictor."""
        return super().fit(X, y, sample_weight, offset)


class MultiTaskElasticNet(MultiTaskLasso):
    """Multi-task elastic net: ``Σ_i a_i ‖y_i − W x_i − b‖² + lam·(ρ Σ_j c_j ‖W_{:,j}‖₂ +
    (1 − ρ)/2 Σ_j c_j ‖W_{:,j}‖²)``; scikit-learn's ``MultiTaskElasticNet(alpha, l1_ratio)`` is
    ``lam = 2·alpha`` (same ``l1_ratio``). Parameters and attributes as in :class:`MultiTaskLasso`.
    """

    def __init__(self, lam=1.0, l1_ratio=0.5, *, weights=None, standardize=False, fit_intercept=True, tol=1e-4,
                 max_iter=1000, warm_start=False):
        self.lam = lam
        self.l1_ratio = l1_ratio
        self.weights = weights
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty(self, n_features):
        lam = v.check_strength(self.lam, "lam")
        rho = v.check_l1_ratio(self.l1_ratio)
        group = GroupL1(lam * rho, weights=self.weights)
        return group + L2(lam * (1.0 - rho) / 2.0, weights=self.weights) if rho < 1 else group
