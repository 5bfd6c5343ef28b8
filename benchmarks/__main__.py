"""``python -m benchmarks``: the solver, penalty, group-path and cold-start benchmarks, one command.

Writes the ``solvers``, ``group``, ``mcp``, ``positive``, ``group-path`` and ``cold-start``
sections of ``docs/benchmarks.md`` and one CSV per section in ``benchmarks/results/``
(``solvers.csv``, ``group.csv``, ``mcp.csv``, ``positive.csv``, ``group_path.csv``,
``cold_start.csv``). ``--only`` runs one section. ``--quick`` runs a smoke version on tiny
problems (what the test suite runs; it writes nothing unless ``--write``).
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
    parser.add_argument("--only", choices=["solvers", "group", "mcp", "positive", "group-path", "cold-start"],
                        help="run one section")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per cell (default 5)")
    parser.add_argument("--libraries", nargs="+", default=None, help="subset of libraries")
    parser.add_argument("--models", nargs="+", default=None, help="subset of lasso, enet, logreg")
    parser.add_argument("--problems", nargs="+", default=None, help="substrings of problem names")
    parser.add_argument("--write", action="store_true", help="with --quick: still write the outputs")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--no-docs", action="store_true", help="write the CSV files but not the docs")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the CSV files")
    parser.add_argument("--adelie-python", default=None,
                        help="interpreter of adelie's own environment (default: $ADELIE_PYTHON, else "
                             "/work/venvs/adelie/bin/python when it exists)")
    args = parser.parse_args(argv)

    from . import cold_start, group_path, peers, penalty_cells, solvers
    from ._report import machine_line, write_section

    write = not args.no_write and (args.write or not args.quick)
    repeat = args.repeat or (2 if args.quick else 5)
    command = "python -m benchmarks" + (" --quick" if args.quick else "") + (
        f" --only {args.only}" if args.only else "")
    out = {}
    if args.only in (None, "solvers"):
        print("solvers: time to a relative duality gap of 1e-6", flush=True)
        rows = solvers.run(quick=args.quick, libraries=args.libraries, repeat=repeat,
                           models=args.models or peers.MODELS, only_problems=args.problems,
                           log=lambda s: print(s, flush=True))
        out["solvers"] = rows
        if rows and write:
            _write_csv(rows, args.results / "solvers.csv")
            if not args.no_docs:
                write_section("solvers", solvers.markdown(rows, machine_line(), command))
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
        if rows and write:
            _write_csv(rows, args.results / "group_path.csv")
            if not args.no_docs:
                write_section("group-path", group_path.markdown(rows, checks, machine_line(), command))
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
