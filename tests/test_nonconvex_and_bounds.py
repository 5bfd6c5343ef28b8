"""MCP, SCAD and box constraints: against skglm and scikit-learn, and their optimality
(stationarity) conditions computed here from scratch."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar
from sklearn.linear_model import ElasticNet, Lasso

import penalized as pz
from penalized.solvers import certificate

skglm = pytest.importorskip("skglm")

TIGHT = dict(tol=1e-14, max_iter=100_000)


def make(seed=0, n=150, p=40, logistic=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:6] = [3, -2, 1.5, -1, 0.8, 2]
    y = X @ w + 0.5 * rng.standard_normal(n) + 1.0
    if logistic:
        y = (y > np.median(y)).astype(int)
    return X, y


def stationarity(X, y, coef, b, penalty, datafit=None):
    """max_j dist(−∇_j L_data, ∂pen_j(w_j)) and the intercept's derivative, in NumPy."""
    datafit = datafit or pz.SquaredError()
    z = X @ coef + b
    d = datafit.derivative(y, z)
    g = X.T @ d
    return max(np.max(penalty.subdiff_distance(coef, g)), abs(d.sum()))


# ---------------------------------------------------------------------------------- MCP
@pytest.mark.parametrize(("alpha", "gamma"), [(0.05, 3.0), (0.1, 2.0), (0.2, 6.0)])
def test_mcp_matches_skglm(alpha, gamma):
    X, y = make(0)
    ref = skglm.MCPRegression(alpha=alpha, gamma=gamma, tol=1e-14, max_iter=10_000).fit(X, y)
    model = pz.LinearRegression(penalty=pz.MCP(lam=2 * alpha, gamma=gamma / 2), **TIGHT).fit(X, y)
    assert np.abs(model.coef_ - ref.coef_).max() < 1e-6
    assert stationarity(X, y, model.coef_, model.intercept_, pz.MCP(2 * alpha, gamma / 2)) < 1e-6
    assert model.solver_plan_.certificate.startswith("stationarity")
    # MCP leaves large coefficients unshrunk: closer to least squares on the support than the lasso
    lasso = pz.Lasso(lam=2 * alpha, tol=1e-10).fit(X, y)
    support = np.flatnonzero(model.coef_)
    ols = np.linalg.lstsq(np.column_stack([X[:, support], np.ones(len(y))]), y, rcond=None)[0][:-1]
    assert np.abs(model.coef_[support] - ols).max() <= np.abs(lasso.coef_[support] - ols).max()


@pytest.mark.parametrize(("alpha", "gamma"), [(0.05, 3.7), (0.15, 3.0)])
def test_scad_matches_skglm_on_the_rescaled_problem(alpha, gamma):
    X, y = make(1)
    Xc, yc = X - X.mean(0), y - y.mean()
    # (1/2n)‖√2 y − √2 X w‖² is penalized's mean squared error: the same w minimises both
    solver = skglm.solvers.AndersonCD(tol=1e-14, max_iter=10_000, fit_intercept=False)
    ref = skglm.GeneralizedLinearEstimator(datafit=skglm.datafits.Quadratic(),
                                           penalty=skglm.penalties.SCAD(alpha, gamma),
                                           solver=solver).fit(np.sqrt(2) * Xc, np.sqrt(2) * yc)
    model = pz.LinearRegression(penalty=pz.SCAD(alpha, gamma), **TIGHT).fit(X, y)
    assert np.abs(model.coef_ - ref.coef_).max() < 1e-6
    assert stationarity(X, y, model.coef_, model.intercept_, pz.SCAD(alpha, gamma)) < 1e-6


