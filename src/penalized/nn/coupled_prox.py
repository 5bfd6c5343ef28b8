"""The coupled group prox in a diagonal metric, vectorized: a few whole-array passes per Newton step.

:class:`~penalized.nn.coupled.CoupledGroupL1` solves, for every live group ``g``, the root
``r = ‖z_g‖`` of ``Σ_i w_i²/(r + t_i)² = 1`` (``t_i = s_i·λ·c_g``, ``s_i`` the coordinate's
step) and sets ``z_i = w_i·r/(r + t_i)``; a group with ``Σ_i (w_i/t_i)² ≤ 1`` becomes exactly
zero. Done tensor by tensor, every Newton step costs a dozen small operations per member
tensor (hundreds of kernel calls on a ResNet, each with Python overhead), and broadcasting a
per-group value to each tensor's entries allocates a new array each time.

Here every entry of the groups is placed once in a **row**: the slice of one member tensor
along its group dimension (a producer's output row, or a consumer's input column). All the
rows of one length ``L`` (across member tensors) form one ``(R, L)`` *block*, each row
labelled with its group, so that

- a group sum is a row reduction of the block and one ``index_add_`` of ``R`` values;
- a per-group value reaches the entries as one ``(R, 1)`` column broadcast over the block;
- a Newton step is five passes over each block (``r + t``, ``w/(r + t)``, its square's
  row sums, ``w/(r + t)²``, its row sums against the previous pass), whatever the number of
  member tensors (a ResNet has a handful of distinct row lengths against a hundred tensors).

The result is applied to the tensors as one multiplication by ``r/(r + t_i)``: exactly 0 on
the rows of a dead group, exactly 1 where ``t_i = 0`` (a held tensor). Entries of a tensor
that belong to no group, or to a producer group while this row is a consumer's column,
keep factor 1 (a mask, only on the rare tensors that need it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .coupled_fused import active_kernels

__all__ = ["RowBlocks", "diagonal_prox_", "block_shrink_", "group_sq_norms", "scale_groups_"]


@dataclass
class _Part:
    """The rows of one member tensor that go into a block."""

    member: int  # index in CoupledGroups.members
    dim: int  # the group dimension (moved first)
    rows: torch.Tensor | None  # indices along dim (None: every index)
    n_all: int  # size of dim
    mask: torch.Tensor | None  # (n, L) bool: True on the entries of this part's groups (None: all)
    shape: tuple = ()  # the tensor's shape

    @property
    def length(self):
        return math.prod(self.shape) // max(1, self.n_all)

    @property
    def n(self):
        return self.n_all if self.rows is None else int(self.rows.numel())

    def matrix(self, x):
        """``x`` (shaped like the tensor) as this part's ``(n, L)`` rows (a view where possible)."""
        out = x.movedim(self.dim, 0).reshape(self.n_all, -1)
        return out if self.rows is None else out.index_select(0, self.rows)

    def multiply_(self, param, factor):
        """``param``'s rows of this part times ``factor`` (``(n, L)``, or ``(n, 1)``: one per row) in place."""
        if self.mask is not None:
            factor = torch.where(self.mask, factor, 1.0)
        view = param.movedim(self.dim, 0)
        if factor.shape[1] == 1 and self.length != 1:
            factor = factor.reshape(self.n, *([1] * (view.ndim - 1)))
        else:
            factor = factor.reshape(self.n, *view.shape[1:])
        if self.rows is None:
            view.mul_(factor)
        else:
            view[self.rows] = view[self.rows] * factor


