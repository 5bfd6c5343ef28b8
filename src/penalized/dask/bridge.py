"""The only place where :mod:`penalized.dask` calls penalized's solver or reads a penalty's internals.

The distributed algorithms reduce every problem to what the client can solve in memory:
a penalized quadratic ``yy − 2cᵀw + wᵀGw + pen(w)`` on a ``q × q`` Gram matrix (the
squared error's sufficient statistics, or a proximal Newton model), plus the penalty's
part of the certificate at a point whose gradient was summed over the cluster. Both are
the in-memory solver's own code: the quadratic goes to the compiled ``gram_solve``, and
the certificate's coordinate terms come from the compiled ``duality_gap`` (called without
samples: the data fit's term is summed over the chunks, at the dual scaling ``α`` of the
kernels' own rule). When the solver's contract changes, this module is the one to adapt.
Penalties reach the kernels as ``(pen code, P)`` through ``penalty.kernel(p, bounds)``: every
separable penalty the in-memory solver takes (the elastic-net family, MCP, SCAD, BerHu; a box
included) runs on its compiled block, and group penalties on :mod:`.groups` (the in-memory block
solver and block certificate). Nothing here writes a penalty's formula: values, changes, prox
steps, violations, dual scalings and gap terms are the blocks' own (compiled, or the kernels'
source run as Python for the per-coordinate rules no compiled entry point returns alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..solvers.coordinate_descent import SUPPORT_MAX, kernel_penalty
from . import groups

#: What the distributed solvers take (every separable penalty, with a box; group penalties).
SUPPORTED_PENALTIES = ("L1, L2, L1L2 (elastic net), MCP, SCAD, BerHu or no penalty, with per-feature weights and "
                       "bounds, or GroupL1 and its sums with L1/L2")
#: Each coordinate of a non-convex penalty's Newton model keeps at least this multiple of the
#: penalty's concavity as curvature (the in-memory proximal Newton's ``_model_prox``).
CONVEX_MARGIN = 1.01

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
    """The kernels' source run as Python, for the per-coordinate rules no compiled entry point returns
    alone (the dual scaling ``α``, a penalty's change, gap term and concavity): O(p) loops, run once
    per pass."""
    from ..solvers._loader import interpreted

    return interpreted()


@dataclass(frozen=True)
class CertificateTerms:
    """The penalty's part of the certificate at a point (:meth:`PenaltyView.certificate_terms`).

    ``gaps``: the coordinate terms at the dual scaling ``alpha``; the full certificate adds the
    data term ``Σ a_i gap_i(α)`` (zero when ``alpha == 1``), summed over the chunks. ``unscaled``:
    a convex penalty other than the elastic net (BerHu) also has the dual point at ``α = 1``, with
    no data term; the certificate is the smaller of the two (the kernels' ``convex_gap``); ``inf``
    where there is none. ``stationarity``: the unpenalized coordinates' and the intercept's terms
    (and, for a non-convex penalty, whose ``gaps`` are its stationarity measure, nothing more).
    """

    alpha: float
    gaps: float
    stationarity: float
    unscaled: float = np.inf

    @property
    def without_data(self):
        """The certificate known before the data term arrives (``inf`` when it needs it)."""
        if self.alpha == 1.0:
            return self.gaps + self.stationarity
        return self.unscaled + self.stationarity

    def value(self, data_gap):
        """The certificate, given the chunks' data term at ``alpha``."""
        return min(self.gaps + data_gap, self.unscaled) + self.stationarity


class PenaltyView:
    """A penalty (and a box) on ``n_features`` coefficients, as the distributed solvers use it.

    Every penalty the in-memory solver takes: separable ones through their compiled block
    (``kp.code``, ``P``), group penalties through :mod:`.groups`. Raises ``ValueError`` for
    weights or bounds that do not fit ``n_features`` (the in-memory checks).
    """

    def __init__(self, penalty, n_features, bounds=None):
        kp = kernel_penalty(penalty, n_features, bounds)
        self.grouped = kp.groups is not None
        if self.grouped:
            groups.check(kp)
        self.penalty, self.kp, self.bounds = penalty, kp, bounds
        self.code = int(kp.code)
        self.convex = bool(kp.convex)
        self.elastic_net = kp.is_elastic_net
        self.P = np.ascontiguousarray(kp.params, dtype=np.float64)
        self.free = kp.free
        self.group_lipschitz = None  # LG (groups): set by the caller from the Gram matrix
        self.bounded = kp.bounded
        self.n_features = n_features
        # the exact support steps solve the elastic net's quadratic on a support, holding coefficients
        # in their orthant, not in a general box (the in-memory plan's rule, coordinate_descent.make_plan)
        self.support_steps = kp.is_elastic_net and kp.sign_bounds_only
        self._concavity = None

    def scaled(self, factor):
        """The view of ``penalty.scaled(factor)`` with the same box."""
        return PenaltyView(self.penalty.scaled(factor), self.n_features, self.bounds)

    def restricted(self, features):
        """``P`` over the coordinates ``features`` (a working set)."""
        return np.ascontiguousarray(self.P[:, features])

    def value(self, w):
        return 0.0 if self.penalty is None else float(self.penalty.value(np.asarray(w, dtype=np.float64)))

    def change(self, w, dw):
        """``pen(w + dw) − pen(w)``, summed coordinate by coordinate (no cancellation of two totals:
        the steps near the optimum change the penalty by far less than its rounding): the block's
        ``pen_change`` (for the elastic net its formula on whole vectors, as in ``pen_change``)."""
        if self.grouped:
            return groups.change(self.kp, w, dw)
        P = self.P
        if self.elastic_net:
            v = w + dw
            return float(np.sum(P[0] * (np.abs(v) - np.abs(w)) + P[1] * dw * (v + w)))
        rule = _rules().pen_change
        return float(sum(rule(self.code, P, int(j), float(w[j]), float(w[j] + dw[j])) for j in np.flatnonzero(dw)))

    def concavity(self):
        """Per feature, the smallest ``c`` with ``pen_j + c·x²/2`` convex (the block's
        ``pen_concavity``: 0 for a convex penalty)."""
        if self._concavity is None:
            p = self.n_features
            if self.convex:
                self._concavity = np.zeros(p)
            else:
                rule = _rules().pen_concavity
                self._concavity = np.array([rule(self.code, self.P, j) for j in range(p)], dtype=np.float64)
        return self._concavity

    def certificate_terms(self, w, grad, grad_b, L, intercept_curvature, fit_intercept, code):
        """The :class:`CertificateTerms` at ``w`` (see :mod:`penalized.solvers.coordinate_descent`),
        from the data fit's gradient ``grad`` along the solver's coordinate directions and the
        intercept's ``grad_b``.

        The kernels' ``duality_gap`` (called with no samples: no data term) gives the coordinate
        terms: the elastic net's at its dual scaling, a non-convex penalty's stationarity measure
        (``α = 1``: no data term). BerHu's two dual points (scaled and not) are summed here from the
        block's ``pen_gap_term`` where ``α < 1``, as the kernels' ``convex_gap`` sums them.
        """
        p = w.shape[0]
        w = np.ascontiguousarray(w, dtype=np.float64)
        grad = np.ascontiguousarray(grad, dtype=np.float64)
        k = _kernels(p)
        intercept = grad_b * grad_b / (2.0 * intercept_curvature) if fit_intercept else 0.0
        if self.grouped:
            alpha, gaps, stationarity = groups.certificate_terms(self.kp, w, grad, self.group_lipschitz, k)
            return CertificateTerms(alpha, gaps, stationarity + intercept)
        idx = np.arange(p, dtype=np.int64)
        rules = _rules()
        L = np.ascontiguousarray(L, dtype=np.float64)
        gaps, stationarity = k.duality_gap(int(code), _NO_SAMPLES, _NO_SAMPLES, _NO_SAMPLES, 0.0, w, grad,
                                           float(grad_b), self.code, self.P, L, idx, False)
        stationarity = float(stationarity) + intercept
        if not self.convex:
            return CertificateTerms(1.0, float(gaps), stationarity)
        if self.elastic_net:
            rule = rules.dual_scaling if self.bounded else rules.plain_dual_scaling
            alpha = float(rule(grad, self.P, idx))
            return CertificateTerms(alpha, float(gaps), stationarity)
        alpha = float(rules.convex_dual_scaling(self.code, self.P, w, grad, idx))
        if alpha == 1.0:
            return CertificateTerms(1.0, float(gaps), stationarity)
        term = rules.pen_gap_term
        on = np.flatnonzero(~self.free & (L > 0))
        scaled = sum(term(self.code, self.P, int(j), float(w[j]), -alpha * float(grad[j]), True) for j in on)
        unscaled = sum(term(self.code, self.P, int(j), float(w[j]), -float(grad[j]), False) for j in on)
        return CertificateTerms(alpha, float(scaled), stationarity, float(unscaled))

    def violations(self, w, grad):
        """Per feature, the distance from ``−grad_j`` to the penalty's subdifferential at ``w_j``
        (the box included): the kernels' ``violations``."""
        p = w.shape[0]
        out = np.empty(p)
        _kernels(p).violations(np.ascontiguousarray(w, dtype=np.float64), np.ascontiguousarray(grad, dtype=np.float64),
                               self.code, self.P, np.ones(p), out)
        return out

    def zero_levels(self, grad):
        """The penalty's ``zero_levels`` (λ_max and the continuation of non-convex fits), with the
        one-sided conditions of a bound at 0 (a gradient pushing into it is no violation)."""
        if self.bounded:
            lo, hi = self.kp.lower, self.kp.upper
            grad = np.where((lo == 0) & (grad > 0), 0.0, np.where((hi == 0) & (grad < 0), 0.0, grad))
        return self.penalty.zero_levels(grad)

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
        epochs, gap, stationarity, _ = k.gram_solve(G, c, float(yy), w, gw, self.code, P, float(tol),
                                                    int(max_iter), min(SUPPORT_MAX, q) if self.support_steps else 0,
                                                    params)
        return QuadraticSolution(w, float(gap), float(stationarity), int(epochs))


def as_view(penalty, n_features, bounds=None):
    """``penalty`` as a :class:`PenaltyView` (one already is returned as is)."""
    return penalty if isinstance(penalty, PenaltyView) else PenaltyView(penalty, n_features, bounds)


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
