"""The figures of penalized: one module under the lab, the tables, the report and the
``.plot()`` methods of paths, CV estimators and stability selection.

One rule: every figure is a plain :class:`matplotlib.figure.Figure`, never created through
pyplot. Nothing here imports pyplot, changes the backend or registers a figure in
pyplot's global list, so a tour that draws dozens of figures leaks none, and any backend
(headless included) works: PNG output is rendered by Agg (:func:`png_bytes`,
``fig.savefig``). matplotlib is imported inside the functions, never when ``penalized`` is.

- :func:`figure`, :func:`style`, :func:`png_bytes` and the palette :data:`COLORS` (the
  same method has the same colour in every figure).
- Drawing on a given Axes: :func:`path_axes` (coefficient paths), :func:`cv_axes` (a CV
  curve). They return the Axes.
- For users: :func:`plot_path`, :func:`plot_cv`, :func:`plot_stability` draw a result on
  ``ax`` when given (e.g. ``plt.subplots()``'s, to show it in a pyplot window), else on a
  new :func:`figure`; they return the Axes (``ax.figure`` is the figure: display it in a
  notebook, or ``ax.figure.savefig("path.png")``).
"""

from __future__ import annotations

import io

import numpy as np
import scipy.sparse as sp

__all__ = ["COLORS", "LABELS", "figure", "style", "png_bytes", "path_axes", "cv_axes", "plot_path", "plot_cv",
           "plot_stability"]

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

_LAMBDA_AXIS = "λ (log scale, decreasing →)"


# -- figures ------------------------------------------------------------------------------------
def figure(ncols=1, nrows=1, width=5.2, height=3.8, **kwargs):
    """A ``Figure`` and its axes (a single ``Axes`` or an array), constrained layout."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **kwargs)
    return fig, axes


def style(ax, title=None, xlabel=None, ylabel=None, legend=True):
    """Title, labels, a light grid, no top and right spines, and a legend if anything is labelled."""
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


def _user_axes(ax):
    """The caller's Axes, or the single Axes of a new :func:`figure`."""
    return figure(width=7.0, height=4.8)[1] if ax is None else ax


def _cmap():
    from matplotlib import colormaps

    return colormaps["tab10"]


def _decreasing_log_lambda(ax):
    ax.set_xscale("log")
    if not ax.xaxis_inverted():
        ax.invert_xaxis()


# -- drawing on an Axes ---------------------------------------------------------------------------
def _spread(values, min_gap, high):
    """Label heights near ``values`` (same order), at least ``min_gap`` apart, at most ``high``."""
    order = np.argsort(values, kind="stable")
    placed = np.array(values, dtype=float)[order]
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + min_gap)
    if placed[-1] > high:  # pushed off the top: stack down from it
        placed[-1] = high
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - min_gap)
    out = np.empty_like(placed)
    out[order] = placed
    return out


def _label_ends(ax, x_end, values, names, max_labels, colors):
    """Write the names of the ``max_labels`` largest non-zero |values| at ``x_end``, spread apart."""
    order = [j for j in np.argsort(-np.abs(values))[:max_labels] if values[j] != 0]
    if not order:
        return
    low, high = ax.get_ylim()
    heights = _spread(values[order], 0.045 * (high - low), high)
    for j, h in zip(order, heights, strict=True):
        ax.annotate(str(names[j]), (x_end, values[j]), xytext=(1.01, h),
                    textcoords=("axes fraction", "data"), va="center", fontsize=8, color=colors[j],
                    annotation_clip=False)


def _top_axis_counts(ax, lambdas, counts, n_ticks=6):
    """A top x axis giving the number of non-zero coefficients at a few λ (as glmnet's plots)."""
    top = ax.twiny()
    top.set_xscale("log")
    top.set_xlim(ax.get_xlim())
    idx = np.unique(np.linspace(0, len(lambdas) - 1, min(n_ticks, len(lambdas))).astype(int))
    top.set_xticks(lambdas[idx])
    top.set_xticklabels([str(int(c)) for c in np.asarray(counts)[idx]])
    top.minorticks_off()
    top.set_xlabel("non-zero coefficients", fontsize=9)
    return top


def _mark_lambdas(ax, marks, styles=("--", ":", "-."), lw=1.2):
    """``{label: λ}`` as vertical lines."""
    for k, (label, lam) in enumerate((marks or {}).items()):
        ax.axvline(lam, color=COLORS["cv"], ls=styles[k % len(styles)], lw=lw, label=label)


