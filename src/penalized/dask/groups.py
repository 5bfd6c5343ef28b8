"""Group penalties on Dask input: the in-memory block solver and block certificate, on the client.

The distributed Newton (and the squared error's Gram route) reduce every problem to a
penalized quadratic ``yy − 2cᵀw + wᵀGw + pen(w)`` over ``q`` coordinates. For a group
penalty (:class:`~penalized.GroupL1` and its sums with ``L1``/``L2``) that quadratic is
written as the least-squares problem it is, ``(1/N)‖r − Mw‖²`` with ``N = q + 1`` rows: from
``G = VΛVᵀ``, the rows ``√N·Λ^{1/2}Vᵀ`` and a zero row, and ``r = √N·(Λ^{-1/2}Vᵀc, √(yy − cᵀG⁺c))``
(so that ``MᵀM/N = G``, ``Mᵀr/N = c`` and ``‖r‖²/N = yy`` exactly), and handed to
:func:`penalized.solvers.blocks.solve_blocks`: its certificate is the quadratic's own.

The certificate of a point on the cluster is the kernels' ``block_certificate`` called
without samples (the penalty's terms), plus the data fit's term ``Σ a_i gap_i(α)``
summed over the chunks, at the dual scaling ``α`` of the kernels' own
``group_dual_scaling`` (run as Python: an O(p) loop once per pass).
"""

from __future__ import annotations

import numpy as np

_NO_WEIGHTS = np.zeros(0)


def check(kp):
    """Raise what the in-memory block solver raises for this penalty (bounds, uneven L2 parts)."""
    from ..solvers.blocks import _check_groups

    _check_groups(kp)


def free_features(kp):
    """Mask of the features in no penalized group and with no L1/L2 part."""
    s = kp.groups
    free_group = s.lam == 0
    return free_group[s.labels] & (kp.params[0] == 0) & (kp.params[1] == 0)


def lipschitz(kp, gram, curvature):
    """``LG_g = curvature · λ_max(G_gg)`` (the kernels' ``group_lipschitz``) from the a-weighted Gram
    matrix ``gram`` in the solver's coordinates."""
    s = kp.groups
    out = np.zeros(s.n_groups)
    for g in range(s.n_groups):
        members = s.idx[s.ptr[g]:s.ptr[g + 1]]
        if members.size:
            out[g] = curvature * float(np.linalg.eigvalsh(gram[np.ix_(members, members)])[-1])
    return out


def _rows(a):
    """Per feature, the sum over outputs (``a`` of shape (p,) or (p, K))."""
    return a if a.ndim == 1 else a.sum(axis=1)


def change(kp, w, dw):
    """``pen(w + dw) − pen(w)`` summed group by group, each norm's change written as
    ``dwᵀ(v + w)/(‖v‖ + ‖w‖)`` (no cancellation of two totals near the optimum); ``w`` of shape
    (p,) or (p, K) (several outputs: a group holds its features' rows)."""
    s = kp.groups
    l1, l2 = kp.params[0], kp.params[1]
    v = w + dw
    total = float(np.sum(l1 * _rows(np.abs(v) - np.abs(w)) + l2 * _rows(dw * (v + w))))
    num = np.bincount(s.labels, weights=_rows(dw * (v + w)), minlength=s.n_groups)
    den = np.sqrt(np.bincount(s.labels, weights=_rows(v * v), minlength=s.n_groups)) + np.sqrt(
        np.bincount(s.labels, weights=_rows(w * w), minlength=s.n_groups))
    moved = den > 0
    return total + float(np.sum(s.lam[moved] * num[moved] / den[moved]))


