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

import functools
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from . import _validation as v
from .dask import is_dask_collection
from .datafits import Datafit
from .path_relax import relaxable
from .path_result import (
    RIDGE_L1_RATIO,
    PathArrays,
    PathResult,
    convergence_message,
    default_eps,
    lambda_grid,
    make_result,
    resolve_datafit,
)
from .penalties import check_bounds
from .solvers.gram_path import path_route
from .standardize import check_standardize, path_arrays_to_original, standardized_path_inputs

__all__ = [
    "RIDGE_L1_RATIO",
    "PathResult",
    "default_eps",
    "lambda_grid",
    "lambda_max",
    "regularization_path",
]

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


def _columns(X, mask):
    cols = np.flatnonzero(mask)
    if sp.issparse(X):
        return X[:, cols].tocsc()
    return np.asfortranarray(X[:, cols])


def solve_path(X, y, datafit, unit, lambdas, *, sample_weight=None, fit_intercept=True, tol=1e-4,
               max_iter=1000, screening="auto", start=None, bounds=None, offset=None, early_stop=False,
               dfmax=None, pmax=None, gram="auto", thresh=0.0):
    """The path on validated data (``y`` already ±1 for the log-loss); no warnings.

    Point k minimises ``L_data + unit.scaled(lambdas[k])`` (within ``bounds``), started from
    point k−1; the first point starts from ``start = (w, b)`` (e.g. the unpenalized fit of
    :func:`_lambda_max`) or zeros, and is solved on the never-screened features first (then
    KKT-checked), so that at λ_max every penalized coefficient is exactly zero.

    ``early_stop``, ``dfmax``, ``pmax``: glmnet's stopping rules (:mod:`penalized._path_stop`);
    the arrays then cover a prefix of ``lambdas``. The coefficients are stored sparse when that
    is smaller (:mod:`penalized._path_store`).

    ``gram``: the covariance method for the squared error on tall designs (every λ solved on the
    Gram matrix computed once, :mod:`penalized.solvers.gram_path`): ``"auto"`` where it pays,
    ``True``, ``False``, or a training set's precomputed ``GramStats`` (CV folds).

    ``thresh``: glmnet's convergence rule on top of the certificate (see :func:`regularization_path`).
    """
    from ._path_stop import PathStop
    from ._path_store import CoefRecorder
    from .solvers import LinearProblem, solve

    n, p = X.shape
    k = len(lambdas)
    K = n_outputs(y)
    recorder = CoefRecorder(p, k, K)
    b_rows = np.zeros(k) if K == 1 else np.zeros((k, K))
    out = PathArrays(None, b_rows.T, np.zeros(k), np.zeros(k),
                     np.zeros(k, dtype=int), np.zeros(k, dtype=bool), np.zeros(k), np.zeros(k))
    stop = PathStop(datafit, y, sample_weight, offset, fit_intercept, early_stop=early_stop, dfmax=dfmax,
                    pmax=pmax)
    n_done = k
    # the penalty's value at a point: coefficients (p,) or, for K outputs, (p, K) (features first)
    pen_value = (lambda penalty, coef: penalty.value(coef)) if K == 1 else (
        lambda penalty, coef: penalty.value(coef.T))
    if thresh:  # glmnet's convergence rule on every coordinate-descent solve of the path
        solve = functools.partial(solve, thresh=thresh)
    reduced = _ReducedProblems(X, y, datafit, unit, sample_weight, fit_intercept, tol, max_iter, bounds, offset)
    reduced._solve = solve
    always = reduced.always  # features never exactly zero (unpenalized, pure L2): never screened out
    can_zero = not always.all()
    # Strong rules need coefficients the penalty can zero; the full problem is used otherwise.
    screen = use_screening(screening, n, p) and can_zero
    covariance = path_route(gram, X, y, datafit, unit, k, sample_weight, fit_intercept, offset)
    if covariance is not None:  # every λ on the Gram matrix: no pass over X per point
        screen, problem, solve_point = False, covariance, covariance.solve_point
    else:
        problem = None if screen else LinearProblem.build(X, y, datafit, sample_weight, fit_intercept, offset=offset)
        solve_point = functools.partial(solve, problem)
    out.method = None if covariance is None else covariance.method
    w0 = np.zeros(p) if K == 1 else np.zeros((K, p))
    w, b = (w0, None) if start is None else (np.array(start[0], dtype=np.float64), start[1])
    grad, prev_lam = None, None
    for i, lam in enumerate(lambdas):
        if i == 0 and always.any() and can_zero:
            w, b, cert, thr, its, ok, loss, grad = reduced.solve(lam, always.copy(), w, b)
            prev_lam = lam
        elif not screen:
            penalty = unit.scaled(lam)
            res = solve_point(penalty, coef_init=w, intercept_init=b, tol=tol, max_iter=max_iter, bounds=bounds)
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
        tighter = stop.tighter_tol(i, loss, tol)
        if tighter is not None:  # the fdev rule may hold, but the certificate cannot tell: solve tighter
            w, b, cert, its_more, loss, grad = _resolve(problem, reduced, unit, lam, w, b, grad, tighter,
                                                        max_iter, bounds, pen_value, solve)
            its += its_more
            ok = ok or cert <= thr
        out.dev_ratio[i] = stop.dev_ratio(loss)
        action = stop.check(i, nonzero_features(w), out.dev_ratio[i])
        if action == "drop":
            n_done = i
            break
        recorder.add(i, w)
        b_rows[i] = b
        out.certificates[i], out.thresholds[i] = cert, thr
        out.n_iter[i], out.converged[i] = its, ok
        out.train_loss[i] = loss
        if action == "stop":
            n_done = i + 1
            break
    return out.truncated(n_done, recorder.result(n_done))


