"""The Cox model (pz.Cox, CoxPH, CoxPHCV, regularization_path(datafit="cox")) against
scikit-survival (Breslow), lifelines (Efron), a naive O(n²) partial likelihood and KKT conditions
computed here."""

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz

sksurv = pytest.importorskip("sksurv")
from sksurv.column import encode_categorical  # noqa: E402
from sksurv.datasets import load_veterans_lung_cancer, load_whas500  # noqa: E402
from sksurv.linear_model import CoxnetSurvivalAnalysis  # noqa: E402
from sksurv.metrics import concordance_index_censored  # noqa: E402


def _standardized(X):
    X = encode_categorical(X).to_numpy().astype(float)
    return (X - X.mean(0)) / X.std(0)


@pytest.fixture(scope="module")
def whas():
    X, y = load_whas500()  # 500 patients, 395 distinct times: tied event times
    return _standardized(X), y


@pytest.fixture(scope="module")
def veterans():
    X, y = load_veterans_lung_cancer()
    return _standardized(X), y


def naive_log_pl(eta, time, event, s, ties):
    """The weighted partial likelihood written out pair by pair (O(n²))."""
    total = 0.0
    for t in np.unique(time[event]):
        dead = event & (time == t)
        risk = time >= t
        d, D = dead.sum(), s[dead].sum()
        total += s[dead] @ eta[dead]
        S = s[risk] @ np.exp(eta[risk])
        if ties == "breslow":
            total -= D * np.log(S)
        else:
            E = s[dead] @ np.exp(eta[dead])
            total -= D / d * sum(np.log(S - l / d * E) for l in range(d))
    return total


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_value_gradient_curvature_against_naive_formulas(ties):
    rng = np.random.default_rng(0)
    n = 40
    time = rng.integers(1, 12, n).astype(float)  # many ties
    event = rng.random(n) < 0.7
    s = rng.uniform(0.5, 2.0, n)
    eta = rng.standard_normal(n)
    y = np.column_stack([time, event])
    bound = pz.Cox(ties).bind(y, s)
    assert bound.value(eta) == pytest.approx(-naive_log_pl(eta, time, event, s, ties) / s.sum(), rel=1e-12)
    eps = 1e-6
    for i in range(0, n, 7):
        e = np.zeros(n)
        e[i] = eps
        num_g = (bound.value(eta + e) - bound.value(eta - e)) / (2 * eps)
        num_h = (bound.gradient(eta + e)[i] - bound.gradient(eta - e)[i]) / (2 * eps)
        assert bound.gradient(eta)[i] == pytest.approx(num_g, rel=1e-6, abs=1e-10)
        assert bound.curvature(eta)[i] == pytest.approx(num_h, rel=1e-5, abs=1e-10)


def _l1l2_kkt(X, y, coef, l1, l2, ties="breslow"):
    """max_j of the KKT violation of −(1/n)log PL + l1‖w‖₁ + l2‖w‖², gradient from the naive formula."""
    time, event = y["lenfol"] if "lenfol" in y.dtype.names else y[y.dtype.names[1]], y[y.dtype.names[0]]
    eta = X @ coef
    n, eps = len(eta), 1e-6
    s = np.ones(n)
    # the gradient in w by central differences of the naive partial likelihood along each column
    grad = np.array([-(naive_log_pl(eta + eps * X[:, j], time, event, s, ties)
                       - naive_log_pl(eta - eps * X[:, j], time, event, s, ties)) / (2 * eps * n)
                     for j in range(X.shape[1])])
    g = grad + 2 * l2 * coef
    viol = np.where(coef != 0, np.abs(g + l1 * np.sign(coef)), np.maximum(np.abs(g) - l1, 0.0))
    return viol.max()


