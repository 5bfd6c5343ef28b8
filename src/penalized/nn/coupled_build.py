"""The per-unit slices and labels of :func:`penalized.nn.coupled.coupled_groups`, built width by width.

A width of ``W`` units (a layer's channels, an attention's heads) shares its slices: each
slice maps every index to its unit (``root``). Cutting a slice for every unit with a mask
``root == r`` costs ``O(W²)`` per slice (minutes on a ResNet-18 or a ViT); here every slice
is sorted by unit once and split (``O(W log W)``), and the partition's labels are written
for the whole width at once.
"""

from __future__ import annotations

import gc

import torch

from .structures import Slice, Structure

__all__ = ["unit_structures", "owned_chunks"]


def split_by_root(index, root):
    """``{unit: indices of that unit}`` (indices in their original order within a unit)."""
    if root.numel() == 0:
        return {}
    order = torch.argsort(root, stable=True)
    units, counts = torch.unique_consecutive(root[order], return_counts=True)
    return dict(zip(units.tolist(), torch.split(index[order], counts.tolist()), strict=True))


def owned_chunks(lab):
    """``[(group, indices)]`` of a label vector (``-1`` = no group), groups in increasing order."""
    valid = (lab >= 0).nonzero().flatten()
    return list(split_by_root(valid, lab[valid]).items())


def _label(m, which, dim, index, gids):
    """``m.{which}_lab[index] = gids`` along ``dim`` (the later group wins on a repeated index)."""
    lab_attr, dim_attr = f"{which}_lab", f"{which}_dim"
    if getattr(m, lab_attr) is None:
        setattr(m, dim_attr, dim)
        setattr(m, lab_attr, torch.full((m.param.shape[dim],), -1, dtype=torch.long))
    elif getattr(m, dim_attr) != dim:
        raise ValueError(f"{m.name}: coupled along two dimensions ({getattr(m, dim_attr)} and {dim}); "
                         "this layout is not supported.")
    if index.numel():
        # group ids only grow, so "the last assignment wins" is the maximum
        getattr(m, lab_attr).scatter_reduce_(0, index, gids, reduce="amax")


def unit_structures(units, member):
    """One :class:`Structure` per unit (with its ``parts``), and the producer/consumer labels of
    every member tensor (``member(slice)`` gives it). ``units`` are
    ``(kind, name, unit index, own slices, read slices, attention)``; consecutive units that
    share their slices form one width. The cyclic garbage collector is paused meanwhile: the tens
    of thousands of small tensors made here hold no cycles, and its passes over the traced graph
    took most of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _unit_structures(units, member)
    finally:
        if enabled:
            gc.enable()


def _unit_structures(units, member):
    structures = [Structure(kind=kind, name=name, attention=attention) for kind, name, _, _, _, attention in units]
    start = 0
    while start < len(units):
        own, reads = units[start][3], units[start][4]
        key = [id(s) for s in own + reads]
        end = start + 1
        while end < len(units) and [id(s) for s in units[end][3] + units[end][4]] == key:
            end += 1
        gid_of = {units[g][2]: g for g in range(start, end)}
        lookup = torch.full((max(gid_of) + 1,), -1, dtype=torch.long)
        lookup[torch.as_tensor(list(gid_of))] = torch.as_tensor(list(gid_of.values()))
        for which, slices in (("prod", own), ("cons", reads)):
            for s in slices:
                chunks = split_by_root(s.index, s.root)
                for r, g in gid_of.items():
                    idx = chunks.get(r, s.index[:0])
                    structures[g].parts.append(Slice(name=s.name, param=s.param, dim=s.dim, index=idx,
                                                     root=torch.full_like(idx, g), bias=s.bias))
                inside = (s.root >= 0) & (s.root < lookup.numel())
                gids = torch.where(inside, lookup[s.root.clamp(0, lookup.numel() - 1)], -1)
                keep = gids >= 0
                _label(member(s), which, s.dim, s.index[keep], gids[keep])
        start = end
    return structures