def _resolve(problem, reduced, unit, lam, w, b, grad, tol, max_iter, bounds, pen_value, solve):
    """A point solved again from ``(w, b)`` to a tighter ``tol`` (on the full problem, or on the
    current reduced one when screening): ``(w, b, certificate, epochs, training loss, gradient)``."""
    if problem is not None:
        penalty = unit.scaled(lam)
        solve_point = getattr(problem, "solve_point", None) or functools.partial(solve, problem)  # Gram or X
        res = solve_point(penalty, coef_init=w, intercept_init=b, tol=tol, max_iter=max_iter, bounds=bounds)
        return res.coef, res.intercept, res.certificate, res.n_iter, res.objective - pen_value(penalty, res.coef), grad
    saved = reduced.tol
    reduced.tol = tol
    try:
        w, b, cert, _, its, _, loss, grad = reduced.solve(lam, reduced.keep.copy(), w, b, grad)
    finally:
        reduced.tol = saved
    return w, b, cert, its, loss, grad


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
        # several outputs: the left-out columns kept apart, for the KKT check's gradient
        self.Xout = _columns(self.X, ~keep) if self.multi and not keep.all() else None
        self.problem = LinearProblem.build(self.Xs, self.y, self.datafit, self.sample_weight,
                                           self.fit_intercept, offset=self.offset)
        self.sub_unit = self.unit.subset(self.cols)
        self.sub_bounds = None if self.bounds is None else (self.bounds[0][self.cols], self.bounds[1][self.cols])

    def _multi_gradient(self, res):
        """The full (p, K) gradient at the reduced solution ``res`` (several outputs) in one pass over
        the left-out columns: the kept ones come from the solver's own gradient ``X̃ᵀD = XᵀD − μ(ΣD)ᵀ``
        (centred columns), and ``Xw`` touches only the non-zero coefficients' columns."""
        n, K = self.Xs.shape[0], res.coef.shape[0]
        z = np.empty((n, K))
        z[:] = res.intercept
        nz = np.flatnonzero((res.coef != 0).any(axis=0))
        if nz.size:
            z += np.asarray(self.Xs[:, nz] @ res.coef[:, nz].T)
        if self.offset is not None:
            z += self.offset
        d = self.datafit.derivative(self.y, z, self.sample_weight)
        if res.gradient is None:  # a solver that does not return its gradient
            return np.asarray(self.X.T @ d)
        grad = np.empty((self.keep.shape[0], K))
        grad[self.cols] = res.gradient.T + np.outer(self.problem.mu, d.sum(axis=0))
        if self.Xout is not None:
            grad[self.outside] = np.asarray(self.Xout.T @ d)
        return grad

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
                    grad = self._multi_gradient(res)
                else:
                    w[self.cols] = res.coef
                    z = self.problem.predictor(res.coef, b)  # Xw + b, reusing the solver's last Xw
                    if self.offset is not None:
                        z = z + self.offset
                    d = self.datafit.derivative(self.y, z, self.sample_weight)
                    grad = np.asarray(self.X.T @ d).ravel()
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