class _Block:
    """The ``(R, L)`` rows of one length: parts, and each row's group."""

    def __init__(self, length):
        self.length = length
        self.parts = []
        self.labels = []

    def finish(self):
        self.row_group = torch.cat(self.labels)
        del self.labels
        self.offsets = [0]
        for part in self.parts:
            self.offsets.append(self.offsets[-1] + part.n)

    def gather(self, per_member, fill, like, masked=0.0):
        """The block of ``per_member[k]`` (a tensor shaped like member ``k``, a number, or None
        for ``fill``), ``masked`` outside the parts' masks."""
        pieces = []
        for part in self.parts:
            x = per_member[part.member]
            if x is None or not torch.is_tensor(x) or x.ndim == 0:
                piece = torch.full((part.n, self.length), float(fill if x is None else x), dtype=like.dtype,
                                   device=like.device)
            else:
                piece = part.matrix(x.expand(part.shape))
            if part.mask is not None:
                piece = torch.where(part.mask, piece, masked)
            pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces)

    def multiply_(self, params, factor):
        for part, a, b in _spans(self):
            part.multiply_(params[part.member], factor[a:b])


class RowBlocks:
    """The entries of a :class:`~penalized.nn.coupled.CoupledGroups` as row blocks (module doc)."""

    def __init__(self, groups):
        self.n_groups = groups.n_groups
        blocks = {}
        for k, m in enumerate(groups.members):
            for part, labels in _parts(k, m):
                length = m.param.numel() // max(1, part.n_all)
                key = (length, m.param.dtype, m.param.device)
                block = blocks.setdefault(key, _Block(length))
                block.parts.append(part)
                block.labels.append(labels)
        self.blocks = list(blocks.values())
        for block in self.blocks:
            block.finish()

    def row_groups(self):
        """Every row's group, the blocks (and their parts) in order."""
        if getattr(self, "_row_groups", None) is None:
            self._row_groups = torch.cat([block.row_group for block in self.blocks])
        return self._row_groups

    def sums(self, rows_per_block, like):
        """Per group, the sum of the row values ``rows_per_block[b]`` (``(R_b,)`` each)."""
        out = torch.zeros(self.n_groups, dtype=like.dtype, device=like.device)
        for block, rows in zip(self.blocks, rows_per_block, strict=True):
            out.index_add_(0, block.row_group, rows)
        return out


def _parts(k, m):
    """``(part, row labels)`` of member ``m``: its producer rows, else its consumer columns."""
    p = m.param
    prod_full = False
    if m.prod_lab is not None and p.shape[m.prod_dim] > 0:
        lab = m.prod_lab.to(p.device)
        keep = lab >= 0
        prod_full = bool(keep.all())
        rows = None if prod_full else keep.nonzero().squeeze(1)
        if prod_full or rows.numel():
            yield _Part(k, m.prod_dim, rows, p.shape[m.prod_dim], None, p.shape), lab if prod_full else lab[rows]
    if m.cons_lab is None or prod_full or p.shape[m.cons_dim] == 0:
        return
    lab = m.cons_lab.to(p.device)
    keep = lab >= 0
    rows = None if bool(keep.all()) else keep.nonzero().squeeze(1)
    if rows is not None and not rows.numel():
        return
    mask = None
    if m.prod_lab is not None:  # rows owned by a producer group are counted there
        shape = [1] * p.ndim
        shape[m.prod_dim] = p.shape[m.prod_dim]
        free = (m.prod_lab.to(p.device) < 0).reshape(shape).expand(p.shape)
        part = _Part(k, m.cons_dim, rows, p.shape[m.cons_dim], None, p.shape)
        mask = part.matrix(free)
        part.mask = mask.contiguous()
        yield part, lab if rows is None else lab[rows]
        return
    yield _Part(k, m.cons_dim, rows, p.shape[m.cons_dim], None, p.shape), lab if rows is None else lab[rows]


def _spans(block):
    return zip(block.parts, block.offsets[:-1], block.offsets[1:], strict=True)


@torch.no_grad()
def group_sq_norms(blocks, params):
    """``Σ w²`` over every group's entries: one read of each tensor where it lies (no copies)."""
    like = params[0]
    out = torch.zeros(blocks.n_groups, dtype=like.dtype, device=like.device)
    for block in blocks.blocks:
        for part, a, b in _spans(block):
            rows = part.matrix(params[part.member].detach())
            if part.mask is not None:
                rows = torch.where(part.mask, rows, 0.0)
            out.index_add_(0, block.row_group[a:b], _sum_sq(rows))
    return out


