"""The coupled structures of a network: what must go together when a unit is removed.

A channel of a convolution, a neuron of a linear layer, an FFN unit, a residual channel or
an attention head is not one row of one tensor: removing it removes the producer's row
and bias, the normalization entries of that channel, the consumer's input column(s) (a
whole block of columns after a ``Flatten``) and, on a residual path, the same channel in
every layer that writes to it. Torch-Pruning's ``DependencyGraph`` finds these couplings
by tracing one forward pass through autograd; this module turns its groups into

- :class:`Structure` — one coupled unit, with every slice ``(parameter, dim, indices)`` it
  owns (what :class:`CoupledGroups` penalizes) and the slices it reads or feeds;
- :class:`ChannelGroup` — the units of one torch-pruning group (one layer's width),
  marked removable or not (with the reason), which is what :func:`penalized.nn.prune`
  acts on.

Attention heads of ``nn.MultiheadAttention`` are added by hand (torch-pruning couples the
attention's inner width to the embedding width instead): head ``h`` owns rows
``h·d … (h+1)·d`` of the query, key and value blocks of ``in_proj_weight`` and
``in_proj_bias`` and the same columns of ``out_proj.weight``.

A group whose width reaches the model's output, or passes through an operation that
mixes channels (LayerNorm, GroupNorm, the embedding width of attention, LSTMs, grouped
convolutions), is not removable and gets no structure.

Torch-Pruning is imported only here, when a structure is asked for (``example_inputs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .zoo_guard import graph_budget, mark_unsupported

__all__ = ["Structure", "ChannelGroup", "HeadGroup", "Graph", "trace", "check_example_inputs"]


def _torch_pruning():
    try:
        import torch_pruning
    except ImportError as exc:  # pragma: no cover - torch-pruning is part of the nn extra
        raise ImportError("coupled structures (example_inputs=) need Torch-Pruning: "
                          "pip install 'penalized[nn]'") from exc
    return torch_pruning


def check_example_inputs(example_inputs):
    """``example_inputs``: a tensor, a tuple/list of tensors (positional) or a dict (keywords)."""
    import numpy as np

    def bad(what):
        return TypeError("example_inputs must be a torch.Tensor, a tuple/list of tensors (the forward's "
                         f"positional arguments) or a dict of them (keyword arguments); got {what}.")

    if torch.is_tensor(example_inputs):
        values = [example_inputs]
    elif isinstance(example_inputs, (tuple, list)):
        values = list(example_inputs)
    elif isinstance(example_inputs, dict):
        values = list(example_inputs.values())
    elif isinstance(example_inputs, np.ndarray):
        raise bad("a NumPy array (convert it with torch.as_tensor(x, dtype=torch.float32))")
    else:
        raise bad(f"{type(example_inputs).__name__}")
    if not any(torch.is_tensor(x) for x in values):
        raise bad(f"a {type(example_inputs).__name__} without any tensor")
    for x in values:
        if isinstance(x, np.ndarray):
            raise bad("a NumPy array inside a container (convert it with torch.as_tensor)")
    return example_inputs


def forward(model, example_inputs):
    """``model(example_inputs)`` with the calling convention of :func:`check_example_inputs`."""
    if torch.is_tensor(example_inputs):
        return model(example_inputs)
    if isinstance(example_inputs, dict):
        return model(**example_inputs)
    return model(*example_inputs)


@dataclass
class Slice:
    """``param`` indexed by ``index`` along ``dim``; ``root`` maps every index to its unit."""

    name: str
    param: nn.Parameter
    dim: int
    index: torch.Tensor
    root: torch.Tensor
    bias: bool = False  # a producer's bias: a zero row with a bias is still a constant unit


@dataclass
class Structure:
    """One coupled unit: a channel, a neuron, a residual channel, an FFN unit, a head.

    ``own`` are the slices that the penalty of the unit covers (producer rows and biases,
    normalization entries, and input columns of consumers whose own outputs are not a
    structure — e.g. the classifier's column of a last hidden unit); ``reads`` are the input
    columns of every consumer (all must be zero, or the producers, for the unit to go).
    """

    kind: str
    name: str
    own: list = field(default_factory=list)
    #: every slice that goes when the unit is removed (``own`` plus all consumers' input slices)
    parts: list = field(default_factory=list, repr=False)
    #: the ``nn.MultiheadAttention`` of a head (its attention products go with it), else None
    attention: nn.Module | None = field(default=None, repr=False)

    def slices(self):
        """``[(parameter name, dim, [indices])]``: what the group penalty covers."""
        return [(s.name, s.dim, s.index.tolist()) for s in self.own]


@dataclass
class ChannelGroup:
    """The units of one torch-pruning group (one width of the network)."""

    dg_group: object
    root_module: nn.Module
    root_name: str
    width: int
    kind: str
    removable: bool
    reason: str = ""
    producers: list = field(default_factory=list)  # Slice: rows/biases/columns that compute the unit
    members: list = field(default_factory=list)  # Slice: per-channel layers (norms, PReLU, depthwise)
    consumers: list = field(default_factory=list)  # (module, Slice of its weight along the input dim)


@dataclass
class HeadGroup:
    """The heads of one ``nn.MultiheadAttention`` (packed q/k/v projection)."""

    module: nn.MultiheadAttention
    name: str
    num_heads: int
    head_dim: int


@dataclass
class Graph:
    channel_groups: list
    head_groups: list
    names: dict  # id(parameter) -> name
    dg: object = None


_PER_CHANNEL = ("BN", "IN", "PRELU", "DEPTHWISE_CONV")
_MIXING = {"LN": "a LayerNorm normalizes across the channels", "GN": "a GroupNorm normalizes across channels",
           "MHA": "the embedding width of an attention layer", "LSTM": "an LSTM",
           "CUSTOMIZED": "a customized layer"}


def _param_names(model):
    names = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), name)
    return names


def _slice(names, param, dim, idxs, roots, bias=False):
    return Slice(name=names.get(id(param), "?"), param=param, dim=dim, index=torch.as_tensor(idxs, dtype=torch.long),
                 root=torch.as_tensor(roots, dtype=torch.long), bias=bias)


def _out_of_range(slices):
    """A reason when Torch-Pruning mapped a width to indices a tensor does not have (e.g. a packed
    q/k/v projection split into heads, or a weight shared by two layers), else ``""``."""
    for sl in slices:
        size = sl.param.shape[sl.dim]
        if sl.index.numel() and (int(sl.index.max()) >= size or int(sl.index.min()) < 0):
            return (f"Torch-Pruning maps it to indices up to {int(sl.index.max())} of '{sl.name}' (dim {sl.dim} "
                    f"has {size}): a layout it cannot follow, such as a fused projection split into heads or a "
                    "weight shared by two layers; left as it is")
    return ""


def _classify(tp, dg, group, names, output_nodes):
    """Sort the items of one torch-pruning group into producers / members / consumers."""
    ops = tp.ops.OPTYPE
    root_dep = group[0].dep
    root = root_dep.target.module
    width = len(group[0].idxs)
    producers, members, consumers = [], [], []
    reason = ""
    for item in group:
        dep, idxs, roots = item.dep, item.idxs, item.root_idxs
        node, module = dep.target, dep.target.module
        out_fn = dg.is_out_channel_pruning_fn(dep.handler)
        in_fn = dg.is_in_channel_pruning_fn(dep.handler)
        kind = node.type
        if node in output_nodes and out_fn:
            reason = reason or "its width is part of the model's output"
            continue
        if kind == ops.OUTPUT:
            reason = reason or "its width is part of the model's output"
        elif kind.name in _MIXING:
            where = dg._module2name.get(module, type(module).__name__)
            reason = reason or f"it passes through {_MIXING[kind.name]} ({where})"
        elif kind in (ops.CONV, ops.LINEAR):
            if kind == ops.CONV and module.groups != 1:
                reason = reason or f"a grouped convolution ({node.name})"
                continue
            transposed = kind == ops.CONV and module.transposed
            if out_fn and not in_fn:
                producers.append(_slice(names, module.weight, 1 if transposed else 0, idxs, roots))
                if module.bias is not None:
                    producers.append(_slice(names, module.bias, 0, idxs, roots, bias=True))
            else:
                consumers.append((module, _slice(names, module.weight, 0 if transposed else 1, idxs, roots)))
        elif kind == ops.DEPTHWISE_CONV:
            members.append(_slice(names, module.weight, 0, idxs, roots))
            if module.bias is not None:
                members.append(_slice(names, module.bias, 0, idxs, roots))
        elif kind in (ops.BN, ops.IN):
            if getattr(module, "affine", False):
                members.append(_slice(names, module.weight, 0, idxs, roots))
                members.append(_slice(names, module.bias, 0, idxs, roots))
        elif kind == ops.PRELU:
            if module.num_parameters > 1:
                members.append(_slice(names, module.weight, 0, idxs, roots))
        elif kind == ops.EMBED:
            producers.append(_slice(names, module.weight, 1, idxs, roots))
        elif kind == ops.PARAMETER:
            producers.append(_slice(names, module, node.pruning_dim % module.ndim, idxs, roots))
        # element-wise, reshape, concat, split, slice...: no parameter of their own
    if not reason:
        reason = _out_of_range(producers + members + [sl for _, sl in consumers])
    if not reason and not producers:
        reason = "nothing computes it (no producer layer)"
    if not reason and not consumers:
        reason = "no layer reads it"
    if isinstance(root, nn.Linear):
        kind = "unit"
    elif isinstance(root, nn.modules.conv._ConvNd):
        kind = "channel"
    else:
        kind = "channel"
    if len({id(s.param) for s in producers if s.param.ndim > 1}) > 1:
        kind = "residual channel"
    return ChannelGroup(dg_group=group, root_module=root, root_name=names.get(id(getattr(root, "weight", root)),
                                                                               "?").rsplit(".", 1)[0],
                        width=width, kind=kind, removable=not reason, reason=reason, producers=producers,
                        members=members, consumers=consumers)


def _all_groups(tp, dg, names):
    """Torch-Pruning's groups, one per width of a Linear/Conv root (as ``get_all_groups``), each
    built on its own: a width whose index mapping Torch-Pruning cannot follow (e.g. through a GRU's
    packed gates, an ``IndexError`` inside it) becomes a non-removable :class:`ChannelGroup`
    whose reason names the layer, instead of stopping the trace."""
    visited = set()
    roots = (nn.modules.conv._ConvNd, nn.Linear)
    for module in list(dg.module2node):
        if module in dg.IGNORED_LAYERS_IN_TRACING or not isinstance(module, roots) or module in visited:
            continue
        pruner = dg.get_pruner_of_module(module)
        width = None if pruner is None else pruner.get_out_channels(module)
        if width is None:
            continue
        try:
            group = dg.get_pruning_group(module, pruner.prune_out_channels, list(range(width)))
        except Exception as exc:  # Torch-Pruning's own failure on this width
            visited.add(module)
            name = names.get(id(getattr(module, "weight", module)), "?").rsplit(".", 1)[0]
            yield ChannelGroup(dg_group=[], root_module=module, root_name=name, width=width, kind="channel",
                               removable=False, reason=f"Torch-Pruning cannot follow the output width of "
                               f"'{name}' ({type(module).__name__}) through the graph ({type(exc).__name__}: "
                               f"{exc}); it is left as it is")
            continue
        for dep, _ in group:
            if dg.is_out_channel_pruning_fn(dep.handler):
                visited.add(dep.target.module)
        yield group


def _trace_culprit(tp, dg):
    """Where a failed trace stopped, in the model's terms (``""`` when it cannot tell)."""
    try:
        from torch_pruning.dependency import shape_infer

        for node in getattr(dg, "module2node", {}).values():
            if node.type != tp.ops.OPTYPE.CONCAT:
                continue
            if all(shape_infer.infer_channels_between(dg, n, node) is not None for n in node.inputs):
                continue
            readers = sorted({dg._module2name.get(o.module, type(o.module).__name__) for o in node.outputs
                              if isinstance(o.module, nn.Module)})
            return (f": at a torch.cat feeding {', '.join(map(repr, readers)) or 'the output'}, one input's channel "
                    "count cannot be traced (a tensor created inside forward, such as a zero initial state of a "
                    "recurrent cell, has no producer layer); this architecture has no coupled structures that "
                    "Torch-Pruning can follow — drop example_inputs (per-row groups) or exclude these layers")
    except Exception:  # the diagnosis must never hide the original error
        return ""
    return ""


def trace(model, example_inputs):
    """The coupled structures of ``model`` (a :class:`Graph`), from one traced forward pass.

    The model's training flags and ``requires_grad`` flags are restored afterwards (the
    trace runs in eval mode, with gradients tracked for every parameter).
    """
    check_example_inputs(example_inputs)
    tp = _torch_pruning()
    modes = [(m, m.training) for m in model.modules()]
    grads = [(p, p.requires_grad) for p in model.parameters()]
    names = _param_names(model)
    outputs = []

    def forward_fn(m, x):
        try:
            out = forward(m, x)
        except Exception as exc:  # the user's forward: say which argument is at fault
            raise ValueError(f"example_inputs: the model's forward pass failed on them ({type(exc).__name__}: "
                             f"{exc}); pass inputs of the shape and dtype the model takes.") from exc
        outputs.extend(tp.utils.flatten_as_list(out))
        return out

    try:
        for p, _ in grads:
            if p.dtype.is_floating_point:
                p.requires_grad_(True)
        with torch.enable_grad():
            dg = tp.DependencyGraph()
            try:
                dg.build_dependency(model, example_inputs, forward_fn=forward_fn, verbose=False)
            except ValueError:
                raise
            except Exception as exc:
                raise ValueError(f"the dependency graph could not trace the model ({type(exc).__name__}: {exc})"
                                 f"{_trace_culprit(tp, dg)}") from exc
    finally:
        for m, mode in modes:
            m.training = mode
        for p, flag in grads:
            p.requires_grad_(flag)
    tensors = [o for o in outputs if torch.is_tensor(o)]
    if not tensors or all(o.grad_fn is None for o in tensors):
        raise ValueError("the dependency graph could not trace the model: its outputs do not depend on its "
                         "parameters through autograd (does forward return tensors computed from them?).")
    grad_fns = {o.grad_fn for o in tensors if o.grad_fn is not None}
    output_nodes = {node for node in dg.module2node.values() if node.grad_fn in grad_fns}
    groups = []
    for group in _all_groups(tp, dg, names):
        if isinstance(group, ChannelGroup):  # Torch-Pruning could not follow this width
            groups.append(group)
        else:
            groups.append(_classify(tp, dg, group, names, output_nodes))
    heads = []
    for name, module in model.named_modules():
        if isinstance(module, nn.MultiheadAttention) and module._qkv_same_embed_dim and module.num_heads > 1 \
                and module.bias_k is None and not module.add_zero_attn and module in dg.module2node:
            heads.append(HeadGroup(module=module, name=name, num_heads=module.num_heads,
                                   head_dim=module.head_dim))
    mark_unsupported(model, groups)  # widths packed into heads or mapped out of a tensor: named, not removable
    return Graph(channel_groups=groups, head_groups=heads, names=names, dg=dg)


def head_slices(group, names):
    """Per head ``h``: its slices (q/k/v rows of ``in_proj_weight`` and ``in_proj_bias``,
    columns of ``out_proj.weight``), as lists of :class:`Slice` with root ``h``."""
    m, d, h_count = group.module, group.head_dim, group.num_heads
    e = m.embed_dim
    rows = torch.arange(e).reshape(h_count, d)
    qkv_rows = torch.cat([rows + k * e for k in range(3)], dim=1)  # (H, 3d)
    root_qkv = torch.arange(h_count).repeat_interleave(3 * d)
    root_out = torch.arange(h_count).repeat_interleave(d)
    out = {"in": [_slice(names, m.in_proj_weight, 0, qkv_rows.flatten(), root_qkv)],
           "out": [_slice(names, m.out_proj.weight, 1, rows.flatten(), root_out)]}
    if m.in_proj_bias is not None:
        out["in"].append(_slice(names, m.in_proj_bias, 0, qkv_rows.flatten(), root_qkv))
    v_rows = (rows + 2 * e).flatten()
    out["v"] = [_slice(names, m.in_proj_weight, 0, v_rows, root_out)]
    if m.in_proj_bias is not None:
        out["v"].append(_slice(names, m.in_proj_bias, 0, v_rows, root_out))
    return out


# the trace runs under a memory and time budget (Torch-Pruning's group search can run away)
trace = graph_budget(trace)
