"""Dask inputs checked and aligned into chunks ``(X_i, y_i, s_i)``, and passes over them.

Everything checkable from the collections' metadata (types, shapes, dtypes, chunk sizes,
partition counts) is checked here, before any computation; what needs the values (NaN,
negative weights, chunk lengths of DataFrames) is checked by the first pass, whose
error names the chunk.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np

from .. import _validation as v
from . import chunks as C

FAN_IN = 8  # partial results merged per reduction task


@dataclass
class ChunkedData:
    """``X``, ``y`` and ``sample_weight`` as lists of aligned Dask ``Delayed`` chunks."""

    X: list
    y: list
    s: list | None
    n_features: int
    n_samples: int | None  # None for DataFrames until the first pass counts the rows
    feature_names: np.ndarray | None
    y_collection: object  # the Dask collection of y (for its classes)
    row_chunks: tuple | None  # rows per chunk when known
    offset: list | None = None  # the offsets' chunks, aligned with X's (None: no offset)

    def offset_chunks(self):
        """``per_chunk`` of :meth:`run` that gives the chunk functions their ``offset=`` (or nothing)."""
        return {} if self.offset is None else {"offset": self.offset}

    @property
    def n_chunks(self):
        return len(self.X)

    def run(self, func, *args, per_chunk=None, **kwargs):
        """One pass: ``func(X_i, y_i, s_i, i, *args, **kwargs, **per_chunk_i)`` per chunk, merged by a
        tree reduction.

        ``args`` are shipped once (one graph key each), not once per chunk; ``per_chunk``
        maps keyword names to lists of chunks aligned with ``X``'s. Returns the merged
        :class:`~penalized.dask.chunks.Partial`; a cluster that loses the workers of a task
        more often than Dask's ``allowed-failures`` raises a ``RuntimeError``.
        """
        import dask

        tag = uuid.uuid4().hex[:12]
        shared = [dask.delayed(a, name=f"penalized-arg-{i}-{tag}", traverse=False) for i, a in enumerate(args)]
        task = dask.delayed(func, pure=True)
        s = self.s if self.s is not None else [None] * self.n_chunks
        per_chunk = per_chunk or {}
        parts = [task(x, y, w, i, *shared, **kwargs, **{k: v[i] for k, v in per_chunk.items()})
                 for i, (x, y, w) in enumerate(zip(self.X, self.y, s, strict=True))]
        merge = dask.delayed(C.merge_partials, pure=True)
        while len(parts) > 1:
            parts = [merge(*parts[i:i + FAN_IN]) for i in range(0, len(parts), FAN_IN)]
        try:
            (result,) = dask.compute(parts[0])
        except Exception as exc:
            if type(exc).__name__ != "KilledWorker":
                raise
            raise RuntimeError(
                "the Dask cluster lost the worker(s) running a task of this fit more often than its "
                "'distributed.scheduler.allowed-failures' allows; no model was fitted (the estimator "
                f"keeps its previous state). Dask: {exc}") from exc
        return result

    def chunked_like_X(self, values):
        """A NumPy vector of one value per sample as chunks aligned with ``X``'s (rows known)."""
        import dask.array as da

        return list(da.from_array(values, chunks=(self.row_chunks,)).to_delayed().ravel())


def _types():
    """``(Array, DataFrame, Series)`` of dask (the DataFrame ones are ``()`` without dask.dataframe)."""
    import dask.array as da

    try:
        import dask.dataframe as dd
    except ImportError:  # dask installed without its DataFrame extra
        return da.Array, (), ()
    return da.Array, dd.DataFrame, dd.Series


def _is_frame(obj):
    return isinstance(obj, _types()[1])


def _is_series(obj):
    return isinstance(obj, _types()[2])


def _is_dask_array(obj):
    return isinstance(obj, _types()[0])


def _unknown(chunks):
    return any(np.isnan(c) for c in chunks)


def _check_numeric_array(X):
    kind = np.dtype(X.dtype).kind
    if kind not in "biuf":
        raise ValueError(f"X has dtype {X.dtype}; penalized needs numbers (float, int or bool).")


def _vector(obj, name, X, classifier):
    """``obj`` (y or sample_weight) as a Dask collection whose chunks align with ``X``'s."""
    import dask.array as da

    if obj is None:
        return None
    frame_x = _is_frame(X)
    if _is_frame(obj):
        if len(obj.columns) != 1:
            raise ValueError(f"{name} is a Dask DataFrame with {len(obj.columns)} columns; expected one "
                             "value per sample (a Series or a single column).")
        obj = obj[obj.columns[0]]
    if _is_series(obj) or _is_dask_array(obj):
        nparts = obj.npartitions if _is_series(obj) else obj.numblocks[0]
        if _is_dask_array(obj):
            if obj.ndim == 2 and obj.shape[1] == 1:
                obj = obj[:, 0]
            if obj.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional, got a Dask array of shape {obj.shape}.")
        if not classifier or name == "sample_weight":
            dtype = obj.dtype
            if np.dtype(dtype).kind not in "biuf":
                raise ValueError(f"{name} has dtype {dtype}; expected numbers.")
        if frame_x:
            if nparts != X.npartitions:
                raise ValueError(
                    f"X and {name} are not aligned: X has {X.npartitions} partitions but {name} has "
                    f"{nparts}. Take both from one Dask DataFrame (X = df[features], y = df[target]) "
                    "or repartition them alike.")
            return obj
        if _is_series(obj):
            raise ValueError(
                f"X is a Dask array but {name} is a Dask Series (unknown chunk sizes): pass "
                f"{name}.to_dask_array(lengths=True), or pass X as the Dask DataFrame.")
        if _unknown(obj.chunks[0]):
            raise ValueError(f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first.")
        if obj.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but {name} has {obj.shape[0]}.")
        if obj.chunks[0] != X.chunks[0]:
            obj = obj.rechunk({0: X.chunks[0]})  # a vector: cheap to re-cut like X
        return obj
    # in memory: NumPy, list, pandas
    arr = np.asarray(obj)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    if frame_x:
        raise ValueError(
            f"X is a Dask DataFrame (partitions of unknown length) but {name} is in memory: pass "
            f"{name} as a column of the same Dask DataFrame (or X as a Dask array with known chunks).")
    if arr.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but {name} has {arr.shape[0]}.")
    if (not classifier or name == "sample_weight") and arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} has dtype {arr.dtype}; expected numbers.")
    return da.from_array(arr, chunks=(X.chunks[0],))


