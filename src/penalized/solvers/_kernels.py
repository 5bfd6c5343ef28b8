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


SQUARED_ERROR = 0
LOGISTIC = 1

# Entries of the ``params`` array that tunes the exact support steps (runtime values, so
# that tuning them needs no recompilation): the cost factor of the ski-rental rule that
# decides when a step is worth trying, and the most Newton solves per face minimisation.
P_SUPPORT_COST = 0
P_FACE_SOLVES = 1
P_NEWTON_FORCING = 2  # proximal Newton: model solved to this fraction of the current violation
N_PARAMS = 3
# With n ≥ p (tall designs: well conditioned supports, where coordinate descent is quick),
# a squared-error support step is skipped while coordinate descent, at its observed linear
# rate, is predicted to converge for less than the step costs, unless it is cheap: less
# than this many epochs, or than this many column entries (cost × n) — it may then end
# the solve outright, with an exact solution. (With n < p, steps on near-singular
# supports are what makes the solve exact: always tried.)
CHEAP_STEP_EPOCHS = 2.0
CHEAP_STEP_ENTRIES = 1e6

_JIT = dict(cache=True, nogil=True)
# Re-association lets LLVM vectorise the column dot products; results stay
# deterministic for a given machine and input.
_JIT_FAST = dict(cache=True, nogil=True, fastmath={"reassoc", "contract"})


# --------------------------------------------------------------------------- columns
@njit(**_JIT_FAST)
def col_dot(X, Xd, Xi, Xp, sparse, j, v, m):
    """``(x_j − m)ᵀ v`` for a dense ``X``, ``x_jᵀ v`` for a sparse one."""
    s = 0.0
    if sparse:
        for k in range(Xp[j], Xp[j + 1]):
            s += Xd[k] * v[Xi[k]]
    else:
        for i in range(X.shape[0]):
            s += (X[i, j] - m) * v[i]
    return s


@njit(**_JIT_FAST)
def col_axpy(X, Xd, Xi, Xp, sparse, j, alpha, v, m):
    """``v += alpha · (x_j − m)`` for a dense ``X``, ``v += alpha · x_j`` for a sparse one."""
    if sparse:
        for k in range(Xp[j], Xp[j + 1]):
            v[Xi[k]] += alpha * Xd[k]
    else:
        for i in range(X.shape[0]):
            v[i] += alpha * (X[i, j] - m)


@njit(**_JIT_FAST)
def col_dot3(X, Xd, Xi, Xp, sparse, j, h, v, m):
    """``Σ_i h_i v_i (x_ij − m)`` (dense) or ``Σ_i h_i v_i x_ij`` (sparse)."""
    s = 0.0
    if sparse:
        for k in range(Xp[j], Xp[j + 1]):
            i = Xi[k]
            s += Xd[k] * h[i] * v[i]
    else:
        for i in range(X.shape[0]):
            s += (X[i, j] - m) * h[i] * v[i]
    return s


@njit(**_JIT_FAST)
def col_axpy3(X, Xd, Xi, Xp, sparse, j, alpha, h, v, m):
    """``v += alpha · h ∘ (x_j − m)`` (dense) or ``v += alpha · h ∘ x_j`` (sparse)."""
    if sparse:
        for k in range(Xp[j], Xp[j + 1]):
            i = Xi[k]
            v[i] += alpha * h[i] * Xd[k]
    else:
        for i in range(X.shape[0]):
            v[i] += alpha * h[i] * (X[i, j] - m)


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
    for j in range(w.shape[0]):
        if w[j] != 0.0:
            col_axpy(X, Xd, Xi, Xp, sparse, j, w[j], out, mu[j])


# ------------------------------------------------------------------------ data fits
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
def curvature_bound(df):
    """Upper bound of ``ℓ''``: 2 for the squared error, ¼ for the log-loss."""
    return 2.0 if df == SQUARED_ERROR else 0.25


@njit(**_JIT)
def sample_loss(df, y, z):
    if df == SQUARED_ERROR:
        return (y - z) * (y - z)
    return log1pexp(-y * z)


@njit(**_JIT)
def sample_loss_derivative(df, y, z):
    if df == SQUARED_ERROR:
        return -2.0 * (y - z)
    return -y * sigmoid(-y * z)


