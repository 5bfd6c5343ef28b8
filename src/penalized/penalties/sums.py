"""Sums of penalties: ``pz.L1(a) + pz.L2(b)`` is ``pz.L1L2(a, b)``; ``pz.L1(a) + pz.GroupL1(b, groups)``
is the sparse group lasso.

A sum may hold any number of elastic-net terms (L1, L2, L1L2, with their own feature
weights) and at most one :class:`~penalized.GroupL1`. Its prox is exact: with the
elastic-net part summed into per-coordinate strengths ``l1_j, l2_j`` and the group part
``λ_g = lam·c_g``,

    prox(w, s) = G( soft(w, s·l1) / (1 + 2 s·l2),  s / (1 + 2 s·l2) ),

where ``G(v, t)`` is the group lasso's prox (block soft-thresholding, in the diagonal
metric when ``s`` is per coordinate): the group shrinkage of the soft-threshold (Simon,
Friedman, Hastie & Tibshirani 2013). Non-convex penalties (MCP, SCAD) do not combine.
"""

from __future__ import annotations

import numpy as np

from .base import Penalty, _where, ridge_lambda_max
from .elastic_net import L1L2, ElasticNetFamily
from .group import GroupL1

__all__ = ["PenaltySum", "add_penalties"]


def add_penalties(a, b):
    """``a + b`` for penalty objects (see the module docstring for what combines)."""
    for term in (a, b):
        if not isinstance(term, Penalty):
            raise TypeError(f"a penalty can only be added to another penalty object, got {term!r}.")
    terms = [*_terms(a), *_terms(b)]
    bad = [t for t in terms if not isinstance(t, (ElasticNetFamily, GroupL1))]
    if bad:
        raise TypeError(f"cannot add {bad[0]!r} to another penalty: sums combine L1, L2, L1L2 and "
                        "at most one GroupL1 (non-convex penalties do not combine).")
    groups = [t for t in terms if isinstance(t, GroupL1)]
    if len(groups) > 1:
        raise TypeError("a sum of penalties holds at most one GroupL1; merge the groups into one labelling.")
    enet = [t for t in terms if isinstance(t, ElasticNetFamily)]
    if not groups and all(_same_weights(t.weights, enet[0].weights) for t in enet):
        return L1L2(l1=sum(t._l1 for t in enet), l2=sum(t._l2 for t in enet), weights=enet[0].weights)
    return PenaltySum(tuple(terms))


def _terms(p):
    return p.terms if isinstance(p, PenaltySum) else (p,)


def _same_weights(a, b):
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(a, b)


