"""Kernels of the group-lasso least-squares solver (:mod:`..group_lasso`)."""

import numpy as np

from .base import _JIT, _JIT_FAST, njit
from .block_matrix import _resid_dot

# --------------------------------------------------------------------------- group lasso
# Compiled kernels of the group-lasso least-squares solver (:mod:`.group_lasso`).
#
# The problem: ``Σ_i a_i r_i² + Σ_g (λ_g ‖w_g‖ + l2_g ‖w_g‖²)`` with the residual
# ``r = y − X̃w − b'`` on a dense, Fortran-ordered ``X`` (``X̃``: columns centred by ``mu``, or
# ``mu = 0``; see :mod:`._kernels` for the conventions). Groups are CSR: group ``g`` holds the
# columns ``gidx[gptr[g]:gptr[g+1]]``.
#
# Each group is minimised exactly, as adelie does: with ``H_g = X̃_gᵀAX̃_g = E diag(e) Eᵀ`` (its
# eigendecomposition, computed once per problem), the group's problem is
# ``½uᵀQu − vᵀu + λ_g‖u‖`` with ``Q = 2H_g + 2 l2_g I`` and ``v = 2H_g w_g − ∇_g``, whose solution
# is ``u = 0`` if ``‖v‖ ≤ λ_g`` and else ``u = (Q + (λ_g/t) I)⁻¹ v`` where ``t = ‖u‖`` is the root of
# the decreasing convex ``ψ(t) = Σ_i ṽ_i² / (q_i t + λ_g)² − 1`` (``ṽ = Eᵀv``): Newton's method from
# a lower bound, monotone to rounding.
#
# The passes follow glmnet's and adelie's covariance-free ("naive") scheme: a pass over the
# working set, then passes over its non-zero groups only until they stop moving, then a pass over
# the working set again, until a whole pass moves less than the inner tolerance.


NEWTON_MAX = 60


@njit(**_JIT_FAST)
def centred_axpy(X, j, m, alpha, r):
    """``r_i += alpha·(x_ij − m)``."""
    for i in range(X.shape[0]):
        r[i] += alpha * (X[i, j] - m)


@njit(**_JIT)
def group_norm_root(q, vt, lam):
    """The root ``t > 0`` of ``Σ_i vt_i² / (q_i t + lam)² = 1`` (``‖vt‖ > lam > 0``, ``q ≥ 0``,
    not all 0): Newton's method from the lower bound ``(‖vt‖ − lam) / max q``."""
    size = q.shape[0]
    norm = 0.0
    qmax = 0.0
    for i in range(size):
        norm += vt[i] * vt[i]
        qmax = max(qmax, q[i])
    norm = np.sqrt(norm)
    t = (norm - lam) / qmax
    for _ in range(NEWTON_MAX):
        psi = -1.0
        dpsi = 0.0
        for i in range(size):
            den = q[i] * t + lam
            f = vt[i] * vt[i] / (den * den)
            psi += f
            dpsi -= 2.0 * f * q[i] / den
        if psi <= 0.0 or dpsi >= 0.0:  # at the root to rounding (ψ convex decreasing: never past it)
            break
        step = psi / dpsi
        t -= step
        if -step <= 1e-14 * t:
            break
    return t


@njit(**_JIT)
def group_update(X, r, a, uniform, mu, w, g, gptr, gidx, glam, gl2, hptr, HG, EV, evals, buf):
    """Minimise over group ``g`` exactly; updates ``w`` and ``r``. Returns ``ΔᵀH_gΔ``."""
    start = gptr[g]
    size = gptr[g + 1] - start
    grad = buf[0]
    v = buf[1]
    vt = buf[2]
    q = buf[3]
    u = buf[4]
    base = hptr[g]
    for t in range(size):
        j = gidx[start + t]
        grad[t] = -2.0 * _resid_dot(X, j, r, a, mu[j], uniform)
    vnorm = 0.0
    for t in range(size):
        s = -grad[t]
        for o in range(size):
            s += 2.0 * HG[base + t * size + o] * w[gidx[start + o]]
        v[t] = s
        vnorm += s * s
    lam = glam[g]
    l2 = gl2[g]
    if np.sqrt(vnorm) <= lam:
        for t in range(size):
            u[t] = 0.0
    else:
        for i in range(size):  # eigenvector i is column i of the row-major E
            s = 0.0
            for t in range(size):
                s += EV[base + t * size + i] * v[t]
            vt[i] = s
            q[i] = 2.0 * evals[start + i] + 2.0 * l2
        if lam > 0.0:
            tn = group_norm_root(q[:size], vt[:size], lam)
            for i in range(size):
                vt[i] *= tn / (q[i] * tn + lam)
        else:  # unpenalized (ridge at most): Q⁻¹v, nothing moved along a null direction
            qmax = 0.0
            for i in range(size):
                qmax = max(qmax, q[i])
            for i in range(size):
                vt[i] = vt[i] / q[i] if q[i] > 1e-12 * qmax else 0.0
        for t in range(size):
            s = 0.0
            for i in range(size):
                s += EV[base + t * size + i] * vt[i]
            u[t] = s
    moved = 0.0
    for t in range(size):
        j = gidx[start + t]
        d = u[t] - w[j]
        v[t] = d
        if d != 0.0:
            w[j] = u[t]
            centred_axpy(X, j, mu[j], -d, r)
    for t in range(size):
        s = 0.0
        for o in range(size):
            s += HG[base + t * size + o] * v[o]
        moved += v[t] * s
    return moved


