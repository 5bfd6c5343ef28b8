"""Coupled GroupL1 + prune against dense training and Torch-Pruning's magnitude pruning, on MNIST-1D.

MNIST-1D (``mnist1d``: 4,000 training and 1,000 test signals of length 40, 10 classes,
generated procedurally, no download). Three networks:

- ``cnn``: Conv1d 1→C (k5) → 2 × [Conv1d C→C (k3), BN, ReLU] → Flatten → Linear(C·40, 10);
- ``resnet``: a stem Conv1d 1→C + BN, three residual blocks [Conv C→H, BN, ReLU, Conv H→C, BN] + x,
  global average pooling, Linear(C, 10);
- ``transformer``: 10 patches of 4 samples → Linear(4, D) + a learned positional parameter,
  two pre-norm blocks (LayerNorm, 4-head ``nn.MultiheadAttention``, LayerNorm, FFN D→F→D), mean
  pooling, Linear(D, 10).

Per network and seed, with the same initial weights and batch order (every run with a cosine
learning-rate decay to 0 over its epochs):

- ``dense``: ``epochs`` epochs without penalty (ProxSGD with momentum 0.9 = SGD; ProxAdamW = AdamW);
- ``ours``: the same, with ``Regularizer(model, GroupL1(λ, weights=c), example_inputs=x)``:
  ``dense_epochs`` without penalty, λ ramped up linearly over ``ramp_epochs``, then constant;
  ``c_g`` = the multiply-adds each structure removes (``pz.nn.structure_costs``) over their mean
  (``weights="macs"``) or 1 (``"none"``); then ``prune(model, example_inputs=x)`` (exact: same
  outputs, checked) and ``ours_ft_epochs`` of fine-tuning (0 by default: the pruned net is the
  trained one);
- the anchor, Torch-Pruning's magnitude pruning: the dense model pruned by ``MetaPruner`` with
  ``GroupMagnitudeImportance`` (L2 norm of each coupled group; the same ratio in every layer) to
  ours' parameter count (``anchor=params``) and, separately, to ours' multiply-adds
  (``anchor=MACs``), each then fine-tuned for ``ft_epochs`` (for the transformer the anchor
  prunes FFN units; its attention layers are left whole). The anchor thus trains
  ``epochs + ft_epochs`` epochs, ours ``epochs``.

Reported: test accuracy, structures removed, parameters, multiply-adds per prediction
(``pz.nn.count_macs``) and CPU inference latency (one thread, ``torch.set_num_threads(1)``;
batch 1 and batch 256; medians of interleaved repeats of the four networks). ``--sweep``
trains only ``ours`` for a grid of λ on the tuning seed (no anchor, no latency) and prints
the accuracy and multiply-adds of each. Run ``python -m benchmarks.nn_prune`` (writes
``benchmarks/results/nn_prune.csv`` and the table in ``docs/nn.md``; ``--no-write`` only
prints; ``--quick`` runs one seed with few epochs).
"""

from __future__ import annotations

import argparse
import copy
import csv
import math
import re
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import penalized as pz
from penalized.nn import ProxAdamW, ProxSGD, Regularizer, count_macs, prune, structure_costs

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "nn_prune.csv"
SWEEP_RESULTS = ROOT / "benchmarks" / "results" / "nn_prune_sweep.csv"
DOC = ROOT / "docs" / "nn.md"
#: the seed λ was chosen on (``--sweep``); the reported seeds are others
TUNING_SEED = 0
SEEDS = (1, 2)
BATCH = 128
LATENCY_BATCHES = (1, 256)
ROUNDS = 3  # latency: median over rounds of interleaved medians
SAVE_MODELS = None  # --save-models DIR


