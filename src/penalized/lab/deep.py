"""Section 5: penalties on a neural network.

Claim: the same penalties work on a neural network's weights. L2 (weight decay)
shrinks them; L1 added to the loss and trained by (sub)gradient steps makes them small
but almost never exactly zero, because a gradient step jumps over zero; L1 applied by
a proximal optimizer (``pz.nn.ProxAdamW``) sets most of them exactly to zero at a
small cost in accuracy, and the zeros show which inputs the network stopped using.

Experiment: an MLP 64 → 256 → 128 → 10 on scikit-learn's embedded 8×8 digits, trained
on a small training set (so that it can overfit) with Adam and (i) no penalty, (ii)
L2, (iii) L1 added to the loss, (iv) L1 by ``pz.nn.ProxAdamW``. The penalties act on
the weight matrices, not on the biases, with the same λ for both L1 variants.
"""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np

from ..plots import COLORS, LABELS, figure, style
from . import SectionResult

TITLE = "Deep learning: penalties on an MLP"
CLAIM = ("On a neural network, L1 by subgradient steps only makes weights small; L1 by a proximal "
         "optimizer makes them exactly zero (a sparse network) at a small cost in accuracy; L2 "
         "zeros none.")

HIDDEN = (256, 128)
LAM_L2 = 1e-3
LAM_L1 = 5e-4
LR = 2e-3
BATCH = 64


def _data(rng, n_train):
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data.astype(np.float32) / 16.0
    y = digits.target.astype(np.int64)
    order = rng.permutation(len(y))
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


def _train(t, arm, data, epochs, seed):
    import penalized as pz
    from penalized.nn import ProxAdamW, Regularizer, sparsity_report

    X, y, Xt, yt = (t.as_tensor(a) for a in data)
    model = _mlp(t, seed)
    # λ·R(W) over the weight matrices, never the biases (Regularizer's default selection)
    reg = None if arm == "none" else Regularizer(model, pz.L2(LAM_L2) if arm == "l2" else pz.L1(LAM_L1))
    if arm == "l1_prox":  # the loss alone; the optimizer applies L1's prox to the same weights
        opt, reg = ProxAdamW(reg.param_groups(), lr=LR), None
    else:  # reg() is added to the loss
        opt = t.optim.Adam(model.parameters(), lr=LR)
    gen = t.Generator().manual_seed(seed)
    loss_fn = t.nn.CrossEntropyLoss()
    for _ in range(epochs):
        perm = t.randperm(len(y), generator=gen)
        for start in range(0, len(y), BATCH):
            idx = perm[start:start + BATCH]
            loss = loss_fn(model(X[idx]), y[idx])
            if reg is not None:
                loss = loss + reg()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with t.no_grad():
        acc_train = float((model(X).argmax(1) == y).float().mean())
        acc_test = float((model(Xt).argmax(1) == yt).float().mean())
    sparsity = sparsity_report(model)
    mats = [m.weight.detach().numpy().copy() for m in model if isinstance(m, t.nn.Linear)]
    return {"train accuracy": acc_train, "test accuracy": acc_test,
            "train − test gap": acc_train - acc_test,
            "exact-zero fraction (weights)": float(sparsity.zero_fraction),
            "|w| < 1e-3 fraction (weights)":
                float(np.mean(np.concatenate([(np.abs(m) < 1e-3).ravel() for m in mats]))),
            "exact-zero fraction per layer": [float(layer.zero_fraction) for layer in sparsity.layers],
            "inputs still used (of 64)": int(np.sum(np.any(mats[0] != 0, axis=0))),
            }, mats


def run(quick, rng):
    if find_spec("torch") is None:  # PyTorch is an optional dependency
        return SectionResult(key="deep", title=TITLE, claim=CLAIM, pending=[
            "PyTorch is not installed, so this section did not run: pip install 'penalized[nn]'."])
    import torch as t

    n_train = 400 if quick else 600
    epochs = 20 if quick else 100
    threads = t.get_num_threads()
    t.set_num_threads(1)  # tiny matrices: threads only add contention (restored below)
    try:
        return _run(t, quick, rng, n_train, epochs)
    finally:
        t.set_num_threads(threads)