@pytest.mark.parametrize("a, r", [(0.05, 0.7), (0.01, 1.0), (0.1, 0.3)])
def test_matches_scikit_survival_coxnet(whas, a, r):
    """CoxnetSurvivalAnalysis(alphas=[a], l1_ratio=r) == L1L2(l1=a·r, l2=a·(1−r)/2) on Cox()."""
    X, y = whas
    ref = CoxnetSurvivalAnalysis(alphas=[a], l1_ratio=r, tol=1e-12, max_iter=200000).fit(X, y).coef_[:, 0]
    model = pz.CoxPH(pz.L1L2(l1=a * r, l2=a * (1 - r) / 2), tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref, atol=1e-5)
    assert np.array_equal(model.coef_ != 0, np.abs(ref) > 1e-8)
    assert _l1l2_kkt(X, y, model.coef_, a * r, a * (1 - r) / 2) < 1e-5  # (central differences: ~1e-7)
    assert 0 <= model.dual_gap_ < 1e-8


def test_unpenalized_efron_matches_lifelines(veterans):
    lifelines = pytest.importorskip("lifelines")
    import pandas as pd

    X, y = veterans
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    frame["T"], frame["E"] = y["Survival_in_days"], y["Status"].astype(int)
    ref = lifelines.CoxPHFitter(penalizer=0.0).fit(frame, "T", "E")  # Efron ties
    model = pz.CoxPH(ties="efron", tol=1e-12).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref.params_.to_numpy(), atol=5e-5)
    bound = pz.Cox("efron").bind(y)
    # the gap is lifelines' (its own gradient is 1e-5 from zero): ours is the more stationary point
    ours, theirs = (np.abs(X.T @ bound.gradient(X @ c)).max() for c in (model.coef_, ref.params_.to_numpy()))
    assert ours < 1e-6 and ours < theirs
    n = X.shape[0]
    assert -n * pz.Cox("efron").value(y, X @ model.coef_) == pytest.approx(ref.log_likelihood_, rel=1e-8)


def test_dense_equals_sparse_and_structured_equals_two_columns(whas):
    X, y = whas
    pen = pz.L1(0.02)
    dense = pz.CoxPH(pen, ties="efron", tol=1e-9).fit(X, y)
    two_cols = np.column_stack([y["lenfol"], y["fstat"]])
    sparse = pz.CoxPH(pen, ties="efron", tol=1e-9).fit(sp.csr_matrix(X), two_cols)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-8)


def test_score_and_survival_function_match_scikit_survival(whas):
    X, y = whas
    a = 0.05
    ref = CoxnetSurvivalAnalysis(alphas=[a], l1_ratio=1.0, tol=1e-12, fit_baseline_model=True).fit(X, y)
    model = pz.CoxPH(pz.L1(a), tol=1e-10).fit(X, y)
    c_ref = concordance_index_censored(y["fstat"], y["lenfol"], ref.predict(X))[0]
    assert model.score(X, y) == pytest.approx(c_ref, abs=1e-6)
    times = np.array([5.0, 100.0, 700.0, 1500.0])
    ours = model.predict_survival_function(X[:5], times)
    theirs = np.array([[fn(t) for t in times] for fn in ref.predict_survival_function(X[:5])])
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_offset_and_integer_weights(whas):
    X, y = whas
    free = pz.CoxPH(tol=1e-12).fit(X, y)
    shifted = pz.CoxPH(tol=1e-12).fit(X, y, offset=0.3 * X[:, 0])
    bound = pz.Cox().bind(y)
    assert np.abs(X.T @ bound.gradient(X @ shifted.coef_ + 0.3 * X[:, 0])).max() < 1e-6  # stationary
    # (unpenalized and correlated columns: a gradient of 1e-7 leaves coefficients ~1e-6 apart)
    np.testing.assert_allclose(shifted.coef_[0], free.coef_[0] - 0.3, atol=1e-5)
    np.testing.assert_allclose(shifted.coef_[1:], free.coef_[1:], atol=1e-5)
    rng = np.random.default_rng(1)
    reps = rng.integers(1, 4, X.shape[0])
    rows = np.repeat(np.arange(X.shape[0]), reps)
    weighted = pz.CoxPH(pz.L1(0.02), tol=1e-12).fit(X, y, sample_weight=reps.astype(float))
    repeated = pz.CoxPH(pz.L1(0.02), tol=1e-12).fit(X[rows], y[rows])
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-6)


