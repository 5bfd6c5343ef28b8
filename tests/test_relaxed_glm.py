"""The relaxed fit beyond squared error (issue 18): the γ = 0 end is the unpenalized refit of the
same data fit on the penalized fit's support, checked against scikit-learn, statsmodels and
lifelines fitted on those columns; γ in between is the mix."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import penalized as pz


def _data(seed=0, n=300, p=10):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:3] = [1.0, -0.8, 0.6]
    return rng, X, X @ w


def test_relaxed_logistic_refit_is_sklearn_unpenalized_on_the_support():
    from sklearn.linear_model import LogisticRegression as SK

    rng, X, eta = _data()
    y = (eta + rng.logistic(size=eta.shape) > 0).astype(int)
    pen = pz.LogisticRegression(penalty=pz.L1(0.03), tol=1e-10).fit(X, y)
    support = pen.coef_[0] != 0
    assert 2 <= support.sum() < X.shape[1]
    ref = SK(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X[:, support], y)
    relaxed0 = pz.RelaxedLogisticRegression(penalty=pz.L1(0.03), gamma=0.0, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(relaxed0.coef_[0, support], ref.coef_[0], atol=1e-6)
    np.testing.assert_allclose(relaxed0.intercept_, ref.intercept_, atol=1e-6)
    assert np.all(relaxed0.coef_[0, ~support] == 0)
    np.testing.assert_allclose(relaxed0.predict_proba(X), ref.predict_proba(X[:, support]), atol=1e-7)
    # γ mixes the two; γ = 1 is the penalized fit
    half = pz.RelaxedLogisticRegression(penalty=pz.L1(0.03), gamma=0.25, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(half.coef_, 0.25 * pen.coef_ + 0.75 * relaxed0.coef_, atol=1e-8)
    np.testing.assert_allclose(half.intercept_, 0.25 * pen.intercept_ + 0.75 * relaxed0.intercept_, atol=1e-8)
    one = pz.RelaxedLogisticRegression(penalty=pz.L1(0.03), gamma=1.0, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(one.coef_, pen.coef_, atol=1e-12)
    np.testing.assert_allclose(one.penalized_coef_, pen.coef_, atol=1e-12)
    # the relaxed refit has the larger (less shrunk) coefficients on the support
    assert np.all(np.abs(relaxed0.coef_[0, support]) >= np.abs(pen.coef_[0, support]) - 1e-9)


def test_relaxed_logistic_sparse_equals_dense_and_weights():
    rng, X, eta = _data(1)
    y = np.where(eta + rng.logistic(size=eta.shape) > 0, "yes", "no")
    sw = rng.uniform(0.5, 2.0, size=len(y))
    dense = pz.RelaxedLogisticRegression(penalty=pz.L1(0.03), gamma=0.0, tol=1e-10).fit(X, y, sample_weight=sw)
    sparse = pz.RelaxedLogisticRegression(penalty=pz.L1(0.03), gamma=0.0, tol=1e-10).fit(
        sp.csr_array(X), y, sample_weight=sw)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-7)
    # KKT of the weighted unpenalized log-loss on the support: the weighted gradient vanishes there
    support = dense.coef_[0] != 0
    s = np.where(y == "yes", 1.0, -1.0)
    z = X @ dense.coef_[0] + dense.intercept_[0]
    g = -(sw * s / (1 + np.exp(s * z)))
    assert np.abs(X[:, support].T @ g).max() < 1e-6 * sw.sum()
    assert abs(g.sum()) < 1e-6 * sw.sum()


def test_relaxed_multinomial_probabilities_are_the_unpenalized_refit():
    from sklearn.linear_model import LogisticRegression as SK

    rng, X, _ = _data(2, n=400, p=8)
    W = np.array([[1.5, 0, 0, -1, 0, 0, 0, 0], [0, 1.2, 0, 0.8, 0, 0, 0, 0], [-1, 0, 0.9, 0, 0, 0, 0, 0]])
    logits = X @ W.T
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in P])
    relaxed = pz.RelaxedLogisticRegression(penalty=pz.L1(0.04), gamma=0.0, tol=1e-10).fit(X, y)
    support = np.any(relaxed.penalized_coef_ != 0, axis=0)
    assert 2 <= support.sum() < X.shape[1]
    ref = SK(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X[:, support], y)
    np.testing.assert_allclose(relaxed.predict_proba(X), ref.predict_proba(X[:, support]), atol=1e-6)
    # the centred representative of the (non-identifiable) softmax coefficients
    np.testing.assert_allclose(relaxed.coef_.sum(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(relaxed.coef_[:, support], ref.coef_ - ref.coef_.mean(axis=0), atol=1e-5)


def test_relaxed_poisson_refit_matches_sklearn_and_statsmodels_with_offset():
    import statsmodels.api as sm
    from sklearn.linear_model import PoissonRegressor as SK

    rng, X, eta = _data(3)
    y = rng.poisson(np.exp(0.5 * eta))
    relaxed = pz.RelaxedPoissonRegressor(penalty=pz.L1(0.05), gamma=0.0, tol=1e-10).fit(X, y)
    support = relaxed.penalized_coef_ != 0
    assert 2 <= support.sum() < X.shape[1]
    ref = SK(alpha=0.0, tol=1e-12, max_iter=1000, solver="newton-cholesky").fit(X[:, support], y)
    np.testing.assert_allclose(relaxed.coef_[support], ref.coef_, atol=1e-6)
    np.testing.assert_allclose(relaxed.intercept_, ref.intercept_, atol=1e-6)
    # with an offset (exposure): statsmodels' GLM on the support, the offset passed through
    off = rng.uniform(-0.5, 0.5, size=len(y))
    y2 = rng.poisson(np.exp(0.5 * eta + off))
    relaxed = pz.RelaxedPoissonRegressor(penalty=pz.L1(0.05), gamma=0.0, tol=1e-10).fit(X, y2, offset=off)
    support = relaxed.penalized_coef_ != 0
    glm = sm.GLM(y2, sm.add_constant(X[:, support]), family=sm.families.Poisson(), offset=off).fit(tol=1e-12)
    np.testing.assert_allclose(relaxed.intercept_, glm.params[0], atol=1e-6)
    np.testing.assert_allclose(relaxed.coef_[support], glm.params[1:], atol=1e-6)
    np.testing.assert_allclose(relaxed.predict(X, offset=off), glm.fittedvalues, rtol=1e-6)


def test_relaxed_cox_refit_is_lifelines_unpenalized_on_the_support():
    pd = pytest.importorskip("pandas")
    lifelines = pytest.importorskip("lifelines")

    rng, X, eta = _data(4, n=200, p=8)
    time = np.round(rng.exponential(np.exp(-eta)), 1) + 0.1  # rounded: tied times
    event = rng.uniform(size=len(time)) < 0.8
    y = np.column_stack([time, event])
    relaxed = pz.RelaxedCoxPH(penalty=pz.L1(0.05), ties="efron", gamma=0.0, tol=1e-10).fit(X, y)
    support = relaxed.penalized_coef_ != 0
    assert 2 <= support.sum() < X.shape[1]
    df = pd.DataFrame(X[:, support], columns=[f"x{j}" for j in range(support.sum())])
    df["T"], df["E"] = time, event.astype(int)
    ref = lifelines.CoxPHFitter(penalizer=0.0).fit(df, "T", "E", fit_options={"precision": 1e-12})
    np.testing.assert_allclose(relaxed.coef_[support], ref.params_.to_numpy(), atol=1e-6)
    half = pz.RelaxedCoxPH(penalty=pz.L1(0.05), ties="efron", gamma=0.5, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(half.coef_, 0.5 * (relaxed.coef_ + relaxed.penalized_coef_), atol=1e-8)
    # the baseline hazard is the relaxed model's (survival curves from the relaxed coefficients)
    assert half.predict_survival_function(X[:3]).shape == (3, half.event_times_.shape[0])
    assert not np.allclose(half.cum_baseline_hazard_, relaxed.cum_baseline_hazard_)


def test_relaxed_refit_on_separated_classes_warns():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(ConvergenceWarning, match="refit"):
        pz.RelaxedLogisticRegression(penalty=pz.L1(0.01), gamma=0.0).fit(X, y)


def test_relaxed_empty_support_is_the_null_model_and_bad_gamma():
    rng, X, eta = _data(6)
    y = rng.poisson(np.exp(0.1 * eta))
    m = pz.RelaxedPoissonRegressor(penalty=pz.L1(100.0), gamma=0.0).fit(X, y)
    assert np.all(m.coef_ == 0)
    np.testing.assert_allclose(m.intercept_, np.log(y.mean()), atol=1e-6)
    for gamma in (-0.1, 1.5, [0.2, 0.3], "a"):
        with pytest.raises((ValueError, TypeError), match="gamma"):
            pz.RelaxedPoissonRegressor(penalty=pz.L1(0.1), gamma=gamma).fit(X, y)


def _separable_check_data(estimator):
    """The checks' classification data are separable: the unpenalized refit has no minimiser and
    stops where its loss is below tol·L(0), at a point that depends on the path to it."""
    if not isinstance(estimator, pz.RelaxedLogisticRegression):
        return {}
    return {name: "separable check data: the unpenalized refit diverges (no minimiser)"
            for name in ("check_sample_weight_equivalence_on_dense_data",
                         "check_sample_weight_equivalence_on_sparse_data")}


@parametrize_with_checks([pz.RelaxedLogisticRegression(penalty=pz.L1(0.01)),
                          pz.RelaxedPoissonRegressor(penalty=pz.L1(0.01))],
                         expected_failed_checks=_separable_check_data)
def test_relaxed_estimators_pass_sklearn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # unpenalized refits of tiny check data separate
        check(estimator)


def test_logistic_cv_relax_refits_at_the_chosen_gamma_and_scores_every_gamma():
    from sklearn.linear_model import LogisticRegression as SK
    from sklearn.model_selection import KFold

    rng, X, eta = _data(7, n=240, p=12)
    y = (eta + rng.logistic(size=eta.shape) > 0).astype(int)
    folds = list(KFold(4, shuffle=True, random_state=0).split(X))
    cv = pz.LogisticRegressionCV(relax=True, n_lambdas=15, cv=folds, tol=1e-8).fit(X, y)
    k = len(cv.lambdas_)  # (the path may stop early, as glmnet's)
    assert k > 8 and cv.cv_mean_.shape == (5, k) and cv.gamma_ in cv.gammas_
    # γ = 1 row: the plain CV's curve on the same folds
    plain = pz.LogisticRegressionCV(n_lambdas=15, cv=folds, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(cv.cv_mean_[-1], plain.cv_mean_, rtol=1e-6)
    # the final model: γ_·w_λ + (1 − γ_)·(sklearn's unpenalized fit on the support of w_λ)
    k = cv.index_min_
    w = cv.path_.coef_at(k)
    support = np.ravel(w) != 0
    ref = SK(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X[:, support], y)
    refit = np.zeros(X.shape[1])
    refit[support] = ref.coef_[0]
    g = cv.gamma_
    np.testing.assert_allclose(cv.coef_[0], g * np.ravel(w) + (1 - g) * refit, atol=1e-6)
    # the held-out deviance at γ = 0 for one fold and λ, recomputed here from sklearn's refit
    train, test = folds[0]
    fold_path = pz.regularization_path(X[train], y[train], penalty="l1",
                                       datafit="logistic", lambdas=cv.lambdas_, tol=1e-8)
    j = 8
    s = fold_path.coefs[:, j] != 0
    r = SK(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X[train][:, s], y[train])
    p1 = r.predict_proba(X[test][:, s])[:, 1]
    dev = -2 * np.mean(np.where(y[test] == 1, np.log(p1), np.log(1 - p1)))
    np.testing.assert_allclose(cv.cv_scores_[0, 0, j], dev, rtol=1e-5)


def test_poisson_cv_relax_with_offset_matches_statsmodels_refit():
    import statsmodels.api as sm

    rng, X, eta = _data(8, n=200, p=10)
    off = rng.uniform(-0.5, 0.5, size=200)
    y = rng.poisson(np.exp(0.5 * eta + off))
    cv = pz.PoissonRegressorCV(relax=True, gamma=[0.0, 0.5, 1.0], n_lambdas=12, cv=4, tol=1e-8).fit(X, y, offset=off)
    assert cv.cv_mean_.shape == (3, len(cv.lambdas_))
    w = cv.path_.coef_at(cv.index_min_ if cv.select == "min" else cv.index_1se_)
    b = cv.path_.intercepts[cv.index_min_]
    support = w != 0
    glm = sm.GLM(y, sm.add_constant(X[:, support]), family=sm.families.Poisson(), offset=off).fit(tol=1e-12)
    g = cv.gamma_
    np.testing.assert_allclose(cv.coef_[support], g * w[support] + (1 - g) * glm.params[1:], atol=1e-6)
    np.testing.assert_allclose(cv.intercept_, g * b + (1 - g) * glm.params[0], atol=1e-6)
    # predict at a λ: the path's relaxed fits at gamma_ (penalized.path_relax), the refit at lam_
    np.testing.assert_allclose(cv.predict(X, lam=cv.lambdas_[cv.index_min_]), cv.predict(X), rtol=1e-6)
    with pytest.raises(ValueError, match="positive= or bounds="):
        pz.PoissonRegressorCV(relax=True, positive=True, n_lambdas=5, cv=3).fit(X, y)


def test_multinomial_cv_relax_final_model_is_the_mix():
    from sklearn.linear_model import LogisticRegression as SK

    rng, X, _ = _data(9, n=300, p=8)
    W = np.array([[1.5, 0, 0, -1, 0, 0, 0, 0], [0, 1.2, 0, 0.8, 0, 0, 0, 0], [-1, 0, 0.9, 0, 0, 0, 0, 0]])
    logits = X @ W.T
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in P])
    # (a γ grid without 1: the final model carries the refit)
    cv = pz.LogisticRegressionCV(relax=True, gamma=[0.0, 0.25], n_lambdas=10, cv=3, tol=1e-8).fit(X, y)
    assert cv.cv_mean_.shape == (2, len(cv.lambdas_)) and np.isfinite(cv.cv_mean_).all() and cv.gamma_ < 1
    k = cv.index_min_
    w = cv.path_.coef_at(k)  # (3, p)
    support = np.any(w != 0, axis=0)
    ref = SK(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X[:, support], y)
    refit = np.zeros_like(w)
    refit[:, support] = ref.coef_ - ref.coef_.mean(axis=0)
    np.testing.assert_allclose(cv.coef_, cv.gamma_ * w + (1 - cv.gamma_) * refit, atol=1e-5)


def test_relaxed_estimators_refuse_dask_input():
    da = pytest.importorskip("dask.array")
    X = da.from_array(np.random.default_rng(0).standard_normal((40, 3)), chunks=20)
    y = da.from_array(np.arange(40) % 2, chunks=20)
    with pytest.raises(NotImplementedError, match="Dask"):
        pz.RelaxedLogisticRegression(penalty=pz.L1(0.01)).fit(X, y)


def test_cox_cv_relax_matches_plain_cv_at_gamma_one_and_refits_with_lifelines():
    pd = pytest.importorskip("pandas")
    lifelines = pytest.importorskip("lifelines")
    from sklearn.model_selection import KFold

    rng, X, eta = _data(10, n=200, p=8)
    time = np.round(rng.exponential(np.exp(-eta)), 1) + 0.1
    event = rng.uniform(size=len(time)) < 0.8
    y = np.column_stack([time, event])
    folds = list(KFold(4, shuffle=True, random_state=1).split(X))
    plain = pz.CoxPHCV(ties="efron", n_lambdas=10, cv=folds, tol=1e-10).fit(X, y)
    cv = pz.CoxPHCV(ties="efron", lambdas=plain.lambdas_, cv=folds, tol=1e-10, relax=True, gamma=[0.0, 0.5, 1.0]).fit(
        X, y)
    assert cv.cv_mean_.shape == (3, len(plain.lambdas_)) and cv.cv_scores_.shape == (4, 3, len(plain.lambdas_))
    np.testing.assert_allclose(cv.cv_mean_[-1], plain.cv_mean_, rtol=1e-6)
    # the relaxed models fit the held-out folds differently (the refit row is not the γ = 1 row)
    assert not np.allclose(cv.cv_mean_[0], cv.cv_mean_[-1])
    k = int(np.flatnonzero(cv.lambdas_ == cv.lam_)[0])
    w = cv.path_.coefs[:, k]
    support = w != 0
    df = pd.DataFrame(X[:, support], columns=[f"x{j}" for j in range(support.sum())])
    df["T"], df["E"] = time, event.astype(int)
    ref = lifelines.CoxPHFitter(penalizer=0.0).fit(df, "T", "E", fit_options={"precision": 1e-12})
    refit = np.zeros(X.shape[1])
    refit[support] = ref.params_.to_numpy()
    np.testing.assert_allclose(cv.coef_, cv.gamma_ * w + (1 - cv.gamma_) * refit, atol=1e-6)
