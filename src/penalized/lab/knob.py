"""Section 2: λ is the knob.

Claim: λ trades the data fit against the penalty. Too large, and the model underfits
(training and test error both high); too small, and it overfits (training error near
zero, test error high). The test error is U-shaped in λ, and cross-validation finds
the bottom of the U from the training data alone.

Experiment: n = 100 training points, p = 100 correlated features (ρ = 0.5), 10 of them
relevant, noise σ = 2; training and test error (1000 fresh points) of L1 and L2 along a
grid of λ (the validation curve, ``pz.regularization_path``); then ``pz.LassoCV`` on the
training data alone (shuffled folds): λ_min, λ_1se and their test errors against the best λ
of the grid.
"""

from __future__ import annotations

import numpy as np

from ..plots import COLORS, cv_axes, figure, style
from . import SectionResult

N_TRAIN, N_TEST, P, S, RHO, SIGMA = 100, 1000, 100, 10, 0.5, 2.0


def path_mse(path, X, y):
    """Mean squared error of every model of a path (``pz.regularization_path``) on ``(X, y)``."""
    pred = X @ path.coefs + path.intercepts[None, :]
    return np.mean((pred - y[:, None]) ** 2, axis=0)


def u_shape(test):
    """``(k_min, depth)``: where the minimum is, and how far below the lower end it is."""
    test = np.asarray(test)
    k = int(np.argmin(test))
    depth = 1.0 - test[k] / min(test[0], test[-1])
    return k, float(depth)


def _cv_part(X, y, Xt, yt, quick):
    """λ by cross-validation with ``pz.LassoCV``: its numbers and the fitted estimator."""
    from sklearn.model_selection import KFold

    import penalized as pz

    folds = 5 if quick else 10
    cv = pz.LassoCV(cv=KFold(folds, shuffle=True, random_state=0), select="1se").fit(X, y)
    lam_min, lam_1se = float(cv.lam_min_), float(cv.lam_1se_)
    fits = {name: pz.Lasso(lam=lam, tol=1e-8, max_iter=10_000).fit(X, y)
            for name, lam in (("λ_min", lam_min), ("λ_1se", lam_1se))}
    numbers = {"folds": folds, "λ_min": lam_min, "λ_1se": lam_1se}
    for name, model in fits.items():
        numbers[f"test MSE at {name}"] = float(np.mean((model.predict(Xt) - yt) ** 2))
        numbers[f"features selected at {name}"] = int(np.sum(model.coef_ != 0))
    return numbers, cv


