"""The lasso on the prostate cancer data, as in ESL §3.4 (Hastie, Tibshirani & Friedman).

67 training men, 8 standardized clinical predictors, target lpsa (log PSA); 30 test men.
Shown: the least-squares fit, the lasso path, the model 10-fold cross-validation picks with
the one-standard-error rule, and both models' error on the test split (ESL Table 3.3
reports test MSE 0.521 for least squares and 0.479 for its CV lasso, whose folds differ).

Run:  python examples/prostate_lasso.py [OUTPUT_DIR]
The figures prostate_path.png and prostate_cv.png go to OUTPUT_DIR, by default examples/out/
(ignored by git: nothing generated lands in the repository).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

import penalized as pz
from penalized.datasets import load_prostate


def main(out=None, seed=0, n_repeats=20):
    train, test = load_prostate("train"), load_prostate("test")
    mean, std = train.data.mean(axis=0), train.data.std(axis=0)  # standardize with training statistics
    X = pd.DataFrame((train.data - mean) / std, columns=train.feature_names)
    X_test = pd.DataFrame((test.data - mean) / std, columns=train.feature_names)
    y, y_test = train.target, test.target

    ols = pz.LinearRegression(tol=1e-12, max_iter=100_000).fit(X, y)
    path = pz.regularization_path(X, y, penalty="l1")
    folds = KFold(10, shuffle=True, random_state=seed)  # glmnet draws its folds at random too
    cv = pz.LassoCV(cv=folds, select="1se").fit(X, y)
    at_min = pz.Lasso(lam=cv.lam_min_).fit(X, y)

    def test_mse(model):
        return float(np.mean((model.predict(X_test) - y_test) ** 2))

    table = pd.DataFrame({"least squares": np.r_[ols.intercept_, ols.coef_],
                          "lasso, λ_min": np.r_[at_min.intercept_, at_min.coef_],
                          "lasso, λ_1se": np.r_[cv.intercept_, cv.coef_]},
                         index=["intercept", *train.feature_names])
    errors = pd.Series({"least squares": test_mse(ols), "lasso, λ_min": test_mse(at_min),
                        "lasso, λ_1se": test_mse(cv)}, name="test MSE")
    print(f"λ grid: {len(path)} values from λ_max = {path.lambda_max:.4f} down to {path.lambdas[-1]:.2e}")
    print(f"10-fold CV: λ_min = {cv.lam_min_:.4f} ({np.count_nonzero(at_min.coef_)} features), "
          f"λ_1se = {cv.lam_1se_:.4f} ({np.count_nonzero(cv.coef_)} features: "
          f"{', '.join(cv.selected_features_)})")
    print(table.round(3).to_string())
    print(errors.round(3).to_string())

    # The selected model depends on the random fold assignment: repeat with other draws.
    repeats = []
    for s in range(seed + 1, seed + 1 + n_repeats):
        other = pz.LassoCV(cv=KFold(10, shuffle=True, random_state=s), select="1se").fit(X, y)
        repeats.append((np.count_nonzero(other.coef_), test_mse(other)))
    repeats = pd.DataFrame(repeats, columns=["features", "test MSE"])
    if n_repeats:
        print(f"λ_1se over {n_repeats} other fold draws: {repeats['features'].min()} to "
              f"{repeats['features'].max()} features, test MSE {repeats['test MSE'].min():.3f} to "
              f"{repeats['test MSE'].max():.3f} (median {repeats['test MSE'].median():.3f})")
    if out is not None:  # .plot() draws on a plain matplotlib Figure: no backend to choose
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        path.plot().figure.savefig(out / "prostate_path.png", dpi=120)
        cv.plot().figure.savefig(out / "prostate_cv.png", dpi=120)
    return dict(ols=ols, path=path, cv=cv, at_min=at_min, table=table, errors=errors, repeats=repeats)


DEFAULT_OUT = Path(__file__).resolve().parent / "out"

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
