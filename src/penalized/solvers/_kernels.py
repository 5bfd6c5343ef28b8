"""Compiled inner loops of the coordinate-descent solver (numba, cached on disk).

Everything that numba compiles lives in this one module on purpose: numba's cache is
keyed on the source file of each function, so a kernel calling a kernel from another
file could silently keep a stale compiled version after that file changes. How the
kernels get compiled and loaded (ahead of time, numba's cache, or interpreted before
either exists) is :mod:`penalized.solvers._loader`'s business; always reach them
through it.

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

import numpy as np


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
N_PARAMS = 8
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


# --------------------------------------------------------------------------- columns
# A call between kernels that passes arrays costs ~50 ns (their reference counts), as much
# as reading a sparse column of ~20 non-zeros. So the sparse column loops are inlined into
# their callers (numba IR inlining), the dense ones stay calls (their cost is spread over n
# entries, and they keep their own ``fastmath`` flags: vectorised), and loops over many
# columns (``cols_*``, the epochs) are written once per layout: a branch on the layout
# inside them costs about as much as the call. ``col_*`` dispatch one column (outside the
# hot loops).
_INLINE = dict(inline="always")


@njit(**_INLINE)
def sparse_dot(Xd, Xi, start, stop, v):
    """``Σ_k Xd_k v[Xi_k]`` over the entries ``start:stop``."""
    s = 0.0
    for k in range(start, stop):
        s += Xd[k] * v[Xi[k]]
    return s


@njit(**_JIT_FAST)
def dense_dot(X, j, v, m):
    s = 0.0
    for i in range(X.shape[0]):
        s += (X[i, j] - m) * v[i]
    return s


@njit(**_INLINE)
def col_dot(X, Xd, Xi, Xp, sparse, j, v, m):
    """``(x_j − m)ᵀ v`` for a dense ``X``, ``x_jᵀ v`` for a sparse one."""
    if sparse:
        return sparse_dot(Xd, Xi, Xp[j], Xp[j + 1], v)
    return dense_dot(X, j, v, m)


@njit(**_INLINE)
def sparse_axpy(Xd, Xi, start, stop, alpha, v):
    for k in range(start, stop):
        v[Xi[k]] += alpha * Xd[k]


@njit(**_JIT_FAST)
def dense_axpy(X, j, alpha, v, m):
    for i in range(X.shape[0]):
        v[i] += alpha * (X[i, j] - m)


@njit(**_INLINE)
def col_axpy(X, Xd, Xi, Xp, sparse, j, alpha, v, m):
    """``v += alpha · (x_j − m)`` for a dense ``X``, ``v += alpha · x_j`` for a sparse one."""
    if sparse:
        sparse_axpy(Xd, Xi, Xp[j], Xp[j + 1], alpha, v)
    else:
        dense_axpy(X, j, alpha, v, m)


@njit(**_INLINE)
def sparse_dot3(Xd, Xi, start, stop, h, v):
    s = 0.0
    for k in range(start, stop):
        i = Xi[k]
        s += Xd[k] * h[i] * v[i]
    return s


@njit(**_JIT_FAST)
def dense_dot3(X, j, h, v, m):
    s = 0.0
    for i in range(X.shape[0]):
        s += (X[i, j] - m) * h[i] * v[i]
    return s


@njit(**_INLINE)
def col_dot3(X, Xd, Xi, Xp, sparse, j, h, v, m):
    """``Σ_i h_i v_i (x_ij − m)`` (dense) or ``Σ_i h_i v_i x_ij`` (sparse)."""
    if sparse:
        return sparse_dot3(Xd, Xi, Xp[j], Xp[j + 1], h, v)
    return dense_dot3(X, j, h, v, m)


@njit(**_JIT_FAST)
def cols_dot(X, Xd, Xi, Xp, sparse, idx, v, mu, out):
    """``out_j = (x_j − mu_j)ᵀ v`` (dense) or ``x_jᵀ v`` (sparse) for ``j`` in ``idx``.

    Loops over many columns are written once per layout (here and in the epochs): a branch
    on the layout inside them costs as much as a short sparse column."""
    if sparse:
        for j in idx:
            out[j] = sparse_dot(Xd, Xi, Xp[j], Xp[j + 1], v)
    else:
        for j in idx:
            out[j] = dense_dot(X, j, v, mu[j])


@njit(**_JIT_FAST)
def cols_axpy(X, Xd, Xi, Xp, sparse, idx, coefs, v, mu):
    """``v += Σ_t coefs_t · (x_j − mu_j)`` (dense) or ``coefs_t · x_j`` (sparse), ``j = idx_t``."""
    if sparse:
        for t in range(idx.shape[0]):
            if coefs[t] != 0.0:
                j = idx[t]
                sparse_axpy(Xd, Xi, Xp[j], Xp[j + 1], coefs[t], v)
    else:
        for t in range(idx.shape[0]):
            if coefs[t] != 0.0:
                j = idx[t]
                dense_axpy(X, j, coefs[t], v, mu[j])


@njit(**_JIT_FAST)
def col_weighted_moments(X, Xd, Xi, Xp, sparse, a, means, sqnorms):
    """``means_j = Σ_i a_i x_ij`` and ``sqnorms_j = Σ_i a_i (x_ij − means_j)²``."""
    for j in range(means.shape[0]):
        m = 0.0
        if sparse:
            for k in range(Xp[j], Xp[j + 1]):
                m += a[Xi[k]] * Xd[k]
        else:
            for i in range(X.shape[0]):
                m += a[i] * X[i, j]
        q = 0.0
        if sparse:  # Σ a x² − m², clipped: zeros contribute m² each
            for k in range(Xp[j], Xp[j + 1]):
                q += a[Xi[k]] * Xd[k] * Xd[k]
            q = max(q - m * m, 0.0)
        else:
            for i in range(X.shape[0]):
                d = X[i, j] - m
                q += a[i] * d * d
        means[j] = m
        sqnorms[j] = q


@njit(**_JIT)
def matvec(X, Xd, Xi, Xp, sparse, w, mu, out):
    """``out = X̃w`` (dense, centred by ``mu``) or ``Xw`` (sparse)."""
    out[:] = 0.0
    cols_axpy(X, Xd, Xi, Xp, sparse, np.arange(w.shape[0]), w, out, mu)


# ------------------------------------------------------------------------ data fits
# Each data fit is one block of scalar primitives below (loss, derivative, second
# derivative, the conjugate term of the duality gap); the dispatchers after them select a
# block by its code and raise on an unknown one. Adding a data fit = one code, one block,
# one branch in each dispatcher (see docs/extending.md).
@njit(**_JIT)
def log1pexp(t):
    """``log(1 + exp(t))`` without overflow."""
    if t > 0.0:
        return t + np.log1p(np.exp(-t))
    return np.log1p(np.exp(t))


@njit(**_JIT)
def sigmoid(t):
    if t >= 0.0:
        return 1.0 / (1.0 + np.exp(-t))
    e = np.exp(t)
    return e / (1.0 + e)


@njit(**_JIT)
def unknown_code(kind, code):
    raise ValueError("penalized kernels: unknown code")


@njit(**_JIT)
def curvature_bound(df):
    """Upper bound of ``ℓ''``: 2 for the squared error, ¼ for the log-loss; 0 where there is
    none (Poisson: callers use the local curvature, see :func:`intercept_curvature`)."""
    if df == SQUARED_ERROR:
        return 2.0
    if df == LOGISTIC:
        return 0.25
    if df == POISSON:
        return 0.0
    unknown_code(0, df)
    return 0.0


@njit(**_JIT)
def sample_loss(df, y, z):
    if df == SQUARED_ERROR:
        return (y - z) * (y - z)
    if df == LOGISTIC:
        return log1pexp(-y * z)
    if df == POISSON:
        return np.exp(z) - y * z
    unknown_code(0, df)
    return 0.0


@njit(**_JIT)
def sample_loss_derivative(df, y, z):
    if df == SQUARED_ERROR:
        return -2.0 * (y - z)
    if df == LOGISTIC:
        return -y * sigmoid(-y * z)
    if df == POISSON:
        return np.exp(z) - y
    unknown_code(0, df)
    return 0.0


@njit(**_JIT)
def sample_loss_curvature(df, y, z):
    """``ℓ''(y, z)``."""
    if df == SQUARED_ERROR:
        return 2.0
    if df == LOGISTIC:
        s = sigmoid(-y * z)
        return s * (1.0 - s)
    if df == POISSON:
        return np.exp(z)
    unknown_code(0, df)
    return 0.0


@njit(**_JIT)
def sample_loss_derivatives(df, y, z):
    """``(ℓ'(y, z), ℓ''(y, z))`` in one evaluation (one sigmoid or exponential)."""
    if df == LOGISTIC:
        s = sigmoid(-y * z)
        return -y * s, s * (1.0 - s)
    if df == POISSON:
        e = np.exp(z)
        return e - y, e
    return sample_loss_derivative(df, y, z), sample_loss_curvature(df, y, z)


@njit(**_JIT)
def sample_loss_change(df, y, z, d):
    """``ℓ(y, z + d) − ℓ(y, z)``, accurate for tiny ``d``.

    Differences of two nearly equal losses lose everything below ``eps·ℓ`` (a line search
    then cannot see a Newton step near the optimum); for ``|d| < 1e-3`` the log-loss uses
    its third-order Taylor expansion, Poisson ``expm1``.
    """
    if df == SQUARED_ERROR:
        r = y - z
        return d * (d - 2.0 * r)
    if df == LOGISTIC:
        if abs(d) < 1e-3:
            sg = sigmoid(-y * z)
            c2 = sg * (1.0 - sg)
            third = -y * c2 * (1.0 - 2.0 * sg) / 6.0
            return d * (-y * sg + d * (0.5 * c2 + d * third))
        return log1pexp(-y * (z + d)) - log1pexp(-y * z)
    if df == POISSON:
        return np.exp(z) * np.expm1(d) - y * d
    unknown_code(0, df)
    return 0.0


@njit(**_JIT)
def sample_gap(df, y, z, alpha, log_alpha, log1m_alpha):
    """``f(z) + f*(−θ) + θz`` for the dual point ``θ = −alpha·f'(z)`` (one sample, ≥ 0).

    Squared error: ``(y − z)²(1 − alpha)²``. Log-loss: the Kullback–Leibler divergence
    between Bernoulli(alpha·σ) and Bernoulli(σ), ``σ = sigmoid(−yz)``; ``log_alpha`` and
    ``log1m_alpha`` are ``log(alpha)`` (0 when ``alpha = 0``) and ``log(1 − alpha)``,
    computed once by the caller (the compiler does not hoist them out of a loop).
    Poisson (``f = e^z − yz``, ``f*(v) = (v + y)(log(v + y) − 1)``): with
    ``s = alpha·e^z + (1 − alpha)·y``, ``e^z − yz + s(log s − 1) − alpha(e^z − y)z``.
    """
    if alpha == 1.0:
        return 0.0
    if df == SQUARED_ERROR:
        r = (y - z) * (1.0 - alpha)
        return r * r
    if df == LOGISTIC:
        m = y * z
        s = sigmoid(-m)
        term = 0.0 if alpha == 0.0 else alpha * s * log_alpha
        return term + (1.0 - alpha * s) * log1pexp(log1m_alpha - m)
    if df == POISSON:
        e = np.exp(z)
        s = alpha * e + (1.0 - alpha) * y
        conj = s * (np.log(s) - 1.0) if s > 0.0 else 0.0
        return max(e - y * z + conj - alpha * (e - y) * z, 0.0)
    unknown_code(0, df)
    return 0.0


@njit(**_JIT)
def datafit_value(df, y, a, zx, b):
    """``Σ_i a_i ℓ(y_i, zx_i + b)``."""
    s = 0.0
    for i in range(y.shape[0]):
        s += a[i] * sample_loss(df, y[i], zx[i] + b)
    return s


@njit(**_JIT)
def weighted_derivatives(df, y, a, zx, b, out):
    """``out_i = a_i ℓ'(y_i, zx_i + b)``; returns their sum (the intercept's gradient)."""
    total = 0.0
    for i in range(y.shape[0]):
        out[i] = a[i] * sample_loss_derivative(df, y[i], zx[i] + b)
        total += out[i]
    return total


@njit(**_JIT)
def intercept_curvature(df, y, a, zx, b):
    """The curvature along the intercept used by its stationarity term: ``ℓ''``'s bound
    where there is one, else the local ``Σ a_i ℓ''(z_i)``."""
    c = curvature_bound(df)
    if c > 0.0:
        return c
    for i in range(y.shape[0]):
        c += a[i] * sample_loss_curvature(df, y[i], zx[i] + b)
    return c


@njit(**_INLINE)
def sparse_coordinate_gradient(df, Xd, Xi, start, stop, y, a, zx, b):
    s = 0.0
    for k in range(start, stop):
        i = Xi[k]
        s += Xd[k] * a[i] * sample_loss_derivative(df, y[i], zx[i] + b)
    return s


@njit(**_JIT_FAST)
def dense_coordinate_gradient(df, X, j, y, a, zx, b, m):
    s = 0.0
    for i in range(X.shape[0]):
        s += (X[i, j] - m) * a[i] * sample_loss_derivative(df, y[i], zx[i] + b)
    return s


@njit(**_JIT)
def gradient(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, mu, idx, grad, buf):
    """``grad_j`` along the centred directions for ``j`` in ``idx``; returns ``∂_b L_data``."""
    grad_b = weighted_derivatives(df, y, a, zx, b, buf)
    cols_dot(X, Xd, Xi, Xp, sparse, idx, buf, mu, grad)
    if sparse:
        for j in idx:
            grad[j] -= mu[j] * grad_b
    return grad_b


# ------------------------------------------------------------------------ penalties
# A separable penalty reaches the kernels as ``(pen, P)``: its code and an array of shape
# (N_PEN_ROWS, p) of per-feature parameters. Rows ROW_LO and ROW_HI hold the box
# ``lo_j ≤ w_j ≤ hi_j`` of every penalty (±inf: no bound; 0 always lies in the box).
# Each penalty is one block of primitives: value, slope away from zero, half-width of
# the subdifferential at zero, prox (exact, with the box), and, for the convex ones, the
# conjugate term of the duality gap. The dispatchers raise on an unknown code.
@njit(**_INLINE)
def prox_enet(x, t1, t2):
    """``argmin_u ½(u − x)² + t1|u| + t2 u²`` = ``soft(x, t1) / (1 + 2 t2)``."""
    if x > t1:
        return (x - t1) / (1.0 + 2.0 * t2)
    if x < -t1:
        return (x + t1) / (1.0 + 2.0 * t2)
    return 0.0


@njit(**_JIT)
def mcp_value(lam, gamma, ax):
    """MCP (Zhang 2010) at ``|x| = ax``: ``lam·ax − ax²/(2γ)`` if ``ax ≤ γ·lam``, else ``γ·lam²/2``."""
    if ax <= gamma * lam:
        return lam * ax - ax * ax / (2.0 * gamma)
    return 0.5 * gamma * lam * lam


@njit(**_JIT)
def scad_value(lam, a, ax):
    """SCAD (Fan & Li 2001) at ``|x| = ax``: ``lam·ax`` up to ``lam``, then
    ``(2a·lam·ax − ax² − lam²) / (2(a − 1))`` up to ``a·lam``, then ``lam²(a + 1)/2``."""
    if ax <= lam:
        return lam * ax
    if ax <= a * lam:
        return (2.0 * a * lam * ax - ax * ax - lam * lam) / (2.0 * (a - 1.0))
    return 0.5 * lam * lam * (a + 1.0)


# BerHu, the reverse Huber penalty (Owen 2007): ``lam·B_M(x)`` with ``B_M(x) = |x|`` for
# ``|x| ≤ M`` and ``(x² + M²)/(2M)`` beyond. Convex and C¹ away from 0, the lasso's kink at 0;
# NumPy reference: :mod:`penalized.penalties.berhu` (tests/test_berhu.py checks one against the other).
@njit(**_INLINE)
def berhu_value(lam, M, ax):
    """``lam·B_M(ax)`` at ``ax = |x|``."""
    if ax <= M:
        return lam * ax
    return lam * (ax * ax + M * M) / (2.0 * M)


@njit(**_INLINE)
def berhu_slope(lam, M, x):
    """The derivative at ``x ≠ 0``: ``lam·sign(x)`` up to ``M``, ``lam·x/M`` beyond."""
    if abs(x) <= M:
        return lam if x > 0.0 else -lam
    return lam * x / M


@njit(**_INLINE)
def berhu_prox(x, t, M):
    """``argmin_u ½(u − x)² + t·B_M(u)``: 0 for ``|x| ≤ t``, ``x ∓ t`` up to ``|x| = t + M``,
    ``x·M/(M + t)`` beyond (a soft threshold inside, a ridge-like shrink outside)."""
    ax = abs(x)
    if ax <= t:
        return 0.0
    if ax <= t + M:
        return x - t if x > 0.0 else x + t
    return x * (M / (M + t))


@njit(**_INLINE)
def berhu_change(lam, M, a0, a1):
    """``lam·(B_M(a1) − B_M(a0))`` for ``a0, a1 ≥ 0`` without cancellation (the line searches of
    proximal Newton compare changes far below the values), measured from ``M`` across the knee."""
    if a0 <= M and a1 <= M:
        return lam * (a1 - a0)
    if a0 > M and a1 > M:
        return lam * (a1 - a0) * (a1 + a0) / (2.0 * M)
    d1 = a1 - M if a1 <= M else (a1 - M) * (a1 + M) / (2.0 * M)
    d0 = a0 - M if a0 <= M else (a0 - M) * (a0 + M) / (2.0 * M)
    return lam * (d1 - d0)


@njit(**_INLINE)
def berhu_conjugate_argmax(lam, M, u):
    """The maximiser of ``u·x − lam·B_M(x)``: 0 for ``|u| ≤ lam``, ``M·u/lam`` beyond (so that
    the conjugate is 0 for ``|u| ≤ lam`` and ``M(u² − lam²)/(2 lam)`` beyond; ``lam = 0``: ±inf,
    the conjugate of 0 is infinite off 0)."""
    if abs(u) <= lam:
        return 0.0
    if lam == 0.0:
        return np.inf if u > 0.0 else -np.inf
    return M * u / lam


# Traits of the blocks: which penalties are convex (a Fenchel gap certifies them) and, for
# those other than the elastic net (whose own loops are below), the maximiser of their
# conjugate's sup and how far the dual scaling lets the dual point go. A new convex penalty adds
# a case to each.
@njit(**_INLINE)
def pen_convex(pen):
    """Has the penalty a conjugate, so a duality gap (else: the stationarity measure)?"""
    return pen == PEN_ENET or pen == PEN_BERHU


@njit(**_INLINE)
def pen_conjugate_argmax(pen, P, j, u):
    """``x*`` maximising ``u·x − pen_j(x)`` over the box ``[lo_j, hi_j]`` (the maximand is concave
    in ``x``: the box clips the free maximiser); the conjugate is ``u·x* − pen_j(x*)``."""
    x = 0.0
    if pen == PEN_BERHU:
        x = berhu_conjugate_argmax(P[0, j], P[1, j], u)
    elif pen == PEN_ENET:
        if P[1, j] > 0.0:
            x = prox_enet(u, P[0, j], 0.0) / (2.0 * P[1, j])
        elif u > P[0, j]:
            x = np.inf
        elif u < -P[0, j]:
            x = -np.inf
    else:
        unknown_code(1, pen)
    return min(max(x, P[ROW_LO, j]), P[ROW_HI, j])


@njit(**_INLINE)
def pen_dual_radius(pen, P, j, x, up):
    """How large the dual scaling lets ``|u|`` be on the side ``up`` (u > 0) or not, at ``w_j = x``:
    where ``pen_j*`` stops being finite (the elastic net without L2 part, no bound on that side), or
    where it leaves its flat part ``pen_j* = 0`` while ``x`` lies in the penalty's linear part
    (BerHu with ``|x| ≤ M``: beyond ``lam_j`` its conjugate grows as ``M·(|u| − lam_j)``, so an
    unscaled dual point would make the gap first order in the distance to the optimum). ``inf``: no
    limit."""
    if (P[ROW_HI, j] if up else -P[ROW_LO, j]) == np.inf:
        if pen == PEN_ENET and P[1, j] == 0.0:
            return P[0, j]
        if pen == PEN_BERHU and abs(x) <= P[1, j]:
            return P[0, j]
    return np.inf


@njit(**_INLINE)
def pen_value(pen, P, j, x):
    """The penalty of coordinate ``j`` at ``x`` (the box is not part of the value)."""
    if pen == PEN_ENET:
        return P[0, j] * abs(x) + P[1, j] * x * x
    if pen == PEN_MCP:
        return mcp_value(P[0, j], P[1, j], abs(x))
    if pen == PEN_SCAD:
        return scad_value(P[0, j], P[1, j], abs(x))
    if pen == PEN_BERHU:
        return berhu_value(P[0, j], P[1, j], abs(x))
    unknown_code(1, pen)
    return 0.0


@njit(**_INLINE)
def pen_slope(pen, P, j, x):
    """The penalty's derivative at ``x ≠ 0``."""
    s = 1.0 if x > 0.0 else -1.0
    if pen == PEN_ENET:
        return P[0, j] * s + 2.0 * P[1, j] * x
    ax = abs(x)
    lam = P[0, j]
    if pen == PEN_MCP:
        return s * max(lam - ax / P[1, j], 0.0)
    if pen == PEN_SCAD:
        if ax <= lam:
            return s * lam
        return s * max(P[1, j] * lam - ax, 0.0) / (P[1, j] - 1.0)
    if pen == PEN_BERHU:
        return berhu_slope(lam, P[1, j], x)
    unknown_code(1, pen)
    return 0.0


@njit(**_INLINE)
def pen_concavity(pen, P, j):
    """How concave the penalty can be: the smallest ``c`` with ``pen_j + c·x²/2`` convex (0 for the
    elastic net, ``1/γ`` for MCP, ``1/(γ − 1)`` for SCAD)."""
    if pen == PEN_MCP:
        return 1.0 / P[1, j]
    if pen == PEN_SCAD:
        return 1.0 / (P[1, j] - 1.0)
    return 0.0


@njit(**_INLINE)
def pen_kink(pen, P, j):
    """Half-width of the subdifferential at zero: ``∂pen_j(0) = [−k, k]`` (l1 or lam)."""
    return P[0, j]


@njit(**_INLINE)
def pen_kinked(pen, P, j):
    """Is coordinate ``j`` non-smooth at zero (an L1-type kink, or a bound at 0)?"""
    return P[0, j] > 0.0 or P[ROW_LO, j] == 0.0 or P[ROW_HI, j] == 0.0


@njit(**_INLINE)
def pen_free(pen, P, j):
    """Is coordinate ``j`` unpenalized (it may still have a box)?"""
    if pen == PEN_ENET:
        return P[0, j] == 0.0 and P[1, j] == 0.0
    return P[0, j] == 0.0


@njit(**_INLINE)
def pen_violation(pen, P, j, x, g):
    """``dist(−g, ∂(pen_j + box_j)(x))``: the optimality violation of coordinate ``j`` when
    ``g`` is the data fit's derivative (the limiting subdifferential for MCP and SCAD)."""
    lo = P[ROW_LO, j]
    hi = P[ROW_HI, j]
    if x == 0.0:
        k = pen_kink(pen, P, j)
        low = -np.inf if lo == 0.0 else -k
        high = np.inf if hi == 0.0 else k
    else:
        d = pen_slope(pen, P, j, x)
        low = -np.inf if x == lo else d
        high = np.inf if x == hi else d
    return max(low + g, -g - high, 0.0)


@njit(**_JIT)
def _piece_argmin(pen, P, j, ax, step, left, right, curv, stat, best, best_val):
    """Minimise ``φ(t) = ½(t − ax)² + step·pen_j(t)`` over ``[left, right]``, where φ is a
    quadratic of curvature ``curv`` with stationary point ``stat``; keeps the better of
    that and ``(best, best_val)``."""
    if right < left:
        return best, best_val
    if curv > 0.0:
        cands = (min(max(stat, left), right), left)
    else:
        cands = (left, right)
    for t in cands:
        if np.isfinite(t):
            v = 0.5 * (t - ax) * (t - ax) + step * pen_value(pen, P, j, t)
            if v < best_val:
                best, best_val = t, v
    return best, best_val


@njit(**_INLINE)
def pen_prox(pen, P, j, x, step):
    """``argmin_{lo_j ≤ u ≤ hi_j} ½(u − x)² + step·pen_j(u)``, exactly.

    Elastic net: the clipped soft-threshold; BerHu: its closed form, clipped. MCP and SCAD are quadratic by pieces in
    ``|u|``: the minimiser (of the sign of ``x``) is the best of each piece's minimiser,
    which also holds where ``step`` is too large for the 1-D problem to be convex
    (:func:`nonconvex_prox`).
    """
    if pen == PEN_ENET:
        u = prox_enet(x, step * P[0, j], step * P[1, j])
        return min(max(u, P[ROW_LO, j]), P[ROW_HI, j])
    if pen == PEN_BERHU:  # convex: the box clips the unconstrained minimiser
        return min(max(berhu_prox(x, step * P[0, j], P[1, j]), P[ROW_LO, j]), P[ROW_HI, j])
    return nonconvex_prox(pen, P, j, x, step)


@njit(**_JIT)
def nonconvex_prox(pen, P, j, x, step):
    """:func:`pen_prox` for MCP and SCAD."""
    lo = P[ROW_LO, j]
    hi = P[ROW_HI, j]
    if pen != PEN_MCP and pen != PEN_SCAD:
        unknown_code(1, pen)
    s = 1.0 if x >= 0.0 else -1.0
    ax = abs(x)
    cap = hi if s > 0.0 else -lo  # the box on the half-line of x
    lam = P[0, j]
    g = P[1, j]
    best = 0.0
    best_val = 0.5 * ax * ax
    if pen == PEN_MCP:
        c = 1.0 - step / g
        stat = (ax - step * lam) / c if c > 0.0 else 0.0
        best, best_val = _piece_argmin(pen, P, j, ax, step, 0.0, min(g * lam, cap), c, stat, best, best_val)
        best, best_val = _piece_argmin(pen, P, j, ax, step, g * lam, cap, 1.0, ax, best, best_val)
    else:
        best, best_val = _piece_argmin(pen, P, j, ax, step, 0.0, min(lam, cap), 1.0, ax - step * lam,
                                       best, best_val)
        c = 1.0 - step / (g - 1.0)
        stat = (ax * (g - 1.0) - step * g * lam) / (g - 1.0 - step) if c > 0.0 else 0.0
        best, best_val = _piece_argmin(pen, P, j, ax, step, lam, min(g * lam, cap), c, stat, best, best_val)
        best, best_val = _piece_argmin(pen, P, j, ax, step, g * lam, cap, 1.0, ax, best, best_val)
    return s * best


@njit(**_INLINE)
def pen_change(pen, P, j, old, new):
    """``pen_j(new) − pen_j(old)`` (for the elastic net without cancellation)."""
    if pen == PEN_ENET:
        return P[0, j] * (abs(new) - abs(old)) + P[1, j] * (new - old) * (new + old)
    if pen == PEN_BERHU:
        return berhu_change(P[0, j], P[1, j], abs(old), abs(new))
    return pen_value(pen, P, j, new) - pen_value(pen, P, j, old)


# The elastic net without a box is what most fits solve: the loops over many features test
# for it once (:func:`enet_plain`) and then run without the per-feature dispatch and bounds.
@njit(**_INLINE)
def enet_plain(pen, P, idx):
    """Is the penalty the elastic net with no finite bound on the coordinates ``idx``?"""
    if pen != PEN_ENET:
        return False
    for j in idx:
        if P[ROW_LO, j] != -np.inf or P[ROW_HI, j] != np.inf:
            return False
    return True


@njit(**_INLINE)
def enet_plain_all(pen, P):
    """:func:`enet_plain` on every coordinate."""
    if pen != PEN_ENET:
        return False
    for j in range(P.shape[1]):
        if P[ROW_LO, j] != -np.inf or P[ROW_HI, j] != np.inf:
            return False
    return True


@njit(**_INLINE)
def coord_prox(plain, pen, P, j, x, step):
    """:func:`pen_prox`, without the dispatch and the box when ``plain`` (:func:`enet_plain`)."""
    if plain:
        return prox_enet(x, step * P[0, j], step * P[1, j])
    return pen_prox(pen, P, j, x, step)


@njit(**_JIT)
def penalty_value(w, pen, P, idx):
    s = 0.0
    for j in idx:
        if w[j] != 0.0:
            s += pen_value(pen, P, j, w[j])
    return s


@njit(**_JIT)
def violations(w, grad, pen, P, L, out):
    """:func:`pen_violation` per feature; −1 for features with ``L_j = 0``."""
    if enet_plain_all(pen, P):  # dist(−g, l1·∂|x| + 2 l2 x)
        for j in range(w.shape[0]):
            x = w[j]
            if L[j] == 0.0:
                out[j] = -1.0
            elif x == 0.0:
                out[j] = max(abs(grad[j]) - P[0, j], 0.0)
            else:
                out[j] = abs(grad[j] + (P[0, j] if x > 0.0 else -P[0, j]) + 2.0 * P[1, j] * x)
        return
    for j in range(w.shape[0]):
        if L[j] == 0.0:
            out[j] = -1.0
        else:
            out[j] = pen_violation(pen, P, j, w[j], grad[j])


# ----------------------------------------------------------------------- certificate
@njit(**_JIT)
def coordinate_gap(wj, u, l1j, l2j, lo, hi):
    """Fenchel-Young gap ``r(w_j) + r*(u) − w_j·u ≥ 0`` of ``r(x) = l1j|x| + l2j x² + ι[lo,hi](x)``
    at the dual point ``u = −α·grad_j``: ``r*(u) = u·x* − r(x*)`` with ``x*`` the clipped
    ``soft(u, l1j)/(2·l2j)`` (``l2j = 0``: 0 inside ``[−l1j, l1j]``, else the bound; the dual
    scaling keeps ``u`` inside on unbounded sides)."""
    if l2j > 0.0:
        x = prox_enet(u, l1j, 0.0) / (2.0 * l2j)
        x = min(max(x, lo), hi)
    elif u > l1j and hi < np.inf:
        x = hi
    elif u < -l1j and lo > -np.inf:
        x = lo
    else:  # inside [−l1j, l1j], up to the rounding of the dual scaling where unbounded
        x = 0.0
    # r(w) − w·u + (x·u − r(x)), the bracket as x·(u − l1·sign(x) − l2·x): no x² (which overflows
    # for a tiny l2j and reports a gap of 0)
    term = l1j * abs(wj) + l2j * wj * wj - wj * u + x * (u - l1j * np.sign(x) - l2j * x)
    return max(term, 0.0)


@njit(**_INLINE)
def plain_coordinate_gap(wj, u, l1j, l2j):
    """:func:`coordinate_gap` without a box."""
    if l2j > 0.0:
        x = prox_enet(u, l1j, 0.0) / (2.0 * l2j)
    else:
        x = 0.0
    # r(w) − w·u + (x·u − r(x)), the bracket as x·(u − l1·sign(x) − l2·x): no x² (which overflows
    # for a tiny l2j and reports a gap of 0)
    term = l1j * abs(wj) + l2j * wj * wj - wj * u + x * (u - l1j * np.sign(x) - l2j * x)
    return max(term, 0.0)


@njit(**_INLINE)
def plain_dual_scaling(grad, P, idx):
    """:func:`dual_scaling` without a box."""
    alpha = 1.0
    for j in idx:
        l1j = P[0, j]
        if P[1, j] == 0.0 and l1j > 0.0 and abs(grad[j]) * alpha > l1j:
            alpha = l1j / abs(grad[j])
    return alpha


@njit(**_JIT)
def dual_scaling(grad, P, idx):
    """Largest ``α ≤ 1`` keeping the dual point ``θ = −α·∇F`` feasible for the elastic net:
    ``α·|grad_j| ≤ l1_j`` wherever ``r_j*`` is finite only there (no L2 part, no bound on
    the side of ``−grad_j``)."""
    alpha = 1.0
    for j in idx:
        l1j = P[0, j]
        if P[1, j] == 0.0 and l1j > 0.0:
            g = grad[j]
            unbounded = P[ROW_HI, j] == np.inf if g < 0.0 else P[ROW_LO, j] == -np.inf
            if unbounded and abs(g) * alpha > l1j:
                alpha = l1j / abs(g)
    return alpha


@njit(**_JIT)
def convex_dual_scaling(pen, P, w, grad, idx):
    """:func:`dual_scaling` for any convex penalty: the largest ``α ≤ 1`` with ``α·|grad_j|`` within
    :func:`pen_dual_radius` for every penalized coordinate."""
    alpha = 1.0
    for j in idx:
        g = grad[j]
        if g != 0.0 and not pen_free(pen, P, j):
            bound = pen_dual_radius(pen, P, j, w[j], g < 0.0)
            if abs(g) * alpha > bound:
                alpha = bound / abs(g)
    return alpha


@njit(**_INLINE)
def pen_gap_term(pen, P, j, wj, u, edge):
    """Fenchel-Young gap ``pen_j(w_j) + pen_j*(u) − w_j·u ≥ 0`` of a convex penalty (with its box),
    from :func:`pen_conjugate_argmax`: ``pen_j*(u) = u·x* − pen_j(x*)``. Where ``pen_j*(u)`` is
    infinite: ``inf``, or, with ``edge`` (``u`` was scaled onto :func:`pen_dual_radius`, and only
    its rounding put it beyond), the term on the edge."""
    x = pen_conjugate_argmax(pen, P, j, u)
    if not np.isfinite(x):
        if not edge:
            return np.inf
        x = 0.0
    return max(pen_value(pen, P, j, wj) - pen_value(pen, P, j, x) + (x - wj) * u, 0.0)


@njit(**_JIT)
def convex_gap(df, y, a, zx, b, w, grad, pen, P, L, idx, stationarity):
    """The Fenchel gap of :func:`duality_gap_of` for a convex penalty other than the elastic net
    (its own loops): the dual point ``θ = −α·∇F`` scaled by :func:`convex_dual_scaling`, the
    data fit's conjugate term where ``α < 1`` and :func:`pen_gap_term` per penalized coordinate;
    unpenalized ones add ``v_j²/(2 L_j)`` to ``stationarity``. Where ``α < 1``, the unscaled point
    (``α = 1``: no data-fit term) is a dual point too when the conjugate is finite there: the gap is
    the smaller of the two. Returns ``(gap, stationarity)``."""
    gap = 0.0
    unscaled = 0.0
    alpha = convex_dual_scaling(pen, P, w, grad, idx)
    if alpha < 1.0:
        log_alpha = np.log(alpha) if alpha > 0.0 else 0.0
        log1m_alpha = np.log1p(-alpha)
        for i in range(y.shape[0]):
            gap += a[i] * sample_gap(df, y[i], zx[i] + b, alpha, log_alpha, log1m_alpha)
    for j in idx:
        if L[j] <= 0.0:
            continue
        if pen_free(pen, P, j):
            v = pen_violation(pen, P, j, w[j], grad[j])
            stationarity += v * v / (2.0 * L[j])
            continue
        gap += pen_gap_term(pen, P, j, w[j], -alpha * grad[j], True)
        if alpha < 1.0:
            unscaled += pen_gap_term(pen, P, j, w[j], -grad[j], False)
    if alpha < 1.0:
        gap = min(gap, unscaled)
    return gap, stationarity


@njit(**_JIT)
def duality_gap(df, y, a, zx, b, w, grad, grad_b, pen, P, L, idx, fit_intercept):
    """:func:`duality_gap_of` (whether the penalty is a plain elastic net on ``idx`` tested here)."""
    return duality_gap_of(df, y, a, zx, b, w, grad, grad_b, pen, P, L, idx, fit_intercept, enet_plain(pen, P, idx))


@njit(**_JIT)
def duality_gap_of(df, y, a, zx, b, w, grad, grad_b, pen, P, L, idx, fit_intercept, plain):
    """Certificate of optimality at ``(w, b)`` over the coordinates ``idx``.

    Returns ``(gap, stationarity)``. For the elastic net (convex), ``gap`` is the Fenchel
    duality gap of the problem in the penalized coordinates of ``idx`` with every other
    coordinate (unpenalized features, the intercept, features outside ``idx``) held at its
    current value; the dual point is ``θ = −alpha·∇F(zx + b)``, rescaled to be feasible
    (:func:`dual_scaling`). It is a sum of non-negative terms, zero exactly at the optimum.
    ``stationarity = Σ v_j² / (2 L_j)`` over the unpenalized coordinates (``v_j`` their
    optimality violation, ``|g_j|`` without a box) and the intercept: the decrease one exact
    coordinate step would bring on a quadratic. Other convex penalties (BerHu) get the same
    gap from their conjugates (:func:`convex_gap`). Non-convex penalties (MCP, SCAD) have no
    dual: ``gap`` is then that same stationarity measure over every coordinate of ``idx``,
    zero exactly at a stationary point. ``plain``: the penalty is the elastic net with no
    finite bound on ``idx`` (:func:`enet_plain`), a loop without them.
    """
    stationarity = 0.0
    if fit_intercept:
        stationarity += grad_b * grad_b / (2.0 * intercept_curvature(df, y, a, zx, b))
    gap = 0.0
    if not pen_convex(pen):
        for j in idx:
            if L[j] > 0.0:
                v = pen_violation(pen, P, j, w[j], grad[j])
                if pen_free(pen, P, j):
                    stationarity += v * v / (2.0 * L[j])
                else:
                    gap += v * v / (2.0 * L[j])
        return gap, stationarity
    if pen != PEN_ENET:  # another convex penalty: its conjugate (the elastic net's own loops below)
        return convex_gap(df, y, a, zx, b, w, grad, pen, P, L, idx, stationarity)
    alpha = plain_dual_scaling(grad, P, idx) if plain else dual_scaling(grad, P, idx)
    if alpha < 1.0:
        log_alpha = np.log(alpha) if alpha > 0.0 else 0.0
        log1m_alpha = np.log1p(-alpha)
        for i in range(y.shape[0]):
            gap += a[i] * sample_gap(df, y[i], zx[i] + b, alpha, log_alpha, log1m_alpha)
    if plain:
        for j in idx:
            l1j = P[0, j]
            l2j = P[1, j]
            if l1j == 0.0 and l2j == 0.0:
                if L[j] > 0.0:
                    stationarity += grad[j] * grad[j] / (2.0 * L[j])
                continue
            gap += plain_coordinate_gap(w[j], -alpha * grad[j], l1j, l2j)
        return gap, stationarity
    for j in idx:
        if P[0, j] == 0.0 and P[1, j] == 0.0:
            if L[j] > 0.0:
                v = pen_violation(pen, P, j, w[j], grad[j])
                stationarity += v * v / (2.0 * L[j])
            continue
        gap += coordinate_gap(w[j], -alpha * grad[j], P[0, j], P[1, j], P[ROW_LO, j], P[ROW_HI, j])
    return gap, stationarity

@njit(**_JIT)
def sample_fenchel_young(df, y, t, sigma):
    """``ℓ(y, t) + ℓ*(y, σ) − σt ≥ 0`` (Fenchel-Young) for any ``σ``; ``inf`` outside the domain of
    ``ℓ*``. Squared error: ``(y − t + σ/2)²``. Log-loss (``y = ±1``, ``p = −yσ ∈ [0, 1]``): the
    Kullback-Leibler divergence between Bernoulli(p) and Bernoulli(sigmoid(−yt)). Poisson
    (``s = σ + y ≥ 0``): ``e^t − yt + s(log s − 1) − σt``."""
    if df == SQUARED_ERROR:
        d = y - t + 0.5 * sigma
        return d * d
    if df == LOGISTIC:
        p = -y * sigma
        if p < 0.0 or p > 1.0:
            return np.inf
        m = y * t
        v = p * log1pexp(m) + (1.0 - p) * log1pexp(-m)
        if p > 0.0:
            v += p * np.log(p)
        if p < 1.0:
            v += (1.0 - p) * np.log1p(-p)
        return max(v, 0.0)
    if df == POISSON:
        s = sigma + y
        if s < 0.0:
            return np.inf
        conj = s * (np.log(s) - 1.0) if s > 0.0 else 0.0
        return max(np.exp(t) - y * t + conj - sigma * t, 0.0)
    unknown_code(0, df)
    return 0.0


@njit(**_JIT)
def candidate_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, t, gcand, buf):
    """The elastic net's Fenchel gap at ``(w, b)`` over the penalized coordinates of ``idx`` (as
    :func:`duality_gap_of`, every other coordinate held) for the dual point made from another
    linear predictor ``t`` (n): ``θ = −α·∇F(t)``, ``α`` from :func:`dual_scaling` of the gradient
    at ``t`` (written to ``gcand[idx]``, ``a_i ℓ'(t_i)`` to ``buf``). Any ``t`` gives a feasible
    dual point, hence an upper bound on the suboptimality of the restricted problem; a ``t``
    close to the optimum's gives a gap close to it (``F(w) − F*`` plus the dual's own error).
    Unpenalized coordinates are not counted (their stationarity terms stay as they are)."""
    gradient(df, X, Xd, Xi, Xp, sparse, y, a, t, 0.0, mu, idx, gcand, buf)
    alpha = plain_dual_scaling(gcand, P, idx) if plain else dual_scaling(gcand, P, idx)
    gap = 0.0
    for i in range(y.shape[0]):
        if a[i] > 0.0:
            gap += a[i] * sample_fenchel_young(df, y[i], zx[i] + b, alpha * buf[i] / a[i])
    for j in idx:
        l1j = P[0, j]
        l2j = P[1, j]
        if l1j == 0.0 and l2j == 0.0:
            continue
        if plain:
            gap += plain_coordinate_gap(w[j], -alpha * gcand[j], l1j, l2j)
        else:
            gap += coordinate_gap(w[j], -alpha * gcand[j], l1j, l2j, P[ROW_LO, j], P[ROW_HI, j])
    return gap


