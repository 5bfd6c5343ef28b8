"""The benchmark problems: simulated correlated designs and the Singh et al. (2002) data.

Each problem carries a regression target (Lasso, elastic net) and ±1 labels (L1 logistic
regression). Designs are standardized (centred, unit variance) and stored in Fortran
order, the layout coordinate descent reads column by column, so that no library pays
for a conversion copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FULL_SHAPES = [(100, 10000), (500, 5000), (5000, 200)]
FULL_RHOS = [0.0, 0.6]
QUICK_SHAPES = [(40, 300)]
QUICK_RHOS = [0.6]


@dataclass
class Problem:
    name: str
    X: np.ndarray
    y: np.ndarray  # regression target
    labels: np.ndarray  # ±1

    @property
    def shape(self):
        return self.X.shape


def _standardize(X):
    X = np.asarray(X, dtype=np.float64)
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    return np.asfortranarray((X - X.mean(axis=0)) / sd)


def simulated(n, p, rho, seed=0):
    """``make_correlated_regression`` with 10 informative features; labels = sign(y − mean)."""
    from penalized.datasets import make_correlated_regression

    X, y, _ = make_correlated_regression(n, p, n_informative=10, rho=rho, noise=1.0, random_state=seed)
    labels = np.where(y > np.mean(y), 1.0, -1.0)
    return Problem(f"sim {n}×{p} ρ={rho:g}", _standardize(X), y, labels)


def singh2002():
    """102 × 6033 gene expressions; target 1 = cancer (regression), ±1 (classification)."""
    from penalized.datasets import load_singh2002

    data = load_singh2002()
    cancer = np.asarray(data.target == "cancer")
    return Problem("singh2002 102×6033", _standardize(data.data), cancer.astype(np.float64),
                   np.where(cancer, 1.0, -1.0))


def problems(quick=False):
    if quick:
        return [simulated(n, p, rho) for n, p in QUICK_SHAPES for rho in QUICK_RHOS]
    out = [simulated(n, p, rho) for n, p in FULL_SHAPES for rho in FULL_RHOS]
    out.append(singh2002())
    return out
