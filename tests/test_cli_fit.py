"""`penalized fit` and `penalized path` on the shipped data and on bad tables.

Most cases run the real entry point in-process (``penalized.cli.main``) to stay fast;
one bad case and one good case also run as a subprocess.
"""

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import penalized as pz
from penalized import tables
from penalized.cli import main

DATA = resources.files("penalized") / "data"


@pytest.fixture
def prostate_csv(tmp_path):
    path = tmp_path / "prostate.csv"
    with resources.as_file(DATA / "prostate.csv") as src:
        shutil.copy(src, path)
    return path


@pytest.fixture
def singh_csv(tmp_path):
    path = tmp_path / "singh2002_prostate.csv.gz"
    with resources.as_file(DATA / "singh2002_prostate.csv.gz") as src:
        shutil.copy(src, path)
    return path


def cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_fit_prostate_fixed_lambda(capsys, prostate_csv, tmp_path):
    before = digest(prostate_csv)
    out = tmp_path / "model"
    code, stdout, err = cli(capsys, "fit", prostate_csv, "--target", "lpsa", "--lam", "0.05", "--out", out)
    assert code == 0, err
    assert digest(prostate_csv) == before
    assert "lcavol" in stdout and "features selected" in stdout and "5-fold CV MSE" in stdout
    assert sorted(p.name for p in out.iterdir()) == [".penalized-report", "figures", "model.joblib",
                                                     "report.html", "results.json"]
    import joblib

    model = joblib.load(out / "model.joblib")
    frame = pd.read_csv(prostate_csv)
    pred = model.predict(frame.drop(columns="lpsa"))
    assert np.mean((pred - frame["lpsa"]) ** 2) < 0.6
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    numbers = doc["sections"][0]["numbers"]
    assert numbers["model"]["λ"] == 0.05
    # 'train' (T/F text) is one-hot encoded; L1 at this λ drops some of the 10 encoded features
    assert numbers["data"]["one-hot encoded columns"] == ["train (2 levels)"]
    assert numbers["model"]["features after encoding"] == 10
    assert 0 < numbers["model"]["features selected"] < 10
    assert set(numbers["selected features and coefficients (standardized scale)"]) >= {"lcavol", "lweight"}
    assert "path" in doc["sections"][0]["figures"]


def test_fit_l2_zeros_nothing(capsys, prostate_csv, tmp_path):
    code, _, err = cli(capsys, "fit", prostate_csv, "--target", "lpsa", "--penalty", "l2", "--lam", "0.05",
                       "--out", tmp_path / "m")
    assert code == 0, err
    doc = json.loads((tmp_path / "m" / "results.json").read_text(encoding="utf-8"))
    model = doc["sections"][0]["numbers"]["model"]
    assert model["features selected"] == model["features after encoding"]


