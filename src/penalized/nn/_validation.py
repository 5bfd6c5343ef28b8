"""Checks of what :mod:`penalized.nn` receives: parameters, λ schedules, name patterns.

Errors are ``ValueError`` or ``TypeError`` whose message names the argument and the
problem. Nothing here imports torch: the checks only inspect the objects they receive.
The penalty objects themselves are checked by :func:`penalized._validation.check_penalty`.
"""

from __future__ import annotations

import fnmatch
import re

import numpy as np

__all__ = ["check_factor", "check_floating_parameters", "check_selection_nonempty", "compile_name_pattern"]


def check_factor(value, name="schedule(step)"):
    """A λ multiplier (e.g. the value of a warm-up schedule): a finite real number ≥ 0."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must return a real number >= 0, got {value!r}.") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must return a finite number >= 0, got {value!r}.")
    return value


def check_floating_parameters(named_params, what="penalized parameters"):
    """Every ``(name, tensor)`` must have a real floating-point dtype (TypeError otherwise)."""
    bad = [f"{name} ({param.dtype})" for name, param in named_params
           if not param.dtype.is_floating_point]
    if bad:
        shown = ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise TypeError(f"{what} must be floating-point tensors; got non-floating {shown}.")


def check_selection_nonempty(selected, description):
    """A parameter selection must select something (ValueError naming the selection)."""
    if not selected:
        raise ValueError(f"the penalty selects no parameter: {description}.")
    return selected


def compile_name_pattern(pattern, names, argname="include"):
    """A predicate ``name -> bool`` for a parameter-name pattern.

    Glob by default (``fnmatch``, case-sensitive, matched against the whole dotted name,
    e.g. ``"features.*.weight"``); a pattern starting with ``"re:"`` is a regular
    expression matched with ``re.fullmatch`` (``"re:layers\\.[0-3]\\.weight"``). A pattern
    that matches none of ``names`` is a ValueError (almost always a typo).
    """
    if not isinstance(pattern, str) or not pattern:
        raise TypeError(f"{argname}: a name pattern must be a non-empty string, got {pattern!r}.")
    if pattern.startswith("re:"):
        try:
            regex = re.compile(pattern[3:])
        except re.error as exc:
            raise ValueError(f"{argname}: invalid regular expression {pattern[3:]!r}: {exc}.") from None

        def match(name):
            return regex.fullmatch(name) is not None
    else:
        def match(name):
            return fnmatch.fnmatchcase(name, pattern)

    if not any(match(n) for n in names):
        shown = ", ".join(list(names)[:8]) + (" ..." if len(names) > 8 else "")
        raise ValueError(f"{argname}: pattern {pattern!r} matches no parameter name of the model "
                         f"(names look like: {shown}).")
    return match
