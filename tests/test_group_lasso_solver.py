"""The group-lasso least-squares solver (exact group steps, active-set passes) against KKT
conditions computed here, skglm, and the general block solver it replaces on its cases."""

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized.solvers import LinearProblem, certify, group_lasso, solve

skglm = pytest.importorskip("skglm")


def make(seed=0, n=80, p=48, size=4, rho=0.5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1:] = rho * X[:, :-1] + np.sqrt(1 - rho**2) * X[:, 1:]  # correlated neighbours
    X += 0.3  # uncentred columns: the intercept matters
    groups = np.arange(p) // size
    w = np.zeros(p)
    w[:size] = [1.5, -2.0, 0.5, 1.0][:size]
    w[2 * size:3 * size] = 0.7
    y = X @ w + 0.5 * rng.standard_normal(n) + 1.0
    return X, y, groups


def kkt_violation(X, y, coef, intercept, groups, lam_g, l2=0.0, sample_weight=None, fit_intercept=True):
    """Largest violation of the group lasso's optimality conditions, computed from scratch:
    ``∇_g + λ_g w_g/‖w_g‖ + 2 l2 w_g = 0`` on non-zero groups, ``‖∇_g‖ ≤ λ_g`` on zero ones, and a
    zero derivative in the intercept (if fitted); ``∇ = −2 Xᵀ A r`` (A: normalised sample weights)."""
    n = X.shape[0]
    a = np.full(n, 1.0 / n) if sample_weight is None else sample_weight / sample_weight.sum()
    r = y - X @ coef - intercept
    grad = -2.0 * X.T @ (a * r)
    worst = abs(2.0 * (a @ r)) if fit_intercept else 0.0
    for g in np.unique(groups):
        idx = groups == g
        wg, gg = coef[idx], grad[idx]
        if np.any(wg):
            worst = max(worst, np.linalg.norm(gg + lam_g[g] * wg / np.linalg.norm(wg) + 2 * l2 * wg))
        else:
            worst = max(worst, np.linalg.norm(gg) - lam_g[g])
    return worst


def old_route(monkeypatch, X, y, penalty, **kwargs):
    monkeypatch.setattr(group_lasso, "applies", lambda *args: False)
    try:
        return solve(LinearProblem.build(X, y, pz.SquaredError(), **kwargs), penalty, tol=1e-13, max_iter=100_000)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_kkt_and_equal_to_the_block_solver(seed, fit_intercept, monkeypatch):
    X, y, groups = make(seed)
    lam = 0.3
    penalty = pz.GroupL1(lam, groups=groups)
    problem = LinearProblem.build(X, y, pz.SquaredError(), fit_intercept=fit_intercept)
    res = solve(problem, penalty, tol=1e-13, max_iter=100_000)
    assert "exact group steps" in res.plan.method
    assert res.converged and res.certificate <= 1e-13 * problem.null_loss
    lam_g = np.full(groups.max() + 1, lam)  # default weights: 1
    assert kkt_violation(X, y, res.coef, res.intercept, groups, lam_g, fit_intercept=fit_intercept) < 1e-6
    assert 0 < np.count_nonzero(res.coef) < X.shape[1]
    if not fit_intercept:
        assert res.intercept == 0.0
    old = old_route(monkeypatch, X, y, penalty, fit_intercept=fit_intercept)
    assert "exact group steps" not in old.plan.method
    np.testing.assert_allclose(res.coef, old.coef, atol=1e-6)
    assert res.intercept == pytest.approx(old.intercept, abs=1e-6)
    assert res.objective == pytest.approx(old.objective, rel=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_matches_skglm_group_lasso_with_weights(fit_intercept):
    X, y, groups = make(2)
    weights = np.linspace(0.5, 2.0, groups.max() + 1)
    alpha = 0.06
    ref = skglm.GroupLasso(groups=4, alpha=alpha, weights=weights, tol=1e-13, max_iter=10_000,
                           fit_intercept=fit_intercept).fit(X, y)
    # skglm: (1/2n)‖y − Xw − b‖² + α Σ c_g‖w_g‖; twice that is MSE + 2α Σ c_g‖w_g‖
    model = pz.LinearRegression(penalty=pz.GroupL1(2 * alpha, groups=groups, weights=weights),
                                fit_intercept=fit_intercept, tol=1e-13, max_iter=100_000).fit(X, y)
    assert "exact group steps" in model.solver_plan_.method
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-7)
    assert model.intercept_ == pytest.approx(ref.intercept_, abs=1e-7)


