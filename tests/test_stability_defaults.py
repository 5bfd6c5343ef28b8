"""Stability selection with its defaults: a useful stable set and an error bound that means
something (complementary pairs, threshold 0.9, q from a bound of one false selection).

The study over more shapes, correlations and seeds is ``python -m benchmarks.stability_defaults``."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import penalized as pz
from penalized.selection import auto_max_features, error_bounds

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.stability_defaults import simulate as simulate_problem


def simulate(n, p, s, rho, seed, snr=4.0):
    """The study's problems: Toeplitz design corr(x_j, x_k) = rho^|j-k|, s true features at random
    positions with coefficients ±U[0.5, 1.5], Gaussian noise at signal-to-noise ratio ``snr``."""
    return simulate_problem(n, p, s, "toeplitz", rho, snr, "squared_error", seed)


def true_and_false(result, support):
    chosen = np.flatnonzero(result.selected)
    tp = np.intersect1d(chosen, support).size
    return tp, chosen.size - tp


# -- the bounds, from the formulas of the papers ---------------------------------------------------
def test_error_bounds_are_the_papers_formulas():
    q, p = 6.0, 100
    # Meinshausen & Bühlmann (2010), Theorem 1: q² / ((2π − 1) p)
    assert error_bounds(q, p, 0.9) == pytest.approx((36 / (0.8 * 100),) * 2)
    # Shah & Samworth (2013), unimodal bound with B = 50 pairs: q²/(c p),
    # c = (1 + 1/B) / (4 (1 − π + 1/(2B))) above 3/4, c = 2 (2π − 1 − 1/(2B)) at or below
    bound, mb = error_bounds(q, p, 0.9, n_pairs=50)
    assert bound == pytest.approx(36 / 100 * 4 * (0.1 + 0.01) / 1.02) and mb == pytest.approx(0.45)
    assert error_bounds(q, p, 0.75, n_pairs=50)[0] == pytest.approx(36 / 100 / (2 * (0.5 - 0.01)))
    # the unimodal bound needs π > 1/2 + min(θ², 1/(2B) + 3θ²/4), θ = q/p; outside it, M&B's
    assert error_bounds(80.0, p, 0.6, n_pairs=50) == pytest.approx((64 / 0.2,) * 2)
    assert all(np.isnan(error_bounds(q, p, 0.5, n_pairs=50)))


@pytest.mark.parametrize("p", [8, 30, 200, 1000])
@pytest.mark.parametrize("threshold", [0.6, 0.75, 0.9])
def test_auto_q_has_the_asked_bound(p, threshold):
    for pfer, pairs in [(1.0, 50), (2.0, 50), (1.0, None)]:
        q = auto_max_features(p, threshold, pfer, pairs)
        assert 0 < q <= p
        assert error_bounds(q, p, threshold, pairs)[0] == pytest.approx(pfer, rel=1e-9) or q == p
    assert auto_max_features(30, 0.9, 1.0, 50) == pytest.approx(np.sqrt(30 * 1.02 / (4 * 0.11)))
    with pytest.raises(ValueError, match="needs threshold > 0.5"):
        auto_max_features(p, 0.5)


# -- the defaults on data ---------------------------------------------------------------------
@pytest.mark.parametrize("n, p, s, rho, seed", [
    (100, 30, 5, 0.0, 0),     # the shape: 30 features, 5 true (old defaults: all 30)
    (100, 30, 5, 0.5, 11),
    (200, 100, 5, 0.5, 1),
])
def test_defaults_select_the_true_features(n, p, s, rho, seed):
    X, y, support = simulate(n, p, s, rho, seed)
    res = pz.stability_selection(X, y, random_state=seed)
    tp, fp = true_and_false(res, support)
    assert tp >= s - 1 and fp <= 1, (tp, fp)
    assert res.complementary_pairs and res.n_subsamples == 100 and res.threshold == 0.9
    # q was chosen for a bound of one false selection; the realized q_Λ can only be smaller
    assert res.q <= auto_max_features(p, 0.9, 1.0, 50) and res.error_bound <= 1.0
    assert res.error_bound == pytest.approx(error_bounds(res.q, p, 0.9, 50)[0])
    if p <= 30:  # the previous defaults (independent halves, π = 0.6, Λ the whole grid): nearly all
        old = pz.stability_selection(X, y, random_state=seed, complementary_pairs=False, threshold=0.6,
                                     max_features=None)
        assert old.selected.sum() >= p - 2 and old.error_bound > 10


@pytest.mark.parametrize("n, p, s, rho, seed", [(100, 200, 8, 0.3, 0), (100, 200, 8, 0.3, 3)])
def test_defaults_when_n_is_smaller_than_p(n, p, s, rho, seed):
    """n < p: fewer true features reach π = 0.9 on half-samples, but the stable ones are true."""
    X, y, support = simulate(n, p, s, rho, seed)
    res = pz.stability_selection(X, y, random_state=seed)
    tp, fp = true_and_false(res, support)
    assert tp >= s // 2 and fp <= 1, (tp, fp)
    assert res.error_bound <= 1.0


def test_no_signal_selects_about_nothing():
    """Pure noise: every selection is false, and the bound (1) holds on average over seeds."""
    false = []
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        X, y = rng.standard_normal((80, 40)), rng.standard_normal(80)
        res = pz.stability_selection(X, y, n_lambdas=30, random_state=seed)
        assert res.error_bound <= 1.0
        false.append(int(res.selected.sum()))
    assert np.mean(false) <= 1.0, false


def test_prostate_defaults_select_esls_predictors():
    """All 97 men, 8 standardized predictors: lcavol and lweight (ESL's best subset) always, svi
    at the threshold, never a predictor ESL's lasso drops (age, lcp, gleason, pgg45) nor lbph."""
    from penalized.datasets import load_prostate

    data = load_prostate()
    X = pd.DataFrame((data.data - data.data.mean(axis=0)) / data.data.std(axis=0), columns=data.feature_names)
    for seed in range(2):
        res = pz.stability_selection(X, data.target, random_state=seed)
        assert {"lcavol", "lweight"} <= set(res.selected_features) <= {"lcavol", "lweight", "svi"}
        assert res.error_bound <= 1.0


def test_bad_stability_parameters():
    X, y, _ = simulate(40, 6, 2, 0.0, 0)
    with pytest.raises(ValueError, match="n_subsamples must be even, got 25"):
        pz.stability_selection(X, y, n_subsamples=25)
    pz.stability_selection(X, y, n_subsamples=25, complementary_pairs=False, n_lambdas=5)
    with pytest.raises(ValueError, match="needs threshold > 0.5; got threshold=0.5"):
        pz.stability_selection(X, y, threshold=0.5)
    with pytest.raises(ValueError, match="pfer == 0"):
        pz.stability_selection(X, y, pfer=0)
    with pytest.raises(ValueError, match="max_features must be 'auto', a number > 0 or None"):
        pz.stability_selection(X, y, max_features="all")