def test_fit_singh_gzip_classification_subprocess(singh_csv, tmp_path):
    out = tmp_path / "genes"
    result = subprocess.run([sys.executable, "-m", "penalized.cli", "fit", str(singh_csv), "--target",
                             "status", "--lam", "0.08", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "classification" in result.stdout and "5-fold CV accuracy" in result.stdout
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    model = doc["sections"][0]["numbers"]["model"]
    assert model["classes"] == ["cancer", "healthy"]
    assert 0 < model["features selected"] < 200  # a few of 6033 genes
    assert model["5-fold CV accuracy"] > 0.65  # majority class: 0.51


def test_fit_cv(capsys, prostate_csv, tmp_path):
    code, stdout, err = cli(capsys, "fit", prostate_csv, "--target", "lpsa", "--cv", "5", "--out", tmp_path / "m")
    assert code == 0, err
    assert "λ chosen by 5-fold cross-validation" in stdout
    doc = json.loads((tmp_path / "m" / "results.json").read_text(encoding="utf-8"))
    assert set(doc["sections"][0]["figures"]) == {"path", "cv"}
    # L2 goes through ElasticNetCV(l1_ratio=0), whose λ is twice Ridge's; classes through
    # LogisticRegressionCV
    for args in (["--target", "lpsa", "--penalty", "l2"], ["--target", "train", "--penalty", "elasticnet"]):
        code, stdout, err = cli(capsys, "fit", prostate_csv, *args, "--cv", "3", "--out", tmp_path / args[-1])
        assert code == 0, err
        doc = json.loads((tmp_path / args[-1] / "results.json").read_text(encoding="utf-8"))
        assert set(doc["sections"][0]["figures"]) == {"path", "cv"}


def prostate_table(prostate_csv):
    """The checked table and its standardized, encoded features (what `fit` fits)."""
    table = tables.load_table(prostate_csv, "lpsa")
    return table, tables.preprocessor(table).fit_transform(table.X)


def test_fit_cv_folds_are_shuffled_with_a_fixed_seed(prostate_csv):
    """prostate.csv is sorted by lpsa: unshuffled folds would each hold one range of the target."""
    from sklearn.model_selection import KFold

    table, Xs = prostate_table(prostate_csv)
    result = tables.fit_table(table, cv=5, select="min")
    expected = pz.LassoCV(cv=KFold(5, shuffle=True, random_state=0), select="min").fit(Xs, table.y)
    assert result.lam == expected.lam_
    assert tables.fit_table(table, cv=5, select="min").lam == result.lam
    assert pz.LassoCV(cv=5, select="min").fit(Xs, table.y).lam_ == result.lam  # the estimators' default folds
    unshuffled = pz.LassoCV(cv=KFold(5), select="min").fit(Xs, table.y)
    assert unshuffled.lam_ != result.lam


def test_fit_cv_l2_lambda_is_on_ridge_scale(prostate_csv):
    table, Xs = prostate_table(prostate_csv)
    result = tables.fit_table(table, penalty="l2", cv=5)
    est, scale = tables.cv_estimator("regression", "l2", tables.folds("regression", 5))
    est.fit(Xs, table.y)
    assert scale == 0.5 and result.lam == scale * est.lam_
    # ElasticNet(λ, l1_ratio=0) is Ridge(λ/2); the CV grid starts at Ridge's λ_max for L2
    ridge = pz.Ridge(lam=result.lam, tol=1e-12, max_iter=100_000).fit(Xs, table.y)
    enet = pz.ElasticNet(lam=est.lam_, l1_ratio=0.0, tol=1e-12, max_iter=100_000).fit(Xs, table.y)
    np.testing.assert_allclose(ridge.coef_, enet.coef_, rtol=1e-8)
    np.testing.assert_allclose(result.pipeline["model"].coef_, ridge.coef_, atol=1e-5)
    assert scale * est.lambdas_[0] == pytest.approx(pz.lambda_max(Xs, table.y, "l2"), rel=1e-12)
    assert result.cv_curve["lambdas"][0] == pytest.approx(pz.lambda_max(Xs, table.y, "l2"), rel=1e-12)


def test_multiclass_path_is_multinomial(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 4))
    y = np.array(["a", "b", "c"])[np.argmax(X[:, :3] + 0.5 * rng.standard_normal((90, 3)), axis=1)]
    grid = tables._grid(X, y, "classification", "l1", n_lambdas=6)
    assert grid[0] == pytest.approx(pz.lambda_max(X, y, "l1", datafit="multinomial"), rel=1e-12)
    coefs = tables._path(X, y, "classification", "l1", grid)
    assert coefs.shape == (3, 4, 6) and np.all(coefs[:, :, 0] == 0)
    for k in (2, 5):  # the multinomial L1 logistic regression at each λ (what `fit` fits)
        model = pz.LogisticRegression(penalty=pz.L1(grid[k]), tol=1e-10, max_iter=10_000).fit(X, y)
        np.testing.assert_allclose(coefs[:, :, k], model.coef_, atol=1e-4)
    path = write(tmp_path, pd.DataFrame({**{f"x{j}": X[:, j] for j in range(4)}, "label": y}))
    code, stdout, err = cli(capsys, "path", path, "--target", "label", "--out", tmp_path / "p.png")
    assert code == 0, err
    assert "Order of entry: x" in stdout
    code, stdout, err = cli(capsys, "fit", path, "--target", "label", "--lam", "0.02", "--out", tmp_path / "m")
    assert code == 0, err
    assert "multinomial, 3 classes" in stdout and "coef (a)" in stdout and "5-fold CV log-loss" in stdout
    doc = json.loads((tmp_path / "m" / "results.json").read_text(encoding="utf-8"))
    section = doc["sections"][0]
    assert "multinomial" in section["title"] and section["numbers"]["model"]["classes"] == ["a", "b", "c"]
    import joblib

    model = joblib.load(tmp_path / "m" / "model.joblib")
    frame = pd.read_csv(path)
    proba = model.predict_proba(frame.drop(columns="label"))
    assert proba.shape == (90, 3) and np.allclose(proba.sum(1), 1)


def counts_table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    exposure = rng.uniform(0.5, 4.0, n)
    y = rng.poisson(exposure * np.exp(0.6 * x[:, 0] - 0.4 * x[:, 1]))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "region": rng.choice(["n", "s"], n),
                         "log_exposure": np.log(exposure), "claims": y})


