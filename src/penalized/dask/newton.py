"""The distributed algorithms: Gram mode for the squared error, proximal Newton for the rest.

Both minimise ``L_data(w, b) + pen(w)`` with ``L_data = Σ a_i ℓ(y_i, x_iᵀw + b)``,
``a_i = s_i / Σ s`` (the scale of :mod:`penalized.datafits`), and stop on the solver's
certificate (:mod:`penalized.solvers.coordinate_descent`): the Fenchel duality gap over
the penalized coefficients plus ``Σ g_j²/(2L_j)`` over the unpenalized ones and the
intercept, ``≤ tol · L(0)``. The certificate is computed from the cluster's sums exactly
as the in-memory solver computes it from the data (same dual point, same coordinate
directions), so ``dual_gap_`` means the same thing.

**Pass 0** (every fit): the co-moments of ``[X, y]`` — total weight, weighted means,
centred sums of squares and the centred ``[X, y]ᵀA[X, y]`` when ``p ≤``
:data:`GRAM_MAX_FEATURES` — plus the checks that need the values (NaN, negative weights).

**Squared error, p ≤ GRAM_MAX_FEATURES**: ``G = X̃ᵀAX̃``, ``c = X̃ᵀAỹ``, ``yy = ỹᵀAỹ``
(centred with an intercept) are the sufficient statistics: the client solves
``yy − 2cᵀw + wᵀGw + pen(w)`` in Gram mode and the intercept is ``ȳ − x̄ᵀw``. One pass.

**Proximal Newton** (the log-loss, and the squared error beyond GRAM_MAX_FEATURES): at
``(w, b)`` the model ``gᵀΔ + g_bΔ_b + ½ Σ a_i ℓ''_i (x_iᵀΔ + Δ_b)² + pen(w + Δ)`` over the
coordinates of a working set ``S`` (every feature while ``p ≤`` GRAM_MAX_FEATURES). With an
intercept, ``Δ_b`` is eliminated exactly by centring the columns with their
``ℓ''``-weighted means ``m``: the model becomes the penalized quadratic
``½ΔᵀĤΔ + ĝᵀΔ + pen(w + Δ)``, ``Ĥ = X̃ᵀHX̃``, ``ĝ = g − m·g_b``, written for the Gram solver as
``yy − 2cᵀu + uᵀGu + pen(u)`` in ``u = w + Δ`` with ``G = Ĥ/2`` and ``c = (Ĥw − ĝ)/2``.
The Gram solver's duality gap reads that form as a residual sum of squares ``‖r − Mu‖²``;
the smallest constant for which one exists is ``yy = cᵀG⁺c`` (``c`` lies in the range of
``G``: ``ĝ = X̃ᵀd`` and ``G = X̃ᵀHX̃/2`` with ``H > 0``), so that is the constant passed (a
larger one would only make the model's gap conservative; a smaller one would let it
stop early). Then ``Δ_b = −(g_b + W_h mᵀΔ)/W_h``.

Each Newton **pass** evaluates, in one sweep over the chunks: at the current point, the
data term of the duality gap (whose dual scaling ``α`` is known from the current
gradient) and the loss changes at the trial steps ``t ∈ {1, ½, …, 2⁻⁹}`` of the new
direction; at ``t = 1``, the loss, the full gradient and the Hessian on the next working
set. The client then takes the largest step with Armijo's sufficient decrease (with the
model's predicted decrease, as the in-memory proximal Newton); when it is ``t = 1`` — the
rule near the optimum — the next model is already there, otherwise one more pass
evaluates the accepted point. The fit stops as soon as the certificate of the current
point is below the threshold (its data term arrives with the next pass, unless ``α = 1``,
where it is zero and no pass is needed).

The Newton models live on a working set ``S`` (as the in-memory proximal Newton's): the
current support, the unpenalized features and the features violating their optimality
conditions most, at least twice the support and :data:`MIN_WORKING_SET` features (all of
them below that), at most GRAM_MAX_FEATURES (beyond, a block proximal Newton with a
Gauss–Southwell choice of the block, Tseng & Yun 2009). A pass costs ``n·p`` for the
gradient plus ``n·|S|²`` for the Hessian, and the client holds ``|S|²`` numbers; the
certificate is always over every feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ..solvers.coordinate_descent import _ROUNDING_FLOOR
from . import bridge, groups
from . import chunks as C

GRAM_MAX_FEATURES = 5000  # largest p of the Gram route, and largest Newton working set
TRIAL_STEPS = 0.5 ** np.arange(10)
ARMIJO = 1e-4
INNER_MIN_EPOCHS = 1000  # epochs allowed to each Newton model's Gram solve (at least)
INNER_TOL = 0.01  # each model is solved to this fraction of the threshold
MIN_WORKING_SET = 100
NULL_MAX_PASSES = 50  # Newton steps on the null model's intercept (with an offset)
NULL_MAX_STEP = 4.0


# ------------------------------------------------------------------------------ pass 0
@dataclass
class DataSummary:
    """What pass 0 learns: sizes, weights, means, centred second moments (a-weighted)."""

    n_samples: int
    W: float  # total sample weight
    mu: np.ndarray  # a-weighted column means
    var: np.ndarray  # a-weighted centred Σ a (x − mu)² per column
    ybar: float
    yvar: float  # Σ a (y − ȳ)²
    cross: np.ndarray  # Σ a (x − mu)(y − ȳ)
    G: np.ndarray | None  # Σ a (x − mu)(x − mu)ᵀ, when computed
    positive_fraction: float  # Σ a [y > 0]
    sparse: bool
    rows: dict  # chunk index -> rows
    saturated: float = 0.0  # the data fit's saturated loss (Datafit.saturated_loss; 0 but for Poisson)
    min_y: float = 0.0

    def gram(self, fit_intercept):
        """``(G, c, yy)`` of the squared error: centred with an intercept, raw moments without."""
        if fit_intercept:
            return self.G, self.cross, self.yvar
        mu = self.mu
        return (self.G + np.outer(mu, mu), self.cross + mu * self.ybar, self.yvar + self.ybar ** 2)


def check_partial(part):
    """Raise the ValueError a pass found (NaN/inf, negative weights), naming the chunks."""
    if not part.bad:
        return
    messages = []
    for what in ("X", "y", "sample_weight"):
        if what in part.bad:
            messages.append(f"{what} contains NaN or infinity (chunk(s) {_chunks(part.bad[what])})")
    if "negative sample_weight" in part.bad:
        messages.append(f"sample_weight has negative values (chunk(s) {_chunks(part.bad['negative sample_weight'])})")
    raise ValueError("; ".join(messages) + ".")


def _chunks(indices, limit=8):
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f" and {len(indices) - limit} more" if len(indices) > limit else "")


def summarize(part, n_features):
    check_partial(part)
    out = summary_of(part.moments["all"], n_features, n_samples=int(sum(part.rows.values())),
                     positive_weight=part.sums["positive_weight"], sparse=part.sums["sparse_chunks"] > 0,
                     rows=dict(part.rows))
    out.saturated = part.sums["saturated"] / out.W
    out.min_y = part.sums["min_y"]
    return out


def summary_of(m, n_features, *, n_samples, positive_weight=0.0, sparse=False, rows=None):
    """A :class:`DataSummary` from the co-moments ``m`` of ``[X, y]``."""
    if m.W <= 0:
        raise ValueError("sample_weight sums to zero: at least one sample needs a positive weight.")
    p = n_features
    W = m.W
    G = None if m.block is None else m.block[:p, :p] / W
    return DataSummary(
        n_samples=n_samples, W=W, mu=m.mean[:p].copy(), var=m.diag[:p] / W, ybar=float(m.mean[p]),
        yvar=float(m.diag[p] / W), cross=m.cross[:p] / W, G=G, positive_fraction=positive_weight / W,
        sparse=sparse, rows=rows or {})


def class_summary(part, positive, n_features):
    """The :class:`DataSummary` of the binary problem ``y = +1 if label == positive else −1``, from a
    classifier's pass 0 (:func:`penalized.dask.chunks.label_moments_chunk`)."""
    check_partial(part)
    m = part.moments["X"]
    W = m.W
    if W <= 0:
        raise ValueError("sample_weight sums to zero: at least one sample needs a positive weight.")
    w_pos, s_pos = part.sums["labels"].get(positive, (0.0, np.zeros(n_features)))
    mu = m.mean.copy()
    ybar = (2.0 * w_pos - W) / W
    cross = (2.0 * s_pos - W * mu) / W - mu * ybar  # Σ a (x − x̄)(y − ȳ) with y = ±1
    return DataSummary(
        n_samples=int(sum(part.rows.values())), W=W, mu=mu, var=m.diag / W, ybar=float(ybar),
        yvar=max(1.0 - ybar * ybar, 0.0), cross=cross, G=None if m.block is None else m.block / W,
        positive_fraction=w_pos / W, sparse=part.sums["sparse_chunks"] > 0, rows=dict(part.rows))


