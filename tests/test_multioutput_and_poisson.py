"""Multinomial, Poisson (with offsets) and multi-task least squares: against scikit-learn, glum
and optimality conditions computed here."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris, load_wine
from sklearn.linear_model import LogisticRegression as SKLogistic
from sklearn.linear_model import MultiTaskElasticNet as SKMultiTaskElasticNet
from sklearn.linear_model import MultiTaskLasso as SKMultiTaskLasso
from sklearn.preprocessing import StandardScaler

import penalized as pz
from penalized.solvers import certificate

TIGHT = dict(tol=1e-12, max_iter=100_000)


def standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# ---------------------------------------------------------------------------- multinomial
@pytest.mark.parametrize("loader", [load_iris, load_wine])
@pytest.mark.parametrize("C", [1.0, 0.1])
def test_multinomial_l1_matches_sklearn_saga(loader, C):
    X, y = standardized(loader)
    n = len(y)
    ref = SKLogistic(C=C, l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=200_000).fit(X, y)
    model = pz.LogisticRegression(penalty=pz.L1(1 / (n * C)), **TIGHT).fit(X, y)
    assert model.coef_.shape == (len(np.unique(y)), X.shape[1]) and model.intercept_.shape == (len(np.unique(y)),)
    ours = certificate(X, y, model.coef_, model.intercept_, datafit=pz.Multinomial(), penalty=pz.L1(1 / (n * C)))
    theirs = certificate(X, y, ref.coef_, ref.intercept_, datafit=pz.Multinomial(), penalty=pz.L1(1 / (n * C)))
    assert ours.objective <= theirs.objective + 1e-9 * abs(theirs.objective)
    assert 0 <= ours.relative <= 1e-10
    assert np.abs(model.predict_proba(X) - ref.predict_proba(X)).max() < 1e-5
    assert np.allclose(model.predict_proba(X).sum(1), 1)
    assert np.any(model.coef_ == 0)


def test_grouped_multinomial_selects_features_for_all_classes():
    X, y = standardized(load_wine)
    model = pz.LogisticRegression(penalty=pz.GroupL1(0.05), **TIGHT).fit(X, y)
    zero_rows = np.all(model.coef_ == 0, axis=0)
    assert zero_rows.any() and not zero_rows.all()
    assert np.all((model.coef_ == 0) == zero_rows[None, :])  # in or out for every class
    Xs = sp.csc_matrix(X)
    sparse = pz.LogisticRegression(penalty=pz.GroupL1(0.05), **TIGHT).fit(Xs, y)
    assert np.abs(sparse.coef_ - model.coef_).max() < 1e-7


def test_multinomial_kkt_from_scratch_with_weights():
    X, y = standardized(load_iris)
    w = np.random.default_rng(0).uniform(0.2, 2.0, len(y))
    lam = 0.01
    model = pz.LogisticRegression(penalty=pz.L1(lam), **TIGHT).fit(X, y, sample_weight=w)
    Y = (y[:, None] == np.unique(y)[None, :]).astype(float)
    Z = X @ model.coef_.T + model.intercept_
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    a = w / w.sum()
    G = X.T @ (a[:, None] * (P - Y))  # (p, K)
    W = model.coef_.T
    viol = np.where(W == 0, np.maximum(np.abs(G) - lam, 0), np.abs(G + lam * np.sign(W)))
    assert viol.max() < 1e-6 and np.abs((a[:, None] * (P - Y)).sum(0)).max() < 1e-6


def test_multinomial_lambda_max_gives_zeros():
    X, y = standardized(load_iris)
    Y = (y[:, None] == np.unique(y)[None, :]).astype(float)
    G = X.T @ (Y.mean(0) - Y) / len(y)  # gradient at the null model (intercepts at the log-frequencies)
    lam_max = np.abs(G).max()
    at = pz.LogisticRegression(penalty=pz.L1(lam_max * 1.0001), **TIGHT).fit(X, y)
    below = pz.LogisticRegression(penalty=pz.L1(lam_max * 0.9), **TIGHT).fit(X, y)
    assert np.all(at.coef_ == 0) and np.any(below.coef_ != 0)


# --------------------------------------------------------------------------------- Poisson
def count_data(seed=0, n=300, p=12):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    exposure = rng.uniform(0.5, 3.0, n)
    eta = 0.4 * X[:, 0] - 0.3 * X[:, 1] + 0.2 * X[:, 2] + 0.3
    y = rng.poisson(exposure * np.exp(eta))
    return X, y.astype(float), exposure


@pytest.mark.parametrize("alpha", [0.05, 0.005])
@pytest.mark.parametrize("with_offset", [False, True])
def test_poisson_matches_glum(alpha, with_offset):
    glum = pytest.importorskip("glum")
    X, y, exposure = count_data()
    offset = np.log(exposure) if with_offset else None
    ref = glum.GeneralizedLinearRegressor(family="poisson", alpha=alpha, l1_ratio=1.0, gradient_tol=1e-12,
                                          max_iter=1000).fit(X, y, offset=offset)
    model = pz.PoissonRegressor(penalty=pz.L1(alpha), **TIGHT).fit(X, y, offset=offset)
    assert np.abs(model.coef_ - ref.coef_).max() < 1e-7
    assert abs(model.intercept_ - ref.intercept_) < 1e-7
    assert model.solver_plan_.method.startswith("proximal Newton")


def test_poisson_kkt_with_offset_and_sample_weights():
    X, y, exposure = count_data(1)
    w = np.random.default_rng(1).uniform(0.5, 2, len(y))
    lam = 0.02
    model = pz.PoissonRegressor(penalty=pz.L1(lam), **TIGHT).fit(X, y, sample_weight=w, offset=np.log(exposure))
    a = w / w.sum()
    mu = np.exp(X @ model.coef_ + model.intercept_ + np.log(exposure))
    d = a * (mu - y)
    g = X.T @ d
    viol = np.where(model.coef_ == 0, np.maximum(np.abs(g) - lam, 0), np.abs(g + lam * np.sign(model.coef_)))
    assert viol.max() < 1e-6 and abs(d.sum()) < 1e-6
    cert = certificate(X, y, model.coef_, model.intercept_, datafit=pz.Poisson(), penalty=pz.L1(lam),
                       sample_weight=w, offset=np.log(exposure))
    assert 0 <= cert.relative <= 1e-10
    assert np.allclose(model.predict(X, offset=np.log(exposure)), mu)


def test_poisson_on_real_counts():
    sm = pytest.importorskip("statsmodels.api")
    data = sm.datasets.randhie.load_pandas().data
    y = data["mdvis"].to_numpy(float)[:3000]
    X = StandardScaler().fit_transform(data.drop(columns="mdvis").to_numpy(float)[:3000])
    glum = pytest.importorskip("glum")
    ref = glum.GeneralizedLinearRegressor(family="poisson", alpha=0.01, l1_ratio=1.0, gradient_tol=1e-12).fit(X, y)
    model = pz.PoissonRegressor(penalty=pz.L1(0.01), **TIGHT).fit(X, y)
    assert np.abs(model.coef_ - ref.coef_).max() < 1e-6
    assert 0 < model.score(X, y) < 1


def test_unpenalized_poisson_matches_sklearn():
    from sklearn.linear_model import PoissonRegressor as SKPoisson

    X, y, _ = count_data(2)
    ref = SKPoisson(alpha=0.1, tol=1e-12, max_iter=10_000).fit(X, y)
    model = pz.PoissonRegressor(penalty=pz.L2(0.05), **TIGHT).fit(X, y)  # sklearn: alpha/2·‖w‖²
    assert np.abs(model.coef_ - ref.coef_).max() < 1e-6


# ----------------------------------------------------------------------- multi-task least squares
def multitask(seed=0, n=100, p=30, T=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = np.zeros((p, T))
    W[:5] = rng.standard_normal((5, T))
    return X, X @ W + 0.3 * rng.standard_normal((n, T)) + 1.0


@pytest.mark.parametrize("sparse", [False, True])
def test_multitask_lasso_matches_sklearn(sparse):
    X, Y = multitask()
    ref = SKMultiTaskLasso(alpha=0.05, tol=1e-14, max_iter=100_000).fit(X, Y)
    model = pz.MultiTaskLasso(lam=0.1, **TIGHT).fit(sp.csc_matrix(X) if sparse else X, Y)
    assert model.coef_.shape == (3, 30) and np.abs(model.coef_ - ref.coef_).max() < 1e-8
    assert np.abs(model.intercept_ - ref.intercept_).max() < 1e-8
    same = pz.LinearRegression(penalty=pz.GroupL1(0.1), **TIGHT).fit(X, Y)
    assert np.abs(same.coef_ - model.coef_).max() < 1e-9
    assert model.predict(X).shape == Y.shape


def test_multitask_elastic_net_matches_sklearn():
    X, Y = multitask(1)
    ref = SKMultiTaskElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-14, max_iter=100_000).fit(X, Y)
    model = pz.MultiTaskElasticNet(lam=0.1, l1_ratio=0.7, **TIGHT).fit(X, Y)
    assert np.abs(model.coef_ - ref.coef_).max() < 1e-6


# ---------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda X, y: pz.PoissonRegressor(pz.L1(0.1)).fit(X, -np.abs(y) - 1), ValueError, "y >= 0"),
    (lambda X, y: pz.PoissonRegressor(pz.L1(0.1)).fit(X, y, offset=np.zeros(3)), ValueError, "offset"),
    (lambda X, y: pz.PoissonRegressor(pz.L1(0.1)).fit(X, y, offset=np.full(len(y), np.nan)), ValueError, "offset"),
    (lambda X, y: pz.MultiTaskLasso(0.1).fit(X, y), ValueError, "2-D y"),
    (lambda X, y: pz.MultiTaskLasso(0.1).fit(X, np.column_stack([y, np.where(y > 2, np.nan, y)])), ValueError,
     "NaN"),
    (lambda X, y: pz.LogisticRegression(pz.L1(0.1)).fit(X, np.zeros(len(y))), ValueError, "2 classes"),
    (lambda X, y: pz.LogisticRegression(pz.L1(0.1)).fit(X, np.arange(len(y)) % 3, offset=np.zeros((len(y), 2))),
     ValueError, "offset"),
    (lambda X, y: pz.LogisticRegression(pz.MCP(0.1)).fit(X, np.arange(len(y)) % 3), ValueError, "several outputs"),
])
def test_bad_input(call, error, match):
    X, y, _ = count_data(3, n=40, p=4)
    with pytest.raises(error, match=match):
        call(X, y)


def test_separable_penalties_on_several_targets_solve_each_target():
    X, Y = multitask(2)
    for penalty in (pz.MCP(0.1), pz.L1(0.05)):
        joint = pz.LinearRegression(penalty=penalty, positive=isinstance(penalty, pz.L1), **TIGHT).fit(X, Y)
        for k in range(Y.shape[1]):
            single = pz.LinearRegression(penalty=penalty, positive=isinstance(penalty, pz.L1), **TIGHT).fit(X, Y[:, k])
            assert np.abs(joint.coef_[k] - single.coef_).max() < 1e-10
        assert "one solve per output" in str(joint.solver_plan_)
