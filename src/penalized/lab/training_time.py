"""Section: training too long — the first cause of overfitting.

Claim: a network trained on few, noisy examples first learns the trend and then, if
training goes on, the noise: its training error keeps falling while its test error passes
a minimum and rises. A penalty (L2 on the weights) and early stopping (stop at the epoch
of least error on held-out validation data) both keep the test error near that minimum.

Experiment: the overfitting section's curve ``y = sin(2.5x) + x/2 + σ·ε`` (σ = 0.3),
``n = 15`` training points, a one-hidden-layer tanh network (64 units) fitted by full-batch
Adam on the mean squared error, so one step is one epoch. Three arms, same initial weights:
no penalty; ``pz.L2(λ)`` on the weights (``λ·Σw²`` added to the loss, biases unpenalized);
and early stopping — the unpenalized run, stopped at the checkpoint of least error on 15
validation points drawn like the training points. Test errors on 500 fresh points; every
number is the median over independent training sets. NumPy only: the gradients are written
out (a network this small needs no autograd), so the section runs without PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..plots import COLORS, figure, style
from . import SectionResult
from .overfitting import truth

TITLE = "Training too long"
CLAIM = ("Training too long overfits: the training error keeps falling while the test error passes "
         "a minimum and rises; a penalty and early stopping keep the test error near its minimum.")

SIGMA = 0.3
N_TRAIN = 15
N_VAL = 15
N_TEST = 500
HIDDEN = 64
LR = 0.05  # full-batch Adam
L2_LAM = 3e-3
BETAS = (0.9, 0.999)
INPUT_SCALE = 6.0
EPOCHS = 2000


def _init(rng, reps):
    """Packed parameters ``[W1 (H) | b1 (H) | w2 (H) | b2 (1)]`` per repetition."""
    # steep units with kinks spread over [-1, 1]: the network can bend as sharply as the noise asks
    w1 = INPUT_SCALE * rng.standard_normal((reps, HIDDEN))
    b1 = rng.uniform(-INPUT_SCALE, INPUT_SCALE, (reps, HIDDEN))
    w2 = rng.standard_normal((reps, HIDDEN)) / np.sqrt(HIDDEN)
    return np.concatenate([w1, b1, w2, np.zeros((reps, 1))], axis=1)


def _predict(theta, x):
    """Network outputs for ``theta`` of shape (arms, reps, 3H+1) and ``x`` of shape (reps, n)."""
    h = np.tanh(x[None, :, :, None] * theta[..., None, :HIDDEN] + theta[..., None, HIDDEN:2 * HIDDEN])
    return h, np.einsum("arnh,arh->arn", h, theta[..., 2 * HIDDEN:3 * HIDDEN]) + theta[..., -1:]


def _train(rng, reps, epochs, checkpoints):
    """Train both arms on ``reps`` training sets; errors at the checkpoints, shape (C, arms, reps)."""
    x, xv, xt = (rng.uniform(-1, 1, (reps, m)) for m in (N_TRAIN, N_VAL, N_TEST))
    y, yv, yt = (truth(a) + SIGMA * rng.standard_normal(a.shape) for a in (x, xv, xt))
    theta = np.stack([_init(rng, reps)] * 2)  # arm 0: no penalty, arm 1: L2, same start
    # λ·Σw² on W1 and w2 (not the biases): its gradient is 2λ·w on those coordinates
    penalized = np.zeros(3 * HIDDEN + 1)
    penalized[:HIDDEN] = penalized[2 * HIDDEN:3 * HIDDEN] = 1.0
    lam = np.array([0.0, L2_LAM]).reshape(2, 1, 1) * penalized
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    (b1, b2), eps = BETAS, 1e-8
    errors = {k: [] for k in ("train", "validation", "test")}
    wanted = set(checkpoints.tolist())
    for t in range(1, epochs + 1):
        h, f = _predict(theta, x)
        r = (2.0 / N_TRAIN) * (f - y)  # d(mean squared error)/d(output)
        dh = r[..., None] * theta[..., None, 2 * HIDDEN:3 * HIDDEN] * (1.0 - h * h)
        grad = np.concatenate([np.einsum("arnh,rn->arh", dh, x), dh.sum(2),
                               np.einsum("arn,arnh->arh", r, h), r.sum(2, keepdims=True)], axis=2)
        grad += 2.0 * lam * theta
        m += (1 - b1) * (grad - m)
        v += (1 - b2) * (grad * grad - v)
        theta -= LR * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        if t in wanted:
            for key, (xx, yy) in (("train", (x, y)), ("validation", (xv, yv)), ("test", (xt, yt))):
                errors[key].append(((_predict(theta, xx)[1] - yy) ** 2).mean(-1))
    return {k: np.array(e) for k, e in errors.items()}


def measure(quick, rng):
    """Train/validation/test curves and the numbers behind the verdicts."""
    reps = 8 if quick else 16
    epochs = EPOCHS
    checkpoints = np.unique(np.round(np.logspace(0, np.log10(epochs), 50 if quick else 70)).astype(int))
    err = _train(rng, reps, epochs, checkpoints)
    test_none, test_l2 = err["test"][:, 0], err["test"][:, 1]  # (C, reps)
    train_none = err["train"][:, 0]
    best = np.argmin(test_none, axis=0)  # per repetition: the epoch of least test error (hindsight)
    stop = np.argmin(err["validation"][:, 0], axis=0)  # early stopping: least validation error
    cols = np.arange(reps)
    per_rep = {
        "best_epoch": checkpoints[best],
        "stop_epoch": checkpoints[stop],
        "test_min": test_none[best, cols],
        "test_end": test_none[-1],
        "train_at_best": train_none[best, cols],
        "train_end": train_none[-1],
        "test_end_l2": test_l2[-1],
        "test_min_l2": test_l2.min(axis=0),
        "test_stop": test_none[stop, cols],
    }
    med = {k: float(np.median(val)) for k, val in per_rep.items()}
    curves = {f"{k}_{arm}": np.median(err[k][:, a], axis=1).tolist()
              for k in ("train", "validation", "test") for a, arm in enumerate(("none", "l2"))}
    return checkpoints, per_rep, med, curves, reps, epochs


def verdicts_from(med):
    """The claims, decided from the measured medians (also used by the tests).

    "Near the minimum" means: at most a quarter of the unpenalized run's rise above it.
    """
    rise = med["test_end"] - med["test_min"]
    return {
        "Training too long overfits: without a penalty, the test error at the last epoch is at least "
        "1.5× its minimum over the epochs, while the training error keeps falling past that minimum":
            med["test_end"] >= 1.5 * med["test_min"] and med["train_end"] < med["train_at_best"],
        "A penalty curbs it: with L2 the test error at the last epoch stays within a quarter of that rise "
        "above the unpenalized minimum":
            rise > 0 and med["test_end_l2"] - med["test_min"] <= 0.25 * rise,
        "Early stopping curbs it: stopping at the epoch of least validation error (no test data) gives a "
        "test error within a quarter of that rise above the minimum":
            rise > 0 and med["test_stop"] - med["test_min"] <= 0.25 * rise,
    }


def run(quick, rng):
    checkpoints, per_rep, med, curves, reps, epochs = measure(quick, rng)
    fig, ax = figure(width=6.6, height=4.3)
    for arm, name in (("none", "no penalty"), ("l2", f"L2, λ={L2_LAM:g}")):
        c = COLORS[arm]
        ax.plot(checkpoints, curves[f"train_{arm}"], "--", color=c, lw=1.4, label=f"train, {name}")
        ax.plot(checkpoints, curves[f"test_{arm}"], "-", color=c, lw=2.0, label=f"test, {name}")
    ax.plot(checkpoints, curves["validation_none"], ":", color=COLORS["none"], lw=1.2,
            label="validation, no penalty")
    ax.axvline(med["stop_epoch"], color=COLORS["cv"], lw=1.2, ls="-.",
               label=f"early stop (median epoch {med['stop_epoch']:.0f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    style(ax, title=f"A 1-{HIDDEN}-1 tanh network on {N_TRAIN} noisy points", xlabel="epoch (full-batch Adam steps)",
          ylabel="mean squared error (median over training sets)")

    numbers = {
        "setting": {"training points": N_TRAIN, "validation points (early stopping)": N_VAL,
                    "noise σ": SIGMA, "hidden units": HIDDEN, "epochs": epochs, "Adam learning rate": LR,
                    "L2 strength λ": L2_LAM, "training sets (medians over)": reps},
        "no penalty": {
            "epoch of least test error": med["best_epoch"],
            "least test MSE": med["test_min"],
            "test MSE at the last epoch": med["test_end"],
            "train MSE at the epoch of least test error": med["train_at_best"],
            "train MSE at the last epoch": med["train_end"],
        },
        "L2": {"least test MSE": med["test_min_l2"], "test MSE at the last epoch": med["test_end_l2"]},
        "early stopping": {"stopping epoch (least validation error)": med["stop_epoch"],
                           "test MSE at the stopping epoch": med["test_stop"]},
    }
    text = (
        f"A network with one hidden layer of {HIDDEN} tanh units fits {N_TRAIN} noisy points of the curve "
        f"of the overfitting section (σ = {SIGMA}) by full-batch Adam (learning rate {LR}), so every step "
        "is an epoch. Dashed lines are training errors, solid lines test errors on "
        f"{N_TEST} fresh points, medians over {reps} training sets. Without a penalty the network first "
        "learns the curve, then bends to pass through the noise: the training error keeps falling and "
        f"the test error rises past its minimum. The L2 penalty (λ·Σw² on the weights, λ = {L2_LAM:g}) "
        f"stops that; so does early stopping: the dotted line is the error on {N_VAL} validation points, "
        "and training stops where it is least — no test data involved."
    )
    return SectionResult(key="training_time", title=TITLE, claim=CLAIM, numbers=numbers,
                         figures={"training_time_curves": fig}, verdicts=verdicts_from(med), text=text,
                         data={"epochs": checkpoints.tolist(), **curves,
                               "per training set": {k: np.asarray(val).tolist() for k, val in per_rep.items()}})
