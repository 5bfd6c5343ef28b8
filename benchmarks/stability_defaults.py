"""Does ``pz.stability_selection`` with its defaults select the true features?

Simulated sparse problems of several shapes (n > p and n < p), correlations (Toeplitz
ρ^|i−j|, equicorrelated), signal-to-noise ratios and seeds, and a logistic one: the true
and false positives of the stable set with the defaults (50 complementary pairs,
threshold 0.9, q from an error bound of 1), with the previous defaults (100 independent
halves, threshold 0.6, Λ the whole grid), and, for reference, of ``pz.LassoCV`` (λ_1se).
Then the prostate data (Stamey et al.; ESL §3.4), whose accepted predictors are lcavol,
lweight and svi.

    python -m benchmarks.stability_defaults [--seeds 5]
    python -m benchmarks.stability_defaults --seeds 5 --sweep   # other thresholds and bounds

prints a Markdown table (docs/paths_and_cv.md quotes it); ``--sweep`` prints instead, for each
(threshold, pfer), the true and false positives summed over the problems and seeds.
Selection counts, not timings: the numbers do not depend on the machine.
"""

from __future__ import annotations

import argparse

import numpy as np

import penalized as pz

#: (name, n, p, true features, design, correlation, SNR, data fit)
PROBLEMS = [
    ("n > p, independent", 100, 30, 5, "toeplitz", 0.0, 4.0, "squared_error"),
    ("n > p, Toeplitz 0.5", 200, 100, 5, "toeplitz", 0.5, 4.0, "squared_error"),
    ("n > p, Toeplitz 0.8, 10 true", 300, 50, 10, "toeplitz", 0.8, 4.0, "squared_error"),
    ("n < p, Toeplitz 0.3", 100, 200, 8, "toeplitz", 0.3, 4.0, "squared_error"),
    ("n ≪ p, equicorrelated 0.3", 150, 1000, 10, "equi", 0.3, 4.0, "squared_error"),
    ("n ≪ p, Toeplitz 0.6, SNR 2", 80, 500, 5, "toeplitz", 0.6, 2.0, "squared_error"),
    ("logistic, Toeplitz 0.5", 300, 50, 5, "toeplitz", 0.5, 4.0, "logistic"),
]

OLD_DEFAULTS = dict(complementary_pairs=False, threshold=0.6, max_features=None)


def design(rng, n, p, kind, rho):
    z = rng.standard_normal((n, p))
    if kind == "equi":  # corr(x_j, x_k) = rho for every pair
        return np.sqrt(1 - rho) * z + np.sqrt(rho) * rng.standard_normal((n, 1))
    X = np.empty_like(z)  # Toeplitz: corr(x_j, x_k) = rho^|j-k|
    X[:, 0] = z[:, 0]
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * z[:, j]
    return X


def simulate(n, p, s, kind, rho, snr, datafit, seed):
    """``(X, y, support)``: s true features at random positions, coefficients ±U[0.5, 1.5];
    Gaussian noise at the given signal-to-noise ratio, or labels drawn from the logistic model
    with the linear predictor scaled to that standard deviation."""
    rng = np.random.default_rng(seed)
    X = design(rng, n, p, kind, rho)
    support = np.sort(rng.choice(p, s, replace=False))
    beta = np.zeros(p)
    beta[support] = rng.choice([-1.0, 1.0], s) * rng.uniform(0.5, 1.5, s)
    eta = X @ beta
    if datafit == "logistic":
        eta *= np.sqrt(snr) / eta.std()
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    else:
        y = eta + eta.std() / np.sqrt(snr) * rng.standard_normal(n)
    return X, y, support


def counts(selected, support):
    """(true positives, false positives) of a boolean mask."""
    chosen = np.flatnonzero(selected)
    tp = np.intersect1d(chosen, support).size
    return tp, chosen.size - tp


