"""The group lasso ``GroupL1``: ``lam · Σ_g c_g ‖w_g‖₂`` (block soft-thresholding)."""

from __future__ import annotations

import numpy as np

from .base import (
    GroupStructure,
    KernelPenalty,
    Penalty,
    _finfo,
    _is_numpy,
    _tiny,
    _where,
    check_penalty_weights,
    check_strength,
)

__all__ = ["GroupL1", "check_group_labels", "group_codes", "group_weights"]


def _flat_rows(w):
    """``w`` as a 2-D array, one row per slice ``w[i]`` along the first axis."""
    if w.ndim == 0:
        raise ValueError("GroupL1 needs an array with at least one dimension (groups are slices w[i]).")
    return w.reshape(w.shape[0], -1)


def check_group_labels(groups, n_rows=None, name="groups"):
    """Validate group labels: ``None`` (one group per slice ``w[i]``) or non-negative
    integer labels of length ``w.shape[0]``; returns an int64 array or None.

    Labels are names, not indices: any non-negative integers (``[3, 3, 10**9]`` is two
    groups); :func:`group_codes` maps them to ``0 … G−1`` in increasing label order."""
    if groups is None:
        return None
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"{name} must be a non-empty one-dimensional array of integer labels, "
                         f"got shape {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        if np.issubdtype(labels.dtype, np.floating) and not np.all(np.isfinite(labels)):
            bad = np.flatnonzero(~np.isfinite(labels))
            raise ValueError(f"{name} contains NaN or infinity (at position(s) {bad[:5].tolist()}): "
                             "group labels must be finite integers >= 0.")
        if not (np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels))):
            raise TypeError(f"{name} must hold integer group labels, got dtype {labels.dtype}.")
        if np.abs(labels).max() >= 2.0 ** 53:
            raise ValueError(f"{name} has a label of {np.abs(labels).max():g}: integer labels stored as "
                             "floats must be below 2**53 to be exact; pass integers.")
    labels = labels.astype(np.int64, copy=False)
    if labels.min() < 0:
        raise ValueError(f"{name} must be labels >= 0, got {labels.min()}.")
    if n_rows is not None and labels.shape[0] != n_rows:
        raise ValueError(f"{name} has {labels.shape[0]} labels but w has {n_rows} slices along axis 0.")
    return labels


def group_codes(labels):
    """``(codes, distinct)``: the group index ``0 … G−1`` of every label and the ``G`` distinct
    labels in increasing order (memory O(len(labels)), whatever the labels' values)."""
    distinct, codes = np.unique(labels, return_inverse=True)
    return codes.astype(np.int64, copy=False).reshape(-1), distinct


def group_weights(weights, distinct):
    """The factor ``c_g`` of each distinct label: ``weights`` holds one per distinct label (in
    increasing label order) or, for labels ``0 … max``, one per label value (``weights[label]``,
    labels without features included)."""
    if weights is None:
        return None
    n_groups = distinct.shape[0]
    if weights.shape[0] == n_groups:
        return weights
    if weights.shape[0] == int(distinct[-1]) + 1:
        return weights[distinct]
    values = "" if weights.shape[0] == n_groups or distinct[-1] + 1 == n_groups else (
        f" (or {int(distinct[-1]) + 1}, one per label value 0 … {int(distinct[-1])})")
    raise ValueError(
        f"GroupL1 weights has {weights.shape[0]} entries but groups has {n_groups} distinct "
        f"label(s): pass one weight per distinct label, in increasing label order{values}."
    )


