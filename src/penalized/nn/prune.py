"""Remove zeroed units from a network: a smaller ``nn.Sequential`` with the same outputs.

A hidden unit ``j`` of a layer (a row of an ``nn.Linear`` weight, an output channel of a
convolution kernel) can be removed without changing the network's function when

- its incoming weights are all exactly zero (what :class:`penalized.GroupL1` produces):
  the unit then outputs a constant, ``act(b_j)``, whose contribution to the next layer is
  folded into that layer's bias; or
- its outgoing weights (the ``j``-th input column of the next layer) are all zero: its
  output is ignored.

Removing it deletes row ``j`` (and ``b_j``) of layer ``k``, the matching entries of the
per-unit layers in between (BatchNorm statistics and affine parameters, PReLU slopes) and
column ``j`` of layer ``k+1``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["prune", "prunable_units", "check_round_to"]

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_WEIGHT = (nn.Linear, *_CONV)
_ELEMENTWISE = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid,
    nn.Tanh, nn.Softplus, nn.Softsign, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.LogSigmoid,
    nn.Tanhshrink, nn.Softshrink, nn.Hardshrink, nn.Threshold, nn.Identity, nn.Dropout, nn.AlphaDropout,
    nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.FeatureAlphaDropout,
)
_DROPOUT = (nn.Dropout, nn.AlphaDropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.FeatureAlphaDropout)
_MAXPOOL = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
            nn.AdaptiveMaxPool3d)
_AVGPOOL = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_ADAPTIVE_AVG = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
_BATCHNORM = nn.modules.batchnorm._BatchNorm


def _per_unit(module, conv):
    """Whether ``module`` acts unit by unit (channel by channel); ``None`` if not at all."""
    if isinstance(module, _ELEMENTWISE):
        return True
    if isinstance(module, nn.PReLU):
        return True
    if isinstance(module, _BATCHNORM):
        return module.running_mean is not None  # batch statistics would mix samples
    if conv and isinstance(module, _MAXPOOL):
        return not getattr(module, "return_indices", False)
    if conv and isinstance(module, (*_AVGPOOL, *_ADAPTIVE_AVG)):
        return True
    return False


def _keeps_constants(module):
    """A pooling layer maps a constant map to the same constant (zero padding counted breaks it)."""
    if isinstance(module, _AVGPOOL):
        padding = module.padding if isinstance(module.padding, tuple) else (module.padding,)
        return (all(p == 0 for p in padding) or not module.count_include_pad) and \
            getattr(module, "divisor_override", None) is None
    return True


def _no_zero_padding(conv):
    if conv.padding_mode != "zeros" or conv.padding == "valid":
        return True
    return isinstance(conv.padding, tuple) and all(p == 0 for p in conv.padding)


def _chain(layers, k):
    """``(next_index, between, flatten_at)`` for weight layer ``k``, or ``None`` if unsupported."""
    first = layers[k]
    conv = isinstance(first, _CONV)
    if hasattr(first, "parametrizations") or (conv and first.groups != 1):
        return None
    flatten_at = None
    for j in range(k + 1, len(layers)):
        module = layers[j]
        if isinstance(module, _WEIGHT):
            if hasattr(module, "parametrizations"):
                return None
            if isinstance(module, _CONV):
                same_kind = type(module) is type(first)
                if not conv or flatten_at is not None or module.groups != 1 or not same_kind:
                    return None
            elif conv and flatten_at is None:
                return None
            return j, layers[k + 1:j], flatten_at
        if isinstance(module, nn.Flatten):
            if not conv or flatten_at is not None or module.start_dim != 1 or module.end_dim != -1:
                return None
            flatten_at = j - k - 1
            continue
        if flatten_at is not None:
            if not (isinstance(module, _ELEMENTWISE) or (isinstance(module, nn.PReLU)
                                                         and module.num_parameters == 1)):
                return None
            continue
        if not _per_unit(module, conv):
            return None
    return None


def _constants(first, between, flatten_at):
    """What each unit of ``first`` outputs after ``between`` if its incoming weights are zero."""
    n = first.weight.shape[0]
    x = first.bias.detach().clone() if first.bias is not None else first.weight.new_zeros(n)
    spatial = first.weight.ndim - 2
    x = x.reshape((1, n) + (1,) * spatial)
    stop = len(between) if flatten_at is None else flatten_at
    for module in list(between)[:stop]:
        if isinstance(module, _BATCHNORM):
            x = F.batch_norm(x, module.running_mean, module.running_var, module.weight, module.bias,
                             training=False, eps=module.eps)
        elif isinstance(module, _DROPOUT) or isinstance(module, (*_MAXPOOL, *_AVGPOOL, *_ADAPTIVE_AVG)):
            continue  # identity in eval mode / on constant maps
        else:
            x = module(x)
    for module in list(between)[stop + 1:] if flatten_at is not None else []:
        if not isinstance(module, _DROPOUT):
            x = module(x)
    return x.reshape(n)


def prunable_units(first, between, nxt, flatten_at):
    """Boolean mask of the units of ``first`` that can go, and their constant outputs."""
    n = first.weight.shape[0]
    dead = (first.weight.reshape(n, -1) == 0).all(1)
    if isinstance(nxt, nn.Linear):
        if flatten_at is None:
            cols = nxt.weight
            unused = (cols == 0).all(0)
        else:
            if nxt.in_features % n:
                return None, None
            cols = nxt.weight.reshape(nxt.out_features, n, -1)
            unused = (cols == 0).all(2).all(0)
        fold_ok = all(_keeps_constants(m) for m in between)
    else:
        unused = (nxt.weight.transpose(0, 1).reshape(n, -1) == 0).all(1)
        fold_ok = _no_zero_padding(nxt) and all(_keeps_constants(m) for m in between)
    const = _constants(first, between, flatten_at)
    remove = unused | (dead & ((const == 0) | fold_ok))
    if remove.all():
        remove[0] = False  # keep one unit rather than building empty layers
    return remove, const


def _set_param(module, name, value):
    old = getattr(module, name)
    setattr(module, name, nn.Parameter(value.detach().clone(), requires_grad=old.requires_grad))


def _fold_into_bias(nxt, remove, const, flatten_at, n):
    idx = remove.nonzero().flatten()
    a = const[idx]
    if not bool((a != 0).any()):
        return
    if isinstance(nxt, nn.Linear):
        if flatten_at is None:
            contrib = nxt.weight[:, idx] @ a
        else:
            contrib = nxt.weight.reshape(nxt.out_features, n, -1)[:, idx, :].sum(2) @ a
    else:
        contrib = nxt.weight[:, idx].sum(dim=tuple(range(2, nxt.weight.ndim))) @ a
    if nxt.bias is None:
        nxt.bias = nn.Parameter(torch.zeros_like(contrib), requires_grad=nxt.weight.requires_grad)
    nxt.bias.data.add_(contrib)


def _shrink(first, between, nxt, keep, flatten_at):
    n = first.weight.shape[0]
    _set_param(first, "weight", first.weight[keep])
    if first.bias is not None:
        _set_param(first, "bias", first.bias[keep])
    n_keep = int(keep.sum())
    if isinstance(first, nn.Linear):
        first.out_features = n_keep
    else:
        first.out_channels = n_keep
    stop = len(between) if flatten_at is None else flatten_at
    for module in list(between)[:stop]:
        if isinstance(module, _BATCHNORM):
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    _set_param(module, name, getattr(module, name)[keep])
            module.running_mean = module.running_mean[keep].clone()
            module.running_var = module.running_var[keep].clone()
            module.num_features = n_keep
        elif isinstance(module, nn.PReLU) and module.num_parameters > 1:
            _set_param(module, "weight", module.weight[keep])
            module.num_parameters = n_keep
    if isinstance(nxt, nn.Linear):
        if flatten_at is None:
            _set_param(nxt, "weight", nxt.weight[:, keep])
        else:
            w = nxt.weight.reshape(nxt.out_features, n, -1)[:, keep, :]
            _set_param(nxt, "weight", w.reshape(nxt.out_features, -1))
        nxt.in_features = nxt.weight.shape[1]
    else:
        _set_param(nxt, "weight", nxt.weight[:, keep])
        nxt.in_channels = n_keep


_LEAF_TYPES = (*_WEIGHT, *_ELEMENTWISE, nn.PReLU, nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm,
               *_MAXPOOL, *_AVGPOOL, *_ADAPTIVE_AVG, nn.Flatten)


def check_round_to(round_to):
    if isinstance(round_to, bool) or not isinstance(round_to, int):
        raise TypeError(f"round_to must be an integer >= 1 (kept widths are rounded up to a multiple of it), "
                        f"got {round_to!r}.")
    if round_to < 1:
        raise ValueError(f"round_to must be >= 1 (1: no rounding), got {round_to}.")
    return round_to


def _round_mask(remove, round_to):
    """Keep back removable units (the last ones) so that the kept count is a multiple of round_to."""
    n = remove.numel()
    kept = n - int(remove.sum())
    extra = min(n, -(-kept // round_to) * round_to) - kept
    if extra > 0:
        idx = remove.nonzero().flatten()[-extra:]
        remove = remove.clone()
        remove[idx] = False
    return remove


def _check_flat(model):
    """The Sequential path sees only its direct children: refuse nested blocks rather than skip them."""
    for name, child in model.named_children():
        if isinstance(child, _LEAF_TYPES):
            continue
        if any(True for _ in child.parameters()):
            raise TypeError(f"prune without example_inputs works on flat nn.Sequential models; child '{name}' "
                            f"({type(child).__name__}) is a nested module with parameters, whose zeroed units it "
                            "cannot see. Pass example_inputs=x (a batch the model takes) to prune any "
                            "architecture through its dependency graph.")


def prune(model, example_inputs=None, *, round_to=1, calibrate=None):
    """A copy of ``model`` without its removable units; the same function in eval mode.

    **With** ``example_inputs`` (a tensor, a tuple of tensors or a dict: what
    ``model(example_inputs)`` takes): any architecture that Torch-Pruning's dependency
    graph traces — MLPs, CNNs, ResNets (residual channels), transformers (FFN units and
    the heads of ``nn.MultiheadAttention``). A coupled structure (see
    :mod:`penalized.nn.structures`) is removed when every slice that reads it is zero, or
    every slice that computes it is zero (its constant output is then folded into the next
    bias, measured on ``example_inputs``); the original's and the copy's outputs on
    ``example_inputs`` are compared and :class:`~penalized.nn.prune_graph.PruneError` is
    raised if they differ. A width whose units would all go raises ValueError.

    **Without** ``example_inputs``: ``model`` must be a flat ``nn.Sequential`` of
    ``nn.Linear`` / ``nn.Conv1d|2d|3d`` layers (``groups=1``) separated by unit-wise layers:
    activations, dropout, ``BatchNorm`` with running statistics, ``PReLU``; for
    convolutions also max/average pooling and one ``nn.Flatten`` before a final
    ``nn.Linear`` (a nested module with parameters is a TypeError: pass ``example_inputs``).
    For every pair of consecutive weight layers ``k, k+1`` a unit of layer ``k`` is removed
    when

    - its incoming weights are all exactly zero (row ``j`` of a Linear weight, output
      channel ``j`` of a kernel): it outputs the constant ``c_j = act(b_j)``, whose
      contribution ``W_{k+1}[:, j]·c_j`` (summed over the kernel or the flattened positions)
      is added to layer ``k+1``'s bias (created if absent). For a next convolution with
      zero padding the border would see ``0`` instead of ``c_j``, so such a unit goes only
      if ``c_j = 0``; or
    - its outgoing weights (column ``j`` of layer ``k+1``) are all zero.

    The output layer keeps its units and at least one unit is kept per layer. Pairs that
    contain anything else (LayerNorm, softmax, attention, grouped convolutions) are left as
    they are (those units are not removable without changing the function).

    Parameters
    ----------
    model : torch.nn.Module
    example_inputs : tensor, tuple or dict, optional
        A batch the model takes (its values matter only for the check and for the
        constants of units whose producers are zero).
    round_to : int, default=1
        Keep a multiple of ``round_to`` units per width (hardware-friendly sizes; some
        removable units are kept, still exact). Heads are not rounded.
    calibrate : iterable of batches, optional
        A loader (items ``x`` or ``(x, y, ...)``): after pruning (and after the check that
        the outputs are unchanged) the pruned copy's BatchNorm statistics are recomputed on
        it with :func:`penalized.nn.recalibrate_batchnorm` — the eval outputs then follow
        the recalibrated statistics, not the original's stale ones.

    The original model is not modified; outputs agree up to floating-point rounding in
    **eval mode** (in training mode dropout and batch statistics make any two calls differ
    anyway).

    Returns
    -------
    torch.nn.Module
        The pruned copy (same module names and types; a pruned ``nn.MultiheadAttention`` becomes
        a :class:`~penalized.nn.attention.PrunedAttention`).
    """
    check_round_to(round_to)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    if example_inputs is not None:
        from .prune_graph import prune_structures

        net = prune_structures(model, example_inputs, round_to=round_to)
        return net if calibrate is None else _calibrated(net, calibrate)
    if not isinstance(model, nn.Sequential):
        raise TypeError("prune works on nn.Sequential models (Linear/Conv layers separated by activations, "
                        f"BatchNorm, pooling, Flatten) without example_inputs; got {type(model).__name__}. "
                        "Pass example_inputs=x (a batch the model takes) to prune any architecture.")
    _check_flat(model)
    net = copy.deepcopy(model)
    layers = list(net)
    with torch.no_grad():
        for k, layer in enumerate(layers):
            if not isinstance(layer, _WEIGHT):
                continue
            chain = _chain(layers, k)
            if chain is None:
                continue
            j, between, flatten_at = chain
            nxt = layers[j]
            remove, const = prunable_units(layer, between, nxt, flatten_at)
            if remove is None or not bool(remove.any()):
                continue
            remove = _round_mask(remove, round_to)
            if not bool(remove.any()):
                continue
            n = layer.weight.shape[0]
            _fold_into_bias(nxt, remove & (layer.weight.reshape(n, -1) == 0).all(1), const, flatten_at, n)
            _shrink(layer, between, nxt, ~remove, flatten_at)
    return net if calibrate is None else _calibrated(net, calibrate)


def _calibrated(net, loader):
    from .batchnorm import recalibrate_batchnorm

    return recalibrate_batchnorm(net, loader)
