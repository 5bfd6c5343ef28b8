"""Non-convex separable penalties: ``MCP`` (Zhang 2010) and ``SCAD`` (Fan & Li 2001).

Both equal the lasso ``lam·|w|`` near zero (so they select like it) and level off for
large coefficients (so they do not shrink them: nearly unbiased estimates). They are
written exactly as in their papers, per coordinate, with ``lam_j = lam·c_j``:

- MCP: ``lam·|w| − w²/(2γ)`` if ``|w| ≤ γ·lam``, else ``γ·lam²/2``  (``γ > 0``);
- SCAD: ``lam·|w|`` if ``|w| ≤ lam``; ``(2γ·lam·|w| − w² − lam²) / (2(γ − 1))`` if
  ``lam < |w| ≤ γ·lam``; else ``lam²(γ + 1)/2``  (``γ > 2``).

Non-convex problems have no duality gap: the solvers stop on, and report, a stationarity
measure (``Σ_j dist(−∇_j L_data, ∂pen_j(w_j))² / (2 L_j)``, in the objective's units) and
the point they return is a stationary point, not necessarily the global minimum.

Conversions. skglm's ``MCPRegression(alpha, gamma)`` minimises ``(1/2n)‖y − Xw‖² +
MCP(alpha, gamma)``; twice that is penalized's ``MSE + MCP(lam=2·alpha, gamma=gamma/2)``
(MCP is closed under scaling: ``2·MCP(a, g) = MCP(2a, g/2)``). ncvreg's ``gamma`` converts the
same way (its default 3 is ``gamma=1.5`` here, this class's default). SCAD is not closed under
scaling, so no ``SCAD(lam, γ)`` here equals skglm's ``(1/2n)`` problem on the same data; the
same ``w`` minimises both when skglm is given ``√2·X`` and ``√2·y`` (then its data fit is this
mean squared error).
"""

from __future__ import annotations

import numbers

import numpy as np

from .base import KernelPenalty, Penalty, _is_numpy, _like, _where, check_penalty_weights, check_strength

__all__ = ["MCP", "SCAD"]


def _check_gamma(gamma, low, name):
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"{name}: gamma must be a real number > {low:g}, got {gamma!r}.")
    gamma = float(gamma)
    if not np.isfinite(gamma) or gamma <= low:
        raise ValueError(f"{name}: gamma must be a finite number > {low:g}, got {gamma!r}.")
    return gamma


def _stack_best(cands, values):
    """The candidate of least value, elementwise (ties: the first listed)."""
    if _is_numpy(values[0]):
        v = np.stack(np.broadcast_arrays(*values))
        c = np.stack(np.broadcast_arrays(*cands))
        return np.take_along_axis(c, np.argmin(v, axis=0)[None], axis=0)[0]
    import torch

    shape = torch.broadcast_shapes(*(t.shape for t in values))
    v = torch.stack([t.expand(shape) for t in values])
    c = torch.stack([t.expand(shape) for t in cands])
    return torch.gather(c, 0, torch.argmin(v, dim=0, keepdim=True))[0]


class _Folded(Penalty):
    """A separable penalty ``Σ_j ρ(|w_j|; lam·c_j, γ)``: what MCP and SCAD share."""

    convex = False
    _code_name = ""
    _gamma_low = 0.0

    def __init__(self, lam=0.01, gamma=None, weights=None):
        self.lam = check_strength(lam, "lam")
        self.gamma = _check_gamma(type(self)._default_gamma if gamma is None else gamma, self._gamma_low,
                                  type(self).__name__)
        self.weights = weights if weights is None else check_penalty_weights(weights)

    def scaled(self, factor):
        return type(self)(self.lam * factor, self.gamma, self.weights)

    def _lam(self, w):
        c = _like(check_penalty_weights(self.weights, w.shape[0] if self.weights is not None else None), w)
        return self.lam * c

    # -- the maths (NumPy arrays or torch tensors) -------------------------------------------
    def value(self, w):
        return self._rho(abs(w), self._lam(w)).sum()

    def subdiff_distance(self, w, grad):
        """Per coordinate ``dist(−grad_j, ∂pen_j(w_j))`` (limiting subdifferential):
        ``max(|grad_j| − lam_j, 0)`` at zero, ``|grad_j + ρ'(w_j)|`` elsewhere."""
        lam = self._lam(w)
        at_zero = (abs(grad) - lam).clip(0, None)
        return _where(w == 0, at_zero, abs(grad + self._slope(w, lam)))

    def prox(self, w, step):
        """``argmin_z ½‖z − w‖² + step·R(z)``, exact (``step`` scalar or per coordinate).

        The 1-D problem is quadratic by pieces in ``|z|``; the minimiser is the best of
        the pieces' minimisers (firm thresholding when ``step`` is small enough for the
        problem to be convex; a hard threshold beyond).
        """
        lam = self._lam(w)
        ax = abs(w)
        step = step + 0.0 * ax  # broadcast (arrays or tensors)
        cands = [0.0 * ax] + self._piece_minimisers(ax, step, lam)
        values = [0.5 * (t - ax) ** 2 + step * self._rho(t, lam) for t in cands]
        best = _stack_best(cands, values)
        return best * (1.0 - 2.0 * (w < 0))

    def kernel(self, n_features, bounds=None):
        from ..solvers import _kernels as k

        c = check_penalty_weights(self.weights, n_features)
        lam = self.lam * (np.ones(n_features) if c is None else c)
        return KernelPenalty.build(getattr(k, self._code_name), lam, np.full(n_features, self.gamma), bounds,
                                   convex=False, name=type(self).__name__)

    def zero_levels(self, grad):
        """``|g_j| / c_j``: as the lasso's (both have slope ``lam`` at zero)."""
        c = check_penalty_weights(self.weights, np.shape(grad)[0])
        c = np.ones(np.shape(grad)[0]) if c is None else c
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(c > 0, np.abs(grad) / np.where(c > 0, c, 1.0), np.inf)


