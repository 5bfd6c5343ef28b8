"""The documented conversions from scikit-learn's logistic regression, checked on coefficients.

scikit-learn minimises ``C·Σ_i loss_i + R(w)`` with ``R = ‖w‖₁`` (``penalty="l1"``),
``½‖w‖²`` (``"l2"``) or ``ρ‖w‖₁ + (1−ρ)/2‖w‖²`` (``"elasticnet"``); penalized the mean loss
plus its penalty. Dividing by ``n·C``: ``L1(1/(nC))``, ``L2(1/(2nC))``,
``L1L2(ρ/(nC), (1−ρ)/(2nC))``.
"""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLogistic

import penalized as pz

RNG = np.random.default_rng(7)
N, P = 150, 6
X = RNG.standard_normal((N, P))
y = (X @ np.array([1.5, -2.0, 0.0, 0.5, 0.0, 1.0]) + RNG.standard_normal(N) > 0).astype(int)
TIGHT = dict(tol=1e-12, max_iter=100000)


def _sklearn(**kw):
    return SkLogistic(tol=1e-10, max_iter=100000, **kw).fit(X, y)


@pytest.mark.parametrize("C", [0.01, 0.1, 1.0])
def test_l2_is_one_over_2nC(C):
    ref = _sklearn(l1_ratio=0.0, C=C, solver="lbfgs")  # penalty="l2"
    ours = pz.LogisticRegression(penalty=pz.L2(1 / (2 * N * C)), **TIGHT).fit(X, y)
    np.testing.assert_allclose(ours.coef_.ravel(), ref.coef_.ravel(), atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-5)
    # the factor 2 is not a rounding detail: 1/(nC) gives a visibly different model
    wrong = pz.LogisticRegression(penalty=pz.L2(1 / (N * C)), **TIGHT).fit(X, y)
    assert np.abs(wrong.coef_.ravel() - ref.coef_.ravel()).max() > 1e-3


@pytest.mark.parametrize("C", [0.05, 0.5])
def test_l1_is_one_over_nC(C):
    ref = _sklearn(l1_ratio=1.0, C=C, solver="saga")  # penalty="l1"
    ours = pz.LogisticRegression(penalty=pz.L1(1 / (N * C)), **TIGHT).fit(X, y)
    np.testing.assert_allclose(ours.coef_.ravel(), ref.coef_.ravel(), atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)


def test_elasticnet_conversion():
    C, rho = 0.2, 0.3
    ref = _sklearn(l1_ratio=rho, C=C, solver="saga")  # penalty="elasticnet"
    ours = pz.LogisticRegression(penalty=pz.L1L2(l1=rho / (N * C), l2=(1 - rho) / (2 * N * C)),
                                 **TIGHT).fit(X, y)
    np.testing.assert_allclose(ours.coef_.ravel(), ref.coef_.ravel(), atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)
