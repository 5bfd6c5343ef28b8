"""The penalty base class, the checks of its parameters, and the kernels' view of a penalty."""

from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass

import numpy as np


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

    # -- what the solvers, paths and CV read (traits; no caller tests types) ---------------
    #: Convex penalties have a duality gap; the others are certified by stationarity.
    convex = True

    def kernel(self, n_features, bounds=None):
        """The penalty as the compiled solvers take it on ``n_features`` coefficients: a
        :class:`KernelPenalty` (its block's code and parameter arrays, and the box
        ``bounds = (lower, upper)`` arrays, or None)."""
        raise TypeError(f"{type(self).__name__} cannot be used by the linear solvers.")

    def screening_blocks(self, n_features):
        """Group label of every feature for screening (None: every feature is its own block)."""
        return None

    def zero_levels(self, grad):
        """Per block (feature, or group), the smallest factor ``t`` such that zero is optimal
        for the block under ``t·R`` when ``grad`` is the data fit's gradient there: the
        dual-norm ratio (``|g_j| / l1_j`` for L1, ``‖g_g‖ / c_g`` for the group lasso; ``inf``
        for blocks that are never exactly zero). λ_max, strong rules and the KKT checks of
        a path are written with it."""
        raise TypeError(f"{type(self).__name__} has no λ_max (it never sets coefficients to zero).")

    def subset(self, features):
        """The penalty on the coefficients ``features`` only (per-feature parameters restricted):
        what a path's reduced problems (strong rules) solve with."""
        params = self.get_params()
        if params.get("weights") is not None:
            params["weights"] = np.asarray(params["weights"])[features]
        return type(self)(**params)

    def with_feature_factors(self, factors):
        """A copy whose per-feature weights are multiplied by ``factors`` (randomized lasso)."""
        params = self.get_params()
        if "weights" not in params:
            raise TypeError(f"{type(self).__name__} has no per-feature weights to reweight.")
        base = 1.0 if params["weights"] is None else np.asarray(params["weights"])
        params["weights"] = base * np.asarray(factors, dtype=np.float64)
        return type(self)(**params)

    def ridge_lambda_max(self, grad):
        """λ_max of a penalty that never zeroes coefficients (pure L2): glmnet's convention,
        the elastic-net λ_max at ``l1_ratio = 1e-3`` on the penalty's own scale."""
        raise TypeError(f"{type(self).__name__} zeroes no coefficient and has no λ_max convention.")

    def unit_strength(self):
        """The total strength (``lam``, ``l1 + l2``, ...): zero means the penalty is absent."""
        return sum(float(v) for k, v in self.get_params().items() if k in ("lam", "l1", "l2"))

    #: ``add_penalties(a, b)``, set by :mod:`.sums` (which the package imports): the base class
    #: sits below its subclasses and does not import them.
    _add = None

    def __add__(self, other):
        return Penalty._add(self, other)

    def __radd__(self, other):
        if other == 0:  # sum([...]) starts from 0
            return self
        return Penalty._add(other, self)


def ridge_lambda_max(l2, grad, l1_ratio, penalty):
    """``max_j |g_j| / (2·l1_ratio·l2_j)`` over the features with an L2 part (rows of a 2-D
    ``grad``: their largest entry)."""
    on = l2 > 0
    if not on.any():
        raise ValueError(f"penalty {penalty!r} zeroes no coefficient and has no L2 part.")
    g = np.abs(np.asarray(grad).reshape(len(l2), -1)).max(1)
    return float(np.max(g[on] / (2.0 * l1_ratio * l2[on])))


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



# -- NumPy or torch ---------------------------------------------------------------
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



@dataclass(frozen=True)
class GroupStructure:
    """Groups of features for the block kernels: features ``idx[ptr[g]:ptr[g+1]]`` form
    group ``g``, whose strength (``lam·c_g``) is ``lam[g]``."""

    ptr: np.ndarray
    idx: np.ndarray
    lam: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_labels(cls, labels, lam_g):
        labels = np.asarray(labels, dtype=np.int64)
        n_groups = lam_g.shape[0]
        order = np.argsort(labels, kind="stable").astype(np.int64)
        counts = np.bincount(labels, minlength=n_groups)
        ptr = np.zeros(n_groups + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        return cls(ptr=ptr, idx=order, lam=np.ascontiguousarray(lam_g, dtype=np.float64), labels=labels)

    @property
    def n_groups(self):
        return self.lam.shape[0]


@dataclass(frozen=True)
class KernelPenalty:
    """A penalty as the compiled solvers take it (see ``solvers/_kernels/penalties.py``).

    ``code`` selects the penalty's block of compiled primitives (``PEN_ENET``, ``PEN_MCP``,
    ``PEN_SCAD``, ``PEN_BERHU``); ``params`` holds its per-feature parameters, shape ``(N_PEN_ROWS, p)``:
    rows 0–1 the block's own (``l1_j, l2_j``, ``lam_j, gamma`` or ``lam_j, M``), rows ``ROW_LO``/``ROW_HI``
    the box ``lo_j ≤ w_j ≤ hi_j``. ``groups`` (block penalties: the group lasso and its sums)
    adds the groups and their strengths ``λ·c_g`` on top of the elastic-net rows.
    """

    code: int
    params: np.ndarray
    convex: bool
    name: str
    groups: GroupStructure | None = None

    @classmethod
    def build(cls, code, first, second, bounds, convex, name, groups=None):
        from ..solvers import _kernels as k

        p = first.shape[0]
        P = np.empty((k.N_PEN_ROWS, p))
        P[0], P[1] = first, second
        if bounds is None:
            P[k.ROW_LO], P[k.ROW_HI] = -np.inf, np.inf
        else:
            P[k.ROW_LO], P[k.ROW_HI] = bounds
        return cls(code=code, params=P, convex=convex, name=name, groups=groups)

    @property
    def n_features(self):
        return self.params.shape[1]

    @property
    def lower(self):
        from ..solvers import _kernels as k

        return self.params[k.ROW_LO]

    @property
    def upper(self):
        from ..solvers import _kernels as k

        return self.params[k.ROW_HI]

    @property
    def bounded(self):
        """Some coefficient has a finite bound."""
        return bool(np.isfinite(self.lower).any() or np.isfinite(self.upper).any())

    @property
    def sign_bounds_only(self):
        """Every finite bound is 0 (``positive=True`` and the like): the box keeps the support
        steps exact (they hold coefficients in their orthant)."""
        lo, hi = self.lower, self.upper
        return bool(np.all((lo == 0) | np.isneginf(lo)) and np.all((hi == 0) | np.isposinf(hi)))

    @property
    def free(self):
        """Mask of the unpenalized coefficients (a box may still hold them)."""
        from ..solvers import _kernels as k

        P = self.params
        free = P[0] == 0
        if self.code == k.PEN_ENET:
            free &= P[1] == 0
        if self.groups is not None:
            free &= self.groups.lam[self.groups.labels] == 0
        return free

    @property
    def is_elastic_net(self):
        from ..solvers import _kernels as k

        return self.code == k.PEN_ENET and self.groups is None
