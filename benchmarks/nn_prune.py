"""Coupled GroupL1 + prune against dense training and Torch-Pruning's magnitude pruning, on MNIST-1D.

MNIST-1D (``mnist1d``: 4,000 training and 1,000 test signals of length 40, 10 classes,
generated procedurally, no download). Three networks:

- ``cnn``: Conv1d 1→C (k5) → 2 × [Conv1d C→C (k3), BN, ReLU] → Flatten → Linear(C·40, 10);
- ``resnet``: a stem Conv1d 1→C + BN, three residual blocks [Conv C→H, BN, ReLU, Conv H→C, BN] + x,
  global average pooling, Linear(C, 10);
- ``transformer``: 10 patches of 4 samples → Linear(4, D) + a learned positional parameter,
  two pre-norm blocks (LayerNorm, 4-head ``nn.MultiheadAttention``, LayerNorm, FFN D→F→D), mean
  pooling, Linear(D, 10).

Per network and seed, three runs with the same initial weights and batch order:

- ``dense``: AdamW-like (``ProxAdamW`` without penalty), ``EPOCHS`` epochs;
- ``coupled GroupL1``: the same, with ``Regularizer(model, GroupL1(λ), example_inputs=x)``:
  ``DENSE_EPOCHS`` dense epochs, λ ramped up linearly over ``RAMP_EPOCHS``, then constant;
  then ``prune(model, example_inputs=x)`` (exact: same outputs), then ``FINETUNE_EPOCHS`` epochs of
  fine-tuning without penalty (the anchor's budget);
- ``Torch-Pruning magnitude``: the dense model pruned by ``MetaPruner`` with
  ``GroupMagnitudeImportance`` (L2 norm of each coupled group) to the same parameter count as
  ours, then fine-tuned for ``FINETUNE_EPOCHS`` epochs (for the transformer the anchor prunes
  FFN units; its attention layers are left whole).

Reported: test accuracy, structures removed, parameters, and CPU inference latency before and
after pruning (one thread, ``torch.set_num_threads(1)``; batch 1 and batch 256; medians of
interleaved repeats). Run ``python -m benchmarks.nn_prune`` (writes
``benchmarks/results/nn_prune.csv`` and the table in ``docs/nn.md``; ``--no-write`` only
prints; ``--quick`` runs one seed with few epochs).
"""

from __future__ import annotations

import argparse
import copy
import csv
import re
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import penalized as pz
from penalized.nn import ProxAdamW, ProxSGD, Regularizer, prune

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "nn_prune.csv"
DOC = ROOT / "docs" / "nn.md"
SEEDS = (0, 1)
BATCH = 128
EPOCHS = 20
DENSE_EPOCHS = 3
RAMP_EPOCHS = 6
FINETUNE_EPOCHS = 6
LAM = {"cnn": 2e-3, "resnet": 2e-3, "transformer": 1e-3}  # the mean cross-entropy's scale
#: (optimizer, learning rate): SGD with momentum 0.9 for the convolutional nets (the coupled prox is then
#: block soft-thresholding), AdamW for the transformer (the coupled prox in Adam's diagonal metric)
OPTIM = {"cnn": ("sgd", 0.05), "resnet": ("sgd", 0.05), "transformer": ("adamw", 3e-3)}
LATENCY_BATCHES = (1, 256)


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


