"""The parameters a *set* of removed structures takes out of the network, exactly (``target_metric="params"``).

A structure's group (:meth:`penalized.nn.Regularizer.group_sizes`) is what its penalty
covers; what :func:`penalized.nn.prune` removes with it is more: its ``parts`` — the rows,
biases and normalization entries it owns *and* the input columns of every consumer. On a
residual net those columns belong to other structures' weights (the input columns of a
block's first convolution are residual channels; its rows are inner channels), so the
groups' sizes do not add up to what goes: an entry of a weight goes when its row *or* its
column goes. For a parameter ``W`` with ``R`` of its ``n_0`` indices along one coupled
dimension and ``C`` of ``n_1`` along the other removed, :func:`~penalized.nn.prune`
removes ``|W|·(1 − (1 − R/n_0)(1 − C/n_1))`` entries (one factor per coupled dimension;
biases and normalization vectors have one). :class:`ParamAccount` counts that for any
selection and every prefix of a ranking, with the arithmetic of
:class:`~penalized.nn.budget_macs.MacAccount` (one "use" per entry).

``total`` is the count for every structure at once: the entries of the network that some
structure can remove (the *prunable* parameters). ``target=0.5`` asks that half of them go.
"""

from __future__ import annotations

import torch

from .budget_macs import MacAccount

__all__ = ["ParamAccount"]


class ParamAccount(MacAccount):
    """Exact parameter counts removed by sets of the coupled ``structures`` (their ``parts``).

    :meth:`removed` and :meth:`prefix_removed` count entries of the network's parameters;
    ``total`` is :meth:`removed` of all structures; :meth:`marginal` the count of each
    structure removed alone (its own entries plus the consumer columns it frees).
    """

    def __init__(self, structures):
        pairs, param_of_pair, base, counts = {}, [], [], []
        for g, st in enumerate(structures):
            for s in st.parts:
                key = (id(s.param), s.dim)
                if key not in pairs:
                    pairs[key] = len(pairs)
                    param_of_pair.append(id(s.param))
                    base.append((s.param.shape[s.dim], float(s.param.numel())))
                counts.append((g, pairs[key], float(len(s.index))))
        ids = sorted(set(param_of_pair))
        self._pair_param = torch.as_tensor([ids.index(p) for p in param_of_pair], dtype=torch.long)
        self._size = torch.as_tensor([b[0] for b in base], dtype=torch.float64)
        per_param = torch.zeros(len(ids), dtype=torch.float64)
        for k, (_, n) in enumerate(base):
            per_param[self._pair_param[k]] = n
        self._param_macs = per_param  # "uses × entries" with one use per entry: the entries
        self._a = torch.zeros(len(structures), len(pairs), dtype=torch.float64)
        for g, k, c in counts:
            self._a[g, k] += c
        self._extra = torch.zeros(len(structures), dtype=torch.float64)
        self._n_params = len(ids)
        self.total = self.removed(torch.ones(len(structures), dtype=torch.bool))

    def marginal(self):
        """Entries removed by each structure alone, a float64 tensor ``(n_groups,)``."""
        return self._saved(self._a, self._extra)
