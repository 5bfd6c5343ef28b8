"""The group lasso on a dense ``X``: exact group steps and active-set passes.

Minimises ``Σ_i a_i ℓ(y_i, x_iᵀw + b) + Σ_g (λ_g ‖w_g‖₂ + l2_g ‖w_g‖²)`` for the squared error
(``(1/n)‖y − Xw − b‖²`` with uniform weights) or the log-loss — ``GroupL1(lam, groups,
weights)`` (``λ_g = lam·c_g``), optionally plus an ``L2`` of equal strength within each group —
for one target. This is what :func:`.blocks.solve_blocks` hands over to when it applies
(:func:`applies`); the general block solver handles every other case (an L1 part, several
outputs, other data fits, sparse ``X``). The log-loss is solved by damped proximal Newton
steps (:mod:`.group_newton`: weighted least squares on the working set, IRLS as glmnet and
adelie do), each model solved by the passes below to a fraction of the current certificate;
``NEWTON = False`` uses majorize-minimize steps instead (its curvature bound ``ℓ'' ≤ ¼`` makes a
least-squares surrogate with the same group Gram matrices: :meth:`_State.surrogate`), slower.

What makes it faster than the general block steps (the ideas of glmnet and adelie):

- each group's sub-problem is solved exactly, through the eigendecomposition of its Gram
  matrix and a 1-D Newton root find on the norm of the solution
  (:func:`._kernels.group_lasso.group_update`), instead of repeated prox-gradient steps;
- passes over the working set alternate with passes over its non-zero groups only, until a
  whole pass barely moves (:func:`._kernels.group_lasso.group_lasso_epochs`);
- the residual is the state; with an intercept the columns are centred (``X̃``, see
  :mod:`._kernels`), so the intercept's optimum ``Σ a_i (y_i − x̃_iᵀw)`` is unchanged by every
  step and is never iterated.

The stopping rule is the block solver's certificate (:func:`._kernels.block_certificate`: the
Fenchel duality gap at the rescaled residual) over every group of the problem, ≤ ``tol·L(0)``.
"""

from __future__ import annotations

import numpy as np

from .group_newton import newton_step
from .results import _ROUNDING_FLOOR, REFRESH_EPOCHS, SolverPlan, SolverResult

GRAM_GROUP_MAX = 64  # groups up to this size keep their Gram matrix (exact group steps, least squares)

INNER_START = 0.3  # a pass's movement (Σ ΔᵀHΔ) below this fraction of the threshold ends the passes
INNER_MIN = 1e-6
NEWTON = True  # the log-loss by proximal Newton steps (else majorize-minimize on its curvature bound)
SURROGATE_FRACTION = 0.1  # the log-loss's models (or surrogates): solved to this fraction of the certificate


def applies(problem, kp):
    """Does this solver take ``(problem, kp)``? One output, squared error or log-loss without an
    offset, dense float64 ``X``, a group penalty without L1 part or bounds, every group small
    enough to keep its Gram matrix."""
    k = problem.kernels
    if kp.groups is None or problem.n_outputs != 1 or problem.kernel_X[4] or kp.bounded or kp.code != 0:
        return False
    if problem.datafit.code not in (k.SQUARED_ERROR, k.LOGISTIC) or problem.offset is not None:
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
        sized = sizes[sizes > 0]
        equal = 0 < sized.size == groups.n_groups and bool(np.all(sized == sized[0]))
        if equal:  # groups of one size: plain reshapes
            size = int(sized[0])
            vals, vecs = np.linalg.eigh(HG.reshape(-1, size, size))
            vals = np.maximum(vals, 0.0)
            evals[:] = vals.reshape(-1)
            EV[:] = vecs.reshape(-1)
            LG[:] = curvature * vals[:, -1]
        for size in () if equal else np.unique(sized):
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
    """The kernels' state ``zx = X̃w``, ``b'`` (see :mod:`._kernels`) and the data fit's derivatives
    ``d_i = ℓ'(y_i, zx_i + b')`` there."""

    def __init__(self, problem, w, b):
        self.problem = problem
        self.X = problem.kernel_X[0]
        self.w = w
        self.mu = np.ascontiguousarray(problem.mu)
        self.squared = problem.datafit.code == problem.kernels.SQUARED_ERROR
        self.c = float(problem.datafit.lipschitz_scale(problem.y, problem.a))  # ℓ'' ≤ c: 2, or ¼ (log-loss)
        self.zx = np.empty(problem.n_samples)
        self.refresh()
        if self.squared and problem.fit_intercept:  # its optimum given w
            b = float(problem.a @ (problem.y - self.zx))
        self.b = b if problem.fit_intercept else 0.0

    def refresh(self):
        """``zx`` recomputed from ``w`` (the passes' updates drift by rounding)."""
        pb = self.problem
        pb.kernels.matvec(*pb.kernel_X, self.w, self.mu, self.zx)  # over the non-zero coefficients only

    def derivatives(self):
        y, z = self.problem.y, self.zx + self.b
        if self.squared:
            return -2.0 * (y - z)
        from scipy.special import expit

        return -y * expit(-y * z)

    def gradient(self):
        """``(G, gB, d)``: ``G = X̃ᵀAd``, ``gB = Σ a_i d_i``."""
        d = self.derivatives()
        ad = self.problem.a * d
        total = float(ad.sum())
        return self.X.T @ ad - self.mu * total, total, d

    def surrogate(self, d):
        """``(r, t)``: one majorize-minimize step. ``ℓ(z) ≤ ℓ(z₀) + ℓ'(z₀)(z − z₀) + (c/2)(z − z₀)²`` makes
        the data fit a least-squares problem with targets ``t = z₀ − d/c``, whose residual at the
        current point is ``r = t − z₀ = −d/c``. (For the squared error, ``c = 2``: the data fit itself.)"""
        r = -d / self.c
        return r, self.zx + self.b + r

    def accept(self, r, t):
        """The state after the passes moved ``w`` and ``r = t − X̃w − b'``: the intercept to the
        surrogate's optimum, then ``zx``."""
        pb = self.problem
        if pb.fit_intercept:
            shift = float(pb.a @ r)
            self.b += shift
            r -= shift
        np.subtract(t - self.b, r, out=self.zx)


