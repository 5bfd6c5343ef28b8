"""Sums of penalties: L1 + L2 = L1L2, the sparse group lasso's exact prox, and what does not add."""

import numpy as np
import pytest
from scipy.optimize import minimize

import penalized as pz
from penalized.penalties import PenaltySum


def test_l1_plus_l2_is_l1l2():
    assert pz.L1(0.3) + pz.L2(0.2) == pz.L1L2(0.3, 0.2)
    assert pz.L1L2(0.1, 0.1) + pz.L1(0.2) == pz.L1L2(0.1 + 0.2, 0.1)
    assert sum([pz.L1(0.1), pz.L2(0.2)]) == pz.L1L2(0.1, 0.2)
    c = np.array([1.0, 2.0, 0.0])
    mixed = pz.L1(0.3, weights=c) + pz.L2(0.2)
    assert isinstance(mixed, PenaltySum)
    w = np.array([1.0, -2.0, 3.0])
    assert np.isclose(mixed.value(w), 0.3 * (c @ np.abs(w)) + 0.2 * (w @ w))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("diagonal", [False, True])
def test_sparse_group_prox_is_the_minimiser(seed, diagonal):
    rng = np.random.default_rng(seed)
    groups = np.array([0, 0, 0, 1, 1, 2])
    penalty = pz.L1(0.3) + pz.L2(0.1) + pz.GroupL1(0.5, groups=groups, weights=[1.0, 2.0, 0.5])
    v = rng.standard_normal(6) * 2
    step = rng.uniform(0.2, 2.0, 6) if diagonal else 0.7
    z = penalty.prox(v, step)

    def objective(u):
        return float(np.sum((u - v) ** 2 / (2 * step)) + penalty.value(u))

    found = min((minimize(objective, x0, method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-13,
                                                                           maxiter=40_000)).fun
                 for x0 in (z, v, np.zeros(6))), default=np.inf)
    assert objective(z) <= found + 1e-9
    # optimality: ‖(v − z)/step‖ conditions as a subdifferential distance of zero
    assert np.max(penalty.subdiff_distance(z, (z - v) / step)) < 1e-8


def test_sums_work_on_torch_tensors():
    torch = pytest.importorskip("torch")
    groups = np.array([0, 0, 1, 1])
    penalty = pz.L1(0.2) + pz.GroupL1(0.4, groups=groups)
    w = np.array([[1.0, -0.1], [0.5, 0.3], [0.05, -0.02], [0.01, 0.0]])
    expected = penalty.prox(w, 0.5)
    got = penalty.prox(torch.tensor(w), 0.5).numpy()
    assert np.allclose(got, expected)
    assert np.all(got[2:] == 0)  # the second group vanishes exactly
    assert np.isclose(float(penalty.value(torch.tensor(w))), penalty.value(w))


def test_what_does_not_add():
    with pytest.raises(TypeError, match="at most one GroupL1"):
        pz.GroupL1(0.1) + pz.GroupL1(0.2)
    with pytest.raises(TypeError, match="cannot add"):
        pz.L1(0.1) + pz.SCAD(0.1)
    with pytest.raises(TypeError, match="penalty object"):
        pz.L1(0.1) + 3


def test_sum_is_a_hyperparameter():
    from sklearn.base import clone

    est = pz.LinearRegression(penalty=pz.L1(0.1) + pz.GroupL1(0.2, groups=[0, 0, 1]))
    assert clone(est).penalty == est.penalty
    assert "GroupL1" in repr(est.penalty)
