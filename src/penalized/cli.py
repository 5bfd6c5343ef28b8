"""The ``penalized`` command.

Exit codes: 0 success, 1 failure while running, 2 bad usage or bad input (a one-line
error on stderr, never a traceback).
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

err = Console(stderr=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="penalized")
def app():
    """Regularized learning: L = L_data + λ·L_reg, fitted, certified and explained."""


@app.command()
@click.option("--out", default=None, help="Directory for the report (not used yet).")
@click.option("--quick", is_flag=True, help="Smaller experiments.")
def tour(out, quick):
    """L1 against L2 on the prostate data: L1 zeroes coefficients, L2 only shrinks them.

    Example: penalized tour
    """
    import numpy as np

    import penalized as pz
    from penalized.datasets import load_prostate

    console = Console()
    data = load_prostate("train")
    X = (data.data - data.data.mean(0)) / data.data.std(0)
    y = data.target
    from penalized.solvers import LinearProblem

    lam_max = LinearProblem.build(X, y, pz.SquaredError()).lambda_max()
    lam = 0.1 * lam_max
    lasso = pz.Lasso(lam=lam, tol=1e-10, max_iter=10_000).fit(X, y)
    ridge = pz.Ridge(lam=lam, tol=1e-10, max_iter=10_000).fit(X, y)
    ols = pz.LinearRegression(tol=1e-10, max_iter=10_000).fit(X, y)

    table = Table(title=f"Prostate (ESL train split, standardized), λ = 0.1·λ_max = {lam:.4f}")
    table.add_column("predictor")
    for name in ("least squares", "L1 (lasso)", "L2 (ridge)"):
        table.add_column(name, justify="right")
    for j, name in enumerate(data.feature_names):
        l1 = lasso.coef_[j]
        table.add_row(name, f"{ols.coef_[j]:+.4f}", "0 (exact)" if l1 == 0 else f"{l1:+.4f}",
                      f"{ridge.coef_[j]:+.4f}")
    console.print(table)
    n_zero_l1 = int(np.sum(lasso.coef_ == 0))
    n_zero_l2 = int(np.sum(ridge.coef_ == 0))
    console.print(
        f"L1 sets {n_zero_l1} of {X.shape[1]} coefficients exactly to zero; L2 sets {n_zero_l2}. "
        f"Certificates (duality gaps): lasso {lasso.dual_gap_:.1e}, ridge {ridge.dual_gap_:.1e}."
    )


@app.command()
@click.option("--jit", "also_jit", is_flag=True,
              help="Also compile numba's cache for float32 data and int64 sparse indices.")
def warmup(also_jit):
    """Compile the solver's kernels now (about a minute, once per machine and version).

    Without it, the first fit on a new machine compiles them (or, for tiny problems, runs
    them as Python while a background process compiles). Example: penalized warmup
    """
    import time

    from penalized.solvers import _build, _loader

    console = Console()
    start = time.perf_counter()
    console.print(f"compiling penalized's kernels into {_loader.cache_dir()} …")
    status = _build.main(["--jit"] if also_jit else [])
    console.print(f"{_loader.describe()} ({time.perf_counter() - start:.0f} s)")
    if status:
        raise SystemExit(1)


def main():
    """Console entry point: one-line errors, never a traceback."""
    try:
        code = app.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.Abort:
        err.print("aborted")
        code = 1
    except click.ClickException as exc:  # usage errors: exit code 2
        err.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False, soft_wrap=True)
        code = exc.exit_code
    except (ValueError, TypeError, OSError) as exc:  # bad input
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        code = 2
    except Exception as exc:
        err.print(f"[bold red]error:[/] {type(exc).__name__}: {exc}", highlight=False, soft_wrap=True)
        code = 1
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
