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

import numpy as np

from . import SectionResult
from ._deps import Pending, nn, torch
from .figures import COLORS, LABELS, figure, style

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


def _weights(model):
    return [m.weight for m in model if hasattr(m, "weight")]


def _penalty_term(model, penalty):
    """``Σ_layers penalty(W)`` over the weight matrices.

    TODO-switch: ``pz.nn.Regularizer(model, penalty)`` once feat-nn is merged.
    """
    return sum(penalty.value(w) for w in _weights(model))


def _train(t, arm, data, epochs, seed):
    import penalized as pz

    X, y, Xt, yt = (t.as_tensor(a) for a in data)
    model = _mlp(t, seed)
    weights = _weights(model)
    others = [p for p in model.parameters() if all(p is not w for w in weights)]
    added = {"none": None, "l2": pz.L2(LAM_L2), "l1_subgrad": pz.L1(LAM_L1), "l1_prox": None}[arm]
    if arm == "l1_prox":
        ProxAdamW = nn("ProxAdamW")
        opt = ProxAdamW([{"params": weights}, {"params": others, "penalty": None}], lr=LR,
                        penalty=pz.L1(LAM_L1))
    else:
        opt = t.optim.Adam(model.parameters(), lr=LR)
    gen = t.Generator().manual_seed(seed)
    loss_fn = t.nn.CrossEntropyLoss()
    for _ in range(epochs):
        perm = t.randperm(len(y), generator=gen)
        for start in range(0, len(y), BATCH):
            idx = perm[start:start + BATCH]
            loss = loss_fn(model(X[idx]), y[idx])
            if added is not None:
                loss = loss + _penalty_term(model, added)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with t.no_grad():
        acc_train = float((model(X).argmax(1) == y).float().mean())
        acc_test = float((model(Xt).argmax(1) == yt).float().mean())
    mats = [w.detach().numpy().copy() for w in weights]
    return {"train accuracy": acc_train, "test accuracy": acc_test,
            "train − test gap": acc_train - acc_test,
            "exact-zero fraction (weights)": float(np.mean(np.concatenate([(m == 0).ravel() for m in mats]))),
            "|w| < 1e-3 fraction (weights)":
                float(np.mean(np.concatenate([(np.abs(m) < 1e-3).ravel() for m in mats]))),
            "exact-zero fraction per layer": [float(np.mean(m == 0)) for m in mats],
            "inputs still used (of 64)": int(np.sum(np.any(mats[0] != 0, axis=0))),
            }, mats


def run(quick, rng):
    t = torch()  # Pending (whole section) without PyTorch
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
    results, mats, pending = {}, {}, []
    for arm in ("none", "l2", "l1_subgrad", "l1_prox"):
        try:
            results[arm], mats[arm] = _train(t, arm, data, epochs, seed)
        except Pending as exc:
            pending.append(f"L1 by the proximal optimizer: {exc}")

    arms = list(results)
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

    l1_arms = [a for a in ("l1_subgrad", "l1_prox") if a in results]
    fig_inputs, axes = figure(ncols=len(l1_arms) + 1, width=3.4, height=3.4)
    axes = np.atleast_1d(axes)
    for ax, arm in zip(axes, ["none", *l1_arms], strict=True):
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
    }
    if "l1_prox" in r:
        verdicts["L1 by the proximal optimizer sets most weights exactly to zero (> 50%)"] = (
            r["l1_prox"]["exact-zero fraction (weights)"] > 0.5)
        verdicts["…at a test accuracy within 3 points of no penalty"] = (
            r["l1_prox"]["test accuracy"] >= r["none"]["test accuracy"] - 0.03)
        verdicts["…and stops using some input pixels altogether"] = (
            r["l1_prox"]["inputs still used (of 64)"] < 64)
    text = (
        f"An MLP 64 → {' → '.join(map(str, HIDDEN))} → 10 (ReLU) on scikit-learn's 8×8 digits, "
        f"trained on {n_train} images for {epochs} epochs with Adam (learning rate {LR}), batches "
        f"of {BATCH}. The penalties act on the weight matrices only. L2 and L1-by-subgradient add "
        "λ·R(W) to the loss (penalized's L2/L1 objects evaluated on the torch tensors) and let "
        "autograd differentiate it; the proximal variant leaves the loss alone and applies L1's "
        "proximal map (soft thresholding) after each step. Top: the fraction of exactly-zero "
        "weights per layer and the distribution of |w| (exact zeros drawn at 10⁻¹²). Bottom: "
        "for each input pixel, the fraction of its outgoing first-layer weights that are not "
        "zero — the proximal L1 network ignores the border pixels, which carry no information."
    )
    return SectionResult(
        key="deep", title="Deep learning: penalties on an MLP",
        claim="On a neural network, L1 by subgradient steps only makes weights small; L1 by a "
              "proximal optimizer makes them exactly zero (a sparse network) at a small cost in "
              "accuracy; L2 zeros none.",
        numbers=numbers, figures={"deep_sparsity": fig, "deep_inputs": fig_inputs},
        verdicts=verdicts, text=text, pending=pending,
    )
