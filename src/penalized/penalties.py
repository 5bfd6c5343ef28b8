"""Penalties ``L_reg``: the second term of ``L(w) = L_data(w) + λ · L_reg(w)``.

Scale conventions (the same everywhere in penalized, identical to Keras' regularizers):

=============  ===============================================
``L1(lam)``    ``lam · Σ_j c_j |w_j|``
``L2(lam)``    ``lam · Σ_j c_j w_j²``            (no ½)
``L1L2(l1,l2)`` ``l1 · Σ_j c_j |w_j| + l2 · Σ_j c_j w_j²``
=============  ===============================================

``c_j`` are optional per-feature penalty factors (``weights``; glmnet's
``penalty.factor``): 0 leaves feature ``j`` unpenalized, the default is 1.

:class:`GroupL1` (``lam · Σ_g c_g ‖w_g‖₂``, the group lasso) groups slices along the first
axis: the rows of a weight matrix, i.e. the output units of a ``torch.nn.Linear`` layer
or the output channels of a convolution kernel, so that its prox removes whole neurons.

Every penalty offers

- ``value(w)`` (also ``penalty(w)``, like a Keras regularizer),
- ``prox(w, step)`` = ``argmin_z ½‖z − w‖² + step · R(z)``; ``step`` may also be an
  array shaped like ``w`` (one step per coordinate: the prox in a diagonal metric),
- ``prox_(w, step, denom=None)``: the same, in place, with the per-coordinate step
  ``step / denom`` (what Adam-type optimizers need; fused torch operations where possible),
  and ``prox_foreach_(ws, step, denoms=None)`` on a list of tensors,
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

__all__ = ["Penalty", "ElasticNetFamily", "L1", "L2", "L1L2", "GroupL1"]


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


def _softshrink_(w, a):
    """In place ``w ← sign(w)·max(|w| − a, 0)`` for a torch tensor (one kernel, exact zeros)."""
    import torch

    torch._C._nn.softshrink(w, a, out=w)


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

    def prox_(self, w, step, denom=None):
        """In place: ``w ← prox(w, step / denom)``; returns ``w`` (NumPy array or tensor).

        Without ``denom`` this is :meth:`prox` with the scalar ``step``. With ``denom``
        (positive, shaped like ``w``) every coordinate gets its own step
        ``step / denom_i``: the exact prox in the diagonal metric ``diag(denom) / step``,

            argmin_z  Σ_i denom_i (z_i − w_i)² / (2·step) + R(z),

        which is the step an Adam-type optimizer takes (``denom = sqrt(v̂) + eps``, see
        :class:`penalized.nn.ProxAdamW`). This default computes :meth:`prox` and copies
        the result; subclasses may override it with fused in-place operations, which must
        agree with :meth:`prox`.
        """
        z = self.prox(w, step if denom is None else step / denom)
        if isinstance(w, np.ndarray):
            w[...] = z
        else:
            w.copy_(z)
        return w

    def prox_foreach_(self, ws, step, denoms=None):
        """:meth:`prox_` on every array of the list ``ws`` (with its ``denoms[i]``); returns ``ws``.

        Optimizers call this once per parameter group; subclasses may use multi-tensor
        (``torch._foreach_*``) kernels.
        """
        for i, w in enumerate(ws):
            self.prox_(w, step, None if denoms is None else denoms[i])
        return ws

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

    def _fast_torch(self, w, step):
        return (self.weights is None and not isinstance(w, np.ndarray) and not isinstance(step, bool)
                and isinstance(step, numbers.Real))

    def prox_(self, w, step, denom=None):
        """In place ``w ← prox(w, step / denom)`` (see :meth:`Penalty.prox_`).

        For a PyTorch tensor, a real ``step`` and no per-feature factors this is three
        in-place kernels, in the scaled variable ``y = w·denom`` (``denom = 1`` without it):
        ``w = softshrink(w·denom, step·l1) / (denom + 2·step·l2)``, equal to :meth:`prox`
        with the per-coordinate step ``step / denom``. Zeros are exact: ``softshrink``
        returns 0 and ``0 / denom = 0``.
        """
        if not self._fast_torch(w, step):
            return super().prox_(w, step, denom)
        a, b = step * self._l1, step * self._l2
        if denom is not None and (a or b):
            w.mul_(denom)
        if a:
            _softshrink_(w, a)
        if denom is None:
            if b:
                w.div_(1.0 + 2.0 * b)
        elif a or b:
            w.div_(denom + 2.0 * b if b else denom)
        return w

    def prox_foreach_(self, ws, step, denoms=None):
        """:meth:`prox_` on a list of tensors, with ``torch._foreach_*`` kernels where possible."""
        if not ws or not self._fast_torch(ws[0], step):
            return super().prox_foreach_(ws, step, denoms)
        import torch

        a, b = step * self._l1, step * self._l2
        if not a and not b:
            return ws
        if denoms is not None:
            torch._foreach_mul_(ws, denoms)
        if a:
            for w in ws:
                _softshrink_(w, a)
        if denoms is None:
            if b:
                torch._foreach_div_(ws, 1.0 + 2.0 * b)
        else:
            torch._foreach_div_(ws, torch._foreach_add(denoms, 2.0 * b) if b else denoms)
        return ws

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


# -- group sparsity --------------------------------------------------------------------
def _is_numpy(w):
    return isinstance(w, np.ndarray)


def _where(cond, a, b):
    if _is_numpy(cond):
        return np.where(cond, a, b)
    import torch

    return torch.where(cond, a, b)


def _finfo(w):
    """``(tiny, eps, max)`` of ``w``'s floating dtype (NumPy or torch)."""
    if _is_numpy(w):
        info = np.finfo(w.dtype if np.issubdtype(w.dtype, np.floating) else np.float64)
    else:
        import torch

        info = torch.finfo(w.dtype)
    return float(info.tiny), float(info.eps), float(info.max)


