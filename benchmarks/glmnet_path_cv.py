"""Lasso paths and 10-fold CV against glmnet's Fortran (python-glmnet), gaussian and binomial.

Run: ``python -m benchmarks.glmnet_path_cv [--quick] [--repeats 3] [--tols 1e-4 1e-6]
[--designs dense tall sparse] [--families gaussian binomial] [--thresh 1e-5]``; a full run writes the
``glmnet-path-cv`` section of ``docs/benchmarks.md`` and ``benchmarks/results/glmnet_path_cv.csv``.
python-glmnet is built by ``tools/install_glmnet.sh`` (its sdist no longer builds with pip).

Both libraries get the same 100-λ grid (glmnet's: ``λ_max`` down to 1e-2·λ_max when n < p, else
1e-4), no standardization, an intercept, and for CV the same folds (python-glmnet's own
``KFold(10, shuffle=True, random_state=0)``). glmnet runs at its default ``thresh=1e-7``; with a
user grid its Fortran never exits the path early.

Scales: glmnet's gaussian objective ``(1/2n)‖y − Xβ − β₀‖² + λ‖β‖₁`` is penalized's ``SquaredError``
+ ``L1(2λ)``; the binomial ``−(1/n) loglik + λ‖β‖₁`` is ``Logistic`` + ``L1(λ)``.

Accuracy, the shared measure: at every λ of the path, ``(F(w) − F*) / F(0)`` with ``F`` on
penalized's scale and ``F*`` from penalized at ``tol=1e-10``; the table gives its maximum over the
path for each library, so a faster time at a worse accuracy is visible as such.
``--thresh``: penalized also applies glmnet's convergence rule (``thresh=`` of
``regularization_path`` / ``LassoCV``: each point runs epochs until one moves by
``Σ L_jΔ_j² ≤ thresh·L(0)``) on top of its certificate ``≤ tol·L(0)``; the table's tol column then
reads ``tol + thresh``. Gaussian rows only (the binomial rows run without it: on proximal Newton
one more step overshoots the rule by orders of magnitude, at the cost of a tight ``tol``), and not
the tall design (its covariance-method path ignores the rule). The documented ``thresh`` rows:
``--designs sparse --families gaussian --tols 1e-2 --thresh 1e-5`` and ``--designs dense
--families gaussian --tols 1e-2 --thresh 3e-6`` (partial runs print their rows; paste them in).
Times: median of ``--repeats`` runs after a warm-up, one BLAS thread (``benchmarks/__init__``).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

from ._report import machine_line, write_section

RESULTS = Path(__file__).resolve().parent / "results" / "glmnet_path_cv.csv"
N_FOLDS = 10


DESIGNS = ("dense", "tall", "sparse")


def designs(quick, only=DESIGNS):
    from penalized.datasets import make_correlated_regression

    from .problems import text_like

    if quick:
        shapes = [("dense 100×300", "dense", 100, 300), ("sparse 200×500 text", "sparse", 200, 500)]
    else:
        shapes = [("dense 1000×5000", "dense", 1000, 5000), ("tall 20000×200", "dense", 20000, 200),
                  ("sparse 10000×20000 text", "sparse", 10000, 20000)]
    for name, kind, n, p in shapes:
        if name.split()[0] not in only:
            continue
        if kind == "dense":
            X, y, _ = make_correlated_regression(n, p, n_informative=20, rho=0.5, noise=1.0, random_state=0)
            X = np.asfortranarray(X)
        else:
            X, y, _, _ = text_like(n, p, nnz=25 * n, informative=20, values="tfidf", zipf=1.0)
        yield name, X, y


def objective(X, y, coef, intercept, lam, family):
    eta = X @ coef + intercept
    if family == "gaussian":
        data = np.mean((y - eta) ** 2)
    else:
        s = 2.0 * y - 1.0
        data = np.mean(np.logaddexp(0.0, -s * eta))
    return data + lam * np.abs(coef).sum()


def pz_lambdas(X, y, family, n_lambdas=100):
    """glmnet's grid: λ_max down to 1e-2·λ_max when n < p, else 1e-4 (penalized's default too)."""
    from penalized.path import default_eps, lambda_grid, lambda_max

    datafit = "squared_error" if family == "gaussian" else "logistic"
    lam_max = lambda_max(X, y, datafit=datafit)
    return lambda_grid(lam_max, n_lambdas, default_eps(*X.shape))


def run_penalized_path(X, y, family, lambdas, tol, thresh=None):
    import penalized as pz

    datafit = "squared_error" if family == "gaussian" else "logistic"
    path = pz.regularization_path(X, y, datafit=datafit, lambdas=lambdas, tol=tol, max_iter=100_000, thresh=thresh)
    return np.asarray(path.coefs), np.asarray(path.intercepts)


def run_penalized_cv(X, y, family, lambdas, tol, folds, thresh=None):
    import penalized as pz

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "gaussian":
            return pz.LassoCV(lambdas=lambdas, cv=folds, tol=tol, max_iter=100_000, thresh=thresh).fit(X, y)
        return pz.LogisticRegressionCV(lambdas=lambdas, cv=folds, tol=tol, max_iter=100_000).fit(X, y)


def glmnet_model(family, lambdas, n_splits):
    import glmnet

    cls = glmnet.ElasticNet if family == "gaussian" else glmnet.LogitNet
    # our λ → glmnet's: gaussian λ/2, binomial λ
    lam_g = lambdas / 2.0 if family == "gaussian" else lambdas
    return cls(alpha=1.0, lambda_path=lam_g, standardize=False, fit_intercept=True, n_splits=n_splits,
               random_state=0, n_jobs=1, max_iter=100_000)


def run_glmnet_path(X, y, family, lambdas):
    m = glmnet_model(family, lambdas, 0).fit(X, y)
    coefs = m.coef_path_ if family == "gaussian" else m.coef_path_[0]
    intercepts = m.intercept_path_ if family == "gaussian" else m.intercept_path_[0]
    # python-glmnet returns the path on its own (decreasing) grid, as given
    return np.asarray(coefs), np.asarray(intercepts)


def run_glmnet_cv(X, y, family, lambdas):
    return glmnet_model(family, lambdas, N_FOLDS).fit(X, y)


def timed(fn, repeats):
    fn()  # warm-up (compilation, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def max_subopt(X, y, family, lambdas, coefs, intercepts, ref):
    f0 = objective(X, y, np.zeros(X.shape[1]), 0.0, 0.0, family) if family == "binomial" else np.var(y)
    worst = 0.0
    for k, lam in enumerate(lambdas):
        f = objective(X, y, coefs[:, k], intercepts[k], lam, family)
        f_ref = objective(X, y, ref[0][:, k], ref[1][k], lam, family)
        worst = max(worst, (f - f_ref) / f0)
    return worst


def bench_cell(name, X, y, family, repeats, tols, thresh=None):
    """Every tolerance of penalized against one glmnet run on one design and family."""
    from sklearn.model_selection import KFold

    lambdas = pz_lambdas(X, y, family)
    ref = run_penalized_path(X, y, family, lambdas, 1e-10)
    folds = list(KFold(N_FOLDS, shuffle=True, random_state=0).split(X))
    t_gp, g_path = timed(partial(run_glmnet_path, X, y, family, lambdas), repeats)
    t_gcv, _ = timed(partial(run_glmnet_cv, X, y, family, lambdas), repeats)
    g_sub = max_subopt(X, y, family, lambdas, *g_path, ref)
    rows = []
    thresh = thresh if family == "gaussian" else None
    for tol in tols:
        t_pp, p_path = timed(partial(run_penalized_path, X, y, family, lambdas, tol, thresh), repeats)
        t_pcv, _ = timed(partial(run_penalized_cv, X, y, family, lambdas, tol, folds, thresh), repeats)
        p_sub = max_subopt(X, y, family, lambdas, *p_path, ref)
        rows.append(dict(design=name, family=family, tol=tol, thresh=thresh or 0.0, pz_path_s=t_pp, glmnet_path_s=t_gp,
                         path_ratio=t_pp / t_gp, pz_cv_s=t_pcv, glmnet_cv_s=t_gcv, cv_ratio=t_pcv / t_gcv,
                         pz_subopt=float(p_sub), glmnet_subopt=float(g_sub)))
        print(rows[-1], flush=True)
    return rows


def bench(quick, repeats, tols, only=DESIGNS, families=("gaussian", "binomial"), thresh=None):
    rows = []
    for name, X, y_reg in designs(quick, only):
        for family in families:
            y = y_reg if family == "gaussian" else (y_reg > np.median(y_reg)).astype(np.float64)
            rows += bench_cell(name, X, y, family, repeats, tols, thresh)
    return rows


def markdown(rows, repeats):
    lines = [
        "Lasso path (100 λ, glmnet's grid) and 10-fold CV, penalized against glmnet's Fortran "
        "(python-glmnet 2.2.1, `thresh=1e-7`), same grid and folds, no standardization. Ratio = "
        "penalized ÷ glmnet (< 1: penalized faster). Suboptimality: max over the path of "
        f"(F − F*)/F(0). Median of {repeats} runs. `python -m benchmarks.glmnet_path_cv`.",
        "",
        "| design | family | penalized tol | path s (pz / glmnet) | path ratio | CV s (pz / glmnet) | CV ratio "
        "| subopt pz | subopt glmnet |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['design']} | {r['family']} | {tol_label(r)} | {r['pz_path_s']:.2f} / {r['glmnet_path_s']:.2f} | "
            f"{r['path_ratio']:.2f} | {r['pz_cv_s']:.2f} / {r['glmnet_cv_s']:.2f} | {r['cv_ratio']:.2f} | "
            f"{r['pz_subopt']:.1e} | {r['glmnet_subopt']:.1e} |")
    lines += ["", machine_line()]
    return "\n".join(lines)


def tol_label(row):
    """The tol column: ``tol``, or ``tol + thresh t`` where glmnet's rule was on."""
    thresh = float(row.get("thresh") or 0.0)
    return f"{row['tol']:g}" + (f" + thresh {thresh:g}" if thresh > 0 else "")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tols", type=float, nargs="+", default=[1e-4, 1e-6])
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--designs", nargs="+", choices=DESIGNS, default=list(DESIGNS),
                    help="run only these designs (a partial run prints its table and writes nothing)")
    ap.add_argument("--families", nargs="+", choices=("gaussian", "binomial"), default=["gaussian", "binomial"])
    ap.add_argument("--thresh", type=float, default=None,
                    help="penalized also applies glmnet's convergence rule (thresh=) on top of its certificate")
    args = ap.parse_args(argv)
    rows = bench(args.quick, args.repeats, args.tols, tuple(args.designs), tuple(args.families), args.thresh)
    partial = set(args.designs) != set(DESIGNS) or len(args.families) < 2
    if partial:
        print(markdown(rows, args.repeats))
    if not args.no_write and not partial:
        RESULTS.parent.mkdir(exist_ok=True)
        with open(RESULTS, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        write_section("glmnet-path-cv", markdown(rows, args.repeats))
    return rows


if __name__ == "__main__":
    main()
