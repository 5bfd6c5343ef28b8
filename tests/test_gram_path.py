"""The covariance (Gram) method for squared-error paths and CV on tall designs
(penalized.solvers.gram_path): equal to the naive method, to scikit-learn and glmnet, with every
point's certificate ≤ its threshold and KKT conditions checked here on X."""

import warnings

import numpy as np
import pytest

import penalized as pz
from penalized.datafits import SquaredError
from penalized.path import solve_path
from penalized.solvers import gram_path as gp


def tall(n=600, p=12, seed=0, shift=3.0):
    rng = np.random.default_rng(seed)
    C = 0.5 ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    X = rng.standard_normal((n, p)) @ np.linalg.cholesky(C).T + shift  # non-zero means: centring matters
    w = np.zeros(p)
    w[:4] = [2.0, -1.5, 1.0, 0.5]
    y = X @ w + 1.0 + rng.standard_normal(n)
    return np.asfortranarray(X), y


def grid(X, y, **kw):
    return pz.regularization_path(X, y, n_lambdas=20, eps=1e-3, **kw).lambdas


def kkt_violation(X, y, w, b, lam, l1, l2, sw=None, fit_intercept=True):
    """Largest violation of the elastic net's optimality conditions at (w, b), computed on X."""
    a = np.full(len(y), 1 / len(y)) if sw is None else sw / sw.sum()
    r = y - X @ w - b
    g = -2 * X.T @ (a * r) + 2 * lam * l2 * w
    v = np.where(w != 0, np.abs(g + lam * l1 * np.sign(w)), np.maximum(np.abs(g) - lam * l1, 0))
    out = float(v.max())
    if fit_intercept:
        out = max(out, abs(float(-2 * a @ r)))
    return out


def both_routes(X, y, unit, lambdas, **kw):
    d = SquaredError()
    gram = solve_path(X, y, d, unit, lambdas, gram=True, **kw)
    naive = solve_path(X, y, d, unit, lambdas, gram=False, **kw)
    for arrays in (gram, naive):  # stored sparse when smaller (penalized._path_store)
        arrays.coefs = arrays.coefs.toarray() if hasattr(arrays.coefs, "toarray") else arrays.coefs
    return gram, naive


@pytest.mark.parametrize("case", ["plain", "weights", "no_intercept", "enet", "positive"])
def test_path_equals_naive_route_with_kkt(case):
    X, y = tall()
    rng = np.random.default_rng(1)
    kw = dict(tol=1e-12, max_iter=100_000)
    l1, l2 = 1.0, 0.0
    unit = pz.L1(1.0)
    if case == "weights":
        kw["sample_weight"] = rng.uniform(0.2, 3.0, len(y))
    if case == "no_intercept":
        kw["fit_intercept"] = False
    if case == "enet":
        unit, l1, l2 = pz.L1L2(0.7, 0.15), 0.7, 0.15
    if case == "positive":
        kw["bounds"] = (np.zeros(X.shape[1]), np.full(X.shape[1], np.inf))
    lambdas = grid(X, y, sample_weight=kw.get("sample_weight"), fit_intercept=kw.get("fit_intercept", True))
    gram, naive = both_routes(X, y, unit, lambdas, **kw)
    assert gram.method == gp.METHOD and naive.method is None
    assert np.all(gram.certificates <= gram.thresholds) and np.all(gram.certificates >= 0)
    np.testing.assert_allclose(gram.coefs, naive.coefs, rtol=1e-6, atol=1e-7 * np.abs(naive.coefs).max())
    np.testing.assert_allclose(gram.intercepts, naive.intercepts, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gram.train_loss, naive.train_loss, rtol=1e-6)
    for k, lam in enumerate(lambdas):
        w, b = gram.coefs[:, k], gram.intercepts[k]
        if case == "positive":
            assert np.all(w >= 0)
            continue
        assert kkt_violation(X, y, w, b, lam, l1, l2, kw.get("sample_weight"), kw.get("fit_intercept", True)) \
            < 1e-5 * lam