@pytest.mark.parametrize("penalty", [pz.MCP(0.05, gamma=3.0), pz.SCAD(0.05),
                                     pz.GroupL1(0.15, groups=np.arange(14) // 2)])
def test_other_penalties_reach_stationarity(whas, penalty):
    X, y = whas
    model = pz.CoxPH(penalty, tol=1e-12).fit(X, y)
    grad = X.T @ pz.Cox().bind(y).gradient(X @ model.coef_)
    if isinstance(penalty, pz.GroupL1):
        labels = np.arange(14) // 2
        for g in range(7):
            wg, gg = model.coef_[labels == g], grad[labels == g]
            if np.any(wg):
                np.testing.assert_allclose(gg, -penalty.lam * wg / np.linalg.norm(wg), atol=1e-5)
            else:
                assert np.linalg.norm(gg) <= penalty.lam + 1e-6
    else:
        dist = penalty.subdiff_distance(model.coef_, grad)
        assert np.max(dist) < 1e-5
    assert np.count_nonzero(model.coef_) < X.shape[1]


def test_positive_bounds_kkt(whas):
    X, y = whas
    model = pz.CoxPH(pz.L1(0.01), positive=True, tol=1e-10).fit(X, y)
    assert np.all(model.coef_ >= 0)
    grad = X.T @ pz.Cox().bind(y).gradient(X @ model.coef_)
    on = model.coef_ > 0
    np.testing.assert_allclose(grad[on], -0.01, atol=1e-6)
    assert np.all(grad[~on] >= -0.01 - 1e-6)  # moving up from 0 does not pay


def test_path_points_equal_single_fits_and_start_at_zero(whas):
    X, y = whas
    path = pz.regularization_path(X, y, penalty="elasticnet", l1_ratio=0.5, datafit="cox", n_lambdas=15,
                                  tol=1e-9)
    assert np.all(path.coefs[:, 0] == 0) and np.any(path.coefs[:, 1])
    assert path.converged.all() and np.all(path.dual_gaps <= path.thresholds)
    for k in (3, 10):
        lam = path.lambdas[k]
        single = pz.CoxPH(pz.L1L2(l1=lam * 0.5, l2=lam * 0.25), tol=1e-9).fit(X, y)
        np.testing.assert_allclose(path.coefs[:, k], single.coef_, atol=1e-5)
    ref = CoxnetSurvivalAnalysis(alphas=path.lambdas[5:6], l1_ratio=0.5, tol=1e-12).fit(X, y).coef_[:, 0]
    np.testing.assert_allclose(path.coefs[:, 5], ref, atol=1e-5)


@pytest.mark.parametrize("penalty", ["mcp", "scad", pz.GroupL1(1.0, groups=np.arange(14) // 2)])
def test_path_other_penalties(whas, penalty):
    X, y = whas
    path = pz.regularization_path(X, y, penalty=penalty, datafit=pz.Cox("efron"), n_lambdas=8, tol=1e-8)
    assert path.converged.all()
    assert path.n_nonzero[0] == 0 and path.n_nonzero[-1] > 0


@pytest.mark.parametrize("scoring", ["deviance", "C"])
def test_cv_selects_on_the_grid_and_refits(whas, scoring):
    X, y = whas
    cv = pz.CoxPHCV(n_lambdas=12, cv=3, scoring=scoring, tol=1e-8).fit(X, y)
    assert cv.lam_min_ in cv.lambdas_ and cv.lam_1se_ >= cv.lam_min_
    k = int(np.flatnonzero(cv.lambdas_ == cv.lam_min_)[0])
    better = np.argmin if scoring == "deviance" else np.argmax
    assert better(cv.cv_mean_) == k
    single = pz.CoxPH(pz.L1(cv.lam_), tol=1e-8).fit(X, y)
    np.testing.assert_allclose(cv.coef_, single.coef_, atol=1e-5)


def test_cv_deviance_is_glmnets_grouped_deviance(whas):
    """Fold k's score: D(β₋ₖ; all) − D(β₋ₖ; without k), per event of the fold (computed here naively)."""
    X, y = whas
    from sklearn.model_selection import KFold

    grid = np.array([0.05, 0.02])
    cv = pz.CoxPHCV(lambdas=grid, cv=KFold(3), tol=1e-10).fit(X, y)
    time, event = y["lenfol"], y["fstat"]
    for f, (train, test) in enumerate(KFold(3).split(X)):
        beta = pz.CoxPH(pz.L1(grid[1]), tol=1e-10).fit(X[train], y[train]).coef_
        full = -2 * naive_log_pl(X @ beta, time, event, np.ones(len(time)), "breslow")
        part = -2 * naive_log_pl(X[train] @ beta, time[train], event[train], np.ones(len(train)), "breslow")
        # (the saturated terms cancel only partly: add them as glmnet does)
        sat = pz.Cox().bind(y).saturated * len(time) * 2 - pz.Cox().bind(y[train]).saturated * len(train) * 2
        expected = (full - part - sat) / event[test].sum()
        assert cv.cv_scores_[1, f] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("y, match", [
    (np.column_stack([np.r_[-1.0, np.ones(9)], np.ones(10)]), "times must be finite and >= 0"),
    (np.column_stack([np.ones(10), np.r_[2.0, np.ones(9)]]), "event indicator must be 0/1"),
    (np.column_stack([np.arange(1.0, 11.0), np.zeros(10)]), "censored"),
    (np.ones(10), "structured array"),
])
def test_bad_survival_targets(y, match):
    X = np.random.default_rng(0).standard_normal((10, 2))
    with pytest.raises(ValueError, match=match):
        pz.CoxPH(pz.L1(0.1)).fit(X, y)


def test_bad_ties_and_penalty():
    with pytest.raises(ValueError, match="ties"):
        pz.Cox("exact")
    X = np.random.default_rng(0).standard_normal((10, 2))
    y = np.column_stack([np.arange(1.0, 11.0), np.ones(10)])
    with pytest.raises(TypeError, match="penalty"):
        pz.CoxPH(penalty=0.1).fit(X, y)


def test_standardize_is_the_fit_on_scaled_columns(whas):
    X, y = whas
    X = X * np.linspace(0.5, 5.0, X.shape[1]) + 3.0  # columns of other scales, not centred
    sd = X.std(0)
    ours = pz.CoxPH(pz.L1(0.03), standardize=True, tol=1e-12).fit(X, y)
    by_hand = pz.CoxPH(pz.L1(0.03), tol=1e-12).fit(X / sd, y)
    np.testing.assert_allclose(ours.coef_, by_hand.coef_ / sd, atol=1e-7)
    ref = CoxnetSurvivalAnalysis(alphas=[0.03], l1_ratio=1.0, tol=1e-12).fit(X / sd, y).coef_[:, 0]
    np.testing.assert_allclose(ours.coef_ * sd, ref, atol=1e-5)


def test_path_dense_equals_sparse(whas):
    X, y = whas
    dense = pz.regularization_path(X, y, datafit="cox", n_lambdas=10, tol=1e-10)
    sparse = pz.regularization_path(sp.csc_matrix(X), y, datafit="cox", n_lambdas=10, tol=1e-10)
    np.testing.assert_allclose(sparse.lambdas, dense.lambdas, rtol=1e-12)
    np.testing.assert_allclose(sparse.coefs, dense.coefs, atol=1e-7)


def test_cv_predicts_at_min_1se_and_between_grid_points_without_refitting(whas):
    X, y = whas
    cv = pz.CoxPHCV(n_lambdas=12, cv=3, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(cv.predict(X, lam="min"), cv.predict(X))  # select="min": the refit
    # at λ_1se: the path's point, which is the single fit at that λ (an independent solve)
    single = pz.CoxPH(pz.L1(cv.lam_1se_), tol=1e-8).fit(X, y)
    np.testing.assert_allclose(cv.predict(X, lam="1se"), single.predict(X), atol=1e-4)
    # between two grid points: linear in λ, as glmnet's predict(cvfit, s=)
    grid, coefs = cv.path_.lambdas, cv.path_.coefs
    lam = 0.25 * grid[3] + 0.75 * grid[4]
    expected = X @ (0.25 * coefs[:, 3] + 0.75 * coefs[:, 4])
    np.testing.assert_allclose(cv.predict(X, lam=lam), expected, rtol=1e-10, atol=1e-12)
    for bad in ("best", -1.0, np.nan, True):
        with pytest.raises(ValueError, match="lam must be"):
            cv.predict(X, lam=bad)
