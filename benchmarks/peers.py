"""The libraries under comparison, each behind one function: ``fit(X, y, lam, tol) -> (coef, b)``.

Every model is stated on penalized's scale (mean losses, ``L1(lam)``, see
``docs/performance.md``) and translated to each library's parameters:

======================  ====================================  ===========================
model                   objective                             translations
======================  ====================================  ===========================
``lasso``               ``MSE + lam·‖w‖₁`` (+ intercept)       sklearn/skglm/celer ``alpha = lam/2``
``enet``                ``MSE + lam·(½‖w‖₁ + ¼‖w‖²)``          ``alpha = lam/2, l1_ratio = 0.5``
``logreg``              ``mean log-loss + lam·‖w‖₁``           sklearn/celer ``C = 1/(n·lam)``;
                        (no intercept: celer has none)        skglm ``alpha = lam``
``logreg_icpt``         the same with an intercept            (liblinear would penalize it,
                                                              celer has none: skipped)
``multinomial``         ``mean cross-entropy + lam·‖W‖₁``       saga ``C = 1/(n·lam)``
                        (3 classes, intercepts)
======================  ====================================  ===========================

Libraries: ``scikit-learn`` is its coordinate descent (``Lasso``, ``ElasticNet``) or
liblinear (L1 logistic regression without intercept), ``saga`` scikit-learn's SAGA solver
(logistic models only). ``tol`` is each library's own stopping parameter; the harness
searches it (see :mod:`benchmarks.solvers`). Libraries that are not installed are skipped;
:func:`make_estimator` returns None where a library does not fit a model.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np

MODELS = ("lasso", "enet", "logreg")
LIBRARIES = ("penalized", "scikit-learn", "skglm", "celer")
# the sparse suite (benchmarks.sparse)
SPARSE_MODELS = ("lasso", "enet", "logreg", "logreg_icpt", "multinomial")
SPARSE_LIBRARIES = ("penalized", "scikit-learn", "saga", "skglm", "celer")
LOGISTIC = ("logreg", "logreg_icpt")
_MODULES = {"penalized": "penalized", "scikit-learn": "sklearn", "saga": "sklearn", "skglm": "skglm",
            "celer": "celer"}
BIG = 10**6
SAGA_EPOCHS = 300


def available(library):
    return importlib.util.find_spec(_MODULES[library]) is not None


def _coef(est):
    coef = np.asarray(est.coef_, dtype=np.float64)
    b = np.ravel(np.asarray(getattr(est, "intercept_", 0.0), dtype=np.float64))
    if coef.ndim == 2 and coef.shape[0] > 1:  # several classes: (K, p) and K intercepts
        return coef, b
    return coef.ravel(), float(b[0]) if b.size else 0.0


def make_estimator(library, model, lam, tol, n_samples):
    """An unfitted estimator of ``library`` for ``model`` at strength ``lam`` (our scale), or
    None where the library does not fit that model."""
    icpt = model == "logreg_icpt"
    if library == "penalized":
        import penalized as pz

        if model == "lasso":
            return pz.Lasso(lam=lam, tol=tol, max_iter=BIG)
        if model == "enet":
            return pz.ElasticNet(lam=lam, l1_ratio=0.5, tol=tol, max_iter=BIG)
        return pz.LogisticRegression(penalty=pz.L1(lam), fit_intercept=icpt or model == "multinomial", tol=tol,
                                     max_iter=BIG)
    if library == "scikit-learn":
        from sklearn import linear_model as sk

        if model == "lasso":
            return sk.Lasso(alpha=lam / 2, tol=tol, max_iter=BIG)
        if model == "enet":
            return sk.ElasticNet(alpha=lam / 2, l1_ratio=0.5, tol=tol, max_iter=BIG)
        if model != "logreg":
            return None
        # liblinear is scikit-learn's fastest L1 logistic solver; without an intercept it
        # solves exactly this problem (it would penalize one)
        return sk.LogisticRegression(C=1.0 / (n_samples * lam), l1_ratio=1.0, solver="liblinear",
                                     fit_intercept=False, tol=tol, max_iter=BIG)
    if library == "saga":
        from sklearn import linear_model as sk

        if model not in LOGISTIC and model != "multinomial":
            return None
        # capped at SAGA_EPOCHS epochs: a tight tol can otherwise run for many minutes (a cell
        # that the cap keeps from the gap reports saga as not reached)
        return sk.LogisticRegression(C=1.0 / (n_samples * lam), l1_ratio=1.0, solver="saga",
                                     fit_intercept=model != "logreg", tol=tol, max_iter=SAGA_EPOCHS)
    if library == "skglm":
        import skglm

        if model == "lasso":
            return skglm.Lasso(alpha=lam / 2, tol=tol, max_iter=1000, max_epochs=BIG)
        if model == "enet":
            return skglm.ElasticNet(alpha=lam / 2, l1_ratio=0.5, tol=tol, max_iter=1000, max_epochs=BIG)
        if model not in LOGISTIC:
            return None
        return skglm.SparseLogisticRegression(alpha=lam, tol=tol, fit_intercept=icpt, max_iter=1000,
                                              max_epochs=BIG)
    if library == "celer":
        import celer

        if model == "lasso":
            return celer.Lasso(alpha=lam / 2, tol=tol, max_iter=1000, max_epochs=BIG)
        if model == "enet":
            return celer.ElasticNet(alpha=lam / 2, l1_ratio=0.5, tol=tol, max_iter=1000, max_epochs=BIG)
        if model != "logreg":
            return None
        return celer.LogisticRegression(C=1.0 / (n_samples * lam), tol=tol, fit_intercept=False,
                                        max_iter=1000, max_epochs=BIG)
    raise ValueError(f"unknown library {library!r}")


def applies(library, model):
    """Does ``library`` fit ``model``?"""
    return make_estimator(library, model, 1.0, 1e-4, 10) is not None


def fit(library, model, X, y, lam, tol):
    """Fit and return ``(coef, intercept)``; warnings (non-convergence) are silenced."""
    est = make_estimator(library, model, lam, tol, X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return _coef(est)