@relaxable(prepare_data)  # relax=True: the unpenalized refit of each support (penalized.path_relax)
def regularization_path(X, y, penalty="l1", *, l1_ratio=0.5, weights=None, datafit="squared_error",
                        lambdas=None, n_lambdas=100, eps=None, sample_weight=None, fit_intercept=True,
                        tol=1e-4, max_iter=1000, screening="auto", positive=False, bounds=None, offset=None,
                        standardize=False, early_stop="auto", dfmax=None, pmax=None, thresh=None):
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
    datafit : "squared_error", "logistic", "multinomial", "poisson", "cox", "huber" or a data fit object
        Mean squared error, mean log-loss, mean multinomial cross-entropy or mean Poisson loss
        (sample-weighted means); ``"cox"`` / ``pz.Cox(ties=...)`` (``y`` survival data, no
        intercept) and ``pz.Huber(delta)`` run :mod:`penalized.glm.path` (``max_iter``, capped at
        100, counts proximal Newton steps per λ).
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
    early_stop : bool or "auto", default "auto"
        glmnet's early exit: after at least 5 points, stop once the deviance ratio changes by less
        than a fraction 1e-5 between successive λ or exceeds 0.999 (:mod:`penalized._path_stop`);
        the result then covers a prefix of the grid. "auto": on for the default grid, off for
        your ``lambdas`` (as glmnet, which never cuts a user grid short).
    dfmax : int, optional
        Stop after the first point with more than ``dfmax`` non-zero features (glmnet's ``dfmax``;
        applied to any grid, where glmnet applies it to its own grid only).
    pmax : int, optional
        End the path before the first point at which more than ``pmax`` features have ever been
        non-zero (glmnet's ``pmax``).
    thresh : float, optional
        glmnet's convergence rule on top of the certificate (None: off; see :func:`penalized.solvers.solve`).

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
        unsupported = dict(positive=positive, bounds=bounds, offset=offset, standardize=standardize, dfmax=dfmax,
                           pmax=pmax, early_stop=early_stop, thresh=thresh)
        return _dask_path(X, y, penalty, unsupported, l1_ratio=l1_ratio, weights=weights, datafit=datafit,
                          lambdas=lambdas, n_lambdas=n_lambdas, eps=eps, sample_weight=sample_weight,
                          fit_intercept=fit_intercept, tol=tol, max_iter=max_iter, screening=screening)
    from .glm import as_vector_datafit

    if as_vector_datafit(datafit) is not None:  # Huber, Cox: the proximal Newton loop (penalized.glm.path)
        from .glm.path import vector_path

        return vector_path(X, y, penalty, datafit=as_vector_datafit(datafit), l1_ratio=l1_ratio, weights=weights,
                           lambdas=lambdas, n_lambdas=n_lambdas, eps=eps, sample_weight=sample_weight,
                           fit_intercept=fit_intercept, tol=tol, max_iter=min(max_iter, 100), positive=positive,
                           bounds=bounds, offset=offset, standardize=standardize)
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
    grid, lam_max, start = _path_grid(lambdas, n_lambdas, eps, X, y, datafit, unit, sample_weight, fit_intercept,
                                      tol, box, offset)
    early, dfmax, pmax = _check_early_stop(early_stop, lambdas is None), *_check_max_features(dfmax, pmax)
    with single_threaded_blas():
        arrays = solve_path(X, y, datafit, unit, grid, sample_weight=sample_weight, start=start,
                            fit_intercept=fit_intercept, tol=tol, max_iter=max_iter, screening=screening, bounds=box,
                            offset=offset, early_stop=early, dfmax=dfmax, pmax=pmax, thresh=check_thresh(thresh))
    arrays = arrays if st is None else path_arrays_to_original(arrays, st)
    if not arrays.converged.all():
        warnings.warn(convergence_message("regularization_path", arrays.certificates, arrays.thresholds,
                                          arrays.converged, grid[:len(arrays.converged)], tol, max_iter),
                      ConvergenceWarning, stacklevel=2)
    return make_result(arrays, grid, reported, datafit, lam_max, data.feature_names, data.classes, tol,
                       outputs=data.outputs)


def _dask_path(X, y, penalty, unsupported, **options):
    """:func:`regularization_path` on Dask input (:mod:`penalized.dask.cv`); ``unsupported``: the
    options it does not take: any of them set raises NotImplementedError."""
    u = unsupported
    if u["positive"] or u["bounds"] is not None or u["offset"] is not None or u["standardize"] or \
            u["dfmax"] is not None or u["pmax"] is not None or u["early_stop"] is True or u["thresh"] is not None:
        raise NotImplementedError("regularization_path on Dask input runs the whole grid and takes no positive=, "
                                  "bounds=, offset=, standardize=, dfmax=, pmax=, thresh= or early_stop=True "
                                  "(compute X to NumPy for them).")
    from .dask.cv import regularization_path as dask_path

    return dask_path(X, y, penalty, **options)


def _path_grid(lambdas, n_lambdas, eps, X, y, datafit, unit, sample_weight, fit_intercept, tol, box, offset):
    """``(grid, λ_max, start)``: the user's grid checked (λ_max unknown: nan), or glmnet's default
    grid from λ_max (and the solution there, the path's first warm start)."""
    if lambdas is not None:
        return v.check_lambda_grid(lambdas), float("nan"), None
    v.check_grid_params(n_lambdas, eps)
    with single_threaded_blas():
        lam_max, _, start = _lambda_max(X, y, datafit, unit, sample_weight, fit_intercept, tol, box, offset)
    return lambda_grid(lam_max, n_lambdas, default_eps(*X.shape) if eps is None else eps), lam_max, start


def _check_max_features(dfmax, pmax):
    return v.check_max_features(dfmax, "dfmax"), v.check_max_features(pmax, "pmax")


def check_thresh(thresh):
    """``thresh`` resolved to a number (0: off): None or a finite number ≥ 0."""
    if thresh is None:
        return 0.0
    if isinstance(thresh, (bool, np.bool_)) or not isinstance(thresh, (int, float, np.integer, np.floating)) or \
            not np.isfinite(thresh) or thresh < 0:
        raise ValueError(f"thresh must be None or a finite number >= 0, got {thresh!r}.")
    return float(thresh)


def _check_early_stop(early_stop, default_grid):
    """``early_stop`` resolved: "auto" is on for the default grid only."""
    if isinstance(early_stop, str) and early_stop == "auto":
        return default_grid
    if not isinstance(early_stop, (bool, np.bool_)):
        raise ValueError(f"early_stop must be True, False or 'auto', got {early_stop!r}.")
    return bool(early_stop)