def dual_scaling(kp, grad, LG):
    """The largest ``α ≤ 1`` that puts ``−α·grad`` in every penalized group's dual ball (the first
    loop of the kernels' ``block_certificate``, with their ``group_dual_scaling``)."""
    from ..solvers._loader import interpreted

    rule = interpreted().group_dual_scaling
    s = kp.groups
    P = kp.params
    alpha = 1.0
    for g in range(s.n_groups):
        members = s.idx[s.ptr[g]:s.ptr[g + 1]]
        if members.size == 0 or LG[g] <= 0.0:
            continue
        l1g = P[0, members]
        l2 = P[1, members[0]]
        if s.lam[g] == 0.0 and not l1g.any() and l2 == 0.0:
            continue
        gg = grad[members]
        alpha = rule(np.ascontiguousarray(gg[:, None] if gg.ndim == 1 else gg), l1g, l2, s.lam[g], alpha)
    return float(alpha)


def certificate_terms(kp, w, grad, LG, kernels):
    """``(alpha, penalty_gaps, stationarity)`` over every group at ``w`` (no intercept term, no data
    term): the kernels' ``block_certificate`` without samples; ``w`` and ``grad`` of shape (p,) or
    (p, K)."""
    s = kp.groups
    alpha = dual_scaling(kp, grad, LG)
    W = np.ascontiguousarray(w if w.ndim == 2 else w[:, None], dtype=np.float64)
    Gr = np.ascontiguousarray(grad if grad.ndim == 2 else grad[:, None], dtype=np.float64)
    K = W.shape[1]
    # the kernel finds the same α itself (its first loop) and rescales −grad by it; without samples
    # it adds no data term (the chunks sum that one, at this α)
    none = np.zeros((0, K))
    gap, stationarity = kernels.block_certificate(0, none, _NO_WEIGHTS, none, np.zeros(K), W, Gr,
                                                  np.zeros(K), np.ascontiguousarray(kp.params), s.ptr, s.idx,
                                                  s.lam, np.ascontiguousarray(LG), np.arange(s.n_groups), False)
    return alpha, float(gap), float(stationarity)


def least_squares_form(G, c, yy):
    """``(M, r)`` with ``N = q + 1`` rows and ``MᵀM/N = G``, ``Mᵀr/N = c``, ``‖r‖²/N = max(yy, cᵀG⁺c)``;
    ``c`` (q, T) and ``yy`` (T,) give ``r`` (N, T): one right-hand side per column."""
    q = G.shape[0]
    N = q + 1
    vals, vecs = np.linalg.eigh(0.5 * (G + G.T))
    keep = vals > max(vals.max(initial=0.0), 0.0) * q * np.finfo(np.float64).eps
    root = np.sqrt(vals[keep])
    M = np.zeros((N, q))
    M[:q][keep] = np.sqrt(N) * root[:, None] * vecs[:, keep].T
    proj = (vecs[:, keep].T @ c) / (root if np.ndim(c) == 1 else root[:, None])
    r = np.zeros((N,) + np.shape(c)[1:])
    r[:q][keep] = np.sqrt(N) * proj
    r[q] = np.sqrt(N * np.maximum(yy - np.sum(proj * proj, axis=0), 0.0))
    return M, r


def solve(kp, G, c, yy, w0, tol, max_iter):
    """Minimise ``yy − 2cᵀw + wᵀGw + pen(w)`` with the in-memory block solver (see the module
    docstring); stops when its certificate is ≤ ``tol`` (absolute). Returns ``(coef, certificate,
    epochs)``."""
    from ..datafits import SquaredError
    from ..solvers.blocks import solve_blocks
    from ..solvers.problem import LinearProblem

    q = G.shape[0]
    if not yy > 0.0:  # c = 0: the penalized quadratic is smallest at 0
        return np.zeros(q), 0.0, 0
    M, r = least_squares_form(np.asarray(G, dtype=np.float64), np.asarray(c, dtype=np.float64), float(yy))
    problem = LinearProblem.build(M, r, SquaredError(), fit_intercept=False)
    result = solve_blocks(problem, kp, coef_init=np.asarray(w0, dtype=np.float64), tol=tol / problem.null_loss,
                          max_iter=max_iter)
    return result.coef, float(result.certificate), int(result.n_iter)
