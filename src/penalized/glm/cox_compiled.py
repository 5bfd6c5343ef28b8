"""The Cox model's fits with an elastic-net-family penalty, in one compiled call per λ.

:func:`penalized.glm.newton.fit_vector` hands a Cox fit here when its penalty reaches the kernels
as the separable elastic net (``L1``, ``L2``, ``L1L2``, per-feature weights, bounds, the
standardized forms; not the group or non-convex penalties, which keep the general loop). The
kernel (``solvers/_kernels/cox.py``) runs the whole proximal Newton loop: O(n) risk-set sums for
the value, gradient and Hessian, the **exact** Newton model (its Hessian-vector products are
cumulative sums too) solved by coordinate descent over a working set (the non-zero and
KKT-violating features, re-checked on the full gradient at every step), and a backtracking line
search. Exact second-order steps converge quadratically where the diagonal (IRLS) model of
glmnet and scikit-survival converges linearly, slowly when ``p > n`` at small λ.

**Certificate.** The duality gap of the diagonal weighted least-squares model that
:mod:`penalized.glm.newton` reports is no bound for the partial likelihood, and it can be badly
optimistic: at ``p > n`` and small λ the diagonal model is much stiffer than the true Hessian in
the directions that matter, and its gap let a warm start stand ``7.6e-4·(L(0) − L_sat)`` above
the optimum (benchmarks/cox_path.py, 400 × 2000). The compiled loop reports instead the
**Newton decrement** of its last step, the decrease ``−(gᵀd + ½dᵀHd + pen(w') − pen(w))`` the
exact second-order model promised from the point it started at: an estimate of that point's
suboptimality ``F(w) − F*``, second order in its KKT violation (so not first order in it, as a
gap whose dual point is rescaled), and an overestimate of the returned point's (the step made
since converges quadratically). The loop stops when it is at most ``tol·(L(0) − L_sat)`` and
the full gradient at the returned point adds no KKT violator to the working set; at least one
Newton step is made unless ``w = 0`` satisfies the KKT conditions (certificate 0). It is an
estimate, not a bound: ``kkt_violation_`` (:mod:`penalized.glm.kkt`) is the check a user can
redo by hand.

Each Newton model is solved by coordinate descent until a full pass's largest ``c_j|δ_j|`` (the
model's coordinate violation, ``c_j = x_jᵀHx_j``) times ``‖w‖₁``, and its square over ``max c_j``,
are at most ``10·`` the threshold: the first-order product overstates what is left of the
model's (second-order) decrease by far, and 10 keeps the path's worst suboptimality at ~1e-7 of
``L(0) − L_sat`` on the benchmark cases. Where coordinate descent crawls (``p > n``, small λ:
flat directions), after 100 passes with a settled support the model is minimised exactly on the
support's orthant face (``face_minimize`` of the squared-error solver, on ``X_SᵀHX_S``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["compiled_penalty", "fit_cox_compiled", "cox_path_compiled"]

_HX_ENTRIES = 1 << 22  # the cache of Hessian-times-column vectors: at most 32 MB
_MAX_EPOCHS = 1000
_INNER_FACTOR = 10.0  # each Newton model is solved to this × the threshold (see the module docstring)


def compiled_penalty(bound, penalty, n_features, bounds):
    """The :class:`~penalized.penalties.KernelPenalty` of ``penalty`` if the compiled Cox loop
    takes it (a Cox data fit and a separable elastic-net-family penalty), else None."""
    if not getattr(bound, "compiled", False):
        return None
    from ..solvers import _kernels as k
    from ..solvers.coordinate_descent import kernel_penalty

    try:
        kp = kernel_penalty(penalty, n_features, bounds)
    except (TypeError, NotImplementedError):
        return None
    if kp.code != k.PEN_ENET or kp.groups is not None or not kp.convex:
        return None
    return kp


def _arrays(bound):
    """The data fit's sorted arrays as the kernel takes them (made once per bound data fit)."""
    arrays = getattr(bound, "_kernel_arrays", None)
    if arrays is None:
        SE = np.ascontiguousarray(np.vstack([bound.s_s, bound.ev_s]))
        TW = np.ascontiguousarray(np.vstack([bound.c, bound.term_w]))
        arrays = (np.ascontiguousarray(bound.order, dtype=np.int64), np.ascontiguousarray(bound.group, dtype=np.int64),
                  np.ascontiguousarray(bound.term_group, dtype=np.int64), SE, TW)
        bound._kernel_arrays = arrays
    return arrays