def first_pass(data, target, gram, datafit=None):
    """Pass 0 (:func:`summarize`); with an offset, the squared error's statistics are those of ``y − offset``."""
    per_chunk = data.offset_chunks() if type(datafit).__name__ == "SquaredError" else {}
    return summarize(data.run(C.moments_chunk, target, gram=gram, per_chunk=per_chunk, datafit=datafit),
                     data.n_features)


class EmptyClassError(ValueError):
    """A class of a binary problem has no sample with positive weight (``positive``: the +1 class)."""

    def __init__(self, positive):
        self.positive = positive
        super().__init__(f"the class coded {'+1' if positive else '-1'} has no sample with positive weight.")


# ------------------------------------------------------------------------------ results
@dataclass
class DaskResult:
    """What a distributed fit returns (the fields the estimators read, as ``SolverResult``)."""

    coef: np.ndarray
    intercept: float
    certificate: float
    threshold: float
    n_iter: int  # passes over the data
    converged: bool
    objective: float
    data_loss: float
    separated: bool = False  # every sample with positive weight on the right side (log-loss)


# --------------------------------------------------------------------------- the data fits
DATAFITS = ("SquaredError", "Logistic", "Poisson")  # the data fits with per-sample Newton formulas


class _Datafit:
    """Client-side facts about a data fit: the null model, and its first Newton model from pass 0.

    Every per-sample formula is the data fit's own NumPy method (:mod:`penalized.datafits`)."""

    def __init__(self, datafit):
        self.datafit = datafit
        self.name = type(datafit).__name__
        if self.name not in DATAFITS:
            raise TypeError(f"Dask fits support the data fits {sorted(DATAFITS)}, got {datafit!r}.")
        self.quadratic = self.name == "SquaredError"
        self.bounded = bool(datafit.bounded_curvature)

    def sample(self, summary):
        """``(y, a)``: two weighted points with the data's weighted mean ``ȳ`` and variance of ``y`` (for
        ±1 labels: the labels, weighted by the classes' fractions). Every loss at a constant prediction
        depends on ``y`` through them only (the squared error through both, Poisson's affinely in ``y``,
        the log-loss through the fraction of +1): so the null model, its loss and the scales are the
        data fit's own methods evaluated on this sample, not formulas written again here."""
        if self.datafit.needs_labels:
            q = summary.positive_fraction
            return np.array([1.0, -1.0]), np.array([q, 1.0 - q])
        sd = np.sqrt(max(summary.yvar, 0.0))
        return np.array([summary.ybar - sd, summary.ybar + sd]), np.array([0.5, 0.5])

    def lipschitz_scale(self, summary):
        """The factor of ``Σ a x_j²`` in the coordinate constants ``L_j``: ``Datafit.lipschitz_scale``
        (the curvature bound, or Poisson's ``Σ a y``)."""
        return float(self.datafit.lipschitz_scale(*self.sample(summary)))

    def intercept_curvature(self, stats):
        """The curvature along the intercept in its stationarity term (the kernels'
        ``intercept_curvature``): the bound, else the local ``Σ a ℓ''``."""
        return float(self.datafit.curvature_bound) if self.bounded else stats.curvature

    def null(self, summary, fit_intercept):
        """``(b0, L(0) − L_sat, scale)``: the null model's intercept (``Datafit.null_intercept``), its
        excess loss, and the rounding scale ``Σ a y²``."""
        if self.name == "Poisson" and summary.min_y < 0:
            raise ValueError(f"Poisson needs counts y >= 0, got min(y) = {summary.min_y!r}.")
        if self.datafit.needs_labels:
            q = summary.positive_fraction
            if q <= 0.0 or q >= 1.0:
                raise EmptyClassError(positive=q <= 0.0)
        y, a = self.sample(summary)
        b0 = float(self.datafit.null_intercept(y, a)) if fit_intercept else 0.0
        return b0, self.loss_at_constant(summary, b0) - self.saturated(summary), float(a @ (y * y))

    def saturated(self, summary):
        """``Datafit.saturated_loss`` over the data (summed by pass 0's chunks)."""
        return summary.saturated

    def _at(self, method, y, b):
        return float(getattr(self.datafit, method)(np.array([y]), np.array([b]))[0])

    def loss_at_constant(self, summary, b):
        y, a = self.sample(summary)
        return float(self.datafit.value(y, np.full(2, float(b)), a))

    def stats_at_constant(self, summary, b):
        """:class:`Stats` at ``w = 0`` and intercept ``b``, from pass 0 alone (the Hessian only
        when pass 0 computed the Gram matrix).

        ``ℓ'(y, b)`` is affine in ``y`` over the values ``y`` takes (any ``y`` for the squared
        error and Poisson, ±1 for the log-loss) and ``ℓ''(y, b)`` does not depend on ``y``, so the
        gradient is a combination of the means and the cross moments, and the Hessian is a
        multiple of the weighted Gram matrix.
        """
        y0, y1 = (-1.0, 1.0) if self.datafit.needs_labels else (0.0, 1.0)
        d0 = self._at("_loss_derivatives", y0, b)
        d1 = self._at("_loss_derivatives", y1, b)
        slope = (d1 - d0) / (y1 - y0)
        base = d0 - slope * y0  # ℓ'(y, b) = base + slope·y
        exy = summary.cross + summary.mu * summary.ybar  # Σ a x y
        grad = base * summary.mu + slope * exy
        grad_b = base + slope * summary.ybar
        h = self._at("_loss_curvatures", y1, b)
        hessian = cols = None
        if summary.G is not None:
            cols = np.arange(len(summary.mu))
            hessian = C.CoMoments(h, summary.mu.copy(), None, None, h * summary.G, cols)
        return Stats(loss=self.loss_at_constant(summary, b), grad=grad, grad_b=float(grad_b),
                     hessian=hessian, cols=cols, misfit=None, curvature=h)


