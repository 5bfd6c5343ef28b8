"""A size budget: the group lasso over coupled structures, steered to remove a chosen share.

``Regularizer(model, pz.GroupL1(lam), example_inputs=x, target=0.5, total_steps=T)`` builds a
:class:`BudgetGroupL1`: the coupled group lasso whose per-group strengths are set, step by
step, by a rank-based controller, so that structures holding ``target`` of the selected
structures' parameters (or MACs) are **exactly zero** from step ``reach·T`` to the end.

The controller (one optimizer step = one call of the prox; ``window = (start, reach)``,
fractions of ``total_steps``, default ``(0.2, 0.7)``):

1. **Dense** (steps ``t < start·T``): no penalty, the network trains.
2. **Ramp** (``start·T ≤ t < reach·T``): after every data step the groups are ranked by
   ``‖w_g‖² / cost_g`` (the energy each removed unit of cost takes away; ``cost_g`` is what
   removing the structure alone takes out of the network: its own entries plus the consumer
   columns it frees, or its marginal MACs with ``target_metric="macs"``) and the shortest
   prefix of that ranking that holds ``target`` of the total is *selected*: of the
   parameters that :func:`~penalized.nn.prune` removes with the prefix, as a share of all
   the structures can remove (:mod:`penalized.nn.budget_params`), or of the network's MACs
   that removing the prefix saves (:mod:`penalized.nn.budget_macs`); both counted exactly —
   an entry shared by a removed producer and a removed consumer (a residual channel's
   column in an inner channel's row) counts once. Never every unit of one layer or attention: one per width
   is kept. Only selected groups are penalized:
   first the prox of ``λ·c_g·‖w_g‖₂`` (the user's λ and group factors, in the optimizer's
   metric), then the block shrinkage ``w_g ← w_g·(1 − 1/(reach·T − t))`` — the prox of a
   group lasso whose strength rises as the deadline nears. Without gradient it takes a
   group linearly to zero at ``reach·T``; the last ramp step multiplies by 0, so every
   selected group is exactly zero then, whatever the data did. Selection is redone every
   step (a group the data hold leaves it, the next smallest enters), so the units that go
   are those the network needs least at that time; a shrinking group only gets smaller,
   which keeps the selection stable.
3. **Hold** (``t ≥ reach·T``): the last selection is frozen and its groups are set to zero
   after every step (the prox with an infinite strength); the other groups train without
   penalty — the fine-tuning of the remaining network happens in the same run.

Why a rank and not a feedback loop on one global λ: sparsity answers λ with a delay (a
channel dies epochs after λ rises) and a cliff (1e-2 → 17 %, 2e-2 → 70 %, 3e-2 → 94 % of
the parameters on a small ResNet), so a controller on the measured zero share overshoots.
Choosing *which* groups go, and pulling only those, reaches the share by construction.
"""

from __future__ import annotations

import math
import numbers
import warnings

import torch

from .coupled import CoupledGroupL1
from .coupled_prox import scale_groups_

__all__ = ["Budget", "BudgetGroupL1", "check_budget"]

METRICS = ("params", "macs")


def check_budget(target, total_steps, target_metric, window):
    """Validate the budget arguments of :class:`penalized.nn.Regularizer`."""
    if isinstance(target, bool) or not isinstance(target, numbers.Real) or not 0.0 < float(target) < 1.0:
        raise ValueError(f"target must be a fraction in (0, 1) of the selected structures' size to remove; "
                         f"got {target!r}.")
    if total_steps is None:
        raise ValueError("target needs total_steps: the number of optimizer steps of the whole run (the budget "
                         "is reached at window[1]·total_steps and held to the end).")
    if isinstance(total_steps, bool) or not isinstance(total_steps, numbers.Integral) or total_steps < 2:
        raise ValueError(f"total_steps must be an integer number of optimizer steps >= 2; got {total_steps!r}.")
    if target_metric not in METRICS:
        raise ValueError(f"target_metric must be one of {', '.join(map(repr, METRICS))}; got {target_metric!r}.")
    try:
        start, reach = (float(w) for w in window)
    except (TypeError, ValueError):
        raise ValueError(f"window must be two fractions (start, reach) of total_steps; got {window!r}.") from None
    if not 0.0 <= start < reach <= 1.0:
        raise ValueError(f"window must satisfy 0 <= start < reach <= 1 (fractions of total_steps); got {window!r}.")
    first, last = int(round(start * total_steps)), int(round(reach * total_steps))
    if last <= first:
        raise ValueError(f"window {window!r} of total_steps={total_steps} leaves no ramp step; widen it or train "
                         "longer.")
    return float(target), int(total_steps), first, last


