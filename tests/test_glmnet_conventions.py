"""``pz.glmnet_penalty``: glmnet's lambda, alpha, penalty.factor (and sd(y)) in penalized's scale."""

import numpy as np
import pytest

import penalized as pz

try:  # python-glmnet: glmnet's Fortran (built from source; see docs/paths_and_cv.md)
    import glmnet
except ImportError:  # pragma: no cover - the reference is optional
    glmnet = None
needs_glmnet = pytest.mark.skipif(glmnet is None, reason="python-glmnet (glmnet's Fortran) not installed")


def _data(n=100, p=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * np.linspace(0.5, 3.0, p) + 1.0
    y = 3.0 * (X @ rng.normal(size=p)) + 5.0 * rng.normal(size=n) + 10.0
    return X, y


def test_gaussian_formula():
    X, y = _data()
    w = np.r_[np.ones(50), 2 * np.ones(50)]
    a = w / w.sum()
    sd = np.sqrt(a @ (y - a @ y) ** 2)
    pen = pz.glmnet_penalty(0.3, 0.2, y=y, sample_weight=w)
    assert isinstance(pen, pz.L1L2)
    assert pen.l1 == pytest.approx(2 * 0.3 * 0.2) and pen.l2 == pytest.approx(0.3 * 0.8 / sd)
    assert pz.glmnet_penalty(0.3, family="binomial") == pz.L1L2(0.3, 0.0)
    assert pz.glmnet_penalty(0.3, 0.4, family="poisson") == pz.L1L2(0.12, 0.09)
    pen = pz.glmnet_penalty(0.3, penalty_factor=[1, 0, 3, 0])
    np.testing.assert_allclose(pen.weights, [1, 0, 3, 0])  # sum 4 = p: unchanged
    np.testing.assert_allclose(pz.glmnet_penalty(0.3, penalty_factor=[2, 2, 0, 4]).weights, [1, 1, 0, 2])


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.2])
def test_gaussian_equals_glmnets_objective_on_standardized_y(alpha):
    """glmnet fits ỹ = y/σ_y with λ/σ_y: its documented objective on that scale, solved by hand and
    mapped back (β = σ_y β̃), is the fit with ``glmnet_penalty`` on y (KKT at 1e-12)."""
    X, y = _data(seed=1)
    w = np.r_[np.ones(50), 2 * np.ones(50)]
    a = w / w.sum()
    sd = np.sqrt(a @ (y - a @ y) ** 2)
    lambda_ = 0.5
    # (1/2)·MSE(ỹ) + (λ/σ)(α|β̃| + (1−α)/2 β̃²), times 2: MSE + L1L2(2λ̃α, λ̃(1−α)), λ̃ = λ/σ
    lt = lambda_ / sd
    ref = pz.LinearRegression(pz.L1L2(2 * lt * alpha, lt * (1 - alpha)), standardize=True, tol=1e-14)
    ref.fit(X, y / sd, sample_weight=w)
    fit = pz.LinearRegression(pz.glmnet_penalty(lambda_, alpha, y=y, sample_weight=w), standardize=True,
                              tol=1e-14).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(fit.coef_, sd * ref.coef_, atol=1e-9 * sd)
    np.testing.assert_allclose(fit.intercept_, sd * ref.intercept_, atol=1e-8 * sd)
    assert np.count_nonzero(fit.coef_) > 0


def test_bad_input():
    with pytest.raises(ValueError, match="needs y="):
        pz.glmnet_penalty(0.1, 0.5)
    with pytest.raises(ValueError, match="alpha must be a number in"):
        pz.glmnet_penalty(0.1, 1.5, y=[1.0, 2.0])
    with pytest.raises(ValueError, match="family must be one of"):
        pz.glmnet_penalty(0.1, family="gamma")
    with pytest.raises(ValueError, match="positive entry"):
        pz.glmnet_penalty(0.1, penalty_factor=[0, 0])
    with pytest.raises(ValueError, match=">= 0"):
        pz.glmnet_penalty(0.1, penalty_factor=[1, -1])
    with pytest.raises(ValueError, match="y is constant"):
        pz.glmnet_penalty(0.1, 0.5, y=np.ones(5))
    with pytest.raises(ValueError, match="lambda_"):
        pz.glmnet_penalty(-1.0)




@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.2])
@pytest.mark.parametrize("standardize", [True, False])
@needs_glmnet
def test_gaussian_against_glmnet(alpha, standardize):
    """The vignette's setting: alpha = 0.2, weights c(rep(1, 50), rep(2, 50)), here with penalty
    factors too; every λ of a glmnet path."""
    X, y = _data(seed=2)
    w = np.r_[np.ones(50), 2 * np.ones(50)]
    pf = np.array([1, 0.5, 2, 1, 0, 3, 1, 1.0])
    g = glmnet.ElasticNet(alpha=alpha, n_lambda=20, n_splits=0, standardize=standardize, tol=1e-14).fit(
        X, y, sample_weight=w, relative_penalties=pf)
    worst = 0.0
    for k in range(0, len(g.lambda_path_), 3):
        pen = pz.glmnet_penalty(g.lambda_path_[k], alpha, y=y, penalty_factor=pf, sample_weight=w)
        fit = pz.LinearRegression(pen, standardize=standardize, tol=1e-14).fit(X, y, sample_weight=w)
        worst = max(worst, np.abs(fit.coef_ - g.coef_path_[:, k]).max() / np.abs(g.coef_path_[:, -1]).max())
        np.testing.assert_allclose(fit.intercept_, g.intercept_path_[k], atol=1e-6 * abs(y).max())
    assert worst < 1e-7


@pytest.mark.parametrize("alpha", [1.0, 0.3])
@needs_glmnet
def test_binomial_against_glmnet(alpha):
    X, y = _data(n=150, seed=3)
    labels = (y > np.median(y)).astype(int)
    pf = np.array([1, 0.5, 2, 1, 0, 3, 1, 1.0])
    g = glmnet.LogitNet(alpha=alpha, n_splits=0, lambda_path=[0.5, 0.03], standardize=True, tol=1e-14).fit(
        X, labels, relative_penalties=pf)
    pen = pz.glmnet_penalty(0.03, alpha, penalty_factor=pf, family="binomial")
    fit = pz.LogisticRegression(pen, standardize=True, tol=1e-14).fit(X, labels)
    np.testing.assert_allclose(fit.coef_[0], g.coef_path_[0, :, 1], atol=1e-6)
    np.testing.assert_allclose(fit.intercept_[0], g.intercept_path_[0, 1], atol=1e-5)
