"""Anderson extrapolation: the combination of the last iterates that minimises their residual."""

import numpy as np

from .base import _JIT, njit


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
