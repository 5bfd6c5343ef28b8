"""Compiled inner loops of the solvers (numba), one module per concern.

The modules of this package are the kernels' source; numba never compiles them where they
are. :mod:`penalized.solvers._loader` joins them, in the order of ``_PARTS``, into one source
(a file named by its hash) that it compiles or runs as Python: numba's cache is keyed on the
source file of each function, so a kernel calling a kernel from another file could keep a
stale compiled version after that file changes, and one file avoids that. The ahead-of-time
module is built from the same joined source. (The package was split from one 2,900-line
``_kernels.py`` by a mechanical move; a new kernel goes in the module of its concern, is
imported and listed here, and, if Python calls it, gets an entry in the loader's
``ENTRY_POINTS``.) Always reach the kernels through the loader.

Conventions shared by every kernel:

- ``X`` is passed as ``(X, Xd, Xi, Xp, sparse)``: a Fortran-ordered dense matrix, or,
  when ``sparse`` is true, the CSC arrays ``data, indices, indptr`` (``X`` is then a
  2×2 placeholder). float32 and float64 matrices both work; vectors are float64.
- ``df`` selects the data fit (:data:`SQUARED_ERROR` or :data:`LOGISTIC`); ``a`` are the
  normalised sample weights (``Σ a_i = 1``). The state is ``zx = Xw`` (kept up to date
  by every coordinate update, touching only a column's non-zeros) and the intercept
  ``b``; the linear predictor is ``zx_i + b``.
- Centred coordinates: with an intercept, a step on ``w_j`` moves along the centred
  column ``x_j − mu_j`` (``mu_j`` = weighted column mean, or 0 where not used). This
  removes the coupling between the intercept and uncentred features that makes plain
  coordinate descent crawl. Dense matrices are centred on the fly: ``zx = X̃w`` and the
  kernels' intercept is ``b' = b + muᵀw``, so no large ``Xw`` and ``b`` cancel. Sparse
  columns stay sparse: ``zx = Xw``, the intercept is ``b``, a step on ``w_j`` also moves
  ``b`` by ``−mu_j·Δ``, and gradients subtract ``mu_j ∂_b L_data``. Either way ``L_j``
  are the Lipschitz constants along the centred directions and ``grad_j`` is the
  derivative along them.
- The penalty is the separable elastic-net family ``Σ_j l1_j |w_j| + l2_j w_j²``;
  ``l1_j = l2_j = 0`` marks an unpenalized feature.
"""

