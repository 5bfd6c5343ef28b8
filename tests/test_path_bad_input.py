"""Bad input to paths, CV and stability selection: a ValueError/TypeError naming the problem."""

import numpy as np
import pytest

import penalized as pz

rng = np.random.default_rng(0)
X = rng.normal(size=(20, 4))
Y = X[:, 0] + 0.1 * rng.normal(size=20)
LABELS = np.where(X[:, 0] > 0, "a", "b")

GRID_CASES = [
    ([1.0, 0.0, 0.1][:2], "lambdas must be > 0"),
    ([0.5, -0.1], "lambdas must be > 0"),
    ([0.1, 0.5, 0.2], "sorted in strictly decreasing order"),
    ([0.5, 0.5], "sorted in strictly decreasing order"),
    ([0.5, np.nan], "lambdas contains NaN or infinity"),
    ([], "non-empty 1-D array"),
    ([[0.5, 0.1]], "non-empty 1-D array"),
]


@pytest.mark.parametrize(("grid", "message"), GRID_CASES,
                         ids=[c[1] + str(i) for i, c in enumerate(GRID_CASES)])
@pytest.mark.parametrize("call", [
    lambda g: pz.regularization_path(X, Y, lambdas=g),
    lambda g: pz.LassoCV(lambdas=g, cv=3).fit(X, Y),
    lambda g: pz.LogisticRegressionCV(lambdas=g, cv=3).fit(X, LABELS),
    lambda g: pz.stability_selection(X, Y, lambdas=g, n_subsamples=2),
], ids=["path", "LassoCV", "LogisticRegressionCV", "stability"])
def test_bad_user_grid(call, grid, message):
    with pytest.raises(ValueError, match=message):
        call(grid)


def test_more_folds_than_samples():
    message = "cannot split n_samples=20 into 25 cross-validation folds: more folds than samples"
    with pytest.raises(ValueError, match=message):
        pz.LassoCV(cv=25).fit(X, Y)
    with pytest.raises(ValueError, match="cv must be at least 2 folds"):
        pz.LassoCV(cv=1).fit(X, Y)


def test_fold_with_one_class():
    labels = np.array(["a"] * 17 + ["b"] * 3)
    folds = [(np.arange(3, 20), np.arange(3)), (np.arange(0, 17), np.arange(17, 20))]
    message = r"training part of cross-validation fold 1 has only one class .*'b'"
    with pytest.raises(ValueError, match=message):
        pz.LogisticRegressionCV(cv=folds).fit(X, labels)
    rare = np.array(["a"] * 19 + ["b"])  # one sample of class b: one training part lacks it
    with pytest.raises(ValueError, match="has only one class or misses class"), pytest.warns(UserWarning):
        pz.LogisticRegressionCV(cv=3).fit(X, rare)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: pz.regularization_path(X, Y, penalty="l3"), ValueError,
     "penalty must be 'l1', 'l2', 'elasticnet'"),
    (lambda: pz.regularization_path(X, Y, penalty=pz.L1(0.1), weights=np.ones(4)), ValueError,
     "pass per-feature weights inside the penalty object"),
    (lambda: pz.regularization_path(X, Y, penalty=pz.L1(0.0)), ValueError, "has zero strength"),
    (lambda: pz.regularization_path(X, Y, weights=np.ones(3)), ValueError, "weights has 3 entries"),
    (lambda: pz.regularization_path(X, Y, n_lambdas=0), ValueError, "n_lambdas == 0, must be >= 1"),
    (lambda: pz.regularization_path(X, Y, eps=1.5), ValueError, "eps == 1.5, must be < 1.0"),
    (lambda: pz.regularization_path(X, Y, datafit="hinge"), ValueError, "datafit must be"),
    (lambda: pz.regularization_path(X, Y, screening="yes"), ValueError, "screening must be"),
    (lambda: pz.regularization_path(X, Y, tol=0), ValueError, "tol == 0"),
    (lambda: pz.regularization_path(X, np.arange(20) % 3, datafit="logistic"), ValueError,
     "a logistic path needs exactly 2 classes in y, got 3"),
    (lambda: pz.LassoCV(select="best").fit(X, Y), ValueError, "select must be 'min' or '1se'"),
    (lambda: pz.LassoCV(relax=True, gamma=[0.5, 2.0]).fit(X, Y), ValueError,
     r"gamma must be a number in \[0, 1\]"),
    (lambda: pz.LassoCV(relax="yes").fit(X, Y), TypeError, "relax must be True or False"),
    (lambda: pz.ElasticNetCV(l1_ratio=[0.5, 1.5], cv=3).fit(X, Y), ValueError, "l1_ratio == 1.5"),
    (lambda: pz.LogisticRegressionCV(cv=3).fit(X, np.full(20, "a")), ValueError, "got only one class: 'a'"),
    (lambda: pz.LogisticRegressionCV(scoring="poisson_deviance").fit(X, LABELS), ValueError,
     "scoring='poisson_deviance' does not apply to a classifier"),
    (lambda: pz.LassoCV(scoring="auc").fit(X, Y), ValueError, "scoring='auc' does not apply to a regressor"),
    (lambda: pz.LassoCV(early_stop="sometimes").fit(X, Y), ValueError, "early_stop must be"),
    (lambda: pz.LassoCV(dfmax=2.5).fit(X, Y), ValueError, "dfmax must be None or an integer"),
    (lambda: pz.LassoCV(keep="yes").fit(X, Y), TypeError, "keep must be True or False"),
    (lambda: pz.LassoCV(scoring=3).fit(X, Y), TypeError, "scoring must be None, a string or a callable"),
    (lambda: pz.stability_selection(X, Y, sample_fraction=1.0), ValueError, "sample_fraction must be < 1"),
    (lambda: pz.stability_selection(X, Y, threshold=0.0), ValueError, "threshold == 0.0"),
    (lambda: pz.stability_selection(X, Y, n_subsamples=0), ValueError, "n_subsamples == 0"),
    (lambda: pz.stability_selection(X, Y, sample_fraction=0.05), ValueError, "fewer than 2 samples"),
])
def test_bad_parameters(call, error, message):
    with pytest.raises(error, match=message):
        call()