def _setup(bound, X):
    from ..solvers._loader import aot_dtypes, kernels_for
    from ..solvers.problem import kernel_matrix

    X = aot_dtypes(X)
    n, p = X.shape
    ctrl = [bound.total, 0.0, 0.0, _MAX_EPOCHS, _INNER_FACTOR, max(1, min(p, _HX_ENTRIES // max(n, 1)))]
    return X, kernel_matrix(X), kernels_for(n * p), ctrl


def cox_path_compiled(bound, unit, X, grid, offset, tol, max_iter, box):
    """The whole path of ``λ·unit`` over ``grid`` in one compiled call, warm-started from 0, or
    None where the compiled loop does not take ``unit`` (or its kernel parameters are not linear
    in λ). Returns ``(coefs (p, L), certificates, thresholds, n_iter, converged, data-fit values)``."""
    n, p = X.shape
    kp = compiled_penalty(bound, unit, p, box)
    if kp is None or len(grid) == 0:
        return None
    for lam in (grid[0], grid[-1]):  # λ·unit reaches the kernels as λ times its parameters
        scaled = compiled_penalty(bound, unit.scaled(lam), p, box)
        if scaled is None or not np.allclose(scaled.params[:2], lam * kp.params[:2], rtol=1e-12, atol=0.0):
            return None
    offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=np.float64)
    null_value = bound.value(offset)
    threshold = max(tol * (null_value - bound.saturated), 1e-15 * max(abs(null_value), 1.0))
    X, kX, k, ctrl = _setup(bound, X)
    ctrl[1], ctrl[2] = threshold, max_iter
    ctrl = np.array(ctrl + [float(lam) for lam in grid], dtype=np.float64)
    coefs, stats = np.zeros((len(grid), p)), np.zeros((len(grid), 6))
    order, grp, tg, SE, TW = _arrays(bound)
    eta = np.array(offset, dtype=np.float64)
    k.cox_enet_path(*kX, order, grp, tg, SE, TW, np.ascontiguousarray(kp.params), eta, ctrl, coefs, stats)
    return (coefs.T.copy(), stats[:, 1].copy(), np.full(len(grid), threshold), stats[:, 0].astype(int),
            stats[:, 3] > 0, stats[:, 5].copy())


def fit_cox_compiled(bound, kp, X, w, offset, threshold, max_iter):
    """Minimise ``L_cox(Xw + offset) + penalty`` from ``w`` (``kp`` from :func:`compiled_penalty`).

    Returns ``(w, certificate, n_steps, converged, objective)``."""
    X, kX, k, ctrl = _setup(bound, X)
    ctrl[1], ctrl[2] = threshold, max_iter
    w = np.array(w, dtype=np.float64)
    eta = np.asarray(X @ w, dtype=np.float64).ravel() + offset
    if sp.issparse(X):
        eta = np.ascontiguousarray(eta)
    stats = np.zeros(6)
    order, grp, tg, SE, TW = _arrays(bound)
    k.cox_enet_fit(*kX, order, grp, tg, SE, TW, np.ascontiguousarray(kp.params), w, eta,
                   np.array(ctrl, dtype=np.float64), stats)
    return w, float(stats[1]), int(stats[0]), bool(stats[3]), float(stats[2])
