"""The compiled Cox loop (penalized.glm.cox_compiled, solvers/_kernels/cox.py): its risk-set sums and
exact Hessian-vector products against the NumPy data fit and finite differences, and its paths at
p > n against scikit-survival's CoxnetSurvivalAnalysis, a tight run of the general proximal Newton
loop and KKT conditions computed here."""

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized.glm import cox_compiled
from penalized.glm.newton import fit_vector

sksurv = pytest.importorskip("sksurv")
from sksurv.linear_model import CoxnetSurvivalAnalysis  # noqa: E402


def _data(n, p, seed=0):
    """A correlated design, 5 true effects, rounded times (ties), ~30 % censored."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1:] = 0.5 * X[:, :-1] + np.sqrt(0.75) * X[:, 1:]
    beta = np.zeros(p)
    beta[:min(p, 5)] = [1.0, -0.8, 0.6, -0.5, 0.4][:min(p, 5)]
    t = rng.exponential(np.exp(-X @ beta))
    c = rng.exponential(2.0 * np.quantile(t, 0.7), n)
    y = np.column_stack([np.round(np.minimum(t, c), 1) + 0.1, t <= c])
    return X, y


def _kernels(bound):
    from penalized.solvers._loader import jit

    order, grp, tg, SE, TW = cox_compiled._arrays(bound)
    n = order.shape[0]
    bufs = (np.zeros((8, n)), np.zeros(2 * tg.shape[0]), np.zeros((4, grp[-1] + 1)))
    return jit(), (order, grp, tg, SE, TW, bound.total), bufs


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_kernel_value_gradient_hessian_against_numpy_and_finite_differences(ties):
    X, y = _data(120, 3, seed=1)
    s = np.random.default_rng(2).uniform(0.2, 2.0, 120)
    bound = pz.Cox(ties).bind(y, s)
    k, cox, bufs = _kernels(bound)
    W = bufs[0]
    rng = np.random.default_rng(3)
    eta = rng.standard_normal(120)
    value = k.cox_derivatives(eta, cox, *bufs)
    g, h = bound.derivatives(eta)
    assert value == pytest.approx(bound.value(eta), rel=1e-13)
    np.testing.assert_allclose(W[2], g, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(W[3], h, rtol=1e-10, atol=1e-16)
    for _ in range(3):
        v, out = rng.standard_normal(120), np.zeros(120)
        k.cox_hessian_vector(v, out, cox, *bufs)
        e = 1e-5
        fd = (bound.gradient(eta + e * v) - bound.gradient(eta - e * v)) / (2 * e)
        np.testing.assert_allclose(out, fd, rtol=1e-6, atol=1e-9 * np.abs(fd).max())
        assert v @ out >= -1e-15  # positive semi-definite
    out = np.zeros(120)
    k.cox_hessian_vector(np.ones(120), out, cox, *bufs)  # shift invariance: H·1 = 0
    assert np.abs(out).max() < 1e-12 * np.abs(W[3]).max()
    # every working column at once (the Newton model's setup) = one product per column
    from penalized.solvers.problem import kernel_matrix

    XX = np.asfortranarray(np.column_stack([X, rng.standard_normal((120, 2))]))
    ws = np.array([4, 0, 2], dtype=np.int64)
    HX, curv = np.zeros((5, 120)), np.zeros(5)
    k.cox_hessian_columns(kernel_matrix(XX), ws, 3, cox, bufs, HX, curv)
    for a, j in enumerate(ws):
        k.cox_hessian_vector(XX[:, j].copy(), out, cox, *bufs)
        np.testing.assert_allclose(HX[a], out, rtol=1e-10, atol=1e-14 * np.abs(out).max())
        assert curv[a] == pytest.approx(XX[:, j] @ out, rel=1e-10)


def _objective(X, y, w, lam):
    return pz.Cox().bind(y).value(X @ w) + lam * np.abs(w).sum()


def _kkt(X, y, w, lam):
    g = X.T @ pz.Cox().bind(y).gradient(X @ w)
    return np.max(np.where(w != 0, np.abs(g + lam * np.sign(w)), np.maximum(np.abs(g) - lam, 0.0)))


def test_path_beyond_n_matches_scikit_survival_and_meets_its_tolerance():
    """p > n down to 0.01·λ_max (where the diagonal model's gap let a warm start stand far from the
    optimum): every point within its tolerance of the best objective, KKT-tight at tol 1e-10."""
    X, y = _data(80, 200)
    path = pz.regularization_path(X, y, datafit="cox", n_lambdas=25, eps=0.01, tol=1e-4)
    tight = pz.regularization_path(X, y, datafit="cox", lambdas=path.lambdas, tol=1e-10)
    assert path.converged.all() and tight.converged.all()
    bound = pz.Cox().bind(y)
    scale = bound.value(np.zeros(80)) - bound.saturated
    ref = CoxnetSurvivalAnalysis(alphas=path.lambdas, l1_ratio=1.0, tol=1e-12, max_iter=10**6).fit(
        X, np.array([(bool(e), t) for t, e in y], dtype=[("event", bool), ("time", float)])).coef_
    for k, lam in enumerate(path.lambdas):
        best = min(_objective(X, y, tight.coefs[:, k], lam), _objective(X, y, ref[:, k], lam))
        assert _objective(X, y, tight.coefs[:, k], lam) - best <= 1e-9 * scale
        assert _kkt(X, y, tight.coefs[:, k], lam) < 1e-5  # second order: ~sqrt(2·curvature·threshold)
        # the loose path: within a few thresholds of the optimum (the decrement is an estimate)
        assert _objective(X, y, path.coefs[:, k], lam) - best <= 5 * path.thresholds[k]
    assert np.count_nonzero(tight.coefs[:, -1]) > 40  # the hard end of the path was reached


def test_compiled_fit_equals_the_general_loop_with_bounds_weights_and_offset():
    X, y = _data(150, 12, seed=4)
    rng = np.random.default_rng(5)
    s, offset = rng.integers(1, 4, 150).astype(float), 0.3 * rng.standard_normal(150)
    pen = pz.L1L2(l1=0.01, l2=0.02)
    box = (np.zeros(12), np.full(12, 0.5))
    compiled = fit_vector(pz.Cox("efron"), pen, X, y, sample_weight=s, offset=offset, bounds=box, tol=1e-12)
    bound = pz.Cox("efron").bind(y, s)
    bound.compiled = False  # this bound takes the general proximal Newton loop
    general = fit_vector(pz.Cox("efron"), pen, X, y, sample_weight=s, offset=offset, bounds=box, tol=1e-12,
                         bound=bound)
    assert compiled.converged and general.converged
    np.testing.assert_allclose(compiled.coef, general.coef, atol=1e-7)
    assert np.all(compiled.coef >= 0) and np.all(compiled.coef <= 0.5) and np.any(compiled.coef == 0.5)
    sparse = fit_vector(pz.Cox("efron"), pen, sp.csc_matrix(X), y, sample_weight=s, offset=offset, bounds=box,
                        tol=1e-12)
    np.testing.assert_allclose(sparse.coef, compiled.coef, atol=1e-9)
