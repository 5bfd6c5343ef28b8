"""The benchmark harness runs (quick mode, tiny problems) so that it does not rot."""

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as bench  # noqa: E402
from benchmarks import cold_start, solvers  # noqa: E402


@pytest.mark.slow
def test_quick_benchmark_runs_and_reports(tmp_path, capsys):
    out = bench.main(["--quick", "--no-write", "--libraries", "penalized", "scikit-learn",
                      "--results", str(tmp_path)])
    rows = out["solvers"]
    assert {r["model"] for r in rows} == {"lasso", "enet", "logreg"}
    ours = [r for r in rows if r["library"] == "penalized"]
    assert ours and all(r["reached"] and r["relative_gap"] <= solvers.GAP for r in ours)
    assert all(math.isfinite(r["passes"]) and r["passes"] > 0 for r in ours)
    table = solvers.markdown(rows, "Machine: test.", "python -m benchmarks --quick")
    assert "| problem |" in table and "÷ scikit-learn" in table
    cold = out["cold-start"]
    assert {r["library"] for r in cold} >= {"penalized", "scikit-learn"}
    assert all(r["process_s"] > 0 for r in cold)
    assert "penalized ÷ scikit-learn" in cold_start.markdown(cold, "Machine: test.", "cmd")
    assert not list(tmp_path.iterdir())  # --no-write: nothing written


@pytest.mark.slow
def test_quick_glm_benchmarks_run(tmp_path):
    from benchmarks import glm, glm_path_cv

    out = bench.main(["--quick", "--only", "glm", "--no-write", "--repeat", "1", "--results", str(tmp_path)])
    rows = out["glm"]
    assert {r["model"] for r in rows} == {"multinomial", "poisson", "multitask"}
    ours = [r for r in rows if r["library"] == "penalized"]
    assert ours and all(r["reached"] and r["suboptimality"] <= glm.GAP for r in ours)
    assert "| problem |" in glm.markdown(rows, "Machine: test.", "cmd")
    out = bench.main(["--quick", "--only", "glm-path-cv", "--no-write", "--repeat", "1", "--models", "poisson",
                      "multitask", "--results", str(tmp_path)])
    rows = out["glm-path-cv"]
    ours = [r for r in rows if r["library"] == "penalized"]
    assert {r["model"] for r in ours} == {"poisson", "multitask"}
    assert all(r["path_suboptimality"] <= glm_path_cv.TOL for r in rows if r["reached"])
    assert "peer ÷ penalized" in glm_path_cv.markdown(rows, "Machine: test.", "cmd")
    assert not list(tmp_path.iterdir())
