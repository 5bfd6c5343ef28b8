"""The data fits' scalar blocks (squared error, logistic, Poisson) and their dispatchers."""

import numpy as np

from .base import _INLINE, _JIT, _JIT_FAST, LOGISTIC, POISSON, SQUARED_ERROR, njit, unknown_code
from .matrix import cols_dot

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
    its third-order Taylor expansion, Poisson the series of ``e^d − 1 − d`` (:func:`expm1_minus_x`).
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
    if df == POISSON:  # (e^z − y)·d + e^z·(e^d − 1 − d): the second term by its series for tiny d
        e = np.exp(z)
        return (e - y) * d + e * expm1_minus_x(d)
    unknown_code(0, df)
    return 0.0


@njit(**_JIT)
def expm1_minus_x(d):
    """``e^d − 1 − d`` without cancellation: its series ``d²/2 + d³/6 + … + d⁸/8!`` for ``|d| < 1e-2``
    (remainder below 1e-18 of it), else ``expm1(d) − d`` (relative error at most ~2·eps/|d|)."""
    if abs(d) < 1e-2:
        return d * d * (0.5 + d * (1.0 / 6.0 + d * (1.0 / 24.0 + d * (1.0 / 120.0 + d * (
            1.0 / 720.0 + d * (1.0 / 5040.0 + d / 40320.0))))))
    return np.expm1(d) - d


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