@torch.no_grad()
def scale_groups_(blocks, params, factor):
    """Every entry of group ``g`` times ``factor[g]``, in place (entries outside the groups unchanged)."""
    for block in blocks.blocks:
        rows = factor[block.row_group].unsqueeze(1)
        for part, a, b in _spans(block):
            part.multiply_(params[part.member], rows[a:b])
    return params


@torch.no_grad()
def block_shrink_(blocks, params, step, lam):
    """``w_g ← w_g·max(0, 1 − step·lam_g/‖w_g‖)`` in place (one scalar step: ProxSGD's prox).

    Two passes per tensor, no temporary arrays (:func:`group_sq_norms`, :func:`scale_groups_`);
    a dead group's entries are multiplied by exactly 0.
    """
    like = params[0]
    tiny = torch.finfo(like.dtype).tiny
    lam_vec = lam.to(dtype=like.dtype, device=like.device) if torch.is_tensor(lam) else lam
    norms = group_sq_norms(blocks, params).sqrt()
    return scale_groups_(blocks, params, (1.0 - step * lam_vec / norms.clamp_min(tiny)).clamp_min(0.0))


def _sum_sq(a):
    """Row sums of squares, one pass (no temporary array)."""
    return torch.linalg.vector_norm(a, dim=1).square_()


@torch.no_grad()
def diagonal_prox_(blocks, params, lam, *, step=None, denoms=None, steps=None, max_iter=50):
    """``w ← argmin_z Σ_i (z_i − w_i)²/(2·s_i) + Σ_g lam_g·‖z_g‖₂`` in place, jointly over the groups.

    The per-coordinate steps are ``s_i = step / d_i`` with ``denoms[k]`` the ``d`` of member
    ``k`` (a tensor like it; None: the tensor is held fixed, ``s = 0``), or ``steps[k]`` (a
    tensor like member ``k``, a number, or None for 0). ``lam`` is the per-group ``λ·c_g``
    (a tensor of ``n_groups``, or a number). A group with ``Σ_i (w_i/t_i)² ≤ 1``
    (``t_i = s_i·lam_g``) becomes exactly zero; the others shrink by ``r/(r + t_i)`` with
    ``r`` the root of ``Σ_i w_i²/(r + t_i)² = 1``, found by Newton steps on
    ``h(r)^(-1/2) = 1`` (nearly linear in ``r``) safeguarded by bisection, stopped once a
    step moves ``r`` by at most ``√eps·r`` (the error after it is then of order ``eps``).
    """
    like = params[0]
    info = torch.finfo(like.dtype)
    tiny = info.tiny
    n = blocks.n_groups
    lam_vec = lam.to(dtype=like.dtype, device=like.device) if torch.is_tensor(lam) else \
        torch.full((n,), float(lam), dtype=like.dtype, device=like.device)
    held = denoms is not None and any(d is None for d in denoms)
    kernels = active_kernels()
    if kernels is not None and denoms is not None and not held:
        return _fused_prox_(blocks, params, lam_vec * step, denoms, kernels, max_iter)
    ws, ts, bufs, ratio_rows = [], [], [], []
    for block in blocks.blocks:
        w = block.gather(params, 0.0, like)
        lam_rows = lam_vec[block.row_group].unsqueeze(1)
        buf = w.new_empty(w.shape)  # a work array (contiguous), reused
        if denoms is not None and not held:  # t = step·lam_g/d, and (w/t)² = (w·d)²/(step·lam_g)²
            d = block.gather(denoms, 1.0, like, masked=1.0)
            t = torch.div(lam_rows * step, d)
            ratio_rows.append(_sum_sq(torch.mul(w, d, out=buf)))
        else:
            if denoms is not None:  # held tensors: d = ∞, t = 0
                t = torch.div(lam_rows * step, block.gather(denoms, math.inf, like, masked=1.0))
            else:
                t = block.gather(steps, 0.0, like) * lam_rows
            # where t = 0 (held entries) a non-zero w makes (w/t)² huge: the group lives
            torch.clamp_min(t, tiny, out=buf)
            ratio_rows.append(_sum_sq(torch.div(w, buf, out=buf)))
        ws.append(w)
        ts.append(t)
        bufs.append(buf)
    sq = blocks.sums([_sum_sq(w) for w in ws], like)
    ratio = blocks.sums(ratio_rows, like)
    if denoms is not None and not held:
        ratio = ratio / (lam_vec * step).square()
    alive, norm, r = _start(sq, ratio, tiny)
    r = _newton(blocks, ws, ts, bufs, norm, r, alive, max_iter)
    # factor r/(r + t_i): 0 on dead groups (r := 0 over r + t with r := 1), 1 where t_i = 0
    keep = torch.where(alive, r, 0.0)
    base = torch.where(alive, r, 1.0)
    for block, t, den in zip(blocks.blocks, ts, bufs, strict=True):
        torch.add(t, base[block.row_group].unsqueeze(1), out=den)
        torch.div(keep[block.row_group].unsqueeze(1), den, out=den)
        block.multiply_(params, den)
    return params