class Setting(dict):
    """Training settings of one network (attribute access)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


#: λ and the group factors (``macs``: c_g ∝ each structure's multiply-adds; ``none``: c_g = 1) chosen by
#: ``--sweep`` on seed 0: the most accurate setting with at least 4× fewer multiply-adds (a 2× margin over the
#: latency goal; for the transformer, which never reaches 4×, the smallest with at most 0.5 point lost); λ is on
#: the mean cross-entropy's scale. ``ft_epochs``: the anchor's fine-tuning;
#: ``ours_ft_epochs``: ours' (0: the pruned net is the trained one — fine-tuning it with the anchor's recipe
#: lost accuracy, because the group prox shrinks the weights before a BatchNorm, which multiplies their
#: effective learning rate)
SETTINGS = {
    "cnn": Setting(optim="sgd", lr=0.05, epochs=30, dense_epochs=5, ramp_epochs=10, ft_epochs=10, ft_lr=0.02,
                   ours_ft_epochs=0, lam=0.05, weights="macs"),
    "resnet": Setting(optim="sgd", lr=0.05, epochs=30, dense_epochs=5, ramp_epochs=10, ft_epochs=10, ft_lr=0.02,
                      ours_ft_epochs=0, lam=0.065, weights="none"),
    "transformer": Setting(optim="adamw", lr=3e-3, epochs=30, dense_epochs=5, ramp_epochs=10, ft_epochs=10,
                           ft_lr=1e-3, ours_ft_epochs=0, lam=0.01, weights="none"),
}
SWEEP = {"cnn": (0.01, 0.02, 0.03, 0.05, 0.08), "resnet": (0.01, 0.02, 0.03, 0.04, 0.05, 0.065, 0.08),
         "transformer": (3e-4, 1e-3, 3e-3, 1e-2)}


# -- data and models -----------------------------------------------------------------------------
def data(seed=42):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    d = make_dataset(args)
    x, xt = (torch.tensor(a, dtype=torch.float32)[:, None, :] for a in (d["x"], d["x_test"]))
    mean, std = x.mean(), x.std()
    return (x - mean) / std, torch.tensor(d["y"]), (xt - mean) / std, torch.tensor(d["y_test"])


def cnn(c=32):
    return nn.Sequential(nn.Conv1d(1, c, 5, padding=2), nn.BatchNorm1d(c), nn.ReLU(),
                         nn.Conv1d(c, c, 3, padding=1), nn.BatchNorm1d(c), nn.ReLU(),
                         nn.Conv1d(c, c, 3, padding=1), nn.BatchNorm1d(c), nn.ReLU(),
                         nn.Flatten(), nn.Linear(c * 40, 10))


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.c1, self.b1 = nn.Conv1d(c, h, 3, padding=1), nn.BatchNorm1d(h)
        self.c2, self.b2 = nn.Conv1d(h, c, 3, padding=1), nn.BatchNorm1d(c)

    def forward(self, x):
        return torch.relu(x + self.b2(self.c2(torch.relu(self.b1(self.c1(x))))))


class ResNet1d(nn.Module):
    def __init__(self, c=32, h=32, blocks=3):
        super().__init__()
        self.stem, self.bn = nn.Conv1d(1, c, 5, padding=2), nn.BatchNorm1d(c)
        self.blocks = nn.Sequential(*[Block(c, h) for _ in range(blocks)])
        self.head = nn.Linear(c, 10)

    def forward(self, x):
        return self.head(self.blocks(torch.relu(self.bn(self.stem(x)))).mean(-1))


class EncoderBlock(nn.Module):
    def __init__(self, d, heads, f):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d), nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2, self.ff1, self.ff2 = nn.LayerNorm(d), nn.Linear(d, f), nn.Linear(f, d)

    def forward(self, h):
        a = self.ln1(h)
        h = h + self.attn(a, a, a, need_weights=False)[0]
        return h + self.ff2(torch.relu(self.ff1(self.ln2(h))))


class Transformer1d(nn.Module):
    def __init__(self, d=32, heads=4, f=128, depth=2, patch=4, length=40):
        super().__init__()
        self.patch = patch
        self.embed = nn.Linear(patch, d)
        self.pos = nn.Parameter(0.02 * torch.randn(1, length // patch, d))
        self.blocks = nn.Sequential(*[EncoderBlock(d, heads, f) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 10)

    def forward(self, x):
        h = self.embed(x.reshape(x.shape[0], -1, self.patch)) + self.pos
        return self.head(self.norm(self.blocks(h)).mean(1))


MODELS = {"cnn": cnn, "resnet": ResNet1d, "transformer": Transformer1d}


# -- training ------------------------------------------------------------------------------------
def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        acc = float((model(x).argmax(1) == y).float().mean())
    return acc


def train(model, x, y, seed, setting, epochs, lr, reg=None):
    """Cross-entropy, cosine learning-rate decay to 0; with ``reg`` its (coupled) penalty, applied by the
    prox after ``dense_epochs`` and ramped up linearly over ``ramp_epochs``."""
    steps = -(-len(y) // BATCH)
    total = epochs * steps
    ramp_start, ramp_len = setting.dense_epochs * steps, max(1, setting.ramp_epochs * steps)

    def lam_schedule(step):
        return min(1.0, max(0.0, (step - ramp_start + 1) / ramp_len))

    groups = reg.param_groups() if reg is not None else model.parameters()
    sched = lam_schedule if reg is not None else None
    if setting.optim == "sgd":
        opt = ProxSGD(groups, lr=lr, momentum=0.9, schedule=sched)
    else:
        opt = ProxAdamW(groups, lr=lr, schedule=sched)
    lr_decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * s / total)))
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            lr_decay.step()
    model.eval()
    return model


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def macs(model, example):
    """Multiply-adds of one prediction."""
    return count_macs(model, example) / example.shape[0]


def widths(model):
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear) and not name.endswith("out_proj"):
            out[name] = m.out_features
        elif isinstance(m, nn.modules.conv._ConvNd):
            out[name] = m.out_channels
        elif hasattr(m, "num_heads") and isinstance(m.num_heads, int):
            out[name + ".heads"] = m.num_heads
    return out


def group_weights(model, example, kind):
    if kind == "none":
        return None
    if kind != "macs":
        raise ValueError(f"weights must be 'macs' or 'none', got {kind!r}.")
    costs = structure_costs(model, example)
    return costs / costs.mean()


def train_ours(init, split, seed, setting, lam, weights):
    """Penalized training, prune, fine-tuning; returns (pruned exact, fine-tuned, regularizer)."""
    x, y, _, _ = split
    example = x[:8]
    model = copy.deepcopy(init)
    reg = Regularizer(model, pz.GroupL1(lam, weights=group_weights(model, example, weights)),
                      example_inputs=example, group_weights="uniform")  # λ tuned (and documented) for c_g = 1
    train(model, x, y, seed, setting, setting.epochs, setting.lr, reg=reg)
    small = prune(model, example_inputs=example)  # raises if the outputs differ
    exact = copy.deepcopy(small)
    if setting.ours_ft_epochs:
        train(small, x, y, seed + 100, setting, setting.ours_ft_epochs, setting.ft_lr)
    return exact, small, reg


# -- the anchor: Torch-Pruning magnitude pruning + fine-tuning --------------------------------------
def magnitude_prune(dense, example, target, size, arch):
    """The dense model pruned with one ratio in every layer; ``size(model) <= target`` (bisection)."""
    import torch_pruning as tp

    def attempt(ratio):
        model = copy.deepcopy(dense)
        ignored = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == 10]
        if arch == "transformer":
            ignored += [model.embed] + [b.ff2 for b in model.blocks] + [b.attn for b in model.blocks]
        pruner = tp.pruner.MetaPruner(model, example, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                      pruning_ratio=ratio, ignored_layers=ignored, global_pruning=False)
        pruner.step()
        return model

    lo, hi = 0.0, 0.98
    best = attempt(hi)
    for _ in range(12):  # the smallest ratio with size <= target
        mid = 0.5 * (lo + hi)
        model = attempt(mid)
        if size(model) > target:
            lo = mid
        else:
            hi, best = mid, model
    return best


# -- latency ---------------------------------------------------------------------------------------
def latencies(models, batch, repeats):
    """Median seconds per forward pass of each model (one thread), on two clocks: ``wall``
    (``perf_counter``) and ``cpu`` (``thread_time``: the thread's own CPU time, which a loaded
    machine's preemptions do not inflate; for one thread and no I/O it is the wall time of an
    idle machine). The models are measured interleaved, in rotating order."""
    x = torch.randn(batch, 1, 40)
    wall = {k: [] for k in models}
    cpu = {k: [] for k in models}
    with torch.inference_mode():
        for m in models.values():
            m.eval()
            for _ in range(5):
                m(x)
        items = list(models.items())
        for r in range(repeats):
            for k, m in items[r % len(items):] + items[:r % len(items)]:  # rotated: no model always first
                c0, t0 = time.thread_time(), time.perf_counter()
                m(x)
                wall[k].append(time.perf_counter() - t0)
                cpu[k].append(time.thread_time() - c0)
    return {"wall": {k: statistics.median(v) for k, v in wall.items()},
            "cpu": {k: statistics.median(v) for k, v in cpu.items()}}


def latency_rounds(models, batch, repeats, rounds):
    """The median over ``rounds`` of :func:`latencies` (a load burst moves one round, not the median)."""
    measured = [latencies(models, batch, repeats) for _ in range(rounds)]
    return {clock: {k: statistics.median(m[clock][k] for m in measured) for k in models} for clock in ("wall", "cpu")}


def latency_columns(models, repeats, rounds):
    """``{name}_{clock}_ms_b{batch}`` and ``{name}_{clock}_speedup_b{batch}`` (dense / name) columns."""
    row = {}
    for b in LATENCY_BATCHES:
        lat = latency_rounds(models, b, repeats * (4 if b == 1 else 1), rounds)
        for clock, values in lat.items():
            for k, v in values.items():
                row[f"{k}_{clock}_ms_b{b}"] = 1e3 * v
                row[f"{k}_{clock}_speedup_b{b}"] = values["dense"] / v
    return row


def run_one(arch, seed, split, repeats):
    setting = SETTINGS[arch]
    x, y, xt, yt = split
    example = x[:8]
    torch.manual_seed(seed)
    init = MODELS[arch]()
    dense = train(copy.deepcopy(init), x, y, seed, setting, setting.epochs, setting.lr)
    exact, small, reg = train_ours(init, split, seed, setting, setting.lam, setting.weights)
    anchors = {}
    for key, size in (("params", n_params), ("macs", lambda m: macs(m, example))):
        anchor = magnitude_prune(dense, example, size(small), size, arch)
        anchors[key] = train(anchor, x, y, seed + 100, setting, setting.ft_epochs, setting.ft_lr)
    nets = {"dense": dense, "ours": small, "anchor_params": anchors["params"], "anchor_macs": anchors["macs"]}
    w_dense = widths(dense)
    out_layer = [k for k, m in dense.named_modules() if isinstance(m, nn.Linear) and m.out_features == 10]
    units = sum(v for k, v in w_dense.items() if k not in out_layer)
    row = {"model": arch, "seed": seed, "lambda": setting.lam, "weights": setting.weights,
           "epochs": setting.epochs, "ft_epochs": setting.ft_epochs, "units": units,
           "zero_structures": int((reg._coupled.groups.norms() == 0).sum()), "structures": len(reg.structures),
           "ours_exact_acc": accuracy(exact, xt, yt)}
    for k, m in nets.items():
        w = widths(m)
        row[f"{k}_acc"] = accuracy(m, xt, yt)
        row[f"{k}_params"] = n_params(m)
        row[f"{k}_macs"] = macs(m, example)
        row[f"{k}_removed"] = sum(w_dense[n] - w[n] for n in w_dense if n not in out_layer)
    row.update(latency_columns(nets, repeats, ROUNDS))
    row["ours_widths"] = " ".join(f"{n}:{v}" for n, v in widths(small).items() if n not in out_layer)
    if SAVE_MODELS is not None:  # whole modules (pickled): to time them again elsewhere
        SAVE_MODELS.mkdir(parents=True, exist_ok=True)
        torch.save(nets, SAVE_MODELS / f"{arch}_{seed}_{setting.lam:g}.pt")
    return row


def sweep(arch, split, lams, weightings, seed=TUNING_SEED):
    """``ours`` (no anchor, no latency) for each λ and weighting on the tuning seed."""
    setting = SETTINGS[arch]
    x, y, xt, yt = split
    example = x[:8]
    torch.manual_seed(seed)
    init = MODELS[arch]()
    dense = train(copy.deepcopy(init), x, y, seed, setting, setting.epochs, setting.lr)
    rows = []
    base = {"model": arch, "seed": seed, "dense_acc": accuracy(dense, xt, yt), "dense_params": n_params(dense),
            "dense_macs": macs(dense, example)}
    for weights in weightings:
        for lam in lams:
            try:
                exact, small, _ = train_ours(init, split, seed, setting, lam, weights)
            except ValueError as exc:  # a whole width zero (prune refuses to build an empty layer)
                print(f"{arch} weights={weights} λ={lam:g}: {exc}", flush=True)
                continue
            row = {**base, "weights": weights, "lambda": lam, "ours_exact_acc": accuracy(exact, xt, yt),
                   "ours_acc": accuracy(small, xt, yt), "ours_params": n_params(small),
                   "ours_macs": macs(small, example),
                   "ours_widths": " ".join(f"{n}:{v}" for n, v in widths(small).items())}
            rows.append(row)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    return rows


# -- the report ----------------------------------------------------------------------------------
def _pct(v):
    return f"{100 * v:.1f}"


def markdown(rows, seconds, command):
    from benchmarks._report import machine_line

    s = SETTINGS
    lines = [
        "MNIST-1D (4,000 train / 1,000 test, procedurally generated by `mnist1d`), batch "
        f"{BATCH}, cosine learning-rate decay in every run; "
        + "; ".join(f"{k}: {v.optim} lr {v.lr:g}, {v.epochs} epochs (λ after {v.dense_epochs}, ramped over "
                    f"{v.ramp_epochs}), the anchor's fine-tuning {v.ft_epochs} epochs lr {v.ft_lr:g}"
                    for k, v in s.items())
        + ". Ours: coupled `GroupL1(λ, weights=c)` (`c_g` ∝ the multiply-adds of each structure from "
        "`pz.nn.structure_costs` for `macs`, 1 for `none`), `prune(model, example_inputs)` (same outputs, "
        "checked), no fine-tuning. Anchor: Torch-Pruning `MetaPruner` + `GroupMagnitudeImportance` (one ratio in "
        "every layer) on the dense net to ours' parameter count (=params) or multiply-adds (=MACs), then "
        "fine-tuned. MACs: multiply-adds per prediction, counted (`pz.nn.count_macs`). Latency: one thread, the "
        "four nets timed interleaved in rotating order, median over rounds of the medians over repeats, on the "
        "thread's CPU clock (`time.thread_time`: the wall time of an idle machine for one thread; the shared "
        "machine's preemptions do not inflate it) and on the wall clock; speed-up = dense / pruned.",
        "",
        "| model | seed | λ, c_g | test acc: dense → ours (Δ) | anchor =params | anchor =MACs | params: dense → ours "
        "| MACs: dense → ours (×) | ours' widths | b=256 CPU ms: dense → ours (×) "
        "| b=256 anchor =params / =MACs (×) | b=256 wall × ours / anchors | b=1 CPU ms: dense → ours (×) |",
        "|---|---:|---:|---|---:|---:|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['seed']} | {r['lambda']:g}, {r['weights']} "
            f"| {_pct(r['dense_acc'])} → {_pct(r['ours_acc'])} "
            f"({100 * (r['ours_acc'] - r['dense_acc']):+.1f}) | {_pct(r['anchor_params_acc'])} "
            f"| {_pct(r['anchor_macs_acc'])} | {r['dense_params']:,} → {r['ours_params']:,} "
            f"| {r['dense_macs'] / 1e3:.0f}k → {r['ours_macs'] / 1e3:.1f}k ({r['dense_macs'] / r['ours_macs']:.1f}×) "
            f"| {r['ours_widths']} "
            f"| {r['dense_cpu_ms_b256']:.2f} → {r['ours_cpu_ms_b256']:.2f} ({r['ours_cpu_speedup_b256']:.1f}×) "
            f"| {r['anchor_params_cpu_ms_b256']:.2f} ({r['anchor_params_cpu_speedup_b256']:.1f}×) / "
            f"{r['anchor_macs_cpu_ms_b256']:.2f} ({r['anchor_macs_cpu_speedup_b256']:.1f}×) "
            f"| {r['ours_wall_speedup_b256']:.1f}× / {r['anchor_params_wall_speedup_b256']:.1f}×, "
            f"{r['anchor_macs_wall_speedup_b256']:.1f}× "
            f"| {r['dense_cpu_ms_b1']:.3f} → {r['ours_cpu_ms_b1']:.3f} ({r['ours_cpu_speedup_b1']:.2f}×) |")
    lines += ["", "Over seeds (means, the worst seed in brackets; speed-ups: medians, the range in brackets):", "",
              "| model | λ, c_g | seeds | Δ acc ours (worst) | ours − anchor =params | ours − anchor =MACs | MACs ÷ "
              "| speed-up b=256 CPU: ours / anchor =MACs | b=256 wall: ours | b=1 CPU: ours |",
              "|---|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for arch, lam in dict.fromkeys((r["model"], r["lambda"]) for r in rows):
        rs = [r for r in rows if (r["model"], r["lambda"]) == (arch, lam)]

        def mean(f, rs=rs):
            return float(np.mean([f(r) for r in rs]))

        def med(f, rs=rs):
            return float(np.median([f(r) for r in rs]))
        lines.append(
            f"| {arch} | {lam:g}, {rs[0]['weights']} | {len(rs)} "
            f"| {100 * mean(lambda r: r['ours_acc'] - r['dense_acc']):+.1f} "
            f"({100 * min(r['ours_acc'] - r['dense_acc'] for r in rs):+.1f}) "
            f"| {100 * mean(lambda r: r['ours_acc'] - r['anchor_params_acc']):+.1f} "
            f"| {100 * mean(lambda r: r['ours_acc'] - r['anchor_macs_acc']):+.1f} "
            f"| {mean(lambda r: r['dense_macs'] / r['ours_macs']):.1f}× "
            f"| {med(lambda r: r['ours_cpu_speedup_b256']):.2f}× ({min(r['ours_cpu_speedup_b256'] for r in rs):.1f}–"
            f"{max(r['ours_cpu_speedup_b256'] for r in rs):.1f}) / "
            f"{med(lambda r: r['anchor_macs_cpu_speedup_b256']):.2f}× "
            f"| {med(lambda r: r['ours_wall_speedup_b256']):.2f}× | {med(lambda r: r['ours_cpu_speedup_b1']):.2f}× |")
    took = "" if seconds is None else f": {seconds:.0f} s"
    lines += ["", f"`{command}`{took} on a shared 2-core machine under load (the wall clock moved by ±20 % "
              "between identical networks there, and inflates the dense nets most; the CPU clock is steadier but not "
              "immune: the core and its caches are shared, and re-timing the same saved nets moved CPU-clock "
              "speed-ups at batch 256 by up to 2×, see the text). "
              + machine_line()]
    return "\n".join(lines)


def sweep_markdown(rows):
    lines = ["| model | weights `c_g` | λ | test acc: dense → pruned (Δ) | params | MACs (×) | widths |",
             "|---|---|---:|---|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['weights']} | {r['lambda']:g} | {_pct(r['dense_acc'])} → "
                     f"{_pct(r['ours_acc'])} ({100 * (r['ours_acc'] - r['dense_acc']):+.1f}) | {r['ours_params']:,} "
                     f"| {r['ours_macs'] / 1e3:.1f}k ({r['dense_macs'] / r['ours_macs']:.1f}×) | {r['ours_widths']} |")
    return "\n".join(lines)


def write_doc(md, marker="nn-prune", doc=DOC):
    text = doc.read_text()
    begin, end = f"<!-- BEGIN {marker} -->", f"<!-- END {marker} -->"
    block = f"{begin}\n{md.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)


def write_csv(rows, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path):
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k, v in r.items():
            try:
                r[k] = int(v) if re.fullmatch(r"-?\d+", v) else float(v)
            except (TypeError, ValueError):
                pass
    return rows


def merge_rows(old, new, key):
    fresh = {tuple(r[k] for k in key) for r in new}
    kept = [r for r in old if tuple(r[k] for k in key) not in fresh]
    rows = kept + new
    order = {m: i for i, m in enumerate(MODELS)}
    return sorted(rows, key=lambda r: (order.get(r["model"], 99), r["seed"], r.get("weights", ""), r["lambda"]))


def main(argv=None):
    """The command line (see the module docstring); the settings it changes are restored afterwards."""
    global SAVE_MODELS
    saved = copy.deepcopy(SETTINGS), SAVE_MODELS
    try:
        return _main(argv)
    finally:
        SETTINGS.clear()
        SETTINGS.update(saved[0])
        SAVE_MODELS = saved[1]


def _main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--quick", action="store_true", help="one seed, 5 epochs, CNN only (a smoke run)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--lam", nargs="+", default=[], metavar="MODEL=λ", help="override λ, e.g. cnn=0.02")
    parser.add_argument("--weights", choices=("macs", "none"), help="group factors c_g (default: macs)")
    parser.add_argument("--sweep", action="store_true", help="λ grid on the tuning seed, ours only")
    parser.add_argument("--sweep-weights", nargs="+", default=["macs", "none"], choices=("macs", "none"))
    parser.add_argument("--sweep-lams", nargs="+", type=float, help="λ grid of --sweep (default: SWEEP)")
    parser.add_argument("--save-models", type=Path, help="also save the four networks of every run there")
    args = parser.parse_args(argv)
    global SAVE_MODELS
    SAVE_MODELS = args.save_models
    for item in args.lam:
        key, value = item.split("=")
        SETTINGS[key]["lam"] = float(value)
    if args.weights:
        for setting in SETTINGS.values():
            setting["weights"] = args.weights
    torch.set_num_threads(1)
    seeds, models, repeats = args.seeds, args.models, 40
    if args.quick:
        for setting in SETTINGS.values():
            setting.update(epochs=5, dense_epochs=1, ramp_epochs=1, ft_epochs=1,
                           ours_ft_epochs=min(1, setting.ours_ft_epochs))
        seeds, models, repeats = seeds[:1], ["cnn"], 5
    t0 = time.perf_counter()
    split = data()
    if args.sweep:
        rows = [r for arch in models for r in sweep(arch, split, args.sweep_lams or SWEEP[arch], args.sweep_weights)]
        print(sweep_markdown(rows))
        if not args.no_write and not args.quick:  # merged with earlier sweeps (same model, weights, λ: replaced)
            with _locked(SWEEP_RESULTS):
                rows = merge_rows(read_csv(SWEEP_RESULTS), rows, ("model", "seed", "weights", "lambda"))
                write_csv(rows, SWEEP_RESULTS)
                write_doc(sweep_markdown(rows) + "\n\n`python -m benchmarks.nn_prune --sweep`: about "
                          f"{time.perf_counter() - t0:.0f} s per model on a shared 2-core machine.",
                          marker="nn-prune-sweep")
        return rows
    rows = []
    for arch in models:
        for seed in seeds:
            row = run_one(arch, seed, split, repeats)
            rows.append(row)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    command = "python -m benchmarks.nn_prune" + (" --quick" if args.quick else "")
    print(markdown(rows, time.perf_counter() - t0, command))
    if not args.no_write and not args.quick:  # merged with earlier runs (same model and seed: replaced)
        with _locked(RESULTS):
            rows = merge_rows(read_csv(RESULTS), rows, ("model", "seed", "lambda"))
            write_csv(rows, RESULTS)
            write_doc(markdown(rows, time.perf_counter() - t0, command))
    return rows


class _locked:
    """An exclusive lock next to ``path`` (runs of several models may write at once)."""

    def __init__(self, path):
        import tempfile

        self.lock = Path(tempfile.gettempdir()) / f"penalized-{path.stem}.lock"

    def __enter__(self):
        import fcntl

        self.fh = open(self.lock, "w")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.fh.close()  # releases the lock


if __name__ == "__main__":
    np.seterr(all="ignore")
    from benchmarks import nn_prune  # the module's own classes (not __main__'s) in saved models

    nn_prune.main()
