"""The only place where :mod:`penalized.dask` calls penalized's solver or reads a penalty's internals.

The distributed algorithms reduce every problem to what the client can solve in memory:
a penalized quadratic ``yy − 2cᵀw + wᵀGw + pen(w)`` on a ``q × q`` Gram matrix (the
squared error's sufficient statistics, or a proximal Newton model), plus the penalty's
part of the certificate at a point whose gradient was summed over the cluster. When the
solver's contract changes, this module is the one to adapt. Penalties reach the kernels as
``(pen code, P)`` through ``penalty.kernel()``; the distributed algorithms here handle the
elastic-net family (``PEN_ENET``) without a box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..solvers.coordinate_descent import SUPPORT_MAX, kernel_penalty

#: What the distributed solvers take (the elastic-net family without a box).
SUPPORTED_PENALTIES = "L1, L2, L1L2 (elastic net) or no penalty, with per-feature weights"

# Tuning of the exact support steps in Gram mode (the solver's defaults).
_SUPPORT_COST = 1.0
_FACE_SOLVES = 4


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


def kernel_view(penalty, n_features):
    """The penalty as the kernels take it (:class:`~penalized.penalties.KernelPenalty`), checked
    to be one the distributed solvers handle: the elastic net without a box. Raises
    ``NotImplementedError`` naming what is supported otherwise."""
    kp = kernel_penalty(penalty, n_features)
    if not kp.is_elastic_net:
        raise NotImplementedError(
            f"penalized.dask fits {SUPPORTED_PENALTIES}; {kp.name} is not supported on Dask input "
            "(compute X to NumPy for it).")
    return kp


def strengths(penalty, n_features, features=None):
    """``(l1, l2)`` per-feature strengths (restricted to ``features`` if given)."""
    P = kernel_view(penalty, n_features).params
    l1, l2 = P[0], P[1]
    if features is not None:
        l1, l2 = l1[features], l2[features]
    return np.ascontiguousarray(l1), np.ascontiguousarray(l2)


def unpenalized(penalty, n_features):
    """Mask of the features the penalty leaves free."""
    l1, l2 = strengths(penalty, n_features)
    return (l1 == 0) & (l2 == 0)


def penalty_value(penalty, w):
    return 0.0 if penalty is None else float(penalty.value(np.asarray(w, dtype=np.float64)))


def penalty_change(penalty, w, dw):
    """``pen(w + dw) − pen(w)``, summed coordinate by coordinate (no cancellation of two totals:
    the steps near the optimum change the penalty by far less than its rounding)."""
    l1, l2 = strengths(penalty, w.shape[0])
    v = w + dw
    return float(np.sum(l1 * (np.abs(v) - np.abs(w)) + l2 * dw * (v + w)))


def solve_penalized_quadratic(G, c, yy, penalty, w0, tol, max_iter, features=None, n_features=None):
    """Minimise ``yy − 2cᵀw + wᵀGw + pen(w)`` by coordinate descent on the Gram matrix ``G``.

    ``G`` (q × q, positive semi-definite), ``c`` (q,), ``yy`` ≥ ``cᵀG⁺c``: the quadratic must be a
    residual sum of squares ``‖r − Mw‖²`` with ``MᵀM = G``, ``Mᵀr = c``, ``‖r‖² = yy`` (the
    solver's duality gap treats it as one; a larger ``yy`` only makes the gap more
    conservative). ``features``: the quadratic is over these coordinates of a penalty on
    ``n_features`` (a working set); ``w0``: the start. Stops when the duality gap and
    the stationarity of the unpenalized coordinates are each ≤ ``tol``, or after
    ``max_iter`` epochs. Returns a :class:`QuadraticSolution`.
    """
    from ..solvers._loader import kernels_for

    q = G.shape[0]
    k = kernels_for(q * q)
    kp = kernel_view(penalty, q if n_features is None else n_features)
    P = np.ascontiguousarray(kp.params if features is None else kp.params[:, features])
    G = np.asfortranarray(G, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.float64)
    w = np.array(w0, dtype=np.float64).ravel()
    gw = G @ w
    params = np.zeros(k.N_PARAMS)
    params[k.P_SUPPORT_COST] = _SUPPORT_COST
    params[k.P_FACE_SOLVES] = _FACE_SOLVES
    epochs, gap, stationarity, _ = k.gram_solve(G, c, float(yy), w, gw, kp.code, P, float(tol), int(max_iter),
                                                min(SUPPORT_MAX, q), params)
    return QuadraticSolution(w, float(gap), float(stationarity), int(epochs))


def dual_scaling(penalty, grad, n_features):
    """The largest ``α ≤ 1`` with ``α·|grad_j| ≤ l1_j`` on the pure-L1 coordinates: the factor that
    makes the dual point ``θ = −α·∇L_data`` feasible (the rule of ``_kernels.dual_scaling``)."""
    l1, l2 = strengths(penalty, n_features)
    g = np.abs(grad)
    pure = (l2 == 0) & (l1 > 0) & (g > l1)
    return float(np.min(l1[pure] / g[pure])) if pure.any() else 1.0


def certificate_terms(penalty, w, grad, grad_b, L, curvature, fit_intercept):
    """``(alpha, coordinate_gaps, stationarity)`` of the certificate at ``w`` (see
    :mod:`penalized.solvers.coordinate_descent`), from the data fit's gradient ``grad``
    along the solver's coordinate directions and the intercept's ``grad_b``.

    The full certificate adds the data term ``Σ a_i gap_i(α)`` (zero when ``alpha == 1``),
    which needs a pass over the samples.
    """
    p = w.shape[0]
    l1, l2 = strengths(penalty, p)
    alpha = dual_scaling(penalty, grad, p)
    free = (l1 == 0) & (l2 == 0)
    u = -alpha * grad[~free]
    wj, a1, a2 = w[~free], l1[~free], l2[~free]
    term = a1 * np.abs(wj) + a2 * wj * wj - wj * u
    ridge = a2 > 0
    excess = np.maximum(np.abs(u[ridge]) - a1[ridge], 0.0)
    term[ridge] += excess * excess / (4.0 * a2[ridge])
    gaps = float(np.maximum(term, 0.0).sum())
    usable = free & (L > 0)
    stationarity = float(np.sum(grad[usable] ** 2 / (2.0 * L[usable])))
    if fit_intercept:
        stationarity += grad_b * grad_b / (2.0 * curvature)
    return alpha, gaps, stationarity


def violations(penalty, w, grad):
    """Per feature, the distance from ``−grad_j`` to the penalty's subdifferential at ``w_j``."""
    l1, l2 = strengths(penalty, w.shape[0])
    sign = np.sign(w)
    return np.where(w == 0, np.maximum(np.abs(grad) - l1, 0.0), np.abs(grad + l1 * sign + 2.0 * l2 * w))
