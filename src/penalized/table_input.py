"""A user's table, read and checked before it is modelled (``penalized fit`` and ``penalized path``).

:func:`read_csv_table` reads a CSV file (plain or gzip-compressed); :func:`check_table`
splits a DataFrame into features and target and finds what would stop a model (missing
values, stray text in a numeric column, a single class); :func:`check_cv_folds` checks
that a table has enough rows, and rows of every class, for K-fold cross-validation.

Errors are one line, in the words of the data, and name no command-line option. A
problem with a choice the caller made (the task, the number of folds) is a
:class:`TableError` naming that argument and its value, so that each caller (a Python
user, the command line) can say it in its own terms.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TableError", "read_csv_table", "check_table", "check_cv_folds"]

_GZIP_MAGIC = b"\x1f\x8b"


class TableError(ValueError):
    """A table that cannot be modelled as asked, because of the argument ``argument=value``.

    ``detail`` says what is wrong in the words of the data; ``str(error)`` is
    ``"argument=value: detail"``. The command line reports it as ``--argument value: detail``.
    """

    def __init__(self, argument, value, detail):
        self.argument, self.value, self.detail = argument, value, detail
        super().__init__(f"{argument}={value!r}: {detail}")


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
    _refuse_duplicate_headers(path, compression)
    return frame


def _refuse_duplicate_headers(path, compression):
    """pandas renames a repeated column name ``a`` to ``a.1``: refuse it, naming the columns."""
    import pandas as pd

    header = pd.read_csv(path, compression=compression, header=None, nrows=1, dtype=str).iloc[0]
    names = [str(h).strip() for h in header.tolist()]
    seen, repeated = {}, {}
    for i, name in enumerate(names):
        if name in seen:
            repeated.setdefault(name, [seen[name]]).append(i + 1)
        else:
            seen[name] = i + 1
    if repeated:
        detail = "; ".join(f"{name!r} (columns {', '.join(map(str, cols))})"
                           for name, cols in list(repeated.items())[:5])
        raise ValueError(f"{str(path)!r} has duplicate column names: {detail}. Rename them so that every "
                         "column has its own name.")


def _missing_target_hint(target, columns):
    """' Did you mean …?' and, for a one-column header, the separator the file seems to use."""
    import difflib

    close = difflib.get_close_matches(target, columns, n=1) or [c for c in columns if c.lower() == target.lower()]
    hint = f" Did you mean {close[0]!r}?" if close else ""
    if len(columns) == 1:
        sep = next((s for s in (";", "\t", "|") if s in columns[0]), None)
        if sep is not None:
            hint += f" The file seems to be separated by {sep!r}; penalized reads comma-separated files."
    return hint


def _feature_columns(frame, max_levels):
    """Classify (and convert, in place) the feature columns of ``frame``.

    Returns ``(numeric, categorical, levels, problems)``; ``problems`` lists, in words, every
    column that cannot be used (stray text in numbers, too many text levels, missing values).
    """
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    numeric, categorical, levels, problems, nan_report = [], [], {}, [], []
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
        if col in numeric:
            problem = _out_of_range(frame[col].to_numpy(dtype=np.float64), f"column {col!r}")
            if problem:
                problems.append(problem)
    if nan_report:
        total = sum(len(r) for _, r in nan_report)
        detail = "; ".join(f"{c!r}: {len(r)} at data {_rows(r, 3)}" for c, r in nan_report[:5])
        more = f"; and {len(nan_report) - 5} more column(s)" if len(nan_report) > 5 else ""
        problems.append(f"{total} missing value(s) (NaN or empty) in {len(nan_report)} feature column(s) "
                        f"— {detail}{more}; drop or impute them")
    return numeric, categorical, levels, problems


# Numbers beyond this overflow when squared (standardization, losses): refused, named.
_LARGEST = 1e150


def _out_of_range(values, what):
    """A sentence about infinite or too-large values in ``values`` (NaN aside), or None."""
    inf = np.flatnonzero(np.isinf(values))
    if inf.size:
        return (f"{what} has {inf.size} infinite value(s) (such as {values[inf[0]]:g}) at data {_rows(inf, 3)}; "
                "fix or remove them")
    with np.errstate(invalid="ignore"):
        big = np.flatnonzero(np.abs(values) > _LARGEST)
    if big.size:
        return (f"{what} has {big.size} value(s) too large for double precision (such as {values[big[0]]:g} "
                f"at data {_rows(big, 3)}): their squares overflow; rescale the column or fix the values")
    return None


def _target(y_col, target, task):
    """``(task, y, classes)`` for the target column under ``task`` (``"auto"`` resolved)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    y_numeric = is_numeric_dtype(y_col.dtype) and not is_bool_dtype(y_col.dtype)
    n_unique = int(y_col.nunique())
    if y_numeric:
        problem = _out_of_range(y_col.to_numpy(dtype=np.float64), f"target {target!r}")
        if problem:
            raise ValueError(problem + ".")
    if y_numeric and n_unique == 1 and task in ("auto", "regression", "poisson"):
        raise ValueError(f"target {target!r} has the same value ({y_col.iloc[0]:g}) in every row: there is "
                         "nothing to predict. Check the column, or choose another target.")
    if task == "auto":
        task = "regression" if (y_numeric and n_unique > 2) else "classification"
    if task in ("regression", "poisson"):
        if not y_numeric:
            kind = "a Poisson regression" if task == "poisson" else "a regression"
            raise TableError("task", task, f"{kind} needs a numeric target; {target!r} has values such as "
                                           f"{str(y_col.iloc[0])!r}. Choose classification.")
        y = y_col.to_numpy(dtype=np.float64)
        if task == "poisson":
            negative = np.flatnonzero(y < 0)
            if negative.size:
                raise TableError("task", task, f"a Poisson model needs counts >= 0; target {target!r} has "
                                               f"{negative.size} negative value(s) (e.g. {y[negative[0]]:g}) at "
                                               f"data {_rows(negative, 3)}.")
            if not np.any(y > 0):
                raise TableError("task", task, f"a Poisson model needs some positive count; target {target!r} "
                                               "is 0 everywhere.")
        return task, y, None
    y = y_col.to_numpy()
    if y_numeric and not np.all(np.mod(y.astype(float), 1) == 0):
        raise TableError("task", task, f"a classification needs class labels; {target!r} holds non-integer "
                                       f"numbers ({n_unique} distinct values). Choose regression.")
    if y_col.dtype == object:
        y = y.astype(str)
    classes = np.unique(y)
    if classes.shape[0] < 2:
        only = classes[0].item() if isinstance(classes[0], np.generic) else classes[0]  # 'yes', not np.str_
        raise ValueError(f"target {target!r} has only one class ({only!r}); classification "
                         "needs at least two.")
    return task, y, classes


