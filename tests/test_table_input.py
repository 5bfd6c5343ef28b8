"""Reading and checking a user's table (``penalized.table_input``) from Python: the messages
speak of the data and of the Python arguments, never of command-line options."""

import numpy as np
import pandas as pd
import pytest

from penalized.table_input import TableError, check_cv_folds, check_table, read_csv_table


def frame(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "y": rng.normal(size=n),
                         "label": np.where(np.arange(n) % 2, "yes", "no")})


def test_task_mismatch_is_a_table_error_on_task():
    with pytest.raises(TableError) as exc:
        check_table(frame(), "label", task="regression")
    err = exc.value
    assert isinstance(err, ValueError)
    assert (err.argument, err.value) == ("task", "regression")
    assert str(err).startswith("task='regression': a regression needs a numeric target; 'label'")
    with pytest.raises(TableError, match=r"^task='classification': a classification needs class labels"):
        check_table(frame(), "y", task="classification")


def test_too_few_rows_or_class_rows_for_the_folds():
    small = check_table(frame(n=4), "y")
    with pytest.raises(TableError) as exc:
        check_cv_folds(small, 5)
    assert (exc.value.argument, exc.value.value) == ("cv", 5)
    assert exc.value.detail == "the table has 4 rows, fewer than 5 cross-validation folds; use 4 folds or " \
                               "fewer, or a fixed λ."
    rare = frame()
    rare["label"] = "no"
    rare.loc[[1, 2], "label"] = "yes"
    checked = check_table(rare, "label")
    with pytest.raises(TableError, match=r"class 'yes' has 2 row\(s\), fewer than 5 .* use 2 folds or fewer"):
        check_cv_folds(checked, 5)
    assert check_cv_folds(checked, 2) == 2
    with pytest.raises(TableError, match="at least 2 folds"):
        check_cv_folds(checked, 1)


def test_no_message_names_a_command_line_option(tmp_path):
    bad = frame()
    bad.loc[[3, 7], "a"] = np.nan
    bad["name"] = [f"person {i}" for i in range(len(bad))]
    stray = frame().astype({"b": object})
    stray.loc[6, "b"] = "?"
    one = frame()
    one["label"] = "yes"
    messages = []
    for data, target, task in [(bad, "y", "auto"), (stray, "y", "auto"), (one, "label", "auto"),
                               (frame(), "Y", "auto"), (frame(), "label", "regression"),
                               (frame(), "y", "classification"), (frame(), "y", "other")]:
        with pytest.raises(ValueError) as exc:
            check_table(data, target, task=task)
        messages.append(str(exc.value))
    for n in (4, 30):
        with pytest.raises(ValueError) as exc:
            check_cv_folds(check_table(frame(n=n), "label"), 40)
        messages.append(str(exc.value))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for path in (empty, tmp_path / "missing.csv", tmp_path):
        with pytest.raises((ValueError, OSError)) as exc:
            read_csv_table(path)
        messages.append(str(exc.value))
    assert len(messages) == 12
    for message in messages:
        assert "--" not in message, message


def test_checked_table_and_input_untouched():
    data = frame()
    data["flag"] = data["a"] > 0
    data["num_text"] = data["b"].map(str)
    before = data.copy()
    table = check_table(data, "label")
    pd.testing.assert_frame_equal(data, before)
    assert table.task == "classification" and list(table.classes) == ["no", "yes"]
    assert table.numeric == ["a", "b", "y", "flag", "num_text"] and table.categorical == []
    assert table.X["num_text"].dtype == np.float64 and table.X["flag"].dtype == np.float64
    np.testing.assert_array_equal(table.X["num_text"], data["b"].map(str).astype(float))
