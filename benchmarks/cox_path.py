"""Lasso path of the Cox model (Breslow ties): penalized against scikit-survival's CoxnetSurvivalAnalysis.

Both solve ``−(1/n) log PL(w) + λ‖w‖₁`` (scikit-survival's ``alphas`` are penalized's λ) on the same
grid of ``N_LAMBDAS`` values from λ_max down to ``EPS·λ_max``, warm-started along it. Accuracy: at every
point, ``(F(w) − F*) / (L(0) − L_sat)`` where ``F*`` is the best objective found by a tight run of
either library (penalized ``tol=1e-10``, scikit-survival ``tol=1e-12``); the table shows the worst
point. Time: median of ``REPEATS`` runs after a warm-up, one BLAS thread.

    python -m benchmarks.cox_path [--quick]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import sys
import time
import warnings

import numpy as np

N_LAMBDAS, EPS, REPEATS = 50, 0.01, 3


def survival_data(n, p, seed=0, rho=0.5):
    """AR(ρ) Gaussian design, 10 true effects, exponential times, ~30 % censored, times rounded (ties)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho * rho) * X[:, j]
    beta = np.zeros(p)
    beta[rng.choice(p, 10, replace=False)] = rng.choice([-1.0, 1.0], 10) * rng.uniform(0.3, 1.0, 10)
    t = rng.exponential(np.exp(-X @ beta))
    c = rng.exponential(np.quantile(t, 0.7) * 2.0, n)
    time_ = np.round(np.minimum(t, c), 2) + 0.01
    from sksurv.util import Surv

    return X, Surv.from_arrays(event=t <= c, time=time_)


def objectives(X, y, coefs, grid):
    import penalized as pz

    bound = pz.Cox().bind(y)
    return np.array([bound.value(X @ coefs[:, k]) + grid[k] * np.abs(coefs[:, k]).sum() for k in range(len(grid))])


def timed(fn):
    fn()  # warm-up (compilation, caches)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def run_case(n, p):
    from sksurv.linear_model import CoxnetSurvivalAnalysis

    import penalized as pz

    X, y = survival_data(n, p)
    grid = pz.regularization_path(X, y, datafit="cox", n_lambdas=N_LAMBDAS, eps=EPS).lambdas

    def ours(tol=1e-4):
        return pz.regularization_path(X, y, datafit="cox", lambdas=grid, tol=tol).coefs

    def theirs(tol=1e-7):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return CoxnetSurvivalAnalysis(alphas=grid, l1_ratio=1.0, tol=tol, max_iter=100000).fit(X, y).coef_

    best = np.minimum(objectives(X, y, ours(1e-10), grid), objectives(X, y, theirs(1e-12), grid))
    bound = pz.Cox().bind(y)
    scale = bound.value(np.zeros(n)) - bound.saturated
    rows = []
    for name, fn in [("penalized (tol=1e-4)", ours), ("scikit-survival (tol=1e-7, default)", theirs)]:
        seconds, coefs = timed(fn)
        subopt = np.max(objectives(X, y, coefs, grid) - best) / scale
        rows.append((name, seconds, subopt))
    return rows


def main(argv=()):
    cases = [(500, 100)] if "--quick" in argv else [(1000, 200), (400, 2000)]
    print(f"Cox lasso path, {N_LAMBDAS} λ down to {EPS}·λ_max, Breslow ties; median of {REPEATS} runs, 1 thread\n")
    print("| n × p | solver | time (s) | worst relative suboptimality |")
    print("|---|---|---|---|")
    for n, p in cases:
        for name, seconds, subopt in run_case(n, p):
            print(f"| {n} × {p} | {name} | {seconds:.3f} | {subopt:.1e} |")


if __name__ == "__main__":
    main(sys.argv[1:])