def path_axes(ax, lambdas, coefs, names=None, highlight=None, lam_marks=None, title=None, *,
              end_labels=0, counts=None, ylabel="coefficient"):
    """Coefficient paths against λ (log scale, decreasing to the right).

    ``highlight``: boolean mask of features drawn in colour (the others in grey; default:
    all in colour); ``lam_marks``: ``{label: λ}`` drawn as vertical lines. Feature names
    go in the legend (up to 12 coloured features), or, with ``end_labels=k > 0``, at the
    right end of the ``k`` largest coloured curves. ``counts``: the number of non-zero
    coefficients per λ, written on a top axis.
    """
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
    colors = {}
    in_legend = names is not None and not end_labels and highlight.sum() <= 12
    for rank, j in enumerate(np.flatnonzero(highlight)):
        colors[j] = cmap(rank % 10)
        ax.plot(lambdas, coefs[j], color=colors[j], lw=1.6, label=names[j] if in_legend else None, zorder=3)
    ax.autoscale_view()
    _decreasing_log_lambda(ax)
    ax.axhline(0.0, color="black", lw=0.6)
    _mark_lambdas(ax, lam_marks)
    style(ax, title=title, xlabel=_LAMBDA_AXIS, ylabel=ylabel)
    if end_labels and names is not None:
        ends = np.where(highlight, coefs[:, -1], 0.0)
        _label_ends(ax, lambdas[-1], ends, names, end_labels, colors)
    if counts is not None and len(lambdas) > 1:
        _top_axis_counts(ax, lambdas, counts)
    return ax


def cv_axes(ax, lambdas, mean, se, marks, label):
    """A cross-validation curve against λ: ``mean`` ± one standard error ``se`` (labelled
    ``label``) and ``marks`` ``{label: λ}`` (λ_min, λ_1se) as vertical lines, on a log λ
    axis decreasing to the right (as :func:`path_axes`)."""
    ax.errorbar(lambdas, mean, yerr=se, color=COLORS["cv"], lw=1.4, elinewidth=0.7, capsize=1.5, label=label)
    _mark_lambdas(ax, marks, styles=("--", ":"), lw=1.3)
    _decreasing_log_lambda(ax)
    return ax


# -- for users: the .plot() methods -----------------------------------------------------------------
def path_curves(path, output=None):
    """``(curves (m, k), y label, names)``: the coefficients of a one-output path; for several outputs
    one output's (``output``: its label) or, by default, each feature's norm over the outputs. Only
    the features non-zero somewhere on the path are returned (the others are the horizontal axis)."""
    used, coefs = _used_rows(path.coef_store)
    names = np.asarray(path.feature_names)[used]
    if coefs.ndim == 2:
        if output is not None:
            raise ValueError("output= selects one output of a path with several; this path has one.")
        return coefs, "coefficient", names
    if output is None:
        return np.sqrt((coefs ** 2).sum(axis=0)), "‖coefficients over the outputs‖₂", names
    labels = list(path.outputs) if path.outputs is not None else list(range(coefs.shape[0]))
    if output not in labels:
        raise ValueError(f"output must be one of the path's outputs {labels!r}, got {output!r}.")
    return coefs[labels.index(output)], f"coefficient (output {output!r})", names


def _used_rows(store):
    """``(used, dense rows)``: the features non-zero somewhere in a path's (dense or sparse) store."""
    if sp.issparse(store):
        csr = sp.csr_array(store)
        used = np.flatnonzero(np.diff(csr.indptr))
        return used, csr[used].toarray()
    nz = store != 0
    used = np.flatnonzero(nz.any(axis=-1) if nz.ndim == 2 else nz.any(axis=(0, 2)))
    return used, store[..., used, :]


#: glmnet's ``plot(fit, xvar=)``: what the x axis shows
PATH_XVARS = ("lambda", "norm", "dev")


def plot_path(path, ax=None, *, xvar="lambda", label=True, max_labels=10, title=None, output=None):
    """Coefficient paths of a :class:`~penalized.path.PathResult`, as glmnet's ``plot(fit, xvar=, label=)``.

    ``xvar="lambda"``: against λ (log scale, decreasing to the right: the model grows from the
    empty one); ``"norm"``: against the L1 norm of the coefficients ``Σ_j |w_j|`` (over the
    outputs too); ``"dev"``: against the deviance ratio (``path.dev_ratio``). With ``label=True``
    the ``max_labels`` largest curves are labelled by feature name at their end; the top axis
    counts the non-zero coefficients. With several outputs (classes, tasks) each feature's curve
    is the norm of its coefficients over the outputs, or one output's coefficients with
    ``output=`` (a class label or task). Draws on ``ax`` (else on a new :func:`figure`) and
    returns it.
    """
    if xvar not in PATH_XVARS:
        raise ValueError(f"xvar must be one of {PATH_XVARS}, got {xvar!r}.")
    if not isinstance(label, (bool, np.bool_)):
        raise TypeError(f"label must be True or False, got {label!r}.")
    curves, ylabel, names = path_curves(path, output)
    ax = _user_axes(ax)
    title = title or f"{type(path.datafit).__name__} + λ·{path.penalty!r}"
    end_labels = max_labels if label else 0
    if xvar == "lambda":
        return path_axes(ax, path.lambdas, curves, names=names, end_labels=end_labels,
                         counts=path.n_nonzero, ylabel=ylabel, title=title)
    if xvar == "norm":
        store = path.coef_store
        if sp.issparse(store):
            x = np.asarray(abs(store).sum(axis=0)).ravel()
        else:
            x = np.abs(store).sum(axis=tuple(range(store.ndim - 1)))
        xlabel = "L1 norm of the coefficients"
    else:
        if path.dev_ratio is None:
            raise ValueError("xvar='dev' needs the path's deviance ratios (not computed for this path).")
        x, xlabel = np.asarray(path.dev_ratio), "fraction of deviance explained"
    return _path_against(ax, x, curves, names, end_labels, path.n_nonzero, xlabel, ylabel, title)