def test_fit_poisson_with_offset(capsys, tmp_path):
    frame = counts_table()
    path = write(tmp_path, frame, "claims.csv")
    before = digest(path)
    out = tmp_path / "model"
    code, stdout, err = cli(capsys, "fit", path, "--target", "claims", "--task", "poisson", "--offset",
                            "log_exposure", "--lam", "0.01", "--out", out)
    assert code == 0, err
    assert digest(path) == before
    assert "Poisson regression" in stdout and "5-fold CV mean Poisson deviance" in stdout
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    numbers = doc["sections"][0]["numbers"]
    assert numbers["data"]["offset column"] == "log_exposure"
    assert numbers["model"]["features after encoding"] == 5  # the offset is not a feature
    import joblib

    pipeline = joblib.load(out / "model.joblib")
    features = frame.drop(columns=["claims", "log_exposure"])
    table = tables.load_table(frame, "claims", task="poisson", offset="log_exposure")
    Xs = tables.preprocessor(table).fit_transform(table.X)
    ref = pz.PoissonRegressor(pz.L1(0.01), tol=1e-10).fit(Xs, frame["claims"], offset=frame["log_exposure"])
    mu = pipeline.predict(features, offset=frame["log_exposure"].to_numpy())
    np.testing.assert_allclose(mu, ref.predict(Xs, offset=frame["log_exposure"]), rtol=1e-4)
    code, stdout, err = cli(capsys, "fit", path, "--target", "claims", "--task", "poisson", "--offset",
                            "log_exposure", "--cv", "3", "--out", tmp_path / "cv")
    assert code == 0, err
    assert "PoissonRegressorCV" in stdout
    code, stdout, err = cli(capsys, "path", path, "--target", "claims", "--task", "poisson", "--offset",
                            "log_exposure", "--out", tmp_path / "p.png")
    assert code == 0, err
    assert "Order of entry: a" in stdout


def test_bad_poisson_tables_give_one_line_errors(capsys, tmp_path):
    frame = counts_table(40)
    negative = frame.assign(claims=frame["claims"] - 3)
    nan_offset = frame.copy()
    nan_offset.loc[[2, 9], "log_exposure"] = np.nan
    text_offset = frame.assign(log_exposure="one")
    cases = [
        ([write(tmp_path, negative, "neg.csv"), "--target", "claims", "--task", "poisson"], "needs counts >= 0"),
        ([write(tmp_path, frame, "ok.csv"), "--target", "claims", "--task", "poisson", "--offset", "exposure"],
         "offset column 'exposure' is not in"),
        ([write(tmp_path, frame, "ok2.csv"), "--target", "claims", "--offset", "log_exposure"],
         "goes with the poisson task only"),
        ([write(tmp_path, nan_offset, "nan.csv"), "--target", "claims", "--task", "poisson", "--offset",
          "log_exposure"], "offset column 'log_exposure' has 2 missing or infinite value(s) at data rows 3, 10"),
        ([write(tmp_path, text_offset, "text.csv"), "--target", "claims", "--task", "poisson", "--offset",
          "log_exposure"], "offset column 'log_exposure' must be numeric"),
        ([write(tmp_path, frame, "ok3.csv"), "--target", "region", "--task", "poisson"], "needs a numeric target"),
        ([write(tmp_path, frame, "ok4.csv"), "--target", "claims", "--task", "poisson", "--offset", "claims"],
         "is also the target"),
    ]
    for args, message in cases:
        for command in ("fit", "path"):
            out = tmp_path / ("out" if command == "fit" else "out.png")
            code, stdout, err = cli(capsys, command, *args, "--out", out)
            assert code == 2, (args, err)
            assert message in err, (args, err)
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + stdout
            assert not out.exists()


