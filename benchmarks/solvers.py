"""Time to a certified relative duality gap, penalized against scikit-learn, skglm and celer.

Procedure, for each problem × model × λ (a *cell*):

1. The target: relative certificate ``≤ GAP`` (1e-6), judged for every library by the one
   shared function :func:`penalized.solvers.certify` (duality gap + intercept
   stationarity, divided by the null model's loss L(0)).
2. Each library's own ``tol`` is searched from loose to tight on a half-decade grid
   (1e-2, 3.2e-3, 1e-3, …, 1e-14); the loosest setting whose answer meets the target is
   kept (time-to-tolerance: no library is made to over-solve).
3. With BLAS limited to one thread for every library, each kept setting is run once
   more as a warm-up, then ``repeat`` times, the libraries interleaved run by run so that
   load on the machine hits them alike; the median is reported, with the time in
   *passes*: the median divided by the time of one ``Xᵀr`` product (NumPy, same thread
   limit) on that problem.
"""

from __future__ import annotations

import time

import numpy as np

from . import peers
from .problems import problems

GAP = 1e-6
TOL_GRID = [10.0 ** (-k / 2) for k in range(4, 29)]
FRACTIONS = (0.1, 0.01)
QUICK_FRACTIONS = (0.1,)


def _problem_for(prob, model):
    import penalized as pz
    from penalized.solvers import LinearProblem

    if model == "logreg":
        return LinearProblem.build(prob.X, prob.labels, pz.Logistic(), fit_intercept=False)
    return LinearProblem.build(prob.X, prob.y, pz.SquaredError())


def _penalty(model, lam):
    import penalized as pz

    if model == "enet":
        return pz.L1L2(l1=lam * 0.5, l2=lam * 0.25)
    return pz.L1(lam)


def lambda_max(lp, model):
    """Smallest λ with an all-zero solution (for the elastic net: ``λ_max(L1) / l1_ratio``)."""
    lmax = lp.lambda_max()
    return lmax / 0.5 if model == "enet" else lmax


def xtr_time(X, reps=30):
    """Median time of one ``Xᵀr`` (the unit of a *pass*)."""
    r = np.random.default_rng(0).standard_normal(X.shape[0])
    X.T @ r
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        X.T @ r
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def calibrate(library, model, prob, lp, lam, budget_s=120.0):
    """Loosest ``tol`` of ``library`` whose answer meets ``GAP``: ``(tol, relative gap)``.

    Returns ``(None, best relative gap)`` when no setting reaches it (within the grid and
    ``budget_s`` seconds of search).
    """
    from penalized.solvers import certify

    y = prob.labels if model == "logreg" else prob.y
    penalty = _penalty(model, lam)
    best = np.inf
    start = time.perf_counter()
    for tol in TOL_GRID:
        coef, b = peers.fit(library, model, prob.X, y, lam, tol)
        rel = certify(lp, penalty, coef, b if lp.fit_intercept else 0.0).relative
        best = min(best, rel)
        if rel <= GAP:
            return tol, rel
        if time.perf_counter() - start > budget_s:
            break
    return None, best


def run_cell(prob, model, frac, libraries, repeat, lp=None, unit=None, log=print):
    """Calibrate then time every library on one cell; returns a list of row dicts."""
    lp = lp if lp is not None else _problem_for(prob, model)
    lam = frac * lambda_max(lp, model)
    y = prob.labels if model == "logreg" else prob.y
    unit = unit if unit is not None else xtr_time(prob.X)
    settings = {}
    rows = []
    for lib in libraries:
        tol, rel = calibrate(lib, model, prob, lp, lam)
        settings[lib] = (tol, rel)
    timed = [lib for lib in libraries if settings[lib][0] is not None]
    for lib in timed:  # warm-up (compilation, caches)
        peers.fit(lib, model, prob.X, y, lam, settings[lib][0])
    times = {lib: [] for lib in timed}
    cpu = {lib: [] for lib in timed}
    for r in range(repeat):  # interleaved, in a rotating order
        for lib in timed[r % len(timed):] + timed[:r % len(timed)] if timed else []:
            t0, c0 = time.perf_counter(), time.process_time()
            peers.fit(lib, model, prob.X, y, lam, settings[lib][0])
            times[lib].append(time.perf_counter() - t0)
            cpu[lib].append(time.process_time() - c0)
    n, p = prob.shape
    for lib in libraries:
        tol, rel = settings[lib]
        med = float(np.median(times[lib])) if lib in times else float("nan")
        nan = float("nan")
        rows.append(dict(problem=prob.name, n=n, p=p, model=model, lam_frac=frac, lam=lam, library=lib,
                         tol=tol if tol is not None else nan, relative_gap=rel, reached=tol is not None,
                         time_s=med, time_min_s=float(np.min(times[lib])) if lib in times else nan,
                         runs=len(times.get(lib, [])), xtr_s=unit, passes=med / unit,
                         cpu_s=float(np.median(cpu[lib])) if lib in cpu else nan))
        log(f"  {prob.name:22s} {model:6s} {frac:5g}·λmax  {lib:12s} tol={tol!s:>22s}  "
            f"gap={rel:.1e}  {med * 1e3:9.2f} ms  {med / unit:9.0f} passes")
    return rows


