"""Cold start: a fresh Python process that imports a library and fits one Lasso.

Each run is a new interpreter (``subprocess``) that loads the data with NumPy, then
imports the library and fits once; it reports the time of *import + first fit* (from
inside) and the parent records the wall time of the whole process. Libraries alternate
run by run; the median of ``repeat`` runs is reported. penalized runs from its compiled
kernels as installed (see ``docs/performance.md``: compiled once, at install or on first
use); the state it ran in is reported with the numbers.
"""

from __future__ import annotations

import compileall
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import peers

FIT = {
    "penalized": "import penalized as pz\nest = pz.Lasso(lam=LAM)\n",
    "penalized (numba cache)": "import penalized as pz\nest = pz.Lasso(lam=LAM)\n",
    "scikit-learn": "from sklearn.linear_model import Lasso\nest = Lasso(alpha=LAM / 2)\n",
    "skglm": "from skglm import Lasso\nest = Lasso(alpha=LAM / 2)\n",
    "celer": "from celer import Lasso\nest = Lasso(alpha=LAM / 2)\n",
}

SCRIPT = """\
import json, sys, time
t0 = time.perf_counter()
import numpy as np
data = np.load(sys.argv[1])
X, y, LAM = np.asfortranarray(data["X"]), data["y"], float(data["lam"])
t1 = time.perf_counter()
{fit}est.fit(X, y)
t2 = time.perf_counter()
print(json.dumps({{"import_fit": t2 - t1, "inside": t2 - t0, "nnz": int(np.count_nonzero(est.coef_))}}))
"""


def _problems(quick):
    import penalized as pz
    from penalized.datasets import load_prostate
    from penalized.solvers import LinearProblem

    from .problems import singh2002

    out = []
    data = load_prostate("train")
    X = (data.data - data.data.mean(0)) / data.data.std(0)
    out.append(("prostate 67×8 (the tour)", X, data.target))
    if not quick:
        prob = singh2002()
        out.append((prob.name, prob.X, prob.y))
    result = []
    for name, X, y in out:
        lam = 0.1 * LinearProblem.build(X, y, pz.SquaredError()).lambda_max()
        result.append((name, np.asarray(X), np.asarray(y, dtype=np.float64), lam))
    return result


def kernel_state():
    """How penalized's kernels will load in a new process (see penalized.solvers._loader)."""
    from penalized.solvers import _loader

    return _loader.describe()


VARIANT_ENV = {"penalized (numba cache)": {"PENALIZED_KERNELS": "jit"}}


def run_once(library, path, env=None):
    script = SCRIPT.format(fit=FIT[library])
    env = {**(env or os.environ), **VARIANT_ENV.get(library, {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                          env=env, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"{library} cold start failed:\n{proc.stderr[-2000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    result = json.loads(line)
    result["wall"] = wall
    result["cpu"] = cpu
    return result


def ensure_compiled(log=print):
    """Build penalized's AOT module if this machine has none (what first use does anyway)."""
    from penalized.solvers import _build, _loader

    if not _loader.aot_path().exists():
        log("  building penalized's ahead-of-time module first (once per machine)")
        _build.main([])


def fresh_machine(env, log=print):
    """``penalized tour`` with empty caches: as shipped, and forced to compile first."""
    rows = []
    for label, extra in (("as shipped (Python kernels, background build)", {}),
                         ("forced to compile first (numba JIT)", {"PENALIZED_KERNELS": "jit"})):
        with tempfile.TemporaryDirectory() as nb, tempfile.TemporaryDirectory() as pz:
            run_env = {**env, "NUMBA_CACHE_DIR": nb, "PENALIZED_CACHE_DIR": pz,
                       "PENALIZED_BACKGROUND_BUILD": "0", **extra}
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "penalized.cli", "tour"], env=run_env,
                                  capture_output=True, text=True, timeout=900)
            wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"penalized tour failed:\n{proc.stderr[-2000:]}")
        rows.append(dict(problem="penalized tour, fresh machine", library=f"penalized, {label}",
                         import_fit_s=float("nan"), process_s=wall, process_cpu_s=float("nan"), runs=1,
                         kernels=""))
        log(f"  penalized tour on a fresh machine, {label}: {wall:.1f} s")
    return rows