def test_path_command(capsys, prostate_csv, tmp_path):
    out = tmp_path / "p.png"
    code, stdout, err = cli(capsys, "path", prostate_csv, "--target", "lpsa", "--out", out)
    assert code == 0, err
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "Order of entry: lcavol" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "prostate.csv"]


@pytest.mark.parametrize("command", ["fit", "path"])
def test_help_is_complete(capsys, command):
    code, stdout, _ = cli(capsys, command, "--help")
    assert code == 0
    for word in ("Examples", "Exit codes", "--target", "--penalty", "--task", "--out"):
        assert word in stdout
    if command == "fit":
        for word in ("--lam", "--cv", "--select", "joblib"):
            assert word in stdout


# -- bad tables ----------------------------------------------------------------------------------
def write(tmp_path, frame, name="t.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def table(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                         "y": rng.normal(size=n), "label": np.where(np.arange(n) % 2, "yes", "no")})


def bad_cases(tmp_path):
    t = table()
    nan_t = t.copy()
    nan_t.loc[[3, 7], "a"] = np.nan
    nan_t.loc[5, "b"] = np.nan
    nan_y = t.copy()
    nan_y.loc[4, "y"] = np.nan
    text = t.copy()
    text["name"] = [f"person {i}" for i in range(len(t))]
    stray = t.copy().astype({"a": object})
    stray.loc[6, "a"] = "?"
    one = t.copy()
    one["label"] = "yes"
    few = table(n=4)
    rare = t.copy()
    rare.loc[:, "label"] = "no"
    rare.loc[[1, 2], "label"] = "yes"
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 4)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header = tmp_path / "header.csv"
    header.write_text("a,b,y\n")
    fake_gz = tmp_path / "fake.csv.gz"
    fake_gz.write_text("a,b,y\n1,2,3\n")
    truncated = tmp_path / "trunc.csv.gz"
    truncated.write_bytes(gzip.compress(t.to_csv(index=False).encode())[:60])
    return [
        ("missing file", [tmp_path / "nope.csv", "--target", "y"], "does not exist"),
        ("directory", [tmp_path, "--target", "y"], "is a directory"),
        ("empty file", [empty, "--target", "y"], "is empty"),
        ("header only", [header, "--target", "y"], "no data rows"),
        ("binary garbage", [garbage, "--target", "y"], "CSV"),
        ("not gzip", [fake_gz, "--target", "y"], "not gzip-compressed"),
        ("truncated gzip", [truncated, "--target", "y"], "could not be decompressed"),
        ("missing target", [write(tmp_path, t), "--target", "Y"], "target column 'Y' is not in"),
        ("nan in features", [write(tmp_path, nan_t, "nan.csv"), "--target", "y"],
         "3 missing value(s) (NaN or empty) in 2 feature column(s) — "
         "'a': 2 at data rows 4, 8; 'b': 1 at data row 6"),
        ("nan in target", [write(tmp_path, nan_y, "nany.csv"), "--target", "y"],
         "target column 'y' has 1 missing value(s) at data row 5"),
        ("high-cardinality text", [write(tmp_path, text, "text.csv"), "--target", "y"],
         "column 'name' is text with 30 distinct values, too many to one-hot encode"),
        ("stray text in numbers", [write(tmp_path, stray, "stray.csv"), "--target", "y"],
         "column 'a' is numeric except for 1 value(s) such as '?' at data row 7"),
        ("one class", [write(tmp_path, one, "one.csv"), "--target", "label"], "has only one class ('yes')"),
        ("fewer rows than folds", [write(tmp_path, few, "few.csv"), "--target", "y", "--cv", "5"],
         "--cv 5: the table has 4 rows, fewer than 5 cross-validation folds"),
        ("rare class", [write(tmp_path, rare, "rare.csv"), "--target", "label", "--cv", "5"],
         "--cv 5: class 'yes' has 2 row(s), fewer than 5 cross-validation folds"),
        ("regression on text", [write(tmp_path, t, "t2.csv"), "--target", "label", "--task", "regression"],
         "--task regression: a regression needs a numeric target"),
        ("classification on floats",
         [write(tmp_path, t, "t3.csv"), "--target", "y", "--task", "classification"],
         "--task classification: a classification needs class labels"),
        ("both lam and cv", [write(tmp_path, t, "t4.csv"), "--target", "y", "--lam", "0.1", "--cv", "3"],
         "either --lam or --cv"),
        ("negative lam", [write(tmp_path, t, "t5.csv"), "--target", "y", "--lam", "-1"], "--lam"),
        ("one fold", [write(tmp_path, t, "t6.csv"), "--target", "y", "--cv", "1"], "--cv"),
    ]