def run(quick=False, libraries=None, repeat=5, models=peers.MODELS, only_problems=None, log=print):
    from threadpoolctl import threadpool_limits

    libraries = [lib for lib in (libraries or peers.LIBRARIES) if peers.available(lib)]
    fractions = QUICK_FRACTIONS if quick else FRACTIONS
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for prob in problems(quick):
            if only_problems and not any(s in prob.name for s in only_problems):
                continue
            unit = xtr_time(prob.X)
            for model in models:
                lp = _problem_for(prob, model)
                for frac in fractions:
                    rows.extend(run_cell(prob, model, frac, libraries, repeat, lp=lp, unit=unit, log=log))
    return rows


def _fmt_ms(t):
    if not np.isfinite(t):
        return "—"
    return f"{t * 1e3:.3g}" if t < 1 else f"{t * 1e3:,.0f}"


def markdown(rows, machine, command):
    """The ``solvers`` section of docs/benchmarks.md."""
    libs = [lib for lib in peers.LIBRARIES if any(r["library"] == lib for r in rows)]
    peers_ = [lib for lib in libs if lib != "penalized"]
    cells = {}
    for r in rows:
        cells.setdefault((r["problem"], r["model"], r["lam_frac"]), {})[r["library"]] = r
    head = ["problem", "model", "λ/λ_max"] + [f"{lib} ms" for lib in libs] + ["penalized passes"] + [
        f"÷ {lib}" for lib in peers_] + ["fastest peer", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    met = total = 0
    for (prob, model, frac), by_lib in cells.items():
        ours = by_lib.get("penalized")
        row = [prob, model, f"{frac:g}"]
        for lib in libs:
            r = by_lib.get(lib)
            if r is None:
                row.append("—")
            else:
                row.append(_fmt_ms(r["time_s"]) if r["reached"] else f"not reached ({r['relative_gap']:.0e})")
        row.append(f"{ours['passes']:.0f}" if ours and ours["reached"] else "—")
        ratios = []
        for lib in peers_:
            r = by_lib.get(lib)
            if ours and r and ours["reached"] and r["reached"]:
                ratios.append(ours["time_s"] / r["time_s"])
                row.append(f"{ratios[-1]:.2f}")
            else:
                row.append("—")
        reached_peers = [by_lib[lib] for lib in peers_ if lib in by_lib and by_lib[lib]["reached"]]
        fastest = min(reached_peers, key=lambda r: r["time_s"]) if reached_peers else None
        row.append(fastest["library"] if fastest else "—")
        ok = bool(ours and ours["reached"] and ratios and max(ratios) < 1)
        total += 1
        met += ok
        row.append("met" if ok else "**missed**")
        lines.append("| " + " | ".join(row) + " |")
    intro = (
        f"Time to a relative duality gap of {GAP:g} (the shared certificate "
        "`penalized.solvers.certify`), median of the timed runs after a warm-up, each library "
        "at the loosest of its own `tol` settings that reaches the gap; BLAS single-threaded "
        "for all. `÷ lib` = penalized's time divided by that library's (< 1: penalized is "
        "faster); *passes* = penalized's time in units of one `Xᵀr` product. Logistic "
        "regression without intercept (celer fits none). "
        f"Target (faster than every peer) met in {met} of {total} cells.\n\n"
        f"{machine}\n\nReproduce: `{command}`.\n\n"
    )
    return intro + "\n".join(lines)
