"""Sparsity of a network, layer by layer: exact zeros, zeroed units, parameters before/after pruning."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from torch import nn

from .prune import prune
from .regularizer import unwrap

__all__ = ["LayerSparsity", "StructureSparsity", "SparsityReport", "sparsity_report"]


@dataclass
class LayerSparsity:
    """One weight-like tensor: a module's ``weight`` (any number of dimensions: Linear,
    convolutions, embeddings, BatchNorm scales...) with its ``bias``, or another parameter
    that is not a bias (``in_proj_weight``, raw ``nn.Parameter`` such as ``pos_embed``),
    named ``module.param``.

    ``zeros`` counts exactly-zero entries of the weight; ``units`` is its first dimension
    (output units / channels; entries of a 1-D scale) and ``zeroed_units`` how many of them
    are exactly zero (all incoming weights of a unit); ``params`` counts weight and bias,
    ``params_after`` the same tensors in :func:`prune`'s result (``None`` when the model
    cannot be pruned).
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
class StructureSparsity:
    """Coupled structures of one kind (``channel``, ``unit``, ``residual channel``, ``head``):
    how many there are and how many are exactly zero (all their slices)."""

    kind: str
    structures: int
    zero: int

    def to_dict(self):
        return asdict(self)


@dataclass
class SparsityReport:
    """Per-layer :class:`LayerSparsity` rows plus the model's totals (``str()`` prints a table);
    with ``example_inputs`` also :class:`StructureSparsity` per kind of coupled structure."""

    layers: list = field(default_factory=list)
    total_params: int = 0
    total_params_after: int | None = None
    structures: list = field(default_factory=list)

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
            "structures": [row.to_dict() for row in self.structures],
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
        if self.structures:
            lines.append("")
            lines.append("coupled structures: " + ", ".join(
                f"{row.zero}/{row.structures} {row.kind}s zero" for row in self.structures))
        return "\n".join(lines)

    def _repr_markdown_(self):
        return "```\n" + str(self) + "\n```"


def _is_bias(name):
    return name == "bias" or name.endswith("_bias") or name.startswith("bias")


def _layers(model):
    """``(row name, module, weight, bias or None)`` for every weight-like tensor (see LayerSparsity)."""
    for name, module in model.named_modules():
        direct = dict(module.named_parameters(recurse=False))
        weight = direct.get("weight")
        if isinstance(weight, nn.Parameter) and weight.dtype.is_floating_point:
            yield name, module, weight, direct.get("bias")
        for pname, param in direct.items():
            if pname == "weight" or _is_bias(pname) or not param.dtype.is_floating_point:
                continue
            bias = direct.get(pname.replace("weight", "bias")) if "weight" in pname else None
            yield (f"{name}.{pname}" if name else pname), module, param, bias


def _structures(model, example_inputs):
    from .coupled import coupled_groups
    from .structures import trace

    groups = coupled_groups(trace(model, example_inputs))
    if groups.n_groups == 0:
        return []
    zero = (groups.norms() == 0).tolist()
    rows = {}
    for st, z in zip(groups.structures, zero, strict=True):
        row = rows.setdefault(st.kind, StructureSparsity(kind=st.kind, structures=0, zero=0))
        row.structures += 1
        row.zero += int(z)
    return list(rows.values())


def sparsity_report(model, example_inputs=None):
    """Exact zeros, zeroed units and parameter counts before/after :func:`prune`, per tensor.

    Every module's ``weight`` (with its bias) is a row — Linear, convolutions, embeddings,
    normalization scales — and so is every other parameter that is not a bias
    (``in_proj_weight`` of attention, raw parameters such as positional embeddings).
    "Parameters after" come from ``prune(model, example_inputs)`` (any traceable model), or
    without ``example_inputs`` from ``prune(model)`` when the model is a flat ``nn.Sequential``
    it handles; otherwise they are ``None``. The total counts every parameter of the model.
    With ``example_inputs`` the report also counts the coupled structures (channels, units,
    residual channels, heads) and how many are exactly zero.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    model = unwrap(model)
    if example_inputs is not None:
        pruned = prune(model, example_inputs)
    else:
        try:
            pruned = prune(model)
        except TypeError:
            pruned = None
    after = {name: (w, b) for name, _, w, b in _layers(pruned)} if pruned is not None else {}
    report = SparsityReport(total_params=sum(p.numel() for p in model.parameters()),
                            total_params_after=None if pruned is None else
                            sum(p.numel() for p in pruned.parameters()))
    if example_inputs is not None:
        report.structures = _structures(model, example_inputs)
    for name, module, weight, bias in _layers(model):
        w = weight.detach()
        n = w.shape[0] if w.ndim else 1
        params = w.numel() + (bias.numel() if isinstance(bias, nn.Parameter) else 0)
        zeros = int((w == 0).sum())
        zeroed = int((w.reshape(n, -1) == 0).all(1).sum())
        params_after = None
        if name in after:
            w2, b2 = after[name]
            params_after = w2.numel() + (b2.numel() if isinstance(b2, nn.Parameter) else 0)
        report.layers.append(LayerSparsity(name=name, kind=type(module).__name__, shape=tuple(w.shape),
                                           params=params, weights=w.numel(), zeros=zeros, units=n,
                                           zeroed_units=zeroed, params_after=params_after))
    return report
