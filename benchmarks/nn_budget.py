"""A size budget in one run against Torch-Pruning and HESSO at the same size, on the MNIST-1D CNN.

``--arch resnet`` / ``--arch transformer`` run the same arms on the other nets of
:mod:`benchmarks.nn_prune` (the transformer with ProxAdamW/AdamW, lr 3e-3, fine-tuning 1e-3;
HESSO only on the CNN: its Conv → BatchNorm adapter removes nothing on the ResNet).

Per seed (same initial weights and batch order for every arm, ProxSGD/SGD with momentum 0.9,
lr 0.05 with a cosine decay to 0 over the run, batch 128, ``EPOCHS`` epochs in total for every arm):

- ``dense``: no penalty;
- ``budget``: ``Regularizer(model, pz.GroupL1(LAM), example_inputs=x, target=TARGET,
  total_steps=T)`` — the rank-based controller of :mod:`penalized.nn.budget` (dense for 0.2·T,
  ramp, budget reached at 0.7·T and held), then ``prune`` (exact; the outputs are checked) — no λ
  search, no fine-tuning stage; reported as pruned and after ``prune(..., calibrate=train)``
  (BatchNorm statistics recomputed on the training set);
- ``tp``: Torch-Pruning's ``MetaPruner`` with ``GroupMagnitudeImportance`` (the same ratio in every
  layer) on the dense net trained for 0.7·EPOCHS epochs, pruned to at most the budget arm's
  parameter count, then fine-tuned for the remaining 0.3·EPOCHS epochs (lr 0.02, cosine) — the
  same number of epochs in total;
- ``hesso`` (when ``only-train-once`` is installed; ``--no-hesso`` skips it): HESSO's optimizer
  (:mod:`benchmarks.nn_hesso`: OTO's Conv → BatchNorm channel groups; its graph finds none in
  this CNN) with the budget arm's schedule and epochs, its target the budget arm's number of
  zero channels (raised once if its net is larger), then ``prune``; not with ``--metric macs``.

``--metric macs`` sets ``target_metric="macs"`` and prunes the anchor to the budget arm's
multiply-adds instead of its parameters.

Reported per seed: test accuracy, parameters and multiply-adds per prediction (``count_macs``),
and the share of the prunable parameters that the exact-zero groups remove (what ``prune`` takes out;
:mod:`penalized.nn.budget_params`) at 0.7·T and at the end.
Run ``python -m benchmarks.nn_budget`` (1.5–3 minutes on one CPU thread of a loaded machine).
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
import warnings

import torch
from torch import nn

import penalized as pz
from benchmarks.nn_prune import BATCH, MODELS, accuracy, data, macs, magnitude_prune, n_params
from penalized.nn import ProxAdamW, ProxSGD, Regularizer, prune

SEEDS = (1, 2, 3)
EPOCHS = 10
TARGET = 0.5
LAM = 1e-3
LR, FT_LR = 0.05, 0.02
#: the transformer trains with (Prox)AdamW (as in :mod:`benchmarks.nn_prune`): lr, fine-tuning lr
ADAM_LR, ADAM_FT_LR = 3e-3, 1e-3


def _batches(n, gen):
    perm = torch.randperm(n, generator=gen)
    return [perm[i:i + BATCH] for i in range(0, n, BATCH)]


def train(model, x, y, seed, epochs, lr, reg=None, on_step=None, opt=None):
    """Cross-entropy, ProxSGD (momentum 0.9; plain SGD without ``reg``; or ``opt``), cosine lr decay to 0."""
    steps = -(-len(y) // BATCH)
    total = epochs * steps
    if opt == "adamw":
        opt = ProxAdamW(reg.param_groups() if reg is not None else model.parameters(), lr=lr)
    elif opt is None:
        opt = ProxSGD(reg.param_groups() if reg is not None else model.parameters(), lr=lr, momentum=0.9)
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * s / total)))
    gen = torch.Generator().manual_seed(seed)
    model.train()
    t = 0
    for _ in range(epochs):
        for idx in _batches(len(y), gen):
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            decay.step()
            t += 1
            if on_step is not None:
                on_step(t)
    model.eval()
    return model


def run_seed(seed, split, epochs=EPOCHS, target=TARGET, lam=LAM, metric="params", hesso=False, arch="cnn"):
    x, y, xt, yt = split
    example = x[:8]
    torch.manual_seed(seed)
    init = MODELS[arch]()
    adam = arch == "transformer"
    opt, lr, ft_lr = ("adamw", ADAM_LR, ADAM_FT_LR) if adam else (None, LR, FT_LR)
    steps = -(-len(y) // BATCH)
    total = epochs * steps
    row = {"seed": seed}

    dense = train(copy.deepcopy(init), x, y, seed, epochs, lr, opt=opt)
    row["dense_acc"], row["dense_params"], row["dense_macs"] = accuracy(dense, xt, yt), n_params(dense), \
        macs(dense, example)

    model = copy.deepcopy(init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reg = Regularizer(model, pz.GroupL1(lam), example_inputs=example, target=target, total_steps=total,
                          target_metric=metric)
    shares = {}

    def record(t):
        if t in (reg.budget.reach, total):
            shares[t] = reg.budget.removed_share(reg.group_norms())

    train(model, x, y, seed, epochs, lr, reg=reg, on_step=record, opt=opt)
    small = prune(model, example_inputs=example)
    row["budget_share_at_reach"], row["budget_share_end"] = shares[reg.budget.reach], shares[total]
    row["budget_acc"], row["budget_params"], row["budget_macs"] = accuracy(small, xt, yt), n_params(small), \
        macs(small, example)
    loader = [x[i:i + 500] for i in range(0, len(x), 500)]
    row["budget_acc_recal"] = accuracy(prune(model, example_inputs=example, calibrate=loader), xt, yt)

    pre_epochs = round(0.7 * epochs)
    pre = train(copy.deepcopy(init), x, y, seed, pre_epochs, lr, opt=opt)
    if metric == "macs":  # the anchor at (at most) the budget arm's multiply-adds
        anchor = magnitude_prune(pre, example, row["budget_macs"], lambda m: macs(m, example), arch)
    else:  # ... or at its parameter count
        anchor = magnitude_prune(pre, example, row["budget_params"], n_params, arch)
    anchor = train(anchor, x, y, seed + 100, epochs - pre_epochs, ft_lr, opt=opt)
    row["tp_acc"], row["tp_params"], row["tp_macs"] = accuracy(anchor, xt, yt), n_params(anchor), \
        macs(anchor, example)
    if hesso and metric == "params" and arch == "cnn":  # HESSO: the adapter fails on the ResNet (docs/nn.md)
        row.update(run_hesso(init, split, seed, epochs, row, reg))
    return row


def run_hesso(init, split, seed, epochs, row, reg):
    """HESSO in one run (:mod:`benchmarks.nn_hesso`): the budget arm's schedule (pruning from 0.2·T,
    its target group sparsity reached at 0.7·T in 10 periods), lr, momentum and epochs. Its target
    is a number of channels: first the budget arm's count of zero channels; if the result has more
    than 1.01× the budget arm's parameters, once more with the count raised in proportion to the
    parameters still missing (at least one channel more). Reported: the first attempt within 1.01×,
    else the one with fewer parameters."""
    from benchmarks.nn_hesso import conv_bn_groups, hesso_optimizer

    x, y, xt, yt = split
    example = x[:8]
    total = epochs * -(-len(y) // BATCH)
    count = int((reg.group_norms() == 0).sum())  # zero channels of the budget arm
    n_groups = sum(g["num_groups"] for g in conv_bn_groups(init) if g["is_prunable"])  # HESSO's channels
    wanted = row["dense_params"] - row["budget_params"]
    attempts = []
    for _ in range(2):
        model = copy.deepcopy(init)
        opt = hesso_optimizer(model, lr=LR, momentum=0.9, target_group_sparsity=(count + 0.5) / n_groups,
                              start_pruning_step=round(0.2 * total), pruning_steps=round(0.5 * total),
                              pruning_periods=10)
        train(model, x, y, seed, epochs, LR, opt=opt)
        small = prune(model, example_inputs=example)
        attempts.append({"hesso_channels": count, "hesso_acc": accuracy(small, xt, yt), "hesso_params": n_params(small),
                         "hesso_macs": macs(small, example)})
        removed = row["dense_params"] - attempts[-1]["hesso_params"]
        if attempts[-1]["hesso_params"] <= 1.01 * row["budget_params"] or removed <= 0:
            return attempts[-1]
        count = min(n_groups - 3, count + max(1, math.ceil(count * (wanted / removed - 1.0))))
    return min(attempts, key=lambda a: a["hesso_params"])


def markdown(rows, seconds, command):
    hesso = all("hesso_acc" in r for r in rows)
    head = ("| seed | dense acc | budget: share zero at 0.7·T / end | budget acc (pruned) | budget acc "
            "(BN recal.) | budget params, MACs | TP acc | TP params, MACs |"
            + (" HESSO channels | HESSO acc | HESSO params, MACs |" if hesso else "") + "\n"
            + "|---" * (11 if hesso else 8) + "|\n")
    lines = []
    for r in rows:
        line = (f"| {r['seed']} | {r['dense_acc']:.3f} | {r['budget_share_at_reach']:.3f} / "
                f"{r['budget_share_end']:.3f} | {r['budget_acc']:.3f} | {r['budget_acc_recal']:.3f} | "
                f"{r['budget_params']:,} ({r['budget_params'] / r['dense_params']:.0%}), "
                f"{r['budget_macs']:,.0f} ({r['budget_macs'] / r['dense_macs']:.0%}) | {r['tp_acc']:.3f} | "
                f"{r['tp_params']:,}, {r['tp_macs']:,.0f} |")
        if hesso:
            line += (f" {r['hesso_channels']} | {r['hesso_acc']:.3f} | {r['hesso_params']:,}, "
                     f"{r['hesso_macs']:,.0f} |")
        lines.append(line)
    keys = ("dense_acc", "budget_acc", "budget_acc_recal", "tp_acc") + (("hesso_acc",) if hesso else ())
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
    foot = (f"\nMeans over {len(rows)} seeds: dense {mean['dense_acc']:.3f}, budget {mean['budget_acc']:.3f} "
            f"(BN recalibrated {mean['budget_acc_recal']:.3f}), Torch-Pruning {mean['tp_acc']:.3f}"
            + (f", HESSO {mean['hesso_acc']:.3f}" if hesso else "")
            + f". `{command}`, {seconds:.0f} s on one CPU thread.\n")
    return head + "\n".join(lines) + "\n" + foot


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--target", type=float, default=TARGET)
    parser.add_argument("--lam", type=float, default=LAM)
    parser.add_argument("--metric", choices=("params", "macs"), default="params")
    parser.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    parser.add_argument("--arch", choices=tuple(MODELS), default="cnn",
                        help="the net of benchmarks.nn_prune (transformer: ProxAdamW/AdamW lr 3e-3, fine-tuning 1e-3)")
    parser.add_argument("--no-hesso", action="store_true", help="skip the HESSO arm (also skipped when "
                        "only-train-once is not installed)")
    args = parser.parse_args(argv)
    from benchmarks.nn_hesso import import_oto

    hesso = not args.no_hesso and import_oto() is not None
    torch.set_num_threads(1)
    split = data()
    start = time.perf_counter()
    rows = [run_seed(s, split, args.epochs, args.target, args.lam, args.metric, hesso, args.arch) for s in args.seeds]
    shown = sys.argv[1:] if argv is None else argv
    md = markdown(rows, time.perf_counter() - start, " ".join(["python -m benchmarks.nn_budget", *shown]))
    print(md)
    return rows


if __name__ == "__main__":
    main()