@njit(**_JIT)
def _group_pass(X, r, a, uniform, mu, w, groups, count, gptr, gidx, glam, gl2, hptr, HG, EV, evals, buf):
    """One pass over ``groups[:count]``; returns ``Σ_g Δ_gᵀH_gΔ_g``."""
    moved = 0.0
    for q in range(count):
        moved += group_update(X, r, a, uniform, mu, w, groups[q], gptr, gidx, glam, gl2, hptr, HG, EV, evals,
                              buf)
    return moved


@njit(**_JIT)
def group_lasso_epochs(X, r, a, mu, w, groups, gptr, gidx, glam, gl2, hptr, HG, EV, evals, inner_tol,
                       max_epochs):
    """Passes over ``groups`` (and their non-zero ones) until one whole pass moves
    ``Σ_g Δ_gᵀH_gΔ_g ≤ inner_tol``, or ``max_epochs`` passes (a pass over the non-zero groups
    counts as one). Returns ``(passes, Σ ΔᵀHΔ of the last whole pass)``."""
    uniform = True
    for i in range(a.shape[0]):
        if a[i] != a[0]:
            uniform = False
            break
    maxsize = 1
    for g in groups:
        maxsize = max(maxsize, gptr[g + 1] - gptr[g])
    buf = np.empty((5, maxsize))
    active = np.empty(groups.shape[0], dtype=np.int64)
    epochs = 0
    moved = np.inf
    while epochs < max_epochs:
        moved = _group_pass(X, r, a, uniform, mu, w, groups, groups.shape[0], gptr, gidx, glam, gl2, hptr, HG,
                            EV, evals, buf)
        epochs += 1
        if moved <= inner_tol:
            break
        count = 0
        for g in groups:
            for q in range(gptr[g], gptr[g + 1]):
                if w[gidx[q]] != 0.0:
                    active[count] = g
                    count += 1
                    break
        if count == groups.shape[0]:
            continue  # every group is active: the whole passes are the active ones
        while epochs < max_epochs:
            inner = _group_pass(X, r, a, uniform, mu, w, active, count, gptr, gidx, glam, gl2, hptr, HG, EV,
                                evals, buf)
            epochs += 1
            if inner <= inner_tol:
                break
    return epochs, moved


@njit(**_JIT_FAST)
def _centred_weighted_cross(X, j, mj, l, ml, a, uniform):
    """``Σ_i a_i (x_ij − mj)(x_il − ml)``."""
    s = 0.0
    if uniform:
        for i in range(X.shape[0]):
            s += (X[i, j] - mj) * (X[i, l] - ml)
        return s * a[0]
    for i in range(X.shape[0]):
        s += a[i] * (X[i, j] - mj) * (X[i, l] - ml)
    return s


@njit(**_JIT)
def group_grams(X, a, mu, gptr, gidx, hptr, HG):
    """``HG[hptr[g]:hptr[g+1]] = X̃_gᵀAX̃_g`` (row-major ``|g|×|g|``) for every group."""
    uniform = True
    for i in range(a.shape[0]):
        if a[i] != a[0]:
            uniform = False
            break
    for g in range(gptr.shape[0] - 1):
        start = gptr[g]
        size = gptr[g + 1] - start
        base = hptr[g]
        for t in range(size):
            j = gidx[start + t]
            for o in range(t, size):
                l = gidx[start + o]
                s = _centred_weighted_cross(X, j, mu[j], l, mu[l], a, uniform)
                HG[base + t * size + o] = s
                HG[base + o * size + t] = s
