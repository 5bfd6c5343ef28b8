"""A 50-λ group-lasso path: ``penalized.regularization_path`` against adelie and skglm.

Problem: the 400 × 2000 AR(0.5) design of :func:`benchmarks.problems.group_sparse`, groups
of 4 consecutive features weighted ``√4 = 2`` (adelie's default ``penalty = √(group size)``),
squared error with an intercept. Grid: 50 values log-spaced from ``λ_max`` to
``1e-2·λ_max`` (glmnet's and adelie's ``min_ratio`` for n < p).

Conventions: adelie minimises ``(1/2n)‖y − Xβ − β₀‖² + λ_a Σ_g ω_g ‖β_g‖`` (gaussian GLM, weights
``1/n``); twice that is penalized's ``MSE + λ Σ_g c_g ‖β_g‖`` with ``λ = 2·λ_a`` and
``c_g = ω_g``. skglm's ``GroupLasso(alpha)`` is the same with ``λ = 2·alpha``. The section
reports, for the tightest solves, the relative distance between penalized's and adelie's
coefficients at a few λ and adelie's certificate on penalized's scale: both libraries solve
the same problems.

The log-loss part: the same design and groups with the ±1 labels, penalized's mean log-loss
against adelie's ``glm.binomial`` (0/1 labels, the same mean log-loss: ``λ = λ_a``); skglm's
``GroupLasso`` has no log-loss.

Criterion: every point of the path within ``(F_k(w) − F_k*) / F_k(0) ≤ 1e-6`` of its best
known objective ``F_k*`` (the lowest of penalized at tol 1e-9, whose duality gaps bound how
much lower any answer can be, adelie at tol 1e-14 and every answer seen). Each library's
``tol`` is searched from loose to tight; the kept settings run once (warm-up), then ``repeat``
times interleaved. adelie runs in its own virtual environment (it needs NumPy < 2) as a persistent subprocess
(:mod:`benchmarks.adelie_worker`) fed through ``.npy`` files, and its times are those of the
``grpnet`` call measured inside that process. Its interpreter: ``--adelie-python``, else
``$ADELIE_PYTHON``, else ``/work/venvs/adelie/bin/python`` when it exists; without one, adelie
is left out (the table says so). To make one::

    python3 -m venv /work/venvs/adelie && /work/venvs/adelie/bin/pip install adelie "numpy<2"
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from .problems import group_sparse
from .solvers import TOL_GRID

GAP = 1e-6
SHAPE = (400, 2000, 0.5)
QUICK_SHAPE = (60, 200, 0.5)
GROUP, N_LAMBDAS, QUICK_N_LAMBDAS, EPS = 4, 50, 10, 1e-2
BIG = 100_000
TIGHT_OURS = 1e-9  # its certified gaps bound F_k* to 1e-9·F_k(0), 1000× below the target
DEFAULT_ADELIE = Path("/work/venvs/adelie/bin/python")
LIBRARIES = ("penalized", "adelie", "skglm (warm starts)", "skglm (cold)")
CHECK_POINTS = (0.0, 0.25, 0.5, 1.0)  # where along the path the coefficients are compared


def adelie_python(explicit=None):
    """The interpreter of adelie's environment, or None."""
    for cand in (explicit, os.environ.get("ADELIE_PYTHON"), DEFAULT_ADELIE):
        if cand and Path(cand).exists():
            return str(cand)
    return None


