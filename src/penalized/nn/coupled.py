"""The group lasso over a network's coupled structures: ``λ·Σ_g c_g·‖(all slices of g)‖₂``.

:class:`CoupledGroups` partitions the entries of several tensors into the groups of
:mod:`penalized.nn.structures` (a channel, a unit, a residual channel, an FFN unit, a
head); :class:`CoupledGroupL1` is the penalty on that partition, with its exact prox — in
the Euclidean metric (ProxSGD) and in a diagonal metric (ProxAdamW's per-coordinate step),
on the whole group across tensors.

Why a partition. A weight entry ``W[i, j]`` of a hidden layer is both in row ``i`` (unit
``i`` of this layer) and in column ``j`` (read from unit ``j`` of the previous layer).
Overlapping groups have no closed-form prox (it needs an inner iterative solver whose
zeros are exact only at convergence), so every entry belongs to **one** group: the unit it
computes when that unit is a structure (its producer row, bias, normalization entries,
every residual partner's row), otherwise the unit it reads (the input column of a consumer
whose outputs are not a structure: the classifier's column of a last hidden unit, the
out-projection column of a head, the second FFN layer's column of an FFN unit). A zero
group is then a unit that computes a constant, which :func:`penalized.nn.prune` folds
into the next bias and removes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..penalties import GroupL1, Penalty, PenaltySum, check_penalty_weights
from .coupled_build import gc_paused, owned_chunks, unit_structures
from .coupled_prox import RowBlocks, block_shrink_, diagonal_prox_, group_sq_norms
from .penalty_state import penalty_from_state, penalty_to_state
from .structures import Slice, head_slices

__all__ = ["CoupledGroups", "CoupledGroupL1", "coupled_groups"]


@dataclass
class _Member:
    """One tensor's share of the groups: labels along a producer dim and a consumer dim."""

    name: str
    param: torch.Tensor
    prod_dim: int | None = None
    prod_lab: torch.Tensor | None = None  # (shape[prod_dim],), -1 = not in a group
    cons_dim: int | None = None
    cons_lab: torch.Tensor | None = None

    def _shape(self, dim):
        shape = [1] * self.param.ndim
        shape[dim] = self.param.shape[dim]
        return shape

    def prepare(self):
        """Masks and safe indices on the parameter's device (call after labels are final)."""
        dev = self.param.device
        self._prod = None
        self._cons = None
        self._prod_full = False  # every producer slice is in a group: no masks needed (the common case)
        if self.prod_lab is not None:
            lab = self.prod_lab.to(dev)
            self._prod = (lab.clamp(min=0), (lab >= 0), self._shape(self.prod_dim))
            self._prod_full = bool((lab >= 0).all())
        if self.cons_lab is not None and not self._prod_full:  # rows owned by producers take every entry
            lab = self.cons_lab.to(dev)
            self._cons = (lab.clamp(min=0), (lab >= 0), self._shape(self.cons_dim))

    def add_sums(self, x, out):
        """``out[g] += Σ x`` over this tensor's entries of group ``g``."""
        dims = list(range(x.ndim))
        if self._prod is not None:
            idx, mask, shape = self._prod
            per = x.sum(dim=[d for d in dims if d != self.prod_dim]) if x.ndim > 1 else x
            out.index_add_(0, idx, per if self._prod_full else torch.where(mask, per, 0.0))
            if self._cons is not None:  # rows that belong to a producer group are counted there
                x = torch.where(mask.reshape(shape), 0.0, x)
        if self._cons is not None:
            idx, mask, shape = self._cons
            per = x.sum(dim=[d for d in dims if d != self.cons_dim]) if x.ndim > 1 else x
            out.index_add_(0, idx, torch.where(mask, per, 0.0))

    def expand(self, vec, fill):
        """``vec[g]`` at every entry of group ``g`` (``fill`` elsewhere), broadcastable to the tensor."""
        prod = cons = None
        if self._prod is not None:
            idx, mask, shape = self._prod
            if self._prod_full:
                return vec[idx].reshape(shape)
            prod = torch.where(mask, vec[idx], fill).reshape(shape)
        if self._cons is not None:
            idx, mask, shape = self._cons
            cons = torch.where(mask, vec[idx], fill).reshape(shape)
        if prod is None:
            return cons
        if cons is None:
            return prod
        return torch.where(self._prod[1].reshape(self._prod[2]), prod, cons)


