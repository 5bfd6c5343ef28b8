"""Survival targets and what the Cox model reads from them: validation of ``y``, Harrell's
concordance index and the Breslow estimate of the baseline hazard."""

from __future__ import annotations

import numpy as np

__all__ = ["check_survival_target", "concordance_index", "breslow_cumulative_hazard"]


def check_survival_target(y):
    """``(time, event)`` as float64 and bool arrays from ``y``.

    ``y`` is scikit-survival's structured array (an event field of booleans or 0/1 and a time
    field, in that order, as ``sksurv.util.Surv`` makes it) or an (n, 2) array of
    ``(time, event)`` columns. Raises ``ValueError`` on negative or non-finite times, an event
    indicator that is not 0/1, or no event at all.
    """
    y = np.asarray(y)
    if y.dtype.names is not None:
        if len(y.dtype.names) != 2 or y.ndim != 1:
            raise ValueError(f"a structured survival y needs 2 fields (event, time), got {y.dtype.names}.")
        event, time = y[y.dtype.names[0]], y[y.dtype.names[1]]
    elif y.ndim == 2 and y.shape[1] == 2:
        time, event = y[:, 0], y[:, 1]
    else:
        raise ValueError("survival y must be a structured array (event, time) as sksurv.util.Surv makes it, "
                         f"or an (n, 2) array of (time, event) columns; got shape {y.shape}.")
    try:
        time = np.asarray(time, dtype=np.float64)
        event_num = np.asarray(event, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"survival y: times and events must be numbers ({err}).") from None
    if time.shape[0] == 0:
        raise ValueError("survival y is empty.")
    if not np.all(np.isfinite(time)) or np.any(time < 0):
        raise ValueError("survival times must be finite and >= 0; got "
                         f"min {np.nanmin(time) if np.isfinite(time).any() else time[0]!r}.")
    if not np.all((event_num == 0) | (event_num == 1)):
        bad = np.unique(event_num[(event_num != 0) & (event_num != 1)])[:5]
        raise ValueError(f"the event indicator must be 0/1 (or boolean), got values {bad.tolist()}.")
    event = event_num == 1
    if not event.any():
        raise ValueError("every observation is censored (no event): the Cox partial likelihood is constant.")
    return time, event


def concordance_index(time, event, risk):
    """Harrell's C: among comparable pairs (``i`` has an event and ``t_i < t_j``, or ``t_i = t_j``
    with ``j`` censored), the fraction where the higher ``risk`` fails first; ties in risk count ½
    (scikit-survival's ``concordance_index_censored``)."""
    time, event, risk = (np.asarray(a) for a in (time, event, risk))
    concordant = tied = comparable = 0.0
    for i in np.flatnonzero(event):  # O(n · events), in vector operations
        later = (time > time[i]) | ((time == time[i]) & ~event)
        r = risk[later]
        comparable += r.shape[0]
        concordant += np.count_nonzero(risk[i] > r)
        tied += np.count_nonzero(risk[i] == r)
    if comparable == 0:
        raise ValueError("no comparable pair: Harrell's C is undefined on these data.")
    return (concordant + 0.5 * tied) / comparable


def breslow_cumulative_hazard(time, event, eta, sample_weight=None):
    """Breslow's baseline cumulative hazard at the distinct event times:
    ``H₀(t) = Σ_{t_k ≤ t} D_k / Σ_{j: t_j ≥ t_k} s_j exp(η_j)`` (``D_k``: the weighted events
    at ``t_k``). Returns ``(event_times, H0)``."""
    s = np.ones_like(time) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    times, inverse = np.unique(time, return_inverse=True)
    m = float(np.max(eta))
    risk_by_time = np.bincount(inverse, s * np.exp(eta - m), times.shape[0])
    at_risk = np.cumsum(risk_by_time[::-1])[::-1]
    deaths = np.bincount(inverse, s * event, times.shape[0])
    has = deaths > 0
    return times[has], np.cumsum(deaths[has] / at_risk[has]) * np.exp(-m)
