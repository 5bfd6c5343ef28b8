"""Clear messages for inputs a hostile user tries (issue 19, item 10): each names the column,
row, fold or option, says what is wrong and what to do; the command line prints one line and
exits 2, without warnings."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

import penalized as pz
from penalized.cli import main

RNG = np.random.default_rng(0)
N = 40
FRAME = pd.DataFrame({"a": RNG.standard_normal(N), "b": RNG.standard_normal(N), "c": RNG.standard_normal(N)})
FRAME["y"] = FRAME.a + 0.1 * RNG.standard_normal(N)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default --out folders land there, never in the repository


def cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def one_line_error(capsys, *args):
    code, out, err = cli(capsys, *args)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2, (code, out, err)
    assert "Warning" not in err and "Traceback" not in err
    return " ".join(lines)  # rich may wrap a long line: rejoin


def write(tmp_path, frame, name="data.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_inf_in_a_column_names_it(tmp_path, capsys):
    frame = FRAME.astype(object)
    frame.loc[3, "b"] = "inf"
    msg = one_line_error(capsys, "fit", write(tmp_path, frame), "--target", "y", "--lam", "0.1")
    assert "column 'b'" in msg and "infinite" in msg and "row 4" in msg


def test_huge_feature_is_reported_as_huge_not_nan(tmp_path, capsys):
    frame = FRAME.copy()
    frame.loc[3, "b"] = 1e200
    msg = one_line_error(capsys, "fit", write(tmp_path, frame), "--target", "y", "--lam", "0.1")
    assert "column 'b'" in msg and "1e+200" in msg and "NaN" not in msg


def test_huge_target_exits_2_with_one_line(tmp_path, capsys):
    frame = FRAME.copy()
    frame.loc[3, "y"] = 1e300
    msg = one_line_error(capsys, "fit", write(tmp_path, frame), "--target", "y", "--lam", "0.1")
    assert "target 'y'" in msg and "1e+300" in msg


def test_constant_numeric_target_is_not_one_class(tmp_path, capsys):
    frame = FRAME.copy()
    frame["y"] = 3.0
    msg = one_line_error(capsys, "fit", write(tmp_path, frame), "--target", "y", "--lam", "0.1")
    assert "same value (3) in every row" in msg and "class" not in msg


def test_duplicate_headers_are_refused(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a,y\n" + "\n".join(f"{i},{i % 5},{i % 3},{i % 7}" for i in range(30)) + "\n")
    msg = one_line_error(capsys, "fit", path, "--target", "y", "--lam", "0.1")
    assert "duplicate column names: 'a' (columns 1, 3)" in msg


@pytest.mark.parametrize("command", ["fit", "path"])
@pytest.mark.parametrize("penalty", ["l1", "l2"])
def test_l1_ratio_without_elasticnet_is_refused(tmp_path, capsys, command, penalty):
    code, _, err = cli(capsys, command, write(tmp_path, FRAME), "--target", "y", "--penalty", penalty,
                       "--l1-ratio", "0.3")
    assert code == 2 and "--l1-ratio" in err and "elasticnet" in err


def test_l1_ratio_with_elasticnet_is_fine(tmp_path, capsys):
    code, _, err = cli(capsys, "path", write(tmp_path, FRAME), "--target", "y", "--penalty", "elasticnet",
                       "--l1-ratio", "0.3", "--n-lambdas", "5", "--out", tmp_path / "p.png")
    assert code == 0, err


def test_out_errors_are_one_clear_line(tmp_path, capsys):
    data = write(tmp_path, FRAME)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    msg = one_line_error(capsys, "fit", data, "--target", "y", "--lam", "0.1", "--out", blocker / "sub")
    assert f"--out '{blocker / 'sub'}'" in msg and "is a file, not a directory" in msg and "Errno" not in msg
    msg = one_line_error(capsys, "path", data, "--target", "y", "--out", blocker / "p.png")
    assert "is a file, not a directory" in msg and "Errno" not in msg


def test_zero_weight_fold_is_a_clear_error():
    X = FRAME[["a", "b", "c"]].to_numpy()
    y = FRAME["y"].to_numpy()
    test_zero = np.ones(N)
    test_zero[: N // 4] = 0  # KFold(4): fold 0 tests on these rows only
    train_zero = np.zeros(N)
    train_zero[: N // 4] = 1  # fold 0 trains on the other rows only
    cases = [(pz.LassoCV(cv=KFold(4), n_lambdas=5), y),
             (pz.LogisticRegressionCV(cv=KFold(4), n_lambdas=5), (y > 0).astype(int)),
             (pz.PoissonRegressorCV(cv=KFold(4), n_lambdas=5), np.round(np.exp(y)))]
    for est, target in cases:
        with pytest.raises(ValueError, match=r"the test part of cross-validation fold 0 \(10 samples\) has "
                                             r"sample_weight 0 everywhere.*shuffle=True"):
            est.fit(X, target, sample_weight=test_zero)
        with pytest.raises(ValueError, match=r"the training part of cross-validation fold 0 \(30 samples\) has "
                                             r"sample_weight 0 everywhere"):
            est.fit(X, target, sample_weight=train_zero)


def test_all_zero_weights_are_refused_by_name():
    X = FRAME[["a", "b", "c"]].to_numpy()
    with pytest.raises(ValueError, match="(?i)sample.weight"):
        pz.Lasso(0.1).fit(X, FRAME["y"], sample_weight=np.zeros(N))
    from penalized.solvers import LinearProblem  # the solvers' own entry (fit_linear) checks it too

    with pytest.raises(ValueError, match="sample_weight sums to 0"):
        LinearProblem.build(X, FRAME["y"].to_numpy(), pz.SquaredError(), sample_weight=np.zeros(N))


def test_huge_target_is_refused_by_the_estimators():
    X = FRAME[["a", "b", "c"]].to_numpy()
    y = FRAME["y"].to_numpy() * 1e200
    for est in (pz.Lasso(0.1), pz.Ridge(0.1), pz.LinearRegression()):
        with pytest.raises(ValueError, match=r"y has values too large for double precision \(largest \|value\| "
                                             r"[0-9.]+e\+200\): their squares overflow. Rescale y"):
            est.fit(X, y)
