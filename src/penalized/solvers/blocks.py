"""Working-set block coordinate descent: group penalties and several outputs.

A block is a group of features across the ``K`` outputs (``K = 1`` for one target): the
group lasso ``λ Σ_g c_g ‖w_g‖``, the sparse group lasso (its sum with L1), their elastic-net
variants, and — through ``K`` — multi-output data fits. The outer loop (here) computes the
full gradient and the certificate, stops when the certificate is ≤ ``tol·L(0)``, and
otherwise solves a sub-problem on the working set: the non-zero groups, the unpenalized
ones, and the groups that violate their optimality conditions most
(:func:`._kernels.solve_blocks_subproblem`, prox-gradient steps on one group at a time with
the group's Lipschitz constant). The certificate is the Fenchel duality gap with the dual
point rescaled into every group's dual ball (:func:`._kernels.block_certificate`), the group
version of :mod:`.coordinate_descent`'s.
"""

from __future__ import annotations

import numpy as np

from .group_lasso import GRAM_GROUP_MAX
from .results import _ROUNDING_FLOOR, REFRESH_EPOCHS, Certificate, SolverPlan, SolverResult

INNER_EPOCHS = 500


def _block_state(problem, W, B):
    """``(Z, B_internal)``: ``Z = X̃W + offset`` and the kernels' intercepts (see :mod:`._kernels`)."""
    K = W.shape[1]
    Z = np.empty((problem.n_samples, K))
    _refresh(problem, W, Z)
    if problem.centred_in_place:
        B = B + problem.mu @ W
    return Z, np.ascontiguousarray(B, dtype=np.float64)


def _refresh(problem, W, Z):
    """``Z ← X̃W + offset`` (an offset of shape (n, K) for several outputs)."""
    col = np.empty(problem.n_samples)
    mu = problem.mu if problem.centred_in_place else np.zeros(problem.n_features)
    offset = problem.offset
    for k in range(W.shape[1]):
        problem.kernels.matvec(*problem.kernel_X, np.ascontiguousarray(W[:, k]), mu, col)
        if offset is not None:
            col += offset if offset.ndim == 1 else offset[:, k]
        Z[:, k] = col




def full_gradient(problem, Y, Z, B, G, D, gB):
    """``G = X̃ᵀD`` over every feature (fills ``D``, the weighted derivatives, and ``gB``); on
    dense ``X`` one BLAS product instead of the kernels' column loops."""
    k = problem.kernels
    X = problem.kernel_X[0]
    if problem.kernel_X[4] or X.shape[1] != G.shape[0]:  # sparse
        k.block_gradient(problem.datafit.code, *problem.kernel_X, Y, problem.a, Z, B, problem.mu,
                         np.arange(G.shape[0]), G, D, gB)
        return
    k.block_gradient(problem.datafit.code, *problem.kernel_X, Y, problem.a, Z, B, problem.mu,
                     np.empty(0, dtype=np.int64), G, D, gB)
    G[:] = X.T @ D - np.outer(problem.mu, D.sum(axis=0))


def group_lipschitz(problem, groups):
    """``(LG, hptr, HG)``: the groups' Lipschitz constants and, for small groups, their Gram
    matrices ``X̃_gᵀAX̃_g`` (flattened; cached on the problem for reuse along a path)."""
    cache = problem.__dict__.setdefault("_group_lipschitz", {})
    key = (groups.ptr.tobytes(), groups.idx.tobytes())
    if key not in cache:
        k = problem.kernels
        out = np.empty(groups.n_groups)
        sizes = np.diff(groups.ptr)
        room = np.where(sizes <= GRAM_GROUP_MAX, sizes * sizes, 0)
        hptr = np.zeros(groups.n_groups + 1, dtype=np.int64)
        np.cumsum(room, out=hptr[1:])
        HG = np.zeros(int(hptr[-1]))
        curvature = problem.datafit.lipschitz_scale(problem.y, problem.a)
        k.group_lipschitz(*problem.kernel_X, problem.a, problem.mu, groups.ptr, groups.idx, float(curvature), out,
                          hptr, HG)
        cache.clear()
        cache[key] = (out, hptr, HG)
    return cache[key]


