"""Proximal Newton steps of the log-loss group lasso (:mod:`.group_lasso`), as glmnet's and
adelie's IRLS.

At ``z₀ = Xw + b`` the data fit ``Σ a_i ℓ(y_i, z_i)`` has the quadratic model
``const + ½ Σ h_i (z_i − t_i)²`` with ``h_i = a_i ℓ''(z₀_i)`` and ``t_i = z₀_i − ℓ'(z₀_i)/ℓ''(z₀_i)``:
a weighted least-squares problem. With the intercept at its optimum given ``w``, it is the
centred one ``S Σ ã_i (t̃_i − x̃_iᵀw)²/2`` (``S = Σ h_i``, ``ã = h/S``, columns and targets centred
by their ``ã``-weighted means), which :func:`._kernels.group_lasso.group_lasso_epochs` solves on the
working set's groups from fresh ``ã``-weighted Gram matrices. The step to the model's solution
is then halved until the objective does not increase.
"""

from __future__ import annotations

import numpy as np

CURVATURE_FLOOR = 1e-5  # ℓ'' is kept above this (glmnet's guard against zero weights)


def _groups_of(s, ws):
    """``(ptr, idx)`` of the groups ``ws`` of structure ``s``, renumbered ``0..len(ws)−1``."""
    sizes = s.ptr[ws + 1] - s.ptr[ws]
    ptr = np.zeros(ws.shape[0] + 1, dtype=np.int64)
    np.cumsum(sizes, out=ptr[1:])
    # position q of the new layout reads s.idx at the group's start plus q's offset within it
    offsets = np.arange(int(ptr[-1]), dtype=np.int64) - np.repeat(ptr[:-1], sizes)
    return ptr, np.ascontiguousarray(s.idx[np.repeat(s.ptr[ws], sizes) + offsets], dtype=np.int64)


def _eigen(k, X, a, mu, ptr, idx):
    sizes = np.diff(ptr)
    hptr = np.zeros(ptr.shape[0], dtype=np.int64)
    np.cumsum(sizes * sizes, out=hptr[1:])
    HG = np.zeros(int(hptr[-1]))
    k.group_grams(X, a, mu, ptr, idx, hptr, HG)
    evals = np.zeros(idx.shape[0])
    EV = np.zeros_like(HG)
    if sizes.size and sizes[0] > 0 and np.all(sizes == sizes[0]):  # groups of one size: plain reshapes
        size = int(sizes[0])
        vals, vecs = np.linalg.eigh(HG.reshape(-1, size, size))
        return hptr, HG, np.maximum(vals, 0.0).reshape(-1), np.ascontiguousarray(vecs.reshape(-1))
    for size in np.unique(sizes[sizes > 0]):
        gs = np.flatnonzero(sizes == size)
        vals, vecs = np.linalg.eigh(HG[hptr[gs][:, None] + np.arange(size * size)].reshape(-1, size, size))
        evals[ptr[gs][:, None] + np.arange(size)] = np.maximum(vals, 0.0)
        EV[hptr[gs][:, None] + np.arange(size * size)] = vecs.reshape(-1, size * size)
    return hptr, HG, evals, EV


def _objective(s_y, a, z, w, groups, glam, gl2):
    """``Σ a_i log(1 + exp(−s_i z_i)) + Σ_g (λ_g‖w_g‖ + l2_g‖w_g‖²)``."""
    sq = np.bincount(groups.labels, weights=w * w, minlength=groups.n_groups)
    return float(a @ np.logaddexp(0.0, -s_y * z)) + float(glam @ np.sqrt(sq) + gl2 @ sq)


def newton_step(problem, state, ws, s, gl2, inner_tol, max_epochs):
    """One damped proximal Newton step on the groups ``ws`` from ``state`` (a
    :class:`.group_lasso._State` of the log-loss, ``gl2`` its groups' L2 strengths); returns the
    passes spent on the model. ``inner_tol``: the model is solved until a pass moves its value by
    less than this."""
    from scipy.special import expit

    k = problem.kernels
    X, a, y, w = problem.kernel_X[0], problem.a, problem.y, state.w
    mu_a = state.mu
    xw = state.zx + float(mu_a @ w)  # Xw (uncentred)
    b = state.b - float(mu_a @ w)  # the plain intercept
    z = xw + b
    p1 = expit(z)
    curv = np.maximum(p1 * (1.0 - p1), CURVATURE_FLOOR)
    d = -y * expit(-y * z)
    h = a * curv
    total = float(h.sum())
    at = h / total
    t = z - d / curv
    ptr, idx = _groups_of(s, ws)
    mu_h = np.zeros(w.shape[0])
    if problem.fit_intercept:
        mu_h[idx] = X[:, idx].T @ at
        t_bar = float(at @ t)
    else:
        t_bar = 0.0
    hptr, HG, evals, EV = _eigen(k, X, at, mu_h, ptr, idx)
    scale = 2.0 / total
    w_new = w.copy()
    r = (t - t_bar) - (xw - float(mu_h @ w))
    done = k.group_lasso_epochs(X, r, at, mu_h, w_new, np.arange(ws.shape[0], dtype=np.int64), ptr, idx,
                                s.lam[ws] * scale, gl2[ws] * scale, hptr, HG, EV, evals, inner_tol * scale,
                                max_epochs)[0]
    b_new = t_bar - float(mu_h @ w_new) if problem.fit_intercept else 0.0
    step = w_new - w
    x_step = np.empty_like(xw)
    k.matvec(*problem.kernel_X, step, np.zeros_like(w), x_step)
    current = _objective(y, a, z, w, s, s.lam, gl2)
    alpha = 1.0
    for _ in range(30):  # the model's step lowers the objective for a small enough α (convexity)
        trial = _objective(y, a, xw + alpha * x_step + b + alpha * (b_new - b), w + alpha * step, s, s.lam, gl2)
        if trial <= current:
            break
        alpha *= 0.5
    else:
        return max(int(done), 1)  # no decrease found: the point stays (the certificate decides)
    w += alpha * step
    b += alpha * (b_new - b)
    xw += alpha * x_step
    state.b = b + float(mu_a @ w)
    np.subtract(xw, float(mu_a @ w), out=state.zx)
    return max(int(done), 1)
