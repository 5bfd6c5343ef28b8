import pickle

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from sklearn.base import clone

import penalized as pz

PENALTIES = [
    pz.L1(0.3),
    pz.L2(0.7),
    pz.L1L2(l1=0.2, l2=0.5),
    pz.L1(0.3, weights=[1.0, 0.0, 2.0, 0.5, 1.0]),
    pz.L1L2(l1=0.4, l2=0.1, weights=[0.0, 1.0, 3.0, 1.0, 0.2]),
]


def scalar_value(penalty, j, t):
    w = np.zeros(5)
    w[j] = t
    return penalty.value(w)


def test_values_follow_keras_scale():
    w = np.array([1.0, -2.0, 0.0, 3.0])
    assert pz.L1(0.1).value(w) == pytest.approx(0.1 * 6)
    assert pz.L2(0.1).value(w) == pytest.approx(0.1 * 14)  # no 1/2
    assert pz.L1L2(l1=0.1, l2=0.2).value(w) == pytest.approx(0.1 * 6 + 0.2 * 14)
    assert pz.L1(0.1)(w) == pz.L1(0.1).value(w)  # callable like a Keras regularizer
    c = np.array([0.0, 1.0, 5.0, 2.0])
    assert pz.L1(0.1, weights=c).value(w) == pytest.approx(0.1 * (2 + 6))


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
@pytest.mark.parametrize("step", [0.05, 1.0, 3.0])
def test_prox_is_the_minimiser(penalty, step):
    rng = np.random.default_rng(1)
    w = rng.normal(scale=2, size=5)
    z = penalty.prox(w, step)
    for j in range(5):
        res = minimize_scalar(lambda t, j=j: 0.5 * (t - w[j]) ** 2 + step * scalar_value(penalty, j, t),
                              bracket=(-10, 10), tol=1e-12)
        assert z[j] == pytest.approx(res.x, abs=1e-6)


def test_l1_prox_gives_exact_zeros():
    z = pz.L1(1.0).prox(np.array([0.5, -0.99, 1.5, -3.0]), 1.0)
    np.testing.assert_array_equal(z, [0.0, 0.0, 0.5, -2.0])


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_subdiff_distance(penalty):
    rng = np.random.default_rng(2)
    w = rng.normal(size=5)
    w[[1, 3]] = 0.0
    grad = rng.normal(size=5)
    dist = penalty.subdiff_distance(w, grad)
    # brute force: distance from -grad to the subdifferential, by sampling it
    l1, l2 = penalty.coordinate_strengths(5)
    for j in range(5):
        if w[j] != 0:
            expected = abs(grad[j] + l1[j] * np.sign(w[j]) + 2 * l2[j] * w[j])
        else:
            sub = np.linspace(-l1[j], l1[j], 20001)
            expected = np.min(np.abs(-grad[j] - sub))
        assert dist[j] == pytest.approx(expected, abs=1e-4)
    # zero exactly at an optimum of 0.5*||w - v||^2 + R(w): w = prox(v, 1), grad = w - v
    v = rng.normal(scale=2, size=5)
    w_opt = penalty.prox(v, 1.0)
    np.testing.assert_allclose(penalty.subdiff_distance(w_opt, w_opt - v), 0.0, atol=1e-12)


def test_repr_equality_and_hash():
    assert repr(pz.L1(0.5)) == "L1(lam=0.5)"
    assert repr(pz.L1L2(l1=0.1, l2=0.2)) == "L1L2(l1=0.1, l2=0.2)"
    assert "weights=array([1., 0.])" in repr(pz.L2(0.1, weights=[1, 0]))
    assert pz.L1(0.5) == pz.L1(0.5)
    assert pz.L1(0.5) != pz.L1(0.6)
    assert pz.L1(0.5) != pz.L2(0.5)
    assert pz.L1(0.5, weights=[1, 2]) == pz.L1(0.5, weights=np.array([1.0, 2.0]))
    assert pz.L1(0.5, weights=[1, 2]) != pz.L1(0.5)
    assert len({pz.L1(0.5), pz.L1(0.5), pz.L2(0.5)}) == 2


def test_params_clone_and_pickle():
    p = pz.L1L2(l1=0.1, l2=0.2, weights=[1.0, 0.0])
    assert p.get_params() == {"l1": 0.1, "l2": 0.2, "weights": p.weights}
    q = clone(p)
    assert q == p and q is not p
    assert p.set_params(l1=0.3) is p and p.l1 == 0.3
    assert pickle.loads(pickle.dumps(p)) == p
    with pytest.raises(ValueError, match="Invalid parameter 'lam'"):
        p.set_params(lam=1.0)
    estimator = pz.LinearRegression(penalty=pz.L1(0.1))
    assert estimator.get_params()["penalty__lam"] == 0.1
    estimator.set_params(penalty__lam=0.2)
    assert estimator.penalty == pz.L1(0.2)


@pytest.mark.parametrize("make", [lambda v: pz.L1(v), lambda v: pz.L2(v), lambda v: pz.L1L2(l1=v),
                                  lambda v: pz.L1L2(l2=v)])
def test_invalid_strengths(make):
    with pytest.raises(ValueError, match=r"(lam|l1|l2) must be a finite number >= 0"):
        make(-1.0)
    with pytest.raises(ValueError, match=r"(lam|l1|l2) must be a finite number >= 0"):
        make(float("nan"))
    with pytest.raises(TypeError, match=r"(lam|l1|l2) must be a real number"):
        make("0.1")


def test_invalid_weights():
    with pytest.raises(ValueError, match="weights must be >= 0"):
        pz.L1(0.1, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="weights contains NaN"):
        pz.L1(0.1, weights=[1.0, np.nan])
    with pytest.raises(ValueError, match="one-dimensional"):
        pz.L1(0.1, weights=[[1.0]])
    with pytest.raises(ValueError, match="weights has 2 entries but X has 3 features"):
        pz.L1(0.1, weights=[1.0, 1.0]).coordinate_strengths(3)


def test_methods_work_on_torch_tensors():
    torch = pytest.importorskip("torch")
    w = np.array([0.5, -2.0, 0.0, 1.5])
    t = torch.tensor(w)
    for p in PENALTIES[:3]:
        assert float(p.value(t)) == pytest.approx(p.value(w))
        np.testing.assert_allclose(p.prox(t, 0.7).numpy(), p.prox(w, 0.7))
        np.testing.assert_allclose(p.subdiff_distance(t, t * 0.3).numpy(), p.subdiff_distance(w, w * 0.3))
