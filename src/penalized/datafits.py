"""Data-fit terms ``L_data``: the first term of ``L(w) = L_data(w) + λ · L_reg(w)``.

With linear predictor ``z_i = x_iᵀw + b`` and sample weights ``s_i`` (default 1), every
data fit is a weighted *mean* over samples, ``a_i = s_i / Σ_k s_k``:

- ``SquaredError``: ``L_data = Σ_i a_i (y_i − z_i)²``  (the mean squared error),
- ``Logistic``:     ``L_data = Σ_i a_i log(1 + exp(−y_i z_i))``  (the mean log-loss),
  with labels ``y_i ∈ {−1, +1}`` (the estimators map any two class labels onto them).

Because weights are normalised, multiplying all ``s_i`` by a constant changes nothing,
and an integer weight equals repeating the sample. The intercept ``b`` is never
penalized. These NumPy methods are the reference; the compiled solvers
(:mod:`penalized.solvers._kernels`) implement the same formulas, and the tests check
both against each other.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

__all__ = ["Datafit", "SquaredError", "Logistic"]


def normalized_weights(n_samples, sample_weight=None):
    """``a_i = s_i / Σ s`` (``1/n`` when ``sample_weight`` is None)."""
    if sample_weight is None:
        return np.full(n_samples, 1.0 / n_samples)
    s = np.asarray(sample_weight, dtype=np.float64)
    return s / s.sum()


class Datafit:
    """Base class of the data-fit terms (see the module docstring for the scale)."""

    code = -1  # identifies the datafit in the compiled kernels

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self).__name__)

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        if params:
            raise ValueError(f"{type(self).__name__} has no parameters, got {sorted(params)}.")
        return self

    def value(self, y, z, sample_weight=None):
        """``L_data`` at linear predictor ``z``."""
        a = normalized_weights(len(y), sample_weight)
        return float(a @ self._losses(y, z))

    def derivative(self, y, z, sample_weight=None):
        """``∂L_data / ∂z_i`` (includes the factor ``a_i``)."""
        a = normalized_weights(len(y), sample_weight)
        return a * self._loss_derivatives(y, z)

    def gradient(self, X, y, w, b=0.0, sample_weight=None):
        """``(∇_w L_data, ∂L_data/∂b)`` at ``(w, b)``."""
        d = self.derivative(y, X @ w + b, sample_weight)
        return np.asarray(X.T @ d).ravel(), float(d.sum())

    def coordinate_lipschitz(self, X, sample_weight=None):
        """Per-feature Lipschitz constants ``L_j`` of ``∂L_data/∂w_j`` along ``w_j``."""
        a = normalized_weights(X.shape[0], sample_weight)
        sq = X.multiply(X) if hasattr(X, "multiply") else X * X
        return self.curvature_bound * np.asarray(sq.T @ a).ravel()

    @property
    def intercept_lipschitz(self):
        """Lipschitz constant of ``∂L_data/∂b`` (weights sum to one)."""
        return self.curvature_bound

    def null_intercept(self, y, sample_weight=None):
        """The best intercept when ``w = 0``."""
        raise NotImplementedError  # pragma: no cover - abstract


class SquaredError(Datafit):
    """Mean squared error ``L_data = Σ_i a_i (y_i − x_iᵀw − b)²``, ``a_i = s_i / Σ s``.

    scikit-learn's least-squares models use half of it, ``(1/2n)‖y − Xw‖²``: hence
    ``lam = 2·alpha`` for ``Lasso`` (see the conversion table in the docs).
    """

    code = 0
    curvature_bound = 2.0  # second derivative of (y − z)²

    def _losses(self, y, z):
        return (y - z) ** 2

    def _loss_derivatives(self, y, z):
        return -2.0 * (y - z)

    def null_intercept(self, y, sample_weight=None):
        return float(normalized_weights(len(y), sample_weight) @ y)


class Logistic(Datafit):
    """Mean log-loss ``L_data = Σ_i a_i log(1 + exp(−y_i (x_iᵀw + b)))``, ``y_i ∈ {−1, +1}``.

    scikit-learn's ``LogisticRegression(C)`` sums the losses and puts ``C`` on them:
    dividing its objective by ``C·Σ s`` gives this one with ``lam = 1 / (C·Σ s)``
    (``1 / (n·C)`` without sample weights).
    """

    code = 1
    curvature_bound = 0.25  # max of σ(t)(1 − σ(t))

    def _losses(self, y, z):
        return -log_expit(y * z)

    def _loss_derivatives(self, y, z):
        return -y * expit(-y * z)

    def null_intercept(self, y, sample_weight=None):
        a = normalized_weights(len(y), sample_weight)
        p = float(a @ (y > 0))
        if p in (0.0, 1.0):
            raise ValueError("Logistic needs both classes with positive weight in y.")
        return float(np.log(p / (1.0 - p)))