class Budget:
    """The controller's state: which groups go, and when (see the module doc).

    Attributes
    ----------
    target : float
        Share of the total cost to remove.
    costs : tensor (n_groups,)
        Cost of each group (entries, or MACs).
    start, reach : int
        The ramp runs over optimizer steps ``start ≤ t < reach``; from ``reach`` on the
        budget is held.
    steps : int
        Optimizer steps taken (prox calls).
    selected : bool tensor (n_groups,) or None
        The groups the controller pulls to zero (frozen from ``reach`` on).
    """

    def __init__(self, costs, families, target, total_steps, start, reach, metric, account=None):
        self.costs = torch.as_tensor(costs, dtype=torch.float64)
        # ParamAccount / MacAccount: the exact parameters / MACs a set of removed structures takes out
        self.account = account
        self.families = families.clone()
        self.target, self.total_steps, self.start, self.reach, self.metric = target, total_steps, start, reach, metric
        self.steps = 0
        self.selected = None
        self.paused = 0  # steps the collapse guard held the ramp back
        self.hold_ramp = 0  # steps still to hold
        widths = torch.bincount(self.families)
        self._cap = (widths - 1).clamp_min(0)[self.families]  # at most width − 1 units of each width go
        self._warned = False

    @property
    def phase(self):
        """``"dense"``, ``"ramp"`` or ``"hold"`` at the next step."""
        if self.steps < self.start:
            return "dense"
        return "ramp" if self.steps < self.reach else "hold"

    def select(self, norms):
        """The smallest groups by ``‖w_g‖²/cost_g`` holding ``target`` of the cost (one unit per width kept)."""
        costs = self.costs.to(norms.device, norms.dtype)
        score = norms.double().pow(2).to(norms.dtype) / costs.clamp_min(torch.finfo(norms.dtype).tiny)
        score = torch.where(costs > 0, score, torch.full_like(score, math.inf))
        order = torch.argsort(score, stable=True)
        fam = self.families.to(norms.device)[order]
        # rank of each group among the groups of its width, in score order
        by_fam = torch.argsort(fam, stable=True)
        counts = torch.bincount(fam, minlength=int(self.families.max()) + 1)
        first = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(order)
        rank[by_fam] = torch.arange(len(order), device=norms.device) - first[fam[by_fam]]
        allowed = (rank < self._cap.to(norms.device)[order]) & (costs[order] > 0)
        if self.account is None:  # additive costs (no account given)
            c = torch.where(allowed, costs[order], torch.zeros_like(costs[order]))
            before = torch.cumsum(c, 0) - c
            goal, reachable = self.target * float(self.costs.sum()), float(c.sum())
            take = allowed & (before < goal * (1 - 1e-12))
            total = float(self.costs.sum())
        else:  # the exact saving of each prefix of the ranking (shared entries counted once)
            saved = self.account.prefix_removed(order, allowed).to(norms.device)
            total = self.account.total
            goal, reachable = self.target * total, float(saved[-1])
            hit = (saved >= goal * (1 - 1e-12)).nonzero()
            last = int(hit[0]) if hit.numel() else len(order) - 1
            take = allowed & (torch.arange(len(order), device=norms.device) <= last)
        if not self._warned and reachable < goal * (1 - 1e-12):
            self._warned = True
            warnings.warn(f"target={self.target:g}: the structures that may go (all but one unit of each width) "
                          f"hold only {reachable / total:.3f} of the {self.metric}; the budget removes them all "
                          "and falls short.", UserWarning, stacklevel=4)
        selected = torch.zeros_like(take)
        selected[order] = take
        return selected

    def removed_share(self, norms):
        """Share of the total cost in exactly-zero groups at ``norms``: of the prunable parameters
        that :func:`~penalized.nn.prune` removes with them (``"params"``), or of the network's
        MACs that removing them saves (``"macs"``); both exact."""
        zero = (norms == 0).cpu()
        if self.account is not None:
            return self.account.removed(zero) / self.account.total
        return float(self.costs[zero].sum() / self.costs.sum())

    def state_dict(self):
        sel = None if self.selected is None else self.selected.cpu().tolist()
        return {"steps": self.steps, "selected": sel, "paused": self.paused, "hold_ramp": self.hold_ramp,
                "reach": self.reach}

    def load_state_dict(self, state):
        self.steps = int(state["steps"])
        self.paused = int(state.get("paused", 0))
        self.hold_ramp = int(state.get("hold_ramp", 0))
        self.reach = int(state.get("reach", self.reach))
        sel = state.get("selected")
        self.selected = None if sel is None else torch.as_tensor(sel, dtype=torch.bool)