@njit(**_JIT)
def sample_gap(df, y, z, alpha, log_alpha, log1m_alpha):
    """``f(z) + f*(−θ) + θz`` for the dual point ``θ = −alpha·f'(z)`` (one sample, ≥ 0).

    Squared error: ``(y − z)²(1 − alpha)²``. Log-loss: the Kullback–Leibler divergence
    between Bernoulli(alpha·σ) and Bernoulli(σ), ``σ = sigmoid(−yz)``; ``log_alpha`` and
    ``log1m_alpha`` are ``log(alpha)`` (0 when ``alpha = 0``) and ``log(1 − alpha)``,
    computed once by the caller (the compiler does not hoist them out of a loop).
    """
    if alpha == 1.0:
        return 0.0
    if df == SQUARED_ERROR:
        r = (y - z) * (1.0 - alpha)
        return r * r
    m = y * z
    s = sigmoid(-m)
    term = 0.0 if alpha == 0.0 else alpha * s * log_alpha
    return term + (1.0 - alpha * s) * log1pexp(log1m_alpha - m)


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


@njit(**_JIT_FAST)
def coordinate_gradient(df, X, Xd, Xi, Xp, sparse, j, y, a, zx, b, m):
    """``Σ_i a_i (x_ij − m) ℓ'(y_i, zx_i + b)`` (dense) or ``Σ_i a_i x_ij ℓ'(…)`` (sparse)."""
    s = 0.0
    if sparse:
        for k in range(Xp[j], Xp[j + 1]):
            i = Xi[k]
            s += Xd[k] * a[i] * sample_loss_derivative(df, y[i], zx[i] + b)
    else:
        for i in range(X.shape[0]):
            s += (X[i, j] - m) * a[i] * sample_loss_derivative(df, y[i], zx[i] + b)
    return s


@njit(**_JIT)
def gradient(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, mu, idx, grad, buf):
    """``grad_j`` along the centred directions for ``j`` in ``idx``; returns ``∂_b L_data``."""
    grad_b = weighted_derivatives(df, y, a, zx, b, buf)
    for j in idx:
        grad[j] = col_dot(X, Xd, Xi, Xp, sparse, j, buf, mu[j])
        if sparse:
            grad[j] -= mu[j] * grad_b
    return grad_b


# -------------------------------------------------------------------------- penalty
@njit(**_JIT)
def prox_enet(x, t1, t2):
    """``argmin_u ½(u − x)² + t1|u| + t2 u²`` = ``soft(x, t1) / (1 + 2 t2)``."""
    if x > t1:
        return (x - t1) / (1.0 + 2.0 * t2)
    if x < -t1:
        return (x + t1) / (1.0 + 2.0 * t2)
    return 0.0


@njit(**_JIT)
def penalty_value(w, l1, l2, idx):
    s = 0.0
    for j in idx:
        s += l1[j] * abs(w[j]) + l2[j] * w[j] * w[j]
    return s


@njit(**_JIT)
def violations(w, grad, l1, l2, L, out):
    """``dist(−grad_j, ∂pen_j(w_j))`` per feature; −1 for features with ``L_j = 0``."""
    for j in range(w.shape[0]):
        if L[j] == 0.0:
            out[j] = -1.0
        elif w[j] == 0.0:
            out[j] = max(abs(grad[j]) - l1[j], 0.0)
        else:
            sign = 1.0 if w[j] > 0.0 else -1.0
            out[j] = abs(grad[j] + l1[j] * sign + 2.0 * l2[j] * w[j])


# ----------------------------------------------------------------------- certificate
@njit(**_JIT)
def coordinate_gap(wj, u, l1j, l2j):
    """Fenchel-Young gap ``r(w_j) + r*(u) − w_j·u ≥ 0`` of ``r(x) = l1j|x| + l2j x²`` at the dual
    point ``u = −α·grad_j`` (``r*(u) = max(|u| − l1j, 0)² / (4·l2j)``, or 0 inside the box when l2j = 0)."""
    term = l1j * abs(wj) + l2j * wj * wj - wj * u
    if l2j > 0.0:
        excess = max(abs(u) - l1j, 0.0)
        term += excess * excess / (4.0 * l2j)
    return max(term, 0.0)


@njit(**_JIT)
def dual_scaling(grad, l1, l2, idx):
    """Largest ``α ≤ 1`` with ``α·|grad_j| ≤ l1_j`` for the pure-L1 coordinates of ``idx``: the
    factor that makes the dual point ``θ = −α·∇F`` feasible."""
    alpha = 1.0
    for j in idx:
        if l2[j] == 0.0 and l1[j] > 0.0:
            g = abs(grad[j])
            if g * alpha > l1[j]:
                alpha = l1[j] / g
    return alpha


