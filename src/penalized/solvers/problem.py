"""A data set prepared once for the compiled solvers, reusable across many λ."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..datafits import Datafit
from . import _loader

_NO_INDICES = np.zeros(1, dtype=np.int32)


def _kernel_namespace(kernels, size):
    if kernels is None:
        return _loader.kernels_for(size)
    if kernels == "aot":
        found = _loader.aot()
        return found if found is not None else _loader.jit()
    if kernels == "jit":
        return _loader.jit()
    if kernels == "python":
        return _loader.interpreted()
    raise ValueError(f"kernels must be 'aot', 'jit', 'python' or None, got {kernels!r}.")


def _reject_non_finite(X):
    """Raise scikit-learn's error for NaN or infinity in ``X`` (if any; else a huge value)."""
    from sklearn.utils.validation import _assert_all_finite

    _assert_all_finite(X.data if sp.issparse(X) else X, input_name="X")


# Weighted squared column norms Σ a_i x_ij² outside this range cannot be solved for in double
# precision: beyond it they overflow (entries of about 1e154 and more) or their steps lose their
# digits; below it they underflow to subnormals or zero (entries of about 1e-154 and less), and a
# column whose norm is 0 would be dropped from the model.
SQNORM_MAX = 1e280
SQNORM_MIN = 1e-280


def check_target_scale(y, name="y"):
    """Refuse targets whose squares overflow (|y| > 1e150): the losses and certificates would be
    infinite, or the stopping threshold would be, and the fit would stop anywhere."""
    top = float(np.max(np.abs(y), initial=0.0))
    if top > 1e150:
        raise ValueError(f"{name} has values too large for double precision (largest |value| {top:.3g}): their "
                         f"squares overflow. Rescale {name} (divide it by a power of 10) and scale the "
                         "predictions back.")


def check_column_scales(kX, means, centred_sqnorms, a):
    """Refuse (``ValueError`` naming the columns) columns of ``X`` too large or too small for the
    solvers: rather than return a model that silently drops them, say which and how to fix it."""
    with np.errstate(over="ignore", invalid="ignore"):
        raw = centred_sqnorms + means * means
    huge = ~np.isfinite(raw) | (raw > SQNORM_MAX)
    tiny = raw < SQNORM_MIN
    if tiny.any():  # all-zero columns (or non-zero on zero-weight rows only) are fine: they are not used
        tiny &= _has_nonzero(kX, np.flatnonzero(tiny), a)
    for out_of_range, what in ((huge, "so large that their squared norms overflow"),
                               (tiny, "so small that their squared norms underflow")):
        if out_of_range.any():
            cols = np.flatnonzero(out_of_range)
            shown = ", ".join(str(int(j)) for j in cols[:10]) + (" ..." if cols.size > 10 else "")
            size = _largest_entry(kX, cols)
            raise ValueError(
                f"X column(s) {shown} (0-based) hold values {what} in double precision (largest "
                f"|value| {size:.3g}); a solver would silently drop them. Rescale those columns (e.g. "
                "sklearn.preprocessing.StandardScaler or divide them by a power of 10) and rescale their "
                "coefficients back."
            )


def _column(kX, j):
    if kX[4]:
        lo, hi = kX[3][j], kX[3][j + 1]
        return kX[1][lo:hi], kX[2][lo:hi]
    return kX[0][:, j], None


def _has_nonzero(kX, cols, a):
    out = np.zeros(kX[3].shape[0] - 1 if kX[4] else kX[0].shape[1], dtype=bool)
    for j in cols:
        values, rows = _column(kX, j)
        weights = a if rows is None else a[rows]
        out[j] = bool(np.any((values != 0) & (weights > 0)))
    return out


def _largest_entry(kX, cols):
    return max(float(np.max(np.abs(_column(kX, j)[0]), initial=0.0)) for j in cols[:10])


def kernel_matrix(X):
    """``(X, Xd, Xi, Xp, sparse)`` as the kernels take it (see :mod:`._kernels`)."""
    if sp.issparse(X):
        from .._validation import canonical_sparse

        X = canonical_sparse(X.tocsc())  # fit_linear's callers may pass duplicates: summed on a copy
        placeholder = np.zeros((2, 2), dtype=X.dtype, order="F")
        return placeholder, X.data, X.indices, X.indptr, True
    X = np.asfortranarray(X)
    return X, np.zeros(1, dtype=X.dtype), _NO_INDICES, _NO_INDICES, False


