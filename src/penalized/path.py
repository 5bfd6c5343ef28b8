"""Regularization paths: the solutions of ``L_data(w, b) + λ·R(w)`` along a grid of λ.

Scales (the same as everywhere in penalized): ``L_data`` is the sample-weighted *mean*
squared error ``Σ a_i (y_i − x_iᵀw − b)²``, the mean log-loss
``Σ a_i log(1 + exp(−s_i (x_iᵀw + b)))`` (``a_i = s_i / Σ s``, labels ``s_i = ±1``), the mean
multinomial cross-entropy (``W`` of shape (K, p)), the mean Poisson loss ``Σ a_i (exp(η_i) − y_i η_i)``
or, for a 2-D ``y`` (n, T), the squared error summed over the tasks (see :mod:`penalized.datafits`);
an offset adds to the linear predictor. The path's penalty ``R`` is a *unit* penalty scaled by λ:

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
unit penalty's L1 strength of feature j (in general, the largest of the penalty's
``zero_levels``; with several outputs a feature's K gradient entries enter together: the
largest ``|g_jk|`` for an elementwise L1, ``‖g_j‖₂`` for ``GroupL1``). A pure L2 penalty has
no such λ (no coefficient is ever exactly zero); there, as glmnet (``alpha=0``) and scikit-learn do, ``λ_max`` is the
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
from .standardize import check_standardize, path_arrays_to_original, standardized_path_inputs

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
    K = n_outputs(y)
    w = np.zeros(p) if K == 1 else np.zeros((K, p))
    if fit_intercept:
        b = datafit.null_intercept(y, sample_weight, offset)
    else:
        b = 0.0 if K == 1 else np.zeros(K)
    if free.any():
        from .solvers import LinearProblem, solve

        sub = LinearProblem.build(_columns(X, free), y, datafit, sample_weight, fit_intercept, offset=offset)
        box = None if bounds is None else (bounds[0][free], bounds[1][free])
        res = solve(sub, None, tol=min(tol, 1e-10), max_iter=100_000, bounds=box)
        w[..., free], b = res.coef, res.intercept
    return w, b


def n_outputs(y):
    """``K``: 1 for a 1-D target, its columns for a 2-D one (one-hot classes, several tasks)."""
    return 1 if np.ndim(y) == 1 else y.shape[1]


def nonzero_features(w):
    """Mask of the features with a non-zero coefficient (for some output of a (K, p) ``w``)."""
    return w != 0 if w.ndim == 1 else (w != 0).any(axis=0)


def gradient_at_zero(grad, bounds):
    """The gradient as the optimality conditions at zero see it through a box: a side bounded at
    0 makes the condition one-sided (with ``w_j ≥ 0``, ``g_j > 0`` only pushes against the bound)."""
    if bounds is None:
        return grad
    lower, upper = bounds
    g = np.array(grad, dtype=np.float64)
    if g.ndim == 2:  # (p, K): one box per feature, shared by its outputs
        lower, upper = lower[:, None], upper[:, None]
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
    if w.ndim == 1:
        grad = datafit.gradient(X, y, w, b, sample_weight, offset)[0]
    else:  # (p, K): a feature's zero level is over its K entries
        grad = _gradient(X, y, datafit, w, b, sample_weight, offset)
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
               sample_weight=None, fit_intercept=True, positive=False, bounds=None, offset=None, standardize=False):
    """The smallest λ at which the path's penalty zeroes every penalized coefficient.

    Parameters as in :func:`regularization_path`; see the module docstring for the
    formula (and the ``l1_ratio = 1e-3`` convention of pure L2 penalties).
    """
    datafit = resolve_datafit(datafit)
    data = prepare_data(X, y, datafit, sample_weight, offset)
    unit = v.check_path_penalty(penalty, l1_ratio, weights, data.X.shape[1])
    box = check_bounds(bounds, positive, data.X.shape[1])
    X = data.X
    if check_standardize(standardize):
        X, unit, box, _ = standardized_path_inputs(X, unit, box, data.sample_weight)
    return _lambda_max(X, data.y, datafit, unit, data.sample_weight, fit_intercept, 1e-4, box, data.offset)[0]


@dataclass
class PathData:
    """Validated data of a path (or a CV): ``y`` encoded for the data fit (±1 labels, one-hot
    rows for the multinomial, a (n, T) array for several tasks), the offset shaped like the
    linear predictor ((n,) or (n, K))."""

    X: object
    y: np.ndarray
    labels: np.ndarray  # the validated targets before encoding (class labels, numbers)
    datafit: Datafit
    sample_weight: np.ndarray | None
    offset: np.ndarray | None
    feature_names: np.ndarray
    classes: np.ndarray | None  # class labels (logistic, multinomial)
    outputs: np.ndarray | None  # one label per output (classes or task names); None for one output
    two_d: bool  # the user's y was 2-D: results keep an outputs axis even for one column


def prepare_data(X, y, datafit, sample_weight=None, offset=None, *, holder=None, multi_target=None):
    """:class:`PathData` from the user's arrays (the checks of every path, CV and ``lambda_max``).

    ``datafit=None`` picks the log-loss for two classes and the multinomial for more (as
    ``LogisticRegression``). ``holder``: an estimator that keeps ``feature_names_in_`` and
    ``n_features_in_`` (CV estimators); without one, a stand-in. ``multi_target``: whether a 2-D
    ``y`` is several targets (default: when the data fit takes them); ``False`` reads a (n, 1)
    column as a 1-D ``y`` with scikit-learn's ``DataConversionWarning``.
    """
    task_names = getattr(y, "columns", None)
    classifier = datafit is None or datafit.needs_labels
    if multi_target is None:
        multi_target = datafit is not None and datafit.multi_target
    if holder is None:
        X, y, sample_weight, names = v.validate_function_data(X, y, sample_weight, classifier=classifier,
                                                              multi_output=multi_target)
    else:
        X, y, sample_weight = v.validate_fit_data(holder, X, y, sample_weight, classifier=classifier,
                                                  multi_output=multi_target)
        names = getattr(holder, "feature_names_in_", None)
        if names is None:
            names = np.array([f"x{j}" for j in range(X.shape[1])], dtype=object)
    if datafit is None:
        found = np.unique(y)
        if found.shape[0] < 2:
            raise ValueError(f"{type(holder).__name__ if holder is not None else 'a logistic model'} needs at least "
                             f"2 classes in y; got only one class: {found.tolist()[0]!r}.")
        from .datafits import Logistic, Multinomial

        datafit = Logistic() if found.shape[0] == 2 else Multinomial()
    labels = y
    y, classes = _encode_target(datafit, y, sample_weight)
    two_d = y.ndim == 2 and not datafit.multi_output
    if two_d and y.shape[1] == 1:  # one task: solved as a 1-D target, reported with an outputs axis
        y = np.ascontiguousarray(y[:, 0])
    K = n_outputs(y)
    n = X.shape[0]
    if K == 1:
        offset = v.check_offset(offset, n)
    else:
        offset = v.check_multi_offset(offset, n, K)
        if offset is not None and offset.ndim == 1:  # the same offset for every output
            offset = np.ascontiguousarray(np.broadcast_to(offset[:, None], (n, K)))
    if datafit.multi_output:
        outputs = classes
    elif two_d:
        outputs = (np.asarray(task_names, dtype=object) if task_names is not None
                   else np.arange(y.shape[1] if y.ndim == 2 else 1))
    else:
        outputs = None
    return PathData(X=X, y=y, labels=labels, datafit=datafit, sample_weight=sample_weight, offset=offset,
                    feature_names=np.asarray(names, dtype=object),
                    classes=classes, outputs=outputs, two_d=two_d)


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
    K = n_outputs(y)
    # one row per point while solving (contiguous writes); ``coefs`` is its (p, k) transpose, or
    # for K outputs (solver layout (K, p) per point) its (K, p, k) view
    rows = np.zeros((k, p)) if K == 1 else np.zeros((k, K, p))
    b_rows = np.zeros(k) if K == 1 else np.zeros((k, K))
    out = PathArrays(rows.T if K == 1 else rows.transpose(1, 2, 0), b_rows.T, np.zeros(k), np.zeros(k),
                     np.zeros(k, dtype=int), np.zeros(k, dtype=bool), np.zeros(k))
    # the penalty's value at a point: coefficients (p,) or, for K outputs, (p, K) (features first)
    pen_value = (lambda penalty, coef: penalty.value(coef)) if K == 1 else (
        lambda penalty, coef: penalty.value(coef.T))
    reduced = _ReducedProblems(X, y, datafit, unit, sample_weight, fit_intercept, tol, max_iter, bounds, offset)
    always = reduced.always  # features never exactly zero (unpenalized, pure L2): never screened out
    can_zero = not always.all()
    # Strong rules need coefficients the penalty can zero; the full problem is used otherwise.
    screen = use_screening(screening, n, p) and can_zero
    problem = None if screen else LinearProblem.build(X, y, datafit, sample_weight, fit_intercept, offset=offset)
    w0 = np.zeros(p) if K == 1 else np.zeros((K, p))
    w, b = (w0, None) if start is None else (np.array(start[0], dtype=np.float64), start[1])
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
            loss = res.objective - pen_value(penalty, w)
        else:
            if grad is None:
                if b is None:  # a user grid: start from the null model, whose gradient this is
                    b = datafit.null_intercept(y, sample_weight, offset) if fit_intercept else (
                        0.0 if K == 1 else np.zeros(K))
                grad = _gradient(X, y, datafit, w, b, sample_weight, offset)
                prev_lam = max(lam, reduced.max_level(grad))
            levels = reduced.levels(grad)
            keep = (levels >= 2.0 * lam - prev_lam) | always | reduced.whole_blocks(nonzero_features(w))
            if not keep.any():  # keep the most correlated block: the reduced problem is never empty
                keep = reduced.whole_blocks(levels == np.max(levels))
            w, b, cert, thr, its, ok, loss, grad = reduced.solve(lam, keep, w, b, grad)
            prev_lam = lam
        rows[i] = w
        b_rows[i] = b
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
        self.multi = n_outputs(y) > 1
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
            # (K, p) coefficients for several outputs; plain indexing for one (the fast path)
            w_kept = w[:, self.cols] if self.multi else w[self.cols]
            res = self._solve(self.problem, penalty, coef_init=w_kept, intercept_init=b, tol=self.tol,
                              max_iter=max(self.max_iter - its, 1), bounds=self.sub_bounds)
            its += res.n_iter
            if res.n_iter > 0 or grad is None:  # else (w, b) did not move: neither did the gradient
                w = np.zeros_like(w)
                b = res.intercept
                if self.multi:  # coefficients (K, p_kept), gradient (p, K)
                    w[:, self.cols] = res.coef
                    z = np.asarray(self.Xs @ res.coef.T) + b
                else:
                    w[self.cols] = res.coef
                    z = np.asarray(self.Xs @ res.coef).ravel() + b
                if self.offset is not None:
                    z = z + self.offset
                d = self.datafit.derivative(self.y, z, self.sample_weight)
                grad = np.asarray(self.X.T @ d)
                if not self.multi:
                    grad = grad.ravel()
            violators = (self.levels(grad) > lam * (1.0 + _KKT_SLACK)) & self.outside
            any_violator = bool(violators.any())
            if not any_violator or its >= self.max_iter:
                ok = res.converged and not any_violator
                loss = res.objective - penalty.value(res.coef.T if self.multi else res.coef)
                return w, b, res.certificate, res.threshold, its, ok, loss, grad
            self._build(self.keep | self.whole_blocks(violators), grad)


def _gradient(X, y, datafit, w, b, sample_weight, offset=None):
    """``∇_w L_data`` at ``(w, b)``, touching only the non-zero coefficients' columns for ``Xw``.

    ``w`` is (p,), or (K, p) for K outputs; the gradient is then (p, K) (features first: a
    penalty's ``zero_levels`` reads a feature's K entries from its row).
    """
    if w.ndim == 2:
        nz = np.flatnonzero((w != 0).any(axis=0))
        z = np.empty((X.shape[0], w.shape[0]))
        z[:] = b
        if offset is not None:
            z += offset
        if nz.size:
            z += np.asarray(X[:, nz] @ w[:, nz].T)
        return np.asarray(X.T @ datafit.derivative(y, z, sample_weight))
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
    coefs : ndarray (n_features, k), or (n_outputs, n_features, k)
        Coefficients, one column per λ (glmnet's ``beta``, scikit-learn's ``coefs``). For
        several outputs — the K classes of the multinomial, the T tasks of a 2-D ``y`` — the
        outputs come first, as in scikit-learn's ``lasso_path`` for multi-task data
        (``coefs[:, :, k]`` is the ``coef_`` of the estimator at ``lambdas[k]``).
    intercepts : ndarray (k,), or (n_outputs, k)
    dual_gaps : ndarray (k,)
        Optimality certificate of each point (see :mod:`penalized.solvers`); each point
        converged when it is ≤ ``tol·L(0)``.
    n_nonzero : ndarray (k,)
        Number of features with a non-zero coefficient (for some output; glmnet's ``df``).
    train_loss : ndarray (k,)
        ``L_data`` on the training data (mean squared error, mean log-loss, mean Poisson loss).
    n_iter, converged : ndarray (k,)
    penalty : the unit penalty (``L1(1)``, ``L2(1)``, ``L1L2(ρ, (1−ρ)/2)`` or yours).
    datafit : SquaredError, Logistic, Multinomial or Poisson
    lambda_max : float
        The grid's λ_max (``nan`` for a user grid).
    feature_names : ndarray of str
    classes : ndarray or None
        The class labels: two for the log-loss (``classes[1]`` is +1), K for the multinomial.
    outputs : ndarray or None
        One label per output (the classes, or the tasks: a DataFrame's column names or
        ``0 … T−1``); None for a single output.
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
    outputs: np.ndarray | None = None

    def __len__(self):
        return len(self.lambdas)

    @property
    def n_outputs(self):
        """1, or the number of classes (multinomial) or tasks."""
        return 1 if self.coefs.ndim == 2 else self.coefs.shape[0]

    def coef_at(self, k):
        """The coefficients of point ``k`` as the estimators hold them: (p,) or (n_outputs, p)."""
        return self.coefs[..., k]

    def penalty_at(self, k):
        """The penalty object of point ``k``: ``penalty.scaled(lambdas[k])``."""
        return self.penalty.scaled(self.lambdas[k])

    @property
    def objective(self):
        """``L_data + λ_k·R`` at each point."""
        # penalties read several outputs' coefficients features first: (p, K)
        reg = np.array([self.penalty_at(i).value(self.coef_at(i).T) for i in range(len(self))])
        return self.train_loss + reg

    def selected_features(self, k):
        """Names of the features non-zero at point ``k`` (for some output)."""
        nz = self.coefs[..., k] != 0
        return self.feature_names[nz if nz.ndim == 1 else nz.any(axis=0)]

    def to_frame(self):
        """The coefficients as a DataFrame: one row per λ, one column per feature; for several
        outputs one row per (λ, output), with an ``output`` column (the class or the task)."""
        import pandas as pd

        if self.coefs.ndim == 2:
            frame = pd.DataFrame(self.coefs.T, columns=list(self.feature_names))
            frame.insert(0, "intercept", self.intercepts)
            frame.insert(0, "lambda", self.lambdas)
            return frame
        K, p, k = self.coefs.shape
        outputs = self.outputs if self.outputs is not None else np.arange(K)
        frame = pd.DataFrame(self.coefs.transpose(2, 0, 1).reshape(k * K, p), columns=list(self.feature_names))
        frame.insert(0, "intercept", self.intercepts.T.reshape(-1))
        frame.insert(0, "output", np.tile(np.asarray(outputs, dtype=object), k))
        frame.insert(0, "lambda", np.repeat(self.lambdas, K))
        return frame

    def plot(self, ax=None, **kwargs):
        """Coefficient paths against λ (log scale), labelled by feature name; returns the Axes.
        For several outputs: each feature's norm over the outputs, or one output's coefficients
        with ``output=label``."""
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
    """``(y, classes)`` as the solvers take them: numbers (checked by the data fit), ±1 labels for
    the log-loss (two classes), one-hot rows for the multinomial (``classes`` sorted)."""
    if not datafit.needs_labels:
        y = np.asarray(y, dtype=np.float64)
        datafit.check_target(y)
        return y, None
    classes = np.unique(y)
    if datafit.multi_output:  # class labels → one-hot rows
        if classes.shape[0] < 2:
            raise ValueError(f"a multinomial model needs at least 2 classes in y, got only one: "
                             f"{classes.tolist()[0]!r}.")
        return v.encode_one_hot(y, classes, sample_weight), classes
    if classes.shape[0] != 2:  # two class labels → ±1
        raise ValueError(
            f"a logistic path needs exactly 2 classes in y, got {classes.shape[0]}: "
            f"{classes.tolist()[:10]!r}. Use datafit='multinomial' for more classes."
        )
    return v.encode_binary_targets(y, classes, sample_weight), classes


def regularization_path(X, y, penalty="l1", *, l1_ratio=0.5, weights=None, datafit="squared_error",
                        lambdas=None, n_lambdas=100, eps=None, sample_weight=None, fit_intercept=True,
                        tol=1e-4, max_iter=1000, screening="auto", positive=False, bounds=None, offset=None,
                        standardize=False):
    """Solutions of ``L_data(w, b) + λ·R(w)`` for a decreasing grid of λ, with warm starts.

    Parameters
    ----------
    X : array or sparse matrix (n_samples, n_features); a DataFrame names the features.
    y : array (n_samples,) or (n_samples, n_tasks)
        Numbers for ``datafit="squared_error"`` (a 2-D ``y``: several tasks, multi-task least
        squares; a DataFrame names them); two class labels for ``"logistic"`` (``classes[1]`` is
        coded +1); K ≥ 2 class labels for ``"multinomial"``; counts ≥ 0 for ``"poisson"``.
    penalty : "l1", "l2", "elasticnet", "mcp", "scad" or a penalty object, default "l1"
        The unit penalty ``R`` (see the module docstring for what λ means with each). Any
        penalty object works (``GroupL1``, ``L1 + GroupL1``, ``MCP``, ...); non-convex ones
        start from the lasso side (``λ_max``, all zero) with warm starts, as ncvreg does.
    l1_ratio : float in [0, 1], default 0.5
        ρ of ``"elasticnet"``: ``R = ρ Σ c_j|w_j| + (1−ρ)/2 Σ c_j w_j²`` (scikit-learn, glmnet).
    weights : array (n_features,), optional
        Per-feature penalty factors ``c_j`` ≥ 0 for string penalties (glmnet's
        ``penalty.factor``; 0 = unpenalized). A penalty object carries its own.
    datafit : "squared_error", "logistic", "multinomial", "poisson" or a Datafit, default "squared_error"
        Mean squared error, mean log-loss, mean multinomial cross-entropy or mean Poisson loss
        (sample-weighted means).
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
    standardize : bool, default False
        glmnet's ``standardize=TRUE``: the penalty acts on the coefficients of the columns
        scaled by their (weighted, 1/n) standard deviations; ``coefs``, ``bounds`` and the
        reported ``penalty`` are on the original scale; λ_max and the grid follow
        (:mod:`penalized.standardize`).
    offset : array (n_samples,) or (n_samples, n_outputs), optional
        Added to the linear predictor (glmnet's offset: log-exposures, a base model's scores);
        a 1-D offset is the same for every output.

    Returns
    -------
    PathResult
        ``lambdas``, ``coefs`` (n_features, k) — (n_outputs, n_features, k) for the multinomial
        and a 2-D ``y`` —, ``intercepts``, ``dual_gaps``, ``n_nonzero``, ``train_loss``, … and
        ``plot()``.

    One :class:`~sklearn.exceptions.ConvergenceWarning` sums up the points that did not
    reach the tolerance.
    """
    if is_dask_collection(X):  # one pass, then the whole path in Gram mode (penalized.dask.cv)
        from .dask.cv import regularization_path as dask_path

        if positive or bounds is not None or offset is not None or standardize:
            raise NotImplementedError("regularization_path on Dask input takes no positive=, bounds=, offset= or "
                                      "standardize= (compute X to NumPy for them).")
        return dask_path(X, y, penalty, l1_ratio=l1_ratio, weights=weights, datafit=datafit, lambdas=lambdas,
                         n_lambdas=n_lambdas, eps=eps, sample_weight=sample_weight, fit_intercept=fit_intercept,
                         tol=tol, max_iter=max_iter, screening=screening)
    datafit = resolve_datafit(datafit)
    v.check_path_solver_params(tol, max_iter, fit_intercept)
    v.check_screening(screening)
    data = prepare_data(X, y, datafit, sample_weight, offset)
    X, y, sample_weight, offset = data.X, data.y, data.sample_weight, data.offset
    unit = v.check_path_penalty(penalty, l1_ratio, weights, X.shape[1])
    box = check_bounds(bounds, positive, X.shape[1])
    st, reported = None, unit
    if check_standardize(standardize):  # glmnet's: the same objective on X or a scaled copy
        X, unit, box, st = standardized_path_inputs(X, unit, box, sample_weight)
        reported = st.reported_penalty(reported)
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
    if st is not None:
        arrays = path_arrays_to_original(arrays, st)
    if not arrays.converged.all():
        warnings.warn(convergence_message("regularization_path", arrays.certificates, arrays.thresholds,
                                          arrays.converged, grid, tol, max_iter),
                      ConvergenceWarning, stacklevel=2)
    return make_result(arrays, grid, reported, datafit, lam_max, data.feature_names, data.classes, tol,
                       outputs=data.outputs)


def make_result(arrays, lambdas, unit, datafit, lam_max, names, classes=None, tol=1e-4, outputs=None):
    """A :class:`PathResult` from a path's arrays; ``outputs`` (one label per output) gives the
    coefficients an outputs axis, (K, p, k), also for a single column."""
    coefs, intercepts = arrays.coefs, arrays.intercepts
    if outputs is not None and coefs.ndim == 2:  # one task given as a 2-D y
        coefs, intercepts = coefs[None], intercepts[None]
    features_in = coefs != 0 if coefs.ndim == 2 else (coefs != 0).any(axis=0)
    return PathResult(
        lambdas=np.asarray(lambdas, dtype=np.float64), coefs=coefs, intercepts=intercepts,
        dual_gaps=arrays.certificates, n_nonzero=np.count_nonzero(features_in, axis=0),
        train_loss=arrays.train_loss, n_iter=arrays.n_iter, converged=arrays.converged, penalty=unit,
        datafit=datafit, lambda_max=lam_max, feature_names=names, classes=classes, tol=tol,
        thresholds=arrays.thresholds, outputs=outputs,
    )
