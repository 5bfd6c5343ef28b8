"""Section: zeroing weights reduces computation.

Claim: a group penalty that zeroes whole neurons makes the network cheaper to run — once the
zeroed neurons are cut out (``pz.nn.prune``), the smaller network computes the same function
with fewer multiply-adds and in less time — at a small cost in accuracy.

Experiment: an MLP 64 → 256 → 256 → 10 on scikit-learn's embedded 8×8 digits, trained with
AdamW (no penalty) and with ``pz.nn.ProxAdamW`` and ``pz.GroupL1`` over the network's coupled
structures (``Regularizer(..., example_inputs=x)``: each hidden neuron with its incoming
weights, its bias and, for the last hidden layer, its column of the classifier), dense for the
first epochs and then with λ ramped up. The penalized net is pruned; both nets are timed on
the test digits, one thread, interleaved repeats, medians.
"""

from __future__ import annotations

import statistics
import time
from importlib.util import find_spec

import numpy as np

from . import SectionResult
from .figures import COLORS, figure, style

TITLE = "Zeroing weights reduces computation"
CLAIM = ("A group penalty zeroes whole neurons; cutting them out (prune) leaves the same function with fewer "
         "multiply-adds and a lower inference latency, at a small cost in accuracy.")

HIDDEN = (256, 256)
LAM = 5e-3
LR = 0.05
BATCH = 64


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


