"""Codes, tuning entries and numba options shared by every kernel module."""


def njit(**options):
    """Mark a kernel (``options`` are numba's). Importing this module does not import numba:
    :mod:`penalized.solvers._loader` compiles the marked functions (ahead of time or
    just in time, cached on disk) or, before anything is compiled, runs them as Python."""

    def mark(function):
        function.__jit_options__ = options
        return function

    return mark


# data fits (see the "data fits" section)
SQUARED_ERROR = 0


LOGISTIC = 1


POISSON = 2


MULTINOMIAL = 3  # block kernels only: K classes, one-hot targets


# separable penalties (see the "penalties" section) and the rows of their parameter array
PEN_ENET = 0  # P[0] = l1_j, P[1] = l2_j: l1_j|w| + l2_j w²


PEN_MCP = 1  # P[0] = lam_j, P[1] = gamma: Zhang (2010)


PEN_SCAD = 2  # P[0] = lam_j, P[1] = gamma (a > 2): Fan & Li (2001)


PEN_BERHU = 3  # P[0] = lam_j, P[1] = M > 0: reverse Huber (Owen 2007), convex


ROW_LO = 2


ROW_HI = 3


N_PEN_ROWS = 4


# Entries of the ``params`` array that tunes the exact support steps (runtime values, so
# that tuning them needs no recompilation): the cost factor of the ski-rental rule that
# decides when a step is worth trying, and the most Newton solves per face minimisation.
P_SUPPORT_COST = 0


P_FACE_SOLVES = 1


P_NEWTON_FORCING = 2  # proximal Newton: model solved to this fraction of the current violation


# Sub-problems met their tolerance for less than this many column entries (the cost of the
# outer loop's check over every feature, see :func:`solve_subproblem`) go on towards
# ``params[P_TOL_FLOOR]`` until they have spent as much.
P_CHECK_COST = 3


P_TOL_FLOOR = 4


# 1: Anderson extrapolation only while the support is beyond the exact support steps
# (more than ``support_max`` features, or none allowed); 0: always (``anderson_k > 0``).
P_ANDERSON_AUTO = 5


P_MODEL_ANDERSON = 6  # proximal Newton: Anderson depth on the models' coordinate descent (0: off)


# Dual extrapolation (Massias, Gramfort & Salmon 2018/2020): the certificate also tries the dual
# point of the Anderson extrapolation of the last ``params[P_DUAL_K] + 1`` linear predictors (0: off;
# elastic net only, see :func:`extrapolated_gap`).
P_DUAL_K = 7


# glmnet's convergence rule on top of the certificate: a sub-problem stops only after an epoch
# whose movement ``Σ L_j Δ_j²`` is ≤ ``params[P_MOVE_TOL]`` (0: off); it writes the movement of
# its last epoch into ``params[P_LAST_MOVE]``.
P_MOVE_TOL = 8
P_LAST_MOVE = 9


N_PARAMS = 10


# The extrapolated dual point is tried only where the gap is within this factor of its target
# (it costs a gradient, and it gains a few times at most: the best dual point seen may gain more).
EXTRAPOLATE_WITHIN = 10.0


# Coordinate-descent sub-problems spend at most this share of their work on the dual candidates.
DUAL_SHARE = 0.25


# With n ≥ p (tall designs: well conditioned supports, where coordinate descent is quick),
# a squared-error support step is skipped while coordinate descent, at its observed linear
# rate, is predicted to converge for less than the step costs, unless it is cheap: less
# than this many epochs, or than this many column entries (cost × n) — it may then end
# the solve outright, with an exact solution. (With n < p, steps on near-singular
# supports are what makes the solve exact: always tried.)
CHEAP_STEP_EPOCHS = 2.0


CHEAP_STEP_ENTRIES = 1e6


# The cost of a pass over the samples that evaluates the log-loss or its derivatives, in
# column entries read (an exponential and a logarithm against a multiply-add).
SAMPLE_COST = 10.0


_JIT = dict(cache=True, nogil=True)


# Re-association lets LLVM vectorise the column dot products; results stay
# deterministic for a given machine and input.
_JIT_FAST = dict(cache=True, nogil=True, fastmath={"reassoc", "contract"})


_INLINE = dict(inline="always")


@njit(**_JIT)
def unknown_code(kind, code):
    raise ValueError("penalized kernels: unknown code")
