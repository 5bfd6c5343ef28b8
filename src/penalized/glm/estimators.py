"""scikit-learn estimators on the whole-vector data fits: :class:`CoxPH` and :class:`HuberRegressor`.

Both fit through :func:`penalized.glm.newton.fit_vector` (proximal Newton / IRLS over the
penalized weighted least-squares solver; Cox with an elastic-net-family penalty in one compiled
call, :mod:`penalized.glm.cox_compiled`, whose ``dual_gap_`` is the Newton decrement instead);
``dual_gap_`` is the certificate described there: the
duality gap (convex penalties) or stationarity measure (MCP, SCAD) of the weighted least-squares
model rebuilt around the returned point, in objective units — zero exactly at a KKT point of
the true problem, a KKT residual rather than a bound on the suboptimality. ``kkt_violation_`` is
the KKT violation itself, from the true gradient (:mod:`penalized.glm.kkt`: what certifies these
fits).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _validation as v
from .._support import SupportMixin
from ..penalties import check_bounds
from ..standardize import fit_standardized
from .cox import Cox
from .huber import Huber
from .kkt import kkt_violation
from .newton import fit_vector
from .survival import breslow_cumulative_hazard, check_survival_target, concordance_index

__all__ = ["CoxPH", "HuberRegressor"]


class _VectorModel(SupportMixin, BaseEstimator):
    """What :class:`CoxPH` and :class:`HuberRegressor` share: validation, standardization, the fit."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _check_params(self):
        v.check_solver_params(self)
        v.check_penalty(self.penalty)
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {self.standardize!r}.")

    def _fit(self, X, y, sample_weight, offset, datafit):
        X = validate_data(self, X, accept_sparse="csc", dtype=[np.float64, np.float32], reset=True)
        X = X.astype(np.float64, copy=False)
        n, p = X.shape
        if len(y) != n:
            raise ValueError(f"X has {n} samples but y has {len(y)}.")
        if sample_weight is not None:
            from .base import check_sample_weight

            sample_weight = check_sample_weight(sample_weight, n)
        offset = v.check_offset(offset, n)
        box = check_bounds(self.bounds, self.positive, p)
        coef0 = None
        if self.warm_start and getattr(self, "coef_", None) is not None and np.shape(self.coef_) == (p,):
            coef0 = self.coef_
        # glmnet's standardization (penalized.standardize): the elastic-net family on X itself with
        # per-feature factors (no copy); group and non-convex penalties on a column-scaled copy
        fit = functools.partial(fit_standardized, fit_vector) if self.standardize else fit_vector
        result = fit(datafit, self.penalty, X, y, sample_weight=sample_weight, fit_intercept=self.fit_intercept,
                     coef_init=coef0, tol=self.tol, max_iter=self.max_iter, bounds=box, offset=offset)
        self.coef_ = np.asarray(result.coef, dtype=np.float64)
        self.n_iter_ = result.n_iter
        self.dual_gap_ = result.certificate
        self.kkt_violation_ = float("nan") if box is not None else kkt_violation(
            datafit.bind(y, sample_weight), self.penalty, X, self.coef_, getattr(result, "intercept", 0.0),
            offset=offset, fit_intercept=self.fit_intercept and datafit.has_intercept,
            standardize=bool(self.standardize), sample_weight=sample_weight)
        if not result.converged:
            warnings.warn(f"{type(self).__name__} did not converge in max_iter={self.max_iter} Newton steps: "
                          f"certificate {result.certificate:.3g} > tol·L(0) = {result.threshold:.3g}.",
                          ConvergenceWarning, stacklevel=3)
        return result

    def _linear_predictor(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        return np.asarray(X @ self.coef_).ravel()


class CoxPH(_VectorModel):
    """Penalized Cox proportional-hazards model: ``−(1/n) log PL(w) + penalty(w)``.

    The partial likelihood of :class:`penalized.Cox` (Breslow or Efron ties; sample weights and
    offsets, ``η = Xw + offset``; no intercept). Under this scale scikit-survival's
    ``CoxnetSurvivalAnalysis(alphas=[a], l1_ratio=r)`` is ``penalty=L1L2(l1=a·r, l2=a·(1−r)/2)``
    (Breslow ties) and glmnet's ``family="cox"`` ``lambda``/``alpha`` the same.

    Parameters
    ----------
    penalty : penalty object or None, default=None
        ``L1``, ``L2``, ``L1L2``, ``GroupL1``, sums, ``MCP``, ``SCAD`` (None: the unpenalized
        maximum partial likelihood, lifelines' ``CoxPHFitter(penalizer=0)``).
    ties : "breslow" or "efron", default="breslow"
    standardize : bool, default=False
        glmnet's default: the penalty acts on the coefficients of the columns divided by their
        (weighted, 1/n, centred) standard deviation; ``coef_`` is on the original scale and
        ``bounds`` are too (:mod:`penalized.standardize`). ``X`` is not copied for the elastic-net
        family (L1, L2, L1L2 and their sums: per-feature penalty factors on ``X`` itself; sparse
        ``X`` stays as given); ``GroupL1`` with groups of several features, MCP and SCAD are solved
        on a column-scaled copy (sparse stays sparse). Constant columns are held at 0 (they do not
        change the partial likelihood).
    positive, bounds : a box on the coefficients, as in :class:`penalized.Lasso`.
    tol : float, default=1e-4
        Stop when the certificate is ≤ ``tol·(L(0) − L_sat)`` (half the null deviance / n).
    max_iter : int, default=100
        Most proximal Newton steps (each solves a weighted lasso-type problem).
    warm_start : bool, default=False

    Attributes
    ----------
    coef_ : ndarray (n_features,)
    n_iter_ : int
        Proximal Newton steps taken.
    dual_gap_ : float
        The certificate at ``coef_``. With an elastic-net-family penalty (``L1``, ``L2``, ``L1L2``,
        weights, bounds; the compiled loop of :mod:`penalized.glm.cox_compiled`): the Newton
        decrement of the last step, the decrease the exact second-order model promised, an estimate
        of the suboptimality ``P(w) − P*`` (second order in the KKT violation). Otherwise (group,
        MCP, SCAD: :mod:`penalized.glm.newton`): the duality gap of the penalized weighted
        least-squares model built around ``coef_`` (stationarity measure for MCP/SCAD; the box
        conditions included), times ``H/2``, zero exactly when the KKT conditions hold there. Neither
        is a bound on ``P(w) − P*`` (the partial likelihood's conjugate has no closed form: the risk
        sets nest).
    kkt_violation_ : float
        What certifies the fit: ``max_j dist(−∂L_data/∂w_j, ∂R_j(w))`` (per group for ``GroupL1``)
        from the true gradient at ``coef_``, in gradient units (standardized coordinates with
        ``standardize=True``); NaN with ``bounds``/``positive`` (:mod:`penalized.glm.kkt`).
    event_times_, cum_baseline_hazard_ : ndarray
        Breslow's baseline cumulative hazard ``H₀`` at the distinct training event times (with
        the fitted ``η``, offsets included).
    """

    fit_intercept = False

    def __init__(self, penalty=None, *, ties="breslow", standardize=False, positive=False, bounds=None,
                 tol=1e-4, max_iter=100, warm_start=False):
        self.penalty = penalty
        self.ties = ties
        self.standardize = standardize
        self.positive = positive
        self.bounds = bounds
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit on ``X`` (n, p), dense or sparse, and survival ``y`` (scikit-survival's structured
        array (event, time), or (n, 2) columns (time, event)); ``offset`` adds to ``η``."""
        self._check_params()
        datafit = Cox(self.ties)
        time, event = check_survival_target(y)
        self._fit(X, y, sample_weight, offset, datafit)
        eta = self._linear_predictor(X)
        if offset is not None:
            eta = eta + np.asarray(offset, dtype=np.float64)
        self.event_times_, self.cum_baseline_hazard_ = breslow_cumulative_hazard(time, event, eta, sample_weight)
        return self

    def predict(self, X):
        """The linear predictor ``X @ coef_`` (the log relative hazard, scikit-survival's ``predict``)."""
        return self._linear_predictor(X)

    def score(self, X, y, sample_weight=None):
        """Harrell's concordance index of ``predict(X)`` on survival ``y``."""
        time, event = check_survival_target(y)
        return concordance_index(time, event, self.predict(X))

    def predict_cumulative_hazard_function(self, X, times=None):
        """``H(t | x) = H₀(t)·exp(xᵀw)`` at ``times`` (default ``event_times_``): (n_samples, n_times)."""
        times = self.event_times_ if times is None else np.atleast_1d(np.asarray(times, dtype=np.float64))
        idx = np.searchsorted(self.event_times_, times, side="right") - 1
        H0 = np.where(idx >= 0, self.cum_baseline_hazard_[np.maximum(idx, 0)], 0.0)
        return np.exp(self.predict(X))[:, None] * H0[None, :]

    def predict_survival_function(self, X, times=None):
        """``S(t | x) = exp(−H₀(t)·exp(xᵀw))`` through Breslow's baseline, at ``times`` (default
        ``event_times_``): an array (n_samples, n_times)."""
        return np.exp(-self.predict_cumulative_hazard_function(X, times))


class HuberRegressor(RegressorMixin, _VectorModel):
    """Penalized Huber regression: ``(1/n) Σ ρ_δ(y_i − x_iᵀw − b) + penalty(w)`` (see
    :class:`penalized.Huber`; sample-weighted mean).

    skglm's ``Huber(δ)`` with ``L1(α)`` is ``delta=δ, penalty=L1(2α)``. (scikit-learn's
    ``HuberRegressor`` also estimates a scale: a different model.)

    Parameters
    ----------
    penalty : penalty object or None, default=None
    delta : float > 0, default=1.0
    standardize, positive, bounds, tol, max_iter, warm_start : as in :class:`CoxPH`.
    fit_intercept : bool, default=True

    Attributes: ``coef_``, ``intercept_``, ``n_iter_`` (outer IRLS steps), ``dual_gap_`` and
    ``kkt_violation_`` (as in :class:`CoxPH`; the intercept's ``|∂L/∂b|`` included).
    """

    def __init__(self, penalty=None, *, delta=1.0, standardize=False, positive=False, bounds=None,
                 fit_intercept=True, tol=1e-4, max_iter=100, warm_start=False):
        self.penalty = penalty
        self.delta = delta
        self.standardize = standardize
        self.positive = positive
        self.bounds = bounds
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit on ``X`` (n, p), dense or sparse, and ``y`` (n,); ``offset`` adds to the linear predictor."""
        from sklearn.utils.validation import column_or_1d

        self._check_params()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = column_or_1d(y, dtype=np.float64, warn=True)
        result = self._fit(X, y, sample_weight, offset, Huber(self.delta))
        self.intercept_ = float(result.intercept)
        return self

    def predict(self, X):
        return self._linear_predictor(X) + self.intercept_
