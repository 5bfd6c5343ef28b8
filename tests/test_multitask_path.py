"""The multi-task lasso path with screening (strong rules + KKT check, the left-out columns'
gradient computed apart): every point against scikit-learn's MultiTaskLasso and against the
full problem's certificate recomputed from the stored coefficients."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import MultiTaskLasso as SKMultiTaskLasso

import penalized as pz
from penalized.datafits import SquaredError
from penalized.solvers import LinearProblem, certify


def wide(seed=0, n=60, p=1200, T=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 0.5  # uncentred columns: the intercept's centring is exercised
    W = np.zeros((p, T))
    W[:8] = rng.standard_normal((8, T))
    return X, X @ W + rng.standard_normal((n, T)) + 3.0


@pytest.mark.parametrize("weighted", [False, True])
def test_screened_path_matches_sklearn_and_is_certified(weighted):
    X, Y = wide()
    sw = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    tol = 1e-6
    path = pz.regularization_path(X, Y, pz.GroupL1(1.0), n_lambdas=12, eps=0.02, tol=tol, screening=True,
                                  early_stop=False, sample_weight=sw)
    assert path.converged.all()
    problem = LinearProblem.build(X, Y, SquaredError(), sw, True)
    for k, lam in enumerate(path.lambdas):
        cert = certify(problem, pz.GroupL1(lam), path.coefs[:, :, k], path.intercepts[:, k])
        # the certificate recomputed on the full problem from the stored point: within tol·L(0)
        assert cert.value <= tol * cert.null_loss * (1 + 1e-6)
        assert path.dual_gaps[k] <= tol * cert.null_loss * (1 + 1e-6)
    if weighted:
        return
    # ours: (1/n)‖Y − XW − b‖²_F + λ Σ_j ‖W_j‖; scikit-learn's: (1/2n)‖·‖²_F + α Σ_j ‖W_j‖, α = λ/2
    for k in (3, 7, 11):
        ref = SKMultiTaskLasso(alpha=path.lambdas[k] / 2, tol=1e-12, max_iter=200_000).fit(X, Y)
        assert np.abs(path.coefs[:, :, k] - ref.coef_).max() < 2e-3 * max(1.0, np.abs(ref.coef_).max())
        assert np.abs(path.intercepts[:, k] - ref.intercept_).max() < 2e-3 * max(1.0, np.abs(ref.intercept_).max())
        same_support = (np.abs(ref.coef_).max(axis=0) > 1e-3) <= (path.coefs[:, :, k] != 0).any(axis=0)
        assert same_support.all()


def test_screened_path_sparse_equals_dense():
    X, Y = wide(seed=2, p=1100)
    kw = dict(n_lambdas=8, eps=0.05, tol=1e-8, screening=True, early_stop=False)
    dense = pz.regularization_path(X, Y, pz.GroupL1(1.0), **kw)
    sparse = pz.regularization_path(sp.csc_matrix(X), Y, pz.GroupL1(1.0), **kw)
    np.testing.assert_allclose(sparse.coefs, dense.coefs, atol=1e-5)
    problem = LinearProblem.build(sp.csc_matrix(X), Y, SquaredError(), None, True)
    for k, lam in enumerate(sparse.lambdas):
        cert = certify(problem, pz.GroupL1(lam), sparse.coefs[:, :, k], sparse.intercepts[:, k])
        assert cert.value <= 1e-8 * cert.null_loss * (1 + 1e-6)
