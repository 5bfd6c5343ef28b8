"""Relaxed regularization paths (issue 18, items 3 and 5; glmnet's ``relax=TRUE``): every point's
refit is the unpenalized fit on its support, computed here with scikit-learn / lifelines on the
support's columns; ``gamma`` mixes; predictions at grid λ are ``X·coef + b``."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor

import penalized as pz


def _data(seed=0, n=200, p=8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    eta = X[:, :3] @ np.array([0.8, -0.6, 0.4])
    return rng, X, eta


def _supports(path):
    """Indices of the points with a non-empty support, and distinct supports first."""
    seen, points = set(), []
    for k in range(len(path)):
        s = path.coefs[:, k] != 0
        if s.any() and s.tobytes() not in seen:
            seen.add(s.tobytes())
            points.append(k)
    return points


def test_squared_error_points_are_least_squares_on_the_support_dense_and_sparse():
    rng, X, eta = _data(0, n=100, p=12)
    y = eta + 0.5 * rng.standard_normal(100)
    w = rng.uniform(0.5, 2.0, 100)
    path = pz.regularization_path(X, y, relax=True, n_lambdas=30, sample_weight=w, tol=1e-8)
    spath = pz.regularization_path(sp.csc_array(X), y, relax=True, n_lambdas=30, sample_weight=w, tol=1e-8)
    points = _supports(path)
    assert len(points) >= 4
    for k in range(len(path)):
        s = path.coefs[:, k] != 0
        R, b = path.relaxed.coefs[:, k], path.relaxed.intercepts[k]
        assert np.all(R[~s] == 0)
        if s.any():
            ref = LinearRegression().fit(X[:, s], y, sample_weight=w)
            np.testing.assert_allclose(R[s], ref.coef_, atol=1e-9)
            np.testing.assert_allclose(b, ref.intercept_, atol=1e-9)
        else:
            assert b == pytest.approx(np.average(y, weights=w))
        np.testing.assert_allclose(spath.relaxed.coefs[:, k], R, atol=1e-9)
    # train_loss of the refits: the weighted mean squared error, below the lasso's
    res = y[:, None] - (X @ path.relaxed.coefs + path.relaxed.intercepts)
    np.testing.assert_allclose(path.relaxed.train_loss, np.average(res ** 2, axis=0, weights=w), rtol=1e-10)
    assert np.all(path.relaxed.train_loss <= path.train_loss + 1e-12)


def test_logistic_points_are_unpenalized_logistic_on_the_support():
    rng, X, eta = _data(1, n=300, p=8)
    y = np.where(rng.uniform(size=300) < 1 / (1 + np.exp(-eta)), "yes", "no")
    path = pz.regularization_path(X, y, datafit="logistic", relax=True, n_lambdas=25)
    points = _supports(path)
    assert len(points) >= 3
    for k in points:
        s = path.coefs[:, k] != 0
        ref = LogisticRegression(penalty=None, tol=1e-12, max_iter=10000).fit(X[:, s], y)
        assert list(ref.classes_) == list(path.classes)
        np.testing.assert_allclose(path.relaxed.coefs[s, k], ref.coef_[0], atol=1e-5)
        np.testing.assert_allclose(path.relaxed.intercepts[k], ref.intercept_[0], atol=1e-5)
        assert np.all(path.relaxed.coefs[~s, k] == 0)
    assert path.relaxed.converged.all()


def test_poisson_points_with_offset_are_poisson_regressor_on_the_support():
    rng, X, eta = _data(2, n=300, p=8)
    y = rng.poisson(np.exp(0.3 + 0.5 * eta))
    w = rng.uniform(0.5, 2.0, 300)
    path = pz.regularization_path(X, y, datafit="poisson", relax=True, n_lambdas=25, sample_weight=w)
    points = _supports(path)
    assert len(points) >= 3
    for k in points:
        s = path.coefs[:, k] != 0
        ref = PoissonRegressor(alpha=0.0, tol=1e-12, max_iter=10000).fit(X[:, s], y, sample_weight=w)
        np.testing.assert_allclose(path.relaxed.coefs[s, k], ref.coef_, atol=1e-5)
        np.testing.assert_allclose(path.relaxed.intercepts[k], ref.intercept_, atol=1e-5)


def test_identical_supports_share_one_refit():
    rng, X, eta = _data(3, n=100, p=6)
    y = eta + 0.3 * rng.standard_normal(100)
    path = pz.regularization_path(X, y, relax=True, n_lambdas=40)
    keys = [(path.coefs[:, k] != 0).tobytes() for k in range(len(path))]
    for k in range(1, len(path)):
        if keys[k] == keys[k - 1]:
            np.testing.assert_array_equal(path.relaxed.coefs[:, k], path.relaxed.coefs[:, k - 1])
    assert len(set(keys)) < len(path)


def test_gamma_one_is_the_lasso_path_and_gamma_mixes():
    rng, X, eta = _data(4, n=150, p=10)
    y = eta + 0.5 * rng.standard_normal(150)
    path = pz.regularization_path(X, y, relax=True, n_lambdas=20)
    plain = pz.regularization_path(X, y, n_lambdas=20)
    np.testing.assert_array_equal(path.coefs, plain.coefs)
    np.testing.assert_array_equal(path.predict(X, gamma=1.0), plain.predict(X))
    np.testing.assert_array_equal(path.predict(X), plain.predict(X))
    for g in (0.0, 0.3):
        C = g * path.coefs + (1 - g) * path.relaxed.coefs
        B = g * path.intercepts + (1 - g) * path.relaxed.intercepts
        np.testing.assert_allclose(path.predict(X, gamma=g), X @ C + B, atol=1e-12)
        for k in (3, 11):  # a grid λ: that point's relaxed fit, exactly X·coef + b
            np.testing.assert_allclose(path.predict(X, path.lambdas[k], gamma=g), X @ C[:, k] + B[k], atol=1e-12)
            coef, b = path.interpolate(path.lambdas[k], gamma=g)
            np.testing.assert_allclose(coef, C[:, k], atol=1e-14)
    # relax=True alone is gamma = 0 (the refits)
    np.testing.assert_array_equal(path.predict(X, relax=True), path.predict(X, gamma=0.0))
    # between grid points: both fits interpolated linearly in λ, then mixed
    s = 0.4 * path.lambdas[5] + 0.6 * path.lambdas[6]
    C = 0.3 * path.coefs + 0.7 * path.relaxed.coefs
    B = 0.3 * path.intercepts + 0.7 * path.relaxed.intercepts
    expect = X @ (0.4 * C[:, 5] + 0.6 * C[:, 6]) + 0.4 * B[5] + 0.6 * B[6]
    np.testing.assert_allclose(path.predict(X, s, gamma=0.3), expect, atol=1e-10)


def test_logistic_response_from_the_relaxed_path():
    rng, X, eta = _data(5, n=200, p=6)
    y = (rng.uniform(size=200) < 1 / (1 + np.exp(-eta))).astype(int)
    path = pz.regularization_path(X, y, datafit="logistic", relax=True, n_lambdas=15)
    k = 8
    z = X @ path.relaxed.coefs[:, k] + path.relaxed.intercepts[k]
    np.testing.assert_allclose(path.predict(X, path.lambdas[k], relax=True, type="response"),
                               1 / (1 + np.exp(-z)), atol=1e-12)


def test_multinomial_refit_is_centred_and_matches_sklearn_probabilities():
    rng, X, eta = _data(6, n=300, p=6)
    y = np.digitize(eta + 0.5 * rng.standard_normal(300), [-0.5, 0.5])
    path = pz.regularization_path(X, y, datafit="multinomial", relax=True, n_lambdas=15)
    k = 10
    s = np.any(path.coefs[:, :, k] != 0, axis=0)
    assert s.any()
    ref = LogisticRegression(penalty=None, tol=1e-12, max_iter=10000).fit(X[:, s], y)
    np.testing.assert_allclose(path.predict(X, path.lambdas[k], relax=True, type="response"),
                               ref.predict_proba(X[:, s]), atol=1e-5)
    np.testing.assert_allclose(path.relaxed.coefs[:, :, k].sum(axis=0), 0, atol=1e-10)


def test_cox_points_are_lifelines_unpenalized_on_the_support():
    pd = pytest.importorskip("pandas")
    lifelines = pytest.importorskip("lifelines")
    rng, X, eta = _data(7, n=200, p=6)
    time = np.round(rng.exponential(np.exp(-eta)), 1) + 0.1  # rounded: tied times
    event = rng.uniform(size=200) < 0.8
    y = np.column_stack([time, event])
    path = pz.regularization_path(X, y, datafit=pz.Cox(ties="efron"), relax=True, n_lambdas=15)
    points = _supports(path)
    assert len(points) >= 2
    for k in points[:3]:
        s = path.coefs[:, k] != 0
        df = pd.DataFrame(X[:, s], columns=[f"x{j}" for j in range(s.sum())])
        df["T"], df["E"] = time, event.astype(int)
        ref = lifelines.CoxPHFitter(penalizer=0.0).fit(df, "T", "E", fit_options={"precision": 1e-12})
        np.testing.assert_allclose(path.relaxed.coefs[s, k], ref.params_.to_numpy(), atol=1e-6)


def test_separated_classes_warn():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(ConvergenceWarning, match="refit"):
        pz.regularization_path(X, y, datafit="logistic", relax=True, n_lambdas=10, eps=1e-2)


def test_bad_input():
    rng, X, eta = _data(9, n=50, p=4)
    y = eta + rng.standard_normal(50)
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match="relax"):
            pz.regularization_path(X, y, relax=bad, n_lambdas=5)
    with pytest.raises(ValueError, match="bounds"):
        pz.regularization_path(X, y, relax=True, positive=True, n_lambdas=5)
    with pytest.raises(ValueError, match="Huber"):
        pz.regularization_path(X, y, datafit="huber", relax=True, n_lambdas=5)
    with pytest.raises(ValueError, match="multi-task"):
        pz.regularization_path(X, np.column_stack([y, y]), relax=True, n_lambdas=5)
    path = pz.regularization_path(X, y, relax=True, n_lambdas=5)
    for g in (-0.1, 1.5, np.nan, "half", True):
        with pytest.raises(ValueError, match="gamma"):
            path.predict(X, gamma=g)
    with pytest.raises(ValueError, match="relax"):
        path.predict(X, relax="yes")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = pz.regularization_path(X, y, n_lambdas=5)
    with pytest.raises(ValueError, match="relax=True"):
        plain.predict(X, gamma=0.5)


def test_standardized_path_refits_on_the_original_scale_and_documents_relax():
    import inspect

    rng, X, eta = _data(10, n=120, p=8)
    X = X * np.array([1, 10, 0.1, 1, 5, 1, 1, 2])
    y = eta + 0.5 * rng.standard_normal(120)
    path = pz.regularization_path(X, y, relax=True, standardize=True, n_lambdas=20)
    for k in _supports(path):
        s = path.coefs[:, k] != 0
        ref = LinearRegression().fit(X[:, s], y)
        np.testing.assert_allclose(path.relaxed.coefs[s, k], ref.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(path.predict(X, path.lambdas[k], relax=True), ref.predict(X[:, s]), atol=1e-9)
    assert inspect.signature(pz.regularization_path).parameters["relax"].default is False
    assert "relax : bool" in pz.regularization_path.__doc__


@pytest.mark.parametrize("kind", ["lasso", "logistic"])
def test_cv_with_relax_predicts_at_min_and_1se_from_the_path_refits(kind):
    rng, X, eta = _data(11, n=150, p=8)
    if kind == "lasso":
        y = eta + 0.8 * rng.standard_normal(150)
        cv = pz.LassoCV(relax=True, n_lambdas=15, cv=3).fit(X, y)
    else:
        y = (rng.uniform(size=150) < 1 / (1 + np.exp(-eta))).astype(int)
        cv = pz.LogisticRegressionCV(relax=True, n_lambdas=15, cv=3).fit(X, y)
    path = cv.path_
    for rule, k, g in (("min", cv.index_min_, cv.gamma_min_), ("1se", cv.index_1se_, cv.gamma_1se_)):
        s = path.coefs[:, k] != 0
        if s.any():
            ref = (LinearRegression() if kind == "lasso"
                   else LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000)).fit(X[:, s], y)
            coef = g * path.coefs[:, k]
            coef[s] += (1 - g) * ref.coef_.ravel()
            b = g * path.intercepts[k] + (1 - g) * ref.intercept_.ravel()[0]
        else:
            coef, b = path.coefs[:, k], path.intercepts[k]
        z = X @ coef + b
        if kind == "lasso":
            np.testing.assert_allclose(cv.predict(X, lam=rule), z, atol=1e-8)
        else:
            np.testing.assert_allclose(cv.predict_proba(X, lam=rule)[:, 1], 1 / (1 + np.exp(-z)), atol=1e-6)
    # the selected rule equals the fitted estimator's own refit
    np.testing.assert_allclose(cv.decision_function(X, lam="min") if kind == "logistic" else cv.predict(X, lam="min"),
                               cv.decision_function(X) if kind == "logistic" else cv.predict(X), atol=1e-6)


def test_one_refit_per_distinct_support_warm_started_from_the_previous_refit(monkeypatch):
    import penalized.relaxed_glm as rg

    calls, original = [], rg.refit_support

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        calls.append((args[3].copy(), kwargs.get("coef_init"), out[0]))
        return out

    monkeypatch.setattr(rg, "refit_support", recording)
    rng, X, eta = _data(12, n=200, p=8)
    y = rng.poisson(np.exp(0.5 * eta))
    path = pz.regularization_path(X, y, datafit="poisson", relax=True, n_lambdas=30)
    supports = {(path.coefs[:, k] != 0).tobytes() for k in range(len(path)) if np.any(path.coefs[:, k])}
    assert len(calls) == len(supports) and {c[0].tobytes() for c in calls} == supports
    assert calls[0][1] is None
    for (_, init, _), (_, _, previous) in zip(calls[1:], calls[:-1], strict=True):
        np.testing.assert_array_equal(init, previous)


def test_sparse_logistic_relaxed_path_equals_dense():
    rng, X, eta = _data(13, n=200, p=10)
    X[rng.uniform(size=X.shape) < 0.5] = 0.0
    y = (rng.uniform(size=200) < 1 / (1 + np.exp(-eta))).astype(int)
    dense = pz.regularization_path(X, y, datafit="logistic", relax=True, n_lambdas=15, tol=1e-8)
    sparse = pz.regularization_path(sp.csr_array(X), y, datafit="logistic", relax=True, n_lambdas=15, tol=1e-8)
    np.testing.assert_allclose(sparse.relaxed.coefs, dense.relaxed.coefs, atol=1e-6)
    np.testing.assert_allclose(sparse.predict(X, gamma=0.5), dense.predict(X, gamma=0.5), atol=1e-6)
