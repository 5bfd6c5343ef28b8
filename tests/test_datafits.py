import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import approx_fprime

import penalized as pz
from penalized.solvers import LinearProblem, _loader

k = _loader.jit()


@pytest.fixture(params=["squared", "logistic"])
def problem(request):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 4))
    if request.param == "squared":
        return pz.SquaredError(), X, rng.normal(size=30)
    return pz.Logistic(), X, rng.choice([-1.0, 1.0], size=30)


def test_value_scale():
    y = np.array([1.0, 2.0, 3.0])
    z = np.array([0.0, 2.0, 5.0])
    assert pz.SquaredError().value(y, z) == pytest.approx((1 + 0 + 4) / 3)
    assert pz.SquaredError().value(y, z, sample_weight=[2, 1, 1]) == pytest.approx((2 + 0 + 4) / 4)
    yl = np.array([1.0, -1.0])
    assert pz.Logistic().value(yl, np.array([0.0, 0.0])) == pytest.approx(np.log(2))
    assert pz.Logistic().value(yl, np.array([3.0, 3.0])) == pytest.approx(
        (np.log1p(np.exp(-3)) + np.log1p(np.exp(3))) / 2)


def test_gradient_matches_finite_differences(problem):
    datafit, X, y = problem
    sw = np.random.default_rng(0).uniform(0.5, 2, size=len(y))
    w0 = np.array([0.3, -0.2, 0.1, 0.5])

    def f(theta):
        return datafit.value(y, X @ theta[:-1] + theta[-1], sw)

    num = approx_fprime(np.append(w0, 0.4), f, 1e-7)
    grad, grad_b = datafit.gradient(X, y, w0, 0.4, sw)
    np.testing.assert_allclose(grad, num[:-1], atol=1e-5)
    assert grad_b == pytest.approx(num[-1], abs=1e-5)


def test_lipschitz_bounds_coordinate_curvature(problem):
    datafit, X, y = problem
    L = datafit.coordinate_lipschitz(X)
    rng = np.random.default_rng(1)
    for _ in range(20):
        w = rng.normal(size=4)
        for j in range(4):
            e = np.zeros(4)
            e[j] = 1e-4
            g1 = datafit.gradient(X, y, w)[0][j]
            g2 = datafit.gradient(X, y, w + e)[0][j]
            assert abs(g2 - g1) / 1e-4 <= L[j] * (1 + 1e-3)


def test_compiled_kernels_agree_with_reference(problem):
    datafit, X, y = problem
    sw = np.random.default_rng(0).uniform(0.5, 2, size=len(y))
    w = np.array([0.3, -0.2, 0.0, 0.5])
    for design in (X, sp.csc_matrix(X)):
        pb = LinearProblem.build(design, y, datafit, sw, fit_intercept=True)
        grad, grad_b = pb.gradient(w, 0.2)
        ref, ref_b = datafit.gradient(X, y, w, 0.2, sw)
        np.testing.assert_allclose(grad, ref, rtol=1e-12, atol=1e-14)
        assert grad_b == pytest.approx(ref_b, rel=1e-12)
        assert k.datafit_value(datafit.code, pb.y, pb.a, X @ w, 0.2) == pytest.approx(
            datafit.value(y, X @ w + 0.2, sw), rel=1e-12)
        # plain-coordinate Lipschitz constants when nothing is centred
        pb0 = LinearProblem.build(design, y, datafit, sw, fit_intercept=False)
        np.testing.assert_allclose(pb0.L, datafit.coordinate_lipschitz(X, sw), rtol=1e-12)


def test_null_intercept(problem):
    datafit, X, y = problem
    b0 = datafit.null_intercept(y)
    grad_b = datafit.gradient(X, y, np.zeros(4), b0)[1]
    assert grad_b == pytest.approx(0.0, abs=1e-12)


def test_logistic_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        pz.Logistic().null_intercept(np.ones(4))
