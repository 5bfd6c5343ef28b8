"""The one validation layer: every public entry point checks its input here.

Errors are ``ValueError`` or ``TypeError`` whose message names the argument and the
problem. Nothing here mutates its input (arrays are copied when converted).
"""

from __future__ import annotations

import numbers

import numpy as np
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
                      check_finite_X=True):
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
        ensure_all_finite=True if check_finite_X else False,
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


def encode_binary_targets(y, classes, sample_weight=None, name="y"):
    """±1 labels (``classes[1]`` → +1) for a binary problem; both classes need weight."""
    y_pm = np.where(y == classes[1], 1.0, -1.0)
    weight = np.ones_like(y_pm) if sample_weight is None else sample_weight
    for sign, label in zip((-1.0, 1.0), np.asarray(classes).tolist(), strict=True):
        if not np.any((y_pm == sign) & (weight > 0)):
            raise ValueError(f"class {label!r} of {name} has no sample with positive weight.")
    return y_pm