def run(quick=False, libraries=None, repeat=None, log=print):
    libraries = [lib for lib in (libraries or peers.LIBRARIES) if peers.available(lib)]
    if "penalized" in libraries and "penalized (numba cache)" not in libraries:
        libraries.insert(1, "penalized (numba cache)")
    repeat = repeat or (1 if quick else 7)
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env["PENALIZED_BACKGROUND_BUILD"] = "0"
    if "penalized" in libraries:
        # what pip does at install: an editable checkout run with PYTHONDONTWRITEBYTECODE=1
        # would otherwise recompile penalized's modules in every process (the peers' are
        # compiled in site-packages)
        compileall.compile_dir(src + os.sep + "penalized", quiet=1)
        if not quick:
            ensure_compiled(log)
    state = kernel_state()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, X, y, lam in _problems(quick):
            path = Path(tmp) / "data.npz"
            np.savez(path, X=X, y=y, lam=lam)
            for lib in libraries:  # one untimed run each: OS file caches, numba cache
                run_once(lib, path, env)
            results = {lib: [] for lib in libraries}
            for r in range(repeat):  # the order rotates: no library always follows another
                for lib in libraries[r % len(libraries):] + libraries[:r % len(libraries)]:
                    results[lib].append(run_once(lib, path, env))
            for lib in libraries:
                inside = float(np.median([r["import_fit"] for r in results[lib]]))
                wall = float(np.median([r["wall"] for r in results[lib]]))
                cpu = float(np.median([r["cpu"] for r in results[lib]]))
                rows.append(dict(problem=name, library=lib, import_fit_s=inside, process_s=wall,
                                 process_cpu_s=cpu, runs=repeat,
                                 kernels=state if lib == "penalized" else ""))
                log(f"  {name:26s} {lib:24s} import+fit {inside * 1e3:7.0f} ms   whole process "
                    f"{wall * 1e3:7.0f} ms, CPU {cpu * 1e3:7.0f} ms")
    if not quick and "penalized" in libraries:
        rows.extend(fresh_machine(env, log))
    return rows


