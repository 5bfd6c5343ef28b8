"""Text-like sparse problems: time to a certified relative duality gap, and peak memory.

The procedure of :mod:`benchmarks.solvers` (the shared certificate ``≤ 1e-6``, each
library's own ``tol`` searched loose → tight, a warm-up, interleaved timed runs, medians,
BLAS single-threaded), on the sparse designs of :data:`benchmarks.problems.SPARSE` (CSC,
float64, int32 indices), for the Lasso, the elastic net, L1 logistic regression without and
with an intercept, and the L1 multinomial logistic regression (3 classes), at
``λ ∈ {0.1, 0.01}·λ_max``. Peers: scikit-learn (coordinate descent; liblinear for the
logistic model without intercept; SAGA for the logistic models), skglm and celer, each where
it fits the model (see :mod:`benchmarks.peers`).

Memory: for every library that reaches the gap, one more fit at its kept ``tol`` in a fresh
process, whose peak resident memory above what it held before the fit is reported
(:mod:`benchmarks.memory`): what the fit allocates, copies of ``X`` included. It is measured
at the first ``λ`` of a problem and model and reported for both (what a fit holds hardly
depends on ``λ``: ``memory_how`` says where it was measured).
"""

from __future__ import annotations

import math

import numpy as np

from . import peers
from .memory import peak_mb
from .problems import sparse_problems
from .solvers import FRACTIONS, GAP, QUICK_FRACTIONS, _fmt_ms, _problem_for, run_cell, xtr_time

BUDGET_S = 40.0  # tol search per library and cell
CAP_S = 10.0  # timed runs per library and cell (at least one run)


def x_mb(X):
    """Memory held by the CSC arrays of ``X``, in MB."""
    return (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20


def run(quick=False, libraries=None, repeat=5, models=peers.SPARSE_MODELS, only_problems=None, memory=True,
        log=print):
    from threadpoolctl import threadpool_limits

    libraries = [lib for lib in (libraries or peers.SPARSE_LIBRARIES) if peers.available(lib)]
    fractions = QUICK_FRACTIONS if quick else FRACTIONS
    rows = []
    measured = {}  # (problem, model, library) -> (MB, how)
    for prob in sparse_problems(quick):
        if only_problems and not any(s in prob.name for s in only_problems):
            continue
        with threadpool_limits(limits=1, user_api="blas"):
            unit = xtr_time(prob.X)
        for model in models:
            lp = _problem_for(prob, model)
            for frac in fractions:
                with threadpool_limits(limits=1, user_api="blas"):
                    cell = run_cell(prob, model, frac, libraries, repeat, lp=lp, unit=unit, log=log,
                                    budget_s=BUDGET_S, cap_s=CAP_S, coarse=True,
                                    prewarm=True)
                for r in cell:
                    r["x_mb"] = x_mb(prob.X)
                    r["peak_mb"], r["memory_how"] = float("nan"), ""
                    key = (prob.name, model, r["library"])
                    # once per problem, model and library (what a fit holds hardly depends on λ)
                    if memory and r["reached"] and key not in measured:
                        mb, how = peak_mb(prob.spec, r["library"], model, r["lam"], r["tol"])
                        measured[key] = (mb, f"{how} at {frac:g}·λmax")
                        log(f"      {r['library']:12s} peak +{mb:.1f} MB ({how})")
                    if key in measured:
                        r["peak_mb"], r["memory_how"] = measured[key]
                rows.extend(cell)
    return rows


def _fmt_mb(v):
    return "—" if not math.isfinite(v) else f"{v:,.0f}" if v >= 10 else f"{v:.1f}"


def markdown(rows, machine, command):
    """The ``sparse`` section of docs/benchmarks.md."""
    libs = [lib for lib in peers.SPARSE_LIBRARIES if any(r["library"] == lib for r in rows)]
    cells = {}
    for r in rows:
        cells.setdefault((r["problem"], r["model"], r["lam_frac"]), {})[r["library"]] = r
    head = (["problem", "model", "λ/λ_max"] + [f"{lib} CPU ms" for lib in libs]
            + ["fastest peer", "penalized ÷ fastest (CPU)", "(wall)", "target"] + [f"{lib} +MB" for lib in libs])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    met = total = 0
    ratios = []
    for (prob, model, frac), by_lib in cells.items():
        ours = by_lib.get("penalized")
        row = [prob, model, f"{frac:g}"]
        for lib in libs:
            r = by_lib.get(lib)
            if r is None:
                row.append("—")
            else:
                row.append(_fmt_ms(r["cpu_s"]) if r["reached"] else f"not reached ({r['relative_gap']:.0e})")
        reached = [r for lib, r in by_lib.items() if lib != "penalized" and r["reached"]]
        fastest = min(reached, key=lambda r: r["cpu_s"]) if reached else None
        ok = bool(ours and ours["reached"] and (fastest is None or ours["cpu_s"] < fastest["cpu_s"]))
        if fastest is not None and ours and ours["reached"]:
            ratios.append(ours["cpu_s"] / fastest["cpu_s"])
            wall = ours["time_s"] / min(r["time_s"] for r in reached)
            row += [fastest["library"], f"{ratios[-1]:.2f}", f"{wall:.2f}"]
        else:
            row += [fastest["library"] if fastest else "none reached", "—", "—"]
        total += 1
        met += ok
        row.append("met" if ok else "**missed**")
        for lib in libs:
            r = by_lib.get(lib)
            row.append(_fmt_mb(r["peak_mb"]) if r is not None else "—")
        lines.append("| " + " | ".join(row) + " |")
    sizes = sorted({(r["problem"], r["n"], r["p"], r["x_mb"]) for r in rows})
    size_text = "; ".join(f"{name}: X holds {mb:.0f} MB" for name, _, _, mb in sizes)
    worst = f"; largest ratio {max(ratios):.2f}, median {np.median(ratios):.2f}" if ratios else ""
    intro = (
        f"CPU time to a relative duality gap of {GAP:g} on sparse designs (CSC float64; the shared "
        "certificate `penalized.solvers.certify`), median of the timed runs after a warm-up, each "
        "library at the loosest of its own `tol` settings that reaches the gap; BLAS single-threaded "
        "for all. *scikit-learn* is its coordinate descent (lasso, enet) or liblinear (logreg, without "
        "intercept: liblinear would penalize one); *saga* is scikit-learn's SAGA (logistic models); "
        "`logreg_icpt` fits an intercept (celer fits none); `multinomial` has 3 classes. "
        "`penalized ÷ fastest` = penalized's CPU time divided by the fastest peer's that reached the gap "
        "(*wall*: the same with wall-clock times, against the peer fastest by wall clock; CPU times are "
        "the measure here because the machine's cores were shared with other jobs). "
        "*+MB*: peak resident memory of one fit above what the process held before it (fresh process, "
        f"`benchmarks/memory.py`). {size_text}. Target (faster than every peer) met in {met} of "
        f"{total} cells{worst}.\n\n"
        "Problems (`benchmarks/problems.py`, `text_like`): *log-normal* — non-zeros on uniform rows and "
        "columns, LogNormal(0, 1) values, 100 informative features (N(0, 3²) weights); *text* — columns "
        "drawn with Zipf(1) frequencies, values `(1 + Poisson(0.5))·idf`, rows scaled to unit norm (as "
        "`TfidfVectorizer`), 20 informative features. Targets `y = Xw + N(0, 1)`; labels `sign(y − "
        "median)`; classes the terciles of `y`.\n\n"
        f"{machine}\n\nReproduce: `{command}`.\n\n"
    )
    return intro + "\n".join(lines)