def test_bad_tables_give_one_line_errors(capsys, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for name, args, message in bad_cases(data_dir):
        snapshot = {p: digest(p) for p in data_dir.iterdir() if p.is_file()}
        out = tmp_path / f"out-{name.replace(' ', '-')}"
        code, stdout, err = cli(capsys, "fit", *args, "--out", out)
        assert code == 2, (name, err)
        assert message in err, (name, err)
        assert len(err.strip().splitlines()) == 1, (name, err)
        assert "Traceback" not in err + stdout
        assert not out.exists(), name
        assert snapshot == {p: digest(p) for p in data_dir.iterdir() if p.is_file()}, name


def test_bad_table_subprocess_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "penalized.cli", "fit", str(tmp_path / "missing.csv"),
                             "--target", "y"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: data file {str(tmp_path / 'missing.csv')!r} does not exist."]


def test_output_must_not_hold_the_input(capsys, prostate_csv, tmp_path):
    before = digest(prostate_csv)
    code, _, err = cli(capsys, "fit", prostate_csv, "--target", "lpsa", "--lam", "0.1", "--out", tmp_path)
    assert code == 2 and "not a penalized report" in err
    (tmp_path / ".penalized-report").write_text("")  # even a directory that looks like ours
    code, _, err = cli(capsys, "fit", prostate_csv, "--target", "lpsa", "--lam", "0.1", "--out", tmp_path)
    assert code == 2 and "would contain or replace the input file" in err
    assert digest(prostate_csv) == before
    code, _, err = cli(capsys, "path", prostate_csv, "--target", "lpsa", "--out", prostate_csv)
    assert code == 2
    assert digest(prostate_csv) == before


def test_one_hot_encodes_low_cardinality_text(capsys, tmp_path):
    rng = np.random.default_rng(1)
    n = 60
    color = rng.choice(["red", "green", "blue"], size=n)
    x = rng.normal(size=n)
    y = 2 * x + 3 * (color == "red") + 0.1 * rng.normal(size=n)
    path = write(tmp_path, pd.DataFrame({"x": x, "color": color, "flag": rng.random(n) > 0.5, "y": y}))
    code, stdout, err = cli(capsys, "fit", path, "--target", "y", "--lam", "0.01", "--out", tmp_path / "o")
    assert code == 0, err
    assert "color_red" in stdout
    doc = json.loads((tmp_path / "o" / "results.json").read_text(encoding="utf-8"))
    coefs = doc["sections"][0]["numbers"]["selected features and coefficients (standardized scale)"]
    assert max(coefs, key=lambda k: abs(coefs[k])) in ("x", "color_red")