class GroupL1(Penalty):
    """Group lasso ``lam · Σ_g c_g ‖w_g‖₂`` (block soft-thresholding, whole groups to zero).

    The groups are slices along the **first axis** of ``w``:

    - ``groups=None`` (default): every slice ``w[i]`` is its own group. For a
      ``torch.nn.Linear`` weight (``out × in``) the groups are the rows, i.e. the
      incoming weights of each output unit (neuron); for a convolution kernel
      (``out × in × k…``) they are the output channels; for a linear model's 2-D
      coefficients (``n_features × n_tasks``) a feature across all tasks.
    - ``groups=labels`` (integers ≥ 0, one per slice): slices with the same label form one
      group, e.g. grouped features of a 1-D coefficient vector. Labels are names: only their
      distinct values count (``[0, 0, 7, 10**9]`` is three groups, and costs three, not 10⁹).

    Parameters
    ----------
    lam : float, default=0.01
        Strength λ ≥ 0.
    groups : array of int of shape (w.shape[0],), optional
        Group label (an integer ≥ 0, finite) of every slice; ``None`` makes every slice a group.
    weights : array of shape (n_groups,), optional
        Per-group factors ``c_g`` ≥ 0 (0 leaves a group unpenalized), one per distinct label in
        increasing label order (for labels ``0 … G−1``: ``weights[g]`` is group ``g``'s). Labels
        ``0 … max`` with gaps may also pass ``max + 1`` weights indexed by label value. Without
        ``groups``, one per slice. The default is 1 for every group. Yuan & Lin (2006), grpreg
        and adelie weight groups by ``sqrt(group size)`` so that large groups are not favoured:
        pass ``weights=np.sqrt(np.unique(groups, return_counts=True)[1])`` for that convention.

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

    # -- the solvers' view -----------------------------------------------------------------
    def group_structure(self, n_features):
        """:class:`GroupStructure` of the features (one group per feature without labels)."""
        if self.groups is None:
            labels = np.arange(n_features)
            c = self._weights_per_slice(n_features)
        else:
            check_group_labels(self.groups, n_features)
            labels, distinct = group_codes(self.groups)
            c = group_weights(self.weights, distinct)
        c = np.ones(int(labels.max()) + 1 if labels.size else 0) if c is None else c
        return GroupStructure.from_labels(labels, self.lam * c)

    def _weights_per_slice(self, n_rows):
        if self.weights is not None and self.weights.shape[0] != n_rows:
            raise ValueError(f"weights has {self.weights.shape[0]} entries but there are {n_rows} groups "
                             "(without groups=, every slice w[i] is a group: one weight each).")
        return self.weights

    def kernel(self, n_features, bounds=None):
        from ..solvers import _kernels as k

        zeros = np.zeros(n_features)
        return KernelPenalty.build(k.PEN_ENET, zeros, zeros, bounds, convex=True, name="GroupL1",
                                   groups=self.group_structure(n_features))

    def subset(self, features):
        """The group lasso on the features ``features`` (groups relabelled, their weights kept)."""
        if self.groups is None:
            return GroupL1(self.lam, None, None if self.weights is None else self.weights[features])
        codes, distinct = group_codes(self.groups)
        c = group_weights(self.weights, distinct)
        present, relabelled = np.unique(codes[features], return_inverse=True)
        return GroupL1(self.lam, relabelled, None if c is None else c[present])

    def with_feature_factors(self, factors):
        raise TypeError("GroupL1 has per-group weights, not per-feature ones.")

    def screening_blocks(self, n_features):
        return self.group_structure(n_features).labels

    def zero_levels(self, grad):
        """``‖g_g‖ / (lam·c_g)`` per group (``inf`` for unpenalized groups)."""
        grad = np.asarray(grad)
        s = self.group_structure(grad.shape[0])
        sq = (grad.reshape(grad.shape[0], -1) ** 2).sum(1)
        norms = np.sqrt(np.bincount(s.labels, weights=sq, minlength=s.n_groups))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s.lam > 0, norms / np.where(s.lam > 0, s.lam, 1.0), np.inf)

    # -- group bookkeeping (NumPy or torch) ---------------------------------------------
    def _labels(self, w):
        """``(labels or None, n_groups)``; labels as an index array like ``w``."""
        n_rows = _flat_rows(w).shape[0]
        if self.groups is None:
            self._weights_per_slice(n_rows)
            return None, n_rows
        check_group_labels(self.groups, n_rows)
        labels, distinct = group_codes(self.groups)
        group_weights(self.weights, distinct)  # checks their number
        if not _is_numpy(w):
            import torch

            labels = torch.as_tensor(labels, device=w.device)
        return labels, distinct.shape[0]

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
        c = self.lam * (self.weights if self.groups is None else group_weights(
            self.weights, group_codes(self.groups)[1]))
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
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # vanished groups: masked out
                return self._prox_diagonal(w, np.broadcast_to(step, w.shape), labels, n_groups)
        if not _is_numpy(w) and getattr(step, "ndim", 0) > 0:
            return self._prox_diagonal(w, step.expand(w.shape), labels, n_groups)
        rows = _flat_rows(w)
        norms = self.group_norms(w)
        # a zero group: step·lam/tiny overflows to inf, and the clip makes its shrink 0, as it should be
        with np.errstate(over="ignore"):
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

