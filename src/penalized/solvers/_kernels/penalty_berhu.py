"""BerHu, the reverse Huber penalty: value, slope, prox, change, conjugate."""

import numpy as np

from .base import _INLINE, njit


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
