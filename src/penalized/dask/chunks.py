"""What runs on the workers: one function per pass over a chunk, and the merge of their results.

Everything here is NumPy/SciPy (no numba: a worker never compiles anything) and works on
one chunk ``(X, y, s)`` at a time — ``X`` dense or sparse (SciPy or pydata ``sparse``),
a NumPy or pandas chunk — so that a worker's memory is bounded by a few copies of a chunk
plus the ``q × q`` matrices it returns.

Sums are *unnormalised* (sample weights ``s``, not ``a = s / Σ s``); the client divides
by the total weight. Weighted co-moments are merged with the pairwise update of Chan,
Golub & LeVeque (1979)::

    W = W₁ + W₂,  δ = m₂ − m₁,  m = m₁ + δ·W₂/W,  M = M₁ + M₂ + (W₁W₂/W)·δδᵀ

so that centred Gram matrices never come from the difference of two large uncentred
sums (a column with mean 10⁴ and spread 1 keeps its digits).

The data fits' formulas are not here: a pass calls the per-sample NumPy methods of the
:class:`~penalized.datafits.Datafit` it was given (``_loss_terms``, ``_step_changes``,
``_sample_gaps``), the reference that the compiled kernels are tested against. A data fit
runs on Dask once it has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


# ------------------------------------------------------------------------- chunk conversion
def as_matrix(block):
    """A chunk of ``X`` as a float64 ndarray or CSR matrix."""
    if hasattr(block, "to_numpy") and hasattr(block, "columns"):  # pandas DataFrame
        return block.to_numpy(dtype=np.float64)
    if sp.issparse(block):
        return sp.csr_matrix(block, dtype=np.float64)
    if hasattr(block, "to_scipy_sparse"):  # pydata sparse
        return sp.csr_matrix(block.to_scipy_sparse(), dtype=np.float64)
    return np.asarray(block, dtype=np.float64)


def as_vector(block, name, index):
    if block is None:
        return None
    if hasattr(block, "to_numpy"):
        block = block.to_numpy()
    v = np.asarray(block)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1:
        raise ValueError(f"chunk {index} of {name} has shape {v.shape}; expected one value per sample.")
    return v


@dataclass(frozen=True)
class Target:
    """How a chunk's ``y`` becomes numbers: as is, or ±1 with ``positive`` as +1."""

    kind: str = "numeric"  # or "binary", "labels" (as given), "multi" (several numeric targets), "onehot"
    positive: object = None

    def encode(self, y):
        if self.kind == "multi":
            return np.asarray(y, dtype=np.float64)
        if self.kind == "onehot":  # positive: the classes, in order
            classes = np.empty(len(self.positive), dtype=object)
            classes[:] = list(self.positive)
            return (np.asarray(y, dtype=object)[:, None] == classes[None, :]).astype(np.float64)
        if self.kind == "binary":
            return np.where(y == self.positive, 1.0, -1.0)
        if self.kind == "labels":
            return y
        return np.asarray(y, dtype=np.float64)


def load(xb, yb, sb, index, target):
    """``(X, y, s)`` of chunk ``index`` as float64 arrays; checks that they have the same length."""
    X = as_matrix(xb)
    if X.ndim != 2:
        raise ValueError(f"chunk {index} of X has {X.ndim} dimension(s); expected 2.")
    y_raw = np.asarray(yb) if target.kind == "multi" else as_vector(yb, "y", index)
    s = as_vector(sb, "sample_weight", index)
    for name, v in (("y", y_raw), ("sample_weight", s)):
        if v is not None and v.shape[0] != X.shape[0]:
            raise ValueError(
                f"X and {name} are not aligned: chunk {index} of X has {X.shape[0]} rows but chunk "
                f"{index} of {name} has {v.shape[0]} values. Give X and {name} the same partitions "
                "(e.g. both columns of one Dask DataFrame, or Dask arrays with the same row chunks)."
            )
    y = target.encode(y_raw)
    s = np.ones(X.shape[0]) if s is None else np.asarray(s, dtype=np.float64)
    return X, y, s


