"""Sparsity of a network, layer by layer: exact zeros, zeroed units, parameters before/after pruning."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from torch import nn

from .prune import prune
from .regularizer import unwrap

__all__ = ["LayerSparsity", "SparsityReport", "sparsity_report"]


@dataclass
class LayerSparsity:
    """One layer with a weight matrix or kernel (``weight`` with ≥ 2 dimensions).

    ``zeros`` counts exactly-zero entries of the weight; ``units`` is its first dimension
    (output units / channels) and ``zeroed_units`` how many of them have all incoming
    weights exactly zero; ``params`` counts weight and bias, ``params_after`` the same
    layer in :func:`prune`'s result (``None`` when the model cannot be pruned).
    """

    name: str
    kind: str
    shape: tuple
    params: int
    weights: int
    zeros: int
    units: int
    zeroed_units: int
    params_after: int | None = None

    @property
    def zero_fraction(self):
        return self.zeros / self.weights if self.weights else 0.0

    def to_dict(self):
        return {**asdict(self), "shape": list(self.shape), "zero_fraction": self.zero_fraction}


@dataclass
class SparsityReport:
    """Per-layer :class:`LayerSparsity` rows plus the model's totals (``str()`` prints a table)."""

    layers: list = field(default_factory=list)
    total_params: int = 0
    total_params_after: int | None = None

    @property
    def weights(self):
        return sum(layer.weights for layer in self.layers)

    @property
    def zeros(self):
        return sum(layer.zeros for layer in self.layers)

    @property
    def zero_fraction(self):
        return self.zeros / self.weights if self.weights else 0.0

    @property
    def units(self):
        return sum(layer.units for layer in self.layers)

    @property
    def zeroed_units(self):
        return sum(layer.zeroed_units for layer in self.layers)

    def to_dict(self):
        return {
            "layers": [layer.to_dict() for layer in self.layers],
            "weights": self.weights, "zeros": self.zeros, "zero_fraction": self.zero_fraction,
            "units": self.units, "zeroed_units": self.zeroed_units,
            "total_params": self.total_params, "total_params_after": self.total_params_after,
        }

    def __str__(self):
        head = ("layer", "type", "shape", "params", "exact zeros", "zeroed units", "params after")
        rows = []
        for layer in self.layers:
            rows.append((layer.name, layer.kind, "×".join(map(str, layer.shape)), f"{layer.params:,}",
                         f"{layer.zeros:,} ({100 * layer.zero_fraction:.1f}%)",
                         f"{layer.zeroed_units}/{layer.units}",
                         "—" if layer.params_after is None else f"{layer.params_after:,}"))
        after = "—" if self.total_params_after is None else f"{self.total_params_after:,}"
        rows.append(("total", "", "", f"{self.total_params:,}",
                     f"{self.zeros:,} ({100 * self.zero_fraction:.1f}%)",
                     f"{self.zeroed_units}/{self.units}", after))
        widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
        lines = ["  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in
                           enumerate(zip(row, widths, strict=True))) for row in [head, *rows]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.insert(len(lines) - 1, lines[1])
        return "\n".join(lines)

    def _repr_markdown_(self):
        return "```\n" + str(self) + "\n```"


def _layers(model):
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, nn.Parameter) and weight.ndim >= 2 and weight.dtype.is_floating_point:
            yield name, module, weight


def sparsity_report(model):
    """Exact zeros, zeroed units and parameter counts before/after :func:`prune`, per layer.

    Every module with a weight of at least two dimensions is a row (Linear, convolutions,
    embeddings, ...). "Parameters after" come from ``prune(model)`` when ``model`` is an
    ``nn.Sequential`` it can handle, else they are ``None``. The total counts every
    parameter of the model (biases and normalization layers included).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    model = unwrap(model)
    try:
        pruned = prune(model)
    except TypeError:
        pruned = None
    after = {name: module for name, module, _ in _layers(pruned)} if pruned is not None else {}
    report = SparsityReport(total_params=sum(p.numel() for p in model.parameters()),
                            total_params_after=None if pruned is None else
                            sum(p.numel() for p in pruned.parameters()))
    for name, module, weight in _layers(model):
        n = weight.shape[0]
        bias = getattr(module, "bias", None)
        params = weight.numel() + (bias.numel() if isinstance(bias, nn.Parameter) else 0)
        zeros = int((weight == 0).sum())
        zeroed = int((weight.detach().reshape(n, -1) == 0).all(1).sum())
        params_after = None
        if name in after:
            m = after[name]
            b = getattr(m, "bias", None)
            params_after = m.weight.numel() + (b.numel() if isinstance(b, nn.Parameter) else 0)
        report.layers.append(LayerSparsity(name=name, kind=type(module).__name__, shape=tuple(weight.shape),
                                           params=params, weights=weight.numel(), zeros=zeros, units=n,
                                           zeroed_units=zeroed, params_after=params_after))
    return report
