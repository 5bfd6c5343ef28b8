"""Data-fit terms ``L_data``: the first term of ``L(w) = L_data(w) + λ · L_reg(w)``.

With linear predictor ``z_i = x_iᵀw + b`` and sample weights ``s_i`` (default 1), every
data fit is a weighted *mean* over samples, ``a_i = s_i / Σ_k s_k``:

- ``SquaredError``: ``L_data = Σ_i a_i (y_i − z_i)²``  (the mean squared error),
- ``Logistic``:     ``L_data = Σ_i a_i log(1 + exp(−y_i z_i))``  (the mean log-loss),
  with labels ``y_i ∈ {−1, +1}`` (the estimators map any two class labels onto them),
- ``Poisson``:      ``L_data = Σ_i a_i (exp(z_i) − y_i z_i)``  (the mean Poisson deviance up
  to a constant), with counts ``y_i ≥ 0`` and log link,
- ``Multinomial``:  ``L_data = Σ_i a_i (−log softmax(z_i)_{y_i})`` with ``z_i = W x_i + b ∈ R^K``
  (``W`` of shape (K, p)), the mean cross-entropy of K classes.

``SquaredError`` also takes several targets (``y`` of shape (n, T): multi-task least squares,
``Σ_i a_i ‖y_i − W x_i − b‖²``).

An offset (glmnet's: exposures, a base model's scores) adds to the linear predictor:
``z_i = x_iᵀw + b + offset_i``.

Each data fit is this Python class (the NumPy reference, traits the solver reads) plus one
block of compiled primitives in :mod:`penalized.solvers._kernels` selected by ``code``.

Because weights are normalised, multiplying all ``s_i`` by a constant changes nothing,
and an integer weight equals repeating the sample. The intercept ``b`` is never
penalized. These NumPy methods are the reference; the compiled solvers
(:mod:`penalized.solvers._kernels`) implement the same formulas, and the tests check
both against each other.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

__all__ = ["Datafit", "SquaredError", "Logistic", "Poisson", "Multinomial"]


def _expm1_minus_x(d):
    """``e^d − 1 − d`` elementwise without cancellation (series for ``|d| < 1e-2``, as the kernels'
    :func:`~penalized.solvers._kernels.datafits.expm1_minus_x`)."""
    d = np.asarray(d, dtype=np.float64)
    series = d * d * (0.5 + d * (1 / 6 + d * (1 / 24 + d * (1 / 120 + d * (1 / 720 + d * (1 / 5040 + d / 40320))))))
    return np.where(np.abs(d) < 1e-2, series, np.expm1(d) - d)


def normalized_weights(n_samples, sample_weight=None):
    """``a_i = s_i / Σ s`` (``1/n`` when ``sample_weight`` is None)."""
    if sample_weight is None:
        return np.full(n_samples, 1.0 / n_samples)
    s = np.asarray(sample_weight, dtype=np.float64)
    return s / s.sum()


class Datafit:
    """Base class of the data-fit terms (see the module docstring for the scale)."""

    code = -1  # identifies the datafit's block in the compiled kernels
    #: ``ℓ''`` is bounded (by ``curvature_bound``): coordinate steps with Lipschitz constants
    #: work; otherwise only proximal Newton steps (with a line search) are safe.
    bounded_curvature = True
    #: Classification data fits need class labels encoded (``±1``, one-hot for several classes).
    needs_labels = False
    #: The linear predictor has several outputs (a (K, p) coefficient matrix) by construction.
    multi_output = False
    #: ``y`` may have several columns, one output each (multi-task least squares).
    multi_target = False
    name = ""

    @staticmethod
    def from_name(name):
        """A data fit from its name: ``"squared_error"`` (also ``"squared"``, ``"mse"``),
        ``"logistic"`` (``"log_loss"``), ``"poisson"``; a Datafit object is returned as is."""
        if isinstance(name, Datafit):
            return name
        table = {"squared_error": SquaredError, "squared": SquaredError, "mse": SquaredError,
                 "logistic": Logistic, "log_loss": Logistic, "poisson": Poisson, "multinomial": Multinomial}
        if isinstance(name, str) and name in table:
            return table[name]()
        raise ValueError(f"datafit must be 'squared_error', 'logistic', 'poisson', 'multinomial' or a Datafit "
                         f"object, got {name!r}.")

    def lipschitz_scale(self, y, a):
        """The factor of ``Σ_i a_i x_ij²`` in the coordinate constants ``L_j``: the curvature
        bound, or for unbounded curvature its value at the null model (a scale, not a bound)."""
        return self.curvature_bound

    def check_target(self, y):
        """Raise ``ValueError`` on targets the data fit cannot take."""

    def saturated_loss(self, y, a):
        """``L_data`` of the saturated model (every prediction exact): 0 for the squared error and
        the log-losses. The solvers' tolerances are relative to ``L(0) − saturated``, the null
        model's excess loss (half its deviance), which is ≥ 0 for every data fit."""
        return 0.0

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self).__name__)

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        if params:
            raise ValueError(f"{type(self).__name__} has no parameters, got {sorted(params)}.")
        return self

    def value(self, y, z, sample_weight=None):
        """``L_data`` at linear predictor ``z`` (offsets included in ``z``)."""
        a = normalized_weights(len(y), sample_weight)
        losses = self._losses(y, z)
        return float(a @ (losses if losses.ndim == 1 else losses.sum(1)))

    def derivative(self, y, z, sample_weight=None):
        """``∂L_data / ∂z_i`` (includes the factor ``a_i``; rows of a 2-D ``z`` for several outputs)."""
        a = normalized_weights(len(y), sample_weight)
        d = self._loss_derivatives(y, z)
        return a * d if d.ndim == 1 else a[:, None] * d

    def gradient(self, X, y, w, b=0.0, sample_weight=None, offset=None):
        """``(∇_w L_data, ∂L_data/∂b)`` at ``(w, b)``; for several outputs ``w`` is (p, K) and the
        gradient (p, K)."""
        z = X @ w + b
        d = self.derivative(y, z if offset is None else z + offset, sample_weight)
        if d.ndim == 1:
            return np.asarray(X.T @ d).ravel(), float(d.sum())
        return np.asarray(X.T @ d), d.sum(0)

    def coordinate_lipschitz(self, X, sample_weight=None):
        """Per-feature Lipschitz constants ``L_j`` of ``∂L_data/∂w_j`` along ``w_j``."""
        if self.curvature_bound is None:
            raise ValueError(f"{type(self).__name__} has unbounded curvature: no Lipschitz constants.")
        a = normalized_weights(X.shape[0], sample_weight)
        sq = X.multiply(X) if hasattr(X, "multiply") else X * X
        return self.curvature_bound * np.asarray(sq.T @ a).ravel()

    @property
    def intercept_lipschitz(self):
        """Lipschitz constant of ``∂L_data/∂b`` (weights sum to one)."""
        return self.curvature_bound

    def null_intercept(self, y, sample_weight=None, offset=None):
        """The best intercept when ``w = 0`` (with the linear predictor ``b + offset``)."""
        raise NotImplementedError  # pragma: no cover - abstract

    # Per-sample formulas beyond the loss and its derivative: what a proximal Newton pass
    # evaluates on a block of samples (:mod:`penalized.dask.chunks` runs them on the workers).
    # They are the compiled kernels' ``sample_loss_curvature``, ``sample_loss_change`` and
    # ``sample_gap`` written on whole vectors; the tests check them against each other.
    def _loss_curvatures(self, y, z):
        """``ℓ''(y_i, z_i)`` per sample (the Hessian weights of the Newton model)."""
        raise NotImplementedError(f"{type(self).__name__} has no per-sample curvature.")

    def _loss_terms(self, y, z):
        """``(ℓ, ℓ', ℓ'')`` per sample; data fits that share work between them override it."""
        return self._losses(y, z), self._loss_derivatives(y, z), self._loss_curvatures(y, z)

    def _loss_changes(self, y, z, d):
        """``ℓ(y_i, z_i + d_i) − ℓ(y_i, z_i)`` per sample, accurate for tiny ``d_i``."""
        raise NotImplementedError(f"{type(self).__name__} has no per-sample loss change.")

    def _step_changes(self, y, z, dz, steps, s):
        """``Σ_i s_i [ℓ(y_i, z_i + t·dz_i) − ℓ(y_i, z_i)]`` for every ``t`` of ``steps`` (a line search's
        trial steps in one sweep)."""
        return np.array([s @ self._loss_changes(y, z, t * dz) for t in steps])

    def _sample_gaps(self, y, z, alpha):
        """``ℓ(z_i) + ℓ*(−θ_i) + θ_i z_i ≥ 0`` per sample at the dual point ``θ = −alpha·ℓ'(z)``: the
        data fit's term of the duality gap (zero when ``alpha = 1``)."""
        raise NotImplementedError(f"{type(self).__name__} has no per-sample duality gap.")

    def _intercept_root(self, y, a, offset, start):
        """The intercept ``b`` solving ``Σ a_i ℓ'(y_i, b + offset_i) = 0`` (increasing in ``b``)."""
        from scipy.optimize import brentq

        def slope(b):
            return float(a @ self._loss_derivatives(y, b + offset))

        lo, hi = start - 1.0, start + 1.0
        while slope(lo) > 0:
            lo = start - 2.0 * (start - lo)
        while slope(hi) < 0:
            hi = start + 2.0 * (hi - start)
        return float(brentq(slope, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps))


