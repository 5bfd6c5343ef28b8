"""Paths + K-fold CV of the multinomial, Poisson and multi-task models, against the peers' CV estimators.

Each cell runs a whole cross-validation — one λ grid (penalized's: ``n_lambdas`` values from λ_max down
to ``eps·λ_max``), ``KFold(5, shuffle=True, random_state=0)`` (stratified for classes), a path per fold,
held-out scores, the refit at the selected λ — serially, with every thread pool limited to one thread:

- multinomial L1: ``penalized.LogisticRegressionCV`` against scikit-learn's ``LogisticRegressionCV``
  (``solver="saga"``, ``l1_ratios=(1,)``, ``Cs = 1/(n·λ)``, scored by log-loss). scikit-learn's ``C``
  multiplies a *sum* of losses, so on a training part of ``n_f`` samples it is penalized's λ·n/n_f;
- Poisson L1: ``penalized.PoissonRegressorCV`` against glum's ``GeneralizedLinearRegressorCV``
  (``alphas = λ``, ``l1_ratio=1``) and skglm's ``GeneralizedLinearEstimatorCV`` (``Poisson() + L1``,
  ``ProxNewton``; its own ``KFold(5, shuffle=True, random_state=0)``: the same folds);
- multi-task lasso: ``penalized.MultiTaskLassoCV`` against scikit-learn's ``MultiTaskLassoCV``
  (``alphas = λ/2``).

Tolerance: penalized runs at its default ``tol = 1e-4`` (every point's duality gap ≤ 1e-4 of the null
objective, so every point within 1e-4 of its optimum). scikit-learn's multi-task coordinate descent stops
on the same duality gap, for ``tol_sk = tol/2`` (its objective is n/2 times penalized's, its threshold
``tol_sk·‖Y − Ȳ‖²``). saga, glum and skglm stop on other quantities: their ``tol`` is searched loose →
tight until their own path on all the data (warm-started along the grid, as their CV runs it) is within
``1e-4`` of the best known objective at every λ, the objectives computed by
:func:`penalized.solvers.certify`. Median of the timed runs after a warm-up, the estimators interleaved
run by run.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from functools import partial

import numpy as np

from .glm import BIG, linear_problem, multinomial_sim, multitask_sim, penalty, poisson_sim

TOL = 1e-4
N_LAMBDAS = 30
EPS = 1e-2
TOL_GRID = [10.0 ** (-k / 2) for k in range(2, 21)]
PEERS = {"multinomial": ("scikit-learn",), "poisson": ("glum", "skglm"), "multitask": ("scikit-learn",)}
_MODULES = {"scikit-learn": "sklearn", "glum": "glum", "skglm": "skglm"}


def problems(quick=False):
    if quick:
        return [multinomial_sim(120, 20, 3), poisson_sim(150, 20), multitask_sim(80, 60, 3)]
    return [multinomial_sim(1000, 100, 5), poisson_sim(2000, 200), multitask_sim(300, 2000, 5)]


def folds(prob):
    from sklearn.model_selection import KFold, StratifiedKFold

    if prob.model == "multinomial":
        return list(StratifiedKFold(5, shuffle=True, random_state=0).split(prob.X, prob.y))
    return list(KFold(5, shuffle=True, random_state=0).split(prob.X))


def run_penalized(prob, splits, n_lambdas, eps):
    import penalized as pz

    common = dict(n_lambdas=n_lambdas, eps=eps, cv=splits, tol=TOL, max_iter=100_000)
    est = {"multinomial": pz.LogisticRegressionCV, "poisson": pz.PoissonRegressorCV,
           "multitask": pz.MultiTaskLassoCV}[prob.model](**common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(prob.X, prob.y)


def run_peer(library, prob, splits, grid, tol):
    n = prob.X.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if prob.model == "multinomial":
            from sklearn.linear_model import LogisticRegressionCV

            return LogisticRegressionCV(Cs=1.0 / (n * grid), l1_ratios=(1.0,), solver="saga", cv=splits, tol=tol,
                                        max_iter=BIG, scoring="neg_log_loss", use_legacy_attributes=False
                                        ).fit(prob.X, prob.y)
        if prob.model == "multitask":
            from sklearn.linear_model import MultiTaskLassoCV

            return MultiTaskLassoCV(alphas=grid / 2, cv=splits, tol=tol, max_iter=BIG).fit(prob.X, prob.y)
        if library == "glum":
            import glum

            return glum.GeneralizedLinearRegressorCV(family="poisson", l1_ratio=[1.0], alphas=grid, cv=splits,
                                                     gradient_tol=tol, max_iter=10_000).fit(prob.X, prob.y)
        import skglm
        from skglm.datafits import Poisson
        from skglm.penalties import L1
        from skglm.solvers import ProxNewton

        return skglm.GeneralizedLinearEstimatorCV(Poisson(), L1(alpha=1.0), ProxNewton(tol=tol, fit_intercept=True),
                                                  alphas=grid, cv=len(splits), random_state=0).fit(prob.X, prob.y)


def peer_path(library, prob, grid, tol):
    """The peer's path on all the data along ``grid`` (warm starts), as (coef, intercept) per λ."""
    from .glm import make_estimator

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if library == "glum":
            import glum

            m = glum.GeneralizedLinearRegressor(family="poisson", alpha_search=True, alphas=grid, l1_ratio=1.0,
                                                gradient_tol=tol, max_iter=10_000).fit(prob.X, prob.y)
            return list(zip(m.coef_path_, m.intercept_path_, strict=True))
        est = None
        for lam in grid:
            new = make_estimator(library, prob.model, lam, tol, prob.X.shape[0])
            if est is not None:  # warm start from the previous λ
                if library == "scikit-learn":
                    new.set_params(warm_start=True)
                elif hasattr(new, "solver"):
                    new.solver.warm_start = True
                # copies: a fit may update its starting arrays in place
                new.coef_, new.intercept_ = np.array(est.coef_), np.array(est.intercept_)
            est = new.fit(prob.X, prob.y)
            out.append((np.array(est.coef_, dtype=np.float64), np.array(est.intercept_, dtype=np.float64)))
    return out