def _targets(y, X):
    """Several targets ``y`` (n, T) as a Dask array whose row chunks are ``X``'s (whole rows per chunk)."""
    import dask.array as da

    if _is_frame(X) or _is_frame(y) or _is_series(y):
        raise NotImplementedError("several targets on Dask input take Dask arrays (X and y), not DataFrames.")
    if not _is_dask_array(y):
        y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"several targets need a 2-D y of shape (n_samples, n_targets), got shape {y.shape}.")
    if np.dtype(y.dtype).kind not in "biuf":
        raise ValueError(f"y has dtype {y.dtype}; expected numbers.")
    if _is_dask_array(y) and _unknown(y.chunks[0]):
        raise ValueError("y has unknown chunk sizes; call y.compute_chunk_sizes() first.")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}.")
    if not _is_dask_array(y):
        return da.from_array(y, chunks=(X.chunks[0], y.shape[1]))
    return y.rechunk({0: X.chunks[0], 1: -1})


def _chunks_of(collection, optimize):
    out = collection.to_delayed(optimize_graph=optimize)
    return list(np.ravel(out)) if isinstance(out, np.ndarray) else list(out)


def prepare(X, y, sample_weight=None, *, classifier=False, offset=None, multi_target=False):
    """Check ``X`` (Dask array or DataFrame), ``y`` and ``sample_weight``; returns :class:`ChunkedData`.

    Raises ``TypeError``/``ValueError`` naming the problem: a Dask collection that is
    neither an array nor a DataFrame, non-numeric columns, unknown chunk sizes, lengths or
    partitions that do not match, a missing ``y``. ``offset`` (one value per sample, added to the
    linear predictor) is checked and aligned as ``sample_weight`` is; ``multi_target``: ``y`` is
    (n_samples, n_targets), a Dask or NumPy array.
    """
    if y is None:
        raise ValueError("y is required: fit(X, y) with one target per sample.")
    names = None
    if _is_frame(X):
        v._reject_non_numeric_columns(X)
        names = np.asarray([str(c) for c in X.columns], dtype=object)
        if len(names) == 0:
            raise ValueError("X has 0 columns; at least one feature is required.")
        p, n, row_chunks = len(names), None, None
    elif _is_dask_array(X):
        if X.ndim != 2:
            raise ValueError(f"X must be two-dimensional (n_samples, n_features), got a Dask array of "
                             f"shape {X.shape}.")
        _check_numeric_array(X)
        if _unknown(X.chunks[0]) or _unknown(X.chunks[1]):
            raise ValueError(
                "X has unknown chunk sizes (a Dask array from a DataFrame's .values or .to_dask_array() "
                "without lengths): call X.compute_chunk_sizes(), use df.to_dask_array(lengths=True), "
                "or pass the Dask DataFrame itself.")
        n, p = X.shape
        if n == 0 or p == 0:
            raise ValueError(f"X has shape {X.shape}; at least one sample and one feature are required.")
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})  # whole rows per chunk
        row_chunks = tuple(int(c) for c in X.chunks[0])
    elif _is_series(X):
        raise ValueError("X is a Dask Series; pass a Dask DataFrame (X.to_frame()) or a 2-D Dask array.")
    else:
        raise TypeError(f"X must be a Dask array or DataFrame here, got {type(X).__name__}.")
    yc = _targets(y, X) if multi_target else _vector(y, "y", X, classifier)
    sc = _vector(sample_weight, "sample_weight", X, False)
    oc = _vector(offset, "offset", X, False)
    if _is_frame(X):  # each optimised on its own: reads project the columns each one needs
        xs, ys = _chunks_of(X, False), _chunks_of(yc, False)
        ss = None if sc is None else _chunks_of(sc, True)
    else:
        # arrays: not optimised, so that a task making X's and y's chunks together (a chunk of
        # one table, say) stays one task and runs once per pass: low-level fusion would copy
        # it into the tasks of X's chunk and of y's chunk
        xs, ys = _chunks_of(X, False), _chunks_of(yc, False)
        ss = None if sc is None else _chunks_of(sc, False)
    y_coll = y
    if not (_is_series(y) or _is_dask_array(y) or _is_frame(y)):
        y_coll = np.asarray(y)
    os_ = None if oc is None else _chunks_of(oc, _is_frame(X))
    return ChunkedData(xs, ys, ss, p, n, names, y_coll, row_chunks, os_)


def classes_of(data):
    """The sorted class labels of ``y`` (one pass over ``y`` only)."""
    y = data.y_collection
    if _is_frame(y):
        y = y[y.columns[0]]
    if _is_series(y):
        values = np.asarray(y.unique().compute())
    elif _is_dask_array(y):
        import dask.array as da

        values = np.asarray(da.unique(y.ravel()).compute())
    else:
        values = np.asarray(y)
    from sklearn.utils.multiclass import check_classification_targets

    check_classification_targets(values)
    return np.unique(values)
