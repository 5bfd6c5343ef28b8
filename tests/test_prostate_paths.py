"""ESL §3.4 on the prostate data: least squares, the lasso path, 10-fold CV with the 1-SE rule."""

import runpy
from pathlib import Path

import numpy as np
import pytest

import penalized as pz

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "prostate_lasso.py"
ESL_LEAST_SQUARES = [0.711, 0.290, -0.141, 0.210, 0.307, -0.287, -0.021, 0.275]  # ESL Table 3.3


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    main = runpy.run_path(str(EXAMPLE))["main"]
    out = tmp_path_factory.mktemp("prostate")
    return main(out=out, n_repeats=4), out


def test_least_squares_is_esls(result):
    res, _ = result
    np.testing.assert_allclose(res["ols"].coef_, ESL_LEAST_SQUARES, atol=1e-3)
    assert res["errors"]["least squares"] == pytest.approx(0.521, abs=1e-3)


def test_lasso_path_shape(result):
    res, out = result
    path = res["path"]
    # glmnet's grid (n > p: down to 1e-4·λ_max), cut where the deviance ratio stops changing
    full = pz.path.lambda_grid(path.lambda_max, 100, 1e-4)
    assert len(path) <= 100 and np.array_equal(path.lambdas, full[: len(path)])
    assert path.n_nonzero[0] == 0 and path.n_nonzero[-1] == 8
    assert path.selected_features(int(np.argmax(path.n_nonzero > 0)))[0] == "lcavol"  # the first to enter
    assert (out / "prostate_path.png").stat().st_size > 0 and (out / "prostate_cv.png").stat().st_size > 0


def test_one_standard_error_model_is_sparse_and_predicts_as_well(result):
    res, _ = result
    cv, at_min, errors = res["cv"], res["at_min"], res["errors"]
    n_1se, n_min = np.count_nonzero(cv.coef_), np.count_nonzero(at_min.coef_)
    assert n_1se < n_min and n_1se <= 5
    assert {"lcavol", "lweight", "svi"} <= set(cv.selected_features_)
    assert errors["lasso, λ_1se"] <= errors["least squares"] * 1.02
    # robust to the fold assignment: other random folds give the same picture
    repeats = res["repeats"]
    assert repeats["features"].max() <= 5
    assert repeats["test MSE"].median() <= errors["least squares"]