@njit(**_JIT)
def best_dual_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, gap, target, best, gcand, buf):
    """:func:`improve_gap` without extrapolation (whether the elastic net has a box on ``idx``
    tested here): the smaller of ``gap`` and the gap at the dual point of ``best``."""
    return improve_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, enet_plain(PEN_ENET, P, idx),
                       gap, target, best, np.empty((0, 0)), 0, gcand, buf, np.empty(0))


@njit(**_JIT)
def record_predictor(zhist, recorded, y, zx, r, b, resid):
    """Store the linear predictor ``zx + b`` (``y − r + b`` on the residual) in the ring ``zhist``
    (row ``recorded mod rows``); returns ``recorded + 1``."""
    row = zhist[recorded % zhist.shape[0]]
    if resid:
        for i in range(y.shape[0]):
            row[i] = y[i] - r[i] + b
    else:
        for i in range(y.shape[0]):
            row[i] = zx[i] + b
    return recorded + 1


@njit(**_JIT)
def extrapolated_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, zhist, recorded, t,
                     gcand, buf):
    """:func:`candidate_gap` at the Anderson extrapolation (:func:`anderson_combination`) of the
    last ``min(recorded, rows)`` predictors of the ring ``zhist`` (at least 3); the extrapolated
    predictor is left in ``t``. ``inf`` where there is none."""
    rows = zhist.shape[0]
    m = min(recorded, rows)
    if m < 3:
        return np.inf
    ordered = np.empty((m, y.shape[0]))
    for k in range(m):  # oldest first
        ordered[k] = zhist[(recorded - m + k) % rows]
    if not anderson_combination(ordered, t):
        return np.inf
    return candidate_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, t, gcand, buf)


