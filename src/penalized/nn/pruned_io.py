"""Save and load pruned networks: the smaller shapes travel with the weights.

A network returned by :func:`penalized.nn.prune` has layers narrower than its class builds
(a ``Conv2d(64, 64)`` that now has 41 output channels, a ``MultiheadAttention`` replaced by a
:class:`~penalized.nn.attention.PrunedAttention` with 3 of its 4 heads). Its ``state_dict()``
alone does not load into a freshly built model: the shapes differ. As Torch-Pruning's
``tp.state_dict`` / ``tp.load_state_dict``, :func:`pruned_state_dict` stores, next to the
weights, each module's size attributes (``in_channels``, ``out_features``, ``num_features``,
``groups``, …: every integer, boolean or tuple-of-integers attribute) and the specification of
every pruned attention; :func:`load_pruned_state_dict` resizes a freshly built model of the
original architecture to those shapes (new parameters and buffers of the saved sizes, the
attributes set, pruned attentions put in place) and loads the weights: the same outputs.

Everything stored is plain data (tensors, numbers, strings, lists, dicts), so
``torch.load(path, weights_only=True)`` reads the files of :func:`save_pruned`.
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import PrunedAttention

__all__ = ["pruned_state_dict", "load_pruned_state_dict", "save_pruned", "load_pruned"]

FORMAT = "penalized.nn.pruned"
VERSION = 1


def _is_size(value):
    if isinstance(value, bool) or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    return isinstance(value, (tuple, list)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def _sizes(module):
    """The module's public integer / boolean / tuple-of-integers attributes (its shape knobs)."""
    out = {}
    for name, value in vars(module).items():
        if name.startswith("_") or name == "training" or not _is_size(value):
            continue
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _attention_spec(module):
    return {"embed_dim": module.embed_dim, "num_heads": module.num_heads, "head_dim": module.head_dim,
            "kept_heads": [int(h) for h in module.kept_heads.tolist()], "original_heads": module.original_heads,
            "bias": module.in_proj_bias is not None, "dropout": float(module.dropout),
            "batch_first": bool(module.batch_first)}


