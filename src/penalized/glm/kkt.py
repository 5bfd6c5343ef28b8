"""What certifies a fit on a whole-vector data fit (Cox, Huber): its KKT violation.

For the squared error and the log-loss, ``dual_gap_`` is a Fenchel duality gap and bounds the
suboptimality ``P(w) − P*``. The Cox partial likelihood has no such simple dual: its risk sets
nest, and the conjugate of a sum of log-sum-exp terms over nested sets has no closed form. The
whole-vector fits therefore report two measures of the same thing, both zero exactly at a KKT
point of the true problem:

- ``dual_gap_`` (:mod:`penalized.glm.newton`): the duality gap of the weighted least-squares model
  rebuilt around the returned point, times ``Σh/2``, in objective units — the number the
  stopping rule compares with ``tol·(L(0) − L_sat)``; for Cox with an elastic-net-family penalty
  (the compiled loop, :mod:`penalized.glm.cox_compiled`), the Newton decrement of the last step
  (the exact second-order model's promised decrease, an estimate of the suboptimality);
- ``kkt_violation_`` (here): ``max_j dist(−∂L_data/∂w_j, ∂R_j(w))`` (per group for ``GroupL1``),
  and ``|∂L_data/∂b|`` with an intercept, in the units of the gradient, computed from the true
  gradient at the returned coefficients. With ``standardize=True`` it is taken in the
  standardized coordinates (``∂/∂β̃_j = (∂/∂β_j)/s_j``), where the penalty acts.

Neither is a bound on ``P(w) − P*`` (that needs a curvature bound the partial likelihood does
not have); the KKT violation is what a user can check by hand (``tests/test_cox.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["kkt_violation"]


def kkt_violation(bound, penalty, X, coef, intercept=0.0, *, offset=None, fit_intercept=False, standardize=False,
                  sample_weight=None):
    """``max`` of the KKT distances at ``(coef, intercept)`` (see the module docstring); ``bound``
    is the data fit bound to ``y`` (:class:`penalized.glm.BoundDatafit`). NaN with a box."""
    from ..standardize import OnStandardized, Standardization

    w = np.asarray(coef, dtype=np.float64)
    eta = np.asarray(X @ w, dtype=np.float64).ravel() + intercept
    if offset is not None:
        eta = eta + offset
    g_eta = bound.gradient(eta)
    grad = np.asarray(X.T @ g_eta, dtype=np.float64).ravel()
    if standardize:
        penalty = OnStandardized(penalty, Standardization.fit(X, sample_weight, penalty).scale) \
            if penalty is not None else None
        if penalty is None:
            grad = grad / Standardization.fit(X, sample_weight, None).scale
    dist = np.abs(grad) if penalty is None else np.asarray(penalty.subdiff_distance(w, grad), dtype=np.float64)
    worst = float(dist.max(initial=0.0))
    if fit_intercept:
        worst = max(worst, abs(float(g_eta.sum())))
    return worst
