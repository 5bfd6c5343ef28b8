"""The elastic net's block: prox, the plain (box-free) tests, its closed-form gap terms."""

import numpy as np

from .base import _INLINE, _JIT, PEN_ENET, ROW_HI, ROW_LO, njit


@njit(**_INLINE)
def prox_enet(x, t1, t2):
    """``argmin_u ½(u − x)² + t1|u| + t2 u²`` = ``soft(x, t1) / (1 + 2 t2)``."""
    if x > t1:
        return (x - t1) / (1.0 + 2.0 * t2)
    if x < -t1:
        return (x + t1) / (1.0 + 2.0 * t2)
    return 0.0


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
