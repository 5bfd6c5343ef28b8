"""The bad-input matrix: every public entry point against every class of bad input.

Each row checks the error type and that the message names the problem. Entry points that
take data share one validation layer (``penalized._validation``), so the same bad table
gets the same message everywhere.
"""

import numpy as np
import pandas as pd
import pytest

import penalized as pz

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 4))
Y = X[:, 0] + 0.1 * RNG.normal(size=30)
LABELS = np.where(X[:, 1] > 0, "yes", "no")
SMALL = dict(n_lambdas=5, cv=3)

# entry point name -> (callable(X, y, sample_weight), classification?)
ENTRY_POINTS = {
    "Lasso": (lambda X, y, sw: pz.Lasso(0.1).fit(X, y, sample_weight=sw), False),
    "Ridge": (lambda X, y, sw: pz.Ridge(0.1).fit(X, y, sample_weight=sw), False),
    "ElasticNet": (lambda X, y, sw: pz.ElasticNet(0.1).fit(X, y, sample_weight=sw), False),
    "LinearRegression": (lambda X, y, sw: pz.LinearRegression(pz.L1(0.1)).fit(X, y, sample_weight=sw), False),
    "RelaxedLasso": (lambda X, y, sw: pz.RelaxedLasso(0.1).fit(X, y, sample_weight=sw), False),
    "LogisticRegression": (lambda X, y, sw: pz.LogisticRegression(pz.L1(0.01)).fit(X, y, sample_weight=sw), True),
    "LassoCV": (lambda X, y, sw: pz.LassoCV(**SMALL).fit(X, y, sample_weight=sw), False),
    "ElasticNetCV": (lambda X, y, sw: pz.ElasticNetCV(**SMALL).fit(X, y, sample_weight=sw), False),
    "LogisticRegressionCV": (lambda X, y, sw: pz.LogisticRegressionCV(**SMALL).fit(X, y, sample_weight=sw), True),
    "regularization_path": (lambda X, y, sw: pz.regularization_path(X, y, n_lambdas=5, sample_weight=sw), False),
    "regularization_path(logistic)": (
        lambda X, y, sw: pz.regularization_path(X, y, datafit="logistic", n_lambdas=5, sample_weight=sw), True),
    "stability_selection": (
        lambda X, y, sw: pz.stability_selection(X, y, n_lambdas=3, n_subsamples=4, sample_weight=sw,
                                                random_state=0), False),
    "PoissonRegressorCV": (
        lambda X, y, sw: pz.PoissonRegressorCV(**SMALL).fit(X, np.abs(y), sample_weight=sw), False),
    "MultiTaskLassoCV": (lambda X, y, sw: pz.MultiTaskLassoCV(**SMALL).fit(X, np.c_[y, y], sample_weight=sw), False),
    "regularization_path(poisson)": (
        lambda X, y, sw: pz.regularization_path(X, np.abs(y), datafit="poisson", n_lambdas=5, sample_weight=sw),
        False),
    "regularization_path(multinomial)": (
        lambda X, y, sw: pz.regularization_path(X, y, datafit="multinomial", n_lambdas=5, sample_weight=sw), True),
    "regularization_path(multi-task)": (
        lambda X, y, sw: pz.regularization_path(X, np.c_[y, y], n_lambdas=5, sample_weight=sw), False),
}


def nan_at(a, value=np.nan):
    a = np.array(a, dtype=float)
    a.flat[5] = value
    return a


# bad-input class -> (X, y, sample_weight) transformer, error type, message pattern
BAD_DATA = {
    "NaN in X": (lambda X, y, sw: (nan_at(X), y, sw), ValueError, "Input X contains NaN"),
    "inf in X": (lambda X, y, sw: (nan_at(X, np.inf), y, sw), ValueError, "Input X contains infinity"),
    # class labels coded as floats for the classifiers (string labels cannot hold a NaN)
    "NaN in y": (lambda X, y, sw: (X, nan_at(y if y.dtype.kind == "f" else (y == y[0]).astype(float)), sw),
                 ValueError, "Input y contains NaN"),
    "mismatched lengths": (lambda X, y, sw: (X, y[:-3], sw), ValueError, "inconsistent numbers of samples"),
    "empty": (lambda X, y, sw: (X[:0], y[:0], sw), ValueError, "0 sample"),
    "1-D X": (lambda X, y, sw: (X[:, 0], y, sw), ValueError, "Expected 2D array"),
    "non-numeric X": (lambda X, y, sw: (X.astype(str).astype(object) + "x", y, sw), ValueError,
                      "X contains non-numeric values"),
    "non-numeric column": (lambda X, y, sw: (pd.DataFrame({"a": X[:, 0], "colour": ["red"] * len(X)}), y, sw),
                           ValueError, "non-numeric column.*'colour'"),
    "sample_weight length": (lambda X, y, sw: (X, y, np.ones(7)), ValueError, "sample_weight"),
    "negative sample_weight": (lambda X, y, sw: (X, y, -np.ones(len(y))), ValueError, "sample_weight"),
}


