"""Dask input: the estimators fit on a cluster and agree with the in-memory fits.

Most checks run on Dask's synchronous scheduler (the same chunk functions and the same
client code, without processes); the ones that are about the cluster itself (pickling,
workers that never send X back, a worker killed mid-fit) run on a ``LocalCluster`` of
processes with small memory limits.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

import dask  # noqa: E402
import pandas as pd  # noqa: E402

import penalized as pz  # noqa: E402
from penalized import certificate  # noqa: E402
from penalized.dask import chunks as C  # noqa: E402
from penalized.dask import newton  # noqa: E402

TIGHT = dict(tol=1e-13, max_iter=100_000)  # both solvers near the rounding level: 1e-6 is meaningful


@pytest.fixture
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="600MB",
                           dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


def regression_data(rng, n=600, p=12, sparse=False, offset=3.0):
    if sparse:
        X = sp.random(n, p, density=0.3, format="csr", random_state=rng, dtype=np.float64)
    else:
        X = rng.standard_normal((n, p)) + offset  # far from centred: the merge must keep the digits
    beta = np.zeros(p)
    beta[:4] = [1.5, -2.0, 0.7, 3.0][:p]
    y = np.asarray(X @ beta).ravel() + rng.standard_normal(n)
    return X, y


def to_dask(X, chunk=110):
    if sp.issparse(X):
        return da.from_array(X, chunks=(chunk, X.shape[1]), asarray=False)
    return da.from_array(X, chunks=(chunk, max(1, X.shape[1] // 2)))  # column chunks get merged


def rel(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12)


def same_intercept(X, sw, est, ref, fit_intercept):
    """Intercepts agree at the (weighted) mean of X, where the solvers determine them (b + x̄ᵀw)."""
    if not fit_intercept:
        return np.all(np.asarray(est.intercept_) == 0)
    mean = np.asarray(np.average(X.toarray() if sp.issparse(X) else X, axis=0, weights=sw))
    at_mean = lambda m: np.ravel(m.intercept_) + np.atleast_2d(m.coef_) @ mean  # noqa: E731
    a, b = at_mean(est), at_mean(ref)
    return np.all(np.abs(a - b) <= 1e-6 * np.maximum(1.0, np.abs(b)))


# ------------------------------------------------------------------------------- equality
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_squared_error_equals_in_memory(synchronous, sparse, fit_intercept, weighted):
    rng = np.random.default_rng(1)
    X, y = regression_data(rng, sparse=sparse)
    sw = rng.uniform(0.2, 3.0, X.shape[0]) if weighted else None
    for est in (pz.Lasso(lam=0.05, **TIGHT), pz.ElasticNet(lam=0.05, l1_ratio=0.4, **TIGHT),
                pz.LinearRegression(pz.L2(0.01), **TIGHT), pz.LinearRegression(None, **TIGHT)):
        est.set_params(fit_intercept=fit_intercept)
        ref = clone(est).fit(X, y, sample_weight=sw)
        est.fit(to_dask(X), da.from_array(y, chunks=110), sample_weight=None if sw is None else
                da.from_array(sw, chunks=70))  # y and sample_weight chunked unlike X: re-cut like X
        assert rel(est.coef_, ref.coef_) < 1e-6
        assert same_intercept(X, sw, est, ref, fit_intercept)
        # the same certificate, recomputed from the gathered data at the Dask coefficients
        cert = certificate(X, y, est.coef_, est.intercept_, datafit=pz.SquaredError(), penalty=est._penalty(12),
                           sample_weight=sw, fit_intercept=fit_intercept)
        assert est.dual_gap_ == pytest.approx(cert.value, rel=1e-5, abs=1e-13 * cert.null_loss)
        assert cert.relative <= 1e-13
        assert isinstance(est.coef_, np.ndarray) and est.n_iter_ == 1


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_logistic_equals_in_memory(synchronous, sparse, fit_intercept, weighted):
    rng = np.random.default_rng(2)
    X, y = regression_data(rng, sparse=sparse, offset=1.0)
    labels = np.where(y > np.median(y) + 0.5, "yes", "no")
    sw = rng.uniform(0.2, 3.0, X.shape[0]) if weighted else None
    for penalty in (pz.L1(0.01), pz.L1L2(l1=0.005, l2=0.01), pz.L2(0.001)):
        ref = pz.LogisticRegression(penalty, fit_intercept=fit_intercept, **TIGHT)
        ref.fit(X.tocsc() if sparse else X, labels, sample_weight=sw)
        est = pz.LogisticRegression(penalty, fit_intercept=fit_intercept, **TIGHT)
        est.fit(to_dask(X), da.from_array(labels, chunks=110),
                sample_weight=None if sw is None else da.from_array(sw, chunks=110))
        assert list(est.classes_) == ["no", "yes"]
        assert rel(est.coef_, ref.coef_) < 1e-6
        assert same_intercept(X, sw, est, ref, fit_intercept)
        cert = certificate(X, labels, est.coef_[0], est.intercept_[0], datafit=pz.Logistic(), penalty=penalty,
                           sample_weight=sw, fit_intercept=fit_intercept)
        assert est.dual_gap_[0] == pytest.approx(cert.value, rel=1e-6, abs=1e-13)
        assert cert.relative <= 1e-13


@pytest.mark.slow  # pydata sparse compiles its numba functions on first use
def test_pydata_sparse_chunks(synchronous):
    sparse = pytest.importorskip("sparse")
    rng = np.random.default_rng(23)
    X, y = regression_data(rng, n=300, p=8, sparse=True)
    Xd = da.from_array(X.toarray(), chunks=(70, 8)).map_blocks(sparse.COO)
    est = pz.Lasso(lam=0.01, **TIGHT).fit(Xd, da.from_array(y, chunks=70))
    ref = pz.Lasso(lam=0.01, **TIGHT).fit(X, y)
    assert rel(est.coef_, ref.coef_) < 1e-6
    np.testing.assert_allclose(est.predict(Xd).compute(), ref.predict(X), rtol=1e-9, atol=1e-9)


def test_what_dask_does_not_fit_raises_clearly(synchronous):
    """More than two classes with an offset or a box, several targets with an offset, boxes on paths: a
    NotImplementedError that names what Dask input supports, never a different model (and a
    non-convex multinomial: the in-memory ValueError)."""
    rng = np.random.default_rng(3)
    X, y = regression_data(rng)
    dX = to_dask(X)
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    with pytest.raises(NotImplementedError, match="offset=.*more than two classes"):
        pz.LogisticRegression(pz.L1(0.01)).fit(dX, da.from_array(labels, chunks=110),
                                               offset=da.zeros((y.shape[0], 3), chunks=(110, 3)))
    with pytest.raises(NotImplementedError, match="more than two classes takes no bounds"):
        pz.LogisticRegression(pz.L1(0.01), positive=True).fit(dX, da.from_array(labels, chunks=110))
    counts = rng.poisson(1.0, size=y.shape[0]).astype(float)
    Y = np.column_stack([y, -y])
    with pytest.raises(NotImplementedError, match="several targets.*offset|offset.*several targets"):
        pz.MultiTaskLasso(lam=0.1).fit(dX, da.from_array(Y, chunks=(110, 2)), offset=np.zeros(y.shape[0]))
    with pytest.raises(ValueError, match="needs a 2-D y"):
        pz.MultiTaskLasso(lam=0.1).fit(dX, da.from_array(y, chunks=110))
    with pytest.raises(NotImplementedError, match="certificate on Dask input takes one target"):
        certificate(dX, da.from_array(Y, chunks=(110, 2)), np.zeros((2, 12)), np.zeros(2), datafit=pz.SquaredError(),
                    penalty=pz.L1(0.1))
    with pytest.raises(NotImplementedError, match="certificate on Dask input takes the data fits"):
        certificate(dX, da.from_array(labels, chunks=110), np.zeros((3, 12)), np.zeros(3), datafit=pz.Multinomial(),
                    penalty=pz.L1(0.1))
    with pytest.raises(ValueError, match="MCP is not supported with several outputs"):  # as in memory
        pz.LogisticRegression(pz.MCP(0.1)).fit(dX, da.from_array(labels, chunks=110))
    with pytest.raises(NotImplementedError, match="bounds"):
        pz.regularization_path(dX, da.from_array(y, chunks=110), positive=True)
    with pytest.raises(NotImplementedError, match="LassoCV's and ElasticNetCV's"):
        pz.PoissonRegressorCV(cv=3).fit(dX, da.from_array(counts, chunks=110))
    with pytest.raises(NotImplementedError, match="LassoCV's and ElasticNetCV's"):
        pz.MultiTaskLassoCV(cv=3).fit(dX, da.from_array(Y, chunks=(110, 2)))


def _glm_data(rng, n=500, p=12):
    X = rng.standard_normal((n, p)) * 0.5 + 1.0
    beta = np.zeros(p)
    beta[:4] = [0.3, -0.2, 0.4, -0.5]
    eta = X @ beta
    offset = rng.uniform(-1.0, 1.0, n)
    targets = {"squared": eta + offset + 0.3 * rng.standard_normal(n),
               "poisson": rng.poisson(np.exp(eta - 0.5 + offset)).astype(float),
               "logistic": np.where(eta + offset + 0.3 * rng.standard_normal(n) > np.median(eta), "b", "a")}
    return X, targets, offset, rng.uniform(0.3, 2.0, n)


_GLM_CELLS = {
    "squared": (lambda **kw: pz.Lasso(lam=0.01, **kw), pz.SquaredError()),
    "poisson": (lambda **kw: pz.PoissonRegressor(pz.L1(0.005), **kw), pz.Poisson()),
    "poisson-enet": (lambda **kw: pz.PoissonRegressor(pz.L1L2(l1=0.003, l2=0.02), **kw), pz.Poisson()),
    "poisson-ridge": (lambda **kw: pz.PoissonRegressor(pz.L2(0.01), **kw), pz.Poisson()),
    "logistic": (lambda **kw: pz.LogisticRegression(pz.L1L2(l1=0.002, l2=0.01), **kw), pz.Logistic()),
}
_GLM_TIGHT = dict(tol=1e-12, max_iter=10_000)


@pytest.mark.parametrize("cell", list(_GLM_CELLS))
@pytest.mark.parametrize("extra", ["plain", "offset", "positive", "bounds", "offset+bounds+weights"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_poisson_offsets_and_bounds_equal_in_memory(synchronous, cell, extra, fit_intercept):
    """Poisson, offsets and boxes on Dask: the in-memory fit's coefficients, and both certificates (the
    Dask fit's own, and the in-memory one recomputed at its coefficients) within the threshold."""
    rng = np.random.default_rng(30)
    X, targets, offset, sw = _glm_data(rng)
    make, datafit = _GLM_CELLS[cell]
    y = targets[cell.split("-")[0]]
    box = {"positive": dict(positive=True), "bounds": dict(bounds=(-0.1, 0.25)),
           "offset+bounds+weights": dict(bounds=(-0.15, np.inf))}.get(extra, {})
    use_offset = "offset" in extra
    weights = sw if "weights" in extra else None
    ref = make(fit_intercept=fit_intercept, **box, **_GLM_TIGHT).fit(
        X, y, sample_weight=weights, offset=offset if use_offset else None)
    est = make(fit_intercept=fit_intercept, **box, **_GLM_TIGHT)
    est.fit(da.from_array(X, chunks=(110, 12)), da.from_array(y, chunks=110),
            sample_weight=None if weights is None else da.from_array(weights, chunks=90),
            offset=da.from_array(offset, chunks=90) if use_offset else None)
    assert rel(est.coef_, ref.coef_) < 1e-5
    assert np.allclose(np.ravel(est.intercept_), np.ravel(ref.intercept_), rtol=1e-5, atol=1e-6)
    bounds = {"positive": (0.0, np.inf)}.get(extra, box.get("bounds"))
    cert = certificate(X, y, np.ravel(est.coef_), np.ravel(est.intercept_)[0], datafit=datafit,
                       penalty=est._penalty(12), sample_weight=weights, fit_intercept=fit_intercept, bounds=bounds,
                       offset=offset if use_offset else None)
    assert cert.relative <= 1e-12
    assert np.ravel(est.dual_gap_)[0] <= 1e-12 * cert.null_loss
    assert np.ravel(est.dual_gap_)[0] == pytest.approx(cert.value, rel=1e-3, abs=1e-14 * cert.null_loss)
    if box:  # the box binds: the test is not vacuous
        lower, upper = (0.0, np.inf) if extra == "positive" else box["bounds"]
        assert np.any(np.ravel(ref.coef_) == lower) or np.any(np.ravel(ref.coef_) == upper)


