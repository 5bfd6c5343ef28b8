"""Section 6: real data.

Claims: on the prostate data (ESL §3.4), the lasso with λ chosen by cross-validation
keeps a few of the 8 clinical predictors and predicts the test split as well as least
squares with all of them; on the Singh et al. (2002) gene-expression data (102 samples
× 6033 genes), L1-penalized logistic regression classifies cancer against healthy
tissue from a handful of genes.

Experiment: prostate — standardized with the training rows' means and deviations; the
lasso path (``pz.regularization_path``) on the 67 training rows;
``pz.LassoCV(select="1se")`` with 10 shuffled folds; test MSE on the 30 test rows against
least squares. singh2002 — standardized genes; the L1 logistic path;
``pz.LogisticRegressionCV(penalty="l1")`` with 5 shuffled stratified folds; genes selected
and cross-validated accuracy (nested: λ chosen inside each outer fold; in ``--quick`` mode
only at the λ chosen on all rows, which is optimistic, and said so).

Both files are sorted (prostate by ``lpsa``, singh2002 by class), so every split here is
shuffled with a fixed seed: unshuffled folds of a sorted file are not random samples.
"""

from __future__ import annotations

import numpy as np

from ..plots import COLORS, cv_axes, figure, path_axes, style
from ..tables import folds
from . import SectionResult


def _prostate(quick):
    from sklearn.preprocessing import StandardScaler

    import penalized as pz
    from penalized.datasets import load_prostate

    data = load_prostate()
    names = data.feature_names
    scaler = StandardScaler().fit(data.data[data.train])
    Xtr, ytr = scaler.transform(data.data[data.train]), data.target[data.train]
    Xte, yte = scaler.transform(data.data[~data.train]), data.target[~data.train]
    p = pz.regularization_path(Xtr, ytr, "l1", n_lambdas=40 if quick else 100, eps=1e-3, tol=1e-8)
    grid = p.lambdas
    entry = {}
    for j, name in enumerate(names):
        nz = np.flatnonzero(p.coefs[j] != 0)
        entry[name] = float(grid[nz[0]]) if nz.size else 0.0
    order = sorted(entry, key=lambda k: -entry[k])
    ols = pz.LinearRegression(tol=1e-12, max_iter=10_000).fit(Xtr, ytr)
    mse_ols = float(np.mean((ols.predict(Xte) - yte) ** 2))
    null_mse = float(np.mean((ytr.mean() - yte) ** 2))
    numbers = {
        "rows (train / test)": [int(data.train.sum()), int((~data.train).sum())],
        "order in which predictors enter the lasso path": order,
        "least squares, test MSE (all 8 predictors)": mse_ols,
        "null model (training mean), test MSE": null_mse,
    }
    cv = pz.LassoCV(cv=folds("regression", 10), select="1se").fit(Xtr, ytr)
    lasso = pz.Lasso(lam=cv.lam_, tol=1e-10, max_iter=10_000).fit(Xtr, ytr)
    selected = [names[j] for j in np.flatnonzero(lasso.coef_ != 0)]
    mse_lasso = float(np.mean((lasso.predict(Xte) - yte) ** 2))
    numbers["lasso, λ by 10-fold CV (1-s.e. rule)"] = {
        "λ_min": cv.lam_min_, "λ_1se": cv.lam_1se_, "λ used": cv.lam_,
        "selected predictors": selected,
        "coefficients (standardized)": {names[j]: float(lasso.coef_[j])
                                        for j in np.flatnonzero(lasso.coef_ != 0)},
        "test MSE": mse_lasso,
    }
    marks = {"λ_min (CV)": cv.lam_min_, "λ_1se (CV)": cv.lam_1se_}
    verdicts = {
        "Prostate: the CV lasso keeps fewer than all 8 predictors": len(selected) < 8,
        "Prostate: the CV lasso's test error is no worse than least squares' (within 5%)":
            mse_lasso <= 1.05 * mse_ols,
        "Prostate: least squares beats the null model on the test rows": mse_ols < null_mse,
    }

    fig, axes = figure(ncols=2, width=5.6, height=4.2)
    path_axes(axes[0], grid, p.coefs, names=names, lam_marks=marks,
              title="Prostate: the lasso path (67 training rows)")
    ax = cv_axes(axes[1], cv.lambdas_, cv.cv_mean_, cv.cv_std_err_, marks, "10-fold CV error ± 1 s.e.")
    ax.axhline(mse_ols, color=COLORS["none"], ls="-.", lw=1, label="least squares, test MSE")
    style(ax, title="Prostate: choosing λ by cross-validation", xlabel="λ (log scale, decreasing →)",
          ylabel="mean squared error")
    return numbers, verdicts, fig, {"lambdas": grid.tolist(), "coefs": p.coefs.tolist()}