def _newton(blocks, ws, ts, work, norm, r, alive, max_iter):
    """Safeguarded Newton steps on ``h(r)^(-1/2) = 1`` for the live groups; the rows of the
    groups that have converged leave the arrays once they are at most half of a block."""
    like = norm
    info = torch.finfo(like.dtype)
    lo, hi = torch.zeros_like(norm), norm
    active = alive.clone()
    rows = [(block.row_group, w, t, buf, w.new_empty(w.shape))
            for block, w, t, buf in zip(blocks.blocks, ws, ts, work, strict=True)]
    rows = [_compact(entry, active) for entry in rows]  # dead groups' rows out
    for _ in range(max_iter):
        h_rows, h3_rows = [], []
        for row_group, w, t, den, v in rows:
            torch.add(t, r[row_group].unsqueeze(1), out=den)  # r + t_i
            torch.div(w, den, out=v)  # w_i/(r + t_i)
            h_rows.append(_sum_sq(v))
            torch.div(v, den, out=den).mul_(v)  # w_i²/(r + t_i)³
            h3_rows.append(den.sum(1))
        h = _sums(blocks.n_groups, rows, h_rows, like)
        h3 = _sums(blocks.n_groups, rows, h3_rows, like)
        r, lo, hi = _newton_update(r, h, h3, lo, hi, active, info)
        if not bool(active.any()):
            break
        rows = [_compact(entry, active) for entry in rows]
    return r


def _newton_update(r, h, h3, lo, hi, active, info):
    """One safeguarded Newton step on ``h(r)^(-1/2) = 1`` from ``h = Σ w²/(r + t)²`` and
    ``h3 = Σ w²/(r + t)³``; ``active`` (updated in place) loses the groups that converged."""
    tiny, tol = info.tiny, math.sqrt(info.eps)
    h = h.clamp_min(tiny)
    phi = h.rsqrt()
    lo = torch.where(active & (phi < 1.0), r, lo)
    hi = torch.where(active & (phi >= 1.0), r, hi)
    r_new = r - (phi - 1.0) / (h.pow(-1.5) * h3).clamp_min(tiny)
    inside = (r_new >= lo) & (r_new <= hi)
    r_new = torch.where(inside, r_new, 0.5 * (lo + hi)).clamp_min(tiny)
    done = (inside & ((r_new - r).abs() <= tol * r)) | ((phi - 1.0).abs() <= 16 * info.eps)
    r = torch.where(active, r_new, r)
    active &= ~done
    return r, lo, hi


def _start(sq, ratio, tiny):
    """Live groups (``Σ (w_i/t_i)² > 1``, ``w_g ≠ 0``), ``‖w_g‖`` and Newton's start: the root
    if every ``t_i`` of the group were equal (``t = ‖w‖/‖w/t‖``)."""
    alive = (ratio > 1.0) & (sq > 0)
    norm = sq.sqrt()
    r = torch.minimum(norm * (1.0 - ratio.clamp_min(1.0).rsqrt()), norm).clamp_min(tiny)
    return alive, norm, r