def path_suboptimality(prob, lp, grid, path, best):
    """The largest ``(objective − best) / null`` over the path's points."""
    from penalized.solvers import certify

    worst = 0.0
    for k, (coef, b) in enumerate(path):
        c = certify(lp, penalty(prob.model, grid[k]), coef, b)
        best[k] = min(best[k], c.objective)
        worst = max(worst, (c.objective - best[k]) / c.null_loss)
    return worst


def best_path(prob, grid):
    """Best known objectives along ``grid``: penalized's path at tol = 1e-10."""
    import penalized as pz
    from penalized.solvers import certify

    unit = pz.GroupL1(1.0) if prob.model == "multitask" else "l1"
    datafit = {"multitask": "squared_error"}.get(prob.model, prob.model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = pz.regularization_path(prob.X, prob.y, unit, datafit=datafit, lambdas=grid, tol=1e-10, max_iter=BIG)
    lp = linear_problem(prob)
    best = np.array([certify(lp, penalty(prob.model, grid[k]), path.coef_at(k), path.intercepts[..., k]).objective
                     for k in range(len(grid))])
    return lp, best


def calibrate(library, prob, lp, grid, best, budget_s=900.0):
    """Loosest ``tol`` whose full-data path is within ``TOL`` of ``best`` at every λ: ``(tol, worst)``."""
    start = time.perf_counter()
    worst = np.inf
    for tol in TOL_GRID:
        worst = path_suboptimality(prob, lp, grid, peer_path(library, prob, grid, tol), best)
        if worst <= TOL:
            return tol, worst
        if time.perf_counter() - start > budget_s:
            break
    return None, worst


def interleaved(fns, repeats):
    results = [fn() for fn in fns]  # warm-up
    times = [[] for _ in fns]
    for r in range(repeats):
        order = list(range(len(fns)))
        order = order[r % len(order):] + order[:r % len(order)]
        for i in order:
            t0 = time.perf_counter()
            results[i] = fns[i]()
            times[i].append(time.perf_counter() - t0)
    return [(float(np.median(t)), t, res) for t, res in zip(times, results, strict=True)]


def run(quick=False, repeat=5, only_models=None, log=print):
    from threadpoolctl import threadpool_limits

    n_lambdas = 8 if quick else N_LAMBDAS
    rows = []
    with threadpool_limits(limits=1):
        for prob in problems(quick):
            if only_models and prob.model not in only_models:
                continue
            splits = folds(prob)
            ours = run_penalized(prob, splits, n_lambdas, EPS)
            grid = np.asarray(ours.lambdas_)
            lp, best = best_path(prob, grid)
            # penalized's own full-data path, measured by the same rule
            ours_worst = path_suboptimality(prob, lp, grid, [(ours.path_.coef_at(k), ours.path_.intercepts[..., k])
                                                             for k in range(len(grid))], best)
            peers = [lib for lib in PEERS[prob.model] if importlib.util.find_spec(_MODULES[lib]) is not None]
            settings = {}
            for lib in peers:
                if prob.model == "multitask":
                    settings[lib] = (TOL / 2, path_suboptimality(prob, lp, grid, peer_path(lib, prob, grid, TOL / 2),
                                                                 best))
                else:
                    settings[lib] = calibrate(lib, prob, lp, grid, best)
            timed = [lib for lib in peers if settings[lib][0] is not None]
            fns = [partial(run_penalized, prob, splits, n_lambdas, EPS)] + [
                partial(run_peer, lib, prob, splits, grid, settings[lib][0]) for lib in timed]
            timings = interleaved(fns, repeat)
            base = timings[0][0]
            rows.append(dict(problem=prob.name, model=prob.model, n=prob.X.shape[0], p=prob.X.shape[1],
                             n_lambdas=len(grid), library="penalized", tol=TOL, path_suboptimality=ours_worst,
                             reached=True, time_s=base, runs=";".join(f"{t:.3f}" for t in timings[0][1]),
                             speedup=1.0, lam_min=float(ours.lam_min_)))
            for lib, (med, all_t, est) in zip(timed, timings[1:], strict=True):
                rows.append(dict(problem=prob.name, model=prob.model, n=prob.X.shape[0], p=prob.X.shape[1],
                                 n_lambdas=len(grid), library=lib, tol=settings[lib][0],
                                 path_suboptimality=settings[lib][1], reached=True, time_s=med,
                                 runs=";".join(f"{t:.3f}" for t in all_t), speedup=med / base,
                                 lam_min=_peer_lam_min(lib, prob, est)))
            for lib in peers:
                if lib not in timed:
                    rows.append(dict(problem=prob.name, model=prob.model, n=prob.X.shape[0], p=prob.X.shape[1],
                                     n_lambdas=len(grid), library=lib, tol=float("nan"),
                                     path_suboptimality=settings[lib][1], reached=False, time_s=float("nan"),
                                     runs="", speedup=float("nan"), lam_min=float("nan")))
            for r in rows[-(1 + len(peers)):]:
                log(f"  {r['problem']:28s} {r['model']:11s} {r['library']:12s} tol={r['tol']!s:>22s} "
                    f"worst subopt={r['path_suboptimality']:.1e}  {r['time_s']:8.2f} s  ×{r['speedup']:.1f}")
    return rows


def _peer_lam_min(library, prob, est):
    """The λ the peer's CV selected, on penalized's scale."""
    n = prob.X.shape[0]
    if prob.model == "multinomial":
        return float(1.0 / (n * np.ravel(est.C_)[0]))
    if prob.model == "multitask":
        return float(2 * est.alpha_)
    return float(est.alpha_)


def markdown(rows, machine, command):
    lines = [
        "### Paths + 5-fold CV of the multinomial, Poisson and multi-task models (`python -m benchmarks --only "
        "glm-path-cv`)",
        "",
        f"A whole CV (the grid: {N_LAMBDAS} λ from λ_max to {EPS:g}·λ_max; the folds: `KFold(5, shuffle=True, "
        "random_state=0)`, stratified for classes; a path per fold; the refit), serial, every thread pool limited "
        f"to one thread. penalized at `tol = {TOL:g}` (each point's duality gap ≤ {TOL:g} of the null objective). "
        "scikit-learn's multi-task lasso stops on the same gap at `tol/2`; saga, glum and skglm at the loosest "
        f"`tol` whose path on all the data is within {TOL:g} of the best known objective at every λ (objectives "
        "by `penalized.solvers.certify`). *worst subopt*: that largest suboptimality along the full-data path. "
        "Median of the timed runs after a warm-up, interleaved. *peer ÷ penalized* > 1: penalized is faster "
        "(goal ≥ 5).",
        "",
        "| problem | model | estimator | tol | worst subopt | median wall time (s) | runs (s) | peer ÷ penalized "
        "| λ_min |",
        "|---|---|---|---:|---:|---:|---|---:|---:|",
    ]
    names = {"penalized": {"multinomial": "penalized.LogisticRegressionCV", "poisson": "penalized.PoissonRegressorCV",
                           "multitask": "penalized.MultiTaskLassoCV"},
             "scikit-learn": {"multinomial": "sklearn LogisticRegressionCV (saga)",
                              "multitask": "sklearn MultiTaskLassoCV"},
             "glum": {"poisson": "glum GeneralizedLinearRegressorCV"},
             "skglm": {"poisson": "skglm GeneralizedLinearEstimatorCV"}}
    for r in rows:
        name = names[r["library"]][r["model"]]
        if not r["reached"]:
            lines.append(f"| {r['problem']} | {r['model']} | {name} | — | not reached "
                         f"({r['path_suboptimality']:.0e}) | — | — | — | — |")
            continue
        runs = ", ".join(f"{float(t):.2f}" for t in str(r["runs"]).split(";") if t)
        ratio = "—" if r["library"] == "penalized" else f"{r['speedup']:.1f}×"
        lines.append(f"| {r['problem']} | {r['model']} | {name} | {r['tol']:.2g} | {r['path_suboptimality']:.1e} | "
                     f"{r['time_s']:.2f} | {runs} | {ratio} | {r['lam_min']:.4g} |")
    lines += ["", machine, "", f"Reproduce: `{command}`."]
    return "\n".join(lines)
