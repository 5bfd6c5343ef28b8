"""Relaxed lasso (Meinshausen 2007; glmnet's ``relax=TRUE``).

The lasso both selects features and shrinks their coefficients with one λ; the relaxed
lasso separates the two. With ``w_λ`` the lasso solution and ``w̃_λ`` the *unpenalized*
least-squares fit restricted to the support of ``w_λ`` (same intercept treatment and
sample weights: it minimises ``Σ a_i (y_i − x_iᵀw − b)²`` over ``w`` with ``w_j = 0`` off
the support), the relaxed fit is

    w(γ) = γ · w_λ + (1 − γ) · w̃_λ,      b(γ) = γ · b_λ + (1 − γ) · b̃_λ,      γ ∈ [0, 1].

``γ = 1`` is the lasso, ``γ = 0`` the least-squares refit on the lasso's support (glmnet's
``gamma``; Meinshausen's ``φ`` shrinks the refit instead, the same family of models for
squared error). When the support has more features than samples (or collinear ones),
the refit is the minimum-norm least-squares solution.

:class:`RelaxedLasso` fits one ``(λ, γ)``; ``LassoCV(relax=True)`` cross-validates both.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import _validation as v
from .dask import is_dask_collection
from .linear_model import Lasso

__all__ = ["refit_on_support", "RelaxedLasso"]


def refit_on_support(X, y, support, sample_weight=None, fit_intercept=True):
    """``(w̃, b̃)``: unpenalized weighted least squares on the features where ``support`` is true."""
    n, p = X.shape
    a = np.full(n, 1.0 / n) if sample_weight is None else sample_weight / np.sum(sample_weight)
    y = np.asarray(y, dtype=np.float64)
    w = np.zeros(p)
    y_mean = float(a @ y) if fit_intercept else 0.0
    cols = np.flatnonzero(support)
    if cols.size == 0:
        return w, y_mean
    Xs = X[:, cols]
    Xs = Xs.toarray() if sp.issparse(Xs) else np.asarray(Xs, dtype=np.float64)
    x_mean = a @ Xs if fit_intercept else np.zeros(cols.size)
    root = np.sqrt(a)
    coef = np.linalg.lstsq((Xs - x_mean) * root[:, None], (y - y_mean) * root, rcond=None)[0]
    w[cols] = coef
    return w, float(y_mean - x_mean @ coef)


def mix(gamma, coef, intercept, refit_coef, refit_intercept):
    """``γ·(coef, intercept) + (1 − γ)·(refit_coef, refit_intercept)``."""
    return gamma * coef + (1.0 - gamma) * refit_coef, gamma * intercept + (1.0 - gamma) * refit_intercept


class RelaxedLasso(Lasso):
    """Relaxed lasso: ``γ·w_λ + (1 − γ)·w̃_λ`` (see the module docstring).

    ``w_λ`` minimises ``Σ a_i (y_i − x_iᵀw − b)² + lam·Σ_j c_j|w_j|`` (as :class:`Lasso`;
    scikit-learn ``alpha = lam/2``, glmnet ``lambda = lam/2``) and ``w̃_λ`` is the
    unpenalized least-squares refit on its support.

    Parameters
    ----------
    lam : float, default=1.0
        Penalty strength of the selecting lasso.
    gamma : float in [0, 1], default=0.5
        Weight of the lasso solution: 1 = lasso, 0 = least squares on its support.
    weights, standardize, fit_intercept, tol, max_iter, warm_start : as in :class:`Lasso` (the
        least-squares refit does not depend on the columns' scales).

    Attributes
    ----------
    coef_, intercept_ : the relaxed fit.
    lasso_coef_, lasso_intercept_ : the lasso fit ``w_λ``.
    dual_gap_, n_iter_ : certificate and epochs of the lasso fit.
    selected_features_ : the lasso's support (relaxing does not change it).
    """

    def __init__(self, lam=1.0, *, gamma=0.5, weights=None, standardize=False, fit_intercept=True, tol=1e-4,
                 max_iter=1000, warm_start=False):
        self.lam = lam
        self.gamma = gamma
        self.weights = weights
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def fit(self, X, y, sample_weight=None):
        """Fit the lasso at ``lam``, refit its support by least squares, mix with ``gamma``."""
        self._check_params()
        if is_dask_collection(X) or is_dask_collection(y) or is_dask_collection(sample_weight):
            # the refit needs the support's columns in memory: refuse before any pass over the data
            raise NotImplementedError(
                "RelaxedLasso does not take Dask input: its least-squares refit needs X in memory "
                "(penalized.dask fits Lasso, Ridge, ElasticNet, LinearRegression and LogisticRegression). "
                "Fit Lasso on the Dask data, or compute X to NumPy for RelaxedLasso.")
        gamma = v.check_gamma(self.gamma)
        if gamma.size != 1:
            raise ValueError(f"gamma must be one number in [0, 1], got {self.gamma!r}.")
        X, y, sample_weight = v.validate_fit_data(self, X, y, sample_weight)
        coef0, b0 = self._warm_start(1, X.shape[1])
        result = self._solve(X, y, sample_weight, None if coef0 is None else coef0[0],
                             None if b0 is None else b0[0])
        refit = refit_on_support(X, y, result.coef != 0, sample_weight, self.fit_intercept)
        coef, intercept = mix(float(gamma[0]), result.coef, result.intercept, *refit)
        self.lasso_coef_ = result.coef.astype(X.dtype, copy=False)
        self.lasso_intercept_ = float(result.intercept)
        self.coef_ = coef.astype(X.dtype, copy=False)
        self.intercept_ = float(intercept)
        self.n_iter_ = result.n_iter
        self.dual_gap_ = result.certificate
        self._warn_if_not_converged([result])
        return self

    def _warm_start(self, n_targets, n_features):
        """Warm starts continue from the lasso solution, not the relaxed one."""
        if self.warm_start and hasattr(self, "lasso_coef_") and self.lasso_coef_.shape == (n_features,):
            return self.lasso_coef_[None, :], np.array([self.lasso_intercept_])
        return None, None
