"""penalized on Dask against dask-ml, on data larger than the cluster's memory.

Run: ``python -m benchmarks.dask_scale [--memory-limit 512MiB] [--factor 4] [--features 100]``;
writes ``benchmarks/results/dask_scale.csv`` and the ``dask-scale`` section of
``docs/benchmarks.md`` (``--no-write``: print only; ``--quick``: a tiny smoke run).

Cluster: a ``LocalCluster`` of ``--workers`` processes (one thread each), each with the
memory limit ``--memory-limit``. Data: ``X`` (n × p, float64) and ``y`` are ``--factor``
times one worker's memory limit — more than the whole cluster holds — so nothing can be
persisted: every pass regenerates its chunks from their seeds on the workers (the chunk
``[X_i | y_i]`` is one task, drawn from ``default_rng([seed, i])``; Dask's low-level fusion is
turned off so that no method generates a chunk twice in a pass). ``X`` has i.i.d.
N(0, 1) columns, ``y = Xβ + ε`` (lasso) or ``y ~ Bernoulli(σ(Xβ))`` (logistic), β with
10 non-zero entries.

Problems (no intercept: dask-ml penalizes its intercept column, so only then are the two
objectives the same): the lasso ``(1/n)‖y − Xw‖² + λ‖w‖₁`` and the L1 logistic regression
``(1/n)Σ log(1 + exp(−y_i x_iᵀw)) + λ‖w‖₁`` at ``λ = ratio·λ_max`` (λ_max of a sample of
the data). dask-ml minimises ``Σ ℓ_i + (1/C)‖β‖₁``: the same problem with ``C = 1/(nλ)``.

Methods: penalized (``Lasso`` / ``LogisticRegression(pz.L1(λ))``, ``tol=1e-6``) and dask-ml's
``LinearRegression`` / ``LogisticRegression(penalty="l1")`` with the solvers ``admm`` and
``proximal_grad`` at their default tolerances, ``max_iter`` capped (``--admm-iter``,
``--prox-iter``) so that the run ends in reasonable time. Every answer is judged by
penalized's certificate (:func:`penalized.solvers.certificate`, computed over the chunks on
the cluster): objective, and duality-gap certificate relative to L(0). Peak memory: the
largest resident set of each worker process during the run (workers are restarted before
each run, so the peak is that run's).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
SEED = 20240611
N_TRUE = 10


def _parse_bytes(text):
    from dask.utils import parse_bytes

    return int(parse_bytes(text))


def _chunk(index, rows, p, seed, beta, kind):
    from scipy.special import expit

    rng = np.random.default_rng([seed, index])
    Z = np.empty((rows, p + 1))
    Z[:, :p] = rng.standard_normal((rows, p))
    z = Z[:, :p] @ beta
    if kind == "logistic":
        Z[:, p] = rng.random(rows) < expit(z)
    else:
        Z[:, p] = z + rng.standard_normal(rows)
    return Z


def design(n, p, chunk_rows, kind, seed=SEED):
    """``(X, y, beta)``: Dask arrays regenerated chunk by chunk from their seeds (never persisted)."""
    import dask
    import dask.array as da

    beta = np.zeros(p)
    k = min(N_TRUE, p)
    beta[:k] = np.random.default_rng(seed).choice([-1.0, 1.0], k) * np.linspace(1.0, 0.3, k)
    sizes = [chunk_rows] * (n // chunk_rows) + ([n % chunk_rows] if n % chunk_rows else [])
    blocks = [da.from_delayed(dask.delayed(_chunk, pure=True)(i, r, p, seed, beta, kind), shape=(r, p + 1),
                              dtype=np.float64) for i, r in enumerate(sizes)]
    Z = da.concatenate(blocks)
    return Z[:, :p], Z[:, p], beta


def sample_lambda_max(kind, p, beta, rows=20_000):
    """λ_max (no intercept) on a sample drawn like the data: ``max_j |∇_j L_data(0)|``."""
    Z = _chunk(10**6, rows, p, SEED, beta, kind)
    X, y = Z[:, :p], Z[:, p]
    if kind == "logistic":
        s = np.where(y > 0, 1.0, -1.0)
        return float(np.max(np.abs(X.T @ s)) / (2 * rows))
    return float(np.max(np.abs(X.T @ y)) * 2 / rows)


# ---------------------------------------------------------------------------------- methods
def fit_penalized(kind, X, y, lam, tol):
    import penalized as pz

    est = pz.Lasso(lam=lam, fit_intercept=False, tol=tol) if kind == "lasso" else \
        pz.LogisticRegression(pz.L1(lam), fit_intercept=False, tol=tol)
    est.fit(X, y)
    return np.ravel(est.coef_), {"passes": int(np.max(est.n_iter_))}


def fit_dask_ml(kind, X, y, lam, n, solver, max_iter, tol=None):
    """dask-ml's estimator at ``C = 1/(nλ)`` (``tol``: its own stopping tolerance; None: its default)."""
    from dask_ml.linear_model import LinearRegression, LogisticRegression

    cls = LinearRegression if kind == "lasso" else LogisticRegression
    extra = {} if tol is None else {"tol": tol}
    est = cls(penalty="l1", C=1.0 / (n * lam), fit_intercept=False, solver=solver, max_iter=max_iter, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return np.ravel(np.asarray(est.coef_, dtype=np.float64)), {"max_iter": max_iter}


def judge(kind, X, y, coef, lam):
    import penalized as pz
    from penalized import certificate

    datafit = pz.SquaredError() if kind == "lasso" else pz.Logistic()
    return certificate(X, y, coef, 0.0, datafit=datafit, penalty=pz.L1(lam), fit_intercept=False)


def _warm_worker(peer):
    """What a method's tasks import, loaded before the clock starts (after a restart)."""
    import dask.array  # noqa: F401
    import scipy.special  # noqa: F401

    if peer:
        import dask_ml.linear_model  # noqa: F401
    else:
        import penalized.dask.chunks  # noqa: F401


RESTART_TIMEOUT = 120  # seconds: a restart on a loaded machine can otherwise wait indefinitely


def restart_workers(client, workers, log, timeout=RESTART_TIMEOUT):
    """Fresh worker processes (so that a method's peak memory is its own); False when the restart
    does not finish within ``timeout`` seconds (workers slow to die or to come back on a loaded
    machine): the run goes on, after waiting as long again for ``workers`` workers, and the peaks
    it reports are then since the workers' start."""
    try:
        client.restart(timeout=timeout)
        return True
    except Exception as exc:  # asyncio.TimeoutError, or a worker that failed to come back
        log(f"  (worker restart gave up after {timeout} s: {type(exc).__name__}; peak memory is since the workers' "
            "start)")
    try:
        client.wait_for_workers(workers, timeout=timeout)
    except Exception as exc:
        log(f"  (still {len(client.scheduler_info()['workers'])} of {workers} workers: {type(exc).__name__})")
    return False


def worker_peaks(client):
    """Largest resident set (bytes) of every worker process since it started."""
    def peak():
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    return sorted(client.run(peak).values())


# -------------------------------------------------------------------------------------- run
def _append_csv(path, row):
    if path is None:
        return
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def start_cluster(workers, limit):
    """A ``LocalCluster`` of ``workers`` processes (one thread each, ``limit`` bytes each) and its
    client; generous start-up timeouts, as the machine may be shared and busy."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.comm.timeouts.connect": "180s"}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=limit,
                               dashboard_address=None, timeout="180s")
        return cluster, Client(cluster, timeout="180s")


def run(*, workers=2, memory_limit="512MiB", factor=4.0, features=100, chunk_rows=None, ratio=0.05, tol=1e-6,
        admm_iter=5, prox_iter=20, kinds=("lasso", "logistic"), peers=True, lasso_solvers=("admm", "proximal_grad"),
        log=print, csv_path=None, restart=True):
    """``restart``: fresh worker processes before each method, so that their peak memory is the
    method's own (the smoke run skips it: a restart can wait minutes on a loaded machine)."""
    limit = _parse_bytes(memory_limit)
    p = features
    n = int(factor * limit / (8 * (p + 1)))
    chunk_rows = chunk_rows or max(1000, int(limit / 16 / (8 * (p + 1))))  # ~1/16 of a worker's memory
    rows = []
    cluster, client = start_cluster(workers, limit)
    try:
        import penalized as pz

        warm_X, warm_y, _ = design(2000, p, 500, "logistic")  # compile and load everything once
        pz.LogisticRegression(pz.L1(0.01), fit_intercept=False).fit(warm_X, warm_y)
        pz.Lasso(lam=0.01, fit_intercept=False).fit(warm_X, warm_y)
        for kind in kinds:
            X, y, beta = design(n, p, chunk_rows, kind)
            lam = ratio * sample_lambda_max(kind, p, beta)
            data_gb = n * (p + 1) * 8 / 2**30
            log(f"{kind}: n={n} p={p} ({data_gb:.2f} GiB, {data_gb * 2**30 / limit:.1f}× a worker's limit of "
                f"{limit / 2**20:.0f} MiB), {X.numblocks[0]} chunks of {chunk_rows} rows, λ={lam:.4g}")
            methods = [("penalized", lambda X=X, y=y, lam=lam, kind=kind: fit_penalized(kind, X, y, lam, tol))]
            if peers:
                for solver, iters in (("admm", admm_iter), ("proximal_grad", prox_iter)):
                    if kind == "lasso" and solver not in lasso_solvers:
                        continue
                    methods.append((f"dask-ml {solver}", lambda X=X, y=y, lam=lam, kind=kind, s=solver, it=iters:
                                    fit_dask_ml(kind, X, y, lam, n, s, it)))
            for name, method in methods:
                fresh = restart and restart_workers(client, workers, log)
                client.run(_warm_worker, name != "penalized")
                baseline = max(worker_peaks(client))
                start = time.perf_counter()
                try:
                    coef, info = method()
                    error = ""
                except Exception as exc:  # a peer that fails (e.g. a worker over its memory limit) is reported
                    coef, info, error = None, {}, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                seconds = time.perf_counter() - start
                peaks = worker_peaks(client)
                row = dict(model=kind, method=name, n=n, p=p, chunks=X.numblocks[0], lam=lam,
                           data_gib=round(data_gb, 3), worker_limit_mib=round(limit / 2**20),
                           seconds=round(seconds, 2), peak_worker_mib=round(max(peaks) / 2**20),
                           baseline_worker_mib=round(baseline / 2**20),
                           chunk_mib=round(chunk_rows * (p + 1) * 8 / 2**20),
                           objective=float("nan"), relative_certificate=float("nan"), nonzeros=-1,
                           detail=", ".join(f"{k}={v}" for k, v in info.items())
                           + ("" if fresh or not restart else ", peak since the workers' start"), error=error)
                if coef is not None:
                    cert = judge(kind, X, y, coef, lam)
                    row.update(objective=cert.objective, relative_certificate=cert.relative,
                               nonzeros=int(np.count_nonzero(coef)))
                rows.append(row)
                _append_csv(csv_path, row)
                log(f"  {name:24s} {seconds:8.1f} s  objective {row['objective']:.10g}  certificate/L(0) "
                    f"{row['relative_certificate']:.2e}  peak worker {row['peak_worker_mib']} MiB  {row['detail']}"
                    + (f"  FAILED {error}" if error else ""))
    finally:
        client.close()
        cluster.close()
    return rows


def curves(*, workers=2, memory_limit="1GiB", sizes=(250_000, 1_000_000), features=(100,), p_sizes=(50, 200),
           p_rows=200_000, chunk_mib=32, ratio=0.05, tol=1e-4, kinds=("lasso", "logistic"), log=print, csv_path=None):
    """penalized alone: time, passes and peak worker memory as n grows (p = ``features[0]``) and as
    p grows (n = ``p_rows``), at each model's default tolerance."""
    limit = _parse_bytes(memory_limit)
    cluster, client = start_cluster(workers, limit)
    rows = []
    try:
        import penalized as pz

        warm_X, warm_y, _ = design(2000, 5, 500, "logistic")
        pz.LogisticRegression(pz.L1(0.01), fit_intercept=False).fit(warm_X, warm_y)
        pz.Lasso(lam=0.01, fit_intercept=False).fit(warm_X, warm_y)
        shapes = [(n, features[0]) for n in sizes] + [(p_rows, p) for p in p_sizes]
        for kind in kinds:
            for n, p in dict.fromkeys(shapes):
                chunk_rows = max(1000, int(chunk_mib * 2**20 / (8 * (p + 1))))
                X, y, beta = design(n, p, chunk_rows, kind)
                lam = ratio * sample_lambda_max(kind, p, beta)
                restart_workers(client, workers, log)
                client.run(_warm_worker, False)
                baseline = max(worker_peaks(client))
                start = time.perf_counter()
                coef, info = fit_penalized(kind, X, y, lam, tol)
                seconds = time.perf_counter() - start
                row = dict(model=kind, n=n, p=p, data_gib=round(n * (p + 1) * 8 / 2**30, 3), chunks=X.numblocks[0],
                           chunk_mib=chunk_mib, seconds=round(seconds, 2), passes=info["passes"],
                           nonzeros=int(np.count_nonzero(coef)), baseline_worker_mib=round(baseline / 2**20),
                           peak_worker_mib=round(max(worker_peaks(client)) / 2**20), workers=workers,
                           worker_limit_mib=round(limit / 2**20))
                rows.append(row)
                _append_csv(csv_path, row)
                log(f"  {kind:9s} n={n:>10,} p={p:>5} ({row['data_gib']:.2f} GiB): {seconds:7.1f} s, "
                    f"{row['passes']} passes, {row['nonzeros']} non-zeros, peak worker {row['peak_worker_mib']} MiB "
                    f"(baseline {row['baseline_worker_mib']})")
    finally:
        client.close()
        cluster.close()
    return rows


def convergence(*, workers=2, memory_limit="1GiB", n=200_000, features=100, ratio=0.05, tol=1e-6,
                admm_iters=(2, 5, 10, 25), prox_iters=(5, 20, 50, 100), kinds=("lasso", "logistic"), log=print,
                csv_path=None, chunk_rows=None, max_seconds=600.0, peer_tol=None):
    """How many iterations dask-ml needs to reach penalized's objective, on data persisted in the
    cluster's memory (so that times measure the algorithms, not the data generation).

    penalized runs first (``tol``); its certificate ``ε`` bounds its own distance to the optimum.
    Each dask-ml solver then runs from scratch at every ``max_iter`` of its list, in order, until
    its objective is within ``ε`` of penalized's (``reached``: both are then within ``2ε`` of the
    optimum) or its runs have taken more than ``max_seconds`` in all. ``time ÷ penalized`` of the
    first run that reaches it is the equal-objective time ratio; of the others, a lower bound on it.
    ``peer_tol``: dask-ml's own stopping tolerance (None: its default, 1e-4), so that ``max_iter``
    and not that tolerance ends its runs."""
    import dask.array as da
    limit = _parse_bytes(memory_limit)
    cluster, client = start_cluster(workers, limit)
    chunk_rows = chunk_rows or max(1000, n // 8)
    rows = []
    try:
        for kind in kinds:
            X, y, beta = design(n, features, chunk_rows, kind)
            X, y = da.compute(X, y)  # in memory on the client, then scattered as chunks once
            X = da.from_array(X, chunks=(chunk_rows, features)).persist()
            y = da.from_array(y, chunks=chunk_rows).persist()
            lam = ratio * sample_lambda_max(kind, features, beta)
            start = time.perf_counter()
            coef, info = fit_penalized(kind, X, y, lam, tol)
            ours = time.perf_counter() - start
            cert = judge(kind, X, y, coef, lam)
            best, eps = cert.objective, cert.value
            rows.append(_convergence_row(kind, "penalized", info["passes"], n, features, lam, ours, ours, cert, best,
                                         True, log))
            _append_csv(csv_path, rows[-1])
            for solver, iters in (("admm", admm_iters), ("proximal_grad", prox_iters)):
                spent = 0.0
                for it in iters:
                    start = time.perf_counter()
                    coef, _ = fit_dask_ml(kind, X, y, lam, n, solver, it, tol=peer_tol)
                    seconds = time.perf_counter() - start
                    spent += seconds
                    cert = judge(kind, X, y, coef, lam)
                    reached = cert.objective - best <= eps
                    rows.append(_convergence_row(kind, f"dask-ml {solver}", it, n, features, lam, seconds, ours, cert,
                                                 best, reached, log))
                    _append_csv(csv_path, rows[-1])
                    if reached or spent > max_seconds:
                        break
    finally:
        client.close()
        cluster.close()
    return rows


def _convergence_row(kind, method, iters, n, p, lam, seconds, ours, cert, best, reached, log):
    row = dict(model=kind, method=method, max_iter=iters, n=n, p=p, lam=lam, seconds=round(seconds, 2),
               ratio=seconds / ours, objective=cert.objective, above_penalized=(cert.objective - best) / abs(best),
               relative_certificate=cert.relative, reached=bool(reached))
    label = "passes" if method == "penalized" else "max_iter"
    log(f"  {kind:9s} {method:22s} {label}={iters:>4} {seconds:7.1f} s ({row['ratio']:.1f}× penalized)  objective "
        f"{cert.objective:.10g} (+{row['above_penalized']:.1e})  certificate/L(0) {cert.relative:.1e}"
        + ("  reached" if reached and method != "penalized" else ""))
    return row


def convergence_markdown(rows, machine, command):
    lines = ["| model | method | max_iter (penalized: passes) | time (s) | time ÷ penalized | objective above "
             "penalized's (rel.) | certificate / L(0) | reached penalized's objective |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        reached = "—" if r["method"] == "penalized" else ("yes" if r["reached"] else "no")
        lines.append(f"| {r['model']} | {r['method']} | {r['max_iter']} | {r['seconds']:.1f} | {r['ratio']:.1f}× | "
                     f"{r['above_penalized']:.1e} | {r['relative_certificate']:.1e} | {reached} |")
    if rows:
        r0 = rows[0]
        lines += ["", f"n = {r0['n']:,}, p = {r0['p']}, persisted in the cluster's memory, no intercept, λ = "
                  f"{r0['lam']:.4g} (0.05·λ_max). Reached: dask-ml's objective within penalized's certificate of "
                  f"penalized's objective. Conditions: {machine} Reproduce: `{command}`."]
    return "\n".join(lines)


def curves_markdown(rows, machine, command):
    lines = ["| model | n | p | data (GiB) | chunks | time (s) | passes | non-zeros | peak worker memory (MiB) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['n']:,} | {r['p']} | {r['data_gib']:.2f} | {r['chunks']} | "
                     f"{r['seconds']:.1f} | {r['passes']} | {r['nonzeros']} | {r['peak_worker_mib']} "
                     f"(baseline {r['baseline_worker_mib']}) |")
    if rows:
        r0 = rows[0]
        lines += ["", f"{r0['workers']} worker processes (one thread each, {r0['worker_limit_mib']} MiB limit each), "
                  f"chunks of {r0['chunk_mib']} MiB regenerated on the workers at every pass, no intercept, "
                  f"λ = 0.05·λ_max, default tol (1e-4). Conditions: {machine} Reproduce: `{command}`."]
    return "\n".join(lines)


def markdown(rows, machine, command):
    lines = ["### Dask: penalized against dask-ml on data larger than the cluster (`python -m benchmarks.dask_scale`)",
             ""]
    if not rows:
        return "\n".join(lines)
    r0 = rows[0]
    lines += [
        f"A `LocalCluster` of processes (one thread each), every worker limited to {r0['worker_limit_mib']} MiB; "
        f"the data ({r0['data_gib']} GiB: n = {r0['n']:,} × p = {r0['p']}, float64, {r0['chunks']} chunks) is "
        f"{r0['data_gib'] * 1024 / r0['worker_limit_mib']:.1f}× one worker's limit, so no run can persist it: "
        "every pass regenerates the chunks on the workers. No intercept (dask-ml penalizes its intercept "
        "column); dask-ml's `C = 1/(nλ)`. Every answer is judged by penalized's certificate computed over the "
        "chunks: the objective reached, its duality-gap certificate relative to L(0) and how far its objective "
        "is above the best one found (relative). dask-ml's `max_iter` is capped (detail column) so that each "
        "run ends in minutes; penalized stops on its certificate (`tol = 1e-6`). Peak worker memory: the "
        "largest resident set of any worker during the run; a worker holds "
        f"{r0['baseline_worker_mib']} MiB after importing the libraries, and one chunk `[X_i | y_i]` is "
        f"{r0['chunk_mib']} MiB.",
        "",
        "| model | method | time (s) | objective | above best (rel.) | certificate / L(0) | non-zeros "
        "| peak worker memory (MiB) | time ÷ penalized | detail |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for kind in dict.fromkeys(r["model"] for r in rows):
        group = [r for r in rows if r["model"] == kind]
        best = min((r["objective"] for r in group if np.isfinite(r["objective"])), default=float("nan"))
        ours = next((r["seconds"] for r in group if r["method"] == "penalized"), float("nan"))
        for r in group:
            above = (r["objective"] - best) / abs(best) if np.isfinite(r["objective"]) else float("nan")
            detail = r["detail"] + (f"; failed: {r['error']}" if r["error"] else "")
            lines.append(
                f"| {kind} (λ = {r['lam']:.3g}) | {r['method']} | {r['seconds']:.1f} | {r['objective']:.8g} | "
                f"{above:.1e} | {r['relative_certificate']:.1e} | {r['nonzeros']} | {r['peak_worker_mib']} | "
                f"{r['seconds'] / ours:.1f}× | {detail} |")
    lines += ["", f"Conditions: {machine} Reproduce: `{command}`. The machine's cores were shared with other "
              "jobs, so times are noisy; each method ran once, the methods one after another."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dask_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="512MiB", help="per worker")
    parser.add_argument("--factor", type=float, default=4.0, help="data size ÷ one worker's memory limit")
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--chunk-rows", type=int, default=None)
    parser.add_argument("--ratio", type=float, default=0.05, help="λ / λ_max")
    parser.add_argument("--admm-iter", type=int, default=5)
    parser.add_argument("--prox-iter", type=int, default=20)
    parser.add_argument("--models", nargs="+", default=["lasso", "logistic"])
    parser.add_argument("--no-peers", action="store_true", help="penalized only")
    parser.add_argument("--lasso-solvers", nargs="+", default=["admm", "proximal_grad"],
                        help="dask-ml solvers run on the lasso (LinearRegression)")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--no-docs", action="store_true", help="write the CSV and Markdown files, not the docs")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--curves", action="store_true",
                        help="penalized alone as n and p grow (docs/scale.md) instead of the comparison")
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000], help="--curves: n values")
    parser.add_argument("--p-sizes", type=int, nargs="*", default=[50, 200], help="--curves: p values")
    parser.add_argument("--p-rows", type=int, default=200_000, help="--curves: n of the p sweep")
    parser.add_argument("--convergence", action="store_true",
                        help="dask-ml as max_iter grows, on persisted data, until it reaches penalized's objective")
    parser.add_argument("--rows", type=int, default=200_000, help="--convergence: n")
    parser.add_argument("--admm-iters", type=int, nargs="+", default=[2, 5, 10, 25], help="--convergence")
    parser.add_argument("--prox-iters", type=int, nargs="+", default=[5, 20, 50, 100], help="--convergence")
    parser.add_argument("--max-seconds", type=float, default=600.0,
                        help="--convergence: stop a dask-ml solver's scan after this much time")
    parser.add_argument("--peer-tol", type=float, default=None, help="--convergence: dask-ml's tol (default: its own)")
    args = parser.parse_args(argv)
    import dask

    # low-level fusion would copy the task making a chunk [X_i | y_i] into X_i's and y_i's tasks
    # wherever a library optimises X and y separately (dask-ml's admm does): each method then
    # generates every chunk once per pass
    dask.config.set({"optimization.fuse.active": False})
    write = not args.no_write and not args.quick
    if write:
        args.results.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.dask_scale " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.convergence:
        from ._report import machine_line

        path = args.results / "dask_convergence.csv" if write else None
        if path is not None and path.exists():
            path.unlink()
        rows = convergence(workers=args.workers, memory_limit=args.memory_limit, kinds=tuple(args.models),
                           n=args.rows, features=args.features, chunk_rows=args.chunk_rows, ratio=args.ratio,
                           admm_iters=tuple(args.admm_iters), prox_iters=tuple(args.prox_iters),
                           max_seconds=args.max_seconds, peer_tol=args.peer_tol, csv_path=path)
        if write and rows:
            (args.results / "dask_convergence.md").write_text(
                convergence_markdown(rows, machine_line(), command.strip()) + "\n")
        return rows
    if args.curves:
        from ._report import machine_line

        path = args.results / "dask_curves.csv" if write else None
        if path is not None and path.exists():
            path.unlink()
        rows = curves(workers=args.workers, memory_limit=args.memory_limit, sizes=tuple(args.sizes),
                      features=(args.features,), p_sizes=tuple(args.p_sizes), p_rows=args.p_rows,
                      kinds=tuple(args.models), csv_path=path)
        if write and rows:
            (args.results / "dask_curves.md").write_text(curves_markdown(rows, machine_line(), command.strip()) + "\n")
        return rows
    kwargs = dict(workers=args.workers, memory_limit=args.memory_limit, factor=args.factor,
                  features=args.features, chunk_rows=args.chunk_rows, ratio=args.ratio, admm_iter=args.admm_iter,
                  prox_iter=args.prox_iter, kinds=tuple(args.models), peers=not args.no_peers,
                  lasso_solvers=tuple(args.lasso_solvers))
    if args.quick:
        kwargs.update(memory_limit="1GiB", factor=0.02, features=10, chunk_rows=5000, admm_iter=2, prox_iter=3,
                      restart=False)
    path = args.results / "dask_scale.csv" if write else None
    if path is not None and path.exists():
        path.unlink()
    rows = run(**kwargs, csv_path=path)
    if write and rows:
        from ._report import machine_line, write_section

        text = markdown(rows, machine_line(), command.strip())
        (args.results / "dask_scale.md").write_text(text + "\n")
        if not args.no_docs:
            write_section("dask-scale", text)
            write_section("dask-scale", text, doc=Path(__file__).resolve().parent.parent / "docs" / "scale.md")
    return rows


if __name__ == "__main__":
    main()
