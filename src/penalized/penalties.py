"""Penalties ``L_reg``: the second term of ``L(w) = L_data(w) + λ · L_reg(w)``.

Scale conventions (the same everywhere in penalized, identical to Keras' regularizers):

=============  ===============================================
``L1(lam)``    ``lam · Σ_j c_j |w_j|``
``L2(lam)``    ``lam · Σ_j c_j w_j²``            (no ½)
``L1L2(l1,l2)`` ``l1 · Σ_j c_j |w_j| + l2 · Σ_j c_j w_j²``
=============  ===============================================

``c_j`` are optional per-feature penalty factors (``weights``; glmnet's
``penalty.factor``): 0 leaves feature ``j`` unpenalized, the default is 1.

Every penalty offers

- ``value(w)`` (also ``penalty(w)``, like a Keras regularizer),
- ``prox(w, step)`` = ``argmin_z ½‖z − w‖² + step · R(z)``,
- ``subdiff_distance(w, grad)``: per coordinate, the distance from ``−grad`` to the
  subdifferential ``∂R(w)``; all zeros means ``w`` is optimal for ``L_data + R`` when
  ``grad`` is the gradient of ``L_data`` at ``w``,
- ``get_params``/``set_params``, equality and a readable ``repr``, so that
  scikit-learn's ``clone`` and grid searches treat penalties as hyperparameters.

The methods work on NumPy arrays and, unchanged, on PyTorch tensors (they only use
``abs``, ``.clip`` and arithmetic), which is how the same object drives both the linear
solvers and :mod:`penalized.nn`.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np

__all__ = ["Penalty", "ElasticNetFamily", "L1", "L2", "L1L2"]


def check_strength(value, name):
    """Validate a penalty strength: a finite real number ≥ 0; returns it as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0, got {value!r} of type {type(value).__name__}.")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return value


def check_penalty_weights(weights, n_features=None, name="weights"):
    """Validate per-feature penalty factors ``c_j`` (finite, ≥ 0, 1-D, right length)."""
    if weights is None:
        return None
    try:
        c = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of non-negative numbers: {exc}") from None
    if c.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got an array of shape {c.shape}.")
    if not np.all(np.isfinite(c)):
        raise ValueError(f"{name} contains NaN or infinity.")
    if np.any(c < 0):
        raise ValueError(f"{name} must be >= 0 (0 leaves a feature unpenalized), got min {c.min()!r}.")
    if n_features is not None and c.shape[0] != n_features:
        raise ValueError(f"{name} has {c.shape[0]} entries but X has {n_features} features.")
    return c


def _like(c, w):
    """Per-feature factors shaped and typed like ``w`` (NumPy or PyTorch)."""
    if c is None:
        return 1.0
    if isinstance(w, np.ndarray):
        return c.reshape((-1,) + (1,) * (w.ndim - 1)) if w.ndim > 1 else c
    import torch  # only reached with a tensor, so torch is already imported

    t = torch.as_tensor(c, dtype=w.dtype, device=w.device)
    return t.reshape((-1,) + (1,) * (w.ndim - 1)) if w.ndim > 1 else t


def _sign(w):
    return np.sign(w) if isinstance(w, np.ndarray) else w.sign()


