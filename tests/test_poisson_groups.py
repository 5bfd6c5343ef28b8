"""Poisson with group penalties (issue 18: it raised). Checked against the KKT conditions computed
here and a tight proximal-gradient reference solve written in the test (glum has no group
penalties); the certificate bounds the objective's distance to that reference."""

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz

GROUPS = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4])


def _data(seed=0, n=250):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, GROUPS.size))
    w = np.zeros(GROUPS.size)
    w[[0, 1, 2, 5, 6]] = [0.4, -0.3, 0.2, 0.3, 0.25]
    offset = rng.uniform(-0.3, 0.3, size=n)
    y = rng.poisson(np.exp(X @ w + 0.2 + offset))
    sw = rng.uniform(0.5, 2.0, size=n)
    return X, y, offset, sw


def _objective(X, y, w, b, lam_g, lam_1, sw, offset):
    a = sw / sw.sum()
    eta = X @ w + b + offset
    groups = sum(np.linalg.norm(w[GROUPS == g]) for g in np.unique(GROUPS))
    return a @ (np.exp(eta) - y * eta) + lam_g * groups + lam_1 * np.abs(w).sum()


def _gradient(X, y, w, b, sw, offset):
    a = sw / sw.sum()
    r = a * (np.exp(X @ w + b + offset) - y)
    return X.T @ r, r.sum()


def _reference(X, y, lam_g, lam_1, sw, offset, iters=20000):
    """Accelerated proximal gradient with backtracking (FISTA) on (w, b): soft-thresholding then
    block soft-thresholding is the prox of the sparse group lasso."""
    def prox(w, t):
        w = np.sign(w) * np.maximum(np.abs(w) - t * lam_1, 0.0)
        for g in np.unique(GROUPS):
            m = GROUPS == g
            nrm = np.linalg.norm(w[m])
            w[m] = 0.0 if nrm <= t * lam_g else w[m] * (1 - t * lam_g / nrm)
        return w

    def smooth(w, b):
        a = sw / sw.sum()
        eta = X @ w + b + offset
        return a @ (np.exp(eta) - y * eta)

    w, b = np.zeros(X.shape[1]), np.log(np.average(y, weights=sw))
    zw, zb, t, step = w.copy(), b, 1.0, 1.0
    for _ in range(iters):
        gw, gb = _gradient(X, y, zw, zb, sw, offset)
        f = smooth(zw, zb)
        while True:
            w_new, b_new = prox(zw - step * gw, step), zb - step * gb
            d_w, d_b = w_new - zw, b_new - zb
            # (a slack at rounding level: without it, near the optimum rounding fails the test and
            # the step halves to nothing)
            if smooth(w_new, b_new) <= f + gw @ d_w + gb * d_b + (d_w @ d_w + d_b * d_b) / (2 * step) + 1e-15:
                break
            step *= 0.5
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        zw = w_new + (t - 1) / t_new * (w_new - w)
        zb = b_new + (t - 1) / t_new * (b_new - b)
        w, b, t = w_new, b_new, t_new
    return w, b


def _kkt(X, y, w, b, lam_g, lam_1, sw, offset):
    """Largest violation of the sparse-group-lasso optimality conditions (and the intercept's)."""
    g, gb = _gradient(X, y, w, b, sw, offset)
    worst = abs(gb)
    for lab in np.unique(GROUPS):
        m = GROUPS == lab
        wg, gg = w[m], g[m]
        if np.any(wg != 0):
            nrm = np.linalg.norm(wg)
            # on the non-zero coordinates the subgradient is exact; on the zero ones |·| ≤ lam_1
            r = gg + lam_g * wg / nrm + lam_1 * np.sign(wg)
            nz = wg != 0
            worst = max(worst, np.abs(r[nz]).max(), np.max(np.abs(gg[~nz] + 0.0), initial=0.0) - lam_1)
        else:
            worst = max(worst, np.linalg.norm(np.sign(gg) * np.maximum(np.abs(gg) - lam_1, 0)) - lam_g)
    return worst


