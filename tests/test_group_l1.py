"""GroupL1 (group lasso over slices along the first axis): value, prox, subdifferential."""

import pickle

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.base import clone

import penalized as pz

RNG = np.random.default_rng(0)
W = RNG.normal(size=(6, 3))
W[1] *= 0.05  # a small row: thresholded to zero


def objective(penalty, w, step):
    def f(z_flat):
        z = z_flat.reshape(w.shape)
        return float(((z - w) ** 2 / (2 * np.broadcast_to(step, w.shape))).sum() + penalty.value(z))
    return f


PENALTIES = [
    pz.GroupL1(0.8),
    pz.GroupL1(0.5, weights=[1.0, 0.0, 2.0, 0.5, 1.0, 3.0]),
    pz.GroupL1(0.4, groups=[0, 0, 1, 2, 1, 2]),
    pz.GroupL1(0.6, groups=[0, 0, 1, 2, 1, 2], weights=[2.0, 0.5, 1.0]),
]


def test_value_is_sum_of_row_norms():
    assert pz.GroupL1(0.3).value(W) == pytest.approx(0.3 * np.linalg.norm(W, axis=1).sum())
    g = pz.GroupL1(0.3, groups=[0, 0, 1, 1, 2, 2], weights=[1, 2, 3])
    norms = [np.linalg.norm(W[0:2]), np.linalg.norm(W[2:4]), np.linalg.norm(W[4:6])]
    assert g.value(W) == pytest.approx(0.3 * (norms[0] + 2 * norms[1] + 3 * norms[2]))
    # a conv kernel: one group per output channel
    k = RNG.normal(size=(4, 2, 3, 3))
    assert pz.GroupL1(1.0).value(k) == pytest.approx(np.linalg.norm(k.reshape(4, -1), axis=1).sum())


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
@pytest.mark.parametrize("kind", ["scalar", "per-coordinate"])
def test_prox_is_the_numerical_minimiser(penalty, kind):
    step = 0.7 if kind == "scalar" else np.random.default_rng(1).uniform(0.1, 2.0, size=W.shape)
    z = penalty.prox(W, step)
    f = objective(penalty, W, step)
    res = minimize(f, W.ravel(), method="Powell", options=dict(xtol=1e-11, ftol=1e-15, maxiter=200_000))
    assert f(z.ravel()) <= res.fun + 1e-9  # nothing the optimiser finds is better
    np.testing.assert_allclose(z, res.x.reshape(W.shape), atol=1e-5)


def test_prox_zeroes_whole_groups_and_block_soft_thresholds():
    z = pz.GroupL1(0.8).prox(W, 1.0)
    norms = np.linalg.norm(W, axis=1)
    for i in range(W.shape[0]):
        if norms[i] <= 0.8:
            assert np.all(z[i] == 0.0)
        else:
            np.testing.assert_allclose(z[i], W[i] * (1 - 0.8 / norms[i]))
    assert np.all(z[1] == 0.0)


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_subdiff_distance_is_zero_at_the_prox_optimum(penalty):
    v = RNG.normal(scale=1.5, size=W.shape)
    w_opt = penalty.prox(v, 1.0)  # minimises ½‖w − v‖² + R(w): gradient of the smooth part is w − v
    np.testing.assert_allclose(penalty.subdiff_distance(w_opt, w_opt - v), 0.0, atol=1e-12)
    assert penalty.subdiff_distance(v, np.zeros_like(v)).max() > 0.1


def test_prox_in_place_matches_prox():
    for penalty in PENALTIES:
        w = W.copy()
        assert penalty.prox_(w, 0.6) is w
        np.testing.assert_allclose(w, penalty.prox(W, 0.6))
        d = np.random.default_rng(3).uniform(0.5, 2.0, size=W.shape)
        w = W.copy()
        penalty.prox_(w, 0.6, d)
        np.testing.assert_allclose(w, penalty.prox(W, 0.6 / d))


def test_torch_matches_numpy():
    torch = pytest.importorskip("torch")
    s = np.random.default_rng(4).uniform(0.1, 2.0, size=W.shape)
    for penalty in PENALTIES:
        t = torch.tensor(W)
        assert float(penalty.value(t)) == pytest.approx(penalty.value(W))
        np.testing.assert_allclose(penalty.prox(t, 0.7).numpy(), penalty.prox(W, 0.7), atol=1e-12)
        np.testing.assert_allclose(penalty.prox(t, torch.tensor(s)).numpy(), penalty.prox(W, s), atol=1e-12)
        np.testing.assert_allclose(penalty.subdiff_distance(t, t * 0.3).numpy(),
                                   penalty.subdiff_distance(W, W * 0.3), atol=1e-12)
        t32 = torch.tensor(W, dtype=torch.float32)
        penalty.prox_(t32, 0.7, torch.tensor(s, dtype=torch.float32))
        np.testing.assert_allclose(t32.numpy(), penalty.prox(W, 0.7 / s), atol=1e-5)


def test_params_clone_pickle_scaled():
    g = pz.GroupL1(0.5, groups=[0, 1, 1], weights=[1.0, 2.0])
    assert clone(g) == g and pickle.loads(pickle.dumps(g)) == g
    assert g.scaled(2.0) == pz.GroupL1(1.0, groups=[0, 1, 1], weights=[1.0, 2.0])
    assert repr(pz.GroupL1(0.5)) == "GroupL1(lam=0.5)"


def test_bad_groups_and_weights():
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        pz.GroupL1(-0.1)
    with pytest.raises(ValueError, match="groups must be labels >= 0"):
        pz.GroupL1(0.1, groups=[0, -1])
    with pytest.raises(TypeError, match="integer group labels"):
        pz.GroupL1(0.1, groups=[0.5, 1.0])
    with pytest.raises(ValueError, match="groups has 2 labels but w has 6 slices"):
        pz.GroupL1(0.1, groups=[0, 1]).value(W)
    with pytest.raises(ValueError, match="weights has 2 entries but there are 6 groups"):
        pz.GroupL1(0.1, weights=[1.0, 1.0]).value(W)