def _check_column_name(name, columns, source, what):
    """A ``ValueError`` naming the column and its near misses, if ``name`` is not a column."""
    if name not in columns:
        raise ValueError(f"{what} {name!r} is not in {source}; its columns are: "
                         f"{_names(columns)}.{_missing_target_hint(name, columns)}")


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


def check_table(frame, target, *, task="auto", max_levels=20, source="the table", offset=None):
    """Split a DataFrame into features and target, and check both.

    - ``target`` must be a column; it may have no missing values.
    - Feature columns are numeric, boolean (used as 0/1) or text with at most
      ``max_levels`` distinct values (one-hot encoded later); text columns that are
      numbers except for a few stray values, or that have more levels, are errors.
    - Missing values (NaN, empty cells) in features are errors naming columns and rows.
    - ``task``: ``"auto"`` is classification for a non-numeric or two-valued target,
      regression otherwise. Classification needs ≥ 2 classes; ``"poisson"`` needs counts
      ≥ 0, not all 0. A target that does not fit the task asked for is a
      :class:`TableError` on ``task``.
    - ``offset``: the name of a numeric column without missing values, added to the linear
      predictor (``log(exposure)`` for Poisson rates); it is not a feature. Poisson only.

    Returns a ``Bunch`` with ``X`` (DataFrame, features), ``y`` (ndarray), ``task``,
    ``numeric`` and ``categorical`` (column names), ``levels`` ({column: n levels}),
    ``classes`` (sorted class labels or None), ``target``, ``offset`` (ndarray or None) and
    ``offset_name``. Nothing in ``frame`` is modified; ``source`` names the table in messages.
    """
    from sklearn.utils import Bunch

    if task not in ("auto", "regression", "classification", "poisson"):
        raise ValueError(f"task must be 'auto', 'regression', 'classification' or 'poisson', got {task!r}.")
    columns = [str(c) for c in frame.columns]
    _check_column_name(target, columns, source, "target column")
    if offset is not None:
        if task != "poisson":
            raise TableError("offset", offset, f"an offset (the log of an exposure: counts per unit of time, "
                                               f"area, ...) goes with the poisson task only; the task is {task!r}.")
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
    numeric, categorical, levels, problems = _feature_columns(frame, max_levels)
    if problems:
        raise ValueError(f"{source}: " + " | ".join(problems) + ".")
    task, y, classes = _target(y_col, target, task)
    return Bunch(X=frame, y=y, task=task, numeric=numeric, categorical=categorical, levels=levels,
                 classes=classes, target=target, offset=offset_values, offset_name=offset)


def check_cv_folds(table, cv):
    """Enough rows (and rows of every class) of a checked table for ``cv``-fold cross-validation.

    Returns ``cv``; a shortfall is a :class:`TableError` on ``cv``.
    """
    n = table.X.shape[0]
    if cv < 2:
        raise TableError("cv", cv, "cross-validation needs at least 2 folds.")
    if n < cv:
        raise TableError("cv", cv, f"the table has {n} rows, fewer than {cv} cross-validation folds; use "
                                   f"{n} folds or fewer, or a fixed λ.")
    if table.task == "classification":
        labels, counts = np.unique(table.y, return_counts=True)
        k = int(np.argmin(counts))
        if counts[k] < cv:
            fix = f"use {counts[k]} folds or fewer, or a fixed λ" if counts[k] >= 2 else "use a fixed λ"
            label = labels[k].item() if isinstance(labels[k], np.generic) else labels[k]  # 'yes', not np.str_('yes')
            raise TableError("cv", cv, f"class {label!r} has {counts[k]} row(s), fewer than {cv} "
                                       f"cross-validation folds (every fold needs each class); {fix}.")
    return cv