class SquaredError(Datafit):
    """Mean squared error ``L_data = Σ_i a_i (y_i − x_iᵀw − b)²``, ``a_i = s_i / Σ s``.

    scikit-learn's least-squares models use half of it, ``(1/2n)‖y − Xw‖²``: hence
    ``lam = 2·alpha`` for ``Lasso`` (see the conversion table in the docs).
    """

    code = 0
    curvature_bound = 2.0  # second derivative of (y − z)²
    multi_target = True
    name = "squared error"

    def _losses(self, y, z):
        return (y - z) ** 2

    def _loss_derivatives(self, y, z):
        return -2.0 * (y - z)

    def null_intercept(self, y, sample_weight=None, offset=None):
        a = normalized_weights(len(y), sample_weight)
        resid = y if offset is None else y - offset
        return float(a @ resid) if np.ndim(resid) == 1 else a @ resid

    def _loss_curvatures(self, y, z):
        return np.full(np.shape(z), 2.0)

    def _loss_terms(self, y, z):
        r = y - z
        return r * r, -2.0 * r, np.full(np.shape(z), 2.0)

    def _loss_changes(self, y, z, d):
        return d * (d - 2.0 * (y - z))

    def _step_changes(self, y, z, dz, steps, s):
        quad = float(s @ (dz * dz))
        lin = float(s @ (dz * (y - z)))
        return np.array([t * t * quad - 2.0 * t * lin for t in steps])

    def _sample_gaps(self, y, z, alpha):
        r = (y - z) * (1.0 - alpha)
        return r * r


