"""More than two classes on Dask input: distributed proximal Newton for the multinomial log-loss.

``L_data(W, b) = Σ_i a_i (logsumexp(z_i) − z_{i,y_i})``, ``z_i = W x_i + b`` (``W`` of shape (K, p)),
plus an elementwise (L1, L2, L1L2) or group penalty (features grouped across the classes),
as the in-memory :class:`~penalized.LogisticRegression` fits it for ``K > 2`` classes.

Each pass returns, at ``(W, b)``: the loss, the gradient ``Xᵀ(A(P − Y))`` and its intercept
part, and the Hessian ``Σ a_i (x̂_i x̂_iᵀ) ⊗ (diag(p_i) − p_i p_iᵀ)`` over ``vec(W, b)``
(``x̂_i = (x_i, 1)`` with an intercept; class-major order), of size ``K(p + 1)``; with a
direction, also the loss changes at the trial steps and the data term of the certificate
(:mod:`penalized.datafits`' ``Multinomial`` methods run on the workers). The client solves
each Newton model ``gᵀΔ + ½ΔᵀHΔ + pen(W + Δ_W)`` with the in-memory block solver
(:func:`penalized.dask.groups.solve`, the penalty written over ``vec(W, b)``, intercepts
free), takes Armijo's step, and stops on the in-memory certificate: the kernels'
``block_certificate`` (without samples) plus the chunks' data term. Models are over every
coordinate: ``K(p + 1) ≤`` :data:`MAX_COORDINATES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..datafits import Multinomial
from ..solvers.results import _ROUNDING_FLOOR
from . import chunks as C
from . import groups, newton

MAX_COORDINATES = 2000  # K·(p + 1): the Hessian every pass returns is this squared
CURVATURE = 0.5  # Böhning's bound on the multinomial Hessian (the block kernels' block_curvature)


@dataclass(frozen=True)
class MultiStep:
    """What a multinomial pass evaluates (see the module docstring)."""

    W: np.ndarray  # (K, p)
    b: np.ndarray  # (K,)
    target: C.Target
    intercept: bool
    dW: np.ndarray | None = None
    db: np.ndarray | None = None
    steps: np.ndarray | None = None
    alpha: float | None = None
    hessian: bool = True


def _with_ones(X):
    if sp.issparse(X):
        return sp.hstack([X, sp.csr_matrix(np.ones((X.shape[0], 1)))], format="csr")
    return np.column_stack([X, np.ones(X.shape[0])])


def hessian_sums(Xh, prob, s):
    """``Σ_i s_i (x̂_i x̂_iᵀ) ⊗ (diag(p_i) − p_i p_iᵀ)`` in class-major order ``(k, j)``."""
    n, q = Xh.shape
    K = prob.shape[1]
    H = np.empty((K * q, K * q))
    for k in range(K):
        for m in range(k, K):
            v = s * prob[:, k] * ((1.0 if k == m else 0.0) - prob[:, m])
            block = Xh.T @ (Xh.multiply(v[:, None]) if sp.issparse(Xh) else Xh * v[:, None])
            block = block.toarray() if sp.issparse(block) else block
            H[k * q:(k + 1) * q, m * q:(m + 1) * q] = block
            H[m * q:(m + 1) * q, k * q:(k + 1) * q] = block.T
    return H


def multinomial_chunk(xb, yb, sb, index, step):
    X, Y, s = C.load(xb, yb, sb, index, step.target)
    fit = Multinomial()
    Z = np.asarray(X @ step.W.T) + step.b
    sums = {}
    if step.alpha is not None:
        sums["gap"] = float(s @ fit._sample_gaps(Y, Z, step.alpha))
    if step.dW is not None:
        dZ = np.asarray(X @ step.dW.T) + step.db
        sums["changes"] = fit._step_changes(Y, Z, dZ, step.steps, s)
        Z = Z + dZ
    loss, D, prob = fit._loss_terms(Y, Z)
    sums["loss"] = float(s @ loss)
    D *= s[:, None]
    sums["grad"] = np.asarray(X.T @ D)
    sums["grad_b"] = D.sum(axis=0)
    if step.hessian:
        sums["hessian"] = hessian_sums(_with_ones(X) if step.intercept else X, prob, s)
    return C.Partial(sums, {}, {index: X.shape[0]}, {})


@dataclass
class _Stats:
    loss: float
    grad: np.ndarray  # (p, K)
    grad_b: np.ndarray  # (K,)
    hessian: np.ndarray | None


def vector_penalty(kp, K, intercept):
    """The block penalty ``kp`` (over the p features) written over ``vec(W, b)`` (class-major), the
    intercepts free: a group of features is that group across the classes."""
    from ..penalties.base import GroupStructure, KernelPenalty

    s = kp.groups
    p = kp.n_features
    q = p + 1 if intercept else p
    first, second, labels = np.zeros(K * q), np.zeros(K * q), np.empty(K * q, dtype=np.int64)
    for k in range(K):
        first[k * q:k * q + p], second[k * q:k * q + p] = kp.params[0], kp.params[1]
        labels[k * q:k * q + p] = s.labels
        if intercept:
            labels[k * q + p] = s.n_groups + k
    lam = np.concatenate([s.lam, np.zeros(K if intercept else 0)])
    return KernelPenalty.build(kp.code, first, second, None, kp.convex, kp.name + " (over classes)",
                               GroupStructure.from_labels(labels, lam))


class MultinomialFit:
    """Proximal Newton over the cluster for ``K > 2`` classes (see the module docstring)."""

    def __init__(self, data, part, classes, kp, *, fit_intercept, tol, max_iter):
        self.data, self.kp, self.fit_intercept, self.max_iter = data, kp, fit_intercept, max_iter
        self.p, self.K = p, K = data.n_features, classes.shape[0]
        self.target = C.Target("onehot", tuple(classes.tolist()))
        m = part.moments["X"]
        W = m.W
        label_sums = part.sums["labels"]
        freq = np.array([label_sums.get(c, (0.0, None))[0] for c in classes.tolist()]) / W
        if np.any(freq <= 0):
            empty = classes[np.argmax(freq <= 0)]
            raise ValueError(f"class {empty!r} of y has no sample with positive weight.")
        b0 = np.log(freq)
        self.b0 = b0 - b0.mean() if fit_intercept else np.zeros(K)
        self.null_loss = float(np.log(np.exp(self.b0).sum()) - freq @ self.b0)
        self.threshold = max(tol * self.null_loss, _ROUNDING_FLOOR)
        centre = fit_intercept and part.sums["sparse_chunks"] == 0
        self.mu = m.mean if centre else np.zeros(p)
        gram = m.block / W if centre else m.block / W + np.outer(m.mean, m.mean)
        self.LG = groups.lipschitz(kp, gram, CURVATURE)
        self.kp_vec = vector_penalty(kp, K, fit_intercept)
        self.W_total = W
        self.passes = 1
        self.inner_epochs = max(newton.INNER_MIN_EPOCHS, max_iter)

    def _pass(self, W, b, dW=None, db=None, alpha=None, hessian=True):
        step = MultiStep(W=W, b=b, target=self.target, intercept=self.fit_intercept, dW=dW, db=db,
                         steps=newton.TRIAL_STEPS if dW is not None else None, alpha=alpha, hessian=hessian)
        s = self.data.run(multinomial_chunk, step).sums
        self.passes += 1
        T = self.W_total
        stats = _Stats(s["loss"] / T, s["grad"] / T, s["grad_b"] / T, s["hessian"] / T if hessian else None)
        return stats, (s["gap"] / T if "gap" in s else None), (s["changes"] / T if "changes" in s else None)

    def _certificate_terms(self, W, stats):
        from ..solvers._loader import kernels_for

        grad = stats.grad - np.outer(self.mu, stats.grad_b)
        alpha, gaps, stationarity = groups.certificate_terms(self.kp, W.T, grad, self.LG, kernels_for(self.p))
        if self.fit_intercept:
            stationarity += float(stats.grad_b @ stats.grad_b) / (2.0 * CURVATURE)
        return alpha, gaps, stationarity

    def _penalty_change(self, W, dW):
        return groups.change(self.kp, W.T, dW.T)

    def _direction(self, stats, W, b):
        p, K = self.p, self.K
        U = np.column_stack([W, b]) if self.fit_intercept else W
        g = (np.column_stack([stats.grad.T, stats.grad_b]) if self.fit_intercept else stats.grad.T).ravel()
        u = U.ravel()
        # H is singular along the shifts softmax ignores (the same change to every class); a ridge of
        # 1e-12 of its mean diagonal keeps the block solver's exact group steps regular and changes the
        # Newton direction by rounding only (the line search and the certificate judge the steps)
        H = stats.hessian + (1e-12 * np.trace(stats.hessian) / stats.hessian.shape[0]) * np.eye(stats.hessian.shape[0])
        G = 0.5 * H
        c = 0.5 * (H @ u - g)
        yy = newton._least_squares_constant(G, c)
        coef, _, _ = groups.solve(self.kp_vec, G, c, yy, u, newton.INNER_TOL * self.threshold, self.inner_epochs)
        d = (coef - u).reshape(K, -1)
        dW, db = d[:, :p].copy(), (d[:, p].copy() if self.fit_intercept else np.zeros(K))
        decrease = float(g @ (coef - u) + self._penalty_change(W, dW))
        return dW, db, decrease

    def run(self, coef_init=None, intercept_init=None):
        W = np.zeros((self.K, self.p)) if coef_init is None else np.array(coef_init, dtype=np.float64)
        b = self.b0.copy() if intercept_init is None or not self.fit_intercept else np.array(intercept_init, float)
        stats, _, _ = self._pass(W, b)
        while True:
            alpha, gaps, stationarity = self._certificate_terms(W, stats)
            known = gaps + stationarity
            if alpha == 1.0 and known <= self.threshold:
                return self._result(W, b, stats, known)
            if self.passes >= self.max_iter:
                return self._finish(W, b, stats, alpha, known)
            dW, db, decrease = self._direction(stats, W, b)
            if not decrease < 0.0:
                return self._finish(W, b, stats, alpha, known)
            trial, gap, changes = self._pass(W, b, dW, db, alpha=alpha)
            certificate = known + gap
            if certificate <= self.threshold:
                return self._result(W, b, stats, certificate)
            t = next((float(t) for t, ch in zip(newton.TRIAL_STEPS, changes, strict=True)
                      if ch + self._penalty_change(W, t * dW) <= newton.ARMIJO * t * decrease), None)
            if t is None:
                return self._result(W, b, stats, certificate)
            W, b = W + t * dW, b + t * db
            stats = trial if t == 1.0 else self._pass(W, b)[0]

    def _finish(self, W, b, stats, alpha, known):
        if alpha < 1.0:
            known += self._pass(W, b, alpha=alpha, hessian=False)[1]
        return self._result(W, b, stats, known)

    def _result(self, W, b, stats, certificate):
        if self.fit_intercept:  # softmax(z + c) = softmax(z): the intercepts are defined up to a shift
            b = b - b.mean()
        return newton.DaskResult(coef=W, intercept=b, certificate=float(certificate), threshold=self.threshold,
                                 n_iter=self.passes, converged=bool(certificate <= self.threshold),
                                 objective=stats.loss, data_loss=stats.loss)


def fit_multinomial(est, data, part, classes, penalty, offset=None):
    """``LogisticRegression.fit`` on Dask input with ``K > 2`` classes (pass 0 done: ``part``)."""
    from ..solvers.blocks import _check_groups, block_penalty

    name = type(est).__name__
    p, K = data.n_features, classes.shape[0]
    if offset is not None:
        raise NotImplementedError(f"{name}.fit(offset=...) with more than two classes does not take Dask input.")
    if penalty.bounded:
        raise NotImplementedError(f"{name} with more than two classes takes no bounds= or positive=True on Dask input.")
    if K * (p + 1) > MAX_COORDINATES:
        raise NotImplementedError(
            f"{name} on Dask input fits the multinomial model with K·(p + 1) ≤ {MAX_COORDINATES} coefficients "
            f"(each pass returns its Hessian); y has {K} classes and X {p} features.")
    kp = block_penalty(penalty.kp, p)
    _check_groups(kp)
    if part.moments["X"].block is None:  # pass 0 ran without the Gram matrix: the groups' constants need it
        part = data.run(C.label_moments_chunk, gram=True)
        newton.check_partial(part)
    coef0, b0 = est._warm_start(K, p)
    result = MultinomialFit(data, part, classes, kp, fit_intercept=est.fit_intercept, tol=est.tol,
                            max_iter=est.max_iter).run(coef0, b0)
    est.classes_ = classes
    est.coef_ = result.coef
    est.intercept_ = np.asarray(result.intercept, dtype=np.float64)
    est.n_iter_ = np.array([result.n_iter])
    est.dual_gap_ = np.array([result.certificate])
    est._warn_if_not_converged([result])
    return est
