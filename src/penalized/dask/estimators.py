"""The estimators' Dask route: ``fit`` on chunked data, ``predict`` on Dask input.

Called from :mod:`penalized.linear_model` when ``X`` is a Dask collection. The fitted
estimator is an ordinary one (NumPy ``coef_``, ``intercept_``), with the same attributes
as an in-memory fit; ``n_iter_`` counts passes over the data (pass 0 included).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import bridge, newton
from .chunks import Target, predict_chunk
from .data import classes_of, prepare


def _set_features(est, data):
    est.n_features_in_ = data.n_features
    if data.feature_names is not None:
        est.feature_names_in_ = data.feature_names
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_


def check_supported(est, offset=None, y=None):
    """Raise a clear ``NotImplementedError`` for what the Dask route does not fit (before any pass
    over the data): it fits the squared error, Poisson and the log-loss with every penalty the in-memory
    solver takes for them (:data:`~.bridge.SUPPORTED_PENALTIES`), with a box and an offset."""
    name = type(est).__name__
    supported = ("penalized.dask fits Lasso, Ridge, ElasticNet, LinearRegression, MultiTaskLasso, MultiTaskElasticNet, "
                 f"PoissonRegressor and binary LogisticRegression with {bridge.SUPPORTED_PENALTIES}")
    datafit = type(est._datafit).__name__
    if datafit not in newton.DATAFITS:
        raise NotImplementedError(f"{name} (the {datafit} data fit) does not take Dask input: {supported}.")
    if (getattr(est, "_requires_2d_y", False) or np.ndim(y) > 1) and datafit != "SquaredError":
        raise NotImplementedError(f"{name} with several targets does not take Dask input: {supported}.")


def _check_penalty(est, p):
    """The estimator's penalty and box on ``p`` features as a :class:`~.bridge.PenaltyView` (checks the
    penalty, its weights and the bounds against X before any pass)."""
    from ..penalties import check_bounds

    return bridge.PenaltyView(est._penalty(p), p, check_bounds(est.bounds, est.positive, p))


def fit_regressor(est, X, y, sample_weight=None, offset=None):
    """``_Regressor.fit`` on Dask input."""
    check_supported(est, offset, y)
    several = np.ndim(y) == 2 and np.shape(y)[1] != 1
    if getattr(est, "_requires_2d_y", False) or several:
        if not several:
            raise ValueError(f"{type(est).__name__} needs a 2-D y of shape (n_samples, n_tasks), got shape "
                             f"{np.shape(y)}; use Lasso for one target.")
        from .multitask import fit_multitask

        return fit_multitask(est, X, y, sample_weight, offset)
    data = prepare(X, y, sample_weight, classifier=False, offset=offset)
    p = data.n_features
    penalty = _check_penalty(est, p)
    coef0, b0 = est._warm_start(1, p)
    result = newton.fit(data, est._datafit, penalty, Target(), fit_intercept=est.fit_intercept, tol=est.tol,
                        max_iter=est.max_iter, coef_init=None if coef0 is None else coef0[0],
                        intercept_init=None if b0 is None else b0[0])
    _set_features(est, data)
    est.coef_ = result.coef
    est.intercept_ = float(result.intercept)
    est.n_iter_ = int(result.n_iter)
    est.dual_gap_ = float(result.certificate)
    est._warn_if_not_converged([result])
    return est


def fit_classifier(est, X, y, sample_weight=None, offset=None):
    """``LogisticRegression.fit`` on Dask input: two classes (the multinomial model of more
    classes is not distributed yet: a clear ``NotImplementedError`` after pass 0 finds them)."""
    from sklearn.utils.multiclass import check_classification_targets

    from .chunks import label_moments_chunk

    check_supported(est, offset, y)
    if np.ndim(offset) == 2 and np.shape(offset)[1] > 1:
        raise NotImplementedError(f"{type(est).__name__}.fit(offset=...) with more than two classes (an offset per "
                                  "class) does not take Dask input.")
    data = prepare(X, y, sample_weight, classifier=True, offset=offset)
    p = data.n_features
    penalty = _check_penalty(est, p)
    # pass 0 finds the classes too: per label, its weight and weighted sum of x
    part = data.run(label_moments_chunk, gram=newton.first_pass_gram(est._datafit, p, grouped=penalty.grouped))
    newton.check_partial(part)
    classes = np.unique(np.array(list(part.sums["labels"])))
    check_classification_targets(classes)
    name = type(est).__name__
    if classes.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 classes in y; got only one class: {classes.tolist()[0]!r}.")
    if classes.shape[0] > 2:  # as in memory, K > 2 classes fit the multinomial model
        from .multinomial import fit_multinomial

        fit_multinomial(est, data, part, classes, penalty, offset)
        _set_features(est, data)
        return est
    positives = [classes[1]]
    coef0, b0 = est._warm_start(len(positives), p)
    results = []
    for k, label in enumerate(positives):
        try:
            result = newton.fit(data, est._datafit, penalty, Target("binary", label),
                                fit_intercept=est.fit_intercept, tol=est.tol, max_iter=est.max_iter,
                                coef_init=None if coef0 is None else coef0[k],
                                intercept_init=None if b0 is None else b0[k],
                                summary=newton.class_summary(part, label, p))
        except newton.EmptyClassError as exc:
            names = classes.tolist()
            label = names[k] if classes.shape[0] > 2 else names[1]
            if classes.shape[0] == 2:
                empty = names[1] if exc.positive else names[0]
                raise ValueError(f"class {empty!r} of y has no sample with positive weight.") from None
            raise ValueError(f"class {label!r} of y has no sample with positive weight."
                             if exc.positive else f"every sample with positive weight is of class {label!r}."
                             ) from None
        results.append(result)
    _set_features(est, data)
    est.classes_ = classes
    est.coef_ = np.array([r.coef for r in results])
    est.intercept_ = np.array([r.intercept for r in results])
    est.n_iter_ = np.array([r.n_iter for r in results])
    est.dual_gap_ = np.array([r.certificate for r in results])
    est._warn_if_not_converged(results)
    weak = penalty.penalty is None or any(penalty.value(r.coef) < 1e-3 * r.data_loss for r in results)
    if weak and any(r.separated for r in results):
        warnings.warn(
            f"{name}: the classes are perfectly separated on the training data and the penalty is (almost) "
            "inactive, so the coefficients grow like 1/λ (without a penalty the maximum-likelihood "
            "estimate does not exist). Use a stronger penalty.", ConvergenceWarning, stacklevel=3)
    return est


def certificate(X, y, coef, intercept=0.0, *, datafit, penalty, sample_weight=None, fit_intercept=True,
                bounds=None, offset=None):
    """:func:`penalized.solvers.certificate` on Dask input (three passes at most, X never gathered;
    a few more for the null model of the log-loss or Poisson with an offset)."""
    from ..penalties import check_bounds

    if type(datafit).__name__ not in newton.DATAFITS:
        raise NotImplementedError(f"certificate on Dask input takes the data fits {list(newton.DATAFITS)}, not "
                                  f"{type(datafit).__name__}.")
    if np.ndim(y) == 2 and np.shape(y)[1] > 1:
        raise NotImplementedError("certificate on Dask input takes one target (y of shape (n_samples,)); compare "
                                  "a multi-task fit's dual_gap_ or compute the certificate in memory.")
    classifier = bool(datafit.needs_labels)
    data = prepare(X, y, sample_weight, classifier=classifier, offset=offset)
    target = Target()
    if classifier:
        classes = classes_of(data)
        if classes.shape[0] != 2:
            raise ValueError(f"the log-loss needs two classes, got {classes.shape[0]}.")
        target = Target("binary", classes[1])
    p = data.n_features
    view = bridge.PenaltyView(penalty, p, check_bounds(bounds, False, p))
    return newton.certify(data, datafit, view, target, coef, intercept, fit_intercept=fit_intercept)


# ------------------------------------------------------------------------------- predict
def decision(est, X):
    """``X @ coef_.T + intercept_`` as a Dask array of shape (n_samples, n_problems)."""
    from .data import _is_dask_array, _is_frame

    coef = np.atleast_2d(est.coef_).astype(np.float64)
    intercept = np.atleast_1d(est.intercept_).astype(np.float64)
    k, p = coef.shape
    name = type(est).__name__
    if _is_frame(X):
        names = getattr(est, "feature_names_in_", None)
        columns = [str(c) for c in X.columns]
        if names is not None and list(names) != columns:
            raise ValueError(f"{name} was fitted with the features {list(names)[:10]} but X has the columns "
                             f"{columns[:10]}; they must match in name and order.")
        if len(columns) != p:
            raise ValueError(f"X has {len(columns)} features, but {name} is expecting {p} features as input.")
        X = X.to_dask_array()
    elif not _is_dask_array(X):
        raise TypeError(f"X must be a Dask array or DataFrame, got {type(X).__name__}.")
    if X.ndim != 2 or X.shape[1] != p:
        raise ValueError(f"X has shape {X.shape}, but {name} is expecting {p} features as input.")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X.map_blocks(predict_chunk, coef, intercept, dtype=np.float64, chunks=(X.chunks[0], (k,)),
                        meta=np.empty((0, k)))


def take_classes(classes, scores):
    """Class labels from Dask decision values (one column: the sign; several: the largest)."""
    if scores.ndim == 1:
        return scores.map_blocks(lambda s: classes[(s > 0).astype(int)], dtype=classes.dtype,
                                 meta=np.empty((0,), dtype=classes.dtype))
    return scores.map_blocks(lambda s: classes[np.argmax(s, axis=1)], dtype=classes.dtype, drop_axis=1,
                             meta=np.empty((0,), dtype=classes.dtype))