@pytest.mark.parametrize("penalty", [pz.MCP(0.05, 1.5), pz.SCAD(0.05, 3.7)], ids=repr)
def test_nonconvex_equals_skglm_where_strictly_convex_and_logistic_is_stationary(penalty):
    """n ≫ p, γ large: the problem is strictly convex and the stationary point is unique."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2000, 8))
    y = X @ np.array([2, 0, -1, 0, 0, 0.5, 0, 0]) + rng.standard_normal(2000)
    a = pz.LinearRegression(penalty=penalty, **TIGHT).fit(X, y)
    b = pz.LinearRegression(penalty=penalty, **TIGHT).fit(X, y * 1.0)
    assert np.array_equal(a.coef_, b.coef_)
    Xl, yl = make(4, n=600, logistic=True)  # not separable: bounded penalties need a finite optimum
    model = pz.LogisticRegression(penalty=penalty, tol=1e-12, max_iter=100_000).fit(Xl, yl)
    ypm = np.where(yl == 1, 1.0, -1.0)
    assert stationarity(Xl, ypm, model.coef_[0], model.intercept_[0], penalty, pz.Logistic()) < 1e-5


@pytest.mark.parametrize("name", ["mcp", "scad"])
def test_nonconvex_lambda_max_and_path(name):
    X, y = make(5)
    lmax = pz.lambda_max(X, y, name)
    assert np.isclose(lmax, pz.lambda_max(X, y, "l1"))  # both have slope lam at zero
    path = pz.regularization_path(X, y, name, n_lambdas=15, tol=1e-12, max_iter=100_000)
    assert path.n_nonzero[0] == 0 and path.converged.all()
    unit = pz.MCP(1.0) if name == "mcp" else pz.SCAD(1.0)
    for k in (3, 9):
        assert stationarity(X, y, path.coefs[:, k], path.intercepts[k], unit.scaled(path.lambdas[k])) < 1e-5


@settings(max_examples=60, deadline=None, derandomize=True)
@given(x=st.floats(-10, 10), step=st.floats(0.01, 5.0), lam=st.floats(0.0, 3.0), gamma=st.floats(0.2, 6.0),
       scad=st.booleans())
def test_nonconvex_prox_is_the_global_minimiser(x, step, lam, gamma, scad):
    penalty = pz.SCAD(lam, 2.01 + gamma) if scad else pz.MCP(lam, gamma)
    z = float(penalty.prox(np.array([x]), step)[0])

    def objective(u):
        return 0.5 * (u - x) ** 2 + step * float(penalty.value(np.array([u])))

    grid = np.linspace(-abs(x) - 1, abs(x) + 1, 20001)
    best = min(objective(u) for u in grid)
    fine = minimize_scalar(objective, bounds=(z - 0.01, z + 0.01), method="bounded").fun
    assert objective(z) <= min(best, fine) + 1e-9


@pytest.mark.parametrize(("cls", "gamma"), [(pz.MCP, 0.0), (pz.MCP, -1.0), (pz.SCAD, 2.0), (pz.SCAD, 1.5),
                                            (pz.MCP, float("inf"))])
def test_gamma_out_of_range(cls, gamma):
    with pytest.raises(ValueError, match="gamma"):
        cls(0.1, gamma)


def test_nonconvex_penalties_do_not_combine():
    with pytest.raises(TypeError, match="cannot add"):
        pz.MCP(0.1) + pz.L1(0.1)


# ------------------------------------------------------------------------------- bounds
@pytest.mark.parametrize("sparse", [False, True])
def test_positive_lasso_and_elastic_net_match_sklearn(sparse):
    X, y = make(6)
    Xs = sp.csc_matrix(X) if sparse else X
    ref = Lasso(alpha=0.05, positive=True, tol=1e-14, max_iter=100_000).fit(X, y)
    model = pz.Lasso(lam=0.1, positive=True, **TIGHT).fit(Xs, y)
    assert np.abs(model.coef_ - ref.coef_).max() < 1e-8 and model.coef_.min() >= 0
    assert np.any(model.coef_ == 0) and np.any(ref.coef_ == 0)
    ref = ElasticNet(alpha=0.05, l1_ratio=0.5, positive=True, tol=1e-14, max_iter=100_000).fit(X, y)
    model = pz.ElasticNet(lam=0.1, l1_ratio=0.5, positive=True, **TIGHT).fit(Xs, y)
    assert np.abs(model.coef_ - ref.coef_).max() < 1e-8


def box_kkt(X, y, coef, b, l1, lower, upper, datafit=None):
    """Optimality of ``MSE + l1‖w‖₁`` on the box, from scratch: at a bound the gradient may push
    outward, inside it must vanish up to the L1 subdifferential."""
    datafit = datafit or pz.SquaredError()
    d = datafit.derivative(y, X @ coef + b)
    g = X.T @ d
    worst = abs(d.sum())
    for j in range(len(coef)):
        w = coef[j]
        if w == 0:
            low = -np.inf if lower[j] == 0 else -l1
            high = np.inf if upper[j] == 0 else l1
        else:
            s = l1 * np.sign(w)
            low = -np.inf if w == lower[j] else s
            high = np.inf if w == upper[j] else s
        worst = max(worst, low + g[j], -g[j] - high, 0)
    return worst


@pytest.mark.parametrize("logistic", [False, True])
def test_box_constraints_kkt(logistic):
    X, y = make(7, logistic=logistic)
    p = X.shape[1]
    lower = np.where(np.arange(p) % 3 == 0, -0.5, -np.inf)
    upper = np.where(np.arange(p) % 2 == 0, 1.0, 0.0)
    l1 = 0.01 if logistic else 0.05
    est = (pz.LogisticRegression if logistic else pz.LinearRegression)(penalty=pz.L1(l1), bounds=(lower, upper),
                                                                       **TIGHT)
    est.fit(X, y)
    coef, b = np.ravel(est.coef_), float(np.ravel(est.intercept_)[0])
    assert np.all(coef >= lower) and np.all(coef <= upper)
    assert np.any(coef == upper) or np.any(coef == lower)  # some bound is active
    datafit = pz.Logistic() if logistic else pz.SquaredError()
    yk = np.where(y == 1, 1.0, -1.0) if logistic else y
    assert box_kkt(X, yk, coef, b, l1, lower, upper, datafit) < 1e-7
    cert = certificate(X, y, coef, b, datafit=datafit, penalty=pz.L1(l1), bounds=(lower, upper))
    assert 0 <= cert.relative < 1e-10
    outside = coef.copy()
    outside[0] = upper[0] + 1
    assert certificate(X, y, outside, b, datafit=datafit, penalty=pz.L1(l1), bounds=(lower, upper)).value == np.inf


def test_nonnegative_least_squares_matches_scipy():
    from scipy.optimize import nnls

    X, y = make(8, n=60, p=10)
    ref, _ = nnls(X, y)
    model = pz.LinearRegression(positive=True, fit_intercept=False, **TIGHT).fit(X, y)
    assert np.abs(model.coef_ - ref).max() < 1e-8


def test_positive_path_and_lambda_max():
    X, y = make(9)
    path = pz.regularization_path(X, y, "l1", positive=True, n_lambdas=20, tol=1e-10)
    assert (path.coefs >= 0).all() and path.n_nonzero[0] == 0 and path.converged.all()
    lmax = pz.lambda_max(X, y, "l1", positive=True)
    g = pz.SquaredError().gradient(X - X.mean(0), y - y.mean(), np.zeros(X.shape[1]))[0]
    assert np.isclose(lmax, max(-g.min(), 0))  # only negative gradients pull a coefficient up


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(bounds=(1.0, 2.0)), ValueError, "contain 0"),
    (dict(bounds=(-1.0, -0.5)), ValueError, "contain 0"),
    (dict(bounds=(0.5, -0.5)), ValueError, "lower > upper"),
    (dict(bounds=(np.zeros(3), 1.0)), ValueError, "length"),
    (dict(bounds=(np.nan, 1.0)), ValueError, "NaN"),
    (dict(bounds=1.0), TypeError, "pair"),
    (dict(positive="yes"), TypeError, "positive"),
    (dict(positive=True, bounds=(0, 1)), ValueError, "not both"),
])
def test_bad_bounds(kwargs, error, match):
    X, y = make(10)
    with pytest.raises(error, match=match):
        pz.Lasso(0.1, **kwargs).fit(X, y)
