"""The solver against independent references: scikit-learn, closed forms, optimality."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk

import penalized as pz
from conftest import correlated_design, relative_error
from penalized.solvers import LinearProblem, solve

SHAPES = [(30, 60), (80, 20)]  # n < p and n > p
RHOS = [0.0, 0.9]  # independent and strongly correlated columns
GRID = list(itertools.product(SHAPES, RHOS, [True, False], [False, True]))
GRID_IDS = [f"{n}x{p}-rho{r}-{'int' if i else 'noint'}-{'sw' if w else 'nosw'}" for (n, p), r, i, w in GRID]
TIGHT = dict(tol=1e-14, max_iter=100_000)


def make_problem(n, p, rho, weighted, classification=False, seed=None):
    rng = np.random.default_rng(seed if seed is not None else n * 1000 + p + int(rho * 10))
    X = correlated_design(rng, n, p, rho) * rng.uniform(0.5, 3, p) + rng.normal(size=p)
    signal = X[:, :3] @ np.array([1.5, -2.0, 1.0])
    y = signal + rng.normal(size=n) + 0.5
    if classification:
        y = np.where(signal + rng.normal(size=n) > 0, "yes", "no")
    sw = rng.uniform(0.2, 3.0, n) if weighted else None
    return X, y, sw


def lam_max(X, y, datafit, sw, fit_intercept):
    return LinearProblem.build(X, y, datafit, sw, fit_intercept).lambda_max()


@pytest.mark.parametrize(("shape", "rho", "fit_intercept", "weighted"), GRID, ids=GRID_IDS)
@pytest.mark.parametrize("frac", [0.5, 0.05])
def test_lasso_matches_sklearn(shape, rho, fit_intercept, weighted, frac):
    X, y, sw = make_problem(*shape, rho, weighted)
    lam = frac * lam_max(X, y, pz.SquaredError(), sw, fit_intercept)
    ours = pz.Lasso(lam=lam, fit_intercept=fit_intercept, **TIGHT).fit(X, y, sample_weight=sw)
    ref = sk.Lasso(alpha=lam / 2, fit_intercept=fit_intercept, tol=1e-15, max_iter=10**6).fit(
        X, y, sample_weight=sw)
    assert relative_error(ours.coef_, ref.coef_) < 1e-6
    assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-8)
    assert np.array_equal(ours.coef_ == 0, np.abs(ref.coef_) < 1e-12)


@pytest.mark.parametrize(("shape", "rho", "fit_intercept", "weighted"), GRID, ids=GRID_IDS)
@pytest.mark.parametrize("l1_ratio", [0.3, 0.8])
def test_elastic_net_matches_sklearn(shape, rho, fit_intercept, weighted, l1_ratio):
    X, y, sw = make_problem(*shape, rho, weighted)
    lam = 0.1 * lam_max(X, y, pz.SquaredError(), sw, fit_intercept) / l1_ratio
    ours = pz.ElasticNet(lam=lam, l1_ratio=l1_ratio, fit_intercept=fit_intercept, **TIGHT).fit(
        X, y, sample_weight=sw)
    ref = sk.ElasticNet(alpha=lam / 2, l1_ratio=l1_ratio, fit_intercept=fit_intercept, tol=1e-15,
                        max_iter=10**6).fit(X, y, sample_weight=sw)
    assert relative_error(ours.coef_, ref.coef_) < 1e-6
    assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize(("shape", "rho", "fit_intercept", "weighted"), GRID, ids=GRID_IDS)
def test_l1_logistic_matches_sklearn(shape, rho, fit_intercept, weighted):
    X, labels, sw = make_problem(*shape, rho, weighted, classification=True)
    X = (X - X.mean(0)) / X.std(0)  # saga needs scaled columns to reach 1e-6 in reasonable time
    y_pm = np.where(labels == "yes", 1.0, -1.0)
    lam = 0.1 * lam_max(X, y_pm, pz.Logistic(), sw, fit_intercept)
    total_weight = len(labels) if sw is None else sw.sum()
    ours = pz.LogisticRegression(penalty=pz.L1(lam), fit_intercept=fit_intercept, **TIGHT).fit(
        X, labels, sample_weight=sw)
    # liblinear penalizes the intercept, so it is the reference only without one
    solver = "saga" if fit_intercept else "liblinear"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sk.LogisticRegression(C=1 / (total_weight * lam), l1_ratio=1.0, solver=solver,
                                    fit_intercept=fit_intercept, tol=1e-15, max_iter=10**6).fit(
            X, labels, sample_weight=sw)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    assert relative_error(ours.coef_, ref.coef_) < 1e-6
    if fit_intercept:
        assert ours.intercept_[0] == pytest.approx(ref.intercept_[0], rel=1e-6, abs=1e-8)


def weighted_ridge_closed_form(X, y, sw, lam, c, fit_intercept):
    a = np.full(len(y), 1 / len(y)) if sw is None else sw / sw.sum()
    if fit_intercept:
        X = X - a @ X
        y = y - a @ y
    A = X.T @ (a[:, None] * X) + lam * np.diag(c)
    return np.linalg.solve(A, X.T @ (a * y))


@pytest.mark.parametrize(("shape", "rho", "fit_intercept", "weighted"), GRID, ids=GRID_IDS)
def test_ridge_matches_closed_form(shape, rho, fit_intercept, weighted):
    X, y, sw = make_problem(*shape, rho, weighted)
    c = np.random.default_rng(0).uniform(0.5, 2, X.shape[1])
    ours = pz.Ridge(lam=0.3, weights=c, fit_intercept=fit_intercept, **TIGHT).fit(X, y, sample_weight=sw)
    assert relative_error(ours.coef_, weighted_ridge_closed_form(X, y, sw, 0.3, c, fit_intercept)) < 1e-6
    # and scikit-learn's Ridge(alpha) is Ridge(lam = alpha / n)
    ref = sk.Ridge(alpha=0.3 * len(y), fit_intercept=fit_intercept).fit(X, y)
    ours = pz.Ridge(lam=0.3, fit_intercept=fit_intercept, **TIGHT).fit(X, y)
    assert relative_error(ours.coef_, ref.coef_) < 1e-6


def test_elastic_net_with_l1_ratio_one_is_lasso():
    X, y, _ = make_problem(40, 100, 0.6, False)
    a = pz.ElasticNet(lam=0.2, l1_ratio=1.0, **TIGHT).fit(X, y)
    b = pz.Lasso(lam=0.2, **TIGHT).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10, atol=1e-12)
    c = pz.LinearRegression(penalty=pz.L1(0.2), **TIGHT).fit(X, y)
    np.testing.assert_allclose(c.coef_, b.coef_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("datafit", ["squared", "logistic"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lambda_max_is_the_threshold(datafit, fit_intercept):
    X, y, sw = make_problem(50, 30, 0.5, True, classification=datafit == "logistic")
    if datafit == "logistic":
        y_pm = np.where(y == "yes", 1.0, -1.0)
        lmax = lam_max(X, y_pm, pz.Logistic(), sw, fit_intercept)

        def fit(lam):
            return pz.LogisticRegression(penalty=pz.L1(lam), fit_intercept=fit_intercept, **TIGHT).fit(
                X, y, sample_weight=sw).coef_
    else:
        lmax = lam_max(X, y, pz.SquaredError(), sw, fit_intercept)

        def fit(lam):
            return pz.Lasso(lam=lam, fit_intercept=fit_intercept, **TIGHT).fit(X, y, sample_weight=sw).coef_
    assert np.all(fit(lmax) == 0.0)
    assert np.all(fit(1.5 * lmax) == 0.0)
    assert np.count_nonzero(fit(0.99 * lmax)) >= 1


def test_l2_gives_no_exact_zeros():
    X, y, _ = make_problem(30, 60, 0.0, False)
    for lam in (1e-3, 0.1, 10.0):
        assert np.count_nonzero(pz.Ridge(lam=lam).fit(X, y).coef_ == 0) == 0
    labels = make_problem(30, 60, 0.0, False, classification=True)[1]
    assert np.count_nonzero(pz.LogisticRegression(penalty=pz.L2(0.1)).fit(X, labels).coef_ == 0) == 0


def kkt_violation(penalty, datafit, X, y, sw, coef, intercept):
    grad, grad_b = datafit.gradient(X, y, coef, intercept, sw)
    return penalty.subdiff_distance(coef, grad), grad_b


PENALTY_CASES = [pz.L1(0.05), pz.L1L2(l1=0.05, l2=0.1), pz.L2(0.1),
                 pz.L1(0.05, weights=np.r_[0.0, 0.0, np.ones(28)]),
                 pz.L1L2(l1=0.02, l2=0.01, weights=np.linspace(0, 2, 30))]


@pytest.mark.parametrize("penalty", PENALTY_CASES, ids=repr)
@pytest.mark.parametrize("datafit", [pz.SquaredError(), pz.Logistic()], ids=repr)
@pytest.mark.parametrize("sparse", [False, True])
def test_solutions_satisfy_kkt(penalty, datafit, sparse):
    X, y, sw = make_problem(40, 30, 0.7, True, classification=isinstance(datafit, pz.Logistic))
    if isinstance(datafit, pz.Logistic):
        y = np.where(y == "yes", 1.0, -1.0)
    X[np.abs(X) < 0.8] = 0.0  # make sparse input meaningful
    design = sp.csc_matrix(X) if sparse else X
    problem = LinearProblem.build(design, y, datafit, sw, fit_intercept=True)
    result = solve(problem, penalty, tol=1e-12, max_iter=100_000)
    assert result.converged
    assert result.certificate <= 1e-12 * problem.null_loss
    dist, grad_b = kkt_violation(penalty, datafit, X, y, sw, result.coef, result.intercept)
    assert np.max(dist) < 1e-5
    assert abs(grad_b) < 1e-5
    # the certificate is honest: a rigorous bound on L - L* for the squared error when only
    # the intercept is unpenalized, a first-order estimate otherwise
    precise = solve(problem, penalty, tol=1e-15, max_iter=100_000)
    excess = result.objective - precise.objective
    rigorous = isinstance(datafit, pz.SquaredError) and penalty.weights is None
    assert excess <= (1.0 if rigorous else 10.0) * result.certificate + 1e-15


def test_default_tolerance_certificate_bounds_suboptimality():
    X, y, _ = make_problem(50, 200, 0.8, False)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    penalty = pz.L1(0.02 * problem.lambda_max())
    loose = solve(problem, penalty, tol=1e-4)
    exact = solve(problem, penalty, tol=1e-15, max_iter=100_000)
    assert loose.converged and loose.certificate <= 1e-4 * problem.null_loss
    # both objectives are exact to rounding (a few ulps): exact support steps can make the
    # loose solution as precise as the tight one
    assert -1e-14 <= loose.objective - exact.objective <= loose.certificate


@pytest.mark.parametrize("datafit", ["squared", "logistic"])
def test_sparse_dense_and_float32_agree(datafit):
    X, y, sw = make_problem(60, 40, 0.3, True, classification=datafit == "logistic")
    X[np.abs(X) < 1.0] = 0.0
    est = pz.Lasso(lam=0.05, **TIGHT) if datafit == "squared" else pz.LogisticRegression(
        penalty=pz.L1(0.02), **TIGHT)
    dense = est.fit(X, y, sample_weight=sw).coef_.copy()
    for fmt in ("csc", "csr", "coo"):
        sparse = est.fit(sp.csr_matrix(X).asformat(fmt), y, sample_weight=sw).coef_
        np.testing.assert_allclose(sparse, dense, rtol=1e-7, atol=1e-10)
    X32 = X.astype(np.float32)
    est.set_params(tol=1e-10)
    coef32 = est.fit(X32, y, sample_weight=sw).coef_
    assert coef32.dtype == np.float32
    ref32 = est.fit(X32.astype(np.float64), y, sample_weight=sw).coef_
    np.testing.assert_allclose(coef32, ref32, rtol=1e-5, atol=1e-6)


def test_sample_weights_equal_repetition():
    X, y, _ = make_problem(30, 10, 0.3, False)
    sw = np.arange(30) % 3  # 0, 1, 2 repetitions
    weighted = pz.Lasso(lam=0.05, **TIGHT).fit(X, y, sample_weight=sw)
    repeated = pz.Lasso(lam=0.05, **TIGHT).fit(np.repeat(X, sw, axis=0), np.repeat(y, sw))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8, atol=1e-12)
    # and scaling all weights changes nothing (weighted mean)
    scaled = pz.Lasso(lam=0.05, **TIGHT).fit(X, y, sample_weight=7.5 * sw)
    np.testing.assert_allclose(scaled.coef_, weighted.coef_, rtol=1e-8, atol=1e-12)


def test_unpenalized_features_and_ols():
    X, y, _ = make_problem(80, 20, 0.5, False)
    ols = pz.LinearRegression(**TIGHT).fit(X, y)
    ref = sk.LinearRegression().fit(X, y)
    assert relative_error(ols.coef_, ref.coef_) < 1e-6
    weights = np.ones(20)
    weights[:3] = 0.0
    lasso = pz.Lasso(lam=100.0, weights=weights, **TIGHT).fit(X, y)
    assert np.all(lasso.coef_[3:] == 0) and np.all(lasso.coef_[:3] != 0)
    restricted = sk.LinearRegression().fit(X[:, :3], y)
    np.testing.assert_allclose(lasso.coef_[:3], restricted.coef_, rtol=1e-6)


def test_uncentred_features_converge_fast():
    # mean 100, std 1: plain coordinates couple each feature with the intercept
    rng = np.random.default_rng(0)
    X = rng.normal(loc=100, size=(100, 5))
    y = X @ np.arange(5) + rng.normal(size=100)
    est = pz.Lasso(lam=1e-3, tol=1e-12, max_iter=2000).fit(X, y)
    assert est.dual_gap_ <= 1e-12 * np.var(y)
    assert est.n_iter_ < 200


def test_warm_start_reuses_the_solution():
    X, y, _ = make_problem(50, 300, 0.6, False)
    est = pz.Lasso(lam=0.05, tol=1e-10, warm_start=True).fit(X, y)
    cold_iters = est.n_iter_
    est.fit(X, y)
    assert est.n_iter_ < cold_iters
    assert est.n_iter_ <= 5


def test_max_iter_warns_once_with_the_gap():
    X, y, _ = make_problem(50, 300, 0.9, False)
    with pytest.warns(Warning) as record:
        est = pz.Lasso(lam=1e-4, tol=1e-12, max_iter=3).fit(X, y)
    messages = [str(r.message) for r in record]
    assert len(messages) == 1
    assert "did not converge in max_iter=3 epochs" in messages[0]
    assert f"{est.dual_gap_:.3g}" in messages[0]
    assert "Increase max_iter" in messages[0]


def test_constant_target_returns_the_mean():
    X = np.random.default_rng(0).normal(size=(20, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = pz.Lasso(lam=0.1).fit(X, np.full(20, 3.0))
    assert np.all(est.coef_ == 0) and est.intercept_ == pytest.approx(3.0)
