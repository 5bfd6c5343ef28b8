"""``python -m benchmarks``: the solver benchmark (dense and sparse) and the cold-start benchmark.

Writes the ``solvers``, ``sparse`` and ``cold-start`` sections of ``docs/benchmarks.md`` and
the CSV ``benchmarks/results/solvers.csv`` (and ``sparse.csv``, ``cold_start.csv``).
``--quick`` runs a smoke version on tiny problems (what the test suite runs; it writes
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
    parser.add_argument("--only", choices=["solvers", "sparse", "cold-start"], help="run one part")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per cell (default 5)")
    parser.add_argument("--libraries", nargs="+", default=None, help="subset of libraries")
    parser.add_argument("--models", nargs="+", default=None,
                        help="subset of lasso, enet, logreg (sparse: also logreg_icpt, multinomial)")
    parser.add_argument("--no-memory", action="store_true", help="sparse: skip the peak-memory fits")
    parser.add_argument("--problems", nargs="+", default=None, help="substrings of problem names")
    parser.add_argument("--write", action="store_true", help="with --quick: still write the outputs")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--no-docs", action="store_true", help="write the CSV files but not the docs")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the CSV files")
    args = parser.parse_args(argv)

    from . import cold_start, peers, solvers, sparse
    from ._report import machine_line, write_section

    write = not args.no_write and (args.write or not args.quick)
    repeat = args.repeat or (2 if args.quick else 5)
    command = "python -m benchmarks" + (" --quick" if args.quick else "")
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
    if args.only in (None, "sparse"):
        print("sparse: time to a relative duality gap of 1e-6, and peak memory", flush=True)
        rows = sparse.run(quick=args.quick, libraries=args.libraries, repeat=repeat,
                          models=args.models or peers.SPARSE_MODELS, only_problems=args.problems,
                          memory=not args.no_memory, log=lambda s: print(s, flush=True))
        out["sparse"] = rows
        if rows and write:
            _write_csv(rows, args.results / "sparse.csv")
            if not args.no_docs:
                write_section("sparse", sparse.markdown(rows, machine_line(), command + " --only sparse"))
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
