"""Regularization paths: the solutions of ``L_data(w, b) + λ·R(w)`` along a grid of λ.

Scales (the same as everywhere in penalized): ``L_data`` is the sample-weighted *mean*
squared error ``Σ a_i (y_i − x_iᵀw − b)²`` or the mean log-loss
``Σ a_i log(1 + exp(−s_i (x_iᵀw + b)))`` (``a_i = s_i / Σ s``, labels ``s_i = ±1``), and
the path's penalty ``R`` is a *unit* penalty scaled by λ:

=====================  ==========================================  =========================
``penalty=``           point k of the path minimises               λ is the ``lam`` of
=====================  ==========================================  =========================
``"l1"``               ``L_data + λ_k·Σ c_j|w_j|``                 ``Lasso``
``"l2"``               ``L_data + λ_k·Σ c_j w_j²``                 ``Ridge``
``"elasticnet"``       ``L_data + λ_k·(ρ Σ c_j|w_j| + (1−ρ)/2 Σ c_j w_j²)``   ``ElasticNet(l1_ratio=ρ)``
a penalty object ``P``  ``L_data + P.scaled(λ_k)(w)``               (λ_k is a factor on ``P``)
=====================  ==========================================  =========================

The default grid is glmnet's: ``n_lambdas=100`` values log-spaced from ``λ_max`` down to
``eps·λ_max`` with ``eps = 1e-2`` when ``n_samples < n_features`` and ``1e-4`` otherwise.
``λ_max`` is the smallest λ at which every penalized coefficient is zero: with ``g`` the
gradient of ``L_data`` at the fit of the unpenalized part (the intercept and the features
with ``c_j = 0``, as glmnet computes it), ``λ_max = max_j |g_j| / l1_j`` where ``l1_j`` is the
unit penalty's L1 strength of feature j. A pure L2 penalty has no such λ (no coefficient is
ever exactly zero); there, as glmnet (``alpha=0``) and scikit-learn do, ``λ_max`` is the
elastic-net one at ``l1_ratio = 1e-3`` expressed on the penalty's own scale:
``λ_max = max_j |g_j| / (2·10⁻³·l2_j)`` (for ``"l2"``: the ``Ridge`` ``lam`` equal to glmnet's
ridge ``lambda_max``).

Warm starts: each λ starts from the previous solution. Screening (``screening=True``;
the default ``"auto"`` turns it on when ``n_features ≥ 1000`` and ``n_features > n_samples``,
where it pays off) applies the sequential strong rule of Tibshirani et al. (2012) on top of the
solver: feature j (zero at λ_{k−1}, with an L1 part) is left out of the problem at λ_k when
``|g_j(λ_{k−1})| < l1_j·(2λ_k − λ_{k−1})``; after the reduced problem is solved, the
optimality conditions ``|g_j| ≤ λ_k·l1_j`` of every left-out feature are checked on the full
data and violators are put back until none is left. The result is a solution of the full
problem with the same certificate (the left-out coordinates, at zero and satisfying their
optimality conditions, add nothing to the duality gap).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from . import _validation as v
from .dask import is_dask_collection
from .datafits import Datafit
from .penalties import check_bounds

__all__ = [
    "RIDGE_L1_RATIO",
    "PathResult",
    "default_eps",
    "lambda_grid",
    "lambda_max",
    "regularization_path",
]

RIDGE_L1_RATIO = 1e-3
_KKT_SLACK = 1e-12  # relative slack on the optimality check of screened-out features


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while a path runs.

    The solver is single-threaded, and the path's only BLAS calls are matrix-vector
    products too small to gain from threads; on a busy machine a multi-threaded BLAS
    spin-waits and makes them 10-50× slower. Parallelism comes from ``n_jobs`` (folds).
    """
    from .solvers.coordinate_descent import _single_threaded_blas

    with _single_threaded_blas():  # a controller found once per process (~1 ms per search)
        yield


def default_eps(n_samples, n_features):
    """glmnet's ``lambda.min.ratio``: 1e-2 when ``n_samples < n_features``, else 1e-4."""
    return 1e-2 if n_samples < n_features else 1e-4