@njit(**_JIT)
def duality_gap(df, y, a, zx, b, w, grad, grad_b, l1, l2, L, idx, fit_intercept):
    """Certificate of optimality at ``(w, b)`` over the coordinates ``idx``.

    Returns ``(gap, stationarity)``. ``gap`` is the Fenchel duality gap of the problem
    in the penalized coordinates of ``idx`` with every other coordinate (unpenalized
    features, the intercept, features outside ``idx``) held at its current value; the
    dual point is ``θ = −alpha·∇F(zx + b)``, rescaled so that ``|x_jᵀθ| ≤ l1_j`` for pure-L1
    coordinates. It is a sum of non-negative terms, zero exactly at the optimum.
    ``stationarity = Σ g_j² / (2 L_j)`` over the unpenalized coordinates (and the
    intercept): the decrease one exact coordinate step would bring on a quadratic.
    """
    alpha = dual_scaling(grad, l1, l2, idx)
    gap = 0.0
    if alpha < 1.0:
        log_alpha = np.log(alpha) if alpha > 0.0 else 0.0
        log1m_alpha = np.log1p(-alpha)
        for i in range(y.shape[0]):
            gap += a[i] * sample_gap(df, y[i], zx[i] + b, alpha, log_alpha, log1m_alpha)
    stationarity = 0.0
    for j in idx:
        if l1[j] == 0.0 and l2[j] == 0.0:
            if L[j] > 0.0:
                stationarity += grad[j] * grad[j] / (2.0 * L[j])
            continue
        gap += coordinate_gap(w[j], -alpha * grad[j], l1[j], l2[j])
    if fit_intercept:
        stationarity += grad_b * grad_b / (2.0 * curvature_bound(df))
    return gap, stationarity


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
def support_newton(X, Xd, Xi, Xp, sparse, S, offsets, sw, decouple, rhs, l1, l2, values, face_max, params):
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
        kinked[t] = l1[S[t]] > 0.0
        if not l2[S[t]] > 0.0:
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
            H[t, t] += 2.0 * l2[S[t]]
        return face_minimize(H, rhs, values, kinked, max(1, int(params[P_FACE_SOLVES]))) > 0
    if not ridge_free:
        return False
    dinv = np.empty(k)
    for t in range(k):
        dinv[t] = 1.0 / (2.0 * l2[S[t]])
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
def squared_support_step(X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, l1, l2, mu, fit_intercept, buf,
                         face_max, params):
    """Exact minimiser of the squared-error objective on the current support of ``ws``.

    On the support, with the signs held, the objective is a quadratic (see
    :func:`support_newton`); coefficients that would change sign stop at zero, so the
    objective cannot increase; the step is undone if rounding says otherwise. Returns
    ``(b, accepted)``.
    """
    k = 0
    for j in ws:
        if w[j] != 0.0 or l1[j] == 0.0:  # the support, and the coordinates smooth at zero
            k += 1
    if k == 0:
        return b, False
    S = np.empty(k, dtype=np.int64)
    k = 0
    for j in ws:
        if w[j] != 0.0 or l1[j] == 0.0:
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
        rhs[t] = g + l1[j] * sign + 2.0 * l2[j] * w[j]
        values[t] = w[j]
    if not support_newton(X, Xd, Xi, Xp, sparse, S, mu, 2.0 * a, fit_intercept, rhs, l1, l2, values,
                          face_max, params):
        return b, False
    before = datafit_value(SQUARED_ERROR, y, a, zx, b) + penalty_value(w, l1, l2, S)
    saved = zx.copy()
    old = np.empty(k)
    for t in range(k):
        j = S[t]
        old[t] = w[j]
        if values[t] != old[t]:
            col_axpy(X, Xd, Xi, Xp, sparse, j, values[t] - old[t], zx, mu[j])
            w[j] = values[t]
    new_b = best_squared_intercept(y, a, zx) if fit_intercept else b
    after = datafit_value(SQUARED_ERROR, y, a, zx, new_b) + penalty_value(w, l1, l2, S)
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
def cd_epoch(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, l1, l2, mu, fit_intercept, buf):
    """One pass of proximal coordinate descent over ``ws`` (then the intercept).

    Each step minimises the quadratic upper bound with curvature ``L_j`` along the
    centred direction (exact for the squared error). Returns the new intercept and
    ``moved = Σ L_j Δ_j²`` (twice the decrease the steps guarantee on the quadratic bound).
    """
    if df == SQUARED_ERROR and not sparse:
        return dense_squared_epoch(X, y, a, zx, b, w, ws, L, l1, l2, mu, fit_intercept, buf)
    moved = 0.0
    # Sparse centred steps need ∂_b L_data: invariant under them for the squared error
    # (the only sparse case that centres), so computed once per epoch.
    grad_b = weighted_derivatives(df, y, a, zx, b, buf) if sparse and fit_intercept else 0.0
    for j in ws:
        if L[j] == 0.0:
            continue
        g = coordinate_gradient(df, X, Xd, Xi, Xp, sparse, j, y, a, zx, b, mu[j])
        if sparse:
            g -= mu[j] * grad_b
        old = w[j]
        step = 1.0 / L[j]
        new = prox_enet(old - step * g, step * l1[j], step * l2[j])
        if new != old:
            w[j] = new
            moved += L[j] * (new - old) * (new - old)
            col_axpy(X, Xd, Xi, Xp, sparse, j, new - old, zx, mu[j])
            if sparse:
                b -= mu[j] * (new - old)
    if fit_intercept:
        b -= weighted_derivatives(df, y, a, zx, b, buf) / curvature_bound(df)
    return b, moved