# ------------------------------------------------------------------------------ co-moments
@dataclass
class CoMoments:
    """Weighted moments of ``q`` variables (columns) over some rows, mergeable (Chan et al.).

    ``W`` = Σ v; ``mean`` (q,); ``diag`` (q,) centred Σ v (x − m)²; ``cross`` (q,) centred
    Σ v (x − m)(x_last − m_last) against the last variable (or None); ``block`` the full
    centred matrix over the columns ``cols`` (indices into the q variables; None: no block).
    """

    W: float
    mean: np.ndarray
    diag: np.ndarray | None
    cross: np.ndarray | None
    block: np.ndarray | None
    cols: np.ndarray | None = field(default=None, repr=False)

    def merge(self, other):
        if other.W == 0.0:
            return self
        if self.W == 0.0:
            return other
        W = self.W + other.W
        f = self.W * other.W / W
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.W / W)
        diag = None if self.diag is None else self.diag + other.diag + f * delta * delta
        cross = None if self.cross is None else self.cross + other.cross + f * delta * delta[-1]
        block = None
        if self.block is not None:
            d = delta[self.cols]
            block = self.block + other.block
            block += f * np.outer(d, d)
        return CoMoments(W, mean, diag, cross, block, self.cols)


def comoments(Z, v, *, diag=True, cross=False, cols=None, overwrite=False):
    """:class:`CoMoments` of the columns of ``Z`` (dense or CSR) with row weights ``v`` ≥ 0.

    ``overwrite``: a dense ``Z`` is the caller's own copy and may be centred in place.
    """
    q = Z.shape[1]
    W = float(v.sum())
    n_block = None if cols is None else len(cols)
    if W == 0.0:
        return CoMoments(0.0, np.zeros(q), np.zeros(q) if diag else None, np.zeros(q) if cross else None,
                         None if cols is None else np.zeros((n_block, n_block)), cols)
    if sp.issparse(Z):
        mean = np.asarray(Z.T @ v).ravel() / W
        dg = cr = blk = None
        if diag:
            dg = np.maximum(np.asarray(Z.multiply(Z).T @ v).ravel() - W * mean * mean, 0.0)
        if cross:
            last = Z[:, q - 1].toarray().ravel()
            cr = np.asarray(Z.T @ (v * last)).ravel() - W * mean * mean[-1]
        if cols is not None:
            Zs = Z[:, cols]
            blk = (Zs.T @ (sp.diags(v) @ Zs)).toarray()
            ms = mean[cols]
            blk -= W * np.outer(ms, ms)
        return CoMoments(W, mean, dg, cr, blk, cols)
    mean = (v @ Z) / W
    if overwrite:
        Z -= mean
        Zc = Z
    else:
        Zc = Z - mean
    dg = np.einsum("i,ij,ij->j", v, Zc, Zc) if diag else None
    cr = (v * Zc[:, -1]) @ Zc if cross else None
    blk = None
    if cols is not None:
        if len(cols) == q:
            Zc *= np.sqrt(v)[:, None]  # Zc is a private copy here (centred above)
            Zs = Zc
        else:
            Zs = Zc[:, cols] * np.sqrt(v)[:, None]
        blk = Zs.T @ Zs
    return CoMoments(W, mean, dg, cr, blk, cols)


# ------------------------------------------------------------------------------ partial sums
@dataclass
class Partial:
    """A pass's result over some chunks: additive ``sums``, mergeable ``moments``, and
    bookkeeping (rows per chunk, chunks holding NaN/inf or negative weights)."""

    sums: dict
    moments: dict
    rows: dict  # chunk index -> number of rows
    bad: dict  # problem -> sorted chunk indices

    def merge(self, other):
        if self.bad or other.bad:  # the client raises; the sums are meaningless
            bad = {k: sorted(set(self.bad.get(k, [])) | set(other.bad.get(k, [])))
                   for k in set(self.bad) | set(other.bad)}
            return Partial({}, {}, {**self.rows, **other.rows}, bad)
        sums = {k: self.sums[k] + other.sums[k] for k in self.sums}
        moments = {k: self.moments[k].merge(other.moments[k]) for k in self.moments}
        return Partial(sums, moments, {**self.rows, **other.rows}, {})


class MinValue(float):
    """A number whose ``+`` is the minimum (a sum of :class:`Partial` keeps the smallest)."""

    def __add__(self, other):
        return MinValue(min(float(self), float(other)))


def merge_partials(*parts):
    out = parts[0]
    for p in parts[1:]:
        out = out.merge(p)
    return out