def _path_against(ax, x, curves, names, end_labels, counts, xlabel, ylabel, title):
    """Coefficient curves against an increasing x (the L1 norm, the deviance ratio), linear scale."""
    cmap = _cmap()
    colors = {}
    in_legend = not end_labels and len(curves) <= 12
    for j in range(len(curves)):
        colors[j] = cmap(j % 10)
        ax.plot(x, curves[j], color=colors[j], lw=1.6, label=names[j] if in_legend else None, zorder=3)
    ax.axhline(0.0, color="black", lw=0.6)
    style(ax, title=title, xlabel=xlabel, ylabel=ylabel)
    if end_labels and len(curves):
        _label_ends(ax, x[-1], curves[:, -1], names, end_labels, colors)
    if len(x) > 1:
        top = ax.twiny()
        top.set_xlim(ax.get_xlim())
        idx = np.unique(np.linspace(0, len(x) - 1, min(6, len(x))).astype(int))
        top.set_xticks(x[idx])
        top.set_xticklabels([str(int(c)) for c in np.asarray(counts)[idx]])
        top.set_xlabel("non-zero coefficients", fontsize=9)
    return ax


def plot_cv(est, ax=None, *, title=None):
    """CV curve of a fitted CV estimator: mean ± one standard error, λ_min and λ_1se marked.

    With a grid of ``l1_ratio`` (or γ for the relaxed lasso), the row of the selected one
    is shown. Draws on ``ax`` (else on a new :func:`figure`) and returns it.
    """
    ax = _user_axes(ax)
    lam = np.asarray(est.lambdas_)
    mean, se = np.asarray(est.cv_mean_), np.asarray(est.cv_std_err_)
    if lam.ndim == 2:  # several l1_ratio: the selected row
        row = int(np.flatnonzero(np.isclose(np.atleast_1d(est.l1_ratio), est.l1_ratio_))[0])
        lam, mean, se = lam[row], mean[row], se[row]
    if mean.ndim == 2:  # relaxed lasso: the selected γ
        row = int(np.flatnonzero(est.gammas_ == est.gamma_)[0])
        mean, se = mean[row], se[row]
    marks = {f"λ_min = {est.lam_min_:.3g}": est.lam_min_, f"λ_1se = {est.lam_1se_:.3g}": est.lam_1se_}
    cv_axes(ax, lam, mean, se, marks, f"{est.n_splits_}-fold CV {est.scoring_} ± 1 s.e.")
    style(ax, title=title or f"{type(est).__name__}: {est.n_splits_}-fold CV", xlabel=_LAMBDA_AXIS,
          ylabel=f"CV {est.scoring_} (mean ± 1 s.e.)")
    path = est.path_ if not isinstance(est.path_, list) else None
    if path is not None and len(lam) > 1:
        _top_axis_counts(ax, lam, path.n_nonzero)
    return ax


def plot_stability(result, ax=None, *, max_labels=10, title=None):
    """Stability paths: each feature's selection probability against λ; the selected
    ones in colour (labelled), the others grey, the threshold dashed, λ outside the range
    Λ shaded. Draws on ``ax`` (else on a new :func:`figure`) and returns it."""
    ax = _user_axes(ax)
    lam = result.lambdas
    for j in np.flatnonzero(~result.selected):
        ax.plot(lam, result.probabilities[j], color=COLORS["irrelevant"], lw=0.8)
    chosen = np.flatnonzero(result.selected)
    cmap = _cmap()
    colors = {}
    for rank, j in enumerate(chosen):
        colors[j] = cmap(rank % 10)
        ax.plot(lam, result.probabilities[j], color=colors[j], lw=1.6)
    ax.axhline(result.threshold, color="0.3", ls="--", lw=1, label=f"threshold π = {result.threshold:g}")
    ax.set_xscale("log")
    ax.set_xlim(lam.max(), lam.min())
    ax.set_ylim(-0.02, 1.02)
    if result.lambda_range < len(lam):
        ax.axvspan(lam[result.lambda_range - 1], lam.min(), color="0.92", zorder=0,
                   label=f"outside Λ (q = {result.q:.3g})")
    style(ax, title=title or f"Stability selection: {int(result.selected.sum())} selected of "
                             f"{len(result.selected)} ({result.n_subsamples} subsamples)",
          xlabel=_LAMBDA_AXIS, ylabel="selection probability")
    if chosen.size:
        end = np.zeros(len(result.selected))
        end[chosen] = result.probabilities[chosen, -1]
        _label_ends(ax, lam[-1], np.where(result.selected, np.maximum(end, 1e-9), 0.0),
                    result.feature_names, max_labels, colors)
    return ax