def test_sample_weights_l2_part_unequal_and_unpenalized_groups():
    X, y, _ = make(3, p=30)
    groups = np.repeat(np.arange(8), [1, 2, 3, 4, 5, 6, 5, 4])
    weights = np.array([0.0, 1.0, 1.5, 2.0, 1.0, 2.5, 1.0, 3.0])  # group 0 unpenalized
    sw = np.random.default_rng(4).uniform(0.2, 2.0, X.shape[0])
    lam, l2 = 0.4, 0.05
    penalty = pz.GroupL1(lam, groups=groups, weights=weights) + pz.L2(l2)
    problem = LinearProblem.build(X, y, pz.SquaredError(), sample_weight=sw)
    res = solve(problem, penalty, tol=1e-13, max_iter=100_000)
    assert "exact group steps" in res.plan.method and res.converged
    assert res.coef[0] != 0.0  # unpenalized: never zero
    assert kkt_violation(X, y, res.coef, res.intercept, groups, lam * weights, l2=l2, sample_weight=sw) < 1e-6


def test_sparse_design_takes_the_block_solver_and_agrees():
    X, y, groups = make(5)
    X[np.abs(X) < 0.8] = 0.0
    penalty = pz.GroupL1(0.25, groups=groups)
    dense = solve(LinearProblem.build(X, y, pz.SquaredError()), penalty, tol=1e-13, max_iter=100_000)
    sparse = solve(LinearProblem.build(sp.csc_matrix(X), y, pz.SquaredError()), penalty, tol=1e-13,
                   max_iter=100_000)
    assert "exact group steps" in dense.plan.method and "exact group steps" not in sparse.plan.method
    np.testing.assert_allclose(dense.coef, sparse.coef, atol=1e-6)
    assert dense.intercept == pytest.approx(sparse.intercept, abs=1e-6)


def test_l1_part_keeps_the_block_solver():
    X, y, groups = make(6)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    sgl = solve(problem, pz.GroupL1(0.2, groups=groups) + pz.L1(0.05), tol=1e-10)
    assert "exact group steps" not in sgl.plan.method


def test_path_points_are_certified_and_start_at_zero():
    X, y, groups = make(7, n=60, p=1200)
    unit = pz.GroupL1(1.0, groups=groups)
    for tol in (1e-3, 1e-8):
        path = pz.regularization_path(X, y, unit, n_lambdas=15, tol=tol)
        assert path.n_nonzero[0] == 0 and path.n_nonzero[-1] > 0
        problem = LinearProblem.build(X, y, pz.SquaredError())
        for k, lam in enumerate(path.lambdas):
            cert = certify(problem, unit.scaled(lam), path.coefs[:, k], path.intercepts[k])
            assert 0 <= cert.relative <= tol * (1 + 1e-9)


def test_exact_group_step_solves_the_group_problem():
    """One call on a single group from zero minimises ``‖y − Xu‖²/n + λ‖u‖`` exactly: its
    optimality condition holds to rounding after one pass."""
    rng = np.random.default_rng(8)
    n, size = 50, 5
    X = np.asfortranarray(rng.standard_normal((n, size)) * np.array([3.0, 1.0, 0.3, 0.1, 1e-3]))
    y = X @ rng.standard_normal(size) + 0.1 * rng.standard_normal(n)
    lam = 0.2
    problem = LinearProblem.build(X, y, pz.SquaredError(), fit_intercept=False, kernels="jit")
    kp = pz.GroupL1(lam, groups=np.zeros(size, dtype=int), weights=[1.0]).kernel(size)
    LG, hptr, HG, evals, EV = group_lasso.group_data(problem, kp.groups)
    w, r = np.zeros(size), y.copy()
    problem.kernels.group_lasso_epochs(problem.kernel_X[0], r, problem.a, np.zeros(size), w, np.array([0]),
                                       kp.groups.ptr, kp.groups.idx, kp.groups.lam, np.zeros(1), hptr, HG, EV,
                                       evals, 0.0, 1)
    np.testing.assert_allclose(r, y - X @ w, atol=1e-12)
    grad = -2.0 * X.T @ (y - X @ w) / n
    assert np.linalg.norm(w) > 0
    assert np.linalg.norm(grad + lam * w / np.linalg.norm(w)) < 1e-10


