"""Matplotlib figures shared by the estimators, the lab and the CLI.

matplotlib is imported inside each function, never when ``penalized`` is imported. Every
function draws on ``ax`` when given (else on a new ``fig, ax = plt.subplots()``) and
returns the Axes, so it works with any backend, including Agg.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_path", "plot_cv", "plot_stability"]


def _axes(ax, figsize=(7, 4.8)):
    """``(ax, created)``: the given Axes, or a new figure's."""
    if ax is not None:
        return ax, False
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax, True


def _finish(ax, created):
    if created:
        ax.figure.tight_layout()
    return ax


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


def path_curves(path, output=None):
    """``(curves (p, k), y label)``: the coefficients of a one-output path; for several outputs
    one output's (``output``: its label) or, by default, each feature's norm over the outputs."""
    if path.coefs.ndim == 2:
        if output is not None:
            raise ValueError("output= selects one output of a path with several; this path has one.")
        return path.coefs, "coefficient"
    if output is None:
        return np.sqrt((path.coefs ** 2).sum(axis=0)), "‖coefficients over the outputs‖₂"
    labels = list(path.outputs) if path.outputs is not None else list(range(path.coefs.shape[0]))
    if output not in labels:
        raise ValueError(f"output must be one of the path's outputs {labels!r}, got {output!r}.")
    return path.coefs[labels.index(output)], f"coefficient (output {output!r})"


def plot_path(path, ax=None, *, max_labels=10, title=None, output=None):
    """Coefficient paths of a :class:`~penalized.path.PathResult` against λ (log scale).

    λ decreases to the right (the model grows from the empty one); each feature's curve
    is labelled by name at the smallest λ (the ``max_labels`` largest ones). With several
    outputs (classes, tasks) each feature's curve is the norm of its coefficients over the
    outputs, or one output's coefficients with ``output=`` (a class label or task).
    """
    curves, ylabel = path_curves(path, output)
    ax, created = _axes(ax)
    lam = path.lambdas
    lines = ax.plot(lam, curves.T, lw=1.2)
    colors = [ln.get_color() for ln in lines]
    ax.set_xscale("log")
    ax.set_xlim(lam.max(), lam.min())
    ax.axhline(0.0, color="0.6", lw=0.6)
    _label_ends(ax, lam[-1], curves[:, -1], path.feature_names, max_labels, colors)
    ax.set_xlabel("λ (log scale)")
    ax.set_ylabel(ylabel)
    if len(lam) > 1:
        _top_axis_counts(ax, lam, path.n_nonzero)
    ax.set_title(title or f"{type(path.datafit).__name__} + λ·{path.penalty!r}", fontsize=10)
    return _finish(ax, created)


def plot_cv(est, ax=None, *, title=None):
    """CV curve of a fitted CV estimator: mean ± one standard error, λ_min and λ_1se marked.

    With a grid of ``l1_ratio`` (or γ for the relaxed lasso), the row of the selected one is shown.
    """
    ax, created = _axes(ax)
    lam = np.asarray(est.lambdas_)
    mean, se = np.asarray(est.cv_mean_), np.asarray(est.cv_std_err_)
    if lam.ndim == 2:  # several l1_ratio: the selected row
        row = int(np.flatnonzero(np.isclose(np.atleast_1d(est.l1_ratio), est.l1_ratio_))[0])
        lam, mean, se = lam[row], mean[row], se[row]
    if mean.ndim == 2:  # relaxed lasso: the selected γ
        row = int(np.flatnonzero(est.gammas_ == est.gamma_)[0])
        mean, se = mean[row], se[row]
    ax.errorbar(lam, mean, yerr=se, fmt="o", ms=3, color="tab:red", ecolor="0.65", elinewidth=0.8,
                capsize=1.5)
    ax.set_xscale("log")
    ax.set_xlim(lam.max() * 1.1, lam.min() / 1.1)
    ax.axvline(est.lam_min_, color="0.25", ls="--", lw=1, label=f"λ_min = {est.lam_min_:.3g}")
    ax.axvline(est.lam_1se_, color="0.25", ls=":", lw=1, label=f"λ_1se = {est.lam_1se_:.3g}")
    ax.set_xlabel("λ (log scale)")
    ax.set_ylabel(f"CV {est.scoring_} (mean ± 1 s.e.)")
    ax.legend(fontsize=8, loc="best")
    path = est.path_ if not isinstance(est.path_, list) else None
    if path is not None and len(lam) > 1:
        _top_axis_counts(ax, lam, path.n_nonzero)
    ax.set_title(title or f"{type(est).__name__}: {est.n_splits_}-fold CV", fontsize=10)
    return _finish(ax, created)


def plot_stability(result, ax=None, *, max_labels=10, title=None):
    """Stability paths: each feature's selection probability against λ; the selected
    ones in colour (labelled), the others grey, the threshold dashed."""
    ax, created = _axes(ax)
    lam = result.lambdas
    for j in np.flatnonzero(~result.selected):
        ax.plot(lam, result.probabilities[j], color="0.75", lw=0.8)
    chosen = np.flatnonzero(result.selected)
    colors = {}
    for j in chosen:
        line, = ax.plot(lam, result.probabilities[j], lw=1.6)
        colors[j] = line.get_color()
    ax.axhline(result.threshold, color="0.3", ls="--", lw=1, label=f"threshold π = {result.threshold:g}")
    ax.set_xscale("log")
    ax.set_xlim(lam.max(), lam.min())
    ax.set_ylim(-0.02, 1.02)
    if result.lambda_range < len(lam):
        ax.axvspan(lam[result.lambda_range - 1], lam.min(), color="0.92", zorder=0,
                   label=f"outside Λ (q = {result.q:.3g})")
    if chosen.size:
        end = np.zeros(len(result.selected))
        end[chosen] = result.probabilities[chosen, -1]
        _label_ends(ax, lam[-1], np.where(result.selected, np.maximum(end, 1e-9), 0.0),
                    result.feature_names, max_labels, colors)
    ax.set_xlabel("λ (log scale)")
    ax.set_ylabel("selection probability")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title or f"Stability selection: {int(result.selected.sum())} selected of "
                 f"{len(result.selected)} ({result.n_subsamples} subsamples)", fontsize=10)
    return _finish(ax, created)
