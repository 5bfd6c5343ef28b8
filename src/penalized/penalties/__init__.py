"""Penalties ``L_reg``: the second term of ``L(w) = L_data(w) + λ · L_reg(w)``.

Scale conventions (the same everywhere in penalized, identical to Keras' regularizers):

=================  ==========================================================
``L1(lam)``        ``lam · Σ_j c_j |w_j|``
``L2(lam)``        ``lam · Σ_j c_j w_j²``            (no ½)
``L1L2(l1,l2)``    ``l1 · Σ_j c_j |w_j| + l2 · Σ_j c_j w_j²``
``GroupL1(lam)``   ``lam · Σ_g c_g ‖w_g‖₂``
``MCP(lam, γ)``    ``Σ_j lam_j|w_j| − w_j²/(2γ)`` if ``|w_j| ≤ γ·lam_j``, else ``γ·lam_j²/2``
``SCAD(lam, γ)``   Fan & Li (2001), as written (see :mod:`.nonconvex`)
``BerHu(lam, M)``  ``Σ_j lam_j|w_j|`` if ``|w_j| ≤ M``, else ``lam_j(w_j² + M²)/(2M)`` (convex; :mod:`.berhu`)
``P + Q``          the sum (L1 + L2 = L1L2; L1 + GroupL1 = the sparse group lasso)
=================  ==========================================================

``c_j`` are optional per-feature penalty factors (``weights``; glmnet's
``penalty.factor``): 0 leaves feature ``j`` unpenalized, the default is 1; ``lam_j = lam·c_j``.

:class:`GroupL1` groups slices along the first axis: features of a linear model (with
``groups`` labels), the rows of a weight matrix (the output units of a ``torch.nn.Linear``
layer, the output channels of a convolution kernel), so that its prox removes whole groups.

Every penalty offers

- ``value(w)`` (also ``penalty(w)``, like a Keras regularizer),
- ``prox(w, step)`` = ``argmin_z ½‖z − w‖² + step · R(z)``; ``step`` may also be an
  array shaped like ``w`` (one step per coordinate: the prox in a diagonal metric),
- ``prox_(w, step, denom=None)``: the same, in place, with the per-coordinate step
  ``step / denom`` (what Adam-type optimizers need; fused torch operations where possible),
  and ``prox_foreach_(ws, step, denoms=None)`` on a list of tensors,
- ``subdiff_distance(w, grad)``: the distance from ``−grad`` to the subdifferential
  ``∂R(w)`` (per coordinate; per group for group penalties); all zeros means ``w`` is
  optimal (stationary, for MCP and SCAD) for ``L_data + R`` when ``grad`` is the gradient of
  ``L_data`` at ``w``,
- ``get_params``/``set_params``, equality and a readable ``repr``, so that
  scikit-learn's ``clone`` and grid searches treat penalties as hyperparameters,
- for the solvers, paths and CV (traits, so that no caller tests types): ``convex``,
  ``kernel(n_features, bounds)`` (the penalty's compiled block and its parameter arrays),
  ``zero_levels(grad)`` (λ_max, strong rules and KKT checks), ``screening_blocks``,
  ``scaled(factor)``, and :func:`from_name` for the string names.

The methods work on NumPy arrays and, unchanged, on PyTorch tensors (they only use
``abs``, ``.clip`` and arithmetic), which is how the same object drives both the linear
solvers and :mod:`penalized.nn`.
"""

from .base import GroupStructure, KernelPenalty, Penalty, check_penalty_weights, check_strength
from .berhu import BerHu
from .bounds import check_bounds
from .elastic_net import L1, L1L2, L2, ElasticNetFamily
from .group import GroupL1, check_group_labels
from .names import PENALTY_NAMES, from_name
from .nonconvex import MCP, SCAD
from .sums import PenaltySum, add_penalties

__all__ = ["Penalty", "ElasticNetFamily", "L1", "L2", "L1L2", "GroupL1", "MCP", "SCAD", "BerHu", "PenaltySum",
           "KernelPenalty", "GroupStructure", "PENALTY_NAMES", "add_penalties", "check_bounds",
           "check_group_labels", "check_penalty_weights", "check_strength", "from_name"]
