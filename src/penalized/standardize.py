"""glmnet's ``standardize=True``: the penalty acts on standardized coefficients, X is not copied.

With ``s_j`` the (sample-weighted, ``1/n``) standard deviation of column j,

    s_j² = Σ_i a_i (x_ij − m_j)²,   m_j = Σ_i a_i x_ij,   a_i = w_i / Σ w,

glmnet fits the model on the columns ``(x_j − m_j)/s_j`` (centred only with an intercept) and
penalizes the coefficients ``β̃_j = s_j β_j`` of those columns; it reports ``β_j = β̃_j / s_j``.
Centring only moves the (unpenalized) intercept, so the same fit is the one on the original
columns with the penalty written in ``β``:

- L1: ``λ c_j |β̃_j| = λ (c_j s_j) |β_j|``          → per-feature factor ``c_j s_j``;
- L2: ``λ c_j β̃_j² = λ (c_j s_j²) β_j²``            → per-feature factor ``c_j s_j²``;
- a group of one feature across several outputs (``GroupL1`` without ``groups``: the
  multi-task lasso, the grouped multinomial): ``λ c_j ‖s_j W_{:,j}‖ = λ (c_j s_j) ‖W_{:,j}‖``.

Those penalties (the elastic-net family, their sums, the per-feature ``GroupL1``) are solved on
``X`` itself with these factors: nothing is copied, sparse ``X`` stays as it is. The others
(``GroupL1`` with groups of several features, whose ``λ c_g ‖S_g β_g‖`` is no per-feature
factor; ``MCP`` and ``SCAD``, whose shape parameter would have to change per feature as well)
are solved on a column-scaled copy ``X·diag(1/s)`` (sparse stays sparse) and mapped back.

The objective solved is the same function of ``β`` in both cases, so the certificate
(``dual_gap_``) bounds the suboptimality of the standardized objective, in its own units
(the data fit is unchanged, and so is ``L(0)``).

Bounds are on the original-scale coefficients ``β``, as glmnet's ``lower.limits`` /
``upper.limits`` (glmnet multiplies them by ``s_j`` internally). A constant column
(``s_j = 0`` among the samples of positive weight, to rounding) is held at 0, as glmnet
excludes it (a box ``[0, 0]`` on ``X``, a zero column in the scaled copy). Without an intercept
a column is still scaled by its centred standard deviation but not centred, as glmnet does
(checked against glmnet's Fortran).

The certificate. On ``X`` with per-feature factors the solver's duality gap is the gap of the
problem in ``β``; since ``β ↦ s·β`` is a bijection that maps one objective onto the other, the
primal values, the optimum and hence ``P(β) − P* ≤ gap`` are the same for the standardized
problem. On the copy the gap is the standardized problem's own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .penalties import GroupL1, Penalty, check_penalty_weights
from .penalties.elastic_net import L1, L2, ElasticNetFamily
from .penalties.sums import PenaltySum, add_penalties

__all__ = ["Standardization", "check_standardize", "column_scales", "fit_standardized"]

_CONSTANT_RTOL = 64 * np.finfo(np.float64).eps


def check_standardize(standardize):
    """``standardize`` must be True or False; returns it."""
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"standardize must be True or False, got {standardize!r}.")
    return bool(standardize)


def column_scales(X, sample_weight=None):
    """``(s, constant)``: the weighted 1/n standard deviation of every column and the mask of the
    constant ones (``s_j² ≤ 64·eps·mean(x_j²)``: zero up to the rounding of the moments)."""
    from .solvers import _loader
    from .solvers.problem import kernel_matrix

    n, p = X.shape
    a = np.full(n, 1.0 / n) if sample_weight is None else (
        np.asarray(sample_weight, dtype=np.float64) / np.sum(sample_weight))
    means, var = np.empty(p), np.empty(p)
    _loader.kernels_for(n * p).col_weighted_moments(*kernel_matrix(X), a, means, var)
    constant = var <= _CONSTANT_RTOL * (var + means * means)
    return np.sqrt(np.where(constant, 0.0, var)), constant


def _per_feature(penalty, s):
    """``penalty`` on ``β̃ = s·β`` written as a penalty on ``β`` (per-feature factors), or None
    when that is impossible (see the module docstring)."""
    if isinstance(penalty, ElasticNetFamily):
        c = check_penalty_weights(penalty.weights, s.shape[0])
        c = np.ones(s.shape[0]) if c is None else c
        terms = []
        if penalty._l1:
            terms.append(L1(penalty._l1, c * s))
        if penalty._l2:
            terms.append(L2(penalty._l2, c * s * s))
        if not terms:
            return penalty
        return terms[0] if len(terms) == 1 else add_penalties(*terms)
    if isinstance(penalty, GroupL1) and penalty.groups is None:
        c = check_penalty_weights(penalty.weights, s.shape[0])
        c = np.ones(s.shape[0]) if c is None else c
        return GroupL1(penalty.lam, weights=c * s)
    if isinstance(penalty, PenaltySum):
        terms = [_per_feature(t, s) for t in penalty.terms]
        if any(t is None for t in terms):
            return None
        total = terms[0]
        for t in terms[1:]:
            total = add_penalties(total, t)
        return total
    return None


class OnStandardized(Penalty):
    """``penalty(s·β)``: a penalty on the standardized coefficients, read on the original-scale
    ``β`` (what a standardized path reports for group and non-convex penalties)."""

    def __init__(self, penalty=None, scale=None):
        self.penalty = penalty
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)

    def _s(self, w):
        s = self.scale
        return s if np.ndim(w) == 1 else s.reshape((-1,) + (1,) * (np.ndim(w) - 1))

    def value(self, w):
        return self.penalty.value(w * self._s(w))

    def subdiff_distance(self, w, grad):
        """The distance of the standardized problem: at ``β̃ = s·β`` with ``∇_β̃ = ∇_β / s``."""
        return self.penalty.subdiff_distance(w * self._s(w), grad / self._s(w))

    def scaled(self, factor):
        return OnStandardized(self.penalty.scaled(factor), self.scale)

    def unit_strength(self):
        return self.penalty.unit_strength()

    @property
    def convex(self):
        return self.penalty.convex


@dataclass(frozen=True)
class Standardization:
    """glmnet's standardization of one training set, as the solvers see it.

    ``scale`` holds ``s_j`` (1 for the constant columns, held at 0); ``copy``
    says whether the solver works on the column-scaled copy ``X·diag(1/s)`` (coefficients
    ``β̃ = s·β``) or on ``X`` with per-feature factors (coefficients ``β``).
    """

    scale: np.ndarray
    constant: np.ndarray
    copy: bool

    @classmethod
    def fit(cls, X, sample_weight, penalty):
        s, constant = column_scales(X, sample_weight)
        s = np.where(constant, 1.0, s)
        copy = penalty is not None and _per_feature(penalty, s) is None
        return cls(scale=s, constant=constant, copy=copy)

    # -- what the solver gets --------------------------------------------------------------
    def design(self, X):
        """``X``, or its column-scaled copy (sparse stays sparse, in CSC)."""
        if not self.copy:
            return X
        inv = np.where(self.constant, 0.0, 1.0 / self.scale)  # a constant column becomes 0: its β̃ stays 0
        if sp.issparse(X):
            return (X @ sp.diags(inv.astype(X.dtype))).tocsc()
        return np.asfortranarray(X * inv.astype(X.dtype, copy=False))

    def penalty(self, penalty):
        """The penalty the solver minimises with (the same objective, see the module docstring)."""
        if penalty is None or self.copy:
            return penalty
        return _per_feature(penalty, self.scale)

    def reported_penalty(self, penalty):
        """The penalty as a function of the original-scale ``β`` (a path's ``penalty``)."""
        return OnStandardized(penalty, self.scale) if self.copy else self.penalty(penalty)

    def bounds(self, bounds):
        """The box in the solver's coordinates; on ``X`` itself the constant columns are pinned at 0 (the
        scaled copy zeroes them instead: group penalties take no box)."""
        if bounds is None and (self.copy or not self.constant.any()):
            return None
        p = self.scale.shape[0]
        lower, upper = (np.full(p, -np.inf), np.full(p, np.inf)) if bounds is None else (
            np.array(bounds[0], dtype=np.float64), np.array(bounds[1], dtype=np.float64))
        if self.copy:
            lower, upper = lower * self.scale, upper * self.scale
        lower[self.constant], upper[self.constant] = 0.0, 0.0
        return lower, upper

    # -- coefficients ------------------------------------------------------------------------
    def to_original(self, coef, axis=-1):
        """Solver coefficients → ``β`` (features along ``axis``)."""
        if not self.copy or coef is None:
            return coef
        return np.asarray(coef) / self._along(np.ndim(coef), axis)

    def to_internal(self, coef, axis=-1):
        """``β`` → the solver's coefficients (warm starts)."""
        if not self.copy or coef is None:
            return coef
        return np.asarray(coef) * self._along(np.ndim(coef), axis)

    def _along(self, ndim, axis):
        shape = [1] * ndim
        shape[axis] = -1
        return self.scale.reshape(shape)


def fit_standardized(fit_linear, datafit, penalty, X, y, *, sample_weight=None, bounds=None, coef_init=None,
                     **options):
    """``fit_linear`` (:func:`penalized.linear_model.fit_linear`, passed in: this module sits below
    the estimators) with glmnet's standardization; the result's ``coef`` is on the original scale
    (its layout as ``fit_linear``'s: (p,) or (K, p))."""
    st = Standardization.fit(X, sample_weight, penalty)
    p = X.shape[1]
    if coef_init is not None:
        coef_init = st.to_internal(np.reshape(coef_init, (-1, p))).reshape(np.shape(coef_init))
    res = fit_linear(datafit, st.penalty(penalty), st.design(X), y, sample_weight=sample_weight,
                     coef_init=coef_init, bounds=st.bounds(bounds), **options)
    if not st.copy:
        return res
    coef = st.to_original(np.reshape(res.coef, (-1, p))).reshape(np.shape(res.coef))
    return dataclasses.replace(res, coef=coef)


def standardized_path_inputs(X, unit, bounds, sample_weight):
    """``(X, unit, bounds, st)`` for a path on glmnet-standardized columns."""
    st = Standardization.fit(X, sample_weight, unit)
    return st.design(X), st.penalty(unit), st.bounds(bounds), st


def path_arrays_to_original(arrays, st):
    """A path's arrays with the coefficients mapped back to the original scale (features on
    axis -2 of (p, k) or (K, p, k))."""
    if not st.copy:
        return arrays
    return dataclasses.replace(arrays, coefs=st.to_original(arrays.coefs, axis=-2))
