"""The compiled blocks against their NumPy references (hypothesis).

Each data fit and each separable penalty has one NumPy definition (``penalized.datafits``,
``penalized.penalties``) and one compiled block (``penalized.solvers._kernels``). These
properties draw values across their ranges (signs, magnitudes over many decades, the
kinks and the pieces of MCP/SCAD/BerHu) and require the two to agree, so that a change to
either side that is not made to the other fails here.
"""

import os

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_expit

import penalized as pz
from penalized.datafits import Logistic, Poisson, SquaredError

# PZ_HYPOTHESIS_EXAMPLES=1000 for a longer search than the default run's
SETTINGS = settings(max_examples=int(os.environ.get("PZ_HYPOTHESIS_EXAMPLES", 60)), deadline=None)


class _Compiled:
    """The compiled kernels (numba JIT), loaded on first use (a short repr for hypothesis' reports)."""

    def __getattr__(self, name):
        from penalized.solvers import _loader

        return getattr(_loader.jit(), name)

    def __repr__(self):
        return "compiled kernels"


k = _Compiled()

DATAFITS = [SquaredError(), Logistic(), Poisson()]
finite = st.floats(-30.0, 30.0, allow_nan=False)
magnitudes = st.floats(1e-8, 1e3, allow_nan=False)


def _vectors(draw, n):
    return np.array(draw(st.lists(finite, min_size=n, max_size=n)))


@st.composite
def samples(draw, datafit):
    """``(y, z, a)``: targets the data fit takes (±1 labels, counts ≥ 0), predictors, weights."""
    n = draw(st.integers(1, 12))
    z = _vectors(draw, n) / (3.0 if isinstance(datafit, Poisson) else 1.0)  # e^z stays finite
    if isinstance(datafit, Logistic):
        y = np.where(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))), 1.0, -1.0)
    elif isinstance(datafit, Poisson):
        y = np.array(draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)), dtype=float)
    else:
        y = _vectors(draw, n)
    s = np.array(draw(st.lists(st.floats(0.01, 10.0), min_size=n, max_size=n)))
    return y, z, s