# ----------------------------------------------------------------------- squared error, Gram
def solve_gram(G, c, yy, scale, penalty, *, tol, max_iter, coef_init=None):
    """``(solution, threshold, rss)`` of the squared error ``yy − 2cᵀw + wᵀGw + pen(w)`` (the a-weighted
    statistics; ``scale = Σ a y²``, the rounding floor's unit) at the in-memory threshold
    ``max(tol·yy, floor·scale)``; a non-convex penalty without ``coef_init`` walks
    :func:`continuation_factors` first (client-side: no pass)."""
    p = c.shape[0]
    threshold = max(tol * yy, _ROUNDING_FLOOR * scale)
    w0 = np.zeros(p) if coef_init is None else np.asarray(coef_init, dtype=np.float64)
    pen = bridge.as_view(penalty, p)
    if not pen.convex and coef_init is None and pen.penalty is not None:
        walk_threshold = max(threshold, 1e-6 * yy)
        for f in continuation_factors(pen, -2.0 * c):
            w0 = pen.scaled(f).solve(G, c, yy, w0, 0.3 * walk_threshold, max_iter).coef
    sol = pen.solve(G, c, yy, w0, 0.3 * threshold, max_iter)
    w = sol.coef
    return sol, threshold, max(float(yy - 2.0 * c @ w + w @ (G @ w)), 0.0)