def _hstack(X, y):
    Y = y if y.ndim == 2 else y[:, None]
    if sp.issparse(X):
        return sp.hstack([X, sp.csr_matrix(Y)], format="csr")
    return np.column_stack([X, Y])


def _finite(X):
    data = X.data if sp.issparse(X) else X
    return bool(np.isfinite(data).all())


def moments_chunk(xb, yb, sb, index, target, gram, n_parts=0, labels=None, offset=None, datafit=None):
    """Pass 0: validity checks and the co-moments of ``[X, y]`` with weights ``s``.

    ``gram``: also the full centred ``(p+1) × (p+1)`` matrix (else its diagonal and the
    column against ``y`` only). With ``n_parts`` > 0 and ``labels`` (this chunk's part of
    a vector of integer labels in ``[0, n_parts)``): one set of co-moments per label (the
    test parts of a cross-validation, :mod:`penalized.dask.cv`). ``offset``: this chunk's offsets,
    subtracted from ``y`` (the squared error's ``(y − z − o)² = ((y − o) − z)²``). ``datafit``: its
    ``saturated_loss`` summed (with the weights ``s``) as ``sums["saturated"]``.
    """
    X, y, s = load(xb, yb, sb, index, target)
    if offset is not None:
        y = y - as_offset(offset, index, y.shape[0])
    n, p = X.shape
    bad = {}
    if not _finite(X):
        bad["X"] = [index]
    if not np.isfinite(y).all():
        bad["y"] = [index]
    if not np.isfinite(s).all():
        bad["sample_weight"] = [index]
    elif s.size and s.min() < 0:
        bad["negative sample_weight"] = [index]
    if bad:  # nothing below would be meaningful; the client raises
        return Partial({}, {}, {index: n}, bad)
    Z = _hstack(X, y)
    cols = np.arange(Z.shape[1]) if gram else None
    positive = (y > 0) if y.ndim == 1 else np.zeros(n, dtype=bool)  # (one target's facts)
    saturated = float(datafit.saturated_loss(y, s)) if datafit is not None and y.ndim == 1 else 0.0
    sums = {"positive_weight": float(s[positive].sum()), "nnz": float(X.nnz if sp.issparse(X) else n * p),
            "sparse_chunks": float(sp.issparse(X)), "saturated": saturated,
            "min_y": MinValue(float(y.min(initial=np.inf)))}
    if n_parts:
        labels = np.asarray(labels)
        moments = {}
        for f in range(n_parts):
            rows = labels == f
            moments[f"part{f}"] = comoments(Z[rows], s[rows], diag=True, cross=True, cols=cols, overwrite=True)
        return Partial(sums, moments, {index: n}, {})
    moments = {"all": comoments(Z, s, diag=True, cross=True, cols=cols, overwrite=True)}
    return Partial(sums, moments, {index: n}, {})


class LabelSums(dict):
    """Per class label: ``(Σ s, Σ s·x)`` over some rows; ``+`` merges two of them."""

    def __add__(self, other):
        out = LabelSums(self)
        for label, (w, sx) in other.items():
            if label in out:
                w0, sx0 = out[label]
                out[label] = (w0 + w, sx0 + sx)
            else:
                out[label] = (w, sx)
        return out


def label_moments_chunk(xb, yb, sb, index, gram):
    """Pass 0 of a classifier: the co-moments of ``X`` (weights ``s``) and, per class label, the
    weight and the weighted sum of ``x``: every binary problem's statistics (one-vs-rest
    included) follow without knowing the classes beforehand, and without another pass."""
    X, y, s = load(xb, yb, sb, index, Target("labels"))
    n, p = X.shape
    bad = {}
    if not _finite(X):
        bad["X"] = [index]
    if not np.isfinite(s).all():
        bad["sample_weight"] = [index]
    elif s.size and s.min() < 0:
        bad["negative sample_weight"] = [index]
    if bad:
        return Partial({}, {}, {index: n}, bad)
    labels, inverse = np.unique(y, return_inverse=True)
    sums = LabelSums()
    for k, label in enumerate(labels):
        rows = inverse == k
        sums[label.item() if hasattr(label, "item") else label] = (
            float(s[rows].sum()), np.asarray(X[rows].T @ s[rows]).ravel())
    Z = X if sp.issparse(X) else np.array(X, dtype=np.float64, order="C")  # a private copy to centre
    m = comoments(Z, s, diag=True, cross=False, cols=np.arange(p) if gram else None, overwrite=not sp.issparse(X))
    return Partial({"labels": sums, "nnz": float(X.nnz if sp.issparse(X) else n * p),
                    "sparse_chunks": float(sp.issparse(X))}, {"X": m}, {index: n}, {})


