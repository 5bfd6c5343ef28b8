"""``Cox(ties="breslow"|"efron")``: the proportional-hazards partial likelihood on whole vectors.

``L_data = −(1/Σs) log PL(η)`` with ``η = Xw + offset`` (no intercept: it cancels), where, for the
distinct event times ``t_k`` with ``d_k`` events of total weight ``D_k``, risk sets
``R_k = {j : t_j ≥ t_k}``, ``S_k = Σ_{R_k} s_j e^{η_j}`` and ``E_k = Σ_{events at t_k} s_i e^{η_i}``:

- Breslow: ``log PL = Σ_i s_i δ_i η_i − Σ_k D_k log S_k``;
- Efron:   ``log PL = Σ_i s_i δ_i η_i − Σ_k (D_k/d_k) Σ_{l=0}^{d_k−1} log(S_k − (l/d_k) E_k)``

(the weighted Efron form of R's ``survival::coxph``: the tied events share their mean weight).
Unweighted and without ties, ``L_data = −(1/n) log PL``: scikit-survival's and glmnet's scale, so
``CoxnetSurvivalAnalysis(alphas=[a], l1_ratio=r)`` is ``L1L2(l1=a·r, l2=a·(1−r)/2)``.

Value, gradient and the Hessian's diagonal are cumulative sums over the times sorted once in
:meth:`Cox.bind`: O(n) per evaluation. The saturated model is glmnet's,
``ℓ_sat = −Σ_k D_k log D_k`` for Breslow (its Efron analogue
``−Σ_k (D_k/d_k) Σ_l log(D_k (1 − l/d_k))``), and ``deviance = 2(ℓ_sat − log PL)``.
"""

from __future__ import annotations

import numpy as np

from .base import BoundDatafit, VectorDatafit, check_sample_weight
from .survival import check_survival_target

__all__ = ["Cox"]


class Cox(VectorDatafit):
    """Cox proportional hazards: ``L_data = −(1/n) log PL(w)`` (sample-weighted: ``−log PL / Σs``).

    Parameters
    ----------
    ties : "breslow" or "efron", default="breslow"
        How tied event times enter the partial likelihood (glmnet and scikit-survival's
        ``CoxnetSurvivalAnalysis`` use Breslow; lifelines and R's ``coxph`` Efron).

    ``y`` is scikit-survival's structured array (event, time) or an (n, 2) array of
    ``(time, event)``. See :mod:`penalized.glm.cox` for the formulas.
    """

    _params = ("ties",)
    has_intercept = False
    name = "Cox partial likelihood"

    def __init__(self, ties="breslow"):
        if ties not in ("breslow", "efron"):
            raise ValueError(f"Cox: ties must be 'breslow' or 'efron', got {ties!r}.")
        self.ties = ties

    def bind(self, y, sample_weight=None):
        time, event = check_survival_target(y)
        s = check_sample_weight(sample_weight, time.shape[0])
        if not (s * event).sum() > 0:
            raise ValueError("Cox: no event has a positive sample weight.")
        return _CoxFit(time, event, s, self.ties)


class _CoxFit(BoundDatafit):
    has_intercept = False
    shift_invariant = True
    compiled = True  # the elastic-net family fits in one compiled call (:mod:`.cox_compiled`)

    def __init__(self, time, event, s, ties):
        super().__init__(s)
        self.time, self.event = time, event
        order = np.argsort(time, kind="stable")
        times, group = np.unique(time[order], return_inverse=True)
        G = times.shape[0]
        ev = event[order].astype(np.float64)
        self.order, self.group, self.G, self.ev_s, self.s_s = order, group, G, ev, s[order]
        self.n_events = np.bincount(group, ev, G)
        self.D = np.bincount(group, self.s_s * ev, G)
        # one term per (event time, l): its group, its c = l/d_k and its weight
        with_events = np.flatnonzero(self.n_events > 0)
        if ties == "breslow":
            self.term_group, self.c, self.term_w = with_events, np.zeros(with_events.shape[0]), self.D[with_events]
        else:
            d = self.n_events[with_events].astype(np.int64)
            self.term_group = np.repeat(with_events, d)
            first = np.repeat(np.cumsum(d) - d, d)
            l_index = np.arange(self.term_group.shape[0]) - first
            dk = np.repeat(d, d).astype(np.float64)
            self.c = l_index / dk
            self.term_w = np.repeat(self.D[with_events] / d, d)
        pos = self.D[self.term_group] * (1.0 - self.c)
        keep = pos > 0
        lsat = -float(self.term_w[keep] @ np.log(pos[keep]))
        self.saturated = -lsat / self.total

    def _terms(self, eta):
        """Sorted ``u = s e^{η − m}``, the terms' denominators ``S_k − c E_k`` and ``m``."""
        m = float(np.max(eta))
        u = self.s_s * np.exp(eta[self.order] - m)
        U = np.bincount(self.group, u, self.G)
        S = np.cumsum(U[::-1])[::-1]
        E = np.bincount(self.group, u * self.ev_s, self.G)
        den = S[self.term_group] - self.c * E[self.term_group]
        return u, np.maximum(den, np.finfo(np.float64).tiny), m

    def value(self, eta):
        eta = np.asarray(eta, dtype=np.float64)
        _, den, m = self._terms(eta)
        log_pl = float((self.s * self.event) @ eta) - float(self.term_w @ (np.log(den) + m))
        return -log_pl / self.total

    def _risk_sums(self, eta):
        """Per sorted sample, ``Σ_k w_k (1−c)/S`` and ``Σ_k w_k (1−c)²/S²`` over its risk sets."""
        u, den, _ = self._terms(eta)
        G, tg, w, c = self.G, self.term_group, self.term_w, self.c
        A = np.bincount(tg, w / den, G)
        A2 = np.bincount(tg, w / (den * den), G)
        B = np.bincount(tg, w * (1.0 - c) / den, G)
        B2 = np.bincount(tg, w * (1.0 - c) ** 2 / (den * den), G)
        g = self.group
        first = np.cumsum(A)[g] - self.ev_s * (A - B)[g]  # an event's own time: the Efron factor 1 − c
        second = np.cumsum(A2)[g] - self.ev_s * (A2 - B2)[g]
        return u, first, second

    def gradient(self, eta):
        return self.derivatives(eta)[0]

    def derivatives(self, eta):
        """The gradient and the Hessian's diagonal from one pass over the risk sets."""
        u, first, second = self._risk_sums(np.asarray(eta, dtype=np.float64))
        grad, hess = np.empty(self.n), np.empty(self.n)
        grad[self.order] = (u * first - self.s_s * self.ev_s) / self.total
        hess[self.order] = np.maximum(u * first - u * u * second, 0.0) / self.total
        return grad, hess

    def curvature(self, eta):
        """The diagonal of the Hessian of ``L_data`` in ``η`` (≥ 0; 0 for a sample in no risk set
        with another member)."""
        return self.derivatives(eta)[1]
