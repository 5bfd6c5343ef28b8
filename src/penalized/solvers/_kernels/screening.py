"""Gap Safe screening."""

import numpy as np

from .base import _JIT, njit
from .certificate import dual_scaling

# ------------------------------------------------------------------------ screening


@njit(**_JIT)
def gap_safe_screen(grad, gap, w, P, L, active, idx):
    """Gap Safe rule (Fercoq, Gramfort & Salmon 2015; Ndiaye et al. 2017) on the features ``idx``.

    With the dual point ``θ = −α ∇F`` (``α`` rescales it into the dual feasible set,
    as in :func:`duality_gap`) and the duality gap ``G``, the dual optimum lies within
    ``‖θ − θ*‖_{A⁻¹} ≤ sqrt(2 G ℓ''_max)``: ``F*`` is ``1/ℓ''_max``-strongly convex in
    the ``A⁻¹``-norm (``a_i`` the sample weights; ``ℓ''_max`` = 2 for the squared error,
    ¼ for the log-loss). Hence ``|x̃_jᵀθ*| ≤ α|g_j| + sqrt(2 G L_j)`` with ``L_j =
    ℓ''_max ‖x̃_j‖²_A``, and ``w*_j = 0`` whenever that is ``< l1_j``. Clears ``active_j``
    for such features whose coefficient is already zero; returns how many. For the
    elastic net without bounds (the solver's plan turns it on only there).
    """
    alpha = dual_scaling(grad, P, idx)
    dropped = 0
    radius = 2.0 * max(gap, 0.0)
    for j in idx:
        if active[j] and w[j] == 0.0 and P[0, j] > 0.0:
            if alpha * abs(grad[j]) + np.sqrt(radius * L[j]) < P[0, j]:
                active[j] = False
                dropped += 1
    return dropped
