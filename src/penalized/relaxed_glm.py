"""The relaxed fit for every data fit (glmnet's ``relax=TRUE`` beyond squared error).

With ``w_λ`` the penalized fit of a data fit ``L_data`` and ``S`` its support (the features
with a non-zero coefficient; for the multinomial, non-zero for some class), the relaxed fit is

    w(γ) = γ · w_λ + (1 − γ) · w̃_λ,      b(γ) = γ · b_λ + (1 − γ) · b̃_λ,      γ ∈ [0, 1],

where ``(w̃_λ, b̃_λ)`` minimises the *same* data fit without a penalty over the coefficients
with ``w_j = 0`` off ``S`` (same sample weights, offsets and intercept treatment): the
maximum-likelihood refit of the log-loss, multinomial, Poisson or Cox model on the support.
``γ = 1`` is the penalized fit, ``γ = 0`` the unpenalized refit (glmnet's ``gamma``).

- Squared error: the least-squares refit of :func:`penalized.relaxed.refit_on_support`
  (minimum norm when the support has more features than samples).
- Multinomial: the unpenalized softmax model is invariant to adding one vector to every
  class's coefficients; the refit is reported centred (its coefficients and intercepts sum to
  0 over the classes), which changes no prediction.
- When the unpenalized fit has no minimiser (classes separated by the support's features, a
  Poisson count pattern the support reproduces exactly), the refit stops where the solver's
  rule ``certificate ≤ tol·L(0)`` holds: its loss is then below ``tol·L(0)`` and its
  coefficients large; the estimators warn (glmnet stops such fits at 99.9 % deviance explained).

:class:`RelaxedLogisticRegression`, :class:`RelaxedPoissonRegressor` and :class:`RelaxedCoxPH`
fit one ``(λ, γ)``; ``LogisticRegressionCV(relax=True)`` and ``PoissonRegressorCV(relax=True)``
cross-validate both, as ``LassoCV(relax=True)`` does.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from . import _validation as v
from .datafits import Multinomial, SquaredError
from .glm.estimators import CoxPH
from .linear_model import LogisticRegression, PoissonRegressor
from .relaxed import mix, refit_on_support

__all__ = ["refit_support", "relaxed_refits", "RelaxedLogisticRegression", "RelaxedPoissonRegressor",
           "RelaxedCoxPH"]

#: the refits are solved to this relative certificate: a gap ε puts the coefficients O(√ε) off, and
#: the refits are small, unpenalized problems (Newton-like convergence)
REFIT_TOL = 1e-14


def refit_support(datafit, X, target, support, sample_weight=None, offset=None, fit_intercept=True,
                  tol=REFIT_TOL, max_iter=1000, coef_init=None, intercept_init=None):
    """``(coef, intercept, converged)``: the unpenalized fit of ``datafit`` on the columns where
    ``support`` (p,) is true, zeros elsewhere.

    ``target`` is as the solver takes it (the ±1 labels of the log-loss, one-hot rows of the
    multinomial, counts, survival pairs); ``coef`` has shape (p,), or (K, p) for the multinomial
    (centred over the classes, as ``intercept`` (K,)). ``coef_init`` (p,) / ``intercept_init``:
    an optional warm start (one output; the support's entries of ``coef_init`` are used).
    """
    from .linear_model import fit_linear

    n, p = X.shape
    cols = np.flatnonzero(support)
    multinomial = isinstance(datafit, Multinomial)
    if isinstance(datafit, SquaredError):
        t = np.asarray(target, dtype=np.float64)
        if offset is not None:
            t = t - offset
        coef, intercept = refit_on_support(X, t, support, sample_weight, fit_intercept)
        return coef, intercept, True
    Xs = X[:, cols] if cols.size else (sp.csc_array((n, 0)) if sp.issparse(X) else np.zeros((n, 0)))
    if coef_init is not None:
        coef_init = np.asarray(coef_init, dtype=np.float64)[cols]
    result = fit_linear(datafit, None, Xs, target, sample_weight=sample_weight, fit_intercept=fit_intercept,
                        tol=tol, max_iter=max_iter, offset=offset, coef_init=coef_init,
                        intercept_init=intercept_init)
    if multinomial:
        K = np.shape(target)[1]
        sub = np.reshape(np.asarray(result.coef, dtype=np.float64), (K, cols.size))
        sub = sub - sub.mean(axis=0)
        b = np.asarray(result.intercept, dtype=np.float64).reshape(K)
        coef = np.zeros((K, p))
        coef[:, cols] = sub
        return coef, b - b.mean(), bool(result.converged)
    coef = np.zeros(p)
    coef[cols] = np.asarray(result.coef, dtype=np.float64).ravel()
    return coef, float(result.intercept), bool(result.converged)


def relaxed_refits(datafit, X, target, coefs, sample_weight=None, offset=None, fit_intercept=True):
    """Refits on the support of every point of a path: ``coefs`` (n_outputs, p, k) →
    ``(R (n_outputs, p, k), Rb (n_outputs, k), n_failed)``, one refit per distinct support."""
    cache, failed = {}, 0
    R, Rb = np.zeros(coefs.shape), np.zeros((coefs.shape[0], coefs.shape[2]))
    multinomial = isinstance(datafit, Multinomial)
    for i in range(coefs.shape[2]):
        support = np.any(coefs[:, :, i] != 0, axis=0)
        key = np.packbits(support).tobytes()
        if key not in cache:
            with warnings.catch_warnings():  # counted and reported by the caller
                warnings.simplefilter("ignore", ConvergenceWarning)
                cache[key] = refit_support(datafit, X, target, support, sample_weight, offset, fit_intercept)
            failed += not cache[key][2]
        coef, intercept, _ = cache[key]
        R[:, :, i] = coef if multinomial else coef[None]
        Rb[:, i] = intercept
    return R, Rb, failed


class _Relaxing:
    """``fit``: the penalized fit of the parent class, its support's unpenalized refit, the mix."""

    def _unpenalized(self):
        params = {k: val for k, val in self.get_params(deep=False).items() if k != "gamma"}
        params.update(penalty=None, standardize=False, positive=False, bounds=None, warm_start=False,
                      tol=REFIT_TOL, max_iter=max(int(self.max_iter), 1000))
        return self._parent(**params)

    def _relax(self, X, y, sample_weight, offset):
        from .dask import is_dask_collection

        if any(is_dask_collection(a) for a in (X, y, sample_weight, offset)):
            # the refit needs the support's columns in memory: refuse before any pass over the data
            raise NotImplementedError(
                f"{type(self).__name__} does not take Dask input: its unpenalized refit needs X in memory. Fit "
                f"{self._parent.__name__} on the Dask data, or compute X to NumPy.")
        gamma = v.check_gamma(self.gamma)
        if gamma.size != 1:
            raise ValueError(f"gamma must be one number in [0, 1], got {self.gamma!r}.")
        gamma = float(gamma[0])
        self._parent.fit(self, X, y, sample_weight=sample_weight, offset=offset)
        coef = np.asarray(self.coef_, dtype=np.float64)
        self.penalized_coef_ = self.coef_.copy()
        intercept = getattr(self, "intercept_", 0.0)
        self.penalized_intercept_ = np.copy(intercept) if np.ndim(intercept) else float(intercept)
        support = np.any(np.atleast_2d(coef) != 0, axis=0)
        if not support.any():  # the penalized fit is already the intercept-only (null) model
            self.refit_coef_ = np.zeros(np.shape(self.coef_))
            return self
        X_sub = _columns(X, support)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            refit = self._unpenalized().fit(X_sub, y, sample_weight=sample_weight, offset=offset)
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            warnings.warn(f"{type(self).__name__}: the unpenalized refit on the {int(support.sum())} selected "
                          "features has no finite minimiser or did not converge (separated classes?); the relaxed "
                          "fit at gamma < 1 carries its large coefficients. Use a larger gamma or lam.",
                          ConvergenceWarning, stacklevel=3)
        full = np.zeros(np.atleast_2d(coef).shape)
        full[:, support] = np.atleast_2d(refit.coef_)
        b_refit = np.asarray(getattr(refit, "intercept_", 0.0), dtype=np.float64)
        if full.shape[0] > 1:  # multinomial: the centred representative
            full, b_refit = full - full.mean(axis=0), b_refit - b_refit.mean()
        new, b = mix(gamma, np.atleast_2d(coef), np.asarray(self.penalized_intercept_, dtype=np.float64),
                     full, b_refit)
        self.coef_ = new.reshape(np.shape(self.coef_)).astype(np.asarray(self.coef_).dtype, copy=False)
        if hasattr(self, "intercept_"):
            self.intercept_ = b if np.ndim(self.intercept_) else float(b)
        self.refit_coef_ = full.reshape(np.shape(self.coef_))
        return self


def _columns(X, support):
    """The support's columns of ``X`` (array-like, dense or sparse) as a float array."""
    from sklearn.utils import check_array

    X = check_array(X, accept_sparse="csc", dtype=[np.float64, np.float32])
    return X[:, np.flatnonzero(support)]


_RELAX_DOC = """
    The relaxed fit ``γ·w_λ + (1 − γ)·w̃_λ`` of :mod:`penalized.relaxed_glm`: ``w_λ`` is the fit of
    the parent estimator with ``penalty`` and ``w̃_λ`` the unpenalized refit of the same data fit on
    the support of ``w_λ``.

    gamma : float in [0, 1], default=0.5
        Weight of the penalized fit: 1 = the penalized fit, 0 = the unpenalized refit on its support.

    Attributes (besides the parent's): ``penalized_coef_``, ``penalized_intercept_`` (``w_λ``,
    ``b_λ``), ``refit_coef_`` (``w̃_λ``); ``coef_`` / ``intercept_`` are the relaxed fit;
    ``dual_gap_`` and ``n_iter_`` are the penalized fit's.
"""


class RelaxedLogisticRegression(_Relaxing, LogisticRegression):
    __doc__ = ("Relaxed logistic (or multinomial) regression; the penalized fit is "
               ":class:`penalized.LogisticRegression`'s (same scale).\n" + _RELAX_DOC)
    _parent = LogisticRegression

    def __init__(self, penalty=None, *, gamma=0.5, positive=False, bounds=None, standardize=False,
                 fit_intercept=True, tol=1e-4, max_iter=1000, warm_start=False):
        super().__init__(penalty, positive=positive, bounds=bounds, standardize=standardize,
                         fit_intercept=fit_intercept, tol=tol, max_iter=max_iter, warm_start=warm_start)
        self.gamma = gamma

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit the penalized model, refit its support without a penalty, mix with ``gamma``."""
        return self._relax(X, y, sample_weight, offset)


class RelaxedPoissonRegressor(_Relaxing, PoissonRegressor):
    __doc__ = ("Relaxed Poisson regression; the penalized fit is :class:`penalized.PoissonRegressor`'s "
               "(same scale).\n" + _RELAX_DOC)
    _parent = PoissonRegressor

    def __init__(self, penalty=None, *, gamma=0.5, positive=False, bounds=None, standardize=False,
                 fit_intercept=True, tol=1e-4, max_iter=1000, warm_start=False):
        super().__init__(penalty, positive=positive, bounds=bounds, standardize=standardize,
                         fit_intercept=fit_intercept, tol=tol, max_iter=max_iter, warm_start=warm_start)
        self.gamma = gamma

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit the penalized model, refit its support without a penalty, mix with ``gamma``."""
        return self._relax(X, y, sample_weight, offset)


class RelaxedCoxPH(_Relaxing, CoxPH):
    __doc__ = ("Relaxed Cox model; the penalized fit is :class:`penalized.CoxPH`'s (same scale). The "
               "refit is the maximum partial likelihood on the support (lifelines' "
               "``CoxPHFitter(penalizer=0)`` on those columns).\n" + _RELAX_DOC)
    _parent = CoxPH

    def __init__(self, penalty=None, *, gamma=0.5, ties="breslow", standardize=False, positive=False,
                 bounds=None, tol=1e-4, max_iter=100, warm_start=False):
        super().__init__(penalty, ties=ties, standardize=standardize, positive=positive, bounds=bounds,
                         tol=tol, max_iter=max_iter, warm_start=warm_start)
        self.gamma = gamma

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit the penalized model, refit its support without a penalty, mix with ``gamma``;
        the Breslow baseline hazard is recomputed for the relaxed coefficients."""
        from .glm.survival import breslow_cumulative_hazard, check_survival_target

        self._relax(X, y, sample_weight, offset)
        time, event = check_survival_target(y)
        eta = self._linear_predictor(X)
        if offset is not None:
            eta = eta + np.asarray(offset, dtype=np.float64)
        self.event_times_, self.cum_baseline_hazard_ = breslow_cumulative_hazard(time, event, eta, sample_weight)
        return self
