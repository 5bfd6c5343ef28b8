"""Check penalized.nn on a GPU: correctness on CUDA, then ProxAdamW vs AdamW step time.

    python benchmarks/nn_cuda_check.py            # on CUDA (exit 0 = all PASS, 1 = a FAIL, 2 = no CUDA)
    python benchmarks/nn_cuda_check.py --device cpu   # the same checks on the CPU

Self-contained (needs torch and the repository's ``src`` or an installed penalized) and
short (about 3 minutes on one GPU, the first fused steps compile). Checks, each printed PASS/FAIL:

1. device-agnostic: values, prox and optimizer state live on the parameter's device and
   dtype (float32, float64, bfloat16), CUDA results equal the CPU ones;
2. exact zeros: ProxSGD/ProxAdamW with L1 give exact zeros on CUDA, Adam on the
   subgradient does not;
3. ``Regularizer(L2(λ))`` + SGD equals ``SGD(weight_decay=2λ)`` step for step on CUDA;
4. ``state_dict`` round trip (``torch.load(weights_only=True)``) resumes bit-identically;
5. ``prune`` of a GroupL1-trained MLP and of a conv net gives the same outputs on CUDA;
6. the fused ProxAdamW step (``torch.compile`` of the whole update, the default on CUDA)
   equals the multi-tensor step to rounding (no penalty, L1 in both metrics, L1L2, decay,
   maximize), with the same exact zeros;
7. the same with a coupled GroupL1 (``Regularizer(..., example_inputs=x)``, ``fused=True``:
   the compiled Adam step and block prox of :mod:`penalized.nn.coupled_fused`);
8. timing: ``opt.step()`` and a whole training step of ProxAdamW + L1 and + coupled GroupL1
   (fused, and the multi-tensor path) against AdamW (default = foreach on CUDA, and fused), CUDA events,
   medians; on CUDA a FAIL if the fused ProxAdamW + L1 ``opt.step()`` on the 25 M-parameter
   MLP costs more than 1.10× AdamW's default step.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import traceback
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
if SRC.is_dir():
    sys.path.insert(0, str(SRC))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.nn import ProxAdamW, ProxSGD, Regularizer, prune, sparsity_report  # noqa: E402

RESULTS = []
# the fused ProxAdamW step compiles one graph per group layout (flags, number of tensors, dtype);
# this script builds more layouts than a training run does
for _name in ("cache_size_limit", "recompile_limit"):
    if hasattr(torch._dynamo.config, _name):
        setattr(torch._dynamo.config, _name, 64)


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


def mlp(dev, dtype=torch.float32, sizes=(64, 256, 256, 10), seed=0):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).to(device=dev, dtype=dtype)


def data(dev, dtype=torch.float32, n=256, d=64, k=10, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype)
    y = (x[:, :k].argmax(1) + (x[:, k:2 * k].sum(1) > 0).long()) % k  # learnable labels
    return x.to(dev), y.to(dev)


def fit(model, opt, x, y, steps, reg=None, batch=64):
    for i in range(steps):
        j = (i * batch) % x.shape[0]
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x[j:j + batch]), y[j:j + batch])
        if reg is not None:
            loss = loss + reg()
        loss.backward()
        opt.step()
    return model


def assert_on(tensor, dev, dtype=None):
    assert tensor.device.type == torch.device(dev).type, f"{tensor.device} is not {dev}"
    if dtype is not None:
        assert tensor.dtype == dtype, f"{tensor.dtype} is not {dtype}"


@check("device-agnostic: penalties, Regularizer, optimizer state on the parameter's device/dtype")
def device_agnostic(dev):
    penalties = [pz.L1(0.05), pz.L2(0.1), pz.L1L2(l1=0.05, l2=0.1), pz.GroupL1(0.3),
                 pz.GroupL1(0.3, groups=[0, 0, 1, 1, 2, 2, 2, 3]), pz.L1(0.05, weights=[1.0] * 4 + [0.0] * 4)]
    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        w_cpu = torch.randn(8, 5, generator=g).to(dtype)
        d_cpu = (torch.rand(8, 5, generator=g) + 0.2).to(dtype)
        tol = dict(rtol=2e-2, atol=2e-2) if dtype == torch.bfloat16 else dict(rtol=1e-5, atol=1e-6)
        for pen in penalties:
            w, d = w_cpu.to(dev), d_cpu.to(dev)
            v = pen.value(w)
            assert_on(v, dev, dtype)
            torch.testing.assert_close(v.cpu(), pen.value(w_cpu), **tol)
            for denom in (None, d):
                z = pen.prox_(w.clone(), 0.3, denom)
                z_cpu = pen.prox_(w_cpu.clone(), 0.3, None if denom is None else d_cpu)
                assert_on(z, dev, dtype)
                torch.testing.assert_close(z.cpu(), z_cpu, **tol)
            assert_on(pen.subdiff_distance(w, w * 0.1), dev)
    model = mlp(dev)
    reg = Regularizer(model, {"0.weight": pz.GroupL1(1e-3), "*": pz.L1(1e-4)})
    assert_on(reg(), dev, torch.float32)
    x, y = data(dev)
    for make in (lambda g: ProxAdamW(g, lr=1e-3), lambda g: ProxAdamW(g, lr=1e-3, foreach=False),
                 lambda g: ProxSGD(g, lr=0.05, momentum=0.9)):
        model = mlp(dev)
        opt = make(Regularizer(model, pz.L1(1e-3)).param_groups())
        fit(model, opt, x, y, 5)
        for p in model.parameters():
            assert_on(p, dev, torch.float32)
            for key, s in opt.state[p].items():
                if torch.is_tensor(s) and key != "step":
                    assert_on(s, dev, torch.float32)
    # the same float64 training on CPU and on the device agrees
    out = []
    for where in ("cpu", dev):
        model = mlp(where, torch.float64)
        groups = Regularizer(model, {"0.weight": pz.GroupL1(3e-3), "*": pz.L1(1e-3)}).param_groups()
        fit(model, ProxAdamW(groups, lr=1e-3), *data(where, torch.float64), steps=20)
        out.append([p.detach().cpu() for p in model.parameters()])
    for a, b in zip(*out, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)
        assert torch.equal(a == 0, b == 0), "CPU and device disagree on the exact zeros"
    return "float32/float64/bfloat16; CPU and device float64 trainings agree, same zeros"


@check("exact zeros with ProxSGD/ProxAdamW + L1, none with the subgradient")
def exact_zeros(dev):
    x, y = data(dev)
    fractions = {}
    for label, make in (("ProxAdamW", lambda g: ProxAdamW(g, lr=1e-3)),
                        ("ProxAdamW for-loop", lambda g: ProxAdamW(g, lr=1e-3, foreach=False)),
                        ("ProxSGD", lambda g: ProxSGD(g, lr=0.05, momentum=0.9))):
        model = mlp(dev)
        reg = Regularizer(model, pz.L1(1e-3))
        fit(model, make(reg.param_groups()), x, y, 100)
        rep = sparsity_report(model)
        fractions[label] = rep.zero_fraction
        assert rep.zero_fraction > 0.3, f"{label}: only {rep.zero_fraction:.1%} exact zeros"
        assert all(int((p == 0).sum()) == 0 for n, p in model.named_parameters() if n.endswith("bias"))
    model = mlp(dev)
    reg = Regularizer(model, pz.L1(1e-3))
    fit(model, torch.optim.Adam(model.parameters(), lr=1e-3), x, y, 100, reg=reg)
    sub = sparsity_report(model).zero_fraction
    assert sub < 1e-3, f"subgradient gave {sub:.2%} exact zeros"
    return ", ".join(f"{k} {v:.1%}" for k, v in fractions.items()) + f"; subgradient {sub:.3%}"


@check("Regularizer(L2(lam)) + SGD == SGD(weight_decay=2*lam), step for step")
def sgd_equivalence(dev):
    lam = 0.01
    x, y = data(dev)
    worst = 0.0
    for momentum in (0.0, 0.9):
        a, b = mlp(dev), mlp(dev)
        reg = Regularizer(a, pz.L2(lam))
        opt_a = torch.optim.SGD(a.parameters(), lr=0.05, momentum=momentum)
        weights = [m.weight for m in b if isinstance(m, nn.Linear)]
        biases = [m.bias for m in b if isinstance(m, nn.Linear)]
        opt_b = torch.optim.SGD([{"params": weights, "weight_decay": 2 * lam}, {"params": biases}], lr=0.05,
                                momentum=momentum)
        for i in range(10):
            fit(a, opt_a, x[i * 16:], y[i * 16:], 1, reg=reg)
            fit(b, opt_b, x[i * 16:], y[i * 16:], 1)
            for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
                torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)
                worst = max(worst, float((pa - pb).detach().abs().max()))
    return f"10 steps, momentum 0 and 0.9, max |difference| {worst:.1e}"


@check("state_dict round trip (torch.load weights_only=True) resumes identically")
def state_dict_round_trip(dev):
    x, y = data(dev)
    for label, make in (("ProxAdamW", lambda g: ProxAdamW(g, lr=1e-3, schedule=lambda s: min(1.0, s / 5))),
                        ("ProxSGD", lambda g: ProxSGD(g, lr=0.05, momentum=0.9))):
        a = mlp(dev)
        groups = lambda m: Regularizer(m, {"0.weight": pz.GroupL1(1e-3), "*": pz.L1(1e-3)}).param_groups()  # noqa: E731
        opt_a = make(groups(a))
        fit(a, opt_a, x, y, 7)
        buf = io.BytesIO()
        torch.save({"model": a.state_dict(), "opt": opt_a.state_dict()}, buf)
        buf.seek(0)
        saved = torch.load(buf, weights_only=True, map_location=dev)
        b = mlp(dev, seed=123)
        b.load_state_dict(saved["model"])
        opt_b = make(groups(b))
        opt_b.load_state_dict(saved["opt"])
        fit(a, opt_a, x, y, 7)
        fit(b, opt_b, x, y, 7)
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.equal(pa, pb), f"{label}: resumed training differs"
    return "ProxAdamW (GroupL1 + L1, warm-up schedule) and ProxSGD"


@check("prune: same outputs on the device (GroupL1-trained MLP, conv net)")
def prune_equivalence(dev):
    x, y = data(dev)
    model = mlp(dev)
    reg = Regularizer(model, {"0.weight": pz.GroupL1(5e-3), "2.weight": pz.GroupL1(5e-3)})
    fit(model, ProxAdamW(reg.param_groups(), lr=3e-3), x, y, 150)
    pruned = prune(model)
    model.eval()
    pruned.eval()
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x), rtol=1e-4, atol=1e-4)
    removed = model[0].out_features + model[2].out_features - pruned[0].out_features - pruned[2].out_features
    assert removed > 0, "no neuron removed"
    assert next(pruned.parameters()).device.type == torch.device(dev).type
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(32, 5)).to(dev)
    conv(torch.randn(8, 3, 16, 16, device=dev))  # running statistics
    conv.eval()
    with torch.no_grad():
        conv[0].weight[::3] = 0.0
        conv[0].bias.uniform_(0.1, 0.3)
        conv[4].weight[1::2] = 0.0
    pruned_conv = prune(conv)
    xi = torch.randn(4, 3, 16, 16, device=dev)
    with torch.no_grad():
        torch.testing.assert_close(pruned_conv(xi), conv(xi), rtol=1e-4, atol=1e-4)
    channels = [f"{conv[i].out_channels}->{pruned_conv[i].out_channels}" for i in (0, 4)]
    return f"MLP: {removed}/512 hidden neurons removed; conv channels {channels[0]} and {channels[1]}"


@check("fused ProxAdamW step (torch.compile) == multi-tensor step, same exact zeros")
def fused_equivalence(dev):
    x, y = data(dev)
    worst, zeros = 0.0, 0
    cases = [(None, "capped", 0.0, False), (pz.L1(1e-3), "capped", 0.01, False), (pz.L1(1e-3), "adam", 0.0, False),
             (pz.L1L2(l1=1e-3, l2=1e-2), "capped", 0.0, True)]
    for penalty, metric, wd, maximize in cases:
        models = []
        for fused in (False, True):
            model = mlp(dev)
            groups = (Regularizer(model, penalty).param_groups() if penalty is not None
                      else [{"params": list(model.parameters())}])
            opt = ProxAdamW(groups, lr=3e-3, weight_decay=wd, metric=metric, fused=fused, maximize=maximize)
            for i in range(30):
                j = (i * 64) % x.shape[0]
                opt.zero_grad(set_to_none=True)
                loss = nn.functional.cross_entropy(model(x[j:j + 64]), y[j:j + 64])
                (-loss if maximize else loss).backward()
                opt.step()
            models.append(model)
        for pa, pb in zip(models[0].parameters(), models[1].parameters(), strict=True):
            torch.testing.assert_close(pb, pa, rtol=1e-4, atol=1e-5)
            worst = max(worst, float((pa - pb).detach().abs().max()))
            agree = float(((pa == 0) == (pb == 0)).float().mean())
            assert agree >= 0.999, f"{penalty}, {metric}: exact zeros agree on only {agree:.2%}"
            zeros += int((pb == 0).sum())
    assert zeros > 0, "the fused L1 runs made no exact zero"
    return f"4 settings x 30 steps, max |difference| {worst:.1e}, {zeros} exact zeros"


@check("ProxAdamW(fused=True) with a coupled GroupL1 (compiled block prox) == multi-tensor step, same zeros")
def coupled_fused_equivalence(dev):
    x, y = data(dev)
    models, norms = [], []
    for fused in (False, True):
        model = mlp(dev)
        reg = Regularizer(model, pz.GroupL1(1e-3), example_inputs=x[:2])  # about half of the groups die
        opt = ProxAdamW(reg.param_groups(), lr=3e-3, fused=fused)
        for i in range(30):
            j = (i * 64) % x.shape[0]
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x[j:j + 64]), y[j:j + 64]).backward()
            opt.step()
        models.append(model)
        norms.append(opt.param_groups[0]["penalty"].groups.norms())
    for pa, pb in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(pb, pa, rtol=1e-4, atol=1e-5)
    dead = [int((n == 0).sum()) for n in norms]
    agree = float(((norms[0] == 0) == (norms[1] == 0)).float().mean())
    assert agree >= 0.99, f"dead groups agree on only {agree:.2%}"
    assert 0 < dead[1] < norms[1].numel(), "no group died, or all did: the check compares nothing"
    return f"30 steps, {dead[0]} / {dead[1]} dead groups of {norms[0].numel()}"


def _time_steps(dev, sizes, batch, reps=200):
    """Median µs of opt.step() and of a whole step; contenders take turns in blocks of 10."""
    x = torch.randn(batch, sizes[0], device=dev)
    y = torch.randint(0, sizes[-1], (batch,), device=dev)
    contenders = {}
    for label, kwargs in (("AdamW (default)", {}), ("AdamW fused", {"fused": True})):
        model = mlp(dev, sizes=sizes)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0, **kwargs)
        contenders[label] = (model, opt)
    model = mlp(dev, sizes=sizes)
    contenders["ProxAdamW + L1"] = (model, ProxAdamW(Regularizer(model, pz.L1(1e-5)).param_groups(), lr=1e-3))
    model = mlp(dev, sizes=sizes)
    contenders["ProxAdamW + L1 multi-tensor"] = (
        model, ProxAdamW(Regularizer(model, pz.L1(1e-5)).param_groups(), lr=1e-3, fused=False))
    model = mlp(dev, sizes=sizes)
    hidden_rows = Regularizer(model, pz.GroupL1(1e-4), exclude=f"{2 * (len(sizes) - 2)}.weight")
    contenders["ProxAdamW + GroupL1"] = (model, ProxAdamW(hidden_rows.param_groups(), lr=1e-3))
    for label, fused in (("ProxAdamW + coupled GroupL1 fused", True), ("ProxAdamW + coupled multi-tensor", False)):
        model = mlp(dev, sizes=sizes)
        coupled = Regularizer(model, pz.GroupL1(1e-4), example_inputs=x[:2])
        contenders[label] = (model, ProxAdamW(coupled.param_groups(), lr=1e-3, fused=fused))
    cuda = torch.device(dev).type == "cuda"
    opt_only = {k: [] for k in contenders}
    full = {k: [] for k in contenders}

    def backward(model, opt):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()

    def timed(fn):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return 1e3 * start.elapsed_time(end)
        t0 = time.perf_counter()
        fn()
        return 1e6 * (time.perf_counter() - t0)

    for model, opt in contenders.values():
        for _ in range(10):
            backward(model, opt)
            opt.step()
    for _ in range(reps // 10):
        for label, (model, opt) in contenders.items():
            backward(model, opt)
            for _ in range(10):
                opt_only[label].append(timed(opt.step))
            for _ in range(10):
                full[label].append(timed(lambda m=model, o=opt: (backward(m, o), o.step())))
    return ({k: statistics.median(v) for k, v in opt_only.items()},
            {k: statistics.median(v) for k, v in full.items()})


TIMING_TARGET = 1.10  # fused ProxAdamW + L1 opt.step() / AdamW's default step, 25 M-parameter MLP, CUDA


def timing(dev):
    lines, ratio = [], None
    for sizes, batch in (((64, 256, 256, 10), 64), ((1024, 4096, 4096, 1000), 256)):
        opt_only, full = _time_steps(dev, sizes, batch)
        n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        lines.append(f"MLP {'-'.join(map(str, sizes))} ({n / 1e6:.2f} M params), batch {batch}:")
        for k in opt_only:
            r1, r2 = opt_only[k] / opt_only["AdamW (default)"], full[k] / full["AdamW (default)"]
            r3 = opt_only[k] / opt_only["AdamW fused"]
            lines.append(f"  {k:28s} opt.step {opt_only[k]:9.1f} us ({r1:.2f}x AdamW, {r3:.2f}x AdamW fused)   "
                         f"whole step {full[k]:9.1f} us ({r2:.2f}x AdamW)")
        ratio = opt_only["ProxAdamW + L1"] / opt_only["AdamW (default)"]
    return "\n".join(lines), ratio


@check(f"fused ProxAdamW + L1 opt.step() <= {TIMING_TARGET}x AdamW's on the 25 M-parameter MLP (CUDA)")
def timing_check(dev):
    report, ratio = timing(dev)
    print("\nTiming:\n" + report, flush=True)
    if torch.device(dev).type == "cuda":
        assert ratio <= TIMING_TARGET, f"{ratio:.2f}x AdamW's opt.step()"
    return f"{ratio:.2f}x AdamW's default opt.step()"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("SKIP: CUDA is not available (use --device cpu to run the checks on the CPU).")
        return 2
    t0 = time.perf_counter()
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"penalized.nn checks on {args.device} ({name}); torch {torch.__version__}", flush=True)
    for fn in (device_agnostic, exact_zeros, sgd_equivalence, state_dict_round_trip, prune_equivalence,
               fused_equivalence, coupled_fused_equivalence):
        fn(args.device)
    if not args.no_timing:
        timing_check(args.device)
    failed = [r for r in RESULTS if r[1] == "FAIL"]
    print("\n==== SUMMARY ====")
    for check_name, status, detail in RESULTS:
        print(f"{status}  {check_name}" + (f"  -- {detail}" if status == "FAIL" else ""))
    print(f"{'ALL PASS' if not failed else f'{len(failed)} FAIL'} "
          f"({len(RESULTS) - len(failed)}/{len(RESULTS)} checks, {time.perf_counter() - t0:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