def fit_gram(summary, penalty, *, fit_intercept, tol, max_iter, coef_init=None):
    """The squared error from its sufficient statistics (p ≤ GRAM_MAX_FEATURES): no further pass."""
    G, c, yy = summary.gram(fit_intercept)
    pen = bridge.as_view(penalty, c.shape[0])
    sol, threshold, rss = solve_gram(G, c, yy, summary.yvar + summary.ybar ** 2, pen, tol=tol, max_iter=max_iter,
                                     coef_init=coef_init)
    w = sol.coef
    b = float(summary.ybar - summary.mu @ w) if fit_intercept else 0.0
    return DaskResult(coef=w, intercept=b, certificate=sol.certificate, threshold=threshold, n_iter=1,
                      converged=sol.certificate <= threshold, objective=rss + pen.value(w),
                      data_loss=rss)


# ------------------------------------------------------------------------- proximal Newton
@dataclass
class Stats:
    """Loss, gradient (a-normalised) and Hessian on ``cols`` at one point."""

    loss: float
    grad: np.ndarray
    grad_b: float
    hessian: C.CoMoments | None
    cols: np.ndarray | None
    misfit: float | None
    curvature: float = 0.0  # Σ a ℓ'' (the intercept's curvature)


@dataclass
class _Direction:
    dw: np.ndarray
    db: float
    decrease: float  # the model's predicted change at t = 1 without its curvature: gᵀΔ + g_bΔ_b + Δpen
    curvature: float = 0.0  # (Δ, Δ_b)ᵀ H (Δ, Δ_b): the model's undamped curvature along the step


