"""Section: zeroing weights reduces computation.

Claim: a group penalty that zeroes whole neurons makes the network cheaper to run — once the
zeroed neurons are cut out (``pz.nn.prune``), the smaller network computes the same function
with fewer multiply-adds and fewer parameters, and runs faster — at a small cost in accuracy.

Experiment: an MLP 64 → 128 → 128 → 10 on scikit-learn's embedded 8×8 digits, trained with
SGD (momentum 0.9, no penalty) and with ``pz.nn.ProxSGD`` and ``pz.GroupL1`` over the network's
coupled structures (``Regularizer(..., example_inputs=x)``: each hidden neuron with its incoming
weights, its bias and, for the last hidden layer, its column of the classifier), dense for the
first epoch and then with λ ramped up; the penalized net is pruned (the same function, checked)
and fine-tuned for two epochs without penalty (penalize, prune, fine-tune: the usual pipeline).

The claim is judged on what does not depend on the machine: the multiply-adds of one prediction
(``pz.nn.count_macs``, counted) and the parameters. The latency is measured too (one thread, the
two nets timed in turns, medians of repeats, on the wall clock and on the thread's CPU clock) and
reported as numbers; its verdict, on the CPU clock, only asks that the pruned net is not slower
at batch 256 (the counted multiply-adds predict 2–3× faster), so that a loaded machine does not
turn the measurement into a false disagreement.
"""

from __future__ import annotations

import statistics
import time
from importlib.util import find_spec

import numpy as np

from ..plots import COLORS, figure, style
from . import SectionResult

TITLE = "Zeroing weights reduces computation"
CLAIM = ("A group penalty zeroes whole neurons; cutting them out (prune) leaves the same function with fewer "
         "multiply-adds and parameters and a lower inference latency, at a small cost in accuracy.")

HIDDEN = (128, 128)
LAM = 0.01
LR = 0.1
FINETUNE_LR = 0.02
BATCH = 128
EPOCHS, DENSE_EPOCHS, RAMP_EPOCHS, FINETUNE_EPOCHS = 12, 1, 3, 2
LATENCY_BATCHES = (1, 256)


def _data(rng):
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data.astype(np.float32) / 16.0
    y = digits.target.astype(np.int64)
    order = rng.permutation(len(y))
    n_train = int(0.75 * len(y))
    return X[order[:n_train]], y[order[:n_train]], X[order[n_train:]], y[order[n_train:]]


