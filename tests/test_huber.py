"""pz.Huber(delta) through the proximal Newton / IRLS loop: against skglm's Huber, the lasso
(δ → ∞) and KKT conditions computed here; fit_linear, regularization_path and HuberRegressor."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

import penalized as pz
from penalized.linear_model import fit_linear


def _data(n=120, p=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:4] = [2.0, -1.5, 1.0, 0.5]
    y = X @ w + 0.3 + 0.5 * rng.standard_t(1.5, n)  # heavy tails: many residuals beyond δ
    return X, y


def huber_grad(X, y, w, b, delta):
    """(∇_w, ∂_b) of (1/n) Σ ρ_δ(y − Xw − b), written out here."""
    r = y - X @ w - b
    psi = np.where(np.abs(r) <= delta, 2 * r, 2 * delta * np.sign(r))
    return -X.T @ psi / len(y), -psi.mean()


def test_value_is_the_documented_loss():
    y = np.array([0.0, 0.5, 3.0, -4.0])
    eta = np.zeros(4)
    expected = np.mean([0.0, 0.25, 2 * 1.0 * 3 - 1, 2 * 1.0 * 4 - 1])
    assert pz.Huber(1.0).value(y, eta) == pytest.approx(expected)


@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_matches_skglm_huber_l1(alpha):
    skglm = pytest.importorskip("skglm")
    from skglm.datafits import Huber as SkHuber
    from skglm.penalties import L1 as SkL1
    from skglm.solvers import AndersonCD

    X, y = _data()
    delta = 1.0
    ref = skglm.GeneralizedLinearEstimator(SkHuber(delta), SkL1(alpha),
                                           AndersonCD(tol=1e-12, max_iter=10000, fit_intercept=True)).fit(X, y)
    res = fit_linear(pz.Huber(delta), pz.L1(2 * alpha), X, y, tol=1e-12)
    np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-6)
    assert res.intercept == pytest.approx(ref.intercept_, abs=1e-6)
    g, gb = huber_grad(X, y, res.coef, res.intercept, delta)
    lam = 2 * alpha
    nz = res.coef != 0
    np.testing.assert_allclose(g[nz], -lam * np.sign(res.coef[nz]), atol=1e-7)
    assert np.all(np.abs(g[~nz]) <= lam + 1e-7) and abs(gb) < 1e-7
    assert res.converged


def test_large_delta_is_the_lasso():
    X, y = _data(seed=1)
    y = y.clip(-5, 5)
    huber = pz.HuberRegressor(pz.L1(0.05), delta=100.0, tol=1e-12).fit(X, y)
    lasso = pz.Lasso(0.05, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(huber.coef_, lasso.coef_, atol=1e-7)
    assert huber.intercept_ == pytest.approx(lasso.intercept_, abs=1e-7)


def test_estimator_dense_equals_sparse_weights_and_bounds():
    X, y = _data(seed=2)
    dense = pz.HuberRegressor(pz.L1L2(l1=0.03, l2=0.01), delta=0.8, tol=1e-11).fit(X, y)
    sparse = pz.HuberRegressor(pz.L1L2(l1=0.03, l2=0.01), delta=0.8, tol=1e-11).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-8)
    reps = np.random.default_rng(0).integers(1, 4, len(y))
    rows = np.repeat(np.arange(len(y)), reps)
    weighted = pz.HuberRegressor(pz.L1(0.05), tol=1e-12).fit(X, y, sample_weight=reps.astype(float))
    repeated = pz.HuberRegressor(pz.L1(0.05), tol=1e-12).fit(X[rows], y[rows])
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-7)
    boxed = pz.HuberRegressor(pz.L1(0.01), positive=True, tol=1e-12).fit(X, y)
    assert np.all(boxed.coef_ >= 0)
    g, _ = huber_grad(X, y, boxed.coef_, boxed.intercept_, 1.0)
    on = boxed.coef_ > 0
    np.testing.assert_allclose(g[on], -0.01, atol=1e-7)
    assert np.all(g[~on] >= -0.01 - 1e-7)


@pytest.mark.parametrize("penalty", [pz.MCP(0.1, gamma=3.0), pz.SCAD(0.1), pz.GroupL1(0.1, groups=np.arange(15) // 3)])
def test_other_penalties_stationary(penalty):
    X, y = _data(seed=3)
    model = pz.HuberRegressor(penalty, delta=1.0, tol=1e-12).fit(X, y)
    g, gb = huber_grad(X, y, model.coef_, model.intercept_, 1.0)
    assert abs(gb) < 1e-6
    if isinstance(penalty, pz.GroupL1):
        for k in range(5):
            wg, gg = model.coef_[3 * k:3 * k + 3], g[3 * k:3 * k + 3]
            if np.any(wg):
                np.testing.assert_allclose(gg, -0.1 * wg / np.linalg.norm(wg), atol=1e-6)
            else:
                assert np.linalg.norm(gg) <= 0.1 + 1e-6
    else:
        assert np.max(penalty.subdiff_distance(model.coef_, g)) < 1e-5
    assert 0 < np.count_nonzero(model.coef_) < X.shape[1]


def test_path_points_equal_single_fits():
    X, y = _data(seed=4)
    path = pz.regularization_path(X, y, datafit=pz.Huber(1.0), n_lambdas=12, tol=1e-10)
    assert path.n_nonzero[0] == 0 and path.n_nonzero[1] > 0 and path.converged.all()
    for k in (2, 8):
        single = fit_linear(pz.Huber(1.0), pz.L1(path.lambdas[k]), X, y, tol=1e-10)
        np.testing.assert_allclose(path.coefs[:, k], single.coef, atol=1e-6)
        assert path.intercepts[k] == pytest.approx(single.intercept, abs=1e-6)


def test_bad_delta():
    for bad in (0.0, -1.0, np.inf, "1"):
        with pytest.raises(ValueError, match="delta"):
            pz.Huber(bad)
    X, y = _data()
    with pytest.raises(ValueError, match="delta"):
        pz.HuberRegressor(pz.L1(0.1), delta=-2.0).fit(X, y)


@parametrize_with_checks([pz.HuberRegressor(pz.L1(0.01), tol=1e-12), pz.HuberRegressor(pz.MCP(0.01), tol=1e-12)])
def test_sklearn_compatible(estimator, check):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        check(estimator)
