"""Penalties in an optimizer's ``state_dict()`` as plain data (``torch.load(weights_only=True)`` reads it).

A built-in penalty is stored as ``{"penalty": class name, "params": {...}}`` with lists for
arrays and the same form, nested, for the terms of a sum (``pz.L1(a) + pz.GroupL1(b)``).
A penalty on a network's coupled structures
(:class:`~penalized.nn.coupled.CoupledGroupL1`) holds references to the model's
parameters: it is stored as its inner penalty plus the names of its structures, and
rebuilt on loading from the structures of the optimizer being loaded into (built, as
before saving, from ``Regularizer(model, ..., example_inputs=x).param_groups()``).
A user-defined penalty class is stored as the object itself.
"""

from __future__ import annotations

import numpy as np

from .. import penalties as _penalties
from ..penalties import Penalty

__all__ = ["penalty_to_state", "penalty_from_state", "COUPLED"]

#: state names of the penalties on coupled structures (their classes rebuild themselves)
COUPLED = ("CoupledGroupL1", "BudgetGroupL1")


def _is_state(obj):
    return isinstance(obj, dict) and set(obj) == {"penalty", "params"}


def _value_to_state(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Penalty):
        return penalty_to_state(value)
    if isinstance(value, (tuple, list)):
        return [_value_to_state(v) for v in value]
    return value


def _value_from_state(value):
    if _is_state(value):
        return penalty_from_state(value)
    if isinstance(value, list) and value and all(_is_state(v) for v in value):
        return tuple(penalty_from_state(v) for v in value)
    return value


def penalty_to_state(penalty):
    """``penalty`` as plain dicts, lists and numbers (a user-defined class: the object itself)."""
    to_state = getattr(penalty, "to_state", None)
    if callable(to_state):
        return to_state()
    cls = type(penalty)
    if not isinstance(penalty, Penalty) or getattr(_penalties, cls.__name__, None) is not cls:
        return penalty
    params = {k: _value_to_state(val) for k, val in penalty.get_params().items()}
    return {"penalty": cls.__name__, "params": params}


def penalty_from_state(obj, current=None):
    """The penalty stored by :func:`penalty_to_state`; ``current`` is the penalty the
    optimizer holds now (a coupled penalty is rebuilt on its structures)."""
    if not _is_state(obj):
        return obj
    name = obj["penalty"]
    if name in COUPLED:
        # rebuilt on the structures of the penalty the optimizer holds now (it knows its own
        # class: no import of the coupled module from here)
        if not getattr(current, "couples_tensors", False) or not callable(getattr(current, "from_state", None)):
            count = len(obj["params"].get("structures", ()))
            raise ValueError("this checkpoint's penalty acts on a network's coupled structures "
                             f"({count} of them); load it into an optimizer built from "
                             "Regularizer(model, penalty, example_inputs=x).param_groups() on the same model.")
        return type(current).from_state(obj, current)
    cls = getattr(_penalties, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Penalty)):
        raise ValueError(f"the state dict names an unknown penalty {name!r}.")
    return cls(**{k: _value_from_state(v) for k, v in obj["params"].items()})
