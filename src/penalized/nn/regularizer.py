"""``λ·L_reg`` over chosen parameters of a PyTorch model, as a tensor to add to the loss.

    loss = criterion(model(x), y) + reg()        # L = L_data + λ·L_reg, literally

The penalty objects are penalized's own (:class:`penalized.L1`, :class:`penalized.L2`,
:class:`penalized.L1L2`, :class:`penalized.GroupL1`), with their scale: ``L1(lam)`` adds
``lam·Σ|w|``, ``L2(lam)`` adds ``lam·Σw²`` (no ½; Keras' scale; ``SGD(weight_decay=wd)``
is ``L2(wd / 2)``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping

import torch
from torch import nn

from .. import _validation as v
from ..penalties import GroupL1, Penalty, PenaltySum
from ._validation import check_factor, check_floating_parameters, check_selection_nonempty, compile_name_pattern

__all__ = ["Regularizer", "structure_costs", "default_selection", "no_weight_decay_names", "NORM_TYPES", "unwrap"]


def _norm_types():
    types = [nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm]
    rms = getattr(nn, "RMSNorm", None)
    if rms is not None:
        types.append(rms)
    return tuple(types)


#: Module types whose parameters the default rule never selects.
NORM_TYPES = _norm_types()


def unwrap(model):
    """The module whose parameter names users see.

    ``DistributedDataParallel``/``DataParallel`` (``.module``) and ``torch.compile``
    (``._orig_mod``) wrappers are removed, so that ``"0.weight"`` matches whether or not
    the model is wrapped.
    """
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        else:
            return model


#: Parameter names (last dotted component) of positional encodings and special tokens.
TOKEN_NAME = re.compile(r"(^|_)(pos|position|positional|cls|class|dist|mask|reg|register)(_|$)|embed|emb(_|$)|token",
                        re.IGNORECASE)
_EMBEDDING_TYPES = (nn.Embedding, nn.EmbeddingBag)


def default_selection(name, param, module=None):
    """The default rule: weight matrices and kernels; never biases, norms, embeddings or tokens.

    A parameter is selected when it has at least two dimensions (the weight of
    ``nn.Linear``, ``nn.Bilinear``, recurrent and attention layers, the kernel of a
    convolution, a raw weight matrix) and it is not

    - owned by a normalization layer (BatchNorm, InstanceNorm, LayerNorm, GroupNorm, RMSNorm),
    - owned by an embedding table (``nn.Embedding``, ``nn.EmbeddingBag``),
    - a positional encoding or special token by its name (last dotted component matching
      :data:`TOKEN_NAME`: ``pos_embed``, ``pos``, ``position_embeddings``, ``cls_token``,
      ``mask_token``, ``register_tokens``, ...).

    Biases and the affine parameters of normalization layers are one-dimensional and
    therefore never selected. :class:`Regularizer` also drops the names a model lists in
    ``no_weight_decay()`` (timm's convention, see :func:`no_weight_decay_names`).
    """
    if param.ndim < 2 or isinstance(module, NORM_TYPES) or isinstance(module, _EMBEDDING_TYPES):
        return False
    return TOKEN_NAME.search(name.rsplit(".", 1)[-1]) is None


def no_weight_decay_names(model):
    """Predicate ``name -> bool``: parameters a model (or a submodule) excludes from weight decay.

    timm's convention: ``module.no_weight_decay()`` returns names relative to ``module``
    (a parameter, or a submodule: all its parameters), ``no_weight_decay_keywords()``
    substrings of names.
    """
    exact, keywords = set(), set()
    for prefix, module in model.named_modules():
        head = f"{prefix}." if prefix else ""
        fn = getattr(module, "no_weight_decay", None)
        if callable(fn):
            exact.update(head + str(n) for n in fn())
        fn = getattr(module, "no_weight_decay_keywords", None)
        if callable(fn):
            keywords.update(str(k) for k in fn())
    if not exact and not keywords:
        return lambda name: False

    def excluded(name):
        if any(k in name for k in keywords):
            return True
        parts = name.split(".")
        return any(".".join(parts[:i]) in exact for i in range(1, len(parts) + 1))
    return excluded


def _scale_invariant(model):
    """``{id(weight): (layer name, norm name, norm type)}`` for layers whose next sibling
    module is a normalization of their output (registration order, e.g. ``conv1`` then ``bn1``)."""
    found = {}
    for prefix, parent in model.named_modules():
        children = list(parent.named_children())
        for (name, layer), (norm_name, norm) in zip(children, children[1:], strict=False):
            if not isinstance(layer, (nn.Linear, nn.modules.conv._ConvNd)) or not isinstance(norm, NORM_TYPES):
                continue
            width = layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
            size = getattr(norm, "num_features", None) or getattr(norm, "num_channels", None)
            if size is None and getattr(norm, "normalized_shape", None):
                size = norm.normalized_shape[-1]
            if size == width:
                head = f"{prefix}." if prefix else ""
                found[id(layer.weight)] = (head + name, head + norm_name, type(norm).__name__)
    return found


def _describe(selector):
    if isinstance(selector, type):
        return selector.__name__
    if isinstance(selector, nn.Module):
        return f"<{type(selector).__name__} module>"
    if isinstance(selector, str):
        return f"'{selector}'"
    return repr(selector)


def _compile_selector(selector, names, argname):
    """A predicate ``(name, param, module) -> bool`` for one selector (see :class:`Regularizer`)."""
    if isinstance(selector, str):
        match = compile_name_pattern(selector, names, argname)
        return lambda name, param, module: match(name)
    if isinstance(selector, type):
        if not issubclass(selector, nn.Module):
            raise TypeError(f"{argname}: a type must be a torch.nn.Module subclass, got {selector.__name__}.")
        return lambda name, param, module: isinstance(module, selector)
    if isinstance(selector, nn.Module):
        ids = {id(p) for p in selector.parameters()}
        if not ids:
            raise ValueError(f"{argname}: the module {_describe(selector)} has no parameter.")
        return lambda name, param, module: id(param) in ids
    if isinstance(selector, (list, tuple, set, frozenset)):
        if not selector:
            raise ValueError(f"{argname} is an empty list; pass None for the default rule.")
        preds = [_compile_selector(s, names, argname) for s in selector]
        return lambda name, param, module: any(p(name, param, module) for p in preds)
    if callable(selector):
        def pred(name, param, module):
            out = selector(name, param)
            if not isinstance(out, bool) and not (torch.is_tensor(out) and out.dtype == torch.bool):
                try:
                    import numpy as np

                    if isinstance(out, np.bool_):
                        return bool(out)
                except ImportError:  # pragma: no cover
                    pass
                raise TypeError(f"{argname}: the callable must return True or False for ({name!r}, param), "
                                f"got {out!r}.")
            return bool(out)
        return pred
    raise TypeError(f"{argname} must be a name pattern (str: glob, or 're:' + regex), a module type, a "
                    f"module, a callable (name, param) -> bool, or a list of these; got {selector!r}.")


class Regularizer:
    """``λ·L_reg(w)`` over selected parameters of ``model``, to add to the data loss.

    ``reg()`` returns ``factor(step) · Σ_k R_k(w_k)``, a scalar tensor on the device of
    the first selected parameter, differentiable in the parameters; ``R_k`` is the
    penalty of parameter ``w_k`` with its own strength (``L1(lam)(w) = lam·Σ|w|``, etc.:
    the strength λ lives in the penalty object) and ``factor`` is the optional schedule.

    Parameters
    ----------
    model : torch.nn.Module
        The network (``DistributedDataParallel``/``DataParallel``/``torch.compile``
        wrappers are unwrapped for the names).
    penalty : Penalty, dict or callable
        - a penalty object (``pz.L1(1e-4)``): the same for every selected parameter;
        - a dict ``{selector: penalty or None}`` (per-layer λ): each selected parameter
          takes the penalty of the **first** key that matches it, ``None`` or no matching
          key leaves it unpenalized; a key that matches no selected parameter is an error;
        - a callable ``(name, param) -> penalty or None``.
    include, exclude : selector, optional
        Which parameters to consider / to drop. A selector is
        a **name pattern** — a glob matched against the whole dotted parameter name with
        :func:`fnmatch.fnmatchcase` (``"features.*.weight"``, ``"2.weight"``), or, after a
        ``"re:"`` prefix, a regular expression matched with :func:`re.fullmatch`
        (``"re:layers\\.[0-3]\\.weight"``); a pattern that matches no parameter is a
        ValueError —, a **module type** (``nn.Conv2d``: the parameters the module owns
        directly), a **module** (``model.classifier``: all its parameters), a
        **callable** ``(name, param) -> bool`` (a mask), or a **list** of these (union).
        ``include=None`` considers every parameter.
    weights_only : bool, default=True
        Also apply :func:`default_selection`: weight matrices and convolution kernels
        only, never biases or normalization parameters. Set it to False to penalize
        what ``include`` selects, biases included.
    schedule : callable, optional
        ``schedule(step) -> factor ≥ 0`` multiplying the penalty, with ``step`` the number of
        :meth:`step` calls so far (e.g. a warm-up ``lambda s: min(1.0, s / 500)``).
    example_inputs : tensor, tuple or dict, optional
        A batch the model takes. With a :class:`penalized.GroupL1` penalty its groups become
        the network's **coupled structures** (traced with Torch-Pruning's dependency graph):
        every channel, unit, residual channel, FFN unit and attention head, each with all
        the slices that go with it — producer rows and biases, normalization entries,
        residual partners, and the input columns of consumers whose outputs are not a
        structure themselves (every entry is in one group; see :mod:`penalized.nn.coupled`).
        ``include``/``exclude``/``weights_only`` then choose structures: one is penalized
        when a weight that computes it is selected. ``GroupL1(weights=c)`` takes one factor
        per structure (:attr:`structures`; :func:`penalized.nn.structure_costs` gives each
        structure's multiply-adds, for factors proportional to compute). The value is
        ``λ·Σ_g c_g·‖w_g‖₂`` and :class:`ProxSGD`/:class:`ProxAdamW` apply its exact prox to
        whole groups. A sum ``pz.L1(a) + pz.GroupL1(lam)`` (the sparse group lasso) adds
        ``a·‖w_g‖₁`` on the same entries (its prox: the group shrinkage of the soft-threshold).
    group_weights : {"sqrt_size", "size", "uniform"}, default="sqrt_size"
        With ``example_inputs`` and ``GroupL1(weights=None)``: the factors ``c_g`` of the
        coupled groups. ``"sqrt_size"``: ``c_g = √n_g`` with ``n_g`` the group's number of
        entries (:meth:`group_sizes`), the group lasso's classical normalization (Yuan & Lin
        2006): one λ puts the same pressure on a 3-entry and a 3,000-entry structure — with
        ProxSGD's step ``s`` a group vanishes when the root mean square of its entries (after
        the data step) is at most ``s·λ``, whatever its size, and a group of i.i.d. entries of
        scale σ has ``E‖w_g‖ ≈ σ·√n_g``. ``"size"``: ``c_g = n_g`` (pressure proportional to
        the parameters a structure holds: at equal RMS the large structures go first).
        ``"uniform"``: ``c_g = 1`` (the behaviour before this option: large structures, such
        as residual channels, then almost never vanish).
        Explicit ``GroupL1(weights=c)`` are used as given.
    target : float in (0, 1), optional
        A size budget (needs ``example_inputs``, a ``GroupL1`` and ``total_steps``): the share
        of the prunable parameters (or of the network's MACs) that the removed structures
        take out, counted exactly as :func:`prune` removes them (``target_metric``). λ is then steered per
        group by a rank-based controller (:mod:`penalized.nn.budget`) so that structures
        holding at least ``target`` of the cost are exactly zero from step
        ``target_window[1]·total_steps`` to the end (:attr:`budget`). It acts in the prox:
        train with :meth:`param_groups` in :class:`ProxSGD` or :class:`ProxAdamW` (one
        ``step()`` per optimizer step). ``None`` (default): a fixed λ, as always.
    total_steps : int, optional
        The optimizer steps of the whole run (with ``target``).
    target_metric : {"params", "macs"}, default="params"
        What ``target`` counts: the parameters that :func:`prune` removes with the zeroed
        structures (their own entries plus the consumer columns they free, shared entries
        once), as a share of all the structures can remove
        (:mod:`penalized.nn.budget_params`); or the network's multiply-accumulates, counted
        the same way (:mod:`penalized.nn.budget_macs`).
    target_window : (float, float), default=(0.2, 0.7)
        Fractions of ``total_steps``: dense before the first, the budget reached at the
        second and held after it.
    guard : float > 1, optional
        A collapse guard (needs ``example_inputs``): pass each step's training loss to
        :meth:`step`; when its moving average exceeds ``guard ×`` its best value so far,
        λ is halved (a budget's ramp is held instead) and a UserWarning says so
        (:mod:`penalized.nn.guard`).

    Notes
    -----
    Parameters that are not floating point are skipped by the default rule and rejected
    (TypeError) when selected explicitly. Frozen parameters (``requires_grad=False``)
    are selected like the others; their term is a constant.

    Under ``DistributedDataParallel`` add ``reg()`` on every replica with the same λ — do
    **not** multiply λ by the world size: DDP averages the gradients of the per-replica
    losses, ``mean_r(∇L_r + λ∇R) = ∇L_data + λ∇R``, because ``R`` depends only on the
    (replicated) weights.

    Examples
    --------
    >>> reg = Regularizer(model, pz.L1(1e-4))                        # doctest: +SKIP
    >>> loss = criterion(model(x), y) + reg()                         # doctest: +SKIP
    >>> opt = ProxAdamW(reg.param_groups(), lr=1e-3)                  # the prox way  # doctest: +SKIP
    """

    def __init__(self, model, penalty, include=None, exclude=None, *, weights_only=True, schedule=None,
                 example_inputs=None, target=None, total_steps=None, target_metric="params",
                 target_window=(0.2, 0.7), group_weights="sqrt_size", guard=None):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        if not isinstance(weights_only, bool):
            raise TypeError(f"weights_only must be True or False, got {weights_only!r}.")
        if schedule is not None and not callable(schedule):
            raise TypeError(f"schedule must be a callable step -> factor, got {schedule!r}.")
        from .coupled import check_normalize

        self._group_weights = check_normalize(group_weights)
        budget = None
        if target is not None:
            from .budget import check_budget

            if example_inputs is None:
                raise ValueError("target (a size budget) removes coupled structures: pass example_inputs=x (a batch "
                                 "the model takes) and a pz.GroupL1 penalty.")
            budget = check_budget(target, total_steps, target_metric, target_window) + (target_metric,)
        elif total_steps is not None:
            raise ValueError("total_steps is the length of a budgeted run: pass target= too (or drop total_steps).")
        self.guard = None
        if guard is not None:
            from .guard import CollapseGuard

            if example_inputs is None:
                raise ValueError("guard backs off a GroupL1 on coupled structures: pass example_inputs=x too.")
            self.guard = CollapseGuard(guard)
        self.model = model
        self.schedule = schedule
        self.steps = 0
        inner = unwrap(model)
        owners = {}
        for _, module in inner.named_modules():
            for _, param in module.named_parameters(recurse=False):
                owners.setdefault(id(param), module)
        named = list(inner.named_parameters())
        names = [name for name, _ in named]
        if not named:
            raise ValueError("the penalty selects no parameter: the model has no parameters.")
        no_decay = no_weight_decay_names(inner) if weights_only else (lambda name: False)
        inc = None if include is None else _compile_selector(include, names, "include")
        exc = None if exclude is None else _compile_selector(exclude, names, "exclude")
        candidates = []
        for name, param in named:
            module = owners.get(id(param))
            if inc is None and not param.dtype.is_floating_point:
                continue
            if inc is not None and not inc(name, param, module):
                continue
            if exc is not None and exc(name, param, module):
                continue
            if weights_only and (not default_selection(name, param, module) or no_decay(name)):
                continue
            candidates.append((name, param, module))
        self._coupled = None
        if example_inputs is not None:
            self._entries = self._assign_coupled(penalty, candidates, inner, example_inputs, budget)
            return
        self._entries = self._assign(penalty, candidates, names)
        self._warn_scale_invariant(inner)
        description = (f"include={_describe(include)}, exclude={_describe(exclude)}, "
                       f"weights_only={weights_only}, penalty={_describe(penalty)}")
        if weights_only:
            description += " (biases and normalization parameters are never selected with weights_only=True)"
        check_selection_nonempty(self._entries, description)
        check_floating_parameters([(n, p) for n, p, _ in self._entries])

    def _assign_coupled(self, penalty, candidates, inner, example_inputs, budget=None):
        from .coupled import CoupledGroupL1, coupled_groups
        from .structures import check_example_inputs, trace

        check_example_inputs(example_inputs)
        if not (isinstance(penalty, GroupL1) or (isinstance(penalty, PenaltySum) and penalty._group is not None)):
            raise TypeError("example_inputs gives a GroupL1 penalty the network's coupled structures as groups; "
                            f"got penalty={_describe(penalty)}. Pass one pz.GroupL1(lam) (or a sum with one, such "
                            "as pz.L1(a) + pz.GroupL1(b)), or drop example_inputs (element-wise penalties such as "
                            "L1 have no groups).")
        if not candidates:
            raise ValueError("the penalty selects no parameter (include/exclude/weights_only leave nothing).")
        graph = trace(inner, example_inputs)
        groups = coupled_groups(graph, {id(p) for _, p, _ in candidates})
        if groups.n_groups == 0:
            reasons = sorted({f"'{cg.root_name}': {cg.reason}" for cg in graph.channel_groups if not cg.removable})
            raise ValueError("the selected layers compute no removable coupled structure (" + "; ".join(reasons)
                             + "). Select other layers, or drop example_inputs for per-row groups.")
        self._warn_unpenalized(candidates, groups, graph)
        if budget is None:
            self._coupled = CoupledGroupL1(penalty, groups, self._group_weights)
        else:
            self._coupled = self._budgeted(penalty, groups, inner, example_inputs, budget, self._group_weights)
        return [(name, param, self._coupled) for name, param in zip(groups.names, groups.params, strict=True)]

    @staticmethod
    def _warn_unpenalized(candidates, groups, graph):
        """Warn about selected weights that no coupled structure covers (they get no penalty)."""
        covered = {id(p) for p in groups.params}
        left = [(name, module) for name, param, module in candidates if id(param) not in covered]
        if not left:
            return
        reasons = {}
        stuck = [cg for cg in graph.channel_groups if not cg.removable]
        for cg in stuck:  # a layer's own width first, then the widths it reads
            reasons.setdefault(id(cg.root_module), cg.reason)
        for cg in stuck:
            for item in cg.dg_group:
                reasons.setdefault(id(item.dep.target.module), cg.reason)
        for _, module in left:  # recurrent layers: every weight of theirs mixes the hidden width
            if isinstance(module, nn.RNNBase):
                reasons.setdefault(id(module), f"a recurrent layer ({type(module).__name__}): its gates mix its "
                                               "hidden units, which are not removable structures here")
        parts = [f"'{name}' ({reasons.get(id(module), 'no removable coupled structure computes or reads it')})"
                 for name, module in left]
        shown = "; ".join(parts[:12]) + (f"; and {len(parts) - 12} more" if len(parts) > 12 else "")
        warnings.warn(f"GroupL1 on coupled structures leaves {len(left)} selected weight(s) unpenalized: {shown}. "
                      "Penalize them separately (e.g. a second Regularizer with pz.L1 on them) or exclude them to "
                      "silence this warning.", UserWarning, stacklevel=4)

    @staticmethod
    def _budgeted(penalty, groups, inner, example_inputs, budget, normalize):
        from .budget import Budget, BudgetGroupL1
        from .costs import costs_of

        target, total_steps, start, reach, metric = budget
        account = None
        if metric == "macs":
            from .budget_macs import MacAccount

            costs = torch.as_tensor(costs_of(groups.structures, inner, example_inputs), dtype=torch.float64)
            account = MacAccount(groups.structures, inner, example_inputs)
        else:  # what prune removes: own entries plus the consumer columns freed, shared entries once
            from .budget_params import ParamAccount

            account = ParamAccount(groups.structures)
            costs = account.marginal()
        return BudgetGroupL1(penalty, groups, Budget(costs, groups.families, target, total_steps, start, reach,
                                                     metric, account), normalize)

    @property
    def budget(self):
        """The size budget's controller (:class:`penalized.nn.budget.Budget`) with ``target``; else None."""
        return getattr(self._coupled, "budget", None)

    def _warn_scale_invariant(self, inner):
        invariant = _scale_invariant(inner)
        for name, param, penalty in self._entries:
            if isinstance(penalty, GroupL1) and id(param) in invariant:
                layer, norm, kind = invariant[id(param)]
                warnings.warn(
                    f"GroupL1 on '{name}': the output of '{layer}' goes through {kind} '{norm}', which undoes any "
                    "scaling of its rows, so the penalty only shrinks these weights (towards the norm's eps) "
                    "without removing units. Pass example_inputs=x so that each group also holds the "
                    "normalization's scale and shift (and the consumers' columns), or penalize those.",
                    UserWarning, stacklevel=4)

    @property
    def structures(self):
        """The coupled structures (:class:`penalized.nn.structures.Structure`), one per group,
        with ``example_inputs``; ``None`` otherwise."""
        return None if self._coupled is None else self._coupled.groups.structures

    def _need_coupled(self, what):
        if self._coupled is None:
            raise ValueError(f"{what} is defined for the coupled structures: build the Regularizer with a "
                             "pz.GroupL1 penalty and example_inputs=x.")
        return self._coupled.groups

    def group_sizes(self):
        """Number of entries (parameters) of each coupled structure's group, a long tensor in
        the order of :attr:`structures` (rows, biases, normalization entries, owned consumer
        columns: what the penalty covers)."""
        return self._need_coupled("group_sizes()").sizes()

    def group_norms(self):
        """``‖w_g‖₂`` of each coupled structure's group at the current weights (0 exactly for a
        removed structure), in the order of :attr:`structures`."""
        return self._need_coupled("group_norms()").norms()

    @staticmethod
    def _assign(penalty, candidates, names):
        if isinstance(penalty, Penalty):
            return [(n, p, penalty) for n, p, _ in candidates]
        if isinstance(penalty, Mapping):
            if not penalty:
                raise ValueError("penalty is an empty dict; map name patterns or module types to penalties.")
            rules = []
            for key, pen in penalty.items():
                v.check_penalty(pen, name=f"penalty[{_describe(key)}]")
                rules.append((key, _compile_selector(key, names, f"penalty key {_describe(key)}"), pen))
            used = set()
            entries = []
            for name, param, module in candidates:
                for i, (_, pred, pen) in enumerate(rules):
                    if pred(name, param, module):
                        used.add(i)
                        if pen is not None:
                            entries.append((name, param, pen))
                        break
            unused = [_describe(key) for i, (key, _, _) in enumerate(rules) if i not in used]
            if unused:
                raise ValueError(f"penalty key(s) {', '.join(unused)} match no selected parameter (or an "
                                 "earlier key already matched them); biases and normalization parameters "
                                 "need weights_only=False.")
            return entries
        if callable(penalty):
            entries = []
            for name, param, _ in candidates:
                pen = v.check_penalty(penalty(name, param), name=f"penalty({name!r}, param)")
                if pen is not None:
                    entries.append((name, param, pen))
            return entries
        raise TypeError("penalty must be a penalty object such as penalized.L1(1e-4), a dict "
                        f"{{pattern or module type: penalty}}, or a callable (name, param) -> penalty; "
                        f"got {penalty!r}.")

    # -- the formula ------------------------------------------------------------------
    @property
    def factor(self):
        """The schedule's current multiplier (1 without a schedule)."""
        if self.schedule is None:
            return 1.0
        return check_factor(self.schedule(self.steps))

    def __call__(self):
        """``factor · Σ_k R_k(w_k)`` as a 0-d tensor (add it to the data loss)."""
        total = None
        if self._coupled is not None:
            total = self._coupled.value()
        for _, param, penalty in [] if self._coupled is not None else self._entries:
            value = penalty.value(param)
            if not torch.is_tensor(value):
                value = torch.as_tensor(value, dtype=param.dtype, device=param.device)
            total = value if total is None else total + value.to(total.device)
        factor = self.factor
        return total if factor == 1.0 else total * factor

    loss = __call__

    def step(self, loss=None):
        """Advance the schedule by one step (call it once per optimizer step).

        With ``guard=`` pass the step's training loss: when its moving average rises past
        ``guard ×`` its best value, the penalty backs off (a UserWarning says so): a fixed λ
        is halved (:attr:`backoff`), a budget's ramp is held for the guard's patience (its
        deadline moves by as many steps). See :mod:`penalized.nn.guard`.
        """
        self.steps += 1
        if self.guard is None or loss is None:
            return
        if not self.guard.observe(loss):
            return
        g, budget = self.guard, self.budget
        if budget is not None:
            self._coupled.pause(g.patience)
            action = (f"the budget's ramp is held for {g.patience} steps (deadline now step "
                      f"{min(budget.reach + g.patience, budget.total_steps)} of {budget.total_steps})")
        else:
            self._coupled.backoff *= 0.5
            action = f"λ is halved (now {self._coupled.backoff:g}× the penalty's λ)"
        warnings.warn(f"collapse guard at step {self.steps}: the training loss (moving average {g.last_value:.4g}) "
                      f"rose past {g.bound:g}× its best ({g.best:.4g}); {action}.", UserWarning, stacklevel=2)

    @property
    def backoff(self):
        """The collapse guard's multiplier of λ (1 until it backs off)."""
        return 1.0 if self._coupled is None else self._coupled.backoff

    # -- introspection ------------------------------------------------------------------
    def named_parameters(self):
        """``(name, parameter)`` for every penalized parameter."""
        return [(name, param) for name, param, _ in self._entries]

    def parameters(self):
        return [param for _, param, _ in self._entries]

    @property
    def penalties(self):
        """``{parameter name: penalty}``."""
        return {name: penalty for name, _, penalty in self._entries}

    def __len__(self):
        return len(self._entries)

    def __repr__(self):
        by_penalty = {}
        for name, _, penalty in self._entries:
            by_penalty.setdefault(repr(penalty), []).append(name)
        parts = "; ".join(f"{pen} on {', '.join(names)}" for pen, names in by_penalty.items())
        extra = "" if self.schedule is None else f", schedule at step {self.steps}"
        return f"Regularizer({parts}{extra})"

    def state_dict(self):
        state = {"steps": self.steps, "backoff": self.backoff}
        if self.guard is not None:
            state["guard"] = self.guard.state_dict()
        return state

    def load_state_dict(self, state):
        self.steps = int(state["steps"])
        if self._coupled is not None:
            self._coupled.backoff = float(state.get("backoff", 1.0))
        if self.guard is not None and "guard" in state:
            self.guard.load_state_dict(state["guard"])

    # -- the prox way ---------------------------------------------------------------------
    def param_groups(self, *, decay_unpenalized=False, **options):
        """Parameter groups for :class:`ProxSGD`/:class:`ProxAdamW` from this selection.

        One group per distinct penalty, ``{"params": [...], "penalty": penalty, **options}``,
        then one group with every other parameter of the model (biases, normalization
        parameters, ...) and ``"penalty": None``; that group also gets
        ``weight_decay=0.0`` unless ``decay_unpenalized=True``, so that biases and norms are
        neither penalized nor decayed. Use either ``reg()`` in the loss or these groups in a
        proximal optimizer, not both (that would count the penalty twice). The schedule is
        not carried over: pass ``schedule=reg.schedule`` to the optimizer.
        """
        groups = {}
        for _, param, penalty in self._entries:
            groups.setdefault(penalty, []).append(param)
        out = [{"params": params, "penalty": penalty, **options} for penalty, params in groups.items()]
        chosen = {id(p) for _, p, _ in self._entries}
        rest = [p for p in unwrap(self.model).parameters() if id(p) not in chosen]
        if rest:
            group = {"params": rest, "penalty": None, **options}
            if not decay_unpenalized:
                group["weight_decay"] = 0.0
            out.append(group)
        return out


def structure_costs(model, example_inputs, include=None, exclude=None, *, weights_only=True):
    """The multiply-accumulates that removing each coupled structure saves, as an array.

    One entry per structure of ``Regularizer(model, pz.GroupL1(lam), include, exclude,
    weights_only=weights_only, example_inputs=example_inputs)``, in the order of its
    :attr:`~penalized.nn.Regularizer.structures`: the MACs (one forward pass on
    ``example_inputs``) of every weight slice the structure takes with it — its producer
    rows and the input columns of all its consumers — plus, for a head, its attention
    products. Each count is marginal (at the full network: an entry shared by two removed
    structures is counted in both).

    Group factors proportional to compute::

        costs = pz.nn.structure_costs(model, x)
        reg = pz.nn.Regularizer(model, pz.GroupL1(lam, weights=costs / costs.mean()), example_inputs=x)

    With ``c_g = 1`` a group penalty removes what is cheap in parameters; with ``c_g``
    proportional to the cost it removes the structures that take time.
    """
    from .costs import costs_of

    with warnings.catch_warnings():  # which weights the structures leave out is not the question here
        warnings.simplefilter("ignore", UserWarning)
        reg = Regularizer(model, GroupL1(0.0), include, exclude, weights_only=weights_only,
                          example_inputs=example_inputs)
    return costs_of(reg.structures, model, example_inputs)