class Logistic(Datafit):
    """Mean log-loss ``L_data = Σ_i a_i log(1 + exp(−y_i (x_iᵀw + b)))``, ``y_i ∈ {−1, +1}``.

    scikit-learn's ``LogisticRegression(C)`` sums the losses and puts ``C`` on them:
    dividing its objective by ``C·Σ s`` gives this one with ``L1(1 / (C·Σ s))`` for its L1 penalty
    (``1 / (n·C)`` without sample weights) and ``L2(1 / (2·C·Σ s))`` for its L2 penalty ``½‖w‖²``
    (``1 / (2n·C)``).
    """

    code = 1
    curvature_bound = 0.25  # max of σ(t)(1 − σ(t))
    needs_labels = True
    name = "log-loss"

    def _losses(self, y, z):
        return -log_expit(y * z)

    def _loss_derivatives(self, y, z):
        return -y * expit(-y * z)

    def null_intercept(self, y, sample_weight=None, offset=None):
        a = normalized_weights(len(y), sample_weight)
        p = float(a @ (y > 0))
        if p in (0.0, 1.0):
            raise ValueError("Logistic needs both classes with positive weight in y.")
        b = float(np.log(p / (1.0 - p)))
        return b if offset is None else self._intercept_root(y, a, offset, b - float(a @ offset))

    def _loss_curvatures(self, y, z):
        sg = expit(-y * z)
        return sg * (1.0 - sg)

    def _loss_terms(self, y, z):
        m = -y * z
        sg = expit(m)
        return np.logaddexp(0.0, m), -y * sg, sg * (1.0 - sg)

    @staticmethod
    def _change_coefficients(y, z):
        """``ℓ(z)`` and the Taylor coefficients of ``ℓ(z + d) − ℓ(z)`` up to ``d³``."""
        m = -y * z
        sg = expit(m)
        c2 = sg * (1.0 - sg)
        return m, np.logaddexp(0.0, m), (-y * sg, 0.5 * c2, -y * c2 * (1.0 - 2.0 * sg) / 6.0)

    def _loss_changes(self, y, z, d):
        """Third-order Taylor for ``|d| < 1e-3`` (the kernels' rule: the tiny steps near the optimum
        are not lost in the difference of two close numbers), else the difference."""
        m, base, (g1, g2, g3) = self._change_coefficients(y, z)
        taylor = d * (g1 + d * (g2 + d * g3))
        return np.where(np.abs(d) < 1e-3, taylor, np.logaddexp(0.0, m - y * d) - base)

    def _step_changes(self, y, z, dz, steps, s):
        m, base, (g1, g2, g3) = self._change_coefficients(y, z)
        ydz = y * dz
        out = np.empty(len(steps))
        for k, t in enumerate(steps):
            d = t * dz
            small = np.abs(d) < 1e-3
            taylor = d * (g1 + d * (g2 + d * g3))
            if small.all():
                out[k] = s @ taylor
                continue
            out[k] = s @ np.where(small, taylor, np.logaddexp(0.0, m - t * ydz) - base)
        return out

    def _sample_gaps(self, y, z, alpha):
        """KL(Bernoulli(alpha·σ) ‖ Bernoulli(σ)), ``σ = sigmoid(−yz)``."""
        if alpha == 1.0:
            return np.zeros(np.shape(z))
        m = y * z
        sg = expit(-m)
        term = 0.0 if alpha == 0.0 else alpha * sg * np.log(alpha)
        return term + (1.0 - alpha * sg) * np.logaddexp(0.0, np.log1p(-alpha) - m)


