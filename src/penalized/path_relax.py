"""Relaxed regularization paths (glmnet's ``glmnet(..., relax=TRUE)`` and ``predict(fit, gamma=)``).

For each point ``k`` of a path, with ``w_k`` its penalized fit and ``S_k`` its support (the
features with a non-zero coefficient), ``w̃_k`` is the *unpenalized* fit of the same data fit
(same sample weights, offsets and intercept treatment) over the coefficients with ``w_j = 0``
off ``S_k`` — the refit of :func:`penalized.relaxed_glm.refit_support` (least squares, the
maximum-likelihood logistic, Poisson or Cox model on the support). The relaxed path at ``γ`` is

    w_k(γ) = γ · w_k + (1 − γ) · w̃_k,      b_k(γ) = γ · b_k + (1 − γ) · b̃_k,      γ ∈ [0, 1]

(``γ = 1``: the penalized path, ``γ = 0``: the refits; glmnet's ``gamma``). Points with the same
support share one refit; each new support's refit starts from the previous refit (warm start).
A point with an empty support keeps its penalized fit (the intercept-only model).

Between grid points, ``predict(X, lam=s, gamma=γ)`` interpolates the penalized and the refit
coefficients linearly in λ (as glmnet's ``predict.relaxed``, which interpolates both fits) and
mixes them; on a grid point it is that point's relaxed fit exactly.

``regularization_path(..., relax=True)`` stores the refits as ``result.relaxed``, a
:class:`~penalized.path_result.PathResult` on the same grid (``train_loss`` the refits' data fit,
``dev_ratio`` theirs, ``dual_gaps`` NaN: each refit is certified by its own solver, ``converged``
per refit, False where the refit explains more than 99.9 % of the deviance, glmnet's stop, beyond
least squares: separated classes, no finite minimiser; one ConvergenceWarning counts them).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ._path_stop import DEVMAX

__all__ = ["check_relax", "relax_path", "relaxable", "relaxed_at"]


def check_relax(relax, datafit=None, positive=False, bounds=None):
    """``relax`` as a bool; ValueError for a non-bool, or for relax=True with constraints or a data
    fit without a relaxed refit (Huber)."""
    if not isinstance(relax, (bool, np.bool_)):
        raise ValueError(f"relax must be True or False, got {relax!r}.")
    if not relax:
        return False
    if positive or bounds is not None:
        raise ValueError("relax=True refits each support without a penalty or constraints; it takes no "
                         "positive= or bounds=.")
    name = datafit.lower() if isinstance(datafit, str) else type(datafit).__name__.lower()
    if name == "huber":
        raise ValueError("relax=True is not available for the Huber data fit (no relaxed refit); use "
                         "squared_error, logistic, multinomial, poisson or cox.")
    return True


def _check_gamma(gamma):
    if isinstance(gamma, (bool, np.bool_)) or not isinstance(gamma, (int, float, np.integer, np.floating)) \
            or not np.isfinite(gamma) or not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be a number in [0, 1], got {gamma!r}.")
    return float(gamma)


def _dense(store):
    coefs = store.toarray() if sp.issparse(store) else np.asarray(store, dtype=np.float64)
    return coefs[None] if coefs.ndim == 2 else coefs


def _refits(datafit, X, y, coefs, intercepts, sample_weight, offset, fit_intercept):
    """``(R (n_outputs, p, k), Rb (n_outputs, k), converged (k,))``: one refit per distinct support,
    each warm-started from the previous refit."""
    from .relaxed_glm import refit_support

    n_out, p, k = coefs.shape
    R, Rb, ok = np.zeros(coefs.shape), np.zeros((n_out, k)), np.ones(k, dtype=bool)
    last_key, last, warm = None, None, (None, None)
    for i in range(k):
        support = np.any(coefs[:, :, i] != 0, axis=0)
        key = support.tobytes()
        if key != last_key:
            if not support.any():  # the penalized fit is the intercept-only (null) model
                last = (coefs[:, :, i], intercepts[:, i], True)
            else:
                with warnings.catch_warnings():  # counted and reported below
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    w, b, conv = refit_support(datafit, X, y, support, sample_weight, offset, fit_intercept,
                                               coef_init=warm[0], intercept_init=warm[1])
                last = (np.reshape(w, (n_out, p)), np.reshape(b, n_out), conv)
                if n_out == 1:
                    warm = (last[0][0], float(last[1][0]))
            last_key = key
        R[:, :, i], Rb[:, i], ok[i] = last
    return R, Rb, ok


def _fit_summary(datafit, X, y, R, Rb, sample_weight, offset, fit_intercept):
    """``(train_loss, dev_ratio)`` of each refit (NaN where not evaluated here: several outputs; Cox:
    no deviance ratio)."""
    from ._path_stop import PathStop
    from .glm import as_vector_datafit

    k = R.shape[2]
    if R.shape[0] != 1:
        return np.full(k, np.nan), None
    Z = np.asarray(X @ R[0]) + Rb[0]
    if offset is not None:
        Z = Z + np.reshape(offset, (-1, 1))
    vector = as_vector_datafit(datafit)
    if vector is not None:
        bound = vector.bind(y, sample_weight)
        return np.array([bound.value(Z[:, i]) for i in range(k)]), None
    loss = np.array([datafit.value(y, Z[:, i], sample_weight) for i in range(k)])
    stop = PathStop(datafit, y, sample_weight, offset, fit_intercept)
    return loss, np.array([stop.dev_ratio(v) for v in loss])


def relax_path(result, X, y, sample_weight=None, offset=None, fit_intercept=True, *, quiet=False):
    """``result`` with ``result.relaxed`` set: the refits of every point (module docstring).

    ``X`` on the original scale, ``y`` as the solvers take it (±1 labels, one-hot rows, counts,
    survival data), ``sample_weight`` / ``offset`` as the path used them. ``quiet``: no warning for
    the refits without a finite minimiser (``relaxed.converged`` still says which).
    """
    from .glm import as_vector_datafit

    datafit = result.datafit
    if as_vector_datafit(datafit) is not None and type(datafit).__name__ == "Huber":
        raise ValueError("relax=True is not available for the Huber data fit.")
    coefs = _dense(result.coef_store)
    intercepts = np.reshape(np.asarray(result.intercepts, dtype=np.float64), (coefs.shape[0], coefs.shape[2]))
    from .solvers.coordinate_descent import _single_threaded_blas

    with _single_threaded_blas():  # small solves: a multi-threaded BLAS spin-waits on a busy machine
        R, Rb, ok = _refits(datafit, X, y, coefs, intercepts, sample_weight, offset, fit_intercept)
    loss, dev = _fit_summary(datafit, X, y, R, Rb, sample_weight, offset, fit_intercept)
    # a refit that explains more than 99.9 % of the deviance (glmnet's stop) has, beyond least
    # squares, no finite minimiser in sight (separated classes): the solver stopped on its loss
    saturated = np.zeros(ok.shape, dtype=bool) if dev is None or type(datafit).__name__ == "SquaredError" \
        else dev > DEVMAX
    if (not ok.all() or saturated.any()) and not quiet:
        warnings.warn(f"regularization_path(relax=True): the unpenalized refit did not converge or has no finite "
                      f"minimiser (separated classes?) at {int((~ok | saturated).sum())} of {ok.size} points; their "
                      "relaxed fits at gamma < 1 carry large coefficients.", ConvergenceWarning, stacklevel=4)
    store = result.coef_store
    if sp.issparse(store):
        R_store = sp.csc_array(R[0])
    elif np.ndim(store) == 2:
        R_store = R[0]
    else:
        R_store = R
    Rb_out = Rb[0] if np.ndim(result.intercepts) == 1 else Rb
    result.relaxed = dataclasses.replace(
        result, coef_store=R_store, intercepts=Rb_out, dual_gaps=np.full(len(result), np.nan),
        train_loss=loss, converged=ok & ~saturated, dev_ratio=dev,
        n_iter=np.zeros(len(result), dtype=np.int64), relaxed=None)
    return result


RELAX_DOC = """    relax : bool, default False
        glmnet's ``relax=TRUE``: also refit each point's support without a penalty (``result.relaxed``;
        ``result.predict(X, lam, gamma=γ)``; :mod:`penalized.path_relax`).
