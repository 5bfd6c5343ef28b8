"""Every separable penalty on Dask input (MCP, SCAD, BerHu; with boxes; on paths) equals the in-memory fit.

The Dask route runs the penalties' own compiled blocks (values, changes, prox steps, violations,
gap terms, stationarity measure: :mod:`penalized.dask.bridge`); the checks compare against the
in-memory estimators and recompute the certificate in memory at the Dask coefficients. Convex
penalties (BerHu) have one solution; for MCP and SCAD the cases are ones where the in-memory
solver and the Dask one (proximal Newton, from the same continuation) reach the same stationary
point, plus one where they need not, checked for stationarity and objective.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

import dask  # noqa: E402

import penalized as pz  # noqa: E402
from penalized import certificate  # noqa: E402
from penalized.dask import bridge  # noqa: E402

TIGHT = dict(tol=1e-12, max_iter=100_000)


@pytest.fixture
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _data(seed, n=400, p=12, correlated=0.0, offset=2.0):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = Z + correlated * Z[:, [0]] + offset
    beta = np.zeros(p)
    beta[:5] = [1.5, -2.0, 0.7, 3.0, 1.0]
    y = (X - offset) @ beta + 1.5 * rng.standard_normal(n)
    targets = {"squared": y, "logistic": np.where(y > np.median(y) + 0.5, 1, 0),
               "poisson": rng.poisson(np.exp(0.15 * (X - offset) @ (beta / 3))).astype(float)}
    return X, targets


ESTIMATORS = {"squared": (pz.LinearRegression, pz.SquaredError()), "logistic": (pz.LogisticRegression, pz.Logistic()),
              "poisson": (pz.PoissonRegressor, pz.Poisson())}


def _compare(X, y, kind, penalty, bounds=None, chunk=90):
    """``(dask estimator, in-memory estimator, certificate at the Dask fit, at the in-memory fit)``,
    both certificates computed in memory."""
    cls, datafit = ESTIMATORS[kind]
    kw = dict(TIGHT)
    if bounds is not None:
        kw["bounds"] = bounds
    ref = cls(penalty, **kw).fit(X, y)
    est = cls(penalty, **kw).fit(da.from_array(X, chunks=(chunk, X.shape[1])), da.from_array(y, chunks=chunk))
    box = None if bounds is None else tuple(np.broadcast_to(np.asarray(b, dtype=float), (X.shape[1],)) for b in bounds)

    def cert(m):
        return certificate(X, y, np.ravel(m.coef_), np.ravel(m.intercept_)[0], datafit=datafit, penalty=penalty,
                           bounds=box)

    return est, ref, cert(est), cert(ref)


CASES = [
    ("squared", pz.MCP(0.3, gamma=1.5), 0.7, None),  # strongly non-convex, correlated features
    ("squared", pz.SCAD(0.3, gamma=2.5), 0.7, None),
    ("squared", pz.BerHu(0.1, M=0.5), 0.7, None),
    ("squared", pz.MCP(0.2, gamma=2.0, weights=np.r_[0.0, np.ones(11)]), 0.0, (0.0, np.inf)),  # unpenalized, box
    ("logistic", pz.MCP(0.02, gamma=20.0), 0.0, None),
    ("logistic", pz.SCAD(0.02, gamma=20.0), 0.0, None),
    ("logistic", pz.BerHu(0.02, M=0.3), 0.0, None),
    ("logistic", pz.BerHu(0.02, M=0.3), 0.0, (-0.5, 0.5)),
    ("poisson", pz.MCP(0.03, gamma=3.0), 0.7, None),
    ("poisson", pz.SCAD(0.03, gamma=3.7), 0.7, None),
    ("poisson", pz.BerHu(0.02, M=0.1), 0.0, None),
]


@pytest.mark.parametrize("kind, penalty, correlated, bounds", CASES,
                         ids=[f"{c[0]}-{type(c[1]).__name__}{'-box' if c[3] else ''}" for c in CASES])
def test_separable_penalties_equal_in_memory(synchronous, kind, penalty, correlated, bounds):
    X, targets = _data(3, correlated=correlated)
    est, ref, cert, cert_ref = _compare(X, targets[kind], kind, penalty, bounds)
    w, w_ref = np.ravel(est.coef_), np.ravel(ref.coef_)
    assert np.array_equal(w != 0, w_ref != 0)  # the same support
    assert (w != 0).sum() >= 3  # (a real selection problem, not the zero model)
    assert abs(cert.objective - cert_ref.objective) <= 1e-6 * abs(cert_ref.objective)
    # the Dask certificate is the in-memory one at the same point, and it is tight
    gap = float(np.ravel(est.dual_gap_)[0])
    assert gap == pytest.approx(cert.value, rel=1e-5, abs=1e-12 * cert.null_loss)
    assert cert.relative <= 1e-11
    if bounds is not None:
        assert np.all(w >= bounds[0]) and np.all(w <= bounds[1])


def test_nonconvex_logistic_reaches_a_stationary_point(synchronous):
    """Strongly non-convex MCP and SCAD on the log-loss: the in-memory solver takes coordinate steps
    (Lipschitz constants), the Dask one proximal Newton steps, so they may stop at different
    stationary points. The Dask fit's stationarity measure, recomputed in memory, is at the
    tolerance, and its objective is no worse than the in-memory one on these data."""
    X, targets = _data(5, n=400, p=20, correlated=0.7)
    for penalty in (pz.MCP(0.03, gamma=3.0), pz.SCAD(0.03, gamma=3.7)):
        est, ref, cert, cert_ref = _compare(X, targets["logistic"], "logistic", penalty)
        assert cert.relative <= 1e-11
        assert cert.objective <= cert_ref.objective * (1 + 1e-9)


@pytest.mark.parametrize("penalty", ["mcp", "scad", pz.BerHu(1.0, M=0.5),
                                     pz.MCP(1.0, gamma=2.0, weights=np.r_[0.0, np.ones(7)])],
                         ids=["mcp", "scad", "berhu", "mcp-weights"])
def test_paths_of_every_penalty_equal_in_memory(synchronous, penalty):
    X, targets = _data(11, n=300, p=8)
    y = targets["squared"]
    ref = pz.regularization_path(X, y, penalty=penalty, tol=1e-10, n_lambdas=15, early_stop=False)
    got = pz.regularization_path(da.from_array(X, chunks=(50, 8)), da.from_array(y, chunks=50), penalty=penalty,
                                 tol=1e-10, n_lambdas=15)
    np.testing.assert_allclose(got.lambdas, ref.lambdas, rtol=1e-12)  # the same λ_max (zero levels)
    assert np.array_equal(got.coefs != 0, ref.coefs != 0)
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-4)  # stationarity 1e-10: coefficients ~1e-5
    assert np.all(got.dual_gaps <= got.thresholds)


@pytest.mark.parametrize("kind", ["squared", "logistic", "poisson"])
def test_certificate_of_every_penalty_on_dask_equals_in_memory(synchronous, kind):
    """At points that are not optimal (so BerHu's dual scaling is below 1 and its two dual points
    compete, and MCP's stationarity terms are large), the certificate summed over the chunks equals
    the in-memory one: the same blocks, the same dual points."""
    X, targets = _data(7, n=300, p=10)
    y = targets[kind]
    datafit = ESTIMATORS[kind][1]
    rng = np.random.default_rng(0)
    dX, dy = da.from_array(X, chunks=(70, 10)), da.from_array(y, chunks=70)
    for penalty in (pz.MCP(0.05, gamma=2.5), pz.SCAD(0.05), pz.BerHu(0.05, M=0.2), pz.BerHu(0.5, M=0.05)):
        for scale in (0.0, 0.05, 0.3):
            w = scale * rng.standard_normal(10) * (rng.random(10) < 0.6)
            b = 0.1 if kind != "poisson" else 0.5
            ref = certificate(X, y, w, b, datafit=datafit, penalty=penalty)
            got = certificate(dX, dy, w, b, datafit=datafit, penalty=penalty)
            assert got.value == pytest.approx(ref.value, rel=1e-9, abs=1e-14)
            assert got.objective == pytest.approx(ref.objective, rel=1e-12)


def test_penalty_view_uses_the_blocks():
    """The view's change and concavity are the compiled blocks' rules (run as Python): they agree
    with the penalty objects' NumPy formulas."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal(30)
    dw = rng.standard_normal(30) * (rng.random(30) < 0.5)
    for penalty, conc in ((pz.MCP(0.4, gamma=2.0), 0.5), (pz.SCAD(0.4, gamma=3.0), 0.5), (pz.BerHu(0.4, M=0.3), 0.0),
                          (pz.L1L2(0.3, 0.2), 0.0)):
        view = bridge.PenaltyView(penalty, 30)
        assert view.change(w, dw) == pytest.approx(penalty.value(w + dw) - penalty.value(w), rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(view.concavity(), conc)
        assert view.convex == (conc == 0.0)


@pytest.mark.parametrize("penalty, positive", [(pz.MCP(0.3, gamma=1.5), False), (pz.BerHu(0.1, M=0.5), False),
                                               (pz.L1(0.1), True), (pz.SCAD(0.2), True)],
                         ids=["mcp", "berhu", "l1-positive", "scad-positive"])
def test_several_targets_with_a_separable_penalty_equal_in_memory(synchronous, penalty, positive):
    """A separable penalty decouples the targets: one Gram solve per target, as in memory (where
    bounds are allowed too)."""
    X, targets = _data(13, correlated=0.7)
    Y = np.column_stack([targets["squared"], -0.5 * targets["squared"] + X[:, 5]])
    ref = pz.LinearRegression(penalty, positive=positive, **TIGHT).fit(X, Y)
    est = pz.LinearRegression(penalty, positive=positive, **TIGHT).fit(da.from_array(X, chunks=(90, 12)),
                                                                      da.from_array(Y, chunks=(90, 2)))
    assert est.coef_.shape == ref.coef_.shape == (2, 12)
    assert np.array_equal(est.coef_ != 0, ref.coef_ != 0)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-5)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-5)
    objective = [sum(certificate(X, Y[:, t], m.coef_[t], m.intercept_[t], datafit=pz.SquaredError(), penalty=penalty,
                                 bounds=(np.zeros(12), np.full(12, np.inf)) if positive else None).objective
                     for t in range(2)) for m in (est, ref)]
    assert objective[0] == pytest.approx(objective[1], rel=1e-9)
    assert est.dual_gap_ <= 1e-12 * float(np.sum(np.var(Y, axis=0)))


