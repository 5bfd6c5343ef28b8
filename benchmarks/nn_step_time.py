"""``opt.step()`` time of ProxAdamW (coupled GroupL1, L1) against torch's AdamW(foreach=True).

An MLP 256 → 512 → 512 → 10 (about 400 k parameters), batch 64, one CPU thread; the median of
60 steps after 5 warm-up steps, the three optimizers on their own copy of the same network,
taking turns step by step (a loaded machine slows them alike).
Run ``python -m benchmarks.nn_step_time``.
"""

from __future__ import annotations

import statistics
import time
import warnings

import torch
from torch import nn

import penalized as pz
from penalized.nn import ProxAdamW, Regularizer


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def step_times(arms, x, y, steps=60, warmup=5):
    """Median ``opt.step()`` time (ms) of each arm, the arms taking turns step by step."""
    runs = {}
    for name, make in arms.items():
        model = _net()
        runs[name] = (model, make(model), [])
    for i in range(steps + warmup):
        for model, opt, times in runs.values():
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            start = time.perf_counter()
            opt.step()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(times) for name, (_, _, times) in runs.items()}


def main():
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    x, y = torch.randn(64, 256), torch.randint(0, 10, (64,))
    arms = {
        "AdamW(foreach=True)": lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.0, foreach=True),
        "ProxAdamW + coupled GroupL1": lambda m: ProxAdamW(
            Regularizer(m, pz.GroupL1(1e-4), example_inputs=x[:4]).param_groups(), lr=1e-3),
        "ProxAdamW + L1": lambda m: ProxAdamW(Regularizer(m, pz.L1(1e-4)).param_groups(), lr=1e-3),
    }
    times = step_times(arms, x, y)
    base = times["AdamW(foreach=True)"]
    for name, ms in times.items():
        print(f"{name}: {ms:.2f} ms ({ms / base:.2f}× AdamW)")
    return times


if __name__ == "__main__":
    main()
