"""Figure helpers shared by the lab's sections (matplotlib, object-oriented, no pyplot).

Figures are created with :class:`matplotlib.figure.Figure` directly, so nothing here
touches pyplot's global state or the user's backend: saving uses the Agg renderer.
One palette for the whole lab: the same method has the same colour in every figure.
"""

from __future__ import annotations

import io

COLORS = {
    "none": "#6b6b6b",     # no penalty
    "l2": "#1f77b4",       # ridge / weight decay
    "l1": "#d62728",       # lasso
    "l1_subgrad": "#ff7f0e",
    "l1_prox": "#2ca02c",
    "train": "#9467bd",
    "test": "#17becf",
    "true": "#2ca02c",
    "irrelevant": "#b0b0b0",
    "cv": "#8c564b",
}

LABELS = {
    "none": "no penalty",
    "l2": "L2",
    "l1": "L1",
    "l1_subgrad": "L1 (subgradient)",
    "l1_prox": "L1 (proximal)",
}


def figure(ncols=1, nrows=1, width=5.2, height=3.8, **kwargs):
    """A ``Figure`` and its axes (a single ``Axes`` or an array), constrained layout."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **kwargs)
    return fig, axes


def style(ax, title=None, xlabel=None, ylabel=None, legend=True):
    if title:
        ax.set_title(title, fontsize=11)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3, linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False)
    return ax


def png_bytes(fig, dpi=110):
    """The figure as PNG bytes (rendered by Agg)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def path_axes(ax, lambdas, coefs, names=None, highlight=None, lam_marks=None, title=None):
    """Coefficient paths against λ (log scale, decreasing to the right).

    ``highlight``: boolean mask of features drawn in colour (the others in grey);
    ``lam_marks``: ``{label: λ}`` drawn as vertical lines.
    """
    import numpy as np
    from matplotlib.collections import LineCollection

    lambdas = np.asarray(lambdas)
    coefs = np.asarray(coefs)
    p = coefs.shape[0]
    highlight = np.ones(p, dtype=bool) if highlight is None else np.asarray(highlight, dtype=bool)
    ever = np.any(coefs != 0, axis=1)  # features that stay at 0 are the horizontal axis itself
    grey = np.flatnonzero(ever & ~highlight)
    if grey.size:  # one collection, not thousands of lines
        segments = np.stack([np.broadcast_to(lambdas, coefs[grey].shape), coefs[grey]], axis=-1)
        ax.add_collection(LineCollection(segments, colors=COLORS["irrelevant"], linewidths=0.8,
                                         alpha=0.7, zorder=2))
    cmap = _cmap()
    for rank, j in enumerate(np.flatnonzero(highlight)):
        label = names[j] if (names is not None and highlight.sum() <= 12) else None
        ax.plot(lambdas, coefs[j], color=cmap(rank % 10), lw=1.6, label=label, zorder=3)
    ax.autoscale_view()
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.axhline(0.0, color="black", lw=0.6)
    for k, (label, lam) in enumerate((lam_marks or {}).items()):
        ax.axvline(lam, color=COLORS["cv"], ls=("--", ":", "-.")[k % 3], lw=1.2, label=label)
    style(ax, title=title, xlabel="λ (log scale, decreasing →)", ylabel="coefficient")
    return ax


def cv_axes(ax, lambdas, mean, se, marks, label):
    """A cross-validation curve against λ: ``mean`` ± one standard error ``se`` (labelled
    ``label``) and ``marks`` ``{label: λ}`` (λ_min, λ_1se) as vertical lines, on a log λ
    axis decreasing to the right (as :func:`path_axes`)."""
    ax.errorbar(lambdas, mean, yerr=se, color=COLORS["cv"], lw=1.4, elinewidth=0.7, capsize=1.5, label=label)
    for k, (name, lam) in enumerate(marks.items()):
        ax.axvline(lam, color=COLORS["cv"], ls=("--", ":")[k % 2], lw=1.3, label=name)
    ax.set_xscale("log")
    if not ax.xaxis_inverted():
        ax.invert_xaxis()
    return ax


def _cmap():
    from matplotlib import colormaps

    return colormaps["tab10"]
