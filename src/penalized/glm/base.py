"""The whole-vector data-fit contract: a data fit described on the n-vector of linear predictors.

A :class:`VectorDatafit` holds its own parameters (Huber's ``delta``, Cox's ``ties``).
:meth:`VectorDatafit.bind` checks a target ``y`` (and sample weights ``s``) once and returns a
:class:`BoundDatafit`, which gives, at any linear predictor ``η ∈ Rⁿ`` (offsets included):

- ``value(η)``: ``L_data`` on the mean scale of :mod:`penalized.datafits`;
- ``gradient(η)``: ``∂L_data/∂η_i`` (weights and ``1/Σs`` included);
- ``curvature(η)``: weights ``h_i ≥ 0`` of the quadratic model
  ``L(η₀) + gᵀ(η − η₀) + ½ Σ h_i (η_i − η₀_i)²`` — the Hessian's diagonal (Cox), or the
  weights of a majorizer that touches ``L`` at ``η₀`` (Huber's IRLS weights);
- ``saturated``: ``L_data`` of the saturated model; ``deviance(η) = 2·Σs·(value(η) − saturated)``
  (glmnet's deviance for Cox) and ``null_deviance``.

Nothing else about a data fit is needed: :mod:`penalized.glm.newton` reduces every one of them
to penalized weighted least squares, solved by the existing squared-error solver.
"""

from __future__ import annotations

import numpy as np

__all__ = ["VectorDatafit", "BoundDatafit", "check_sample_weight"]


def check_sample_weight(sample_weight, n):
    """Sample weights as float64 (n,), ``≥ 0`` with a positive sum (ones when None)."""
    if sample_weight is None:
        return np.ones(n)
    s = np.asarray(sample_weight, dtype=np.float64)
    if s.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {s.shape}.")
    if not np.all(np.isfinite(s)) or np.any(s < 0) or not s.sum() > 0:
        raise ValueError("sample_weight must be finite and >= 0, with some weight non-zero (got all zero or invalid).")
    return s


class BoundDatafit:
    """A data fit bound to one target: the methods of the contract (see the module docstring)."""

    #: whether an intercept is identifiable (Cox: it cancels in the partial likelihood)
    has_intercept = True
    #: ``L_data(η + c) = L_data(η)`` for every constant ``c`` (Cox)
    shift_invariant = False
    saturated = 0.0

    def __init__(self, sample_weight):
        self.s = sample_weight
        self.total = float(sample_weight.sum())
        self.n = sample_weight.shape[0]

    def value(self, eta):  # pragma: no cover - abstract
        raise NotImplementedError

    def gradient(self, eta):  # pragma: no cover - abstract
        raise NotImplementedError

    def curvature(self, eta):  # pragma: no cover - abstract
        raise NotImplementedError

    def derivatives(self, eta):
        """``(gradient(η), curvature(η))``; data fits that share work between them override it."""
        return self.gradient(eta), self.curvature(eta)

    def null_intercept(self, offset):
        """The best intercept of the model ``η = b + offset`` (0 without an intercept)."""
        return 0.0

    def deviance(self, eta):
        """``2·Σs·(L_data(η) − L_sat)``; for Cox with unit weights, glmnet's ``2(ℓ_sat − ℓ)``."""
        return 2.0 * self.total * (self.value(eta) - self.saturated)

    def null_deviance(self, offset, fit_intercept=True):
        """The deviance of the null model (``w = 0``; the best intercept if fitted)."""
        b = self.null_intercept(offset) if (fit_intercept and self.has_intercept) else 0.0
        return self.deviance(offset + b)


class VectorDatafit:
    """Base class of the data fits described on whole vectors (see the module docstring)."""

    #: traits the estimators, paths and ``fit_linear`` read
    vector = True
    has_intercept = True
    needs_labels = False
    multi_output = False
    multi_target = False
    code = -1  # no block in the compiled kernels: the outer loop of penalized.glm.newton runs it
    name = ""

    def bind(self, y, sample_weight=None):  # pragma: no cover - abstract
        """Check ``y`` and return a :class:`BoundDatafit`."""
        raise NotImplementedError

    def value(self, y, eta, sample_weight=None):
        """``L_data`` at the linear predictor ``eta`` (the :class:`~penalized.datafits.Datafit` call)."""
        return self.bind(y, sample_weight).value(np.asarray(eta, dtype=np.float64))

    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in self._params}

    def set_params(self, **params):
        for k, val in params.items():
            if k not in self._params:
                raise ValueError(f"{type(self).__name__} has no parameter {k!r}.")
            setattr(self, k, val)
        self.__init__(**self.get_params())  # re-validate
        return self

    _params = ()

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._params)
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_params() == other.get_params()

    def __hash__(self):
        return hash((type(self).__name__, tuple(self.get_params().values())))