@pytest.mark.parametrize("bad", list(BAD_DATA))
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_bad_data(entry, bad):
    fit, classification = ENTRY_POINTS[entry]
    transform, error, pattern = BAD_DATA[bad]
    y = LABELS if classification else Y
    Xb, yb, sw = transform(X, y, None)
    snapshot = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in (Xb, yb, sw)]
    with pytest.raises(error, match=pattern):
        fit(Xb, yb, sw)
    for before, after in zip(snapshot, (Xb, yb, sw), strict=True):  # inputs untouched
        if isinstance(before, np.ndarray):
            np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("entry", [name for name, (_, clf) in ENTRY_POINTS.items() if clf])
def test_one_class(entry):
    fit, _ = ENTRY_POINTS[entry]
    with pytest.raises(ValueError, match="class"):
        fit(X, np.full(30, "yes"), None)


@pytest.mark.parametrize("entry", [name for name, (_, clf) in ENTRY_POINTS.items() if clf])
def test_continuous_target_for_a_classifier(entry):
    fit, _ = ENTRY_POINTS[entry]
    with pytest.raises(ValueError, match="(Unknown label type|continuous|class)"):
        fit(X, Y, None)


HYPERPARAMETERS = [
    ("path: negative grid", lambda: pz.regularization_path(X, Y, lambdas=[1.0, -1.0]), ValueError,
     "lambdas must be > 0"),
    ("path: unsorted grid", lambda: pz.regularization_path(X, Y, lambdas=[0.1, 1.0]), ValueError, "decreasing"),
    ("path: unknown penalty", lambda: pz.regularization_path(X, Y, penalty="l3"), ValueError, "penalty must be"),
    ("path: bad l1_ratio", lambda: pz.regularization_path(X, Y, penalty="elasticnet", l1_ratio=2.0), ValueError,
     "l1_ratio"),
    ("path: n_lambdas 0", lambda: pz.regularization_path(X, Y, n_lambdas=0), ValueError, "n_lambdas"),
    ("path: unknown datafit", lambda: pz.regularization_path(X, Y, datafit="hinge"), ValueError, "datafit"),
    ("CV: more folds than samples", lambda: pz.LassoCV(cv=40, n_lambdas=3).fit(X, Y), ValueError, "more folds"),
    ("CV: select", lambda: pz.LassoCV(select="best", n_lambdas=3, cv=3).fit(X, Y), ValueError, "select"),
    ("CV: one-class fold", lambda: pz.LogisticRegressionCV(cv=3, n_lambdas=3).fit(
        X[:7], np.array(["a"] * 6 + ["b"])), ValueError, "class"),
    ("Relaxed: gamma", lambda: pz.RelaxedLasso(0.1, gamma=1.5).fit(X, Y), ValueError, "gamma"),
    ("stability: fraction", lambda: pz.stability_selection(X, Y, sample_fraction=1.5), ValueError,
     "sample_fraction"),
    ("penalty: negative", lambda: pz.L1(-0.1), ValueError, "lam must be a finite number >= 0"),
    ("penalty: string", lambda: pz.L2("big"), TypeError, "lam must be a real number"),
    ("GroupL1: negative", lambda: pz.GroupL1(-1.0), ValueError, "lam"),
]


@pytest.mark.parametrize(("case", "call", "error", "pattern"), HYPERPARAMETERS, ids=[h[0] for h in HYPERPARAMETERS])
def test_bad_hyperparameters(case, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_nn_entry_points():
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="include: pattern 'nothing.*' matches no parameter name"):
        pz.nn.Regularizer(net, pz.L1(0.1), include="nothing.*")
    with pytest.raises(ValueError, match="no parameter"):
        pz.nn.Regularizer(net, pz.L1(0.1), include=torch.nn.Conv2d)
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        pz.nn.Regularizer(net, pz.L1(-0.1))
    with pytest.raises(TypeError, match="penalty"):
        pz.nn.Regularizer(net, "l1")
    with pytest.raises((TypeError, ValueError), match="float"):
        pz.nn.ProxSGD([torch.zeros(3, dtype=torch.int64)], lr=0.1, penalty=pz.L1(0.1))
    with pytest.raises(ValueError, match="learning rate"):
        pz.nn.ProxAdamW(net.parameters(), lr=-1.0, penalty=pz.L1(0.1))
