"""The scikit-learn contract: checks, pipelines, search, clone, pickle, names."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import penalized as pz

TIGHT = dict(tol=1e-10, max_iter=10_000)
ESTIMATORS = [
    pz.Lasso(lam=0.01, **TIGHT),
    pz.Ridge(lam=0.01, **TIGHT),
    pz.ElasticNet(lam=0.01, l1_ratio=0.7, **TIGHT),
    pz.LinearRegression(penalty=pz.L1L2(l1=0.01, l2=0.01), **TIGHT),
    pz.LinearRegression(**TIGHT),
    pz.LogisticRegression(penalty=pz.L1(0.01), **TIGHT),
    pz.LogisticRegression(penalty=pz.L2(0.01), **TIGHT),
    pz.LogisticRegression(penalty=pz.GroupL1(0.01), **TIGHT),
    pz.LinearRegression(penalty=pz.MCP(0.01), **TIGHT),
    pz.LinearRegression(penalty=pz.L1(0.01) + pz.GroupL1(0.01), **TIGHT),
    pz.Lasso(lam=0.01, positive=True, **TIGHT),
    pz.PoissonRegressor(penalty=pz.L1(0.01), **TIGHT),
    pz.MultiTaskLasso(lam=0.01, **TIGHT),
    pz.MultiTaskElasticNet(lam=0.01, **TIGHT),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converging is part of the contract
        check(estimator)


@pytest.fixture
def regression_frame():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 4)), columns=["age", "dose", "weight", "noise"])
    y = 2 * X["age"] - X["dose"] + 0.1 * rng.normal(size=60)
    return X, y


def test_pandas_feature_names_and_selection(regression_frame):
    X, y = regression_frame
    est = pz.Lasso(lam=0.2).fit(X, y)
    np.testing.assert_array_equal(est.feature_names_in_, X.columns)
    assert list(est.selected_features_) == ["age", "dose"]
    np.testing.assert_array_equal(est.get_support(), [True, True, False, False])
    np.testing.assert_array_equal(est.get_support(indices=True), [0, 1])
    assert list(pz.Lasso(lam=0.2).fit(X.to_numpy(), y).selected_features_) == ["x0", "x1"]


def test_pipeline_grid_search_clone_pickle(regression_frame):
    X, y = regression_frame
    pipe = make_pipeline(StandardScaler(), pz.LinearRegression(penalty=pz.L1(0.1)))
    search = GridSearchCV(pipe, {"linearregression__penalty__lam": [0.01, 0.1, 1.0],
                                 "linearregression__fit_intercept": [True]}, cv=3).fit(X, y)
    assert search.best_params_["linearregression__penalty__lam"] in (0.01, 0.1)
    search = GridSearchCV(pz.Lasso(), {"lam": [0.001, 0.1, 10.0]}, cv=3).fit(X, y)
    assert search.best_params_["lam"] < 10.0
    fitted = pz.ElasticNet(lam=0.1).fit(X, y)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params() and not hasattr(copy, "coef_")
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


def test_logistic_regression_api():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 5))
    labels = np.where(X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=80) > 0, "spam", "ham")
    est = pz.LogisticRegression(penalty=pz.L1(0.02)).fit(X, labels)
    np.testing.assert_array_equal(est.classes_, ["ham", "spam"])
    assert est.coef_.shape == (1, 5) and est.intercept_.shape == (1,)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(est.predict(X), est.classes_[(proba[:, 1] > 0.5).astype(int)])
    np.testing.assert_allclose(est.decision_function(X), X @ est.coef_[0] + est.intercept_[0])
    assert est.score(X, labels) > 0.85
    assert est.dual_gap_.shape == (1,) and est.n_iter_.shape == (1,)
    assert set(est.selected_features_) >= {"x0", "x1"}


def test_multiclass_is_multinomial():
    rng = np.random.default_rng(2)
    centers = np.array([[3, 0, 0], [0, 3, 0], [0, 0, 3]])
    y = np.repeat([0, 1, 2], 30)
    X = centers[y] + rng.normal(size=(90, 3))
    est = pz.LogisticRegression(penalty=pz.L2(0.01)).fit(X, y)
    assert est.coef_.shape == (3, 3) and est.dual_gap_.shape == (1,)
    scores = X @ est.coef_.T + est.intercept_
    expected = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(est.predict_proba(X), expected / expected.sum(1, keepdims=True), rtol=1e-10)
    assert est.score(X, y) > 0.9
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)


def test_warm_start_keeps_previous_solution_as_start():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 100))
    y = X[:, :3].sum(axis=1)
    est = pz.Lasso(lam=0.01, warm_start=True, tol=1e-10).fit(X, y)
    first = est.n_iter_
    est.set_params(lam=0.011).fit(X, y)
    assert est.n_iter_ < first
