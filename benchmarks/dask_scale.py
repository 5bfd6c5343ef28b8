"""penalized on Dask against dask-ml, on data larger than the cluster's memory.

Run: ``python -m benchmarks.dask_scale [--memory-limit 512MiB] [--factor 4] [--features 100]``;
writes ``benchmarks/results/dask_scale.csv`` and the ``dask-scale`` section of
``docs/benchmarks.md`` (``--no-write``: print only; ``--quick``: a tiny smoke run).

Cluster: a ``LocalCluster`` of ``--workers`` processes (one thread each), each with the
memory limit ``--memory-limit``. Data: ``X`` (n × p, float64) and ``y`` are ``--factor``
times one worker's memory limit — more than the whole cluster holds — so nothing can be
persisted: every pass regenerates its chunks from their seeds on the workers (the chunk
``[X_i | y_i]`` is one task, drawn from ``default_rng([seed, i])``). ``X`` has i.i.d.
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
    beta[:N_TRUE] = np.random.default_rng(seed).choice([-1.0, 1.0], N_TRUE) * np.linspace(1.0, 0.3, N_TRUE)
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


def fit_dask_ml(kind, X, y, lam, n, solver, max_iter):
    from dask_ml.linear_model import LinearRegression, LogisticRegression

    cls = LinearRegression if kind == "lasso" else LogisticRegression
    est = cls(penalty="l1", C=1.0 / (n * lam), fit_intercept=False, solver=solver, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return np.ravel(np.asarray(est.coef_, dtype=np.float64)), {"max_iter": max_iter}


def judge(kind, X, y, coef, lam):
    import penalized as pz
    from penalized.solvers import certificate

    datafit = pz.SquaredError() if kind == "lasso" else pz.Logistic()
    return certificate(X, y, coef, 0.0, datafit=datafit, penalty=pz.L1(lam), fit_intercept=False)


def worker_peaks(client):
    """Largest resident set (bytes) of every worker process since it started."""
    def peak():
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    return sorted(client.run(peak).values())


# -------------------------------------------------------------------------------------- run
def run(*, workers=2, memory_limit="512MiB", factor=4.0, features=100, chunk_rows=None, ratio=0.05, tol=1e-6,
        admm_iter=5, prox_iter=20, kinds=("lasso", "logistic"), peers=True, log=print):
    from distributed import Client, LocalCluster

    limit = _parse_bytes(memory_limit)
    p = features
    n = int(factor * limit / (8 * (p + 1)))
    chunk_rows = chunk_rows or max(1000, int(limit / 16 / (8 * (p + 1))))  # ~1/16 of a worker's memory
    rows = []
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=limit,
                           dashboard_address=None)
    client = Client(cluster)
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
                    methods.append((f"dask-ml {solver}", lambda X=X, y=y, lam=lam, kind=kind, s=solver, it=iters:
                                    fit_dask_ml(kind, X, y, lam, n, s, it)))
            for name, method in methods:
                client.restart()
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
                           objective=float("nan"), relative_certificate=float("nan"), nonzeros=-1,
                           detail=", ".join(f"{k}={v}" for k, v in info.items()), error=error)
                if coef is not None:
                    cert = judge(kind, X, y, coef, lam)
                    row.update(objective=cert.objective, relative_certificate=cert.relative,
                               nonzeros=int(np.count_nonzero(coef)))
                rows.append(row)
                log(f"  {name:24s} {seconds:8.1f} s  objective {row['objective']:.10g}  certificate/L(0) "
                    f"{row['relative_certificate']:.2e}  peak worker {row['peak_worker_mib']} MiB  {row['detail']}"
                    + (f"  FAILED {error}" if error else ""))
    finally:
        client.close()
        cluster.close()
    return rows


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
        "run ends in minutes; penalized stops on its certificate (`tol = 1e-6`).",
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
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    kwargs = dict(workers=args.workers, memory_limit=args.memory_limit, factor=args.factor,
                  features=args.features, chunk_rows=args.chunk_rows, ratio=args.ratio, admm_iter=args.admm_iter,
                  prox_iter=args.prox_iter, kinds=tuple(args.models), peers=not args.no_peers)
    if args.quick:
        kwargs.update(memory_limit="400MiB", factor=0.05, features=10, chunk_rows=5000, admm_iter=2, prox_iter=3)
    rows = run(**kwargs)
    if not args.no_write and not args.quick and rows:
        from ._report import machine_line, write_section

        args.results.mkdir(parents=True, exist_ok=True)
        with open(args.results / "dask_scale.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        command = "python -m benchmarks.dask_scale " + " ".join(argv if argv is not None else [])
        write_section("dask-scale", markdown(rows, machine_line(), command.strip()))
    return rows


if __name__ == "__main__":
    main()
