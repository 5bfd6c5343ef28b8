"""Stability selection (Meinshausen & Bühlmann 2010, JRSS-B 72:417–473), by default with
complementary pairs of halves (Shah & Samworth 2013, JRSS-B 75:55–80).

Fit the penalized model's whole path on many random subsamples of half the data; the
*selection probability* of feature j at λ is the fraction of subsamples whose solution
at λ has ``w_j ≠ 0``. A feature is *stable* when its largest probability over the λ
range Λ reaches the threshold ``π_thr``:

    Ŝ_stable = { j : max_{λ∈Λ} Π̂_j(λ) ≥ π_thr }.

Λ runs from λ_max down the grid as long as ``q_Λ``, the average number of features one
subsample selects anywhere in Λ, stays ≤ q. The expected number of false selections is
bounded in terms of q (``error_bound``):

- independent halves, M&B (exchangeable noise features, a procedure no worse than random
  guessing):  E[V] ≤ q² / ((2 π_thr − 1) · p)  for π_thr > ½;
- B complementary pairs, S&S Theorem 1: the same bound without exchangeability (for the
  features that a half-sample selects with probability ≤ q/p); with their mild
  unimodality assumption, the tighter E[V] ≤ q² / (c(π_thr, B) · p), with
  c = 2(2π_thr − 1 − 1/(2B)) for π_thr ≤ ¾ and c = (1 + 1/B) / (4(1 − π_thr + 1/(2B)))
  above (S&S eq. 8; R package stabs, ``assumption="unimodal"``).

The defaults: 50 complementary pairs and the unimodal bound (as S&S and stabs),
``threshold=0.9`` (the top of M&B's 0.6–0.9, where that bound allows the largest q), and q
chosen so that the bound is ``pfer=1`` false selection (``max_features="auto"``;
q ≈ 1.5·√p at π_thr = 0.9). Without a limit on Λ (``max_features=None``), Λ reaches the
bottom of the grid, where nearly every feature is in every subsample's model, and the
stable set is nearly every feature.

Options: ``weakness=α < 1`` is M&B's randomized lasso (each subsample multiplies the
penalty factor of feature j by ``1/W_j``, ``W_j ~ U[α, 1]``). Classifiers are subsampled
within each class. The objective on a subsample is the one of
:func:`penalized.regularization_path` (mean data fit + ``λ·R``), on the λ grid computed on
the full data.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_scalar

from . import _validation as v
from .path import (
    _encode_target,
    _lambda_max,
    convergence_message,
    default_eps,
    lambda_grid,
    resolve_datafit,
    single_threaded_blas,
    solve_path,
)

__all__ = ["StabilityResult", "stability_selection", "error_bounds", "auto_max_features"]


@dataclass
class StabilityResult:
    """Selection probabilities per feature and λ, and the stable set.

    Attributes
    ----------
    lambdas : ndarray (k,)
        The grid (decreasing), as in :func:`~penalized.regularization_path`.
    probabilities : ndarray (n_features, k)
        ``Π̂_j(λ)``: fraction of subsamples selecting feature j at λ.
    lambda_range : int
        Λ is ``lambdas[:lambda_range]``.
    max_probability : ndarray (n_features,)
        ``max_{λ∈Λ} Π̂_j(λ)``.
    threshold : float
        ``π_thr``.
    selected : ndarray of bool (n_features,)
        ``max_probability ≥ threshold``.
    selected_features : ndarray of str
        Their names, most stable first.
    q : float
        Average number of features one subsample selects anywhere in Λ.
    error_bound : float
        The bound on the expected number of false selections for the sampling used:
        S&S's unimodal bound with complementary pairs (where it applies), else M&B's
        ``q²/((2π_thr − 1)p)``; ``nan`` if π_thr ≤ ½.
    error_bound_mb : float
        M&B's bound ``q²/((2π_thr − 1)p)`` (with complementary pairs: S&S's bound without
        the unimodality assumption); ``nan`` if π_thr ≤ ½.
    feature_names : ndarray of str
    n_subsamples : int
    complementary_pairs : bool
    """

    lambdas: np.ndarray
    probabilities: np.ndarray
    lambda_range: int
    max_probability: np.ndarray
    threshold: float
    selected: np.ndarray
    selected_features: np.ndarray
    q: float
    error_bound: float
    feature_names: np.ndarray
    n_subsamples: int
    error_bound_mb: float = float("nan")
    complementary_pairs: bool = False

    def selected_at(self, threshold):
        """Names of the features with ``max_probability ≥ threshold``, most stable first."""
        order = np.argsort(-self.max_probability, kind="stable")
        keep = order[self.max_probability[order] >= threshold]
        return self.feature_names[keep]

    def to_frame(self):
        """One row per feature: its maximal probability and whether it is selected."""
        import pandas as pd

        frame = pd.DataFrame({"feature": self.feature_names, "max_probability": self.max_probability,
                              "selected": self.selected})
        return frame.sort_values("max_probability", ascending=False, kind="stable").reset_index(drop=True)

    def plot(self, ax=None, **kwargs):
        """Stability paths (probability against λ), the stable features labelled."""
        from .plots import plot_stability

        return plot_stability(self, ax=ax, **kwargs)


def _subsamples(rng, y, n_subsamples, fraction, complementary_pairs, stratify):
    """Index arrays of the subsamples (within each class when ``stratify``)."""
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    out = []
    while len(out) < n_subsamples:
        perms = [rng.permutation(g) for g in groups]
        sizes = [int(np.floor(fraction * len(g))) for g in groups]
        first = np.sort(np.concatenate([p[:m] for p, m in zip(perms, sizes, strict=True)]))
        out.append(first)
        if complementary_pairs and len(out) < n_subsamples:
            out.append(np.sort(np.concatenate([p[m:2 * m] for p, m in zip(perms, sizes, strict=True)])))
    return out


def _subsample_task(X, y, sample_weight, rows, datafit, unit, lambdas, factors, solver):
    if factors is not None:
        unit = unit.with_feature_factors(factors)
    sw = None if sample_weight is None else sample_weight[rows]
    arrays = solve_path(X[rows], y[rows], datafit, unit, lambdas, sample_weight=sw, **solver)
    coefs = arrays.coefs
    chosen = (coefs.toarray() if hasattr(coefs, "toarray") else coefs) != 0  # a sparse store (path)
    union_sizes = np.logical_or.accumulate(chosen, axis=1).sum(axis=0)
    return chosen, union_sizes, arrays


def _unimodal_constant(threshold, n_pairs):
    """``c`` of S&S's unimodal bound ``E[V] ≤ q²/(c·p)`` for ``n_pairs`` complementary pairs
    (their eq. 8); ``nan`` where the bound does not apply (π_thr too close to ½)."""
    if threshold > 0.75:
        return (1.0 + 1.0 / n_pairs) / (4.0 * (1.0 - threshold + 1.0 / (2 * n_pairs)))
    c = 2.0 * (2.0 * threshold - 1.0 - 1.0 / (2 * n_pairs))
    return c if c > 0 else float("nan")


def _unimodal_max_q(threshold, n_pairs, p):
    """The largest q for which S&S's unimodal bound holds at π_thr ≤ ¾ (π_thr must exceed
    ½ + min(θ², 1/(2B) + ¾θ²), θ = q/p); p above ¾."""
    if threshold > 0.75:
        return float(p)
    theta2 = max(threshold - 0.5, 4.0 / 3.0 * (threshold - 0.5 - 1.0 / (2 * n_pairs)))
    return p * np.sqrt(max(theta2, 0.0))


def error_bounds(q, p, threshold, n_pairs=None):
    """``(bound, mb_bound)`` on the expected number of false selections for a stable set
    at ``threshold`` whose subsamples select ``q`` of ``p`` features on average in Λ.

    ``mb_bound`` is M&B's ``q²/((2π_thr − 1)p)``; ``bound`` is S&S's unimodal bound with
    ``n_pairs`` complementary pairs where it applies, else ``mb_bound``. Both are ``nan``
    for ``threshold ≤ ½``.
    """
    if threshold <= 0.5:
        return float("nan"), float("nan")
    mb = q * q / ((2.0 * threshold - 1.0) * p)
    if n_pairs is None:
        return mb, mb
    c = _unimodal_constant(threshold, n_pairs)
    if np.isnan(c) or q > _unimodal_max_q(threshold, n_pairs, p):
        return mb, mb
    return min(q * q / (c * p), mb), mb


def auto_max_features(p, threshold, pfer=1.0, n_pairs=None):
    """The q whose bound (:func:`error_bounds`) on the expected number of false selections is
    ``pfer``: ``√(pfer·c·p)`` with complementary pairs (c of S&S's unimodal bound, within its
    range), else ``√(pfer·(2π_thr − 1)·p)`` (M&B); at most p."""
    if threshold <= 0.5:
        raise ValueError(f"max_features='auto' bounds the expected number of false selections, which needs "
                         f"threshold > 0.5; got threshold={threshold!r}. Give max_features=q (a number) or None.")
    q = np.sqrt(pfer * (2.0 * threshold - 1.0) * p)
    if n_pairs is not None:
        c = _unimodal_constant(threshold, n_pairs)
        if not np.isnan(c):
            q = max(q, min(np.sqrt(pfer * c * p), _unimodal_max_q(threshold, n_pairs, p)))
    return float(min(q, p))


def stability_selection(X, y, penalty="l1", *, l1_ratio=0.5, weights=None, datafit="squared_error",
                        lambdas=None, n_lambdas=50, eps=None, n_subsamples=100, sample_fraction=0.5,
                        complementary_pairs=True, weakness=1.0, threshold=0.9, max_features="auto", pfer=1.0,
                        sample_weight=None, fit_intercept=True, tol=1e-4, max_iter=1000, screening="auto",
                        n_jobs=None, random_state=None):
    """Selection probabilities of every feature over random half-samples and λ, and the
    features stable enough to keep with a bounded expected number of false selections.

    Parameters
    ----------
    X, y, penalty, l1_ratio, weights, datafit, lambdas, eps, sample_weight, fit_intercept, tol,
    max_iter, screening :
        As in :func:`penalized.regularization_path` (the grid is computed on all the data).
    n_lambdas : int, default=50
    n_subsamples : int, default=100
        Number of subsamples (an even number with ``complementary_pairs``: 100 = 50 pairs).
    sample_fraction : float in (0, 1), default=0.5
        Size of each subsample relative to n (M&B and S&S: ½; the bounds assume it).
    complementary_pairs : bool, default=True
        Draw the subsamples as disjoint pairs of halves (Shah & Samworth); False draws
        independent halves (M&B).
    weakness : float in (0, 1], default=1.0
        Randomized lasso: penalty factors multiplied by ``1/W_j``, ``W_j ~ U[weakness, 1]``.
    threshold : float in (0, 1], default=0.9
        π_thr (M&B suggest 0.6 to 0.9).
    max_features : "auto", float or None, default="auto"
        q: limit Λ so that a subsample selects at most q features on average anywhere in
        Λ. ``"auto"``: the q whose error bound is ``pfer`` (:func:`auto_max_features`;
        needs ``threshold > 0.5``). None: no limit (Λ is the whole grid).
    pfer : float > 0, default=1.0
        With ``max_features="auto"``: the bound on the expected number of false
        selections (per-family error rate) that sets q.
    n_jobs : int, optional
        Subsamples in parallel through joblib (threads unless a backend is active).
    random_state : int, numpy Generator or None

    Returns
    -------
    StabilityResult
    """
    datafit = resolve_datafit(datafit)
    if datafit.multi_output:
        raise ValueError(f"stability_selection takes one output per sample (datafit 'squared_error', 'logistic' "
                         f"or 'poisson'), got datafit={datafit!r}.")
    v.check_path_solver_params(tol, max_iter, fit_intercept)
    v.check_screening(screening)
    check_scalar(n_subsamples, "n_subsamples", numbers.Integral, min_val=1)
    fraction = v.check_probability(sample_fraction, "sample_fraction")
    if fraction >= 1.0:
        raise ValueError(f"sample_fraction must be < 1 (a subsample of the data), got {sample_fraction!r}.")
    weakness = v.check_probability(weakness, "weakness")
    threshold = v.check_probability(threshold, "threshold")
    if not (max_features is None or (isinstance(max_features, str) and max_features == "auto")):
        if isinstance(max_features, str):
            raise ValueError(f"max_features must be 'auto', a number > 0 or None, got {max_features!r}.")
        check_scalar(max_features, "max_features", numbers.Real, min_val=0.0, include_boundaries="neither")
    check_scalar(pfer, "pfer", numbers.Real, min_val=0.0, include_boundaries="neither")
    if complementary_pairs and n_subsamples % 2:
        raise ValueError(f"complementary_pairs=True draws pairs of subsamples: n_subsamples must be even, got "
                         f"{n_subsamples}.")
    n_pairs = n_subsamples // 2 if complementary_pairs else None
    classifier = datafit.needs_labels
    X, y_raw, sample_weight, names = v.validate_function_data(X, y, sample_weight, classifier=classifier)
    unit = v.check_path_penalty(penalty, l1_ratio, weights, X.shape[1])
    y, _ = _encode_target(datafit, y_raw, sample_weight)
    n, p = X.shape
    if isinstance(max_features, str):
        max_features = auto_max_features(p, threshold, pfer, n_pairs)
    if int(np.floor(fraction * n)) < 2:
        raise ValueError(f"sample_fraction={sample_fraction} of n_samples={n} leaves fewer than 2 samples "
                         "per subsample.")
    rng = np.random.default_rng(random_state)
    subsamples = _subsamples(rng, y, n_subsamples, fraction, complementary_pairs, classifier)
    factors = [None if weakness == 1.0 else 1.0 / rng.uniform(weakness, 1.0, p) for _ in subsamples]
    solver = dict(fit_intercept=fit_intercept, tol=tol, max_iter=max_iter, screening=screening)
    with single_threaded_blas():
        if lambdas is None:
            v.check_grid_params(n_lambdas, eps)
            lam_max = _lambda_max(X, y, datafit, unit, sample_weight, fit_intercept, tol)[0]
            grid = lambda_grid(lam_max, n_lambdas, default_eps(n, p) if eps is None else eps)
        else:
            grid = v.check_lambda_grid(lambdas)
        outcomes = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_subsample_task)(X, y, sample_weight, rows, datafit, unit, grid, f, solver)
            for rows, f in zip(subsamples, factors, strict=True))
    counts = sum(o[0].astype(np.int64) for o in outcomes)
    probabilities = counts / len(outcomes)
    union = np.mean([o[1] for o in outcomes], axis=0)  # q as a function of the end of Λ
    k_end = len(grid) if max_features is None else max(int(np.searchsorted(union, max_features, "right")), 1)
    max_prob = probabilities[:, :k_end].max(axis=1)
    selected = max_prob >= threshold
    q = float(union[k_end - 1])
    bound, bound_mb = error_bounds(q, p, threshold, n_pairs)
    arrays = [o[2] for o in outcomes]
    converged = np.concatenate([a.converged for a in arrays])
    if not converged.all():
        warnings.warn(convergence_message(
            "stability_selection", np.concatenate([a.certificates for a in arrays]),
            np.concatenate([a.thresholds for a in arrays]), converged, np.tile(grid, len(arrays)), tol,
            max_iter), ConvergenceWarning, stacklevel=2)
    order = np.argsort(-max_prob, kind="stable")
    return StabilityResult(
        lambdas=grid, probabilities=probabilities, lambda_range=k_end, max_probability=max_prob,
        threshold=threshold, selected=selected, selected_features=names[order[selected[order]]], q=q,
        error_bound=bound, feature_names=names, n_subsamples=len(outcomes), error_bound_mb=bound_mb,
        complementary_pairs=bool(complementary_pairs),
    )
