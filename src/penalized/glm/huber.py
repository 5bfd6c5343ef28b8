"""``Huber(delta)``: the robust regression loss, on whole vectors.

``L_data = Σ_i a_i ρ_δ(y_i − η_i)``, ``a_i = s_i/Σs`` (``1/n`` unweighted), with
``ρ_δ(r) = r²`` for ``|r| ≤ δ`` and ``2δ|r| − δ²`` beyond: quadratic near zero, linear in the
tails, continuously differentiable. As ``δ → ∞`` it is :class:`~penalized.SquaredError`.

skglm's ``Huber(delta)`` is half of it (``½r²`` / ``δ|r| − ½δ²``): skglm's ``Huber(δ)`` with
``L1(α)`` is ``Huber(δ)`` with ``L1(2α)`` here.

``ρ''`` is 0 beyond δ, so the Hessian cannot weight a Newton step there. ``curvature`` gives
instead the IRLS weights ``a_i ρ'(r_i)/r_i`` (``2a_i`` inside δ, ``2a_i δ/|r_i|`` beyond): the
quadratic with these weights touches ``L_data`` at ``η`` and lies above it everywhere
(``ρ(√t)`` is concave in ``t``), so each step of the outer loop is a majorize–minimize step and
decreases the objective.
"""

from __future__ import annotations

import numbers

import numpy as np

from .base import BoundDatafit, VectorDatafit, check_sample_weight

__all__ = ["Huber"]


class Huber(VectorDatafit):
    """Huber loss ``L_data = (1/n) Σ ρ_δ(y_i − x_iᵀw − b)``, ``ρ_δ(r) = r²`` if ``|r| ≤ δ`` else
    ``2δ|r| − δ²`` (sample-weighted mean; see :mod:`penalized.glm.huber`).

    Parameters
    ----------
    delta : float > 0, default=1.0
        Where the loss turns from quadratic to linear, in the units of ``y``.
    """

    _params = ("delta",)
    name = "Huber loss"

    def __init__(self, delta=1.0):
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not (0 < delta < np.inf):
            raise ValueError(f"Huber: delta must be a finite number > 0, got {delta!r}.")
        self.delta = float(delta)

    def bind(self, y, sample_weight=None):
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1:
            raise ValueError(f"Huber needs a 1-D y, got shape {y.shape}.")
        if not np.all(np.isfinite(y)):
            raise ValueError("Huber: y contains NaN or infinity.")
        return _HuberFit(y, check_sample_weight(sample_weight, y.shape[0]), self.delta)


class _HuberFit(BoundDatafit):
    def __init__(self, y, s, delta):
        super().__init__(s)
        self.y, self.delta, self.a = y, delta, s / s.sum()

    def _psi(self, r):
        """``ρ'(r)``."""
        return 2.0 * np.clip(r, -self.delta, self.delta)

    def value(self, eta):
        r = np.abs(self.y - eta)
        d = self.delta
        return float(self.a @ np.where(r <= d, r * r, 2.0 * d * r - d * d))

    def gradient(self, eta):
        return -self.a * self._psi(self.y - eta)

    def curvature(self, eta):
        r = np.abs(self.y - eta)
        return self.a * np.where(r <= self.delta, 2.0, 2.0 * self.delta / np.maximum(r, self.delta))

    def null_intercept(self, offset):
        """The Huber M-estimate of location of ``y − offset`` (a root of ``Σ a_i ρ'(·)``)."""
        from scipy.optimize import brentq

        u = self.y - offset
        lo, hi = float(u.min()), float(u.max())
        if hi - lo == 0.0:
            return lo
        return float(brentq(lambda b: float(self.a @ self._psi(u - b)), lo, hi, xtol=1e-14 * (1 + abs(hi))))
