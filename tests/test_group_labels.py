"""Group labels are names: only their distinct values count (memory O(p), not O(max label)).

Weights are one per distinct label in increasing label order (for labels ``0 … G−1``, the
same as before), or one per label value ``0 … max``. Bad labels and wrong-length weights are
refused with messages that name them.
"""

import numpy as np
import pytest

import penalized as pz

RNG = np.random.default_rng(3)
N = 80
X = RNG.standard_normal((N, 6))
Y = X[:, :2].sum(1) + 0.3 * RNG.standard_normal(N)
LABELS = np.array([0, 0, 1, 1, 2, 2])
TIGHT = dict(tol=1e-10, max_iter=50000)


def _fit(groups, weights=None, lam=0.2):
    return pz.LinearRegression(penalty=pz.GroupL1(lam, groups=groups, weights=weights), **TIGHT).fit(X, Y)


def test_huge_label_is_a_name_not_a_size():
    """A label of 10⁹ (or any relabelling) gives the same model as 0 … G−1; no G = max+1 arrays."""
    ref = _fit(LABELS, weights=[1.0, 2.0, 0.5])
    # groups (a, b, c) in feature order carry weights 1, 2, 0.5; weights go by increasing label
    for names, c in (([5, 5, 10**9, 10**9, 7, 7], [1.0, 0.5, 2.0]), ([2, 2, 9, 9, 4, 4], [1.0, 0.5, 2.0])):
        est = _fit(np.array(names), weights=c)
        np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-8)
    pen = pz.GroupL1(0.2, groups=[0, 0, 10**9, 10**9, 3, 3])
    assert pen.group_structure(6).n_groups == 3
    w = np.arange(6.0)
    assert pen.group_norms(w).shape == (3,)
    np.testing.assert_allclose(pen.value(w), 0.2 * (1 + np.hypot(4, 5) + np.hypot(2, 3)))


def test_weights_by_label_value_with_gaps():
    """Labels 0, 2, 4 with 5 weights: indexed by label value (the former convention)."""
    by_value = _fit([0, 0, 2, 2, 4, 4], weights=[1.0, 9.0, 2.0, 9.0, 0.5])
    by_rank = _fit([0, 0, 2, 2, 4, 4], weights=[1.0, 2.0, 0.5])
    ref = _fit(LABELS, weights=[1.0, 2.0, 0.5])
    np.testing.assert_allclose(by_value.coef_, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(by_rank.coef_, ref.coef_, atol=1e-8)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_labels(bad):
    with pytest.raises(ValueError, match=r"groups contains NaN or infinity \(at position\(s\) \[0\]\)"):
        pz.GroupL1(0.1, groups=[bad, 0, 1, 1, 2, 2])


def test_wrong_length_weights_name_the_groups():
    with pytest.raises(ValueError, match=r"weights has 2 entries but groups has 3 distinct label") as info:
        _fit(LABELS, weights=[1.0, 2.0])
    assert "features" not in str(info.value)
    with pytest.raises(ValueError, match=r"one per label value 0 … 9"):
        _fit([0, 0, 9, 9, 4, 4], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="weights has 2 entries but groups has 3"):
        pz.GroupL1(0.1, groups=LABELS, weights=[1.0, 2.0]).value(np.ones(6))


def test_subset_keeps_weights_of_named_groups():
    pen = pz.GroupL1(0.1, groups=[7, 7, 100, 100, 3, 3], weights=[0.5, 1.0, 2.0])  # labels 3, 7, 100
    sub = pen.subset(np.array([0, 1, 4]))
    assert sub.group_structure(3).n_groups == 2
    np.testing.assert_allclose(sub.group_structure(3).lam, 0.1 * np.array([0.5, 1.0]))
