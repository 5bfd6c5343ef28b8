"""Section 1: overfitting and its three causes.

Claim: a model overfits (low training error, high test error) when it is too complex
for the data, when there is too little data, or when the data are noisy; a penalty
(here L2) pulls the test error back down in each case.

Experiment: ``y = sin(2.5x) + x/2 + σ·ε`` on ``x ~ U(−1, 1)``, fitted by least squares
on Legendre polynomial features of degree d (``pz.LinearRegression()``), and by the
same model with an L2 penalty of fixed strength (``pz.Ridge``). Three sweeps: the
degree (model complexity), the number of training points (a learning curve), the noise
level σ. Each point is the median over repeated random draws of the training set; test
errors are measured on 1000 fresh points.
"""

from __future__ import annotations

import numpy as np

from ..plots import COLORS, figure, style
from . import SectionResult

RIDGE_LAM = 3e-3
TEST_SIZE = 1000


def truth(x):
    return np.sin(2.5 * x) + 0.5 * x


def features(x, degree):
    """Legendre polynomials P_1 … P_degree of x (P_0 is the model's intercept)."""
    from numpy.polynomial import legendre

    return legendre.legvander(x, degree)[:, 1:]


def _errors(rng, n, degree, sigma, reps):
    """Median (over reps) train/test MSE of least squares and ridge: 4 numbers."""
    import penalized as pz

    out = np.empty((reps, 4))
    for r in range(reps):
        x = rng.uniform(-1, 1, n)
        y = truth(x) + sigma * rng.standard_normal(n)
        xt = rng.uniform(-1, 1, TEST_SIZE)
        yt = truth(xt) + sigma * rng.standard_normal(TEST_SIZE)
        X, Xt = features(x, degree), features(xt, degree)
        ols = pz.LinearRegression(tol=1e-10, max_iter=20_000).fit(X, y)
        ridge = pz.Ridge(lam=RIDGE_LAM, tol=1e-10, max_iter=20_000).fit(X, y)
        out[r] = [np.mean((m.predict(A) - b) ** 2) for m in (ols, ridge)
                  for A, b in ((X, y), (Xt, yt))]
    med = np.median(out, axis=0)
    return {"train_none": med[0], "test_none": med[1], "train_l2": med[2], "test_l2": med[3]}


def _sweep(rng, values, make_args, reps):
    rows = [_errors(rng, *make_args(v), reps) for v in values]
    return {k: [float(r[k]) for r in rows] for k in rows[0]}


def _draw(ax, xs, curves, title, xlabel, logx=False, logy=True):
    for method in ("none", "l2"):
        c = COLORS[method]
        name = "least squares" if method == "none" else f"L2, λ={RIDGE_LAM:g}"
        ax.plot(xs, curves[f"train_{method}"], "--", color=c, lw=1.4, label=f"train, {name}")
        ax.plot(xs, curves[f"test_{method}"], "-o", color=c, lw=1.8, ms=3.5, label=f"test, {name}")
    if logy:
        ax.set_yscale("log")
    if logx:
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xscale("log")
        ax.set_xticks(xs)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    style(ax, title=title, xlabel=xlabel, ylabel="mean squared error (median over draws)")


