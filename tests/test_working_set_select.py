"""The working-set selection (partition over the candidates only) and the re-entrant
single-threaded BLAS block of the coordinate-descent solver."""
import numpy as np
import pytest

from penalized import SquaredError
from penalized.penalties import L1
from penalized.solvers import LinearProblem
from penalized.solvers import coordinate_descent as cd


@pytest.mark.parametrize("n_violating", [0, 3, 40, 400])
def test_working_set_is_support_plus_top_violators(n_violating):
    rng = np.random.default_rng(n_violating)
    p = 1000
    k = LinearProblem.build(rng.standard_normal((5, 3)), rng.standard_normal(5), SquaredError()).kernels
    lam = 1.0
    kp = cd.kernel_penalty(L1(lam), p)
    w = np.zeros(p)
    support = rng.choice(p, 20, replace=False)
    w[support] = rng.standard_normal(20)
    grad = rng.uniform(-0.5, 0.5, p)  # non-violating at zero
    rest = np.setdiff1d(np.arange(p), support)
    violating = rng.choice(rest, n_violating, replace=False)
    grad[violating] = np.sign(rng.standard_normal(n_violating)) * (lam + rng.uniform(0.01, 1.0, n_violating))
    L = np.ones(p)
    L[rest[:5]] = 0.0  # unusable features never enter
    usable = L > 0
    unpenalized = np.zeros(p, dtype=bool)
    scores = np.empty(p)
    ws = cd._working_set(k, w, grad, kp.code, kp.params, L, usable, unpenalized, scores, 50)
    size = max(50, 2 * 20)
    assert ws.shape[0] == size and np.all(np.diff(ws) > 0)  # sorted, distinct
    assert set(support) <= set(ws) and not set(rest[:5]) & set(ws)
    # the reference: the most violating features fill the rest (distances to the subdifferential)
    viol = np.where(w == 0, np.maximum(np.abs(grad) - lam, 0.0), 0.0)
    viol[~usable] = -1.0
    viol[support] = np.inf
    chosen = np.isin(np.arange(p), ws)
    assert viol[~chosen].max() <= viol[chosen].min()


def test_single_threaded_blas_is_reentrant():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [m["num_threads"] for m in threadpoolctl.threadpool_info() if m["user_api"] == "blas"]

    before = blas_threads()
    with cd._single_threaded_blas():
        assert all(t == 1 for t in blas_threads())
        with cd._single_threaded_blas():
            assert all(t == 1 for t in blas_threads())
        assert all(t == 1 for t in blas_threads())  # the inner exit leaves the outer limit on
    assert blas_threads() == before


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("with_offset", [False, True])
def test_remembered_state_matches_a_fresh_pass(sparse, with_offset):
    """A warm start from the last solve's coefficients reuses its X̃w; the path's predictor
    ``Xw + b`` from that state equals the direct product (dense centring and sparse)."""
    import scipy.sparse as sps

    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 30)) * (rng.random((60, 30)) < 0.3) + 0.5
    X = sps.csc_matrix(X) if sparse else X
    y = rng.standard_normal(60)
    offset = rng.standard_normal(60) if with_offset else None
    problem = LinearProblem.build(X, y, SquaredError(), offset=offset)
    res = cd.solve(problem, L1(0.05), tol=1e-10)
    w, b = res.coef, res.intercept
    direct = np.asarray(X @ w).ravel() + b
    assert problem._remembered(w) is not None  # the solve ended on a recomputed state
    np.testing.assert_allclose(problem.predictor(w, b), direct, rtol=1e-12, atol=1e-12)
    zx, b_int = problem.internal_state(w, b)
    problem._last = None
    zx_fresh, b_fresh = problem.internal_state(w, b)
    np.testing.assert_allclose(zx, zx_fresh, rtol=1e-12, atol=1e-12)
    assert b_int == b_fresh
    np.testing.assert_allclose(problem.predictor(w, b), direct, rtol=1e-12, atol=1e-12)  # no state: a pass
    w2 = w.copy()
    w2[0] += 1.0  # other coefficients: never the remembered state
    assert problem._remembered(w2) is None