@njit(**_JIT_FAST)
def dense_squared_epoch(X, y, a, zx, b, w, ws, L, l1, l2, mu, fit_intercept, r):
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
        new = prox_enet(old - step * g, step * l1[j], step * l2[j])
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
def _anderson_step(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, l1, l2, mu, hist, zx_try):
    """Anderson extrapolation of the last iterates in ``hist``; keeps it if it lowers L.

    Returns ``(b, accepted)``; ``w`` and ``zx`` are updated in place on acceptance.
    """
    K = hist.shape[0] - 1
    m = hist.shape[1]
    U = np.empty((K, m))
    for k in range(K):
        for t in range(m):
            U[k, t] = hist[k + 1, t] - hist[k, t]
    C = U @ U.T
    trace = np.trace(C)
    if not trace > 1e-280:  # iterates no longer move (or are not finite)
        return b, False
    reg = 1e-10 * trace
    for k in range(K):
        C[k, k] += reg
    coefs = np.linalg.solve(C, np.ones(K))
    total = coefs.sum()
    if not np.isfinite(total) or total == 0.0:
        return b, False
    coefs /= total
    n_ws = ws.shape[0]
    extrap = np.zeros(m)
    for k in range(K):
        for t in range(m):
            extrap[t] += coefs[k] * hist[k + 1, t]
    zx_try[:] = zx
    pen_try = 0.0
    for t in range(n_ws):
        j = ws[t]
        delta = extrap[t] - w[j]
        if delta != 0.0:
            col_axpy(X, Xd, Xi, Xp, sparse, j, delta, zx_try, mu[j])
        pen_try += l1[j] * abs(extrap[t]) + l2[j] * extrap[t] * extrap[t]
    b_try = extrap[n_ws]
    current = datafit_value(df, y, a, zx, b) + penalty_value(w, l1, l2, ws)
    trial = datafit_value(df, y, a, zx_try, b_try) + pen_try
    if trial < current:
        for t in range(n_ws):
            w[ws[t]] = extrap[t]
        zx[:] = zx_try
        return b_try, True
    return b, False


