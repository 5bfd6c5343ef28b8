"""Multinomial, Poisson and multi-task fits: time to a suboptimality of 1e-6, penalized against the peers.

Models, on penalized's scale (mean losses), and their translations:

===============  ==================================================  ==========================================
model            objective                                           peers
===============  ==================================================  ==========================================
``multinomial``  mean cross-entropy + ``lam·Σ|W_kj|`` (W: K×p)       scikit-learn ``LogisticRegression(C=1/(n·lam),
                 with intercepts                                     l1_ratio=1, solver="saga")``
``poisson``      ``Σ (exp(η) − yη)/n + lam·‖w‖₁``, intercept        glum ``GeneralizedLinearRegressor(family=
                                                                     "poisson", alpha=lam, l1_ratio=1)``; skglm
                                                                     ``Poisson() + L1(lam)``, ``ProxNewton``
``multitask``    ``‖Y − XW − b‖²_F/n + lam·Σ_j‖W_:j‖₂``              scikit-learn / skglm ``MultiTaskLasso(alpha=
                                                                     lam/2)``
===============  ==================================================  ==========================================

Procedure, for each problem × λ (a *cell*), the same for every library:

1. The best known objective: penalized at ``tol=1e-12`` (its duality-gap certificate then bounds its
   distance to the optimum by 1e-12 of the null objective), lowered by any better answer seen later.
2. The target: ``(objective − best known) / null objective ≤ 1e-6``, every objective computed by one
   shared function, :func:`penalized.solvers.certify` (the core of ``penalized.solvers.certificate``)
   on the same problem. The null objective is the null model's loss (minus the saturated model's for
   Poisson: half the null deviance).
3. Each library's own ``tol`` is searched from loose to tight (1e-2, 3.2e-3, …, 1e-14); the loosest
   whose answer meets the target is kept.
4. With every thread pool (BLAS, OpenMP) limited to one thread, each kept setting runs once as a warm-up
   and then ``repeat`` times, the libraries interleaved run by run in a rotating order; the median is
   reported.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from dataclasses import dataclass

import numpy as np

GAP = 1e-6
TOL_GRID = [10.0 ** (-k / 2) for k in range(4, 29)]
FRACTIONS = (0.1, 0.01)
QUICK_FRACTIONS = (0.1,)
BIG = 10**6
LIBRARIES = {"multinomial": ("penalized", "scikit-learn"), "poisson": ("penalized", "glum", "skglm"),
             "multitask": ("penalized", "scikit-learn", "skglm")}
_MODULES = {"penalized": "penalized", "scikit-learn": "sklearn", "glum": "glum", "skglm": "skglm"}


def available(library):
    return importlib.util.find_spec(_MODULES[library]) is not None


# ------------------------------------------------------------------------------------- problems
@dataclass
class GLMProblem:
    name: str
    model: str  # multinomial | poisson | multitask
    X: np.ndarray
    y: np.ndarray  # class labels, counts, or (n, T) targets

    @property
    def shape(self):
        return self.X.shape


def _standardize(X):
    X = np.asarray(X, dtype=np.float64)
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    return np.asfortranarray((X - X.mean(axis=0)) / sd)


def _design(rng, n, p, rho):
    from penalized.datasets import make_correlated_regression

    X, _, _ = make_correlated_regression(n, p, n_informative=1, rho=rho, random_state=int(rng.integers(1 << 30)))
    return _standardize(X)


def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return GLMProblem("digits 1797×64 (10 classes)", "multinomial", _standardize(X), y)


def multinomial_sim(n, p, K, rho=0.5, seed=0):
    """Softmax classes from 10 informative features (each with a random effect per class)."""
    rng = np.random.default_rng(seed)
    X = _design(rng, n, p, rho)
    W = np.zeros((p, K))
    W[:10] = rng.standard_normal((10, K))
    scores = X @ W + rng.gumbel(size=(n, K))  # the argmax of scores + Gumbel noise is a softmax draw
    return GLMProblem(f"sim {n}×{p} ({K} classes)", "multinomial", X, np.argmax(scores, axis=1))


def poisson_sim(n, p, rho=0.5, seed=0):
    rng = np.random.default_rng(seed)
    X = _design(rng, n, p, rho)
    w = np.zeros(p)
    w[:10] = rng.uniform(-0.25, 0.25, 10)
    return GLMProblem(f"sim {n}×{p}", "poisson", X, rng.poisson(np.exp(X @ w + 0.5)).astype(np.float64))


def randhie():
    """RAND health insurance experiment (statsmodels): 20 190 doctor-visit counts, 9 covariates."""
    import statsmodels.api as sm

    data = sm.datasets.randhie.load_pandas().data
    y = data["mdvis"].to_numpy(np.float64)
    return GLMProblem("randhie 20190×9", "poisson", _standardize(data.drop(columns="mdvis").to_numpy()), y)


def multitask_sim(n, p, T, rho=0.5, seed=0):
    rng = np.random.default_rng(seed)
    X = _design(rng, n, p, rho)
    W = np.zeros((p, T))
    W[:10] = rng.standard_normal((10, T))
    return GLMProblem(f"sim {n}×{p} ({T} tasks)", "multitask", X, X @ W + rng.standard_normal((n, T)))


def problems(quick=False, models=("multinomial", "poisson", "multitask")):
    if quick:
        out = [multinomial_sim(100, 30, 3), poisson_sim(100, 30), multitask_sim(60, 40, 3)]
    else:
        out = [digits(), multinomial_sim(200, 2000, 4), poisson_sim(5000, 200), poisson_sim(300, 3000)]
        if importlib.util.find_spec("statsmodels") is not None:
            out.append(randhie())
        out += [multitask_sim(300, 2000, 5), multitask_sim(3000, 200, 10)]
    return [p for p in out if p.model in models]


# ---------------------------------------------------------------------------------------- peers
def _datafit(model):
    import penalized as pz

    return {"multinomial": pz.Multinomial(), "poisson": pz.Poisson(), "multitask": pz.SquaredError()}[model]


def penalty(model, lam):
    import penalized as pz

    return pz.GroupL1(lam) if model == "multitask" else pz.L1(lam)


def linear_problem(prob):
    from penalized.solvers import LinearProblem

    y = prob.y
    if prob.model == "multinomial":
        y = (y[:, None] == np.unique(y)[None, :]).astype(np.float64)
    return LinearProblem.build(prob.X, y, _datafit(prob.model))


def lambda_max(prob):
    import penalized as pz

    unit = pz.GroupL1(1.0) if prob.model == "multitask" else "l1"
    datafit = {"multitask": "squared_error"}.get(prob.model, prob.model)
    return pz.lambda_max(prob.X, prob.y, unit, datafit=datafit)


def make_estimator(library, model, lam, tol, n_samples):
    """An unfitted estimator of ``library`` for ``model`` at strength ``lam`` (penalized's scale)."""
    if library == "penalized":
        import penalized as pz

        if model == "multinomial":
            return pz.LogisticRegression(penalty=pz.L1(lam), tol=tol, max_iter=BIG)
        if model == "poisson":
            return pz.PoissonRegressor(penalty=pz.L1(lam), tol=tol, max_iter=BIG)
        return pz.MultiTaskLasso(lam, tol=tol, max_iter=BIG)
    if library == "scikit-learn":
        from sklearn import linear_model as sk

        if model == "multinomial":
            return sk.LogisticRegression(C=1.0 / (n_samples * lam), l1_ratio=1.0, solver="saga", tol=tol,
                                         max_iter=BIG)
        return sk.MultiTaskLasso(alpha=lam / 2, tol=tol, max_iter=BIG)
    if library == "glum":
        import glum

        return glum.GeneralizedLinearRegressor(family="poisson", alpha=lam, l1_ratio=1.0, gradient_tol=tol,
                                               max_iter=10_000)
    if library == "skglm":
        import skglm

        if model == "poisson":
            from skglm.datafits import Poisson
            from skglm.penalties import L1
            from skglm.solvers import ProxNewton

            return skglm.GeneralizedLinearEstimator(Poisson(), L1(lam), ProxNewton(tol=tol, fit_intercept=True,
                                                                                   max_iter=1000))
        return skglm.MultiTaskLasso(alpha=lam / 2, tol=tol, max_iter=1000, max_epochs=BIG)
    raise ValueError(f"unknown library {library!r}")


def fit(library, model, X, y, lam, tol):
    """``(coef, intercept)`` in scikit-learn's layout; warnings (non-convergence) silenced."""
    est = make_estimator(library, model, lam, tol, X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return np.asarray(est.coef_, dtype=np.float64), np.asarray(est.intercept_, dtype=np.float64)


# ------------------------------------------------------------------------------------ harness
@dataclass
class Reference:
    objective: float
    null: float
    certificate: float  # relative certificate of penalized's tight solution


def reference(prob, lp, lam):
    """Penalized at tol=1e-12: the best known objective of the cell."""
    from penalized.solvers import certify

    coef, b = fit("penalized", prob.model, prob.X, prob.y, lam, 1e-12)
    c = certify(lp, penalty(prob.model, lam), coef, b)
    return Reference(objective=c.objective, null=c.null_loss, certificate=c.relative)


def suboptimality(prob, lp, lam, coef, b, ref):
    """``(objective − best known) / null objective`` (the best known lowered if this one is better)."""
    from penalized.solvers import certify

    obj = certify(lp, penalty(prob.model, lam), coef, b).objective
    ref.objective = min(ref.objective, obj)
    return (obj - ref.objective) / ref.null


def calibrate(library, prob, lp, lam, ref, budget_s=300.0):
    """The loosest ``tol`` of ``library`` meeting the target: ``(tol, suboptimality)``, or ``(None, best)``."""
    best = np.inf
    start = time.perf_counter()
    for tol in TOL_GRID:
        coef, b = fit(library, prob.model, prob.X, prob.y, lam, tol)
        sub = suboptimality(prob, lp, lam, coef, b, ref)
        best = min(best, sub)
        if sub <= GAP:
            return tol, sub
        if time.perf_counter() - start > budget_s:
            break
    return None, best


def run_cell(prob, frac, libraries, repeat, lp, lam_max, log=print):
    lam = frac * lam_max
    ref = reference(prob, lp, lam)
    settings = {lib: calibrate(lib, prob, lp, lam, ref) for lib in libraries}
    timed = [lib for lib in libraries if settings[lib][0] is not None]
    for lib in timed:  # warm-up
        fit(lib, prob.model, prob.X, prob.y, lam, settings[lib][0])
    times = {lib: [] for lib in timed}
    for r in range(repeat):
        for lib in timed[r % len(timed):] + timed[:r % len(timed)] if timed else []:
            t0 = time.perf_counter()
            fit(lib, prob.model, prob.X, prob.y, lam, settings[lib][0])
            times[lib].append(time.perf_counter() - t0)
    n, p = prob.shape
    rows = []
    nan = float("nan")
    for lib in libraries:
        tol, sub = settings[lib]
        med = float(np.median(times[lib])) if lib in times else nan
        rows.append(dict(problem=prob.name, model=prob.model, n=n, p=p, lam_frac=frac, lam=lam, library=lib,
                         tol=tol if tol is not None else nan, suboptimality=sub, reached=tol is not None,
                         time_s=med, time_min_s=float(np.min(times[lib])) if lib in times else nan,
                         runs=len(times.get(lib, [])), reference_certificate=ref.certificate))
        log(f"  {prob.name:28s} {prob.model:11s} {frac:5g}·λmax  {lib:12s} tol={tol!s:>22s}  "
            f"subopt={sub:.1e}  {med * 1e3:10.1f} ms")
    return rows


def run(quick=False, repeat=5, models=("multinomial", "poisson", "multitask"), only_problems=None, libraries=None,
        log=print):
    from threadpoolctl import threadpool_limits

    rows = []
    with threadpool_limits(limits=1):  # BLAS and OpenMP (glum) alike
        for prob in problems(quick, models):
            if only_problems and not any(s in prob.name for s in only_problems):
                continue
            libs = [lib for lib in LIBRARIES[prob.model] if available(lib) and (libraries is None or lib in libraries)]
            lp = linear_problem(prob)
            lam_max = lambda_max(prob)
            for frac in (QUICK_FRACTIONS if quick else FRACTIONS):
                rows.extend(run_cell(prob, frac, libs, repeat, lp, lam_max, log=log))
    return rows


def _fmt_ms(t):
    if not np.isfinite(t):
        return "—"
    return f"{t * 1e3:.3g}" if t < 1 else f"{t * 1e3:,.0f}"


def markdown(rows, machine, command):
    """The ``glm`` section of docs/benchmarks.md: one table per model."""
    out = [
        "### Multinomial, Poisson and multi-task fits (`python -m benchmarks --only glm`)",
        "",
        f"Time to a suboptimality `(objective − best known) / null objective ≤ {GAP:g}`, objectives from the "
        "one shared function `penalized.solvers.certify` (the best known: penalized at tol = 1e-12, whose duality "
        "gap bounds its own suboptimality by 1e-12). Each library at the loosest of its own `tol` settings that "
        "reaches the target; median of the timed runs after a warm-up, libraries interleaved run by run; every "
        "thread pool limited to one thread. `÷ lib` = penalized's time divided by that library's (< 1: penalized "
        "is faster).",
        "",
        machine,
        "",
        f"Reproduce: `{command}`.",
    ]
    met = total = 0
    for model in ("multinomial", "poisson", "multitask"):
        mrows = [r for r in rows if r["model"] == model]
        if not mrows:
            continue
        libs = [lib for lib in LIBRARIES[model] if any(r["library"] == lib for r in mrows)]
        peers = [lib for lib in libs if lib != "penalized"]
        head = ["problem", "λ/λ_max"] + [f"{lib} ms" for lib in libs] + [f"÷ {lib}" for lib in peers] + [
            "fastest peer", "target"]
        out += ["", f"**{model}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        cells = {}
        for r in mrows:
            cells.setdefault((r["problem"], r["lam_frac"]), {})[r["library"]] = r
        for (prob, frac), by_lib in cells.items():
            ours = by_lib.get("penalized")
            row = [prob, f"{frac:g}"]
            for lib in libs:
                r = by_lib.get(lib)
                row.append("—" if r is None else (_fmt_ms(r["time_s"]) if r["reached"]
                                                   else f"not reached ({r['suboptimality']:.0e})"))
            ratios = []
            for lib in peers:
                r = by_lib.get(lib)
                if ours and r and ours["reached"] and r["reached"]:
                    ratios.append(ours["time_s"] / r["time_s"])
                    row.append(f"{ratios[-1]:.2f}")
                else:
                    row.append("—")
            reached = [by_lib[lib] for lib in peers if lib in by_lib and by_lib[lib]["reached"]]
            fastest = min(reached, key=lambda r: r["time_s"]) if reached else None
            row.append(fastest["library"] if fastest else "—")
            ok = bool(ours and ours["reached"] and (not reached or max(ratios) < 1))
            total += 1
            met += ok
            row.append("met" if ok else "**missed**")
            out.append("| " + " | ".join(row) + " |")
    out += ["", f"Target (faster than every peer that reaches the suboptimality) met in {met} of {total} cells."]
    return "\n".join(out)
