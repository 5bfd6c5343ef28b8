"""``python -m benchmarks``: the solver, sparse, penalty, group-path, GLM (multinomial, Poisson,
multi-task), GLM path + CV and cold-start benchmarks, one command.

Writes the ``solvers``, ``sparse``, ``group``, ``mcp``, ``positive``, ``group-path``, ``glm``,
``glm-path-cv`` and ``cold-start`` sections of ``docs/benchmarks.md`` and one CSV per section in
``benchmarks/results/`` (``solvers.csv``, ``sparse.csv``, ``group.csv``, ``mcp.csv``, ``positive.csv``,
``group_path.csv``, ``glm.csv``, ``glm_path_cv.csv``, ``cold_start.csv``). ``--only`` runs one
section. ``--quick`` runs a smoke version on tiny problems (what the test suite runs; it writes
nothing unless ``--write``).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _write_csv(rows, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny problems, one λ, 2 runs")
    parser.add_argument("--only", choices=["solvers", "sparse", "group", "mcp", "positive", "group-path",
                                           "glm", "glm-path-cv", "cold-start"],
                        help="run one section")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per cell (default 5)")
    parser.add_argument("--libraries", nargs="+", default=None, help="subset of libraries")
    parser.add_argument("--models", nargs="+", default=None,
                        help="subset of lasso, enet, logreg (solvers; sparse: also logreg_icpt, "
                             "multinomial) or multinomial, poisson, multitask (glm)")
    parser.add_argument("--no-memory", action="store_true", help="sparse: skip the peak-memory fits")
    parser.add_argument("--problems", nargs="+", default=None, help="substrings of problem names")
    parser.add_argument("--write", action="store_true", help="with --quick: still write the outputs")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--no-docs", action="store_true", help="write the CSV files but not the docs")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the CSV files")
    parser.add_argument("--adelie-python", default=None,
                        help="interpreter of adelie's own environment (default: $ADELIE_PYTHON, else "
                             "/work/venvs/adelie/bin/python when it exists)")
    args = parser.parse_args(argv)

    from . import cold_start, glm, glm_path_cv, group_path, peers, penalty_cells, solvers, sparse
    from ._report import machine_line, write_section

    write = not args.no_write and (args.write or not args.quick)
    repeat = args.repeat or (2 if args.quick else 5)
    command = "python -m benchmarks" + (" --quick" if args.quick else "") + (
        f" --only {args.only}" if args.only else "")
    out = {}

    def section_command(name):
        return command if args.only else f"{command} --only {name}"

    if args.only in (None, "solvers"):
        print("solvers: time to a relative duality gap of 1e-6", flush=True)
        rows = solvers.run(quick=args.quick, libraries=args.libraries, repeat=repeat,
                           models=[m for m in (args.models or peers.MODELS) if m in peers.MODELS],
                           only_problems=args.problems,
                           log=lambda s: print(s, flush=True))
        out["solvers"] = rows
        if rows and write:
            _write_csv(rows, args.results / "solvers.csv")
            if not args.no_docs:
                write_section("solvers", solvers.markdown(rows, machine_line(), command))
    if args.only in (None, "sparse"):
        print("sparse: time to a relative duality gap of 1e-6, and peak memory", flush=True)
        rows = sparse.run(quick=args.quick, libraries=args.libraries, repeat=repeat,
                          models=args.models or peers.SPARSE_MODELS, only_problems=args.problems,
                          memory=not args.no_memory, log=lambda s: print(s, flush=True))
        out["sparse"] = rows
        if rows and write:
            _write_csv(rows, args.results / "sparse.csv")
            if not args.no_docs:
                write_section("sparse", sparse.markdown(rows, machine_line(), section_command("sparse")))
    sections = [name for name in ("group", "mcp", "positive") if args.only in (None, name)]
    if sections:
        print("penalties: time to a relative suboptimality of 1e-6", flush=True)
        rows = penalty_cells.run(sections, quick=args.quick, libraries=args.libraries, repeat=repeat,
                                 only_problems=args.problems, log=lambda s: print(s, flush=True))
        for name in sections:
            part = [r for r in rows if r["section"] == name]
            out[name] = part
            if part and write:
                _write_csv(part, args.results / f"{name}.csv")
                if not args.no_docs:
                    write_section(name, penalty_cells.markdown(part, name, machine_line(), command))
    if args.only in (None, "group-path"):
        print("group-lasso path against adelie and skglm", flush=True)
        rows, checks = group_path.run(quick=args.quick, repeat=repeat, libraries=args.libraries,
                                      adelie=args.adelie_python, log=lambda s: print(s, flush=True))
        out["group-path"] = (rows, checks)
        print("group-lasso path, log-loss, against adelie", flush=True)
        logistic = group_path.run(quick=args.quick, repeat=repeat, libraries=args.libraries,
                                  adelie=args.adelie_python, log=lambda s: print(s, flush=True), datafit="logistic")
        out["group-path-logistic"] = logistic
        if rows and write:
            _write_csv(rows + logistic[0], args.results / "group_path.csv")
            if not args.no_docs:
                write_section("group-path", group_path.markdown(rows, checks, machine_line(), command,
                                                                logistic=logistic))
    if args.only in (None, "glm"):
        print("glm: time to a suboptimality of 1e-6 (multinomial, Poisson, multi-task)", flush=True)
        models = [m for m in (args.models or glm.LIBRARIES) if m in glm.LIBRARIES]
        rows = glm.run(quick=args.quick, repeat=repeat, models=models, only_problems=args.problems,
                       libraries=args.libraries, log=lambda s: print(s, flush=True))
        out["glm"] = rows
        if rows and write:
            _write_csv(rows, args.results / "glm.csv")
            if not args.no_docs:
                write_section("glm", glm.markdown(rows, machine_line(), section_command("glm")))
    if args.only in (None, "glm-path-cv"):
        print("glm-path-cv: paths + 5-fold CV against the peers' CV estimators", flush=True)
        models = [m for m in (args.models or glm.LIBRARIES) if m in glm.LIBRARIES]
        rows = glm_path_cv.run(quick=args.quick, repeat=repeat, only_models=models,
                               log=lambda s: print(s, flush=True))
        out["glm-path-cv"] = rows
        if rows and write:
            _write_csv(rows, args.results / "glm_path_cv.csv")
            if not args.no_docs:
                write_section("glm-path-cv", glm_path_cv.markdown(rows, machine_line(), section_command("glm-path-cv")))
    if args.only in (None, "cold-start"):
        print("cold start: fresh process, import + first fit", flush=True)
        rows = cold_start.run(quick=args.quick, libraries=args.libraries,
                              log=lambda s: print(s, flush=True))
        out["cold-start"] = rows
        if rows and write:
            _write_csv(rows, args.results / "cold_start.csv")
            if not args.no_docs:
                write_section("cold-start", cold_start.markdown(rows, machine_line(), command))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
