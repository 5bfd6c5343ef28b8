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
    fit_intercept: bool = True  # False for the sparse designs (not centred): every library fits none

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


# ------------------------------------------------------------- the penalty sections' problems
PENALTY_SHAPES = [("tall", 5000, 200, 0.0), ("wide", 200, 5000, 0.0), ("AR(0.5)", 400, 2000, 0.5)]
QUICK_PENALTY_SHAPES = [("tiny", 60, 200, 0.5)]
SPARSE_SHAPE = (1000, 5000, 0.02)  # n, p, density
N_BLOCKS, BLOCK = 4, 5  # the truth: 4 runs of 5 consecutive non-zero coefficients


def _block_truth(p, rng):
    """``N_BLOCKS`` runs of ``BLOCK`` consecutive non-zeros (N(0, 1) values), spread evenly, so that
    they straddle the boundaries of groups of 4 and of 10 as a real grouping would."""
    w = np.zeros(p)
    starts = np.linspace(0, p - BLOCK, N_BLOCKS + 2)[1:-1].astype(int) + 1
    for s in starts:
        w[s:s + BLOCK] = rng.standard_normal(BLOCK)
    return w


def group_sparse(kind, n, p, rho, seed=0):
    """A standardized AR(ρ) Gaussian design (``corr(x_i, x_j) = ρ^|i−j|``) and a block-sparse truth;
    ``y = Xw* + ε`` with unit noise."""
    from penalized.datasets import make_correlated_regression

    rng = np.random.default_rng(seed + 1)
    X, _, _ = make_correlated_regression(n, p, n_informative=1, rho=rho, random_state=seed)
    X = _standardize(X)
    y = X @ _block_truth(p, rng) + rng.standard_normal(n)
    labels = np.where(y > np.mean(y), 1.0, -1.0)
    return Problem(f"{kind} {n}×{p}" + (f" ρ={rho:g}" if rho else ""), X, y, labels)


def sparse_group(n, p, density, seed=0):
    """A CSC design with ``density`` non-zeros per column (N(0, 1) values, columns scaled to
    ``‖x_j‖² = n``, not centred: no intercept for any library), block-sparse truth, unit noise."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=rng, data_rvs=rng.standard_normal)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel() / n)
    X = sp.csc_matrix(X @ sp.diags(1.0 / np.where(norms > 0, norms, 1.0)))
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    y = X @ _block_truth(p, rng) + rng.standard_normal(n)
    return Problem(f"sparse {n}×{p} {density:.0%}", X, y, np.where(y > np.mean(y), 1.0, -1.0),
                   fit_intercept=False)


def penalty_problems(quick=False, sparse=True):
    """The designs of the group lasso, sparse group lasso, MCP and ``positive=True`` sections."""
    if quick:
        return [group_sparse(k, n, p, rho) for k, n, p, rho in QUICK_PENALTY_SHAPES]
    out = [group_sparse(k, n, p, rho) for k, n, p, rho in PENALTY_SHAPES]
    if sparse:
        out.append(sparse_group(*SPARSE_SHAPE))
    return out
