"""BerHu (reverse Huber, Owen 2007): its prox and conjugate against brute force, the compiled block
against the NumPy reference, fits against L-BFGS-B on a smooth split formulation and against KKT
conditions written here, its duality gap (a true Fenchel gap: an upper bound on the suboptimality),
λ_max and the limits M → ∞ (the lasso) and M → 0 (a ridge)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize, minimize_scalar

import penalized as pz
from penalized.penalties.berhu import berhu_conjugate, berhu_prox, berhu_value
from penalized.solvers import LinearProblem, certificate, solve

TIGHT = dict(tol=1e-12, max_iter=100_000)


class _Compiled:
    """The compiled kernels (numba JIT), loaded on first use (a short repr for hypothesis' reports)."""

    def __getattr__(self, name):
        from penalized.solvers import _loader

        return getattr(_loader.jit(), name)

    def __repr__(self):
        return "compiled kernels"


k = _Compiled()


def make(seed=0, n=120, p=30, logistic=False, rho=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if rho:
        for j in range(1, p):
            X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * X[:, j]
    w = np.zeros(p)
    w[:6] = [3, -2, 1.5, -1, 0.8, 2]
    y = X @ w + 0.5 * rng.standard_normal(n) + 1.0
    if logistic:
        y = np.where(y > np.median(y), 1.0, -1.0)
    return X, y


def one_d_value(u, lam, M):
    """lam·B_M(u) written out here (not the package's formula)."""
    a = abs(u)
    return lam * (a if a <= M else (a * a + M * M) / (2 * M))


# ------------------------------------------------------------------- the 1-D formulas
@settings(max_examples=80, deadline=None, derandomize=True)
@given(x=st.floats(-20, 20), t=st.floats(0.0, 5.0), M=st.floats(0.01, 10.0))
def test_prox_is_the_minimiser(x, t, M):
    z = float(berhu_prox(np.array([x]), t, M)[0])

    def objective(u):
        return 0.5 * (u - x) ** 2 + one_d_value(u, t, M)

    ref = minimize_scalar(objective, bounds=(-abs(x) - 1, abs(x) + 1), method="bounded",
                          options={"xatol": 1e-12})
    grid = np.linspace(-abs(x) - 1, abs(x) + 1, 4001)
    best = min(min(objective(u) for u in grid), ref.fun)
    assert objective(z) <= best + 1e-10
    assert abs(z - ref.x) < 1e-4 * max(1.0, abs(x))  # strongly convex: the minimiser is unique
    if abs(x) <= t:
        assert z == 0.0  # exact zeros


@settings(max_examples=80, deadline=None, derandomize=True)
@given(u=st.floats(-10, 10), lam=st.floats(0.05, 3.0), M=st.floats(0.05, 5.0))
def test_conjugate_is_the_brute_force_sup(u, lam, M):
    # sup_x u·x − lam·B_M(x): attained at |x| ≤ M·|u|/lam (the slope of lam·B_M beyond)
    reach = M * abs(u) / lam + M + 1.0
    grid = np.linspace(-reach, reach, 40001)
    vals = u * grid - lam * np.where(np.abs(grid) <= M, np.abs(grid), (grid**2 + M * M) / (2 * M))
    x0 = grid[np.argmax(vals)]
    fine = minimize_scalar(lambda x: -(u * x - one_d_value(x, lam, M)), bounds=(x0 - reach / 4000, x0 + reach / 4000),
                           method="bounded", options={"xatol": 1e-13})
    brute = max(vals.max(), -fine.fun)
    conj = float(berhu_conjugate(np.array([u]), lam, M)[0])
    assert conj == pytest.approx(brute, abs=1e-8, rel=1e-8)
    # the closed form of the docstring (not the brief's M(|u| − lam)²/(2 lam), which is wrong)
    assert conj == pytest.approx(0.0 if abs(u) <= lam else M * (u * u - lam * lam) / (2 * lam), abs=1e-12)


def test_conjugate_of_weighted_penalty_and_unpenalized_features():
    pen = pz.BerHu(2.0, 0.5, weights=[1.0, 0.0, 3.0])
    assert pen.conjugate(np.array([1.0, 0.0, 6.0])) == 0.0
    assert pen.conjugate(np.array([3.0, 0.0, 0.0])) == pytest.approx(0.5 * (9 - 4) / 4)
    assert pen.conjugate(np.array([0.0, 1e-3, 0.0])) == np.inf


# ------------------------------------------------- the compiled block vs the NumPy reference
def _P(k, lam, M, lo=-np.inf, hi=np.inf):
    P = np.empty((k.N_PEN_ROWS, 1))
    P[0, 0], P[1, 0], P[k.ROW_LO, 0], P[k.ROW_HI, 0] = lam, M, lo, hi
    return P


@settings(max_examples=60, deadline=None, derandomize=True)
@given(x=st.floats(-10, 10), g=st.floats(-10, 10), step=st.floats(0.01, 4.0), lam=st.floats(0.0, 3.0),
       M=st.floats(0.05, 5.0), lo=st.sampled_from([-np.inf, -1.0, 0.0]), hi=st.sampled_from([np.inf, 2.0, 0.0]))
def test_compiled_block_matches_the_reference(x, g, step, lam, M, lo, hi):
    pen = pz.BerHu(lam, M)
    P = _P(k, lam, M, lo, hi)
    code = k.PEN_BERHU
    xa, ga = np.array([x]), np.array([g])
    assert k.pen_value(code, P, 0, x) == pytest.approx(float(pen.value(xa)), rel=1e-12, abs=1e-12)
    free = float(pen.prox(xa, step)[0])
    assert k.pen_prox(code, P, 0, x, step) == pytest.approx(min(max(free, lo), hi), rel=1e-12, abs=1e-12)
    if lo == -np.inf and hi == np.inf:
        assert k.pen_violation(code, P, 0, x, g) == pytest.approx(float(pen.subdiff_distance(xa, ga)[0]),
                                                                  rel=1e-12, abs=1e-12)
    # the gap term r(w) + r*(u) − w·u, with r* from the NumPy reference (no box), and ≥ 0 always
    term = k.pen_gap_term(code, P, 0, x, g, False)
    assert term >= 0.0
    if lo == -np.inf and hi == np.inf and lam > 0:
        ref = float(berhu_value(xa, lam, M)[0] + berhu_conjugate(ga, lam, M)[0]) - x * g
        assert term == pytest.approx(max(ref, 0.0), rel=1e-9, abs=1e-9)
    assert k.pen_convex(code) and k.pen_concavity(code, P, 0) == 0.0
    # the change without cancellation (proximal Newton's line search) is the difference of values
    y = x + step * g / 10
    ref = float(pen.value(np.array([y])) - pen.value(xa))
    assert k.pen_change(code, P, 0, x, y) == pytest.approx(ref, rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(w=st.floats(-5, 5), u=st.floats(-5, 5), l1=st.floats(0.0, 2.0), l2=st.floats(0.0, 2.0),
       lo=st.sampled_from([-np.inf, -1.0, 0.0]), hi=st.sampled_from([np.inf, 2.0, 0.0]))
def test_generic_gap_term_is_the_elastic_net_one(w, u, l1, l2, lo, hi):
    """The generic convex gap term (conjugate maximiser + value) agrees with the elastic net's own
    where the latter's conjugate is finite: one formula, two writings."""
    if not lo <= w <= hi:
        return
    if l2 == 0.0 and ((u > l1 and hi == np.inf) or (u < -l1 and lo == -np.inf)):
        return  # infinite conjugate: the dual scaling keeps u out of there
    P = np.empty((k.N_PEN_ROWS, 1))
    P[0, 0], P[1, 0], P[k.ROW_LO, 0], P[k.ROW_HI, 0] = l1, l2, lo, hi
    assert k.pen_gap_term(k.PEN_ENET, P, 0, w, u, False) == pytest.approx(k.coordinate_gap(w, u, l1, l2, lo, hi),
                                                                   rel=1e-9, abs=1e-9)


# ------------------------------------------------------------------------- fits
def split_reference(X, y, lam, M, logistic=False, weights=None):
    """Independent reference: L-BFGS-B on w = w⁺ − w⁻ ≥ 0 with Σ lam_j (f(w⁺_j) + f(w⁻_j)),
    f(t) = t (t ≤ M), (t² + M²)/(2M) beyond: C¹ and, at a minimiser (min(w⁺, w⁻) = 0), the
    same value as lam_j·B_M(w⁺ − w⁻) (f is increasing with f(0) = 0)."""
    n, p = X.shape
    lam_j = lam * (np.ones(p) if weights is None else np.asarray(weights))

    def f(t):
        return np.where(t <= M, t, (t * t + M * M) / (2 * M)), np.where(t <= M, 1.0, t / M)

    def objective(v):
        wp, wm, b = v[:p], v[p:2 * p], v[-1]
        z = X @ (wp - wm) + b
        if logistic == "poisson":
            loss = np.mean(np.exp(z) - y * z)
            d = (np.exp(z) - y) / n
        elif logistic:
            s = -y * z
            loss = np.mean(np.logaddexp(0, s))
            d = -y / (1 + np.exp(-s)) / n
        else:
            r = z - y
            loss = np.mean(r * r)
            d = 2 * r / n
        gw = X.T @ d
        fp, dp = f(wp)
        fm, dm = f(wm)
        val = loss + lam_j @ (fp + fm)
        grad = np.concatenate([gw + lam_j * dp, -gw + lam_j * dm, [d.sum()]])
        return val, grad

    bounds = [(0, None)] * (2 * p) + [(None, None)]
    res = minimize(objective, np.zeros(2 * p + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                   options=dict(maxiter=100_000, maxfun=200_000, ftol=1e-15, gtol=1e-12))
    return res.x[:p] - res.x[p:2 * p], res.x[-1], res.fun


def primal(X, y, w, b, lam, M, logistic=False):
    z = X @ w + b
    if logistic == "poisson":
        loss = np.mean(np.exp(z) - y * z)
    else:
        loss = np.mean(np.logaddexp(0, -y * z)) if logistic else np.mean((y - z) ** 2)
    return loss + sum(one_d_value(v, lam, M) for v in w)


def kkt_violation(X, y, w, b, lam, M, logistic=False):
    """max_j dist(−∇_j L_data, ∂(lam·B_M)(w_j)) and |∂_b L_data|, written here."""
    n = len(y)
    z = X @ w + b
    if logistic == "poisson":
        d = (np.exp(z) - y) / n
    else:
        d = (-y / (1 + np.exp(y * z)) if logistic else 2 * (z - y)) / n
    g = X.T @ d
    worst = abs(d.sum())
    for gj, wj in zip(g, w, strict=True):
        if wj == 0:
            v = max(abs(gj) - lam, 0.0)
        elif abs(wj) <= M:
            v = abs(gj + lam * np.sign(wj))
        else:
            v = abs(gj + lam * wj / M)
        worst = max(worst, v)
    return worst


@pytest.mark.parametrize(("lam", "M"), [(0.2, 0.5), (0.5, 2.0), (0.05, 0.1)])
def test_linear_regression_matches_the_split_reference(lam, M):
    X, y = make(0, rho=0.6)
    model = pz.LinearRegression(penalty=pz.BerHu(lam, M), **TIGHT).fit(X, y)
    w_ref, b_ref, f_ref = split_reference(X, y, lam, M)
    f = primal(X, y, model.coef_, model.intercept_, lam, M)
    assert f <= f_ref + 1e-10  # at least as low as L-BFGS-B
    assert np.abs(model.coef_ - w_ref).max() < 1e-4
    assert kkt_violation(X, y, model.coef_, model.intercept_, lam, M) < 1e-6
    # both regimes are exercised: exact zeros and coefficients beyond M (the ridge part)
    assert (model.coef_ == 0).any() and (np.abs(model.coef_) > M).any()
    assert model.solver_plan_.certificate == "duality gap"


@pytest.mark.parametrize(("lam", "M"), [(0.02, 0.5), (0.05, 1.0)])
def test_logistic_regression_matches_the_split_reference(lam, M):
    X, y = make(1, logistic=True, rho=0.4)
    model = pz.LogisticRegression(penalty=pz.BerHu(lam, M), **TIGHT).fit(X, y)
    w_ref, b_ref, f_ref = split_reference(X, y, lam, M, logistic=True)
    f = primal(X, y, model.coef_.ravel(), float(np.ravel(model.intercept_)[0]), lam, M, logistic=True)
    assert f <= f_ref + 1e-10
    assert np.abs(model.coef_.ravel() - w_ref).max() < 1e-4
    assert kkt_violation(X, y, model.coef_.ravel(), float(np.ravel(model.intercept_)[0]), lam, M,
                         logistic=True) < 1e-6
    assert (model.coef_ == 0).any()


def test_poisson_matches_the_split_reference():
    rng = np.random.default_rng(11)
    X = 0.4 * rng.standard_normal((200, 12))
    y = rng.poisson(np.exp(X[:, :3] @ np.array([2.0, -1.5, 0.5]) + 0.3)).astype(float)
    lam, M = 0.01, 0.8
    model = pz.PoissonRegressor(penalty=pz.BerHu(lam, M), **TIGHT).fit(X, y)
    w_ref, b_ref, f_ref = split_reference(X, y, lam, M, logistic="poisson")
    assert primal(X, y, model.coef_, model.intercept_, lam, M, "poisson") <= f_ref + 1e-10
    assert np.abs(model.coef_ - w_ref).max() < 1e-4
    assert kkt_violation(X, y, model.coef_, model.intercept_, lam, M, logistic="poisson") < 1e-6
    assert (model.coef_ == 0).any() and (np.abs(model.coef_) > M).any()


@pytest.mark.parametrize("logistic", [False, True])
@pytest.mark.parametrize("tol", [1e-3, 1e-6])
def test_dual_gap_is_a_certificate(logistic, tol):
    X, y = make(2, logistic=logistic, rho=0.5)
    lam, M = (0.03, 0.5) if logistic else (0.3, 1.0)
    est = pz.LogisticRegression if logistic else pz.LinearRegression
    model = est(penalty=pz.BerHu(lam, M), tol=tol).fit(X, y)
    null = float(np.log(2)) if logistic else float(np.var(y))  # L(0) with the intercept fitted
    assert 0.0 <= model.dual_gap_ <= tol * null * (1 + 1e-9) + 1e-12
    # a true gap bounds the suboptimality: P(w) − P* ≤ gap
    exact = est(penalty=pz.BerHu(lam, M), **TIGHT).fit(X, y)
    b, b0 = float(np.ravel(model.intercept_)[0]), float(np.ravel(exact.intercept_)[0])
    sub = (primal(X, y, model.coef_.ravel(), b, lam, M, logistic)
           - primal(X, y, exact.coef_.ravel(), b0, lam, M, logistic))
    assert sub <= model.dual_gap_ + 1e-12


def test_certificate_is_the_fenchel_gap_written_here():
    """At an arbitrary point (no intercept), with θ = −α·∇F and α the largest ≤ 1 keeping α|g_j| ≤ lam
    where |w_j| ≤ M: (1 − α)²·mean(r²) (the data fit's Fenchel-Young term) + Σ_j r(w_j) + r*(−αg_j) +
    α·w_j·g_j, or the same at α = 1 where smaller; both bound P(w) − P*."""
    X, y = make(3)
    lam, M = 0.4, 0.7
    rng = np.random.default_rng(0)
    w = rng.standard_normal(X.shape[1]) * (rng.random(X.shape[1]) < 0.5)
    r = X @ w - y
    g = X.T @ (2 * r) / len(y)
    inner = np.abs(w) <= M
    alpha = min(1.0, float(np.min(lam / np.abs(g[inner]))))
    assert alpha < 1.0

    def gap(al):
        return ((1 - al) ** 2 * np.mean(r * r) + sum(one_d_value(wj, lam, M) for wj in w)
                + float(berhu_conjugate(-al * g, lam, M).sum()) + al * (w @ g))

    cert = certificate(X, y, w, 0.0, datafit=pz.SquaredError(), penalty=pz.BerHu(lam, M), fit_intercept=False)
    assert cert.value == pytest.approx(min(gap(alpha), gap(1.0)), rel=1e-10)
    best = pz.LinearRegression(penalty=pz.BerHu(lam, M), fit_intercept=False, **TIGHT).fit(X, y)
    sub = primal(X, y, w, 0.0, lam, M) - primal(X, y, best.coef_, 0.0, lam, M)
    assert 0.0 < sub <= min(gap(alpha), gap(1.0))
    # and the Gram mode's gap is the same certificate
    problem = LinearProblem.build(X, y, pz.SquaredError(), fit_intercept=False)
    for gram in (True, False):
        res = solve(problem, pz.BerHu(lam, M), gram=gram, tol=1e-10, max_iter=100_000)
        assert res.plan.gram is gram and res.converged and 0.0 <= res.certificate <= 1e-10 * problem.null_loss
        assert np.abs(res.coef - best.coef_).max() < 1e-6


@pytest.mark.parametrize("logistic", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_gap_with_large_m_is_the_lasso_gap(logistic, fit_intercept):
    """Where every |w_j| ≤ M, BerHu is the lasso and so is its certificate, whatever M: the dual
    scaling keeps −α·g_j inside [−lam, lam] for those coordinates (unscaled, BerHu's conjugate, which
    grows as M·(|u| − lam) past lam, would make the gap M/lam times the violation: a loose
    certificate on which proximal Newton stalled)."""
    X, y = make(9, logistic=logistic, rho=0.5)
    lam = 0.03 if logistic else 0.3
    datafit = pz.Logistic() if logistic else pz.SquaredError()
    rng = np.random.default_rng(1)
    w = rng.standard_normal(X.shape[1]) * (rng.random(X.shape[1]) < 0.4)
    b = 0.3 if fit_intercept else 0.0
    lasso = certificate(X, y, w, b, datafit=datafit, penalty=pz.L1(lam), fit_intercept=fit_intercept)
    for M in (1e3, 1e4):
        cert = certificate(X, y, w, b, datafit=datafit, penalty=pz.BerHu(lam, M), fit_intercept=fit_intercept)
        assert cert.value == pytest.approx(lasso.value, rel=1e-9)
        assert cert.objective == pytest.approx(lasso.objective, rel=1e-12)


def test_box_and_weights():
    X, y = make(4)
    c = np.r_[0.0, np.ones(X.shape[1] - 1)]
    pen = pz.BerHu(0.3, 0.5, weights=c)
    model = pz.LinearRegression(penalty=pen, bounds=(-1.0, 2.5), **TIGHT).fit(X, y)
    assert model.coef_.min() >= -1.0 and model.coef_.max() <= 2.5
    assert model.dual_gap_ >= 0.0 and model.dual_gap_ <= 1e-12 * np.var(y) * 10
    # KKT with the box, written here: interior coordinates stationary, at a bound the sign is right
    d = 2 * (X @ model.coef_ + model.intercept_ - y) / len(y)
    g = X.T @ d
    for j, (gj, wj) in enumerate(zip(g, model.coef_, strict=True)):
        lam = 0.3 * c[j]
        slope = (lam * np.sign(wj) if abs(wj) <= 0.5 else lam * wj / 0.5) if wj != 0 else 0.0
        if wj == 2.5:
            assert gj + slope <= 1e-6
        elif wj == -1.0:
            assert gj + slope >= -1e-6
        elif wj == 0:
            assert abs(gj) <= lam + 1e-6
        else:
            assert abs(gj + slope) < 1e-6


@pytest.mark.parametrize("logistic", [False, True])
def test_sparse_equals_dense(logistic):
    import scipy.sparse as sp

    X, y = make(10, logistic=logistic)
    X[np.abs(X) < 0.8] = 0.0
    est = pz.LogisticRegression if logistic else pz.LinearRegression
    pen = pz.BerHu(0.02 if logistic else 0.2, 0.5)
    dense = est(penalty=pen, **TIGHT).fit(X, y)
    sparse = est(penalty=pen, **TIGHT).fit(sp.csc_matrix(X), y)
    assert np.abs(dense.coef_ - sparse.coef_).max() < 1e-8
    null_loss = LinearProblem.build(X, y, pz.Logistic() if logistic else pz.SquaredError()).null_loss
    assert 0.0 <= sparse.dual_gap_ <= TIGHT["tol"] * null_loss


@pytest.mark.parametrize("logistic", [False, True])
def test_interpreted_kernels_agree_with_the_compiled_ones(logistic):
    """The same kernel source run as Python (a fresh install's first tiny fits) and compiled."""
    X, y = make(12, n=40, p=8, logistic=logistic)
    datafit = pz.Logistic() if logistic else pz.SquaredError()
    problem = LinearProblem.build(X, y, datafit, kernels="jit")
    pen = pz.BerHu(0.03 if logistic else 0.3, 0.5)
    compiled = solve(problem, pen, tol=1e-10, max_iter=10_000, gram=False)
    assert compiled.converged and (compiled.coef == 0).any()
    problem_py = LinearProblem.build(X, y, datafit, kernels="python")
    interpreted = solve(problem_py, pen, tol=1e-10, max_iter=10_000, gram=False)
    assert np.abs(compiled.coef - interpreted.coef).max() < 1e-9
    assert interpreted.certificate == pytest.approx(compiled.certificate, rel=1e-3, abs=1e-15)


# ------------------------------------------------------------------- λ_max and limits
def test_lambda_max_gives_zeros_and_path():
    X, y = make(5)
    lmax = pz.lambda_max(X, y, "l1")  # slope lam at zero, as the lasso's
    zero = pz.LinearRegression(penalty=pz.BerHu(lmax * (1 + 1e-9), 0.3)).fit(X, y)
    assert np.all(zero.coef_ == 0)
    assert np.any(pz.LinearRegression(penalty=pz.BerHu(0.95 * lmax, 0.3)).fit(X, y).coef_ != 0)
    path = pz.regularization_path(X, y, pz.BerHu(1.0, 0.3), n_lambdas=12, tol=1e-8, max_iter=100_000)
    assert path.lambdas[0] == pytest.approx(lmax)
    assert path.n_nonzero[0] == 0 and path.converged.all()
    assert np.all(path.dual_gaps >= 0)
    assert np.all(path.dual_gaps <= 1e-8 * np.var(y) * (1 + 1e-9))
    for i in (4, 11):
        single = pz.LinearRegression(penalty=pz.BerHu(path.lambdas[i], 0.3), **TIGHT).fit(X, y)
        assert np.abs(path.coefs[:, i] - single.coef_).max() < 1e-5


def test_large_m_is_the_lasso():
    X, y = make(6)
    lasso = pz.Lasso(lam=0.2, **TIGHT).fit(X, y)
    M = 2.0 * np.abs(lasso.coef_).max()  # every |w_j| ≤ M: the lasso's KKT are BerHu's
    berhu = pz.LinearRegression(penalty=pz.BerHu(0.2, M), **TIGHT).fit(X, y)
    assert np.abs(berhu.coef_ - lasso.coef_).max() < 1e-8
    assert np.array_equal(berhu.coef_ == 0, lasso.coef_ == 0)


def test_small_m_tends_to_ridge():
    """lam = 2·M·mu: lam·B_M(w) = mu(w² + M²) beyond M, 2·M·mu|w| inside → L2(mu) as M → 0."""
    X, y = make(7)
    mu = 0.05
    ridge = pz.Ridge(lam=mu, **TIGHT).fit(X, y)
    errs = []
    for M in (1e-1, 1e-2, 1e-3):
        fit = pz.LinearRegression(penalty=pz.BerHu(2 * M * mu, M), **TIGHT).fit(X, y)
        errs.append(np.abs(fit.coef_ - ridge.coef_).max())
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-2 * np.abs(ridge.coef_).max()


def test_grouping_of_correlated_features():
    """Two identical columns: the lasso may put everything on one; BerHu's ridge part (strictly
    convex beyond M) splits a large effect equally."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal(200)
    X = np.column_stack([x, x, rng.standard_normal((200, 3))])
    y = 4 * x + 0.1 * rng.standard_normal(200)
    lam, M = 0.1, 0.5
    fit = pz.LinearRegression(penalty=pz.BerHu(lam, M), **TIGHT).fit(X, y)
    w0, w1 = fit.coef_[:2]
    assert min(w0, w1) > M
    # With both beyond M, moving along (1, −1) leaves the data fit unchanged and raises the penalty
    # by (lam/M)·t² from the split point (c, c): the certificate bounds the split, |w0 − w1| = 2|t|.
    assert abs(w0 - w1) <= 2 * np.sqrt(fit.dual_gap_ * M / lam)
    assert w0 == pytest.approx(w1, rel=1e-5)


# ------------------------------------------------------------------------- the objects
def test_params_and_bad_input():
    pen = pz.BerHu(0.5, M=2.0)
    assert pen.get_params() == {"lam": 0.5, "M": 2.0, "weights": None}
    assert pen.scaled(2.0) == pz.BerHu(1.0, 2.0)
    assert pen.convex and repr(pen) == "BerHu(lam=0.5, M=2.0)"
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="M must be"):
            pz.BerHu(0.1, bad)
    with pytest.raises(TypeError, match="M must be"):
        pz.BerHu(0.1, "1")
    with pytest.raises(ValueError, match="lam"):
        pz.BerHu(-0.1, 1.0)
    with pytest.raises(TypeError, match="cannot add"):
        pz.BerHu(0.1) + pz.L1(0.1)
    assert "BerHu" in pz.__all__ and pz.BerHu is pz.penalties.BerHu
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    with pytest.raises(ValueError, match="BerHu is not supported with several outputs"):
        pz.LogisticRegression(penalty=pz.BerHu(0.01, 0.5)).fit(X, rng.integers(0, 3, 60))


def test_two_dimensional_y_is_one_fit_per_column():
    X, y = make(13)
    Y = np.column_stack([y, -2 * y + 1])
    both = pz.LinearRegression(penalty=pz.BerHu(0.2, 0.5), **TIGHT).fit(X, Y)
    for t in range(2):
        one = pz.LinearRegression(penalty=pz.BerHu(0.2, 0.5), **TIGHT).fit(X, Y[:, t])
        assert np.abs(both.coef_[t] - one.coef_).max() < 1e-8


def test_torch_formulas_and_regularizer():
    torch = pytest.importorskip("torch")
    pen = pz.BerHu(0.3, 0.5)
    w = np.linspace(-2, 2, 41)
    wt = torch.tensor(w)
    assert float(pen.value(wt)) == pytest.approx(float(pen.value(w)), rel=1e-12)
    assert np.allclose(pen.prox(wt, 0.7).numpy(), pen.prox(w, 0.7), rtol=0, atol=1e-14)
    denom = torch.rand(41, dtype=torch.float64) + 0.5
    z = wt.clone()
    pen.prox_(z, 0.7, denom)
    assert np.allclose(z.numpy(), berhu_prox(w, 0.3 * 0.7 / denom.numpy(), 0.5), atol=1e-14)
    model = torch.nn.Linear(5, 3)
    reg = pz.nn.Regularizer(model, pen)
    expected = float(pen.value(model.weight.detach().double()))
    assert float(reg().detach()) == pytest.approx(expected, rel=1e-5)
    opt = pz.nn.ProxSGD(model.parameters(), lr=1.0, penalty=pz.BerHu(1.0, 0.5))
    model(torch.randn(4, 5)).sum().backward()
    opt.step()
    assert (model.weight == 0).any()


def test_elastic_net_gap_term_does_not_overflow_at_a_tiny_ridge():
    """r*(u) = u²/(4·l2) for l1 = 0 is finite however small l2 is: written with x² it overflowed to a
    reported gap of 0 (found by the generic-gap comparison above)."""
    l2 = 2.5912781159125196e-227
    expected = 1.0 / (4.0 * l2)
    assert k.coordinate_gap(0.0, 1.0, 0.0, l2, -np.inf, np.inf) == pytest.approx(expected, rel=1e-12)
    assert k.plain_coordinate_gap(0.0, 1.0, 0.0, l2) == pytest.approx(expected, rel=1e-12)
