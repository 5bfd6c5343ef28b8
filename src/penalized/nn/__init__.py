"""Regularization for PyTorch networks: ``L = L_data + λ·L_reg`` on a model's weights.

- :class:`Regularizer` — ``λ·L_reg`` over chosen parameters (weight matrices and
  convolution kernels by default, never biases or normalization parameters), as a
  tensor to add to the data loss: the formula, literally.
- :class:`ProxSGD`, :class:`ProxAdamW` — a step on ``L_data``, then the penalty's prox
  with the step size: L1 gives exact zeros, :class:`penalized.GroupL1` whole neurons.
- :func:`prune` — a smaller network without the zeroed units, same outputs (any
  architecture Torch-Pruning's dependency graph traces, with ``example_inputs``).
- :func:`save_pruned`, :func:`load_pruned` — a pruned network to a file and back onto a
  freshly built model of the original architecture (the smaller shapes travel with the weights).
- :func:`sparsity_report` — exact zeros, zeroed units, parameters before and after.
- :func:`structure_costs`, :func:`count_macs` — multiply-accumulates of each coupled
  structure (group factors proportional to compute) and of a whole network.
- :class:`LambdaSchedule` — dense steps first, then λ ramped in (``schedule=``).
- ``Regularizer(..., target=0.5, total_steps=T)`` — a size budget instead of a λ
  (:mod:`penalized.nn.budget`).
- :func:`recalibrate_batchnorm`, :func:`batchnorm_drift` — BatchNorm statistics after sparse
  training or pruning (``prune(..., calibrate=loader)``).

The penalties are the ones of :mod:`penalized.penalties` (``pz.L1``, ``pz.L2``,
``pz.L1L2``, ``pz.GroupL1``), on the same scale as everywhere in penalized. PyTorch is an
optional dependency: ``pip install 'penalized[nn]'``. See ``docs/nn.md``.
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("penalized.nn needs PyTorch: pip install 'penalized[nn]'") from exc

from .batchnorm import batchnorm_drift, recalibrate_batchnorm
from .costs import count_macs
from .optim import ProxAdamW, ProxSGD
from .prune import prune
from .prune_graph import PruneError
from .pruned_io import load_pruned, load_pruned_state_dict, pruned_state_dict, save_pruned
from .regularizer import Regularizer, default_selection, structure_costs
from .report import LayerSparsity, SparsityReport, sparsity_report
from .schedule import LambdaSchedule

__all__ = ["Regularizer", "default_selection", "ProxSGD", "ProxAdamW", "prune", "sparsity_report",
           "SparsityReport", "LayerSparsity", "PruneError", "structure_costs", "count_macs", "LambdaSchedule",
           "recalibrate_batchnorm", "batchnorm_drift", "save_pruned", "load_pruned", "pruned_state_dict",
           "load_pruned_state_dict"]
