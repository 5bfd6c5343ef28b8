"""The only place where :mod:`penalized.dask` calls penalized's solver or reads a penalty's internals.

The distributed algorithms reduce every problem to what the client can solve in memory:
a penalized quadratic ``yy − 2cᵀw + wᵀGw + pen(w)`` on a ``q × q`` Gram matrix (the
squared error's sufficient statistics, or a proximal Newton model), plus the penalty's
part of the certificate at a point whose gradient was summed over the cluster. Both are
the in-memory solver's own code: the quadratic goes to the compiled ``gram_solve``, and
the certificate's coordinate terms come from the compiled ``duality_gap`` (called without
samples: the data fit's term is summed over the chunks, at the dual scaling ``α`` of the
kernels' own rule). When the solver's contract changes, this module is the one to adapt.
Penalties reach the kernels as ``(pen code, P)`` through ``penalty.kernel(p, bounds)``; the
distributed algorithms here handle the elastic-net family (``PEN_ENET``), a box included,
and group penalties (:mod:`.groups`: the in-memory block solver and block certificate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..solvers.coordinate_descent import SUPPORT_MAX, kernel_penalty
from . import groups

#: What the distributed solvers take (the elastic-net family, with a box; group penalties).
SUPPORTED_PENALTIES = ("L1, L2, L1L2 (elastic net) or no penalty, with per-feature weights and bounds, or GroupL1 "
                       "and its sums with L1/L2")

# Tuning of the exact support steps in Gram mode (the solver's defaults).
_SUPPORT_COST = 1.0
_FACE_SOLVES = 4
_NO_SAMPLES = np.zeros(0)


@dataclass(frozen=True)
class QuadraticSolution:
    """``coef``, the certificate ``gap + stationarity`` of the quadratic at it, and the epochs."""

    coef: np.ndarray
    gap: float
    stationarity: float
    epochs: int

    @property
    def certificate(self):
        return self.gap + self.stationarity


def _kernels(size):
    from ..solvers._loader import kernels_for

    return kernels_for(size)


def _rules():
    """The kernels' source run as Python, for the one rule no compiled entry point returns (the dual
    scaling ``α``): an O(p) loop, run once per pass."""
    from ..solvers._loader import interpreted

    return interpreted()


class PenaltyView:
    """A penalty (and a box) on ``n_features`` coefficients, as the distributed solvers use it.

    Raises ``NotImplementedError`` naming what is supported for a penalty outside the
    elastic-net family (and ``ValueError`` for weights or bounds that do not fit ``n_features``).
    """

    def __init__(self, penalty, n_features, bounds=None):
        kp = kernel_penalty(penalty, n_features, bounds)
        self.grouped = kp.groups is not None
        if self.grouped:
            groups.check(kp)
        elif not kp.is_elastic_net:
            raise NotImplementedError(
                f"penalized.dask fits {SUPPORTED_PENALTIES}; {kp.name} is not supported on Dask input "
                "(compute X to NumPy for it).")
        self.penalty, self.kp = penalty, kp
        self.P = np.ascontiguousarray(kp.params, dtype=np.float64)
        self.l1, self.l2 = self.P[0], self.P[1]
        self.free = groups.free_features(kp) if self.grouped else (self.l1 == 0) & (self.l2 == 0)
        self.group_lipschitz = None  # LG (groups): set by the caller from the Gram matrix
        self.bounded = kp.bounded
        self.n_features = n_features
        # the exact support steps hold coefficients in their orthant, not in a general box (the
        # in-memory plan's rule, coordinate_descent.make_plan)
        self.support_steps = kp.sign_bounds_only

    def restricted(self, features):
        """``P`` over the coordinates ``features`` (a working set)."""
        return np.ascontiguousarray(self.P[:, features])

    def value(self, w):
        return 0.0 if self.penalty is None else float(self.penalty.value(np.asarray(w, dtype=np.float64)))

    def change(self, w, dw):
        """``pen(w + dw) − pen(w)``, summed coordinate by coordinate (no cancellation of two totals:
        the steps near the optimum change the penalty by far less than its rounding)."""
        if self.grouped:
            return groups.change(self.kp, w, dw)
        v = w + dw
        return float(np.sum(self.l1 * (np.abs(v) - np.abs(w)) + self.l2 * dw * (v + w)))

    def certificate_terms(self, w, grad, grad_b, L, intercept_curvature, fit_intercept, code):
        """``(alpha, coordinate_gaps, stationarity)`` of the certificate at ``w`` (see
        :mod:`penalized.solvers.coordinate_descent`), from the data fit's gradient ``grad``
        along the solver's coordinate directions and the intercept's ``grad_b``.

        The kernels' ``duality_gap`` gives the coordinate terms (with no samples: no data
        term). The full certificate adds the data term ``Σ a_i gap_i(α)`` (zero when
        ``alpha == 1``), which needs a pass over the samples.
        """
        p = w.shape[0]
        w = np.ascontiguousarray(w, dtype=np.float64)
        grad = np.ascontiguousarray(grad, dtype=np.float64)
        k = _kernels(p)
        if self.grouped:
            alpha, gaps, stationarity = groups.certificate_terms(self.kp, w, grad, self.group_lipschitz, k)
            if fit_intercept:
                stationarity += grad_b * grad_b / (2.0 * intercept_curvature)
            return alpha, gaps, stationarity
        idx = np.arange(p, dtype=np.int64)
        rules = _rules()
        plain = not self.bounded
        alpha = float(rules.plain_dual_scaling(grad, self.P, idx) if plain else rules.dual_scaling(grad, self.P, idx))
        gaps, stationarity = k.duality_gap(int(code), _NO_SAMPLES, _NO_SAMPLES, _NO_SAMPLES, 0.0, w, grad,
                                           float(grad_b), int(self.kp.code), self.P,
                                           np.ascontiguousarray(L, dtype=np.float64), idx, False)
        if fit_intercept:
            stationarity += grad_b * grad_b / (2.0 * intercept_curvature)
        return alpha, float(gaps), float(stationarity)

    def violations(self, w, grad):
        """Per feature, the distance from ``−grad_j`` to the penalty's subdifferential at ``w_j``
        (the box included): the kernels' ``violations``."""
        p = w.shape[0]
        out = np.empty(p)
        _kernels(p).violations(np.ascontiguousarray(w, dtype=np.float64), np.ascontiguousarray(grad, dtype=np.float64),
                               int(self.kp.code), self.P, np.ones(p), out)
        return out

    def solve(self, G, c, yy, w0, tol, max_iter, features=None):
        """:func:`solve_penalized_quadratic` with this penalty."""
        q = G.shape[0]
        if self.grouped:
            if features is not None and len(features) != self.n_features:
                raise ValueError("group penalties take models over every feature, not a working set.")
            coef, certificate, epochs = groups.solve(self.kp, G, c, yy, w0, tol, max_iter)
            return QuadraticSolution(coef, certificate, 0.0, epochs)
        k = _kernels(q * q)
        P = self.P if features is None else self.restricted(features)
        G = np.asfortranarray(G, dtype=np.float64)
        c = np.ascontiguousarray(c, dtype=np.float64)
        w = np.array(w0, dtype=np.float64).ravel()
        if self.bounded:  # a start outside the box: its projection
            w = np.clip(w, P[k.ROW_LO], P[k.ROW_HI])
        gw = G @ w
        params = np.zeros(k.N_PARAMS)
        params[k.P_SUPPORT_COST] = _SUPPORT_COST
        params[k.P_FACE_SOLVES] = _FACE_SOLVES
        epochs, gap, stationarity, _ = k.gram_solve(G, c, float(yy), w, gw, int(self.kp.code), P, float(tol),
                                                    int(max_iter), min(SUPPORT_MAX, q) if self.support_steps else 0,
                                                    params)
        return QuadraticSolution(w, float(gap), float(stationarity), int(epochs))


