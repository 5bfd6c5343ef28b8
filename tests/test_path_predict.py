"""Predictions from paths and CV estimators at any λ (glmnet's predict(fit, s=), keep=TRUE), the
printed path table, and glmnet's CV measures.

python-glmnet does not build here (no Fortran toolchain), so the references are glmnet's
definitions, written out independently in the tests: ``lambda.interp``, ``fit.preval``,
``cv.lognet``'s measures.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

import penalized as pz
from penalized.path_predict import interpolation_weights


def data(n=80, p=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:4] = [2.0, -1.5, 1.0, 0.5]
    return X, X @ w + rng.standard_normal(n)


def glmnet_lambda_interp(lam, s):
    """glmnet's lambda.interp, as written in its R source: positions on the normalised λ scale,
    ``approx`` to a fractional index, then the weight of the left point."""
    s = np.clip(s, lam.min(), lam.max())
    k = len(lam)
    sfrac = (lam[0] - s) / (lam[0] - lam[k - 1])
    nl = (lam[0] - lam) / (lam[0] - lam[k - 1])
    coord = np.interp(sfrac, nl, np.arange(k, dtype=float))
    left, right = np.floor(coord).astype(int), np.ceil(coord).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (sfrac - nl[right]) / (nl[left] - nl[right])
    frac[left == right] = 1.0
    return left, right, frac


def test_interpolation_is_glmnets_lambda_interp():
    lam = np.geomspace(3.0, 3e-3, 17)
    s = np.concatenate([lam, np.geomspace(5.0, 1e-3, 41), (lam[:-1] + lam[1:]) / 2])
    left, right, frac = interpolation_weights(lam, s)
    gl, gr, gf = glmnet_lambda_interp(lam, s)
    theta = np.random.default_rng(1).standard_normal(len(lam))
    np.testing.assert_allclose(frac * theta[left] + (1 - frac) * theta[right],
                               gf * theta[gl] + (1 - gf) * theta[gr], rtol=1e-10, atol=1e-13)


def test_predict_at_any_lambda_is_linear_on_the_lambda_scale():
    X, y = data()
    path = pz.regularization_path(X, y, n_lambdas=30, tol=1e-10, early_stop=False)
    Z = path.predict(X)
    assert Z.shape == (80, 30)
    np.testing.assert_allclose(Z, X @ path.coefs + path.intercepts, rtol=1e-12, atol=1e-12)
    i = 7
    s = 0.3 * path.lambdas[i] + 0.7 * path.lambdas[i + 1]  # between grid points i and i+1
    f = (s - path.lambdas[i + 1]) / (path.lambdas[i] - path.lambdas[i + 1])
    coef, b = path.interpolate(s)
    np.testing.assert_allclose(coef, f * path.coefs[:, i] + (1 - f) * path.coefs[:, i + 1], rtol=1e-12)
    assert b == pytest.approx(f * path.intercepts[i] + (1 - f) * path.intercepts[i + 1], rel=1e-12)
    np.testing.assert_allclose(path.predict(X, s), X @ coef + b, rtol=1e-12, atol=1e-12)
    # on a grid point: that point; outside the grid: clamped to its ends
    np.testing.assert_allclose(path.predict(X, path.lambdas[4]), Z[:, 4], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(path.predict(X, 10 * path.lambdas[0]), Z[:, 0], atol=1e-12)
    np.testing.assert_allclose(path.predict(X, path.lambdas[-1] / 10), Z[:, -1], atol=1e-12)
    many = path.predict(X, [s, path.lambdas[4]])
    assert many.shape == (80, 2)
    np.testing.assert_allclose(many[:, 0], X @ coef + b, rtol=1e-12, atol=1e-12)
    # dense = sparse X
    np.testing.assert_allclose(path.predict(sp.csr_matrix(X), s), X @ coef + b, rtol=1e-12, atol=1e-12)


def test_predict_types_for_every_data_fit():
    X, y = data()
    labels = np.where(y > 0, "yes", "no")
    path = pz.regularization_path(X, labels, datafit="logistic", n_lambdas=10, early_stop=False)
    Z = X @ path.coefs + path.intercepts
    np.testing.assert_allclose(path.predict(X, type="response"), expit(Z), rtol=1e-12)
    np.testing.assert_array_equal(path.predict(X, type="class"), np.where(Z > 0, "yes", "no"))
    three = np.digitize(y, [-1.0, 1.0])
    multi = pz.regularization_path(X, three, datafit="multinomial", n_lambdas=6, eps=1e-2,
                                   early_stop=False)
    Zm = np.stack([X @ multi.coefs[k] + multi.intercepts[k] for k in range(3)], axis=1)
    np.testing.assert_allclose(multi.predict(X), Zm, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(multi.predict(X, type="response"), softmax(Zm, axis=1), rtol=1e-12)
    np.testing.assert_array_equal(multi.predict(X, type="class"), multi.classes[np.argmax(Zm, axis=1)])
    assert multi.predict(X, multi.lambdas[2]).shape == (80, 3)
    counts = np.random.default_rng(0).poisson(np.exp(0.3 * X[:, 0]))
    off = np.full(80, 0.5)
    pois = pz.regularization_path(X, counts, datafit="poisson", n_lambdas=8, offset=off, early_stop=False)
    Zp = X @ pois.coefs + pois.intercepts + 0.5
    np.testing.assert_allclose(pois.predict(X, type="response", offset=off), np.exp(Zp), rtol=1e-12)
    with pytest.raises(ValueError, match="type='class'"):
        pois.predict(X, type="class")
    with pytest.raises(ValueError, match="type must be"):
        pois.predict(X, type="probability")
    with pytest.raises(ValueError, match="features"):
        pois.predict(X[:, :3])
    with pytest.raises(ValueError, match="lam must be"):
        pois.predict(X, lam=-1.0)


def test_cv_predicts_at_min_1se_and_any_lambda_without_refitting():
    X, y = data(120)
    cv = pz.LassoCV(n_lambdas=30, cv=4, tol=1e-10).fit(X, y)
    path = cv.path_
    np.testing.assert_allclose(cv.predict(X, lam="min"), X @ path.coefs[:, cv.index_min_]
                               + path.intercepts[cv.index_min_], rtol=1e-10)
    np.testing.assert_allclose(cv.predict(X, lam="1se"), X @ path.coefs[:, cv.index_1se_]
                               + path.intercepts[cv.index_1se_], rtol=1e-10)
    np.testing.assert_allclose(cv.predict(X, lam="min"), cv.predict(X), rtol=1e-10)  # select="min": the refit
    np.testing.assert_allclose(cv.predict(X, lam=0.05), path.predict(X, 0.05), rtol=1e-10)
    with pytest.raises(ValueError, match="'min', '1se'"):
        cv.predict(X, lam="best")
    labels = (y > 0).astype(int)
    lcv = pz.LogisticRegressionCV(n_lambdas=15, cv=3).fit(X, labels)
    p1 = lcv.path_.predict(X, lcv.lam_1se_, type="response")
    np.testing.assert_allclose(lcv.predict_proba(X, lam="1se")[:, 1], p1, rtol=1e-10)
    np.testing.assert_array_equal(lcv.predict(X, lam="1se"), (p1 > 0.5).astype(int))


def test_keep_stores_glmnets_prevalidated_fits():
    X, y = data(90)
    folds = list(KFold(3, shuffle=True, random_state=1).split(X))
    cv = pz.LassoCV(n_lambdas=20, cv=folds, tol=1e-10, keep=True).fit(X, y)
    assert cv.fit_preval_.shape == (90, len(cv.lambdas_))
    for f, (train, test) in enumerate(folds):
        fold = pz.regularization_path(X[train], y[train], lambdas=cv.lambdas_, tol=1e-10)
        np.testing.assert_allclose(cv.fit_preval_[test], fold.predict(X[test]), rtol=1e-7, atol=1e-8)
        assert np.all(cv.foldid_[test] == f)
    # the CV curve is the mean squared error of the prevalidated fits (equal folds: 30 each)
    np.testing.assert_allclose(cv.cv_mean_, ((y[:, None] - cv.fit_preval_) ** 2).mean(axis=0), rtol=1e-10)
    labels = (y > 0).astype(int)
    strat = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, labels))
    lcv = pz.LogisticRegressionCV(n_lambdas=10, cv=strat, keep=True, tol=1e-10).fit(X, labels)
    train, test = strat[0]
    fold = pz.regularization_path(X[train], labels[train], datafit="logistic", lambdas=lcv.lambdas_, tol=1e-10)
    np.testing.assert_allclose(lcv.fit_preval_[test], fold.predict(X[test], type="response"), rtol=1e-6,
                               atol=1e-8)  # probabilities, as glmnet's fit.preval


def test_printed_table_is_glmnets_df_dev_lambda():
    X, y = data()
    path = pz.regularization_path(X, y, n_lambdas=15, tol=1e-12, early_stop=False)
    table = path.summary()
    assert list(table.columns) == ["Df", "%Dev", "Lambda"]
    np.testing.assert_array_equal(table["Df"], (path.coefs != 0).sum(axis=0))
    rss = ((y[:, None] - path.predict(X)) ** 2).sum(axis=0)
    np.testing.assert_allclose(table["%Dev"], np.round(100 * (1 - rss / ((y - y.mean()) ** 2).sum()), 2),
                               atol=0.0051)
    text = str(path)
    assert "Df" in text and "%Dev" in text and "Lambda" in text and len(text.splitlines()) == 17


def glmnet_binomial_measures(y01, p):
    """cv.lognet's per-sample measures, written out from its source."""
    Y = np.stack([1 - y01, y01], axis=1)[:, :, None]
    pc = np.clip(p, 1e-5, 1 - 1e-5)
    return {
        "deviance": -2 * (Y[:, 0] * np.log(1 - pc) + Y[:, 1] * np.log(pc)),
        "mse": (Y[:, 0] - (1 - p)) ** 2 + (Y[:, 1] - p) ** 2,
        "mae": np.abs(Y[:, 0] - (1 - p)) + np.abs(Y[:, 1] - p),
        "class": Y[:, 0] * (p > 0.5) + Y[:, 1] * (p <= 0.5),
    }


