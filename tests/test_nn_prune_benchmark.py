"""The MNIST-1D prune benchmark runs (quick mode) and its rows hold together, so that it does not rot."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch_pruning")
pytest.importorskip("mnist1d")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import nn_prune  # noqa: E402


@pytest.mark.slow
def test_quick_prune_benchmark_runs_and_compares_at_equal_size(tmp_path):
    rows = nn_prune.main(["--quick", "--no-write", "--lam", "cnn=0.1", "--save-models", str(tmp_path)])
    (row,) = rows
    assert row["model"] == "cnn" and 0 <= row["ours_acc"] <= 1
    assert row["ours_params"] < row["dense_params"] and row["ours_macs"] < row["dense_macs"]
    assert row["anchor_params_params"] <= row["ours_params"]  # the anchor at ours' size (or just below)
    assert row["anchor_macs_macs"] <= row["ours_macs"]
    assert row["ours_removed"] > 0 and row["zero_structures"] > 0
    assert all(row[f"{k}_{clock}_ms_b{b}"] > 0 for k in ("dense", "ours", "anchor_params", "anchor_macs")
               for b in (1, 256) for clock in ("cpu", "wall"))
    table = nn_prune.markdown(rows, 1.0, "cmd")
    assert "| cnn | 1 |" in table and "anchor =MACs" in table
    saved = list(tmp_path.glob("cnn_1_0.1.pt"))
    assert saved
    from benchmarks import nn_prune_latency

    again = nn_prune_latency.main([str(tmp_path), "--repeats", "3", "--rounds", "1"])
    assert again[0]["ours_cpu_ms_b256"] > 0 and again[0]["dense_cpu_speedup_b256"] == 1.0


@pytest.mark.slow
def test_quick_sweep_runs():
    rows = nn_prune.main(["--quick", "--no-write", "--sweep", "--sweep-lams", "0.1", "--sweep-weights", "macs"])
    (row,) = rows
    assert row["weights"] == "macs" and row["lambda"] == 0.1
    assert row["ours_macs"] < row["dense_macs"]
    assert "| cnn | macs | 0.1 |" in nn_prune.sweep_markdown(rows)