@pytest.mark.parametrize("datafit", DATAFITS, ids=lambda d: type(d).__name__)
@SETTINGS
@given(data=st.data())
def test_datafit_value_and_derivatives_match_numpy(datafit, data):
    y, z, s = data.draw(samples(datafit))
    a = s / s.sum()
    b = data.draw(st.floats(-2.0, 2.0))
    ref = datafit.value(y, z + b, s)
    got = k.datafit_value(datafit.code, y, a, z, b)
    assert got == pytest.approx(ref, rel=1e-12, abs=1e-300)
    out = np.empty_like(y)
    total = k.weighted_derivatives(datafit.code, y, a, z, b, out)
    np.testing.assert_allclose(out, datafit.derivative(y, z + b, s), rtol=1e-12, atol=1e-300)
    assert total == pytest.approx(out.sum(), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("datafit", DATAFITS, ids=lambda d: type(d).__name__)
@SETTINGS
@given(data=st.data())
def test_curvature_is_the_derivative_of_the_derivative(datafit, data):
    """``ℓ''`` of the kernels against a central difference of the NumPy ``ℓ'``, and under the
    data fit's curvature bound where it has one."""
    y, z, _ = data.draw(samples(datafit))
    yi, zi = float(y[0]), float(z[0])
    h = 1e-5 * max(1.0, abs(zi))
    fd = (datafit._loss_derivatives(np.array([yi]), np.array([zi + h]))[0]
          - datafit._loss_derivatives(np.array([yi]), np.array([zi - h]))[0]) / (2 * h)
    curv = k.sample_loss_curvature(datafit.code, yi, zi)
    assert curv == pytest.approx(fd, rel=1e-5, abs=1e-9)
    d1, d2 = k.sample_loss_derivatives(datafit.code, yi, zi)
    assert d2 == pytest.approx(curv, rel=1e-14)
    assert d1 == pytest.approx(datafit._loss_derivatives(np.array([yi]), np.array([zi]))[0], rel=1e-12,
                               abs=1e-300)
    if datafit.curvature_bound is not None:
        assert curv <= datafit.curvature_bound * (1 + 1e-12)


@pytest.mark.parametrize("datafit", DATAFITS, ids=lambda d: type(d).__name__)
@SETTINGS
@given(data=st.data(), d=st.floats(-1.0, 1.0).filter(lambda t: abs(t) > 1e-3))
def test_loss_change_is_accurate(datafit, data, d):
    """``ℓ(z + d) − ℓ(z)`` of the kernels (a Taylor expansion for tiny steps) against the
    losses evaluated with 50 digits (mpmath), to a relative accuracy far beyond the plain
    difference's for tiny ``d``."""
    y, z, _ = data.draw(samples(datafit))
    yi, zi = float(y[0]), float(z[0])
    d = d * 10.0 ** data.draw(st.integers(-9, 0))
    got = k.sample_loss_change(datafit.code, yi, zi, d)
    with mpmath.workdps(50):
        Y, Z, D = mpmath.mpf(yi), mpmath.mpf(zi), mpmath.mpf(d)
        if isinstance(datafit, SquaredError):
            ref = (Y - Z - D) ** 2 - (Y - Z) ** 2
        elif isinstance(datafit, Logistic):
            ref = mpmath.log1p(mpmath.exp(-Y * (Z + D))) - mpmath.log1p(mpmath.exp(-Y * Z))
        else:
            ref = mpmath.exp(Z + D) - mpmath.exp(Z) - Y * D
        ref = float(ref)
    # the first-order term ℓ'(z)·d cannot be known better than the rounding of its parts (e^z, y − z)
    parts = {SquaredError: 2.0 * (abs(yi) + abs(zi) + abs(d)), Logistic: 1.0}.get(type(datafit), np.exp(zi) + yi)
    assert abs(got - ref) <= 1e-8 * abs(ref) + 8 * np.finfo(float).eps * parts * abs(d)


@pytest.mark.parametrize("datafit", [SquaredError(), Logistic()], ids=lambda d: type(d).__name__)
@SETTINGS
@given(data=st.data(), alpha=st.floats(0.0, 1.0))
def test_sample_gap_is_fenchel_young(datafit, data, alpha):
    """``f(z) + f*(θ') − θ'z`` at ``θ' = alpha·f'(z)`` from the conjugates written out in NumPy:
    squared error ``f*(v) = vy + v²/4``; log-loss ``f*(v) = (−vy) log(−vy) + (1 + vy) log(1 + vy)``
    on ``−vy ∈ [0, 1]``. It is ≥ 0 and 0 at ``alpha = 1``."""
    y, z, _ = data.draw(samples(datafit))
    yi, zi = float(y[0]), float(z[0])
    g = float(datafit._loss_derivatives(np.array([yi]), np.array([zi]))[0])
    v = alpha * g
    if isinstance(datafit, SquaredError):
        conj = v * yi + v * v / 4.0
        f = (yi - zi) ** 2
    else:
        q = -v * yi  # in [0, 1]

        def xlogx(t):
            return t * np.log(t) if t > 0 else 0.0
        conj = xlogx(q) + xlogx(1.0 - q)
        f = float(-log_expit(yi * zi))
    ref = f + conj - v * zi
    la = np.log(alpha) if alpha > 0 else 0.0
    l1a = np.log1p(-alpha) if alpha < 1 else -np.inf
    got = k.sample_gap(datafit.code, yi, zi, alpha, la, l1a)
    assert got >= 0.0
    assert got == pytest.approx(max(ref, 0.0), rel=1e-7, abs=1e-10 * (1.0 + abs(f)))


def _penalties(draw):
    lam = draw(magnitudes)
    kind = draw(st.sampled_from(["l1", "l2", "l1l2", "mcp", "scad", "berhu"]))
    if kind == "l1":
        return pz.L1(lam)
    if kind == "l2":
        return pz.L2(lam)
    if kind == "l1l2":
        return pz.L1L2(lam, draw(magnitudes))
    if kind == "mcp":
        return pz.MCP(lam, draw(st.floats(1.01, 20.0)))
    if kind == "scad":
        return pz.SCAD(lam, draw(st.floats(2.01, 20.0)))
    return pz.BerHu(lam, draw(st.floats(1e-3, 1e2)))


points = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)