def block_penalty(kp, n_features):
    """``kp`` with its groups: a separable elastic net on several outputs acts elementwise,
    i.e. on singleton groups of strength 0."""
    if kp.groups is not None:
        return kp
    if kp.code != 0 or not kp.convex:
        raise ValueError(f"{kp.name} is not supported with several outputs (multi-task or multinomial); use "
                         "L1, L2, L1L2, GroupL1 or their sums.")
    from dataclasses import replace

    from ..penalties import GroupStructure

    return replace(kp, groups=GroupStructure.from_labels(np.arange(n_features), np.zeros(n_features)),
                   name=kp.name + " (elementwise)")


def _check_groups(kp):
    if kp.bounded:
        raise ValueError("bounds (or positive=True) are not supported with group penalties.")
    l2 = kp.params[1]
    s = kp.groups
    first = l2[s.idx[s.ptr[:-1]]] if s.idx.size else l2
    if not np.allclose(l2[s.idx], np.repeat(first, np.diff(s.ptr)), rtol=1e-12, atol=0):
        raise ValueError("the L2 part of a sum with GroupL1 must have the same strength on every feature "
                         "of a group (its prox is exact only then).")


def solve_blocks(problem, kp, *, coef_init=None, intercept_init=None, tol=1e-4, max_iter=1000,
                 working_set="auto", anderson_k="auto", check_every=5, min_ws_size=10, inner_ratio=0.3,
                 **_ignored):
    """Minimise ``L_data + penalty`` with a group penalty (``kp.groups``) or several outputs; returns a
    :class:`SolverResult`. (For the multinomial loss with an elementwise penalty,
    :func:`.coordinate_descent.solve` adds class-wise proximal Newton steps where these block steps
    stall: :func:`.multinomial.solve_hybrid`.)"""
    if not problem.datafit.bounded_curvature:
        raise ValueError(f"block coordinate steps need a bounded curvature, not the {problem.datafit.name}'s: "
                         "solve it through penalized.solvers.solve (proximal Newton around these steps).")
    kp = block_penalty(kp, problem.n_features)
    _check_groups(kp)
    from . import group_lasso

    if group_lasso.applies(problem, kp):  # the plain group lasso: exact group steps (adelie's)
        return group_lasso.solve_group_lasso(problem, kp, coef_init=coef_init, intercept_init=intercept_init,
                                             tol=tol, max_iter=max_iter, min_ws_size=min_ws_size)
    k = problem.kernels
    n, p = problem.n_samples, problem.n_features
    Y = np.ascontiguousarray(problem.y.reshape(n, -1))
    K = Y.shape[1]
    s = kp.groups
    P = kp.params
    LG, hptr, HG = group_lipschitz(problem, s)
    if coef_init is None:
        W = np.zeros((p, K))
    else:
        W = np.array(np.asarray(coef_init, dtype=np.float64).reshape(K, p).T, order="C")
    if problem.fit_intercept:
        b0 = problem.null_intercept if intercept_init is None else intercept_init
    else:
        b0 = 0.0
    Z, B = _block_state(problem, W, np.broadcast_to(np.asarray(b0, dtype=np.float64), (K,)).copy())
    scale = float(problem.a @ (Y * Y).sum(1))
    threshold = max(tol * problem.null_loss, _ROUNDING_FLOOR * scale)
    G = np.zeros((p, K))
    D = np.empty((n, K))
    gB = np.empty(K)
    scores = np.empty(s.n_groups)
    all_groups = np.arange(s.n_groups)
    usable = LG > 0
    penalized = ((P[0] > 0) | (P[1] > 0)).astype(np.float64)
    free = usable & (s.lam == 0) & (np.bincount(s.labels, weights=penalized, minlength=s.n_groups) == 0)
    use_ws = (s.n_groups > 10) if working_set == "auto" else bool(working_set)
    anderson = 5 if anderson_k == "auto" else int(anderson_k)
    epochs = 0
    refreshed_at = 0
    while True:
        if epochs - refreshed_at >= REFRESH_EPOCHS:
            _refresh(problem, W, Z)
            refreshed_at = epochs
        full_gradient(problem, Y, Z, B, G, D, gB)
        gap, stationarity = k.block_certificate(problem.datafit.code, Y, problem.a, Z, B, W, G, gB, P, s.ptr,
                                                s.idx, s.lam, LG, all_groups, problem.fit_intercept)
        certificate = gap + stationarity
        if not np.isfinite(certificate):
            raise FloatingPointError("the solver produced non-finite values; rescale X and y (e.g. "
                                     "StandardScaler) or increase the penalty.")
        if certificate <= threshold and refreshed_at != epochs:
            _refresh(problem, W, Z)
            refreshed_at = epochs
            continue
        if certificate <= threshold or epochs >= max_iter:
            break
        if use_ws:
            k.block_violations(W, G, P, s.ptr, s.idx, s.lam, LG, scores)
            nonzero = np.bincount(s.labels, weights=np.abs(W).sum(1), minlength=s.n_groups) > 0
            forced = usable & (nonzero | free)
            scores[forced] = np.inf
            scores[~usable] = -1.0
            n_usable = int(usable.sum())
            size = min(n_usable, max(min_ws_size, 2 * int(forced.sum())))
            ws = np.flatnonzero(usable) if size >= n_usable else np.sort(np.argpartition(-scores, size - 1)[:size])
            partial = 4 * ws.shape[0] < 3 * n_usable
        else:
            ws, partial = np.flatnonzero(usable), False
        inner_tol = max(inner_ratio * certificate, 0.3 * threshold) if partial else 0.3 * threshold
        inner, inner_gap, inner_stat = k.solve_blocks_subproblem(
                                                problem.datafit.code, *problem.kernel_X, Y, problem.a, Z, B, W,
                                                ws.astype(np.int64), s.ptr, s.idx, s.lam, LG, P, problem.mu,
                                                problem.fit_intercept, inner_tol,
                                                min(max_iter - epochs, INNER_EPOCHS), check_every, anderson, G,
                                                hptr, HG)
        epochs += max(int(inner), 1)
        if inner_tol <= 0.3 * threshold and max(inner_gap, inner_stat) <= inner_tol:
            # likely the last round: the next certificate on a refreshed Z (a pass over the
            # non-zero columns), so that it need not be computed twice
            _refresh(problem, W, Z)
            refreshed_at = epochs
    objective = k.block_loss(problem.datafit.code, Y, problem.a, Z, B) + k.block_penalty_value(
        W, P, s.ptr, s.idx, s.lam)
    intercept = B - (problem.mu @ W if problem.centred_in_place else 0.0)
    plan = SolverPlan(datafit=problem.datafit.name or type(problem.datafit).__name__, penalty=kp.name,
                      method="block coordinate descent (prox-gradient steps per group)",
                      working_sets="on" if use_ws else "off", gram=False, anderson_k=anderson, support_steps=False,
                      screening=False, certificate="duality gap",
                      reasons=(f"block solver: {problem.n_outputs} output(s), groups of features "
                               f"{'(singletons)' if kp.name.endswith('(elementwise)') else ''}",))
    coef = W[:, 0].copy() if K == 1 else W.T.copy()
    return SolverResult(coef=coef, intercept=float(intercept[0]) if K == 1 else intercept,
                        certificate=float(certificate), threshold=float(threshold), n_iter=int(epochs),
                        converged=bool(certificate <= threshold), objective=float(objective),
                        gradient=G[:, 0].copy() if K == 1 else G.T.copy(), plan=plan)


