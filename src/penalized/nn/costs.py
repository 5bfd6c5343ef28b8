"""Compute, counted: the multiply-accumulates (MACs) of a network and of each coupled structure.

Parameters are not compute. A channel of the last convolution before a ``Flatten`` →
``Linear`` owns many weights (a column block of the classifier) but few multiply-adds; a
channel in the middle of a convolution stack owns few weights, each used at every position.
A group penalty with one factor per structure (``c_g = 1``) removes what is cheap to remove
in parameters, not in time; with ``c_g`` proportional to the structure's MACs it removes
compute. The counts are deterministic (no clock):

- ``nn.Linear``: every weight entry is used once per input row (token, position) —
  ``in·out`` MACs per row;
- convolutions: every kernel entry once per output position (per input position for a
  transposed convolution);
- ``nn.MultiheadAttention`` (and :class:`~penalized.nn.attention.PrunedAttention`): the q
  rows of the packed projection once per query token, the k and v rows once per key token,
  the out-projection once per query token, plus the attention products ``2·T_q·T_k·d`` per
  head of size ``d``.

Biases, normalizations, activations and pooling are not counted (a few additions per
output: small next to the weights of the layers they follow). Counts are for one forward
pass on ``example_inputs`` (all its rows): divide by the batch size for one prediction.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .structures import check_example_inputs, forward

__all__ = ["count_macs", "costs_of"]


def _attention_types():
    from .attention import PrunedAttention

    return (nn.MultiheadAttention, PrunedAttention)


def _tokens(x, embed, batch_first):
    """Rows (tokens over the batch) of an attention input, and the tokens per sequence."""
    rows = x.numel() // embed
    if x.dim() == 2:
        return rows, x.shape[0]
    return rows, x.shape[1] if batch_first else x.shape[0]


def _usage(model, example_inputs):
    """``({id(weight): uses of each entry}, {attention module: (query rows, key rows, products)})``.

    A weight entry's uses are the multiply-adds it takes part in during one forward pass
    on ``example_inputs``; ``products`` are the attention's ``Σ T_q·T_k`` over the batch.
    """
    uses, attention = {}, {}
    att_types = _attention_types()

    def add(param, n):
        uses[id(param)] = uses.get(id(param), 0) + n

    def linear_hook(module, args):
        if args and torch.is_tensor(args[0]):
            add(module.weight, args[0].numel() // module.in_features)

    def conv_hook(module, args, out):
        if module.transposed:
            add(module.weight, args[0].numel() // module.in_channels)
        else:
            add(module.weight, out.numel() // module.out_channels)

    def attention_hook(module, args, kwargs):
        names = ("query", "key", "value")
        q, k = (args[i] if len(args) > i else kwargs.get(names[i]) for i in range(2))
        if not (torch.is_tensor(q) and torch.is_tensor(k)):
            return
        batch_first = getattr(module, "batch_first", False)
        q_rows, t_q = _tokens(q, q.shape[-1], batch_first)
        k_rows, t_k = _tokens(k, k.shape[-1], batch_first)
        old = attention.get(module, (0, 0, 0))
        attention[module] = (old[0] + q_rows, old[1] + k_rows, old[2] + q_rows * t_k)

    handles = []
    for module in model.modules():
        if isinstance(module, att_types):
            handles.append(module.register_forward_pre_hook(attention_hook, with_kwargs=True))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_pre_hook(linear_hook))
        elif isinstance(module, nn.modules.conv._ConvNd):
            handles.append(module.register_forward_hook(conv_hook))
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            forward(model, example_inputs)
    finally:
        for h in handles:
            h.remove()
        for m, flag in flags:
            m.training = flag
    for module, (q_rows, k_rows, _) in attention.items():
        # the projections run inside the attention's functional code: no hook fires on out_proj
        uses.pop(id(module.out_proj.weight), None)
        _attention_weight_uses(module, q_rows, k_rows, uses)
    return uses, attention


def _attention_weight_uses(module, q_rows, k_rows, uses):
    """Per-row uses of the attention's projection weights (q rows: query rows; k, v: key rows)."""
    w = module.in_proj_weight
    rows = w.shape[0] // 3
    per_row = torch.full((w.shape[0],), float(k_rows))
    per_row[:rows] = float(q_rows)
    uses[id(w)] = per_row  # a vector: one count per row
    uses[id(module.out_proj.weight)] = q_rows


def _slice_macs(s, uses):
    n = uses.get(id(s.param))
    if n is None or s.bias or s.param.ndim < 2:
        return 0.0
    per_entry_of_index = s.param[0].numel() if s.dim == 0 else s.param.numel() // s.param.shape[s.dim]
    if torch.is_tensor(n):  # per-row uses (packed attention projection)
        if s.dim == 0:
            return float(n[s.index].sum()) * per_entry_of_index
        return float(n.sum()) * (per_entry_of_index // s.param.shape[0]) * len(s.index)
    return float(n) * per_entry_of_index * len(s.index)


def count_macs(model, example_inputs):
    """Multiply-accumulates of one forward pass of ``model`` on ``example_inputs``.

    The weights of every ``nn.Linear``, convolution and attention layer, plus the attention
    products (see the module docstring for what is counted); an ``int``. Divide by the
    batch size of ``example_inputs`` for one prediction.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    check_example_inputs(example_inputs)
    uses, attention = _usage(model, example_inputs)
    total = 0.0
    for p in model.parameters():
        n = uses.get(id(p))
        if n is None:
            continue
        if torch.is_tensor(n):
            total += float((n * p.detach().reshape(p.shape[0], -1).shape[1]).sum())
        else:
            total += float(n) * p.numel()
    for module, (_, _, products) in attention.items():
        total += 2.0 * products * module.head_dim * module.num_heads
    return int(round(total))


def costs_of(structures, model, example_inputs):
    """:func:`penalized.nn.structure_costs` for given structures (:attr:`penalized.nn.Regularizer.structures`)."""
    uses, attention = _usage(model, example_inputs)
    out = np.zeros(len(structures))
    for g, st in enumerate(structures):
        total = sum(_slice_macs(s, uses) for s in st.parts)
        if st.attention is not None and st.attention in attention:
            total += 2.0 * attention[st.attention][2] * st.attention.head_dim
        out[g] = total
    return out
