"""Which solver technique buys what: ``python -m benchmarks.ablation``.

Runs penalized's solver on the benchmark cells with one technique switched off (or a
mode forced on) at a time, each to the same certificate (relative gap 1e-6, which is
penalized's own stopping rule, so ``tol=1e-6`` needs no search), and prints the time
ratios to the default configuration as a Markdown table (copied into
``docs/performance.md``) and the raw numbers to ``benchmarks/results/ablation.csv``.
A path experiment times a 20-λ Lasso path (λ_max to 0.01·λ_max, warm starts) with
Gap Safe screening, strong-rule sets and Gram mode added one by one.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time

import numpy as np

from .problems import problems
from .solvers import FRACTIONS, _penalty, _problem_for, lambda_max

CONFIGS = {
    "default": {},
    "no working sets": {"working_set": False},
    "working sets even for p ≤ 300": {"working_set": True},
    "Anderson on": {"anderson_k": 5},
    "no exact support steps": {"support_solve": False},
    "no exact support steps, Anderson on": {"support_solve": False, "anderson_k": 5},
    "Gap Safe screening on": {"screening": True},
    "Gram mode forced": {"gram": True},
    "no proximal Newton (log-loss)": {"newton": False},
}
APPLIES = {
    "Gram mode forced": lambda model, n, p: model != "logreg" and n >= 2 * p,
    "no proximal Newton (log-loss)": lambda model, n, p: model == "logreg",
    "working sets even for p ≤ 300": lambda model, n, p: p <= 300,
}


def _time(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def cells(models, repeat, log=print, cap_s=20.0):
    from penalized.solvers import solve

    rows = []
    for prob in problems():
        n, p = prob.shape
        for model in models:
            base = _problem_for(prob, model)
            for frac in FRACTIONS:
                lam = frac * lambda_max(base, model)
                penalty = _penalty(model, lam)
                for name, options in CONFIGS.items():
                    if name in APPLIES and not APPLIES[name](model, n, p):
                        continue

                    def fit(options=options, prob=prob, model=model, penalty=penalty):
                        lp = _problem_for(prob, model)  # the Gram matrix is not reused
                        return solve(lp, penalty, tol=1e-6, max_iter=10**6, **options)

                    t0 = time.perf_counter()
                    result = fit()
                    first = time.perf_counter() - t0
                    t = _time(fit, repeat if first < cap_s / 5 else 1)
                    rows.append(dict(problem=prob.name, model=model, lam_frac=frac, config=name, time_s=t,
                                     epochs=result.n_iter, support_steps=result.support_steps,
                                     screened=result.n_screened, converged=result.converged))
                    log(f"  {prob.name:22s} {model:6s} {frac:5g}  {name:32s} {t * 1e3:9.1f} ms  "
                        f"epochs {result.n_iter:6d}")
    return rows


PATH_CONFIGS = {
    "warm starts only": dict(screening=False, strong=False),
    "+ Gap Safe screening": dict(screening=True, strong=False),
    "+ strong rules": dict(screening=False, strong=True),
    "+ both": dict(screening=True, strong=True),
    "+ both + Gram mode": dict(screening=True, strong=True, gram=True),
}


def path(repeat, log=print, n_lambdas=20):
    """Warm-started Lasso path: screening, strong-rule sets, Gram mode (n ≥ 10p only)."""
    import penalized as pz
    from penalized.solvers import LinearProblem, solve, strong_rule_set

    rows = []
    for prob in problems():
        n, p = prob.shape
        base = LinearProblem.build(prob.X, prob.y, pz.SquaredError())
        lambdas = base.lambda_max() * np.logspace(0, -2, n_lambdas)

        def run(config, prob=prob, lambdas=lambdas):
            config = dict(config)
            strong = config.pop("strong")
            lp = LinearProblem.build(prob.X, prob.y, pz.SquaredError())
            w, b, grad, prev = None, None, None, None
            for lam in lambdas:
                init = strong_rule_set(grad, lam, prev) if (strong and grad is not None) else None
                res = solve(lp, pz.L1(lam), coef_init=w, intercept_init=b, tol=1e-6, max_iter=10**6,
                            initial_working_set=init, **config)
                w, b, grad, prev = res.coef, res.intercept, res.gradient, lam

        for name, config in PATH_CONFIGS.items():
            if "gram" in config and n < 10 * p:
                continue
            t = _time(lambda config=config: run(config), repeat)
            rows.append(dict(problem=prob.name, config=name, time_s=t))
            log(f"  path {prob.name:22s} {name:24s} {t * 1e3:9.1f} ms")
    return rows


def path_markdown(rows):
    names = list(PATH_CONFIGS)
    head = ["problem"] + [f"{c} ms" if i == 0 else c for i, c in enumerate(names)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    groups = {}
    for r in rows:
        groups.setdefault(r["problem"], {})[r["config"]] = r["time_s"]
    for prob, by in groups.items():
        base = by[names[0]]
        cells = [f"{base * 1e3:.0f}"] + [f"{by[c] / base:.2f}" if c in by else "" for c in names[1:]]
        lines.append("| " + " | ".join([prob, *cells]) + " |")
    return "\n".join(lines)


def markdown(rows):
    configs = [c for c in CONFIGS if c != "default"]
    head = ["problem", "model", "λ/λ_max", "default ms"] + configs
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    groups = {}
    for r in rows:
        groups.setdefault((r["problem"], r["model"], r["lam_frac"]), {})[r["config"]] = r
    for (prob, model, frac), by in groups.items():
        base = by["default"]["time_s"]
        row = [prob, model, f"{frac:g}", f"{base * 1e3:.1f}"]
        row += [f"{by[c]['time_s'] / base:.2f}" if c in by else "" for c in configs]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ablation")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["lasso", "logreg"])
    parser.add_argument("--no-path", action="store_true")
    parser.add_argument("--path-only", action="store_true")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from .__main__ import RESULTS

    with threadpool_limits(limits=1, user_api="blas"):
        rows = [] if args.path_only else cells(args.models, args.repeat, log=lambda s: print(s, flush=True))
        path_rows = [] if args.no_path else path(args.repeat, log=lambda s: print(s, flush=True))
    RESULTS.mkdir(parents=True, exist_ok=True)
    if rows:
        with open(RESULTS / "ablation.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print("\nTime with the technique off (or the mode forced) ÷ default time "
              "(> 1: the technique helps):\n")
        print(markdown(rows))
    if path_rows:
        print("\nLasso path of 20 λ from λ_max to 0.01·λ_max, warm starts; time ÷ warm starts only:\n")
        print(path_markdown(path_rows))


if __name__ == "__main__":
    sys.exit(main())