@njit(**_JIT)
def solve_subproblem(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, l1, l2, mu, fit_intercept,
                     tol, max_epochs, anderson_k, check_every, grad, support_max, params):
    """Coordinate descent restricted to ``ws`` until its certificate is ≤ ``tol``.

    Anderson acceleration every ``anderson_k + 1`` epochs (0 disables it). For the
    squared error, once an epoch leaves the signs of ``w`` on ``ws`` unchanged, the
    quadratic on that support (at most ``support_max`` features; 0 disables it) is
    solved exactly (:func:`squared_support_step`) and the certificate checked at once.
    A step on ``k`` features costs about ``params[P_SUPPORT_COST] · (20 + 2k + k²/8 +
    k³/(12 n))`` column passes (gathering, gradients, then BLAS-3 products and a solve);
    it is tried only once the epochs since the last try have cost as much (each epoch
    costs ``|ws|``), which keeps the total within twice that of the better of the two
    strategies, and (``n ≥ p``) not while the epochs, at the rate of convergence of their
    movement ``Σ L_j Δ_j²``, are predicted to reach ``tol`` for less (unless it is cheap,
    see :data:`CHEAP_STEP_EPOCHS`).
    Returns ``(b, epochs, gap, stationarity, support_steps)`` of the restricted problem
    at exit.
    """
    n = y.shape[0]
    n_ws = ws.shape[0]
    buf = np.empty(n)
    zx_try = np.empty(n)
    hist = np.empty((anderson_k + 1, n_ws + 1))
    signs = np.zeros(n_ws, dtype=np.int8)
    tried = np.zeros(n_ws, dtype=np.int8)  # the sign pattern of the last support step
    use_support = df == SQUARED_ERROR and support_max > 0
    gap = np.inf
    stationarity = np.inf
    epoch = 0
    slot = 0
    support_steps = 0
    work = 0.0  # column passes since the last support step
    ratio = 1.0  # certificate ÷ epoch movement, at the last check
    previous = 0.0  # the movement of the previous epoch
    while epoch < max_epochs:
        work += n_ws
        b, moved = cd_epoch(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, l1, l2, mu, fit_intercept, buf)
        epoch += 1
        rate = moved / previous if previous > 0.0 else 1.0  # linear convergence rate, per epoch
        previous = moved
        if anderson_k > 0:
            for t in range(n_ws):
                hist[slot, t] = w[ws[t]]
            hist[slot, n_ws] = b
            if slot == anderson_k:
                b, _ = _anderson_step(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, l1, l2, mu, hist,
                                      zx_try)
                slot = 0
            else:
                slot += 1
        # the certificate every check_every epochs, or as soon as the epoch's movement,
        # scaled by the gap/movement ratio seen at the last check, predicts convergence
        check = epoch % check_every == 0 or epoch == max_epochs or moved * ratio <= tol
        if use_support:
            stable = True
            same_as_tried = True
            size = 0
            for t in range(n_ws):
                v = w[ws[t]]
                s = 1 if v > 0.0 else (-1 if v < 0.0 else 0)
                if s != signs[t]:
                    stable = False
                    signs[t] = s
                if s != tried[t]:
                    same_as_tried = False
                if s != 0:
                    size += 1
            cost = params[P_SUPPORT_COST] * (20.0 + 2.0 * size + size * size / 8.0 + size * size * size / (12.0 * n))
            worth = True
            if (n >= L.shape[0] and rate < 1.0 and moved > 0.0 and cost > CHEAP_STEP_EPOCHS * n_ws
                    and cost * n > CHEAP_STEP_ENTRIES):
                left = moved * ratio  # the certificate predicted from this epoch's movement
                remaining = np.log(left / tol) / -np.log(rate) if left > tol else 0.0  # epochs
                worth = remaining * n_ws >= cost
            if stable and not same_as_tried and 0 < size <= support_max and work >= cost and worth:
                tried[:] = signs
                work = 0.0
                b, accepted = squared_support_step(X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, l1, l2, mu,
                                                   fit_intercept, buf, support_max, params)
                if accepted:
                    support_steps += 1
                    check = True
                    slot = 0  # the iterates before the jump say nothing about after it
        if check:
            grad_b = gradient(df, X, Xd, Xi, Xp, sparse, y, a, zx, b, mu, ws, grad, buf)
            gap, stationarity = duality_gap(df, y, a, zx, b, w, grad, grad_b, l1, l2, L, ws, fit_intercept)
            if gap <= tol and stationarity <= tol:
                break
            if moved > 0.0:
                ratio = max(1.0, (gap + stationarity) / moved)
    return b, epoch, gap, stationarity, support_steps


# ------------------------------------------------------------------- proximal Newton
@njit(**_JIT)
def logistic_derivatives(y, a, zx, b, d1, h):
    """``d1_i = a_i ℓ'(z_i)``, ``h_i = a_i ℓ''(z_i)`` of the log-loss; returns ``(Σ d1, Σ h)``."""
    s1 = 0.0
    sh = 0.0
    for i in range(y.shape[0]):
        s = sigmoid(-y[i] * (zx[i] + b))
        d1[i] = -a[i] * y[i] * s
        h[i] = a[i] * s * (1.0 - s)
        s1 += d1[i]
        sh += h[i]
    return s1, sh