def _run(t, quick, rng, n_train, epochs):
    data = _data(rng, n_train)
    seed = int(rng.integers(2**31))
    arms = ("none", "l2", "l1_subgrad", "l1_prox")
    results, mats = {}, {}
    for arm in arms:
        results[arm], mats[arm] = _train(t, arm, data, epochs, seed)

    fig, axes = figure(ncols=2, width=5.4, height=3.9)
    ax = axes[0]
    n_layers = len(HIDDEN) + 1
    width = 0.8 / len(arms)
    for k, arm in enumerate(arms):
        bars = ax.bar(np.arange(n_layers) + (k - (len(arms) - 1) / 2) * width,
                      results[arm]["exact-zero fraction per layer"], width, color=COLORS[arm],
                      label=LABELS[arm])
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(range(n_layers), [f"layer {k + 1}\n{w.shape[1]}→{w.shape[0]}"
                                    for k, w in enumerate(mats[arms[0]])])
    ax.set_ylim(0, 1)
    style(ax, title="Exactly-zero weights per layer", ylabel="fraction of weights == 0")
    ax = axes[1]
    for arm in arms:
        w = np.abs(np.concatenate([m.ravel() for m in mats[arm]]))
        w = np.log10(np.maximum(w, 1e-12))
        ax.hist(w, bins=np.linspace(-12.5, 0.5, 66), histtype="step", lw=1.6, color=COLORS[arm],
                label=LABELS[arm])
    ax.set_yscale("log")
    ax.annotate("exact zeros (drawn at 10⁻¹²)", xy=(-12, 2e4), xytext=(-11.3, 2e4), fontsize=8,
                va="center")
    style(ax, title="Weight magnitudes", xlabel="log₁₀ |w|", ylabel="number of weights")

    fig_inputs, axes = figure(ncols=3, width=3.4, height=3.4)
    for ax, arm in zip(axes, ("none", "l1_subgrad", "l1_prox"), strict=True):
        used = np.mean(mats[arm][0] != 0, axis=0).reshape(8, 8)
        im = ax.imshow(used, vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{LABELS[arm]}\n{results[arm]['inputs still used (of 64)']} of 64 pixels used",
                     fontsize=10)
    fig_inputs.colorbar(im, ax=list(axes), shrink=0.8, label="fraction of a pixel's weights ≠ 0")

    numbers = {"setting": {"training digits": n_train, "test digits": len(data[3]),
                           "hidden layers": list(HIDDEN), "epochs": epochs, "learning rate": LR,
                           "λ (L2)": LAM_L2, "λ (L1, both variants)": LAM_L1}}
    numbers.update({LABELS[arm]: res for arm, res in results.items()})
    r = results
    verdicts = {
        "L2 shrinks the weights but sets none exactly to zero":
            r["l2"]["exact-zero fraction (weights)"] == 0.0,
        "L1 by subgradient steps leaves (almost) no exact zeros (< 1% of the weights)":
            r["l1_subgrad"]["exact-zero fraction (weights)"] < 0.01,
        "L1 by subgradient steps makes many weights tiny (|w| < 1e-3) more often than no penalty":
            r["l1_subgrad"]["|w| < 1e-3 fraction (weights)"] > r["none"]["|w| < 1e-3 fraction (weights)"],
        "L1 by the proximal optimizer sets most weights exactly to zero (> 50%)":
            r["l1_prox"]["exact-zero fraction (weights)"] > 0.5,
        "…at a test accuracy within 3 points of no penalty":
            r["l1_prox"]["test accuracy"] >= r["none"]["test accuracy"] - 0.03,
        "…and stops using some input pixels altogether":
            r["l1_prox"]["inputs still used (of 64)"] < 64,
    }
    text = (
        f"An MLP 64 → {' → '.join(map(str, HIDDEN))} → 10 (ReLU) on scikit-learn's 8×8 digits, "
        f"trained on {n_train} images for {epochs} epochs with Adam (learning rate {LR}), batches "
        f"of {BATCH}. The penalties act on the weight matrices only. L2 and L1-by-subgradient add "
        "λ·R(W) to the loss (pz.nn.Regularizer: penalized's L2/L1 objects evaluated on the torch "
        "tensors) and let autograd differentiate it; the proximal variant (pz.nn.ProxAdamW) leaves "
        "the loss alone and applies L1's proximal map (soft thresholding) after each step. Top: the "
        "fraction of exactly-zero weights per layer and the distribution of |w| (exact zeros drawn at "
        "10⁻¹²). Bottom: "
        "for each input pixel, the fraction of its outgoing first-layer weights that are not "
        "zero — the proximal L1 network ignores the border pixels, which carry no information."
    )
    return SectionResult(key="deep", title=TITLE, claim=CLAIM, numbers=numbers,
                         figures={"deep_sparsity": fig, "deep_inputs": fig_inputs}, verdicts=verdicts,
                         text=text)
