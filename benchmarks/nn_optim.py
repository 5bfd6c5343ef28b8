"""ProxAdamW against ProxSGD: exact zeros, accuracy and the penalized objective at equal epochs.

Three networks, the same λ for every optimizer, seeds 0-2 (initialization, batch order, and
the digits split / the reversal sequences; MNIST-1D keeps its one fixed split), one CPU
thread, mean ± sd over the seeds:

- **MLP** 64-128-10 (ReLU) on scikit-learn's digits (standardized, stratified 25 % test
  split), 40 epochs, batch 64, λ = 1e-3 — the setting of issue 14;
- **CNN** on MNIST-1D (``pip install mnist1d``; generated procedurally, no download):
  Conv1d 1→32 (k5) → 32 (k3, stride 2) → 32 (k3, stride 2) → Linear 320→10, ReLU, 30 epochs,
  batch 64, λ = 3e-4; without mnist1d the section is skipped, never replaced;
- **transformer** (seed 0 only: a run takes minutes): 2 post-LN encoder layers (d = 64,
  4 heads, FFN 128, no dropout), a token embedding and a learned positional parameter,
  reversing sequences of 12 tokens over a vocabulary of 10 (4,000 training, 1,000 test
  sequences), token accuracy, 40 epochs, batch
  64, λ = 1e-4 on the attention, FFN and head weights (not the embedding nor the positions),
  with ``LambdaSchedule``: 12 dense epochs, then a 12-epoch ramp.

Optimizers, at their documented settings: ``ProxAdamW(lr=1e-3)`` (default capped metric),
``ProxAdamW(lr=1e-3, metric="adam")`` (the metric before, for comparison),
``ProxAdamW(lr=1e-2)`` (the learning rate at which AdamW trains these small dense networks
as fast as SGD) and ``ProxSGD(lr=0.1, momentum=0.9)``; the dense nets (no penalty) give the
reference accuracy.
L1 acts on the weight matrices and kernels only (biases, embeddings unpenalized). The
penalized objective is the mean training cross-entropy (whole training set) + λ·Σ|w|.

A second part measures the λ schedule on the transformer: L1 from step 0 at
λ ∈ {1e-5, 1e-4, 1e-3} against ``LambdaSchedule(12 epochs, 12 epochs)``, ProxAdamW, seed 0.

Run ``python -m benchmarks.nn_optim`` (writes benchmarks/results/nn_optim.csv and the
"nn-optim" section of docs/nn.md; ``--no-write`` only prints; ``--quick``: one seed;
``--resume`` keeps the runs already in the CSV, which is written run by run).
``--frontier`` instead traces the sparsity–accuracy frontier on the MLP (λ from 3e-4 to
1e-2, every optimizer, seeds 0-2; nn_optim_frontier.csv and the "nn-optim-frontier" section).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

import torch
from torch import nn

import penalized as pz
from penalized.nn import LambdaSchedule, ProxAdamW, ProxSGD

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "benchmarks" / "results" / "nn_optim.csv"
DOC = ROOT / "docs" / "nn.md"
SEEDS = (0, 1, 2)
TRANSFORMER_SEEDS = (0,)  # a transformer run takes 3-5 minutes on 2 shared cores
BATCH = 64
OPTIMIZERS = {
    "ProxAdamW (lr 1e-3)": lambda groups, s: ProxAdamW(groups, lr=1e-3, schedule=s),
    "ProxAdamW (lr 1e-3, metric='adam')": lambda groups, s: ProxAdamW(groups, lr=1e-3, metric="adam", schedule=s),
    "ProxAdamW (lr 1e-2)": lambda groups, s: ProxAdamW(groups, lr=1e-2, schedule=s),
    "ProxSGD (lr 0.1, momentum 0.9)": lambda groups, s: ProxSGD(groups, lr=0.1, momentum=0.9, schedule=s),
}
DENSE = {
    "AdamW (lr 1e-3), no penalty": lambda params: torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0),
    "SGD (lr 0.1, momentum 0.9), no penalty": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
}


# -- data -------------------------------------------------------------------------------------
def digits(seed):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = (torch.tensor(scaler.transform(a), dtype=torch.float32) for a in (X_tr, X_te))
    return X_tr, torch.tensor(y_tr), X_te, torch.tensor(y_te)


_MNIST1D = {}


def mnist1d(seed):
    """MNIST-1D with its default arguments (4,000 training, 1,000 test signals of length 40)."""
    if "data" not in _MNIST1D:
        from mnist1d.data import get_dataset_args, make_dataset

        _MNIST1D["data"] = make_dataset(get_dataset_args())
    d = _MNIST1D["data"]
    X, Xt = (torch.tensor(a, dtype=torch.float32).unsqueeze(1) for a in (d["x"], d["x_test"]))
    return X, torch.tensor(d["y"]).long(), Xt, torch.tensor(d["y_test"]).long()


VOCAB, LENGTH = 10, 12


def reversal(seed, n_train=4000, n_test=1000):
    g = torch.Generator().manual_seed(1000 + seed)
    X = torch.randint(0, VOCAB, (n_train + n_test, LENGTH), generator=g)
    return X[:n_train], X[:n_train].flip(1), X[n_train:], X[n_train:].flip(1)


# -- models: (model, penalized weights) --------------------------------------------------------
def mlp(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    return model, [model[0].weight, model[2].weight]


def cnn(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv1d(1, 32, 5, padding=2), nn.ReLU(), nn.Conv1d(32, 32, 3, stride=2, padding=1),
                          nn.ReLU(), nn.Conv1d(32, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(320, 10))
    return model, [m.weight for m in model if isinstance(m, (nn.Conv1d, nn.Linear))]


class Reverser(nn.Module):
    def __init__(self, d=64, heads=4, layers=2, ff=128):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d)
        self.pos = nn.Parameter(torch.randn(1, LENGTH, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, VOCAB)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x) + self.pos))


def transformer(seed):
    torch.manual_seed(seed)
    model = Reverser()
    weights = [p for n, p in model.named_parameters() if n.startswith("encoder") and p.ndim == 2]
    return model, weights + [model.head.weight]


#: name: (data, model, λ, epochs, (dense epochs, ramp epochs) or None)
PROBLEMS = {
    "MLP 64-128-10, digits": (digits, mlp, 1e-3, 40, None),
    "CNN, MNIST-1D": (mnist1d, cnn, 3e-4, 30, None),
    "transformer, sequence reversal": (reversal, transformer, 1e-4, 40, (12, 12)),
}


SHORT = {"mlp": "MLP 64-128-10, digits", "cnn": "CNN, MNIST-1D", "transformer": "transformer, sequence reversal"}


def _loss(out, y):
    return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def _accuracy(model, X, y):
    with torch.no_grad():
        return float((model(X).argmax(-1) == y).float().mean())


def train(problem, optimizer, seed, lam=None, schedule_epochs="default"):
    """One training run; ``optimizer`` is a key of OPTIMIZERS or DENSE."""
    data_fn, model_fn, default_lam, epochs, sched = PROBLEMS[problem]
    lam = default_lam if lam is None else lam
    sched = sched if schedule_epochs == "default" else schedule_epochs
    X, y, Xt, yt = data_fn(seed)
    model, weights = model_fn(seed)
    steps_per_epoch = -(-len(y) // BATCH)
    if optimizer in DENSE:
        opt = DENSE[optimizer](model.parameters())
    else:
        ids = {id(p) for p in weights}
        groups = [{"params": weights, "penalty": pz.L1(lam)},
                  {"params": [p for p in model.parameters() if id(p) not in ids], "penalty": None}]
        schedule = None if sched is None else LambdaSchedule(sched[0] * steps_per_epoch, sched[1] * steps_per_epoch)
        opt = OPTIMIZERS[optimizer](groups, schedule)
    gen = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad(set_to_none=True)
            _loss(model(X[idx]), y[idx]).backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        data_loss = float(_loss(model(X), y))
        l1 = sum(float(w.abs().sum()) for w in weights)
    return {
        "problem": problem, "optimizer": optimizer, "seed": seed, "lam": lam if optimizer not in DENSE else 0.0,
        "epochs": epochs, "zero_fraction": sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights),
        "test_accuracy": _accuracy(model, Xt, yt), "train_accuracy": _accuracy(model, X, y),
        "objective": data_loss + (lam * l1 if optimizer not in DENSE else 0.0), "seconds": seconds,
    }


def _mean_sd(values):
    values = list(values)
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _fmt(values, scale=100.0, digits=1):
    values = [v * scale for v in values]
    m, s = _mean_sd(values)
    return f"{m:.{digits}f}" if len(values) == 1 else f"{m:.{digits}f} ± {s:.{digits}f}"


def markdown(rows, schedule_rows, seconds):
    from benchmarks._report import machine_line

    seeds = sorted({r["seed"] for r in rows})
    lines = [
        "### ProxAdamW against ProxSGD (`python -m benchmarks.nn_optim`)",
        "",
        f"Mean ± sd over seeds {', '.join(map(str, seeds))} (one value: seed 0 only); the same λ for every "
        "optimizer; L1 on the "
        "weight matrices and kernels; objective = mean training cross-entropy + λ·Σ|w|. See the module "
        "docstring for the networks.",
        "",
        "| network (λ, epochs) | optimizer | exact zeros (%) | test accuracy (%) | penalized objective |",
        "|---|---|---:|---:|---:|",
    ]
    for problem, (_, _, lam, epochs, sched) in PROBLEMS.items():
        label = f"{problem} (λ {lam:g}, {epochs} epochs" + (
            f", {sched[0]} dense + {sched[1]} ramp" if sched else "") + ")"
        for opt in list(OPTIMIZERS) + list(DENSE):
            sel = [r for r in rows if r["problem"] == problem and r["optimizer"] == opt]
            if not sel:
                continue
            zeros = "—" if opt in DENSE else _fmt(r["zero_fraction"] for r in sel)
            obj = _mean_sd(r["objective"] for r in sel)
            obj_text = "—" if opt in DENSE else (f"{obj[0]:.3f}" if len(sel) == 1 else f"{obj[0]:.3f} ± {obj[1]:.3f}")
            lines.append(f"| {label} | {opt} | {zeros} | {_fmt((r['test_accuracy'] for r in sel), digits=2)} "
                         f"| {obj_text} |")
    if schedule_rows:
        lines += [
            "",
            "The λ schedule on the transformer (ProxAdamW, lr 1e-3, seed 0, 40 epochs): L1 from the first "
            "step against `LambdaSchedule` (12 dense epochs, then a 12-epoch ramp):",
            "",
            "| λ | schedule | exact zeros (%) | test token accuracy (%) | penalized objective |",
            "|---:|---|---:|---:|---:|",
        ]
        for r in schedule_rows:
            lines.append(f"| {r['lam']:g} | {r['schedule']} | {100 * r['zero_fraction']:.1f} "
                         f"| {100 * r['test_accuracy']:.2f} | {r['objective']:.3f} |")
    lines += ["", f"Seconds per run are in the CSV (a shared 2-core machine). {machine_line()}"]
    return "\n".join(lines)


FRONTIER_LAMS = (3e-4, 1e-3, 3e-3, 1e-2)


def frontier(write):
    problem = SHORT["mlp"]
    rows = []
    for lam in FRONTIER_LAMS:
        for seed in SEEDS:
            for opt in OPTIMIZERS:
                rows.append(train(problem, opt, seed, lam=lam))
        for opt in OPTIMIZERS:
            sel = [r for r in rows if r["lam"] == lam and r["optimizer"] == opt]
            print(f"λ {lam:g} {opt:38s} zeros {_fmt(r['zero_fraction'] for r in sel)}  "
                  f"test {_fmt((r['test_accuracy'] for r in sel), digits=2)}", flush=True)
    lines = ["### The sparsity–accuracy frontier on the MLP (`python -m benchmarks.nn_optim --frontier`)", "",
             f"{problem}, 40 epochs, mean ± sd over seeds {', '.join(map(str, SEEDS))}; each cell: exact zeros (%) / "
             "test accuracy (%) / penalized objective.", "",
             "| optimizer | " + " | ".join(f"λ = {lam:g}" for lam in FRONTIER_LAMS) + " |",
             "|---|" + "---:|" * len(FRONTIER_LAMS)]
    for opt in OPTIMIZERS:
        cells = []
        for lam in FRONTIER_LAMS:
            sel = [r for r in rows if r["lam"] == lam and r["optimizer"] == opt]
            z, a = _mean_sd(100 * r["zero_fraction"] for r in sel), _mean_sd(100 * r["test_accuracy"] for r in sel)
            o = _mean_sd(r["objective"] for r in sel)
            cells.append(f"{z[0]:.1f} / {a[0]:.2f} / {o[0]:.3f}")
        lines.append(f"| {opt} | " + " | ".join(cells) + " |")
    md = "\n".join(lines)
    print(md)
    if write:
        path = CSV.with_name("nn_optim_frontier.csv")
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["optimizer", "lam", "seed", "zero_fraction", "test_accuracy",
                                                    "objective"], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        from benchmarks._report import write_section

        write_section("nn-optim-frontier", md, doc=DOC)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--quick", action="store_true", help="seed 0 only, no schedule part")
    parser.add_argument("--frontier", action="store_true", help="the λ sweep on the MLP instead")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in the CSV")
    parser.add_argument("--problems", default="mlp,cnn,transformer", help="comma-separated subset of "
                        "mlp, cnn, transformer")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.frontier:
        return frontier(not args.no_write)
    t0 = time.perf_counter()
    fields = ["problem", "optimizer", "seed", "lam", "epochs", "schedule", "zero_fraction", "test_accuracy",
              "train_accuracy", "objective", "seconds"]
    done = []
    if args.resume and CSV.exists():
        with CSV.open() as fh:
            for r in csv.DictReader(fh):
                r.update({k: float(r[k]) for k in ("lam", "zero_fraction", "test_accuracy", "objective")},
                         seed=int(r["seed"]), epochs=int(r["epochs"]))
                done.append(r)
    elif not args.no_write:
        CSV.parent.mkdir(parents=True, exist_ok=True)
        with CSV.open("w", newline="") as fh:
            csv.DictWriter(fh, fieldnames=fields).writeheader()

    def record(r):
        if not args.no_write:
            with CSV.open("a", newline="") as fh:
                csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore").writerow({"schedule": "", **r})

    def find(problem, opt, seed, schedule=""):
        return next((r for r in done if (r["problem"], r["optimizer"], r["seed"], r["schedule"] or "")
                     == (problem, opt, seed, schedule)), None)

    rows = [r for r in done if not r["schedule"]]
    chosen = [SHORT[k] for k in args.problems.split(",")]
    for problem in chosen:
        if PROBLEMS[problem][0] is mnist1d:
            from importlib.util import find_spec

            if find_spec("mnist1d") is None:
                print(f"SKIP {problem}: pip install mnist1d (the 'bench' extra)")
                continue
        names = list(OPTIMIZERS) + ([] if problem.startswith("transformer") else list(DENSE))
        seeds = TRANSFORMER_SEEDS if problem.startswith("transformer") else SEEDS
        for seed in seeds[:1] if args.quick else seeds:
            for opt in names:  # interleaved: every optimizer sees the same machine load
                if find(problem, opt, seed) is not None:
                    continue
                r = train(problem, opt, seed)
                rows.append(r)
                record(r)
                print(f"{problem:32s} {opt:38s} seed {seed}: zeros {100 * r['zero_fraction']:5.1f}%  "
                      f"test {100 * r['test_accuracy']:6.2f}%  objective {r['objective']:.4f}  "
                      f"({r['seconds']:.0f} s)", flush=True)
    schedule_rows = [r for r in done if r["schedule"]]
    if not args.quick and "transformer, sequence reversal" in chosen:
        for lam in (1e-5, 1e-4, 1e-3):
            for sched, label in ((None, "L1 from step 0"), ((12, 12), "12 dense epochs, 12-epoch ramp")):
                problem, opt = "transformer, sequence reversal", "ProxAdamW (lr 1e-3)"
                if any(r["lam"] == lam and r["schedule"] == label for r in schedule_rows):
                    continue
                same = find(problem, opt, 0) if sched == PROBLEMS[problem][4] and lam == PROBLEMS[problem][2] else None
                if same is None:
                    same = next((r for r in rows if (r["problem"], r["optimizer"], r["seed"], r["lam"])
                                 == (problem, opt, 0, lam) and sched == PROBLEMS[problem][4]), None)
                if same is not None:  # the main table's run: the same training
                    schedule_rows.append({**same, "schedule": label})
                    continue
                r = train(problem, opt, 0, lam=lam, schedule_epochs=sched)
                r["schedule"] = label
                schedule_rows.append(r)
                record(r)
                print(f"schedule: λ {lam:g} {label:32s} zeros {100 * r['zero_fraction']:5.1f}%  "
                      f"test {100 * r['test_accuracy']:6.2f}%  objective {r['objective']:.4f}", flush=True)
    schedule_rows.sort(key=lambda r: (r["lam"], r["schedule"] != "L1 from step 0"))
    md = markdown(rows, schedule_rows, time.perf_counter() - t0)
    print(md)
    if not args.no_write:
        from benchmarks._report import write_section

        write_section("nn-optim", md, doc=DOC)


if __name__ == "__main__":
    main()
