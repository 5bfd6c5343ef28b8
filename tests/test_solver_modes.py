"""Every solver mode against the plain solver and scikit-learn, at 1e-6.

Modes: Gram matrix (n ≫ p), Gap Safe screening, exact support steps, proximal Newton
(log-loss), working sets with a strong-rule start; plus the shared certificate.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk

import penalized as pz
from conftest import correlated_design, relative_error
from penalized.solvers import LinearProblem, certificate, certify, solve, strong_rule_set

PLAIN = dict(working_set=False, anderson_k=0, screening=False, support_solve=False, gram=False,
             newton=False)  # cyclic proximal coordinate descent, nothing else
TIGHT = dict(tol=1e-13, max_iter=200_000)


def regression(n, p, rho=0.5, seed=0, weighted=False):
    rng = np.random.default_rng(seed)
    X = correlated_design(rng, n, p, rho) * rng.uniform(0.5, 2, p) + rng.normal(size=p)
    coef = np.zeros(p)
    coef[: min(5, p)] = [2.0, -1.5, 1.0, 0.5, -0.5][: min(5, p)]
    y = X @ coef + rng.normal(size=n) + 1.0
    sw = rng.uniform(0.2, 3.0, n) if weighted else None
    return X, y, sw


def classification(n, p, rho=0.5, seed=0):
    X, y, _ = regression(n, p, rho, seed)
    labels = np.where(y > np.median(y), 1.0, -1.0)
    return (X - X.mean(0)) / X.std(0), labels


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("penalty", [pz.L1(0.02), pz.L1L2(l1=0.02, l2=0.05), pz.L2(0.1)], ids=repr)
def test_gram_mode_matches_plain_solver_and_sklearn(fit_intercept, weighted, penalty):
    X, y, sw = regression(400, 15, weighted=weighted)
    problem = LinearProblem.build(X, y, pz.SquaredError(), sw, fit_intercept)
    gram = solve(problem, penalty, gram=True, **TIGHT)
    plain = solve(LinearProblem.build(X, y, pz.SquaredError(), sw, fit_intercept), penalty, **PLAIN, **TIGHT)
    assert gram.converged and plain.converged
    assert relative_error(gram.coef, plain.coef) < 1e-6
    assert gram.intercept == pytest.approx(plain.intercept, rel=1e-6, abs=1e-8)
    assert problem.gram() is problem.gram()  # computed once, reused along a path
    if isinstance(penalty, pz.L1):
        ref = sk.Lasso(alpha=penalty.lam / 2, fit_intercept=fit_intercept, tol=1e-15, max_iter=10**6).fit(
            X, y, sample_weight=sw)
        assert relative_error(gram.coef, ref.coef_) < 1e-6


def test_gram_mode_is_auto_for_many_samples_few_features():
    X, y, _ = regression(3000, 20)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    result = solve(problem, pz.L1(0.01), tol=1e-10)
    assert getattr(problem, "_gram", None) is not None and result.converged


@pytest.mark.parametrize("datafit", ["squared", "logistic"])
@pytest.mark.parametrize("sparse", [False, True])
def test_screened_features_are_zero_at_the_optimum(datafit, sparse):
    if datafit == "squared":
        X, y, _ = regression(60, 500, rho=0.3)
        fit_intercept = True
        df = pz.SquaredError()
    else:
        X, y = classification(60, 500, rho=0.3)
        fit_intercept = False  # the log-loss screens without an intercept (see the solver)
        df = pz.Logistic()
    design = sp.csc_matrix(np.where(np.abs(X) > 0.5, X, 0.0)) if sparse else X
    problem = LinearProblem.build(design, y, df, fit_intercept=fit_intercept)
    penalty = pz.L1(0.3 * problem.lambda_max())
    # without exact support steps, nor sub-problems solved further while cheaper than a check, the
    # solver takes the many outer iterations screening needs
    screened = solve(problem, penalty, screening=True, support_solve=False, check_balance=0.0, **TIGHT)
    reference = solve(problem, penalty, screening=False, **TIGHT)
    assert screened.n_screened > 0.5 * X.shape[1]
    assert screened.converged and relative_error(screened.coef, reference.coef) < 1e-6
    # the rule is safe: every feature it drops is zero in the precise solution
    from penalized.solvers._loader import jit

    k = jit()
    zx, b = problem.internal_state(reference.coef, reference.intercept)
    grad = np.empty(X.shape[1])
    everything = np.arange(X.shape[1])
    grad_b = k.gradient(df.code, *problem.kernel_X, problem.y, problem.a, zx, b, problem.mu, everything, grad,
                        np.empty(X.shape[0]))
    kp = penalty.kernel(X.shape[1])
    gap, _ = k.duality_gap(df.code, problem.y, problem.a, zx, b, reference.coef, grad, grad_b, kp.code,
                           kp.params, problem.L, everything, fit_intercept)
    active = np.ones(X.shape[1], dtype=bool)
    k.gap_safe_screen(grad, gap * 1e6 + 1e-3, np.zeros(X.shape[1]), kp.params, problem.L,
                      active, everything)  # a generous gap: a smaller, still valid, safe region
    assert np.all(reference.coef[~active] == 0)


def test_screening_is_off_where_it_would_not_be_safe():
    X, y = classification(60, 300)
    with_intercept = LinearProblem.build(X, y, pz.Logistic(), fit_intercept=True)
    assert solve(with_intercept, pz.L1(0.05), tol=1e-8, screening=True).n_screened == 0
    X, y, _ = regression(60, 300)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    weights = np.ones(300)
    weights[:3] = 0.0  # unpenalized features: the dual point is not feasible
    assert solve(problem, pz.L1(0.05, weights=weights), tol=1e-8, screening=True).n_screened == 0
    assert solve(problem, pz.L1(0.05), tol=1e-8).n_screened == 0  # off by default


@pytest.mark.parametrize("shape", [(50, 200), (200, 30)], ids=["n<p", "n>p"])
@pytest.mark.parametrize("penalty", [pz.L1(0.01), pz.L1L2(l1=0.01, l2=0.01)], ids=repr)
def test_exact_support_steps_match_plain_coordinate_descent(shape, penalty):
    X, y, _ = regression(*shape, rho=0.8)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    # weakly convex (n < p, small l2): a certificate of 1e-13 allows 1e-6 differences in w;
    # 1e-14 is tight enough and above the rounding floor of the Lasso certificate
    steps = solve(problem, penalty, support_solve=True, tol=1e-14, max_iter=200_000)
    plain = solve(problem, penalty, **PLAIN, tol=1e-14, max_iter=200_000)
    assert steps.support_steps > 0 and steps.converged
    # plain CD may stop at max_iter, close; with an L2 part, F − F* ≥ l2·‖w − w*‖² bounds the
    # distance of each certified point from the optimum
    l2 = getattr(penalty, "l2", 0.0)
    bound = (np.sqrt(steps.certificate / l2) + np.sqrt(plain.certificate / l2)) / np.linalg.norm(plain.coef) if l2 \
        else 0.0
    assert relative_error(steps.coef, plain.coef) < max(1e-6, bound)
    assert steps.n_iter < plain.n_iter


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("penalty", [pz.L1(0.02), pz.L1L2(l1=0.01, l2=0.02), pz.L2(0.05)], ids=repr)
def test_proximal_newton_matches_lipschitz_cd_and_sklearn(fit_intercept, sparse, penalty):
    X, labels = classification(80, 40, rho=0.6)
    design = sp.csc_matrix(np.where(np.abs(X) > 0.4, X, 0.0)) if sparse else X
    problem = LinearProblem.build(design, labels, pz.Logistic(), fit_intercept=fit_intercept)
    newton = solve(problem, penalty, newton=True, **TIGHT)
    cd = solve(problem, penalty, newton=False, **TIGHT)
    assert newton.converged and cd.converged
    assert newton.support_steps > 0  # Newton steps taken
    assert relative_error(newton.coef, cd.coef) < 1e-6
    assert newton.intercept == pytest.approx(cd.intercept, rel=1e-6, abs=1e-8)
    if isinstance(penalty, pz.L1) and not fit_intercept:  # liblinear solves exactly this problem
        dense = design.toarray() if sparse else design
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = sk.LogisticRegression(C=1 / (80 * penalty.lam), l1_ratio=1.0, solver="liblinear",
                                        fit_intercept=False, tol=1e-12, max_iter=10**6).fit(dense, labels)
        assert relative_error(newton.coef, ref.coef_) < 1e-5


def test_strong_rule_start_changes_nothing_but_the_start():
    X, y, _ = regression(60, 400, rho=0.5)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    lmax = problem.lambda_max()
    first = solve(problem, pz.L1(0.5 * lmax), tol=1e-12)
    assert first.gradient is not None
    grad, _ = problem.gradient(first.coef, first.intercept)
    np.testing.assert_allclose(first.gradient, grad, atol=1e-10)
    strong = strong_rule_set(first.gradient, 0.4 * lmax, 0.5 * lmax)
    assert strong.dtype == bool and 0 < strong.sum() < 400
    assert np.all(strong[first.coef != 0])
    started = solve(problem, pz.L1(0.4 * lmax), coef_init=first.coef, intercept_init=first.intercept,
                    initial_working_set=strong, **TIGHT)
    cold = solve(problem, pz.L1(0.4 * lmax), **TIGHT)
    assert relative_error(started.coef, cold.coef) < 1e-6
    # a wrong guess costs time, never the answer
    wrong = solve(problem, pz.L1(0.4 * lmax), initial_working_set=np.arange(390, 400), **TIGHT)
    assert relative_error(wrong.coef, cold.coef) < 1e-6


def test_certificate_judges_any_solution_the_same_way():
    X, y, _ = regression(50, 120)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    penalty = pz.L1(0.1 * problem.lambda_max())
    ours = solve(problem, penalty, tol=1e-9)
    judged = certify(problem, penalty, ours.coef, ours.intercept)
    assert judged.value == pytest.approx(ours.certificate, rel=1e-6, abs=1e-15)
    assert judged.meets(1e-9) and judged.relative == judged.value / problem.null_loss
    assert judged.objective == pytest.approx(ours.objective, rel=1e-12)
    ref = sk.Lasso(alpha=penalty.lam / 2, tol=1e-12, max_iter=10**6).fit(X, y)
    peer = certificate(X, y, ref.coef_, ref.intercept_, datafit=pz.SquaredError(), penalty=penalty)
    assert peer.meets(1e-6)
    bad = certificate(X, y, ref.coef_ * 1.1, ref.intercept_, datafit=pz.SquaredError(), penalty=penalty)
    assert not bad.meets(1e-4)
    shifted = certificate(X, y, ref.coef_, ref.intercept_ + 0.5, datafit=pz.SquaredError(), penalty=penalty)
    assert not shifted.meets(1e-4)  # the intercept is judged too
    Xc, labels = classification(60, 20)
    text = np.where(labels > 0, "spam", "ham")
    est = pz.LogisticRegression(penalty=pz.L1(0.02), tol=1e-10).fit(Xc, text)
    cert = certificate(Xc, text, est.coef_[0], est.intercept_[0], datafit=pz.Logistic(), penalty=pz.L1(0.02))
    assert cert.meets(1e-9)
    with pytest.raises(ValueError, match="no intercept"):
        certificate(X, y, ref.coef_, 1.0, datafit=pz.SquaredError(), penalty=penalty, fit_intercept=False)


def sparse_text_design(n, p, density, seed):
    """A sparse CSC design with short columns (the case the sparse-residual epochs and the
    check balance are for), a regression target and ±1 labels."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=seed,
                  data_rvs=lambda k: rng.lognormal(0.0, 1.0, k))
    coef = np.zeros(p)
    coef[rng.choice(p, 8, replace=False)] = rng.normal(0, 3, 8)
    y = X @ coef + rng.normal(size=n) + 0.5
    return X, y, np.where(y > np.median(y), 1.0, -1.0)


