"""scikit-learn's ``check_estimator`` at the DEFAULT settings (``tol=1e-4``, ``max_iter=1000``),
as users run it; test_estimators.py runs the same checks at a tight tolerance.

Every public estimator, and one representative penalty of each family (elastic net, group,
non-convex, sums, bounds). Known failures are listed with their reason, one by one: a check that
starts passing is reported (xfail is not strict) and should be removed from the list.
"""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import penalized as pz

ESTIMATORS = [
    pz.Lasso(),
    pz.Ridge(),
    pz.ElasticNet(),
    pz.LinearRegression(),
    pz.LinearRegression(penalty=pz.L1(0.01)),
    pz.LinearRegression(penalty=pz.MCP(0.01)),                    # non-convex
    pz.LinearRegression(penalty=pz.GroupL1(0.01)),                # group
    pz.LinearRegression(penalty=pz.L1(0.01) + pz.GroupL1(0.01)),  # sums
    pz.Lasso(positive=True),                                      # bounds
    pz.LogisticRegression(),
    pz.LogisticRegression(penalty=pz.L1(0.01)),
    pz.LogisticRegression(penalty=pz.L2(0.01)),
    pz.PoissonRegressor(),
    pz.PoissonRegressor(penalty=pz.L1(0.01)),
    pz.MultiTaskLasso(),
    pz.MultiTaskElasticNet(),
    pz.RelaxedLasso(),
]
# 100 λ × 5 folds per fit, some forty fits per estimator: minutes each (marked slow, run in CI)
CV_ESTIMATORS = [
    pz.LassoCV(),
    pz.ElasticNetCV(),
    pz.LogisticRegressionCV(),
    pz.PoissonRegressorCV(),
    pz.MultiTaskLassoCV(),
    pz.MultiTaskElasticNetCV(),
]

# The block solver (multinomial, group lasso: solvers/blocks.py) stops at tol·L(0) with first-order
# steps; the check's weighted and repeated (shuffled) sparse fits then differ by ~1e-5 in predictions
# where the check asks for 1e-7. (LogisticRegression(penalty=L1) passes since the multinomial model's
# Newton route: issue 19, item 11.)
BLOCK_SOLVER = {"check_sample_weight_equivalence_on_sparse_data":
                "block solver (multinomial / group): weighted and repeated fits agree to tol, not to 1e-7"}


def expected_failures(estimator):
    penalty = getattr(estimator, "penalty", None)
    if isinstance(estimator, pz.LogisticRegressionCV):  # the check has 3 classes: the multinomial model
        return {name: BLOCK_SOLVER["check_sample_weight_equivalence_on_sparse_data"] for name in
                ("check_sample_weight_equivalence_on_dense_data", "check_sample_weight_equivalence_on_sparse_data")}
    if isinstance(estimator, pz.LinearRegression) and isinstance(penalty, pz.GroupL1):
        return BLOCK_SOLVER
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_checks_at_default_settings(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the defaults' business: the checks judge results
        check(estimator)


@pytest.mark.slow
@parametrize_with_checks(CV_ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_checks_at_default_settings_cv(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_default_folds_with_small_classes():
    """Every class smaller than the default 10 folds (scikit-learn's checks: 7 per class): plain
    KFold where StratifiedKFold refuses, each training part still holding every class."""
    import numpy as np
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=21, centers=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = pz.LogisticRegressionCV(n_lambdas=10).fit(X, y)
    assert est.coef_.shape == (3, 2) and est.score(X, y) > 0.9
    assert np.isfinite(est.cv_mean_).all()