def _fused_prox_(blocks, params, s_vec, denoms, kernels, max_iter):
    """:func:`diagonal_prox_` with ``t_i = s_g/d_i`` on the list functions of
    :mod:`penalized.nn.coupled_fused`: every part of every block as its own ``(n, L)`` matrix
    (a view of the parameter where possible, no concatenation), one call per phase."""
    like = params[0]
    info = torch.finfo(like.dtype)
    n = blocks.n_groups
    ws, ds, views = [], [], []
    for block in blocks.blocks:
        for part, _, _ in _spans(block):
            p = params[part.member]
            w, d = part.matrix(p), part.matrix(denoms[part.member].expand(part.shape))
            view = part.rows is None and part.mask is None and w._base is not None and w.data_ptr() == p.data_ptr()
            if part.mask is not None:
                w, d = torch.where(part.mask, w, 0.0), torch.where(part.mask, d, 1.0)
            ws.append(w)
            ds.append(d)
            views.append(view)
    row_group = blocks.row_groups()
    sizes = [w.shape[0] for w in ws]
    ss = torch.split(s_vec[row_group].unsqueeze(1), sizes)
    out = kernels.setup(ws, ds)
    sq = torch.zeros(n, dtype=like.dtype, device=like.device).index_add_(0, row_group, torch.cat([a for a, _ in out]))
    ratio = torch.zeros_like(sq).index_add_(0, row_group, torch.cat([b for _, b in out])) / s_vec.square()
    alive, norm, r = _start(sq, ratio, info.tiny)
    lo, hi = torch.zeros_like(norm), norm
    active = alive.clone()
    for _ in range(max_iter if bool(active.any()) else 0):
        out = kernels.evaluate(ws, ds, torch.split(r[row_group].unsqueeze(1), sizes), ss)
        h = torch.zeros_like(sq).index_add_(0, row_group, torch.cat([a for a, _ in out]))
        h3 = torch.zeros_like(sq).index_add_(0, row_group, torch.cat([b for _, b in out]))
        r, lo, hi = _newton_update(r, h, h3, lo, hi, active, info)
        if not bool(active.any()):
            break
    keeps = torch.split(torch.where(alive, r, 0.0)[row_group].unsqueeze(1), sizes)
    bases = torch.split(torch.where(alive, r, 1.0)[row_group].unsqueeze(1), sizes)
    pick = [k for k, view in enumerate(views) if view]
    if pick:
        kernels.shrink_(*([x[k] for k in pick] for x in (ws, ds, keeps, bases, ss)))
    rest = [k for k, view in enumerate(views) if not view]
    if rest:
        factors = kernels.factor(*([x[k] for k in rest] for x in (ds, keeps, bases, ss)))
        parts = [part for block in blocks.blocks for part in block.parts]
        for k, f in zip(rest, factors, strict=True):
            parts[k].multiply_(params[parts[k].member], f)
    return params


def _sums(n, rows, values, like):
    out = torch.zeros(n, dtype=like.dtype, device=like.device)
    for (row_group, *_), vals in zip(rows, values, strict=True):
        out.index_add_(0, row_group, vals)
    return out


#: blocks smaller than this are not compacted (the selection would cost more than it saves)
_COMPACT_MIN = 1 << 14


def _compact(entry, active):
    """The rows of still active groups, when they are at most half of the block's rows."""
    row_group, w, t, den, v = entry
    if w.numel() < _COMPACT_MIN:
        return entry
    keep = active[row_group]
    count = int(keep.sum())
    if 2 * count > row_group.numel():
        return entry
    sel = keep.nonzero().squeeze(1)
    size, length = count * w.shape[1], w.shape[1]
    return (row_group[sel], w[sel], t[sel], den.view(-1)[:size].view(count, length),
            v.view(-1)[:size].view(count, length))
