"""Working-set proximal coordinate descent with Anderson acceleration.

The outer loop (here, in Python) computes the full gradient and the certificate, stops
when it is small enough, and otherwise picks a working set: the current support, the
unpenalized features, and the features that violate their optimality condition most.
The inner loop (compiled, :func:`._kernels.solve_subproblem`) runs coordinate-descent
epochs on the working set, extrapolated every few epochs (Anderson acceleration), until
the restricted problem's certificate falls below a fraction of the outer one.

Coordinates are centred when there is an intercept (see :mod:`._kernels`), so the
gradients below are taken along the centred directions.

Stopping rule (the same for every problem): ``certificate ≤ tol · L(0)``, where L(0) is
the loss of the null model (``w = 0``, best intercept) and the certificate is the sum of

- the Fenchel duality gap over the penalized coordinates, and
- ``Σ g_j² / (2 L_j)`` over the unpenalized coordinates and the intercept.

Both terms are ≥ 0 and vanish exactly at the optimum. For the squared error with only
the intercept unpenalized, the certificate is a rigorous upper bound on ``L(w) − L*``
(centred coordinates decouple the intercept exactly, and its term is then the exact
excess along it); with unpenalized features or the log-loss, the second term is a
first-order estimate of the excess in those coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..penalties import ElasticNetFamily
from . import _kernels as k
from .problem import LinearProblem

# Below this, a certificate is rounding noise of the data (e.g. a constant y fitted by
# its mean); in units of mean(a·y²).
_ROUNDING_FLOOR = 1e4 * np.finfo(np.float64).eps ** 2


@dataclass(frozen=True)
class SolverResult:
    """What :func:`solve` returns.

    ``certificate`` (reported by estimators as ``dual_gap_``) bounds the distance to the
    optimum as described in the module docstring; ``converged`` says whether it fell
    below ``threshold = tol · L(0)`` within ``max_iter`` epochs.
    """

    coef: np.ndarray
    intercept: float
    certificate: float
    threshold: float
    n_iter: int
    converged: bool
    objective: float


def coordinate_strengths(penalty, n_features):
    """``(l1, l2)`` per-feature arrays for a penalty of the elastic-net family (or None)."""
    if penalty is None:
        return np.zeros(n_features), np.zeros(n_features)
    if not isinstance(penalty, ElasticNetFamily):
        raise TypeError(
            f"the coordinate-descent solver handles L1, L2 and L1L2 penalties, got {penalty!r}."
        )
    l1, l2 = penalty.coordinate_strengths(n_features)
    return np.ascontiguousarray(l1, dtype=np.float64), np.ascontiguousarray(l2, dtype=np.float64)


def solve(problem: LinearProblem, penalty, *, coef_init=None, intercept_init=None, tol=1e-4,
          max_iter=1000, working_set=True, anderson_k=5, check_every=5, min_ws_size=10):
    """Minimise ``L_data(w, b) + penalty(w)`` on ``problem``.

    Parameters
    ----------
    problem : LinearProblem
    penalty : L1, L2, L1L2 or None
    coef_init, intercept_init : optional warm start (default: zeros and the null intercept).
    tol : float
        Relative tolerance: stop when the certificate is ≤ ``tol · L(0)``.
    max_iter : int
        Maximum number of coordinate-descent epochs (passes over the working set).
    working_set : bool
        Solve growing sub-problems on the most violating features (default) instead of
        sweeping all features every epoch.
    anderson_k : int
        Extrapolate every ``anderson_k + 1`` epochs from the last iterates (0: never).

    Returns
    -------
    SolverResult
    """
    n, p = problem.n_samples, problem.n_features
    l1, l2 = coordinate_strengths(penalty, p)
    code, kX, y, a, L, mu = (problem.datafit.code, problem.kernel_X, problem.y, problem.a,
                             problem.L, problem.mu)

    w = np.zeros(p) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel()
    if problem.fit_intercept:
        b = problem.null_intercept if intercept_init is None else float(intercept_init)
    else:
        b = 0.0
    zx, b = problem.internal_state(w, b)

    scale = float(a @ (y * y))
    threshold = max(tol * problem.null_loss, _ROUNDING_FLOOR * scale)
    all_features = np.arange(p)
    usable = L > 0
    unpenalized = usable & (l1 == 0) & (l2 == 0)
    grad = np.empty(p)
    buf = np.empty(n)
    scores = np.empty(p)
    epochs = 0
    while True:
        grad_b = k.gradient(code, *kX, y, a, zx, b, mu, all_features, grad, buf)
        gap, stationarity = k.duality_gap(code, y, a, zx, b, w, grad, grad_b, l1, l2, L, all_features,
                                          problem.fit_intercept)
        certificate = gap + stationarity
        if not np.isfinite(certificate):
            raise FloatingPointError(
                "the solver produced non-finite values; rescale X and y (e.g. StandardScaler) "
                "or increase the penalty."
            )
        if certificate <= threshold or epochs >= max_iter:
            break
        ws = _working_set(w, grad, l1, l2, L, usable, unpenalized, scores, min_ws_size) if working_set \
            else all_features[usable]
        inner_tol = max(0.3 * certificate, 0.3 * threshold)
        b, inner_epochs, _, _ = k.solve_subproblem(
            code, *kX, y, a, zx, b, w, ws, L, l1, l2, mu, problem.fit_intercept,
            inner_tol, max_iter - epochs, anderson_k, check_every, grad)
        epochs += inner_epochs

    objective = k.datafit_value(code, y, a, zx, b) + k.penalty_value(w, l1, l2, all_features)
    return SolverResult(coef=w, intercept=problem.intercept_from_internal(w, b),
                        certificate=float(certificate),
                        threshold=float(threshold), n_iter=int(epochs),
                        converged=bool(certificate <= threshold), objective=float(objective))


def _working_set(w, grad, l1, l2, L, usable, unpenalized, scores, min_size):
    """Support ∪ unpenalized ∪ the most violating features; at least twice the support."""
    k.violations(w, grad, l1, l2, L, scores)
    forced = usable & ((w != 0) | unpenalized)
    scores[forced] = np.inf
    n_usable = int(usable.sum())
    size = min(n_usable, max(min_size, 2 * int(forced.sum())))
    if size >= n_usable:
        return np.flatnonzero(usable)
    ws = np.argpartition(-scores, size - 1)[:size]
    ws.sort()
    return ws