class BudgetGroupL1(CoupledGroupL1):
    """:class:`~penalized.nn.coupled.CoupledGroupL1` steered by a :class:`Budget` (module doc).

    The value is ``Σ_{g selected} λ·c_g·‖w_g‖₂`` (0 before the ramp); the prox is the
    coupled group lasso's on the selected groups, then the ramp's block shrinkage (or, in
    the hold phase, zero on the frozen selection). It acts in the prox: use it through
    :meth:`penalized.nn.Regularizer.param_groups` with :class:`~penalized.nn.ProxSGD` or
    :class:`~penalized.nn.ProxAdamW`, which call :meth:`prox_foreach_` once per step.
    """

    def __init__(self, penalty, groups, budget, normalize="sqrt_size"):
        super().__init__(penalty, groups, normalize)
        self.budget = budget

    def __repr__(self):
        b = self.budget
        return (f"BudgetGroupL1({self.penalty!r}, {self.groups.n_groups} structures, target={b.target:g} of "
                f"{b.metric}, ramp steps {b.start}..{b.reach})")

    def scaled(self, factor):
        return BudgetGroupL1(self.penalty.scaled(factor), self.groups, self.budget, self.normalize)

    def _active(self, like):
        sel = self.budget.selected
        if sel is None or self.budget.steps < self.budget.start:
            return torch.zeros(self.groups.n_groups, dtype=like.dtype, device=like.device)
        return sel.to(device=like.device, dtype=like.dtype)

    def _factors(self, like):
        base = super()._factors(like)
        return self._active(like) * base

    def to_state(self):
        state = super().to_state()
        state["params"]["budget"] = self.budget.state_dict()
        return state

    @classmethod
    def from_state(cls, state, current):
        out = CoupledGroupL1.from_state(state, current)  # loads into current (the same object)
        if "budget" in state["params"]:  # a checkpoint without a budget starts this one afresh
            out.budget.load_state_dict(state["params"]["budget"])
        return out

    @torch.no_grad()
    def prox_foreach_(self, ws, step, denoms=None):
        """The controller's step (module doc), then ``steps += 1``."""
        b = self.budget
        t = b.steps
        b.steps += 1
        if t < b.start or not ws:
            return ws
        params = self.groups.params
        if b.hold_ramp > 0 and t < b.reach:  # the collapse guard paused the ramp: nothing moves, the deadline waits
            b.hold_ramp -= 1
            b.reach = min(b.reach + 1, b.total_steps)
            b.paused += 1
            return ws
        if t < b.reach:
            b.selected = b.select(self.groups.norms())
            if step:
                super().prox_foreach_(ws, step, denoms)
            remaining = b.reach - t
            keep = 1.0 - b.selected.to(params[0].dtype) / remaining
        else:
            if b.selected is None:  # resumed past the ramp without a selection: take it now
                b.selected = b.select(self.groups.norms())
            keep = 1.0 - b.selected.to(params[0].dtype)
        scale_groups_(self.groups.row_blocks(), params, keep.to(device=params[0].device, dtype=params[0].dtype))
        return ws

    def pause(self, steps):
        """Hold the ramp for the next ``steps`` steps (the collapse guard): no penalty on those
        steps, and the deadline ``reach`` moves by one per held step (never past ``total_steps``)."""
        self.budget.hold_ramp = max(self.budget.hold_ramp, int(steps))