from .anderson import anderson_combination
from .base import (
    _INLINE,
    _JIT,
    _JIT_FAST,
    CHEAP_STEP_ENTRIES,
    CHEAP_STEP_EPOCHS,
    DUAL_SHARE,
    EXTRAPOLATE_WITHIN,
    LOGISTIC,
    MULTINOMIAL,
    N_PARAMS,
    N_PEN_ROWS,
    P_ANDERSON_AUTO,
    P_CHECK_COST,
    P_DUAL_K,
    P_FACE_SOLVES,
    P_LAST_MOVE,
    P_MODEL_ANDERSON,
    P_MOVE_TOL,
    P_NEWTON_FORCING,
    P_SUPPORT_COST,
    P_TOL_FLOOR,
    PEN_BERHU,
    PEN_ENET,
    PEN_MCP,
    PEN_SCAD,
    POISSON,
    ROW_HI,
    ROW_LO,
    SAMPLE_COST,
    SQUARED_ERROR,
    njit,
    unknown_code,
)
from .block_datafits import (
    block_curvature,
    block_derivatives,
    block_gradient,
    block_loss,
    block_sample_gap,
    sample_grad_block,
)
from .block_matrix import (
    _resid_dot,
    col_axpy_block,
    col_axpy_block_weighted,
    col_dot_block,
    col_dot_block_weighted,
    group_lipschitz,
)
from .blocks import (
    _block_anderson,
    _block_epoch_end,
    _block_epoch_start,
    block_certificate,
    block_epoch,
    block_violations,
    solve_blocks_subproblem,
)
from .certificate import (
    best_dual_gap,
    candidate_gap,
    convex_dual_scaling,
    convex_gap,
    dual_scaling,
    duality_gap,
    duality_gap_of,
    extrapolated_gap,
    improve_gap,
    pen_gap_term,
    record_predictor,
    sample_fenchel_young,
)
from .cox import (
    cox_derivatives,
    cox_enet_fit,
    cox_enet_path,
    cox_face_step,
    cox_hessian_columns,
    cox_hessian_vector,
    cox_line_search,
    cox_model_cd,
    cox_model_decrease,
    cox_model_epoch,
    cox_model_setup,
    cox_risk_sums,
    cox_screened_gradient,
    cox_solve,
    cox_working_set,
    cox_workspace,
    enet_value,
    load_column,
)
from .datafits import (
    curvature_bound,
    datafit_value,
    dense_coordinate_gradient,
    expm1_minus_x,
    gradient,
    intercept_curvature,
    log1pexp,
    sample_gap,
    sample_loss,
    sample_loss_change,
    sample_loss_curvature,
    sample_loss_derivative,
    sample_loss_derivatives,
    sigmoid,
    sparse_coordinate_gradient,
    weighted_derivatives,
)
from .epochs import (
    _anderson_step,
    _residual_to_state,
    _state_to_residual,
    cd_epoch,
    dense_squared_epoch,
    solve_subproblem,
    sparse_squared_epoch,
)
from .gram import gram_gap, gram_solve
from .group_lasso import (
    NEWTON_MAX,
    _centred_weighted_cross,
    _group_pass,
    centred_axpy,
    group_grams,
    group_lasso_epochs,
    group_norm_root,
    group_update,
)
from .matrix import (
    col_axpy,
    col_dot,
    col_dot3,
    col_weighted_moments,
    cols_axpy,
    cols_dot,
    dense_axpy,
    dense_dot,
    dense_dot3,
    matvec,
    sparse_axpy,
    sparse_dot,
    sparse_dot3,
)
from .newton import (
    _model_anderson,
    _model_epoch,
    _model_prox,
    _model_setup,
    datafit_change,
    model_value,
    newton_direction,
    second_order,
    solve_subproblem_newton,
)
from .penalties import (
    _piece_argmin,
    coord_prox,
    nonconvex_prox,
    pen_change,
    pen_concavity,
    pen_conjugate_argmax,
    pen_convex,
    pen_dual_radius,
    pen_free,
    pen_kink,
    pen_kinked,
    pen_prox,
    pen_slope,
    pen_value,
    pen_violation,
    penalty_value,
    violations,
)
from .penalty_berhu import berhu_change, berhu_conjugate_argmax, berhu_prox, berhu_slope, berhu_value
from .penalty_enet import (
    coordinate_gap,
    enet_plain,
    enet_plain_all,
    plain_coordinate_gap,
    plain_dual_scaling,
    prox_enet,
)
from .penalty_group import (
    _group_exact_steps,
    _group_view,
    block_penalty_groups,
    block_penalty_value,
    block_prox,
    group_dual_scaling,
    group_gap_term,
    group_violation,
)
from .penalty_nonconvex import mcp_value, scad_value
from .screening import gap_safe_screen
from .support import (
    best_squared_intercept,
    clipped_step,
    face_minimize,
    gather_columns,
    squared_support_step,
    support_newton,
)

# the submodules in dependency order: the loader joins their sources in this order
_PARTS = (
    "base",
    "anderson",
    "matrix",
    "datafits",
    "block_datafits",
    "block_matrix",
    "penalty_group",
    "blocks",
    "penalty_berhu",
    "penalty_enet",
    "penalty_nonconvex",
    "penalties",
    "certificate",
    "support",
    "epochs",
    "gram",
    "group_lasso",
    "newton",
    "screening",
    "cox",
)

