"""Proximal optimizers: a step on ``L_data``, then the penalty's prox with that step size.

For ``L(w) = L_data(w) + R(w)`` (``R`` the penalty object, its strength λ included) every
step is ``w ← prox_{s·R}(w − s·∇̂L_data)`` with the optimizer's step size ``s``, so
``L1`` sets weights **exactly** to zero and :class:`penalized.GroupL1` whole neurons —
what gradient (sub)steps on ``L_data + R`` never do. ``R`` never enters the gradient,
the momentum or Adam's moments: the optimizers only see ``∇L_data``.

The penalty is a per-group option (``{"params": ..., "penalty": pz.L1(1e-4)}``), ``None``
meaning no penalty; :meth:`penalized.nn.Regularizer.param_groups` builds the groups from a
selection (weights penalized, biases and norms not). LR schedulers change the prox step
with the learning rate; an optional ``schedule(step) -> factor`` multiplies λ (warm-up).
``state_dict()`` stores the penalties as plain dicts, so ``torch.load(weights_only=True)``
reads it.
"""

from __future__ import annotations

import math

import torch

from .. import _validation as v
from ..penalties import ElasticNetFamily
from ..penalties.base import _like
from ._validation import check_factor, check_floating_parameters
from .penalty_state import COUPLED as _COUPLED
from .penalty_state import penalty_from_state as _penalty_from_state
from .penalty_state import penalty_to_state as _penalty_to_state

__all__ = ["ProxSGD", "ProxAdamW"]


METRICS = ("capped", "adam")


def _check_metric(metric):
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(map(repr, METRICS))}; got {metric!r}.")
    return metric


def _capped_l1(group, factor):
    """``(λ, factors c_j or None)`` of the L1 pull that the capped metric measures the momentum
    against, or None where Adam's own metric applies (metric "adam", no L1 part, λ·factor = 0)."""
    penalty = group["penalty"]
    if group.get("metric", "capped") != "capped" or not isinstance(penalty, ElasticNetFamily):
        return None
    lam = penalty._l1 * factor
    return (lam, penalty.weights) if lam > 0 else None


def _tiny(value, dtype):
    """``value`` raised to ``dtype``'s smallest normal number: in float16 ``eps·c`` (about 3e-10)
    and a small ``λ·c`` round to 0, and a zero denominator turns ``m / D`` into 0/0 = NaN on
    the coordinates without gradient. float32/float64 values are unchanged (their tiny is 1e-38)."""
    return max(value, torch.finfo(dtype).tiny)


def _capped_denominator(p, m, big_d, c, bc1, lam, weights):
    """``c·δ`` with ``δ = min(d, max(λ_i, |m̂|))``, from ``big_d = c·d`` (``d = sqrt(v̂) + eps``).

    ``c = sqrt(1 − β₂ᵗ)`` is the scale of ProxAdamW's denominators and ``bc1 = 1 − β₁ᵗ``
    (``m̂ = m / bc1``). Coordinates whose factor ``c_j`` is 0 keep ``d``.
    """
    import torch

    capped = m.abs().mul_(c / bc1)
    if weights is None:
        return torch.minimum(capped.clamp_min_(_tiny(lam * c, p.dtype)), big_d, out=capped)
    floor = (lam * c) * _like(weights, p)
    return torch.where(floor > 0, torch.minimum(torch.maximum(capped, floor), big_d), big_d)


def _coupled_count(state):
    """The number of structures of a coupled penalty's state (None: not a coupled penalty)."""
    if isinstance(state, dict) and state.get("penalty") in _COUPLED and isinstance(state.get("params"), dict):
        return len(state["params"].get("structures", ()))
    return None


