"""Predictions from a path at any λ, and glmnet's printed path table.

**Interpolation** (glmnet's ``predict(fit, newx, s=)`` / ``coef(fit, s=)`` with ``exact=FALSE``):
for ``λ_{i+1} ≤ s ≤ λ_i`` on the decreasing grid, the coefficients *and* the intercept at ``s``
are ``f·θ_i + (1 − f)·θ_{i+1}`` with ``f = (s − λ_{i+1})/(λ_i − λ_{i+1})``: linear on the λ scale
itself (not on log λ), as glmnet's ``lambda.interp``. A value outside the grid is clamped to its
nearest end (above ``λ_max`` every penalized coefficient is zero anyway; below the last point,
the last point is used, as glmnet does). On a grid point the prediction is that point's, exactly.

**Prediction types** (glmnet's ``type=``):

==============  ==========================================================================
``"link"``      the linear predictor ``η = x_iᵀw + b (+ offset)`` (glmnet's ``type="link"``)
``"response"``  least squares: ``η``; log-loss: ``P(classes[1]) = σ(η)``; multinomial: the
                softmax over the K outputs; Poisson: ``μ = exp(η)``; any other data fit:
                ``exp(η)`` when it has no labels and is not least squares (Cox's relative risk)
``"class"``     the label: ``classes[1]`` when ``η > 0`` (log-loss), the arg-max class (multinomial)
==============  ==========================================================================

Shapes: with ``lam=None`` every grid point, (n_samples, k); with one number (n_samples,); with an
array of m values (n_samples, m). Several outputs (multinomial, multi-task) add an outputs axis
after the samples: (n_samples, n_outputs[, m]).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import expit, softmax

from ._path_store import dense_rows, used_features

__all__ = ["interpolation_weights", "interpolate", "predict_path", "summary_frame", "summary_text", "PREDICT_TYPES"]

PREDICT_TYPES = ("link", "response", "class")


def interpolation_weights(lambdas, s):
    """``(left, right, frac)``: the value at each ``s`` is ``frac·θ[left] + (1 − frac)·θ[right]``
    on the decreasing grid ``lambdas`` (glmnet's ``lambda.interp``; clamped to the grid)."""
    lambdas = np.asarray(lambdas, dtype=np.float64)
    s = np.atleast_1d(np.asarray(s, dtype=np.float64))
    k = lambdas.shape[0]
    if k == 1:
        z = np.zeros(s.shape[0], dtype=np.int64)
        return z, z, np.ones(s.shape[0])
    s = np.clip(s, lambdas[-1], lambdas[0])
    # position among the decreasing grid: right = the first index with λ ≤ s
    right = np.searchsorted(-lambdas, -s, side="left")
    right = np.clip(right, 1, k - 1)
    left = right - 1
    frac = (s - lambdas[right]) / (lambdas[left] - lambdas[right])
    exact_right = s == lambdas[right]
    frac = np.where(exact_right, 0.0, frac)
    return left, right, np.clip(frac, 0.0, 1.0)


def _check_lambda(lam):
    arr = np.asarray(lam, dtype=np.float64) if not isinstance(lam, str) else None
    if arr is None or arr.ndim > 1 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"lam must be None, a number ≥ 0 or a 1-D array of them, got {lam!r}.")
    return arr


def _coefficients(path, lam, rows):
    """``(C, B)``: coefficients of features ``rows`` and intercepts at ``lam`` (None: every point);
    C is (len(rows), m) or (K, len(rows), m), B (m,) or (K, m)."""
    store, b = path.coef_store, np.asarray(path.intercepts, dtype=np.float64)
    if lam is None:
        return dense_rows(store, rows), b
    left, right, frac = interpolation_weights(path.lambdas, np.atleast_1d(lam))
    C = dense_rows(store, rows, left) * frac + dense_rows(store, rows, right) * (1.0 - frac)
    B = b[..., left] * frac + b[..., right] * (1.0 - frac)
    return C, B


def interpolate(path, lam):
    """``(coef, intercept)`` of ``path`` at the number ``lam`` (module docstring): coef (p,) or
    (n_outputs, p), as the estimators hold them."""
    if not isinstance(lam, numbers.Real) or isinstance(lam, bool):
        raise TypeError(f"lam must be a number, got {lam!r}.")
    _check_lambda(lam)
    p = path.coef_store.shape[-2]
    C, B = _coefficients(path, float(lam), np.arange(p))
    return C[..., 0], (float(B[0]) if B.ndim == 1 else B[:, 0])