class MCP(_Folded):
    """Minimax concave penalty (Zhang 2010): ``Σ_j ρ(|w_j|)`` with, for ``lam_j = lam·c_j``,
    ``ρ(t) = lam_j·t − t²/(2γ)`` for ``t ≤ γ·lam_j`` and ``γ·lam_j²/2`` beyond.

    Parameters
    ----------
    lam : float, default=0.01
        Strength λ ≥ 0 (the slope at zero, as the lasso's).
    gamma : float > 0, default=1.5
        Concavity: the penalty is flat beyond ``γ·lam`` (γ → ∞ gives the lasso). With
        penalized's mean-squared-error scale, coordinate descent's one-dimensional problems
        are convex when ``γ > 1/(2·mean(x_j²))`` (γ > ½ on standardized columns); the prox
        is exact for every γ > 0. skglm's and ncvreg's ``gamma`` is twice this one (their
        data fit carries ½): ncvreg's default 3 is this default 1.5.
    weights : array of shape (n_features,), optional
        Per-feature factors ``c_j`` ≥ 0 on ``lam``; 0 leaves a feature unpenalized.
    """

    _code_name = "PEN_MCP"
    _default_gamma = 1.5
    _gamma_low = 0.0

    def __init__(self, lam=0.01, gamma=1.5, weights=None):
        super().__init__(lam, gamma, weights)

    def _rho(self, t, lam):
        g = self.gamma
        inner = lam * t - t * t / (2.0 * g)
        return _where(t <= g * lam, inner, 0.5 * g * lam * lam + 0.0 * t)

    def _slope(self, w, lam):
        sign = 1.0 - 2.0 * (w < 0)
        return sign * (lam - abs(w) / self.gamma).clip(0, None)

    def _piece_minimisers(self, ax, step, lam):
        g = self.gamma
        knee = g * lam
        curv = 1.0 - step / g
        inner = ((ax - step * lam) / _where(curv > 0, curv, 1.0 + 0.0 * curv)).clip(0, None)
        inner = _where(inner > knee, knee, inner)
        inner = _where(curv > 0, inner, knee)  # concave piece: its far end (0 is listed already)
        outer = _where(ax > knee, ax, knee)
        return [inner, outer]


class SCAD(_Folded):
    """Smoothly clipped absolute deviation (Fan & Li 2001): ``Σ_j ρ(|w_j|)`` with, for
    ``lam_j = lam·c_j``, ``ρ(t) = lam_j·t`` for ``t ≤ lam_j``,
    ``(2γ·lam_j·t − t² − lam_j²) / (2(γ − 1))`` for ``lam_j < t ≤ γ·lam_j``, and
    ``lam_j²(γ + 1)/2`` beyond.

    Parameters
    ----------
    lam : float, default=0.01
        Strength λ ≥ 0 (the slope at zero, as the lasso's).
    gamma : float > 2, default=3.7
        Fan & Li's ``a`` (3.7 is their recommendation, also ncvreg's and skglm's default).
    weights : array of shape (n_features,), optional
        Per-feature factors ``c_j`` ≥ 0 on ``lam``; 0 leaves a feature unpenalized.
    """

    _code_name = "PEN_SCAD"
    _default_gamma = 3.7
    _gamma_low = 2.0

    def __init__(self, lam=0.01, gamma=3.7, weights=None):
        super().__init__(lam, gamma, weights)

    def _rho(self, t, lam):
        a = self.gamma
        middle = (2.0 * a * lam * t - t * t - lam * lam) / (2.0 * (a - 1.0))
        flat = 0.5 * lam * lam * (a + 1.0) + 0.0 * t
        return _where(t <= lam, lam * t, _where(t <= a * lam, middle, flat))

    def _slope(self, w, lam):
        a = self.gamma
        t = abs(w)
        sign = 1.0 - 2.0 * (w < 0)
        middle = (a * lam - t).clip(0, None) / (a - 1.0)
        return sign * _where(t <= lam, lam + 0.0 * t, middle)

    def _piece_minimisers(self, ax, step, lam):
        a = self.gamma
        first = (ax - step * lam).clip(0, None)
        first = _where(first > lam, lam, first)
        curv = 1.0 - step / (a - 1.0)
        stat = (ax * (a - 1.0) - step * a * lam) / _where(curv > 0, a - 1.0 - step, 1.0 + 0.0 * step)
        middle = _where(stat < lam, lam, _where(stat > a * lam, a * lam, stat))
        middle_far = a * lam + 0.0 * ax  # a concave middle piece: its ends (lam is listed by `first`)
        middle = _where(curv > 0, middle, middle_far)
        outer = _where(ax > a * lam, ax, a * lam + 0.0 * ax)
        return [first, middle, outer]
