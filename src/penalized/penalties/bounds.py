"""Box constraints ``lower_j ≤ w_j ≤ upper_j`` (glmnet's ``lower.limits`` / ``upper.limits``).

A box is the indicator of an interval added to the penalty: the solvers project every
coordinate step onto it (exactly: the prox of a one-dimensional penalty plus an interval
is computed piece by piece, see ``solvers/_kernels/penalties.py``), and the certificate adds the
box's normal cone to each coordinate's optimality condition (and its conjugate to the
duality gap). ``positive=True`` is the box ``[0, ∞)`` (scikit-learn's name).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_bounds"]


def _side(value, n_features, name):
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}.")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}.") from None
    if arr.ndim == 0:
        return np.full(1 if n_features is None else n_features, float(arr))
    if arr.ndim != 1 or (n_features is not None and arr.shape[0] != n_features):
        raise ValueError(f"{name} must be a number or an array of length n_features={n_features}, "
                         f"got shape {arr.shape}.")
    return arr.copy()


def check_bounds(bounds=None, positive=False, n_features=None):
    """``(lower, upper)`` arrays of length ``n_features``, or None for no box.

    ``bounds`` is ``(lower, upper)`` with scalars or per-feature arrays (``None`` or ±inf
    for no bound on a side); ``positive=True`` means ``(0, inf)``. Every box must contain
    0 (the null model) and have ``lower ≤ upper``; NaN is rejected.
    """
    if not isinstance(positive, (bool, np.bool_)):
        raise TypeError(f"positive must be True or False, got {positive!r}.")
    if bounds is None:
        if not positive:
            return None
        bounds = (0.0, np.inf)
    elif positive:
        raise ValueError("give either positive=True or bounds=(lower, upper), not both.")
    if isinstance(bounds, (str, bytes, numbers.Number)) or len(bounds) != 2:
        raise TypeError(f"bounds must be a pair (lower, upper), got {bounds!r}.")
    lower = _side(-np.inf if bounds[0] is None else bounds[0], n_features, "the lower bound")
    upper = _side(np.inf if bounds[1] is None else bounds[1], n_features, "the upper bound")
    for arr, name in ((lower, "lower"), (upper, "upper")):
        if np.isnan(arr).any():
            raise ValueError(f"the {name} bound contains NaN.")
    if np.any(lower > upper):
        j = int(np.argmax(lower > upper))
        raise ValueError(f"bounds have lower > upper (feature {j}: {lower[j]!r} > {upper[j]!r}).")
    if np.any(lower > 0) or np.any(upper < 0):
        j = int(np.argmax((lower > 0) | (upper < 0)))
        raise ValueError(f"bounds must contain 0 (the null model), but feature {j} has "
                         f"[{lower[j]!r}, {upper[j]!r}].")
    if np.all(np.isneginf(lower)) and np.all(np.isposinf(upper)):
        return None
    return lower, upper