def _mlp(t, seed):
    t.manual_seed(seed)
    sizes = (64, *HIDDEN, 10)
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(t.nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(t.nn.ReLU())
    return t.nn.Sequential(*layers)


def _train(t, model, X, y, epochs, seed, lr=LR, reg=None):
    """Mini-batch SGD with momentum; with ``reg`` its coupled GroupL1 by the prox, dense for
    ``DENSE_EPOCHS`` and then ramped up over ``RAMP_EPOCHS``."""
    from penalized.nn import ProxSGD

    steps = -(-len(y) // BATCH)

    def schedule(step):
        return min(1.0, max(0.0, (step - DENSE_EPOCHS * steps + 1) / (RAMP_EPOCHS * steps)))

    if reg is None:
        opt = ProxSGD(model.parameters(), lr=lr, momentum=0.9)
    else:  # the coupled prox with a scalar step: block soft-thresholding of each neuron's group
        opt = ProxSGD(reg.param_groups(), lr=lr, momentum=0.9, schedule=schedule)
    gen = t.Generator().manual_seed(seed)
    loss_fn = t.nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        perm = t.randperm(len(y), generator=gen)
        for start in range(0, len(y), BATCH):
            idx = perm[start:start + BATCH]
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    return model


def _latency(t, models, x, repeats):
    """Median seconds per forward pass of each model, the models timed in turns, on the wall clock
    and on the thread's CPU clock (``time.thread_time``: what one thread computed, which the
    preemptions of a loaded machine do not inflate)."""
    wall = {k: [] for k in models}
    cpu = {k: [] for k in models}
    items = list(models.items())
    with t.inference_mode():
        for m in models.values():
            for _ in range(3):
                m(x)
        for r in range(repeats):
            for k, m in items[r % len(items):] + items[:r % len(items)]:  # rotating order
                c0, start = time.thread_time(), time.perf_counter()
                m(x)
                wall[k].append(time.perf_counter() - start)
                cpu[k].append(time.thread_time() - c0)
    return ({k: statistics.median(v) for k, v in wall.items()}, {k: statistics.median(v) for k, v in cpu.items()})


def run(quick, rng):
    if find_spec("torch") is None or find_spec("torch_pruning") is None:
        return SectionResult(key="pruning", title=TITLE, claim=CLAIM, pending=[
            "PyTorch (with Torch-Pruning) is not installed, so this section did not run: "
            "pip install 'penalized[nn]'."])
    import torch as t

    threads = t.get_num_threads()
    t.set_num_threads(1)  # latency of one thread: the number a user can reproduce
    try:
        return _run(t, quick, rng)
    finally:
        t.set_num_threads(threads)


def _accuracy(t, model, X, y):
    with t.no_grad():
        return float((model(X).argmax(1) == y).float().mean())


def _run(t, quick, rng):
    import penalized as pz
    from penalized.nn import Regularizer, count_macs, prune

    X, y, Xt, yt = (t.as_tensor(a) for a in _data(rng))
    seed = int(rng.integers(2**31))
    dense = _train(t, _mlp(t, seed), X, y, EPOCHS, seed)
    sparse = _mlp(t, seed)
    reg = Regularizer(sparse, pz.GroupL1(LAM), example_inputs=X[:8], group_weights="uniform")  # λ tuned for c_g = 1
    _train(t, sparse, X, y, EPOCHS, seed, reg=reg)
    small = prune(sparse, example_inputs=X)  # raises if the outputs would differ
    with t.no_grad():
        max_diff = float((small(Xt) - sparse(Xt)).abs().max())
    acc_exact = _accuracy(t, small, Xt, yt)
    _train(t, small, X, y, FINETUNE_EPOCHS, seed + 1, lr=FINETUNE_LR)
    acc = {"dense": _accuracy(t, dense, Xt, yt), "pruned, fine-tuned": _accuracy(t, small, Xt, yt)}
    repeats = {1: 100 if quick else 300, 256: 40 if quick else 120}
    measured = {b: _latency(t, {"dense": dense, "pruned": small}, Xt[:b], repeats[b]) for b in LATENCY_BATCHES}
    lat = {b: measured[b][0] for b in LATENCY_BATCHES}
    cpu = {b: measured[b][1] for b in LATENCY_BATCHES}
    speedup = {b: lat[b]["dense"] / lat[b]["pruned"] for b in LATENCY_BATCHES}
    cpu_speedup = {b: cpu[b]["dense"] / cpu[b]["pruned"] for b in LATENCY_BATCHES}
    widths = {name: [m.out_features for m in net if isinstance(m, t.nn.Linear)][:-1]
              for name, net in (("dense", dense), ("pruned", small))}
    hidden_before, hidden_after = sum(widths["dense"]), sum(widths["pruned"])
    params = {name: sum(p.numel() for p in m.parameters()) for name, m in (("dense", dense), ("pruned", small))}
    macs = {name: count_macs(m, Xt[:1]) for name, m in (("dense", dense), ("pruned", small))}

    fig, axes = figure(ncols=2, width=4.6, height=3.6)
    ax = axes[0]
    kinds = ("multiply-adds", "parameters", "latency b=256")
    ratios = [macs["dense"] / macs["pruned"], params["dense"] / params["pruned"], cpu_speedup[256]]
    bars = ax.bar(range(len(kinds)), ratios, 0.6, color=[COLORS["l1_prox"], COLORS["l1_prox"], COLORS["cv"]])
    for bar, r in zip(bars, ratios, strict=True):
        ax.annotate(f"{r:.1f}×", (bar.get_x() + bar.get_width() / 2, r), ha="center", va="bottom", fontsize=8)
    ax.axhline(1.0, color=COLORS["none"], lw=0.8)
    ax.set_xticks(range(len(kinds)), ["multiply-adds\n(counted)", "parameters", "CPU time, b=256\n(measured)"])
    style(ax, title="Dense ÷ pruned", ylabel="ratio", legend=False)
    ax = axes[1]
    layer_sizes = [("dense", [64, *widths["dense"], 10]), ("pruned", [64, *widths["pruned"], 10])]
    for k, (name, sizes) in enumerate(layer_sizes):
        ax.bar(np.arange(len(sizes)) + (k - 0.5) * 0.4, sizes, 0.4,
               color=COLORS["none" if name == "dense" else "l1_prox"], label=name)
    ax.set_xticks(range(4), ["input", "hidden 1", "hidden 2", "output"])
    style(ax, title="Width of each layer", ylabel="units")

    numbers = {
        "setting": {"network": f"MLP 64 → {' → '.join(map(str, HIDDEN))} → 10", "epochs": EPOCHS,
                    "λ (GroupL1, coupled)": LAM, "learning rate": LR,
                    "fine-tuning after prune": f"{FINETUNE_EPOCHS} epochs, lr {FINETUNE_LR:g}",
                    "training digits": len(y), "test digits": len(yt)},
        "test accuracy": {**acc, "pruned, before fine-tuning": acc_exact},
        "hidden neurons": {"dense": hidden_before, "pruned": hidden_after},
        "parameters": params,
        "multiply-adds per prediction (counted)": macs,
        "latency (ms, measured, median; wall clock)": {f"batch {b}": {k: 1e3 * v for k, v in lat[b].items()}
                                                       for b in LATENCY_BATCHES},
        "CPU time per forward (ms, measured, median; thread clock)": {
            f"batch {b}": {k: 1e3 * v for k, v in cpu[b].items()} for b in LATENCY_BATCHES},
        "speed-up (measured, wall clock)": {f"batch {b}": speedup[b] for b in LATENCY_BATCHES},
        "speed-up (measured, CPU time)": {f"batch {b}": cpu_speedup[b] for b in LATENCY_BATCHES},
        "max |pruned − unpruned| on the test digits": max_diff,
    }
    verdicts = {
        "the group penalty zeroes whole neurons: prune removes at least a third of the hidden neurons":
            hidden_after <= 2 * hidden_before / 3,
        "the pruned network computes the same function (max |Δ output| ≤ 1e-4)": max_diff <= 1e-4,
        "…with at least 2× fewer multiply-adds per prediction and fewer parameters (counted)":
            macs["dense"] >= 2 * macs["pruned"] and params["pruned"] < params["dense"],
        "…and it is not slower: measured speed-up at batch 256 ≥ 1 (CPU time, medians of interleaved runs)":
            cpu_speedup[256] >= 1.0,
        "…at a test accuracy within 3 points of the dense network (after fine-tuning)":
            acc["pruned, fine-tuned"] >= acc["dense"] - 0.03,
    }
    text = (
        f"The same MLP trained twice for {EPOCHS} epochs on {len(y)} digits: SGD with momentum, and ProxSGD with "
        f"pz.GroupL1({LAM:g}) over the network's coupled structures (pz.nn.Regularizer with example_inputs: a "
        "hidden neuron's group is its incoming weights, its bias and — for the last hidden layer — its column "
        f"of the classifier), dense for {DENSE_EPOCHS} epoch, then λ ramped up over {RAMP_EPOCHS}. pz.nn.prune cuts "
        "out the zero groups (checking that the outputs do not change), then the small net is fine-tuned for "
        f"{FINETUNE_EPOCHS} epochs. The multiply-adds are counted (pz.nn.count_macs): they do not depend on the "
        "machine. Both networks are also timed with one thread, taking turns, and the medians compared, on the "
        "wall clock and on the thread's CPU clock (which a loaded machine's preemptions do not inflate); at batch 1 "
        "the time is mostly Python's per-layer overhead, which pruning does not remove, and wall-clock times "
        "depend on the machine and its load."
    )
    return SectionResult(key="pruning", title=TITLE, claim=CLAIM, numbers=numbers, figures={"pruning_latency": fig},
                         verdicts=verdicts, text=text)
