"""The covariance method for squared-error paths on tall designs (glmnet's ``type.gaussian="covariance"``).

For the squared error ``L_data(w, b) = Σ_i a_i (y_i − x_iᵀw − b)²`` (``a_i = s_i / Σ s``, the
normalised sample weights) every quantity a coordinate-descent path needs is a function of

    G = X̃ᵀAX̃  (p × p),   c = X̃ᵀAỹ,   yy = ỹᵀAỹ,

with ``X̃``, ``ỹ`` centred by their weighted means when there is an intercept (whose optimum is
then ``b = ȳ − μᵀw``) and plain without one. The data fit at ``w`` is
``yy − 2cᵀw + wᵀGw``, its gradient ``2(Gw − c)``. When ``n ≫ p`` the path computes ``G`` once
(one BLAS-3 product, ``n·p²`` flops) and solves every λ on it (:func:`._kernels.gram_solve`,
O(p) per coordinate step, warm starts along the grid): no pass over ``X`` per λ.

The certificate comes from the Gram quantities too (:func:`._kernels.gram_gap`: the same dual
point and terms as on ``X``, the residual's sum of squares being ``yy − 2cᵀw + wᵀGw``), and every
point keeps ``0 ≤ certificate ≤ threshold = tol·L(0)``. Those quantities are rounded at about
``eps·(yy + 2|cᵀw| + wᵀGw)``; where the threshold comes within :data:`ROUNDING_GUARD` times that
of the rounding level, or where the Gram solve did not reach the threshold, the point is solved
again from where it is on ``X`` itself (the naive method, whose checks read ``X``) and that
verdict is the point's.

Cross-validation (:class:`GramMoments`): the weighted co-moments of ``[X, y]`` around the full
data's means are computed once; a fold's training moments are those minus its held-out rows'
(``n_test·p²`` flops), then centred on the fold's own weighted means. Ten folds thus cost about
two Gram products (the full one and the held-out parts, which add up to ``n`` rows) plus eleven
paths on ``p × p`` matrices. glmnet's standardization on a scaled copy of ``X`` is ``D G D``,
``D c`` (:meth:`GramStats.scaled`).

When it runs (:func:`pays_off`): the squared error with one target and a separable penalty (the
elastic net and its sums, MCP, SCAD, BerHu; boxes), at most :data:`MAX_FEATURES` features (the
Gram matrix's memory), ``n ≥`` :data:`MIN_RATIO`·p, and the Gram product costing less than the
passes over ``X`` the naive path would make (:data:`NAIVE_PASSES` per λ): for a dense ``X`` the
``n·p²`` BLAS-3 flops counted :data:`BLAS_SPEEDUP` times cheaper, for a sparse one ``XᵀX``'s
``Σ_i nnz_i²`` against ``nnz`` per pass. A sparse ``X`` is not centred (that would densify it): its
product is shifted by the means algebraically, which costs about ``log10(mean²/var)`` digits; beyond
:data:`SPARSE_CANCELLATION` the naive method runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from ..datafits import SquaredError
from .results import _ROUNDING_FLOOR, SolverPlan, SolverResult

MAX_FEATURES = 4000  # a 4000×4000 Gram matrix is 128 MB
MIN_RATIO = 2  # n ≥ 2p
BLAS_SPEEDUP = 8.0  # a BLAS-3 flop against a coordinate-descent flop
NAIVE_PASSES = 2.0  # passes over X per λ of the naive path, at least (a gradient and a refresh)
SUPPORT_RATIO = 8.0  # exact support steps on supports up to √(SUPPORT_RATIO·p) (GramPath._support_max)
SUPPORT_MIN = 64  # ... or up to this size
BLOCK_ENTRIES = 1 << 22  # rows copied (centred, weighted) at a time for the Gram product: 32 MB
ROUNDING_GUARD = 1e3  # thresholds within this factor of the Gram quantities' rounding: verified on X
METHOD = "covariance method: coordinate descent on the Gram matrix computed once for the path"
_EPS = np.finfo(np.float64).eps


def pays_off(X, datafit, unit, n_lambdas, y=None):
    """Whether a path of ``n_lambdas`` points on ``X`` runs on the Gram matrix (module docstring)."""
    n, p = X.shape
    if not isinstance(datafit, SquaredError) or np.ndim(y) > 1:
        return False
    if p > MAX_FEATURES or n < MIN_RATIO * p or p == 0:
        return False
    if unit is not None and unit.kernel(p).groups is not None:
        return False
    if sp.issparse(X):  # XᵀX costs Σ_i nnz_i² (a sparse product), a naive pass nnz
        row_nnz = np.bincount(X.tocoo().row, minlength=n).astype(np.float64)
        return float(row_nnz @ row_nnz) <= max(n_lambdas, 1) * NAIVE_PASSES * float(X.nnz)
    return n * p * p / BLAS_SPEEDUP <= max(n_lambdas, 1) * NAIVE_PASSES * n * p


@dataclass
class GramStats:
    """``G``, ``c``, ``yy`` of one training set, with the means ``mu`` (p,) and ``ybar`` its
    intercept is recovered from (zeros without an intercept) and ``scale = Σ a y²``."""

    G: np.ndarray
    c: np.ndarray
    yy: float
    mu: np.ndarray
    ybar: float
    scale: float
    fit_intercept: bool

    def scaled(self, d):
        """The statistics of the columns ``x_j·d_j`` (glmnet's standardization on a copy)."""
        d = np.asarray(d, dtype=np.float64)
        return replace(self, G=np.asfortranarray(self.G * np.outer(d, d)), c=self.c * d, mu=self.mu * d)

    def intercept(self, w):
        return float(self.ybar - self.mu @ w) if self.fit_intercept else 0.0


def _weighted_block(X, shift_x, y, shift_y, s):
    """``(S, u, v, Y1, Y2, W)`` of ``Xs = X − shift_x``, ``ys = y − shift_y``: ``XsᵀSXs``, ``Xsᵀs``,
    ``XsᵀSys``, ``sᵀys``, ``sᵀys²``, ``Σs`` (``S = diag(s)``; ``s`` None: ones), summed over blocks of
    rows (a copy of at most :data:`BLOCK_ENTRIES` entries at a time, not of ``X``)."""
    if sp.issparse(X):
        return _sparse_block(X, shift_x, y, shift_y, s)
    n, p = X.shape
    y = np.asarray(y, dtype=np.float64)
    s = None if s is None else np.asarray(s, dtype=np.float64)
    S, u, v = np.zeros((p, p)), np.zeros(p), np.zeros(p)
    Y1 = Y2 = 0.0
    step = max(1, BLOCK_ENTRIES // max(p, 1))
    for lo in range(0, n, step):
        rows = slice(lo, min(n, lo + step))
        Xr = np.subtract(X[rows], shift_x, dtype=np.float64)
        yr = y[rows] - shift_y
        if s is None:
            u += Xr.sum(axis=0)
            Y1 += float(yr.sum())
        else:
            root = np.sqrt(s[rows])
            Xr *= root[:, None]
            Y1 += float(s[rows] @ yr)
            u += Xr.T @ root
            yr *= root
        S += Xr.T @ Xr
        v += Xr.T @ yr
        Y2 += float(yr @ yr)
    return S, u, v, Y1, Y2, float(n if s is None else s.sum())


def _sparse_block(X, m, y, shift_y, s):
    """:func:`_weighted_block` of a sparse ``X``: the raw products (``XᵀSX`` sparse), shifted by ``m``
    algebraically (centring would densify ``X``; :meth:`GramMoments.of` checks what that costs in digits)."""
    n = X.shape[0]
    X = sp.csc_array(X, dtype=np.float64)
    s = np.ones(n) if s is None else np.asarray(s, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64) - shift_y
    R = np.asarray((X.T @ sp.diags_array(s) @ X).toarray())
    ur = np.asarray(X.T @ s).ravel()
    W, Y1 = float(s.sum()), float(s @ ys)
    S = R - np.outer(m, ur) - np.outer(ur, m) + W * np.outer(m, m)
    v = np.asarray(X.T @ (s * ys)).ravel() - m * Y1
    return S, ur - W * m, v, Y1, float(s @ (ys * ys)), W


#: sparse X: centring in the Gram product loses about log10(mean²/var) digits; beyond 1e6, the naive method
SPARSE_CANCELLATION = 1e6


@dataclass
class GramMoments:
    """Weighted co-moments of ``[X, y]`` around fixed shifts (the full data's weighted means with an
    intercept, zero without): the full data's :class:`GramStats` and, by subtraction of held-out
    rows, every fold's (module docstring)."""

    shift_x: np.ndarray
    shift_y: float
    S: np.ndarray
    u: np.ndarray
    v: np.ndarray
    Y1: float
    Y2: float
    W: float
    fit_intercept: bool
    reliable: bool = True  # False: a sparse X whose centring in the product would cost too many digits

    @classmethod
    def of(cls, X, y, sample_weight=None, fit_intercept=True):
        """The moments of ``X`` (n, p; dense or sparse) and ``y`` (n,) (already net of any offset)."""
        y = np.asarray(y, dtype=np.float64)
        s = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        reliable = True
        if fit_intercept:
            W = float(X.shape[0]) if s is None else float(s.sum())
            ones = np.ones(X.shape[0]) if s is None else s
            shift_x = np.asarray(X.T @ ones, dtype=np.float64).ravel() / W
            shift_y = float(y.sum() if s is None else s @ y) / W
            if sp.issparse(X):  # the centring is algebraic there: how many digits does it cost?
                from ..standardize import column_scales

                sd, constant = column_scales(X, s)
                ratio = np.where(constant, 0.0, shift_x ** 2 / np.where(constant, 1.0, sd * sd))
                reliable = bool(np.all(ratio <= SPARSE_CANCELLATION))
        else:
            shift_x, shift_y = np.zeros(X.shape[1]), 0.0
        with np.errstate(over="ignore", invalid="ignore"):  # columns beyond double precision: GramPath refuses them
            S, u, v, Y1, Y2, W = _weighted_block(X, shift_x, y, shift_y, s)
        return cls(shift_x, shift_y, S, u, v, Y1, Y2, W, fit_intercept, reliable)

    def _held_out(self, X_test, y_test, sw_test):
        with np.errstate(over="ignore", invalid="ignore"):
            return _weighted_block(X_test, self.shift_x, y_test, self.shift_y, sw_test)

    def stats(self, held_out=None):
        """:class:`GramStats` of the full data, or of the rows outside ``held_out`` (a
        :meth:`_held_out` block)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._stats(held_out)

    def _stats(self, held_out):
        S, u, v, Y1, Y2, W = self.S, self.u, self.v, self.Y1, self.Y2, self.W
        if held_out is not None:
            hS, hu, hv, hY1, hY2, hW = held_out
            S, u, v, Y1, Y2, W = S - hS, u - hu, v - hv, Y1 - hY1, Y2 - hY2, W - hW
        if not W > 0:
            raise ValueError("a training part carries no sample weight: there is nothing to fit.")
        if self.fit_intercept:  # centre on this training part's own weighted means
            d, e = u / W, Y1 / W
            G = S / W - np.outer(d, d)
            c = v / W - d * e
            yy = Y2 / W - e * e
            mu, ybar = self.shift_x + d, self.shift_y + e
        else:
            G, c, yy = S / W, v / W, Y2 / W
            mu, ybar = np.zeros(S.shape[0]), 0.0
        G = 0.5 * (G + G.T)  # exactly symmetric after the subtractions
        diag = np.diag(G).copy()
        # constant columns (to the rounding of their moments, as penalized.standardize decides) stay at 0
        constant = diag <= 64 * _EPS * (np.abs(diag) + mu * mu)
        if constant.any():
            G[constant, :], G[:, constant], c = 0.0, 0.0, np.where(constant, 0.0, c)
        scale = yy + ybar * ybar if self.fit_intercept else yy
        return GramStats(G=np.asfortranarray(G), c=np.ascontiguousarray(c), yy=max(float(yy), 0.0), mu=mu,
                         ybar=float(ybar), scale=float(scale), fit_intercept=self.fit_intercept)

    def fold(self, X_test, y_test, sw_test=None):
        """:class:`GramStats` of the training part that leaves out these rows."""
        return self.stats(self._held_out(X_test, y_test, sw_test))


class GramPath:
    """Solves a path's points on :class:`GramStats` (the ``problem`` of :func:`penalized.path.solve_path`'s
    loop: :meth:`solve_point` takes the place of :func:`~penalized.solvers.solve`)."""

    method = METHOD

    def __init__(self, stats, X, y, datafit, sample_weight=None, fit_intercept=True, offset=None):
        from . import _loader

        self.stats = stats
        self._data = (X, y, datafit, sample_weight, fit_intercept, offset)
        self._problem = None
        self.kernels = _loader.kernels_for(X.shape[0] * X.shape[1])
        self.verified_on_x = 0  # points whose verdict came from X (rounding guard)
        self._traits = {}
        self.usable = np.diag(stats.G) > 0  # coordinates the solver moves (not constant columns)
        self._check_scales()

    def _check_scales(self):
        """Columns too large or too small for double precision get the naive method's ``ValueError``
        (:func:`.problem.check_column_scales`, naming them): building the problem on X raises it."""
        from .problem import SQNORM_MAX, SQNORM_MIN

        st = self.stats
        with np.errstate(over="ignore", invalid="ignore"):
            raw = np.diag(st.G) + st.mu * st.mu
            fine = np.isfinite(raw) & (raw <= SQNORM_MAX) & ((raw >= SQNORM_MIN) | (raw == 0))
        if not fine.all():
            self.problem()

    @classmethod
    def build(cls, X, y, datafit, sample_weight=None, fit_intercept=True, offset=None, stats=None):
        """The path solver of these data; ``stats`` (e.g. a CV fold's) or computed here."""
        if stats is None:
            target = y if offset is None else y - offset
            moments = GramMoments.of(X, target, sample_weight, fit_intercept)
            if not moments.reliable:
                return None
            stats = moments.stats()
        return cls(stats, X, y, datafit, sample_weight, fit_intercept, offset)

    @property
    def null_loss(self):
        return self.stats.yy

    def problem(self):
        """The :class:`~penalized.solvers.LinearProblem` on ``X`` (built on first use)."""
        if self._problem is None:
            from .problem import LinearProblem

            X, y, datafit, sw, fit_intercept, offset = self._data
            self._problem = LinearProblem.build(X, y, datafit, sw, fit_intercept, offset=offset)
        return self._problem

    def solve_point(self, penalty, *, coef_init=None, intercept_init=None, tol=1e-4, max_iter=1000, bounds=None):
        """``L_data + penalty`` from ``coef_init`` on the Gram matrix (``intercept_init`` is not
        needed: the intercept is optimal in closed form); a :class:`SolverResult`."""
        from .coordinate_descent import kernel_penalty

        st, k = self.stats, self.kernels
        p = st.c.shape[0]
        kp = kernel_penalty(penalty, p, bounds)
        w = np.zeros(p) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel()
        if kp.bounded:
            np.clip(w, kp.lower, kp.upper, out=w)
        threshold = max(tol * st.yy, _ROUNDING_FLOOR * st.scale)
        free = kp.free & self.usable
        inner = 0.5 * threshold if free.any() else threshold  # gap and stationarity are each ≤ inner
        params = np.zeros(k.N_PARAMS)
        params[k.P_SUPPORT_COST] = 1.0
        params[k.P_FACE_SOLVES] = 4
        support = self._support_max(kp, penalty, bounds)
        gw = st.G @ w
        if _at_rest_at_zero(st, kp, w, gw, self.usable):
            # zero (nearly) optimal for every penalized coefficient, as at a default grid's λ_max: the
            # naive method's check (on X, before any step) keeps them exactly at zero, where one Gram
            # epoch would move a coefficient off zero by the rounding of its Gram gradient
            return self._on_x(penalty, w, tol, max_iter, bounds, 0, "the penalized coefficients are at rest at "
                              "zero (λ_max): certified on X before any step, as the naive method does")
        epochs, gap, stationarity, steps = k.gram_solve(st.G, st.c, st.yy, w, gw, kp.code, kp.params, inner,
                                                        int(max_iter), support, params)
        certificate = float(gap + stationarity)
        cw, wgw = float(st.c @ w), float(w @ gw)
        rounding = _EPS * (st.yy + 2.0 * abs(cw) + abs(wgw))
        if certificate > threshold or threshold <= ROUNDING_GUARD * rounding:
            return self._on_x(penalty, w, tol, max_iter, bounds, epochs, "the covariance method's certificate "
                              "was too close to the rounding of the Gram quantities (or the Gram solve ran out of "
                              "epochs): this point was solved and verified on X")
        objective = max(st.yy - 2.0 * cw + wgw, 0.0) + float(k.penalty_value(w, kp.code, kp.params, np.arange(p)))
        plan = SolverPlan(datafit="squared error", penalty=kp.name, method=METHOD, working_sets="off", gram=True,
                          anderson_k=0, support_steps=support > 0, screening=False,
                          certificate="duality gap" if kp.convex else "stationarity (non-convex penalty)")
        return SolverResult(coef=w, intercept=st.intercept(w), certificate=certificate, threshold=float(threshold),
                            n_iter=int(max(epochs, 1)), converged=certificate <= threshold, objective=float(objective),
                            support_steps=int(steps), plan=plan)

    def _support_max(self, kp, penalty, bounds):
        """Largest support solved exactly (:func:`._kernels.face_minimize`): a face solve costs |S|³/3
        against an epoch's p·|S|, so only supports up to ``√(SUPPORT_RATIO·p)`` (measured on the tall
        benchmark: larger ones cost more than the epochs they save) or ``SUPPORT_MIN`` (a face solve
        there costs microseconds, and small problems are then solved exactly); none where they are not exact
        (the elastic net with bounds at 0 only). Cached per penalty type and box."""
        key = (type(penalty), id(bounds))
        if self._traits.get("key") != key:
            ok = kp.is_elastic_net and kp.sign_bounds_only
            p = kp.n_features
            cap = max(SUPPORT_MIN, np.sqrt(SUPPORT_RATIO * p))
            self._traits = {"key": key, "support": int(min(p, cap)) if ok else 0}
        return self._traits["support"]

    def _on_x(self, penalty, w, tol, max_iter, bounds, epochs, reason):
        """The point solved again from ``w`` on ``X`` (the rounding guard, a Gram solve that ran
        out of epochs, or a start at rest at zero)."""
        from .coordinate_descent import solve

        self.verified_on_x += 1
        # the whole budget: Gram epochs cost O(p²) each, not a pass over X (and where they ran out, the
        # naive method's Anderson and support steps may still converge)
        res = solve(self.problem(), penalty, coef_init=w, intercept_init=self.stats.intercept(w), tol=tol,
                    max_iter=int(max_iter), bounds=bounds)
        plan = replace(res.plan, reasons=res.plan.reasons + (reason,))
        return replace(res, n_iter=res.n_iter + int(epochs), plan=plan)


AT_REST = 1e-9  # relative slack of the zero levels in _at_rest_at_zero


def _at_rest_at_zero(st, kp, w, gw, usable):
    """Every penalized coefficient is 0 and, to ``AT_REST``, optimal there (``|g_j| ≤ lam_j``,
    one-sided where a box ends at 0), with some coefficient at its level: a default grid's λ_max."""
    penalized = ~kp.free & usable
    if not penalized.any() or np.any(w[penalized] != 0):
        return False
    g = 2.0 * (gw - st.c)
    g = np.where((kp.lower == 0) & (g > 0), 0.0, np.where((kp.upper == 0) & (g < 0), 0.0, g))
    level, lam = np.abs(g[penalized]), kp.params[0][penalized]
    return bool(np.all(level <= lam * (1 + AT_REST)) and np.any(level >= lam * (1 - AT_REST)))


def path_route(gram, X, y, datafit, unit, n_lambdas, sample_weight=None, fit_intercept=True, offset=None):
    """The solver a path's points run on (:class:`GramPath`, or for the log-loss on a tall design a
    :class:`.newton_gram.NewtonGramPath`), or None for the naive method.

    ``gram``: ``"auto"`` (:func:`pays_off`, :func:`.newton_gram.applies`), ``False`` (never), ``True``
    (whenever possible: the squared error with one target, a separable penalty, ``n ≥ 2p``), or the
    :class:`GramStats` of exactly these data (a CV fold's, :func:`for_design`).
    """
    if isinstance(gram, GramStats):
        return GramPath.build(X, y, datafit, sample_weight, fit_intercept, offset, stats=gram)
    from . import newton_gram

    if (isinstance(gram, str) and gram == "auto" or gram is True) and newton_gram.applies(X, datafit, unit, y):
        return newton_gram.NewtonGramPath(X, y, datafit, sample_weight, fit_intercept, offset)
    if isinstance(gram, str) and gram == "auto":
        use = pays_off(X, datafit, unit, n_lambdas, y)
    elif isinstance(gram, (bool, np.bool_)):
        use = bool(gram) and pays_off(X, datafit, unit, np.inf, y)
        if gram and not use and X.shape[1] <= MAX_FEATURES:
            raise ValueError("gram=True needs the squared error with one target, a penalty without groups "
                             f"and n_samples >= {MIN_RATIO}·n_features.")
    else:
        raise ValueError(f"gram must be 'auto', True, False or the Gram statistics of the data, got {gram!r}.")
    return GramPath.build(X, y, datafit, sample_weight, fit_intercept, offset) if use else None


def cv_moments(X, y, datafit, unit, n_lambdas, sample_weight=None, fit_intercept=True, offset=None):
    """The :class:`GramMoments` a CV's folds and full path share, or None where the covariance
    method does not pay (:func:`pays_off`)."""
    if not pays_off(X, datafit, unit, n_lambdas, y):
        return None
    moments = GramMoments.of(X, y if offset is None else y - offset, sample_weight, fit_intercept)
    return moments if moments.reliable else None


def for_design(stats, st):
    """``stats`` (:class:`GramStats`, or None) for the design the solver sees under glmnet's
    standardization ``st`` (:class:`penalized.standardize.Standardization`, or None); ``"auto"``
    for None (the path then decides on its own)."""
    if stats is None:
        return "auto"
    if st is None or not st.copy:
        return stats
    return stats.scaled(np.where(st.constant, 0.0, 1.0 / st.scale))


def fold_stats(moments, X_test, y_test, sw_test=None, offset_test=None):
    """A fold's training :class:`GramStats` from the shared ``moments`` (None: None)."""
    if moments is None:
        return None
    return moments.fold(X_test, y_test if offset_test is None else y_test - offset_test, sw_test)