def _least_squares_constant(G, c):
    """``cᵀG⁺c``: the constant that makes ``yy − 2cᵀu + uᵀGu`` a residual sum of squares."""
    try:
        factor = scipy.linalg.cho_factor(G, check_finite=False)
        x = scipy.linalg.cho_solve(factor, c, check_finite=False)
        value = float(c @ x)
        if np.isfinite(value) and value >= 0.0:
            return value
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError, ValueError):
        pass
    vals, vecs = scipy.linalg.eigh(G, check_finite=False)
    keep = vals > vals.max(initial=0.0) * G.shape[0] * np.finfo(np.float64).eps
    proj = vecs[:, keep].T @ c
    return float(np.sum(proj * proj / vals[keep]))


class NewtonFit:
    """Proximal Newton over the cluster for one problem (see the module docstring)."""

    def __init__(self, data, summary, datafit, penalty, target, *, fit_intercept, tol, max_iter, max_block):
        self.data, self.summary, self.fit = data, summary, _Datafit(datafit)
        self.pen = bridge.as_view(penalty, data.n_features)
        self.target, self.fit_intercept, self.tol, self.max_iter = target, fit_intercept, tol, max_iter
        self.p = p = data.n_features
        self.max_block = max_block
        # the solver's coordinates (LinearProblem.build): centred with an intercept, except
        # sparse X under the log-loss; the certificate uses the same directions
        centre = fit_intercept and (not summary.sparse or self.fit.quadratic)
        self.mu_cert = summary.mu if centre else np.zeros(p)
        sq = summary.var if centre else summary.var + summary.mu ** 2
        self.L = self.fit.lipschitz_scale(summary) * sq
        if self.pen.grouped:  # the groups' constants, from pass 0's Gram matrix in the same coordinates
            if summary.G is None:
                raise NotImplementedError(
                    f"group penalties on Dask input need at most GRAM_MAX_FEATURES = {max_block} features (their "
                    f"Newton models are over every feature); X has {p}.")
            gram = summary.G if centre else summary.G + np.outer(summary.mu, summary.mu)
            self.pen.group_lipschitz = groups.lipschitz(self.pen.kp, gram, self.fit.lipschitz_scale(summary))
        self.b0, self.null_loss, scale = self.fit.null(summary, fit_intercept)
        self.null_stats = None
        self.passes = 1  # pass 0
        if data.offset is not None and not self.fit.quadratic:  # the null model η = b + offset: passes
            self.b0, self.null_loss, self.null_stats = self._null_by_passes(self.b0)
        self.threshold = max(tol * self.null_loss, _ROUNDING_FLOOR * scale)
        self.free = self.pen.free
        self.inner_epochs = max(INNER_MIN_EPOCHS, max_iter)

    # -- one pass --------------------------------------------------------------------
    def _pass(self, w, b, direction=None, cols=None, alpha=None):
        step = C.Step(datafit=self.fit.datafit, w=w, b=b, target=self.target,
                      dw=None if direction is None else direction.dw,
                      db=0.0 if direction is None else direction.db,
                      steps=TRIAL_STEPS if direction is not None else None,
                      alpha=alpha, hessian_cols=cols)
        part = self.data.run(C.newton_chunk, step, per_chunk=self.data.offset_chunks())
        self.passes += 1
        W = self.summary.W
        s = part.sums
        hessian = None
        if cols is not None:
            h = part.moments["hessian"]
            hessian = C.CoMoments(h.W / W, h.mean, None, None, h.block / W, h.cols)
        stats = Stats(loss=s["loss"] / W, grad=s["grad"] / W, grad_b=s["grad_b"] / W, hessian=hessian,
                      cols=cols, misfit=s.get("misfit"), curvature=s["curvature"] / W)
        gap = s["gap"] / W if "gap" in s else None
        changes = s["changes"] / W if "changes" in s else None
        return stats, gap, changes

    def _null_by_passes(self, b):
        """``(b0, L(0) − L_sat, stats at the null model)`` with an offset: Newton's method on the
        intercept alone (one pass a step, steps of at most :data:`NULL_MAX_STEP`), from the null
        intercept without offset; ``b0 = 0`` without an intercept."""
        w0 = np.zeros(self.p)
        for _ in range(NULL_MAX_PASSES):
            stats, _, _ = self._pass(w0, b)
            if not self.fit_intercept or not stats.curvature > 0:
                break
            step = float(np.clip(stats.grad_b / stats.curvature, -NULL_MAX_STEP, NULL_MAX_STEP))
            if abs(step) <= 1e-13 * max(1.0, abs(b)):
                break
            b -= step
        return b, stats.loss - self.fit.saturated(self.summary), stats

    # -- working sets ------------------------------------------------------------------
    def _working_set(self, w, w_next, grad):
        """The features whose Hessian the next pass computes (the model's coordinates): the support
        (of ``w`` and of the trial point ``w_next``), the unpenalized features and the largest
        violations, at least twice the support and :data:`MIN_WORKING_SET` (all features when that
        is all of them); at most ``max_block``. When the support alone fills the block: the
        ``max_block`` largest violations (Gauss–Southwell; coordinates left out keep their values)."""
        p = self.p
        if p <= MIN_WORKING_SET or self.pen.grouped:  # group penalties: models over every feature
            return np.arange(p)
        scores = self.pen.violations(w, grad)
        forced = (w != 0) | (w_next != 0) | self.free
        n_forced = int(forced.sum())
        if n_forced + min(MIN_WORKING_SET, self.max_block) // 2 <= self.max_block:
            size = min(self.max_block, max(MIN_WORKING_SET, 2 * n_forced))
            order = np.lexsort((-scores, ~forced)) if size < p else None  # forced first, then violations
        else:
            size = self.max_block
            order = np.argsort(-scores, kind="stable") if size < p else None
        return np.arange(p) if order is None else np.sort(order[:size])

    # -- the model ----------------------------------------------------------------------
    def _direction(self, stats, w):
        S = stats.cols
        H = stats.hessian
        wS = w[S]
        if self.fit_intercept and H.W > 0:
            Hc = H.block
            g = stats.grad[S] - H.mean * stats.grad_b
        else:
            Hc = H.block + H.W * np.outer(H.mean, H.mean)
            g = stats.grad[S]
        G = 0.5 * Hc
        c = 0.5 * (Hc @ wS - g)
        # the model is the problem itself on S for the squared error: its exact value at u = w_S is the
        # loss with the intercept re-optimised, which fixes the constant of a true residual sum of squares
        base = None
        if self.fit.quadratic:
            base = stats.loss - (stats.grad_b ** 2 / (2.0 * H.W) if self.fit_intercept and H.W > 0 else 0.0)
        start = wS
        if not self.pen.convex:
            # a non-convex penalty's prox with a long step jumps to far-away minimisers where the model
            # means nothing: the model is first solved with each coordinate's curvature at least
            # CONVEX_MARGIN·(the penalty's concavity), by proximal terms d_j (u_j − w_j)² (as the in-memory
            # model steps keep it); its solution starts the solve of the model itself (a Newton step:
            # fast local convergence where the damping would only give a linear one)
            damp = np.maximum(0.5 * bridge.CONVEX_MARGIN * self.pen.concavity()[S] - np.diag(G), 0.0)
            if damp.any():
                start = self._solve_model(G + np.diag(damp), c + damp * wS, base, wS, S)
        sol_coef = self._solve_model(G, c, base, start, S, origin=wS)
        dw = np.zeros(self.p)
        dw[S] = sol_coef - wS
        db = 0.0
        if self.fit_intercept and H.W > 0:
            db = -(stats.grad_b + H.W * float(H.mean @ dw[S])) / H.W
        # the model's predicted change, gᵀΔ + g_bΔ_b + pen(w + Δ) − pen(w), summed term by term
        decrease = float(stats.grad @ dw + stats.grad_b * db + self.pen.change(w, dw))
        curvature = 0.0
        if not self.pen.convex:  # Σ a ℓ'' (x_Sᵀ Δ + Δ_b)² from the centred Hessian and its means
            d = dw[S]
            curvature = float(d @ (H.block @ d) + H.W * (H.mean @ d + db) ** 2)
        return _Direction(dw, db, decrease, curvature)

    def _solve_model(self, G, c, base, start, S, origin=None):
        """The penalized quadratic ``yy − 2cᵀu + uᵀGu + pen(u)`` over ``S`` from ``start``: ``yy`` the
        residual-sum-of-squares constant (``base`` + the model's value at ``origin``, the current
        point, for the squared error; ``cᵀG⁺c`` otherwise)."""
        if base is not None:
            at = start if origin is None else origin
            yy = max(base + float(2.0 * c @ at - at @ (G @ at)), 0.0)
        else:
            yy = _least_squares_constant(G, c)
        return self.pen.solve(G, c, yy, start, INNER_TOL * self.threshold, self.inner_epochs, features=S).coef

    def _line_search(self, w, direction, changes):
        """The largest trial step with Armijo's sufficient decrease against the model's predicted
        change: ``t·decrease`` for a convex penalty (it changes by at most ``t`` times its change at
        ``t = 1``); a non-convex penalty is not linear along the step, so its model's own change at
        ``t`` (the in-memory line search's rule)."""
        linear = direction.decrease
        if not self.pen.convex:
            linear -= self.pen.change(w, direction.dw)
        for t, change in zip(TRIAL_STEPS, changes, strict=True):
            pen_part = self.pen.change(w, t * direction.dw)
            if self.pen.convex:
                predicted = t * direction.decrease
            else:
                predicted = t * linear + 0.5 * t * t * direction.curvature + pen_part
                if not predicted < 0.0:
                    continue
            if change + pen_part <= ARMIJO * predicted:
                return float(t)
        return None

    def _certificate_terms(self, w, stats):
        grad = stats.grad - self.mu_cert * stats.grad_b
        return self.pen.certificate_terms(w, grad, stats.grad_b, self.L, self.fit.intercept_curvature(stats),
                                          self.fit_intercept, self.fit.datafit.code)

    # -- the loop -------------------------------------------------------------------------
    def run(self, coef_init=None, intercept_init=None):
        p = self.p
        w = np.zeros(p) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel()
        if not self.fit_intercept:
            b = 0.0
        else:
            b = self.b0 if intercept_init is None else float(intercept_init)
        at_null = not w.any() and b == self.b0
        null_stats = self.null_stats or self.fit.stats_at_constant(self.summary, self.b0)
        if at_null and null_stats.hessian is not None:
            stats = null_stats  # the first model comes from pass 0
        else:
            stats, _, _ = self._pass(w, b, cols=self._working_set(w, w, null_stats.grad))
        while True:
            terms = self._certificate_terms(w, stats)
            if terms.without_data <= self.threshold:
                return self._result(w, b, stats, terms.without_data)
            if self.passes >= self.max_iter:
                return self._finish(w, b, stats, terms)
            direction = self._direction(stats, w)
            if not direction.decrease < 0.0:  # no descent left on this working set
                fresh = self._working_set(w, w, stats.grad)
                if not np.array_equal(fresh, stats.cols):  # it was chosen from an older gradient
                    stats, _, _ = self._pass(w, b, cols=fresh)
                    continue
                return self._finish(w, b, stats, terms)
            cols = self._working_set(w, w + direction.dw, stats.grad)
            trial, gap, changes = self._pass(w, b, direction, cols=cols, alpha=terms.alpha)
            certificate = terms.value(gap)
            if certificate <= self.threshold:
                return self._result(w, b, stats, certificate)
            t = self._line_search(w, direction, changes)
            if t is None:  # no sufficient decrease on the trial steps: rounding level
                return self._result(w, b, stats, certificate)
            w = w + t * direction.dw
            b = b + t * direction.db
            if t == 1.0:
                stats = trial
            else:
                stats, _, _ = self._pass(w, b, cols=self._working_set(w, w, stats.grad))

    def _finish(self, w, b, stats, terms):
        """The certificate at ``(w, b)`` (one more pass for its data term when ``alpha < 1``)."""
        if terms.alpha < 1.0:
            stats_now, gap, _ = self._pass(w, b, alpha=terms.alpha)
            stats = Stats(stats.loss, stats.grad, stats.grad_b, None, None, stats_now.misfit, stats.curvature)
            return self._result(w, b, stats, terms.value(gap))
        return self._result(w, b, stats, terms.without_data)

    def _result(self, w, b, stats, certificate):
        pen = self.pen.value(w)
        return DaskResult(coef=w, intercept=float(b), certificate=float(certificate), threshold=self.threshold,
                          n_iter=self.passes, converged=bool(certificate <= self.threshold),
                          objective=stats.loss + pen, data_loss=stats.loss,
                          separated=stats.misfit is not None and stats.misfit == 0)