def _train(t, model, X, y, epochs, seed, reg=None, dense_epochs=0, ramp_epochs=1):
    from penalized.nn import ProxSGD

    steps = -(-len(y) // BATCH)

    def schedule(step):
        return min(1.0, max(0.0, (step - dense_epochs * steps + 1) / (ramp_epochs * steps)))

    if reg is None:
        opt = ProxSGD(model.parameters(), lr=LR, momentum=0.9)
    else:  # the coupled prox with a scalar step: block soft-thresholding, a few passes
        opt = ProxSGD(reg.param_groups(), lr=LR, momentum=0.9, schedule=schedule)
    gen = t.Generator().manual_seed(seed)
    loss_fn = t.nn.CrossEntropyLoss()
    for _ in range(epochs):
        perm = t.randperm(len(y), generator=gen)
        for start in range(0, len(y), BATCH):
            idx = perm[start:start + BATCH]
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    return model


def _macs(model, t):
    """Multiply-adds of one prediction (the Linear layers)."""
    return sum(m.in_features * m.out_features for m in model if isinstance(m, t.nn.Linear))


def _latency(t, models, x, repeats):
    times = {k: [] for k in models}
    with t.inference_mode():
        for m in models.values():
            for _ in range(3):
                m(x)
        for _ in range(repeats):
            for k, m in models.items():
                start = time.perf_counter()
                m(x)
                times[k].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


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


def _run(t, quick, rng):
    import penalized as pz
    from penalized.nn import Regularizer, prune

    X, y, Xt, yt = (t.as_tensor(a) for a in _data(rng))
    seed = int(rng.integers(2**31))
    epochs, dense_epochs, ramp_epochs = (24, 2, 4) if quick else (30, 3, 6)
    dense = _train(t, _mlp(t, seed), X, y, epochs, seed)
    sparse = _mlp(t, seed)
    reg = Regularizer(sparse, pz.GroupL1(LAM), example_inputs=X[:8])
    _train(t, sparse, X, y, epochs, seed, reg=reg, dense_epochs=dense_epochs, ramp_epochs=ramp_epochs)
    small = prune(sparse, example_inputs=X)
    with t.no_grad():
        max_diff = float((small(Xt) - sparse(Xt)).abs().max())
        acc = {name: float((m(Xt).argmax(1) == yt).float().mean())
               for name, m in (("dense", dense), ("pruned", small))}
    batches = (1, 256)
    repeats = 60 if quick else 120
    lat = {b: _latency(t, {"dense": dense, "pruned": small}, Xt[:b], repeats) for b in batches}
    speedup = {b: lat[b]["dense"] / lat[b]["pruned"] for b in batches}
    hidden_before = sum(HIDDEN)
    hidden_after = sum(m.out_features for m in list(small)[:-1] if isinstance(m, t.nn.Linear))
    params = {name: sum(p.numel() for p in m.parameters()) for name, m in (("dense", dense), ("pruned", small))}
    macs = {"dense": _macs(dense, t), "pruned": _macs(small, t)}

    fig, axes = figure(ncols=2, width=4.6, height=3.6)
    ax = axes[0]
    x = np.arange(len(batches))
    ax.bar(x - 0.2, [1e3 * lat[b]["dense"] for b in batches], 0.4, color=COLORS["none"], label="dense")
    ax.bar(x + 0.2, [1e3 * lat[b]["pruned"] for b in batches], 0.4, color=COLORS["l1_prox"], label="pruned")
    for k, b in enumerate(batches):
        ax.annotate(f"{speedup[b]:.1f}× faster", (k + 0.2, 1e3 * lat[b]["pruned"]), ha="center", va="bottom",
                    fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(x, [f"batch {b}" for b in batches])
    style(ax, title="Inference latency (1 thread, median)", ylabel="ms per forward pass")
    ax = axes[1]
    layer_sizes = [("dense", [64, *HIDDEN, 10]),
                   ("pruned", [64] + [m.out_features for m in small if isinstance(m, t.nn.Linear)])]
    for k, (name, sizes) in enumerate(layer_sizes):
        ax.bar(np.arange(len(sizes)) + (k - 0.5) * 0.4, sizes, 0.4,
               color=COLORS["none" if name == "dense" else "l1_prox"], label=name)
    ax.set_xticks(range(4), ["input", "hidden 1", "hidden 2", "output"])
    style(ax, title="Width of each layer", ylabel="units")

    numbers = {
        "setting": {"network": f"MLP 64 → {' → '.join(map(str, HIDDEN))} → 10", "epochs": epochs,
                    "λ (GroupL1, coupled)": LAM, "learning rate": LR, "training digits": len(y),
                    "test digits": len(yt)},
        "test accuracy": acc,
        "hidden neurons": {"dense": hidden_before, "pruned": hidden_after},
        "parameters": params,
        "multiply-adds per prediction": macs,
        "latency (ms)": {f"batch {b}": {k: 1e3 * v for k, v in lat[b].items()} for b in batches},
        "speed-up": {f"batch {b}": speedup[b] for b in batches},
        "max |pruned − unpruned| on the test digits": max_diff,
    }
    verdicts = {
        "the group penalty zeroes whole neurons: prune removes at least a third of the hidden neurons":
            hidden_after <= 2 * hidden_before / 3,
        "the pruned network computes the same function (max |Δ output| ≤ 1e-4)": max_diff <= 1e-4,
        "…with at least 2× fewer multiply-adds per prediction": macs["dense"] >= 2 * macs["pruned"],
        "…and runs faster: lower latency at batch 256 (measured, interleaved medians)": speedup[256] > 1.2,
        "…at a test accuracy within 3 points of the dense network": acc["pruned"] >= acc["dense"] - 0.03,
    }
    text = (
        f"The same MLP trained twice for {epochs} epochs on {len(y)} digits: AdamW, and ProxAdamW with "
        f"pz.GroupL1({LAM:g}) over the network's coupled structures (pz.nn.Regularizer with example_inputs: a "
        "hidden neuron's group is its incoming weights, its bias and — for the last hidden layer — its column "
        f"of the classifier), dense for {dense_epochs} epochs, then λ ramped up over {ramp_epochs}. "
        "pz.nn.prune cuts out the zero groups (checking that the outputs do not change); both networks are then "
        "timed on the test digits with one thread, taking turns, and the medians compared. Wall-clock times "
        "depend on the machine and its load; the multiply-adds do not."
    )
    return SectionResult(key="pruning", title=TITLE, claim=CLAIM, numbers=numbers, figures={"pruning_latency": fig},
                         verdicts=verdicts, text=text)