def lambda_grid(lam_max, n_lambdas=100, eps=1e-4):
    """``n_lambdas`` values log-spaced from ``lam_max`` down to ``eps·lam_max`` (decreasing)."""
    v.check_grid_params(n_lambdas, eps)
    if n_lambdas == 1:
        return np.array([float(lam_max)])
    return np.geomspace(lam_max, lam_max * eps, n_lambdas)


def resolve_datafit(datafit):
    """A data fit name (``"squared_error"``, ``"logistic"``, ``"poisson"``) or object → the object."""
    return Datafit.from_name(datafit)


# ------------------------------------------------------------------------------- λ_max
def free_features(unit, n_features):
    """The features the unit penalty leaves unpenalized (``c_j = 0``)."""
    return unit.kernel(n_features).free


def unpenalized_fit(X, y, datafit, unit, sample_weight=None, fit_intercept=True, tol=1e-10, bounds=None,
                    offset=None):
    """``(w, b)``: the fit of the unpenalized part (intercept and features with ``c_j = 0``)
    with every penalized coefficient at zero (to ``min(tol, 1e-10)``)."""
    p = X.shape[1]
    free = free_features(unit, p)
    w = np.zeros(p)
    b = datafit.null_intercept(y, sample_weight, offset) if fit_intercept else 0.0
    if free.any():
        from .solvers import LinearProblem, solve

        sub = LinearProblem.build(_columns(X, free), y, datafit, sample_weight, fit_intercept, offset=offset)
        box = None if bounds is None else (bounds[0][free], bounds[1][free])
        res = solve(sub, None, tol=min(tol, 1e-10), max_iter=100_000, bounds=box)
        w[free], b = res.coef, res.intercept
    return w, b


def gradient_at_zero(grad, bounds):
    """The gradient as the optimality conditions at zero see it through a box: a side bounded at
    0 makes the condition one-sided (with ``w_j ≥ 0``, ``g_j > 0`` only pushes against the bound)."""
    if bounds is None:
        return grad
    lower, upper = bounds
    g = np.array(grad, dtype=np.float64)
    g[(lower == 0) & (g > 0)] = 0.0
    g[(upper == 0) & (g < 0)] = 0.0
    return g


def _lambda_max(X, y, datafit, unit, sample_weight, fit_intercept, tol=1e-4, bounds=None, offset=None):
    """``(λ_max, gradient, (w, b))`` at the unpenalized fit ``(w, b)``, for the unit penalty ``unit``.

    ``λ_max`` is the largest of the penalty's :meth:`~penalized.penalties.Penalty.zero_levels`
    (or, for a penalty that zeroes nothing, its ``ridge_lambda_max``). ``(w, b)`` is fitted 100
    times tighter than ``tol``: started from it, the path's first point (at λ_max) keeps every
    penalized coefficient exactly at zero.
    """
    w, b = unpenalized_fit(X, y, datafit, unit, sample_weight, fit_intercept, tol=1e-2 * tol, bounds=bounds,
                           offset=offset)
    grad = datafit.gradient(X, y, w, b, sample_weight, offset)[0]
    levels = unit.zero_levels(gradient_at_zero(grad, bounds))
    finite = np.isfinite(levels)
    if finite.any():
        lam = float(np.max(levels[finite]))
    else:
        lam = unit.ridge_lambda_max(grad, RIDGE_L1_RATIO)
    if not np.isfinite(lam) or lam <= 0.0:
        lam = np.finfo(np.float64).resolution  # nothing to fit (e.g. a constant y)
    return float(lam), grad, (w, b)