@SETTINGS
@given(data=st.data())
def test_penalty_value_and_prox_match_numpy(data):
    penalty = _penalties(data.draw)
    w = np.array(data.draw(st.lists(points, min_size=1, max_size=8)))
    kp = penalty.kernel(w.shape[0])
    idx = np.arange(w.shape[0])
    assert k.penalty_value(w, kp.code, kp.params, idx) == pytest.approx(float(penalty.value(w)), rel=1e-12,
                                                                         abs=1e-300)
    step = data.draw(st.floats(1e-3, 10.0))
    ref = penalty.prox(w, step)
    got = np.array([k.pen_prox(kp.code, kp.params, j, w[j], step) for j in idx])
    # the prox minimises ½(u − x)² + step·pen(u): where two minimisers tie (non-convex pieces), the
    # objective values must agree
    obj = lambda u, x: 0.5 * (u - x) ** 2 + step * float(penalty.value(np.array([u])))  # noqa: E731
    for j in idx:
        assert obj(got[j], w[j]) == pytest.approx(obj(ref[j], w[j]), rel=1e-10, abs=1e-10 * (1 + w[j] ** 2))


@SETTINGS
@given(data=st.data())
def test_penalty_prox_is_the_minimiser_within_a_box(data):
    """With a box ``[lo, hi] ∋ 0``, the compiled prox beats every point of a fine grid of the box."""
    penalty = _penalties(data.draw)
    lo = -data.draw(st.sampled_from([0.0, 0.5, 3.0, np.inf]))
    hi = data.draw(st.sampled_from([0.0, 0.5, 3.0, np.inf]))
    kp = penalty.kernel(1, (np.array([lo]), np.array([hi])))
    x = data.draw(st.floats(-10.0, 10.0))
    step = data.draw(st.floats(1e-3, 10.0))
    u = k.pen_prox(kp.code, kp.params, 0, x, step)
    assert lo <= u <= hi
    grid = np.linspace(max(lo, -20.0), min(hi, 20.0), 20001)
    vals = 0.5 * (grid - x) ** 2 + step * np.array([float(penalty.value(np.array([t]))) for t in grid])
    best = 0.5 * (u - x) ** 2 + step * float(penalty.value(np.array([u])))
    assert best <= vals.min() + 1e-9 * (1.0 + abs(vals.min()))


@SETTINGS
@given(data=st.data())
def test_violation_is_the_subdifferential_distance(data):
    """``pen_violation`` against the NumPy subdifferential distance (convex penalties: from the
    subdifferential written out; MCP/SCAD: their ``subdiff_distance``)."""
    penalty = _penalties(data.draw)
    w = np.array(data.draw(st.lists(points, min_size=1, max_size=6)))
    w[data.draw(st.integers(0, w.shape[0] - 1))] = 0.0  # a kink
    g = np.array(data.draw(st.lists(points, min_size=w.shape[0], max_size=w.shape[0])))
    kp = penalty.kernel(w.shape[0])
    got = np.array([k.pen_violation(kp.code, kp.params, j, w[j], g[j]) for j in range(w.shape[0])])
    if hasattr(penalty, "subdiff_distance"):
        ref = np.asarray(penalty.subdiff_distance(w, g))
    else:  # differentiable away from 0: the numerical slope; at 0 the kink's half-width
        kink = kp.params[0]
        h = 1e-7 * np.maximum(1.0, np.abs(w))
        slope = np.array([(float(penalty.value(np.array([x + e]))) - float(penalty.value(np.array([x - e]))))
                          / (2 * e) for x, e in zip(w, h, strict=True)])
        ref = np.where(w == 0, np.maximum(np.abs(g) - kink, 0.0), np.abs(g + slope))
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6 * (1.0 + np.abs(g).max()))


@SETTINGS
@given(data=st.data())
def test_group_prox_matches_numpy(data):
    """The block prox of the group lasso (with an L2 part) against ``GroupL1.prox``."""
    size = data.draw(st.integers(1, 5))
    v = np.array(data.draw(st.lists(points, min_size=size, max_size=size)))
    lam = data.draw(magnitudes)
    step = data.draw(st.floats(1e-3, 10.0))
    penalty = pz.GroupL1(lam, groups=np.zeros(size, dtype=int), weights=np.ones(1))
    ref = penalty.prox(v, step)
    out = np.empty((size, 1))
    k.block_prox(out, v.reshape(-1, 1), np.zeros(size), 0.0, lam, step)
    out = out[:, 0]
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12 * (1 + np.abs(v).max()))
