"""The same input gives bit-identical coefficients across runs and processes."""

import subprocess
import sys

import numpy as np

import penalized as pz

SCRIPT = """
import numpy as np, penalized as pz
rng = np.random.default_rng(7)
X = rng.normal(size=(60, 200)); y = X[:, :4].sum(1) + rng.normal(size=60)
labels = (y > 0).astype(int)
a = pz.Lasso(0.05).fit(X, y).coef_
b = pz.LogisticRegression(pz.L1(0.02)).fit(X, labels).coef_.ravel()
print(np.concatenate([a, b]).tobytes().hex())
"""


def test_bit_identical_across_runs_and_processes():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 200))
    y = X[:, :4].sum(1) + rng.normal(size=60)
    labels = (y > 0).astype(int)
    runs = [np.concatenate([pz.Lasso(0.05).fit(X, y).coef_,
                            pz.LogisticRegression(pz.L1(0.02)).fit(X, labels).coef_.ravel()])
            for _ in range(3)]
    assert all(r.tobytes() == runs[0].tobytes() for r in runs)
    outputs = {subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                              timeout=300).stdout.strip() for _ in range(2)}
    assert outputs == {runs[0].tobytes().hex()}