def lambda_max(X, y, penalty="l1", *, l1_ratio=0.5, weights=None, datafit="squared_error",
               sample_weight=None, fit_intercept=True, positive=False, bounds=None, offset=None):
    """The smallest λ at which the path's penalty zeroes every penalized coefficient.

    Parameters as in :func:`regularization_path`; see the module docstring for the
    formula (and the ``l1_ratio = 1e-3`` convention of pure L2 penalties).
    """
    datafit = resolve_datafit(datafit)
    X, y, sample_weight, _ = v.validate_function_data(X, y, sample_weight,
                                                      classifier=datafit.needs_labels)
    unit = v.check_path_penalty(penalty, l1_ratio, weights, X.shape[1])
    y, _ = _encode_target(datafit, y, sample_weight)
    box = check_bounds(bounds, positive, X.shape[1])
    return _lambda_max(X, y, datafit, unit, sample_weight, fit_intercept, 1e-4, box,
                       v.check_offset(offset, X.shape[0]))[0]


# ------------------------------------------------------------------------- the path core
@dataclass
class PathArrays:
    """Raw per-λ arrays of one path (what the CV folds ship back)."""

    coefs: np.ndarray  # (p, k)
    intercepts: np.ndarray  # (k,)
    certificates: np.ndarray  # (k,)
    thresholds: np.ndarray  # (k,)
    n_iter: np.ndarray  # (k,)
    converged: np.ndarray  # (k,)
    train_loss: np.ndarray  # (k,)


def _columns(X, mask):
    cols = np.flatnonzero(mask)
    if sp.issparse(X):
        return X[:, cols].tocsc()
    return np.asfortranarray(X[:, cols])


def solve_path(X, y, datafit, unit, lambdas, *, sample_weight=None, fit_intercept=True, tol=1e-4,
               max_iter=1000, screening="auto", start=None, bounds=None, offset=None):
    """The path on validated data (``y`` already ±1 for the log-loss); no warnings.

    Point k minimises ``L_data + unit.scaled(lambdas[k])`` (within ``bounds``), started from
    point k−1; the first point starts from ``start = (w, b)`` (e.g. the unpenalized fit of
    :func:`_lambda_max`) or zeros, and is solved on the never-screened features first (then
    KKT-checked), so that at λ_max every penalized coefficient is exactly zero.
    """
    from .solvers import LinearProblem, solve

    n, p = X.shape
    k = len(lambdas)
    # one row per point while solving (contiguous writes); ``coefs`` is its (p, k) transpose
    rows = np.zeros((k, p))
    out = PathArrays(rows.T, np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(k, dtype=int),
                     np.zeros(k, dtype=bool), np.zeros(k))
    reduced = _ReducedProblems(X, y, datafit, unit, sample_weight, fit_intercept, tol, max_iter, bounds, offset)
    always = reduced.always  # features never exactly zero (unpenalized, pure L2): never screened out
    can_zero = not always.all()
    # Strong rules need coefficients the penalty can zero; the full problem is used otherwise.
    screen = use_screening(screening, n, p) and can_zero
    problem = None if screen else LinearProblem.build(X, y, datafit, sample_weight, fit_intercept, offset=offset)
    w, b = (np.zeros(p), None) if start is None else (np.array(start[0], dtype=np.float64), start[1])
    grad, prev_lam = None, None
    for i, lam in enumerate(lambdas):
        if i == 0 and always.any() and can_zero:
            w, b, cert, thr, its, ok, loss, grad = reduced.solve(lam, always.copy(), w, b)
            prev_lam = lam
        elif not screen:
            penalty = unit.scaled(lam)
            res = solve(problem, penalty, coef_init=w, intercept_init=b, tol=tol, max_iter=max_iter, bounds=bounds)
            w, b, cert, thr, its, ok = res.coef, res.intercept, res.certificate, res.threshold, res.n_iter, \
                res.converged
            loss = res.objective - penalty.value(w)
        else:
            if grad is None:
                b0 = datafit.null_intercept(y, sample_weight, offset) if fit_intercept else 0.0
                grad = _gradient(X, y, datafit, w, b0, sample_weight, offset)
                prev_lam = max(lam, reduced.max_level(grad))
            levels = reduced.levels(grad)
            keep = (levels >= 2.0 * lam - prev_lam) | always | reduced.whole_blocks(w != 0)
            if not keep.any():  # keep the most correlated block: the reduced problem is never empty
                keep = reduced.whole_blocks(levels == np.max(levels))
            w, b, cert, thr, its, ok, loss, grad = reduced.solve(lam, keep, w, b, grad)
            prev_lam = lam
        rows[i] = w
        out.intercepts[i] = b
        out.certificates[i], out.thresholds[i] = cert, thr
        out.n_iter[i], out.converged[i] = its, ok
        out.train_loss[i] = loss
    return out