@pytest.mark.parametrize("lam_1", [0.0, 0.01])
def test_poisson_group_and_sparse_group_match_kkt_and_reference(lam_1):
    X, y, offset, sw = _data()
    lam_g = 0.04
    penalty = pz.GroupL1(lam_g, groups=GROUPS) if lam_1 == 0 else pz.L1(lam_1) + pz.GroupL1(lam_g, groups=GROUPS)
    m = pz.PoissonRegressor(penalty=penalty, tol=1e-12).fit(X, y, sample_weight=sw, offset=offset)
    w, b = m.coef_, m.intercept_
    # some groups out, some in: the test exercises both optimality conditions
    active = {int(lab) for lab in np.unique(GROUPS[w != 0])}
    assert 1 <= len(active) < np.unique(GROUPS).size
    assert _kkt(X, y, w, b, lam_g, lam_1, sw, offset) < 1e-6
    w_ref, b_ref = _reference(X, y, lam_g, lam_1, sw, offset)
    np.testing.assert_allclose(w, w_ref, atol=1e-6)
    np.testing.assert_allclose(b, b_ref, atol=1e-6)
    # the certificate bounds the distance to the optimum (≥ what the reference reaches)
    gap_to_ref = _objective(X, y, w, b, lam_g, lam_1, sw, offset) - _objective(X, y, w_ref, b_ref, lam_g, lam_1, sw,
                                                                                  offset)
    assert gap_to_ref <= m.dual_gap_ + 1e-12
    assert "Newton" in m.solver_plan_.method
    # sparse X: the same fit
    s = pz.PoissonRegressor(penalty=penalty, tol=1e-12).fit(sp.csr_array(X), y, sample_weight=sw, offset=offset)
    np.testing.assert_allclose(s.coef_, w, atol=1e-8)


def test_poisson_group_certificate_is_a_bound_away_from_the_optimum():
    """The public certificate of a sub-optimal point (a loose fit) is at least its true distance."""
    X, y, offset, sw = _data(1)
    pen = pz.GroupL1(0.03, groups=GROUPS)
    tight = pz.PoissonRegressor(penalty=pen, tol=1e-12).fit(X, y, sample_weight=sw, offset=offset)
    for scale, shift in ((0.8, 0.0), (1.0, 0.1), (1.1, -0.05)):
        w, b = scale * tight.coef_, tight.intercept_ + shift
        cert = pz.certificate(X, y, w, b, datafit=pz.Poisson(), penalty=pen, sample_weight=sw, offset=offset)
        excess = _objective(X, y, w, b, 0.03, 0.0, sw, offset) - _objective(X, y, tight.coef_, tight.intercept_,
                                                                              0.03, 0.0, sw, offset)
        assert excess > 0 and cert.value >= excess - 1e-12


def test_poisson_group_path_and_cv():
    X, y, offset, _ = _data(2)
    path = pz.regularization_path(X, y, penalty=pz.GroupL1(1.0, groups=GROUPS), datafit="poisson", n_lambdas=8,
                                  offset=offset, tol=1e-10, early_stop=False)
    assert np.all(path.coefs[:, 0] == 0)  # λ_max: the null model
    assert np.count_nonzero(path.coefs[:, -1]) > 0
    for k in (3, 7):
        single = pz.PoissonRegressor(penalty=pz.GroupL1(path.lambdas[k], groups=GROUPS), tol=1e-10).fit(
            X, y, offset=offset)
        np.testing.assert_allclose(path.coefs[:, k], single.coef_, atol=1e-6)
        assert _kkt(X, y, path.coefs[:, k], path.intercepts[k], path.lambdas[k], 0.0, np.ones(len(y)), offset) < 1e-5
    # λ_max: the largest group-gradient norm at the null model
    b0 = np.log(y.mean() / np.mean(np.exp(offset)))
    g, _ = _gradient(X, y, np.zeros(X.shape[1]), b0, np.ones(len(y)), offset)
    lam_max = max(np.linalg.norm(g[GROUPS == lab]) for lab in np.unique(GROUPS))
    np.testing.assert_allclose(path.lambdas[0], lam_max, rtol=1e-6)
    cv = pz.PoissonRegressorCV(penalty=pz.GroupL1(1.0, groups=GROUPS), n_lambdas=8, cv=3).fit(X, y, offset=offset)
    assert cv.lam_ in cv.lambdas_ and np.isfinite(cv.cv_mean_).all()
