"""Regularization paths: equal to independent fits, glmnet's grid, λ_max, OLS at λ → 0."""

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import lasso_path

import penalized as pz
from conftest import correlated_design, relative_error
from penalized.path import RIDGE_L1_RATIO

TIGHT = dict(tol=1e-14, max_iter=100_000)


def data(n, p, seed=0, rho=0.5):
    rng = np.random.default_rng(seed)
    X = correlated_design(rng, n, p, rho) * rng.uniform(0.5, 2.0, p)
    y = X[:, :3] @ np.array([1.5, -2.0, 1.0]) + rng.normal(size=n) + 0.3
    return X, y


SINGLE = {
    "l1": lambda lam: pz.Lasso(lam=lam, **TIGHT),
    "l2": lambda lam: pz.Ridge(lam=lam, **TIGHT),
    "elasticnet": lambda lam: pz.ElasticNet(lam=lam, l1_ratio=0.5, **TIGHT),
}


@pytest.mark.parametrize("shape", [(30, 60), (80, 20)], ids=["n<p", "n>p"])
@pytest.mark.parametrize("penalty", ["l1", "l2", "elasticnet"])
@pytest.mark.parametrize("screening", [True, False])
def test_path_equals_independent_fits(shape, penalty, screening):
    X, y = data(*shape)
    path = pz.regularization_path(X, y, penalty, n_lambdas=20, screening=screening, **TIGHT)
    assert path.converged.all()
    for k in range(0, 20, 4):
        single = SINGLE[penalty](path.lambdas[k]).fit(X, y)
        assert relative_error(path.coefs[:, k], single.coef_) < 1e-6
        assert path.intercepts[k] == pytest.approx(single.intercept_, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("screening", [True, False])
def test_logistic_path_equals_independent_fits(screening):
    X, y = data(40, 80, seed=1)
    labels = np.where(y > np.median(y), "up", "down")
    path = pz.regularization_path(X, labels, "l1", datafit="logistic", n_lambdas=15, screening=screening,
                                  **TIGHT)
    np.testing.assert_array_equal(path.classes, ["down", "up"])
    assert np.all(path.coefs[:, 0] == 0)
    for k in (3, 8, 14):
        single = pz.LogisticRegression(penalty=pz.L1(path.lambdas[k]), **TIGHT).fit(X, labels)
        assert relative_error(path.coefs[:, k], single.coef_[0]) < 1e-6


def test_glmnet_grid_and_first_point_is_all_zeros():
    for shape, eps in [((30, 60), 1e-2), ((80, 20), 1e-4)]:
        X, y = data(*shape)
        path = pz.regularization_path(X, y, early_stop=False)  # the whole grid (glmnet stops early)
        assert len(path) == 100 and path.lambdas[0] == path.lambda_max
        assert path.lambdas[-1] == pytest.approx(eps * path.lambda_max)
        np.testing.assert_allclose(np.diff(np.log(path.lambdas)), np.log(eps) / 99)
        assert np.all(path.coefs[:, 0] == 0) and path.n_nonzero[0] == 0
        assert path.n_nonzero[1] >= 1  # λ_max is tight: the next λ opens the first feature
        # λ_max = max |∇L_data(0)| (MSE: 2/n·|Xᵀ(y − ȳ)|), as in scikit-learn (alpha_max = λ_max/2)
        grad0 = 2 * (X - X.mean(0)).T @ (y - y.mean()) / len(y)
        assert path.lambda_max == pytest.approx(np.max(np.abs(grad0)))


def test_matches_scikit_learn_lasso_path():
    X, y = data(50, 30)
    path = pz.regularization_path(X, y, n_lambdas=30, **TIGHT)
    Xc, yc = X - X.mean(0), y - y.mean()
    _, ref, _ = lasso_path(Xc, yc, alphas=path.lambdas / 2, tol=1e-15, max_iter=100_000)
    assert relative_error(path.coefs, ref) < 1e-6


def test_path_reaches_ordinary_least_squares():
    X, y = data(80, 10)
    lam_max = pz.lambda_max(X, y)
    path = pz.regularization_path(X, y, lambdas=lam_max * np.geomspace(1, 1e-10, 40), **TIGHT)
    A = np.column_stack([X, np.ones(len(y))])
    ols = np.linalg.lstsq(A, y, rcond=None)[0]
    assert relative_error(path.coefs[:, -1], ols[:-1]) < 1e-6
    assert path.intercepts[-1] == pytest.approx(ols[-1], rel=1e-6)
    assert path.train_loss[-1] == pytest.approx(np.mean((y - A @ ols) ** 2), rel=1e-8)


def test_unpenalized_features_lambda_max_at_their_fit():
    X, y = data(60, 12)
    c = np.ones(12)
    c[[0, 5]] = 0.0  # glmnet's penalty.factor = 0: always in the model
    path = pz.regularization_path(X, y, weights=c, n_lambdas=30, **TIGHT)
    # first point: penalized coefficients zero, the free ones at their least-squares fit
    A = np.column_stack([X[:, [0, 5]], np.ones(len(y))])
    free = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(path.coefs[[0, 5], 0], free[:2], rtol=1e-6)
    assert np.all(path.coefs[c > 0, 0] == 0)
    assert np.any(path.coefs[c > 0, 1] != 0)  # just below λ_max a penalized feature enters
    resid = y - A @ free
    grad = -2 * X.T @ resid / len(y)
    assert path.lambda_max == pytest.approx(np.max(np.abs(grad[c > 0])), rel=1e-6)


def test_weights_scale_lambda_max_and_match_single_fits():
    X, y = data(40, 15)
    c = np.linspace(0.5, 2.0, 15)
    path = pz.regularization_path(X, y, weights=c, n_lambdas=10, **TIGHT)
    single = pz.Lasso(lam=path.lambdas[5], weights=c, **TIGHT).fit(X, y)
    assert relative_error(path.coefs[:, 5], single.coef_) < 1e-6
    g = 2 * (X - X.mean(0)).T @ (y - y.mean()) / len(y)
    assert path.lambda_max == pytest.approx(np.max(np.abs(g) / c))


def test_penalty_object_is_scaled_along_the_grid():
    X, y = data(40, 15)
    penalty = pz.L1L2(l1=0.3, l2=0.2, weights=np.linspace(1, 2, 15))
    path = pz.regularization_path(X, y, penalty, n_lambdas=10, **TIGHT)
    assert path.penalty_at(4) == penalty.scaled(path.lambdas[4])
    single = pz.LinearRegression(penalty=penalty.scaled(path.lambdas[4]), **TIGHT).fit(X, y)
    assert relative_error(path.coefs[:, 4], single.coef_) < 1e-6
    assert np.all(path.coefs[:, 0] == 0)


def test_ridge_grid_uses_elastic_net_lambda_max_at_l1_ratio_1e3():
    X, y = data(40, 15)
    g = np.max(np.abs(2 * (X - X.mean(0)).T @ (y - y.mean()) / len(y)))
    ridge = pz.regularization_path(X, y, "l2", n_lambdas=5)
    # L2(lam)·Σw² with lam = (ElasticNet λ_max at ρ = 1e-3)·(1 − 0)/2: glmnet's ridge lambda_max
    assert ridge.lambda_max == pytest.approx(g / RIDGE_L1_RATIO / 2)
    enet0 = pz.regularization_path(X, y, "elasticnet", l1_ratio=0.0, n_lambdas=5)
    assert enet0.lambda_max == pytest.approx(g / RIDGE_L1_RATIO)


def test_result_fields_and_frame():
    X, y = data(40, 10)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(10)])
    path = pz.regularization_path(frame, y, n_lambdas=12, tol=1e-8, early_stop=False)
    assert path.coefs.shape == (10, 12) and path.intercepts.shape == (12,)
    np.testing.assert_array_equal(path.n_nonzero, (path.coefs != 0).sum(axis=0))
    preds = X @ path.coefs + path.intercepts
    np.testing.assert_allclose(path.train_loss, ((y[:, None] - preds) ** 2).mean(axis=0), rtol=1e-10)
    assert np.all(path.dual_gaps <= path.thresholds)
    assert np.all(np.diff(path.train_loss) <= 1e-12)  # the fit improves as λ decreases
    np.testing.assert_allclose(path.objective, path.train_loss + path.lambdas * np.abs(path.coefs).sum(0))
    assert list(path.feature_names) == list(frame.columns)
    assert set(path.selected_features(5)) == {f"f{j}" for j in np.flatnonzero(path.coefs[:, 5])}
    table = path.to_frame()
    assert list(table.columns[:3]) == ["lambda", "intercept", "f0"] and len(table) == 12