class CoupledGroups:
    """A partition of entries of several tensors into ``n_groups`` groups (see the module doc).

    ``structures[g]`` describes group ``g`` (kind, name, slices); ``params`` are the tensors
    with at least one entry in a group, in a fixed order.
    """

    def __init__(self, members, structures):
        self.members = members
        self.structures = structures
        self.n_groups = len(structures)
        for m in members:
            m.prepare()
        self._by_id = {id(m.param): i for i, m in enumerate(members)}
        #: per group, the index of its width (one layer's channels, one attention's heads):
        #: removing every group of one family would cut the network
        self.families = torch.arange(self.n_groups)

    @property
    def params(self):
        return [m.param for m in self.members]

    @property
    def names(self):
        return [m.name for m in self.members]

    def index_of(self, tensor):
        return self._by_id.get(id(tensor))

    def sums(self, per_member, like):
        """``Σ`` of ``per_member[k]`` (shaped like member ``k``'s tensor) over each group."""
        out = torch.zeros(self.n_groups, dtype=like.dtype, device=like.device)
        for m, x in zip(self.members, per_member, strict=True):
            m.add_sums(x, out)
        return out

    def expand(self, vec, fill=0.0):
        return [m.expand(vec, fill) for m in self.members]

    def sizes(self):
        """Number of entries of every group."""
        like = self.members[0].param
        return self.sums([torch.ones_like(m.param) for m in self.members], like).round().long()

    def norms(self):
        """``‖w_g‖₂`` of every group (the current values of the tensors)."""
        return group_sq_norms(self.row_blocks(), self.params).sqrt()

    def row_blocks(self):
        """The entries as row blocks (:mod:`penalized.nn.coupled_prox`), built on first use."""
        if getattr(self, "_row_blocks", None) is None:
            self._row_blocks = RowBlocks(self)
        return self._row_blocks


@gc_paused
def coupled_groups(graph, selected_ids=None):
    """:class:`CoupledGroups` of the removable channel groups and the heads of ``graph``.

    ``selected_ids`` (ids of parameters): keep only the structures computed by one of them
    (a weight matrix, kernel, embedding or raw parameter among their producers).
    """
    names = graph.names
    units = []  # (kind, name, unit index, producer+member slices, consumer slices, attention module)
    families = []  # per unit: the index of its width (channel group or attention layer)
    graph_families = []
    for cg in graph.channel_groups:
        if not cg.removable:
            continue
        if selected_ids is not None and not any(id(s.param) in selected_ids for s in cg.producers if not s.bias):
            continue
        for r in range(cg.width):
            units.append((cg.kind, f"{cg.root_name}[{r}]", r, cg.producers + cg.members,
                          [s for _, s in cg.consumers], None))
            families.append(len(graph_families))
        graph_families.append(cg)
    for hg in graph.head_groups:
        if selected_ids is not None and id(hg.module.in_proj_weight) not in selected_ids:
            continue
        sl = head_slices(hg, names)
        for h in range(hg.num_heads):
            units.append(("head", f"{hg.name}.head[{h}]", h, sl["in"], sl["out"], hg.module))
            families.append(len(graph_families))
        graph_families.append(hg)
    members = {}

    def member(s):
        key = id(s.param)
        if key not in members:
            members[key] = _Member(name=s.name, param=s.param)
        return members[key]

    structures = unit_structures(units, member)
    ms = list(members.values())
    # the owned slices of every structure, after the partition
    for m in ms:
        for which in ("prod", "cons"):
            lab = getattr(m, f"{which}_lab")
            if lab is None:
                continue
            dim = getattr(m, f"{which}_dim")
            for gid, idx in owned_chunks(lab):
                if which == "cons" and m.prod_lab is not None and bool((m.prod_lab >= 0).all()):
                    continue
                structures[gid].own.append(Slice(name=m.name, param=m.param, dim=dim, index=idx,
                                                             root=torch.full_like(idx, gid)))
    out = CoupledGroups([m for m in ms if m.prod_lab is not None or m.cons_lab is not None], structures)
    out.families = torch.as_tensor(families, dtype=torch.long)
    return out