@njit(**_JIT)
def logistic_change(y, a, zx, b, du, db, t):
    """``Σ_i a_i [ℓ(z_i + t(du_i + db)) − ℓ(z_i)]`` for the log-loss, accurate for tiny steps.

    Differences of two nearly equal sums lose everything below ``eps·L`` (the line search
    then cannot see a Newton step near the optimum); for ``|d| < 1e-3`` each term is
    taken from its third-order Taylor expansion instead.
    """
    total = 0.0
    for i in range(y.shape[0]):
        z = zx[i] + b
        d = t * (du[i] + db)
        if d == 0.0:
            continue
        if abs(d) < 1e-3:
            sg = sigmoid(-y[i] * z)
            c2 = sg * (1.0 - sg)
            third = -y[i] * c2 * (1.0 - 2.0 * sg) / 6.0
            total += a[i] * d * (-y[i] * sg + d * (0.5 * c2 + d * third))
        else:
            total += a[i] * (log1pexp(-y[i] * (z + d)) - log1pexp(-y[i] * z))
    return total


@njit(**_JIT)
def newton_direction(X, Xd, Xi, Xp, sparse, w, ws, l1, l2, mu, fit_intercept, grad, grad_b, h, sum_h,
                     tol, max_epochs, support_max, params, delta, hu):
    """Proximal Newton direction on ``ws``: coordinate descent on the quadratic model.

    Minimises ``gᵀδ + g_b δ_b + ½ Σ_i h_i (x̃_iᵀδ + δ_b)² + pen(w + δ)``. With an
    intercept, ``δ_b`` is eliminated exactly by centring each column with its
    ``h``-weighted mean ``m_j`` (the model then separates), leaving a weighted lasso in
    ``δ`` with gradient ``g_j − g_b m_j`` and curvature ``Σ h x̃_j² − m_j² Σ h``. Epochs
    stop when the largest ``H_j |step_j|`` (the model's optimality violation, in gradient
    units) falls below ``tol``; when an epoch leaves the signs unchanged without getting
    there, the model is solved on its support exactly (:func:`support_newton`).
    Writes ``delta`` and returns ``(δ_b, epochs)``.
    """
    n_ws = ws.shape[0]
    m = np.zeros(n_ws)
    H = np.empty(n_ws)
    gt = np.empty(n_ws)
    for t in range(n_ws):
        j = ws[t]
        if fit_intercept and sum_h > 0.0:
            m[t] = col_dot(X, Xd, Xi, Xp, sparse, j, h, mu[j]) / sum_h
        q = 0.0
        if sparse:
            for k in range(Xp[j], Xp[j + 1]):
                q += h[Xi[k]] * Xd[k] * Xd[k]
        else:
            mj = mu[j]
            for i in range(X.shape[0]):
                d = X[i, j] - mj
                q += h[i] * d * d
        H[t] = max(q - m[t] * m[t] * sum_h, 0.0)
        gt[t] = grad[j] - grad_b * m[t]
    delta[:] = 0.0
    hu[:] = 0.0  # h ∘ X̃δ
    U = 0.0  # Σ h ∘ X̃δ
    signs = np.zeros(n_ws, dtype=np.int8)
    for t in range(n_ws):
        v = w[ws[t]]
        signs[t] = 1 if v > 0.0 else (-1 if v < 0.0 else 0)
    tried = np.zeros(n_ws, dtype=np.int8)
    epochs = 0
    work = 0.0
    n = h.shape[0]
    while epochs < max_epochs:
        epochs += 1
        work += n_ws
        biggest = 0.0
        stable = True
        size = 0
        for t in range(n_ws):
            if H[t] <= 0.0:
                continue
            j = ws[t]
            v = w[j] + delta[t]
            G = gt[t] + col_dot(X, Xd, Xi, Xp, sparse, j, hu, mu[j]) - m[t] * U
            new = prox_enet(v - G / H[t], l1[j] / H[t], l2[j] / H[t])
            if new != v:
                step = new - v
                delta[t] += step
                col_axpy3(X, Xd, Xi, Xp, sparse, j, step, h, hu, mu[j])
                U += step * m[t] * sum_h
                biggest = max(biggest, H[t] * abs(step))
            s = 1 if new > 0.0 else (-1 if new < 0.0 else 0)
            if s != signs[t]:
                stable = False
                signs[t] = s
            if s != 0 or l1[j] == 0.0:  # the support, and the coordinates smooth at zero
                size += 1
        if biggest <= tol:
            break
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
                if signs[t] != 0 or l1[ws[t]] == 0.0:
                    j = ws[t]
                    v = w[j] + delta[t]
                    G = gt[t] + col_dot(X, Xd, Xi, Xp, sparse, j, hu, mu[j]) - m[t] * U
                    S[q] = j
                    pos[q] = t
                    values[q] = v
                    rhs[q] = G + l1[j] * signs[t] + 2.0 * l2[j] * v
                    q += 1
            if support_newton(X, Xd, Xi, Xp, sparse, S, mu, h, fit_intercept, rhs, l1, l2, values,
                              support_max, params):
                for q in range(size):
                    t = pos[q]
                    step = values[q] - (w[S[q]] + delta[t])
                    if step != 0.0:
                        delta[t] += step
                        col_axpy3(X, Xd, Xi, Xp, sparse, S[q], step, h, hu, mu[S[q]])
                        U += step * m[t] * sum_h
    delta_b = 0.0
    if fit_intercept and sum_h > 0.0:
        delta_b = -grad_b / sum_h
        for t in range(n_ws):
            delta_b -= m[t] * delta[t]
    return delta_b, epochs