def test_glmnet_cv_measures_for_two_classes():
    from penalized._scoring import resolve_metric

    rng = np.random.default_rng(3)
    y01 = rng.integers(0, 2, 50)
    Z = rng.standard_normal((50, 1, 6)) * 4
    Z[0, 0, :] = 40.0  # p ≈ 1: the deviance is clipped at 1 − 1e-5
    y01[0] = 0
    p = expit(Z[:, 0, :])
    sw = rng.uniform(0.5, 2.0, 50)
    ref = glmnet_binomial_measures(y01, p)
    for name in ("deviance", "mse", "mae", "class"):
        metric = resolve_metric(name, "classification")
        np.testing.assert_allclose(metric(y01, Z, sw, np.array([0, 1])), np.average(ref[name], axis=0, weights=sw),
                                   rtol=1e-12)
    assert resolve_metric("deviance", "classification")(y01, Z, None, np.array([0, 1]))[0] < 2 * 12 / 50 + 10
    auc = resolve_metric("auc", "classification")
    assert auc.greater_is_better
    np.testing.assert_allclose(auc(y01, Z, sw, np.array([0, 1])),
                               [roc_auc_score(y01, Z[:, 0, j], sample_weight=sw) for j in range(6)])


def test_cv_with_auc_class_and_glmnet_names():
    X, y = data(150)
    labels = (y + 0.5 * np.random.default_rng(0).standard_normal(150) > 0).astype(int)
    auc = pz.LogisticRegressionCV(n_lambdas=12, cv=3, scoring="auc").fit(X, labels)
    assert auc.greater_is_better_ and auc.cv_mean_[auc.index_min_] == np.nanmax(auc.cv_mean_)
    cls = pz.LogisticRegressionCV(n_lambdas=12, cv=3, scoring="class").fit(X, labels)
    mis = pz.LogisticRegressionCV(n_lambdas=12, cv=3, scoring="misclassification").fit(X, labels)
    np.testing.assert_array_equal(cls.cv_mean_, mis.cv_mean_)
    dev = pz.LassoCV(n_lambdas=12, cv=3, scoring="deviance").fit(X, y)
    mse = pz.LassoCV(n_lambdas=12, cv=3, scoring="mse").fit(X, y)
    np.testing.assert_array_equal(dev.cv_mean_, mse.cv_mean_)  # glmnet's gaussian deviance is the MSE


