"""BerHu, the reverse Huber penalty (Owen 2007): convex, the lasso near zero, a ridge beyond ``M``.

Per coordinate, with ``lam_j = lam·c_j``,

    lam_j · B_M(w_j),    B_M(w) = |w|              if |w| ≤ M,
                                  (w² + M²) / (2M)  if |w| > M.

``B_M`` is convex and continuously differentiable away from 0 (slope ±1 at ``|w| = M`` from both
sides). Near zero it is ``|w|``: exact zeros and feature selection, as the lasso. Beyond ``M`` it
grows as ``w²/(2M)``: large coefficients of correlated features are shrunk together, like a
ridge, instead of one being picked (the grouping effect). Limits: ``M → ∞`` gives ``L1(lam)``.
For small ``M`` and ``|w| > M``, ``lam·B_M(w) ≈ (lam/(2M))·w²``, which is ``L2(lam/(2M))`` in penalized's
scale (no ½) plus the lasso on ``[−M, M]``.

It is convex but not an elastic net, so it brings its own compiled block (``PEN_BERHU`` in
``solvers/_kernels/penalty_berhu.py``) and its own duality gap, through its conjugate

    (lam·B_M)*(u) = 0                          if |u| ≤ lam,
                    M·(u² − lam²) / (2·lam)     if |u| > lam,

attained at ``x* = 0``, respectively ``x* = M·u/lam``. The conjugate is finite everywhere, so the dual
point ``θ = −∇L_data`` needs no rescaling. The prox has a closed form:
``prox_{t·B_M}(x) = 0`` for ``|x| ≤ t``, ``x ∓ t`` up to ``|x| = t + M``, and ``x·M/(M + t)`` beyond.

The functions below are the NumPy (and PyTorch) reference formulas; the compiled block is tested
against them (tests/test_berhu.py).
"""

from __future__ import annotations

import numbers

import numpy as np

from .base import KernelPenalty, Penalty, _like, _where, check_penalty_weights, check_strength

__all__ = ["BerHu", "berhu_value", "berhu_prox", "berhu_conjugate"]


def _check_m(M):
    if isinstance(M, bool) or not isinstance(M, numbers.Real):
        raise TypeError(f"BerHu: M must be a real number > 0, got {M!r} of type {type(M).__name__}.")
    M = float(M)
    if not np.isfinite(M) or M <= 0:
        raise ValueError(f"BerHu: M must be a finite number > 0, got {M!r}.")
    return M


# -- the reference formulas (elementwise; NumPy arrays or torch tensors) --------------------
def berhu_value(w, lam, M):
    """``lam·B_M(w)`` elementwise."""
    aw = abs(w)
    return lam * _where(aw <= M, aw, (aw * aw + M * M) / (2.0 * M))


def berhu_prox(x, t, M):
    """``argmin_u ½(u − x)² + t·B_M(u)`` elementwise (``t ≥ 0`` scalar or broadcastable)."""
    ax = abs(x)
    soft = (ax - t).clip(0, None)
    shrunk = ax * (M / (M + t))
    mag = _where(ax <= t + M, soft, shrunk)
    return mag * (1.0 - 2.0 * (x < 0))


def berhu_conjugate(u, lam, M):
    """``sup_x u·x − lam·B_M(x)`` elementwise: 0 for ``|u| ≤ lam``, ``M(u² − lam²)/(2 lam)`` beyond
    (``lam > 0``; with ``lam = 0`` the penalty is 0 and the conjugate is 0 at ``u = 0`` only)."""
    au = abs(u)
    return _where(au <= lam, 0.0 * au, M * (au * au - lam * lam) / (2.0 * lam))


