"""Model zoo coverage of ``penalized.nn``: coupled structures and ``prune`` on torchvision and timm models.

For every model of :data:`benchmarks.nn_zoo_models.ZOO` (untrained, 10 classes, small images):

1. Torch-Pruning's own ``tp.DependencyGraph().build_dependency(model, example_inputs=x)``,
   timed, then its ``get_all_groups()`` (what a Torch-Pruning pruner enumerates), timed;
2. ``pz.nn.Regularizer(model, pz.GroupL1(1e-3), example_inputs=x)``, timed (its trace runs both
   of the above, then classifies the widths and builds the coupled groups);
3. a third of the structures (seeded at random) set to exactly zero, ``pz.nn.prune(model,
   example_inputs=x)``, the eval outputs of the original and the pruned model compared here
   (independently of prune's own check) and the multiply-adds (``pz.nn.count_macs``) before
   and after.

A step that raises is reported with its exception type and message: the claim is that every
model either works or raises a ValueError/TypeError/PruneError naming the module and the
reason. Run ``python -m benchmarks.nn_zoo`` (all models; ``--models a,b`` for some;
``--write`` puts the table in ``docs/nn.md``). A model whose Torch-Pruning search runs away
(swin_t) is stopped by :mod:`penalized.nn.zoo_guard`'s budget; ``--tp-budget`` bounds the
Torch-Pruning side the same way (a subprocess with an address-space limit is not used: the
watchdog measures resident memory).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import torch

from benchmarks.nn_zoo_models import ZOO, build

ZERO_SHARE = 1 / 3


def _time(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _error(exc):
    msg = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {msg}"


def torch_pruning_times(model, x, seconds=None):
    """``(build s, get_all_groups s, number of groups)`` of Torch-Pruning's own graph (``None``s on failure)."""
    import torch_pruning as tp

    from penalized.nn import zoo_guard

    def run(model, x):
        dg, t_build = _time(lambda: tp.DependencyGraph().build_dependency(model, example_inputs=x))
        groups, t_groups = _time(lambda: list(dg.get_all_groups()))
        return t_build, t_groups, len(groups)

    guarded = zoo_guard.graph_budget(run)
    old = zoo_guard.MAX_GRAPH_SECONDS
    zoo_guard.MAX_GRAPH_SECONDS = seconds if seconds is not None else old
    try:
        return guarded(model, x), ""
    except Exception as exc:  # Torch-Pruning's own failure, reported as is
        return (None, None, None), _error(exc)
    finally:
        zoo_guard.MAX_GRAPH_SECONDS = old


def zero_some(reg, share=ZERO_SHARE, seed=0):
    """Set ``share`` of the coupled structures of ``reg`` to exactly zero; returns how many."""
    groups = reg._coupled.groups
    k = groups.n_groups
    chosen = torch.randperm(k, generator=torch.Generator().manual_seed(seed))[: int(k * share)]
    keep = torch.ones(k)
    keep[chosen] = 0.0
    with torch.no_grad():
        for p, f in zip(groups.params, groups.expand(keep, 1.0), strict=True):
            p.mul_(f.to(p.dtype))
    return len(chosen)


def same_outputs(a, b, x):
    with torch.no_grad():
        ya, yb = a.eval()(x), b.eval()(x)
    return ya.shape == yb.shape and bool(torch.allclose(ya, yb, rtol=1e-4, atol=1e-5 * max(1.0, float(ya.abs().max()))))


