"""The lab's adapter to library features that other branches are still writing.

The lab is a consumer of the library. Parts of it need cross-validated λ
(``pz.LassoCV``, ``pz.LogisticRegressionCV``, ``pz.regularization_path``; branch
``feat-paths``) and the PyTorch optimizers (``pz.nn``; branch ``feat-nn``). They are
reached only through this module: when a feature is missing, :class:`Pending` says so
in plain words and the section reports that part as pending instead of inventing
numbers. When the feature is present, it is used as is.

The only stop-gap is :func:`path`'s warm-started loop over λ, used while
``pz.regularization_path`` is absent (TODO-switch: delete the loop once feat-paths is
merged and logistic paths are covered there).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

import numpy as np

PATHS_BRANCH = "the cross-validation / paths work (feat-paths)"
NN_BRANCH = "the PyTorch module penalized.nn (feat-nn)"


class Pending(RuntimeError):
    """A feature the lab needs is not in this build of penalized (yet)."""

    def __init__(self, feature, comes_with):
        self.feature = feature
        self.comes_with = comes_with
        super().__init__(f"{feature} is not available in this build of penalized; it comes with "
                         f"{comes_with}.")


def lib(name):
    """``penalized.<name>`` or :class:`Pending` (CV estimators and paths)."""
    import penalized as pz

    try:
        return getattr(pz, name)
    except AttributeError:
        raise Pending(f"penalized.{name}", PATHS_BRANCH) from None


def torch():
    """The ``torch`` module or :class:`Pending`."""
    try:
        return import_module("torch")
    except ImportError:
        raise Pending("PyTorch", "the optional dependency: pip install 'penalized[nn]'") from None


def nn(name):
    """``penalized.nn.<name>`` (needs PyTorch) or :class:`Pending`."""
    torch()
    try:
        module = import_module("penalized.nn")
    except ModuleNotFoundError as exc:
        if exc.name not in ("penalized.nn", "penalized"):
            raise
        raise Pending(f"penalized.nn.{name}", NN_BRANCH) from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise Pending(f"penalized.nn.{name}", NN_BRANCH) from None


def has(name):
    """Whether ``penalized.<name>`` exists in this build."""
    try:
        lib(name)
    except Pending:
        return False
    return True


@dataclass
class Path:
    """Solutions along a grid of λ: ``coefs`` is (n_features, n_lambdas) or, for
    multiclass logistic regression, (n_classes, n_features, n_lambdas)."""

    lambdas: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    source: str

    @property
    def n_nonzero(self):
        nz = self.coefs != 0
        return (nz.any(axis=0) if nz.ndim == 3 else nz).sum(axis=0)


def _penalty(kind, lam, l1_ratio=0.5):
    import penalized as pz

    if kind == "l1":
        return pz.L1(lam)
    if kind == "l2":
        return pz.L2(lam)
    if kind == "elasticnet":
        return pz.L1L2(l1=lam * l1_ratio, l2=lam * (1.0 - l1_ratio) / 2.0)
    raise ValueError(f"penalty must be 'l1', 'l2' or 'elasticnet', got {kind!r}.")


def path(X, y, penalty="l1", lambdas=None, *, classification=False, l1_ratio=0.5, tol=1e-6,
         max_iter=5000):
    """Coefficients along ``lambdas`` (strictly decreasing).

    Uses ``pz.regularization_path`` when this build has it (least squares, and binary
    logistic regression with ``datafit="logistic"``); otherwise, and for more than two
    classes, a warm-started loop over ``pz.LinearRegression`` / ``pz.LogisticRegression``
    (the stop-gap; TODO-switch).
    """
    import penalized as pz

    lambdas = np.asarray(lambdas, dtype=np.float64)
    binary = classification and np.unique(np.asarray(y)).shape[0] == 2
    if has("regularization_path") and (binary or not classification):
        extra = {"datafit": "logistic"} if classification else {}
        res = pz.regularization_path(X, y, penalty=penalty, l1_ratio=l1_ratio, lambdas=lambdas, tol=tol,
                                     max_iter=max_iter, **extra)
        coefs = np.asarray(res.coefs)
        if coefs.shape[0] != X.shape[1]:  # accept (k, p) as well as the agreed (p, k)
            coefs = coefs.T
        return Path(np.asarray(res.lambdas, dtype=float), coefs, np.asarray(res.intercepts),
                    "pz.regularization_path")
    # TODO-switch: stop-gap until feat-paths' regularization_path covers every case.
    est_cls = pz.LogisticRegression if classification else pz.LinearRegression
    est = est_cls(penalty=_penalty(penalty, lambdas[0], l1_ratio), warm_start=True, tol=tol,
                  max_iter=max_iter)
    coefs, intercepts = [], []
    for lam in lambdas:
        est.set_params(penalty=_penalty(penalty, lam, l1_ratio)).fit(X, y)
        coef = np.asarray(est.coef_, dtype=float)
        coefs.append(coef[0] if coef.ndim == 2 and coef.shape[0] == 1 else coef)
        intercepts.append(np.asarray(est.intercept_, dtype=float).ravel())
    coefs = np.stack(coefs, axis=-1)
    intercepts = np.stack(intercepts, axis=-1)
    return Path(lambdas, coefs, intercepts[0] if intercepts.shape[0] == 1 else intercepts,
                "warm-started loop (stop-gap)")


def lambda_max(X, y, classification=False):
    """Smallest λ at which the L1 solution is all zeros (``LinearProblem.lambda_max``)."""
    import penalized as pz
    from penalized import _validation as v
    from penalized.solvers import LinearProblem

    X = np.asfortranarray(X, dtype=np.float64)
    if classification:
        classes = np.unique(y)
        if classes.shape[0] != 2:  # one-vs-rest: the largest over the binary problems
            return max(lambda_max(X, np.where(y == c, 1, 0), True) for c in classes)
        y = v.encode_binary_targets(np.asarray(y), classes)
        return LinearProblem.build(X, y, pz.Logistic()).lambda_max()
    return LinearProblem.build(X, np.asarray(y, dtype=np.float64), pz.SquaredError()).lambda_max()


def geometric_grid(lam_max, n=50, ratio=1e-3):
    """``n`` values from ``lam_max`` down to ``ratio · lam_max`` (glmnet's grid)."""
    return lam_max * np.geomspace(1.0, ratio, n)
