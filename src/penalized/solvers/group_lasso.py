"""The group lasso on the squared error, dense ``X``: exact group steps and active-set passes.

Minimises ``(1/n)‖y − Xw − b‖²`` (weighted: ``Σ_i a_i r_i²``) ``+ Σ_g (λ_g ‖w_g‖₂ + l2_g ‖w_g‖²)``
— ``GroupL1(lam, groups, weights)`` (``λ_g = lam·c_g``), optionally plus an ``L2`` of equal
strength within each group — for one target on a dense design. This is what
:func:`.blocks.solve_blocks` hands over to when it applies (:func:`applies`); the general
block solver handles every other case (an L1 part, several outputs, other data fits, sparse
``X``).

What makes it faster than the general block steps (the ideas of glmnet and adelie):

- each group's sub-problem is solved exactly, through the eigendecomposition of its Gram
  matrix and a 1-D Newton root find on the norm of the solution
  (:func:`._group_kernels.group_update`), instead of repeated prox-gradient steps;
- passes over the working set alternate with passes over its non-zero groups only, until a
  whole pass barely moves (:func:`._group_kernels.group_lasso_epochs`);
- the residual is the state; with an intercept the columns are centred (``X̃``, see
  :mod:`._kernels`), so the intercept's optimum ``Σ a_i (y_i − x̃_iᵀw)`` is unchanged by every
  step and is never iterated.

The stopping rule is the block solver's certificate (:func:`._kernels.block_certificate`: the
Fenchel duality gap at the rescaled residual) over every group of the problem, ≤ ``tol·L(0)``.
"""

from __future__ import annotations

import numpy as np

from .results import _ROUNDING_FLOOR, REFRESH_EPOCHS, SolverPlan, SolverResult

INNER_START = 0.3  # a pass's movement (Σ ΔᵀHΔ) below this fraction of the threshold ends the passes
INNER_MIN = 1e-6


def applies(problem, kp):
    """Does this solver take ``(problem, kp)``? One output, squared error, dense ``X``, a group
    penalty without L1 part or bounds, every group small enough to keep its Gram matrix."""
    from .blocks import GRAM_GROUP_MAX

    k = problem.kernels
    if kp.groups is None or problem.n_outputs != 1 or problem.kernel_X[4] or kp.bounded or kp.code != 0:
        return False
    if problem.datafit.code != k.SQUARED_ERROR or problem.offset is not None:
        return False
    if np.any(kp.params[0] != 0.0):
        return False
    sizes = np.diff(kp.groups.ptr)
    return bool(sizes.size) and int(sizes.max()) <= GRAM_GROUP_MAX and problem.kernel_X[0].dtype == np.float64


def group_data(problem, groups):
    """``(LG, hptr, HG, evals, EV)`` of the groups, cached on the problem: the Gram matrices
    ``H_g = X̃_gᵀAX̃_g`` (row-major ``|g|×|g|`` blocks of ``HG`` at ``hptr[g]``), their
    eigenvalues (at the group's positions in ``groups.idx``) and eigenvectors (the columns of
    the blocks of ``EV``), and the groups' Lipschitz constants ``LG_g = ℓ''·λ_max(H_g)``."""
    cache = problem.__dict__.setdefault("_group_lasso_data", {})
    key = (groups.ptr.tobytes(), groups.idx.tobytes())
    if key not in cache:
        sizes = np.diff(groups.ptr)
        hptr = np.zeros(groups.n_groups + 1, dtype=np.int64)
        np.cumsum(sizes * sizes, out=hptr[1:])
        HG = np.zeros(int(hptr[-1]))
        problem.kernels.group_grams(problem.kernel_X[0], problem.a, np.ascontiguousarray(problem.mu), groups.ptr,
                                    groups.idx, hptr, HG)
        evals = np.zeros(groups.idx.shape[0])
        EV = np.zeros_like(HG)
        LG = np.zeros(groups.n_groups)
        curvature = float(problem.datafit.lipschitz_scale(problem.y, problem.a))
        for size in np.unique(sizes[sizes > 0]):
            gs = np.flatnonzero(sizes == size)
            blocks = HG[hptr[gs][:, None] + np.arange(size * size)].reshape(-1, size, size)
            vals, vecs = np.linalg.eigh(blocks)
            vals = np.maximum(vals, 0.0)
            evals[groups.ptr[gs][:, None] + np.arange(size)] = vals
            EV[hptr[gs][:, None] + np.arange(size * size)] = vecs.reshape(-1, size * size)
            LG[gs] = curvature * vals[:, -1]
        cache.clear()
        cache[key] = (LG, hptr, HG, evals, EV)
    return cache[key]


class _State:
    """The residual ``r = y − X̃w − b'`` of ``(w, b')`` and the gradient ``G = −2X̃ᵀAr``."""

    def __init__(self, problem, w):
        self.problem = problem
        self.X = problem.kernel_X[0]
        self.w = w
        self.r = np.empty(problem.n_samples)
        self.refresh()

    def refresh(self):
        """``r`` recomputed from ``w`` (the passes' updates drift by rounding); the intercept at its
        optimum."""
        pb = self.problem
        self.r[:] = pb.y
        self.r -= self.X @ self.w - float(pb.mu @ self.w)
        self.b = float(pb.a @ self.r) if pb.fit_intercept else 0.0
        self.r -= self.b

    def gradient(self):
        ar = self.problem.a * self.r
        return -2.0 * (self.X.T @ ar - self.problem.mu * ar.sum()), -2.0 * float(ar.sum())