def _check_X(path, X):
    from sklearn.utils import check_array

    X = check_array(X, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32))
    p = path.coef_store.shape[-2]
    if X.shape[1] != p:
        raise ValueError(f"X has {X.shape[1]} features, but the path was fitted with {p}.")
    return X


def link(path, X, lam=None, offset=None):
    """Linear predictors (n, m) or (n, K, m) at ``lam`` (None: every grid point)."""
    X = _check_X(path, X)
    lam = None if lam is None else _check_lambda(lam)
    rows = used_features(path.coef_store)
    C, B = _coefficients(path, lam, rows)
    Xu = X[:, rows]
    if C.ndim == 2:
        Z = np.asarray(Xu @ C) + B
    else:
        Z = np.stack([np.asarray(Xu @ C[j]) + B[j] for j in range(C.shape[0])], axis=1)
    if offset is not None:
        off = np.asarray(offset, dtype=np.float64)
        if off.shape[0] != X.shape[0] or off.ndim > Z.ndim - 1 or not np.all(np.isfinite(off)):
            raise ValueError(f"offset must be finite, of shape ({X.shape[0]},) (or ({X.shape[0]}, n_outputs)), "
                             f"got shape {off.shape}.")
        Z = Z + (off[:, None] if off.ndim == 1 and Z.ndim == 2 else
                 off[:, None, None] if off.ndim == 1 else off[:, :, None])
    return Z


def response(path, Z):
    """The response scale of linear predictors ``Z`` (module docstring)."""
    return response_of(path.datafit, Z)


def response_of(datafit, Z):
    """The response scale of ``datafit``'s linear predictors ``Z`` ((n, k) or (n, K, k))."""
    if datafit.multi_output:
        return softmax(Z, axis=1)
    if datafit.needs_labels:
        return expit(Z)
    if type(datafit).__name__ in ("SquaredError", "Huber"):
        return Z
    return np.exp(Z)


def predict_path(path, X, lam=None, *, kind="link", offset=None):
    """Predictions of ``path`` on ``X`` (module docstring for ``kind`` and the shapes)."""
    if kind not in PREDICT_TYPES:
        raise ValueError(f"type must be one of {PREDICT_TYPES}, got {kind!r}.")
    if kind == "class" and not path.datafit.needs_labels:
        raise ValueError(f"type='class' needs a classification path; this one fits {path.datafit!r}.")
    Z = link(path, X, lam, offset)
    if kind == "link":
        out = Z
    elif kind == "response":
        out = response(path, Z)
    else:
        classes = np.asarray(path.classes)
        out = classes[np.argmax(Z, axis=1)] if Z.ndim == 3 else classes[(Z > 0).astype(int)]
    if lam is not None and np.ndim(lam) == 0:
        out = out[..., 0]
    return out


def summary_frame(path):
    """glmnet's ``print(fit)``: one row per point, ``Df`` (non-zero features), ``%Dev`` (100 × the
    deviance ratio, rounded to 2 decimals as glmnet prints it) and ``Lambda``."""
    import pandas as pd

    dev = path.dev_ratio if path.dev_ratio is not None else np.full(len(path), np.nan)
    return pd.DataFrame({"Df": np.asarray(path.n_nonzero, dtype=int), "%Dev": np.round(100.0 * dev, 2) + 0.0,
                         "Lambda": path.lambdas}, index=pd.RangeIndex(1, len(path) + 1))


def summary_text(path):
    """The table of :func:`summary_frame` as text, with a header naming the model."""
    frame = summary_frame(path)
    head = (f"{type(path.datafit).__name__} + λ·{path.penalty!r}: {len(path)} λ"
            + (" (stopped early)" if path.stopped_early else ""))
    lines = [head, f"{'':>4} {'Df':>6} {'%Dev':>7} {'Lambda':>12}"]
    for i, row in frame.iterrows():
        lines.append(f"{i:>4} {int(row['Df']):>6} {row['%Dev']:>7.2f} {row['Lambda']:>12.5g}")
    return "\n".join(lines)