def run(quick, rng):
    reps = 6 if quick else 20
    n_base, degree_high, sigma_base = 30, 10, 0.3
    degrees = list(range(1, 13))
    sizes = [15, 20, 30, 50, 100, 200] if quick else [15, 18, 22, 30, 40, 60, 100, 200, 400]
    sigmas = [0.0, 0.1, 0.3, 0.6, 1.0] if quick else [0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0]

    complexity = _sweep(rng, degrees, lambda d: (n_base, d, sigma_base), reps)
    data_size = _sweep(rng, sizes, lambda n: (n, degree_high, sigma_base), reps)
    noise = _sweep(rng, sigmas, lambda s: (n_base, degree_high, s), reps)

    # the picture: one draw, degree 3 vs degree 12, with and without the penalty
    import penalized as pz

    x = rng.uniform(-1, 1, n_base)
    y = truth(x) + sigma_base * rng.standard_normal(n_base)
    grid = np.linspace(-1, 1, 400)
    fig_fit, ax = figure(width=6.2, height=4.2)
    ax.scatter(x, y, s=16, color="black", zorder=4, label="training points")
    ax.plot(grid, truth(grid), color=COLORS["true"], lw=2.2, label="truth")
    d_big = degrees[-1]
    ols = pz.LinearRegression(tol=1e-10, max_iter=20_000).fit(features(x, d_big), y)
    ridge = pz.Ridge(lam=RIDGE_LAM, tol=1e-10, max_iter=20_000).fit(features(x, d_big), y)
    ax.plot(grid, ols.predict(features(grid, d_big)), color=COLORS["none"], lw=1.5,
            label=f"degree {d_big}, least squares")
    ax.plot(grid, ridge.predict(features(grid, d_big)), color=COLORS["l2"], lw=1.8,
            label=f"degree {d_big}, L2 (λ={RIDGE_LAM:g})")
    ax.set_ylim(y.min() - 1.0, y.max() + 1.0)
    style(ax, title="One training set, a degree-12 polynomial", xlabel="x", ylabel="y")

    fig, axes = figure(ncols=3, width=5.0, height=4.0)
    _draw(axes[0], degrees, complexity, f"1. complexity (n={n_base}, σ={sigma_base})",
          "polynomial degree")
    _draw(axes[1], sizes, data_size, f"2. data (degree {degree_high}, σ={sigma_base})",
          "training-set size n", logx=True)
    _draw(axes[2], sigmas, noise, f"3. noise (degree {degree_high}, n={n_base})", "noise level σ",
          logy=False)
    for a in axes[1:]:
        a.get_legend().remove()

    c, d, s = complexity, data_size, noise
    best_deg = int(degrees[int(np.argmin(c["test_none"]))])
    gap = {k: [te - tr for te, tr in zip(v[f"test_{'none'}"], v["train_none"], strict=True)]
           for k, v in (("data", d), ("noise", s))}
    numbers = {
        "repetitions per point": reps,
        "L2 strength λ": RIDGE_LAM,
        "complexity": {
            "best degree (least squares, test)": best_deg,
            "test MSE at best degree, least squares": c["test_none"][best_deg - 1],
            f"test MSE at degree {degrees[-1]}, least squares": c["test_none"][-1],
            f"test MSE at degree {degrees[-1]}, L2": c["test_l2"][-1],
            f"train MSE at degree {degrees[-1]}, least squares": c["train_none"][-1],
            "train MSE at degree 1, least squares": c["train_none"][0],
        },
        "too little data": {
            f"test − train gap at n={sizes[0]}, least squares": gap["data"][0],
            f"test − train gap at n={sizes[-1]}, least squares": gap["data"][-1],
            f"test MSE at n={sizes[0]}, least squares": d["test_none"][0],
            f"test MSE at n={sizes[0]}, L2": d["test_l2"][0],
        },
        "noise": {
            f"test − train gap at σ={sigmas[0]:g}, least squares": gap["noise"][0],
            f"test − train gap at σ={sigmas[-1]:g}, least squares": gap["noise"][-1],
            f"test MSE at σ={sigmas[-1]:g}, least squares": s["test_none"][-1],
            f"test MSE at σ={sigmas[-1]:g}, L2": s["test_l2"][-1],
        },
    }
    verdicts = {
        "Complexity: past the best degree, least squares' test error rises (≥ 1.5× its minimum) "
        "while its training error keeps falling":
            c["test_none"][-1] >= 1.5 * min(c["test_none"]) and c["train_none"][-1] < c["train_none"][0],
        "Complexity: at the highest degree, L2 has a lower test error than least squares":
            c["test_l2"][-1] < c["test_none"][-1],
        "Data: least squares' train/test gap shrinks as the training set grows":
            gap["data"][-1] < gap["data"][0],
        "Data: with the fewest points, L2 has a lower test error than least squares":
            d["test_l2"][0] < d["test_none"][0],
        "Noise: least squares' train/test gap grows with the noise level":
            gap["noise"][-1] > gap["noise"][0],
        "Noise: at the highest noise, L2 has a lower test error than least squares":
            s["test_l2"][-1] < s["test_none"][-1],
    }
    text = (
        "Least squares on Legendre polynomial features of x (pz.LinearRegression(), no penalty) "
        f"against the same model with an L2 penalty of fixed strength λ = {RIDGE_LAM:g} "
        "(pz.Ridge). Three sweeps change one cause at a time: the polynomial degree, the "
        "number of training points and the noise level. Dashed lines are training errors, "
        f"solid lines test errors on {TEST_SIZE} fresh points; each point is the median over "
        f"{reps} random training sets. The gap between a solid and a dashed line of the same "
        "colour is the overfitting."
    )
    return SectionResult(
        key="overfitting", title="Overfitting and its three causes",
        claim="Overfitting — a training error far below the test error — comes from a model "
              "too complex for the data, from too little data, or from noise; a penalty reduces "
              "it in each case.",
        numbers=numbers, figures={"overfitting_sweeps": fig, "overfitting_example": fig_fit},
        verdicts=verdicts, text=text,
        data={"degrees": degrees, "complexity": complexity, "sizes": sizes, "data_size": data_size,
              "sigmas": sigmas, "noise": noise},
    )