def train(model, x, y, epochs, seed, arch, reg=None):
    """ProxAdamW on the cross-entropy; with ``reg`` its (coupled) penalty under a dense-then-ramp schedule."""
    steps = -(-len(y) // BATCH)
    ramp_start, ramp_len = DENSE_EPOCHS * steps, RAMP_EPOCHS * steps

    def schedule(step):
        return min(1.0, max(0.0, (step - ramp_start + 1) / ramp_len))

    groups = reg.param_groups() if reg is not None else model.parameters()
    kind, lr = OPTIM[arch]
    sched = schedule if reg is not None else None
    if kind == "sgd":
        opt = ProxSGD(groups, lr=lr, momentum=0.9, schedule=sched)
    else:
        opt = ProxAdamW(groups, lr=lr, schedule=sched)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    return model


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def widths(model):
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            out[name] = m.out_features
        elif isinstance(m, nn.modules.conv._ConvNd):
            out[name] = m.out_channels
        elif hasattr(m, "num_heads") and isinstance(m.num_heads, int):
            out[name + ".heads"] = m.num_heads
    return out


# -- the anchor: Torch-Pruning magnitude pruning + fine-tuning --------------------------------------
def magnitude_prune(dense, example, target_params, arch):
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
    best = attempt(lo)
    for _ in range(14):  # bisection on the ratio: the first with at most target parameters
        mid = 0.5 * (lo + hi)
        model = attempt(mid)
        if n_params(model) > target_params:
            lo = mid
        else:
            hi, best = mid, model
    return best if n_params(best) <= target_params * 1.02 else attempt(hi)


# -- latency ---------------------------------------------------------------------------------------
def latencies(models, batch, repeats):
    """Median seconds per forward pass for each model, measured interleaved (one thread)."""
    x = torch.randn(batch, 1, 40)
    times = {k: [] for k in models}
    with torch.inference_mode():
        for m in models.values():
            m.eval()
            for _ in range(5):
                m(x)
        for _ in range(repeats):
            for k, m in models.items():
                t0 = time.perf_counter()
                m(x)
                times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def run_one(arch, seed, split, epochs, repeats):
    x, y, xt, yt = split
    example = x[:8]
    torch.manual_seed(seed)
    init = MODELS[arch]()
    dense = train(copy.deepcopy(init), x, y, epochs, seed, arch)
    sparse = copy.deepcopy(init)
    reg = Regularizer(sparse, pz.GroupL1(LAM[arch]), example_inputs=example)
    train(sparse, x, y, epochs, seed, arch, reg=reg)
    small = prune(sparse, example_inputs=example)  # raises if the outputs differ
    ours_exact_acc = accuracy(small, xt, yt)
    anchor = magnitude_prune(dense, example, n_params(small), arch)
    train(anchor, x, y, FINETUNE_EPOCHS, seed + 100, arch)
    train(small, x, y, FINETUNE_EPOCHS, seed + 100, arch)  # the same fine-tuning budget, no penalty
    lat = {b: latencies({"dense": dense, "ours": small, "anchor": anchor}, b, repeats) for b in LATENCY_BATCHES}
    w_dense, w_small, w_anchor = widths(dense), widths(small), widths(anchor)
    out_layer = [k for k, m in dense.named_modules() if isinstance(m, nn.Linear) and m.out_features == 10]
    units = sum(v for k, v in w_dense.items() if k not in out_layer)
    gone = sum(w_dense[k] - w_small[k] for k in w_dense if k not in out_layer)
    gone_anchor = sum(w_dense[k] - w_anchor[k] for k in w_dense if k not in out_layer)
    row = {
        "model": arch, "seed": seed, "lambda": LAM[arch],
        "dense_acc": accuracy(dense, xt, yt), "ours_exact_acc": ours_exact_acc, "ours_acc": accuracy(small, xt, yt),
        "anchor_acc": accuracy(anchor, xt, yt),
        "dense_params": n_params(dense), "ours_params": n_params(small), "anchor_params": n_params(anchor),
        "units": units, "ours_removed": gone, "anchor_removed": gone_anchor,
        "zero_structures": int((reg._coupled.groups.norms() == 0).sum()), "structures": len(reg.structures),
    }
    for b in LATENCY_BATCHES:
        for k in ("dense", "ours", "anchor"):
            row[f"{k}_ms_b{b}"] = 1e3 * lat[b][k]
        row[f"speedup_b{b}"] = lat[b]["dense"] / lat[b]["ours"]
    return row


def markdown(rows, seconds, command):
    from benchmarks._report import machine_line

    lines = [
        f"MNIST-1D (4,000 train / 1,000 test, procedurally generated by `mnist1d`), {EPOCHS} epochs, batch "
        f"{BATCH}; " + ", ".join(f"{k}: {o} lr {lr:g}" for k, (o, lr) in OPTIM.items())
        + " (ProxSGD with momentum 0.9 / ProxAdamW; without penalty they are SGD / AdamW). Coupled GroupL1: "
        f"{DENSE_EPOCHS} dense epochs, λ ramped up over {RAMP_EPOCHS}, then `prune(model, example_inputs)` "
        f"(same outputs, checked). Anchor: Torch-Pruning `MetaPruner` + `GroupMagnitudeImportance` on the dense "
        f"net to the same parameter count, then {FINETUNE_EPOCHS} epochs of fine-tuning. Latency: median "
        "forward time, one thread, the three nets measured interleaved.",
        "",
        "| model | seed | λ | test acc dense → pruned (exact) → fine-tuned (Δ vs dense) | anchor acc | units "
        "removed (ours / anchor) | params dense → ours | anchor params | latency b=1 dense → ours (×) "
        "| latency b=256 dense → ours (×) | anchor b=256 |",
        "|---|---:|---:|---|---:|---:|---|---:|---|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['seed']} | {r['lambda']:g} | {100 * r['dense_acc']:.1f} → "
            f"{100 * r['ours_exact_acc']:.1f} → {100 * r['ours_acc']:.1f}"
            f" ({100 * (r['ours_acc'] - r['dense_acc']):+.1f}) | {100 * r['anchor_acc']:.1f} "
            f"| {r['ours_removed']} / {r['anchor_removed']} of {r['units']} | {r['dense_params']:,} → "
            f"{r['ours_params']:,} "
            f"| {r['anchor_params']:,} "
            f"| {r['dense_ms_b1']:.3f} → {r['ours_ms_b1']:.3f} ms ({r['speedup_b1']:.2f}×) "
            f"| {r['dense_ms_b256']:.2f} → {r['ours_ms_b256']:.2f} ms ({r['speedup_b256']:.2f}×) "
            f"| {r['anchor_ms_b256']:.2f} ms |")
    lines += ["", f"`{command}`: {seconds:.0f} s on a shared 2-core machine (timings are noisy there; "
              "ratios come from interleaved runs). " + machine_line()]
    return "\n".join(lines)


def write_doc(md, doc=DOC):
    text = doc.read_text()
    begin, end = "<!-- BEGIN nn-prune -->", "<!-- END nn-prune -->"
    block = f"{begin}\n{md.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)


def main(argv=None):
    global EPOCHS, DENSE_EPOCHS, RAMP_EPOCHS, FINETUNE_EPOCHS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--quick", action="store_true", help="one seed, 4 epochs, CNN only (a smoke run)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--lam", nargs="+", default=[], metavar="MODEL=λ", help="override λ, e.g. cnn=0.02")
    args = parser.parse_args(argv)
    for item in args.lam:
        key, value = item.split("=")
        LAM[key] = float(value)
    torch.set_num_threads(1)
    seeds, models, repeats = args.seeds, args.models, 40
    if args.quick:
        EPOCHS, DENSE_EPOCHS, RAMP_EPOCHS, FINETUNE_EPOCHS = 4, 1, 1, 1
        seeds, models, repeats = seeds[:1], ["cnn"], 5
    t0 = time.perf_counter()
    split = data()
    rows = []
    for arch in models:
        for seed in seeds:
            row = run_one(arch, seed, split, EPOCHS, repeats)
            rows.append(row)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    command = "python -m benchmarks.nn_prune" + (" --quick" if args.quick else "")
    md = markdown(rows, time.perf_counter() - t0, command)
    print(md)
    if not args.no_write and not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with open(RESULTS, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        write_doc(md)
    return rows


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
