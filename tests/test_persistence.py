"""Pickle and joblib round trips give identical predictions."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import penalized as pz

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 8))
Y = X[:, 0] + 0.1 * RNG.normal(size=40)
LABELS = np.where(X[:, 1] > 0, "up", "down")

MODELS = [
    (pz.Lasso(0.05), Y), (pz.Ridge(0.1), Y), (pz.ElasticNet(0.05, l1_ratio=0.3), Y),
    (pz.LinearRegression(penalty=pz.L1L2(0.01, 0.01, weights=np.linspace(0, 1, 8))), Y),
    (pz.LogisticRegression(penalty=pz.L1(0.01)), LABELS),
    (make_pipeline(StandardScaler(), pz.Lasso(0.05)), Y),
]


@pytest.mark.parametrize(("model", "target"), MODELS, ids=lambda m: type(m).__name__)
def test_round_trips(model, target, tmp_path):
    model.fit(X, target)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    np.testing.assert_array_equal(joblib.load(path).predict(X), model.predict(X))
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
