"""Lasso path of the Cox model (Breslow ties): penalized against scikit-survival's CoxnetSurvivalAnalysis
and adelie's ``grpnet`` with ``glm.cox``.

All three solve ``−(1/n) log PL(w) + λ‖w‖₁`` (scikit-survival's ``alphas`` and adelie's ``lmda`` are
penalized's λ: adelie normalises unit weights to 1/n; checked by comparing objectives) on the same grid of
``N_LAMBDAS`` values from λ_max down to ``EPS·λ_max``, warm-started along it. Accuracy: at every point,
``(F(w) − F*) / (L(0) − L_sat)`` where ``F*`` is the best objective found by a tight run of any library
(penalized ``tol=1e-10``, scikit-survival ``tol=1e-12``, adelie ``tol=1e-14``); the table shows the worst
point. Time: median of ``REPEATS`` runs after a warm-up, the libraries interleaved (the machine's load
moves all of them alike), one BLAS thread; wall-clock and CPU time. adelie needs NumPy < 2 and runs in its
own environment (``--adelie-python``, ``$ADELIE_PYTHON`` or ``/work/venvs/adelie/bin/python``) as a
persistent subprocess (:mod:`benchmarks.adelie_cox_worker`); its times are those of ``grpnet`` measured
inside that process.

    python -m benchmarks.cox_path [--quick] [--case N P] [--adelie-python PATH]
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


class AdelieCox:
    """adelie's Cox path in a persistent subprocess of its own environment."""

    def __init__(self, python, X, y, grid):
        import json
        import subprocess
        import tempfile
        from pathlib import Path

        self.json, self.dir = json, tempfile.TemporaryDirectory(prefix="adelie-cox-")
        d = Path(self.dir.name)
        np.save(d / "X.npy", np.asfortranarray(X))
        np.save(d / "time.npy", np.asarray(y["time"], dtype=np.float64))
        np.save(d / "event.npy", np.asarray(y["event"], dtype=np.float64))
        np.save(d / "lmdas.npy", np.asarray(grid, dtype=np.float64))
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env.pop("PYTHONPATH", None)
        worker = Path(__file__).with_name("adelie_cox_worker.py")
        self.proc = subprocess.Popen([python, str(worker), str(d)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        self.version = self._reply()["ready"]

    def _reply(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the adelie worker stopped (exit code {self.proc.poll()}).")
        return self.json.loads(line)

    def fit(self, tol, save=False):
        """``((wall, cpu), coefs (p, L) or None)``."""
        self.proc.stdin.write(f"fit {tol!r} {int(save)}\n")
        self.proc.stdin.flush()
        r = self._reply()
        coefs = np.load(os.path.join(self.dir.name, "betas.npy")).T if save else None
        return (r["wall"], r["cpu"]), coefs

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        self.dir.cleanup()


def adelie_python(explicit=None):
    """The interpreter of adelie's environment, or None."""
    from pathlib import Path

    for cand in (explicit, os.environ.get("ADELIE_PYTHON"), "/work/venvs/adelie/bin/python"):
        if cand and Path(cand).exists():
            return str(cand)
    return None


def _clocked(fn):
    """``((wall, cpu), output)`` of ``fn()``."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return (time.perf_counter() - t0, time.process_time() - c0), out


def run_case(n, p, adelie=None):
    """Rows ``(solver, wall, cpu, worst relative suboptimality)`` of one case."""
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

    runners = {"penalized (tol=1e-4, default)": lambda: _clocked(ours),
               "penalized (tol=3e-4)": lambda: _clocked(lambda: ours(3e-4)),
               "scikit-survival (tol=1e-7, default)": lambda: _clocked(theirs)}
    tight = [ours(1e-10), theirs(1e-12)]
    worker = None
    if adelie is not None:
        worker = AdelieCox(adelie, X, y, grid)
        runners[f"adelie {worker.version} (tol=1e-7, default)"] = lambda: worker.fit(1e-7, save=True)
        tight.append(worker.fit(1e-14, save=True)[1])
    try:
        best = np.min([objectives(X, y, c, grid) for c in tight], axis=0)
        bound = pz.Cox().bind(y)
        scale = bound.value(np.zeros(n)) - bound.saturated
        clocks = {name: [] for name in runners}
        outputs = {}
        for r in range(REPEATS + 1):  # interleaved; the first round warms up
            for name, fn in runners.items():
                clock, outputs[name] = fn()
                if r:
                    clocks[name].append(clock)
    finally:
        if worker is not None:
            worker.close()
    rows = []
    for name in runners:
        wall, cpu = np.median(np.array(clocks[name]), axis=0)
        subopt = np.max(objectives(X, y, outputs[name], grid) - best) / scale
        rows.append((name, float(wall), float(cpu), float(subopt)))
    return rows


def main(argv=()):
    argv = list(argv)
    cases = [(500, 100)] if "--quick" in argv else [(1000, 200), (400, 2000)]
    if "--case" in argv:
        k = argv.index("--case")
        cases = [(int(argv[k + 1]), int(argv[k + 2]))]
    adelie = adelie_python(argv[argv.index("--adelie-python") + 1] if "--adelie-python" in argv else None)
    print(f"Cox lasso path, {N_LAMBDAS} λ down to {EPS}·λ_max, Breslow ties; median of {REPEATS} runs "
          "(interleaved), 1 thread\n")
    print("| n × p | solver | wall (s) | CPU (s) | worst relative suboptimality |")
    print("|---|---|---:|---:|---:|")
    for n, p in cases:
        for name, wall, cpu, subopt in run_case(n, p, adelie):
            print(f"| {n} × {p} | {name} | {wall:.3f} | {cpu:.3f} | {subopt:.1e} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