@njit(**_JIT)
def improve_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, gap, target, best, zhist,
                recorded, gcand, buf, t):
    """The smallest of ``gap`` (the current point's own dual point), the gap at the dual point of the
    kept predictor ``best`` and, while still above ``target`` (by less than
    :data:`EXTRAPOLATE_WITHIN`), at the extrapolation of the ring ``zhist``
    (:func:`extrapolated_gap`, in ``t``); ``best`` becomes the predictor of the winner
    (``zx + b`` when it is the current point): the best dual point seen, compared at the same
    ``(w, b)``. Each candidate is a feasible dual point, so each gap bounds the suboptimality."""
    winner = 0
    cand = candidate_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, best, gcand, buf)
    if cand < gap:
        gap = cand
        winner = 1
    if target < gap <= EXTRAPOLATE_WITHIN * target and zhist.shape[1] > 0:
        cand = extrapolated_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, idx, plain, zhist, recorded,
                                t, gcand, buf)
        if cand < gap:
            gap = cand
            winner = 2
            best[:] = t
    if winner == 0:
        for i in range(y.shape[0]):
            best[i] = zx[i] + b
    return gap


# ------------------------------------------------------------- exact support steps
@njit(**_JIT_FAST)
def gather_columns(X, Xd, Xi, Xp, sparse, S, offsets, sw, decouple):
    """``B`` (n × |S|, Fortran order): columns ``sqrt(sw) ∘ x̂_j`` for ``j`` in ``S``.

    ``x̂_j = x_j − offsets_j`` (dense) or ``x_j`` (sparse), further centred by its
    ``sw``-weighted mean when ``decouple`` (an intercept that absorbs the mean), so that
    ``BᵀB = X̂_Sᵀ diag(sw) X̂_S``. Dense columns are read twice at most (the mean, then
    the scaled copy) and ``B`` written once.
    """
    n = sw.shape[0]
    k = S.shape[0]
    total = 0.0
    for i in range(n):
        total += sw[i]
    root = np.sqrt(sw)
    center = decouple and total > 0.0
    if not sparse:
        B = np.empty((k, n)).T
        for t in range(k):
            j = S[t]
            m = offsets[j]
            mean = 0.0
            if center:
                for i in range(n):
                    mean += sw[i] * (X[i, j] - m)
                mean /= total
            for i in range(n):
                B[i, t] = ((X[i, j] - m) - mean) * root[i]
        return B
    B = np.zeros((k, n)).T
    for t in range(k):
        j = S[t]
        for q in range(Xp[j], Xp[j + 1]):
            B[Xi[q], t] = Xd[q]
        if center:
            mean = 0.0
            for i in range(n):
                mean += sw[i] * B[i, t]
            mean /= total
            for i in range(n):
                B[i, t] -= mean
        for i in range(n):
            B[i, t] *= root[i]
    return B


