"""The elastic-net family: ``L1``, ``L2`` and ``L1L2`` (separable, convex).

=============  ===============================================
``L1(lam)``    ``lam · Σ_j c_j |w_j|``
``L2(lam)``    ``lam · Σ_j c_j w_j²``            (no ½)
``L1L2(l1,l2)`` ``l1 · Σ_j c_j |w_j| + l2 · Σ_j c_j w_j²``
=============  ===============================================
"""

from __future__ import annotations

import numbers

import numpy as np

from .base import (
    KernelPenalty,
    Penalty,
    _like,
    _sign,
    _softshrink_,
    check_penalty_weights,
    check_strength,
    ridge_lambda_max,
)

__all__ = ["ElasticNetFamily", "L1", "L2", "L1L2"]


class ElasticNetFamily(Penalty):
    """``Σ_j c_j (a |w_j| + b w_j²)``: the separable family that L1, L2 and L1L2 belong to.

    Subclasses define the two strengths ``a`` (``_l1``) and ``b`` (``_l2``); every
    operation below is written once for the whole family.
    """

    _l1 = 0.0
    _l2 = 0.0

    # -- per-feature arrays (what the compiled solvers consume) -------------------
    def coordinate_strengths(self, n_features):
        """``(l1_j, l2_j)`` arrays: the penalty is ``Σ_j l1_j |w_j| + l2_j w_j²``."""
        c = check_penalty_weights(self.weights, n_features)
        c = np.ones(n_features) if c is None else c
        return self._l1 * c, self._l2 * c

    # -- the maths -------------------------------------------------------------------
    def value(self, w):
        """``Σ_j c_j (l1 |w_j| + l2 w_j²)``; rows of a 2-D ``w`` share factor ``c_j``."""
        c = _like(self._checked_weights(w), w)
        total = 0.0
        if self._l1:
            total = total + self._l1 * (c * abs(w)).sum()
        if self._l2:
            total = total + self._l2 * (c * w * w).sum()
        return total

    def prox(self, w, step):
        """``argmin_z ½‖z − w‖² + step·R(z)`` = ``soft(w, step·l1·c) / (1 + 2·step·l2·c)``."""
        c = _like(self._checked_weights(w), w)
        z = w
        if self._l1:
            t = step * self._l1 * c
            z = z - z.clip(-t, t)
        if self._l2:
            z = z / (1.0 + 2.0 * step * self._l2 * c)
        return z

    def _fast_torch(self, w, step):
        return (self.weights is None and not isinstance(w, np.ndarray) and not isinstance(step, bool)
                and isinstance(step, numbers.Real))

    def prox_(self, w, step, denom=None):
        """In place ``w ← prox(w, step / denom)`` (see :meth:`Penalty.prox_`).

        For a PyTorch tensor, a real ``step`` and no per-feature factors this is three
        in-place kernels, in the scaled variable ``y = w·denom`` (``denom = 1`` without it):
        ``w = softshrink(w·denom, step·l1) / (denom + 2·step·l2)``, equal to :meth:`prox`
        with the per-coordinate step ``step / denom``. Zeros are exact: ``softshrink``
        returns 0 and ``0 / denom = 0``.
        """
        if not self._fast_torch(w, step):
            return super().prox_(w, step, denom)
        a, b = step * self._l1, step * self._l2
        if denom is not None and (a or b):
            w.mul_(denom)
        if a:
            _softshrink_(w, a)
        if denom is None:
            if b:
                w.div_(1.0 + 2.0 * b)
        elif a or b:
            w.div_(denom + 2.0 * b if b else denom)
        return w

    def prox_foreach_(self, ws, step, denoms=None):
        """:meth:`prox_` on a list of tensors, with ``torch._foreach_*`` kernels where possible."""
        if not ws or not self._fast_torch(ws[0], step):
            return super().prox_foreach_(ws, step, denoms)
        import torch

        a, b = step * self._l1, step * self._l2
        if not a and not b:
            return ws
        if denoms is not None:
            torch._foreach_mul_(ws, denoms)
        if a:
            for w in ws:
                _softshrink_(w, a)
        if denoms is None:
            if b:
                torch._foreach_div_(ws, 1.0 + 2.0 * b)
        else:
            torch._foreach_div_(ws, torch._foreach_add(denoms, 2.0 * b) if b else denoms)
        return ws

    def subdiff_distance(self, w, grad):
        """Per coordinate ``dist(−grad_j, ∂R(w_j))``.

        For ``w_j ≠ 0``: ``|grad_j + l1 c_j sign(w_j) + 2 l2 c_j w_j|``;
        for ``w_j = 0``: ``max(|grad_j| − l1 c_j, 0)``.
        """
        c = _like(self._checked_weights(w), w)
        a = self._l1 * c
        smooth = grad + 2.0 * self._l2 * c * w
        at_zero = (abs(grad) - a).clip(0, None)
        away = abs(smooth + a * _sign(w))
        if isinstance(w, np.ndarray):
            return np.where(w == 0, at_zero, away)
        import torch

        return torch.where(w == 0, at_zero, away)

    def _checked_weights(self, w):
        return check_penalty_weights(self.weights, w.shape[0] if self.weights is not None else None)

    # -- the solvers' view -----------------------------------------------------------------
    def kernel(self, n_features, bounds=None):
        from ..solvers import _kernels as k

        l1, l2 = self.coordinate_strengths(n_features)
        return KernelPenalty.build(k.PEN_ENET, l1, l2, bounds, convex=True, name=type(self).__name__)

    def ridge_lambda_max(self, grad, l1_ratio=1e-3):
        """``max_j |g_j| / (2·l1_ratio·l2_j)`` (for ``L2``: the ``Ridge`` lam equal to glmnet's
        ridge ``lambda_max``)."""
        return ridge_lambda_max(self.coordinate_strengths(np.shape(grad)[0])[1], grad, l1_ratio, self)

    def zero_levels(self, grad):
        """``|g_j| / l1_j`` (``inf`` where ``l1_j = 0``: the coefficient is never exactly zero); for
        several outputs (``grad`` of shape (p, K)) the largest over the outputs."""
        grad = np.asarray(grad)
        l1, _ = self.coordinate_strengths(grad.shape[0])
        g = np.abs(grad) if grad.ndim == 1 else np.abs(grad.reshape(grad.shape[0], -1)).max(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(l1 > 0, g / np.where(l1 > 0, l1, 1.0), np.inf)


class L1(ElasticNetFamily):
    """Lasso penalty ``lam · Σ_j c_j |w_j|``.

    Parameters
    ----------
    lam : float, default=0.01
        Strength λ ≥ 0 (Keras' ``L1(l1=0.01)``; scikit-learn's ``Lasso(alpha)`` is
        ``lam = 2·alpha`` with penalized's mean-squared-error data fit).
    weights : array of shape (n_features,), optional
        Per-feature factors ``c_j`` ≥ 0; 0 leaves a feature unpenalized.
    """

    def __init__(self, lam=0.01, weights=None):
        self.lam = check_strength(lam, "lam")
        self.weights = weights if weights is None else check_penalty_weights(weights)

    @property
    def _l1(self):
        return self.lam

    def scaled(self, factor):
        return L1(self.lam * factor, self.weights)


class L2(ElasticNetFamily):
    """Ridge (Tikhonov) penalty ``lam · Σ_j c_j w_j²`` — no ½, as in Keras.

    Parameters
    ----------
    lam : float, default=0.01
        Strength λ ≥ 0. scikit-learn's ``Ridge(alpha)`` is ``lam = alpha / n`` with the
        mean-squared-error data fit; PyTorch's ``SGD(weight_decay=wd)`` is ``L2(wd / 2)``.
    weights : array of shape (n_features,), optional
        Per-feature factors ``c_j`` ≥ 0; 0 leaves a feature unpenalized.
    """

    def __init__(self, lam=0.01, weights=None):
        self.lam = check_strength(lam, "lam")
        self.weights = weights if weights is None else check_penalty_weights(weights)

    @property
    def _l2(self):
        return self.lam

    def scaled(self, factor):
        return L2(self.lam * factor, self.weights)


class L1L2(ElasticNetFamily):
    """Elastic-net penalty ``l1 · Σ_j c_j |w_j| + l2 · Σ_j c_j w_j²`` (Keras' ``L1L2``).

    Parameters
    ----------
    l1, l2 : float, default=0.0
        Strengths ≥ 0 of the absolute and the squared term. scikit-learn's
        ``ElasticNet(alpha, l1_ratio=ρ)`` is ``L1L2(l1=2·alpha·ρ, l2=alpha·(1 − ρ))``.
    weights : array of shape (n_features,), optional
        Per-feature factors ``c_j`` ≥ 0; 0 leaves a feature unpenalized.
    """

    def __init__(self, l1=0.0, l2=0.0, weights=None):
        self.l1 = check_strength(l1, "l1")
        self.l2 = check_strength(l2, "l2")
        self.weights = weights if weights is None else check_penalty_weights(weights)

    @property
    def _l1(self):
        return self.l1

    @property
    def _l2(self):
        return self.l2

    def scaled(self, factor):
        return L1L2(self.l1 * factor, self.l2 * factor, self.weights)