class _ProxMixin:
    """Per-group ``penalty`` and ``penalty_step``, the λ schedule, state_dict round trip."""

    def _check_group(self, group):
        group.setdefault("penalty", self._default_penalty)
        group.setdefault("penalty_step", 0)
        group["penalty"] = v.check_penalty(_penalty_from_state(group["penalty"]), "penalty")
        params = group["params"]
        if torch.is_tensor(params):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            return  # torch rejects sets (their order is not reproducible) with its own message
        else:
            params = group["params"] = list(params)
        check_floating_parameters([(f"parameter {i}", p) for i, p in enumerate(params)],
                                  what=f"parameters optimized by {type(self).__name__}")

    def _factor(self, group):
        if self.schedule is None:
            return 1.0
        return check_factor(self.schedule(group["penalty_step"]), "schedule(step)")

    def state_dict(self):
        state = super().state_dict()
        for group in state["param_groups"]:
            group["penalty"] = _penalty_to_state(group["penalty"])
        return state

    def _check_coupled(self, saved, current):
        """A checkpoint whose penalty acts on coupled structures needs an optimizer on the same
        structures: say so before torch compares the groups' sizes (its message names neither)."""
        for i, g in enumerate(saved):
            count = _coupled_count(g.get("penalty"))
            if count is None:
                continue
            if not getattr(current[i], "couples_tensors", False):
                raise ValueError(f"this checkpoint's penalty acts on a network's coupled structures ({count} of "
                                 f"them, parameter group {i}), but this optimizer's group {i} has "
                                 f"{'no penalty' if current[i] is None else repr(current[i])}: load it into an "
                                 "optimizer built from Regularizer(model, penalty, example_inputs=x).param_groups() "
                                 "on the same model (not on a pruned one).")
            mine = len(current[i].groups.structures)
            if mine != count or len(g["params"]) != len(self.param_groups[i]["params"]):
                raise ValueError(f"the checkpoint's coupled structures ({count}, on {len(g['params'])} tensors) "
                                 f"differ from this optimizer's ({mine}, on {len(self.param_groups[i]['params'])} "
                                 "tensors): build the Regularizer on the same architecture and selection (a pruned "
                                 "model has other structures: start a new optimizer for it).")

    def load_state_dict(self, state_dict):
        """As torch's; a checkpoint without penalties (e.g. torch's AdamW/SGD) keeps the current ones."""
        saved = state_dict["param_groups"]
        current = [g.get("penalty") for g in self.param_groups] + [None] * max(0, len(saved) - len(self.param_groups))
        self._check_coupled(saved, current)
        # torch deep-copies the saved groups: penalty objects (a coupled one holds the model's
        # parameters) are set afterwards, rebuilt from plain data on the current ones
        plain = [{k: val for k, val in g.items() if k != "penalty"} for g in saved]
        super().load_state_dict({**state_dict, "param_groups": plain})
        for group, g, cur in zip(self.param_groups, saved, current, strict=False):
            group["penalty"] = v.check_penalty(_penalty_from_state(g["penalty"], cur), "penalty") \
                if "penalty" in g else cur
            group.setdefault("penalty_step", 0)


