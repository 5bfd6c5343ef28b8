"""Paths and cross-validation with ``standardize=True`` against a live glmnet (its Fortran through
python-glmnet), not against glmnet's definitions: every λ of a path, and CV on the same folds
giving the same λ_min (and the same fold-averaged curve).

Scales (docs/penalties.md, :func:`penalized.glmnet_penalty`): gaussian ``lam = 2·lambda`` for the
lasso; the elastic net is ``L1L2(l1=2α, l2=(1−α)/sd(y))`` times glmnet's lambda (glmnet
standardizes y); binomial ``L1L2(l1=α, l2=(1−α)/2)`` times lambda.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold, StratifiedKFold

import penalized as pz

glmnet = pytest.importorskip("glmnet")

SCALES = np.array([1.0, 10.0, 0.1, 3.0, 0.5, 20.0, 1.0, 0.02])


def _data(seed=0, n=150):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, SCALES.size)) * SCALES + rng.standard_normal(SCALES.size)
    beta = np.array([1.0, 0.05, 8.0, 0.0, -1.5, 0.0, 0.7, 30.0])
    y = X @ beta + rng.standard_normal(n) * 2.0 + 3.0
    return X, y


def _lambda_path(est_cls, X, y, alpha, n=25):
    """glmnet's own λ grid (its λ_max to 1e-3·λ_max), used by both sides."""
    return est_cls(alpha=alpha, n_lambda=n, min_lambda_ratio=1e-3, n_splits=0, standardize=True,
                   tol=1e-14).fit(X, y).lambda_path_


def _relative_error(ours, theirs):
    return np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-300)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.2])
@pytest.mark.parametrize("sparse", [False, True])
def test_gaussian_path_standardized_matches_glmnet(alpha, sparse):
    X, y = _data()
    L = _lambda_path(glmnet.ElasticNet, X, y, alpha)
    Xin = sp.csc_array(X) if sparse else X
    g = glmnet.ElasticNet(alpha=alpha, lambda_path=L, standardize=True, n_splits=0, tol=1e-14).fit(
        sp.csr_matrix(X) if sparse else X, y)
    # glmnet's penalty at lambda = 1, scaled by every lambda of the path
    unit = pz.glmnet_penalty(1.0, alpha, y=y)
    path = pz.regularization_path(Xin, y, penalty=unit, lambdas=L, standardize=True, tol=1e-13, early_stop=False)
    assert len(path.lambdas) == len(L)
    assert _relative_error(path.coefs, g.coef_path_) < 1e-5
    np.testing.assert_allclose(path.intercepts, g.intercept_path_, atol=1e-5 * np.abs(y).max())
    # the lasso through the named penalty: lam = 2·lambda
    if alpha == 1.0:
        named = pz.regularization_path(Xin, y, penalty="l1", lambdas=2 * L, standardize=True, tol=1e-13,
                                       early_stop=False)
        assert _relative_error(named.coefs, g.coef_path_) < 1e-5
        # the same support at every λ (no coefficient glmnet zeroes is kept, and vice versa)
        big = np.abs(g.coef_path_) > 1e-6 * np.abs(g.coef_path_).max()
        assert np.array_equal(big, np.abs(named.coefs) > 1e-6 * np.abs(g.coef_path_).max())


@pytest.mark.parametrize("alpha", [1.0, 0.4])
@pytest.mark.parametrize("sparse", [False, True])
def test_binomial_path_standardized_matches_glmnet(alpha, sparse):
    X, y = _data(1)
    labels = (y > np.median(y)).astype(int)
    L = _lambda_path(glmnet.LogitNet, X, labels, alpha, n=20)
    g = glmnet.LogitNet(alpha=alpha, lambda_path=L, standardize=True, n_splits=0, tol=1e-14).fit(
        sp.csr_matrix(X) if sparse else X, labels)
    path = pz.regularization_path(sp.csc_array(X) if sparse else X, labels,
                                  penalty=pz.glmnet_penalty(1.0, alpha, family="binomial"), datafit="logistic",
                                  lambdas=L, standardize=True, tol=1e-13, early_stop=False)
    assert _relative_error(path.coefs, g.coef_path_[0]) < 1e-5
    np.testing.assert_allclose(path.intercepts, g.intercept_path_[0], atol=1e-5)


def test_gaussian_cv_same_folds_same_lambda_min():
    X, y = _data(2, n=150)  # 3 folds of 50: glmnet's unweighted fold mean = our size-weighted one
    L = _lambda_path(glmnet.ElasticNet, X, y, 1.0, n=30)
    g = glmnet.ElasticNet(alpha=1.0, lambda_path=L, standardize=True, n_splits=3, random_state=7,
                          scoring="mean_squared_error", tol=1e-14).fit(X, y)
    folds = list(KFold(3, shuffle=True, random_state=7).split(X))
    cv = pz.LassoCV(lambdas=2 * L, cv=folds, standardize=True, scoring="mse", tol=1e-13).fit(X, y)
    # the fold-averaged held-out MSE at every λ (glmnet reports it negated: greater is better)
    np.testing.assert_allclose(cv.cv_mean_, -g.cv_mean_score_, rtol=1e-6)
    assert cv.lam_min_ / 2 == pytest.approx(g.lambda_max_, rel=1e-12)  # python-glmnet's "lambda_max_" is λ_min
    # the 1-SE rule: python-glmnet's standard error is scipy's sem over the folds, as ours (equal folds)
    np.testing.assert_allclose(cv.cv_std_err_, g.cv_standard_error_, rtol=1e-6)
    assert cv.lam_1se_ / 2 == pytest.approx(float(np.ravel(g.lambda_best_)[0]), rel=1e-12)
    np.testing.assert_allclose(cv.coef_, cv.path_.coef_at(cv.index_min_), atol=0)


def test_binomial_cv_same_folds_same_lambda_min():
    X, y = _data(3, n=150)
    labels = (y > np.median(y)).astype(int)  # 75 / 75: stratified folds of 50
    L = _lambda_path(glmnet.LogitNet, X, labels, 1.0, n=25)
    g = glmnet.LogitNet(alpha=1.0, lambda_path=L, standardize=True, n_splits=3, random_state=3, scoring="log_loss",
                        tol=1e-14).fit(X, labels)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=3).split(X, labels))
    cv = pz.LogisticRegressionCV(lambdas=L, cv=folds, standardize=True, scoring="log_loss", tol=1e-13).fit(X, labels)
    np.testing.assert_allclose(cv.cv_mean_, -g.cv_mean_score_, rtol=1e-5)
    assert cv.lam_min_ == pytest.approx(g.lambda_max_, rel=1e-12)
    assert cv.lam_1se_ == pytest.approx(float(np.ravel(g.lambda_best_)[0]), rel=1e-12)