def test_path_against_sklearn_lasso_path():
    from sklearn.linear_model import lasso_path

    X, y = tall(n=1000, p=20, seed=3)
    path = pz.regularization_path(X, y, n_lambdas=30, tol=1e-12, max_iter=100_000, early_stop=False)
    assert path.method == gp.METHOD
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    _, coefs, _ = lasso_path(Xc, yc, alphas=path.lambdas / 2, tol=1e-14, max_iter=100_000)
    np.testing.assert_allclose(path.coefs, coefs, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(path.intercepts, y.mean() - X.mean(axis=0) @ path.coefs, atol=1e-9)


def test_fold_gram_equals_gram_of_training_rows():
    X, y = tall(n=300, p=8, seed=5)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    test = np.arange(0, 300, 7)
    train = np.setdiff1d(np.arange(300), test)
    for fit_intercept in (True, False):
        moments = gp.GramMoments.of(X, y, sw, fit_intercept)
        fold = moments.fold(X[test], y[test], sw[test])
        direct = gp.GramMoments.of(X[train], y[train], sw[train], fit_intercept).stats()
        a = sw[train] / sw[train].sum()
        mu = a @ X[train] if fit_intercept else np.zeros(8)
        ybar = a @ y[train] if fit_intercept else 0.0
        Xc = X[train] - mu
        np.testing.assert_allclose(fold.G, Xc.T @ (a[:, None] * Xc), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fold.c, Xc.T @ (a * (y[train] - ybar)), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose([fold.yy, fold.ybar], [direct.yy, direct.ybar], rtol=1e-12)
        np.testing.assert_allclose(fold.mu, mu, rtol=1e-12, atol=1e-12)


def _naive(monkeypatch):
    monkeypatch.setattr(gp, "pays_off", lambda *a, **k: False)


@pytest.mark.parametrize("standardize", [False, True])
def test_cv_equals_naive_route(monkeypatch, standardize):
    X, y = tall(n=800, p=15, seed=2)
    sw = np.random.default_rng(4).uniform(0.5, 2.0, len(y))
    opts = dict(n_lambdas=25, cv=5, tol=1e-12, max_iter=100_000, standardize=standardize)
    gram = pz.LassoCV(**opts).fit(X, y, sample_weight=sw)
    assert gram.path_.method == gp.METHOD
    _naive(monkeypatch)
    naive = pz.LassoCV(**opts).fit(X, y, sample_weight=sw)
    assert naive.path_.method is None
    np.testing.assert_allclose(gram.lambdas_, naive.lambdas_)
    np.testing.assert_allclose(gram.cv_mean_, naive.cv_mean_, rtol=1e-6)
    assert gram.lam_min_ == naive.lam_min_
    np.testing.assert_allclose(gram.coef_, naive.coef_, rtol=1e-6, atol=1e-6 * np.abs(naive.coef_).max())
    assert np.all(gram.path_.dual_gaps <= gram.path_.thresholds)


def test_cv_against_sklearn_lasso_cv():
    from sklearn.linear_model import LassoCV
    from sklearn.model_selection import KFold

    X, y = tall(n=1000, p=20, seed=7)
    folds = list(KFold(5, shuffle=True, random_state=0).split(X))
    ours = pz.LassoCV(n_lambdas=30, cv=folds, tol=1e-12, max_iter=100_000, early_stop=False).fit(X, y)
    assert ours.path_.method == gp.METHOD
    sk = LassoCV(alphas=ours.lambdas_ / 2, cv=folds, tol=1e-14, max_iter=100_000).fit(X, y)
    # equal fold sizes: scikit-learn's plain mean over folds is ours (weighted by fold size)
    np.testing.assert_allclose(ours.cv_mean_, sk.mse_path_.mean(axis=1), rtol=1e-7)
    assert ours.lam_min_ == pytest.approx(2 * sk.alpha_)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=1e-5, atol=1e-8)


def test_cv_elastic_net_no_intercept_and_offset(monkeypatch):
    X, y = tall(n=700, p=10, seed=9)
    offset = np.random.default_rng(2).standard_normal(len(y))
    opts = dict(l1_ratio=0.5, n_lambdas=15, cv=4, tol=1e-12, max_iter=100_000, fit_intercept=False)
    gram = pz.ElasticNetCV(**opts).fit(X, y, offset=offset)
    assert gram.path_.method == gp.METHOD
    _naive(monkeypatch)
    naive = pz.ElasticNetCV(**opts).fit(X, y, offset=offset)
    np.testing.assert_allclose(gram.cv_mean_, naive.cv_mean_, rtol=1e-6)
    scale = np.abs(naive.path_.coefs).max()
    np.testing.assert_allclose(gram.path_.coefs, naive.path_.coefs, rtol=1e-6, atol=1e-6 * scale)


def test_standardized_copy_route_mcp(monkeypatch):
    """MCP under standardize=True runs on a column-scaled copy: its Gram matrix is D G D."""
    X, y = tall(n=600, p=10, seed=11)
    X[:, 3] *= 50.0
    kw = dict(n_lambdas=15, tol=1e-12, max_iter=100_000, standardize=True)
    gram = pz.regularization_path(X, y, penalty=pz.MCP(1.0, gamma=3.0), **kw)
    assert gram.method == gp.METHOD
    cv = pz.LassoCV(n_lambdas=10, cv=3, tol=1e-12, standardize=True).fit(X, y)
    _naive(monkeypatch)
    naive = pz.regularization_path(X, y, penalty=pz.MCP(1.0, gamma=3.0), **kw)
    # MCP's certificate is a stationarity measure (Σ v²/2L ≤ tol·L(0)): coefficients agree to its square root
    np.testing.assert_allclose(gram.coefs, naive.coefs, rtol=1e-4, atol=1e-5 * np.abs(naive.coefs).max())
    assert np.all(gram.dual_gaps <= gram.thresholds)
    cv_naive = pz.LassoCV(n_lambdas=10, cv=3, tol=1e-12, standardize=True).fit(X, y)
    np.testing.assert_allclose(cv.cv_mean_, cv_naive.cv_mean_, rtol=1e-6)


def test_rounding_guard_verifies_on_x():
    """A threshold at the rounding level of the Gram quantities is decided on X."""
    X, y = tall(n=400, p=6, seed=13)
    path = gp.GramPath.build(X, y, SquaredError())
    lam = 0.01
    res = path.solve_point(pz.L1(lam), tol=1e-15, max_iter=100_000)
    assert path.verified_on_x == 1
    assert "verified on X" in str(res.plan)
    assert res.certificate <= res.threshold
    assert kkt_violation(X, y, res.coef, res.intercept, lam, 1.0, 0.0) < 1e-9
    loose = path.solve_point(pz.L1(lam), tol=1e-6, max_iter=100_000)
    assert path.verified_on_x == 1 and loose.plan.gram and loose.certificate <= loose.threshold


def test_against_live_glmnet():
    glmnet = pytest.importorskip("glmnet")
    X, y = tall(n=2000, p=30, seed=17, shift=0.0)
    lambdas = pz.regularization_path(X, y, n_lambdas=30, eps=1e-3).lambdas
    path = pz.regularization_path(X, y, lambdas=lambdas, tol=1e-12, max_iter=100_000)
    assert path.method == gp.METHOD
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = glmnet.ElasticNet(alpha=1.0, lambda_path=lambdas / 2, standardize=False, fit_intercept=True,
                              n_splits=0, tol=1e-14, max_iter=1_000_000).fit(X, y)
    scale = np.abs(path.coefs).max()
    np.testing.assert_allclose(m.coef_path_, path.coefs, atol=1e-5 * scale)
    np.testing.assert_allclose(m.intercept_path_, path.intercepts, atol=1e-5 * scale)


def test_route_choice_and_bad_input():
    X, y = tall(n=100, p=60)
    d = SquaredError()
    assert not gp.pays_off(X, d, pz.L1(1.0), 100, y)  # n < 2p
    Xt, yt = tall(n=600, p=12)
    assert gp.pays_off(Xt, d, pz.L1(1.0), 100, yt)
    assert not gp.pays_off(Xt, pz.Logistic(), pz.L1(1.0), 100, yt)
    assert not gp.pays_off(Xt, d, pz.GroupL1(1.0, groups=np.repeat(np.arange(4), 3)), 100, yt)
    with pytest.raises(ValueError, match="gram must be"):
        solve_path(Xt, yt, d, pz.L1(1.0), np.array([1.0, 0.5]), gram="yes")
    with pytest.raises(ValueError, match="gram=True needs"):  # the log-loss on a wide design
        solve_path(X, np.where(y > np.median(y), 1.0, -1.0), pz.Logistic(), pz.L1(1.0), np.array([0.1]), gram=True)


def test_sparse_x_runs_on_its_gram_matrix(monkeypatch):
    import scipy.sparse as sp

    rng = np.random.default_rng(21)
    n, p = 1500, 20
    X = sp.random(n, p, density=0.2, random_state=3, format="csc") * 3.0
    y = X @ np.r_[[2.0, -1.0, 1.5], np.zeros(p - 3)] + 0.5 + rng.standard_normal(n)
    sw = rng.uniform(0.5, 2.0, n)
    kw = dict(n_lambdas=20, tol=1e-12, max_iter=100_000, sample_weight=sw, early_stop=False)
    assert gp.pays_off(X, SquaredError(), pz.L1(1.0), 20, y)
    path = pz.regularization_path(X, y, **kw)
    dense = pz.regularization_path(X.toarray(), y, **kw)
    assert path.method == gp.METHOD and dense.method == gp.METHOD
    assert np.all(path.dual_gaps <= path.thresholds)
    cv = pz.LassoCV(n_lambdas=10, cv=3, tol=1e-12).fit(X, y)
    assert cv.path_.method == gp.METHOD
    _naive(monkeypatch)
    naive = pz.regularization_path(X, y, **kw)
    cv_naive = pz.LassoCV(n_lambdas=10, cv=3, tol=1e-12).fit(X, y)
    scale = np.abs(naive.coefs).max()
    np.testing.assert_allclose(path.coefs, naive.coefs, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(dense.coefs, naive.coefs, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(cv.cv_mean_, cv_naive.cv_mean_, rtol=1e-6)
    for k, lam in enumerate(path.lambdas):
        assert kkt_violation(X.toarray(), y, path.coefs[:, k], path.intercepts[k], lam, 1.0, 0.0, sw) < 1e-5 * lam


def test_sparse_columns_with_large_means_run_the_naive_method():
    import scipy.sparse as sp

    rng = np.random.default_rng(2)
    X = sp.random(800, 10, density=1.0, random_state=1, format="csc")  # stored dense: every entry ≈ 1e5
    X.data = 1e5 + X.data  # mean²/var ≈ 1e10: centring in the product would lose 10 digits
    y = rng.standard_normal(800)
    assert gp.pays_off(X, SquaredError(), pz.L1(1.0), 100, y)
    assert not gp.GramMoments.of(X, y).reliable
    assert pz.regularization_path(X, y, n_lambdas=5).method is None