@njit(**_JIT)
def clipped_step(values, delta, kinked, k):
    """Largest ``t ≤ 1`` keeping ``values + t·delta`` in the closed orthant of ``values``.

    Only coefficients with a kink at zero (``kinked``: an L1 part) are held to their
    orthant; the others are smooth there. Returns ``(t, blocking)``: the index of the
    coefficient that reaches zero, or −1.
    """
    t_max = 1.0
    blocking = -1
    for t in range(k):
        v = values[t]
        d = delta[t]
        if kinked[t] and v * d < 0.0 and abs(d) * t_max > abs(v):
            t_max = -v / d
            blocking = t
    return t_max, blocking


@njit(**_JIT)
def face_minimize(H, rhs, values, kinked, max_solves):
    """Minimise a quadratic over the closed orthant face of ``values`` (in place).

    ``H`` is the Hessian and ``rhs`` the gradient at ``values`` of a smooth function
    that equals the objective on the face (signs held). Each round solves the Newton
    system on the coefficients still non-zero and moves as far as the face allows; a
    coefficient that reaches zero leaves (the objective cannot increase along the way,
    and it decreases strictly). Coefficients without a kink at zero (``kinked`` false:
    no L1 part) move freely. A rank-deficient ``H`` (more coefficients than samples)
    gets a tiny ridge, whose steps follow the flat directions until a coefficient
    leaves. Returns the number of Newton solves, 0 on numerical failure.
    """
    k = values.shape[0]
    keep = np.empty(k, dtype=np.int64)
    ks = np.empty(k, dtype=np.bool_)
    m = 0
    for t in range(k):
        if values[t] != 0.0 or not kinked[t]:
            keep[m] = t
            m += 1
    g = rhs.copy()
    solves = 0
    while m > 0 and solves < max_solves:
        Hs = np.empty((m, m))
        scale = 0.0
        for u in range(m):
            for v in range(m):
                Hs[u, v] = H[keep[u], keep[v]]
            scale = max(scale, Hs[u, u])
        if not scale > 0.0:
            return 0
        gs = np.empty(m)
        vs = np.empty(m)
        for u in range(m):
            Hs[u, u] += 1e-12 * scale
            gs[u] = -g[keep[u]]
            vs[u] = values[keep[u]]
            ks[u] = kinked[keep[u]]
        delta = np.linalg.solve(Hs, gs)
        solves += 1
        for u in range(m):
            if not np.isfinite(delta[u]):
                return 0
        t_max, blocking = clipped_step(vs, delta, ks, m)
        for u in range(m):  # the gradient moves with the (exact) Hessian
            step = t_max * delta[u]
            if step != 0.0:
                col = keep[u]
                for r in range(k):
                    g[r] += H[r, col] * step
        for u in range(m):
            new = vs[u] + t_max * delta[u]
            if ks[u] and (u == blocking or (new > 0.0) != (vs[u] > 0.0)):
                new = 0.0
            values[keep[u]] = new
        if blocking < 0:
            break
        q = 0
        for u in range(m):
            if values[keep[u]] != 0.0 or not ks[u]:
                keep[q] = keep[u]
                q += 1
        m = q
    return solves


@njit(**_JIT)
def support_newton(X, Xd, Xi, Xp, sparse, S, offsets, sw, decouple, rhs, P, values, face_max, params):
    """Exact minimiser of ``½ΔᵀHΔ + rhsᵀΔ`` over the orthant face of ``values`` (in place).

    ``H = X̂_Sᵀ diag(sw) X̂_S + 2 diag(l2_S)`` (see :func:`gather_columns`). Up to
    ``face_max`` coefficients, ``H`` is formed (one BLAS-3 product) and handed to
    :func:`face_minimize`; with more coefficients than samples and every ``l2_S > 0``,
    one Newton step through the ``n × n`` Woodbury form instead, cut at the face.
    Returns False when nothing was done.
    """
    n = sw.shape[0]
    k = S.shape[0]
    ridge_free = True
    flat = False  # a coordinate with neither an L1 kink nor an L2 term
    kinked = np.empty(k, dtype=np.bool_)
    for t in range(k):
        kinked[t] = pen_kinked(PEN_ENET, P, S[t])
        if not P[1, S[t]] > 0.0:
            ridge_free = False
            if not kinked[t]:
                flat = True
    if flat and k >= n:
        # more free coefficients than samples: the minimiser is not unique, and the tiny
        # ridge would pick one from rounding noise; coordinate descent picks one reproducibly
        return False
    if k <= face_max and (k <= n or not ridge_free):
        B = gather_columns(X, Xd, Xi, Xp, sparse, S, offsets, sw, decouple)
        H = B.T @ B
        for t in range(k):
            H[t, t] += 2.0 * P[1, S[t]]
        return face_minimize(H, rhs, values, kinked, max(1, int(params[P_FACE_SOLVES]))) > 0
    if not ridge_free:
        return False
    dinv = np.empty(k)
    for t in range(k):
        dinv[t] = 1.0 / (2.0 * P[1, S[t]])
    B = gather_columns(X, Xd, Xi, Xp, sparse, S, offsets, sw, decouple)
    v = -rhs * dinv
    M = (B * dinv) @ B.T
    for i in range(n):
        M[i, i] += 1.0
    z = np.linalg.solve(M, B @ v)
    delta = v - dinv * (B.T @ z)
    for t in range(k):
        if not np.isfinite(delta[t]):
            return False
    t_max, blocking = clipped_step(values, delta, kinked, k)
    for t in range(k):
        new = values[t] + t_max * delta[t]
        if kinked[t] and (t == blocking or (new > 0.0) != (values[t] > 0.0)):
            new = 0.0
        values[t] = new
    return True


@njit(**_JIT)
def squared_support_step(X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, P, mu, fit_intercept, buf,
                         face_max, params):
    """Exact minimiser of the squared-error objective on the current support of ``ws``.

    On the support, with the signs held, the objective is a quadratic (see
    :func:`support_newton`); coefficients that would change sign stop at zero, so the
    objective cannot increase; the step is undone if rounding says otherwise. Returns
    ``(b, accepted)``.
    """
    k = 0
    for j in ws:
        if w[j] != 0.0 or not pen_kinked(PEN_ENET, P, j):  # the support, and the coordinates smooth at zero
            k += 1
    if k == 0:
        return b, False
    S = np.empty(k, dtype=np.int64)
    k = 0
    for j in ws:
        if w[j] != 0.0 or not pen_kinked(PEN_ENET, P, j):
            S[k] = j
            k += 1
    grad_b = weighted_derivatives(SQUARED_ERROR, y, a, zx, b, buf)
    rhs = np.empty(k)
    values = np.empty(k)
    for t in range(k):
        j = S[t]
        g = col_dot(X, Xd, Xi, Xp, sparse, j, buf, mu[j])
        if sparse:
            g -= mu[j] * grad_b
        sign = 1.0 if w[j] > 0.0 else (-1.0 if w[j] < 0.0 else 0.0)
        rhs[t] = g + P[0, j] * sign + 2.0 * P[1, j] * w[j]
        values[t] = w[j]
    if not support_newton(X, Xd, Xi, Xp, sparse, S, mu, 2.0 * a, fit_intercept, rhs, P, values,
                          face_max, params):
        return b, False
    before = datafit_value(SQUARED_ERROR, y, a, zx, b) + penalty_value(w, PEN_ENET, P, S)
    saved = zx.copy()
    old = np.empty(k)
    for t in range(k):
        j = S[t]
        old[t] = w[j]
        if values[t] != old[t]:
            col_axpy(X, Xd, Xi, Xp, sparse, j, values[t] - old[t], zx, mu[j])
            w[j] = values[t]
    new_b = best_squared_intercept(y, a, zx) if fit_intercept else b
    after = datafit_value(SQUARED_ERROR, y, a, zx, new_b) + penalty_value(w, PEN_ENET, P, S)
    if after <= before:
        return new_b, True
    for t in range(k):  # rounding made it worse: undo
        w[S[t]] = old[t]
    zx[:] = saved
    return b, False


@njit(**_JIT)
def best_squared_intercept(y, a, zx):
    """``Σ_i a_i (y_i − zx_i)``: the optimal intercept of the squared error given ``zx``."""
    s = 0.0
    for i in range(y.shape[0]):
        s += a[i] * (y[i] - zx[i])
    return s


# --------------------------------------------------------------------- CD iterations
@njit(**_JIT)
def cd_epoch(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept, buf, plain):
    """One pass of proximal coordinate descent over ``ws`` (then the intercept).

    Each step minimises the quadratic upper bound with curvature ``L_j`` along the
    centred direction (exact for the squared error). Returns the new intercept and
    ``moved = Σ L_j Δ_j²`` (twice the decrease the steps guarantee on the quadratic bound).
    ``plain``: the penalty is the elastic net without a box on ``ws`` (:func:`enet_plain`).
    """
    if df == SQUARED_ERROR and not sparse:
        return dense_squared_epoch(X, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept, buf, plain)
    moved = 0.0
    # Sparse centred steps need ∂_b L_data: invariant under them for the squared error
    # (the only sparse case that centres), so computed once per epoch.
    grad_b = weighted_derivatives(df, y, a, zx, b, buf) if sparse and fit_intercept else 0.0
    if sparse:  # (the loop once per layout: see cols_dot)
        for j in ws:
            if L[j] == 0.0:
                continue
            start = Xp[j]
            stop = Xp[j + 1]
            g = sparse_coordinate_gradient(df, Xd, Xi, start, stop, y, a, zx, b) - mu[j] * grad_b
            old = w[j]
            step = 1.0 / L[j]
            new = coord_prox(plain, pen, P, j, old - step * g, step)
            if new != old:
                w[j] = new
                moved += L[j] * (new - old) * (new - old)
                sparse_axpy(Xd, Xi, start, stop, new - old, zx)
                b -= mu[j] * (new - old)
    else:
        for j in ws:
            if L[j] == 0.0:
                continue
            g = dense_coordinate_gradient(df, X, j, y, a, zx, b, mu[j])
            old = w[j]
            step = 1.0 / L[j]
            new = coord_prox(plain, pen, P, j, old - step * g, step)
            if new != old:
                w[j] = new
                moved += L[j] * (new - old) * (new - old)
                dense_axpy(X, j, new - old, zx, mu[j])
    if fit_intercept:
        b -= weighted_derivatives(df, y, a, zx, b, buf) / intercept_curvature(df, y, a, zx, b)
    return b, moved


@njit(**_JIT)
def sparse_squared_epoch(Xd, Xi, Xp, r, a, uniform, b, w, ws, L, pen, P, mu, fit_intercept, grad_b, plain):
    """:func:`cd_epoch` for the squared error on sparse ``X``, on the residual ``r = y − Xw``.

    Each step reads one stream per non-zero (``r``; and ``a`` for non-uniform weights)
    instead of four (``a``, ``y``, ``Xw`` and the data fit's dispatch). With
    ``s_j = Σ_i a_i x_ij r_i``, the derivative along the centred column is
    ``−2 s_j + mu_j (2b − grad_b)``; ``grad_b = ∂_b L_data`` does not change under centred steps
    (it is passed in), and the exact intercept step at the end sets it to 0. Returns
    ``(b, moved, grad_b)`` (``moved`` as in :func:`cd_epoch`).
    """
    moved = 0.0
    a0 = a[0]
    for j in ws:
        if L[j] == 0.0:
            continue
        start = Xp[j]
        stop = Xp[j + 1]
        if uniform:
            s = a0 * sparse_dot(Xd, Xi, start, stop, r)
        else:
            s = sparse_dot3(Xd, Xi, start, stop, a, r)
        g = -2.0 * s + mu[j] * (2.0 * b - grad_b)
        old = w[j]
        step = 1.0 / L[j]
        new = coord_prox(plain, pen, P, j, old - step * g, step)
        if new != old:
            d = new - old
            w[j] = new
            moved += L[j] * d * d
            sparse_axpy(Xd, Xi, start, stop, -d, r)
            b -= mu[j] * d
    if fit_intercept:
        b -= 0.5 * grad_b
        grad_b = 0.0
    return b, moved, grad_b


@njit(**_JIT_FAST)
def dense_squared_epoch(X, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept, r, plain):
    """:func:`cd_epoch` for the squared error on dense ``X``, on the residual.

    The residual ``r = y − zx − b`` (in ``r``) is what each step reads and updates: two
    streams per column (``x_j`` and ``r``) instead of four (``x_j``, ``a``, ``y``,
    ``zx``), as in scikit-learn's coordinate descent, and the weights drop out when they
    are uniform. ``zx`` and ``b`` are brought up to date at the end. Returns ``(b,
    moved)`` like :func:`cd_epoch`.
    """
    n = y.shape[0]
    moved = 0.0
    uniform = True
    for i in range(n):
        r[i] = y[i] - zx[i] - b
        if a[i] != a[0]:
            uniform = False
    for j in ws:
        if L[j] == 0.0:
            continue
        m = mu[j]
        s = 0.0
        if uniform:
            for i in range(n):
                s += (X[i, j] - m) * r[i]
            s *= a[0]
        else:
            for i in range(n):
                s += (X[i, j] - m) * a[i] * r[i]
        g = -2.0 * s
        old = w[j]
        step = 1.0 / L[j]
        new = coord_prox(plain, pen, P, j, old - step * g, step)
        if new != old:
            w[j] = new
            d = new - old
            moved += L[j] * d * d
            for i in range(n):
                r[i] -= d * (X[i, j] - m)
    shift = 0.0
    if fit_intercept:  # exact for the squared error: b += Σ a r
        for i in range(n):
            shift += a[i] * r[i]
    for i in range(n):
        zx[i] = y[i] - r[i] - b
    return b + shift, moved


@njit(**_JIT)
def anderson_combination(hist, out):
    """Anderson extrapolation (regularized nonlinear acceleration) of the iterates in the rows
    of ``hist`` (oldest first): ``out`` is the affine combination of ``hist[1:]`` whose
    successive differences have the least norm (Tikhonov term 1e-10·trace). Returns False,
    leaving ``out`` as it was, when the iterates no longer move or the weights are singular."""
    K = hist.shape[0] - 1
    m = hist.shape[1]
    U = np.empty((K, m))
    for k in range(K):
        for t in range(m):
            U[k, t] = hist[k + 1, t] - hist[k, t]
    C = U @ U.T
    trace = np.trace(C)
    if not trace > 1e-280:  # iterates no longer move (or are not finite)
        return False
    for k in range(K):
        C[k, k] += 1e-10 * trace
    coefs = np.linalg.solve(C, np.ones(K))
    total = coefs.sum()
    if not np.isfinite(total) or total == 0.0:
        return False
    coefs /= total
    out[:] = 0.0
    for k in range(K):
        for t in range(m):
            out[t] += coefs[k] * hist[k + 1, t]
    return True


@njit(**_JIT)
def _anderson_step(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, pen, P, mu, hist, zx_try):
    """Anderson extrapolation of the last iterates in ``hist``; keeps it if it lowers L.

    Returns ``(b, accepted)``; ``w`` and ``zx`` are updated in place on acceptance.
    """
    n_ws = ws.shape[0]
    extrap = np.empty(hist.shape[1])
    if not anderson_combination(hist, extrap):
        return b, False
    zx_try[:] = zx
    pen_try = 0.0
    delta = np.empty(n_ws)
    for t in range(n_ws):
        j = ws[t]
        delta[t] = extrap[t] - w[j]
        pen_try += pen_value(pen, P, j, extrap[t])
    cols_axpy(X, Xd, Xi, Xp, sparse, ws, delta, zx_try, mu)
    b_try = extrap[n_ws]
    current = datafit_value(df, y, a, zx, b) + penalty_value(w, pen, P, ws)
    trial = datafit_value(df, y, a, zx_try, b_try) + pen_try
    if trial < current:
        for t in range(n_ws):
            w[ws[t]] = extrap[t]
        zx[:] = zx_try
        return b_try, True
    return b, False