@pytest.mark.parametrize("check_balance", [0.0, 1.0, 5.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_check_balance_and_sparse_residual_epochs_match_sklearn(check_balance, fit_intercept, weighted):
    X, y, _ = sparse_text_design(300, 2000, 0.01, seed=3)
    sw = np.random.default_rng(4).uniform(0.3, 3.0, X.shape[0]) if weighted else None
    problem = LinearProblem.build(X, y, pz.SquaredError(), sw, fit_intercept)
    penalty = pz.L1(0.05 * problem.lambda_max())
    result = solve(problem, penalty, check_balance=check_balance, **TIGHT)
    ref = sk.Lasso(alpha=penalty.lam / 2, fit_intercept=fit_intercept, tol=1e-15, max_iter=10**6).fit(
        X, y, sample_weight=sw)
    assert result.converged
    assert relative_error(result.coef, ref.coef_) < 1e-6
    assert result.intercept == pytest.approx(float(ref.intercept_), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("check_balance", [0.0, 1.0, 5.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_check_balance_logistic_meets_optimality_conditions(check_balance, fit_intercept):
    X, _, labels = sparse_text_design(300, 2000, 0.01, seed=5)
    problem = LinearProblem.build(X, labels, pz.Logistic(), fit_intercept=fit_intercept)
    lam = 0.05 * problem.lambda_max()
    result = solve(problem, pz.L1(lam), check_balance=check_balance, **TIGHT)
    assert result.converged
    # KKT computed here: |∇_j| ≤ λ off the support, ∇_j = −λ sign(w_j) on it, ∂_b = 0
    z = X @ result.coef + result.intercept
    d = -labels / (1.0 + np.exp(labels * z)) / X.shape[0]  # mean log-loss's derivative
    grad = np.asarray(X.T @ d)
    on = result.coef != 0
    assert on.any() and np.all(np.abs(grad[~on]) <= lam * (1 + 1e-6))
    assert np.allclose(grad[on], -lam * np.sign(result.coef[on]), rtol=1e-5, atol=1e-9 * lam)
    if fit_intercept:
        assert abs(d.sum()) < 1e-8


@pytest.mark.parametrize("anderson_k", ["auto", 0, 5])
@pytest.mark.parametrize("support_solve", [True, False])
def test_anderson_with_and_without_support_steps_matches_sklearn(anderson_k, support_solve):
    # dense and sparse designs whose support passes support_max when it is set low
    X, y, _ = sparse_text_design(200, 1500, 0.02, seed=7)
    problem = LinearProblem.build(X, y, pz.SquaredError())
    penalty = pz.L1(0.01 * problem.lambda_max())
    result = solve(problem, penalty, anderson_k=anderson_k, support_solve=support_solve, **TIGHT)
    ref = sk.Lasso(alpha=penalty.lam / 2, tol=1e-15, max_iter=10**6).fit(X, y)
    assert result.converged and relative_error(result.coef, ref.coef_) < 1e-6
    if anderson_k == "auto":
        assert result.plan.anderson_k == 5
        assert result.plan.anderson_beyond_support_steps == support_solve


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "1"])
def test_check_balance_rejects_bad_values(bad):
    X, y, _ = sparse_text_design(50, 100, 0.05, seed=0)
    with pytest.raises(ValueError, match="check_balance"):
        solve(LinearProblem.build(X, y, pz.SquaredError()), pz.L1(0.01), check_balance=bad)