def run_model(name, tp_seconds=None):
    """One row of the table (a dict)."""
    import penalized as pz

    built = build(name)
    if built is None:
        return {"model": name, "status": "skipped: package missing"}
    model, x = built
    row = {"model": name, "params": sum(p.numel() for p in model.parameters())}
    (row["tp_build_s"], row["tp_groups_s"], row["tp_groups"]), row["tp_error"] = torch_pruning_times(
        model, x, tp_seconds)
    model, x = build(name)  # a fresh copy: Torch-Pruning's trace leaves nothing, but be sure
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reg, row["ours_s"] = _time(lambda: pz.nn.Regularizer(model, pz.GroupL1(1e-3), example_inputs=x))
        except Exception as exc:
            row["status"] = _error(exc)
            return row
        row["structures"] = reg._coupled.groups.n_groups
        row["zeroed"] = zero_some(reg)
        row["macs_before"] = pz.nn.count_macs(model, x)
        try:
            small, row["prune_s"] = _time(lambda: pz.nn.prune(model, example_inputs=x))
        except Exception as exc:
            row["status"] = "prune: " + _error(exc)
            return row
    row["macs_after"] = pz.nn.count_macs(small, x)
    row["params_after"] = sum(p.numel() for p in small.parameters())
    row["same_outputs"] = same_outputs(model, small, x)
    row["status"] = "works" if row["same_outputs"] and row["macs_after"] < row["macs_before"] else "WRONG"
    return row


def _fmt(v, spec):
    return "—" if v is None else format(v, spec)


def _short(message, limit=200):
    """A table cell: the exception type and the start of its message."""
    if "was stopped:" in message:  # the graph budget: say what fired
        return message.split(". ", 1)[0].replace("tracing the coupled structures of ", "")
    return message if len(message) <= limit else message[: limit - 3] + "..."


def markdown(rows, command):
    from benchmarks._report import machine_line

    lines = [f"{machine_line().rstrip('.')}. Command: `{command}`.", "",
             "| model | result | structures | ours: Regularizer (s) | Torch-Pruning: build + get_all_groups (s) "
             "| MACs before → after prune | params before → after |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        status = _short(r["status"])
        tp_time = (f"{_fmt(r.get('tp_build_s'), '.2f')} + {_fmt(r.get('tp_groups_s'), '.2f')}"
                   if r.get("tp_build_s") is not None else "fails: " + _short(r.get("tp_error", "")))
        macs = (f"{r['macs_before'] / 1e6:.1f} M → {r['macs_after'] / 1e6:.1f} M" if "macs_after" in r else "—")
        params = (f"{r['params'] / 1e6:.2f} M → {r['params_after'] / 1e6:.2f} M" if "params_after" in r else
                  f"{r.get('params', 0) / 1e6:.2f} M")
        status = status.replace("|", "\\|")
        lines.append(f"| {r['model']} | {status} | {r.get('structures', '—')} | {_fmt(r.get('ours_s'), '.2f')} "
                     f"| {tp_time} | {macs} | {params} |")
    return "\n".join(lines)


def write_docs(table, path="docs/nn.md"):
    start, end = "<!-- nn_zoo:start -->", "<!-- nn_zoo:end -->"
    with open(path) as f:
        text = f.read()
    if start not in text:
        raise ValueError(f"{path} has no {start} … {end} block")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + start + "\n" + table + "\n" + end + tail)


def _warm_up():
    """Imports and first calls outside the timings."""
    import penalized as pz

    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    pz.nn.Regularizer(net, pz.GroupL1(1e-3), example_inputs=torch.randn(2, 3))
    torch_pruning_times(net, torch.randn(2, 3))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(ZOO), help="comma-separated names of ZOO")
    parser.add_argument("--tp-budget", type=float, default=120.0, help="seconds allowed to Torch-Pruning's side")
    parser.add_argument("--memory-gib", type=float, default=None,
                        help="memory growth allowed to each trace, ours and Torch-Pruning's (default: zoo_guard's)")
    parser.add_argument("--write", action="store_true", help="write the table into docs/nn.md")
    args = parser.parse_args(argv)
    if args.memory_gib is not None:
        from penalized.nn import zoo_guard

        zoo_guard.MAX_GRAPH_MEMORY = int(args.memory_gib * 2**30)
    torch.set_num_threads(1)
    _warm_up()
    rows = []
    for name in args.models.split(","):
        row = run_model(name, args.tp_budget)
        print(row, flush=True)
        rows.append(row)
    command = "python -m benchmarks.nn_zoo " + " ".join(argv if argv is not None else sys.argv[1:])
    table = markdown(rows, command)
    print(table)
    if args.write:
        write_docs(table)
    return rows


if __name__ == "__main__":
    main()
