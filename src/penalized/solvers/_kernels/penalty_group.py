"""The group penalty's block: prox, violation, dual scaling and gap term of one group."""

import numpy as np

from .base import _JIT, njit


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
def block_penalty_value(W, P, gptr, gidx, glam):
    """The penalty of every block (see :func:`block_penalty_groups`)."""
    return block_penalty_groups(W, P, gptr, gidx, glam, np.arange(gptr.shape[0] - 1))


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
