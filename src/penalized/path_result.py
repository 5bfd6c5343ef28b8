"""What a regularization path is made of, and the grid it runs on: glmnet's λ grid, the raw per-λ
arrays (:class:`PathArrays`) and the result users get (:class:`PathResult`), with the convergence
message of a path. A leaf module: :mod:`penalized.path` (the in-memory path), :mod:`penalized.dask.cv`
and :mod:`penalized.glm.path` build their results from it without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from . import _validation as v
from .datafits import Datafit

#: glmnet's λ_max convention for a penalty that never zeroes coefficients (pure L2): the elastic-net
#: λ_max at this l1_ratio.
RIDGE_L1_RATIO = 1e-3


def default_eps(n_samples, n_features):
    """glmnet's ``lambda.min.ratio``: 1e-2 when ``n_samples < n_features``, else 1e-4."""
    return 1e-2 if n_samples < n_features else 1e-4


def lambda_grid(lam_max, n_lambdas=100, eps=1e-4):
    """``n_lambdas`` values log-spaced from ``lam_max`` down to ``eps·lam_max`` (decreasing)."""
    v.check_grid_params(n_lambdas, eps)
    if n_lambdas == 1:
        return np.array([float(lam_max)])
    return np.geomspace(lam_max, lam_max * eps, n_lambdas)


def resolve_datafit(datafit):
    """A data fit name (``"squared_error"``, ``"logistic"``, ``"poisson"``) or object → the object."""
    return Datafit.from_name(datafit)


# ------------------------------------------------------------------------- the path core
@dataclass
class PathArrays:
    """Raw per-λ arrays of one path (what the CV folds ship back)."""

    coefs: object  # (p, k) ndarray or scipy.sparse CSC (penalized._path_store); (K, p, k) ndarray
    intercepts: np.ndarray  # (k,)
    certificates: np.ndarray  # (k,)
    thresholds: np.ndarray  # (k,)
    n_iter: np.ndarray  # (k,)
    converged: np.ndarray  # (k,)
    train_loss: np.ndarray  # (k,)
    dev_ratio: np.ndarray | None = None  # (k,): glmnet's dev.ratio (penalized._path_stop)
    method: str | None = None  # how the points were solved, when not the naive method (the covariance method)

    def truncated(self, n_points, coefs):
        """The first ``n_points`` points, with ``coefs`` (already cut) as the coefficients."""
        def cut(a):
            return a if a is None else a[..., :n_points]

        return PathArrays(coefs, cut(self.intercepts), cut(self.certificates), cut(self.thresholds),
                          cut(self.n_iter), cut(self.converged), cut(self.train_loss), cut(self.dev_ratio),
                          self.method)


