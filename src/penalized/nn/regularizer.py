"""``λ·L_reg`` over chosen parameters of a PyTorch model, as a tensor to add to the loss.

    loss = criterion(model(x), y) + reg()        # L = L_data + λ·L_reg, literally

The penalty objects are penalized's own (:class:`penalized.L1`, :class:`penalized.L2`,
:class:`penalized.L1L2`, :class:`penalized.GroupL1`), with their scale: ``L1(lam)`` adds
``lam·Σ|w|``, ``L2(lam)`` adds ``lam·Σw²`` (no ½; Keras' scale; ``SGD(weight_decay=wd)``
is ``L2(wd / 2)``).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from .. import _validation as v
from ..penalties import Penalty
from ._validation import check_factor, check_floating_parameters, check_selection_nonempty, compile_name_pattern

__all__ = ["Regularizer", "default_selection", "NORM_TYPES", "unwrap"]


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


def default_selection(name, param, module=None):
    """The default rule: weight matrices and kernels, never biases or normalization parameters.

    A parameter is selected when it has at least two dimensions (the weight of
    ``nn.Linear``, ``nn.Bilinear``, ``nn.Embedding``, recurrent and attention layers, the
    kernel of a convolution) and its module is not a normalization layer (BatchNorm,
    InstanceNorm, LayerNorm, GroupNorm, RMSNorm). Biases and the affine parameters of
    normalization layers are one-dimensional and therefore never selected.
    """
    return param.ndim >= 2 and not isinstance(module, NORM_TYPES)


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

    def __init__(self, model, penalty, include=None, exclude=None, *, weights_only=True, schedule=None):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        if not isinstance(weights_only, bool):
            raise TypeError(f"weights_only must be True or False, got {weights_only!r}.")
        if schedule is not None and not callable(schedule):
            raise TypeError(f"schedule must be a callable step -> factor, got {schedule!r}.")
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
            if weights_only and not default_selection(name, param, module):
                continue
            candidates.append((name, param, module))
        self._entries = self._assign(penalty, candidates, names)
        description = (f"include={_describe(include)}, exclude={_describe(exclude)}, "
                       f"weights_only={weights_only}, penalty={_describe(penalty)}")
        if weights_only:
            description += " (biases and normalization parameters are never selected with weights_only=True)"
        check_selection_nonempty(self._entries, description)
        check_floating_parameters([(n, p) for n, p, _ in self._entries])

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
        for _, param, penalty in self._entries:
            value = penalty.value(param)
            if not torch.is_tensor(value):
                value = torch.as_tensor(value, dtype=param.dtype, device=param.device)
            total = value if total is None else total + value.to(total.device)
        factor = self.factor
        return total if factor == 1.0 else total * factor

    loss = __call__

    def step(self):
        """Advance the schedule by one step (call it once per optimizer step)."""
        self.steps += 1

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
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = int(state["steps"])

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