def use_screening(screening, n_samples, n_features):
    """``screening`` resolved: ``"auto"`` is on for ``n_features ≥ 1000`` and ``n_features > n_samples``."""
    if screening == "auto":
        return n_features >= 1000 and n_features > n_samples
    return bool(screening)


class _ReducedProblems:
    """Solves the path's points on subsets of the features, then checks the rest (KKT).

    Screening works on the penalty's blocks (features, or groups for group penalties) through
    its :meth:`~penalized.penalties.Penalty.zero_levels`: a block is left out at λ when its
    level is below the strong-rule threshold, and put back when, at the reduced solution,
    its level exceeds λ (its optimality condition at zero fails). The reduced problem is
    rebuilt only when a point needs a feature outside the current subset; it then grows to
    the union, plus head room (the next blocks by level: strong sets mostly grow along a
    path), so most points reuse it.
    """

    def __init__(self, X, y, datafit, unit, sample_weight, fit_intercept, tol, max_iter, bounds=None, offset=None):
        from .solvers import solve

        self.X, self.y, self.datafit, self.unit = X, y, datafit, unit
        self.sample_weight, self.fit_intercept, self.tol, self.max_iter = (
            sample_weight, fit_intercept, tol, max_iter)
        self.bounds, self.offset = bounds, offset
        p = X.shape[1]
        self.blocks = unit.screening_blocks(p)
        self.always = ~np.isfinite(self._per_feature(unit.zero_levels(np.ones(p))))
        self.keep = None
        self._solve = solve
        self._levels = (None, None)  # (gradient, per-feature levels) of the last call of levels

    def _per_feature(self, block_values):
        return block_values if self.blocks is None else block_values[self.blocks]

    def whole_blocks(self, mask):
        """``mask`` grown to whole blocks (groups)."""
        if self.blocks is None:
            return mask
        return np.bincount(self.blocks, weights=mask, minlength=self.blocks.max() + 1)[self.blocks] > 0

    def levels(self, grad):
        """Per feature, its block's zero level at ``grad`` (computed once per gradient: the
        strong rule and the KKT check share it)."""
        if self._levels[0] is not grad:
            g = gradient_at_zero(grad, self.bounds)
            self._levels = (grad, self._per_feature(self.unit.zero_levels(g)))
        return self._levels[1]

    def max_level(self, grad):
        lv = self.levels(grad)
        finite = np.isfinite(lv)
        return float(np.max(lv[finite])) if finite.any() else 0.0

    def _build(self, keep, grad=None):
        if self.keep is not None:
            new = keep & ~self.keep
            if not new.any():
                return  # the current reduced problem already holds every needed feature
            keep = new | self.keep
        from .solvers import LinearProblem

        if grad is not None:
            score = np.where(keep | self.always, -np.inf, self.levels(grad))
            extra = min(max(int(keep.sum()) // 2, 10), int(np.isfinite(score).sum()))
            if extra > 0:
                keep = keep.copy()
                keep[np.argpartition(-score, extra - 1)[:extra]] = True
                keep = self.whole_blocks(keep)
        self.keep, self.outside = keep, ~keep
        self.cols = np.flatnonzero(keep)
        self.Xs = _columns(self.X, keep)
        self.problem = LinearProblem.build(self.Xs, self.y, self.datafit, self.sample_weight,
                                           self.fit_intercept, offset=self.offset)
        self.sub_unit = self.unit.subset(self.cols)
        self.sub_bounds = None if self.bounds is None else (self.bounds[0][self.cols], self.bounds[1][self.cols])

    def solve(self, lam, keep, w, b, grad=None):
        """``(w, b, certificate, threshold, epochs, converged, training loss, full gradient)``.

        ``grad`` is the full gradient at the incoming ``(w, b)`` if known; the returned one
        is the same object when ``(w, b)`` did not move.
        """
        its = 0
        self._build(keep, grad)
        while True:
            penalty = self.sub_unit.scaled(lam)
            res = self._solve(self.problem, penalty, coef_init=w[self.cols], intercept_init=b, tol=self.tol,
                              max_iter=max(self.max_iter - its, 1), bounds=self.sub_bounds)
            its += res.n_iter
            if res.n_iter > 0 or grad is None:  # else (w, b) did not move: neither did the gradient
                w = np.zeros_like(w)
                w[self.cols] = res.coef
                b = res.intercept
                z = np.asarray(self.Xs @ res.coef).ravel() + b
                if self.offset is not None:
                    z = z + self.offset
                d = self.datafit.derivative(self.y, z, self.sample_weight)
                grad = np.asarray(self.X.T @ d).ravel()
            violators = (self.levels(grad) > lam * (1.0 + _KKT_SLACK)) & self.outside
            any_violator = bool(violators.any())
            if not any_violator or its >= self.max_iter:
                ok = res.converged and not any_violator
                loss = res.objective - penalty.value(res.coef)
                return w, b, res.certificate, res.threshold, its, ok, loss, grad
            self._build(self.keep | self.whole_blocks(violators), grad)


def _gradient(X, y, datafit, w, b, sample_weight, offset=None):
    """``∇_w L_data`` at ``(w, b)``, touching only the non-zero coefficients' columns for ``Xw``."""
    nz = np.flatnonzero(w)
    z = np.full(X.shape[0], b, dtype=np.float64)
    if offset is not None:
        z += offset
    if nz.size:
        z += np.asarray(X[:, nz] @ w[nz]).ravel()
    d = datafit.derivative(y, z, sample_weight)
    return np.asarray(X.T @ d).ravel()


# ------------------------------------------------------------------------------ results
@dataclass
class PathResult:
    """A regularization path: point k minimises ``L_data + penalty.scaled(lambdas[k])``.

    Attributes
    ----------
    lambdas : ndarray (k,)
        Decreasing λ values (the ``lam`` of ``Lasso``/``Ridge``/``ElasticNet`` for string
        penalties, a factor on the penalty object otherwise).
    coefs : ndarray (n_features, k)
        Coefficients, one column per λ (glmnet's ``beta``, scikit-learn's ``coefs``).
    intercepts : ndarray (k,)
    dual_gaps : ndarray (k,)
        Optimality certificate of each point (see :mod:`penalized.solvers`); each point
        converged when it is ≤ ``tol·L(0)``.
    n_nonzero : ndarray (k,)
        Number of non-zero coefficients (glmnet's ``df``).
    train_loss : ndarray (k,)
        ``L_data`` on the training data (mean squared error or mean log-loss).
    n_iter, converged : ndarray (k,)
    penalty : the unit penalty (``L1(1)``, ``L2(1)``, ``L1L2(ρ, (1−ρ)/2)`` or yours).
    datafit : SquaredError or Logistic
    lambda_max : float
        The grid's λ_max (``nan`` for a user grid).
    feature_names : ndarray of str
    classes : ndarray or None
        The two class labels (``classes[1]`` is +1) for the log-loss.
    """

    lambdas: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    dual_gaps: np.ndarray
    n_nonzero: np.ndarray
    train_loss: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    penalty: object
    datafit: Datafit
    lambda_max: float
    feature_names: np.ndarray
    classes: np.ndarray | None = None
    tol: float = 1e-4
    thresholds: np.ndarray = field(default=None, repr=False)

    def __len__(self):
        return len(self.lambdas)

    def penalty_at(self, k):
        """The penalty object of point ``k``: ``penalty.scaled(lambdas[k])``."""
        return self.penalty.scaled(self.lambdas[k])

    @property
    def objective(self):
        """``L_data + λ_k·R`` at each point."""
        reg = np.array([self.penalty_at(i).value(self.coefs[:, i]) for i in range(len(self))])
        return self.train_loss + reg

    def selected_features(self, k):
        """Names of the non-zero features at point ``k``."""
        return self.feature_names[self.coefs[:, k] != 0]

    def to_frame(self):
        """The coefficients as a DataFrame: one row per λ, one column per feature."""
        import pandas as pd

        frame = pd.DataFrame(self.coefs.T, columns=list(self.feature_names))
        frame.insert(0, "intercept", self.intercepts)
        frame.insert(0, "lambda", self.lambdas)
        return frame

    def plot(self, ax=None, **kwargs):
        """Coefficient paths against λ (log scale), labelled by feature name; returns the Axes."""
        from .plots import plot_path

        return plot_path(self, ax=ax, **kwargs)


def convergence_message(name, certificates, thresholds, converged, lambdas, tol, max_iter):
    """One message for all the fits of a path (or of every fold of a CV)."""
    failed = np.flatnonzero(~np.asarray(converged))
    ratio = np.asarray(certificates)[failed] / np.maximum(np.asarray(thresholds)[failed], 1e-300)
    worst = failed[np.argmax(ratio)]
    return (
        f"{name}: {len(failed)} of {len(converged)} fits did not converge in max_iter={max_iter} "
        f"epochs; worst at λ={lambdas[worst]:.4g}: optimality certificate {certificates[worst]:.3g} > "
        f"tol·L(0) = {thresholds[worst]:.3g} (tol={tol:g}). Increase max_iter, loosen tol, "
        "standardize X, or use a larger eps (the smallest λ are the hardest)."
    )


def _encode_target(datafit, y, sample_weight):
    if not datafit.needs_labels:
        y = np.asarray(y, dtype=np.float64)
        datafit.check_target(y)
        return y, None
    classes = np.unique(y)  # two class labels → ±1
    if classes.shape[0] != 2:
        raise ValueError(
            f"a logistic path needs exactly 2 classes in y, got {classes.shape[0]}: "
            f"{classes.tolist()[:10]!r}. Use LogisticRegressionCV for more classes (one-vs-rest)."
        )
    return v.encode_binary_targets(y, classes, sample_weight), classes


def regularization_path(X, y, penalty="l1", *, l1_ratio=0.5, weights=None, datafit="squared_error",
                        lambdas=None, n_lambdas=100, eps=None, sample_weight=None, fit_intercept=True,
                        tol=1e-4, max_iter=1000, screening="auto", positive=False, bounds=None, offset=None):
    """Solutions of ``L_data(w, b) + λ·R(w)`` for a decreasing grid of λ, with warm starts.

    Parameters
    ----------
    X : array or sparse matrix (n_samples, n_features); a DataFrame names the features.
    y : array (n_samples,)
        Numbers for ``datafit="squared_error"``; two class labels for ``"logistic"``
        (``classes[1]`` is coded +1).
    penalty : "l1", "l2", "elasticnet", "mcp", "scad" or a penalty object, default "l1"
        The unit penalty ``R`` (see the module docstring for what λ means with each). Any
        penalty object works (``GroupL1``, ``L1 + GroupL1``, ``MCP``, ...); non-convex ones
        start from the lasso side (``λ_max``, all zero) with warm starts, as ncvreg does.
    l1_ratio : float in [0, 1], default 0.5
        ρ of ``"elasticnet"``: ``R = ρ Σ c_j|w_j| + (1−ρ)/2 Σ c_j w_j²`` (scikit-learn, glmnet).
    weights : array (n_features,), optional
        Per-feature penalty factors ``c_j`` ≥ 0 for string penalties (glmnet's
        ``penalty.factor``; 0 = unpenalized). A penalty object carries its own.
    datafit : "squared_error", "logistic", "poisson" or a Datafit, default "squared_error"
        Mean squared error, mean log-loss or mean Poisson loss (sample-weighted means).
    lambdas : array, optional
        Your own grid: positive and strictly decreasing. Default: ``n_lambdas`` values
        from ``λ_max`` down to ``eps·λ_max`` (log-spaced).
    n_lambdas : int, default 100
    eps : float, optional
        ``λ_min / λ_max``; default 1e-2 when n_samples < n_features, else 1e-4 (glmnet).
    sample_weight : array (n_samples,), optional
    fit_intercept : bool, default True
        Fit an unpenalized intercept.
    tol : float, default 1e-4
        Each point stops when its certificate is ≤ ``tol·L(0)``.
    max_iter : int, default 1000
        Maximum coordinate-descent epochs per λ.
    screening : bool or "auto", default "auto"
        Sequential strong rules with a KKT check (exact; only changes the speed). "auto":
        on when n_features ≥ 1000 and n_features > n_samples.
    positive : bool, default False
        Constrain every coefficient to be ≥ 0 (the same as ``bounds=(0, None)``).
    bounds : (lower, upper), optional
        A box on the coefficients (scalars or per-feature arrays, ``None`` for no bound on a
        side; glmnet's ``lower.limits`` / ``upper.limits``); it must contain 0.
    offset : array (n_samples,), optional
        Added to the linear predictor (glmnet's offset: exposures, a base model's scores).

    Returns
    -------
    PathResult
        ``lambdas``, ``coefs`` (n_features, k), ``intercepts``, ``dual_gaps``,
        ``n_nonzero``, ``train_loss``, … and ``plot()``.

    One :class:`~sklearn.exceptions.ConvergenceWarning` sums up the points that did not
    reach the tolerance.
    """
    if is_dask_collection(X):  # one pass, then the whole path in Gram mode (penalized.dask.cv)
        from .dask.cv import regularization_path as dask_path

        if positive or bounds is not None or offset is not None:
            raise NotImplementedError("regularization_path on Dask input takes no positive=, bounds= or offset= "
                                      "(compute X to NumPy for them).")
        return dask_path(X, y, penalty, l1_ratio=l1_ratio, weights=weights, datafit=datafit, lambdas=lambdas,
                         n_lambdas=n_lambdas, eps=eps, sample_weight=sample_weight, fit_intercept=fit_intercept,
                         tol=tol, max_iter=max_iter, screening=screening)
    datafit = resolve_datafit(datafit)
    v.check_path_solver_params(tol, max_iter, fit_intercept)
    v.check_screening(screening)
    X, y, sample_weight, names = v.validate_function_data(X, y, sample_weight,
                                                          classifier=datafit.needs_labels)
    unit = v.check_path_penalty(penalty, l1_ratio, weights, X.shape[1])
    y, classes = _encode_target(datafit, y, sample_weight)
    box = check_bounds(bounds, positive, X.shape[1])
    offset = v.check_offset(offset, X.shape[0])
    if lambdas is None:
        v.check_grid_params(n_lambdas, eps)
        with single_threaded_blas():
            lam_max, _, start = _lambda_max(X, y, datafit, unit, sample_weight, fit_intercept, tol, box, offset)
        grid = lambda_grid(lam_max, n_lambdas, default_eps(*X.shape) if eps is None else eps)
    else:
        grid, lam_max, start = v.check_lambda_grid(lambdas), float("nan"), None
    with single_threaded_blas():
        arrays = solve_path(X, y, datafit, unit, grid, sample_weight=sample_weight, start=start,
                            fit_intercept=fit_intercept, tol=tol, max_iter=max_iter, screening=screening,
                            bounds=box, offset=offset)
    if not arrays.converged.all():
        warnings.warn(convergence_message("regularization_path", arrays.certificates, arrays.thresholds,
                                          arrays.converged, grid, tol, max_iter),
                      ConvergenceWarning, stacklevel=2)
    return make_result(arrays, grid, unit, datafit, lam_max, names, classes, tol)


def make_result(arrays, lambdas, unit, datafit, lam_max, names, classes=None, tol=1e-4):
    return PathResult(
        lambdas=np.asarray(lambdas, dtype=np.float64), coefs=arrays.coefs, intercepts=arrays.intercepts,
        dual_gaps=arrays.certificates, n_nonzero=np.count_nonzero(arrays.coefs, axis=0),
        train_loss=arrays.train_loss, n_iter=arrays.n_iter, converged=arrays.converged, penalty=unit,
        datafit=datafit, lambda_max=lam_max, feature_names=names, classes=classes, tol=tol,
        thresholds=arrays.thresholds,
    )
