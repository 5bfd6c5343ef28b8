"""Bad input gets a clear ValueError/TypeError naming the argument, and changes nothing."""

import numpy as np
import pandas as pd
import pytest

import penalized as pz

X_OK = np.random.default_rng(0).normal(size=(20, 3))
Y_OK = X_OK[:, 0] + 0.1
LABELS_OK = np.where(X_OK[:, 0] > 0, "a", "b")


def with_nan(a, value=np.nan):
    a = a.astype(float).copy()
    a.flat[3] = value
    return a


REGRESSION_CASES = [
    ("nan in X", dict(X=with_nan(X_OK)), ValueError, "Input X contains NaN"),
    ("inf in X", dict(X=with_nan(X_OK, np.inf)), ValueError, "Input X contains infinity"),
    ("nan in y", dict(y=with_nan(Y_OK)), ValueError, "Input y contains NaN"),
    ("inf in y", dict(y=with_nan(Y_OK, -np.inf)), ValueError, "Input y contains infinity"),
    ("mismatched lengths", dict(y=Y_OK[:-1]), ValueError, "inconsistent numbers of samples"),
    ("empty X", dict(X=np.empty((0, 3)), y=np.empty(0)), ValueError, "0 sample"),
    ("no features", dict(X=np.empty((20, 0))), ValueError, "0 feature"),
    ("1-D X", dict(X=X_OK[:, 0]), ValueError, "Expected 2D array, got 1D array"),
    ("string X", dict(X=np.array([["a", "b", "c"]] * 20)), ValueError, "X contains non-numeric values"),
    ("non-numeric column", dict(X=pd.DataFrame({"a": X_OK[:, 0], "color": ["red"] * 20})), ValueError,
     r"X has 1 non-numeric column\(s\): 'color'"),
    ("sample_weight length", dict(sample_weight=np.ones(5)), ValueError, "sample_weight.shape"),
    ("negative sample_weight", dict(sample_weight=-np.ones(20)), ValueError,
     "Negative values in data passed to `sample_weight`"),
    ("zero sample_weight", dict(sample_weight=np.zeros(20)), ValueError,
     "Sample weights must contain at least one non-zero number"),
    ("nan sample_weight", dict(sample_weight=with_nan(np.ones(20))), ValueError, "sample_weight"),
]


@pytest.mark.parametrize(("case", "override", "error", "message"), REGRESSION_CASES,
                         ids=[c[0] for c in REGRESSION_CASES])
@pytest.mark.parametrize("make", [lambda: pz.Lasso(0.1), lambda: pz.Ridge(0.1), lambda: pz.ElasticNet(0.1),
                                  lambda: pz.LinearRegression(penalty=pz.L1(0.1))])
def test_bad_data_for_regressors(case, override, error, message, make):
    args = {"X": X_OK, "y": Y_OK, "sample_weight": None, **override}
    snapshot = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in args.items()}
    est = make().fit(X_OK, Y_OK)
    coef = est.coef_.copy()
    with pytest.raises(error, match=message):
        est.fit(args["X"], args["y"], sample_weight=args["sample_weight"])
    # nothing changed: not the inputs, not the previously fitted model
    for key, value in snapshot.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(args[key], value)
    np.testing.assert_array_equal(est.coef_, coef)


HYPERPARAMETER_CASES = [
    (pz.Lasso(lam=-1.0), ValueError, "lam must be a finite number >= 0"),
    (pz.Lasso(lam="big"), TypeError, "lam must be a real number"),
    (pz.Lasso(lam=np.nan), ValueError, "lam must be a finite number >= 0"),
    (pz.Ridge(lam=-0.5), ValueError, "lam must be a finite number >= 0"),
    (pz.ElasticNet(lam=0.1, l1_ratio=1.5), ValueError, "l1_ratio == 1.5, must be <= 1.0"),
    (pz.ElasticNet(lam=0.1, l1_ratio=-0.1), ValueError, "l1_ratio == -0.1, must be >= 0.0"),
    (pz.ElasticNet(lam=0.1, l1_ratio="half"), TypeError, "l1_ratio must be an instance of"),
    (pz.Lasso(0.1, weights=[1.0, 1.0]), ValueError, "weights has 2 entries but X has 3 features"),
    (pz.Lasso(0.1, weights=[1.0, -1.0, 1.0]), ValueError, "weights must be >= 0"),
    (pz.Lasso(0.1, tol=0.0), ValueError, "tol == 0.0, must be > 0.0"),
    (pz.Lasso(0.1, tol=-1.0), ValueError, "tol == -1.0, must be > 0.0"),
    (pz.Lasso(0.1, max_iter=0), ValueError, "max_iter == 0, must be >= 1"),
    (pz.Lasso(0.1, max_iter=2.5), TypeError, "max_iter must be an instance of"),
    (pz.Lasso(0.1, fit_intercept="yes"), TypeError, "fit_intercept must be True or False"),
    (pz.LinearRegression(penalty="l1"), TypeError, "penalty must be a penalty object"),
    (pz.LinearRegression(penalty=pz.L1(0.1, weights=[1, 1])), ValueError,
     "weights has 2 entries but X has 3 features"),
]


@pytest.mark.parametrize(("est", "error", "message"), HYPERPARAMETER_CASES,
                         ids=[repr(c[0]) for c in HYPERPARAMETER_CASES])
def test_bad_hyperparameters(est, error, message):
    with pytest.raises(error, match=message):
        est.fit(X_OK, Y_OK)


def test_logistic_one_class():
    with pytest.raises(ValueError, match="needs at least 2 classes in y; got only one class: 'a'"):
        pz.LogisticRegression(penalty=pz.L1(0.1)).fit(X_OK, np.full(20, "a"))
    weights = (LABELS_OK == "a").astype(float)
    with pytest.raises(ValueError, match="class 'b' of y has no sample with positive weight"):
        pz.LogisticRegression(penalty=pz.L1(0.1)).fit(X_OK, LABELS_OK, sample_weight=weights)


def test_logistic_continuous_target():
    with pytest.raises(ValueError, match="Unknown label type"):
        pz.LogisticRegression().fit(X_OK, Y_OK + 0.123)


def test_predict_with_wrong_number_of_features():
    est = pz.Lasso(0.1).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="X has 2 features, but Lasso is expecting 3 features"):
        est.predict(X_OK[:, :2])


def test_errors_leave_numpy_state_alone():
    before = np.geterr()
    with pytest.raises(ValueError):
        pz.Lasso(-1.0).fit(X_OK, Y_OK)
    assert np.geterr() == before
