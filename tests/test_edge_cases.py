"""Numeric edge cases: each works or refuses clearly; never hangs, never returns NaN."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import penalized as pz

RNG = np.random.default_rng(0)
X = RNG.normal(size=(50, 6))
Y = X[:, 0] - 2 * X[:, 3] + 0.1 * RNG.normal(size=50)
LABELS = (X[:, 0] + 0.5 * RNG.normal(size=50) > 0).astype(int)


def fit_quietly(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y, **kw)
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    return est


@pytest.mark.parametrize("make", [lambda: pz.Lasso(0.01), lambda: pz.Ridge(0.01), lambda: pz.ElasticNet(0.01)])
@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_feature_scales_from_1e_minus8_to_1e8(make, fmt):
    scales = np.array([1e-8, 1e-4, 1.0, 1e2, 1e4, 1e8])
    Xs = X * scales
    est = fit_quietly(make(), Xs if fmt == "dense" else sp.csc_matrix(Xs), Y)
    assert est.score(Xs, Y) > 0.5


def test_logistic_feature_scales():
    scales = np.array([1e-8, 1e-4, 1.0, 1e2, 1e4, 1e8])
    est = fit_quietly(pz.LogisticRegression(pz.L1(0.01)), X * scales, LABELS)
    assert est.score(X * scales, LABELS) > 0.7


def test_duplicated_columns_split_or_share_the_weight():
    Xd = np.hstack([X, X[:, [0, 3]]])
    lasso = fit_quietly(pz.Lasso(0.01, tol=1e-10, max_iter=10_000), Xd, Y)
    ref = fit_quietly(pz.Lasso(0.01, tol=1e-10, max_iter=10_000), X, Y)
    # the lasso objective only sees the sum of duplicated coefficients
    assert lasso.coef_[0] + lasso.coef_[6] == pytest.approx(ref.coef_[0], rel=1e-5)
    ridge = fit_quietly(pz.Ridge(0.01, tol=1e-10, max_iter=10_000), Xd, Y)
    assert ridge.coef_[0] == pytest.approx(ridge.coef_[6], rel=1e-4)  # L2 splits evenly
    fit_quietly(pz.LinearRegression(), Xd, Y)  # singular OLS: some minimiser, finite


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_constant_and_all_zero_columns(fit_intercept, fmt):
    Xc = X.copy()
    Xc[:, 1] = 3.0
    Xc[:, 2] = 0.0
    est = fit_quietly(pz.Lasso(0.01, fit_intercept=fit_intercept), Xc if fmt == "dense" else sp.csc_matrix(Xc), Y)
    assert est.coef_[2] == 0.0
    if fit_intercept:
        assert est.coef_[1] == 0.0  # a constant column is the intercept's job


def test_one_sample_and_one_feature():
    est = fit_quietly(pz.Lasso(0.01), X[:1], Y[:1])
    assert np.all(est.coef_ == 0) and est.intercept_ == pytest.approx(Y[0])
    est = fit_quietly(pz.Lasso(0.01), X[:, :1], Y)
    assert est.coef_.shape == (1,)
    est = fit_quietly(pz.LogisticRegression(pz.L2(0.1)), X[:2], np.array([0, 1]))
    assert est.predict(X[:2]).tolist() == [0, 1]


def test_constant_target():
    est = fit_quietly(pz.Lasso(0.01), X, np.full(50, 2.0))
    assert np.all(est.coef_ == 0) and est.intercept_ == pytest.approx(2.0)
    est = fit_quietly(pz.Ridge(0.01), X, np.full(50, -1e6))
    assert np.all(est.coef_ == 0) and est.intercept_ == pytest.approx(-1e6)


def test_separable_classes_with_tiny_lambda_warn_and_stop():
    Xs = RNG.normal(size=(40, 2))
    ys = (Xs[:, 0] > 0).astype(int)
    with pytest.warns(ConvergenceWarning) as record:
        est = pz.LogisticRegression(pz.L1(1e-10), max_iter=500).fit(Xs, ys)
    assert any("perfectly separated" in str(r.message) for r in record)
    assert est.n_iter_[0] <= 500
    assert np.all(np.isfinite(est.coef_))


@pytest.mark.parametrize("make", [lambda lam: pz.Lasso(lam), lambda lam: pz.Ridge(lam),
                                  lambda lam: pz.LogisticRegression(pz.L1L2(lam, lam))])
def test_huge_lambda_gives_the_null_model(make):
    y = LABELS if "Logistic" in repr(make(1.0)) else Y
    est = fit_quietly(make(1e300), X, y)
    assert np.all(est.coef_ == 0)


def test_huge_values_refuse_or_warn_never_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est = pz.Lasso(0.01).fit(X * 1e150, Y)
        except (FloatingPointError, ValueError) as exc:  # the columns are named (test_scale_and_certificate)
            assert "rescale" in str(exc).lower()
        else:
            assert np.all(np.isfinite(est.coef_))
