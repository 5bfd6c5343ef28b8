"""Proximal Newton for the log-loss on tall designs, each quadratic model solved on its weighted Gram matrix.

The data fit is ``L_data(w, b) = Σ_i a_i log(1 + exp(−s_i z_i))``, ``z = Xw + b``, ``s_i = ±1``. At
``(w, b)`` with derivatives ``d_i = ∂L/∂z_i`` and curvatures ``h_i = a_i σ(z_i)(1 − σ(z_i))``, a
proximal Newton step on the working set ``W`` minimises the second-order model

    gᵀΔ + g_b Δb + ½ Σ_i h_i (x_iᵀΔ + Δb)² + pen(w + Δ)

(``g = X_Wᵀd``, ``g_b = Σ d``). Minimising over the (unpenalized) ``Δb`` centres the columns by
their ``h``-weighted means ``μ_h``: with ``X̃ = diag(√h)(X_W − μ_h)``, ``r = X̃w_W − d/√h``, the model
in ``v = w_W + Δ`` is ``½‖r − X̃v‖² + pen(v)`` up to a constant: a penalized least-squares problem
on the weighted Gram matrix ``X̃ᵀX̃`` (``n·|W|²`` flops, BLAS-3), solved by
:func:`._kernels.gram_solve` at O(|W|) per coordinate step instead of the naive method's O(n).
A backtracking line search on the true objective (Armijo) follows, as in the naive proximal Newton.

Pays where ``n ≫ |W|``: the naive inner solve spends ``n·|W|`` per epoch, this one ``n·|W|²/2``
once per Newton step. The certificate of every point is the naive method's, on ``X`` (the
duality gap from the full gradient, :func:`._kernels.duality_gap`), so the stopping rule and what
``converged`` means are unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

from .results import _ROUNDING_FLOOR, SolverPlan, SolverResult

METHOD = ("proximal Newton, each model solved on the weighted Gram matrix of its working set "
          "(tall design)")
MAX_WORKING_SET = 400  # largest working set solved on its Gram matrix (else: the naive route)
INNER_RATIO = 0.1  # each model is solved to this fraction of the current certificate
INNER_EPOCHS = 200  # epochs per model at most (each O(|W|²); the model is then solved well enough to descend)
MAX_NEWTON = 50  # Newton steps per point at most (then the naive route finishes the point)
ARMIJO = 1e-4
REUSE_MAX = 20  # models that reuse one whole weighted Gram matrix at most (NewtonGramPath._hessian)


def applies(X, datafit, unit, y=None):
    """Dense tall ``X`` (``n ≥ 4p``), the log-loss, a convex separable penalty."""
    import scipy.sparse as sp

    from ..datafits import Logistic

    n, p = X.shape
    if sp.issparse(X) or not isinstance(datafit, Logistic) or np.ndim(y) > 1 or n < 4 * p or p == 0:
        return False
    if unit is None:
        return True
    kp = unit.kernel(p)
    return kp.groups is None and kp.convex


class NewtonGramPath:
    """The log-loss path's points (:meth:`solve_point`, the path loop's stand-in for ``solve``)."""

    method = METHOD

    def __init__(self, X, y, datafit, sample_weight=None, fit_intercept=True, offset=None):
        from .problem import LinearProblem

        self.problem = LinearProblem.build(X, y, datafit, sample_weight, fit_intercept, offset=offset)
        self.X = np.asarray(self.problem.kernel_X[0])
        self.offset = offset
        self._kept = None  # the last whole weighted Gram matrix (_hessian)

    def _z(self, w, b):
        z = self.X @ w  # one BLAS pass (no copy of the support's columns)
        z += float(b)
        return z if self.offset is None else z + self.offset

    def _certificate(self, k, z, w, b, kp, grad, buf):
        """``(certificate, Σd)`` on X at ``z = Xw + b (+ offset)`` (the naive method's), ``grad`` filled
        along the centred directions ``x_j − μ_j``."""
        pb = self.problem
        b_int = float(b) + (float(pb.mu @ w) if pb.centred_in_place else 0.0)  # the kernels' state
        zx = z - b_int
        idx = np.arange(w.shape[0])
        grad_b = k.gradient(pb.datafit.code, *pb.kernel_X, pb.y, pb.a, zx, b_int, pb.mu, idx, grad, buf)
        gap, stationarity = k.duality_gap(pb.datafit.code, pb.y, pb.a, zx, b_int, w, grad, grad_b, kp.code,
                                          kp.params, pb.L, idx, pb.fit_intercept)
        return max(float(gap + stationarity), 0.0), float(buf.sum())  # a sum of terms ≥ 0 (−1e-31: rounding)

    def solve_point(self, penalty, *, coef_init=None, intercept_init=None, tol=1e-4, max_iter=1000, bounds=None):
        """``L_data + penalty`` from ``(coef_init, intercept_init)``; a :class:`SolverResult`."""
        from .coordinate_descent import kernel_penalty, solve

        pb, k = self.problem, self.problem.kernels
        p = pb.n_features
        kp = kernel_penalty(penalty, p, bounds)
        w = np.zeros(p) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel()
        if kp.bounded:
            np.clip(w, kp.lower, kp.upper, out=w)
        b = (pb.null_intercept if intercept_init is None else float(intercept_init)) if pb.fit_intercept else 0.0
        threshold = max(tol * pb.null_loss, _ROUNDING_FLOOR * float(pb.a @ (pb.y * pb.y)))
        grad, buf, scores = np.zeros(p), np.empty(pb.n_samples), np.empty(p)
        usable = pb.L > 0
        unpenalized = usable & kp.free
        epochs, steps = 0, 0
        while True:
            z = self._z(w, b)  # from w: every verdict is on a fresh state
            certificate, sum_d = self._certificate(k, z, w, b, kp, grad, buf)
            if certificate <= threshold or steps >= MAX_NEWTON or epochs >= max_iter:
                break
            ws = _working_set(k, w, grad, kp, pb.L, usable, unpenalized, scores)
            if ws.shape[0] > MAX_WORKING_SET:
                break
            g = grad[ws] + pb.mu[ws] * sum_d  # x_jᵀd from the centred directions' gradient
            moved, _ = self._newton_step(k, kp, w, b, z, g, ws, INNER_RATIO * certificate, INNER_EPOCHS)
            # max_iter counts passes over X: a Newton step costs a few (its Gram epochs cost O(|W|²) each)
            epochs += 1
            steps += 1
            if moved is None:  # no decrease along the step: the rounding level, or the model is off
                break
            w, b = moved
        if certificate > threshold:  # the naive method finishes (and certifies) the point
            res = solve(pb, penalty, coef_init=w, intercept_init=b, tol=tol, max_iter=max(max_iter - steps, 1),
                        bounds=bounds)
            return SolverResult(**{**res.__dict__, "n_iter": res.n_iter + epochs})
        objective = pb.datafit.value(pb.y, z, pb.a) + float(k.penalty_value(w, kp.code, kp.params, np.arange(p)))
        plan = SolverPlan(datafit=pb.datafit.name, penalty=kp.name, method=METHOD, working_sets="on", gram=True,
                          anderson_k=0, support_steps=False, screening=False, certificate="duality gap")
        return SolverResult(coef=w, intercept=float(b), certificate=certificate, threshold=float(threshold),
                            n_iter=int(max(epochs, 1)), converged=True, objective=float(objective), plan=plan)

    def _newton_step(self, k, kp, w, b, z, g, ws, inner_tol, max_epochs):
        """One proximal Newton step on ``ws`` from ``z = Xw + b (+ offset)``, ``g = X_Wᵀd``, with its line
        search: ``((w, b) or None, epochs)``."""
        pb = self.problem
        y, a = pb.y, pb.a
        d = a * (-y * expit(-y * z))
        sig = expit(z)
        h = np.maximum(a * sig * (1.0 - sig), 1e-300)
        g_b = float(d.sum()) if pb.fit_intercept else 0.0
        G, H_b, mu_h, reused = self._hessian(h, ws)
        # c = ½ X̃ᵀ r with r = X̃ w_W − d/√h: ½ (2G w_W − (g − g_b μ_h)); ½‖r‖² (only the inner gap reads it)
        c = G @ w[ws] - 0.5 * (g - g_b * mu_h)
        yy = 0.5 * float(d @ (d / h)) + float(w[ws] @ (2.0 * c - G @ w[ws]))
        v = w[ws].copy()
        gv = G @ v
        params = np.zeros(k.N_PARAMS)
        params[k.P_SUPPORT_COST] = 1.0
        params[k.P_FACE_SOLVES] = 4
        P = np.ascontiguousarray(kp.params[:, ws])
        epochs, _, _, _ = k.gram_solve(G, c, yy, v, gv, kp.code, P, float(inner_tol), int(max(max_epochs, 1)),
                                       min(64, ws.shape[0]) if (kp.is_elastic_net and kp.sign_bounds_only) else 0,
                                       params)
        delta = v - w[ws]
        delta_b = -(g_b + H_b * float(mu_h @ delta)) / H_b if pb.fit_intercept else 0.0
        full = np.zeros(w.shape[0])
        full[ws] = delta
        dz = self.X @ full + delta_b
        pen_old = float(k.penalty_value(w, kp.code, kp.params, ws))
        w_new = w.copy()
        w_new[ws] = v
        decrease = float(g @ delta) + g_b * delta_b + float(k.penalty_value(w_new, kp.code, kp.params, ws)) - pen_old
        if not decrease < 0:
            return None, epochs
        f_old = float(a @ -log_expit(y * z))
        t = 1.0
        for _ in range(30):
            w_new[ws] = w[ws] + t * delta
            f_new = float(a @ -log_expit(y * (z + t * dz)))
            pen_new = float(k.penalty_value(w_new, kp.code, kp.params, ws))
            if f_new + pen_new <= f_old + pen_old + ARMIJO * t * decrease:
                if reused and t < 1.0:  # the kept curvatures no longer fit: the next model recomputes them
                    self._kept = None
                return (w_new, b + t * delta_b), epochs
            t *= 0.5
        if reused:
            self._kept = None
            return self._newton_step(k, kp, w, b, z, g, ws, inner_tol, max_epochs)
        return None, epochs

    def _hessian(self, h, ws):
        """``(G, H_b, μ_h, reused)``: half the ``h``-weighted centred Gram matrix of the working set, ``Σh``
        and the ``h``-weighted means. Where the working set covers half the features or more, the whole
        ``p × p`` matrix is computed and kept: the next models (neighbouring λ, whose curvatures moved
        little) reuse it, up to :data:`REUSE_MAX` times or until a step with it needs backtracking (any
        positive semi-definite model gives a descent direction; the line search and the certificate on
        X keep every point exact)."""
        kept = self._kept
        if kept is not None and kept["uses"] < REUSE_MAX:
            kept["uses"] += 1
            return np.asfortranarray(kept["G"][np.ix_(ws, ws)]), kept["H_b"], kept["mu"][ws], True
        p = self.X.shape[1]
        whole = 2 * ws.shape[0] >= p
        cols = np.arange(p) if whole else ws
        H_b = float(h.sum())
        mu = (h @ self.X) / H_b if self.problem.fit_intercept else np.zeros(p)
        Xt = self.X[:, cols]  # the one copy: √h ∘ x_j, centred in G (the model only steers the step)
        Xt *= np.sqrt(h)[:, None]
        G = Xt.T @ Xt
        G -= H_b * np.outer(mu[cols], mu[cols])
        G *= 0.5
        if whole:
            self._kept = {"G": G, "H_b": H_b, "mu": mu, "uses": 0}
            G = G[np.ix_(ws, ws)]
        return np.asfortranarray(G), H_b, mu[ws], False


def _working_set(k, w, grad, kp, L, usable, unpenalized, scores):
    """The support, the unpenalized features and the most violating others (a quarter of the
    support's size, at least 10): Newton models on the Gram matrix cost ``n·|W|²``, so the working
    set grows only as far as the violations ask."""
    k.violations(w, grad, kp.code, kp.params, L, scores)
    forced = usable & ((w != 0) | unpenalized)
    candidates = usable & ~forced & (scores > 0)
    extra = min(int(candidates.sum()), max(10, int(forced.sum()) // 4))
    chosen = forced.copy()
    if extra > 0:
        score = np.where(candidates, scores, -np.inf)
        chosen[np.argpartition(-score, extra - 1)[:extra]] = True
    return np.flatnonzero(chosen)
