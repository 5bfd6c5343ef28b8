"""Remove zeroed coupled structures from any traceable network (the ``example_inputs`` path of prune).

For every removable width found by :func:`penalized.nn.structures.trace` (a layer's
channels or units with all their coupled slices), unit ``r`` goes when

- every slice that **reads** it is zero (the input columns of all its consumers): its
  value is ignored; or
- every slice that **computes** it is zero (the producers' rows and biases, on a residual
  path every writer's): it is then a constant ``c`` at each consumer's input (through
  normalization, activation, pooling and residual additions), measured on
  ``example_inputs`` and folded into the consumer's bias (``W[:, j]·c``, summed over the
  kernel). A consumer convolution with zero padding would read 0 instead of ``c`` at the
  border, so there the unit goes only if ``c = 0``.

An attention head goes when its out-projection columns or its value rows and bias are
zero (its output is then 0). Torch-Pruning's pruning functions cut the tensors; heads are
cut by :func:`penalized.nn.attention.from_multihead`. The result is checked: its outputs
must equal the original's on ``example_inputs`` (eval mode), or prune raises.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .attention import from_multihead
from .structures import forward, head_slices, trace

__all__ = ["prune_structures", "PruneError"]


class PruneError(RuntimeError):
    """The pruned network's outputs differ from the original's (prune refuses to return it)."""


def _zero_at(slices, r):
    """Whether every slice's entries of unit ``r`` are exactly zero."""
    for s in slices:
        idx = s.index[s.root == r].to(s.param.device)
        if idx.numel() and bool(s.param.detach().index_select(s.dim, idx).ne(0).any()):
            return False
    return True


def _channel_values(module, x, j):
    """The values of input channel ``j`` that ``module`` reads from its input ``x``."""
    if isinstance(module, nn.Linear):
        return x[..., j]
    return x[:, j]


def _foldable(module, const):
    if const == 0:
        return True
    if isinstance(module, nn.Linear):
        return True
    if isinstance(module, nn.modules.conv._ConvNd) and not module.transposed:
        if module.padding_mode != "zeros" or module.padding == "valid":
            return True
        padding = module.padding if isinstance(module.padding, tuple) else (module.padding,)
        return all(p == 0 for p in padding)
    return False


def _record_inputs(net, example_inputs, modules):
    seen = {}

    def hook(module, args):
        if args and torch.is_tensor(args[0]):
            seen.setdefault(module, args[0].detach())

    handles = [m.register_forward_pre_hook(hook) for m in modules]
    try:
        with torch.no_grad():
            forward(net, example_inputs)
    finally:
        for h in handles:
            h.remove()
    return seen


def _constant(values):
    """The common value of ``values`` if they are all equal (to rounding), else None."""
    if values.numel() == 0:
        return 0.0
    lo, hi = float(values.min()), float(values.max())
    if not math.isfinite(lo) or not math.isfinite(hi):
        return None
    scale = max(abs(lo), abs(hi), 1e-30)
    return 0.5 * (lo + hi) if hi - lo <= 1e-6 * scale else None


def _plan_group(cg, inputs):
    """``(remove, folds)``: units to remove and ``(consumer, column index, constant)`` to fold."""
    remove, folds = [], []
    for r in range(cg.width):
        reads = [s for _, s in cg.consumers]
        if _zero_at(reads, r):
            remove.append(r)
            continue
        if not _zero_at([s for s in cg.producers if not s.bias], r):
            continue
        unit_folds, ok = [], True
        for module, s in cg.consumers:
            x = inputs.get(module)
            if x is None:
                ok = False
                break
            for j in s.index[s.root == r].tolist():
                const = _constant(_channel_values(module, x, j))
                if const is None or not _foldable(module, const):
                    ok = False
                    break
                if const != 0:
                    unit_folds.append((module, j, const))
            if not ok:
                break
        if ok:
            remove.append(r)
            folds.extend(unit_folds)
    return remove, folds


def _fold(module, j, const):
    w = module.weight.detach()
    col = w[:, j] if not isinstance(module, nn.Linear) else w[:, j]
    contrib = (col.reshape(col.shape[0], -1).sum(1) if col.ndim > 1 else col) * const
    if module.bias is None:
        module.bias = nn.Parameter(torch.zeros_like(contrib), requires_grad=module.weight.requires_grad)
    with torch.no_grad():
        module.bias.add_(contrib)