#: default group factors ``c_g`` on coupled structures (``GroupL1(weights=None)``)
NORMALIZATIONS = ("sqrt_size", "size", "uniform")


def check_normalize(normalize):
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"group_weights must be one of {', '.join(map(repr, NORMALIZATIONS))}; got {normalize!r}.")
    return normalize


def _split_penalty(penalty):
    """``(group, l1, l2)`` of a ``GroupL1`` or of a sum ``L1/L2/L1L2 + GroupL1`` (sparse group lasso)."""
    if isinstance(penalty, GroupL1):
        return penalty, 0.0, 0.0
    if isinstance(penalty, PenaltySum) and penalty._group is not None:
        for term in penalty._enet:
            if term.weights is not None:
                raise ValueError(f"{term!r} + GroupL1 on coupled structures: per-feature weights of the element-wise "
                                 "term have no meaning across several tensors; leave its weights=None (per-structure "
                                 "factors go in GroupL1(weights=...)).")
        return penalty._group, float(sum(t._l1 for t in penalty._enet)), float(sum(t._l2 for t in penalty._enet))
    raise TypeError("penalty must be a penalized.GroupL1 or a sum with one, such as pz.L1(a) + pz.GroupL1(b) "
                    f"(the sparse group lasso); got {penalty!r}.")


