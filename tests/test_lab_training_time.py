"""Lab section ``training_time``: training too long overfits; a penalty and early stopping curb it.

The verdicts are recomputed here from the measured numbers (per training set), not read
from the stored verdicts.
"""

import subprocess
import sys

import numpy as np
import pytest

from penalized.lab import SECTIONS, run_section
from penalized.lab.training_time import verdicts_from


@pytest.fixture(scope="module")
def result():
    return run_section("training_time", quick=True, seed=0)


def test_section_is_registered_after_overfitting():
    keys = [k for k, _ in SECTIONS]
    assert keys.index("training_time") == keys.index("overfitting") + 1


def test_measured_numbers_support_the_claims(result):
    assert result.status == "complete", result.error
    per = {k: np.asarray(v) for k, v in result.data["per training set"].items()}
    med = {k: float(np.median(v)) for k, v in per.items()}
    none, l2, stop = result.numbers["no penalty"], result.numbers["L2"], result.numbers["early stopping"]
    assert none["least test MSE"] == med["test_min"] and none["test MSE at the last epoch"] == med["test_end"]
    assert l2["test MSE at the last epoch"] == med["test_end_l2"]
    assert stop["test MSE at the stopping epoch"] == med["test_stop"]
    # training too long: the test error rises well past its minimum, the training error keeps falling
    assert med["test_end"] >= 1.5 * med["test_min"]
    assert np.all(per["train_end"] < per["train_at_best"])
    assert np.median(per["best_epoch"]) < result.numbers["setting"]["epochs"] / 4
    # both remedies keep the test error near the minimum
    rise = med["test_end"] - med["test_min"]
    assert med["test_end_l2"] - med["test_min"] <= 0.25 * rise
    assert med["test_stop"] - med["test_min"] <= 0.25 * rise
    # per training set too: the hindsight minimum is a lower bound, early stopping beats the end in most
    assert np.all(per["test_min"] <= per["test_stop"]) and np.mean(per["test_stop"] < per["test_end"]) >= 0.75
    assert result.verdicts == verdicts_from(med) and all(result.verdicts.values())


def test_curves_match_the_epochs_and_a_figure_is_drawn(result):
    epochs = result.data["epochs"]
    assert epochs[0] == 1 and epochs[-1] == result.numbers["setting"]["epochs"]
    assert all(len(result.data[f"{k}_{arm}"]) == len(epochs) for k in ("train", "test") for arm in ("none", "l2"))
    assert set(result.figures) == {"training_time_curves"}


def test_verdicts_disagree_when_the_numbers_do():
    flat = {"test_min": 0.1, "test_end": 0.11, "train_at_best": 0.05, "train_end": 0.04,
            "test_end_l2": 0.1, "test_stop": 0.1}
    assert list(verdicts_from(flat).values())[0] is False  # no rise: no overfitting claimed
    bad = dict(flat, test_end=0.3, test_end_l2=0.3, test_stop=0.25)  # rise, but neither remedy helps
    assert list(verdicts_from(bad).values()) == [True, False, False]


def test_runs_without_pytorch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from penalized.lab import run_section\n"
            "r = run_section('training_time', quick=True)\n"
            "print(r.status, r.error)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.startswith("complete None"), out.stdout + out.stderr