@njit(**_JIT)
def solve_subproblem(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept,
                     tol, max_epochs, anderson_k, check_every, grad, support_max, params, dual_z):
    """Coordinate descent restricted to ``ws`` until its certificate is ≤ ``tol``.

    Anderson acceleration every ``anderson_k + 1`` epochs (0 disables it; with
    ``params[P_ANDERSON_AUTO]``, only while the support has more than ``support_max``
    features). For the squared error, once an epoch leaves the signs of ``w`` on ``ws``
    unchanged, the quadratic on that support (at most ``support_max`` features; 0 disables it)
    is solved exactly (:func:`squared_support_step`) and the certificate checked at once.

    Costs are counted in column entries read: an epoch reads the working set's columns
    (``n·|ws|`` dense, their non-zeros sparse), a support step on ``k`` features about
    ``params[P_SUPPORT_COST] · n · (20 + 2k + k²/8 + k³/(12 n))`` (gathering, gradients, then
    BLAS-3 products and a solve). A step is tried only once the epochs since the last try
    have cost as much, which keeps the total within twice that of the better of the two
    strategies, and (``n ≥ p``) not while the epochs, at the rate of convergence of their
    movement ``Σ L_j Δ_j²``, are predicted to reach ``tol`` for less (unless it is cheap, see
    :data:`CHEAP_STEP_EPOCHS`).

    Once the certificate is ≤ ``tol`` for less than ``params[P_CHECK_COST]`` entries (the
    caller's check over every feature), the epochs go on towards ``params[P_TOL_FLOOR]`` until
    they have cost that much: where the checks dominate (small working sets of a large
    design), each one then buys more progress, and the waste on a working set that turns
    out to be wrong is at most one check's cost.
    With ``params[P_DUAL_K] = K > 0`` (elastic net), ``dual_z`` holds the linear predictor of the
    best dual point seen (in and out), and a check whose gap is above its target also tries it and
    the extrapolation of the last ``K + 1`` predictors (:func:`improve_gap`), as long as these
    candidates have cost at most :data:`DUAL_SHARE` of the work.
    Returns ``(b, epochs, gap, stationarity, support_steps, won)`` of the restricted problem
    at exit (``won``: 1 when the last gap is that of ``dual_z``'s dual point, not the current one's).
    """
    n = y.shape[0]
    n_ws = ws.shape[0]
    buf = np.empty(n)
    dual_k = int(params[P_DUAL_K]) if pen == PEN_ENET else 0
    zhist = np.empty((dual_k + 1, n if dual_k > 0 else 0))
    gcand = np.empty(grad.shape[0] if dual_k > 0 else 0)
    tcand = np.empty(n if dual_k > 0 else 0)
    recorded = 0
    dual_spent = 0.0  # entries read by the dual candidates (at most DUAL_SHARE of all)
    won = 0  # the last check's gap is a candidate's (dual_z's)
    zx_try = np.empty(n)
    hist = np.empty((anderson_k + 1, n_ws + 1))
    signs = np.zeros(n_ws, dtype=np.int8)
    tried = np.zeros(n_ws, dtype=np.int8)  # the sign pattern of the last support step
    use_support = df == SQUARED_ERROR and support_max > 0
    plain = enet_plain(pen, P, ws)
    anderson_auto = params[P_ANDERSON_AUTO] != 0.0 and use_support
    # sparse squared error: epochs on the residual r = y − Xw (zx is brought up to date
    # before anything else reads it)
    resid = sparse and df == SQUARED_ERROR
    r = np.empty(n if resid else 1)
    uniform = True
    grad_b = 0.0
    if resid:
        s = 0.0
        for i in range(n):
            r[i] = y[i] - zx[i]
            s += a[i] * r[i]
            if a[i] != a[0]:
                uniform = False
        if fit_intercept:
            grad_b = -2.0 * (s - b)
    epoch_cost = 0.0  # entries read by one epoch
    for j in ws:
        epoch_cost += (Xp[j + 1] - Xp[j]) if sparse else n
    epoch_cost += n_ws
    budget = params[P_CHECK_COST]
    floor = min(params[P_TOL_FLOOR], tol)
    target = tol
    spent = 0.0  # entries read by this call
    gap = np.inf
    stationarity = np.inf
    epoch = 0
    slot = 0
    support_steps = 0
    size = -1  # the support on ws, once counted
    work = 0.0  # entries read since the last support step
    ratio = 1.0  # certificate ÷ epoch movement, at the last check
    previous = 0.0  # the movement of the previous epoch
    while epoch < max_epochs:
        work += epoch_cost
        spent += epoch_cost
        if resid:
            b, moved, grad_b = sparse_squared_epoch(Xd, Xi, Xp, r, a, uniform, b, w, ws, L, pen, P, mu,
                                                    fit_intercept, grad_b, plain)
        else:
            b, moved = cd_epoch(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept, buf,
                                plain)
        epoch += 1
        rate = moved / previous if previous > 0.0 else 1.0  # linear convergence rate, per epoch
        previous = moved
        # the certificate every check_every epochs, or as soon as the epoch's movement,
        # scaled by the gap/movement ratio seen at the last check, predicts convergence
        check = epoch % check_every == 0 or epoch == max_epochs or moved * ratio <= target
        if use_support:
            stable = True
            same_as_tried = True
            size = 0
            for t in range(n_ws):
                v = w[ws[t]]
                sg = 1 if v > 0.0 else (-1 if v < 0.0 else 0)
                if sg != signs[t]:
                    stable = False
                    signs[t] = sg
                if sg != tried[t]:
                    same_as_tried = False
                if sg != 0:
                    size += 1
            cost = params[P_SUPPORT_COST] * n * (20.0 + 2.0 * size + size * size / 8.0
                                                 + size * size * size / (12.0 * n))
            worth = True
            if (n >= L.shape[0] and rate < 1.0 and moved > 0.0 and cost > CHEAP_STEP_EPOCHS * epoch_cost
                    and cost > CHEAP_STEP_ENTRIES):
                left = moved * ratio  # the certificate predicted from this epoch's movement
                remaining = np.log(left / target) / -np.log(rate) if left > target else 0.0  # epochs
                worth = remaining * epoch_cost >= cost
            if stable and not same_as_tried and 0 < size <= support_max and work >= cost and worth:
                tried[:] = signs
                work = 0.0
                spent += cost
                if resid:
                    _residual_to_state(y, r, zx)
                b, accepted = squared_support_step(X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, P, mu,
                                                   fit_intercept, buf, support_max, params)
                if resid:
                    grad_b = _state_to_residual(y, a, zx, b, r, fit_intercept)
                if accepted:
                    support_steps += 1
                    check = True
                    slot = 0  # the iterates before the jump say nothing about after it
        if anderson_k > 0:
            for t in range(n_ws):
                hist[slot, t] = w[ws[t]]
            hist[slot, n_ws] = b
            if slot == anderson_k:
                if not (anderson_auto and 0 <= size <= support_max):
                    if resid:
                        _residual_to_state(y, r, zx)
                    b, accepted = _anderson_step(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, pen, P, mu,
                                                 hist, zx_try)
                    if resid and accepted:
                        grad_b = _state_to_residual(y, a, zx, b, r, fit_intercept)
                slot = 0
            else:
                slot += 1
        if dual_k > 0:
            recorded = record_predictor(zhist, recorded, y, zx, r, b, resid)
        if check:
            if resid:
                _residual_to_state(y, r, zx)
            gb = gradient(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, mu, ws, grad, buf)
            if resid:
                grad_b = gb if fit_intercept else 0.0  # the exact value (no drift)
            spent += epoch_cost
            gap, stationarity = duality_gap_of(df, y, a, zx, b, w, grad, gb, pen, P, L, ws, fit_intercept, plain)
            won = 0
            if gap > target and dual_k > 0 and dual_spent <= DUAL_SHARE * spent:
                spent += 2.0 * epoch_cost + (dual_k + 4) * n
                dual_spent += 2.0 * epoch_cost + (dual_k + 4) * n
                own = gap
                gap = improve_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, ws, plain, gap, target,
                                  dual_z, zhist, recorded, gcand, buf, tcand)
                won = 1 if gap < own else 0
            if gap <= target and stationarity <= target:
                if target <= floor or spent >= budget:
                    break
                target = floor  # cheap so far: go on while it stays cheaper than a check
            elif gap <= tol and stationarity <= tol and spent >= budget:
                break
            if moved > 0.0:
                ratio = max(1.0, (gap + stationarity) / moved)
    if resid:
        _residual_to_state(y, r, zx)
    return b, epoch, gap, stationarity, support_steps, won


@njit(**_JIT)
def _residual_to_state(y, r, zx):
    for i in range(y.shape[0]):
        zx[i] = y[i] - r[i]


@njit(**_JIT)
def _state_to_residual(y, a, zx, b, r, fit_intercept):
    """``r = y − zx``; returns the squared error's ``∂_b L_data`` (0 without an intercept)."""
    s = 0.0
    for i in range(y.shape[0]):
        r[i] = y[i] - zx[i]
        s += a[i] * r[i]
    return -2.0 * (s - b) if fit_intercept else 0.0


# ------------------------------------------------------------------- proximal Newton
@njit(**_JIT)
def second_order(df, y, a, zx, b, d1, h):
    """``d1_i = a_i ℓ'(z_i)``, ``h_i = a_i ℓ''(z_i)``; returns ``(Σ d1, Σ h)``."""
    s1 = 0.0
    sh = 0.0
    for i in range(y.shape[0]):
        g, c = sample_loss_derivatives(df, y[i], zx[i] + b)
        d1[i] = a[i] * g
        h[i] = a[i] * c
        s1 += d1[i]
        sh += h[i]
    return s1, sh


@njit(**_JIT)
def datafit_change(df, y, a, zx, b, du, db, t):
    """``Σ_i a_i [ℓ(z_i + t(du_i + db)) − ℓ(z_i)]``, accurate for tiny steps
    (:func:`sample_loss_change`)."""
    total = 0.0
    for i in range(y.shape[0]):
        d = t * (du[i] + db)
        if d != 0.0:
            total += a[i] * sample_loss_change(df, y[i], zx[i] + b, d)
    return total


@njit(**_JIT)
def model_value(gt, delta, w, ws, pen, P, h, u, sum_h, fit_intercept):
    """The proximal Newton model of :func:`newton_direction` at ``delta`` (``u = X̃δ``), up to
    a constant: ``gtᵀδ + ½(Σ_i h_i u_i² − U²/Σh) + pen(w + δ)``, ``U = Σ_i h_i u_i`` (the
    intercept's step minimised out; ``U = 0`` without one)."""
    quad = 0.0
    U = 0.0
    for i in range(u.shape[0]):
        hv = h[i] * u[i]
        quad += hv * u[i]
        U += hv
    if fit_intercept and sum_h > 0.0:
        quad -= U * U / sum_h
    value = 0.5 * quad
    for t in range(ws.shape[0]):
        j = ws[t]
        value += gt[t] * delta[t] + pen_value(pen, P, j, w[j] + delta[t])
    return value


@njit(**_JIT)
def _model_anderson(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, gt, h, sum_h, fit_intercept, hist, delta, u,
                    u_try, d_try):
    """Anderson extrapolation of the model iterates in ``hist`` (rows of ``δ``); kept if it
    lowers :func:`model_value`. Returns whether it was (``delta`` and ``u`` then updated)."""
    if not anderson_combination(hist, d_try):
        return False
    u_try[:] = u
    steps = d_try - delta
    cols_axpy(X, Xd, Xi, Xp, sparse, ws, steps, u_try, mu)
    if model_value(gt, d_try, w, ws, pen, P, h, u_try, sum_h, fit_intercept) < model_value(
            gt, delta, w, ws, pen, P, h, u, sum_h, fit_intercept):
        delta[:] = d_try
        u[:] = u_try
        return True
    return False


@njit(**_INLINE)
def _model_prox(plain, pen, P, j, v, G, H):
    """A coordinate step on the proximal Newton model: ``(new value, curvature used)``.

    A non-convex penalty's prox with a long step jumps to far-away minimisers where the
    quadratic model means nothing: each coordinate's model is kept convex (a proximal term)."""
    if plain:
        return prox_enet(v - G / H, P[0, j] / H, P[1, j] / H), H
    Ht = max(H, 1.01 * pen_concavity(pen, P, j))
    return pen_prox(pen, P, j, v - G / Ht, 1.0 / Ht), Ht


@njit(**_JIT)
def _model_epoch(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, gt, H, m, sum_h, h, u, U, delta, plain):
    """One coordinate-descent epoch on the model of :func:`newton_direction` (state
    ``u = X̃δ``, ``U = Σ h u``); returns ``(U, largest H_j |step_j|)``. The loop is written
    once per layout: a branch on it inside the loop costs as much as a short sparse column."""
    biggest = 0.0
    if sparse:
        for t in range(ws.shape[0]):
            if H[t] <= 0.0:
                continue
            j = ws[t]
            v = w[j] + delta[t]
            G = gt[t] + sparse_dot3(Xd, Xi, Xp[j], Xp[j + 1], h, u) - m[t] * U
            new, Ht = _model_prox(plain, pen, P, j, v, G, H[t])
            if new != v:
                step = new - v
                delta[t] += step
                sparse_axpy(Xd, Xi, Xp[j], Xp[j + 1], step, u)
                U += step * m[t] * sum_h
                biggest = max(biggest, Ht * abs(step))
    else:
        for t in range(ws.shape[0]):
            if H[t] <= 0.0:
                continue
            j = ws[t]
            v = w[j] + delta[t]
            G = gt[t] + dense_dot3(X, j, h, u, mu[j]) - m[t] * U
            new, Ht = _model_prox(plain, pen, P, j, v, G, H[t])
            if new != v:
                step = new - v
                delta[t] += step
                dense_axpy(X, j, step, u, mu[j])
                U += step * m[t] * sum_h
                biggest = max(biggest, Ht * abs(step))
    return U, biggest


@njit(**_JIT_FAST)
def _model_setup(X, Xd, Xi, Xp, sparse, ws, mu, h, sum_h, fit_intercept, grad, grad_b, m, H, gt):
    """The model's column quantities on ``ws`` (see :func:`newton_direction`): ``h``-weighted
    means ``m``, curvatures ``H`` and gradients ``gt`` along the ``h``-centred columns."""
    centre = fit_intercept and sum_h > 0.0
    for t in range(ws.shape[0]):
        j = ws[t]
        q = 0.0
        s = 0.0
        if sparse:
            for k in range(Xp[j], Xp[j + 1]):
                hx = h[Xi[k]] * Xd[k]
                s += hx
                q += hx * Xd[k]
        else:
            mj = mu[j]
            for i in range(X.shape[0]):
                d = X[i, j] - mj
                hx = h[i] * d
                s += hx
                q += hx * d
        m[t] = s / sum_h if centre else 0.0
        H[t] = max(q - m[t] * m[t] * sum_h, 0.0)
        gt[t] = grad[j] - grad_b * m[t]


