"""glmnet's convergence rule (``thresh``) on top of the certificate: a loose ``tol`` with ``thresh``
still certifies every point (0 ≤ F − F* ≤ gap), and the points are as close to the optimum as the rule
asks, checked against scikit-learn's Lasso solved tightly."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.linear_model import Lasso as SkLasso

import penalized as pz
from penalized.datafits import SquaredError
from penalized.solvers import LinearProblem, solve


def _data(seed=0, n=120, p=400):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=0.05, random_state=seed, format="csc")
    X.data = rng.uniform(0.5, 2.0, X.nnz)
    beta = np.zeros(p)
    beta[:15] = rng.normal(size=15)
    y = X @ beta + 0.05 * rng.normal(size=n)
    return X, y


def _objective(X, y, w, b, lam):
    r = y - X @ w - b
    return np.mean(r ** 2) + lam * np.abs(w).sum()


def _sklearn_optimum(X, y, lam):
    # penalized's L1(λ) on the mean squared error is scikit-learn's alpha = λ/2
    m = SkLasso(alpha=lam / 2, tol=1e-14, max_iter=200_000).fit(X, y)
    return _objective(X, y, m.coef_, m.intercept_, lam)


def test_path_with_thresh_is_certified_and_accurate():
    X, y = _data()
    lam_max = pz.lambda_max(X, y)
    lambdas = lam_max * np.geomspace(1.0, 0.01, 15)
    loose = pz.regularization_path(X, y, lambdas=lambdas, tol=1e-2)
    ruled = pz.regularization_path(X, y, lambdas=lambdas, tol=1e-2, thresh=1e-10)
    f0 = np.var(y)
    worst_ruled = worst_loose = 0.0
    for k, lam in enumerate(lambdas):
        f_star = _sklearn_optimum(X, y, lam)
        for path in (loose, ruled):
            f = _objective(X, y, path.coefs[:, k], path.intercepts[k], lam)
            # the certificate stays an upper bound on the suboptimality, within the tolerance
            assert f - f_star >= -1e-9 * f0
            assert f - f_star <= path.dual_gaps[k] + 1e-9 * f0
            assert path.dual_gaps[k] <= 1e-2 * f0 * (1 + 1e-9)
        worst_ruled = max(worst_ruled, (_objective(X, y, ruled.coefs[:, k], ruled.intercepts[k], lam) - f_star) / f0)
        worst_loose = max(worst_loose, (_objective(X, y, loose.coefs[:, k], loose.intercepts[k], lam) - f_star) / f0)
    # the rule leaves at most ~thresh·(support) per point, far below what tol alone allows
    assert worst_ruled <= 1e-7
    assert worst_ruled <= worst_loose
    assert ruled.n_iter.sum() >= loose.n_iter.sum()


def test_single_solve_with_thresh_matches_sklearn():
    X, y = _data(seed=1)
    lam = 0.05 * pz.lambda_max(X, y)
    problem = LinearProblem.build(X, y, SquaredError(), None, True)
    res = solve(problem, pz.L1(lam), tol=1e-1, thresh=1e-12)
    f_star = _sklearn_optimum(X, y, lam)
    f = _objective(X, y, res.coef, res.intercept, lam)
    assert res.converged
    assert 0.0 <= f - f_star + 1e-12 and f - f_star <= 1e-9 * np.var(y)
    assert f - f_star <= res.certificate + 1e-12
    sk = SkLasso(alpha=lam / 2, tol=1e-14, max_iter=200_000).fit(X, y)
    np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-4)


def test_thresh_zero_or_none_changes_nothing():
    X, y = _data(seed=2)
    lambdas = pz.lambda_max(X, y) * np.geomspace(1.0, 0.05, 8)
    a = pz.regularization_path(X, y, lambdas=lambdas, tol=1e-4)
    b = pz.regularization_path(X, y, lambdas=lambdas, tol=1e-4, thresh=0.0)
    np.testing.assert_array_equal(a.coefs, b.coefs)
    np.testing.assert_array_equal(a.n_iter, b.n_iter)


@pytest.mark.parametrize("bad", [-1e-7, np.nan, np.inf, "1e-7", True])
def test_bad_thresh_raises(bad):
    X, y = _data(seed=3, n=30, p=50)
    with pytest.raises(ValueError, match="thresh"):
        pz.regularization_path(X, y, n_lambdas=3, thresh=bad)
    with pytest.raises(ValueError, match="thresh"):
        pz.LassoCV(n_lambdas=3, cv=3, thresh=bad).fit(X, y)
    problem = LinearProblem.build(X, y, SquaredError(), None, True)
    with pytest.raises(ValueError, match="thresh"):
        solve(problem, pz.L1(0.1), thresh=bad)


def test_lasso_cv_takes_thresh():
    X, y = _data(seed=4)
    est = pz.LassoCV(n_lambdas=20, cv=3, tol=1e-2, thresh=1e-10)
    assert clone(est).get_params()["thresh"] == 1e-10
    est.fit(X, y)
    tight = pz.LassoCV(n_lambdas=20, cv=3, tol=1e-10).fit(X, y)
    # the folds' paths are as accurate as the tight ones': the same CV curve and choice
    np.testing.assert_allclose(est.cv_mean_, tight.cv_mean_, rtol=1e-3)
    assert est.lam_ == tight.lam_
    enet = pz.ElasticNetCV(n_lambdas=10, cv=3, tol=1e-2, thresh=1e-10).fit(X, y)
    assert enet.get_params()["thresh"] == 1e-10


def test_gram_route_with_thresh_matches_sklearn():
    # few features, many samples: the solve starts on the Gram matrix, then checks X̃w (refreshed
    # after the Gram solve: the rule's epochs must run on the residual of the Gram solution)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 12))
    y = X[:, :4] @ np.array([1.0, -2.0, 0.5, 1.5]) + 0.3 * rng.normal(size=600)
    problem = LinearProblem.build(X, y, SquaredError(), None, True)
    lam_max = pz.lambda_max(X, y)
    w, b = None, None
    for lam in lam_max * np.geomspace(0.9, 0.01, 6):
        res = solve(problem, pz.L1(lam), coef_init=w, intercept_init=b, tol=1e-2, thresh=1e-12)
        assert res.plan.gram
        f = _objective(X, y, res.coef, res.intercept, lam)
        f_star = _sklearn_optimum(X, y, lam)
        assert -1e-12 <= f - f_star <= 1e-10 * np.var(y)
        w, b = res.coef, res.intercept


def test_logistic_path_with_thresh_is_certified_and_accurate():
    # proximal Newton: the rule's movement is the last accepted step's; checked against
    # scikit-learn's saga (C = 1 / (n·λ) for penalized's mean log-loss + λ‖w‖₁)
    from sklearn.linear_model import LogisticRegression as SkLogistic

    rng = np.random.default_rng(6)
    X = rng.normal(size=(150, 40))
    y = (X[:, :3] @ np.array([1.5, -1.0, 0.8]) + 0.5 * rng.normal(size=150) > 0).astype(float)
    lam_max = pz.lambda_max(X, y, datafit="logistic")
    lambdas = lam_max * np.geomspace(1.0, 0.05, 6)
    path = pz.regularization_path(X, y, datafit="logistic", lambdas=lambdas, tol=1e-1, thresh=1e-12)
    s = 2 * y - 1

    def objective(w, b, lam):
        return np.mean(np.logaddexp(0.0, -s * (X @ w + b))) + lam * np.abs(w).sum()

    for k, lam in enumerate(lambdas[1:], start=1):
        sk = SkLogistic(l1_ratio=1.0, C=1.0 / (len(y) * lam), solver="saga", tol=1e-12, max_iter=200_000).fit(X, y)
        f_star = objective(sk.coef_.ravel(), sk.intercept_[0], lam)
        f = objective(path.coefs[:, k], path.intercepts[k], lam)
        assert f - f_star <= 1e-8
        assert f - f_star <= path.dual_gaps[k] + 1e-8