@pytest.mark.parametrize("mode", ["python", "jit"])
def test_interpreted_and_compiled_kernels_agree(mode):
    X, y, groups = make(9, n=20, p=12, size=3)
    penalty = pz.GroupL1(0.2, groups=groups)
    res = solve(LinearProblem.build(X, y, pz.SquaredError(), kernels=mode), penalty, tol=1e-12)
    ref = solve(LinearProblem.build(X, y, pz.SquaredError(), kernels="jit"), penalty, tol=1e-12)
    assert "exact group steps" in res.plan.method
    np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-9, atol=1e-12)


def logistic_kkt_violation(X, s, coef, intercept, groups, lam_g):
    """The log-loss group lasso's optimality conditions, from scratch: ``∇ = Xᵀ(−s·σ(−s z))/n``."""
    from scipy.special import expit

    z = X @ coef + intercept
    d = -s * expit(-s * z) / X.shape[0]
    grad = X.T @ d
    worst = abs(d.sum())
    for g in np.unique(groups):
        idx = groups == g
        wg, gg = coef[idx], grad[idx]
        if np.any(wg):
            worst = max(worst, np.linalg.norm(gg + lam_g[g] * wg / np.linalg.norm(wg)))
        else:
            worst = max(worst, np.linalg.norm(gg) - lam_g[g])
    return worst


@pytest.mark.parametrize(("seed", "newton"), [(0, True), (1, True), (0, False)])
def test_logistic_kkt_and_equal_to_the_block_solver(seed, newton, monkeypatch):
    monkeypatch.setattr(group_lasso, "NEWTON", newton)  # proximal Newton, or majorize-minimize steps
    X, y, groups = make(seed, n=120)
    s = np.where(y > np.median(y), 1.0, -1.0)
    weights = np.linspace(0.5, 1.5, groups.max() + 1)
    penalty = pz.GroupL1(0.02, groups=groups, weights=weights)
    problem = LinearProblem.build(X, s, pz.Logistic())
    res = solve(problem, penalty, tol=1e-12, max_iter=100_000)
    assert "exact group steps" in res.plan.method and res.converged
    assert 0 < np.count_nonzero(res.coef) < X.shape[1]
    assert logistic_kkt_violation(X, s, res.coef, res.intercept, groups, 0.02 * weights) < 1e-6
    monkeypatch.setattr(group_lasso, "applies", lambda *args: False)
    old = solve(LinearProblem.build(X, s, pz.Logistic()), penalty, tol=1e-12, max_iter=100_000)
    assert "exact group steps" not in old.plan.method
    np.testing.assert_allclose(res.coef, old.coef, atol=1e-6)
    assert res.intercept == pytest.approx(old.intercept, abs=1e-6)


def test_logistic_path_points_are_certified():
    X, y, groups = make(10, n=60, p=1200)
    s = np.where(y > np.median(y), 1.0, -1.0)
    unit = pz.GroupL1(1.0, groups=groups)
    path = pz.regularization_path(X, s, unit, datafit="logistic", n_lambdas=12, tol=1e-6, early_stop=False,
                                  max_iter=100_000)
    assert path.converged.all() and path.n_nonzero[0] == 0 and path.n_nonzero[-1] > 0
    problem = LinearProblem.build(X, s, pz.Logistic())
    for k, lam in enumerate(path.lambdas):
        cert = certify(problem, unit.scaled(lam), path.coefs[:, k], path.intercepts[k])
        assert 0 <= cert.relative <= 1e-6 * (1 + 1e-9)


def test_logistic_with_sample_weights_and_no_intercept_equals_the_block_solver(monkeypatch):
    X, y, groups = make(11, n=100)
    s = np.where(y > np.median(y), 1.0, -1.0)
    sw = np.random.default_rng(12).uniform(0.2, 3.0, X.shape[0])
    penalty = pz.GroupL1(0.015, groups=groups) + pz.L2(0.01)
    for fit_intercept in (True, False):
        res = solve(LinearProblem.build(X, s, pz.Logistic(), sample_weight=sw, fit_intercept=fit_intercept),
                    penalty, tol=1e-12, max_iter=100_000)
        assert "exact group steps" in res.plan.method and res.converged
        with monkeypatch.context() as m:
            m.setattr(group_lasso, "applies", lambda *args: False)
            old = solve(LinearProblem.build(X, s, pz.Logistic(), sample_weight=sw, fit_intercept=fit_intercept),
                        penalty, tol=1e-12, max_iter=100_000)
        np.testing.assert_allclose(res.coef, old.coef, atol=1e-6)
        assert res.intercept == pytest.approx(old.intercept, abs=1e-6)
        assert res.objective == pytest.approx(old.objective, rel=1e-9)