def _certificate(problem, kp, state, G, gB, LG, all_groups):
    k = problem.kernels
    s = kp.groups
    n, p = problem.n_samples, problem.n_features
    gap, stationarity = k.block_certificate(problem.datafit.code, problem.y.reshape(n, 1), problem.a,
                                            state.zx.reshape(n, 1), np.array([state.b]), state.w.reshape(p, 1),
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

    For the squared error the intercept is always at its optimum given ``w`` (``intercept_init``
    is not needed). At least one pass runs at a warm start whose certificate already holds (it is the answer
    for another λ along a path: one cheap pass over the non-zero groups makes it this λ's)."""
    k = problem.kernels
    s = kp.groups
    p = problem.n_features
    LG, hptr, HG, evals, EV = group_data(problem, s)
    sizes = np.diff(s.ptr)
    gl2 = np.zeros(s.n_groups)
    gl2[sizes > 0] = kp.params[1][s.idx[s.ptr[:-1][sizes > 0]]]  # equal within a group (checked)
    gl2_raw = gl2
    w = np.zeros(p) if coef_init is None else np.array(coef_init, dtype=np.float64).reshape(p)
    b0 = problem.null_intercept if intercept_init is None else float(np.ravel(intercept_init)[0])
    state = _State(problem, w, b0 + float(problem.mu @ w))
    scaling = 2.0 / state.c  # the surrogate's least squares Σ a r² is the data fit's bound × 2/c
    glam, gl2 = s.lam * scaling, gl2_raw * scaling
    scale = float(problem.a @ (problem.y * problem.y))
    threshold = max(tol * problem.null_loss, _ROUNDING_FLOOR * scale)
    all_groups = np.arange(s.n_groups)
    X, mu = problem.kernel_X[0], np.ascontiguousarray(problem.mu)
    memory = problem.__dict__.setdefault("_group_lasso_inner", [INNER_START])
    epochs, passes, refreshed_at = 0, 0, 0
    usable = np.flatnonzero(LG > 0)
    warm = coef_init is not None and max_iter > 0 and bool(np.any(w))  # (zero: the path's λ_max, exact)
    d = state.derivatives() if warm else None
    while True:
        if passes == 0 and warm:
            ws = usable  # a warm start: first a pass over every group (on a path, the strong set)
        else:
            G, gB, d = state.gradient()
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
        # the passes stop once one moves less than this (least squares: the data fit itself; the
        # log-loss: its model at the current point, solved to a fraction of the certificate)
        inner = memory[0] * threshold if state.squared or passes == 0 else \
            memory[0] * max(threshold, SURROGATE_FRACTION * certificate)
        if state.squared or not NEWTON:
            r, t = state.surrogate(d)
            done = k.group_lasso_epochs(X, r, problem.a, mu, w, ws, s.ptr, s.idx, glam, gl2, hptr, HG, EV, evals,
                                        inner * scaling, max_iter - epochs)[0]
            state.accept(r, t)
        else:
            done = newton_step(problem, state, ws, s, gl2_raw, inner, max_iter - epochs)
        epochs += max(int(done), 1)
        passes += 1
        if epochs - refreshed_at >= REFRESH_EPOCHS:  # the passes' rounding drift, cleared now and then
            state.refresh()
            refreshed_at = epochs
    n = problem.n_samples
    objective = float(k.block_loss(problem.datafit.code, problem.y.reshape(n, 1), problem.a, state.zx.reshape(n, 1),
                                   np.array([state.b]))) + float(k.block_penalty_value(w.reshape(p, 1), kp.params,
                                                                                       s.ptr, s.idx, s.lam))
    plan = SolverPlan(datafit=problem.datafit.name or type(problem.datafit).__name__, penalty=kp.name,
                      method="block coordinate descent (exact group steps, active-set passes)", working_sets="on",
                      gram=False, anderson_k=0, support_steps=False, screening=False, certificate="duality gap",
                      reasons=("one output, squared error or log-loss, dense X, groups without an L1 part",))
    intercept = state.b - float(problem.mu @ w)
    return SolverResult(coef=w, intercept=intercept, certificate=float(certificate), threshold=float(threshold),
                        n_iter=int(epochs), converged=bool(certificate <= threshold), objective=objective,
                        gradient=G, plan=plan)
