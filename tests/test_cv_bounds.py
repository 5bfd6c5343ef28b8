"""``positive`` / ``bounds`` in the CV estimators: every fold and the refit are constrained."""

import numpy as np
import pytest
from sklearn.model_selection import KFold

import penalized as pz


def _data(n=90, p=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * np.linspace(0.5, 2.0, p)
    coef = np.array([1.5, -2.0, 0.0, 0.8, -0.5, 0.0, 0.3])[:p]
    y = X @ coef + rng.normal(size=n)
    return X, y


FOLDS = KFold(5, shuffle=True, random_state=0)


def test_lasso_cv_positive_refit_kkt_and_folds():
    X, y = _data()
    folds = list(FOLDS.split(X))
    cv = pz.LassoCV(positive=True, cv=folds, n_lambdas=25, tol=1e-12).fit(X, y)
    assert np.all(cv.coef_ >= 0) and np.all(cv.path_.coefs >= 0)
    # λ_max is the one-sided one: max_j max(−g_j, 0) at the null model
    g = -2.0 * X.T @ (y - y.mean()) / len(y)
    np.testing.assert_allclose(cv.lambda_max_, np.max(np.maximum(-g, 0.0)), rtol=1e-10)
    np.testing.assert_allclose(cv.lambda_max_, pz.lambda_max(X, y, positive=True), rtol=1e-10)
    # the refit is the non-CV estimator at lam_
    ref = pz.Lasso(cv.lam_, positive=True, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(cv.coef_, ref.coef_, atol=1e-9)
    # KKT of the constrained problem at lam_
    grad = -2.0 * X.T @ (y - X @ cv.coef_ - cv.intercept_) / len(y)
    on = cv.coef_ > 0
    np.testing.assert_allclose(grad[on], -cv.lam_, atol=1e-8)
    assert np.all(-grad[~on] <= cv.lam_ + 1e-8)
    assert np.any(~on) and np.any(on)
    # every fold's path is the constrained one
    for f, (train, test) in enumerate(folds):
        path = pz.regularization_path(X[train], y[train], positive=True, lambdas=cv.lambdas_, tol=1e-12)
        pred = X[test] @ path.coefs + path.intercepts
        np.testing.assert_allclose(cv.cv_scores_[f], ((y[test][:, None] - pred) ** 2).mean(0), rtol=1e-7)


def test_elastic_net_cv_bounds_with_standardize():
    X, y = _data(seed=1)
    X = X * np.array([1, 10, 0.1, 1, 5, 1, 2.0]) + 2.0
    bounds = (-0.05, 1.0)
    cv = pz.ElasticNetCV(l1_ratio=[0.5, 0.9], bounds=bounds, standardize=True, cv=FOLDS, n_lambdas=20,
                         tol=1e-12).fit(X, y)
    assert np.all(cv.coef_ >= -0.05 - 1e-12) and np.all(cv.coef_ <= 1.0 + 1e-12)
    assert np.any(np.isclose(cv.coef_, -0.05)) or np.any(np.isclose(cv.coef_, 1.0))
    ref = pz.ElasticNet(cv.lam_, l1_ratio=cv.l1_ratio_, bounds=bounds, standardize=True, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(cv.coef_, ref.coef_, atol=1e-9)
    np.testing.assert_allclose(cv.intercept_, ref.intercept_, atol=1e-8)
    o = [0.5, 0.9].index(cv.l1_ratio_)
    lam_max = pz.lambda_max(X, y, "elasticnet", l1_ratio=cv.l1_ratio_, bounds=bounds, standardize=True)
    np.testing.assert_allclose(cv.lambda_max_[o], lam_max, rtol=1e-10)


def test_logistic_cv_positive_equals_the_estimator():
    X, y = _data(n=150, seed=2)
    labels = (y > 0).astype(int)
    cv = pz.LogisticRegressionCV(positive=True, cv=5, n_lambdas=15, tol=1e-12).fit(X, labels)
    assert np.all(cv.coef_ >= 0)
    ref = pz.LogisticRegression(pz.L1(cv.lam_), positive=True, tol=1e-12).fit(X, labels)
    np.testing.assert_allclose(cv.coef_, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(cv.intercept_, ref.intercept_, atol=1e-8)


def test_bad_bounds_in_cv():
    X, y = _data()
    with pytest.raises(ValueError, match="relax=True"):
        pz.LassoCV(relax=True, positive=True, cv=3).fit(X, y)
    with pytest.raises(ValueError, match="either positive=True or bounds"):
        pz.LassoCV(positive=True, bounds=(0, 1), cv=3).fit(X, y)
    with pytest.raises(ValueError, match="must contain 0"):
        pz.ElasticNetCV(bounds=(0.1, 1), cv=3).fit(X, y)


def test_poisson_cv_bounds_equals_the_estimator():
    X, _ = _data(n=120, seed=3)
    rng = np.random.default_rng(4)
    counts = rng.poisson(np.exp(0.3 * X[:, 0] - 0.4 * X[:, 1] + 0.2 * X[:, 3]))
    cv = pz.PoissonRegressorCV(bounds=(-0.1, None), cv=4, n_lambdas=12, tol=1e-12).fit(X, counts)
    assert np.all(cv.coef_ >= -0.1 - 1e-12) and np.isclose(cv.coef_, -0.1).any()
    ref = pz.PoissonRegressor(pz.L1(cv.lam_), bounds=(-0.1, None), tol=1e-12).fit(X, counts)
    np.testing.assert_allclose(cv.coef_, ref.coef_, atol=1e-8)