def as_view(penalty, n_features, bounds=None):
    """``penalty`` as a :class:`PenaltyView` (one already is returned as is)."""
    return penalty if isinstance(penalty, PenaltyView) else PenaltyView(penalty, n_features, bounds)


def strengths(penalty, n_features, features=None):
    """``(l1, l2)`` per-feature strengths (restricted to ``features`` if given)."""
    view = as_view(penalty, n_features)
    l1, l2 = view.l1, view.l2
    if features is not None:
        l1, l2 = l1[features], l2[features]
    return np.ascontiguousarray(l1), np.ascontiguousarray(l2)


def solve_penalized_quadratic(G, c, yy, penalty, w0, tol, max_iter, features=None, n_features=None):
    """Minimise ``yy − 2cᵀw + wᵀGw + pen(w)`` by coordinate descent on the Gram matrix ``G``.

    ``G`` (q × q, positive semi-definite), ``c`` (q,), ``yy`` ≥ ``cᵀG⁺c``: the quadratic must be a
    residual sum of squares ``‖r − Mw‖²`` with ``MᵀM = G``, ``Mᵀr = c``, ``‖r‖² = yy`` (the
    solver's duality gap treats it as one; a larger ``yy`` only makes the gap more
    conservative). ``penalty``: a penalty object (or None) or a :class:`PenaltyView`;
    ``features``: the quadratic is over these coordinates of a penalty on ``n_features`` (a
    working set); ``w0``: the start. Stops when the duality gap and the stationarity of the
    unpenalized coordinates are each ≤ ``tol``, or after ``max_iter`` epochs. Returns a
    :class:`QuadraticSolution`.
    """
    q = G.shape[0]
    view = as_view(penalty, q if n_features is None else n_features)
    return view.solve(G, c, yy, w0, tol, max_iter, features=features)