class CoupledGroupL1(Penalty):
    """``Σ_g [λ·c_g·‖w_g‖₂ + l1·‖w_g‖₁ + l2·‖w_g‖₂²]`` over the coupled groups of a network.

    Built by :class:`penalized.nn.Regularizer` from ``pz.GroupL1(lam, weights=c)`` (then
    ``l1 = l2 = 0``: the group lasso) or from a sum ``pz.L1(l1) + pz.GroupL1(lam)`` (the
    sparse group lasso; L2/L1L2 terms add ``l2``) and ``example_inputs``. ``weights``
    (``c_g``, default 1) has one entry per structure; the element-wise terms act on the
    same entries as the groups (every slice of every structure: rows, biases,
    normalization entries, consumer columns) and take no per-entry weights.

    The optimizers call :meth:`prox_foreach_` with the group's tensors (all of them at
    once: a group spans several tensors), with a scalar step (ProxSGD) or per-coordinate
    steps ``step / denom`` (ProxAdamW). The prox is exact: per coordinate the
    soft-threshold and the L2 shrinkage, then the group's block shrinkage with the
    shrunken steps, ``G(soft(w, s·l1) / (1 + 2·s·l2), s / (1 + 2·s·l2))`` (Simon, Friedman,
    Hastie & Tibshirani 2013; see :mod:`penalized.penalties.sums`).
    """

    #: the prox of a group needs all its tensors at once (the optimizers check this flag)
    couples_tensors = True

    def __init__(self, penalty, groups, normalize="sqrt_size"):
        group, l1, l2 = _split_penalty(penalty)
        self.normalize = check_normalize(normalize)
        if group.groups is not None:
            raise ValueError("GroupL1(groups=...) labels rows of one tensor; with example_inputs the groups are "
                             "the network's coupled structures: leave groups=None.")
        if group.weights is not None:
            check_penalty_weights(group.weights)
            if group.weights.shape[0] != groups.n_groups:
                raise ValueError(f"GroupL1 weights has {group.weights.shape[0]} entries but the network has "
                                 f"{groups.n_groups} coupled structures (see Regularizer.structures).")
        self.penalty = penalty
        self.group = group
        self.l1, self.l2 = l1, l2
        self.groups = groups
        self._norm = None

    def default_weights(self):
        """``c_g`` when ``GroupL1(weights=None)``: ``√n_g`` (``"sqrt_size"``), ``n_g`` (``"size"``)
        or 1 (``"uniform"``), with ``n_g`` the group's number of entries (a float64 tensor)."""
        if self._norm is None:
            sizes = self.groups.sizes().double()
            self._norm = {"sqrt_size": sizes.sqrt(), "size": sizes, "uniform": torch.ones_like(sizes)}[self.normalize]
        return self._norm

    @property
    def lam(self):
        return self.group.lam

    def __repr__(self):
        return f"CoupledGroupL1({self.penalty!r}, {self.groups.n_groups} structures)"

    def scaled(self, factor):
        return CoupledGroupL1(self.penalty.scaled(factor), self.groups, self.normalize)

    # -- checkpoints (plain data: torch.load(weights_only=True) reads them) -------------
    def to_state(self):
        """``{"penalty": "CoupledGroupL1", "params": {"penalty": inner, "structures": names}}``
        with the inner penalty as plain data; the parameters are not stored (the optimizer's
        state holds them by index)."""
        return {"penalty": type(self).__name__,
                "params": {"penalty": penalty_to_state(self.penalty), "normalize": self.normalize,
                           "backoff": self.backoff,
                           "structures": [s.name for s in self.groups.structures]}}

    @classmethod
    def from_state(cls, state, current):
        """The penalty of :meth:`to_state`, on the coupled groups of ``current`` (the
        optimizer's present penalty for that parameter group), which must have the same
        structures."""
        names = list(state["params"]["structures"])
        if not isinstance(current, CoupledGroupL1):
            raise ValueError("this checkpoint's penalty acts on a network's coupled structures "
                             f"({len(names)} of them); load it into an optimizer built from "
                             "Regularizer(model, penalty, example_inputs=x).param_groups() on the same model.")
        if state["penalty"] != "CoupledGroupL1" and type(current) is CoupledGroupL1:
            raise ValueError(f"this checkpoint's penalty is a {state['penalty']} (a size budget, target=); load it "
                             "into an optimizer built from a Regularizer with the same target and total_steps.")
        mine = [s.name for s in current.groups.structures]
        if mine != names:
            raise ValueError(f"the checkpoint's coupled structures ({len(names)}) differ from this optimizer's "
                             f"({len(mine)}): build the Regularizer on the same architecture and selection.")
        # the optimizer's penalty object stays the one the Regularizer holds (reg.budget, the
        # collapse guard's back-off act on it): the checkpoint's values are loaded into it
        loaded = CoupledGroupL1(penalty_from_state(state["params"]["penalty"]), current.groups,
                                state["params"].get("normalize", "uniform"))
        current.penalty, current.group, current.l1, current.l2 = loaded.penalty, loaded.group, loaded.l1, loaded.l2
        current.normalize, current._norm = loaded.normalize, None
        current.backoff = float(state["params"].get("backoff", 1.0))
        return current

    #: multiplier of λ set by the collapse guard (:mod:`penalized.nn.guard`); 1 otherwise
    backoff = 1.0

    def _factors(self, like):
        lam = self.lam * self.backoff
        if self.group.weights is None:
            if self.normalize == "uniform":
                return lam
            return (lam * self.default_weights()).to(dtype=like.dtype, device=like.device)
        return torch.as_tensor(lam * self.group.weights, dtype=like.dtype, device=like.device)

    def _masks(self, like):
        """1 at every entry of a group, 0 elsewhere, broadcastable to each member tensor."""
        ones = torch.ones(self.groups.n_groups, dtype=like.dtype, device=like.device)
        return self.groups.expand(ones, 0.0)

    # -- value ------------------------------------------------------------------------
    def value(self, w=None):
        """``Σ_g λ·c_g·‖w_g‖₂ + l1·‖w_g‖₁ + l2·‖w_g‖₂²`` at the tensors' current values (differentiable).

        The norm of a zero group has gradient 0 (not NaN): ``sqrt`` is taken of the sum of
        squares clipped at the dtype's smallest normal number.
        """
        params = self.groups.params
        like = params[0]
        sq = self.groups.sums([p * p for p in params], like)
        norms = sq.clamp_min(torch.finfo(like.dtype).tiny).sqrt()
        total = (self._factors(like) * norms).sum()
        if self.l1:
            total = total + self.l1 * self.groups.sums([p.abs() for p in params], like).sum()
        if self.l2:
            total = total + self.l2 * sq.sum()
        return total

    def group_norms(self):
        return self.groups.norms()

    # -- prox -------------------------------------------------------------------------
    def prox(self, w, step):
        raise TypeError("CoupledGroupL1 spans several tensors: use prox_foreach_(tensors, step, denoms).")

    def prox_(self, w, step, denom=None):
        raise TypeError("CoupledGroupL1 spans several tensors: a proximal step needs all of them at once; "
                        "use prox_foreach_(tensors, step, denoms) (ProxSGD/ProxAdamW do).")

    def subdiff_distance(self, w, grad):  # pragma: no cover - not used by the nn optimizers
        raise NotImplementedError("CoupledGroupL1.subdiff_distance is not implemented.")

    @torch.no_grad()
    def prox_foreach_(self, ws, step, denoms=None):
        """In place ``w ← argmin_z Σ_i d_i (z_i − w_i)²/(2·step) + R(z)`` jointly (``R`` this penalty).

        ``ws`` are tensors of the groups (any subset, any order); ``denoms[k]`` (optional,
        positive, like ``ws[k]``) gives coordinate ``i`` the step ``step / d_i``. A member
        tensor missing from ``ws`` (e.g. without a gradient this step) takes step 0: it is
        held fixed, so a group that has non-zero entries there does not vanish. With one
        scalar step for all entries the group part is block soft-thresholding
        ``w_g·max(0, 1 − step·lam·c_g/‖w_g‖)``; otherwise the root ``r = ‖z_g‖`` of
        ``Σ_i w_i²/(r + t_i)² = 1`` (``t_i = step_i·lam·c_g``) by safeguarded Newton, as in
        :class:`penalized.GroupL1`. With ``l1``/``l2`` each coordinate is first
        soft-thresholded at ``step_i·l1`` and divided by ``1 + 2·step_i·l2``, and the group
        part takes the steps ``step_i / (1 + 2·step_i·l2)``.
        """
        if step == 0 or not ws:
            return ws
        grp = self.groups
        given = {}
        for k, w in enumerate(ws):
            i = grp.index_of(w)
            if i is None:
                raise ValueError("prox_foreach_ got a tensor that is not part of these coupled groups.")
            given[i] = k
        params = grp.params
        like = params[0]
        lam = self._factors(like)
        uniform = denoms is None and len(given) == len(params)
        if uniform and not (self.l1 or self.l2):
            return self._block_shrink(params, step, lam, ws)
        if self.l1 or self.l2:
            steps = []
            for i, p in enumerate(params):
                k = given.get(i)
                if k is None:
                    steps.append(torch.zeros((), dtype=p.dtype, device=p.device))
                elif denoms is None:
                    steps.append(torch.full((), step, dtype=p.dtype, device=p.device))
                else:
                    steps.append(step / denoms[k])
            steps = self._prox_elementwise(params, steps)
            if uniform:
                if self.l2:
                    step = step / (1.0 + 2.0 * step * self.l2)
                return self._block_shrink(params, step, lam, ws)
            diagonal_prox_(self._row_blocks(), params, lam, steps=steps)
        elif denoms is None:  # one scalar step, some tensors held (step 0)
            diagonal_prox_(self._row_blocks(), params, lam, steps=[step if i in given else None
                                                                   for i in range(len(params))])
        else:
            diagonal_prox_(self._row_blocks(), params, lam, step=step,
                           denoms=[denoms[given[i]] if i in given else None for i in range(len(params))])
        return ws

    def _row_blocks(self):
        return self.groups.row_blocks()

    def _block_shrink(self, params, step, lam, ws):
        """``w_g ← w_g·max(0, 1 − step·lam·c_g/‖w_g‖)`` (one scalar step for every entry)."""
        block_shrink_(self._row_blocks(), params, step, lam)
        return ws

    def _prox_elementwise(self, params, steps):
        """``w_i ← soft(w_i, s_i·l1) / (1 + 2·s_i·l2)`` on the groups' entries; returns the group steps."""
        out = []
        for p, s, mask in zip(params, steps, self._masks(params[0]), strict=True):
            s = s * mask  # 0 outside the groups: those entries stay as they are
            if self.l1:
                t = s * self.l1
                p.sub_(torch.minimum(torch.maximum(p, -t), t))
            if self.l2:
                shrink = 1.0 + 2.0 * self.l2 * s
                p.div_(shrink)
                s = s / shrink
            out.append(s)
        return out
