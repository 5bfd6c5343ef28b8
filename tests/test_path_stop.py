"""glmnet's early exit (fdev, devmax), dfmax / pmax, CV over folds whose paths stopped at different
lengths, and the sparse storage of path coefficients."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold

import penalized as pz
from penalized._path_stop import DEVMAX, FDEV, MIN_LAMBDAS


def data(n=100, p=10, noise=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:4] = [2.0, -1.5, 1.0, 0.5]
    return X, X @ w + noise * rng.standard_normal(n)


def deviance_ratio(X, y, path):
    rss = ((y[:, None] - path.predict(X)) ** 2).sum(axis=0)
    return 1 - rss / ((y - y.mean()) ** 2).sum()


@pytest.mark.parametrize("noise", [1.0, 0.01])
def test_early_stop_is_a_prefix_cut_where_glmnet_cuts(noise):
    X, y = data(noise=noise)
    full = pz.regularization_path(X, y, tol=1e-12, early_stop=False)
    cut = pz.regularization_path(X, y, tol=1e-12)
    assert len(full) == 100 and cut.stopped_early and not full.stopped_early
    k = len(cut)
    assert MIN_LAMBDAS <= k < 100
    np.testing.assert_array_equal(cut.lambdas, full.lambdas[:k])  # a prefix of the same grid
    np.testing.assert_allclose(cut.coefs, full.coefs[:, :k], atol=1e-8)
    dev = deviance_ratio(X, y, full)  # computed here from the predictions
    np.testing.assert_allclose(cut.dev_ratio, dev[:k], atol=1e-9)
    rule = (np.diff(dev) < FDEV * dev[1:]) | (dev[1:] > DEVMAX)  # rule[i-1]: stop after point i
    assert rule[k - 2] and not rule[MIN_LAMBDAS - 2:k - 2].any()


def test_user_grid_is_not_cut_unless_asked():
    X, y = data(noise=0.01)
    grid = np.geomspace(3.0, 1e-4, 60)
    assert len(pz.regularization_path(X, y, lambdas=grid, tol=1e-12)) == 60  # as glmnet
    cut = pz.regularization_path(X, y, lambdas=grid, tol=1e-12, early_stop=True)
    assert len(cut) < 60 and np.array_equal(cut.lambdas, grid[: len(cut)])
    with pytest.raises(ValueError, match="early_stop"):
        pz.regularization_path(X, y, early_stop="yes")


def test_dfmax_and_pmax_are_glmnets():
    X, y = data(p=30)
    full = pz.regularization_path(X, y, n_lambdas=50, tol=1e-10, early_stop=False)
    df = full.n_nonzero
    path = pz.regularization_path(X, y, n_lambdas=50, tol=1e-10, dfmax=3, early_stop=False)
    k = len(path)
    assert df[k - 1] > 3 and np.all(df[MIN_LAMBDAS - 1:k - 1] <= 3)  # stops after the first point over dfmax
    ever = np.logical_or.accumulate(full.coefs != 0, axis=1).sum(axis=0)
    path = pz.regularization_path(X, y, n_lambdas=50, tol=1e-10, pmax=5, early_stop=False)
    k = len(path)
    assert np.all(ever[:k] <= 5) and ever[k] > 5  # ends before the first point over pmax
    np.testing.assert_allclose(path.coefs, full.coefs[:, :k], atol=1e-10)
    with pytest.raises(ValueError, match="pmax"):
        pz.regularization_path(X, y, pmax=-1)


def test_cv_folds_that_stop_at_different_lengths_are_extended_with_their_last_point():
    X, y = data(n=90, p=30)
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    cv = pz.LassoCV(n_lambdas=40, cv=folds, tol=1e-10, pmax=6, early_stop=False).fit(X, y)
    grid = cv.lambdas_
    lengths = []
    for f, (train, test) in enumerate(folds):
        fold = pz.regularization_path(X[train], y[train], lambdas=grid, tol=1e-10, pmax=6)
        lengths.append(len(fold))
        # cv.glmnet predicts a fold at the whole grid: beyond its last λ, its last point
        pred = fold.predict(X[test], grid)
        np.testing.assert_allclose(cv.cv_scores_[f], ((y[test][:, None] - pred) ** 2).mean(axis=0), rtol=1e-8)
    assert len(set(lengths)) > 1 and min(lengths) < len(grid)


def test_cv_grid_is_the_full_paths_and_default_folds_are_shuffled():
    X, y = data(n=120, noise=0.01)
    cv = pz.LassoCV(cv=5, tol=1e-10).fit(X, y)
    full = pz.regularization_path(X, y, tol=1e-10)
    np.testing.assert_array_equal(cv.lambdas_, full.lambdas)  # glmnet: the folds use the full fit's grid
    assert cv.path_.stopped_early
    # rows sorted by y: the default folds are shuffled (seeded), so each fold sees the whole range
    order = np.argsort(y)
    a = pz.LassoCV(cv=5, n_lambdas=30, tol=1e-8).fit(X[order], y[order])
    b = pz.LassoCV(cv=5, n_lambdas=30, tol=1e-8).fit(X[order], y[order])
    np.testing.assert_array_equal(a.cv_mean_, b.cv_mean_)  # reproducible (random_state=0)
    ref = pz.LassoCV(cv=KFold(5, shuffle=True, random_state=0), n_lambdas=30, tol=1e-8).fit(X[order], y[order])
    np.testing.assert_array_equal(a.cv_mean_, ref.cv_mean_)
    c = pz.LassoCV(cv=5, n_lambdas=30, tol=1e-8, random_state=1).fit(X[order], y[order])
    assert not np.array_equal(a.cv_mean_, c.cv_mean_)


def sparse_design(n, p, density, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=seed)
    w = np.zeros(p)
    w[:20] = rng.standard_normal(20) * 3
    return X, np.asarray(X @ w).ravel() + 0.1 * rng.standard_normal(n)


def test_sparse_coefficient_store_matches_dense_and_stays_small():
    X, y = sparse_design(200, 20_000, 0.002)
    # tol 1e-10: the dense and sparse fits are compared to 1e-6 (n < p: a certificate of 1e-8 allows
    # coefficients a few 1e-6 apart)
    path = pz.regularization_path(X, y, n_lambdas=30, eps=0.1, tol=1e-10, early_stop=False)
    assert sp.issparse(path.coef_store) and path.coef_store.shape == (20_000, 30)
    assert isinstance(path.coefs, np.ndarray)  # dense-looking below 10⁷ entries
    np.testing.assert_array_equal(path.n_nonzero, (path.coefs != 0).sum(axis=0))
    np.testing.assert_array_equal(path.coefs_sparse.toarray(), path.coefs)
    dense = pz.regularization_path(X.toarray(), y, n_lambdas=30, eps=0.1, tol=1e-10, early_stop=False)
    np.testing.assert_allclose(path.coefs, dense.coefs, atol=1e-6)
    np.testing.assert_allclose(path.coef_at(12), dense.coefs[:, 12], atol=1e-6)
    np.testing.assert_allclose(path.predict(X, path.lambdas[12]), dense.predict(X.toarray(), path.lambdas[12]),
                               atol=1e-5)


def test_large_sparse_path_never_allocates_the_dense_coefficients():
    p, k = 200_000, 100
    X, y = sparse_design(300, p, 0.0005, seed=1)
    tracemalloc.start()
    path = pz.regularization_path(X, y, n_lambdas=k, eps=0.05, early_stop=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sp.issparse(path.coefs)  # beyond 10⁷ entries the property is the sparse store itself
    assert peak < 8 * p * k / 3  # a third of the 160 MB of a dense p × k array (the names take 12 MB)


def test_default_tol_stops_where_the_tight_path_does():
    """At the default tol a warm start may not move, so its measured change is 0; such a point is
    solved again before the fdev rule is applied: the cut matches the tightly solved path's."""
    X, y = data(noise=0.01)
    loose = pz.regularization_path(X, y)
    tight = pz.regularization_path(X, y, tol=1e-12)
    assert abs(len(loose) - len(tight)) <= 1
    assert loose.dev_ratio[-1] > 0.999 or loose.dev_ratio[-1] == pytest.approx(tight.dev_ratio[-1], abs=1e-4)
    assert np.all(loose.converged)