class Poisson(Datafit):
    """Mean Poisson loss ``L_data = Σ_i a_i (exp(z_i) − y_i z_i)``, log link, counts ``y_i ≥ 0``.

    This is half the mean Poisson deviance ``2·Σ a_i (y_i log(y_i/μ_i) − y_i + μ_i)`` minus a
    constant that does not depend on the model, so it has the same minimisers. glum's
    ``GeneralizedLinearRegressor(family="poisson", alpha, l1_ratio=1)`` minimises half the mean
    deviance plus ``alpha·‖w‖₁``: ``L1(lam=alpha)`` here; scikit-learn's ``PoissonRegressor(alpha)``
    adds ``alpha/2·‖w‖²``: ``L2(lam=alpha/2)``. ``ℓ''`` is unbounded, so the solver takes
    proximal Newton steps with a line search.
    """

    code = 2
    curvature_bound = None
    bounded_curvature = False
    name = "Poisson loss"

    def _losses(self, y, z):
        return np.exp(z) - y * z

    def _loss_derivatives(self, y, z):
        return np.exp(z) - y

    def lipschitz_scale(self, y, a):
        return float(max(a @ y, np.finfo(np.float64).tiny))

    def saturated_loss(self, y, a):
        """``Σ a_i (y_i − y_i log y_i)`` (the loss at ``η_i = log y_i``, with ``0·log 0 = 0``)."""
        y = np.asarray(y, dtype=np.float64)
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
        return float(np.asarray(a) @ (y - ylogy))

    def check_target(self, y):
        y = np.asarray(y)
        if np.any(y < 0):
            raise ValueError(f"Poisson needs counts y >= 0, got min(y) = {y.min()!r}.")

    def null_intercept(self, y, sample_weight=None, offset=None):
        a = normalized_weights(len(y), sample_weight)
        mean = float(a @ y)
        if not mean > 0:
            raise ValueError("Poisson needs some positive count in y (with positive weight); all are 0.")
        if offset is None:
            return float(np.log(mean))
        # Σ a (e^{b+o} − y) = 0: b = log(Σ a y) − log(Σ a e^o), with the largest offset factored out
        top = float(np.max(offset))
        return float(np.log(mean) - top - np.log(a @ np.exp(offset - top)))

    def _loss_curvatures(self, y, z):
        return np.exp(z)

    def _loss_terms(self, y, z):
        e = np.exp(z)
        return e - y * z, e - y, e

    def _loss_changes(self, y, z, d):
        """``(e^z − y)·d + e^z·(e^d − 1 − d)``, the second term by its series for tiny ``d`` (the
        kernels' rule: near the optimum ``e^z ≈ y`` and the plain difference loses the step)."""
        e = np.exp(z)
        return (e - y) * d + e * _expm1_minus_x(d)

    def _step_changes(self, y, z, dz, steps, s):
        return np.array([s @ self._loss_changes(y, z, t * dz) for t in steps])

    def _sample_gaps(self, y, z, alpha):
        """With ``ℓ* (v) = (v + y)(log(v + y) − 1)`` and ``σ = alpha·e^z + (1 − alpha)·y``:
        ``e^z − yz + σ(log σ − 1) − alpha(e^z − y)z``."""
        if alpha == 1.0:
            return np.zeros(np.shape(z))
        e = np.exp(z)
        sg = alpha * e + (1.0 - alpha) * y
        positive = sg > 0.0
        conj = np.where(positive, sg * (np.log(np.where(positive, sg, 1.0)) - 1.0), 0.0)
        return np.maximum(e - y * z + conj - alpha * (e - y) * z, 0.0)