# ------------------------------------------------------------------------------ results
@dataclass
class PathResult:
    """A regularization path: point k minimises ``L_data + penalty.scaled(lambdas[k])``.

    Attributes
    ----------
    lambdas : ndarray (k,)
        Decreasing λ values (the ``lam`` of ``Lasso``/``Ridge``/``ElasticNet`` for string
        penalties, a factor on the penalty object otherwise).
    coefs : ndarray (n_features, k), or (n_outputs, n_features, k)
        Coefficients, one column per λ (glmnet's ``beta``, scikit-learn's ``coefs``). For
        several outputs — the K classes of the multinomial, the T tasks of a 2-D ``y`` — the
        outputs come first, as in scikit-learn's ``lasso_path`` for multi-task data
        (``coefs[:, :, k]`` is the ``coef_`` of the estimator at ``lambdas[k]``). A one-output
        path is *stored* sparse when that is smaller (``coef_store``, a ``scipy.sparse.csc_array``;
        see :mod:`penalized._path_store`); ``coefs`` is then a dense copy up to 10⁷ entries and the
        sparse matrix itself beyond (``coefs_sparse`` is always sparse).
    intercepts : ndarray (k,), or (n_outputs, k)
    dual_gaps : ndarray (k,)
        Optimality certificate of each point (see :mod:`penalized.solvers`); each point
        converged when it is ≤ ``tol·L(0)``.
    n_nonzero : ndarray (k,)
        Number of features with a non-zero coefficient (for some output; glmnet's ``df``).
    train_loss : ndarray (k,)
        ``L_data`` on the training data (mean squared error, mean log-loss, mean Poisson loss).
    dev_ratio : ndarray (k,)
        The fraction of the null deviance explained, ``1 − (L_data − L_sat)/(L_null − L_sat)``
        (glmnet's ``dev.ratio``; :mod:`penalized._path_stop`).
    n_iter, converged : ndarray (k,)
    penalty : the unit penalty (``L1(1)``, ``L2(1)``, ``L1L2(ρ, (1−ρ)/2)`` or yours).
    datafit : SquaredError, Logistic, Multinomial or Poisson
    lambda_max : float
        The grid's λ_max (``nan`` for a user grid).
    feature_names : ndarray of str
    classes : ndarray or None
        The class labels: two for the log-loss (``classes[1]`` is +1), K for the multinomial.
    outputs : ndarray or None
        One label per output (the classes, or the tasks: a DataFrame's column names or
        ``0 … T−1``); None for a single output.
    stopped_early : bool
        The path ended before the end of its grid (``early_stop``, ``dfmax`` or ``pmax``).
    method : str or None
        How the points were solved when not by the naive method (coordinate descent on ``X``): the
        covariance method (the squared error on a tall design, every λ on the Gram matrix computed
        once, :mod:`penalized.solvers.gram_path`) or, for the log-loss on a tall design, proximal
        Newton with each model on the weighted Gram matrix of its working set
        (:mod:`penalized.solvers.newton_gram`). Certificates and ``converged`` mean the same either way.

    Methods: :meth:`predict` (at any λ, interpolated as glmnet's ``predict(fit, s=)``),
    :meth:`interpolate` (the coefficients at any λ), :meth:`summary` (glmnet's Df / %Dev / Lambda
    table; also ``print(path)``), :meth:`plot`, :meth:`to_frame`.
    """

    lambdas: np.ndarray
    coef_store: object
    intercepts: np.ndarray
    dual_gaps: np.ndarray
    n_nonzero: np.ndarray
    train_loss: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    penalty: object
    datafit: Datafit
    lambda_max: float
    feature_names: np.ndarray
    classes: np.ndarray | None = None
    tol: float = 1e-4
    thresholds: np.ndarray = field(default=None, repr=False)
    outputs: np.ndarray | None = None
    dev_ratio: np.ndarray | None = None
    stopped_early: bool = False
    method: str | None = None
    relaxed: PathResult | None = field(default=None, repr=False)  # relax=True: the refits (penalized.path_relax)

    def __len__(self):
        return len(self.lambdas)

    @property
    def coefs(self):
        """The coefficients (class docstring): dense, or the sparse store beyond 10⁷ entries."""
        from ._path_store import DENSE_VIEW_LIMIT

        store = self.coef_store
        if sp.issparse(store) and store.shape[0] * store.shape[1] <= DENSE_VIEW_LIMIT:
            return store.toarray()
        return store

    @property
    def coefs_sparse(self):
        """The coefficients as a ``scipy.sparse.csc_array`` (n_features, k) (one output only)."""
        if self.n_outputs > 1:
            raise ValueError("coefs_sparse is for one-output paths; use coefs for (n_outputs, p, k).")
        return sp.csc_array(self.coef_store)

    @property
    def n_outputs(self):
        """1, or the number of classes (multinomial) or tasks."""
        return 1 if self.coef_store.ndim == 2 else self.coef_store.shape[0]

    def coef_at(self, k):
        """The coefficients of point ``k`` as the estimators hold them: (p,) or (n_outputs, p)."""
        if sp.issparse(self.coef_store):
            return sp.csc_array(self.coef_store)[:, [k]].toarray().ravel()
        return self.coef_store[..., k]

    def penalty_at(self, k):
        """The penalty object of point ``k``: ``penalty.scaled(lambdas[k])``."""
        return self.penalty.scaled(self.lambdas[k])

    @property
    def objective(self):
        """``L_data + λ_k·R`` at each point."""
        # penalties read several outputs' coefficients features first: (p, K)
        reg = np.array([self.penalty_at(i).value(self.coef_at(i).T) for i in range(len(self))])
        return self.train_loss + reg

    def selected_features(self, k):
        """Names of the features non-zero at point ``k`` (for some output)."""
        nz = self.coef_at(k) != 0
        return self.feature_names[nz if nz.ndim == 1 else nz.any(axis=0)]

    def interpolate(self, lam, *, relax=False, gamma=None):
        """``(coef, intercept)`` at λ = ``lam`` (a number): glmnet's ``coef(fit, s=lam)``.

        Linear interpolation *on the λ scale* between the two grid points around ``lam``
        (glmnet's ``lambda.interp``); ``lam`` outside the grid is clamped to its ends.
        ``relax`` / ``gamma``: as in :meth:`predict`.
        """
        from .path_predict import interpolate
        from .path_relax import relaxed_at

        return interpolate(relaxed_at(self, relax, gamma), lam)

    def predict(self, X, lam=None, *, type="link", offset=None, relax=False, gamma=None):
        """Predictions of the path's models; see :func:`penalized.path_predict.predict_path`.

        ``lam=None``: at every λ of the grid, shape (n_samples, k) ((n_samples, n_outputs, k) for
        several outputs); a number: at that λ (interpolated as glmnet), (n_samples,); an array:
        at each, (n_samples, m). ``type``: ``"link"`` (the linear predictor), ``"response"``
        (probabilities of ``classes[1]`` / of each class, Poisson means) or ``"class"``.
        ``relax=True`` / ``gamma=γ`` (a path computed with ``relax=True``): the relaxed fits
        ``γ·w + (1 − γ)·w̃`` (:mod:`penalized.path_relax`; ``relax=True`` alone: γ = 0, the refits).
        """
        from .path_predict import predict_path
        from .path_relax import relaxed_at

        return predict_path(relaxed_at(self, relax, gamma), X, lam, kind=type, offset=offset)

    def summary(self):
        """glmnet's ``print(fit)`` table as a DataFrame: ``Df``, ``%Dev``, ``Lambda`` per point."""
        from .path_predict import summary_frame

        return summary_frame(self)

    def __str__(self):
        from .path_predict import summary_text

        return summary_text(self)

    def to_frame(self):
        """The coefficients as a DataFrame: one row per λ, one column per feature; for several
        outputs one row per (λ, output), with an ``output`` column (the class or the task)."""
        import pandas as pd

        coefs = self.coefs
        if coefs.ndim == 2:
            dense = coefs.toarray() if sp.issparse(coefs) else coefs
            frame = pd.DataFrame(dense.T, columns=list(self.feature_names))
            frame.insert(0, "intercept", self.intercepts)
            frame.insert(0, "lambda", self.lambdas)
            return frame
        K, p, k = coefs.shape
        outputs = self.outputs if self.outputs is not None else np.arange(K)
        frame = pd.DataFrame(coefs.transpose(2, 0, 1).reshape(k * K, p), columns=list(self.feature_names))
        frame.insert(0, "intercept", self.intercepts.T.reshape(-1))
        frame.insert(0, "output", np.tile(np.asarray(outputs, dtype=object), k))
        frame.insert(0, "lambda", np.repeat(self.lambdas, K))
        return frame

    def plot(self, ax=None, **kwargs):
        """Coefficient paths against ``xvar``: ``"lambda"`` (log λ, the default), ``"norm"`` (the
        L1 norm of the coefficients) or ``"dev"`` (the deviance ratio), as glmnet's
        ``plot(fit, xvar=, label=)``; labelled by feature name; returns the Axes. For several
        outputs: each feature's norm over the outputs, or one output's coefficients with
        ``output=label``."""
        from .plots import plot_path

        return plot_path(self, ax=ax, **kwargs)


