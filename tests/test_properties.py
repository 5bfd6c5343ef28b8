"""Property-based tests (hypothesis): optimality on any accepted problem, honest certificates,
prox operators against direct numerical minimisation."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

import penalized as pz
from penalized.solvers import LinearProblem, solve

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)


@st.composite
def problems(draw):
    """A random regularized problem: shape, scale, correlation, format, dtype, weights."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(2, 40))
    p = draw(st.integers(1, 30))
    rho = draw(st.sampled_from([0.0, 0.5, 0.95]))
    X = rng.standard_normal((n, p))
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * X[:, j]
    X *= 10.0 ** draw(st.integers(-3, 3))  # overall scale
    X += draw(st.sampled_from([0.0, 5.0]))  # uncentred columns
    if draw(st.booleans()):
        X[rng.random(X.shape) < 0.6] = 0.0
    logistic = draw(st.booleans())
    signal = X @ rng.standard_normal(p)
    if logistic:
        y = np.where(signal + rng.standard_normal(n) * signal.std() > np.median(signal), 1.0, -1.0)
        assume(len(np.unique(y)) == 2)
    else:
        y = signal + rng.standard_normal(n)
    sw = rng.uniform(0.1, 5.0, n) if draw(st.booleans()) else None
    kind = draw(st.sampled_from(["l1", "l2", "l1l2"]))
    weights = rng.choice([0.0, 0.5, 1.0, 2.0], size=p) if draw(st.booleans()) else None
    fmt = draw(st.sampled_from(["dense", "csc"]))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    fit_intercept = draw(st.booleans())
    frac = draw(st.sampled_from([0.5, 0.1, 0.01]))
    return dict(X=X.astype(dtype), y=y, sw=sw, kind=kind, weights=weights, fmt=fmt, logistic=logistic,
                fit_intercept=fit_intercept, frac=frac)


def may_be_unbounded(case):
    """Log-loss with unpenalized features: no finite optimum when the classes separate."""
    return case["logistic"] and case["weights"] is not None and np.any(case["weights"] == 0)


def build(case):
    X = case["X"] if case["fmt"] == "dense" else sp.csc_matrix(case["X"])
    datafit = pz.Logistic() if case["logistic"] else pz.SquaredError()
    problem = LinearProblem.build(X, case["y"], datafit, case["sw"], case["fit_intercept"])
    lmax = max(problem.lambda_max(case["weights"]), 1e-3)
    lam = case["frac"] * lmax
    penalty = {"l1": pz.L1(lam, case["weights"]), "l2": pz.L2(lam, case["weights"]),
               "l1l2": pz.L1L2(lam / 2, lam / 2, case["weights"])}[case["kind"]]
    return problem, penalty, datafit


@SETTINGS
@given(problems())
def test_solution_is_optimal_and_certified(case):
    problem, penalty, datafit = build(case)
    result = solve(problem, penalty, tol=1e-10, max_iter=200_000)
    assert np.all(np.isfinite(result.coef)) and np.isfinite(result.intercept)
    assert result.certificate >= 0.0  # a sum of non-negative terms: never negative
    if not result.converged:
        # only acceptable where the problem has no unique finite optimum (unpenalized, separable)
        assert may_be_unbounded(case)
        return
    assert result.certificate <= result.threshold
    # KKT: distance from -grad to the subdifferential, relative to the gradient scale
    X = case["X"].astype(np.float64)
    grad, grad_b = datafit.gradient(X, case["y"], result.coef, result.intercept, case["sw"])
    scale = max(np.abs(datafit.gradient(X, case["y"], np.zeros(X.shape[1]), problem.null_intercept,
                                        case["sw"])[0]).max(), 1e-12)
    dist = penalty.subdiff_distance(result.coef, grad)
    assert np.max(dist) <= 1e-3 * scale
    if case["fit_intercept"]:
        assert abs(grad_b) <= 1e-3 * max(scale, 1.0)


@SETTINGS
@given(problems())
def test_certificate_bounds_the_excess(case):
    problem, penalty, _ = build(case)
    assume(not case["logistic"] and case["weights"] is None)  # where the bound is rigorous
    loose = solve(problem, penalty, tol=1e-3, max_iter=20_000)
    precise = solve(problem, penalty, tol=1e-13, max_iter=50_000)
    excess = loose.objective - precise.objective
    assert excess <= loose.certificate + 1e-12 * max(problem.null_loss, 1e-300) + precise.certificate


@SETTINGS
@given(problems())
def test_dense_and_sparse_agree(case):
    assume(not may_be_unbounded(case))
    case = {**case, "X": case["X"].astype(np.float64)}
    dense, penalty, _ = build({**case, "fmt": "dense"})
    sparse, _, _ = build({**case, "fmt": "csc"})
    a = solve(dense, penalty, tol=1e-12, max_iter=50_000)
    b = solve(sparse, penalty, tol=1e-12, max_iter=50_000)
    assume(a.converged and b.converged)
    assert abs(a.objective - b.objective) <= 1e-9 * max(dense.null_loss, 1e-12) + a.certificate + b.certificate


strengths = st.floats(0.0, 10.0, allow_nan=False)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(kind=st.sampled_from(["l1", "l2", "l1l2"]), s1=strengths, s2=strengths,
       w=st.floats(-50, 50, allow_nan=False), step=st.floats(1e-3, 10.0), c=st.sampled_from([0.0, 0.3, 1.0, 4.0]))
def test_prox_equals_numerical_minimisation(kind, s1, s2, w, step, c):
    penalty = {"l1": pz.L1(s1, [c]), "l2": pz.L2(s1, [c]), "l1l2": pz.L1L2(s1, s2, [c])}[kind]
    z = penalty.prox(np.array([w]), step)[0]

    def objective(t):
        return 0.5 * (t - w) ** 2 + step * penalty.value(np.array([t]))

    res = minimize_scalar(objective, bounds=(-abs(w) - 1, abs(w) + 1), method="bounded",
                          options={"xatol": 1e-12})
    assert objective(z) <= objective(res.x) + 1e-9
    assert abs(z) <= abs(w) + 1e-12  # shrinkage, never expansion


@pytest.mark.parametrize("lam", [1e-8, 1e-2])
def test_gap_never_meaningfully_negative_along_iterations(lam):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 50))
    y = rng.normal(size=30)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    for max_iter in (1, 2, 5, 10, 50):
        r = solve(problem, pz.L1(lam), tol=1e-14, max_iter=max_iter)
        assert r.certificate >= 0.0
