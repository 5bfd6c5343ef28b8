"""``opt.step()`` time of the proximal optimizers against torch's own, per penalty, on three nets.

Nets: an MLP 784 → 2048 → 2048 → 10 (5.8 M parameters, batch 64), the MNIST-1D CNN of
:mod:`benchmarks.nn_prune` (batch 128) and torchvision's ResNet-18 at 32×32 (batch 8; built from
:mod:`benchmarks.nn_zoo_models`, skipped if torchvision is missing). Arms, each on its own copy
of the same network, taking turns step by step (a loaded machine slows them alike): AdamW
(``foreach=True``, the reference), ProxAdamW with L1, ProxAdamW with the coupled GroupL1
(``example_inputs``: the diagonal-metric group prox of :mod:`penalized.nn.coupled_prox`), the
same two with ``fused=True`` (the update compiled by ``torch.compile``, the coupled prox on the
compiled block functions of :mod:`penalized.nn.coupled_fused`; the warm-up steps compile), SGD
(momentum 0.9, ``foreach=True``) and ProxSGD with the coupled GroupL1 (block soft-thresholding).
Median and minimum of ``--steps`` steps after 3 warm-up steps, one CPU thread (on a shared
machine the minimum is the steadier estimate of an arm's own cost; the median includes the
other processes' interference).

Run ``python -m benchmarks.nn_prox_step [--steps 15] [--nets mlp,cnn,resnet18] [--arms "A,B"]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings

import torch
from torch import nn

import penalized as pz
from penalized.nn import ProxAdamW, ProxSGD, Regularizer


def _mlp():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(784, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 10))
    return net, torch.randn(64, 784), torch.randint(0, 10, (64,))


def _cnn():
    from benchmarks.nn_prune import cnn

    torch.manual_seed(0)
    return cnn(), torch.randn(128, 1, 40), torch.randint(0, 10, (128,))


def _resnet18():
    from benchmarks.nn_zoo_models import build

    built = build("tv_resnet18")
    if built is None:
        return None
    model, _ = built
    return model.train(), torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))


NETS = {"mlp": _mlp, "cnn": _cnn, "resnet18": _resnet18}
REFERENCES = ("AdamW(foreach)", "SGD(momentum, foreach)")


def _arms(example):
    def coupled(m, lam=1e-4):
        return Regularizer(m, pz.GroupL1(lam), example_inputs=example).param_groups()

    return {
        "AdamW(foreach)": lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.0, foreach=True),
        "ProxAdamW + L1": lambda m: ProxAdamW(Regularizer(m, pz.L1(1e-4)).param_groups(), lr=1e-3),
        "ProxAdamW + coupled GroupL1": lambda m: ProxAdamW(coupled(m), lr=1e-3),
        "ProxAdamW(fused=True) + L1": lambda m: ProxAdamW(Regularizer(m, pz.L1(1e-4)).param_groups(), lr=1e-3,
                                                          fused=True),
        "ProxAdamW(fused=True) + coupled GroupL1": lambda m: ProxAdamW(coupled(m), lr=1e-3, fused=True),
        "SGD(momentum, foreach)": lambda m: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, foreach=True),
        "ProxSGD + coupled GroupL1": lambda m: ProxSGD(coupled(m), lr=0.01, momentum=0.9),
    }


def step_times(base, x, y, steps, warmup=3, only=None):
    """Median ``opt.step()`` time (ms) of each arm, the arms taking turns step by step."""
    runs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name, make in _arms(x[:2]).items():
            if only is not None and name not in only and name not in REFERENCES:
                continue
            model = copy.deepcopy(base)
            runs[name] = (model, make(model), [])
    for i in range(steps + warmup):
        for model, opt, times in runs.values():
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            start = time.perf_counter()
            opt.step()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return {name: (1e3 * statistics.median(times), 1e3 * min(times)) for name, (_, _, times) in runs.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--nets", default="mlp,cnn,resnet18")
    parser.add_argument("--arms", default=None, help="comma-separated arm names (the torch references always run)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    only = None if args.arms is None else set(args.arms.split(","))
    names = [a for a in _arms(None) if only is None or a in only or a in REFERENCES]
    print("opt.step() median / min ms (× the torch optimizer's median / min)")
    print("| net | params | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    out = {}
    for name in args.nets.split(","):
        made = NETS[name]()
        if made is None:
            print(f"| {name} | skipped (torchvision missing) |")
            continue
        base, x, y = made
        times = step_times(base, x, y, args.steps, only=only)
        ref = {"SGD": times["SGD(momentum, foreach)"], "Adam": times["AdamW(foreach)"]}
        cells = []
        for arm, (med, low) in times.items():
            ref_med, ref_low = ref["SGD" if "SGD" in arm else "Adam"]
            cells.append(f"{med:.1f} / {low:.1f} ms ({med / ref_med:.2f}× / {low / ref_low:.2f}×)")
        n = sum(p.numel() for p in base.parameters())
        print(f"| {name} | {n / 1e6:.2f} M | " + " | ".join(cells) + " |", flush=True)
        out[name] = times
    return out


if __name__ == "__main__":
    main()