def _certificate(problem, kp, state, G, gB, LG, all_groups):
    k = problem.kernels
    s = kp.groups
    n, p = problem.n_samples, problem.n_features
    Y = problem.y.reshape(n, 1)
    Z = (problem.y - state.r - state.b).reshape(n, 1)
    B = np.array([state.b])
    gap, stationarity = k.block_certificate(problem.datafit.code, Y, problem.a, Z, B, state.w.reshape(p, 1),
                                            G.reshape(p, 1), np.array([gB]), kp.params, s.ptr, s.idx, s.lam, LG,
                                            all_groups, problem.fit_intercept)
    return gap + stationarity


def _working_set(problem, kp, w, G, LG, min_ws_size):
    """The non-zero groups, then the groups that violate their optimality at zero most (at most
    as many as the non-zero ones, at least ``min_ws_size`` in all)."""
    s = kp.groups
    k = problem.kernels
    scores = np.empty(s.n_groups)
    k.block_violations(w.reshape(-1, 1), G.reshape(-1, 1), kp.params, s.ptr, s.idx, s.lam, LG, scores)
    nonzero = np.bincount(s.labels, weights=np.abs(w), minlength=s.n_groups) > 0
    usable = LG > 0
    free = usable & (s.lam == 0)
    forced = usable & (nonzero | free)
    scores[forced] = np.inf
    scores[~usable] = -1.0
    candidates = int(np.count_nonzero(scores > 0))
    size = min(candidates, max(min_ws_size, 2 * int(forced.sum())))
    if size == 0:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.argpartition(-scores, size - 1)[:size]).astype(np.int64)


def solve_group_lasso(problem, kp, *, coef_init=None, intercept_init=None, tol=1e-4, max_iter=1000,
                      min_ws_size=10, **_ignored):
    """Minimise the group lasso of the module docstring; a :class:`SolverResult`.

    ``intercept_init`` is not needed: the intercept is always at its optimum given ``w``.
    At least one pass runs at a warm start whose certificate already holds (it is the answer
    for another λ along a path: one cheap pass over the non-zero groups makes it this λ's)."""
    k = problem.kernels
    s = kp.groups
    p = problem.n_features
    LG, hptr, HG, evals, EV = group_data(problem, s)
    sizes = np.diff(s.ptr)
    gl2 = np.zeros(s.n_groups)
    gl2[sizes > 0] = kp.params[1][s.idx[s.ptr[:-1][sizes > 0]]]  # equal within a group (checked)
    w = np.zeros(p) if coef_init is None else np.array(coef_init, dtype=np.float64).reshape(p)
    state = _State(problem, w)
    scale = float(problem.a @ (problem.y * problem.y))
    threshold = max(tol * problem.null_loss, _ROUNDING_FLOOR * scale)
    all_groups = np.arange(s.n_groups)
    X, mu = problem.kernel_X[0], np.ascontiguousarray(problem.mu)
    memory = problem.__dict__.setdefault("_group_lasso_inner", [INNER_START])
    epochs, passes, refreshed_at = 0, 0, 0
    usable = np.flatnonzero(LG > 0)
    warm = coef_init is not None and max_iter > 0 and bool(np.any(w))  # (zero: the path's λ_max, exact)
    while True:
        if passes == 0 and warm:
            ws = usable  # a warm start: first a pass over every group (on a path, the strong set)
        else:
            G, gB = state.gradient()
            certificate = _certificate(problem, kp, state, G, gB, LG, all_groups)
            if not np.isfinite(certificate):
                raise FloatingPointError("the solver produced non-finite values; rescale X and y (e.g. "
                                         "StandardScaler) or increase the penalty.")
            if certificate <= threshold or epochs >= max_iter:
                break
            ws = _working_set(problem, kp, w, G, LG, min_ws_size)
            if ws.size == 0:
                break
            if passes > 0:  # the passes stopped too early: tighter next time
                memory[0] = max(INNER_MIN, memory[0] * min(0.3, max(0.01, threshold / certificate)))
        done, _ = k.group_lasso_epochs(X, state.r, problem.a, mu, w, ws, s.ptr, s.idx, s.lam, gl2, hptr, HG,
                                       EV, evals, memory[0] * threshold, max_iter - epochs)
        epochs += max(int(done), 1)
        passes += 1
        if epochs - refreshed_at >= REFRESH_EPOCHS:  # the passes' rounding drift, cleared now and then
            state.refresh()
            refreshed_at = epochs
    objective = float(problem.a @ (state.r * state.r)) + float(k.block_penalty_value(
        w.reshape(p, 1), kp.params, s.ptr, s.idx, s.lam))
    plan = SolverPlan(datafit=problem.datafit.name or type(problem.datafit).__name__, penalty=kp.name,
                      method="block coordinate descent (exact group steps, active-set passes)", working_sets="on",
                      gram=False, anderson_k=0, support_steps=False, screening=False, certificate="duality gap",
                      reasons=("one output, squared error, dense X, groups without an L1 part",))
    intercept = state.b - float(problem.mu @ w)
    return SolverResult(coef=w, intercept=intercept, certificate=float(certificate), threshold=float(threshold),
                        n_iter=int(epochs), converged=bool(certificate <= threshold), objective=objective,
                        gradient=G, plan=plan)