def pruned_state_dict(model):
    """``model``'s weights with its pruned shapes: a dict of plain data for :func:`load_pruned_state_dict`.

    Keys: ``"format"``, ``"version"``, ``"state_dict"`` (``model.state_dict()``),
    ``"modules"`` (per module name: its class name and size attributes) and ``"attention"``
    (per :class:`~penalized.nn.attention.PrunedAttention`: its heads and sizes).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"pruned_state_dict needs a torch.nn.Module, got {type(model).__name__}.")
    modules, attention = {}, {}
    for name, module in model.named_modules():
        modules[name] = {"class": type(module).__name__, "sizes": _sizes(module)}
        if isinstance(module, PrunedAttention):
            attention[name] = _attention_spec(module)
    return {"format": FORMAT, "version": VERSION, "state_dict": model.state_dict(), "modules": modules,
            "attention": attention}


def _check_state(state):
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError("this is not a pruned checkpoint of penalized.nn (made by save_pruned / pruned_state_dict); "
                         "a plain state_dict loads with model.load_state_dict.")
    if state.get("version") != VERSION:
        raise ValueError(f"pruned checkpoint version {state.get('version')!r} is not supported (this penalized "
                         f"reads version {VERSION}).")


def _module(model, name):
    try:
        return model.get_submodule(name) if name else model
    except AttributeError:
        raise ValueError(f"the pruned checkpoint has a module '{name}' that this model does not have: build the "
                         "model with the architecture (and arguments) that was pruned.") from None


def _put_attention(model, name, spec):
    parent_name, _, attr = name.rpartition(".")
    parent = _module(model, parent_name)
    old = _module(model, name)
    ref = next(old.parameters(), None)
    kw = {"device": ref.device, "dtype": ref.dtype} if ref is not None else {}
    new = PrunedAttention(spec["embed_dim"], spec["num_heads"], spec["head_dim"], spec["kept_heads"],
                          spec["original_heads"], bias=spec["bias"], dropout=spec["dropout"],
                          batch_first=spec["batch_first"], **kw)
    new.train(old.training)
    setattr(parent, attr, new)


def _resize(model, key, saved):
    """Give the tensor ``key`` of ``model`` the shape of ``saved`` (a new, uninitialized tensor)."""
    module_name, _, tensor_name = key.rpartition(".")
    module = _module(model, module_name)
    if tensor_name in module._parameters:
        old = module._parameters[tensor_name]
        like = old if old is not None else next(module.parameters(), saved)
        grad = old.requires_grad if old is not None else True
        module._parameters[tensor_name] = nn.Parameter(
            torch.empty(saved.shape, dtype=saved.dtype, device=like.device), requires_grad=grad)
    elif tensor_name in module._buffers:
        old = module._buffers[tensor_name]
        device = old.device if old is not None else saved.device
        module._buffers[tensor_name] = torch.empty(saved.shape, dtype=saved.dtype, device=device)
    else:
        raise ValueError(f"the pruned checkpoint has a tensor '{key}' that this model does not have: build the "
                         "model with the architecture (and arguments) that was pruned.")


def load_pruned_state_dict(model, state):
    """Resize ``model`` (built like the network before pruning) to the shapes in ``state`` and load it.

    ``state`` comes from :func:`pruned_state_dict`. ``model`` is modified in place and
    returned: module classes must match (a ``MultiheadAttention`` that was pruned is
    replaced by its :class:`~penalized.nn.attention.PrunedAttention`), size attributes are
    set, every parameter or buffer whose saved shape differs is replaced by one of the
    saved shape (``requires_grad`` kept), then ``model.load_state_dict(..., strict=True)``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"load_pruned_state_dict needs a torch.nn.Module, got {type(model).__name__}.")
    _check_state(state)
    for name, spec in sorted(state["attention"].items(), key=lambda kv: kv[0].count(".")):
        if not isinstance(_module(model, name), PrunedAttention):
            _put_attention(model, name, spec)
    for name, info in state["modules"].items():
        module = _module(model, name)
        if type(module).__name__ != info["class"]:
            raise ValueError(f"module '{name}' is a {type(module).__name__} in this model but a {info['class']} in "
                             "the pruned checkpoint: build the model with the architecture that was pruned.")
        for attr, value in info["sizes"].items():
            current = getattr(module, attr, None)
            value = tuple(value) if isinstance(current, tuple) else value
            if current != value:
                setattr(module, attr, value)
    current = model.state_dict()
    saved = state["state_dict"]
    for key, tensor in saved.items():
        if key not in current or tuple(current[key].shape) != tuple(tensor.shape):
            _resize(model, key, tensor)
    model.load_state_dict(saved, strict=True)
    return model


def save_pruned(model, path):
    """Write :func:`pruned_state_dict` of ``model`` to ``path`` (``torch.save``; plain data)."""
    torch.save(pruned_state_dict(model), path)


def load_pruned(model, path, *, map_location=None):
    """The pruned network saved at ``path``, on ``model`` — a model or a callable returning one.

    ``model`` is built like the network before pruning (same class and arguments; its
    weights do not matter). The file is read with ``torch.load(weights_only=True)``.
    Returns the resized model (:func:`load_pruned_state_dict`), in eval mode if it was saved
    so. Example::

        small = pz.nn.prune(model, example_inputs=x)
        pz.nn.save_pruned(small, "small.pt")
        ...
        small = pz.nn.load_pruned(lambda: Net(), "small.pt")
    """
    if not isinstance(model, nn.Module):
        if not callable(model):
            raise TypeError("load_pruned needs a torch.nn.Module or a callable that builds one, got "
                            f"{type(model).__name__}.")
        model = model()
        if not isinstance(model, nn.Module):
            raise TypeError(f"the model factory returned a {type(model).__name__}, not a torch.nn.Module.")
    state = torch.load(path, map_location=map_location, weights_only=True)
    return load_pruned_state_dict(model, state)