class BerHu(Penalty):
    """Reverse Huber penalty ``Σ_j lam·c_j·B_M(w_j)`` (Owen 2007): ``B_M(w) = |w|`` for ``|w| ≤ M``,
    ``(w² + M²)/(2M)`` beyond.

    Convex: the lasso near zero (exact zeros), a ridge beyond ``M`` (correlated features shrunk
    together). ``M → ∞`` is ``L1(lam)``. The solvers certify it by a duality gap (its conjugate:
    see :mod:`penalized.penalties.berhu`).

    Parameters
    ----------
    lam : float, default=0.01
        Strength λ ≥ 0 (the slope at zero, as the lasso's: same λ_max).
    M : float > 0, default=1.0
        Where the penalty turns from ``|w|`` to ``(w² + M²)/(2M)``, in the units of the
        coefficients (so it depends on the scale of the features).
    weights : array of shape (n_features,), optional
        Per-feature factors ``c_j`` ≥ 0 on ``lam``; 0 leaves a feature unpenalized.
    """

    convex = True

    def __init__(self, lam=0.01, M=1.0, weights=None):
        self.lam = check_strength(lam, "lam")
        self.M = _check_m(M)
        self.weights = weights if weights is None else check_penalty_weights(weights)

    def scaled(self, factor):
        return BerHu(self.lam * factor, self.M, self.weights)

    def _lam(self, w):
        c = _like(check_penalty_weights(self.weights, w.shape[0] if self.weights is not None else None), w)
        return self.lam * c

    # -- the maths (NumPy arrays or torch tensors) -------------------------------------------
    def value(self, w):
        """``Σ_j lam·c_j·B_M(w_j)`` (rows of a 2-D ``w`` share the factor ``c_j``)."""
        return berhu_value(w, self._lam(w), self.M).sum()

    def prox(self, w, step):
        """``argmin_z ½‖z − w‖² + step·R(z)``, closed form per coordinate (``step`` scalar or
        per coordinate): soft threshold at ``t = step·lam_j`` up to ``|w| = t + M``, then
        ``w·M/(M + t)``."""
        return berhu_prox(w, step * self._lam(w), self.M)

    def subdiff_distance(self, w, grad):
        """Per coordinate ``dist(−grad_j, ∂R(w_j))``: ``max(|grad_j| − lam_j, 0)`` at zero,
        ``|grad_j + lam_j·sign(w_j)|`` for ``0 < |w_j| ≤ M``, ``|grad_j + lam_j·w_j/M|`` beyond."""
        lam = self._lam(w)
        at_zero = (abs(grad) - lam).clip(0, None)
        sign = 1.0 - 2.0 * (w < 0)
        slope = _where(abs(w) <= self.M, lam * sign, lam * w / self.M)
        return _where(w == 0, at_zero, abs(grad + slope))

    def conjugate(self, u):
        """``Σ_j (lam_j·B_M)*(u_j)`` (``inf`` where ``lam_j = 0`` and ``u_j ≠ 0``)."""
        lam = np.broadcast_to(self._lam(np.asarray(u, dtype=np.float64)), np.shape(u))
        u = np.asarray(u, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(lam > 0, berhu_conjugate(u, np.where(lam > 0, lam, 1.0), self.M),
                           np.where(u == 0, 0.0, np.inf))
        return float(out.sum())

    # -- the solvers' view -----------------------------------------------------------------------
    def kernel(self, n_features, bounds=None):
        from ..solvers import _kernels as k

        c = check_penalty_weights(self.weights, n_features)
        lam = self.lam * (np.ones(n_features) if c is None else c)
        return KernelPenalty.build(k.PEN_BERHU, lam, np.full(n_features, self.M), bounds, convex=True,
                                   name="BerHu")

    def zero_levels(self, grad):
        """``|g_j| / c_j`` (the largest over the outputs of a 2-D ``grad``): as the lasso's, the slope
        at zero is ``lam_j``."""
        grad = np.asarray(grad)
        g = np.abs(grad) if grad.ndim == 1 else np.abs(grad.reshape(grad.shape[0], -1)).max(1)
        c = check_penalty_weights(self.weights, g.shape[0])
        c = np.ones(g.shape[0]) if c is None else c
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(c > 0, g / np.where(c > 0, c, 1.0), np.inf)