@njit(**_JIT)
def newton_direction(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, fit_intercept, grad, grad_b, h, sum_h,
                     tol, max_epochs, support_max, params, delta, u, anderson_k):
    """Proximal Newton direction on ``ws``: coordinate descent on the quadratic model.

    Minimises ``gᵀδ + g_b δ_b + ½ Σ_i h_i (x̃_iᵀδ + δ_b)² + pen(w + δ)``. With an
    intercept, ``δ_b`` is eliminated exactly by centring each column with its
    ``h``-weighted mean ``m_j`` (the model then separates), leaving a weighted lasso in
    ``δ`` with gradient ``g_j − g_b m_j`` and curvature ``Σ h x̃_j² − m_j² Σ h``. Epochs
    stop when the largest ``H_j |step_j|`` (the model's optimality violation, in gradient
    units) falls below ``tol``; when an epoch leaves the signs unchanged without getting
    there, the model is solved on its support exactly (:func:`support_newton`). For a
    convex penalty, the epochs' iterates are Anderson-extrapolated every ``anderson_k + 1``
    epochs (0: never; kept when the model decreases), as coordinate descent on a lasso.
    The state is ``u = X̃δ``. Writes ``delta`` and ``u``; returns ``(δ_b, epochs)``.
    """
    n_ws = ws.shape[0]
    m = np.zeros(n_ws)
    H = np.empty(n_ws)
    gt = np.empty(n_ws)
    _model_setup(X, Xd, Xi, Xp, sparse, ws, mu, h, sum_h, fit_intercept, grad, grad_b, m, H, gt)
    plain = enet_plain(pen, P, ws)
    delta[:] = 0.0
    u[:] = 0.0  # X̃δ
    U = 0.0  # Σ h ∘ X̃δ
    signs = np.zeros(n_ws, dtype=np.int8)
    for t in range(n_ws):
        v = w[ws[t]]
        signs[t] = 1 if v > 0.0 else (-1 if v < 0.0 else 0)
    tried = np.zeros(n_ws, dtype=np.int8)
    use_anderson = anderson_k > 0 and pen_convex(pen)
    depth = anderson_k if use_anderson else 0
    hist = np.empty((depth + 1, n_ws if use_anderson else 0))
    u_try = np.empty(u.shape[0] if use_anderson else 0)
    d_try = np.empty(n_ws if use_anderson else 0)
    slot = 0
    epochs = 0
    work = 0.0
    n = h.shape[0]
    while epochs < max_epochs:
        epochs += 1
        work += n_ws
        U, biggest = _model_epoch(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, gt, H, m, sum_h, h, u, U, delta,
                                  plain)
        if biggest <= tol:
            break
        stable = True
        size = 0
        for t in range(n_ws):
            if H[t] <= 0.0:
                continue
            j = ws[t]
            v = w[j] + delta[t]
            s = 1 if v > 0.0 else (-1 if v < 0.0 else 0)
            if s != signs[t]:
                stable = False
                signs[t] = s
            if s != 0 or not pen_kinked(pen, P, j):  # the support, and the coordinates smooth at zero
                size += 1
        same_as_tried = True
        for t in range(n_ws):
            if signs[t] != tried[t]:
                same_as_tried = False
                break
        cost = params[P_SUPPORT_COST] * (size + size * size / 8.0 + size * size * size / (12.0 * n))
        if stable and not same_as_tried and 0 < size <= support_max and work >= cost:
            tried[:] = signs
            work = 0.0
            S = np.empty(size, dtype=np.int64)
            pos = np.empty(size, dtype=np.int64)
            rhs = np.empty(size)
            values = np.empty(size)
            q = 0
            for t in range(n_ws):
                if signs[t] != 0 or not pen_kinked(pen, P, ws[t]):
                    j = ws[t]
                    v = w[j] + delta[t]
                    G = gt[t] + col_dot3(X, Xd, Xi, Xp, sparse, j, h, u, mu[j]) - m[t] * U
                    S[q] = j
                    pos[q] = t
                    values[q] = v
                    rhs[q] = G + P[0, j] * signs[t] + 2.0 * P[1, j] * v
                    q += 1
            if support_newton(X, Xd, Xi, Xp, sparse, S, mu, h, fit_intercept, rhs, P, values,
                              support_max, params):
                for q in range(size):
                    t = pos[q]
                    step = values[q] - (w[S[q]] + delta[t])
                    if step != 0.0:
                        delta[t] += step
                        col_axpy(X, Xd, Xi, Xp, sparse, S[q], step, u, mu[S[q]])
                        U += step * m[t] * sum_h
                slot = 0  # the iterates before the jump say nothing about after it
                continue
        if use_anderson:
            for t in range(n_ws):
                hist[slot, t] = delta[t]
            if slot == depth and not (params[P_ANDERSON_AUTO] != 0.0 and size <= support_max):
                if _model_anderson(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, gt, h, sum_h, fit_intercept, hist,
                                   delta, u, u_try, d_try):
                    U = 0.0
                    for i in range(n):
                        U += h[i] * u[i]
                    work += n_ws
                slot = 0
            elif slot == depth:
                slot = 0
            else:
                slot += 1
    delta_b = 0.0
    if fit_intercept and sum_h > 0.0:
        delta_b = -grad_b / sum_h
        for t in range(n_ws):
            delta_b -= m[t] * delta[t]
    return delta_b, epochs


@njit(**_JIT)
def solve_subproblem_newton(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, pen, P, mu, fit_intercept,
                            tol, max_epochs, grad, support_max, params, dual_z):
    """Proximal Newton on ``ws``, until the restricted certificate is ≤ ``tol``.

    Each step: the quadratic model at the current point (weights ``a_i ℓ''``), its
    minimiser by :func:`newton_direction`, then a backtracking line search on the true
    objective (Armijo condition with the model's predicted decrease, as in Tseng & Yun
    2009 and glmnet/skglm's proximal Newton). Returns ``(b, epochs, gap, stationarity,
    newton_steps)``; ``epochs`` counts the coordinate-descent epochs on the models. The
    certificate is first checked after a step (the caller has just found it above ``tol``).
    As :func:`solve_subproblem`, a sub-problem that met ``tol`` for less than
    ``params[P_CHECK_COST]`` entries goes on towards ``params[P_TOL_FLOOR]`` until it has
    spent as much (a model epoch reads the working set's columns; a Newton step's other
    passes over the ``n`` samples count ``SAMPLE_COST`` each). With ``params[P_DUAL_K] > 0`` (elastic
    net), the predictors after each step feed :func:`improve_gap` as in :func:`solve_subproblem`
    (``dual_z``: the best dual point's predictor, in and out); returns ``won`` last, as it does.
    """
    n = y.shape[0]
    n_ws = ws.shape[0]
    dual_k = int(params[P_DUAL_K]) if pen == PEN_ENET else 0
    zhist = np.empty((dual_k + 1, n if dual_k > 0 else 0))
    gcand = np.empty(grad.shape[0] if dual_k > 0 else 0)
    tcand = np.empty(n if dual_k > 0 else 0)
    dbuf = np.empty(n if dual_k > 0 else 0)
    plain = enet_plain(pen, P, ws)
    recorded = 0
    won = 0
    d1 = np.empty(n)
    h = np.empty(n)
    u = np.empty(n)
    du = np.empty(n)
    delta = np.empty(n_ws)
    gap = np.inf
    stationarity = np.inf
    epochs = 0
    steps = 0
    epoch_cost = float(n_ws)
    for j in ws:
        epoch_cost += (Xp[j + 1] - Xp[j]) if sparse else n
    budget = params[P_CHECK_COST]
    floor = min(params[P_TOL_FLOOR], tol)
    target = tol
    spent = 0.0
    anderson_k = int(params[P_MODEL_ANDERSON])
    while epochs < max_epochs:
        grad_b, sum_h = second_order(df, y, a, zx, b, d1, h)
        cols_dot(X, Xd, Xi, Xp, sparse, ws, d1, mu, grad)
        spent += epoch_cost + SAMPLE_COST * n
        if steps > 0:
            gap, stationarity = duality_gap(df, y, a, zx, b, w, grad, grad_b, pen, P, L, ws,
                                            fit_intercept)
            won = 0
            if gap > target and dual_k > 0:
                spent += (2.0 + SAMPLE_COST) * epoch_cost
                own = gap
                gap = improve_gap(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, P, L, mu, ws, plain, gap, target,
                                  dual_z, zhist, recorded, gcand, dbuf, tcand)
                won = 1 if gap < own else 0
            if gap <= target and stationarity <= target:
                if target <= floor or spent >= budget:
                    break
                target = floor  # cheap so far: go on while it stays cheaper than a check
            elif gap <= tol and stationarity <= tol and spent >= budget:
                break
        worst = 0.0  # largest optimality violation on ws, in gradient units
        for j in ws:
            worst = max(worst, pen_violation(pen, P, j, w[j], grad[j]))
        inner_tol = params[P_NEWTON_FORCING] * worst
        delta_b, inner = newton_direction(X, Xd, Xi, Xp, sparse, w, ws, pen, P, mu, fit_intercept, grad,
                                          grad_b, h, sum_h, inner_tol, max_epochs - epochs, support_max,
                                          params, delta, u, anderson_k)
        epochs += max(inner, 1)
        spent += (max(inner, 1) + 3) * epoch_cost
        # Δz = X̃δ + δ_b and the model's predicted decrease
        du[:] = 0.0
        cols_axpy(X, Xd, Xi, Xp, sparse, ws, delta, du, mu)
        decrease = grad_b * delta_b  # model's predicted change: gᵀδ + pen(w + δ) − pen(w)
        for t in range(n_ws):
            j = ws[t]
            if delta[t] != 0.0:
                v = w[j] + delta[t]
                decrease += grad[j] * delta[t] + pen_change(pen, P, j, w[j], v)
        if not decrease < 0.0:
            break  # no descent left at this precision
        convex = pen_convex(pen)
        linear = decrease  # gᵀδ + g_b δ_b, and the curvature δᵀHδ of the model along the step
        curv = 0.0
        if not convex:
            for t in range(n_ws):
                if delta[t] != 0.0:
                    linear -= pen_change(pen, P, ws[t], w[ws[t]], w[ws[t]] + delta[t])
            for i in range(n):
                curv += h[i] * (du[i] + delta_b) * (du[i] + delta_b)
        t_step = 1.0
        accepted = False
        for _ in range(40):
            change = datafit_change(df, y, a, zx, b, du, delta_b, t_step)
            pen_part = 0.0
            for t in range(n_ws):
                if delta[t] != 0.0:
                    j = ws[t]
                    pen_part += pen_change(pen, P, j, w[j], w[j] + t_step * delta[t])
            change += pen_part
            if convex:  # Armijo: a convex penalty changes by at most t·(its change at t = 1)
                predicted = t_step * decrease
            else:  # the model's own change at t (the penalty is not linear along the step)
                predicted = t_step * linear + 0.5 * t_step * t_step * curv + pen_part
            spent += SAMPLE_COST * n
            if predicted < 0.0 and change <= 1e-4 * predicted:
                accepted = True
                break
            t_step *= 0.5
        if not accepted:
            break
        steps += 1
        for t in range(n_ws):
            if delta[t] != 0.0:
                w[ws[t]] += t_step * delta[t]
        for i in range(n):
            zx[i] += t_step * du[i]
        b += t_step * delta_b
        if dual_k > 0:
            recorded = record_predictor(zhist, recorded, y, zx, zx, b, False)
    return b, epochs, gap, stationarity, steps, won


# ------------------------------------------------------------------------ Gram mode
@njit(**_JIT)
def gram_gap(G, c, yy, w, gw, pen, P, grad, plain):
    """Certificate of ``yy − 2cᵀw + wᵀGw + pen(w)`` from the Gram quantities.

    The same dual point and terms as :func:`duality_gap` for the squared error (the
    residual's weighted sum of squares is ``yy − 2cᵀw + wᵀGw``), with ``L_j = 2 G_jj``.
    Fills ``grad``. ``plain``: the elastic net without a box (:func:`enet_plain`).
    """
    p = w.shape[0]
    rss = yy
    for j in range(p):
        grad[j] = 2.0 * (gw[j] - c[j])
        rss += w[j] * (gw[j] - 2.0 * c[j])
    gap = 0.0
    stationarity = 0.0
    if pen_convex(pen) and pen != PEN_ENET:  # another convex penalty: its conjugate (convex_gap)
        alpha = convex_dual_scaling(pen, P, w, grad, np.arange(p))
        gap = max(rss, 0.0) * (1.0 - alpha) * (1.0 - alpha)
        unscaled = 0.0  # the smaller of the gaps at α and at 1 (see convex_gap)
        for j in range(p):
            if G[j, j] <= 0.0:
                continue
            if pen_free(pen, P, j):
                v = pen_violation(pen, P, j, w[j], grad[j])
                stationarity += v * v / (4.0 * G[j, j])
            else:
                gap += pen_gap_term(pen, P, j, w[j], -alpha * grad[j], True)
                if alpha < 1.0:
                    unscaled += pen_gap_term(pen, P, j, w[j], -grad[j], False)
        return (min(gap, unscaled) if alpha < 1.0 else gap), stationarity
    convex = pen == PEN_ENET
    if plain:
        alpha = plain_dual_scaling(grad, P, np.arange(p))
    else:
        alpha = dual_scaling(grad, P, np.arange(p)) if convex else 1.0
    if convex:
        gap = max(rss, 0.0) * (1.0 - alpha) * (1.0 - alpha)
    if plain:
        for j in range(p):
            if G[j, j] <= 0.0:
                continue
            if P[0, j] == 0.0 and P[1, j] == 0.0:
                stationarity += grad[j] * grad[j] / (4.0 * G[j, j])
            else:
                gap += plain_coordinate_gap(w[j], -alpha * grad[j], P[0, j], P[1, j])
        return gap, stationarity
    for j in range(p):
        if G[j, j] <= 0.0:
            continue
        if pen_free(pen, P, j) or not convex:
            v = pen_violation(pen, P, j, w[j], grad[j])
            if pen_free(pen, P, j):
                stationarity += v * v / (4.0 * G[j, j])
            else:
                gap += v * v / (4.0 * G[j, j])
            continue
        gap += coordinate_gap(w[j], -alpha * grad[j], P[0, j], P[1, j], P[ROW_LO, j], P[ROW_HI, j])
    return gap, stationarity


@njit(**_JIT)
def gram_solve(G, c, yy, w, gw, pen, P, tol, max_epochs, support_max, params):
    """Coordinate descent on ``yy − 2cᵀw + wᵀGw + pen(w)`` (``G = X̃ᵀAX̃``, ``c = X̃ᵀAỹ``).

    Every step costs O(p) (``gw = Gw`` is kept up to date) instead of O(n). Once an
    epoch leaves the signs unchanged, the quadratic on the support is solved exactly
    from ``G``'s sub-matrix. Returns ``(epochs, gap, stationarity, support_steps)``.
    """
    p = w.shape[0]
    grad = np.empty(p)
    signs = np.zeros(p, dtype=np.int8)
    tried = np.zeros(p, dtype=np.int8)
    gap = np.inf
    stationarity = np.inf
    epochs = 0
    steps = 0
    plain = enet_plain_all(pen, P)
    while epochs < max_epochs:
        epochs += 1
        for j in range(p):
            if G[j, j] <= 0.0:
                continue
            lj = 2.0 * G[j, j]
            g = 2.0 * (gw[j] - c[j])
            old = w[j]
            new = coord_prox(plain, pen, P, j, old - g / lj, 1.0 / lj)
            if new != old:
                d = new - old
                w[j] = new
                for i in range(p):
                    gw[i] += d * G[i, j]
        stable = True
        same = True
        size = 0
        for j in range(p):
            s = 1 if w[j] > 0.0 else (-1 if w[j] < 0.0 else 0)
            if s != signs[j]:
                stable = False
                signs[j] = s
            if s != tried[j]:
                same = False
            if s != 0 or not pen_kinked(pen, P, j):
                size += 1
        if stable and not same and 0 < size <= support_max:
            tried[:] = signs
            S = np.empty(size, dtype=np.int64)
            q = 0
            for j in range(p):
                if signs[j] != 0 or not pen_kinked(pen, P, j):
                    S[q] = j
                    q += 1
            H = np.empty((size, size))
            rhs = np.empty(size)
            values = np.empty(size)
            kinked = np.empty(size, dtype=np.bool_)
            for u in range(size):
                j = S[u]
                for v in range(size):
                    H[u, v] = 2.0 * G[j, S[v]]
                H[u, u] += 2.0 * P[1, j]
                rhs[u] = 2.0 * (gw[j] - c[j]) + P[0, j] * signs[j] + 2.0 * P[1, j] * w[j]
                values[u] = w[j]
                kinked[u] = pen_kinked(pen, P, j)
            if face_minimize(H, rhs, values, kinked, max(1, int(params[P_FACE_SOLVES]))) > 0:
                for u in range(size):
                    j = S[u]
                    d = values[u] - w[j]
                    if d != 0.0:
                        w[j] = values[u]
                        for i in range(p):
                            gw[i] += d * G[i, j]
                steps += 1
        gap, stationarity = gram_gap(G, c, yy, w, gw, pen, P, grad, plain)
        if gap <= tol and stationarity <= tol:
            break
    return epochs, gap, stationarity, steps


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