class ProxSGD(_ProxMixin, torch.optim.SGD):
    r"""SGD (with torch's momentum, Nesterov, dampening and weight decay), then the prox.

    Each step is ``torch.optim.SGD``'s step on ``L_data`` followed by, for every
    parameter that received a gradient,

        w ← prox_{s·R}(w) = argmin_z ½‖z − w‖² + s·R(z),   s = lr · (1 − dampening) / (1 − momentum)

    (``s = lr`` without momentum). ``s`` is the *effective* step of the heavy-ball
    iteration: with momentum ``μ`` a constant gradient ``g`` moves ``w`` by
    ``lr·(1 − dampening)·g / (1 − μ)`` per step, so scaling the prox the same way makes
    the fixed points of ProxSGD exactly the stationary points of ``L_data + R``
    (``0 ∈ ∇L_data + ∂R``) whatever the momentum; with ``s = lr`` they would be those
    of ``L_data + (1 − μ)·R``. ``R`` is the group's ``penalty`` (e.g. ``pz.L1(1e-4)``,
    strength included), multiplied by ``schedule(step)`` if given.

    ``weight_decay`` keeps torch's meaning (``wd·w`` added to the gradient, i.e.
    ``L2(wd / 2)`` in the loss); it is independent of the penalty.

    Parameters
    ----------
    params : iterable of tensors or of dicts (parameter groups)
        A group may set its own ``penalty`` (``None``: no penalty).
    lr, momentum, dampening, weight_decay, nesterov, maximize, foreach, fused
        As in :class:`torch.optim.SGD`.
    penalty : Penalty, optional
        Default penalty of the groups (``None``: plain SGD).
    schedule : callable, optional
        ``schedule(step) -> factor ≥ 0`` multiplying the penalty; ``step`` counts this
        group's optimizer steps (stored in the state dict as ``penalty_step``).
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 penalty=None, schedule=None, maximize=False, foreach=None, fused=None):
        self._default_penalty = v.check_penalty(penalty)
        if schedule is not None and not callable(schedule):
            raise TypeError(f"schedule must be a callable step -> factor, got {schedule!r}.")
        self.schedule = schedule
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                         nesterov=nesterov, maximize=maximize, foreach=foreach, fused=fused)
        self.defaults["penalty"] = self._default_penalty

    def add_param_group(self, param_group):
        self._check_group(param_group)
        super().add_param_group(param_group)

    def prox_step_size(self, group):
        """The step ``s`` of the prox for ``group`` (before the schedule factor)."""
        momentum = group["momentum"]
        scale = (1.0 - group["dampening"]) / (1.0 - momentum) if momentum else 1.0
        return group["lr"] * scale

    def step(self, closure=None):
        loss = super().step(closure)
        with torch.no_grad():
            for group in self.param_groups:
                penalty = group["penalty"]
                if penalty is not None:
                    step = self.prox_step_size(group) * self._factor(group)
                    penalty.prox_foreach_([p for p in group["params"] if p.grad is not None], step)
                group["penalty_step"] += 1
        return loss


class ProxAdamW(_ProxMixin, torch.optim.Optimizer):
    r"""AdamW with the penalty's exact prox in a diagonal metric: exact zeros, same scale as the loss.

    Per parameter, with ``g = ∇L_data`` (the penalty is *not* in ``g``)::

        m ← β₁m + (1 − β₁)g,      v ← β₂v + (1 − β₂)g²       (v ← max(v_max, v) with amsgrad)
        w ← w·(1 − lr·weight_decay)                            (AdamW's decoupled decay)
        m̂ = m / (1 − β₁ᵗ),   d = sqrt(v / (1 − β₂ᵗ)) + eps      (Adam's denominator)
        δ = min(d, max(λ_i, |m̂|))     (metric="capped", the default, on L1 / L1L2 weights)
        δ = d                         (metric="adam", and every other parameter or penalty)
        w ← w − lr · m̂ / δ                                      (the data step)
        w ← argmin_z Σ_i δ_i (z_i − w_i)² / (2·lr) + R(z)        (the prox, per-coordinate step lr / δ_i)

    ``λ_i = lam·c_i·schedule(step)`` is the L1 strength on coordinate ``i``. Each step is a
    preconditioned proximal-gradient step: the data step and the exact prox of ``R`` share
    the diagonal metric ``diag(δ) / lr``. For ``L1(lam)`` the prox is soft-thresholding at
    ``lr·λ_i / δ_i`` (exact zeros); for ``GroupL1`` a block soft-thresholding in the metric
    (see :class:`penalized.GroupL1`).

    *Fixed points.* Whatever the positive metric, the data step and the prox in the same
    metric stop exactly where ``0 ∈ m̂ + ∂R(w)``: at stationary points of ``L_data + R``
    (for L1, ``g_i = −λ_i·sign(w_i)`` on the support, ``|g_i| ≤ λ_i`` off it). ``λ`` has the
    scale of the loss, as in :class:`Regularizer`. A prox with the scalar step ``lr``
    (Euclidean metric) would instead minimize ``L_data + Σ λ·d_i|w_i|``, a penalty reweighted
    by Adam's drifting gradient scale.

    *Why the capped metric.* In Adam's metric ``δ = d`` the L1 pull moves a weight that the
    data do not hold (``|m̂_i| < λ_i``) toward zero by ``lr·(λ_i − |m̂_i|)/d_i`` per step:
    a small fraction of ``lr`` wherever the gradient's noise ``d_i`` exceeds ``λ_i``, which
    on networks is almost everywhere (measured: the median step ``lr/d`` is 0.2–0.3 at
    ``lr = 1e-3`` on a digits MLP, where ProxSGD's ``lr/(1 − momentum)`` is 1). Capping
    ``δ_i`` at ``max(λ_i, |m̂_i|)`` moves every penalized coordinate by up to ``lr`` per step
    — Adam's own step for a coordinate with a consistent gradient: toward zero at
    ``lr·(1 − |m̂_i|/λ_i)`` where the penalty wins, by ``lr·sign(m̂_i)`` where the momentum
    exceeds ``λ_i`` but not the noise. Steps stay bounded by ``lr`` (the data step) plus
    ``lr`` (the prox); ``δ ≤ d``, so no coordinate moves slower than under Adam; the fixed
    points are the same. ``metric="adam"`` keeps ``δ = d`` (the only metric before the capped one).
    With ``penalty=None``, a zero λ (or schedule factor) and the same ``weight_decay``,
    ProxAdamW is ``torch.optim.AdamW``.

    ``weight_decay`` is AdamW's decoupled decay, a separate knob (it is *not* an L2
    penalty; use ``penalty=pz.L2(...)`` for that); its default here is ``0.0``.

    Parameters
    ----------
    params : iterable of tensors or of dicts (parameter groups)
        A group may set its own ``penalty`` (``None``: no penalty) and ``metric``.
    lr, betas, eps, weight_decay, amsgrad, maximize
        As in :class:`torch.optim.AdamW` (``weight_decay`` defaults to 0 here).
    penalty : Penalty, optional
        Default penalty of the groups.
    schedule : callable, optional
        ``schedule(step) -> factor ≥ 0`` multiplying the penalty (e.g.
        :class:`penalized.nn.LambdaSchedule`: dense steps first, then a ramp); ``step``
        counts this group's optimizer steps (``penalty_step`` in the state dict).
    metric : {"capped", "adam"}, default="capped"
        The metric of the data step and the prox on weights with an L1 part (above).
    foreach : bool, optional
        Multi-tensor (``torch._foreach_*``) update, the default for CPU and CUDA tensors
        (torch's AdamW defaults to it on CUDA only; on CPU it is also faster for networks
        of many small tensors). The prox uses the penalty's in-place kernels
        (:meth:`penalized.penalties.Penalty.prox_foreach_`): for L1 three passes,
        ``w ← softshrink(w·D, lr·c·lam) / D`` with ``D = c·δ``, ``c = sqrt(1 − β₂ᵗ)`` (so
        that ``lr·c / D = lr / δ``). torch's ``capturable`` and ``differentiable`` variants
        are not offered.
    fused : bool, optional
        The whole update of a group (Adam, the metric, the step, the prox) as one function
        compiled by ``torch.compile`` (:mod:`penalized.nn._fused`): one or two kernels per
        tensor instead of a dozen passes. ``None`` (default): on when every parameter of the
        group is on CUDA, the group holds at least ``2**20`` elements (below that the
        multi-tensor path is faster) and has no penalty or an L1/L2/L1L2 penalty without
        per-feature weights and no amsgrad; ``True`` forces it (also on the CPU, which needs
        a C++ compiler); ``False``: the multi-tensor path. The first step compiles (seconds).
        Same results as the multi-tensor path up to floating-point rounding. ``True`` also
        covers the group lasso on coupled structures (``Regularizer(..., example_inputs=x)``
        with ``GroupL1``, a budget included): the compiled Adam step writes the denominators
        and the group prox runs on compiled block functions
        (:mod:`penalized.nn.coupled_fused`): on the CPU 1.1–1.6× AdamW's step on a 5.8 M
        MLP and ResNet-18, where the multi-tensor path takes 4–6× (on a 20 k-parameter net
        the calls' overhead makes it slower than the multi-tensor path); not automatic
        (``None``) until checked on a GPU.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 penalty=None, schedule=None, metric="capped", maximize=False, foreach=None, fused=None):
        lr_value = float(lr)
        if not math.isfinite(lr_value) or lr_value < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= float(beta) < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if schedule is not None and not callable(schedule):
            raise TypeError(f"schedule must be a callable step -> factor, got {schedule!r}.")
        if fused and foreach:
            raise ValueError("fused=True and foreach=True cannot be used together; pick one.")
        if fused is not None and not isinstance(fused, bool):
            raise TypeError(f"fused must be True, False or None (automatic), got {fused!r}.")
        self._default_penalty = v.check_penalty(penalty)
        self.schedule = schedule
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, fused=fused, penalty=self._default_penalty,
                        metric=_check_metric(metric))
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        self._check_group(param_group)
        _check_metric(param_group.setdefault("metric", self.defaults["metric"]))
        super().add_param_group(param_group)

    def load_state_dict(self, state_dict):
        """As torch's; a checkpoint without penalties or metrics keeps the current ones."""
        metrics = [g.get("metric", self.defaults["metric"]) for g in self.param_groups]
        super().load_state_dict(state_dict)
        for group, metric in zip(self.param_groups, metrics, strict=False):
            group.setdefault("metric", metric)

    def _init_state(self, param, amsgrad):
        state = self.state[param]
        if not state:
            state["step"] = torch.tensor(0.0)  # same layout as torch.optim.AdamW's state
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            if amsgrad:
                state["max_exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state

    @torch.no_grad()
    def step(self, closure=None):
        """One AdamW step on ``L_data`` then the prox of every group's penalty.

        Groups that share Adam's hyperparameters (e.g. the penalized and unpenalized groups
        of :meth:`Regularizer.param_groups`) take one multi-tensor Adam update together;
        each group's prox then runs on its own parameters.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        batches, fused = {}, []
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if p.grad.is_sparse:
                    raise RuntimeError("ProxAdamW does not support sparse gradients.")
            if self._fused_ok(group, params):
                fused.append((group, params))
                continue
            foreach = group["foreach"]
            if foreach is None:
                foreach = all(p.device.type in ("cpu", "cuda") for p in params)
            if foreach:
                key = (self._hyper(group), bool(group["amsgrad"]), bool(group["maximize"]))
                batches.setdefault(key, []).append((group, params))
            else:
                self._single_update(group, params)
        for (hyper, amsgrad, maximize), members in batches.items():
            self._foreach_update(hyper, amsgrad, maximize, members)
        for group, params in fused:
            self._fused_update(group, params)
        for group in self.param_groups:  # after the proxes: they read the step of their factor
            group["penalty_step"] += 1
        return loss

    #: the fused step's function (``None``: ``_fused.compiled_step()``); tests set the eager one
    _fused_fn = None

    def _fused_ok(self, group, params):
        """Fused update for this group: ``fused=True``, or ``None`` with every parameter on CUDA."""
        from . import _fused

        flag = group.get("fused")
        if flag is False or (flag is None and not (all(p.is_cuda for p in params)
                                                   and sum(p.numel() for p in params) >= _fused.AUTO_MIN_NUMEL)):
            return False

        if not _fused.supports(group, group["penalty"]):
            if flag:
                raise ValueError("ProxAdamW(fused=True) supports no penalty, L1/L2/L1L2 without per-feature "
                                 "weights, or GroupL1 on coupled structures (without an element-wise term), "
                                 "without amsgrad; use fused=False (or None) for this group.")
            return False
        if _fused.is_coupled(group["penalty"]) and (flag is None or len(params) != len(group["penalty"].groups.params)):
            # automatic only once benchmarks/nn_cuda_check.py has passed its coupled check on a GPU; a
            # member tensor without gradient is held fixed: the multi-tensor path's prox
            return False
        if self._fused_fn is None and _fused.compiled_step() is None:
            return False
        # one bias correction for the whole group (a parameter that missed steps: multi-tensor path)
        return len({float(self.state[p]["step"]) if self.state[p] else 0.0 for p in params}) == 1

    def _fused_update(self, group, params):
        from . import _fused

        lr, beta1, beta2, eps, wd = self._hyper(group)
        penalty = group["penalty"]
        factor = self._factor(group) if penalty is not None else 0.0
        coupled = _fused.is_coupled(penalty)
        elementwise = penalty is not None and not coupled
        l1 = penalty._l1 * factor if elementwise else 0.0
        l2 = penalty._l2 * factor if elementwise else 0.0
        states = [self._init_state(p, False) for p in params]
        for st in states:
            st["step"] += 1
        t = states[0]["step"].item()
        dtype = torch.float64 if params[0].dtype == torch.float64 else torch.float32
        scalars = [torch.tensor(x, dtype=dtype) for x in (lr, math.sqrt(1.0 - beta2**t), 1.0 - beta1**t, l1, l2, wd)]
        grads = [p.grad for p in params]
        if group["maximize"]:
            grads = torch._foreach_neg(grads)
        fn = self._fused_fn or _fused.compiled_step()
        ds = self._denominator_buffers(params) if coupled else None
        fn(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], *scalars,
           beta1=beta1, beta2=beta2, eps=eps, capped=group["metric"] == "capped" and l1 > 0,
           has_l1=elementwise and penalty._l1 > 0, has_l2=elementwise and penalty._l2 > 0,
           decay=wd != 0.0, **({"ds": ds} if coupled else {}))
        if coupled:  # the group prox in the metric D/(lr·c), on the fused block functions
            from .coupled_fused import compiled_kernels, use_kernels

            with use_kernels(self._coupled_kernels or compiled_kernels()):
                penalty.prox_foreach_(params, lr * math.sqrt(1.0 - beta2**t) * factor, ds)

    #: the coupled prox's block functions on the fused path (``None``: compiled); tests set the eager ones
    _coupled_kernels = None

    def _denominator_buffers(self, params):
        """One ``D`` buffer per parameter, kept between steps (not in the state dict)."""
        bufs = self.__dict__.setdefault("_d_buffers", {})
        out = []
        for p in params:
            buf = bufs.get(p)
            if buf is None or buf.shape != p.shape or buf.dtype != p.dtype or buf.device != p.device:
                buf = bufs[p] = torch.empty_like(p)
            out.append(buf)
        return out

    def _hyper(self, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        return float(group["lr"]), beta1, beta2, float(group["eps"]), float(group["weight_decay"])

    def _single_update(self, group, params):
        lr, beta1, beta2, eps, wd = self._hyper(group)
        amsgrad, penalty = group["amsgrad"], group["penalty"]
        factor = self._factor(group) if penalty is not None else 0.0
        joint = []
        capped = _capped_l1(group, factor) if penalty is not None else None
        for p in params:
            state = self._init_state(p, amsgrad)
            grad = -p.grad if group["maximize"] else p.grad
            m, sq = state["exp_avg"], state["exp_avg_sq"]
            state["step"] += 1
            t = state["step"].item()
            m.lerp_(grad, 1.0 - beta1)
            sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
            if wd:
                p.mul_(1.0 - lr * wd)
            if amsgrad:
                torch.maximum(state["max_exp_avg_sq"], sq, out=state["max_exp_avg_sq"])
                sq = state["max_exp_avg_sq"]
            # d = sqrt(v / bc2) + eps = D / c with D = sqrt(v) + eps·c, c = sqrt(bc2): one pass less
            c, bc1 = math.sqrt(1.0 - beta2**t), 1.0 - beta1**t
            big_d = sq.sqrt().add_(_tiny(eps * c, p.dtype))
            if capped is not None:
                big_d = _capped_denominator(p, m, big_d, c, bc1, *capped)
            p.addcdiv_(m, big_d, value=-lr * c / bc1)
            if penalty is not None and getattr(penalty, "couples_tensors", False):
                joint.append((p, big_d / c))  # its prox needs all the group's tensors: after the loop
            elif penalty is not None:
                penalty.prox_(p, lr * c * factor, big_d)  # per-coordinate step lr·c/D = lr/δ
        if joint:
            penalty.prox_foreach_([p for p, _ in joint], lr * factor, [d for _, d in joint])

    def _foreach_update(self, hyper, amsgrad, maximize, members):
        """The Adam update of ``members`` (``(group, params)`` pairs sharing ``hyper``), then
        each group's prox."""
        lr, beta1, beta2, eps, wd = hyper
        params = [p for _, group_params in members for p in group_params]
        states = [self._init_state(p, amsgrad) for p in params]
        grads = [p.grad for p in params]
        if maximize:
            grads = torch._foreach_neg(grads)
        ms = [s["exp_avg"] for s in states]
        sqs = [s["exp_avg_sq"] for s in states]
        steps = [s["step"] for s in states]
        torch._foreach_add_(steps, 1.0)
        ts = [s.item() for s in steps]
        torch._foreach_lerp_(ms, grads, 1.0 - beta1)
        torch._foreach_mul_(sqs, beta2)
        torch._foreach_addcmul_(sqs, grads, grads, 1.0 - beta2)
        if wd:
            torch._foreach_mul_(params, 1.0 - lr * wd)
        if amsgrad:
            maxs = [s["max_exp_avg_sq"] for s in states]
            torch._foreach_maximum_(maxs, sqs)
            sqs = maxs
        cs = [math.sqrt(1.0 - beta2**t) for t in ts]
        big_ds = list(torch._foreach_sqrt(sqs))
        same_step = len(set(ts)) == 1
        dtypes = {p.dtype for p in params}
        if same_step and len(dtypes) == 1:
            torch._foreach_add_(big_ds, _tiny(eps * cs[0], params[0].dtype))
        else:
            torch._foreach_add_(big_ds, [_tiny(eps * c, p.dtype) for c, p in zip(cs, params, strict=True)])
        bc1s = [1.0 - beta1**t for t in ts]
        factors = []
        start = 0
        for group, group_params in members:  # the capped metric replaces D on L1 weights
            first, start = start, start + len(group_params)
            factor = self._factor(group) if group["penalty"] is not None else 0.0
            factors.append(factor)
            capped = _capped_l1(group, factor) if group["penalty"] is not None else None
            if capped is None:
                continue
            lam, weights = capped
            if same_step and weights is None:
                capped_ds = torch._foreach_abs(ms[first:start])
                torch._foreach_mul_(capped_ds, cs[0] / bc1s[0])
                torch._foreach_clamp_min_(capped_ds, [_tiny(lam * cs[0], p.dtype) for p in params[first:start]])
                torch._foreach_minimum_(capped_ds, big_ds[first:start])
                big_ds[first:start] = capped_ds
            else:
                for i in range(first, start):
                    big_ds[i] = _capped_denominator(params[i], ms[i], big_ds[i], cs[i], bc1s[i], lam, weights)
        step_sizes = [-lr * c / bc1 for c, bc1 in zip(cs, bc1s, strict=True)]
        torch._foreach_addcdiv_(params, ms, big_ds, step_sizes)
        start = 0
        for (group, group_params), factor in zip(members, factors, strict=True):
            first, start = start, start + len(group_params)
            penalty = group["penalty"]
            if penalty is None:
                continue
            if same_step:
                penalty.prox_foreach_(group_params, lr * cs[0] * factor, big_ds[first:start])
            elif getattr(penalty, "couples_tensors", False):  # one joint prox, each tensor its own c
                penalty.prox_foreach_(group_params, lr * factor,
                                      [d / c for d, c in zip(big_ds[first:start], cs[first:start], strict=True)])
            else:  # parameters that missed steps have their own bias correction
                for p, d, c in zip(group_params, big_ds[first:start], cs[first:start], strict=True):
                    penalty.prox_(p, lr * c * factor, d)
