"""CoxPH(standardize=True) without copying X (issue 18: it copied, sparse included), the standardized
Cox path (regularization_path(datafit="cox", standardize=True) ignored standardize) and what
certifies a Cox fit: ``kkt_violation_`` recomputed here from the partial likelihood's gradient."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import penalized as pz
import penalized.glm.estimators as glm_estimators

SCALES = np.array([1.0, 8.0, 0.05, 3.0, 0.5, 1.0])


def _data(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, SCALES.size)) * SCALES + 2.0
    X[rng.uniform(size=X.shape) < 0.3] = 0.0  # zeros, for a meaningful sparse X
    eta = (X - X.mean(0)) / X.std(0) @ np.array([0.8, -0.5, 0.4, 0.0, 0.0, 0.3])
    time = np.round(rng.exponential(np.exp(-eta)), 2) + 0.01  # rounded: ties
    event = rng.uniform(size=n) < 0.75
    return X, np.column_stack([time, event])


@pytest.mark.parametrize("sparse", [False, True])
def test_standardize_passes_x_itself_to_the_solver(sparse, monkeypatch):
    X, y = _data()
    X = sp.csc_array(X) if sparse else np.asfortranarray(X)
    seen = []
    real = glm_estimators.fit_vector

    def spy(datafit, penalty, X_solver, *args, **kwargs):
        seen.append(X_solver)
        return real(datafit, penalty, X_solver, *args, **kwargs)

    monkeypatch.setattr(glm_estimators, "fit_vector", spy)
    pz.CoxPH(pz.L1L2(l1=0.02, l2=0.01), standardize=True).fit(X, y)
    assert len(seen) == 1
    given = X.data if sparse else X
    got = seen[0].data if sparse else seen[0]
    assert sp.issparse(seen[0]) == sparse
    assert np.shares_memory(got, given)  # no copy, no densified matrix


@pytest.mark.parametrize("penalty", [pz.L1(0.03), pz.L1L2(l1=0.02, l2=0.05),
                                     pz.GroupL1(0.03, groups=[0, 0, 1, 1, 2, 2]), pz.MCP(0.03, gamma=3.0)])
def test_standardized_fit_is_the_fit_on_scaled_columns_dense_and_sparse(penalty):
    X, y = _data(1)
    sd = X.std(0)
    by_hand = pz.CoxPH(penalty, tol=1e-12).fit(X / sd, y)
    for Xin in (X, sp.csc_array(X), sp.csr_array(X)):
        ours = pz.CoxPH(penalty, standardize=True, tol=1e-12).fit(Xin, y)
        # (the Newton loop stops at the objective's rounding: coefficients to ~1e-6 relative)
        np.testing.assert_allclose(ours.coef_, by_hand.coef_ / sd, atol=1e-5 * np.abs(by_hand.coef_ / sd).max())


def test_standardized_cox_path_and_cv():
    X, y = _data(2)
    sd = X.std(0)
    ours = pz.regularization_path(sp.csc_array(X), y, datafit="cox", n_lambdas=8, standardize=True, tol=1e-10)
    hand = pz.regularization_path(X / sd, y, datafit="cox", n_lambdas=8, tol=1e-10)
    np.testing.assert_allclose(ours.lambdas, hand.lambdas, rtol=1e-10)
    np.testing.assert_allclose(ours.coefs, hand.coefs / sd[:, None], atol=1e-6)
    unstd = pz.regularization_path(X, y, datafit="cox", n_lambdas=8, tol=1e-10)
    assert not np.allclose(unstd.lambdas, ours.lambdas)  # it used to be this one, silently
    cv = pz.CoxPHCV(lambdas=ours.lambdas, standardize=True, cv=3, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(cv.path_.coefs, ours.coefs, atol=1e-6)
    single = pz.CoxPH(pz.L1(cv.lam_), standardize=True, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(cv.coef_, single.coef_, atol=1e-5)


def _kkt_l1(X, y, w, lam, ties="breslow", scale=None):
    """max_j dist(−∂L/∂w_j, λ ∂|w_j|) written out (in the standardized coordinates when ``scale``)."""
    g = X.T @ pz.Cox(ties).bind(y).gradient(X @ w)
    u = w if scale is None else w * scale
    g = g if scale is None else g / scale
    return np.max(np.where(u != 0, np.abs(g + lam * np.sign(u)), np.maximum(np.abs(g) - lam, 0.0)))


@pytest.mark.parametrize("standardize", [False, True])
def test_kkt_violation_is_the_kkt_distance_of_the_partial_likelihood(standardize):
    X, y = _data(3)
    scale = X.std(0) if standardize else None
    for tol in (1e-2, 1e-6, 1e-12):
        m = pz.CoxPH(pz.L1(0.02), ties="efron", standardize=standardize, tol=tol).fit(X, y)
        expected = _kkt_l1(X, y, m.coef_, 0.02, "efron", scale)
        assert m.kkt_violation_ == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert m.kkt_violation_ < 1e-6 and m.dual_gap_ < 1e-10
    # away from the optimum both measures are positive
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        loose = pz.CoxPH(pz.L1(0.02), ties="efron", standardize=standardize, tol=1e-6, max_iter=1).fit(X, y)
    assert loose.kkt_violation_ > 1e3 * m.kkt_violation_ and loose.dual_gap_ > 1e3 * m.dual_gap_


def test_kkt_violation_of_huber_includes_the_intercept_and_is_nan_with_bounds():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((120, 4))
    y = X @ np.array([1.0, 0.0, -2.0, 0.5]) + rng.standard_t(2, size=120) + 1.0
    m = pz.HuberRegressor(pz.L1(0.05), delta=1.0, tol=1e-12).fit(X, y)
    assert m.kkt_violation_ < 1e-6
    shifted = pz.Huber(1.0).bind(y).gradient(X @ m.coef_ + m.intercept_ + 0.3)
    assert abs(shifted.sum()) > 1e-3  # (what an off intercept would add)
    assert np.isnan(pz.HuberRegressor(pz.L1(0.05), positive=True).fit(X, y).kkt_violation_)
