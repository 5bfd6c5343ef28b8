"""Group lasso and sparse group lasso in the linear solvers, paths and CV.

References: skglm's GroupLasso (same problem up to the factor 2 of the data fit), and the
optimality conditions computed here from scratch.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized.solvers import LinearProblem, certificate, solve

skglm = pytest.importorskip("skglm")

TIGHT = dict(tol=1e-12, max_iter=100_000)


def make(seed=0, n=120, p=48, size=4, sparse=False, logistic=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if sparse:
        X = np.where(rng.random((n, p)) < 0.3, X, 0.0)
    w = np.zeros(p)
    w[: 2 * size] = rng.standard_normal(2 * size)
    w[3 * size] = 1.5
    y = X @ w + 0.3 * rng.standard_normal(n) + 0.7
    if logistic:
        y = np.where(y > np.median(y), 1, 0)
    groups = np.repeat(np.arange(p // size), size)
    return (sp.csc_matrix(X) if sparse else X), y, groups


def group_kkt(X, y, coef, intercept, lam_g, l1, groups, datafit):
    """max over groups of the distance of −∇_g to the subdifferential of the group's penalty,
    from the gradient computed in NumPy."""
    Xd = X.toarray() if sp.issparse(X) else X
    z = Xd @ coef + intercept
    d = datafit.derivative(y, z)
    g = Xd.T @ d
    worst = abs(d.sum())  # the intercept
    for label in np.unique(groups):
        idx = groups == label
        wg, gg = coef[idx], g[idx]
        if not np.any(wg):
            soft = np.sign(gg) * np.maximum(np.abs(gg) - l1, 0)
            worst = max(worst, np.linalg.norm(soft) - lam_g)
        else:
            r = np.where(wg != 0, gg + l1 * np.sign(wg) + lam_g * wg / np.linalg.norm(wg),
                         np.sign(gg) * np.maximum(np.abs(gg) - l1, 0))
            worst = max(worst, np.linalg.norm(r))
    return worst


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_group_lasso_matches_skglm(seed, fit_intercept):
    X, y, groups = make(seed)
    alpha = 0.08
    ref = skglm.GroupLasso(groups=4, alpha=alpha, tol=1e-13, max_iter=10_000, fit_intercept=fit_intercept).fit(X, y)
    # skglm: (1/2n)‖y − Xw − b‖² + α Σ‖w_g‖; twice that is MSE + 2α Σ‖w_g‖
    model = pz.LinearRegression(penalty=pz.GroupL1(2 * alpha, groups=groups), fit_intercept=fit_intercept,
                                **TIGHT).fit(X, y)
    assert np.abs(model.coef_ - ref.coef_).max() < 1e-7 * max(1.0, np.abs(ref.coef_).max())
    assert 0 < np.count_nonzero(model.coef_) < X.shape[1]
    # whole groups are zero or not
    nz = model.coef_ != 0
    for label in np.unique(groups):
        assert nz[groups == label].all() or not nz[groups == label].any()
    assert "block" in model.solver_plan_.method


def test_group_weights_match_skglm():
    X, y, groups = make(2)
    weights = np.sqrt(np.bincount(groups)) * np.linspace(0.5, 1.5, groups.max() + 1)
    ref = skglm.GroupLasso(groups=4, alpha=0.05, weights=weights, tol=1e-13, max_iter=10_000).fit(X, y)
    model = pz.LinearRegression(penalty=pz.GroupL1(0.1, groups=groups, weights=weights), **TIGHT).fit(X, y)
    assert np.abs(model.coef_ - ref.coef_).max() < 1e-7


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("logistic", [False, True])
def test_sparse_group_lasso_kkt_and_certificate(sparse, logistic):
    X, y, groups = make(3, sparse=sparse, logistic=logistic)
    datafit = pz.Logistic() if logistic else pz.SquaredError()
    lam_g, l1 = (0.02, 0.01) if logistic else (0.1, 0.05)
    penalty = pz.L1(l1) + pz.GroupL1(lam_g, groups=groups)
    est = pz.LogisticRegression(penalty=penalty, **TIGHT) if logistic else pz.LinearRegression(penalty=penalty,
                                                                                             **TIGHT)
    est.fit(X, y)
    coef, b = np.ravel(est.coef_), float(np.ravel(est.intercept_)[0])
    yk = np.where(y == 1, 1.0, -1.0) if logistic else y
    assert group_kkt(X, yk, coef, b, lam_g, l1, groups, datafit) < 1e-6
    cert = certificate(X, y, coef, b, datafit=datafit, penalty=penalty)
    assert 0 <= cert.relative <= 1e-10
    # within a selected group some coordinates are exactly zero (the L1 part)
    assert np.any((coef == 0) & np.isin(groups, np.unique(groups[coef != 0])))


def test_dense_equals_sparse():
    X, y, groups = make(4)
    penalty = pz.L1(0.02) + pz.GroupL1(0.08, groups=groups)
    dense = pz.LinearRegression(penalty=penalty, **TIGHT).fit(X, y)
    sparse = pz.LinearRegression(penalty=penalty, **TIGHT).fit(sp.csc_matrix(X), y)
    assert np.allclose(dense.coef_, sparse.coef_, atol=1e-9)
    assert np.isclose(dense.intercept_, sparse.intercept_, atol=1e-9)


@pytest.mark.parametrize("penalty", [pz.GroupL1(1.0, groups=np.repeat(np.arange(12), 4)),
                                     pz.L1(0.5) + pz.GroupL1(1.0, groups=np.repeat(np.arange(12), 4))], ids=repr)
def test_lambda_max_gives_exact_zeros(penalty):
    X, y, _ = make(5)
    lam = pz.lambda_max(X, y, penalty)
    at = pz.LinearRegression(penalty=penalty.scaled(lam * 1.0001), **TIGHT).fit(X, y)
    below = pz.LinearRegression(penalty=penalty.scaled(lam * 0.95), **TIGHT).fit(X, y)
    assert np.all(at.coef_ == 0)
    assert np.any(below.coef_ != 0)


def test_group_path_and_strong_rules_equal_direct_fits():
    X, y, groups = make(6, n=60, p=1200, size=4)
    unit = pz.GroupL1(1.0, groups=groups)
    screened = pz.regularization_path(X, y, unit, n_lambdas=12, tol=1e-10, screening=True)
    plain = pz.regularization_path(X, y, unit, lambdas=screened.lambdas, tol=1e-10, screening=False)
    assert screened.converged.all()
    assert np.abs(screened.coefs - plain.coefs).max() < 1e-6
    k = 7
    direct = pz.LinearRegression(penalty=unit.scaled(screened.lambdas[k]), tol=1e-10).fit(X, y)
    assert np.abs(direct.coef_ - screened.coefs[:, k]).max() < 1e-6
    assert screened.n_nonzero[0] == 0 and screened.n_nonzero[-1] > 0


def test_group_cv():
    X, y, groups = make(7)
    cv = pz.LogisticRegressionCV(penalty=pz.GroupL1(1.0, groups=groups), cv=3, n_lambdas=8, eps=1e-2).fit(
        X, (y > np.median(y)).astype(int))
    nz = np.ravel(cv.coef_) != 0
    for label in np.unique(groups):
        assert nz[groups == label].all() or not nz[groups == label].any()
    assert cv.lam_min_ > 0


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(groups=[0, 1]), ValueError, "groups has 2 labels"),
    (dict(groups=np.linspace(0, 1, 48)), TypeError, "integer"),
    (dict(groups=np.repeat(np.arange(12), 4), weights=np.ones(5)), ValueError, "weights"),
    (dict(groups=np.repeat(np.arange(12), 4), weights=-np.ones(12)), ValueError, ">= 0"),
])
def test_bad_groups(kwargs, error, match):
    X, y, _ = make(8)
    with pytest.raises(error, match=match):
        pz.LinearRegression(penalty=pz.GroupL1(0.1, **kwargs)).fit(X, y)


def test_group_penalty_with_bounds_is_refused():
    X, y, groups = make(9)
    with pytest.raises(ValueError, match="bounds"):
        pz.LinearRegression(penalty=pz.GroupL1(0.1, groups=groups), positive=True).fit(X, y)


def test_block_solver_on_a_built_problem_reports_its_plan():
    X, y, groups = make(10)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    res = solve(problem, pz.GroupL1(0.1, groups=groups), tol=1e-10)
    assert res.converged and res.plan.certificate == "duality gap"
    assert "GroupL1" in str(res.plan)
