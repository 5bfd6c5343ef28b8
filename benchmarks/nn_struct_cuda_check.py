"""Check penalized.nn's coupled structures on a GPU: the coupled prox, prune, costs, checkpoints.

    python benchmarks/nn_struct_cuda_check.py              # on CUDA (exit 0 = all PASS, 1 = a FAIL, 2 = no CUDA)
    python benchmarks/nn_struct_cuda_check.py --device cpu # the same checks on the CPU

Short (about a minute). Each check printed PASS/FAIL:

1. the coupled prox on the device equals the CPU's (float64): ``Regularizer(..., example_inputs=x)``
   with ``GroupL1`` and with ``L1 + GroupL1``, ProxSGD (block soft-thresholding) and ProxAdamW
   (diagonal metric), 12 steps on a CNN with BatchNorm, a 1-D ResNet and a transformer block;
   the same groups end exactly at zero;
2. ``prune(model, example_inputs=x)`` of those trained nets on the device: same outputs, tensors
   on the device;
3. ``structure_costs`` / ``count_macs`` on the device equal the CPU's;
4. a checkpoint of ProxAdamW with a coupled penalty loads with ``torch.load(weights_only=True,
   map_location=device)`` and resumes bit-identically on the device.
"""

from __future__ import annotations

import argparse
import copy
import io
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "src", ROOT / "tests"):
    if path.is_dir():
        sys.path.insert(0, str(path))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import ProxAdamW, ProxSGD, Regularizer, count_macs, prune, structure_costs  # noqa: E402

RESULTS = []
ARCHS = ("cnn_bn", "resnet1d", "transformer")


def check(name):
    def wrap(fn):
        def run(dev):
            t0 = time.perf_counter()
            try:
                detail = fn(dev) or ""
                RESULTS.append((name, "PASS", detail))
            except Exception as exc:  # report and go on with the other checks
                traceback.print_exc()
                RESULTS.append((name, "FAIL", f"{type(exc).__name__}: {exc}"))
            status, detail = RESULTS[-1][1:]
            print(f"[{status}] {name} ({time.perf_counter() - t0:.1f} s) {detail}", flush=True)
        return run
    return wrap


def model_and_data(arch, dev, dtype=torch.float64, seed=1):
    from _nn_models import make

    model, x = make(arch, seed=seed)
    torch.manual_seed(seed)
    xs = torch.randn(64, *x.shape[1:])
    y = torch.randint(0, model(xs[:2]).shape[-1], (64,))
    return model.to(dev, dtype), x.to(dev, dtype), xs.to(dev, dtype), y.to(dev)


def train(arch, dev, penalty, optimizer, steps=12):
    model, x, xs, y = model_and_data(arch, dev)
    reg = Regularizer(model, penalty, example_inputs=x)
    opt = (ProxSGD(reg.param_groups(), lr=0.05, momentum=0.9) if optimizer == "sgd"
           else ProxAdamW(reg.param_groups(), lr=0.02))
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xs), y).backward()
        opt.step()
    model.eval()
    return model, reg, x, xs


PENALTIES = {"GroupL1": pz.GroupL1(0.05), "L1 + GroupL1": pz.L1(0.01) + pz.GroupL1(0.05)}


@check("coupled prox on the device equals the CPU's (ProxSGD and ProxAdamW, GroupL1 and L1 + GroupL1)")
def coupled_prox(dev):
    zeros = []
    for arch in ARCHS:
        for label, penalty in PENALTIES.items():
            for optimizer in ("sgd", "adamw"):
                a, reg_a, _, _ = train(arch, dev, penalty, optimizer)
                b, reg_b, _, _ = train(arch, "cpu", penalty, optimizer)
                for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
                    assert pa.device.type == torch.device(dev).type, name
                    torch.testing.assert_close(pa.cpu(), pb, rtol=1e-7, atol=1e-9,
                                               msg=f"{arch} {label} {optimizer}: {name}")
                za = (reg_a._coupled.group_norms() == 0).cpu()
                zb = reg_b._coupled.group_norms() == 0
                assert torch.equal(za, zb), f"{arch} {label} {optimizer}: different zero groups"
                zeros.append(int(za.sum()))
    return f"zero groups per run: {zeros}"


@check("prune(model, example_inputs) on the device: same outputs")
def prune_on_device(dev):
    removed = []
    for arch, lam in zip(ARCHS, (0.05, 0.05, 0.005), strict=True):
        model, _, x, xs = train(arch, dev, pz.GroupL1(lam), "adamw", steps=40)
        pruned = prune(model, example_inputs=xs)
        assert all(p.device.type == torch.device(dev).type for p in pruned.parameters())
        with torch.no_grad():
            torch.testing.assert_close(pruned(xs), model(xs), rtol=1e-6, atol=1e-8)
        removed.append(sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in pruned.parameters()))
    return f"parameters removed: {dict(zip(ARCHS, removed, strict=True))}"


@check("structure_costs and count_macs on the device equal the CPU's")
def costs_on_device(dev):
    out = []
    for arch in ARCHS:
        model, x, _, _ = model_and_data(arch, dev)
        cpu_model = copy.deepcopy(model).cpu()
        assert (structure_costs(model, x) == structure_costs(cpu_model, x.cpu())).all(), arch
        assert count_macs(model, x) == count_macs(cpu_model, x.cpu()), arch
        out.append(count_macs(model, x))
    return f"MACs: {dict(zip(ARCHS, out, strict=True))}"


@check("checkpoint with a coupled penalty: torch.load(weights_only=True) and bit-identical resume")
def checkpoint(dev):
    penalty = PENALTIES["L1 + GroupL1"]

    def build(model, x):
        return ProxAdamW(Regularizer(model, penalty, example_inputs=x).param_groups(), lr=0.02,
                         schedule=lambda s: min(1.0, s / 4))

    def steps(model, opt, xs, y, n):
        model.train()
        for _ in range(n):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xs), y).backward()
            opt.step()

    a, x, xs, y = model_and_data("resnet1d", dev, torch.float32)
    opt_a = build(a, x)
    steps(a, opt_a, xs, y, 5)
    buf = io.BytesIO()
    torch.save({"model": a.state_dict(), "opt": opt_a.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True, map_location=dev)
    b, _, _, _ = model_and_data("resnet1d", dev, torch.float32, seed=7)
    b.load_state_dict(saved["model"])
    opt_b = build(b, x)
    opt_b.load_state_dict(saved["opt"])
    steps(a, opt_a, xs, y, 5)
    steps(b, opt_b, xs, y, 5)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb), "resumed training differs"
    return "ProxAdamW, L1 + GroupL1 on a 1-D ResNet's coupled structures"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("SKIP: CUDA is not available (use --device cpu to run the checks on the CPU).")
        return 2
    t0 = time.perf_counter()
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"coupled-structure checks on {args.device} ({name}); torch {torch.__version__}", flush=True)
    for fn in (coupled_prox, prune_on_device, costs_on_device, checkpoint):
        fn(args.device)
    failed = [r for r in RESULTS if r[1] == "FAIL"]
    print("\n==== SUMMARY ====")
    for check_name, status, detail in RESULTS:
        print(f"{status}  {check_name}" + (f"  -- {detail}" if status == "FAIL" else ""))
    print(f"{'ALL PASS' if not failed else f'{len(failed)} FAIL'} "
          f"({len(RESULTS) - len(failed)}/{len(RESULTS)} checks, {time.perf_counter() - t0:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
