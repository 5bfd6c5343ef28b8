"""Relaxed lasso, feature selection users can read, stability selection."""

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import LinearRegression as SkOLS
from sklearn.pipeline import make_pipeline

import penalized as pz
from conftest import relative_error


def sparse_regression(n=100, p=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = 3 * X[:, 0] - 2 * X[:, 1] + 1.5 * X[:, 2] + rng.normal(size=n)
    return pd.DataFrame(X, columns=[f"f{j}" for j in range(p)]), y


# ------------------------------------------------------------------------------ relaxed lasso
def test_relaxed_lasso_endpoints_and_mix():
    X, y = sparse_regression()
    lasso = pz.Lasso(lam=0.3, tol=1e-12).fit(X, y)
    support = lasso.coef_ != 0
    ols = SkOLS().fit(X.loc[:, support], y)
    refit = np.zeros(X.shape[1])
    refit[support] = ols.coef_
    one = pz.RelaxedLasso(lam=0.3, gamma=1.0, tol=1e-12).fit(X, y)
    zero = pz.RelaxedLasso(lam=0.3, gamma=0.0, tol=1e-12).fit(X, y)
    half = pz.RelaxedLasso(lam=0.3, gamma=0.5, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(one.coef_, lasso.coef_)
    np.testing.assert_allclose(zero.coef_, refit, rtol=1e-10)
    assert zero.intercept_ == pytest.approx(ols.intercept_)
    np.testing.assert_allclose(half.coef_, 0.5 * (lasso.coef_ + refit), rtol=1e-10)
    np.testing.assert_allclose(half.lasso_coef_, lasso.coef_)
    assert list(half.selected_features_) == list(lasso.selected_features_)
    # the refit undoes the shrinkage of the strong coefficients
    assert np.all(np.abs(zero.coef_[:3]) > np.abs(lasso.coef_[:3]))


def test_relaxed_lasso_sample_weights_equal_repetition():
    X, y = sparse_regression(40, 6)
    w = np.arange(40) % 3
    weighted = pz.RelaxedLasso(lam=0.2, gamma=0.3, tol=1e-12).fit(X, y, sample_weight=w)
    rows = np.repeat(np.arange(40), w)
    repeated = pz.RelaxedLasso(lam=0.2, gamma=0.3, tol=1e-12).fit(X.iloc[rows], y[rows])
    assert relative_error(weighted.coef_, repeated.coef_) < 1e-8


def test_relaxed_lasso_rejects_a_gamma_grid():
    X, y = sparse_regression(30, 4)
    with pytest.raises(ValueError, match="gamma must be one number"):
        pz.RelaxedLasso(gamma=[0.1, 0.2]).fit(X, y)
    with pytest.raises(ValueError, match=r"gamma must be a number in \[0, 1\]"):
        pz.RelaxedLasso(gamma=1.5).fit(X, y)


# ---------------------------------------------------------------------------- readable selection
@pytest.mark.parametrize("make", [lambda: pz.Lasso(lam=0.3), lambda: pz.LassoCV(n_lambdas=20, cv=3)])
def test_select_from_model_keeps_the_nonzero_features(make):
    X, y = sparse_regression()
    pipe = make_pipeline(SelectFromModel(make()), pz.LinearRegression()).fit(X, y)
    selector = pipe[0]
    coef = selector.estimator_.coef_
    np.testing.assert_array_equal(selector.get_support(), coef != 0)
    np.testing.assert_array_equal(selector.get_feature_names_out(), selector.estimator_.selected_features_)
    assert set(selector.get_feature_names_out()) >= {"f0", "f1", "f2"}
    assert pipe[-1].coef_.shape == ((coef != 0).sum(),)


def test_cv_estimators_expose_support_and_names():
    X, y = sparse_regression()
    est = pz.LassoCV(n_lambdas=30, cv=5, select="1se").fit(X, y)
    assert list(est.selected_features_[:3]) == ["f0", "f1", "f2"]
    np.testing.assert_array_equal(est.get_support(), est.coef_ != 0)
    labels = np.where(X["f0"] + 0.2 * np.random.default_rng(1).normal(size=100) > 0, "a", "b")
    clf = pz.LogisticRegressionCV(n_lambdas=20, cv=3, eps=1e-2, select="1se").fit(X, labels)
    assert "f0" in clf.selected_features_
    np.testing.assert_array_equal(clf.get_support(indices=True), np.flatnonzero(clf.coef_[0]))


# -------------------------------------------------------------------------- stability selection
def test_stability_selection_finds_the_true_features(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    X, y = sparse_regression(100, 30)
    result = pz.stability_selection(X, y, n_lambdas=20, n_subsamples=40, threshold=0.7, max_features=6,
                                    complementary_pairs=False, random_state=0)
    assert result.probabilities.shape == (30, 20)
    assert np.all((result.probabilities >= 0) & (result.probabilities <= 1))
    assert list(result.selected_features) == ["f0", "f1", "f2"]
    assert result.q <= 6 and 1 <= result.lambda_range <= 20
    assert result.error_bound == result.error_bound_mb == pytest.approx(result.q**2 / ((2 * 0.7 - 1) * 30))
    np.testing.assert_allclose(result.max_probability,
                               result.probabilities[:, : result.lambda_range].max(axis=1))
    assert set(result.selected_at(0.99)) <= {"f0", "f1", "f2"} and len(result.selected_at(0.0)) == 30
    frame = result.to_frame()
    assert list(frame["feature"][:3]) == ["f0", "f1", "f2"]
    ax = result.plot()
    assert {"f0", "f1", "f2"} <= {t.get_text() for t in ax.texts}
    ax.figure.savefig(tmp_path / "stability.png")
    again = pz.stability_selection(X, y, n_lambdas=20, n_subsamples=40, threshold=0.7, max_features=6,
                                   complementary_pairs=False, random_state=0)
    np.testing.assert_array_equal(again.probabilities, result.probabilities)


def test_stability_selection_variants():
    X, y = sparse_regression(80, 15)
    pairs = pz.stability_selection(X, y, n_lambdas=10, n_subsamples=20, complementary_pairs=True,
                                   weakness=0.5, random_state=1)
    assert pairs.n_subsamples == 20 and {"f0", "f1"} <= set(pairs.selected_features)
    labels = np.where(X["f0"] - X["f1"] > 0, "yes", "no")
    logistic = pz.stability_selection(X, labels, datafit="logistic", n_lambdas=10, n_subsamples=20, eps=0.05,
                                      random_state=2)
    assert {"f0", "f1"} <= set(logistic.selected_features)