def study(seeds):
    rows = []
    for name, n, p, s, kind, rho, snr, datafit in PROBLEMS:
        got = {"defaults": [], "old defaults": [], "LassoCV (λ_1se)": []}
        bounds, qs = [], []
        for seed in seeds:
            X, y, support = simulate(n, p, s, kind, rho, snr, datafit, seed)
            res = pz.stability_selection(X, y, datafit=datafit, random_state=seed)
            got["defaults"].append(counts(res.selected, support))
            bounds.append(res.error_bound)
            qs.append(res.q)
            old = pz.stability_selection(X, y, datafit=datafit, random_state=seed, **OLD_DEFAULTS)
            got["old defaults"].append(counts(old.selected, support))
            if datafit == "logistic":
                cv = pz.LogisticRegressionCV(penalty="l1", cv=5, select="1se").fit(X, y)
                coef = cv.coef_.ravel()
            else:
                coef = pz.LassoCV(cv=5, select="1se").fit(X, y).coef_
            got["LassoCV (λ_1se)"].append(counts(coef != 0, support))
        rows.append((name, n, p, s, {k: np.array(v) for k, v in got.items()}, np.mean(qs), np.mean(bounds)))
    return rows


SWEEP = [(0.9, 1.0), (0.8, 1.0), (0.75, 1.0), (0.7, 1.0), (0.9, 2.0), (0.8, 2.0)]


def sweep(seeds):
    """``{(threshold, pfer): (true positives, false positives)}`` summed over problems and seeds."""
    totals = {key: np.zeros(2, dtype=int) for key in SWEEP}
    for _, n, p, s, kind, rho, snr, datafit in PROBLEMS:
        for seed in seeds:
            X, y, support = simulate(n, p, s, kind, rho, snr, datafit, seed)
            for threshold, pfer in SWEEP:
                res = pz.stability_selection(X, y, datafit=datafit, threshold=threshold, pfer=pfer,
                                             random_state=seed)
                totals[threshold, pfer] += counts(res.selected, support)
    return totals


def prostate(seeds):
    from penalized.datasets import load_prostate

    out = []
    for split in ("train", None):
        data = load_prostate(split) if split else load_prostate()
        X = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
        import pandas as pd

        X = pd.DataFrame(X, columns=data.feature_names)
        for seed in seeds:
            res = pz.stability_selection(X, data.target, random_state=seed)
            out.append((split or "all", seed, sorted(res.selected_features), res.q, res.error_bound))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sweep", action="store_true", help="compare thresholds and bounds instead")
    args = parser.parse_args(argv)
    seeds = range(args.seeds)
    if args.sweep:
        n_true = sum(problem[3] for problem in PROBLEMS) * len(seeds)
        print(f"| threshold | pfer | true positives (of {n_true}) | false positives |\n|---|---|---|---|")
        for (threshold, pfer), (tp, fp) in sweep(seeds).items():
            print(f"| {threshold} | {pfer:g} | {tp} | {fp} |")
        return
    print(f"Mean over {len(seeds)} seeds (min–max); TP = true features selected, FP = others.\n")
    print("| problem | n | p | true | defaults: TP | FP | q | error bound | old defaults: TP | FP "
          "| LassoCV λ_1se: TP | FP |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")

    def cell(a):
        return f"{a.mean():.1f} ({a.min()}–{a.max()})"

    for name, n, p, s, got, q, bound in study(seeds):
        d, o, c = got["defaults"], got["old defaults"], got["LassoCV (λ_1se)"]
        print(f"| {name} | {n} | {p} | {s} | {cell(d[:, 0])} | {cell(d[:, 1])} | {q:.1f} | {bound:.2f} "
              f"| {cell(o[:, 0])} | {cell(o[:, 1])} | {cell(c[:, 0])} | {cell(c[:, 1])} |")
    print("\nProstate (8 standardized predictors), defaults:\n")
    for split, seed, chosen, q, bound in prostate(seeds):
        print(f"- {split} rows, seed {seed}: {', '.join(chosen)} (q = {q:.2f}, error bound {bound:.2f})")


if __name__ == "__main__":
    main()