class Multinomial(Datafit):
    """Mean cross-entropy of K classes: ``L_data = Σ_i a_i (logsumexp(z_i) − z_{i,y_i})``,
    ``z_i = W x_i + b`` (``W`` of shape (K, p), ``b`` of shape (K,)).

    Targets are one-hot rows (``y`` of shape (n, K); the estimators encode class labels). The
    Hessian of each term is ``diag(p_i) − p_i p_iᵀ ⪯ ½ I`` (Böhning 1992): the solvers' curvature
    bound. scikit-learn's ``LogisticRegression(C)`` (multinomial) is ``L1(1/(n·C))`` (L1) or
    ``L2(1/(2n·C))`` (L2, its ``½‖W‖²``) on this scale, as for two classes.
    """

    code = 3
    curvature_bound = 0.5
    needs_labels = True
    multi_output = True
    name = "multinomial log-loss"

    def _losses(self, y, z):
        top = z.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(z - top).sum(1))
        return lse - (y * z).sum(1)

    def _loss_derivatives(self, y, z):
        top = z.max(axis=1, keepdims=True)
        e = np.exp(z - top)
        return e / e.sum(1, keepdims=True) - y

    def check_target(self, y):
        y = np.asarray(y)
        if y.ndim != 2 or y.shape[1] < 2:
            raise ValueError(f"Multinomial needs one-hot targets of shape (n, K ≥ 2), got shape {y.shape}.")

    def null_intercept(self, y, sample_weight=None, offset=None):
        """``b_k = log p_k`` (class frequencies; centred to sum 0), or with an offset (n, K) the
        ``b`` that matches them: ``Σ_i a_i softmax(b + o_i) = p``."""
        a = normalized_weights(len(y), sample_weight)
        freq = a @ y
        if np.any(freq <= 0):
            raise ValueError("Multinomial needs every class with positive weight in y.")
        b = np.log(freq)
        if offset is not None:
            for _ in range(200):  # b ← b + log p − log(mean softmax): a fixed point, fast near it
                z = b + offset
                e = np.exp(z - z.max(1, keepdims=True))
                fitted = a @ (e / e.sum(1, keepdims=True))
                step = np.log(freq) - np.log(fitted)
                b = b + step
                if np.max(np.abs(step)) < 1e-13:
                    break
        return b - b.mean()

    # per-sample terms on rows (the kernels' sample_grad_block and block_sample_gap, on whole arrays)
    @staticmethod
    def _probabilities(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def _loss_terms(self, y, z):
        """``(ℓ_i, ∂ℓ_i/∂z_i, p_i)``: the losses, their gradients ``p_i − y_i`` and the probabilities
        ``p_i = softmax(z_i)``, whose ``diag(p_i) − p_i p_iᵀ`` is the Hessian of ``ℓ_i``."""
        top = z.max(axis=1, keepdims=True)
        e = np.exp(z - top)
        total = e.sum(1, keepdims=True)
        prob = e / total
        return top[:, 0] + np.log(total[:, 0]) - (y * z).sum(1), prob - y, prob

    def _step_changes(self, y, z, dz, steps, s):
        """``Σ_i s_i [ℓ_i(z_i + t·dz_i) − ℓ_i(z_i)]`` per ``t``, with
        ``lse(z + d) − lse(z) = log(1 + Σ_k p_k (e^{d_k} − 1))`` (accurate for tiny steps) where
        every ``|d_k| < 1``, the difference of the two log-sum-exps elsewhere."""
        prob = self._probabilities(z)
        top = z.max(axis=1)
        lse = top + np.log(np.exp(z - top[:, None]).sum(1))
        ydz = (y * dz).sum(1)
        out = np.empty(len(steps))
        for k, t in enumerate(steps):
            d = t * dz
            small = np.abs(d).max(axis=1) < 1.0
            change = np.log1p(np.sum(prob * np.expm1(np.minimum(d, 1.0)), axis=1))
            if not small.all():
                moved = z + d
                mtop = moved.max(axis=1)
                exact = mtop + np.log(np.exp(moved - mtop[:, None]).sum(1)) - lse
                change = np.where(small, change, exact)
            out[k] = s @ (change - t * ydz)
        return out

    def _sample_gaps(self, y, z, alpha):
        """``ℓ_i(z_i) + ℓ*(v_i) − v_iᵀz_i`` at ``v_i = alpha·(p_i − y_i)``: with
        ``q = alpha·p_i + (1 − alpha)·y_i``, ``ℓ_i + Σ_k q_k log q_k − alpha·(p_i − y_i)ᵀz_i``."""
        if alpha == 1.0:
            return np.zeros(z.shape[0])
        loss, grad, prob = self._loss_terms(y, z)
        q = alpha * prob + (1.0 - alpha) * y
        qlogq = np.where(q > 0.0, q * np.log(np.where(q > 0.0, q, 1.0)), 0.0).sum(1)
        return np.maximum(loss + qlogq - alpha * (grad * z).sum(1), 0.0)