def first_pass_gram(datafit, p, max_block=None, grouped=False):
    """Whether pass 0 computes the Gram matrix: the squared error's whole problem (p ≤ max_block),
    the other data fits' first Newton model when the working set is every feature, and the groups'
    Lipschitz constants (``grouped``)."""
    max_block = GRAM_MAX_FEATURES if max_block is None else max_block
    return p <= max_block and (type(datafit).__name__ == "SquaredError" or p <= MIN_WORKING_SET or grouped)


def continuation_factors(penalty, grad):
    """The strengths (factors on ``penalty``) of the geometric path from λ_max that a non-convex fit
    started cold walks first (the in-memory ``_continuation``: ncvreg's warm starts), from the
    gradient ``grad`` at the null model; empty where λ_max is below the penalty's strength."""
    from ..solvers.coordinate_descent import CONTINUATION_STEPS

    levels = penalty.zero_levels(grad)
    finite = np.isfinite(levels)
    lam = penalty.penalty.unit_strength()
    if not finite.any() or lam <= 0 or np.max(levels[finite]) <= lam:
        return np.zeros(0)
    return np.geomspace(np.max(levels[finite]) / lam, 1.0, CONTINUATION_STEPS + 1)[1:-1]


def fit(data, datafit, penalty, target, *, fit_intercept, tol, max_iter, coef_init=None, intercept_init=None,
        max_block=None, summary=None):
    """Fit one problem on chunked data; returns a :class:`DaskResult`.

    ``summary``: pass 0's :class:`DataSummary` if already computed (else pass 0 runs here).
    ``max_block``: the Gram route's and the Newton working set's size limit (default
    :data:`GRAM_MAX_FEATURES`). A non-convex penalty without ``coef_init`` is first solved along
    :func:`continuation_factors` (at ``tol`` ≥ 1e-6), as in memory: the same stationary point."""
    max_block = GRAM_MAX_FEATURES if max_block is None else max_block
    p = data.n_features
    penalty = bridge.as_view(penalty, p)
    squared = type(datafit).__name__ == "SquaredError"
    if summary is None:
        summary = first_pass(data, target, gram=first_pass_gram(datafit, p, max_block, penalty.grouped),
                             datafit=datafit)
    if squared and p <= max_block:
        return fit_gram(summary, penalty, fit_intercept=fit_intercept, tol=tol, max_iter=max_iter,
                        coef_init=coef_init)
    solver = NewtonFit(data, summary, datafit, penalty, target, fit_intercept=fit_intercept, tol=tol,
                       max_iter=max_iter, max_block=max_block)
    if not penalty.convex and coef_init is None and penalty.penalty is not None:
        null = solver.null_stats or solver.fit.stats_at_constant(summary, solver.b0)
        threshold = solver.threshold
        solver.threshold = max(threshold, 1e-6 * solver.null_loss)
        for f in continuation_factors(penalty, null.grad):
            solver.pen = penalty.scaled(f)
            step = solver.run(coef_init, intercept_init)
            coef_init, intercept_init = step.coef, step.intercept
        solver.pen, solver.threshold = penalty, threshold
    return solver.run(coef_init, intercept_init)


