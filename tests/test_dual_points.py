"""The elastic net's gap over several dual points (the current residual rescaled, the best one seen,
the extrapolation of the last predictors: coordinate_descent's ``dual_extrapolation``).

Every candidate must be a feasible dual point, so every gap it gives must bound ``F(w) − F*`` from
above: checked against ``F*`` from scikit-learn and a tight solve (the lower of the two), at points
stopped early (loose tolerances, few epochs), dense and sparse, squared error and log-loss.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized.solvers import LinearProblem, solve


def _kernels():
    from penalized.solvers import _loader

    return _loader.jit()


def design(seed, n, p, sparse, logistic):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if sparse:
        X[rng.random((n, p)) < 0.8] = 0.0
    w = np.zeros(p)
    w[: min(p, 15)] = rng.standard_normal(min(p, 15)) * 2.0
    z = X @ w + 0.5 * rng.standard_normal(n)
    y = np.where(z > 0, 1.0, -1.0) if logistic else z
    return (sp.csc_matrix(X) if sparse else X), y


def objective(X, y, w, b, lam, logistic):
    z = X @ w + b
    data = np.mean(np.logaddexp(0.0, -y * z)) if logistic else np.mean((y - z) ** 2)
    return data + lam * np.abs(w).sum()


def optimum(X, y, lam, logistic):
    """``F*``: the lower objective of scikit-learn's and a tight penalized solve."""
    datafit = pz.Logistic() if logistic else pz.SquaredError()
    tight = solve(LinearProblem.build(X, y, datafit), pz.L1(lam), tol=1e-13, max_iter=200_000)
    best = objective(X, y, tight.coef, tight.intercept, lam, logistic)
    if not logistic:  # scikit-learn's Lasso(alpha) is L1(2·alpha)
        from sklearn.linear_model import Lasso

        ref = Lasso(alpha=lam / 2, tol=1e-12, max_iter=1_000_000).fit(X, y)
        best = min(best, objective(X, y, ref.coef_, ref.intercept_, lam, logistic))
    return best


def lam_at(X, y, logistic, factor):
    from penalized.path import lambda_max

    return factor * lambda_max(X, y, datafit="logistic" if logistic else "squared_error")


@pytest.mark.parametrize("logistic", [False, True], ids=["squared", "logistic"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_certificates_of_early_stops_bound_the_suboptimality(seed, sparse, logistic):
    X, y = design(seed, 60, 150, sparse, logistic)  # n < p: small λ is near interpolation
    datafit = pz.Logistic() if logistic else pz.SquaredError()
    for factor in (0.3, 0.05):
        lam = lam_at(X, y, logistic, factor)
        f_star = optimum(X, y, lam, logistic)
        warm = solve(LinearProblem.build(X, y, datafit), pz.L1(1.3 * lam), tol=1e-4)
        for tol, max_iter in [(1e-2, 1000), (1e-5, 1000), (1e-8, 1000), (1e-12, 3), (1e-12, 12), (1e-12, 40)]:
            for init in (None, warm):
                res = solve(LinearProblem.build(X, y, datafit), pz.L1(lam), tol=tol, max_iter=max_iter,
                            coef_init=None if init is None else init.coef,
                            intercept_init=None if init is None else init.intercept)
                excess = objective(X, y, res.coef, res.intercept, lam, logistic) - f_star
                assert res.certificate >= excess - 1e-12 * max(1.0, f_star), (tol, max_iter, res.certificate, excess)
                assert res.converged == (res.certificate <= res.threshold)


@pytest.mark.parametrize("logistic", [False, True], ids=["squared", "logistic"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_any_predictor_gives_an_upper_bound_and_the_optimal_one_a_tight_one(sparse, logistic):
    """The kernel's candidate gap, for arbitrary linear predictors ``t`` (random, the current one,
    the optimum's), against ``F(w) − F*``; at the current predictor it is the plain gap."""
    k = _kernels()
    X, y = design(3, 50, 120, sparse, logistic)
    lam = lam_at(X, y, logistic, 0.1)
    datafit = pz.Logistic() if logistic else pz.SquaredError()
    problem = LinearProblem.build(X, y, datafit)
    f_star = optimum(X, y, lam, logistic)
    best = solve(problem, pz.L1(lam), tol=1e-13, max_iter=200_000)
    kp = pz.L1(lam).kernel(X.shape[1], None)
    n, p = X.shape
    idx = np.arange(p)
    rng = np.random.default_rng(0)
    for max_iter in (1, 5, 30):
        res = solve(problem, pz.L1(lam), tol=1e-14, max_iter=max_iter, dual_extrapolation=0)
        zx, b = problem.internal_state(res.coef, res.intercept)
        excess = objective(X, y, res.coef, res.intercept, lam, logistic) - f_star
        grad = np.zeros(p)
        grad_b = k.gradient(datafit.code, *problem.kernel_X, problem.y, problem.a, zx, b, problem.mu, idx, grad,
                            np.empty(n))
        plain_gap, _ = k.duality_gap(datafit.code, problem.y, problem.a, zx, b, res.coef, grad, grad_b, kp.code,
                                     kp.params, problem.L, idx, True)
        zs, bs = problem.internal_state(best.coef, best.intercept)
        candidates = {"current": zx + b, "optimum": zs + bs,
                      "random": zx + b + rng.standard_normal(n), "zero": np.zeros(n)}
        gaps = {}
        for name, t in candidates.items():
            gaps[name] = k.candidate_gap(datafit.code, *problem.kernel_X, problem.y, problem.a, zx, b, res.coef,
                                         kp.params, problem.L, problem.mu, idx, True, t, np.empty(p), np.empty(n))
            assert gaps[name] >= excess - 1e-12, (name, gaps[name], excess)
        np.testing.assert_allclose(gaps["current"], plain_gap, rtol=1e-9, atol=1e-15)
        # the optimum's dual point: the gap is about the suboptimality (the intercept held at b)
        assert gaps["optimum"] <= 1.1 * excess + 1e-10
        assert gaps["optimum"] < 0.5 * gaps["current"] or gaps["current"] <= 1e-10


def near_interpolation_path(dual_extrapolation, sparse):
    X, y = design(5, 80, 400, sparse, False)
    lam_max = lam_at(X, y, False, 1.0)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    w, b, epochs, results = None, None, 0, []
    for lam in np.geomspace(0.2, 0.01, 15) * lam_max:
        # no exact support steps: as on supports too large for them (they make the iterates exact)
        res = solve(problem, pz.L1(lam), coef_init=w, intercept_init=b, tol=1e-4, max_iter=100_000,
                    dual_extrapolation=dual_extrapolation, support_solve=False)
        w, b, epochs = res.coef, res.intercept, epochs + res.n_iter
        results.append((lam, res))
    return X, y, epochs, results


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_dual_points_certify_a_near_interpolating_path_in_fewer_epochs(sparse):
    X, y, with_points, results = near_interpolation_path(5, sparse)
    _, _, without, _ = near_interpolation_path(0, sparse)
    assert with_points < without, (with_points, without)
    for lam, res in results[-3:]:  # still certified, and really within tol·L(0)
        assert res.converged and 0.0 <= res.certificate <= res.threshold
        excess = objective(X, y, res.coef, res.intercept, lam, False) - optimum(X, y, lam, False)
        assert excess <= res.certificate + 1e-12


def test_dual_extrapolation_rejects_bad_values():
    X, y = design(0, 30, 40, False, False)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    for bad in (-1, 2.5, True, "5"):
        with pytest.raises(ValueError, match="dual_extrapolation"):
            solve(problem, pz.L1(0.1), dual_extrapolation=bad)