class Adelie:
    """adelie's ``grpnet`` in a persistent subprocess of its own environment."""

    def __init__(self, python, X, y, group, weights, lambdas, fit_intercept=True, binomial=False):
        self.dir = tempfile.TemporaryDirectory(prefix="adelie-")
        d = Path(self.dir.name)
        p = X.shape[1]
        np.save(d / "X.npy", np.asfortranarray(X))
        np.save(d / "y.npy", np.asarray(y, dtype=np.float64))
        np.save(d / "groups.npy", np.arange(0, p, group))
        np.save(d / "penalty.npy", np.asarray(weights, dtype=np.float64))
        # gaussian: λ = 2·λ_adelie; binomial: adelie's loss is the mean log-loss, λ = λ_adelie
        np.save(d / "lmdas.npy", np.asarray(lambdas, dtype=np.float64) / (1 if binomial else 2))
        np.save(d / "glm.npy", np.array("binomial" if binomial else "gaussian"))
        np.save(d / "intercept.npy", np.array(fit_intercept))
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env.pop("PYTHONPATH", None)
        worker = Path(__file__).with_name("adelie_worker.py")
        self.proc = subprocess.Popen([python, str(worker), str(d)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        self.version = self._reply()["ready"]

    def _reply(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the adelie worker stopped (exit code {self.proc.poll()}).")
        return json.loads(line)

    def fit(self, tol, save=False):
        """``(wall, cpu)`` of one path, and ``(coefs (p, L), intercepts)`` when ``save``."""
        self.proc.stdin.write(f"fit {tol!r} {int(save)}\n")
        self.proc.stdin.flush()
        r = self._reply()
        out = None
        if save:
            d = Path(self.dir.name)
            out = (np.load(d / "betas.npy").T, np.load(d / "intercepts.npy"))
        return (r["wall"], r["cpu"]), out

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        self.dir.cleanup()


def _ours(X, y, unit, grid, tol, max_iter=BIG, datafit="squared_error"):
    import penalized as pz

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pz.regularization_path(X, y, unit, lambdas=grid, tol=tol, max_iter=max_iter, datafit=datafit,
                                     early_stop=False)
    return res.coefs, np.asarray(res.intercepts)


def _skglm(X, y, weights, grid, tol, warm):
    from skglm import GroupLasso

    coefs, intercepts = np.empty((X.shape[1], len(grid))), np.empty(len(grid))
    est = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, lam in enumerate(grid):
            if est is None or not warm:
                est = GroupLasso(GROUP, alpha=lam / 2, weights=weights, tol=tol, max_iter=1000, max_epochs=10**6,
                                 warm_start=warm)
            est.alpha = lam / 2
            est.fit(X, y)
            coefs[:, k], intercepts[k] = est.coef_, est.intercept_
    return coefs, intercepts


class PathJudge:
    """Per-λ objectives of any path (penalized's scale) and the best known ones."""

    def __init__(self, X, y, unit, grid, datafit="squared_error"):
        import penalized as pz
        from penalized.solvers import LinearProblem

        self.lp = LinearProblem.build(X, y, pz.Logistic() if datafit == "logistic" else pz.SquaredError())
        self.penalties = [unit.scaled(lam) for lam in grid]
        self.null = float(self.lp.null_loss)
        self.best = np.full(len(grid), np.inf)

    def judge(self, coefs, intercepts):
        """``(max suboptimality over the path, max certificate)``, updating the best objectives."""
        from penalized.solvers import certify

        certs = [certify(self.lp, pen, coefs[:, k], intercepts[k]) for k, pen in enumerate(self.penalties)]
        obj = np.array([c.objective for c in certs])
        obj[~np.isfinite(obj)] = np.inf  # a missing or non-finite answer never reaches the target
        self.best = np.minimum(self.best, obj)
        sub = np.where(np.isfinite(obj), (obj - self.best) / self.null, np.inf)
        return float(np.max(sub)), float(max(c.relative for c in certs))


def run(quick=False, repeat=5, libraries=None, adelie=None, log=print, budget_s=120.0, datafit="squared_error"):
    """Rows (one per library) and a dict of agreement checks; ``datafit="logistic"``: the log-loss
    on the ±1 labels (adelie's ``glm.binomial``; skglm's GroupLasso has no log-loss)."""
    from threadpoolctl import threadpool_limits

    import penalized as pz

    n, p, rho = QUICK_SHAPE if quick else SHAPE
    prob = group_sparse("AR(0.5)", n, p, rho)
    logistic = datafit == "logistic"
    X, y = prob.X, (prob.labels if logistic else prob.y)
    weights = np.full(p // GROUP, np.sqrt(GROUP))
    unit = pz.GroupL1(1.0, groups=np.arange(p) // GROUP, weights=weights)
    lam_max = pz.lambda_max(X, y, unit, datafit=datafit)
    grid = np.geomspace(lam_max, EPS * lam_max, QUICK_N_LAMBDAS if quick else N_LAMBDAS)
    wanted = [lib for lib in LIBRARIES if libraries is None or any(lib.startswith(w) for w in libraries)]
    python = adelie_python(adelie)
    notes = {}
    if "adelie" in wanted and python is None:
        wanted.remove("adelie")
        notes["adelie"] = "no adelie environment (see --adelie-python)"
    import importlib.util

    if importlib.util.find_spec("skglm") is None or logistic:
        wanted = [lib for lib in wanted if not lib.startswith("skglm")]
    worker = Adelie(python, X, (y > 0).astype(np.float64) if logistic else y, GROUP, weights, grid,
                    binomial=logistic) if "adelie" in wanted else None
    judge = PathJudge(X, y, unit, grid, datafit)

    def fit(lib, tol, save=True):
        """``(coefs, intercepts)`` (when ``save``) and ``(wall, cpu)`` of one path."""
        if lib == "adelie":
            times, out = worker.fit(tol, save)
            return out, times
        t0, c0 = time.perf_counter(), time.process_time()
        if lib == "penalized":
            out = _ours(X, y, unit, grid, tol, max_iter=20_000 if tol <= TIGHT_OURS else BIG, datafit=datafit)
        else:
            out = _skglm(X, y, weights, grid, tol, warm=lib.startswith("skglm (warm"))
        return out, (time.perf_counter() - t0, time.process_time() - c0)

    try:
        with threadpool_limits(limits=1, user_api="blas"):
            tight = {"penalized": TIGHT_OURS, "adelie": 1e-14}
            sols = {}
            for lib, tol in tight.items():
                if lib in wanted:
                    sols[lib] = fit(lib, tol)[0]
                    judge.judge(*sols[lib])
            checks = {"lambda_max": lam_max}
            if "adelie" in sols:
                ours, theirs = sols["penalized"], sols["adelie"]
                for frac in CHECK_POINTS:
                    k = int(round(frac * (len(grid) - 1)))
                    scale = max(np.linalg.norm(ours[0][:, k]), 1e-300)
                    from penalized.solvers import certify

                    cert = certify(judge.lp, judge.penalties[k], theirs[0][:, k], theirs[1][k]).relative
                    checks[f"λ_{k} = {grid[k] / lam_max:.3g}·λ_max"] = (
                        float(np.linalg.norm(ours[0][:, k] - theirs[0][:, k]) / scale),
                        int(np.count_nonzero(np.any(ours[0][:, k].reshape(-1, GROUP) != 0, axis=1))), cert)
            settings = {}
            for lib in wanted:
                start, found, best = time.perf_counter(), None, (np.inf, np.nan)
                for tol in TOL_GRID:
                    sub, cert = judge.judge(*fit(lib, tol)[0])
                    best = min(best, (sub, cert))
                    if sub <= GAP:
                        found = (tol, sub, cert)
                        break
                    if time.perf_counter() - start > budget_s:
                        break
                settings[lib] = found or (None, *best)
                log(f"  group path  {lib:20s} tol={settings[lib][0]!s:>22s}  max sub={settings[lib][1]:.1e}")
            timed = [lib for lib in wanted if settings[lib][0] is not None]
            for lib in timed:
                fit(lib, settings[lib][0], save=False)
            wall = {lib: [] for lib in timed}
            cpu = {lib: [] for lib in timed}
            for r in range(repeat):
                for lib in timed[r % len(timed):] + timed[:r % len(timed)] if timed else []:
                    _, (w, c) = fit(lib, settings[lib][0], save=False)
                    wall[lib].append(w)
                    cpu[lib].append(c)
    finally:
        if worker is not None:
            version = worker.version
            worker.close()
    if worker is not None:
        checks["adelie_version"] = version
    rows = []
    nan = float("nan")
    for lib in LIBRARIES:
        if lib not in wanted:
            continue
        tol, sub, cert = settings[lib]
        rows.append(dict(problem=prob.name, datafit=datafit, n=n, p=p, group_size=GROUP, n_lambdas=len(grid), eps=EPS,
                         library=lib,
                         tol=tol if tol is not None else nan, max_suboptimality=sub, max_certificate=cert,
                         reached=tol is not None, time_s=float(np.median(wall[lib])) if lib in wall else nan,
                         time_min_s=float(np.min(wall[lib])) if lib in wall else nan,
                         cpu_s=float(np.median(cpu[lib])) if lib in cpu else nan, runs=len(wall.get(lib, []))))
        log(f"  group path  {lib:20s} {rows[-1]['time_s'] * 1e3:9.1f} ms  cpu {rows[-1]['cpu_s'] * 1e3:9.1f} ms")
    checks["notes"] = notes
    return rows, checks


def _tables(rows, checks):
    """The timing table and the agreement checks of one data fit."""
    ours = next((r for r in rows if r["library"] == "penalized"), None)
    lines = ["| library | tol | max suboptimality | max certificate | median wall ms | median CPU ms | "
             "penalized ÷ it (wall) | penalized ÷ it (CPU) |",
             "|---|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        ok = r["reached"] and ours is not None and ours["reached"]
        lines.append(
            f"| {r['library']} | {r['tol']:.2g} | {r['max_suboptimality']:.1e} | {r['max_certificate']:.1e} | "
            + (f"{r['time_s'] * 1e3:.1f} | {r['cpu_s'] * 1e3:.1f} | " if r["reached"] else "not reached | — | ")
            + (f"{ours['time_s'] / r['time_s']:.2f} | {ours['cpu_s'] / r['cpu_s']:.2f} |" if ok else "— | — |"))
    agree = [(k, v) for k, v in checks.items() if k.startswith("λ_")]
    if agree:
        lines += ["", f"Same problems (adelie {checks.get('adelie_version', '?')}): at the tightest settings, "
                  "relative distance between penalized's and adelie's coefficients, and adelie's answer judged "
                  "by penalized's certificate (relative duality gap):", "",
                  "| point | ‖w_penalized − w_adelie‖ / ‖w_penalized‖ | active groups | adelie's relative gap |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {k} | {d:.1e} | {g} | {c:.1e} |" for k, (d, g, c) in agree]
    for lib, why in checks.get("notes", {}).items():
        lines += ["", f"{lib}: not run ({why})."]
    return lines


def markdown(rows, checks, machine, command, logistic=None):
    """The ``group-path`` section of docs/benchmarks.md; ``logistic``: the ``(rows, checks)`` of
    the log-loss run, as a second part."""
    r0 = rows[0]
    lines = [
        f"### Group-lasso path against adelie and skglm ({r0['n_lambdas']} λ)",
        "",
        f"{r0['problem']}, groups of {r0['group_size']} weighted √{r0['group_size']} (adelie's default), "
        f"squared error with intercept; {r0['n_lambdas']} λ log-spaced from λ_max to {r0['eps']:g}·λ_max, the "
        "same grid for all (adelie `lmda_path = λ/2`, skglm `alpha = λ/2`), each point warm-started from the "
        "previous one (skglm *cold*: a fresh `GroupLasso` per λ, as a user looping over `fit` gets). "
        f"Target: every point within `(F_k(w) − F_k*) / F_k(0) ≤ {GAP:g}` of its best known objective `F_k*` (the "
        "lowest of penalized at tol 1e-9, whose duality gaps bound how much lower any answer can be, adelie at "
        "tol 1e-14 and every answer seen); each "
        "library at the loosest of its own `tol` settings that reaches it; median of the timed runs after a "
        "warm-up, libraries interleaved, BLAS single-threaded (adelie: `n_threads=1`, in its own environment, "
        "timed inside its process). Absolute times are noisy (the machine's 2 cores were shared with other "
        "jobs); ratios, and CPU times, are what to read.",
        "",
        *_tables(rows, checks),
    ]
    if logistic is not None and logistic[0]:
        lines += ["", "#### The log-loss", "",
                  "The same design and groups with the ±1 labels, `datafit=\"logistic\"` (mean log-loss) against "
                  "adelie's `glm.binomial` on 0/1 labels (`lmda_path = λ`: its loss is the same mean log-loss); "
                  "skglm's `GroupLasso` has no log-loss. Same target and protocol.", "",
                  *_tables(*logistic)]
    lines += ["", machine, "", f"Reproduce: `{command}`."]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - the entry point is ``python -m benchmarks``
    sys.exit("run `python -m benchmarks --only group-path`")
