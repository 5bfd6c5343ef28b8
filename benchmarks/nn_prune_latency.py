"""Time the networks that ``benchmarks.nn_prune --save-models DIR`` saved, again (CPU, one thread).

    python -m benchmarks.nn_prune_latency DIR [--repeats 200] [--csv OUT.csv]

The four networks of each run (dense, ours, the anchor at ours' parameters, the anchor at ours'
multiply-adds) are timed interleaved in rotating order at batch 1 and 256, ``--rounds`` times;
reported: the median over rounds of each round's median latency, and the speed-ups against
dense. Meant for a quiet machine: the shared 2-core machine of the main run is loaded, and its
latencies move by ±20 % between identical networks.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "src", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from benchmarks.nn_prune import LATENCY_BATCHES, latencies  # noqa: E402  (also defines the pickled classes)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for path in sorted(args.directory.glob("*.pt")):
        nets = torch.load(path, weights_only=False, map_location="cpu")
        arch, seed = path.stem.rsplit("_", 1)
        row = {"model": arch, "seed": int(seed)}
        for b in LATENCY_BATCHES:
            rounds = [latencies(nets, b, args.repeats * (4 if b == 1 else 1)) for _ in range(args.rounds)]
            for k in nets:
                row[f"{k}_ms_b{b}"] = 1e3 * statistics.median(r[k] for r in rounds)
            for k in nets:
                row[f"{k}_speedup_b{b}"] = row[f"dense_ms_b{b}"] / row[f"{k}_ms_b{b}"]
        rows.append(row)
        print(f"{arch} seed {seed}: " + "; ".join(
            f"b={b} dense {row[f'dense_ms_b{b}']:.3f} ms, ours {row[f'ours_speedup_b{b}']:.2f}×, "
            f"anchor =params {row[f'anchor_params_speedup_b{b}']:.2f}×, =MACs {row[f'anchor_macs_speedup_b{b}']:.2f}×"
            for b in LATENCY_BATCHES), flush=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          "1 thread")
    if args.csv and rows:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return rows


if __name__ == "__main__":
    main()
