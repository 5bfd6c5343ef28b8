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
======================  ====================================  ===========================

``tol`` is each library's own stopping parameter; the harness searches it (see
:mod:`benchmarks.solvers`). Libraries that are not installed are skipped.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np

MODELS = ("lasso", "enet", "logreg")
LIBRARIES = ("penalized", "scikit-learn", "skglm", "celer")
_MODULES = {"penalized": "penalized", "scikit-learn": "sklearn", "skglm": "skglm", "celer": "celer"}
BIG = 10**6


def available(library):
    return importlib.util.find_spec(_MODULES[library]) is not None


def _coef(est):
    coef = np.asarray(est.coef_, dtype=np.float64).ravel()
    b = np.ravel(np.asarray(getattr(est, "intercept_", 0.0), dtype=np.float64))
    return coef, float(b[0]) if b.size else 0.0


def make_estimator(library, model, lam, tol, n_samples):
    """An unfitted estimator of ``library`` for ``model`` at strength ``lam`` (our scale)."""
    if library == "penalized":
        import penalized as pz

        if model == "lasso":
            return pz.Lasso(lam=lam, tol=tol, max_iter=BIG)
        if model == "enet":
            return pz.ElasticNet(lam=lam, l1_ratio=0.5, tol=tol, max_iter=BIG)
        return pz.LogisticRegression(penalty=pz.L1(lam), fit_intercept=False, tol=tol, max_iter=BIG)
    if library == "scikit-learn":
        from sklearn import linear_model as sk

        if model == "lasso":
            return sk.Lasso(alpha=lam / 2, tol=tol, max_iter=BIG)
        if model == "enet":
            return sk.ElasticNet(alpha=lam / 2, l1_ratio=0.5, tol=tol, max_iter=BIG)
        # liblinear is scikit-learn's fastest L1 logistic solver; without an intercept it
        # solves exactly this problem (it would penalize one)
        return sk.LogisticRegression(C=1.0 / (n_samples * lam), l1_ratio=1.0, solver="liblinear",
                                     fit_intercept=False, tol=tol, max_iter=BIG)
    if library == "skglm":
        import skglm

        if model == "lasso":
            return skglm.Lasso(alpha=lam / 2, tol=tol, max_iter=1000, max_epochs=BIG)
        if model == "enet":
            return skglm.ElasticNet(alpha=lam / 2, l1_ratio=0.5, tol=tol, max_iter=1000, max_epochs=BIG)
        return skglm.SparseLogisticRegression(alpha=lam, tol=tol, fit_intercept=False, max_iter=1000,
                                              max_epochs=BIG)
    if library == "celer":
        import celer

        if model == "lasso":
            return celer.Lasso(alpha=lam / 2, tol=tol, max_iter=1000, max_epochs=BIG)
        if model == "enet":
            return celer.ElasticNet(alpha=lam / 2, l1_ratio=0.5, tol=tol, max_iter=1000, max_epochs=BIG)
        return celer.LogisticRegression(C=1.0 / (n_samples * lam), tol=tol, fit_intercept=False,
                                        max_iter=1000, max_epochs=BIG)
    raise ValueError(f"unknown library {library!r}")


def fit(library, model, X, y, lam, tol):
    """Fit and return ``(coef, intercept)``; warnings (non-convergence) are silenced."""
    est = make_estimator(library, model, lam, tol, X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return _coef(est)
