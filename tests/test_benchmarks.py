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
    out = bench.main(["--quick", "--no-write", "--libraries", "penalized", "scikit-learn", "--no-memory",
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


def test_quick_penalty_sections_run_and_report(tmp_path):
    from benchmarks import penalty_cells

    out = bench.main(["--quick", "--no-write", "--libraries", "penalized", "scikit-learn",
                      "--results", str(tmp_path), "--only", "group"])
    rows = out["group"]
    assert {r["model"] for r in rows} == {"group4", "group10", "sgl10"}
    assert all(r["reached"] and r["suboptimality"] <= penalty_cells.GAP for r in rows)
    assert all(r["cpu_s"] > 0 and r["time_s"] > 0 for r in rows)
    for name in ("mcp", "positive"):
        part = bench.main(["--quick", "--no-write", "--libraries", "penalized", "scikit-learn",
                           "--results", str(tmp_path), "--only", name])[name]
        assert part and all(r["section"] == name for r in part)
        ours = [r for r in part if r["library"] == "penalized"]
        assert ours and all(r["reached"] for r in ours)
        table = penalty_cells.markdown(part, name, "Machine: test.", "cmd")
        assert "| problem |" in table and "target" in table
    assert "÷ scikit-learn (CPU)" in penalty_cells.markdown(part, "positive", "Machine: test.", "cmd")
    assert not list(tmp_path.iterdir())


def test_judge_measures_suboptimality_against_the_best_answer():
    import numpy as np
    from benchmarks import penalty_cells, penalty_peers
    from benchmarks.problems import penalty_problems

    prob = penalty_problems(quick=True)[0]
    model = penalty_peers.MODELS["group4"]
    lam = 0.1 * penalty_cells.lambda_max(prob, model)
    judge = penalty_cells.Judge(prob, model, lam)
    tight = penalty_cells.tight_solves(prob, model, lam, ["penalized"], judge)
    assert judge.sub(tight["penalized"][0]) == 0.0
    # the null model (zero coefficients, intercept ȳ) is (F(0) − F*) / F(0) above the best, by definition
    null_obj, _ = judge.certify(np.zeros(prob.shape[1]), float(np.mean(prob.y)))
    assert np.isclose(null_obj, judge.null)
    assert np.isclose(judge.sub(null_obj), (judge.null - judge.best) / judge.null)
    assert judge.sub(null_obj) > 0.1
    # λ ≥ λ_max: zero is the solution
    coef, _ = penalty_peers.fit("penalized", model, prob.X, prob.y, penalty_cells.lambda_max(prob, model), 1e-10)
    assert not np.any(coef) and np.any(tight["penalized"][1])


@pytest.mark.slow
@pytest.mark.parametrize("key", ["group4", "sgl10", "mcp", "positive"])
def test_peer_translations_solve_penalized_problems(key):
    """Each peer, at a tight tol, reaches penalized's objective on penalized's scale (the
    conversions of benchmarks/penalty_peers.py); MCP on a tall design where it is strictly convex."""
    pytest.importorskip("skglm")
    from benchmarks import penalty_cells, penalty_peers
    from benchmarks.problems import group_sparse

    prob = group_sparse("tall", 300, 40, 0.5)
    model = penalty_peers.MODELS[key]
    lam = 0.05 * penalty_cells.lambda_max(prob, model)
    judge = penalty_cells.Judge(prob, model, lam)
    libs = ["penalized", *[lib for lib in model.peers if penalty_peers.available(lib)]]
    tight = penalty_cells.tight_solves(prob, model, lam, libs, judge)
    for lib, (obj, _) in tight.items():
        assert judge.sub(obj) < 1e-8, lib


def test_quick_group_path_runs(tmp_path):
    from benchmarks import group_path

    out = bench.main(["--quick", "--no-write", "--libraries", "penalized", "adelie",
                      "--results", str(tmp_path), "--only", "group-path"])
    rows, checks = out["group-path"]
    for part in (rows, out["group-path-logistic"][0]):  # squared error, then the log-loss
        ours = next(r for r in part if r["library"] == "penalized")
        assert ours["reached"] and ours["max_suboptimality"] <= group_path.GAP and ours["cpu_s"] > 0
    if any(r["library"] == "adelie" for r in rows):  # only where adelie's own environment exists
        agree = [v for k, v in checks.items() if k.startswith("λ_")]
        assert agree and all(d < 1e-3 for d, _, _ in agree)
    else:
        assert "adelie" in checks["notes"]
    text = group_path.markdown(rows, checks, "Machine: test.", "cmd", logistic=out["group-path-logistic"])
    assert "| library |" in text and "#### The log-loss" in text


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


def test_quick_sparse_section_runs_and_reports(tmp_path):
    from benchmarks import sparse

    out = bench.main(["--quick", "--no-write", "--only", "sparse", "--libraries", "penalized", "scikit-learn",
                      "--models", "lasso", "logreg_icpt", "--repeat", "1", "--results", str(tmp_path)])
    rows = out["sparse"]
    # scikit-learn's liblinear would penalize the intercept: no logreg_icpt cell for it
    assert {(r["model"], r["library"]) for r in rows} == {
        ("lasso", "penalized"), ("lasso", "scikit-learn"), ("logreg_icpt", "penalized")}
    ours = [r for r in rows if r["library"] == "penalized"]
    assert all(r["reached"] and r["relative_gap"] <= solvers.GAP for r in ours)
    assert all(r["cpu_s"] > 0 and r["time_s"] > 0 for r in rows)
    # peak memory measured in a fresh process for every library that reached the gap
    assert all(math.isfinite(r["peak_mb"]) and r["peak_mb"] >= 0
               and r["memory_how"].split()[0] in ("peak", "tracemalloc") for r in rows if r["reached"])
    table = sparse.markdown(rows, "Machine: test.", "python -m benchmarks --quick --only sparse")
    assert "| problem |" in table and "penalized ÷ fastest (CPU)" in table and "+MB" in table
    assert not list(tmp_path.iterdir())  # --no-write: nothing written


def test_text_like_design_is_csc_int32_and_deterministic():
    import numpy as np
    from benchmarks.problems import text_like

    for values, zipf in (("lognormal", 0.0), ("tfidf", 1.0)):
        X, y, labels, classes = text_like(300, 1000, 3000, informative=5, values=values, zipf=zipf, seed=1)
        assert X.format == "csc" and X.shape == (300, 1000) and X.dtype == np.float64
        assert X.indices.dtype == np.int32 and X.indptr.dtype == np.int32
        assert 0.8 * 3000 < X.nnz <= 3000  # duplicates summed
        assert set(np.unique(labels)) == {-1.0, 1.0} and set(np.unique(classes)) == {0, 1, 2}
        if values == "tfidf":  # rows scaled to unit norm, as TfidfVectorizer does
            norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
            assert np.allclose(norms[norms > 0], 1.0)
        X2, y2, _, _ = text_like(300, 1000, 3000, informative=5, values=values, zipf=zipf, seed=1)
        assert (X != X2).nnz == 0 and np.array_equal(y, y2)
    with pytest.raises(ValueError, match="values"):
        text_like(10, 10, 20, informative=1, values="counts")


@pytest.mark.slow
def test_quick_glmnet_path_cv_runs_and_is_as_accurate():
    pytest.importorskip("glmnet")
    from benchmarks import glmnet_path_cv

    rows = glmnet_path_cv.main(["--quick", "--repeats", "1", "--tols", "1e-4", "--no-write"])
    assert {(r["family"]) for r in rows} == {"gaussian", "binomial"}
    # penalized's certificate bounds its suboptimality by tol·L(0) on every path point
    assert all(0 <= r["pz_subopt"] <= 1e-4 + 1e-12 for r in rows)
    assert all(r["pz_path_s"] > 0 and r["glmnet_path_s"] > 0 and r["glmnet_cv_s"] > 0 for r in rows)
    assert "| design |" in glmnet_path_cv.markdown(rows, 1)
