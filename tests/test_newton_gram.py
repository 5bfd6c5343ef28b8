"""Proximal Newton for the log-loss with each model on its weighted Gram matrix (penalized.solvers.newton_gram):
equal to the naive route and to scikit-learn, KKT conditions computed here on X, every certificate ≤ its threshold."""

import numpy as np
import pytest
from scipy.special import expit

import penalized as pz
from penalized.solvers import newton_gram as ng


def tall_binary(n=1500, p=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 0.5
    w = np.zeros(p)
    w[:4] = [1.5, -1.0, 0.8, 0.5]
    y = (rng.uniform(size=n) < expit(X @ w - 0.3)).astype(float)
    return np.asfortranarray(X), y


def kkt(X, y, w, b, lam, l1, l2, sw=None, fit_intercept=True, offset=0.0):
    s = 2 * y - 1
    a = np.full(len(y), 1 / len(y)) if sw is None else sw / sw.sum()
    d = a * (-s * expit(-s * (X @ w + b + offset)))
    g = X.T @ d + 2 * lam * l2 * w
    v = np.where(w != 0, np.abs(g + lam * l1 * np.sign(w)), np.maximum(np.abs(g) - lam * l1, 0))
    return max(float(v.max()), abs(float(d.sum())) if fit_intercept else 0.0)


def naive(monkeypatch):
    monkeypatch.setattr(ng, "applies", lambda *a, **k: False)


@pytest.mark.parametrize("case", ["plain", "weights", "no_intercept", "enet", "offset", "positive"])
def test_path_equals_naive_route_with_kkt(monkeypatch, case):
    X, y = tall_binary()
    kw = dict(datafit="logistic", n_lambdas=20, eps=1e-3, tol=1e-12, max_iter=100_000, early_stop=False)
    l1, l2 = 1.0, 0.0
    if case == "weights":
        kw["sample_weight"] = np.random.default_rng(3).uniform(0.2, 3.0, len(y))
    if case == "no_intercept":
        kw["fit_intercept"] = False
    if case == "enet":
        kw.update(penalty="elasticnet", l1_ratio=0.6)
        l1, l2 = 0.6, 0.2
    offset = np.zeros(len(y))
    if case == "offset":
        offset = kw["offset"] = np.random.default_rng(4).normal(0, 0.5, len(y))
    if case == "positive":
        kw["positive"] = True
    path = pz.regularization_path(X, y, **kw)
    assert path.method == ng.METHOD
    assert np.all(path.dual_gaps <= path.thresholds) and np.all(path.dual_gaps >= 0)
    for k, lam in enumerate(path.lambdas):
        w, b = path.coefs[:, k], path.intercepts[k]
        if case == "positive":
            assert np.all(w >= 0)
            continue
        assert kkt(X, y, w, b, lam, l1, l2, kw.get("sample_weight"), kw.get("fit_intercept", True), offset) \
            < 1e-4 * lam  # the certificate (≤ 1e-12·L(0)) bounds the violations at about this level
    naive(monkeypatch)
    ref = pz.regularization_path(X, y, **kw)
    assert ref.method is None
    np.testing.assert_allclose(path.coefs, ref.coefs, rtol=1e-5, atol=1e-6 * np.abs(ref.coefs).max())
    np.testing.assert_allclose(path.intercepts, ref.intercepts, rtol=1e-5, atol=1e-6)


def test_against_sklearn_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    X, y = tall_binary(n=1000, p=10, seed=5)
    path = pz.regularization_path(X, y, datafit="logistic", n_lambdas=8, eps=1e-2, tol=1e-12, max_iter=100_000,
                                  early_stop=False)
    assert path.method == ng.METHOD
    n = len(y)
    for k in (2, 5, 7):
        # λ = 1/(n·C) (DESIGN.md); scikit-learn does not penalize its intercept with saga
        sk = LogisticRegression(l1_ratio=1.0, C=1 / (n * path.lambdas[k]), solver="saga", tol=1e-12,
                                max_iter=100_000).fit(X, y)
        np.testing.assert_allclose(path.coefs[:, k], sk.coef_[0], atol=2e-4)
        assert path.intercepts[k] == pytest.approx(sk.intercept_[0], abs=2e-4)


def test_cv_equals_naive_route(monkeypatch):
    X, y = tall_binary(n=1200, p=12, seed=8)
    opts = dict(n_lambdas=15, cv=4, tol=1e-12, max_iter=100_000)
    cv = pz.LogisticRegressionCV(**opts).fit(X, y)
    assert cv.path_.method == ng.METHOD
    naive(monkeypatch)
    ref = pz.LogisticRegressionCV(**opts).fit(X, y)
    np.testing.assert_allclose(cv.cv_mean_, ref.cv_mean_, rtol=1e-6)
    np.testing.assert_allclose(cv.coef_, ref.coef_, rtol=1e-5, atol=1e-7)


def test_route_choice():
    X, y = tall_binary(n=200, p=60)
    assert not ng.applies(X, pz.Logistic(), pz.L1(1.0), y)  # n < 4p
    X, y = tall_binary()
    assert ng.applies(X, pz.Logistic(), pz.L1(1.0), y)
    assert not ng.applies(X, pz.Logistic(), pz.MCP(1.0, 3.0), y)  # not convex
    assert not ng.applies(X, pz.SquaredError(), pz.L1(1.0), y)


def test_nearly_separable_path_converges_within_default_max_iter(monkeypatch):
    """Small λ on few samples (nearly separable): Newton steps count as passes over X, not as their
    Gram epochs, so the default max_iter still certifies every point, as the naive route does."""
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((80, 12)))
    y = (X @ rng.standard_normal(12) + 0.3 * rng.standard_normal(80) > 0).astype(float)
    path = pz.regularization_path(X, y, datafit="logistic", n_lambdas=15, eps=1e-3, tol=1e-10)
    assert path.method == ng.METHOD
    assert path.converged.all() and np.all(path.dual_gaps <= path.thresholds)
    naive(monkeypatch)
    ref = pz.regularization_path(X, y, datafit="logistic", n_lambdas=15, eps=1e-3, tol=1e-10)
    np.testing.assert_allclose(path.coefs, ref.coefs, rtol=1e-4, atol=1e-5 * np.abs(ref.coefs).max())
