"""The one validation layer: every public entry point checks its input here.

Errors are ``ValueError`` or ``TypeError`` whose message names the argument and the
problem. Nothing here mutates its input (arrays are copied when converted).
"""

from __future__ import annotations

import numbers

import numpy as np
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
    "read_csv_table",
    "check_table",
    "check_cv_folds",
]


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
    return _validate(estimator, X, "no_validation", reset=False, accept_sparse=["csr", "csc"],
                     dtype=[np.float64, np.float32])


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

    if isinstance(penalty, str):
        if penalty in ("group", "sparse_group"):
            raise ValueError(f"penalty {penalty!r} needs groups: pass a penalty object such as "
                             "penalized.GroupL1(1.0, groups=labels).")
        if penalty == "elasticnet":
            check_l1_ratio(l1_ratio)
        c = check_penalty_weights(weights, n_features)
        return Penalty.from_name(penalty, 1.0, l1_ratio=l1_ratio, weights=c)
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

# -- penalized.nn (PyTorch) ----------------------------------------------------------------
# These helpers never import torch themselves: they only inspect the objects they receive.


def check_factor(value, name="schedule(step)"):
    """A λ multiplier (e.g. the value of a warm-up schedule): a finite real number ≥ 0."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must return a real number >= 0, got {value!r}.") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must return a finite number >= 0, got {value!r}.")
    return value


def check_floating_parameters(named_params, what="penalized parameters"):
    """Every ``(name, tensor)`` must have a real floating-point dtype (TypeError otherwise)."""
    bad = [f"{name} ({param.dtype})" for name, param in named_params
           if not param.dtype.is_floating_point]
    if bad:
        shown = ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise TypeError(f"{what} must be floating-point tensors; got non-floating {shown}.")


def check_selection_nonempty(selected, description):
    """A parameter selection must select something (ValueError naming the selection)."""
    if not selected:
        raise ValueError(f"the penalty selects no parameter: {description}.")
    return selected


def compile_name_pattern(pattern, names, argname="include"):
    """A predicate ``name -> bool`` for a parameter-name pattern.

    Glob by default (``fnmatch``, case-sensitive, matched against the whole dotted name,
    e.g. ``"features.*.weight"``); a pattern starting with ``"re:"`` is a regular
    expression matched with ``re.fullmatch`` (``"re:layers\\.[0-3]\\.weight"``). A pattern
    that matches none of ``names`` is a ValueError (almost always a typo).
    """
    import fnmatch
    import re

    if not isinstance(pattern, str) or not pattern:
        raise TypeError(f"{argname}: a name pattern must be a non-empty string, got {pattern!r}.")
    if pattern.startswith("re:"):
        try:
            regex = re.compile(pattern[3:])
        except re.error as exc:
            raise ValueError(f"{argname}: invalid regular expression {pattern[3:]!r}: {exc}.") from None

        def match(name):
            return regex.fullmatch(name) is not None
    else:
        def match(name):
            return fnmatch.fnmatchcase(name, pattern)

    if not any(match(n) for n in names):
        shown = ", ".join(list(names)[:8]) + (" ..." if len(names) > 8 else "")
        raise ValueError(f"{argname}: pattern {pattern!r} matches no parameter name of the model "
                         f"(names look like: {shown}).")
    return match

# -- tables (the ``penalized fit`` / ``penalized path`` commands) --------------------------------
_GZIP_MAGIC = b"\x1f\x8b"


def _rows(index, limit=5):
    """'rows 3, 7, 9 …' for 0-based positions, shown as 1-based data rows."""
    shown = ", ".join(str(int(i) + 1) for i in index[:limit])
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return f"row{'s' if len(index) > 1 else ''} {shown}{more}"


def _names(names, limit=8):
    shown = ", ".join(repr(str(n)) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def read_csv_table(path):
    """A CSV file (plain or gzip-compressed, detected from its first bytes) as a DataFrame.

    Errors (``FileNotFoundError``, ``IsADirectoryError``, ``ValueError``) say what is wrong
    with the file in one line. The file is only read.
    """
    from pathlib import Path

    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist.")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a CSV file.")
    with path.open("rb") as fh:
        head = fh.read(2)
    compression = "gzip" if head == _GZIP_MAGIC else None
    if compression is None and path.suffix == ".gz":
        raise ValueError(f"{str(path)!r} ends in .gz but is not gzip-compressed.")
    try:
        frame = pd.read_csv(path, compression=compression)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{str(path)!r} is empty: no header, no rows.") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "parse error"
        raise ValueError(f"{str(path)!r} is not a readable CSV file: {first}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{str(path)!r} is not UTF-8 text; is it a CSV file?") from None
    except (EOFError, OSError) as exc:  # truncated or corrupt gzip
        raise ValueError(f"{str(path)!r} could not be decompressed: {exc}") from None
    if frame.shape[0] == 0:
        raise ValueError(f"{str(path)!r} has a header but no data rows.")
    return frame


def check_table(frame, target, *, task="auto", max_levels=20, source="the table", offset=None):
    """Split a DataFrame into features and target, and check both for ``penalized fit``.

    - ``target`` must be a column; it may have no missing values.
    - Feature columns are numeric, boolean (used as 0/1) or text with at most
      ``max_levels`` distinct values (one-hot encoded later); text columns that are
      numbers except for a few stray values, or that have more levels, are errors.
    - Missing values (NaN, empty cells) in features are errors naming columns and rows.
    - ``task``: ``"auto"`` is classification for a non-numeric or two-valued target,
      regression otherwise. Classification needs ≥ 2 classes; ``"poisson"`` needs counts ≥ 0
      (not all 0).
    - ``offset``: a numeric column without missing values, added to the linear predictor
      (``log(exposure)`` for Poisson rates); it is not a feature. Only with ``task="poisson"``.

    Returns a ``Bunch`` with ``X`` (DataFrame, features), ``y`` (ndarray), ``task``,
    ``numeric`` and ``categorical`` (column names), ``levels`` ({column: n levels}),
    ``classes`` (sorted class labels or None) and ``offset`` (ndarray or None). Nothing in
    ``frame`` is modified.
    """
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_numeric_dtype
    from sklearn.utils import Bunch

    if task not in ("auto", "regression", "classification", "poisson"):
        raise ValueError(f"task must be 'auto', 'regression', 'classification' or 'poisson', got {task!r}.")
    columns = [str(c) for c in frame.columns]
    _check_column_name(target, columns, source, "target column")
    if offset is not None:
        if task != "poisson":
            raise ValueError(f"--offset is used with --task poisson only (the log of an exposure: counts per "
                             f"unit of time, area, ...); got --task {task}.")
        _check_column_name(offset, columns, source, "offset column")
        if offset == target:
            raise ValueError(f"the offset column {offset!r} is also the target.")
    frame = frame.copy()
    frame.columns = columns
    y_col = frame.pop(target)
    offset_values = None if offset is None else _offset_column(frame.pop(offset), offset)
    if frame.shape[1] == 0:
        raise ValueError(f"{source} has no feature columns besides the target {target!r}.")
    if len(frame) < 2:
        raise ValueError(f"{source} has {len(frame)} data row; at least 2 are needed to fit a model.")

    missing = np.flatnonzero(y_col.isna().to_numpy())
    if missing.size:
        raise ValueError(f"target column {target!r} has {missing.size} missing value(s) at data "
                         f"{_rows(missing)} (counting from 1 below the header); drop or fill those rows.")

    numeric, categorical, levels, problems = [], [], {}, []
    nan_report = []
    for col in frame.columns:
        s = frame[col]
        if is_bool_dtype(s.dtype):
            frame[col] = s.astype(float)
            numeric.append(col)
        elif is_numeric_dtype(s.dtype):
            numeric.append(col)
        else:
            values = s.dropna()
            as_num = pd.to_numeric(values, errors="coerce")
            bad = as_num.isna().to_numpy()
            if len(values) and 0 < bad.sum() <= 0.1 * len(values):
                pos = np.flatnonzero(s.notna().to_numpy())[bad]
                examples = ", ".join(repr(str(v)) for v in pd.unique(values[bad])[:3])
                problems.append(f"column {col!r} is numeric except for {bad.sum()} value(s) such as "
                                f"{examples} at data {_rows(pos, 3)}; fix or remove them")
                continue
            if len(values) and bad.sum() == 0:  # numbers stored as text
                frame[col] = pd.to_numeric(s, errors="coerce")
                numeric.append(col)
            else:
                n_levels = int(values.astype(str).nunique())
                if n_levels > max_levels:
                    problems.append(f"column {col!r} is text with {n_levels} distinct values, too many to "
                                    f"one-hot encode (limit {max_levels}); drop it or encode it yourself")
                    continue
                frame[col] = s.astype(object).where(s.isna(), s.astype(str))
                categorical.append(col)
                levels[col] = n_levels
        nan_rows = np.flatnonzero(frame[col].isna().to_numpy())
        if nan_rows.size:
            nan_report.append((col, nan_rows))
    if nan_report:
        total = sum(len(r) for _, r in nan_report)
        detail = "; ".join(f"{c!r}: {len(r)} at data {_rows(r, 3)}" for c, r in nan_report[:5])
        more = f"; and {len(nan_report) - 5} more column(s)" if len(nan_report) > 5 else ""
        problems.append(f"{total} missing value(s) (NaN or empty) in {len(nan_report)} feature column(s) "
                        f"— {detail}{more}; drop or impute them")
    if problems:
        raise ValueError(f"{source}: " + " | ".join(problems) + ".")

    y_numeric = is_numeric_dtype(y_col.dtype) and not is_bool_dtype(y_col.dtype)
    n_unique = int(y_col.nunique())
    if task == "auto":
        task = "regression" if (y_numeric and n_unique > 2) else "classification"
    if task in ("regression", "poisson"):
        if not y_numeric:
            example = str(y_col.iloc[0])
            raise ValueError(f"--task {task} needs a numeric target; {target!r} has values such as "
                             f"{example!r}. Use --task classification.")
        y = y_col.to_numpy(dtype=np.float64)
        classes = None
        if task == "poisson":
            negative = np.flatnonzero(y < 0)
            if negative.size:
                raise ValueError(f"--task poisson needs counts >= 0; target {target!r} has {negative.size} "
                                 f"negative value(s) (e.g. {y[negative[0]]:g}) at data {_rows(negative, 3)}.")
            if not np.any(y > 0):
                raise ValueError(f"--task poisson needs some positive count; target {target!r} is 0 everywhere.")
    else:
        y = y_col.to_numpy()
        if y_numeric and not np.all(np.mod(y.astype(float), 1) == 0):
            raise ValueError(f"--task classification needs class labels; {target!r} holds non-integer "
                             f"numbers ({n_unique} distinct values). Use --task regression.")
        if y_col.dtype == object:
            y = y.astype(str)
        classes = np.unique(y)
        if classes.shape[0] < 2:
            raise ValueError(f"target {target!r} has only one class ({classes[0]!r}); classification "
                             "needs at least two.")
    return Bunch(X=frame, y=y, task=task, numeric=numeric, categorical=categorical, levels=levels,
                 classes=classes, target=target, offset=offset_values, offset_name=offset)


def _check_column_name(name, columns, source, what):
    """A ``ValueError`` naming the column, its near misses and a wrong separator, if ``name`` is absent."""
    if name in columns:
        return
    import difflib

    close = difflib.get_close_matches(name, columns, n=1) or [c for c in columns if c.lower() == name.lower()]
    hint = f" Did you mean {close[0]!r}?" if close else ""
    if len(columns) == 1:
        sep = next((s for s in (";", "\t", "|") if s in columns[0]), None)
        if sep is not None:
            hint += f" The file seems to be separated by {sep!r}; penalized reads comma-separated files."
    raise ValueError(f"{what} {name!r} is not in {source}; its columns are: {_names(columns)}.{hint}")


def _offset_column(column, name):
    """The offset column as finite floats (one line naming the column and rows otherwise)."""
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if not is_numeric_dtype(column.dtype) or is_bool_dtype(column.dtype):
        as_num = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero(as_num.isna().to_numpy() & column.notna().to_numpy())
        if bad.size:
            raise ValueError(f"offset column {name!r} must be numeric; it has values such as "
                             f"{str(column.iloc[bad[0]])!r} at data {_rows(bad, 3)}.")
        column = as_num
    values = column.to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"offset column {name!r} has {bad.size} missing or infinite value(s) at data "
                         f"{_rows(bad, 3)}; an offset must be finite (the log of a positive exposure).")
    return values


def check_cv_folds(table, cv):
    """Enough rows (and rows of every class) for ``cv``-fold cross-validation."""
    n = table.X.shape[0]
    if cv < 2:
        raise ValueError(f"--cv must be at least 2 folds, got {cv}.")
    if n < cv:
        raise ValueError(f"the table has {n} rows, fewer than the --cv {cv} folds; use --cv {n} or "
                         "fewer, or a fixed --lam.")
    if table.task == "classification":
        labels, counts = np.unique(table.y, return_counts=True)
        k = int(np.argmin(counts))
        if counts[k] < cv:
            fix = (f"use --cv {counts[k]} or fewer, or a fixed --lam" if counts[k] >= 2
                   else "use a fixed --lam")
            raise ValueError(f"class {labels[k]!r} has {counts[k]} row(s), fewer than the --cv {cv} "
                             f"folds (every fold needs each class); {fix}.")
    return cv