@njit(**_JIT)
def solve_subproblem_newton(X, Xd, Xi, Xp, sparse, y, a, zx, b, w, ws, L, l1, l2, mu, fit_intercept,
                            tol, max_epochs, grad, support_max, params):
    """Proximal Newton on ``ws`` for the log-loss, until the restricted certificate is ≤ ``tol``.

    Each step: the quadratic model at the current point (weights ``a_i ℓ''``), its
    minimiser by :func:`newton_direction`, then a backtracking line search on the true
    objective (Armijo condition with the model's predicted decrease, as in Tseng & Yun
    2009 and glmnet/skglm's proximal Newton). Returns ``(b, epochs, gap, stationarity,
    newton_steps)``; ``epochs`` counts the coordinate-descent epochs on the models. The
    certificate is first checked after a step (the caller has just found it above ``tol``).
    """
    n = y.shape[0]
    n_ws = ws.shape[0]
    d1 = np.empty(n)
    h = np.empty(n)
    hu = np.empty(n)
    du = np.empty(n)
    delta = np.empty(n_ws)
    gap = np.inf
    stationarity = np.inf
    epochs = 0
    steps = 0
    while epochs < max_epochs:
        grad_b, sum_h = logistic_derivatives(y, a, zx, b, d1, h)
        for j in ws:
            grad[j] = col_dot(X, Xd, Xi, Xp, sparse, j, d1, mu[j])
        if steps > 0:
            gap, stationarity = duality_gap(LOGISTIC, y, a, zx, b, w, grad, grad_b, l1, l2, L, ws,
                                            fit_intercept)
            if gap <= tol and stationarity <= tol:
                break
        worst = 0.0  # largest optimality violation on ws, in gradient units
        for j in ws:
            if w[j] == 0.0:
                worst = max(worst, abs(grad[j]) - l1[j])
            else:
                worst = max(worst, abs(grad[j] + l1[j] * (1.0 if w[j] > 0.0 else -1.0) + 2.0 * l2[j] * w[j]))
        inner_tol = params[P_NEWTON_FORCING] * worst
        delta_b, inner = newton_direction(X, Xd, Xi, Xp, sparse, w, ws, l1, l2, mu, fit_intercept, grad,
                                          grad_b, h, sum_h, inner_tol, max_epochs - epochs, support_max,
                                          params, delta, hu)
        epochs += max(inner, 1)
        # Δz = X̃δ + δ_b and the model's predicted decrease
        du[:] = 0.0
        decrease = grad_b * delta_b  # model's predicted change: gᵀδ + pen(w + δ) − pen(w)
        for t in range(n_ws):
            j = ws[t]
            if delta[t] != 0.0:
                col_axpy(X, Xd, Xi, Xp, sparse, j, delta[t], du, mu[j])
                v = w[j] + delta[t]
                decrease += grad[j] * delta[t] + l1[j] * (abs(v) - abs(w[j]))
                decrease += l2[j] * (v - w[j]) * (v + w[j])
        if not decrease < 0.0:
            break  # no descent left at this precision
        t_step = 1.0
        accepted = False
        for _ in range(40):
            change = logistic_change(y, a, zx, b, du, delta_b, t_step)
            for t in range(n_ws):
                j = ws[t]
                v = w[j] + t_step * delta[t]
                change += l1[j] * (abs(v) - abs(w[j])) + l2[j] * (v - w[j]) * (v + w[j])
            if change <= 1e-4 * t_step * decrease:
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
    return b, epochs, gap, stationarity, steps