# --------------------------------------------------------------------------- blocks
# The block kernels: coefficients ``W`` of shape (p, K) (K outputs: K = 1 for one target,
# the tasks of multi-task least squares, the classes of the multinomial), state
# ``Z = X̃W + offset`` (n, K), intercepts ``B`` (K,), targets ``Y`` (n, K) (the multinomial's
# one-hot). Features are grouped (CSR: group g holds features ``gidx[gptr[g]:gptr[g+1]]``);
# a group's block ``W_g`` (|g| × K) carries ``λ_g ‖W_g‖_F`` plus the elastic-net terms
# ``l1_j|W_jk| + l2 W_jk²`` (``P`` rows 0 and 1; ``l2`` equal within a group). Block
# coordinate descent takes prox-gradient steps on one group at a time with step ``1/LG_g``,
# ``LG_g = ℓ''_max · λ_max(X̃_gᵀ A X̃_g)``.
@njit(**_JIT)
def block_curvature(df):
    """Bound on the Hessian of ``ℓ(y_i, ·)`` in the operator norm: 2, ¼, or ½ (multinomial,
    Böhning's bound ``diag(p) − ppᵀ ≤ ½ I``)."""
    if df == MULTINOMIAL:
        return 0.5
    return curvature_bound(df)


@njit(**_JIT)
def sample_grad_block(df, Y, Z, B, i, out):
    """``out_k = ∂ℓ(y_i, z_i + B)/∂z_k``; returns ``ℓ(y_i, z_i + B)``."""
    K = out.shape[0]
    if df == MULTINOMIAL:
        top = -np.inf
        for k in range(K):
            top = max(top, Z[i, k] + B[k])
        s = 0.0
        zy = 0.0
        for k in range(K):
            e = np.exp(Z[i, k] + B[k] - top)
            out[k] = e
            s += e
            zy += Y[i, k] * (Z[i, k] + B[k])
        for k in range(K):
            out[k] = out[k] / s - Y[i, k]
        return top + np.log(s) - zy
    loss = 0.0
    for k in range(K):
        z = Z[i, k] + B[k]
        out[k] = sample_loss_derivative(df, Y[i, k], z)
        loss += sample_loss(df, Y[i, k], z)
    return loss


@njit(**_JIT)
def block_loss(df, Y, a, Z, B):
    """``Σ_i a_i ℓ(y_i, z_i + B)``."""
    K = B.shape[0]
    tmp = np.empty(K)
    s = 0.0
    for i in range(Y.shape[0]):
        s += a[i] * sample_grad_block(df, Y, Z, B, i, tmp)
    return s


@njit(**_JIT)
def block_sample_gap(df, Y, Z, B, i, alpha, tmp):
    """``f(z_i) + f*(v_i) − v_iᵀz_i ≥ 0`` at the dual point ``v_i = alpha·∇f(z_i)``."""
    K = B.shape[0]
    if alpha == 1.0:
        return 0.0
    if df == MULTINOMIAL:
        loss = sample_grad_block(df, Y, Z, B, i, tmp)
        total = loss
        for k in range(K):
            p = tmp[k] + Y[i, k]
            q = alpha * p + (1.0 - alpha) * Y[i, k]
            if q > 0.0:
                total += q * np.log(q)
            total -= alpha * tmp[k] * (Z[i, k] + B[k])
        return max(total, 0.0)
    log_alpha = np.log(alpha) if alpha > 0.0 else 0.0
    log1m_alpha = np.log1p(-alpha)
    total = 0.0
    for k in range(K):
        total += sample_gap(df, Y[i, k], Z[i, k] + B[k], alpha, log_alpha, log1m_alpha)
    return total


@njit(**_JIT)
def block_derivatives(df, Y, a, Z, B, D, gB):
    """``D_ik = a_i ∂ℓ/∂z_ik``; ``gB = Σ_i D_i`` (the intercepts' gradient)."""
    K = B.shape[0]
    tmp = np.empty(K)
    gB[:] = 0.0
    for i in range(Y.shape[0]):
        sample_grad_block(df, Y, Z, B, i, tmp)
        for k in range(K):
            D[i, k] = a[i] * tmp[k]
            gB[k] += D[i, k]


@njit(**_JIT_FAST)
def col_dot_block(X, Xd, Xi, Xp, sparse, j, D, m, out):
    """``out_k = Σ_i (x_ij − m) D_ik`` (dense) or ``Σ_i x_ij D_ik`` (sparse)."""
    K = out.shape[0]
    for k in range(K):
        out[k] = 0.0
    if sparse:
        for q in range(Xp[j], Xp[j + 1]):
            i = Xi[q]
            for k in range(K):
                out[k] += Xd[q] * D[i, k]
    else:
        for i in range(X.shape[0]):
            xv = X[i, j] - m
            for k in range(K):
                out[k] += xv * D[i, k]


@njit(**_JIT_FAST)
def col_axpy_block(X, Xd, Xi, Xp, sparse, j, delta, V, m):
    """``V_ik += (x_ij − m)·delta_k`` (dense) or ``x_ij·delta_k`` (sparse)."""
    K = delta.shape[0]
    if sparse:
        for q in range(Xp[j], Xp[j + 1]):
            i = Xi[q]
            for k in range(K):
                V[i, k] += Xd[q] * delta[k]
    else:
        for i in range(X.shape[0]):
            xv = X[i, j] - m
            for k in range(K):
                V[i, k] += xv * delta[k]


@njit(**_JIT)
def block_gradient(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, mu, features, G, D, gB):
    """``G_j = X̃_jᵀD`` for ``j`` in ``features`` (centred directions; see the scalar
    :func:`gradient`); fills ``D`` and ``gB``."""
    K = B.shape[0]
    if K == 1 and df != MULTINOMIAL:  # one output: the scalar kernel on 1-D views
        n = Y.shape[0]
        gB[0] = gradient(df, X, Xd, Xi, Xp, sparse, Y.reshape(n), a, Z.reshape(n), B[0], mu, features,
                         G.reshape(G.shape[0]), D.reshape(n))
        return
    block_derivatives(df, Y, a, Z, B, D, gB)
    n = D.shape[0]
    # one output at a time through the vectorised column dots: K passes over the columns
    # beat one pass whose inner loop runs over the K outputs
    col = np.empty(n)
    out = np.empty(G.shape[0])
    for k in range(K):
        for i in range(n):
            col[i] = D[i, k]
        cols_dot(X, Xd, Xi, Xp, sparse, features, col, mu, out)
        for j in features:
            G[j, k] = out[j] - (mu[j] * gB[k] if sparse else 0.0)


@njit(**_JIT)
def group_lipschitz(X, Xd, Xi, Xp, sparse, a, mu, gptr, gidx, curvature, out, hptr, HG):
    """``out_g = curvature · λ_max(X̃_gᵀ A X̃_g)`` (power iterations on the small Gram matrix), and
    that Gram matrix, row-major, in ``HG[hptr[g]:hptr[g+1]]`` for the groups that have room
    (``hptr[g+1] − hptr[g] = |g|²``; 0 for the others)."""
    n = a.shape[0]
    for g in range(gptr.shape[0] - 1):
        start = gptr[g]
        size = gptr[g + 1] - start
        if size == 0:
            out[g] = 0.0
            continue
        C = np.zeros((size, n))
        for t in range(size):
            j = gidx[start + t]
            if sparse:
                for q in range(Xp[j], Xp[j + 1]):
                    C[t, Xi[q]] = Xd[q]
                if mu[j] != 0.0:
                    for i in range(n):
                        C[t, i] -= mu[j]
            else:
                for i in range(n):
                    C[t, i] = X[i, j] - mu[j]
            for i in range(n):
                C[t, i] *= np.sqrt(a[i])
        H = C @ C.T
        if hptr[g + 1] - hptr[g] == size * size:
            for u in range(size):
                for v in range(size):
                    HG[hptr[g] + u * size + v] = H[u, v]
        if size == 1:
            out[g] = curvature * H[0, 0]
            continue
        v = np.ones(size) / np.sqrt(size)
        lam = 0.0
        for _ in range(100):
            u = H @ v
            norm = np.sqrt(np.sum(u * u))
            if norm == 0.0:
                break
            new = np.sum(v * u)
            v = u / norm
            if abs(new - lam) <= 1e-12 * new:
                lam = new
                break
            lam = new
        # the power iterate approaches λ_max from below: pad by the residual's bound
        u = H @ v
        res = np.sqrt(np.sum((u - lam * v) ** 2))
        out[g] = curvature * (lam + res)


@njit(**_JIT)
def block_prox(Wg, Vg, l1g, l2, lam_g, step):
    """``Wg ← argmin ½‖U − Vg‖² + step·(Σ l1_j|U_jk| + l2‖U‖² + lam_g‖U‖_F)`` (rows: features):
    soft-threshold, group shrinkage, then ``1/(1 + 2·step·l2)``."""
    m, K = Vg.shape
    sq = 0.0
    for t in range(m):
        thr = step * l1g[t]
        for k in range(K):
            v = Vg[t, k]
            u = v - thr if v > thr else (v + thr if v < -thr else 0.0)
            Wg[t, k] = u
            sq += u * u
    norm = np.sqrt(sq)
    shrink = 0.0
    if norm > step * lam_g:
        shrink = (1.0 - step * lam_g / norm) / (1.0 + 2.0 * step * l2)
    for t in range(m):
        for k in range(K):
            Wg[t, k] *= shrink


@njit(**_JIT)
def group_violation(Wg, Gg, l1g, l2, lam_g):
    """``dist(−G_g, ∂r_g(W_g))`` in the Frobenius norm (0 exactly at the block's optimum)."""
    m, K = Wg.shape
    wn = 0.0
    for t in range(m):
        for k in range(K):
            wn += Wg[t, k] * Wg[t, k]
    wn = np.sqrt(wn)
    s = 0.0
    for t in range(m):
        for k in range(K):
            g = Gg[t, k]
            w = Wg[t, k]
            if w == 0.0:
                r = abs(g) - l1g[t]
                r = r if r > 0.0 else 0.0
            else:
                r = g + l1g[t] * (1.0 if w > 0.0 else -1.0) + 2.0 * l2 * w + lam_g * w / wn
            s += r * r
    if wn == 0.0:
        return max(np.sqrt(s) - lam_g, 0.0)
    return np.sqrt(s)


@njit(**_JIT)
def group_dual_scaling(Gg, l1g, l2, lam_g, alpha):
    """Largest ``α' ≤ alpha`` keeping ``−α'·G_g`` in the dual ball of the group's penalty
    (``‖soft(α'G_g, l1)‖_F ≤ lam_g``; only binding without an L2 part)."""
    if l2 > 0.0:
        return alpha
    m, K = Gg.shape

    def excess(t):
        s = 0.0
        for q in range(m):
            for k in range(K):
                r = t * abs(Gg[q, k]) - l1g[q]
                if r > 0.0:
                    s += r * r
        return np.sqrt(s) - lam_g

    if excess(alpha) <= 0.0:
        return alpha
    lo = 0.0
    hi = alpha
    for _ in range(100):  # bisection to rounding: excess is increasing in t
        mid = 0.5 * (lo + hi)
        if excess(mid) <= 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-16 * hi:
            break
    return lo


@njit(**_JIT)
def group_gap_term(Wg, U, l1g, l2, lam_g):
    """Fenchel–Young gap ``r_g(W_g) + r_g*(U) − ⟨W_g, U⟩ ≥ 0`` of the group's penalty, with
    ``r_g*(U) = (‖soft(U, l1)‖_F − lam_g)₊² / (4·l2)`` (0 inside the dual ball without L2)."""
    m, K = Wg.shape
    value = 0.0
    inner = 0.0
    wn = 0.0
    soft = 0.0
    for t in range(m):
        for k in range(K):
            w = Wg[t, k]
            value += l1g[t] * abs(w) + l2 * w * w
            wn += w * w
            inner += w * U[t, k]
            r = abs(U[t, k]) - l1g[t]
            if r > 0.0:
                soft += r * r
    value += lam_g * np.sqrt(wn)
    conj = 0.0
    if l2 > 0.0:
        e = max(np.sqrt(soft) - lam_g, 0.0)
        conj = e * e / (4.0 * l2)
    return max(value + conj - inner, 0.0)


@njit(**_JIT)
def _group_view(M, gidx, start, size, out):
    K = M.shape[1]
    for t in range(size):
        j = gidx[start + t]
        for k in range(K):
            out[t, k] = M[j, k]


@njit(**_JIT)
def block_certificate(df, Y, a, Z, B, W, G, gB, P, gptr, gidx, glam, LG, groups, fit_intercept):
    """``(gap, stationarity)`` over ``groups`` (as the scalar :func:`duality_gap`): the
    Fenchel duality gap of the penalized groups with the dual point ``θ = −α∇F`` rescaled
    into every group's dual ball, and ``Σ v_g² / (2 LG_g)`` over the unpenalized groups and
    ``‖gB‖² / (2 ℓ''_max)`` for the intercepts. ``G`` holds the gradient of those groups."""
    K = B.shape[0]
    maxsize = 0
    for g in groups:
        maxsize = max(maxsize, gptr[g + 1] - gptr[g])
    Wg = np.empty((maxsize, K))
    Gg = np.empty((maxsize, K))
    l1g = np.empty(maxsize)
    alpha = 1.0
    stationarity = 0.0
    for g in groups:
        start = gptr[g]
        size = gptr[g + 1] - start
        if size == 0 or LG[g] <= 0.0:
            continue
        _group_view(G, gidx, start, size, Gg)
        free = glam[g] == 0.0
        for t in range(size):
            l1g[t] = P[0, gidx[start + t]]
            if l1g[t] != 0.0:
                free = False
        l2 = P[1, gidx[start]]
        if free and l2 == 0.0:
            _group_view(W, gidx, start, size, Wg)
            v = group_violation(Wg[:size], Gg[:size], l1g[:size], 0.0, 0.0)
            stationarity += v * v / (2.0 * LG[g])
            continue
        alpha = group_dual_scaling(Gg[:size], l1g[:size], l2, glam[g], alpha)
    gap = 0.0
    if alpha < 1.0:
        tmp = np.empty(K)
        for i in range(Y.shape[0]):
            gap += a[i] * block_sample_gap(df, Y, Z, B, i, alpha, tmp)
    for g in groups:
        start = gptr[g]
        size = gptr[g + 1] - start
        if size == 0 or LG[g] <= 0.0:
            continue
        free = glam[g] == 0.0
        for t in range(size):
            l1g[t] = P[0, gidx[start + t]]
            if l1g[t] != 0.0:
                free = False
        l2 = P[1, gidx[start]]
        if free and l2 == 0.0:
            continue
        _group_view(W, gidx, start, size, Wg)
        _group_view(G, gidx, start, size, Gg)
        for t in range(size):
            for k in range(K):
                Gg[t, k] *= -alpha
        gap += group_gap_term(Wg[:size], Gg[:size], l1g[:size], l2, glam[g])
    if fit_intercept:
        c = block_curvature(df)
        for k in range(K):
            stationarity += gB[k] * gB[k] / (2.0 * c)
    return gap, stationarity