@dataclass(frozen=True)
class Step:
    """What a Newton pass evaluates (shipped once to every chunk task).

    At the current point ``z = Xw + b``: the data term of the duality gap for the dual
    scaling ``alpha`` (None: skip) and, with a direction ``(dw, db)``, the loss changes at
    the trial steps ``steps``. At ``z + dz`` (or ``z`` without a direction): the loss, the
    gradient and, over the columns ``hessian_cols`` (None: none), the ``ℓ''``-weighted
    co-moments (the Hessian).
    """

    datafit: object  # a penalized.datafits.Datafit
    w: np.ndarray
    b: float
    dw: np.ndarray | None = None
    db: float = 0.0
    steps: np.ndarray | None = None
    alpha: float | None = None
    hessian_cols: np.ndarray | None = None
    target: Target = Target()


def as_offset(ob, index, n):
    """A chunk of the offsets as float64 (n,), checked finite and aligned with the chunk's rows."""
    o = np.asarray(as_vector(ob, "offset", index), dtype=np.float64)
    if o.shape[0] != n:
        raise ValueError(f"X and offset are not aligned: chunk {index} of X has {n} rows but chunk {index} of "
                         f"offset has {o.shape[0]} values.")
    if not np.isfinite(o).all():
        raise ValueError(f"offset contains NaN or infinity (chunk {index}).")
    return o


def newton_chunk(xb, yb, sb, index, step, offset=None):
    X, y, s = load(xb, yb, sb, index, step.target)
    fit = step.datafit
    z = np.asarray(X @ step.w).ravel() + step.b
    if offset is not None:
        z += as_offset(offset, index, z.shape[0])
    sums = {}
    if step.alpha is not None:
        sums["gap"] = float(s @ fit._sample_gaps(y, z, step.alpha))
    if step.dw is not None:
        dz = np.asarray(X @ step.dw).ravel() + step.db
        sums["changes"] = fit._step_changes(y, z, dz, step.steps, s)
        z = z + dz
    loss, d, h = fit._loss_terms(y, z)
    sums["loss"] = float(s @ loss)
    if fit.needs_labels:  # wrong side (log-loss separation)
        sums["misfit"] = float(np.count_nonzero((s > 0) & (y * z <= 0)))
    h *= s
    sums["curvature"] = float(h.sum())
    d *= s
    sums["grad"] = np.asarray(X.T @ d).ravel()
    sums["grad_b"] = float(d.sum())
    moments = {}
    if step.hessian_cols is not None:
        Xs = X[:, step.hessian_cols]
        moments["hessian"] = comoments(Xs, h, diag=False, cross=False, cols=np.arange(len(step.hessian_cols)),
                                       overwrite=True)
    return Partial(sums, moments, {index: X.shape[0]}, {})


def count_chunk(xb, yb, sb, index):
    """Rows of one chunk (DataFrame partitions have unknown lengths until computed)."""
    return Partial({}, {}, {index: int(xb.shape[0])}, {})


def predict_chunk(xb, coef, intercept):
    """Decision values ``X @ coef.T + intercept`` of one chunk: (n_rows, n_problems)."""
    X = as_matrix(xb)
    return np.asarray(X @ coef.T) + intercept


def absolute_error_chunk(xb, yb, sb, index, coefs, intercepts, target, labels=None):
    """Σ s·|y − Xw − b| over the rows of each label ``f``, for the models ``coefs[f]`` (p, k) and
    ``intercepts[f]`` (k,): the held-out ``mae`` of every fold and λ, as ``sums["mae"]`` (K, k)."""
    X, y, s = load(xb, yb, sb, index, target)
    labels = np.asarray(labels)
    out = np.zeros((coefs.shape[0], coefs.shape[2]))
    for f in range(coefs.shape[0]):
        rows = labels == f
        if rows.any():
            Z = np.asarray(X[rows] @ coefs[f]) + intercepts[f]
            out[f] = s[rows] @ np.abs(y[rows, None] - Z)
    return Partial({"mae": out}, {}, {index: X.shape[0]}, {})