_GROUPS = np.repeat(np.arange(4), 3)
_GROUP_PENALTIES = {
    "group": pz.GroupL1(0.05, groups=_GROUPS),
    "sparse-group": pz.GroupL1(0.03, groups=_GROUPS, weights=[1.0, 0.5, 2.0, 1.0]) + pz.L1(0.01),
    "group-ridge": pz.GroupL1(0.03, groups=_GROUPS) + pz.L2(0.01),
}


@pytest.mark.parametrize("penalty", list(_GROUP_PENALTIES))
@pytest.mark.parametrize("datafit", ["squared", "logistic"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_group_penalties_equal_in_memory(synchronous, penalty, datafit, fit_intercept):
    """Group penalties on Dask: each Newton model (or the Gram statistics) solved by the in-memory block
    solver; the coefficients of the in-memory fit, the same certificate, within the threshold."""
    rng = np.random.default_rng(33)
    n, p = 400, 12
    X = rng.standard_normal((n, p)) * 0.5 + 1.0
    beta = np.zeros(p)
    beta[[0, 1, 2, 6]] = [0.8, -0.5, 0.6, 0.4]
    eta = X @ beta + 0.3 * rng.standard_normal(n)
    y = eta if datafit == "squared" else eta > np.median(eta)
    sw = rng.uniform(0.3, 2.0, n)
    pen = _GROUP_PENALTIES[penalty]
    make = pz.LinearRegression if datafit == "squared" else pz.LogisticRegression
    ref = make(pen, fit_intercept=fit_intercept, **_GLM_TIGHT).fit(X, y, sample_weight=sw)
    est = make(pen, fit_intercept=fit_intercept, **_GLM_TIGHT).fit(
        da.from_array(X, chunks=(110, 12)), da.from_array(y, chunks=110), sample_weight=da.from_array(sw, chunks=90))
    assert 0 < np.count_nonzero(ref.coef_) < p  # some groups are out: the penalty binds
    assert rel(est.coef_, ref.coef_) < 1e-5
    assert same_intercept(X, sw, est, ref, fit_intercept)
    df = pz.SquaredError() if datafit == "squared" else pz.Logistic()
    coef, b = np.ravel(est.coef_), np.ravel(est.intercept_)[0]
    cert = certificate(X, y, coef, b, datafit=df, penalty=pen, sample_weight=sw, fit_intercept=fit_intercept)
    assert cert.relative <= 1e-12
    assert np.ravel(est.dual_gap_)[0] <= 1e-12 * cert.null_loss
    on_dask = certificate(da.from_array(X, chunks=(110, 12)), da.from_array(y, chunks=110), coef, b, datafit=df,
                          penalty=pen, sample_weight=da.from_array(sw, chunks=110), fit_intercept=fit_intercept)
    assert on_dask.value == pytest.approx(cert.value, rel=1e-6, abs=1e-15 * cert.null_loss)
    assert on_dask.null_loss == pytest.approx(cert.null_loss, rel=1e-12)


@pytest.mark.parametrize("make", [lambda: pz.MultiTaskLasso(lam=0.1),
                                  lambda: pz.MultiTaskElasticNet(lam=0.1, l1_ratio=0.5),
                                  lambda: pz.LinearRegression(pz.L1(0.05)),
                                  lambda: pz.LinearRegression(pz.GroupL1(0.6, groups=np.repeat(np.arange(5), 2)))],
                         ids=["mtlasso", "mtenet", "l1", "group"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multi_task_equals_in_memory(synchronous, make, fit_intercept):
    """Several targets on Dask: one pass, the block solver on the client; the in-memory fit's
    coefficients and intercepts, and the in-memory certificate at them within the threshold."""
    rng = np.random.default_rng(35)
    n, p, T = 400, 10, 3
    X = rng.standard_normal((n, p)) + 2.0
    B = np.zeros((p, T))
    B[:3] = rng.standard_normal((3, T))
    Y = X @ B + rng.standard_normal((n, T))
    sw = rng.uniform(0.3, 2.0, n)
    ref = make().set_params(fit_intercept=fit_intercept, **_GLM_TIGHT).fit(X, Y, sample_weight=sw)
    est = make().set_params(fit_intercept=fit_intercept, **_GLM_TIGHT)
    est.fit(da.from_array(X, chunks=(90, 5)), da.from_array(Y, chunks=(70, 2)),
            sample_weight=da.from_array(sw, chunks=90))
    assert est.coef_.shape == ref.coef_.shape == (T, p) and est.intercept_.shape == (T,)
    assert 0 < np.count_nonzero(ref.coef_) < T * p or isinstance(est, pz.MultiTaskElasticNet)
    assert rel(est.coef_, ref.coef_) < 1e-5
    assert same_intercept(X, sw, est, ref, fit_intercept)
    cert = certificate(X, Y, est.coef_, est.intercept_, datafit=pz.SquaredError(), penalty=est._penalty(p),
                       sample_weight=sw, fit_intercept=fit_intercept)
    assert cert.relative <= 1e-12
    assert est.dual_gap_ <= 1e-12 * cert.null_loss
    if type(est._penalty(p)).__name__ == "L1":  # separable: one solve per target, as in memory
        cert = sum(certificate(X, Y[:, t], est.coef_[t], est.intercept_[t], datafit=pz.SquaredError(),
                               penalty=est._penalty(p), sample_weight=sw, fit_intercept=fit_intercept).value
                   for t in range(T))
        assert est.dual_gap_ == pytest.approx(cert, rel=1e-3, abs=1e-14)
    else:
        assert est.dual_gap_ == pytest.approx(cert.value, rel=1e-3, abs=1e-14 * cert.null_loss)
    np.testing.assert_allclose(est.predict(da.from_array(X, chunks=(90, 10))).compute(), ref.predict(X), rtol=1e-8,
                               atol=1e-8)


@pytest.mark.parametrize("penalty", [pz.L1(0.01), pz.L2(0.01), pz.L1L2(l1=0.005, l2=0.01),
                                     pz.GroupL1(0.02, groups=np.repeat(np.arange(4), 2))],
                         ids=["l1", "l2", "enet", "group"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_multinomial_equals_in_memory(synchronous, penalty, fit_intercept, sparse):
    """More than two classes on Dask: distributed proximal Newton on (W, b), each model solved by the
    in-memory block solver; the in-memory fit's coefficients and predictions (intercepts up to the
    common shift softmax ignores), and its certificate at them within the threshold."""
    rng = np.random.default_rng(36)
    n, p, K = 400, 8, 3
    X = rng.standard_normal((n, p)) + 1.0
    if sparse:
        X = sp.csr_matrix(X * (rng.random((n, p)) < 0.5))
    B = np.zeros((p, K))
    B[:3] = rng.standard_normal((3, K)) * 1.5
    labels = np.array(["a", "b", "c"])[np.argmax(np.asarray(X @ B) + rng.gumbel(size=(n, K)), axis=1)]
    sw = rng.uniform(0.3, 2.0, n)
    ref = pz.LogisticRegression(penalty, fit_intercept=fit_intercept, **_GLM_TIGHT).fit(
        X.tocsc() if sparse else X, labels, sample_weight=sw)
    est = pz.LogisticRegression(penalty, fit_intercept=fit_intercept, **_GLM_TIGHT)
    est.fit(to_dask(X, chunk=90), da.from_array(labels, chunks=90), sample_weight=da.from_array(sw, chunks=90))
    assert list(est.classes_) == ["a", "b", "c"] and est.coef_.shape == (K, p)
    assert rel(est.coef_, ref.coef_) < 1e-5
    shift = lambda b: b - b.mean()  # noqa: E731
    np.testing.assert_allclose(shift(est.intercept_), shift(ref.intercept_), rtol=1e-5, atol=1e-6)
    cert = certificate(X, labels, est.coef_, est.intercept_, datafit=pz.Multinomial(), penalty=penalty,
                       sample_weight=sw, fit_intercept=fit_intercept)
    assert cert.relative <= 1e-12
    assert est.dual_gap_[0] <= 1e-12 * cert.null_loss
    assert est.dual_gap_[0] == pytest.approx(cert.value, rel=1e-3, abs=1e-14 * cert.null_loss)
    dX = to_dask(X, chunk=90)
    np.testing.assert_array_equal(est.predict(dX).compute(), ref.predict(X))
    np.testing.assert_allclose(est.predict_proba(dX).compute(), ref.predict_proba(X), rtol=1e-5, atol=1e-8)
    if not sparse and isinstance(penalty, pz.L1):  # a warm start from the solution: one pass, no step
        n_iter = est.n_iter_[0]
        est.set_params(warm_start=True).fit(dX, da.from_array(labels, chunks=90),
                                            sample_weight=da.from_array(sw, chunks=90))
        assert est.n_iter_[0] < n_iter and rel(est.coef_, ref.coef_) < 1e-5


def test_group_paths_are_not_distributed_yet(synchronous):
    rng = np.random.default_rng(34)
    X = rng.standard_normal((100, 12))
    with pytest.raises(NotImplementedError, match="group penalty"):
        pz.regularization_path(da.from_array(X, chunks=(30, 12)), da.from_array(X[:, 0], chunks=30),
                               penalty=_GROUP_PENALTIES["group"])


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_poisson_with_an_offset_on_sparse_chunks(synchronous, fit_intercept):
    rng = np.random.default_rng(39)
    n, p = 400, 10
    X = sp.random(n, p, density=0.4, format="csr", random_state=rng)
    offset = rng.uniform(-0.5, 0.5, n)
    y = rng.poisson(np.exp(np.asarray(X @ np.linspace(-1, 1, p)).ravel() + offset)).astype(float)
    ref = pz.PoissonRegressor(pz.L1L2(l1=0.005, l2=0.01), fit_intercept=fit_intercept, **_GLM_TIGHT).fit(
        X.tocsc(), y, offset=offset)
    est = pz.PoissonRegressor(pz.L1L2(l1=0.005, l2=0.01), fit_intercept=fit_intercept, **_GLM_TIGHT).fit(
        to_dask(X, chunk=90), da.from_array(y, chunks=90), offset=da.from_array(offset, chunks=90))
    assert rel(est.coef_, ref.coef_) < 1e-5
    cert = certificate(X, y, est.coef_, est.intercept_, datafit=pz.Poisson(), penalty=est._penalty(p),
                       fit_intercept=fit_intercept, offset=offset)
    assert cert.relative <= 1e-12 and est.dual_gap_ <= 1e-12 * cert.null_loss


def test_poisson_dataframe_with_offset_and_weight_columns(synchronous):
    rng = np.random.default_rng(40)
    n, p = 300, 5
    X = rng.standard_normal((n, p)) * 0.5
    offset = rng.uniform(-1.0, 1.0, n)
    y = rng.poisson(np.exp(X[:, 0] + offset)).astype(float)
    names = [f"f{j}" for j in range(p)]
    frame = pd.DataFrame(X, columns=names).assign(y=y, o=offset, w=rng.uniform(0.5, 2.0, n))
    ddf = dd.from_pandas(frame, npartitions=4)
    est = pz.PoissonRegressor(pz.L1(0.01), **_GLM_TIGHT).fit(ddf[names], ddf["y"], sample_weight=ddf["w"],
                                                             offset=ddf["o"])
    ref = pz.PoissonRegressor(pz.L1(0.01), **_GLM_TIGHT).fit(frame[names], y, sample_weight=frame["w"].to_numpy(),
                                                             offset=offset)
    assert rel(est.coef_, ref.coef_) < 1e-5 and list(est.feature_names_in_) == names
    with pytest.raises(ValueError, match="offset is in memory"):
        pz.PoissonRegressor(pz.L1(0.01)).fit(ddf[names], ddf["y"], offset=offset)


def test_poisson_bad_counts_are_named(synchronous):
    rng = np.random.default_rng(31)
    X, targets, _, _ = _glm_data(rng, n=200)
    y = targets["poisson"].copy()
    y[150] = -1.0
    with pytest.raises(ValueError, match="Poisson needs counts y >= 0"):
        pz.PoissonRegressor(pz.L1(0.01)).fit(da.from_array(X, chunks=(50, 12)), da.from_array(y, chunks=50))
    with pytest.raises(ValueError, match="some positive count"):
        pz.PoissonRegressor(pz.L1(0.01)).fit(da.from_array(X, chunks=(50, 12)), da.zeros(200, chunks=50))
    with pytest.raises(ValueError, match="offset contains NaN"):
        pz.PoissonRegressor(pz.L1(0.01)).fit(da.from_array(X, chunks=(50, 12)), da.from_array(targets["poisson"],
                                             chunks=50), offset=da.full(200, np.nan, chunks=50))
    with pytest.raises(ValueError, match="X has 200 samples but offset has 199"):
        pz.PoissonRegressor(pz.L1(0.01)).fit(da.from_array(X, chunks=(50, 12)), da.from_array(targets["poisson"],
                                             chunks=50), offset=np.zeros(199))


def test_poisson_predicts_means_on_dask(synchronous):
    rng = np.random.default_rng(32)
    X, targets, _, _ = _glm_data(rng, n=300)
    dX = da.from_array(X, chunks=(70, 12))
    est = pz.PoissonRegressor(pz.L1(0.005), **_GLM_TIGHT).fit(dX, da.from_array(targets["poisson"], chunks=70))
    ref = pz.PoissonRegressor(pz.L1(0.005), **_GLM_TIGHT).fit(X, targets["poisson"])
    pred = est.predict(dX)
    np.testing.assert_allclose(np.asarray(pred.compute() if hasattr(pred, "compute") else pred), ref.predict(X),
                               rtol=1e-6)


def test_relaxed_lasso_refuses_dask_input_without_gathering(synchronous):
    """RelaxedLasso's refit needs X in memory: a NotImplementedError before any chunk is computed
    (it used to gather X on the client, several times its size)."""
    rng = np.random.default_rng(4)
    X, y = regression_data(rng)
    computed = []

    def tracked(block):
        if block.size:  # (dask calls it once on an empty array to learn the type)
            computed.append(block.shape)
        return block

    dX = to_dask(X).map_blocks(tracked, dtype=X.dtype)
    for target in (da.from_array(y, chunks=110), y):
        with pytest.raises(NotImplementedError, match="RelaxedLasso does not take Dask input"):
            pz.RelaxedLasso(lam=0.1).fit(dX, target)
    with pytest.raises(NotImplementedError, match="RelaxedLasso does not take Dask input"):
        pz.RelaxedLasso(lam=0.1).fit(X, da.from_array(y, chunks=110))
    assert computed == []  # no pass over the data


def test_working_set_newton_beyond_the_gram_limit(synchronous, monkeypatch):
    """With more features than a Gram matrix may hold, working-set Newton passes give the same fit."""
    monkeypatch.setattr(newton, "GRAM_MAX_FEATURES", 15)
    monkeypatch.setattr(newton, "MIN_WORKING_SET", 5)
    rng = np.random.default_rng(4)
    X, y = regression_data(rng, n=400, p=60)
    ref = pz.Lasso(lam=0.1, **TIGHT).fit(X, y)
    est = pz.Lasso(lam=0.1, **TIGHT)
    est.fit(da.from_array(X, chunks=(100, 60)), da.from_array(y, chunks=100))
    assert est.n_iter_ > 1  # passes: it did not take the Gram route
    assert rel(est.coef_, ref.coef_) < 1e-6
    cert = certificate(X, y, est.coef_, est.intercept_, datafit=pz.SquaredError(), penalty=pz.L1(0.1))
    assert est.dual_gap_ == pytest.approx(cert.value, rel=1e-6, abs=1e-13)
    labels = y > 0
    ref = pz.LogisticRegression(pz.L1(0.02), **TIGHT).fit(X, labels)
    est = pz.LogisticRegression(pz.L1(0.02), **TIGHT).fit(da.from_array(X, chunks=(100, 60)),
                                                          da.from_array(labels, chunks=100))
    assert rel(est.coef_, ref.coef_) < 1e-6


def test_logistic_working_sets_below_the_gram_limit(synchronous):
    """With more features than MIN_WORKING_SET, the Hessian is computed on working sets only."""
    rng = np.random.default_rng(22)
    X, y = regression_data(rng, n=500, p=newton.MIN_WORKING_SET + 60, offset=0.5)
    labels = y > np.median(y)
    ref = pz.LogisticRegression(pz.L1(0.01), **TIGHT).fit(X, labels)
    est = pz.LogisticRegression(pz.L1(0.01), **TIGHT).fit(da.from_array(X, chunks=(100, 80)),
                                                          da.from_array(labels, chunks=100))
    assert 0 < np.count_nonzero(ref.coef_) < newton.MIN_WORKING_SET // 2
    assert rel(est.coef_, ref.coef_) < 1e-6


def test_block_newton_when_the_support_exceeds_the_block(synchronous, monkeypatch):
    """A ridge has every coefficient non-zero: blocks of the most violating features still converge."""
    monkeypatch.setattr(newton, "GRAM_MAX_FEATURES", 10)
    monkeypatch.setattr(newton, "MIN_WORKING_SET", 5)
    rng = np.random.default_rng(5)
    X, y = regression_data(rng, n=300, p=25, offset=0.0)
    ref = pz.LinearRegression(pz.L2(0.05), tol=1e-8, max_iter=100_000).fit(X, y)
    est = pz.LinearRegression(pz.L2(0.05), tol=1e-8, max_iter=500).fit(
        da.from_array(X, chunks=(100, 25)), da.from_array(y, chunks=100))
    assert np.count_nonzero(est.coef_) == 25
    assert rel(est.coef_, ref.coef_) < 1e-3
    assert est.dual_gap_ <= 1e-8 * np.var(y)


def test_dataframe_input_names_features_and_predicts(synchronous):
    rng = np.random.default_rng(6)
    X, y = regression_data(rng, n=300, p=5)
    frame = pd.DataFrame(X, columns=list("abcde")).assign(flag=rng.random(300) > 0.5, target=y)
    ddf = dd.from_pandas(frame, npartitions=4)
    features = ddf.drop(columns="target")
    est = pz.Lasso(lam=0.05, **TIGHT).fit(features, ddf["target"])
    ref = pz.Lasso(lam=0.05, **TIGHT).fit(frame.drop(columns="target"), y)
    assert list(est.feature_names_in_) == ["a", "b", "c", "d", "e", "flag"]
    assert rel(est.coef_, ref.coef_) < 1e-6
    pred = est.predict(features)
    assert hasattr(pred, "compute")
    np.testing.assert_allclose(pred.compute(), ref.predict(frame.drop(columns="target")), rtol=1e-8, atol=1e-8)
    with pytest.raises(ValueError, match="must match"):
        est.predict(features[["b", "a", "c", "d", "e", "flag"]])


def test_fitted_estimator_is_ordinary(synchronous):
    rng = np.random.default_rng(7)
    X, y = regression_data(rng, n=300, p=6)
    labels = y > 0
    est = pz.LogisticRegression(pz.L1(0.01)).fit(da.from_array(X, chunks=(70, 6)), da.from_array(labels, chunks=70))
    assert isinstance(est.coef_, np.ndarray) and isinstance(est.intercept_, np.ndarray)
    p_np = est.predict_proba(X)
    p_da = est.predict_proba(da.from_array(X, chunks=(70, 6)))
    assert hasattr(p_da, "compute")
    np.testing.assert_allclose(p_da.compute(), p_np, rtol=1e-12)
    np.testing.assert_array_equal(est.predict(da.from_array(X, chunks=(70, 6))).compute(), est.predict(X))
    import pickle

    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


def test_warm_start_and_n_iter(synchronous):
    rng = np.random.default_rng(8)
    X, y = regression_data(rng, n=400, p=8, offset=0.0)
    labels = y > 0
    Xd, yd = da.from_array(X, chunks=(100, 8)), da.from_array(labels, chunks=100)
    est = pz.LogisticRegression(pz.L1(0.01), tol=1e-8, warm_start=True).fit(Xd, yd)
    cold = est.n_iter_[0]
    est.fit(Xd, yd)  # from the solution: pass 0 and one certificate pass at most
    assert est.n_iter_[0] <= 3 < cold + 1


# ----------------------------------------------------------------------------------- CV
@pytest.mark.parametrize("kwargs", [dict(), dict(scoring="mae", cv=4), dict(fit_intercept=False, select="1se")])
def test_lasso_cv_equals_in_memory(synchronous, kwargs):
    rng = np.random.default_rng(9)
    X, y = regression_data(rng, n=500, p=15)
    ref = pz.LassoCV(tol=1e-10, n_lambdas=30, early_stop=False, **kwargs).fit(X, y)  # Dask runs the whole grid
    est = pz.LassoCV(tol=1e-10, n_lambdas=30, **kwargs).fit(da.from_array(X, chunks=(90, 15)),
                                                            da.from_array(y, chunks=90))
    np.testing.assert_allclose(est.lambdas_, ref.lambdas_, rtol=1e-9)
    np.testing.assert_allclose(est.cv_mean_, ref.cv_mean_, rtol=1e-7)
    np.testing.assert_allclose(est.cv_std_err_, ref.cv_std_err_, rtol=1e-5)
    assert est.lam_ == pytest.approx(ref.lam_, rel=1e-12)
    assert rel(est.coef_, ref.coef_) < 1e-6
    assert est.path_.coefs.shape == ref.path_.coefs.shape


def test_elastic_net_cv_with_weights_and_ratios(synchronous):
    rng = np.random.default_rng(10)
    X, y = regression_data(rng, n=400, p=10)
    sw = rng.uniform(0.5, 2.0, 400)
    kw = dict(l1_ratio=[0.5, 1.0], n_lambdas=20, tol=1e-12, max_iter=100_000, early_stop=False)
    ref = pz.ElasticNetCV(**kw).fit(X, y, sample_weight=sw)
    est = pz.ElasticNetCV(**kw).fit(da.from_array(X, chunks=(90, 10)), da.from_array(y, chunks=90),
                                    sample_weight=da.from_array(sw, chunks=90))
    assert est.l1_ratio_ == ref.l1_ratio_ and est.lam_ == pytest.approx(ref.lam_, rel=1e-12)
    np.testing.assert_allclose(est.cv_mean_, ref.cv_mean_, rtol=1e-6)


def test_regularization_path_on_dask(synchronous):
    rng = np.random.default_rng(11)
    X, y = regression_data(rng, n=300, p=8)
    ref = pz.regularization_path(X, y, tol=1e-10, n_lambdas=15, early_stop=False)  # Dask: the whole grid
    got = pz.regularization_path(da.from_array(X, chunks=(50, 8)), da.from_array(y, chunks=50), tol=1e-10,
                                 n_lambdas=15)
    np.testing.assert_allclose(got.lambdas, ref.lambdas, rtol=1e-9)
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-6)


def test_cv_rejects_what_needs_the_data(synchronous):
    rng = np.random.default_rng(12)
    X, y = regression_data(rng, n=100, p=4)
    Xd, yd = da.from_array(X, chunks=(30, 4)), da.from_array(y, chunks=30)
    with pytest.raises(ValueError, match="'mse' or 'mae'"):
        pz.LassoCV(scoring="r2").fit(Xd, yd)
    # what is not distributed (as opposed to bad input): NotImplementedError, before any pass
    with pytest.raises(NotImplementedError, match="relax=True.*refits.*not distributed"):
        pz.LassoCV(relax=True).fit(Xd, yd)
    with pytest.raises(NotImplementedError, match="datafit='squared_error'"):
        pz.regularization_path(Xd, yd > 0, datafit="logistic")
    with pytest.raises(NotImplementedError, match="LogisticRegressionCV does not take Dask"):
        pz.LogisticRegressionCV().fit(Xd, da.from_array(y > 0, chunks=30))
    from sklearn.model_selection import ShuffleSplit

    with pytest.raises(ValueError, match="train on all the others"):
        pz.LassoCV(cv=ShuffleSplit(3, test_size=0.2, random_state=0)).fit(Xd, yd)


# ---------------------------------------------------------------------------- bad input
def test_bad_input_is_named_before_computing(synchronous):
    rng = np.random.default_rng(13)
    X, y = regression_data(rng, n=100, p=4)
    Xd = da.from_array(X, chunks=(30, 4))
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcd")), npartitions=3)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        pz.Lasso(lam=0.1).fit(frame.to_dask_array(), da.from_array(y, chunks=30))
    with pytest.raises(ValueError, match="100 samples but y has 99"):
        pz.Lasso(lam=0.1).fit(Xd, da.from_array(y[:99], chunks=30))
    with pytest.raises(ValueError, match="100 samples but y has 99"):
        pz.Lasso(lam=0.1).fit(Xd, y[:99])
    with pytest.raises(ValueError, match="3 partitions but y has 2"):
        pz.Lasso(lam=0.1).fit(frame, dd.from_pandas(pd.Series(y), npartitions=2))
    with pytest.raises(ValueError, match="in memory"):
        pz.Lasso(lam=0.1).fit(frame, y)
    text = frame.assign(city="x", when=pd.Timestamp("2020-01-01"))
    with pytest.raises(ValueError, match="non-numeric column.*'city'"):
        pz.Lasso(lam=0.1).fit(text, dd.from_pandas(pd.Series(y), npartitions=3))
    with pytest.raises(ValueError, match="two-dimensional"):
        pz.Lasso(lam=0.1).fit(da.from_array(y, chunks=30), da.from_array(y, chunks=30))
    with pytest.raises(ValueError, match="dtype"):
        pz.Lasso(lam=0.1).fit(da.from_array(X.astype(str), chunks=(30, 4)), y)
    with pytest.raises(TypeError, match="Dask array or DataFrame"):
        pz.Lasso(lam=0.1).fit(dask.delayed(X), y)
    with pytest.raises(ValueError, match="weights has 3 entries but X has 4 features"):
        pz.Lasso(lam=0.1, weights=[1, 1, 1]).fit(Xd, y)


def test_bad_values_name_the_chunk(synchronous):
    rng = np.random.default_rng(14)
    X, y = regression_data(rng, n=100, p=4)
    X[75, 2] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(chunk\(s\) 2\)"):
        pz.Lasso(lam=0.1).fit(da.from_array(X, chunks=(30, 4)), y)
    X[75, 2] = 0.0
    y2 = y.copy()
    y2[5] = np.inf
    with pytest.raises(ValueError, match=r"y contains NaN or infinity \(chunk\(s\) 0\)"):
        pz.Lasso(lam=0.1).fit(da.from_array(X, chunks=(30, 4)), da.from_array(y2, chunks=30))
    with pytest.raises(ValueError, match="infinity"):
        pz.LogisticRegression().fit(da.from_array(X, chunks=(30, 4)), da.from_array(y2, chunks=30))
    sw = np.ones(100)
    sw[40] = -1
    with pytest.raises(ValueError, match=r"negative values \(chunk\(s\) 1\)"):
        pz.Lasso(lam=0.1).fit(da.from_array(X, chunks=(30, 4)), y, sample_weight=sw)
    with pytest.raises(ValueError, match="sums to zero"):
        pz.Lasso(lam=0.1).fit(da.from_array(X, chunks=(30, 4)), y, sample_weight=np.zeros(100))
    with pytest.raises(ValueError, match="only one class"):
        pz.LogisticRegression().fit(da.from_array(X, chunks=(30, 4)), np.ones(100))
    labels = y > np.median(y)
    with pytest.raises(ValueError, match="class False of y has no sample with positive weight"):
        pz.LogisticRegression().fit(da.from_array(X, chunks=(30, 4)), labels, sample_weight=labels.astype(float))


def test_misaligned_dataframe_partitions_name_the_chunk(synchronous):
    rng = np.random.default_rng(15)
    X, y = regression_data(rng, n=100, p=3)
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abc")), npartitions=2)
    other = dd.from_pandas(pd.Series(np.concatenate([y, y[:10]])), npartitions=2)  # same count, other lengths
    with pytest.raises(ValueError, match=r"not aligned: chunk (\d) of X has 50 rows but chunk \1 of y has 55"):
        pz.Lasso(lam=0.1).fit(frame, other)


_CALLS = []


def _table_chunk(i):
    _CALLS.append(i)
    rng = np.random.default_rng(i)
    return np.column_stack([rng.standard_normal((50, 3)), rng.standard_normal(50)])


def test_a_shared_table_chunk_is_computed_once_per_pass(synchronous):
    """X and y cut from one table: each chunk of the table is made once per pass, not once for X and
    once for y (as Dask's low-level fusion would do if the graph were optimised)."""
    table = da.concatenate([da.from_delayed(dask.delayed(_table_chunk)(i), shape=(50, 4), dtype=float)
                            for i in range(4)])
    _CALLS.clear()
    est = pz.LogisticRegression(pz.L1(0.01)).fit(table[:, :3], table[:, 3] > 0)
    passes = int(est.n_iter_[0]) + 2  # the fit's passes, and the classes of y (a pass over y) and pass 0
    assert len(_CALLS) <= 4 * passes
    assert sorted(set(_CALLS)) == [0, 1, 2, 3]


def test_import_penalized_does_not_import_dask():
    code = ("import sys, penalized, penalized.linear_model, penalized.model_selection, penalized.dask;"
            "print(any(m == 'dask' or m.startswith('dask.') or m == 'distributed' for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("datafit", [pz.SquaredError(), pz.Logistic(), pz.Poisson()], ids=lambda d: type(d).__name__)
def test_per_sample_datafit_formulas_match_the_kernels(datafit):
    """The workers run the data fits' own NumPy methods (penalized.datafits): the same numbers as the
    compiled kernels (loss, derivatives, curvature, change, gap terms), one definition of each."""
    from penalized.solvers._loader import interpreted

    k = interpreted()
    code = datafit.code
    rng = np.random.default_rng(16)
    if datafit.needs_labels:
        y = np.where(rng.random(50) > 0.5, 1.0, -1.0)
    elif code == k.POISSON:
        y = rng.poisson(2.0, 50).astype(float)
    else:
        y = rng.standard_normal(50) * 2
    z = rng.standard_normal(50) * (1.0 if code == k.POISSON else 3.0)
    loss, d1, d2 = datafit._loss_terms(y, z)
    np.testing.assert_allclose(loss, datafit._losses(y, z), rtol=1e-14)
    np.testing.assert_allclose(d1, datafit._loss_derivatives(y, z), rtol=1e-14)
    np.testing.assert_allclose(d2, datafit._loss_curvatures(y, z), rtol=1e-14)
    dz = rng.standard_normal(50) * np.logspace(-6, 0, 50)
    changes = datafit._loss_changes(y, z, dz)
    for i in range(50):
        assert loss[i] == pytest.approx(k.sample_loss(code, y[i], z[i]), rel=1e-12)
        assert d1[i] == pytest.approx(k.sample_loss_derivative(code, y[i], z[i]), rel=1e-12)
        assert d2[i] == pytest.approx(k.sample_loss_curvature(code, y[i], z[i]), rel=1e-12)
        assert changes[i] == pytest.approx(k.sample_loss_change(code, y[i], z[i], dz[i]), rel=1e-10, abs=1e-300)
        for alpha in (0.0, 0.3, 0.999, 1.0):
            la = np.log(alpha) if alpha > 0 else 0.0
            expected = k.sample_gap(code, y[i], z[i], alpha, la, np.log1p(-alpha) if alpha < 1 else 0.0)
            got = datafit._sample_gaps(y[i:i + 1], z[i:i + 1], alpha)[0]
            assert got == pytest.approx(expected, rel=1e-10, abs=1e-15)
    # the changes are accurate (not the difference of two close losses) and the trial steps of a pass,
    # summed, are the same numbers
    big = np.abs(dz) > 1e-2
    np.testing.assert_allclose(changes[big], (datafit._losses(y, z + dz) - loss)[big], rtol=1e-8)
    s = rng.uniform(0.5, 2.0, 50)
    steps = 0.5 ** np.arange(10)
    expected = [s @ datafit._loss_changes(y, z, t * dz) for t in steps]
    np.testing.assert_allclose(datafit._step_changes(y, z, dz, steps, s), expected, rtol=1e-9)


def test_multinomial_per_sample_formulas_match_the_kernels():
    """The multinomial rows the workers evaluate: the kernels' sample_grad_block and block_sample_gap,
    and step changes that keep tiny steps' digits."""
    from penalized.solvers._loader import interpreted

    k = interpreted()
    fit = pz.Multinomial()
    rng = np.random.default_rng(37)
    n, K = 40, 4
    Y = np.eye(K)[rng.integers(0, K, n)]
    Z = rng.standard_normal((n, K)) * 3
    B = np.zeros(K)
    loss, D, prob = fit._loss_terms(Y, Z)
    np.testing.assert_allclose(loss, fit._losses(Y, Z), rtol=1e-13)
    np.testing.assert_allclose(D, fit._loss_derivatives(Y, Z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(prob.sum(1), 1.0, rtol=1e-14)
    out = np.empty(K)
    for i in range(n):
        assert loss[i] == pytest.approx(k.sample_grad_block(k.MULTINOMIAL, Y, Z, B, i, out), rel=1e-12)
        np.testing.assert_allclose(D[i], out, rtol=1e-12, atol=1e-15)
    for alpha in (0.0, 0.4, 0.999, 1.0):
        gaps = fit._sample_gaps(Y, Z, alpha)
        expected = [k.block_sample_gap(k.MULTINOMIAL, Y, Z, B, i, alpha, out) for i in range(n)]
        np.testing.assert_allclose(gaps, expected, rtol=1e-9, atol=1e-14)
    s = rng.uniform(0.5, 2.0, n)
    dZ = rng.standard_normal((n, K)) * np.logspace(-7, 0.5, n)[:, None]
    steps = 0.5 ** np.arange(10)
    got = fit._step_changes(Y, Z, dZ, steps, s)
    exact = [s @ (fit._losses(Y, Z + t * dZ) - loss) for t in steps]
    np.testing.assert_allclose(got, exact, rtol=1e-7)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_certificate_on_dask_equals_in_memory(synchronous, fit_intercept):
    """penalized.solvers.certificate judges any candidate on Dask input by the same terms."""
    rng = np.random.default_rng(21)
    X, y = regression_data(rng, n=300, p=7, offset=1.0)
    labels = y > np.median(y)
    sw = rng.uniform(0.5, 2.0, 300)
    Xd, swd = da.from_array(X, chunks=(64, 7)), da.from_array(sw, chunks=64)
    coef = rng.standard_normal(7) * 0.3
    b = 0.2 if fit_intercept else 0.0
    for datafit, target, penalty in ((pz.SquaredError(), y, pz.L1(0.05)), (pz.Logistic(), labels, pz.L1(0.01)),
                                     (pz.Logistic(), labels, pz.L1L2(l1=0.01, l2=0.1))):
        ref = certificate(X, target, coef, b, datafit=datafit, penalty=penalty, sample_weight=sw,
                          fit_intercept=fit_intercept)
        got = certificate(Xd, da.from_array(target, chunks=64), coef, b, datafit=datafit, penalty=penalty,
                          sample_weight=swd, fit_intercept=fit_intercept)
        assert got.value == pytest.approx(ref.value, rel=1e-10)
        assert got.objective == pytest.approx(ref.objective, rel=1e-12)
        assert got.null_loss == pytest.approx(ref.null_loss, rel=1e-12)
    # Poisson, offsets and boxes: the same terms (the null model of an offset by Newton passes)
    counts = rng.poisson(np.exp(0.2 * (X[:, 0] - 1.0))).astype(float)
    offset = rng.uniform(-0.5, 0.5, 300)
    box = (-0.4, 0.5)
    inside = np.clip(coef, *box)
    beyond = inside.copy()
    beyond[0] = 0.9
    for datafit, target in ((pz.Poisson(), counts), (pz.Logistic(), labels), (pz.SquaredError(), y)):
        for penalty in (pz.L1(0.01), pz.L1L2(l1=0.01, l2=0.05)):
            kw = dict(datafit=datafit, penalty=penalty, sample_weight=sw, fit_intercept=fit_intercept, offset=offset)
            ref = certificate(X, target, inside, b, bounds=box, **kw)
            got = certificate(Xd, da.from_array(target, chunks=64), inside, b, bounds=box,
                              **{**kw, "sample_weight": swd, "offset": da.from_array(offset, chunks=64)})
            assert got.value == pytest.approx(ref.value, rel=1e-9)
            assert got.objective == pytest.approx(ref.objective, rel=1e-12)
            assert got.null_loss == pytest.approx(ref.null_loss, rel=1e-9)
            outside = certificate(Xd, da.from_array(target, chunks=64), beyond, b, bounds=box,
                                  **{**kw, "sample_weight": swd, "offset": da.from_array(offset, chunks=64)})
            assert outside.value == np.inf


def test_chan_merge_keeps_digits():
    rng = np.random.default_rng(17)
    Z = rng.standard_normal((300, 3)) + 1e6
    v = rng.uniform(0.5, 2.0, 300)
    whole = C.comoments(Z, v, cross=True, cols=np.arange(3))
    parts = [C.comoments(Z[i:i + 70], v[i:i + 70], cross=True, cols=np.arange(3)) for i in range(0, 300, 70)]
    merged = parts[0]
    for m in parts[1:]:
        merged = merged.merge(m)
    Zc = Z - (v @ Z) / v.sum()
    exact = (Zc * v[:, None]).T @ Zc
    np.testing.assert_allclose(merged.block, exact, rtol=1e-9)
    np.testing.assert_allclose(whole.block, exact, rtol=1e-9)
    np.testing.assert_allclose(merged.diag, np.diag(exact), rtol=1e-9)


# --------------------------------------------------------------------------- the cluster
def _client_pid_guard(client_pid, X, i):
    if os.getpid() == client_pid:
        raise AssertionError("a chunk of X was computed on the client")
    return X[i * 100:(i + 1) * 100]


def test_cluster_fit_never_computes_x_on_the_client(client):
    rng = np.random.default_rng(18)
    X, y = regression_data(rng, n=400, p=6)
    blocks = [da.from_delayed(dask.delayed(_client_pid_guard)(os.getpid(), X, i), shape=(100, 6), dtype=float)
              for i in range(4)]
    Xd = da.concatenate(blocks)
    yd = da.from_array(y, chunks=100)
    est = pz.Lasso(lam=0.05, **TIGHT).fit(Xd, yd)
    ref = pz.Lasso(lam=0.05, **TIGHT).fit(X, y)
    assert rel(est.coef_, ref.coef_) < 1e-6
    labels = y > 0
    est = pz.LogisticRegression(pz.L1(0.01), **TIGHT).fit(Xd, da.from_array(labels, chunks=100))
    ref = pz.LogisticRegression(pz.L1(0.01), **TIGHT).fit(X, labels)
    assert rel(est.coef_, ref.coef_) < 1e-6
    pred = est.predict(Xd).compute()
    np.testing.assert_array_equal(pred, ref.predict(X))
    cv = pz.LassoCV(n_lambdas=10, cv=3).fit(Xd, yd)
    assert cv.coef_.shape == (6,)


def test_cluster_new_models_run_on_worker_processes(client):
    """Poisson with an offset, the multinomial model and several targets on worker processes (their
    pass descriptions and chunk functions pickle): the in-memory fits."""
    rng = np.random.default_rng(38)
    X, targets, offset, _ = _glm_data(rng, n=300, p=6)
    dX = da.from_array(X, chunks=(100, 6))
    ref = pz.PoissonRegressor(pz.L1(0.005), **_GLM_TIGHT).fit(X, targets["poisson"], offset=offset)
    est = pz.PoissonRegressor(pz.L1(0.005), **_GLM_TIGHT).fit(dX, da.from_array(targets["poisson"], chunks=100),
                                                              offset=da.from_array(offset, chunks=100))
    assert rel(est.coef_, ref.coef_) < 1e-5
    labels = np.digitize(X[:, 0] + X[:, 1], [1.5, 2.5])
    ref = pz.LogisticRegression(pz.L1(0.01), **_GLM_TIGHT).fit(X, labels)
    est = pz.LogisticRegression(pz.L1(0.01), **_GLM_TIGHT).fit(dX, da.from_array(labels, chunks=100))
    assert est.coef_.shape == (3, 6) and rel(est.coef_, ref.coef_) < 1e-5
    Y = np.column_stack([targets["squared"], X[:, 2]])
    ref = pz.MultiTaskLasso(lam=0.05, **_GLM_TIGHT).fit(X, Y)
    est = pz.MultiTaskLasso(lam=0.05, **_GLM_TIGHT).fit(dX, da.from_array(Y, chunks=(100, 2)))
    assert rel(est.coef_, ref.coef_) < 1e-5


def test_cluster_sparse_dataframe_and_joblib_folds(client):
    import joblib

    rng = np.random.default_rng(19)
    X, y = regression_data(rng, n=500, p=8, sparse=True)
    est = pz.ElasticNet(lam=0.02, **TIGHT).fit(da.from_array(X, chunks=(100, 8), asarray=False),
                                               da.from_array(y, chunks=100))
    ref = pz.ElasticNet(lam=0.02, **TIGHT).fit(X, y)
    assert rel(est.coef_, ref.coef_) < 1e-6
    # in-memory folds shipped to the cluster's workers by joblib's Dask backend
    Xd = X.toarray()
    with joblib.parallel_backend("dask"):
        cv = pz.LassoCV(n_lambdas=15, cv=3, n_jobs=-1, tol=1e-12, early_stop=False).fit(Xd, y)
    plain = pz.LassoCV(n_lambdas=15, cv=3, tol=1e-12, early_stop=False).fit(Xd, y)
    np.testing.assert_allclose(cv.cv_mean_, plain.cv_mean_, rtol=1e-10)
    # Dask folds too: the fold paths are joblib tasks
    with joblib.parallel_backend("dask"):
        dcv = pz.LassoCV(n_lambdas=15, cv=3, n_jobs=-1, tol=1e-12).fit(da.from_array(Xd, chunks=(100, 8)),
                                                           da.from_array(y, chunks=100))
    np.testing.assert_allclose(dcv.cv_mean_, plain.cv_mean_, rtol=1e-6)


_CRASH_MARKER = "PENALIZED_TEST_CRASH_MARKER"


def _crash_once(marker, X, i):
    """Kill the worker process the first time chunk 1 is computed (as a crash or an OOM kill would)."""
    if i == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return X[i * 100:(i + 1) * 100]


@pytest.mark.slow
def test_worker_killed_mid_fit_recovers_or_raises(tmp_path):
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(20)
    X, y = regression_data(rng, n=300, p=5)
    labels = y > 0

    def design(marker):
        blocks = [da.from_delayed(dask.delayed(_crash_once, pure=False)(str(marker), X, i), shape=(100, 5),
                                  dtype=float) for i in range(3)]
        return da.concatenate(blocks)

    ref = pz.LogisticRegression(pz.L1(0.01), **TIGHT).fit(X, labels)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="600MB",
                      dashboard_address=None) as cluster, Client(cluster):
        est = pz.LogisticRegression(pz.L1(0.01), **TIGHT).fit(design(tmp_path / "a"), da.from_array(labels, chunks=100))
        assert (tmp_path / "a").exists()  # a worker did die
        assert rel(est.coef_, ref.coef_) < 1e-6  # Dask re-ran its task elsewhere: the same model
        cluster.scheduler.allowed_failures = 0  # now the first lost worker fails the task
        est = pz.LogisticRegression(pz.L1(0.01))
        with pytest.raises(RuntimeError, match="lost the worker"):
            est.fit(design(tmp_path / "b"), da.from_array(labels, chunks=100))
        assert not hasattr(est, "coef_")  # never a wrong model


@pytest.mark.slow
def test_dask_benchmark_quick_runs(tmp_path):
    """``python -m benchmarks.dask_scale --quick`` (penalized alone) runs and judges its answers."""
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import dask_scale

    rows = dask_scale.main(["--quick", "--no-peers", "--results", str(tmp_path)])
    assert {r["model"] for r in rows} == {"lasso", "logistic"}
    assert all(r["error"] == "" and r["relative_certificate"] <= 1e-6 for r in rows)
    assert "| penalized |" in dask_scale.markdown(rows, "Machine: test.", "cmd")
    assert not list(tmp_path.iterdir())  # --quick writes nothing
