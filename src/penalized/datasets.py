"""Embedded real data (with provenance) and simulators.

- :func:`load_prostate`: Stamey et al. (1989), 97 men, 8 clinical predictors, target
  ``lpsa``; the train/test split of Hastie, Tibshirani & Friedman, *The Elements of
  Statistical Learning* (2nd ed.), §3.2–3.4 (67 train / 30 test rows).
- :func:`load_singh2002`: Singh et al. (2002), *Cancer Cell* 1:203–209; 102 prostate
  tissue samples × 6033 gene expressions, ``status`` cancer/healthy (Efron 2008's form,
  from the ``sda`` R package).
- :func:`make_correlated_regression`: Gaussian design with Toeplitz correlation
  ``ρ^|i−j|`` and a sparse true coefficient vector.

The files and their provenance note live in ``penalized/data/``.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_prostate", "load_singh2002", "make_correlated_regression"]

PROSTATE_FEATURES = ["lcavol", "lweight", "age", "lbph", "svi", "lcp", "gleason", "pgg45"]


def _data_path(name):
    return resources.files("penalized") / "data" / name


def load_prostate(split="all"):
    """The prostate cancer data (ESL §3.2).

    Parameters
    ----------
    split : {"all", "train", "test"}
        Rows to return: all 97, the book's 67 training rows or its 30 test rows.

    Returns
    -------
    Bunch with ``data`` (n, 8) float array, ``target`` (n,) ``lpsa``, ``feature_names``,
    ``train`` (n,) boolean mask of the book's training rows, ``frame`` (a DataFrame).
    """
    import pandas as pd

    if split not in ("all", "train", "test"):
        raise ValueError(f"split must be 'all', 'train' or 'test', got {split!r}.")
    with _data_path("prostate.csv").open("r") as fh:
        frame = pd.read_csv(fh)
    train = (frame.pop("train") == "T").to_numpy()
    if split != "all":
        keep = train if split == "train" else ~train
        frame, train = frame[keep].reset_index(drop=True), train[keep]
    X = frame[PROSTATE_FEATURES].to_numpy(dtype=np.float64)
    return Bunch(data=X, target=frame["lpsa"].to_numpy(dtype=np.float64),
                 feature_names=list(PROSTATE_FEATURES), train=train, frame=frame)


def load_singh2002():
    """The Singh et al. (2002) prostate gene-expression data: 102 × 6033.

    Returns
    -------
    Bunch with ``data`` (102, 6033), ``target`` (102,) strings ``"cancer"``/``"healthy"``,
    ``feature_names`` ``g1 … g6033``.
    """
    import pandas as pd

    with _data_path("singh2002_prostate.csv.gz").open("rb") as fh:
        frame = pd.read_csv(fh, compression="gzip")
    target = frame.pop("status").to_numpy(dtype=object)
    return Bunch(data=frame.to_numpy(dtype=np.float64), target=target,
                 feature_names=list(frame.columns))


def make_correlated_regression(n_samples=100, n_features=50, *, n_informative=5, rho=0.0,
                               noise=1.0, coef_scale=1.0, random_state=None):
    """Gaussian design with ``corr(x_i, x_j) = rho^|i−j|``; ``y = Xw* + noise·ε``.

    The ``n_informative`` non-zero entries of ``w*`` (value ``±coef_scale``) are spread
    evenly over the features. Returns ``X, y, w_true``.
    """
    rng = np.random.default_rng(random_state)
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho must be in [0, 1), got {rho!r}.")
    X = rng.standard_normal((n_samples, n_features))
    if rho > 0:  # AR(1) columns: x_j = rho·x_{j−1} + sqrt(1 − rho²)·e_j
        for j in range(1, n_features):
            X[:, j] = rho * X[:, j - 1] + np.sqrt(1.0 - rho**2) * X[:, j]
    w_true = np.zeros(n_features)
    support = np.linspace(0, n_features - 1, n_informative).astype(int)
    w_true[support] = coef_scale * rng.choice([-1.0, 1.0], size=n_informative)
    y = X @ w_true + noise * rng.standard_normal(n_samples)
    return X, y, w_true
