"""Cross-validated λ: glmnet's procedure, the 1-SE rule, and the scikit-learn contract."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV as SkLassoCV
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import penalized as pz
from conftest import correlated_design, relative_error
from penalized.model_selection import cv_statistics, select_lambda

SMALL = dict(n_lambdas=4, cv=3, tol=1e-8, max_iter=10_000)
ESTIMATORS = [
    pz.LassoCV(**SMALL),
    pz.LogisticRegressionCV(eps=1e-2, **SMALL),
    pz.RelaxedLasso(lam=0.01, tol=1e-10, max_iter=10_000),
]
MORE_ESTIMATORS = [
    pz.LassoCV(relax=True, gamma=[0.0, 0.5, 1.0], **SMALL),
    pz.ElasticNetCV(l1_ratio=[0.5, 1.0], **SMALL),
    pz.LogisticRegressionCV(penalty="l2", eps=1e-2, scoring="accuracy", **SMALL),
    pz.PoissonRegressorCV(eps=1e-2, **SMALL),
    pz.MultiTaskLassoCV(**SMALL),
]


def _expected_failures(estimator):
    if isinstance(estimator, pz.RelaxedLasso):
        return {}
    # Repeating a sample (an integer weight) can put its copies in different folds.
    reason = "cross-validation: repeating a sample changes the folds"
    return {f"check_sample_weight_equivalence_on_{kind}_data": reason for kind in ("dense", "sparse")}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        check(estimator)


@pytest.mark.slow
@parametrize_with_checks(MORE_ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible_variants(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        check(estimator)


def regression(n=60, p=30, seed=0):
    rng = np.random.default_rng(seed)
    X = correlated_design(rng, n, p, 0.5)
    y = X[:, :4] @ np.array([2.0, -1.5, 1.0, 0.5]) + rng.normal(size=n)
    return X, y


# -------------------------------------------------------------------- the statistics and the rule
def test_cv_statistics_are_glmnets_weighted_formulas():
    scores = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]])
    weights = np.array([1.0, 1.0, 2.0])
    mean, se = cv_statistics(scores, weights)
    np.testing.assert_allclose(mean, [2.0, 3.5])
    var = np.array([(1 * 1 + 1 * 1 + 0) / 4, (2.25 + 2.25 + 2 * 2.25) / 4])
    np.testing.assert_allclose(se, np.sqrt(var / 2))


def test_one_standard_error_rule():
    mean = np.array([5.0, 3.0, 2.2, 2.0, 2.1, 2.0])
    se = np.array([0.5, 0.4, 0.3, 0.25, 0.3, 0.3])
    (_, k_min), (_, k_1se) = select_lambda(mean, se)
    assert k_min == 3  # ties go to the largest λ (first on a decreasing grid)
    assert k_1se == 2  # largest λ with mean ≤ 2.0 + 0.25
    (_, k_best), (_, k_1se_score) = select_lambda(-mean, se, greater_is_better=True)
    assert (k_best, k_1se_score) == (3, 2)
    # relaxed grid (rows share λ): the 1-SE pick is the largest λ over all rows, then the last row
    two = np.vstack([mean, mean + 0.05])
    (r_min, k_min), (r_1se, k_1se) = select_lambda(two, np.vstack([se, se]))
    assert (r_min, k_min) == (0, 3) and (r_1se, k_1se) == (1, 2)


# ----------------------------------------------------------------------- the glmnet procedure
def test_folds_share_the_full_data_grid_and_scores_are_the_fold_paths():
    X, y = regression()
    folds = list(KFold(4).split(X))
    est = pz.LassoCV(n_lambdas=20, cv=folds, tol=1e-12, max_iter=100_000).fit(X, y)
    full = pz.regularization_path(X, y, n_lambdas=20, tol=1e-12, max_iter=100_000)
    np.testing.assert_allclose(est.lambdas_, full.lambdas)
    for f, (train, test) in enumerate(folds):
        path = pz.regularization_path(X[train], y[train], lambdas=est.lambdas_, tol=1e-12, max_iter=100_000)
        pred = X[test] @ path.coefs + path.intercepts
        np.testing.assert_allclose(est.cv_scores_[f], ((y[test, None] - pred) ** 2).mean(axis=0), rtol=1e-7)
    mean, se = cv_statistics(est.cv_scores_, [len(t) for _, t in folds])
    np.testing.assert_allclose(est.cv_mean_, mean)
    np.testing.assert_allclose(est.cv_std_err_, se)
    np.testing.assert_allclose(est.path_.coefs, full.coefs, rtol=1e-6, atol=1e-10)


def test_agrees_with_scikit_learn_lasso_cv():
    X, y = regression(80, 40, seed=3)
    est = pz.LassoCV(n_lambdas=30, cv=KFold(5), tol=1e-12, max_iter=100_000).fit(X, y)
    ref = SkLassoCV(alphas=est.lambdas_ / 2, cv=KFold(5), tol=1e-13, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(est.cv_scores_.T, ref.mse_path_, rtol=1e-5)
    assert est.lam_min_ == pytest.approx(2 * ref.alpha_)
    assert relative_error(est.coef_, ref.coef_) < 1e-5


def test_selected_lambdas_and_refit():
    X, y = regression()
    est = pz.LassoCV(n_lambdas=40, cv=5, tol=1e-10, max_iter=100_000).fit(X, y)
    assert est.lam_1se_ >= est.lam_min_ and est.lam_ == est.lam_min_
    assert est.lambdas_[est.index_min_] == est.lam_min_ and est.lambdas_[est.index_1se_] == est.lam_1se_
    best = est.cv_mean_[est.index_min_]
    assert best == est.cv_mean_.min()
    assert est.cv_mean_[est.index_1se_] <= best + est.cv_std_err_[est.index_min_]
    assert np.all(est.cv_mean_[: est.index_1se_] > best + est.cv_std_err_[est.index_min_])
    single = pz.Lasso(lam=est.lam_, tol=1e-10, max_iter=100_000).fit(X, y)
    assert relative_error(est.coef_, single.coef_) < 1e-6
    assert est.dual_gap_ <= 1e-10 * np.var(y) * 1.01 and isinstance(est.n_iter_, int)
    one_se = clone(est).set_params(select="1se").fit(X, y)
    assert one_se.lam_ == est.lam_1se_
    assert np.count_nonzero(one_se.coef_) <= np.count_nonzero(est.coef_)


def test_parallel_folds_give_the_same_result():
    X, y = regression()
    serial = pz.LassoCV(n_lambdas=20, cv=4).fit(X, y)
    threads = pz.LassoCV(n_lambdas=20, cv=4, n_jobs=2).fit(X, y)
    with joblib.parallel_backend("threading", n_jobs=2):
        backend = pz.LassoCV(n_lambdas=20, cv=4, n_jobs=-1).fit(X, y)
    for other in (threads, backend):
        np.testing.assert_array_equal(other.cv_scores_, serial.cv_scores_)
        np.testing.assert_array_equal(other.coef_, serial.coef_)


def test_elastic_net_cv_searches_l1_ratio():
    X, y = regression()
    est = pz.ElasticNetCV(l1_ratio=[0.2, 0.6, 1.0], n_lambdas=15, cv=4, tol=1e-10).fit(X, y)
    assert est.lambdas_.shape == est.cv_mean_.shape == (3, 15)
    assert est.cv_scores_.shape == (3, 4, 15)
    # each ratio has its own λ_max = max|g| / ρ
    np.testing.assert_allclose(est.lambdas_[:, 0] * [0.2, 0.6, 1.0], est.lambdas_[2, 0])
    row = [0.2, 0.6, 1.0].index(est.l1_ratio_)
    assert est.cv_mean_[row].min() == est.cv_mean_.min()
    single = pz.ElasticNet(lam=est.lam_, l1_ratio=est.l1_ratio_, tol=1e-10).fit(X, y)
    assert relative_error(est.coef_, single.coef_) < 1e-5
    scalar = pz.ElasticNetCV(l1_ratio=0.6, n_lambdas=15, cv=4).fit(X, y)
    assert scalar.lambdas_.shape == (15,) and scalar.l1_ratio_ == 0.6


def test_logistic_cv_binary_and_multiclass():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 10))
    labels = np.where(X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=120) > 0, "yes", "no")
    est = pz.LogisticRegressionCV(n_lambdas=20, cv=4, tol=1e-8).fit(X, labels)
    assert est.scoring_ == "deviance" and est.coef_.shape == (1, 10)
    assert set(est.selected_features_) >= {"x0", "x1"}
    single = pz.LogisticRegression(penalty=pz.L1(est.lam_), tol=1e-8).fit(X, labels)
    assert relative_error(est.coef_, single.coef_) < 1e-4
    assert est.score(X, labels) > 0.8
    # deviance = 2·log-loss (glmnet bounds the probabilities to [1e-5, 1 − 1e-5]: at most 2e-5 apart here,
    # where no held-out probability of the truth falls below 1e-5)
    half = pz.LogisticRegressionCV(n_lambdas=20, cv=4, tol=1e-8, scoring="log_loss").fit(X, labels)
    np.testing.assert_allclose(2 * half.cv_mean_, est.cv_mean_, rtol=0, atol=2e-5)
    auc = pz.LogisticRegressionCV(n_lambdas=20, cv=4, scoring="roc_auc").fit(X, labels)
    assert auc.greater_is_better_ and auc.cv_mean_.max() > 0.85
    three = np.digitize(X[:, 0] + 0.3 * rng.normal(size=120), [-0.5, 0.5])
    multi = pz.LogisticRegressionCV(n_lambdas=10, cv=3, eps=1e-2, tol=1e-8, max_iter=10_000).fit(X, three)
    assert multi.coef_.shape == (3, 10) and multi.path_.coefs.shape == (3, 10, 10) and multi.score(X, three) > 0.7
    # more than two classes: the multinomial model, as LogisticRegression fits it
    single = pz.LogisticRegression(penalty=pz.L1(multi.lam_), tol=1e-8, max_iter=10_000).fit(X, three)
    assert relative_error(multi.coef_, single.coef_) < 1e-4


def test_custom_callable_scorer_and_errors():
    X, y = regression()

    def neg_max_error(estimator, X, y):
        return -np.max(np.abs(estimator.predict(X) - y))

    est = pz.LassoCV(n_lambdas=10, cv=3, scoring=neg_max_error).fit(X, y)
    assert est.greater_is_better_ and est.scoring_ == "neg_max_error"
    r2 = pz.LassoCV(n_lambdas=10, cv=3, scoring="r2").fit(X, y)
    assert r2.cv_mean_.max() > 0.5
    with pytest.raises(ValueError, match="scoring='log_loss' does not apply to a regressor"):
        pz.LassoCV(scoring="log_loss").fit(X, y)
    with pytest.raises(ValueError, match="neither one of"):
        pz.LassoCV(scoring="not-a-metric").fit(X, y)


def test_relaxed_lasso_cv():
    X, y = regression(80, 40, seed=5)
    est = pz.LassoCV(relax=True, n_lambdas=20, cv=4, tol=1e-10).fit(X, y)
    np.testing.assert_array_equal(est.gammas_, [0, 0.25, 0.5, 0.75, 1])
    k = len(est.lambdas_)  # the grid, cut where the full path's deviance ratio stops changing
    assert est.cv_mean_.shape == (5, k) and est.cv_scores_.shape == (4, 5, k)
    plain = pz.LassoCV(n_lambdas=20, cv=4, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(est.cv_mean_[-1], plain.cv_mean_)  # γ = 1 is the lasso
    assert est.cv_mean_.min() <= plain.cv_mean_.min()
    ref = pz.RelaxedLasso(lam=est.lam_, gamma=est.gamma_, tol=1e-10).fit(X, y)
    assert relative_error(est.coef_, ref.coef_) < 1e-6


def test_convergence_warning_is_consolidated():
    X, y = regression(30, 60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pz.LassoCV(n_lambdas=10, cv=3, tol=1e-14, max_iter=2).fit(X, y)
    messages = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 1 and "LassoCV" in str(messages[0].message)


# -------------------------------------------------------------------------------- ecosystem
def test_pipeline_grid_search_clone_pickle_names():
    X, y = regression()
    frame = pd.DataFrame(X, columns=[f"gene{j}" for j in range(X.shape[1])])
    pipe = make_pipeline(StandardScaler(), pz.LassoCV(n_lambdas=10, cv=3)).fit(frame, y)
    assert pipe.score(frame, y) > 0.7
    est = pz.LassoCV(n_lambdas=10, cv=3).fit(frame, y)
    np.testing.assert_array_equal(est.feature_names_in_, frame.columns)
    assert set(est.selected_features_) >= {"gene0", "gene1"}
    np.testing.assert_array_equal(est.get_support(indices=True), np.flatnonzero(est.coef_))
    search = GridSearchCV(pz.ElasticNetCV(n_lambdas=8, cv=3, max_iter=10_000), {"l1_ratio": [0.5, 1.0]},
                          cv=3).fit(X, y)
    assert search.best_params_["l1_ratio"] in (0.5, 1.0)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(frame), est.predict(frame))
    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "coef_")


def test_stratified_splitter_and_plot(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(6)
    X = rng.normal(size=(60, 5))
    labels = np.where(X[:, 0] > 0, 1, 0)
    est = pz.LogisticRegressionCV(n_lambdas=10, cv=StratifiedKFold(3, shuffle=True, random_state=0)).fit(
        X, labels)
    ax = est.plot()
    assert any("λ_min" in t.get_text() for t in ax.get_legend().get_texts())
    X2, y2 = regression()
    ax = pz.LassoCV(relax=True, n_lambdas=10, cv=3).fit(X2, y2).plot()
    ax.figure.savefig(tmp_path / "cv.png")
    ax = pz.ElasticNetCV(l1_ratio=[0.5, 1], n_lambdas=10, cv=3).fit(X2, y2).plot()
    assert len(ax.lines) >= 2
