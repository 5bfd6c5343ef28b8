"""Time the networks that ``benchmarks.nn_prune --save-models DIR`` saved, again (CPU, one thread).

    python -m benchmarks.nn_prune_latency DIR [--repeats 60] [--rounds 5] [--csv OUT.csv] [--update-results]

The four networks of each run (dense, ours, the anchor at ours' parameters, the anchor at ours'
multiply-adds) are timed interleaved in rotating order at batch 1 and 256, ``--rounds`` times;
reported: the median over rounds of each round's median latency, on the thread's CPU clock and
on the wall clock (see ``benchmarks.nn_prune.latencies``), and the speed-ups against dense.
``--update-results`` writes these latencies into ``benchmarks/results/nn_prune.csv`` (the runs'
other columns are kept) and the table of ``docs/nn.md``, so that every row's latencies come from
one process, one after the other: on the shared 2-core machine a single round's wall-clock
medians move by ±20 % between identical networks.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "src", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from benchmarks import nn_prune  # noqa: E402
from benchmarks.nn_prune import LATENCY_BATCHES, latency_columns  # noqa: E402


def _classes_in_main():
    """Models saved by ``python -m benchmarks.nn_prune`` of an earlier version name ``__main__``'s classes."""
    import __main__

    for name in ("Block", "ResNet1d", "EncoderBlock", "Transformer1d"):
        if not hasattr(__main__, name):
            setattr(__main__, name, getattr(nn_prune, name))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--update-results", action="store_true",
                        help="write the latencies into benchmarks/results/nn_prune.csv and docs/nn.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    _classes_in_main()
    rows = []
    for path in sorted(args.directory.glob("*.pt")):
        nets = torch.load(path, weights_only=False, map_location="cpu")
        arch, seed, lam = path.stem.split("_")  # {model}_{seed}_{λ}.pt
        row = {"model": arch, "seed": int(seed), "lambda": float(lam)}
        row.update(latency_columns(nets, args.repeats, args.rounds))
        rows.append(row)
        print(f"{arch} seed {seed} λ {lam}: " + "; ".join(
            f"b={b} {clock}: dense {row[f'dense_{clock}_ms_b{b}']:.3f} ms, "
            f"ours {row[f'ours_{clock}_speedup_b{b}']:.2f}×, "
            f"anchor =params {row[f'anchor_params_{clock}_speedup_b{b}']:.2f}×, "
            f"=MACs {row[f'anchor_macs_{clock}_speedup_b{b}']:.2f}×"
            for b in LATENCY_BATCHES for clock in ("cpu", "wall")), flush=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          "1 thread")
    if args.csv and rows:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if args.update_results and rows:
        update_results(rows, args)
    return rows


def update_results(rows, args):
    """The latency columns of the matching result rows (same model, seed and λ) replaced by ``rows``."""
    with nn_prune._locked(nn_prune.RESULTS):
        results = nn_prune.read_csv(nn_prune.RESULTS)
        timed = {(r["model"], r["seed"], r["lambda"]): r for r in rows}
        for r in results:
            new = timed.get((r["model"], r["seed"], r["lambda"]))
            if new is not None:
                for k in [k for k in r if re.fullmatch(r"\w+_(ms|speedup)_b\d+", k) and "_cpu_" not in k
                          and "_wall_" not in k]:
                    del r[k]  # columns of an earlier layout (one clock)
                r.update({k: v for k, v in new.items() if k not in ("model", "seed", "lambda")})
                r["latency"] = f"re-timed: {args.rounds} rounds × {args.repeats} repeats"
        nn_prune.write_csv(results, nn_prune.RESULTS)
        command = (f"python -m benchmarks.nn_prune --save-models DIR, then python -m benchmarks.nn_prune_latency DIR "
                   f"--rounds {args.rounds} --repeats {args.repeats} --update-results")
        nn_prune.write_doc(nn_prune.markdown(results, None, command))


if __name__ == "__main__":
    main()