def _tiny(w):
    return _finfo(w)[0]


def _flat_rows(w):
    """``w`` as a 2-D array, one row per slice ``w[i]`` along the first axis."""
    if w.ndim == 0:
        raise ValueError("GroupL1 needs an array with at least one dimension (groups are slices w[i]).")
    return w.reshape(w.shape[0], -1)


def check_group_labels(groups, n_rows=None, name="groups"):
    """Validate group labels: ``None`` (one group per slice ``w[i]``) or non-negative
    integer labels ``0 … G−1`` of length ``w.shape[0]``; returns an int64 array or None."""
    if groups is None:
        return None
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"{name} must be a non-empty one-dimensional array of integer labels, "
                         f"got shape {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        if not (np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels))):
            raise TypeError(f"{name} must hold integer group labels, got dtype {labels.dtype}.")
    labels = labels.astype(np.int64, copy=False)
    if labels.min() < 0:
        raise ValueError(f"{name} must be labels >= 0, got {labels.min()}.")
    if n_rows is not None and labels.shape[0] != n_rows:
        raise ValueError(f"{name} has {labels.shape[0]} labels but w has {n_rows} slices along axis 0.")
    return labels


class GroupL1(Penalty):
    """Group lasso ``lam · Σ_g c_g ‖w_g‖₂`` (block soft-thresholding, whole groups to zero).

    The groups are slices along the **first axis** of ``w``:

    - ``groups=None`` (default): every slice ``w[i]`` is its own group. For a
      ``torch.nn.Linear`` weight (``out × in``) the groups are the rows, i.e. the
      incoming weights of each output unit (neuron); for a convolution kernel
      (``out × in × k…``) they are the output channels; for a linear model's 2-D
      coefficients (``n_features × n_tasks``) a feature across all tasks.
    - ``groups=labels`` (integers ``0 … G−1``, one per slice): slices with the same label
      form one group, e.g. grouped features of a 1-D coefficient vector.

    Parameters
    ----------
    lam : float, default=0.01
        Strength λ ≥ 0.
    groups : array of int of shape (w.shape[0],), optional
        Group label of every slice; ``None`` makes every slice a group.
    weights : array of shape (n_groups,), optional
        Per-group factors ``c_g`` ≥ 0 (0 leaves a group unpenalized). The default is 1
        for every group; ``sqrt(group size)`` is the classical alternative.

    Notes
    -----
    ``prox(w, step)`` with a scalar step is block soft-thresholding
    ``w_g · max(0, 1 − step·lam·c_g / ‖w_g‖)``. With a per-coordinate step ``s`` (an
    array) it is the exact prox in the diagonal metric, ``argmin_z Σ_i (z_i − w_i)²/(2 s_i)
    + lam Σ_g c_g ‖z_g‖``: ``z_g = 0`` if ``‖w_g / s_g‖ ≤ lam·c_g``, otherwise
    ``z_i = w_i · r / (r + t_i)`` with ``t_i = s_i·lam·c_g`` and ``r = ‖z_g‖`` the root in
    ``(0, ‖w_g‖)`` of ``Σ_i w_i² / (r + t_i)² = 1``, found by Newton's method on
    ``(Σ_i w_i² / (r + t_i)²)^(−1/2) − 1`` (nearly linear in ``r``; exact at the start when all
    ``t_i`` are equal), safeguarded by bisection, to the working precision.
    ``subdiff_distance`` returns one value per **group**.
    """

    def __init__(self, lam=0.01, groups=None, weights=None):
        self.lam = check_strength(lam, "lam")
        self.groups = check_group_labels(groups)
        self.weights = weights if weights is None else check_penalty_weights(weights)

    def scaled(self, factor):
        return GroupL1(self.lam * factor, self.groups, self.weights)

    # -- group bookkeeping (NumPy or torch) ---------------------------------------------
    def _labels(self, w):
        """``(labels or None, n_groups)``; labels as an index array like ``w``."""
        n_rows = _flat_rows(w).shape[0]
        if self.groups is None:
            n_groups = n_rows
            labels = None
        else:
            check_group_labels(self.groups, n_rows)
            n_groups = int(self.groups.max()) + 1
            labels = self.groups
            if not _is_numpy(w):
                import torch

                labels = torch.as_tensor(labels, device=w.device)
        if self.weights is not None and self.weights.shape[0] != n_groups:
            raise ValueError(f"weights has {self.weights.shape[0]} entries but there are {n_groups} groups.")
        return labels, n_groups

    def _group_sums(self, rows_values, labels, n_groups):
        """Sum a per-row quantity over the groups."""
        if labels is None:
            return rows_values
        if _is_numpy(rows_values):
            return np.bincount(labels, weights=rows_values, minlength=n_groups)
        out = rows_values.new_zeros(n_groups)
        return out.index_add_(0, labels, rows_values)

    def _factors(self, like, n_groups):
        """``lam · c_g`` per group, typed like ``like``; a plain float without ``weights``
        (no host-to-device copy on a GPU)."""
        if self.weights is None:
            return self.lam
        c = self.lam * self.weights
        if _is_numpy(like):
            return c
        import torch

        return torch.as_tensor(c, dtype=like.dtype, device=like.device)

    def group_norms(self, w):
        """``‖w_g‖₂`` for every group (shape ``(n_groups,)``)."""
        labels, n_groups = self._labels(w)
        rows = _flat_rows(w)
        return self._group_sums((rows * rows).sum(1), labels, n_groups) ** 0.5

    # -- the maths ------------------------------------------------------------------------
    def value(self, w):
        """``lam · Σ_g c_g ‖w_g‖₂``."""
        labels, n_groups = self._labels(w)
        return (self._factors(w, n_groups) * self.group_norms(w)).sum()

    def prox(self, w, step):
        """``argmin_z ½‖z − w‖²_{1/step} + lam Σ_g c_g ‖z_g‖``; ``step`` scalar or per coordinate."""
        labels, n_groups = self._labels(w)
        if _is_numpy(w) and not np.isscalar(step) and np.ndim(step) > 0:
            return self._prox_diagonal(w, np.broadcast_to(step, w.shape), labels, n_groups)
        if not _is_numpy(w) and getattr(step, "ndim", 0) > 0:
            return self._prox_diagonal(w, step.expand(w.shape), labels, n_groups)
        rows = _flat_rows(w)
        norms = self.group_norms(w)
        shrink = (1.0 - step * self._factors(w, n_groups) / norms.clip(_tiny(w), None)).clip(0, None)
        if labels is not None:
            shrink = shrink[labels]
        return (rows * shrink.reshape(-1, 1)).reshape(w.shape)

    def _prox_diagonal(self, w, step, labels, n_groups, max_iter=50):
        rows, s = _flat_rows(w), _flat_rows(step)
        per_row = (lambda q: q) if labels is None else (lambda q: q[labels])
        tiny, eps, _ = _finfo(w)
        lam_g = self._factors(w, n_groups)
        lam_rows = lam_g if isinstance(lam_g, float) else per_row(lam_g).reshape(-1, 1)
        t = s * lam_rows  # thresholds t_i = s_i·lam·c_g ≥ 0
        w2 = rows * rows
        sq = self._group_sums(w2.sum(1), labels, n_groups)
        norm = sq ** 0.5
        # z_g = 0 iff ‖w_g / t_g‖ ≤ 1 (t_i = 0: coordinate not shrunk, the group never vanishes)
        ratio = self._group_sums((w2 / (t * t).clip(tiny, None)).sum(1), labels, n_groups)
        alive = (ratio > 1.0) & (norm > 0)
        # the root r = ‖z_g‖ lies in (0, ‖w_g‖); start from the exact root for equal thresholds,
        # with t replaced by its w²-weighted mean
        t_mean = self._group_sums((w2 * t).sum(1), labels, n_groups) / sq.clip(tiny, None)
        lo, hi = norm * 0, norm
        r = _where((norm - t_mean > 0) & (norm - t_mean < norm), norm - t_mean, 0.5 * norm).clip(tiny, None)
        for _ in range(max_iter):
            inv = 1.0 / (per_row(r).reshape(-1, 1) + t)
            q = w2 * inv * inv
            h = self._group_sums(q.sum(1), labels, n_groups).clip(tiny, None)  # Σ w²/(r+t)²
            h3 = self._group_sums((q * inv).sum(1), labels, n_groups)  # Σ w²/(r+t)³
            phi = h ** -0.5  # ≈ (r + t)/‖w‖: increasing in r, = 1 at the root
            lo = _where(phi < 1.0, r, lo)
            hi = _where(phi >= 1.0, r, hi)
            r_new = r - (phi - 1.0) / (h ** -1.5 * h3).clip(tiny, None)
            inside = (r_new >= lo) & (r_new <= hi)
            r_new = _where(inside, r_new, 0.5 * (lo + hi)).clip(tiny, None)  # bisect if Newton leaves
            done = (abs(phi - 1.0) <= 16 * eps) | (abs(r_new - r) <= 16 * eps * r) | ~alive
            r = r_new
            if bool(done.all()):
                break
        r_rows = per_row(_where(alive, r, r * 0)).reshape(-1, 1)  # r = 0: the group vanishes
        z = rows * (r_rows / (r_rows + t).clip(tiny, None))  # z_i = w_i r / (r + t_i)
        return z.reshape(w.shape)

    def prox_(self, w, step, denom=None):
        """In place ``w ← prox(w, step / denom)``; a scalar step scales the rows in place."""
        if denom is not None or _is_numpy(w) or getattr(step, "ndim", 0) > 0:
            return super().prox_(w, step, denom)
        labels, n_groups = self._labels(w)
        norms = self.group_norms(w)
        shrink = (1.0 - step * self._factors(w, n_groups) / norms.clip(_tiny(w), None)).clip(0, None)
        if labels is not None:
            shrink = shrink[labels]
        w.mul_(shrink.reshape((-1,) + (1,) * (w.ndim - 1)))
        return w

    def subdiff_distance(self, w, grad):
        """Per **group** ``dist(−grad_g, ∂(lam c_g ‖·‖)(w_g))``: ``‖grad_g + lam c_g w_g/‖w_g‖‖``
        if ``w_g ≠ 0``, else ``max(‖grad_g‖ − lam c_g, 0)``. Shape ``(n_groups,)``."""
        labels, n_groups = self._labels(w)
        lam_g = self._factors(w, n_groups)
        norms = self.group_norms(w)
        rows, g = _flat_rows(w), _flat_rows(grad)
        unit = lam_g / norms.clip(_tiny(w), None)
        unit_rows = unit if labels is None else unit[labels]
        resid = g + unit_rows.reshape(-1, 1) * rows
        away = self._group_sums((resid * resid).sum(1), labels, n_groups) ** 0.5
        gnorm = self._group_sums((g * g).sum(1), labels, n_groups) ** 0.5
        return _where(norms == 0, (gnorm - lam_g).clip(0, None), away)
