"""The per-unit slices and labels of :func:`penalized.nn.coupled.coupled_groups`, built width by width.

A width of ``W`` units (a layer's channels, an attention's heads) shares its slices: each
slice maps every index to its unit (``root``). Cutting a slice for every unit with a mask
``root == r`` costs ``O(W²)`` per slice (minutes on a ResNet-18 or a ViT); here every slice
is sorted by unit once and split (``O(W log W)``), and the partition's labels are written
for the whole width at once.
"""

from __future__ import annotations

import functools
import gc

import torch

from .structures import Slice, Structure

__all__ = ["unit_structures", "owned_chunks", "gc_paused"]


def gc_paused(fn):
    """``fn`` with Python's cyclic garbage collector paused during the call.

    Building the groups makes hundreds of thousands of small objects (one slice per unit and
    tensor) that hold no reference cycles; each automatic collection would also walk the whole
    traced graph, and those passes took most of the build time (efficientnet_b0: 12 s → see
    docs/nn.md). The collector's state is restored afterwards.
    """

    @functools.wraps(fn)
    def paused(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


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


class _WidthParts:
    """The slices of one width, cut into per-unit parts on first use (then kept)."""

    def __init__(self, slices, gid_of):
        self.slices, self.gid_of = slices, gid_of
        self.parts = None

    def of(self, gid):
        if self.parts is None:
            self.parts = {g: [] for g in self.gid_of.values()}
            roots = {}
            for s in self.slices:
                chunks = split_by_root(s.index, s.root)
                for r, g in self.gid_of.items():
                    idx = chunks.get(r, s.index[:0])
                    key = (g, idx.numel())
                    if key not in roots:  # one read-only root tensor per unit and length, shared by its slices
                        roots[key] = torch.full_like(idx, g)
                    self.parts[g].append(Slice(name=s.name, param=s.param, dim=s.dim, index=idx, root=roots[key],
                                               bias=s.bias))
        return self.parts[gid]


class LazyStructure(Structure):
    """A :class:`Structure` whose ``parts`` (every slice that goes with the unit) are cut from its
    width's slices when first read (only the MAC counts read them); ``own`` is built at once."""

    def __init__(self, kind, name, attention, width, gid):
        self._width, self._gid, self._parts = width, gid, None
        super().__init__(kind=kind, name=name, attention=attention)

    @property
    def parts(self):
        if self._parts is None:
            self._parts = list(self._width.of(self._gid)) if self._width is not None else []
        return self._parts

    @parts.setter
    def parts(self, value):
        if value:  # the dataclass's default (an empty list) keeps the lazy parts
            self._parts, self._width = list(value), None


@gc_paused
def unit_structures(units, member):
    """One :class:`Structure` per unit (its ``parts`` cut on first use), and the producer/consumer
    labels of every member tensor (``member(slice)`` gives it). ``units`` are
    ``(kind, name, unit index, own slices, read slices, attention)``; consecutive units that
    share their slices form one width."""
    structures = []
    start = 0
    while start < len(units):
        own, reads = units[start][3], units[start][4]
        key = [id(s) for s in own + reads]
        end = start + 1
        while end < len(units) and [id(s) for s in units[end][3] + units[end][4]] == key:
            end += 1
        gid_of = {units[g][2]: g for g in range(start, end)}
        width = _WidthParts(own + reads, gid_of)
        structures.extend(LazyStructure(kind=units[g][0], name=units[g][1], attention=units[g][5], width=width,
                                        gid=g) for g in range(start, end))
        lookup = torch.full((max(gid_of) + 1,), -1, dtype=torch.long)
        lookup[torch.as_tensor(list(gid_of))] = torch.as_tensor(list(gid_of.values()))
        for which, slices in (("prod", own), ("cons", reads)):
            for s in slices:
                inside = (s.root >= 0) & (s.root < lookup.numel())
                gids = torch.where(inside, lookup[s.root.clamp(0, lookup.numel() - 1)], -1)
                keep = gids >= 0
                _label(member(s), which, s.dim, s.index[keep], gids[keep])
        start = end
    return structures