@dataclass
class LinearProblem:
    """``L_data(w, b) = Σ_i a_i ℓ(y_i, x_iᵀw + b)`` on one validated data set.

    Build it with :meth:`build`; it holds the design in the kernels' layout, the
    normalised sample weights ``a``, the centring offsets ``mu`` and Lipschitz constants
    ``L`` of the coordinate directions (see :mod:`._kernels`), and the null model
    (``w = 0``, best intercept) whose loss ``null_loss`` = L(0) (minus the saturated model's,
    for Poisson: half the null deviance) scales the stopping
    tolerance.
    """

    X: object
    y: np.ndarray
    datafit: Datafit
    fit_intercept: bool
    a: np.ndarray
    mu: np.ndarray
    L: np.ndarray
    null_intercept: float  # an array (K,) for several outputs
    null_loss: float
    kernel_X: tuple = field(repr=False)
    kernels: object = field(default=None, repr=False)
    offset: np.ndarray | None = field(default=None, repr=False)
    # (w, zx) of the last solve's end, zx freshly recomputed from w: a warm start from that w
    # (the next point of a path) and the path's predictor reuse it instead of a pass over X
    _last: tuple | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(cls, X, y, datafit, sample_weight=None, fit_intercept=True, kernels=None, offset=None):
        """``X`` (dense or sparse, float32/64), ``y`` (±1 labels for the log-loss), ``offset``
        (added to the linear predictor: ``z = Xw + b + offset``).

        ``kernels``: ``"aot"``, ``"jit"``, ``"python"`` or None (the default choice of
        :mod:`._loader`) — how the compiled kernels run for this problem.
        """
        n, p = X.shape
        k = _kernel_namespace(kernels, n * p)
        if k.mode != "python":  # float32, int64 indices: on the built kernels, not a new compile
            X = _loader.aot_dtypes(X)
        kX = kernel_matrix(X)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if offset is not None:
            offset = np.ascontiguousarray(offset, dtype=np.float64)
            if datafit.code == k.SQUARED_ERROR:  # (y − z − o)² = ((y − o) − z)²: exact
                y, offset = y - offset, None
        if sample_weight is not None and not np.sum(sample_weight) > 0:
            raise ValueError("sample_weight sums to 0: no sample carries weight, there is nothing to fit.")
        a = np.full(n, 1.0 / n) if sample_weight is None else (
            np.asarray(sample_weight, dtype=np.float64) / np.sum(sample_weight))
        check_target_scale(y)
        means, centred_sqnorms = np.empty(p), np.empty(p)
        k.col_weighted_moments(*kX, a, means, centred_sqnorms)
        if not (np.isfinite(means).all() and np.isfinite(centred_sqnorms).all()):
            _reject_non_finite(X)  # NaN or ±inf in X (the estimators leave this check here)
        check_column_scales(kX, means, centred_sqnorms, a)
        # Sparse centred steps need the intercept's gradient after every step; it is
        # invariant for the squared error only: other data fits keep plain coordinates on
        # sparse data (as skglm and scikit-learn do).
        centre = fit_intercept and not (kX[4] and datafit.code != k.SQUARED_ERROR)
        mu = means if centre else np.zeros(p)
        sqnorms = centred_sqnorms if centre else centred_sqnorms + means * means
        if y.ndim == 2:  # several outputs: the block kernels' loss at W = 0
            K = y.shape[1]
            b0 = np.asarray(datafit.null_intercept(y, a, offset), dtype=np.float64) if fit_intercept \
                else np.zeros(K)
            b0 = np.ascontiguousarray(np.broadcast_to(b0, (K,)))
            z0 = np.zeros((n, K)) if offset is None else np.ascontiguousarray(np.broadcast_to(offset, (n, K)))
            L0 = k.block_loss(datafit.code, y, a, z0, b0)
        else:
            b0 = datafit.null_intercept(y, a, offset) if fit_intercept else 0.0
            z0 = np.zeros(n) if offset is None else offset.copy()
            L0 = k.datafit_value(datafit.code, y, a, z0, b0)
        return cls(X=X if kX[4] else kX[0], y=y, datafit=datafit, fit_intercept=fit_intercept,
                   a=a, mu=mu, L=datafit.lipschitz_scale(y, a) * sqnorms, null_intercept=b0,
                   null_loss=float(L0 - datafit.saturated_loss(y, a)), kernel_X=kX, kernels=k, offset=offset)

    def gram(self):
        """``(G, c, yy)``: ``G = X̃ᵀAX̃``, ``c = X̃ᵀAỹ``, ``yy = ỹᵀAỹ`` for the squared error.

        ``X̃``, ``ỹ`` are centred by their weighted means when there is an intercept
        (whose optimum is then ``Σ a_i y_i``). Computed once (one BLAS ``syrk`` over a
        weighted copy of ``X``) and kept: a path over many λ pays it once.
        """
        cached = getattr(self, "_gram", None)
        if cached is None:
            if self.kernel_X[4]:
                raise ValueError("Gram mode needs a dense X.")
            root = np.sqrt(self.a)
            Xc = np.asarray(self.kernel_X[0], dtype=np.float64)
            Xc = (Xc - self.mu) * root[:, None]
            yc = self.y - (self.a @ self.y if self.fit_intercept else 0.0)
            yc = yc * root
            G = Xc.T @ Xc
            cached = self._gram = (np.asfortranarray(G), Xc.T @ yc, float(yc @ yc))
        return cached

    @property
    def n_samples(self):
        return self.y.shape[0]

    @property
    def n_features(self):
        return self.L.shape[0]

    @property
    def n_outputs(self):
        """``K``: 1 for one target, the tasks or classes of a multi-output data fit."""
        return 1 if self.y.ndim == 1 else self.y.shape[1]

    @property
    def centred_in_place(self):
        """Dense centring: the kernels' state is ``(X̃w, b' = b + muᵀw)``."""
        return not self.kernel_X[4]

    def refresh(self, w, zx):
        """``zx ← X̃w + offset``: the kernels' state (see :mod:`._kernels`) recomputed from ``w``."""
        if self.centred_in_place:
            mu = self.mu
        else:  # sparse: no centring in the state (one zero vector per problem, not per refresh)
            mu = self.__dict__.get("_zero_mu")
            if mu is None or mu.shape[0] != self.n_features:
                mu = self.__dict__["_zero_mu"] = np.zeros(self.n_features)
        self.kernels.matvec(*self.kernel_X, w, mu, zx)
        if self.offset is not None:
            zx += self.offset

    def internal_state(self, w, b):
        """``(zx, b_internal)`` for the kernels from coefficients ``w`` and intercept ``b``."""
        w = np.ascontiguousarray(w, dtype=np.float64)
        zx = self._remembered(w)
        if zx is None:
            zx = np.empty(self.n_samples)
            self.refresh(w, zx)
        else:
            zx = zx.copy()
        return zx, float(b) + (float(self.mu @ w) if self.centred_in_place else 0.0)

    def remember(self, w, zx):
        """Keep ``(w, zx)``, ``zx = X̃w + offset`` just recomputed from ``w`` (copies of both)."""
        self._last = (np.array(w, dtype=np.float64), np.array(zx, dtype=np.float64))

    def _remembered(self, w):
        """The remembered ``zx`` where ``w`` equals the remembered coefficients, else None."""
        last = self._last
        if last is None or last[0].shape != np.shape(w) or not np.array_equal(last[0], w):
            return None
        return last[1]

    def predictor(self, w, b):
        """``Xw + b`` (plain coordinates, one output, without the offset): from the remembered
        state where ``w`` is the last solve's, else one pass over X."""
        zx = self._remembered(w)
        if zx is None:
            zx = np.empty(self.n_samples)
            self.kernels.matvec(*self.kernel_X, np.ascontiguousarray(w, dtype=np.float64),
                                np.zeros(self.n_features), zx)
            return zx + float(b)
        # zx + b_internal = Xw + b + offset: the centring terms cancel
        z = zx + (float(b) + (float(self.mu @ w) if self.centred_in_place else 0.0))
        return z if self.offset is None else z - self.offset

    def intercept_from_internal(self, w, b_internal):
        return b_internal - (float(self.mu @ w) if self.centred_in_place else 0.0)

    def gradient(self, w, b):
        """``(∇_w L_data, ∂L_data/∂b)`` at ``(w, b)`` (plain, uncentred coordinates)."""
        w = np.ascontiguousarray(w, dtype=np.float64)
        zeros = np.zeros(self.n_features)
        zx = np.empty(self.n_samples)
        k = self.kernels
        k.matvec(*self.kernel_X, w, zeros, zx)
        if self.offset is not None:
            zx += self.offset
        grad = np.empty(self.n_features)
        grad_b = k.gradient(self.datafit.code, *self.kernel_X, self.y, self.a, zx, float(b), zeros,
                            np.arange(self.n_features), grad, np.empty(self.n_samples))
        return grad, grad_b

    def lambda_max(self, weights=None):
        """Smallest λ for which ``w = 0`` solves the L1 problem: ``max_j |∇_j L_data(0)| / c_j``."""
        grad, _ = self.gradient(np.zeros(self.n_features), self.null_intercept)
        c = np.ones(self.n_features) if weights is None else np.asarray(weights, dtype=np.float64)
        penalized = c > 0
        if not penalized.any():
            return 0.0
        return float(np.max(np.abs(grad[penalized]) / c[penalized]))