def _round(remove, width, round_to):
    """Un-remove units (the last ones planned) so that the kept width is a multiple of round_to."""
    kept = width - len(remove)
    target = min(width, -(-kept // round_to) * round_to)
    extra = target - kept
    return remove[: len(remove) - extra] if extra > 0 else remove


def _set_module(root, name, module):
    parent_name, _, attr = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, attr, module)


def _outputs(model, example_inputs):
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            out = forward(model, example_inputs)
    finally:
        for m, flag in flags:
            m.training = flag
    from torch_pruning.utils import flatten_as_list

    return [o for o in flatten_as_list(out) if torch.is_tensor(o)]


def check_same_outputs(model, pruned, example_inputs, rtol=1e-4, atol=1e-5, cut=()):
    """Raise :class:`PruneError` unless ``pruned`` gives ``model``'s outputs (eval mode);
    ``cut`` names the widths that were cut (for the message when the pruned model fails)."""
    before = _outputs(model, example_inputs)
    try:
        after = _outputs(pruned, example_inputs)
    except Exception as exc:  # a reshape or view with a fixed size that the dependency graph does not see
        where = f" after cutting {', '.join(cut[:6])}{' ...' if len(cut) > 6 else ''}" if cut else ""
        raise PruneError(f"the pruned model's forward pass fails{where} ({type(exc).__name__}: {exc}): the model "
                         "uses a width with a fixed size (a reshape into heads, a hard-coded view) that the "
                         "dependency graph does not see. Refusing to return it; exclude those layers from the "
                         "penalty (Regularizer(exclude=...)) or please report the architecture.") from exc
    if len(before) != len(after):
        raise PruneError("prune changed the number of outputs of the model; refusing to return it.")
    for a, b in zip(before, after, strict=True):
        scale = float(a.abs().max()) if a.numel() and a.is_floating_point() else 1.0
        if a.shape != b.shape or not torch.allclose(b, a, rtol=rtol, atol=atol * max(1.0, scale)):
            diff = float((a - b).abs().max()) if a.shape == b.shape else float("nan")
            raise PruneError(f"the pruned model's outputs differ from the original's on example_inputs (max |Δ| = "
                             f"{diff:.3g}, shapes {tuple(a.shape)} → {tuple(b.shape)}): an operation the "
                             "dependency graph took for element-wise mixes channels. Refusing to return it; "
                             "please report the architecture.")


def prune_structures(model, example_inputs, round_to=1):
    """The pruned copy of ``model`` (see the module docstring); ``model`` is not modified."""
    net = _copy(model)
    graph = trace(net, example_inputs)
    flags = [(m, m.training) for m in net.modules()]
    net.eval()
    consumers = {m for cg in graph.channel_groups if cg.removable for m, _ in cg.consumers}
    inputs = _record_inputs(net, example_inputs, consumers)
    plans = []
    for cg in graph.channel_groups:
        if not cg.removable:
            continue
        remove, folds = _plan_group(cg, inputs)
        if len(remove) == cg.width:
            raise ValueError(f"prune would remove every {cg.kind} of '{cg.root_name}' ({cg.width} of {cg.width} "
                             "are zero or unused): the network computes a constant there. Lower λ (or "
                             "exclude that layer from the penalty).")
        remove = _round(remove, cg.width, round_to)
        if remove:
            removed = set(remove)
            plans.append((cg, remove, [f for f in folds if f[1] in _columns(cg, f[0], removed)]))
    head_plans = []
    for hg in graph.head_groups:
        sl = head_slices(hg, graph.names)
        dead = [h for h in range(hg.num_heads) if _zero_at(sl["out"], h) or _zero_at(sl["v"], h)]
        if len(dead) == hg.num_heads:
            raise ValueError(f"prune would remove every head of '{hg.name}' (all {hg.num_heads} heads are zero): "
                             "the attention adds only its out-projection bias. Lower λ.")
        if dead:
            head_plans.append((hg, [h for h in range(hg.num_heads) if h not in dead]))
    with torch.no_grad():
        for _, _, folds in plans:
            for module, j, const in folds:
                _fold(module, j, const)
        for cg, remove, _ in plans:
            root_fn = cg.dg_group[0].dep.handler
            graph.dg.get_pruning_group(cg.root_module, root_fn, remove).prune()
        for hg, keep in head_plans:
            _set_module(net, hg.name, from_multihead(hg.module, keep))
    for m, flag in flags:
        m.training = flag
    check_same_outputs(model, net, example_inputs,
                       cut=[f"'{cg.root_name}' ({len(r)} of {cg.width})" for cg, r, _ in plans]
                       + [f"'{hg.name}' heads" for hg, _ in head_plans])
    return net


def _leaf_tensors(value, out, depth=0):
    """Tensors in ``value`` (a tensor, or a dict/list/tuple of them, two levels deep)."""
    if torch.is_tensor(value):
        out.append(value)
    elif depth < 2 and isinstance(value, dict):
        for v in value.values():
            _leaf_tensors(v, out, depth + 1)
    elif depth < 2 and isinstance(value, (list, tuple)):
        for v in value:
            _leaf_tensors(v, out, depth + 1)
    return out


def _copy(model):
    """``copy.deepcopy(model)``; tensors a module caches as plain attributes (timm's LeViT keeps
    its attention biases, computed from parameters, in a dict in eval mode) are copied detached:
    deepcopy refuses tensors that are not graph leaves."""
    try:
        return copy.deepcopy(model)
    except RuntimeError as exc:
        if "graph leaves" not in str(exc):
            raise
    memo = {}
    for module in model.modules():
        for name, value in vars(module).items():
            if name.startswith("_"):  # parameters, buffers, submodules and hooks live in _-dicts
                continue
            for t in _leaf_tensors(value, []):
                if not t.is_leaf:
                    memo[id(t)] = t.detach().clone()
    return copy.deepcopy(model, memo)


def _columns(cg, module, removed):
    """Input indices of ``module`` (a consumer of ``cg``) that belong to the removed units."""
    out = set()
    for m, s in cg.consumers:
        if m is module:
            out.update(s.index[torch.isin(s.root, torch.as_tensor(sorted(removed)))].tolist())
    return out