# ------------------------------------------------------------------------ Gram mode
@njit(**_JIT)
def gram_gap(G, c, yy, w, gw, l1, l2, grad):
    """Duality gap of ``yy − 2cᵀw + wᵀGw + pen(w)`` from the Gram quantities.

    The same dual point and terms as :func:`duality_gap` for the squared error (the
    residual's weighted sum of squares is ``yy − 2cᵀw + wᵀGw``). Fills ``grad``.
    """
    p = w.shape[0]
    rss = yy
    alpha = 1.0
    for j in range(p):
        grad[j] = 2.0 * (gw[j] - c[j])
        rss += w[j] * (gw[j] - 2.0 * c[j])
        if l2[j] == 0.0 and l1[j] > 0.0:
            g = abs(grad[j])
            if g * alpha > l1[j]:
                alpha = l1[j] / g
    gap = max(rss, 0.0) * (1.0 - alpha) * (1.0 - alpha)
    stationarity = 0.0
    for j in range(p):
        if l1[j] == 0.0 and l2[j] == 0.0:
            if G[j, j] > 0.0:
                stationarity += grad[j] * grad[j] / (4.0 * G[j, j])
            continue
        gap += coordinate_gap(w[j], -alpha * grad[j], l1[j], l2[j])
    return gap, stationarity


@njit(**_JIT)
def gram_solve(G, c, yy, w, gw, l1, l2, tol, max_epochs, support_max, params):
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
    while epochs < max_epochs:
        epochs += 1
        for j in range(p):
            if G[j, j] <= 0.0:
                continue
            lj = 2.0 * G[j, j]
            g = 2.0 * (gw[j] - c[j])
            old = w[j]
            new = prox_enet(old - g / lj, l1[j] / lj, l2[j] / lj)
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
            if s != 0 or l1[j] == 0.0:
                size += 1
        if stable and not same and 0 < size <= support_max:
            tried[:] = signs
            S = np.empty(size, dtype=np.int64)
            q = 0
            for j in range(p):
                if signs[j] != 0 or l1[j] == 0.0:
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
                H[u, u] += 2.0 * l2[j]
                rhs[u] = 2.0 * (gw[j] - c[j]) + l1[j] * signs[j] + 2.0 * l2[j] * w[j]
                values[u] = w[j]
                kinked[u] = l1[j] > 0.0
            if face_minimize(H, rhs, values, kinked, max(1, int(params[P_FACE_SOLVES]))) > 0:
                for u in range(size):
                    j = S[u]
                    d = values[u] - w[j]
                    if d != 0.0:
                        w[j] = values[u]
                        for i in range(p):
                            gw[i] += d * G[i, j]
                steps += 1
        gap, stationarity = gram_gap(G, c, yy, w, gw, l1, l2, grad)
        if gap <= tol and stationarity <= tol:
            break
    return epochs, gap, stationarity, steps


# ------------------------------------------------------------------------ screening
@njit(**_JIT)
def gap_safe_screen(grad, gap, w, l1, l2, L, active, idx):
    """Gap Safe rule (Fercoq, Gramfort & Salmon 2015; Ndiaye et al. 2017) on the features ``idx``.

    With the dual point ``θ = −α ∇F`` (``α`` rescales it into the dual feasible set,
    as in :func:`duality_gap`) and the duality gap ``G``, the dual optimum lies within
    ``‖θ − θ*‖_{A⁻¹} ≤ sqrt(2 G ℓ''_max)``: ``F*`` is ``1/ℓ''_max``-strongly convex in
    the ``A⁻¹``-norm (``a_i`` the sample weights; ``ℓ''_max`` = 2 for the squared error,
    ¼ for the log-loss). Hence ``|x̃_jᵀθ*| ≤ α|g_j| + sqrt(2 G L_j)`` with ``L_j =
    ℓ''_max ‖x̃_j‖²_A``, and ``w*_j = 0`` whenever that is ``< l1_j``. Clears ``active_j``
    for such features whose coefficient is already zero; returns how many.
    """
    alpha = dual_scaling(grad, l1, l2, idx)
    dropped = 0
    radius = 2.0 * max(gap, 0.0)
    for j in idx:
        if active[j] and w[j] == 0.0 and l1[j] > 0.0:
            if alpha * abs(grad[j]) + np.sqrt(radius * L[j]) < l1[j]:
                active[j] = False
                dropped += 1
    return dropped
