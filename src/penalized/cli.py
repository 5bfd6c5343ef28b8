"""The ``penalized`` command.

Exit codes (the same for every subcommand):

- 0: success (for ``tour``: no section failed; a section that did not run because an
  optional dependency, PyTorch, is not installed is not a failure);
- 1: failure while running (a section of the tour crashed, an unexpected error);
- 2: bad usage or bad input — unknown option, missing or unreadable file, missing
  target column, non-numeric columns, missing values, one class, fewer rows than
  folds, an output path that is not ours to replace.

Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

err = Console(stderr=True)

EXIT_CODES = """\b
Exit codes:
  0  success
  1  failure while running (e.g. a section of the tour crashed)
  2  bad usage or bad input (one-line error, nothing written)"""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=EXIT_CODES)
@click.version_option(package_name="penalized")
def app():
    """Regularized learning: L = L_data + λ·L_reg, fitted, certified and explained.

    \b
    Start here:
      penalized tour                       the regularization lab on embedded data
      penalized fit data.csv --target y    a penalized model for your own table
      penalized path data.csv --target y   its regularization path, as a picture
    """


# -- tour ---------------------------------------------------------------------------------------
@app.command(epilog=EXIT_CODES)
@click.option("--out", "out", default="penalized-report", show_default=True, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Directory for report.html, figures/ and results.json (replaced whole if it "
                   "holds a previous report; any other non-empty directory is refused).")
@click.option("--quick", is_flag=True, help="Smaller experiments (under 30 s); same claims.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every experiment.")
@click.option("--section", "sections", multiple=True, metavar="KEY",
              help="Run only this section (repeatable): overfitting, training_time, knob, l1_vs_l2, geometry, "
                   "deep, pruning, real_data.")
def tour(out, quick, seed, sections):
    """The regularization lab: every claim of the theory, measured and drawn.

    Runs eight experiments on embedded data — overfitting and its three causes; training
    too long (test error against epochs, with a penalty and early stopping); λ as the
    knob (the validation curve, λ by cross-validation); L1 against L2 (exact zeros,
    feature selection); why L1 makes zeros (subgradients, the diamond and the disc); an
    MLP with no penalty, L2, L1 by subgradient and L1 by a proximal optimizer; the
    latency of a pruned MLP against the dense one; prostate and singh2002 — and writes
    DIR/report.html (self-contained: open it in any browser, offline), DIR/figures/*.png
    and DIR/results.json (every number the report shows).
    The MLP and pruning sections need PyTorch (pip install 'penalized[nn]'); without it,
    they are marked pending.

    \b
    Examples:
      penalized tour
      penalized tour --quick --out /tmp/lab
      penalized tour --section l1_vs_l2 --section geometry
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .lab import SECTIONS, run_tour
    from .report import check_target_dir, write_report

    check_target_dir(out)  # refuse before minutes of work, not after
    keys = list(sections) or [k for k, _ in SECTIONS]
    start = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=err,
                  transient=False) as progress:
        task = progress.add_task("the regularization lab", total=len(keys))

        def on_start(key, title):
            done = int(progress.tasks[0].completed)
            progress.update(task, description=f"[{done + 1}/{len(keys)}] {title}")

        def on_done(result):
            progress.advance(task)

        results = run_tour(quick=quick, seed=seed, sections=keys, on_start=on_start, on_done=on_done)
        progress.update(task, description="writing the report")
        doc = write_report(results, out, meta={"mode": "quick" if quick else "full", "seed": seed,
                                               "seconds": round(time.perf_counter() - start, 1)},
                           intro=INTRO, footer=FOOTER, dpi=80 if quick else 100)
        progress.update(task, description="done")

    console = Console()
    table = Table(title="penalized tour: claims measured", title_justify="left")
    for col, just in (("section", "left"), ("status", "left"), ("claims agree", "right"),
                      ("seconds", "right")):
        table.add_column(col, justify=just)
    for k, r in enumerate(results, 1):
        agree = sum(r.verdicts.values())
        status = {"complete": "[green]complete", "pending": "[yellow]pending", "failed": "[red]failed"}[r.status]
        table.add_row(f"{k}. {r.title}", status, f"{agree}/{len(r.verdicts)}", f"{r.seconds:.1f}")
    console.print(table)
    for r in results:
        for p in r.pending:
            console.print(f"[yellow]pending[/] ({r.key}): {p}", highlight=False)
        for claim, ok in r.verdicts.items():
            if not ok:
                console.print(f"[red]disagrees[/] ({r.key}): {claim}", highlight=False)
    s = doc["summary"]
    console.print(f"{s['claims that agree']} of {s['claims measured']} claims agree with the "
                  f"measurements. Report: {(out / 'report.html')}", highlight=False)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise click.ClickException("; ".join(f"section {r.key} failed: {r.error}" for r in failed))


INTRO = (
    "Each section states a claim of the theory of regularization, runs an experiment on embedded "
    "data, shows the measured numbers and a figure, and says whether the measurement agrees with "
    "the claim. Every number here is in results.json next to this file; the figures are in "
    "figures/. Regenerate with: penalized tour."
)
FOOTER = (
    "Scales: the data fit is the mean squared error (1/n)Σ(y − Xw − b)² or the mean log-loss; "
    "L1(λ) = λΣ|w_j|, L2(λ) = λΣw_j² (no ½); the intercept is never penalized. A verdict is "
    "computed from the measurement at run time, never written in."
)


# -- fit ---------------------------------------------------------------------------------------
def _common_table_options(f):
    f = click.option("--max-levels", default=20, show_default=True, type=click.IntRange(min=2),
                     help="Text columns with at most this many distinct values are one-hot encoded.")(f)
    f = click.option("--offset", "offset", default=None, metavar="COL",
                     help="With --task poisson: a column added to the linear predictor, not a feature "
                          "(the log of an exposure: time, area, population).")(f)
    f = click.option("--task", type=click.Choice(["auto", "regression", "classification", "poisson"]),
                     default="auto", show_default=True,
                     help="auto: classification for a text or two-valued target, regression otherwise. "
                          "Classification is logistic for two classes, multinomial for more; poisson: "
                          "counts, log link.")(f)
    f = click.option("--l1-ratio", default=0.5, show_default=True, type=click.FloatRange(0, 1),
                     help="Share of L1 in the elastic net.")(f)
    f = click.option("--penalty", type=click.Choice(["l1", "l2", "elasticnet"]), default="l1",
                     show_default=True)(f)
    f = click.option("--target", required=True, metavar="COL", help="The column to predict.")(f)
    f = click.argument("data", type=click.Path(dir_okay=True, path_type=Path))(f)
    return f


def _l1_ratio_needs_elasticnet(penalty):
    """``--l1-ratio`` given with ``--penalty l1`` or ``l2`` would be ignored: refuse it."""
    ctx = click.get_current_context()
    if penalty != "elasticnet" and ctx.get_parameter_source("l1_ratio") != click.core.ParameterSource.DEFAULT:
        raise click.UsageError(f"--l1-ratio sets the L1 share of --penalty elasticnet; with --penalty {penalty} "
                               "it would be ignored. Drop it, or use --penalty elasticnet.")


def _check_out_location(out):
    """``--out``'s nearest existing folder must be a folder we may write in (checked before the fit)."""
    import os

    place = out.absolute().parent
    while not place.exists() and place != place.parent:
        place = place.parent
    if not place.is_dir():
        raise ValueError(f"--out {str(out)!r}: {str(place)!r} is a file, not a directory; choose another path.")
    if not os.access(place, os.W_OK | os.X_OK):
        raise ValueError(f"--out {str(out)!r}: no permission to write in {str(place)!r}; choose another path.")


@contextlib.contextmanager
def _writing_to(out):
    """An ``OSError`` while writing ``--out`` as one line naming ``--out`` (not a temporary file)."""
    try:
        yield
    except OSError as exc:
        reason = (exc.strerror or str(exc)).rstrip(".").lower()
        raise ValueError(f"--out {str(out)!r}: cannot write there ({reason}); choose another path.") from None


def _default_out(data, suffix):
    name = data.name
    for ext in (".gz", ".csv", ".txt"):
        name = name[: -len(ext)] if name.endswith(ext) else name
    return Path(f"{name or 'data'}-{suffix}")


def _refuse_input_inside(data, out):
    data_abs, out_abs = data.resolve(), out.resolve()
    if data_abs == out_abs or out_abs in data_abs.parents:
        raise ValueError(f"--out {str(out)!r} would contain or replace the input file {str(data)!r}; "
                         "choose another directory.")


@app.command(epilog=EXIT_CODES)
@_common_table_options
@click.option("--lam", type=click.FloatRange(min=0), default=None, metavar="X",
              help="Fixed penalty strength λ (on penalized's scale: mean squared error or mean "
                   "log-loss + λ·penalty).")
@click.option("--cv", type=click.IntRange(min=2), default=None, metavar="K",
              help="Choose λ by K-fold cross-validation, on shuffled folds with a fixed seed (the "
                   "default, K=5, when --lam is not given).")
@click.option("--select", type=click.Choice(["1se", "min"]), default="1se", show_default=True,
              help="With --cv: the λ minimizing the CV error, or the largest within one standard "
                   "error of it (simpler model).")
@click.option("--out", "out", default=None, metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Output directory (default: <data name>-penalized): model.joblib, report.html, "
                   "figures/, results.json.")
def fit(data, target, penalty, l1_ratio, task, offset, max_levels, lam, cv, select, out):
    """Fit a penalized model to your own CSV table and explain it.

    Reads DATA (CSV, optionally gzip-compressed), standardizes the numeric columns,
    one-hot encodes text columns with few distinct values, fits a penalized linear model
    (least squares for a numeric target, logistic regression for two classes, the
    multinomial model for more, Poisson regression for counts with --task poisson), prints
    the selected features with their coefficients (on the standardized scale) and the
    metrics, and saves the fitted scikit-learn pipeline (joblib; it takes a DataFrame
    with the same feature columns) with a short report (path and CV plots). The input
    file is only read; the output directory appears whole or not at all.

    \b
    Examples:
      penalized fit prostate.csv --target lpsa
      penalized fit prostate.csv --target lpsa --penalty l2 --lam 0.1
      penalized fit genes.csv.gz --target status --cv 10 --out genes-model
      penalized fit claims.csv --target n_claims --task poisson --offset log_exposure
      python -c "import joblib; m = joblib.load('prostate-penalized/model.joblib')"
    """
    from .tables import fit_table, load_table

    if lam is not None and cv is not None:
        raise click.UsageError("give either --lam or --cv, not both.")
    _l1_ratio_needs_elasticnet(penalty)
    out = out if out is not None else _default_out(data, "penalized")
    from .report import check_target_dir

    check_target_dir(out)
    _refuse_input_inside(data, out)
    _check_out_location(out)
    table = load_table(data, target, task=task, max_levels=max_levels, offset=offset)
    result = fit_table(table, penalty=penalty, lam=lam, cv=cv or 5, l1_ratio=l1_ratio, select=select)
    _print_fit(table, result, penalty)
    with _writing_to(out):
        _save_fit(data, table, result, penalty, out)
    Console().print(f"Saved: {out / 'model.joblib'} (the fitted pipeline) and {out / 'report.html'}",
                    highlight=False)


def _print_fit(table, result, penalty, max_rows=30):
    console = Console()
    n_sel, n_all = result.metrics["features selected"], result.metrics["features after encoding"]
    t = Table(title=f"{penalty.upper()} {model_name(table)}: {n_sel} of {n_all} features selected "
                    f"(coefficients on the standardized scale)", title_justify="left")
    t.add_column("feature")
    for label in result.coef_labels:
        t.add_column(label, justify="right")
    for row in result.coefficients[:max_rows]:
        t.add_row(row[0], *[f"{c:+.4g}" if c != 0 else "0" for c in row[1:]])
    if len(result.coefficients) > max_rows:
        t.add_row(f"… and {len(result.coefficients) - max_rows} more (all in results.json)",
                  *[""] * len(result.coef_labels))
    console.print(t)
    m = Table(title="Metrics", title_justify="left")
    m.add_column("metric")
    m.add_column("value", justify="right")
    from .report import format_value

    for key, value in result.metrics.items():
        m.add_row(key, format_value(value))
    console.print(m)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)


def model_name(table):
    """What ``fit`` fits, in words: least-squares regression, logistic or multinomial classification,
    Poisson regression."""
    if table.task == "classification":
        k = len(table.classes)
        return "classification (logistic)" if k == 2 else f"classification (multinomial, {k} classes)"
    return "Poisson regression (log link)" if table.task == "poisson" else "regression (least squares)"


def _save_fit(data, table, result, penalty, out):
    import joblib

    from .lab import SectionResult
    from .report import write_report

    coefs = {row[0]: (row[1] if len(row) == 2 else dict(zip(result.coef_labels, row[1:], strict=True)))
             for row in result.coefficients}
    numbers = {"data": {"file": str(data), "target": table.target, "task": table.task, "model": model_name(table),
                        **({"offset column": table.offset_name} if table.get("offset_name") else {}),
                        "numeric columns": len(table.numeric),
                        "one-hot encoded columns": [f"{c} ({k} levels)" for c, k in table.levels.items()]},
               "model": {"penalty": penalty, **result.metrics},
               "selected features and coefficients (standardized scale)": coefs}
    section = SectionResult(
        key="fit", title=f"{penalty.upper()}-penalized {model_name(table)} of {table.target!r}",
        claim=f"{result.metrics['features selected']} of {result.metrics['features after encoding']} "
              f"features carry the model at λ = {result.lam:.4g}.",
        numbers=numbers, figures=result.figures, text="; ".join(result.notes) + ".",
        data={"cv_curve": result.cv_curve},
    )
    write_report([section], out, title="penalized fit", meta={"data": str(data)},
                 intro="The fitted pipeline is model.joblib next to this file: "
                       "joblib.load('model.joblib').predict(frame) takes a DataFrame with the "
                       "same feature columns.",
                 extra=lambda tmp: joblib.dump(result.pipeline, tmp / "model.joblib"))


# -- path --------------------------------------------------------------------------------------
@app.command(name="path", epilog=EXIT_CODES)
@_common_table_options
@click.option("--n-lambdas", default=50, show_default=True, type=click.IntRange(min=2, max=1000))
@click.option("--out", "out", default=None, metavar="FILE.png",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the picture (default: <data name>-path.png).")
def path_cmd(data, target, penalty, l1_ratio, task, offset, max_levels, n_lambdas, out):
    """Draw the regularization path of your own CSV table.

    Standardizes the table as `penalized fit` does and draws every coefficient against λ,
    from the λ where all are zero down to 1/100 or 1/1000 of it; prints the order in which
    the features enter the model. With more than two classes the path is the multinomial
    model's, drawn as each feature's norm over the classes.

    \b
    Examples:
      penalized path prostate.csv --target lpsa
      penalized path genes.csv.gz --target status --out genes-path.png
    """
    import os
    import tempfile

    from .plots import png_bytes
    from .tables import load_table, path_table

    out = out if out is not None else _default_out(data, "path.png")
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out must end in .png, got {str(out)!r}.")
    if out.exists() and data.exists() and out.resolve() == data.resolve():
        raise ValueError("--out would overwrite the input file.")
    if out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a directory.")
    _l1_ratio_needs_elasticnet(penalty)
    _check_out_location(out)
    table = load_table(data, target, task=task, max_levels=max_levels, offset=offset)
    res = path_table(table, penalty=penalty, l1_ratio=l1_ratio, n_lambdas=n_lambdas)
    png = png_bytes(res.figure)
    with _writing_to(out):
        out.absolute().parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.absolute().parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(png)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    console = Console()
    shown = ", ".join(res.entry_order[:10]) + (" …" if len(res.entry_order) > 10 else "")
    console.print(f"{penalty.upper()} path of {target!r} over {len(res.lambdas)} values of λ "
                  f"({res.lambdas[0]:.4g} → {res.lambdas[-1]:.4g}).", highlight=False)
    console.print(f"Order of entry: {shown or 'no feature enters'}", highlight=False)
    console.print(f"Saved: {out}", highlight=False)


@app.command(epilog=EXIT_CODES)
@click.option("--jit", "also_jit", is_flag=True,
              help="Also compile numba's cache for float32 data and int64 sparse indices.")
def warmup(also_jit):
    """Compile the solver's kernels now (about a minute, once per machine and version).

    Without it, the first fit on a new machine compiles them (or, for tiny problems, runs
    them as Python while a background process compiles). Example: penalized warmup
    """
    from penalized.solvers import _build, _loader

    console = Console()
    start = time.perf_counter()
    console.print(f"compiling penalized's kernels into {_loader.cache_dir()} …")
    status = _build.main(["--jit"] if also_jit else [])
    console.print(f"{_loader.describe()} ({time.perf_counter() - start:.0f} s)")
    if status:
        raise SystemExit(1)


def _in_cli_terms(exc):
    """An error's message as the command line says it: a table error on an argument
    (``cv=5: …``) names the option that set it (``--cv 5: …``)."""
    from .table_input import TableError

    if isinstance(exc, TableError):
        return f"--{exc.argument.replace('_', '-')} {exc.value}: {exc.detail}"
    return str(exc)


def main(argv=None):
    """Console entry point: one-line errors, never a traceback."""
    try:
        code = app.main(args=argv, prog_name="penalized", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.Abort:
        err.print("aborted")
        code = 1
    except click.UsageError as exc:  # bad usage: exit code 2
        err.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False, soft_wrap=True)
        code = 2
    except click.ClickException as exc:  # failures reported by a command: exit code 1
        err.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False, soft_wrap=True)
        code = exc.exit_code
    except (ValueError, TypeError, OSError) as exc:  # bad input
        err.print(f"[bold red]error:[/] {_in_cli_terms(exc)}", highlight=False, soft_wrap=True)
        code = 2
    except Exception as exc:
        err.print(f"[bold red]error:[/] {type(exc).__name__}: {exc}", highlight=False, soft_wrap=True)
        code = 1
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