def run(quick, rng):
    import penalized as pz
    from penalized.datasets import make_correlated_regression

    n_lambdas = 30 if quick else 60
    X_all, y_all, w = make_correlated_regression(N_TRAIN + N_TEST, P, n_informative=S, rho=RHO,
                                                 noise=SIGMA, random_state=int(rng.integers(2**31)))
    X, y, Xt, yt = X_all[:N_TRAIN], y_all[:N_TRAIN], X_all[N_TRAIN:], y_all[N_TRAIN:]
    paths = {"l1": pz.regularization_path(X, y, "l1", n_lambdas=n_lambdas, eps=1e-3, tol=1e-6),
             "l2": pz.regularization_path(X, y, "l2", lambdas=np.geomspace(1e2, 1e-4, n_lambdas),
                                          tol=1e-6)}
    grids = {kind: p.lambdas for kind, p in paths.items()}
    curves = {kind: {"train": p.train_loss, "test": path_mse(p, Xt, yt), "nonzero": p.n_nonzero}
              for kind, p in paths.items()}
    cv_numbers, cv = _cv_part(X, y, Xt, yt, quick)

    fig, axes = figure(ncols=2, width=5.6, height=4.2)
    for ax, kind in zip(axes, ("l1", "l2"), strict=True):
        grid, c = grids[kind], curves[kind]
        ax.plot(grid, c["train"], "--", color=COLORS["train"], lw=1.8, label="training error")
        ax.plot(grid, c["test"], "-", color=COLORS["test"], lw=2.2, label="test error")
        k = int(np.argmin(c["test"]))
        ax.plot(grid[k], c["test"][k], "o", color=COLORS["test"], mec="black", ms=8,
                label=f"best λ = {grid[k]:.3g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.invert_xaxis()
        if kind == "l1":
            cv_axes(ax, cv.lambdas_, cv.cv_mean_, cv.cv_std_err_,
                    {"λ_min (CV)": cv.lam_min_, "λ_1se (CV)": cv.lam_1se_}, "CV error ± 1 s.e. (training data)")
        ax.annotate("underfit", xy=(0.02, 0.96), xycoords="axes fraction", fontsize=9, va="top")
        ax.annotate("overfit", xy=(0.98, 0.96), xycoords="axes fraction", fontsize=9, va="top",
                    ha="right")
        style(ax, title=f"{kind.upper()}: the validation curve", xlabel="λ (log scale, decreasing →)",
              ylabel="mean squared error (log scale)", legend=False)
        ax.legend(fontsize=8, frameon=False, loc="lower left")

    numbers = {"setting": {"n (train)": N_TRAIN, "n (test)": N_TEST, "p": P, "relevant": S,
                           "feature correlation ρ": RHO, "noise σ": SIGMA}}
    verdicts = {}
    for kind in ("l1", "l2"):
        grid, c = grids[kind], curves[kind]
        k, depth = u_shape(c["test"])
        numbers[f"{kind.upper()} validation curve"] = {
            "best λ (test)": float(grid[k]), "test MSE at the best λ": float(c["test"][k]),
            "test MSE at the largest λ (underfit end)": float(c["test"][0]),
            "test MSE at the smallest λ (overfit end)": float(c["test"][-1]),
            "training MSE at the smallest λ": float(c["train"][-1]),
            "features used at the best λ": int(c["nonzero"][k]),
        }
        verdicts[f"{kind.upper()}: the test error is U-shaped in λ (interior minimum ≥ 20% below "
                 "both ends)"] = 0 < k < len(grid) - 1 and depth >= 0.2
        verdicts[f"{kind.upper()}: the training error falls steadily as λ decreases"] = bool(
            np.all(np.diff(c["train"]) <= 1e-6 * c["train"][0]))
    numbers["λ chosen by cross-validation (pz.LassoCV, training data only)"] = cv_numbers
    best = numbers["L1 validation curve"]["test MSE at the best λ"]
    verdicts["CV's λ_min has a test error within 15% of the best λ on the grid"] = (
        cv_numbers["test MSE at λ_min"] <= 1.15 * best)
    verdicts["λ_1se ≥ λ_min and uses no more features"] = (
        cv_numbers["λ_1se"] >= cv_numbers["λ_min"]
        and cv_numbers["features selected at λ_1se"] <= cv_numbers["features selected at λ_min"])
    text = (
        f"n = {N_TRAIN} training points and p = {P} features (ρ = {RHO}), {S} of them relevant, "
        f"noise σ = {SIGMA}. Along a grid of λ from large (left: every weight zero or tiny, the "
        "model underfits) to small (right: the model nearly interpolates the training data and "
        "overfits), the training error (dashed) falls steadily while the test error (solid, "
        f"{N_TEST} fresh points) first falls, then rises: the U. The bottom of the U is the best "
        "λ, which cross-validation estimates from the training data alone: λ_min minimizes the "
        "CV error, λ_1se is the largest λ whose CV error is within one standard error of it (a "
        "simpler model, about as good)."
    )
    return SectionResult(
        key="knob", title="λ is the knob",
        claim="λ moves the model from overfitting (small λ) to underfitting (large λ); the test "
              "error is U-shaped in λ, and cross-validation finds its bottom from the training "
              "data alone.",
        numbers=numbers, figures={"validation_curve": fig}, verdicts=verdicts, text=text,
        data={kind: {"lambdas": grids[kind].tolist(), **{k: np.asarray(v).tolist() for k, v in c.items()}}
              for kind, c in curves.items()},
    )