"""


def relaxable(prepare):
    """Decorator of :func:`penalized.regularization_path`: adds its keyword ``relax`` (module
    docstring); ``prepare``: :func:`penalized.path.prepare_data` (the target as the solvers take it)."""

    def decorate(path_function):
        @functools.wraps(path_function)
        def regularization_path(X, y, penalty="l1", *, relax=False, **options):
            if not check_relax(relax, options.get("datafit", "squared_error"), options.get("positive", False),
                               options.get("bounds")):
                return path_function(X, y, penalty, **options)
            return _relaxed_path(path_function, prepare, X, y, penalty, options)

        signature = inspect.signature(path_function)
        relax = inspect.Parameter("relax", inspect.Parameter.KEYWORD_ONLY, default=False)
        regularization_path.__signature__ = signature.replace(parameters=[*signature.parameters.values(), relax])
        doc = path_function.__doc__ or ""
        at = doc.find("\n    Returns\n")
        regularization_path.__doc__ = doc if at < 0 else doc[:at] + RELAX_DOC + doc[at:]
        return regularization_path

    return decorate


def _relaxed_path(path_function, prepare, X, y, penalty, options):
    """``path_function(X, y, penalty, **options)`` with its refits attached (:func:`relax_path`)."""
    from sklearn.utils import check_array

    from .dask import is_dask_collection
    from .glm import as_vector_datafit

    if is_dask_collection(X):
        raise NotImplementedError("regularization_path(relax=True) does not take Dask input: the refits need X in "
                                  "memory (compute X to NumPy).")
    result = path_function(X, y, penalty, **options)
    weight, offset = options.get("sample_weight"), options.get("offset")
    if as_vector_datafit(options.get("datafit", "squared_error")) is not None:  # Cox: the survival data as given
        Xc = check_array(X, accept_sparse="csc", dtype=np.float64)
        weight = None if weight is None else np.asarray(weight, dtype=np.float64)
        offset = None if offset is None else np.asarray(offset, dtype=np.float64)
        return relax_path(result, Xc, y, weight, offset, fit_intercept=False)
    data = prepare(X, y, result.datafit, weight, offset)
    if data.y.ndim == 2 and not data.datafit.multi_output:
        raise ValueError("relax=True takes one output or the multinomial, not a multi-task (2-D) y.")
    return relax_path(result, data.X, data.y, data.sample_weight, data.offset, options.get("fit_intercept", True))


def relaxed_at(path, relax=False, gamma=None):
    """The path to predict from: ``path`` itself (``relax=False``, ``gamma=None``), or its relaxed
    path at ``gamma`` (``relax=True`` alone: ``gamma=0``, the refits) as a PathResult."""
    if not isinstance(relax, (bool, np.bool_)):
        raise ValueError(f"relax must be True or False, got {relax!r}.")
    if gamma is None and not relax:
        return path
    gamma = 0.0 if gamma is None else _check_gamma(gamma)
    if getattr(path, "relaxed", None) is None:
        raise ValueError("this path has no relaxed fits: compute it with regularization_path(..., relax=True).")
    refit = path.relaxed
    if gamma == 0.0:
        return refit
    if gamma == 1.0:
        return path
    store = path.coef_store
    mixed = gamma * store + (1.0 - gamma) * refit.coef_store
    intercepts = gamma * np.asarray(path.intercepts) + (1.0 - gamma) * np.asarray(refit.intercepts)
    return dataclasses.replace(path, coef_store=sp.csc_array(mixed) if sp.issparse(store) else mixed,
                               intercepts=intercepts, dual_gaps=np.full(len(path), np.nan), dev_ratio=None,
                               relaxed=None)
