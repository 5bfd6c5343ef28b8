"""Section 4: why L1 makes zeros.

Claim: near zero, the L2 penalty's pull vanishes (its gradient 2λw → 0), so a weight
only reaches zero if the data push it there exactly; the L1 penalty's pull stays λ,
and at zero its subdifferential is the whole interval [−λ, λ], so the weight stays at
exactly zero whenever the data's gradient is smaller than λ. In two dimensions: the
loss contours first touch the L1 diamond at a corner, on an axis; they touch the L2
disc at a generic point.

Experiment: the penalties' values, (sub)gradients and proximal maps
(``pz.L1(λ).prox``, ``pz.L2(λ).prox``) near zero; a two-feature least-squares problem
with its loss contours and the L1 and L2 solutions (``pz.Lasso``, ``pz.Ridge``); then
many random two-feature problems, counting how often the solution lies exactly on an
axis.
"""

from __future__ import annotations

import numpy as np

from ..plots import COLORS, figure, style
from . import SectionResult

LAM = 1.0


def _one_d(lam=LAM):
    """The 1-D picture: penalties, (sub)gradients and proximal maps near zero."""
    import penalized as pz

    l1, l2 = pz.L1(lam), pz.L2(lam)
    w = np.linspace(-1.5, 1.5, 601)
    z = np.linspace(-3.0, 3.0, 1201)  # contains 0 exactly
    prox1, prox2 = l1.prox(z, 1.0), l2.prox(z, 1.0)
    h = 1e-3
    numbers = {
        "λ": lam,
        "slope just right of 0, L1 (R(h) − R(0))/h at h=1e-3": float(l1.value(np.array([h])) / h),
        "slope just right of 0, L2 (R(h) − R(0))/h at h=1e-3": float(l2.value(np.array([h])) / h),
        "inputs z in [−3, 3] that the L1 prox maps to exactly 0 (fraction)": float(np.mean(prox1 == 0)),
        "inputs z in [−3, 3] that the L2 prox maps to exactly 0 (fraction)": float(np.mean(prox2 == 0)),
        "largest |z| mapped to 0 by the L1 prox": float(np.max(np.abs(z[prox1 == 0]))),
        "largest |z| mapped to 0 by the L2 prox": float(np.max(np.abs(z[prox2 == 0]))),
    }
    fig, axes = figure(ncols=3, width=4.3, height=3.6)
    ax = axes[0]
    ax.plot(w, [l1.value(np.array([v])) for v in w], color=COLORS["l1"], lw=2, label="L1: λ|w|")
    ax.plot(w, [l2.value(np.array([v])) for v in w], color=COLORS["l2"], lw=2, label="L2: λw²")
    style(ax, title="The penalty", xlabel="w", ylabel="R(w)")
    ax = axes[1]
    pos, neg = w > 0, w < 0
    ax.plot(w[pos], np.full(pos.sum(), lam), color=COLORS["l1"], lw=2, label="L1: λ·sign(w)")
    ax.plot(w[neg], np.full(neg.sum(), -lam), color=COLORS["l1"], lw=2)
    ax.plot([0, 0], [-lam, lam], color=COLORS["l1"], lw=4, alpha=0.5,
            label="L1 at 0: the interval [−λ, λ]")
    ax.plot(w, 2 * lam * w, color=COLORS["l2"], lw=2, label="L2: 2λw (→ 0 at 0)")
    style(ax, title="Its (sub)gradient", xlabel="w", ylabel="∂R(w)")
    ax = axes[2]
    ax.plot(z, prox1, color=COLORS["l1"], lw=2, label="L1: soft threshold")
    ax.plot(z, prox2, color=COLORS["l2"], lw=2, label="L2: z / (1 + 2λ)")
    ax.axvspan(-lam, lam, color=COLORS["l1"], alpha=0.08, label="|z| ≤ λ → exactly 0")
    ax.plot(z, z, color="black", lw=0.6, ls=":")
    style(ax, title="argmin_w ½(w − z)² + R(w)", xlabel="data's pull z", ylabel="solution w")
    return fig, numbers


def _two_feature_problem(rng):
    """A fixed, readable 2-D least-squares problem: correlated features, w_ls ≈ (2, 0.25)."""
    n = 50
    cov = np.array([[1.0, 0.55], [0.55, 1.0]])
    X = rng.multivariate_normal(np.zeros(2), cov, size=n)
    y = X @ np.array([2.0, 0.25]) + 0.5 * rng.standard_normal(n)
    return X, y


