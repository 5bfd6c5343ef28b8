"""Paths and cross-validation of the multinomial, Poisson (with offsets) and multi-task models.

References: fits of the estimators at each λ, λ_max and held-out scores computed here from their
formulas, scikit-learn's ``MultiTaskLassoCV`` (same folds, same grid).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.special import log_softmax
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler

import penalized as pz
from conftest import relative_error

TIGHT = dict(tol=1e-12, max_iter=100_000)


def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def multitask(seed=0, n=70, p=25, T=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = np.zeros((p, T))
    W[:4] = rng.standard_normal((4, T))
    return X, X @ W + 0.5 * rng.standard_normal((n, T)) + 1.0


def counts(seed=0, n=150, p=20):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    exposure = rng.uniform(0.5, 3.0, n)
    y = rng.poisson(exposure * np.exp(0.5 * X[:, 0] - 0.4 * X[:, 1] + 0.2 * X[:, 2])).astype(float)
    return X, y, np.log(exposure)


# ------------------------------------------------------------------------------------------- paths
@pytest.mark.parametrize("screening", [False, True])
@pytest.mark.parametrize("penalty", ["l1", "group"])
def test_multinomial_path_equals_estimator_fits(screening, penalty):
    X, y = wine()
    unit = pz.L1(1.0) if penalty == "l1" else pz.GroupL1(1.0)
    path = pz.regularization_path(X, y, unit, datafit="multinomial", n_lambdas=8, eps=1e-2, screening=screening,
                                  **TIGHT)
    assert path.coefs.shape == (3, 13, 8) and path.intercepts.shape == (3, 8) and path.n_outputs == 3
    np.testing.assert_array_equal(path.classes, [0, 1, 2])
    assert np.all(path.coefs[:, :, 0] == 0) and path.n_nonzero[0] == 0 and path.converged.all()
    for k in (2, 5, 7):
        model = pz.LogisticRegression(penalty=unit.scaled(path.lambdas[k]), **TIGHT).fit(X, y)
        assert np.abs(path.coefs[:, :, k] - model.coef_).max() < 1e-6
        assert np.abs(path.intercepts[:, k] - model.intercept_).max() < 1e-6
        # n_nonzero counts the features non-zero for some class
        assert path.n_nonzero[k] == np.count_nonzero(np.any(model.coef_ != 0, axis=0))
    if penalty == "group":  # a feature is in or out for every class
        nz = path.coefs != 0
        assert np.all(nz == nz.any(axis=0, keepdims=True))


def test_multinomial_lambda_max_is_the_largest_gradient_entry():
    X, y = iris()
    Y = (y[:, None] == np.unique(y)[None, :]).astype(float)
    G = X.T @ (Y.mean(0) - Y) / len(y)  # (p, K) at the null model (softmax of the log frequencies)
    assert pz.lambda_max(X, y, "l1", datafit="multinomial") == pytest.approx(np.abs(G).max(), rel=1e-10)
    group = pz.lambda_max(X, y, pz.GroupL1(1.0), datafit="multinomial")
    assert group == pytest.approx(np.linalg.norm(G, axis=1).max(), rel=1e-10)
    for unit, lam_max in ((pz.L1(1.0), np.abs(G).max()), (pz.GroupL1(1.0), group)):
        at = pz.regularization_path(X, y, unit, datafit="multinomial", lambdas=[lam_max * 1.0001, lam_max * 0.9],
                                    **TIGHT)
        assert np.all(at.coefs[:, :, 0] == 0) and np.any(at.coefs[:, :, 1] != 0)


def test_multinomial_path_with_offset_weights_and_sparse_x():
    X, y = iris()
    rng = np.random.default_rng(0)
    offset = 0.3 * rng.standard_normal((len(y), 3))
    w = rng.uniform(0.5, 2.0, len(y))
    lambdas = np.geomspace(0.05, 0.002, 5)
    dense = pz.regularization_path(X, y, "l1", datafit="multinomial", lambdas=lambdas, offset=offset,
                                   sample_weight=w, **TIGHT)
    sparse = pz.regularization_path(sp.csc_matrix(X), y, "l1", datafit="multinomial", lambdas=lambdas,
                                    offset=offset, sample_weight=w, **TIGHT)
    assert np.abs(dense.coefs - sparse.coefs).max() < 1e-7
    for k in (1, 4):
        model = pz.LogisticRegression(penalty=pz.L1(lambdas[k]), **TIGHT).fit(X, y, sample_weight=w, offset=offset)
        assert np.abs(dense.coefs[:, :, k] - model.coef_).max() < 1e-7
    # one offset column is the same for every class: a constant shift of all scores changes nothing
    shift = pz.regularization_path(X, y, "l1", datafit="multinomial", lambdas=lambdas, offset=offset[:, 0], **TIGHT)
    plain = pz.regularization_path(X, y, "l1", datafit="multinomial", lambdas=lambdas, **TIGHT)
    assert np.abs(shift.coefs - plain.coefs).max() < 1e-7


@pytest.mark.parametrize("screening", [False, True])
def test_multitask_paths_equal_estimator_fits(screening):
    X, Y = multitask()
    offset = np.random.default_rng(1).standard_normal(len(Y))
    group = pz.regularization_path(X, Y, pz.GroupL1(1.0), n_lambdas=10, screening=screening, offset=offset, **TIGHT)
    elementwise = pz.regularization_path(X, Y, "l1", n_lambdas=10, screening=screening, **TIGHT)
    enet = pz.regularization_path(X, Y, pz.GroupL1(0.7) + pz.L2(0.15), n_lambdas=10, screening=screening, **TIGHT)
    for path in (group, elementwise, enet):
        assert path.coefs.shape == (3, 25, 10) and path.intercepts.shape == (3, 10)
        assert np.all(path.coefs[:, :, 0] == 0) and np.any(path.coefs[:, :, 1] != 0)
    for k in (2, 6, 9):
        lam = group.lambdas[k]
        ref = pz.MultiTaskLasso(lam, **TIGHT).fit(X, Y, offset=offset)
        assert relative_error(group.coefs[:, :, k], ref.coef_) < 1e-8
        assert np.abs(group.intercepts[:, k] - ref.intercept_).max() < 1e-8
        ref = pz.LinearRegression(pz.L1(elementwise.lambdas[k]), **TIGHT).fit(X, Y)
        assert relative_error(elementwise.coefs[:, :, k], ref.coef_) < 1e-8
        ref = pz.MultiTaskElasticNet(enet.lambdas[k], l1_ratio=0.7, **TIGHT).fit(X, Y)
        assert relative_error(enet.coefs[:, :, k], ref.coef_) < 1e-6  # both within a gap of 1e-12·L(0)
    # the multi-task λ_max: the largest norm of a feature's gradient over the tasks
    Yc = Y - offset[:, None] - (Y - offset[:, None]).mean(0)
    G = -2 * X.T @ Yc / len(Y)
    assert group.lambda_max == pytest.approx(np.linalg.norm(G, axis=1).max(), rel=1e-10)
    assert elementwise.lambda_max == pytest.approx(np.abs(-2 * X.T @ (Y - Y.mean(0)) / len(Y)).max(), rel=1e-10)


def test_multitask_path_matches_sklearn_lasso_path_layout():
    from sklearn.linear_model import lasso_path

    X, Y = multitask(2)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    ours = pz.regularization_path(Xc, Yc, pz.GroupL1(1.0), n_lambdas=6, eps=1e-2, fit_intercept=False, **TIGHT)
    _, coefs, _ = lasso_path(Xc, Yc, alphas=ours.lambdas / 2, tol=1e-14, max_iter=100_000)  # multi-task lasso
    assert coefs.shape == ours.coefs.shape
    assert np.abs(coefs - ours.coefs).max() < 1e-7


def test_one_column_y_keeps_the_outputs_axis():
    X, Y = multitask(3)
    path = pz.regularization_path(X, Y[:, :1], pz.GroupL1(1.0), n_lambdas=5, **TIGHT)
    flat = pz.regularization_path(X, Y[:, 0], "l1", n_lambdas=5, **TIGHT)
    assert path.coefs.shape == (1, 25, 5) and path.intercepts.shape == (1, 5)
    assert np.abs(path.coefs[0] - flat.coefs).max() < 1e-9  # a group of one is the lasso


@pytest.mark.parametrize("screening", [False, True])
def test_poisson_path_with_offset_equals_estimator_fits(screening):
    X, y, offset = counts()
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    path = pz.regularization_path(X, y, "l1", datafit="poisson", n_lambdas=10, eps=1e-2, offset=offset,
                                  sample_weight=w, screening=screening, **TIGHT)
    assert np.all(path.coefs[:, 0] == 0) and path.converged.all()
    # λ_max from its formula: the gradient at the intercept-only fit (with the offset)
    a = w / w.sum()
    b0 = np.log(a @ y) - np.log(a @ np.exp(offset))
    g = X.T @ (a * (np.exp(b0 + offset) - y))
    assert path.lambda_max == pytest.approx(np.abs(g).max(), rel=1e-8)
    for k in (2, 5, 9):
        model = pz.PoissonRegressor(pz.L1(path.lambdas[k]), **TIGHT).fit(X, y, sample_weight=w, offset=offset)
        assert np.abs(path.coefs[:, k] - model.coef_).max() < 1e-8
        assert path.intercepts[k] == pytest.approx(model.intercept_, abs=1e-8)
    sparse = pz.regularization_path(sp.csc_matrix(X), y, "l1", datafit="poisson", lambdas=path.lambdas[:6],
                                    offset=offset, sample_weight=w, **TIGHT)
    assert np.abs(sparse.coefs - path.coefs[:, :6]).max() < 1e-8


def test_path_result_of_several_outputs():
    X, y = iris()
    frame_X = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    path = pz.regularization_path(frame_X, labels, "l1", datafit="multinomial", n_lambdas=6, eps=1e-2, **TIGHT)
    np.testing.assert_array_equal(path.outputs, ["setosa", "versicolor", "virginica"])
    frame = path.to_frame()
    assert list(frame.columns[:3]) == ["lambda", "output", "intercept"] and len(frame) == 18
    row = frame[(frame["lambda"] == path.lambdas[4]) & (frame["output"] == "virginica")]
    np.testing.assert_array_equal(row[["sl", "sw", "pl", "pw"]].to_numpy()[0], path.coefs[2, :, 4])
    assert set(path.selected_features(5)) == set(np.array(["sl", "sw", "pl", "pw"])[(path.coefs[:, :, 5] != 0).any(0)])
    # the objective: the data fit of the estimator's coefficients plus λ·R
    k = 4
    Z = X @ path.coefs[:, :, k].T + path.intercepts[:, k]
    loss = -np.mean(log_softmax(Z, axis=1)[np.arange(len(y)), y])
    assert path.objective[k] == pytest.approx(loss + path.lambdas[k] * np.abs(path.coefs[:, :, k]).sum(), rel=1e-10)
    tasks = pz.regularization_path(X, pd.DataFrame({"u": X[:, 0], "v": X[:, 1] - X[:, 2]}), n_lambdas=4)
    np.testing.assert_array_equal(tasks.outputs, ["u", "v"])
    import matplotlib

    matplotlib.use("Agg")
    ax = path.plot()
    assert "outputs" in ax.get_ylabel()
    ax = path.plot(output="setosa")
    assert "setosa" in ax.get_ylabel()
    with pytest.raises(ValueError, match="output must be one of"):
        path.plot(output="rose")


# ---------------------------------------------------------------------------------------------- CV
def test_multinomial_cv_scores_are_held_out_deviances_of_estimator_fits():
    X, y = iris()
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    cv = pz.LogisticRegressionCV(n_lambdas=5, eps=1e-2, cv=folds, tol=1e-10, max_iter=100_000).fit(X, y)
    assert cv.scoring_ == "deviance" and cv.coef_.shape == (3, 4) and cv.intercept_.shape == (3,)
    assert cv.cv_scores_.shape == (3, 5)
    for f, (train, test) in enumerate(folds):
        for k in (1, 3, 4):
            m = pz.LogisticRegression(pz.L1(cv.lambdas_[k]), tol=1e-10, max_iter=100_000).fit(X[train], y[train])
            log_p = np.log(m.predict_proba(X[test])[np.arange(len(test)), y[test]])
            assert cv.cv_scores_[f, k] == pytest.approx(-2 * log_p.mean(), rel=1e-6)
    k = int(np.argmin(cv.cv_mean_))
    assert cv.lam_min_ == cv.lambdas_[k] and cv.lam_1se_ >= cv.lam_min_
    refit = pz.LogisticRegression(pz.L1(cv.lam_), tol=1e-10, max_iter=100_000).fit(X, y)
    assert np.abs(refit.coef_ - cv.coef_).max() < 1e-6
    half = pz.LogisticRegressionCV(n_lambdas=5, eps=1e-2, cv=folds, tol=1e-10, max_iter=100_000,
                                   scoring="log_loss").fit(X, y)
    np.testing.assert_allclose(2 * half.cv_mean_, cv.cv_mean_, rtol=1e-10)


def test_poisson_cv_scores_are_held_out_poisson_deviances():
    X, y, offset = counts(1)
    folds = list(KFold(4, shuffle=True, random_state=0).split(X))
    cv = pz.PoissonRegressorCV(n_lambdas=8, eps=1e-2, cv=folds, tol=1e-10, max_iter=100_000).fit(X, y, offset=offset)
    assert cv.scoring_ == "poisson_deviance" and cv.coef_.shape == (20,) and isinstance(cv.intercept_, float)
    for f, (train, test) in enumerate(folds):
        for k in (0, 4, 7):
            m = pz.PoissonRegressor(pz.L1(cv.lambdas_[k]), tol=1e-10, max_iter=100_000).fit(
                X[train], y[train], offset=offset[train])
            expected = mean_poisson_deviance(y[test], m.predict(X[test], offset=offset[test]))
            assert cv.cv_scores_[f, k] == pytest.approx(expected, rel=1e-6)
    assert set(cv.selected_features_) >= {"x0", "x1"}
    # the offset matters: without it the model has to explain the exposure
    plain = pz.PoissonRegressorCV(n_lambdas=8, eps=1e-2, cv=folds).fit(X, y)
    assert not np.allclose(plain.cv_mean_, cv.cv_mean_)
    assert cv.lambda_max_ == pytest.approx(pz.lambda_max(X, y, "l1", datafit="poisson", offset=offset), rel=1e-8)


def test_multitask_lasso_cv_agrees_with_sklearn():
    from sklearn.linear_model import MultiTaskLassoCV as SKMultiTaskLassoCV

    X, Y = multitask(4)
    folds = list(KFold(4, shuffle=True, random_state=0).split(X))
    cv = pz.MultiTaskLassoCV(n_lambdas=12, eps=1e-2, cv=folds, tol=1e-12, max_iter=100_000).fit(X, Y)
    sk = SKMultiTaskLassoCV(alphas=cv.lambdas_ / 2, cv=folds, tol=1e-14, max_iter=100_000).fit(X, Y)
    np.testing.assert_allclose(cv.cv_scores_, sk.mse_path_.T, rtol=1e-6)
    assert cv.lam_min_ == pytest.approx(2 * sk.alpha_, rel=1e-12)
    assert cv.coef_.shape == (3, 25) and np.abs(cv.coef_ - sk.coef_).max() < 1e-6
    assert cv.path_.coefs.shape == (3, 25, 12)
    enet = pz.MultiTaskElasticNetCV(l1_ratio=[0.5, 1.0], n_lambdas=12, eps=1e-2, cv=folds, tol=1e-12,
                                    max_iter=100_000).fit(X, Y)
    assert enet.lambdas_.shape == (2, 12)
    np.testing.assert_allclose(enet.cv_scores_[1], cv.cv_scores_, rtol=1e-8)  # l1_ratio = 1: the lasso
    ref = pz.MultiTaskElasticNet(enet.lam_, l1_ratio=enet.l1_ratio_, tol=1e-12, max_iter=100_000).fit(X, Y)
    assert np.abs(ref.coef_ - enet.coef_).max() < 1e-7
    one = pz.MultiTaskLassoCV(n_lambdas=4, cv=3).fit(X, Y[:, :1])  # one task: scikit-learn's layout
    assert one.coef_.shape == (1, 25) and one.intercept_.shape == (1,)


def test_cv_offsets_and_scorers():
    X, y, offset = counts(2, n=90, p=6)
    with pytest.raises(ValueError, match="offset cannot be used with scoring='r2'"):
        pz.PoissonRegressorCV(cv=3, n_lambdas=4, scoring="r2").fit(X, y, offset=offset)
    own = pz.PoissonRegressorCV(cv=3, n_lambdas=4).fit(X, y)
    scorer = pz.PoissonRegressorCV(cv=3, n_lambdas=4, scoring="neg_mean_poisson_deviance").fit(X, y)
    assert scorer.greater_is_better_ and not own.greater_is_better_  # a scikit-learn scorer, on PoissonRegressor
    np.testing.assert_allclose(-scorer.cv_scores_, own.cv_scores_, rtol=1e-10)
    mse = pz.PoissonRegressorCV(cv=3, n_lambdas=4, scoring="mse").fit(X, y)
    assert mse.scoring_ == "mse" and np.all(mse.cv_mean_ > 0)
    with pytest.raises(ValueError, match="does not apply to a Poisson regressor"):
        pz.PoissonRegressorCV(scoring="log_loss").fit(X, y)
    dev = pz.PoissonRegressorCV(cv=3, n_lambdas=4, scoring="deviance").fit(X, y)  # glmnet's name
    np.testing.assert_array_equal(dev.cv_scores_, own.cv_scores_)
    # least squares: an offset is the same as subtracting it from y
    Xm, Ym = multitask(5, n=60, p=10)
    folds = list(KFold(3, shuffle=True, random_state=0).split(Xm))
    with_offset = pz.LassoCV(n_lambdas=6, cv=folds, tol=1e-12).fit(Xm, Ym[:, 0], offset=Ym[:, 1])
    moved = pz.LassoCV(n_lambdas=6, cv=folds, tol=1e-12).fit(Xm, Ym[:, 0] - Ym[:, 1])
    np.testing.assert_allclose(with_offset.cv_mean_, moved.cv_mean_, rtol=1e-10)


# ------------------------------------------------------------------------------------------ bad input
def test_classes_missing_from_a_fold_are_named():
    X, y = iris()
    rare = y.copy()
    rare[:] = np.where(np.arange(150) < 75, 0, 1)
    rare[[5]] = 2  # one sample of class 2: the training part of the fold holding it lacks the class
    message = r"fold \d has only one class or misses class\(es\) \[2\] of 3: the multinomial log-loss"
    with pytest.raises(ValueError, match=message), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scikit-learn: the least populated class has 1 member
        pz.LogisticRegressionCV(cv=3, n_lambdas=3).fit(X, rare)


BAD = [
    (lambda X, y: pz.regularization_path(X, -y, datafit="poisson"), ValueError, "y >= 0"),
    (lambda X, y: pz.PoissonRegressorCV(cv=3).fit(X, y - 10), ValueError, "y >= 0"),
    (lambda X, y: pz.regularization_path(X, 0 * y, datafit="poisson"), ValueError, "positive count"),
    (lambda X, y: pz.regularization_path(X, y, datafit="poisson", offset=np.zeros(5)), ValueError, "offset"),
    (lambda X, y: pz.PoissonRegressorCV(cv=3).fit(X, y, offset=np.r_[np.inf, np.zeros(len(y) - 1)]), ValueError,
     "offset contains NaN or infinity"),
    (lambda X, y: pz.LassoCV(cv=3).fit(X, y, offset=np.full(len(y), np.nan)), ValueError, "offset contains NaN"),
    (lambda X, y: pz.regularization_path(X, y, offset="log exposure"), TypeError, "offset must be an array"),
    (lambda X, y: pz.regularization_path(X, np.c_[y, y], offset=np.zeros((len(y), 3))), ValueError,
     r"offset must have shape"),
    (lambda X, y: pz.regularization_path(X, np.arange(len(y)) % 3, datafit="multinomial",
                                         offset=np.zeros((len(y), 2))), ValueError, "offset must have shape"),
    (lambda X, y: pz.regularization_path(X, np.c_[y, np.where(y > 2, np.nan, y)]), ValueError, "NaN"),
    (lambda X, y: pz.MultiTaskLassoCV(cv=3).fit(X, np.c_[y, np.where(y > 2, np.inf, y)]), ValueError, "infinity"),
    (lambda X, y: pz.MultiTaskLassoCV(cv=3).fit(X, y), ValueError, "2-D y"),
    (lambda X, y: pz.regularization_path(X, np.zeros(len(y)), datafit="multinomial"), ValueError,
     "at least 2 classes"),
    (lambda X, y: pz.LogisticRegressionCV(cv=3).fit(X, np.zeros(len(y))), ValueError, "at least 2 classes"),
    (lambda X, y: pz.regularization_path(X, np.arange(len(y)) % 3, datafit="logistic"), ValueError,
     "datafit='multinomial'"),
    (lambda X, y: pz.regularization_path(X, np.c_[y, y], datafit="poisson"), ValueError, "1d array"),
    (lambda X, y: pz.MultiTaskLasso(0.1).fit(X, np.c_[y, y], offset=np.zeros((len(y), 3))), ValueError, "offset"),
    (lambda X, y: pz.stability_selection(X, np.arange(len(y)) % 3, datafit="multinomial"), ValueError,
     "one output"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD)
def test_bad_input(call, error, match):
    X, y, _ = counts(3, n=30, p=4)
    with pytest.raises(error, match=match):
        call(X, y)


def test_path_convergence_warning_counts_points_once():
    X, y = wine()
    with pytest.warns(ConvergenceWarning, match="of 4 fits did not converge"):
        pz.regularization_path(X, y, "l1", datafit="multinomial", n_lambdas=4, tol=1e-12, max_iter=2)
