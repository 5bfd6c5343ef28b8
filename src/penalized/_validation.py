"""Checks of the arrays, estimator parameters, penalties and grids that the estimators,
paths, cross-validation and stability selection receive.

Errors are ``ValueError`` or ``TypeError`` whose message names the argument and the
problem. Nothing here mutates its input (arrays are copied when converted). A user's
table (CSV, columns, target) is checked by :mod:`penalized.table_input`; what
:mod:`penalized.nn` receives (tensors, schedules, name patterns) by
:mod:`penalized.nn._validation`.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils import check_scalar
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from .penalties import Penalty, check_strength

__all__ = [
    "check_strength",
    "check_l1_ratio",
    "check_solver_params",
    "check_penalty",
    "validate_fit_data",
    "validate_predict_data",
    "encode_binary_targets",
    "canonical_sparse",
]


def canonical_sparse(X):
    """``X`` with sorted indices and no duplicate entries (duplicates summed), as the kernels read it.

    A sparse matrix built from ``(data, indices, indptr)`` or ``(data, (row, col))`` may hold
    the same position twice: its value is the sum, but a kernel that reads ``X.data`` column by
    column sees two entries. Already-canonical matrices (and dense arrays) are returned as they
    are, without a copy; otherwise the canonical form is computed on a copy, so that the
    caller's matrix never changes.
    """
    if not sp.issparse(X) or X.format not in ("csc", "csr"):
        return X
    if X.has_canonical_format:
        return X
    X = X.copy()
    X.sum_duplicates()  # also sorts the indices
    return X


def check_l1_ratio(l1_ratio):
    return check_scalar(l1_ratio, "l1_ratio", numbers.Real, min_val=0.0, max_val=1.0)


def check_solver_params(estimator):
    """``tol`` > 0, ``max_iter`` ≥ 1, booleans ``fit_intercept`` and ``warm_start``."""
    check_scalar(estimator.tol, "tol", numbers.Real, min_val=0.0, include_boundaries="neither")
    if not np.isfinite(estimator.tol):
        raise ValueError(f"tol must be finite, got {estimator.tol!r}.")
    check_scalar(estimator.max_iter, "max_iter", numbers.Integral, min_val=1)
    for name in ("fit_intercept", "warm_start"):
        value = getattr(estimator, name)
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}.")


def check_penalty(penalty, name="penalty"):
    """``None`` (no penalty) or a penalty object; returns it unchanged."""
    if penalty is None or isinstance(penalty, Penalty):
        return penalty
    raise TypeError(
        f"{name} must be a penalty object such as penalized.L1(0.1), penalized.L2(0.1), "
        f"penalized.L1L2(l1=0.1, l2=0.1), or None for no penalty; got {penalty!r}."
    )


def _reject_non_numeric_columns(X):
    """Name the offending columns of a DataFrame instead of failing on the first value."""
    if getattr(X, "dtypes", None) is None or not hasattr(X, "columns"):
        return
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    bad = [str(col) for col, dt in X.dtypes.items() if not (is_numeric_dtype(dt) or is_bool_dtype(dt))]
    if bad:
        shown = ", ".join(repr(b) for b in bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise ValueError(
            f"X has {len(bad)} non-numeric column(s): {shown}. Encode categorical columns "
            "(e.g. sklearn.preprocessing.OneHotEncoder) or drop them."
        )


def _validate(estimator, X, y, **kwargs):
    _reject_non_numeric_columns(X)
    try:
        return validate_data(estimator, X, y, **kwargs)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        if "convert" in message or "argument must be" in message:
            raise type(exc)(f"X contains non-numeric values: {message}") from None
        raise


def validate_fit_data(estimator, X, y, sample_weight=None, *, classifier=False, reset=True,
                      check_finite_X=True, multi_output=False):
    """Checked ``(X, y, sample_weight)`` for ``fit``.

    ``X``: 2-D, finite, numeric, ≥ 1 sample and feature; dense (Fortran order) or CSC
    sparse; float32 kept, anything else converted to float64. ``y``: 1-D, finite, same
    length (numeric for regressors, ≥ 2 classes for classifiers). ``sample_weight``:
    finite, ≥ 0, same length, positive sum. ``check_finite_X=False`` leaves the pass over
    ``X`` that finds NaN and infinity to the caller (the solvers' first pass over ``X``
    does it: :meth:`penalized.solvers.LinearProblem.build`).
    """
    X, y = _validate(
        estimator, X, y, reset=reset, accept_sparse="csc", dtype=[np.float64, np.float32],
        order="F", y_numeric=not classifier, ensure_min_samples=1,
        ensure_all_finite=True if check_finite_X else False, multi_output=multi_output,
    )

    X = canonical_sparse(X)
    if classifier:
        check_classification_targets(y)
    else:
        y = np.asarray(y, dtype=np.float64)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if not np.all(np.isfinite(sample_weight)):
            raise ValueError("sample_weight contains NaN or infinity.")
    return X, y, sample_weight


def validate_predict_data(estimator, X):
    """Checked ``X`` for ``predict``: same features as in ``fit``."""
    return canonical_sparse(_validate(estimator, X, "no_validation", reset=False,
                                      accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32]))


def encode_one_hot(y, classes, sample_weight=None, name="y"):
    """One-hot rows (n, K) of the class labels ``y``; every class needs positive weight."""
    Y = (np.asarray(y)[:, None] == np.asarray(classes)[None, :]).astype(np.float64)
    weight = np.ones(len(Y)) if sample_weight is None else sample_weight
    present = (Y * (weight > 0)[:, None]).sum(0) > 0
    if not present.all():
        missing = np.asarray(classes)[~present].tolist()
        raise ValueError(f"class(es) {missing!r} of {name} have no sample with positive weight.")
    return Y


def check_multi_offset(offset, n_samples, n_outputs, name="offset"):
    """``None``, or an offset per sample (n,) — the same for every output — or per sample and
    output (n, K); finite."""
    if offset is None:
        return None
    try:
        arr = np.asarray(offset, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(offset).__name__}.") from None
    if arr.ndim == 1:
        return check_offset(arr, n_samples, name)
    if arr.shape != (n_samples, n_outputs):
        raise ValueError(f"{name} must have shape ({n_samples},) or ({n_samples}, {n_outputs}), got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return np.ascontiguousarray(arr)


def encode_binary_targets(y, classes, sample_weight=None, name="y"):
    """±1 labels (``classes[1]`` → +1) for a binary problem; both classes need weight."""
    y_pm = np.where(y == classes[1], 1.0, -1.0)
    weight = np.ones_like(y_pm) if sample_weight is None else sample_weight
    for sign, label in zip((-1.0, 1.0), np.asarray(classes).tolist(), strict=True):
        if not np.any((y_pm == sign) & (weight > 0)):
            raise ValueError(f"class {label!r} of {name} has no sample with positive weight.")
    return y_pm


# --------------------------------------------------------------------------------------------
# Paths, cross-validation, stability selection
# --------------------------------------------------------------------------------------------
class _DataHolder(BaseEstimator):
    """Stands in for an estimator when a function (not an estimator) validates its data."""


def validate_function_data(X, y, sample_weight=None, *, classifier=False, multi_output=False):
    """:func:`validate_fit_data` for functions: returns ``(X, y, sample_weight, feature_names)``.

    ``feature_names`` are the DataFrame's column names, or ``x0, x1, …``.
    """
    holder = _DataHolder()
    X, y, sample_weight = validate_fit_data(holder, X, y, sample_weight, classifier=classifier,
                                            multi_output=multi_output)
    names = getattr(holder, "feature_names_in_", None)
    if names is None:
        names = np.array([f"x{j}" for j in range(X.shape[1])], dtype=object)
    return X, y, sample_weight, np.asarray(names, dtype=object)


def check_lambda_grid(lambdas, name="lambdas"):
    """A user λ grid: 1-D, finite, > 0 and strictly decreasing (warm starts run from the
    sparsest model down); returned as a float64 array."""
    try:
        grid = np.asarray(lambdas, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D array of positive numbers, got {lambdas!r}.") from None
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {grid.shape}.")
    if not np.all(np.isfinite(grid)):
        raise ValueError(f"{name} contains NaN or infinity.")
    if np.any(grid <= 0):
        raise ValueError(
            f"{name} must be > 0 (λ = 0 is the unpenalized fit; use a small positive value), "
            f"got min {grid.min()!r}."
        )
    if grid.size > 1 and np.any(np.diff(grid) >= 0):
        raise ValueError(
            f"{name} must be sorted in strictly decreasing order (largest first: warm starts go "
            f"from the sparsest model down), got {_short(grid)}; pass np.sort(lambdas)[::-1]."
        )
    return grid


def _short(a):
    return np.array2string(a[:6], precision=4, separator=", ")[:-1] + (", ...]" if a.size > 6 else "]")


def check_grid_params(n_lambdas, eps):
    """``n_lambdas`` ≥ 1 (int) and ``eps`` in (0, 1) or None."""
    check_scalar(n_lambdas, "n_lambdas", numbers.Integral, min_val=1)
    if eps is not None:
        check_scalar(eps, "eps", numbers.Real, min_val=0.0, max_val=1.0, include_boundaries="neither")


def check_path_solver_params(tol, max_iter, fit_intercept):
    """``tol`` > 0 finite, ``max_iter`` ≥ 1, ``fit_intercept`` boolean (for functions)."""
    check_scalar(tol, "tol", numbers.Real, min_val=0.0, include_boundaries="neither")
    if not np.isfinite(tol):
        raise ValueError(f"tol must be finite, got {tol!r}.")
    check_scalar(max_iter, "max_iter", numbers.Integral, min_val=1)
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be True or False, got {fit_intercept!r}.")


def check_offset(offset, n_samples, name="offset"):
    """``None`` or a finite float array of length ``n_samples`` (added to the linear predictor)."""
    if offset is None:
        return None
    try:
        arr = np.asarray(offset, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(offset).__name__}.") from None
    arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(f"{name} must have one value per sample ({n_samples}), got shape {np.shape(offset)}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr.copy()


def check_path_penalty(penalty, l1_ratio=0.5, weights=None, n_features=None):
    """The unit-strength penalty of a path: ``"l1"`` → ``L1(1)``, ``"l2"`` → ``L2(1)``,
    ``"elasticnet"`` → ``L1L2(l1=ρ, l2=(1−ρ)/2)`` (``ElasticNet(lam=1, l1_ratio=ρ)``),
    ``"mcp"``/``"scad"`` → ``MCP(1)``/``SCAD(1)`` (default γ), or a penalty object, used as given
    (path point k is ``penalty.scaled(lambdas[k])``)."""
    from .penalties import Penalty, check_penalty_weights
    from .penalties import from_name as penalty_from_name

    if isinstance(penalty, str):
        if penalty in ("group", "sparse_group"):
            raise ValueError(f"penalty {penalty!r} needs groups: pass a penalty object such as "
                             "penalized.GroupL1(1.0, groups=labels).")
        if penalty == "elasticnet":
            check_l1_ratio(l1_ratio)
        c = check_penalty_weights(weights, n_features)
        return penalty_from_name(penalty, 1.0, l1_ratio=l1_ratio, weights=c)
    if not isinstance(penalty, Penalty):
        raise TypeError("penalty must be 'l1', 'l2', 'elasticnet', 'mcp', 'scad' or a penalty object "
                        f"(penalized.L1, L2, L1L2, GroupL1, MCP, SCAD or a sum of them), got {penalty!r}.")
    if weights is not None:
        raise ValueError("pass per-feature weights inside the penalty object (e.g. L1(1.0, weights=c)), "
                         "not as weights= next to it.")
    if n_features is not None:
        penalty.kernel(n_features)  # checks weights and groups against X
    if penalty.unit_strength() == 0:
        raise ValueError(f"penalty {penalty!r} has zero strength: scaling it along a λ grid changes nothing.")
    return penalty


def check_n_splits(n_splits, n_samples):
    """At most as many folds as samples."""
    if n_splits > n_samples:
        raise ValueError(
            f"cannot split n_samples={n_samples} into {n_splits} cross-validation folds: more folds "
            f"than samples; use cv <= {n_samples}."
        )


def check_fold_classes(y_train, classes, fold, sample_weight=None, model="logistic"):
    """Every class (with positive weight) in the training part of fold ``fold``.

    A fold without a class cannot be fitted: its model has no coefficients for that class
    (the class's intercept would go to −∞), and every held-out sample of the class would
    score an infinite log-loss. The error says which fold misses which class, and the fixes.
    """
    weight = np.ones(len(y_train)) if sample_weight is None else sample_weight
    present = np.unique(y_train[weight > 0])
    missing = [c for c in np.asarray(classes).tolist() if c not in present.tolist()]
    if missing:
        raise ValueError(
            f"the training part of cross-validation fold {fold} has only one class or misses "
            f"class(es) {missing!r} of {len(classes)}: the {model} model cannot be fitted on it. Use fewer "
            "folds, a stratified splitter (sklearn.model_selection.StratifiedKFold) or more samples of "
            "the rare class."
        )


def check_fold_weights(sample_weight, train, test, fold):
    """Some positive weight in both parts of cross-validation fold ``fold``.

    A training part whose samples all have weight 0 has no data to fit; a test part whose
    samples all have weight 0 has no error to measure. The error names the fold and the fixes.
    """
    for part, rows in (("training", train), ("test", test)):
        if rows.size and not np.any(sample_weight[rows] > 0):
            raise ValueError(
                f"the {part} part of cross-validation fold {fold} ({rows.size} samples) has sample_weight 0 "
                "everywhere: it has no data to " + ("fit" if part == "training" else "score")
                + ". Shuffle the folds (cv=KFold(n_splits, shuffle=True)), drop the zero-weight samples, "
                "or use fewer folds."
            )


def check_select(select):
    if select not in ("min", "1se"):
        raise ValueError(f"select must be 'min' or '1se', got {select!r}.")
    return select


def check_gamma(gamma, name="gamma"):
    """A relaxation parameter in [0, 1] (scalar) or a non-empty 1-D grid of them."""
    g = np.atleast_1d(np.asarray(gamma, dtype=np.float64)) if not isinstance(gamma, str) else None
    if g is None or g.ndim != 1 or g.size == 0 or not np.all(np.isfinite(g)) or np.any((g < 0) | (g > 1)):
        raise ValueError(f"{name} must be a number in [0, 1] or a list of them, got {gamma!r}.")
    return g


def check_probability(value, name, *, low=0.0, high=1.0, closed_low=False):
    check_scalar(value, name, numbers.Real, min_val=low, max_val=high,
                 include_boundaries="both" if closed_low else "right")
    return float(value)


def check_screening(screening):
    if not (isinstance(screening, (bool, np.bool_)) or screening == "auto"):
        raise ValueError(f"screening must be True, False or 'auto', got {screening!r}.")
    return screening