def _loss_grid(X, y, w1, w2):
    """Mean squared error (intercept profiled out) on a grid of (w1, w2)."""
    Xc, yc = X - X.mean(0), y - y.mean()
    G = Xc.T @ Xc / len(y)
    c = Xc.T @ yc / len(y)
    return (G[0, 0] * w1**2 + 2 * G[0, 1] * w1 * w2 + G[1, 1] * w2**2
            - 2 * (c[0] * w1 + c[1] * w2) + yc @ yc / len(y))


def _contours(rng):
    import penalized as pz
    from penalized.solvers import LinearProblem

    X, y = _two_feature_problem(rng)
    ols = pz.LinearRegression(tol=1e-12, max_iter=10_000).fit(X, y)
    lam_max = LinearProblem.build(X, y, pz.SquaredError()).lambda_max()
    # λ where w2 has left the model but w1 has not: late in that interval on the path, so
    # that the diamond is large enough to see
    lams = lam_max * np.geomspace(0.999, 1e-3, 100)
    coefs = [pz.Lasso(lam=lam, tol=1e-12).fit(X, y).coef_ for lam in lams]
    one = [k for k, c in enumerate(coefs) if np.sum(c != 0) == 1]
    lam1 = float(lams[one[int(0.8 * (len(one) - 1))]])
    lasso = pz.Lasso(lam=lam1, tol=1e-12, max_iter=10_000).fit(X, y)
    t = float(np.abs(lasso.coef_).sum())
    # ridge with a disc of the same radius as the diamond (‖w‖₂ = t), by bisection on log λ
    lo, hi = -8.0, 4.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        norm = np.linalg.norm(pz.Ridge(lam=10**mid, tol=1e-12).fit(X, y).coef_)
        lo, hi = (mid, hi) if norm > t else (lo, mid)
    ridge = pz.Ridge(lam=10**hi, tol=1e-12, max_iter=10_000).fit(X, y)

    g = np.linspace(-1.4, 2.8, 300)
    W1, W2 = np.meshgrid(g, g)
    Z = _loss_grid(X, y, W1, W2)
    fig, axes = figure(ncols=2, width=5.0, height=4.8)
    theta = np.linspace(0, 2 * np.pi, 400)
    shapes = {
        "l1": (t * np.array([1, 0, -1, 0, 1]), t * np.array([0, 1, 0, -1, 0]), lasso, "diamond ‖w‖₁ ≤ t"),
        "l2": (t * np.cos(theta), t * np.sin(theta), ridge, "disc ‖w‖₂ ≤ t"),
    }
    for ax, (key, (sx, sy, model, name)) in zip(axes, shapes.items(), strict=True):
        levels = np.quantile(Z, np.linspace(0.002, 0.5, 12))
        ax.contour(W1, W2, Z, levels=levels, colors="#999999", linewidths=0.7)
        w = model.coef_
        ax.contour(W1, W2, Z, levels=[_loss_grid(X, y, w[0], w[1])], colors="black", linewidths=1.6)
        ax.fill(sx, sy, color=COLORS[key], alpha=0.25)
        ax.plot(sx, sy, color=COLORS[key], lw=2, label=f"L1 {name}" if key == "l1" else f"L2 {name}")
        ax.plot(*ols.coef_, "k*", ms=12, label="least squares (no penalty)")
        ax.plot(*w, "o", color=COLORS[key], mec="black", ms=9,
                label=f"optimum ({w[0]:.2f}, {w[1]:.2f})")
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_aspect("equal")
        ax.set_xlim(g[0], g[-1])
        ax.set_ylim(g[0], g[-1])
        style(ax, title=("L1: contours touch the diamond at a corner" if key == "l1"
                         else "L2: contours touch the disc anywhere"), xlabel="w₁", ylabel="w₂",
              legend=False)
        ax.legend(fontsize=8, loc="upper left", framealpha=0.9)
    numbers = {
        "least-squares solution": [float(v) for v in ols.coef_],
        f"L1 solution (λ = {lam1:.3g})": [float(v) for v in lasso.coef_],
        f"L2 solution (λ = {10**hi:.3g}, same radius t)": [float(v) for v in ridge.coef_],
        "radius t = ‖w_L1‖₁": t,
    }
    return fig, numbers, lasso.coef_, ridge.coef_