def markdown(rows, machine, command):
    fresh = [r for r in rows if r["problem"].startswith("penalized tour")]
    rows = [r for r in rows if not r["problem"].startswith("penalized tour")]
    probs = list(dict.fromkeys(r["problem"] for r in rows))
    libs = list(dict.fromkeys(r["library"] for r in rows))
    by = {(r["problem"], r["library"]): r for r in rows}
    head = ["problem"] + [f"{lib}" for lib in libs] + ["penalized ÷ scikit-learn (wall)",
                                                       "penalized ÷ scikit-learn (CPU)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for prob in probs:
        row = [prob]
        for lib in libs:
            r = by.get((prob, lib))
            row.append(f"{r['import_fit_s']:.2f} s ({r['process_s']:.2f} s)" if r else "—")
        pz, sk = by.get((prob, "penalized")), by.get((prob, "scikit-learn"))
        row.append(f"{pz['process_s'] / sk['process_s']:.2f}" if pz and sk else "—")
        row.append(f"{pz['process_cpu_s'] / sk['process_cpu_s']:.2f}" if pz and sk else "—")
        lines.append("| " + " | ".join(row) + " |")
    state = next((r["kernels"] for r in rows if r["library"] == "penalized"), "")
    runs = rows[0]["runs"] if rows else 0
    intro = (
        "A fresh Python process loads the data with NumPy, imports the library and fits one Lasso "
        "(λ = 0.1·λ_max, each library's default tolerance). Cells: import + first fit measured "
        f"inside the process (whole process wall time in parentheses), median of {runs} runs, "
        "libraries alternating in a rotating order. The ratios compare whole processes, by wall "
        "time and by CPU time (user + system, less sensitive to other work on the machine). "
        "penalized's modules are byte-compiled first, as `pip install` does (the peers' are, in "
        "site-packages). "
        f"penalized's kernels: {state}; *penalized (numba cache)* forces the numba JIT path "
        "(`PENALIZED_KERNELS=jit`, kernels loaded from numba's on-disk cache) for comparison.\n\n"
        f"{machine}\n\nReproduce: `{command}`.\n\n"
    )
    table = intro + "\n".join(lines)
    if fresh:
        table += ("\n\nFirst run on a fresh machine (empty caches), `penalized tour`, whole process: "
                  + "; ".join(f"{r['library'].removeprefix('penalized, ')} {r['process_s']:.1f} s"
                              for r in fresh) + ".")
    return table


# ------------------------------------------------------------- first fit by dtype and layout
FIRST_FIT = """\
import json, sys, time, warnings
import numpy as np, scipy.sparse as sp
dtype, layout, index = sys.argv[1:4]
rng = np.random.default_rng(0)
X = rng.standard_normal((400, 50))
y = X[:, :5] @ np.arange(1, 6.0) + rng.standard_normal(400)
X = X.astype(dtype)
if layout == "sparse":
    X[np.abs(X) < 0.5] = 0  # ~62 % of the entries kept
    X = sp.csc_matrix(X)
    X.indices, X.indptr = X.indices.astype(index), X.indptr.astype(index)
t0, c0 = time.perf_counter(), time.process_time()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import penalized as pz
    est = pz.Lasso(lam=0.05).fit(X, y)
t1, c1 = time.perf_counter(), time.process_time()
from penalized.solvers import _loader
mode = "aot" if _loader._AOT is not None else "jit" if _loader._JIT is not None else "python"
said = [str(w.message) for w in caught if "compil" in str(w.message)]
print(json.dumps({"import_fit": t1 - t0, "cpu": c1 - c0, "mode": mode, "said": said[0][:60] if said else ""}))
"""

CELLS = [("float64", "dense", "-"), ("float32", "dense", "-"),
         ("float64", "sparse", "int32"), ("float64", "sparse", "int64"),
         ("float32", "sparse", "int32"), ("float32", "sparse", "int64")]

# the states a first fit can meet (every one with an empty numba cache and an empty user cache)
STATES = {
    "fresh install": "the module `pip install` built into the package (setup.py), nothing else",
    "no install-time build": "nothing compiled (an install whose kernel build failed or was skipped)",
    "after warmup": "no install-time module; the user cache's module from `penalized warmup`",
}


def first_fit(states=("fresh install", "after warmup"), cells=CELLS, src=None, log=print, built=None):
    """Import + first ``Lasso`` fit (400 × 50) in a new process with empty caches, per dtype,
    layout and index dtype, in each of :data:`STATES` (the background build off, so that it does
    not compete for the CPU). ``src``: the penalized source tree to measure (its
    ``penalized/solvers/_aot`` is the install-time module of "fresh install": run ``pip install
    -e .`` first); ``built``: a cache directory that already holds its AOT module (else one is
    built for "after warmup")."""
    import shutil

    src = Path(src) if src else Path(__file__).resolve().parent.parent / "src"
    env = {**os.environ, "PYTHONPATH": str(src), "PENALIZED_BACKGROUND_BUILD": "0"}
    for name in ("PENALIZED_KERNELS", "PENALIZED_AOT_DIR"):
        env.pop(name, None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as nothing:
        if built is None and "after warmup" in states:
            built = tmp
            subprocess.run([sys.executable, "-m", "penalized.solvers._build", "--background"],
                           env={**env, "PENALIZED_CACHE_DIR": built, "PENALIZED_AOT_DIR": nothing}, check=True,
                           capture_output=True, timeout=1800)
        for state in states:
            for dtype, layout, index in cells:
                with tempfile.TemporaryDirectory() as nb, tempfile.TemporaryDirectory() as cache:
                    run_env = {**env, "NUMBA_CACHE_DIR": nb, "PENALIZED_CACHE_DIR": cache}
                    if state != "fresh install":
                        run_env["PENALIZED_AOT_DIR"] = nothing  # no install-time module
                    if state == "after warmup":
                        shutil.copytree(built, cache, dirs_exist_ok=True)
                    proc = subprocess.run([sys.executable, "-c", FIRST_FIT, dtype, layout, index],
                                          env=run_env, capture_output=True, text=True, timeout=900)
                if proc.returncode != 0:
                    raise RuntimeError(f"first fit failed:\n{proc.stderr[-2000:]}")
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                rows.append(dict(state=state, dtype=dtype, layout=layout, indices=index,
                                 import_fit_s=result["import_fit"], cpu_s=result["cpu"], kernels=result["mode"],
                                 warned=bool(result["said"])))
                log(f"  {state:22s} {dtype} {layout:6s} {index:5s} import+first fit "
                    f"{result['import_fit']:6.1f} s (CPU {result['cpu']:5.1f} s, {result['mode']})"
                    f"{'  (CompileWarning)' if result['said'] else ''}")
    return rows


def first_fit_markdown(rows, machine, command, extra=""):
    """The table of :func:`first_fit`: one row per state, one column per cell."""
    cells = list(dict.fromkeys((r["dtype"], r["layout"], r["indices"]) for r in rows))
    by = {(r["state"], r["dtype"], r["layout"], r["indices"]): r for r in rows}
    head = ["state"] + [f"{d} {'CSC ' + i if lay == 'sparse' else 'dense'}" for d, lay, i in cells]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for state in dict.fromkeys(r["state"] for r in rows):
        row = [f"{state}: {STATES.get(state, '')}"]
        for cell in cells:
            r = by.get((state, *cell))
            row.append(f"{r['import_fit_s']:.1f} s ({r['cpu_s']:.1f} s, {r['kernels']})" if r else "—")
        lines.append("| " + " | ".join(row) + " |")
    worst = max((r for r in rows if r["state"] == "fresh install"), key=lambda r: r["import_fit_s"], default=None)
    intro = ("### First fit on a fresh machine, by dtype and layout\n\n"
             "A new process imports penalized and fits one `Lasso` (400 × 50, λ = 0.05; sparse: CSC with "
             "62 % of the entries kept and the indices in the dtype shown), with an empty numba cache and an "
             "empty user cache (`PENALIZED_CACHE_DIR`), the background build off. Cells: import + first fit, "
             "wall time (CPU time of the process, and the kernels that ran: `aot` the compiled module, `jit` "
             "numba compiling, `python` interpreted), one run per cell.\n\n"
             f"{machine}\n\nReproduce: `{command}`.\n\n")
    text = intro + "\n".join(lines)
    if worst is not None:
        text += f"\n\nWorst fresh-install cell: {worst['import_fit_s']:.1f} s."
    return text + ("\n\n" + extra.strip() if extra.strip() else "")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start")
    parser.add_argument("--first-fit", action="store_true", help="the dtype × layout × index table")
    parser.add_argument("--src", default=None, help="penalized source tree to measure (default: this one)")
    parser.add_argument("--states", nargs="+", default=list(STATES), choices=list(STATES))
    parser.add_argument("--built", default=None, help="a cache directory holding the AOT module")
    parser.add_argument("--cells", nargs="+", default=None, help="dtype/layout/index, e.g. float32/sparse/int64")
    parser.add_argument("--write", action="store_true",
                        help="write the table into docs/benchmarks.md (section cold-start-first-fit)")
    args = parser.parse_args()
    cells = [tuple(c.split("/")) for c in args.cells] if args.cells else CELLS
    rows = first_fit(args.states, cells, args.src, built=args.built)
    if args.write:
        import shlex

        from ._report import machine_line, write_section

        command = "python -m benchmarks.cold_start " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        table = first_fit_markdown(rows, machine_line(), command)
        print(table)
        write_section("cold-start-first-fit", table)