@njit(**_JIT)
def block_violations(W, G, P, gptr, gidx, glam, LG, out):
    """Per group, :func:`group_violation` (−1 where ``LG_g = 0``)."""
    K = W.shape[1]
    maxsize = 0
    for g in range(gptr.shape[0] - 1):
        maxsize = max(maxsize, gptr[g + 1] - gptr[g])
    Wg = np.empty((maxsize, K))
    Gg = np.empty((maxsize, K))
    l1g = np.empty(maxsize)
    for g in range(gptr.shape[0] - 1):
        start = gptr[g]
        size = gptr[g + 1] - start
        if size == 0 or LG[g] <= 0.0:
            out[g] = -1.0
            continue
        _group_view(W, gidx, start, size, Wg)
        _group_view(G, gidx, start, size, Gg)
        for t in range(size):
            l1g[t] = P[0, gidx[start + t]]
        out[g] = group_violation(Wg[:size], Gg[:size], l1g[:size], P[1, gidx[start]], glam[g])


@njit(**_JIT)
def block_penalty_value(W, P, gptr, gidx, glam):
    """The penalty of every block (see :func:`block_penalty_groups`)."""
    return block_penalty_groups(W, P, gptr, gidx, glam, np.arange(gptr.shape[0] - 1))


@njit(**_JIT_FAST)
def col_dot_block_weighted(X, j, a, R, m, out):
    """``out_k = Σ_i (x_ij − m) a_i R_ik`` (dense ``X``)."""
    K = out.shape[0]
    for k in range(K):
        out[k] = 0.0
    for i in range(X.shape[0]):
        xv = (X[i, j] - m) * a[i]
        for k in range(K):
            out[k] += xv * R[i, k]


@njit(**_JIT)
def _group_exact_steps(cur, start_w, g0, Hg, size, K, l1g, l2, lam_g, step, inner, Vg):
    """Prox-gradient steps on one group's exact quadratic (squared error): the gradient at ``cur``
    is ``g0 + 2·H_g·(cur − start_w)``; up to ``inner`` steps, until they stop moving."""
    for it in range(inner):
        biggest = 0.0
        scale = 0.0
        for u in range(size):
            for k in range(K):
                grad = g0[u, k]
                if it > 0:
                    for v in range(size):
                        grad += 2.0 * Hg[u * size + v] * (cur[v, k] - start_w[v, k])
                Vg[u, k] = cur[u, k] - step * grad
        block_prox(Vg[:size], Vg[:size], l1g[:size], l2, lam_g, step)
        for u in range(size):
            for k in range(K):
                d = abs(Vg[u, k] - cur[u, k])
                biggest = max(biggest, d)
                scale = max(scale, abs(Vg[u, k]))
                cur[u, k] = Vg[u, k]
        if biggest <= 1e-12 * scale or Hg.shape[0] == 0:
            break


@njit(**_JIT_FAST)
def _resid_dot(X, j, r, a, m, uniform):
    """``Σ_i (x_ij − m) a_i r_i`` (dense)."""
    s = 0.0
    if uniform:
        for i in range(X.shape[0]):
            s += (X[i, j] - m) * r[i]
        return s * a[0]
    for i in range(X.shape[0]):
        s += (X[i, j] - m) * a[i] * r[i]
    return s


@njit(**_JIT)
def block_epoch(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, W, groups, gptr, gidx, glam, LG, P, mu,
                fit_intercept, D, R, hptr, HG):
    """One pass of block coordinate descent over ``groups`` (then the intercepts).

    The squared error on dense ``X`` keeps the residual ``R = Y − Z − B`` (its gradient is
    ``−2 X̃ᵀAR``; ``Z`` is brought up to date at the end, exact steps on the intercepts); other
    cases recompute the derivatives of the rows a group touches before its step (sparse centred
    squared error: the intercepts' gradient is invariant under the steps, as in the scalar
    kernels). With the group's Gram matrix (``HG``, least squares), the group's quadratic is
    minimised by prox-gradient steps that need no pass over the data (adelie solves it exactly
    too). Returns ``Σ_g LG_g ‖ΔW_g‖²``.
    """
    n, K = Z.shape
    squared = df == SQUARED_ERROR
    resid = squared and not sparse
    maxsize = 0
    for g in groups:
        maxsize = max(maxsize, gptr[g + 1] - gptr[g])
    Vg = np.empty((maxsize, K))
    g0 = np.empty((maxsize, K))
    cur = np.empty((maxsize, K))
    start_w = np.empty((maxsize, K))
    l1g = np.empty(maxsize)
    row = np.empty(K)
    delta = np.empty(K)
    tmp = np.empty(K)
    gB = np.zeros(K)
    no_gram = np.empty(0)
    uniform = _block_epoch_start(Y, a, Z, B, R, gB, resid, sparse and squared and fit_intercept)
    moved = 0.0
    r1 = R.reshape(n * K)  # K = 1: the residual as a contiguous vector
    # The multinomial on dense X: the derivatives once per epoch (D0 at Z0), then each group's
    # gradient is that of Böhning's quadratic bound ½·a_i(I − 11ᵀ/K) on the softmax's Hessian
    # around Z0 — a majorizer, so every step still lowers the objective — with no exp per group.
    bohning = df == MULTINOMIAL and not sparse
    D0 = np.empty((n, K) if bohning else (0, K))
    Z0 = np.empty((n, K) if bohning else (0, K))
    if bohning:
        for i in range(n):
            sample_grad_block(df, Y, Z, B, i, tmp)
            for k in range(K):
                D0[i, k] = a[i] * tmp[k]
                Z0[i, k] = Z[i, k]
    for g in groups:
        start = gptr[g]
        size = gptr[g + 1] - start
        if size == 0 or LG[g] <= 0.0:
            continue
        if bohning:
            _bohning_derivatives(a, Z, Z0, D0, D)
        elif not resid:
            if sparse:  # the rows each column touches
                for t in range(size):
                    j = gidx[start + t]
                    for q in range(Xp[j], Xp[j + 1]):
                        i = Xi[q]
                        sample_grad_block(df, Y, Z, B, i, tmp)
                        for k in range(K):
                            D[i, k] = a[i] * tmp[k]
            else:
                for i in range(n):
                    sample_grad_block(df, Y, Z, B, i, tmp)
                    for k in range(K):
                        D[i, k] = a[i] * tmp[k]
        step = 1.0 / LG[g]
        for t in range(size):
            j = gidx[start + t]
            if resid and K == 1:
                row[0] = -2.0 * _resid_dot(X, j, r1, a, mu[j], uniform)
            elif resid:
                col_dot_block_weighted(X, j, a, R, mu[j], row)
                for k in range(K):
                    row[k] *= -2.0
            else:
                col_dot_block(X, Xd, Xi, Xp, sparse, j, D, mu[j], row)
                if sparse:
                    for k in range(K):
                        row[k] -= mu[j] * gB[k]
            for k in range(K):
                g0[t, k] = row[k]
                start_w[t, k] = W[j, k]
                cur[t, k] = W[j, k]
            l1g[t] = P[0, j]
        exact = squared and hptr[g + 1] - hptr[g] == size * size
        Hg = HG[hptr[g]:hptr[g + 1]] if exact else no_gram
        _group_exact_steps(cur, start_w, g0, Hg, size, K, l1g, P[1, gidx[start]], glam[g], step,
                           30 if exact else 1, Vg)
        for t in range(size):
            j = gidx[start + t]
            changed = False
            for k in range(K):
                delta[k] = cur[t, k] - W[j, k]
                if delta[k] != 0.0:
                    changed = True
            if not changed:
                continue
            for k in range(K):
                moved += LG[g] * delta[k] * delta[k]
                W[j, k] = cur[t, k]
            if resid:  # Z is recomputed from R at the end
                for k in range(K):
                    delta[k] = -delta[k]
                if K == 1:
                    col_axpy(X, Xd, Xi, Xp, sparse, j, delta[0], r1, mu[j])
                else:
                    col_axpy_block(X, Xd, Xi, Xp, sparse, j, delta, R, mu[j])
            else:
                col_axpy_block(X, Xd, Xi, Xp, sparse, j, delta, Z, mu[j])
                if sparse and squared and fit_intercept:
                    for k in range(K):
                        B[k] -= mu[j] * delta[k]
    _block_epoch_end(df, Y, a, Z, B, R, D, gB, resid, fit_intercept)
    return moved


@njit(**_JIT)
def _block_epoch_start(Y, a, Z, B, R, gB, resid, sparse_centred):
    """:func:`block_epoch`'s state before its first group: the residual ``R = Y − Z − B`` (dense
    squared error) or the intercepts' gradient ``gB`` (sparse centred squared error: invariant
    under the steps). Returns whether the sample weights are uniform."""
    n, K = Z.shape
    uniform = True
    for i in range(n):
        if a[i] != a[0]:
            uniform = False
            break
    if resid:
        for i in range(n):
            for k in range(K):
                R[i, k] = Y[i, k] - Z[i, k] - B[k]
    elif sparse_centred:
        for i in range(n):
            for k in range(K):
                gB[k] -= 2.0 * a[i] * (Y[i, k] - Z[i, k] - B[k])
    return uniform


@njit(**_JIT)
def _bohning_derivatives(a, Z, Z0, D0, D):
    """The multinomial's derivatives ``D`` from Böhning's bound around ``Z0`` (``D0`` there)."""
    n, K = Z.shape
    for i in range(n):
        shift = 0.0
        for k in range(K):
            shift += Z[i, k] - Z0[i, k]
        shift /= K
        for k in range(K):
            D[i, k] = D0[i, k] + 0.5 * a[i] * (Z[i, k] - Z0[i, k] - shift)


@njit(**_JIT)
def _block_epoch_end(df, Y, a, Z, B, R, D, gB, resid, fit_intercept):
    """:func:`block_epoch`'s last steps: ``Z`` from the residual (dense squared error) and the
    intercepts' steps (exact for the squared error, a curvature-bounded step otherwise)."""
    n, K = Z.shape
    squared = df == SQUARED_ERROR
    if resid:
        for k in range(K):
            shift = 0.0
            if fit_intercept:
                for i in range(n):
                    shift += a[i] * R[i, k]
            for i in range(n):
                Z[i, k] = Y[i, k] - R[i, k] - B[k]
            B[k] += shift
    elif fit_intercept:
        if squared:
            for k in range(K):
                s = 0.0
                for i in range(n):
                    s += a[i] * (Y[i, k] - Z[i, k] - B[k])
                B[k] += s
        else:
            block_derivatives(df, Y, a, Z, B, D, gB)
            c = block_curvature(df)
            for k in range(K):
                B[k] -= gB[k] / c


@njit(**_JIT)
def block_penalty_groups(W, P, gptr, gidx, glam, groups):
    """The penalty of the blocks ``groups``."""
    K = W.shape[1]
    total = 0.0
    for g in groups:
        sq = 0.0
        for q in range(gptr[g], gptr[g + 1]):
            j = gidx[q]
            for k in range(K):
                w = W[j, k]
                total += P[0, j] * abs(w) + P[1, j] * w * w
                sq += w * w
        total += glam[g] * np.sqrt(sq)
    return total


@njit(**_JIT)
def _block_anderson(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, W, feats, groups, gptr, gidx, glam, P, mu, hist,
                    Wtry, Ztry):
    """Anderson extrapolation of the last iterates in ``hist`` (rows: ``W[feats]`` then ``B``,
    flattened); kept if it lowers the objective. Returns whether it was."""
    n, K = Z.shape
    extrap = np.empty(hist.shape[1])
    if not anderson_combination(hist, extrap):
        return False
    m = feats.shape[0]
    Ztry[:, :] = Z
    Wtry[:, :] = W
    delta = np.empty(K)
    for t in range(m):
        j = feats[t]
        moved = False
        for k in range(K):
            Wtry[j, k] = extrap[t * K + k]
            delta[k] = Wtry[j, k] - W[j, k]
            if delta[k] != 0.0:
                moved = True
        if moved:
            col_axpy_block(X, Xd, Xi, Xp, sparse, j, delta, Ztry, mu[j])
    Btry = extrap[m * K:].copy()
    current = block_loss(df, Y, a, Z, B) + block_penalty_groups(W, P, gptr, gidx, glam, groups)
    trial = block_loss(df, Y, a, Ztry, Btry) + block_penalty_groups(Wtry, P, gptr, gidx, glam, groups)
    if trial < current:
        for t in range(m):
            j = feats[t]
            for k in range(K):
                W[j, k] = Wtry[j, k]
        Z[:, :] = Ztry
        B[:] = Btry
        return True
    return False


@njit(**_JIT)
def solve_blocks_subproblem(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, W, groups, gptr, gidx, glam, LG, P, mu,
                            fit_intercept, tol, max_epochs, check_every, anderson_k, G, hptr, HG):
    """Block coordinate descent on ``groups`` until their certificate is ≤ ``tol``, Anderson-
    extrapolated every ``anderson_k + 1`` epochs (0: never).

    Returns ``(epochs, gap, stationarity)`` of the restricted problem at exit."""
    n, K = Z.shape
    D = np.empty((n, K))
    R = np.empty((n, K))
    gB = np.empty(K)
    feats = np.empty(gidx.shape[0], dtype=np.int64)
    m = 0
    for g in groups:
        for q in range(gptr[g], gptr[g + 1]):
            feats[m] = gidx[q]
            m += 1
    feats = feats[:m]
    gap = np.inf
    stationarity = np.inf
    epoch = 0
    ratio = 1.0
    hist = np.empty((anderson_k + 1, m * K + K))
    Wtry = np.empty_like(W) if anderson_k > 0 else np.empty((1, K))
    Ztry = np.empty_like(Z) if anderson_k > 0 else np.empty((1, K))
    slot = 0
    while epoch < max_epochs:
        moved = block_epoch(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, W, groups, gptr, gidx, glam, LG, P, mu,
                            fit_intercept, D, R, hptr, HG)
        epoch += 1
        if anderson_k > 0:
            for t in range(m):
                for k in range(K):
                    hist[slot, t * K + k] = W[feats[t], k]
            for k in range(K):
                hist[slot, m * K + k] = B[k]
            if slot == anderson_k:
                _block_anderson(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, W, feats, groups, gptr, gidx, glam, P, mu,
                                hist, Wtry, Ztry)
                slot = 0
            else:
                slot += 1
        if epoch % check_every == 0 or epoch == max_epochs or moved * ratio <= tol:
            block_gradient(df, X, Xd, Xi, Xp, sparse, Y, a, Z, B, mu, feats, G, D, gB)
            gap, stationarity = block_certificate(df, Y, a, Z, B, W, G, gB, P, gptr, gidx, glam, LG, groups,
                                                  fit_intercept)
            if gap <= tol and stationarity <= tol:
                break
            if moved > 0.0:
                ratio = max(1.0, (gap + stationarity) / moved)
    return epoch, gap, stationarity