class PenaltySum(Penalty):
    """``Σ_k terms[k](w)``: elastic-net terms and at most one :class:`GroupL1` (build it with ``+``).

    Parameters
    ----------
    terms : tuple of penalties
    """

    def __init__(self, terms=()):
        terms = tuple(terms)
        if len(terms) < 2:
            raise ValueError(f"a PenaltySum needs at least two terms, got {len(terms)}.")
        self.terms = terms
        self._group = next((t for t in terms if isinstance(t, GroupL1)), None)
        self._enet = tuple(t for t in terms if isinstance(t, ElasticNetFamily))

    def __repr__(self):
        return " + ".join(repr(t) for t in self.terms)

    def scaled(self, factor):
        return PenaltySum(tuple(t.scaled(factor) for t in self.terms))

    def unit_strength(self):
        return sum(t.unit_strength() for t in self.terms)

    def subset(self, features):
        return PenaltySum(tuple(t.subset(features) for t in self.terms))

    def with_feature_factors(self, factors):
        return PenaltySum(tuple(t if t is self._group else t.with_feature_factors(factors) for t in self.terms))

    def ridge_lambda_max(self, grad, l1_ratio=1e-3):
        return ridge_lambda_max(self.coordinate_strengths(np.shape(grad)[0])[1], grad, l1_ratio, self)

    # -- the elastic-net part, summed per coordinate ----------------------------------------
    def coordinate_strengths(self, n_features):
        l1, l2 = np.zeros(n_features), np.zeros(n_features)
        for t in self._enet:
            a, b = t.coordinate_strengths(n_features)
            l1 += a
            l2 += b
        return l1, l2

    def _strengths_like(self, w):
        """``(l1, l2)`` per first-axis slice, shaped and typed like ``w``."""
        from .base import _like

        l1, l2 = self.coordinate_strengths(w.shape[0])
        return _like(l1, w), _like(l2, w)

    # -- the maths (NumPy arrays or torch tensors) -------------------------------------------
    def value(self, w):
        return sum(t.value(w) for t in self.terms)

    def prox(self, w, step):
        l1, l2 = self._strengths_like(w)
        z = w - w.clip(-step * l1, step * l1)  # soft(w, s·l1)
        shrink = 1.0 + 2.0 * step * l2
        z = z / shrink
        if self._group is None:
            return z
        inner_step = step / shrink if bool((l2 != 0).any()) else step
        return self._group.prox(z, inner_step)

    def subdiff_distance(self, w, grad):
        """Per coordinate without a group term; per **group** with one (the norm of the
        coordinates' distances, as :meth:`GroupL1.subdiff_distance`)."""
        l1, l2 = self._strengths_like(w)
        smooth = grad + 2.0 * l2 * w
        if self._group is None:
            at_zero = (abs(smooth) - l1).clip(0, None)
            away = abs(smooth + l1 * (1.0 - 2.0 * (w < 0)))
            return _where(w == 0, at_zero, away)
        g = self._group
        labels, n_groups = g._labels(w)
        lam_g = g._factors(w, n_groups)
        norms = g.group_norms(w)
        unit = lam_g / norms.clip(1e-300, None)
        unit_rows = unit if labels is None else unit[labels]
        shape = (-1,) + (1,) * (w.ndim - 1)
        soft = smooth - smooth.clip(-l1, l1)
        resid = _where(w == 0, soft, smooth + l1 * (1.0 - 2.0 * (w < 0)) + unit_rows.reshape(shape) * w)
        rows = (resid * resid).reshape(w.shape[0], -1).sum(1)
        away = g._group_sums(rows, labels, n_groups) ** 0.5
        zero_rows = (soft * soft).reshape(w.shape[0], -1).sum(1)
        at_zero = (g._group_sums(zero_rows, labels, n_groups) ** 0.5 - lam_g).clip(0, None)
        return _where(norms == 0, at_zero, away)

    # -- the solvers' view -----------------------------------------------------------------
    def kernel(self, n_features, bounds=None):
        from ..solvers import _kernels as k
        from .base import KernelPenalty

        l1, l2 = self.coordinate_strengths(n_features)
        groups = None if self._group is None else self._group.group_structure(n_features)
        name = "PenaltySum" if groups is None else ("SparseGroupL1" if np.any(l1 > 0) else "GroupL1")
        return KernelPenalty.build(k.PEN_ENET, l1, l2, bounds, convex=True, name=name, groups=groups)

    def screening_blocks(self, n_features):
        return None if self._group is None else self._group.screening_blocks(n_features)

    def zero_levels(self, grad, iterations=100):
        """Per block, the smallest ``t`` with zero optimal under ``t·R``.

        Without a group term: ``|g_j| / l1_j``. With one: the root ``t`` of
        ``‖soft(g_g, t·l1)‖ = t·λ_g`` (decreasing in ``t``), by bisection to rounding.
        """
        grad = np.asarray(grad, dtype=np.float64)
        p = grad.shape[0]
        l1, _ = self.coordinate_strengths(p)
        g2 = grad.reshape(p, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            coord = np.where(l1 > 0, np.abs(g2).max(1) / np.where(l1 > 0, l1, 1.0), np.inf)
        if self._group is None:
            return coord
        s = self._group.group_structure(p)
        lam = s.lam
        norms = np.sqrt(np.bincount(s.labels, weights=(g2 ** 2).sum(1), minlength=s.n_groups))
        with np.errstate(divide="ignore", invalid="ignore"):
            hi = np.where(lam > 0, norms / np.where(lam > 0, lam, 1.0), np.inf)
        # the L1 part alone zeroes the group beyond max_j |g_j| / l1_j
        hi = np.minimum(hi, np.maximum.reduceat(coord[s.idx], s.ptr[:-1]) if p else hi)
        lo = np.zeros_like(hi)
        finite = np.isfinite(hi) & (lam > 0)
        l1_rows = l1[:, None]
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            t_rows = np.where(finite, mid, 0.0)[s.labels][:, None]
            soft = np.maximum(np.abs(g2) - t_rows * l1_rows, 0.0)
            n = np.sqrt(np.bincount(s.labels, weights=(soft ** 2).sum(1), minlength=s.n_groups))
            above = n > mid * lam
            lo = np.where(finite & above, mid, lo)
            hi = np.where(finite & ~above, mid, hi)
        return hi


Penalty._add = staticmethod(add_penalties)