@pytest.mark.parametrize("kind, penalty", [("logistic", pz.MCP(0.01, gamma=20.0)), ("squared", pz.BerHu(0.05, M=0.5)),
                                           ("poisson", pz.SCAD(0.01, gamma=3.7))], ids=["logistic-mcp", "squared-berhu",
                                                                                     "poisson-scad"])
def test_sparse_chunks_with_every_penalty(synchronous, kind, penalty):
    """Sparse chunks (the log-loss then works in uncentred coordinates, as in memory) give the dense fit."""
    import scipy.sparse as sp

    rng = np.random.default_rng(17)
    X = sp.random(500, 12, density=0.3, format="csr", random_state=rng) * 3.0
    beta = np.zeros(12)
    beta[:4] = [1.5, -2.0, 0.7, 1.0]
    z = np.asarray(X @ beta).ravel()
    noise = rng.standard_normal(500)
    y = {"logistic": (z + noise > np.median(z)).astype(float), "squared": z + noise,
         "poisson": rng.poisson(np.exp(0.3 * z)).astype(float)}[kind]
    cls, datafit = ESTIMATORS[kind]
    ref = cls(penalty, **TIGHT).fit(X.tocsc(), y)
    est = cls(penalty, **TIGHT).fit(da.from_array(X, chunks=(100, 12), asarray=False), da.from_array(y, chunks=100))
    w, w_ref = np.ravel(est.coef_), np.ravel(ref.coef_)
    assert np.array_equal(w != 0, w_ref != 0) and (w != 0).sum() >= 3
    cert = certificate(X, y, w, np.ravel(est.intercept_)[0], datafit=datafit, penalty=penalty)
    cert_ref = certificate(X, y, w_ref, np.ravel(ref.intercept_)[0], datafit=datafit, penalty=penalty)
    assert abs(cert.objective - cert_ref.objective) <= 1e-6 * abs(cert_ref.objective)
    assert cert.relative <= 1e-11