def convergence_message(name, certificates, thresholds, converged, lambdas, tol, max_iter):
    """One message for all the fits of a path (or of every fold of a CV)."""
    failed = np.flatnonzero(~np.asarray(converged))
    ratio = np.asarray(certificates)[failed] / np.maximum(np.asarray(thresholds)[failed], 1e-300)
    worst = failed[np.argmax(ratio)]
    return (
        f"{name}: {len(failed)} of {len(converged)} fits did not converge in max_iter={max_iter} "
        f"epochs; worst at λ={lambdas[worst]:.4g}: optimality certificate {certificates[worst]:.3g} > "
        f"tol·L(0) = {thresholds[worst]:.3g} (tol={tol:g}). Increase max_iter, loosen tol, "
        "standardize X, or use a larger eps (the smallest λ are the hardest)."
    )


def make_result(arrays, lambdas, unit, datafit, lam_max, names, classes=None, tol=1e-4, outputs=None):
    """A :class:`PathResult` from a path's arrays; ``outputs`` (one label per output) gives the
    coefficients an outputs axis, (K, p, k), also for a single column."""
    coefs, intercepts = arrays.coefs, arrays.intercepts
    if outputs is not None and coefs.ndim == 2:  # one task given as a 2-D y
        coefs = coefs.toarray() if sp.issparse(coefs) else coefs
        coefs, intercepts = coefs[None], intercepts[None]
    if sp.issparse(coefs):
        n_nonzero = np.diff(sp.csc_array(coefs).indptr)
    else:
        features_in = coefs != 0 if coefs.ndim == 2 else (coefs != 0).any(axis=0)
        n_nonzero = np.count_nonzero(features_in, axis=0)
    k = coefs.shape[-1]
    return PathResult(
        lambdas=np.asarray(lambdas, dtype=np.float64)[:k], coef_store=coefs, intercepts=intercepts,
        dual_gaps=arrays.certificates, n_nonzero=n_nonzero,
        train_loss=arrays.train_loss, n_iter=arrays.n_iter, converged=arrays.converged, penalty=unit,
        datafit=datafit, lambda_max=lam_max, feature_names=names, classes=classes, tol=tol,
        thresholds=arrays.thresholds, outputs=outputs, dev_ratio=arrays.dev_ratio,
        stopped_early=k < len(lambdas), method=getattr(arrays, "method", None),
    )
