"""Penalties from their names: the CLI's, the CV estimators' and the paths' strings."""

from __future__ import annotations

import numbers

from .elastic_net import L1, L1L2, L2
from .group import GroupL1
from .nonconvex import MCP, SCAD

#: The names :func:`from_name` knows.
PENALTY_NAMES = ("l1", "l2", "elasticnet", "group", "sparse_group", "mcp", "scad")


def from_name(name, lam=1.0, *, l1_ratio=0.5, weights=None, groups=None, gamma=None):
    """A penalty from its name (the CLI's, the CV estimators' and the paths' strings).

    ``"l1"`` → ``L1(lam)``, ``"l2"`` → ``L2(lam)``, ``"elasticnet"`` →
    ``L1L2(l1=lam·ρ, l2=lam·(1−ρ)/2)`` (``ElasticNet(lam, l1_ratio=ρ)``), ``"group"`` →
    ``GroupL1(lam, groups)``, ``"sparse_group"`` → ``L1(lam·ρ) + GroupL1(lam·(1−ρ), groups)``,
    ``"mcp"`` → ``MCP(lam, gamma)``, ``"scad"`` → ``SCAD(lam, gamma)``; ``weights`` are the
    per-feature (per-group for the group penalties) factors.
    """
    def rho():
        from sklearn.utils import check_scalar

        return check_scalar(l1_ratio, "l1_ratio", numbers.Real, min_val=0.0, max_val=1.0)

    if name == "l1":
        return L1(lam, weights)
    if name == "l2":
        return L2(lam, weights)
    if name == "elasticnet":
        r = rho()
        return L1L2(l1=lam * r, l2=lam * (1.0 - r) / 2.0, weights=weights)
    if name in ("group", "sparse_group"):
        if groups is None:
            raise ValueError(f"penalty {name!r} needs groups= (one integer label per feature).")
        if name == "group":
            return GroupL1(lam, groups=groups, weights=weights)
        r = rho()
        return L1(lam * r) + GroupL1(lam * (1.0 - r), groups=groups, weights=weights)
    if name == "mcp":
        return MCP(lam, **({} if gamma is None else {"gamma": gamma}), weights=weights)
    if name == "scad":
        return SCAD(lam, **({} if gamma is None else {"gamma": gamma}), weights=weights)
    raise ValueError(f"penalty must be {', '.join(repr(n) for n in PENALTY_NAMES)} "
                     f"or a penalty object, got {name!r}.")