def certify(data, datafit, penalty, target, coef, intercept=0.0, *, fit_intercept=True):
    """The certificate of ``(coef, intercept)`` on chunked data (``penalized.solvers.certify``'s terms).

    Three passes at most: pass 0, the gradient and loss at the point, and the data term of
    the duality gap when the dual point needs rescaling. Returns a
    :class:`penalized.solvers.Certificate`.
    """
    from ..solvers.results import Certificate

    p = data.n_features
    w = np.asarray(coef, dtype=np.float64).ravel()
    if w.shape != (p,):
        raise ValueError(f"coef has shape {w.shape}, expected ({p},).")
    b = float(np.ravel(intercept)[0]) if np.ndim(intercept) else float(intercept)
    if not fit_intercept and b != 0.0:
        raise ValueError("the problem has no intercept but a non-zero intercept was given.")
    penalty = bridge.as_view(penalty, p)
    summary = first_pass(data, target, gram=penalty.grouped and p <= GRAM_MAX_FEATURES, datafit=datafit)
    solver = NewtonFit(data, summary, datafit, penalty, target, fit_intercept=fit_intercept, tol=1.0,
                       max_iter=1, max_block=p)
    pen = solver.pen
    if pen.bounded and (np.any(w < pen.kp.lower) or np.any(w > pen.kp.upper)):  # outside the box
        return Certificate(value=float("inf"), null_loss=float(solver.null_loss), objective=float("inf"))
    stats, _, _ = solver._pass(w, b)
    terms = solver._certificate_terms(w, stats)
    gap = 0.0 if terms.alpha == 1.0 else solver._pass(w, b, alpha=terms.alpha)[1]
    return Certificate(value=float(terms.value(gap)), null_loss=float(solver.null_loss),
                       objective=float(stats.loss + solver.pen.value(w)))