def _random_problems(rng, reps):
    """Fraction of random 2-D problems whose L1 / L2 optimum lies exactly on an axis."""
    import penalized as pz
    from penalized.solvers import LinearProblem

    n = 20
    on_axis = np.zeros((reps, 2), dtype=bool)
    points = np.zeros((reps, 2, 2))
    for r in range(reps):
        rho = rng.uniform(-0.9, 0.9)
        X = rng.multivariate_normal(np.zeros(2), [[1.0, rho], [rho, 1.0]], size=n)
        y = X @ rng.standard_normal(2) + rng.standard_normal(n)
        lam_max = LinearProblem.build(X, y, pz.SquaredError()).lambda_max()
        lasso = pz.Lasso(lam=lam_max * rng.uniform(0.01, 0.99), tol=1e-10).fit(X, y)
        ridge = pz.Ridge(lam=10 ** rng.uniform(-3, 2), tol=1e-10).fit(X, y)
        for k, w in enumerate((lasso.coef_, ridge.coef_)):
            on_axis[r, k] = np.sum(w == 0) == 1
            points[r, k] = w / (np.abs(w).sum() if k == 0 else np.linalg.norm(w))
    fig, axes = figure(ncols=2, width=4.4, height=4.4)
    for k, (ax, key) in enumerate(zip(axes, ("l1", "l2"), strict=True)):
        jitter = 1 + 0.04 * rng.standard_normal(reps)  # so piled-up points stay visible
        ax.scatter(points[:, k, 0] * jitter, points[:, k, 1] * jitter, s=8, alpha=0.35,
                   color=COLORS[key], edgecolors="none")
        ax.set_aspect("equal")
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(0, color="black", lw=0.6)
        frac = on_axis[:, k].mean()
        style(ax, title=f"{key.upper()}: {100 * frac:.0f}% of optima exactly on an axis",
              xlabel="w₁ / ‖w‖", ylabel="w₂ / ‖w‖", legend=False)
    return fig, on_axis.mean(axis=0)


def run(quick, rng):
    reps = 300 if quick else 1000
    fig_1d, numbers_1d = _one_d()
    fig_2d, numbers_2d, w_l1, w_l2 = _contours(rng)
    fig_many, frac = _random_problems(rng, reps)
    numbers = {
        "near zero (1-D)": numbers_1d,
        "the 2-D picture": numbers_2d,
        f"{reps} random two-feature problems": {
            "optimum exactly on an axis, L1 (fraction)": float(frac[0]),
            "optimum exactly on an axis, L2 (fraction)": float(frac[1]),
        },
    }
    verdicts = {
        "L1's pull near zero stays λ while L2's vanishes (slope at 0⁺: λ vs ≈ 0)":
            abs(numbers_1d["slope just right of 0, L1 (R(h) − R(0))/h at h=1e-3"] - LAM) < 1e-9
            and numbers_1d["slope just right of 0, L2 (R(h) − R(0))/h at h=1e-3"] < 0.01 * LAM,
        "The L1 prox maps every |z| ≤ λ to exactly 0; the L2 prox maps only z = 0 to 0":
            abs(numbers_1d["largest |z| mapped to 0 by the L1 prox"] - LAM) < 0.01
            and numbers_1d["largest |z| mapped to 0 by the L2 prox"] == 0.0,
        "In the 2-D picture, the L1 optimum is on an axis and the L2 optimum is not":
            bool(np.sum(w_l1 == 0) == 1 and np.all(w_l2 != 0)),
        "Over random problems, the L1 optimum lies exactly on an axis often (≥ 20%), the L2 "
        "optimum never": frac[0] >= 0.2 and frac[1] == 0.0,
    }
    text = (
        "Top: the penalties near zero. L1's slope is λ on both sides and at 0 its "
        "subdifferential is the whole interval [−λ, λ]: the data must pull harder than λ to "
        "move a weight off zero, so the solution of ½(w − z)² + λ|w| is exactly 0 for every "
        "|z| ≤ λ (soft thresholding). L2's slope 2λw vanishes at 0, so it only shrinks: "
        "z/(1 + 2λ) is 0 only for z = 0. Middle: a two-feature least-squares problem; grey "
        "lines are the loss contours, the star the unpenalized optimum, the black contour the "
        "one through the penalized optimum, which touches the diamond at a corner (w₂ = 0 "
        "exactly) and the disc at a generic point. Bottom: where the optimum lands, "
        f"normalized to the unit diamond or circle, over {reps} random problems (λ drawn at "
        "random; points jittered by 4% so that piled-up points stay visible)."
    )
    return SectionResult(
        key="geometry", title="Why L1 makes zeros",
        claim="L1's subgradient does not vanish at zero, so weights stop exactly at zero; "
              "geometrically, loss contours meet the L1 diamond at its corners, on the axes, and "
              "the L2 disc anywhere.",
        numbers=numbers,
        figures={"geometry_1d": fig_1d, "geometry_contours": fig_2d, "geometry_random": fig_many},
        verdicts=verdicts, text=text,
    )
