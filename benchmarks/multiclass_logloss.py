"""Multinomial against one-vs-rest L1 logistic regression: 5-fold CV log-loss on iris and wine.

Run: ``python -m benchmarks.multiclass_logloss``; writes the ``multiclass-logloss`` section of
``docs/benchmarks.md``.

Both data sets standardized (``StandardScaler`` on all rows), the same ``StratifiedKFold(5, shuffle=True,
random_state=0)``, the same 13 values of λ (``10^(−4 + k/3)``, k = 0 … 12, from 1e-4 to 1). At each λ and
in each fold, three L1-penalized models are fitted on the training part and scored by the mean log-loss of
their predicted probabilities on the held-out part:

- ``pz.LogisticRegression(penalty=pz.L1(λ))``: the multinomial model (more than two classes);
- one-vs-rest: ``sklearn.multiclass.OneVsRestClassifier(pz.LogisticRegression(penalty=pz.L1(λ)))``
  (K binary problems; probabilities normalised over the classes, scikit-learn's rule);
- scikit-learn's multinomial ``LogisticRegression(C=1/(n_train·λ), l1_ratio=1, solver="saga")``, the
  same problem as the first, for reference.

The table gives, per model, the best mean CV log-loss over the grid and the λ that reaches it, and the
CV log-loss of ``pz.LogisticRegressionCV`` (its own path-based grid and the same folds) at its ``lam_min_``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

GRID = 10.0 ** (-4 + np.arange(13) / 3)


def _log_loss(proba, y, classes):
    idx = np.searchsorted(classes, y)
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), idx], 1e-300, None))))


def models(lam, n_train):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    import penalized as pz

    return {
        "penalized multinomial": pz.LogisticRegression(penalty=pz.L1(lam), tol=1e-8, max_iter=100_000),
        "penalized one-vs-rest": OneVsRestClassifier(pz.LogisticRegression(penalty=pz.L1(lam), tol=1e-8,
                                                                          max_iter=100_000)),
        "scikit-learn multinomial (saga)": LogisticRegression(C=1.0 / (n_train * lam), l1_ratio=1.0, solver="saga",
                                                              tol=1e-8, max_iter=100_000),
    }


def cv_log_loss(X, y, folds):
    """``{model: mean CV log-loss per λ of GRID}``."""
    classes = np.unique(y)
    scores = {}
    for lam_index, lam in enumerate(GRID):
        for fold, (train, test) in enumerate(folds):
            for name, est in models(lam, len(train)).items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit(X[train], y[train])
                scores.setdefault(name, np.zeros((len(GRID), len(folds))))
                scores[name][lam_index, fold] = _log_loss(est.predict_proba(X[test]), y[test], classes)
    return {name: s.mean(axis=1) for name, s in scores.items()}


def main(argv=None):
    from sklearn.datasets import load_iris, load_wine
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    import penalized as pz
    from benchmarks._report import machine_line, write_section

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    lines = [
        "### Multinomial against one-vs-rest: 5-fold CV log-loss (`python -m benchmarks.multiclass_logloss`)",
        "",
        "Standardized iris and wine, `StratifiedKFold(5, shuffle=True, random_state=0)`, 13 values of λ from 1e-4 "
        "to 1 (3 per decade); mean held-out log-loss of the L1-penalized models fitted on each training part. "
        "One-vs-rest: `OneVsRestClassifier(pz.LogisticRegression(penalty=pz.L1(λ)))` (probabilities normalised "
        "over the classes). scikit-learn's multinomial: `LogisticRegression(C=1/(n_train·λ), l1_ratio=1, "
        "solver=\"saga\")`, the same problem as penalized's multinomial. `LogisticRegressionCV`: penalized's CV "
        "estimator on the same folds (its own grid: 100 λ from λ_max), the CV log-loss at its `lam_min_`.",
        "",
        "| data | model | best CV log-loss | at λ | ratio to penalized multinomial |",
        "|---|---|---:|---:|---:|",
    ]
    for name, loader in (("iris", load_iris), ("wine", load_wine)):
        X, y = loader(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
        curves = cv_log_loss(X, y, folds)
        base = curves["penalized multinomial"].min()
        for model, curve in curves.items():
            k = int(np.argmin(curve))
            lines.append(f"| {name} | {model} | {curve[k]:.4f} | {GRID[k]:.3g} | {curve[k] / base:.2f} |")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cv = pz.LogisticRegressionCV(cv=folds, scoring="log_loss", tol=1e-6, max_iter=100_000).fit(X, y)
        lines.append(f"| {name} | penalized LogisticRegressionCV (multinomial) | {cv.cv_mean_[cv.index_min_]:.4f} | "
                     f"{cv.lam_min_:.3g} | {cv.cv_mean_[cv.index_min_] / base:.2f} |")
    lines += ["", machine_line()]
    markdown = "\n".join(lines)
    print(markdown)
    if not args.no_write:
        write_section("multiclass-logloss", markdown)
    return markdown


if __name__ == "__main__":
    main()