def test_sparse_equals_dense():
    X, y = data(40, 30)
    X[np.abs(X) < 0.8] = 0.0
    dense = pz.regularization_path(X, y, n_lambdas=10, **TIGHT)
    sparse = pz.regularization_path(sp.csc_matrix(X), y, n_lambdas=10, **TIGHT)
    assert relative_error(sparse.coefs, dense.coefs) < 1e-6


def test_one_convergence_warning_for_the_whole_path():
    X, y = data(30, 60, rho=0.95)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = pz.regularization_path(X, y, n_lambdas=30, tol=1e-14, max_iter=2)
    messages = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 1
    assert "of 30 fits did not converge" in str(messages[0].message)
    assert not path.converged.all()


def test_plot_labels_features(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    X, y = data(40, 6)
    frame = pd.DataFrame(X, columns=["age", "dose", "bmi", "a", "b", "c"])
    ax = pz.regularization_path(frame, y, n_lambdas=20).plot()
    texts = {t.get_text() for t in ax.texts}
    assert {"age", "dose", "bmi"} <= texts
    assert len(ax.lines) >= 6
    ax.figure.savefig(tmp_path / "path.png")


def test_import_penalized_stays_light():
    code = ("import sys, penalized as pz; pz.regularization_path; pz.LassoCV; pz.stability_selection; "
            "print(sorted(m for m in ('matplotlib', 'torch', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("make_unit", [lambda p: pz.L1(1.0), lambda p: pz.GroupL1(1.0, groups=np.arange(p) // 4)])
def test_user_grid_from_lambda_max_keeps_the_null_intercept(make_unit):
    """A user grid whose first λ is λ_max, with strong-rule screening (p ≥ 1000, p > n): the
    first point is the null model (zero coefficients, intercept ȳ), never a missing intercept."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 1200))
    y = X[:, :8] @ rng.standard_normal(8) + 0.5 + rng.standard_normal(60)
    unit = make_unit(X.shape[1])
    lam_max = pz.lambda_max(X, y, unit)
    res = pz.regularization_path(X, y, unit, lambdas=lam_max * np.array([1.0, 0.5, 0.2]), tol=1e-8)
    assert np.all(np.isfinite(res.intercepts))
    assert not np.any(res.coefs[:, 0]) and res.intercepts[0] == pytest.approx(y.mean(), rel=1e-12)
    assert np.any(res.coefs[:, -1])
