"""The multiply-adds a *set* of removed structures saves, exactly (for ``target_metric="macs"``).

Marginal costs (:func:`penalized.nn.structure_costs`) do not add up: an entry of a
convolution kernel goes when its output channel *or* its input channel goes, so removing half
the channels of two consecutive layers saves 75 % of the second one's multiply-adds, not the
sum of the two halves' marginal costs (which counts the shared entries twice). For a weight
``W`` with ``u`` uses per entry, ``R`` of its ``n_0`` rows and ``C`` of its ``n_1`` columns
removed, the saving is ``u·|W|·(1 − (1 − R/n_0)(1 − C/n_1))`` (one factor per coupled
dimension); attention heads add their packed-projection rows and attention products, which
nothing else shares. :class:`MacAccount` computes that for any selection with one small
matrix product, and for every prefix of a ranking at once.
"""

from __future__ import annotations

import torch

from .costs import _usage

__all__ = ["MacAccount"]


class MacAccount:
    """Exact MACs saved by removing sets of the coupled structures ``structures`` of ``model``.

    ``total`` is the whole network's count (:func:`penalized.nn.count_macs` on the same
    inputs); :meth:`removed` and :meth:`prefix_removed` return MACs on that scale.
    """

    def __init__(self, structures, model, example_inputs):
        uses, attention = _usage(model, example_inputs)
        params = {id(p): p for p in model.parameters()}
        self.total = 0.0
        for pid, n in uses.items():
            p = params.get(pid)
            if p is None:
                continue
            self.total += float((n * (p.numel() // p.shape[0])).sum()) if torch.is_tensor(n) else float(n) * p.numel()
        for module, (_, _, products) in attention.items():
            self.total += 2.0 * products * module.head_dim * module.num_heads
        pairs, param_of_pair, base = {}, [], []
        counts, extra = [], torch.zeros(len(structures), dtype=torch.float64)
        for g, st in enumerate(structures):
            for s in st.parts:
                n = uses.get(id(s.param))
                if n is None or s.bias or s.param.ndim < 2:
                    continue
                if torch.is_tensor(n):  # a packed attention projection: its rows are the head's alone
                    per_row = s.param.numel() // s.param.shape[0]
                    extra[g] += float(n[s.index].sum()) * per_row if s.dim == 0 else 0.0
                    continue
                key = (id(s.param), s.dim)
                if key not in pairs:
                    pairs[key] = len(pairs)
                    param_of_pair.append(id(s.param))
                    base.append((s.param.shape[s.dim], float(n) * s.param.numel()))
                counts.append((g, pairs[key], float(len(s.index))))
            if st.attention is not None and st.attention in attention:
                extra[g] += 2.0 * attention[st.attention][2] * st.attention.head_dim
        ids = sorted(set(param_of_pair))
        self._pair_param = torch.as_tensor([ids.index(p) for p in param_of_pair], dtype=torch.long)
        self._size = torch.as_tensor([b[0] for b in base], dtype=torch.float64)
        per_param = torch.zeros(len(ids), dtype=torch.float64)
        for k, (_, macs) in enumerate(base):
            per_param[self._pair_param[k]] = macs
        self._param_macs = per_param
        self._a = torch.zeros(len(structures), len(pairs), dtype=torch.float64)
        for g, k, c in counts:
            self._a[g, k] += c
        self._extra = extra
        self._n_params = len(ids)

    def _saved(self, removed_counts, extra):
        """MACs saved for rows of per-pair removed counts (``(m, n_pairs)``) plus additive parts."""
        frac = (removed_counts / self._size).clamp(0.0, 1.0)
        log_keep = torch.log((1.0 - frac).clamp_min(1e-300))
        per_param = torch.zeros(removed_counts.shape[0], self._n_params, dtype=torch.float64)
        per_param.index_add_(1, self._pair_param, log_keep)
        return (1.0 - per_param.exp()) @ self._param_macs + extra

    def removed(self, selected):
        """MACs saved by removing the structures where ``selected`` (bool, ``(n_groups,)``) is True."""
        sel = selected.detach().cpu().double()
        return float(self._saved((sel @ self._a)[None], (sel @ self._extra)[None])[0])

    def prefix_removed(self, order, allowed):
        """MACs saved by each prefix ``order[:k+1]`` of a ranking (``allowed`` False: skipped)."""
        order, allowed = order.cpu(), allowed.cpu().double()
        a = self._a[order] * allowed[:, None]
        return self._saved(torch.cumsum(a, 0), torch.cumsum(self._extra[order] * allowed, 0))