__all__ = [
    "njit", "SQUARED_ERROR", "LOGISTIC", "POISSON", "MULTINOMIAL", "PEN_ENET", "PEN_MCP", "PEN_SCAD",
    "PEN_BERHU", "ROW_LO", "ROW_HI", "N_PEN_ROWS", "P_SUPPORT_COST", "P_FACE_SOLVES", "P_NEWTON_FORCING",
    "P_CHECK_COST", "P_TOL_FLOOR", "P_ANDERSON_AUTO", "P_MODEL_ANDERSON", "P_DUAL_K", "P_MOVE_TOL", "P_LAST_MOVE",
    "N_PARAMS",
    "EXTRAPOLATE_WITHIN", "DUAL_SHARE", "CHEAP_STEP_EPOCHS", "CHEAP_STEP_ENTRIES", "SAMPLE_COST", "_JIT",
    "_JIT_FAST", "_INLINE", "unknown_code", "anderson_combination", "sparse_dot", "dense_dot", "col_dot",
    "sparse_axpy", "dense_axpy", "col_axpy", "sparse_dot3", "dense_dot3", "col_dot3", "cols_dot", "cols_axpy",
    "col_weighted_moments", "matvec", "log1pexp", "sigmoid", "curvature_bound", "sample_loss",
    "sample_loss_derivative", "sample_loss_curvature", "sample_loss_derivatives", "sample_loss_change", "expm1_minus_x",
    "sample_gap", "datafit_value", "weighted_derivatives", "intercept_curvature",
    "sparse_coordinate_gradient", "dense_coordinate_gradient", "gradient", "block_curvature",
    "sample_grad_block", "block_loss", "block_sample_gap", "block_derivatives", "block_gradient",
    "col_dot_block", "col_axpy_block", "col_axpy_block_weighted", "group_lipschitz", "col_dot_block_weighted",
    "_resid_dot",
    "block_prox", "group_violation", "group_dual_scaling", "group_gap_term", "_group_view",
    "block_penalty_value", "_group_exact_steps", "block_penalty_groups", "block_certificate",
    "block_violations", "block_epoch", "_block_epoch_start", "_block_epoch_end",
    "_block_anderson", "solve_blocks_subproblem", "berhu_value", "berhu_slope", "berhu_prox", "berhu_change",
    "berhu_conjugate_argmax", "prox_enet", "enet_plain", "enet_plain_all", "coordinate_gap",
    "plain_coordinate_gap", "plain_dual_scaling", "mcp_value", "scad_value", "pen_convex",
    "pen_conjugate_argmax", "pen_dual_radius", "pen_value", "pen_slope", "pen_concavity", "pen_kink",
    "pen_kinked", "pen_free", "pen_violation", "_piece_argmin", "pen_prox", "nonconvex_prox", "pen_change",
    "coord_prox", "penalty_value", "violations", "dual_scaling", "convex_dual_scaling", "pen_gap_term",
    "convex_gap", "duality_gap", "duality_gap_of", "sample_fenchel_young", "candidate_gap", "best_dual_gap",
    "record_predictor", "extrapolated_gap", "improve_gap", "gather_columns", "clipped_step", "face_minimize",
    "support_newton", "squared_support_step", "best_squared_intercept", "cd_epoch", "sparse_squared_epoch",
    "dense_squared_epoch", "_anderson_step", "solve_subproblem", "_residual_to_state", "_state_to_residual",
    "gram_gap", "gram_solve", "NEWTON_MAX", "centred_axpy", "group_norm_root",
    "group_update", "_group_pass", "group_lasso_epochs", "_centred_weighted_cross", "group_grams",
    "second_order", "datafit_change", "model_value", "_model_anderson", "_model_prox", "_model_epoch",
    "_model_setup", "newton_direction", "solve_subproblem_newton", "gap_safe_screen",
    "cox_risk_sums", "cox_derivatives", "cox_hessian_vector", "cox_hessian_columns", "load_column", "enet_value",
    "cox_model_decrease",
    "cox_model_setup", "cox_model_epoch", "cox_face_step", "cox_model_cd", "cox_line_search", "cox_working_set",
    "cox_workspace", "cox_screened_gradient", "cox_solve", "cox_enet_fit", "cox_enet_path",
]
