"""Storage of a path's coefficients: dense, or sparse when that is smaller.

A path over ``k`` values of λ has ``p × k`` coefficients, most of them zero along a lasso path
when ``p`` is large: a 200,000-feature path over 100 λ is 160 MB dense and a few hundred KB
sparse. :class:`CoefRecorder` collects one point at a time without ever allocating the dense
``p × k`` array, then keeps whichever layout is smaller:

- dense ``(p, k)`` (``(K, p, k)`` for K outputs) when ``8·p·k ≤ 12·nnz + 8·(k + 1)``, the size of
  a CSC matrix with 32-bit indices (or when the path has several outputs: kept dense);
- otherwise a ``scipy.sparse.csc_array`` of shape ``(p, k)``, one column per λ.

:func:`dense_rows` reads the rows (features) a computation needs from either layout.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["CoefRecorder", "DENSE_VIEW_LIMIT", "dense_rows", "is_sparse_store", "used_features"]

#: ``PathResult.coefs`` densifies a sparse store only up to this many entries (80 MB of float64)
DENSE_VIEW_LIMIT = 10_000_000


def is_sparse_store(coefs):
    return sp.issparse(coefs)


class CoefRecorder:
    """Collects the coefficients of a path, point by point (``w`` of shape (p,) or (K, p))."""

    def __init__(self, n_features, n_points, n_outputs=1):
        self.p, self.k, self.K = n_features, n_points, n_outputs
        self.indices, self.values = [], []
        self.dense = np.zeros((n_points, n_outputs, n_features)) if n_outputs > 1 else None

    def add(self, i, w):
        if self.dense is not None:
            self.dense[i] = w
            return
        nz = np.flatnonzero(w)
        self.indices.append(nz.astype(np.int64))
        self.values.append(np.asarray(w[nz], dtype=np.float64))

    def result(self, n_points=None):
        """The coefficients of the first ``n_points`` points (default: all that were added)."""
        if self.dense is not None:
            k = self.k if n_points is None else n_points
            return self.dense[:k].transpose(1, 2, 0)
        k = len(self.indices) if n_points is None else n_points
        idx, val = self.indices[:k], self.values[:k]
        nnz = int(sum(len(i) for i in idx))
        if 8 * self.p * k <= 12 * nnz + 8 * (k + 1):
            out = np.zeros((self.p, k))
            for j, (i, x) in enumerate(zip(idx, val, strict=True)):
                out[i, j] = x
            return out
        indptr = np.zeros(k + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(i) for i in idx])
        index_dtype = np.int32 if max(nnz, self.p) < 2 ** 31 else np.int64
        data = np.concatenate(val) if k else np.zeros(0)
        indices = (np.concatenate(idx) if k else np.zeros(0, dtype=np.int64)).astype(index_dtype)
        return sp.csc_array((data, indices, indptr.astype(index_dtype)), shape=(self.p, k))


def used_features(coefs):
    """Indices of the features non-zero at some point (and some output) of a stored path."""
    if sp.issparse(coefs):
        return np.unique(sp.csc_array(coefs).indices).astype(np.int64)
    nz = coefs != 0
    return np.flatnonzero(nz.any(axis=-1) if nz.ndim == 2 else nz.any(axis=(0, 2)))


def dense_rows(coefs, rows, columns=None):
    """``coefs[..., rows, columns]`` as a dense array: (len(rows), k) for one output, (K, len(rows), k)."""
    if sp.issparse(coefs):
        sub = sp.csr_array(coefs)[np.asarray(rows)]
        if columns is not None:
            sub = sub[:, np.asarray(columns)]
        return sub.toarray()
    out = coefs[..., rows, :]
    return out if columns is None else out[..., columns]