class Penalty:
    """Base class: parameter handling (``get_params``, ``set_params``, ``repr``, ``==``).

    Subclasses list their hyperparameters as ``__init__`` keyword arguments stored
    under the same attribute names, as scikit-learn estimators do.
    """

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        valid = self._param_names()
        for key in params:
            if key not in valid:
                name = type(self).__name__
                raise ValueError(f"Invalid parameter {key!r} for {name}; valid ones are {valid}.")
        merged = {**self.get_params(), **params}
        self.__init__(**merged)  # re-validates
        return self

    def __repr__(self):
        sig = inspect.signature(type(self).__init__)
        parts = []
        for name in self._param_names():
            value = getattr(self, name)
            default = sig.parameters[name].default
            if isinstance(value, np.ndarray) or not _params_equal(value, default):
                parts.append(f"{name}={_short_repr(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        a, b = self.get_params(), other.get_params()
        return all(_params_equal(a[k], b[k]) for k in a)

    def __hash__(self):
        params = self.get_params()
        return hash((type(self).__name__,) + tuple(
            tuple(np.ravel(v).tolist()) if isinstance(v, np.ndarray) else v for v in params.values()
        ))

    def __call__(self, w):
        """The penalty's value at ``w`` (Keras' regularizer calling convention)."""
        return self.value(w)

    # -- to implement -----------------------------------------------------------------
    def value(self, w):  # pragma: no cover - abstract
        raise NotImplementedError

    def prox(self, w, step):  # pragma: no cover - abstract
        raise NotImplementedError

    def subdiff_distance(self, w, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    def scaled(self, factor):
        """A copy with every strength multiplied by ``factor`` (used along λ paths)."""
        raise NotImplementedError  # pragma: no cover - abstract


def _params_equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if a is None or b is None:
            return False
        return np.array_equal(np.asarray(a), np.asarray(b))
    return a == b


def _short_repr(value):
    if isinstance(value, np.ndarray):
        if value.size > 6:
            return f"array(shape={value.shape})"
        return "array(" + np.array2string(value, separator=", ") + ")"
    return repr(value)


class ElasticNetFamily(Penalty):
    """``Σ_j c_j (a |w_j| + b w_j²)``: the separable family that L1, L2 and L1L2 belong to.

    Subclasses define the two strengths ``a`` (``_l1``) and ``b`` (``_l2``); every
    operation below is written once for the whole family.
    """

    _l1 = 0.0
    _l2 = 0.0

    # -- per-feature arrays (what the compiled solvers consume) -------------------
    def coordinate_strengths(self, n_features):
        """``(l1_j, l2_j)`` arrays: the penalty is ``Σ_j l1_j |w_j| + l2_j w_j²``."""
        c = check_penalty_weights(self.weights, n_features)
        c = np.ones(n_features) if c is None else c
        return self._l1 * c, self._l2 * c

    # -- the maths -------------------------------------------------------------------
    def value(self, w):
        """``Σ_j c_j (l1 |w_j| + l2 w_j²)``; rows of a 2-D ``w`` share factor ``c_j``."""
        c = _like(self._checked_weights(w), w)
        total = 0.0
        if self._l1:
            total = total + self._l1 * (c * abs(w)).sum()
        if self._l2:
            total = total + self._l2 * (c * w * w).sum()
        return total

    def prox(self, w, step):
        """``argmin_z ½‖z − w‖² + step·R(z)`` = ``soft(w, step·l1·c) / (1 + 2·step·l2·c)``."""
        c = _like(self._checked_weights(w), w)
        z = w
        if self._l1:
            t = step * self._l1 * c
            z = z - z.clip(-t, t)
        if self._l2:
            z = z / (1.0 + 2.0 * step * self._l2 * c)
        return z

    def subdiff_distance(self, w, grad):
        """Per coordinate ``dist(−grad_j, ∂R(w_j))``.

        For ``w_j ≠ 0``: ``|grad_j + l1 c_j sign(w_j) + 2 l2 c_j w_j|``;
        for ``w_j = 0``: ``max(|grad_j| − l1 c_j, 0)``.
        """
        c = _like(self._checked_weights(w), w)
        a = self._l1 * c
        smooth = grad + 2.0 * self._l2 * c * w
        at_zero = (abs(grad) - a).clip(0, None)
        away = abs(smooth + a * _sign(w))
        if isinstance(w, np.ndarray):
            return np.where(w == 0, at_zero, away)
        import torch

        return torch.where(w == 0, at_zero, away)

    def _checked_weights(self, w):
        return check_penalty_weights(self.weights, w.shape[0] if self.weights is not None else None)


class L1(ElasticNetFamily):
    """Lasso penalty ``lam · Σ_j c_j |w_j|``.

    Parameters
    ----------
    lam : float, default=0.01
        Strength λ ≥ 0 (Keras' ``L1(l1=0.01)``; scikit-learn's ``Lasso(alpha)`` is
        ``lam = 2·alpha`` with penalized's mean-squared-error data fit).
    weights : array of shape (n_features,), optional
        Per-feature factors ``c_j`` ≥ 0; 0 leaves a feature unpenalized.
    """

    def __init__(self, lam=0.01, weights=None):
        self.lam = check_strength(lam, "lam")
        self.weights = weights if weights is None else check_penalty_weights(weights)

    @property
    def _l1(self):
        return self.lam

    def scaled(self, factor):
        return L1(self.lam * factor, self.weights)


class L2(ElasticNetFamily):
    """Ridge (Tikhonov) penalty ``lam · Σ_j c_j w_j²`` — no ½, as in Keras.

    Parameters
    ----------
    lam : float, default=0.01
        Strength λ ≥ 0. scikit-learn's ``Ridge(alpha)`` is ``lam = alpha / n`` with the
        mean-squared-error data fit; PyTorch's ``SGD(weight_decay=wd)`` is ``L2(wd / 2)``.
    weights : array of shape (n_features,), optional
        Per-feature factors ``c_j`` ≥ 0; 0 leaves a feature unpenalized.
    """

    def __init__(self, lam=0.01, weights=None):
        self.lam = check_strength(lam, "lam")
        self.weights = weights if weights is None else check_penalty_weights(weights)

    @property
    def _l2(self):
        return self.lam

    def scaled(self, factor):
        return L2(self.lam * factor, self.weights)


class L1L2(ElasticNetFamily):
    """Elastic-net penalty ``l1 · Σ_j c_j |w_j| + l2 · Σ_j c_j w_j²`` (Keras' ``L1L2``).

    Parameters
    ----------
    l1, l2 : float, default=0.0
        Strengths ≥ 0 of the absolute and the squared term. scikit-learn's
        ``ElasticNet(alpha, l1_ratio=ρ)`` is ``L1L2(l1=2·alpha·ρ, l2=alpha·(1 − ρ))``.
    weights : array of shape (n_features,), optional
        Per-feature factors ``c_j`` ≥ 0; 0 leaves a feature unpenalized.
    """

    def __init__(self, l1=0.0, l2=0.0, weights=None):
        self.l1 = check_strength(l1, "l1")
        self.l2 = check_strength(l2, "l2")
        self.weights = weights if weights is None else check_penalty_weights(weights)

    @property
    def _l1(self):
        return self.l1

    @property
    def _l2(self):
        return self.l2

    def scaled(self, factor):
        return L1L2(self.l1 * factor, self.l2 * factor, self.weights)