def certify_blocks(problem, kp, coef, intercept=0.0):
    """The block certificate of ``(coef, intercept)`` (see :func:`penalized.solvers.certify`)."""

    k = problem.kernels
    n, p = problem.n_samples, problem.n_features
    Y = np.ascontiguousarray(problem.y.reshape(n, -1))
    K = Y.shape[1]
    W = np.array(np.asarray(coef, dtype=np.float64).reshape(K, p).T, order="C")
    b = np.broadcast_to(np.asarray(intercept, dtype=np.float64), (K,)).copy()
    kp = block_penalty(kp, p)
    if not problem.fit_intercept and np.any(b != 0):
        raise ValueError("the problem has no intercept but a non-zero intercept was given.")
    Z, B = _block_state(problem, W, b)
    s = kp.groups
    LG = group_lipschitz(problem, s)[0]
    G = np.zeros((p, K))
    gB = np.empty(K)
    full_gradient(problem, Y, Z, B, G, np.empty((n, K)), gB)
    gap, stationarity = k.block_certificate(problem.datafit.code, Y, problem.a, Z, B, W, G, gB, kp.params, s.ptr,
                                            s.idx, s.lam, LG, np.arange(s.n_groups), problem.fit_intercept)
    objective = k.block_loss(problem.datafit.code, Y, problem.a, Z, B) + k.block_penalty_value(
        W, kp.params, s.ptr, s.idx, s.lam)
    return Certificate(value=float(gap + stationarity), null_loss=float(problem.null_loss),
                       objective=float(objective))