def _singh(quick):
    from sklearn.model_selection import cross_val_predict, cross_val_score
    from sklearn.preprocessing import StandardScaler

    import penalized as pz
    from penalized.datasets import load_singh2002

    data = load_singh2002()
    X, y = StandardScaler().fit_transform(data.data), data.target
    names = np.asarray(data.feature_names)
    p = pz.regularization_path(X, y, "l1", datafit="logistic", n_lambdas=25 if quick else 50, eps=1e-2,
                               tol=1e-4)
    grid = p.lambdas
    counts = np.unique(y, return_counts=True)
    numbers = {"samples": int(X.shape[0]), "genes": int(X.shape[1]),
               "classes": {str(c): int(k) for c, k in zip(*counts, strict=True)},
               "genes in the model along the path (first → last λ)":
                   [int(p.n_nonzero[0]), int(p.n_nonzero[-1])]}
    five = folds("classification", 5)
    cv_model = pz.LogisticRegressionCV(penalty="l1", cv=five, select="min", n_lambdas=30 if quick else 50)
    lam = cv_model.fit(X, y).lam_
    at_lam = pz.LogisticRegression(penalty=pz.L1(lam), tol=1e-6, max_iter=5000)
    acc_at_lam = float(np.mean(cross_val_score(at_lam, X, y, cv=five)))
    coef = at_lam.fit(X, y).coef_[0]
    sel = np.flatnonzero(coef != 0)
    top = sel[np.argsort(-np.abs(coef[sel]))][:10]
    majority = float(counts[1].max() / counts[1].sum())
    res = {"λ chosen by 5-fold CV": lam, "genes selected": int(sel.size),
           "fraction of genes selected": float(sel.size / X.shape[1]),
           "top genes by |coefficient|": names[top].tolist(),
           "5-fold CV accuracy at that λ (λ chosen on all rows: optimistic)": acc_at_lam}
    accuracy = acc_at_lam
    if not quick:  # λ chosen inside each outer fold, on its own 5 inner folds
        accuracy = float(np.mean(cross_val_predict(cv_model, X, y, cv=five) == y))
        res["nested 5×5-fold CV accuracy (λ chosen inside each fold)"] = accuracy
    res["accuracy of always guessing the majority class"] = majority
    numbers["sparse logistic regression, λ by CV"] = res
    marks = {"λ (CV)": lam}
    verdicts = {
        "singh2002: L1 logistic regression keeps under 5% of the 6033 genes": 0 < sel.size < 0.05 * X.shape[1],
        "singh2002: …and classifies far better than guessing (cross-validated accuracy ≥ 75%, "
        "against the majority class's share)": accuracy >= 0.75 and accuracy > majority + 0.15,
    }
    fig, axes = figure(ncols=2, width=5.6, height=4.2)
    coefs = p.coefs
    strongest = np.argsort(-np.abs(coefs[:, -1]))[:10]
    highlight = np.zeros(coefs.shape[0], dtype=bool)
    highlight[strongest] = True
    path_axes(axes[0], grid, coefs, highlight=highlight, lam_marks=marks,
              title="singh2002: the L1 logistic path (6033 genes)")
    ax = axes[1]
    ax.plot(grid, p.n_nonzero, color=COLORS["l1"], lw=2, label="genes with a non-zero weight")
    for label, lam in marks.items():
        ax.axvline(lam, color=COLORS["cv"], ls="--", label=label)
    ax.set_xscale("log")
    ax.invert_xaxis()
    style(ax, title="singh2002: genes in the model", xlabel="λ (log scale, decreasing →)",
          ylabel="number of genes selected")
    return numbers, verdicts, fig, {"lambdas": grid.tolist(), "n_nonzero": p.n_nonzero.tolist()}


def run(quick, rng):
    pn, pv, pfig, pdata = _prostate(quick)
    sn, sv, sfig, sdata = _singh(quick)
    text = (
        "Prostate cancer data (Stamey et al. 1989; ESL §3.2–3.4): log PSA against 8 clinical "
        "predictors, the book's 67 training and 30 test rows, predictors standardized with the "
        "training rows. The lasso path shows the order in which predictors enter as λ "
        "decreases; cross-validation on the training rows picks λ (the 1-standard-error rule "
        "favours the simpler model) and the test rows judge it against least squares. Singh "
        "et al. (2002): 102 prostate tissue samples, 6033 gene expressions, cancer against "
        "healthy; with p ≫ n an unpenalized logistic regression separates the training data "
        "perfectly and means nothing, while the L1 penalty keeps a few genes. Paths computed "
        "with pz.regularization_path; every cross-validation uses shuffled folds (fixed seed), "
        "since both files are sorted."
    )
    return SectionResult(
        key="real_data", title="Real data: prostate and singh2002",
        claim="On real data, L1 picks a few predictors (prostate: a few of 8 clinical variables; "
              "singh2002: a few of 6033 genes) and predicts as well as the full model.",
        numbers={"prostate": pn, "singh2002": sn}, figures={"prostate": pfig, "singh2002": sfig},
        verdicts={**pv, **sv}, text=text,
        data={"prostate": pdata, "singh2002": sdata},
    )