@pytest.mark.parametrize("xvar", ["lambda", "norm", "dev"])
def test_plot_xvar_as_glmnet(xvar):
    X, y = data()
    path = pz.regularization_path(X, y, n_lambdas=20, tol=1e-10, early_stop=False)
    ax = path.plot(xvar=xvar, label=True)
    line = ax.get_lines()[0]
    expected = {"lambda": path.lambdas, "norm": np.abs(path.coefs).sum(axis=0), "dev": path.dev_ratio}[xvar]
    np.testing.assert_allclose(line.get_xdata(), expected)
    names = {t.get_text() for t in ax.texts}
    assert "x0" in names  # the largest curve is labelled with its feature name
    assert not path.plot(xvar=xvar, label=False).texts
    with pytest.raises(ValueError, match="xvar"):
        path.plot(xvar="log")


def test_several_outputs_predict_at_lambda_and_keep():
    X, y = data(90)
    Y = np.column_stack([y, -y + 0.1 * X[:, 5]])
    mt = pz.MultiTaskLassoCV(n_lambdas=10, cv=3, keep=True).fit(X, Y)
    k = mt.index_1se_
    expected = X @ mt.path_.coefs[:, :, k].T + mt.path_.intercepts[:, k]
    np.testing.assert_allclose(mt.predict(X, lam="1se"), expected, rtol=1e-10, atol=1e-12)
    assert mt.fit_preval_.shape == (90, 2, len(mt.lambdas_))
    three = np.digitize(y, [-1.0, 1.0])
    mn = pz.LogisticRegressionCV(n_lambdas=6, eps=1e-2, cv=3, keep=True).fit(X, three)
    assert mn.fit_preval_.shape == (90, 3, len(mn.lambdas_))
    np.testing.assert_allclose(mn.fit_preval_.sum(axis=1), 1.0)  # class probabilities
    np.testing.assert_allclose(mn.predict_proba(X, lam="min"),
                               mn.path_.predict(X, mn.lam_min_, type="response"), rtol=1e-10)
    relaxed = pz.LassoCV(relax=True, n_lambdas=8, cv=3, keep=True).fit(X, y)
    assert relaxed.fit_preval_.shape == (90, 5, len(relaxed.lambdas_))  # a γ axis
    # relax=True: the relaxed fit at (λ_min, γ_min) from the path's refits, as the refit of fit()
    np.testing.assert_allclose(relaxed.predict(X, lam="min"), relaxed.predict(X), rtol=1e-8, atol=1e-10)
