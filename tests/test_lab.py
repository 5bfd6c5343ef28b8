"""The tour: `penalized tour --quick` runs, its numbers agree with the claims, the report holds.

The tour runs once per session (a fixture); every test reads its results.json. The
claims are re-checked here from the measured numbers, not from the stored verdicts.
"""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from penalized.lab import SECTIONS, SectionResult, run_section, run_tour


def _has_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def tour_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour") / "report"
    result = subprocess.run([sys.executable, "-m", "penalized.cli", "tour", "--quick", "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def doc(tour_dir):
    return json.loads((tour_dir / "results.json").read_text(encoding="utf-8"))


def section(doc, key):
    return next(s for s in doc["sections"] if s["key"] == key)


def test_tour_writes_report_figures_and_json(tour_dir, doc):
    assert (tour_dir / "report.html").stat().st_size > 100_000
    assert [s["key"] for s in doc["sections"]] == [k for k, _ in SECTIONS]
    assert doc["meta"]["mode"] == "quick"
    for s in doc["sections"]:
        # the one section that may not run: the MLP without the optional PyTorch
        assert s["status"] == ("pending" if s["key"] in ("deep", "pruning") and not _has_torch() else "complete"), s
        for rel in s["figures"].values():
            png = (tour_dir / rel).read_bytes()
            assert png.startswith(b"\x89PNG") and len(png) > 5_000
    # nothing but the report is left next to it (no temporary directories)
    assert [p.name for p in tour_dir.parent.iterdir()] == ["report"]


def test_every_measured_claim_agrees(doc):
    disagree = [(s["key"], v["claim"]) for s in doc["sections"] for v in s["verdicts"] if not v["agrees"]]
    assert not disagree
    assert doc["summary"]["claims measured"] >= 20


def test_overfitting_numbers(doc):
    n = section(doc, "overfitting")["numbers"]
    c = n["complexity"]
    assert c["test MSE at degree 12, L2"] < c["test MSE at degree 12, least squares"]
    assert c["test MSE at degree 12, least squares"] > 1.5 * c["test MSE at best degree, least squares"]
    d = n["too little data"]
    assert d["test MSE at n=15, L2"] < d["test MSE at n=15, least squares"]
    assert d["test − train gap at n=200, least squares"] < d["test − train gap at n=15, least squares"]
    s = n["noise"]
    assert s["test − train gap at σ=1, least squares"] > s["test − train gap at σ=0, least squares"]


def test_knob_numbers(doc):
    for kind in ("L1", "L2"):
        curve = section(doc, "knob")["numbers"][f"{kind} validation curve"]
        best = curve["test MSE at the best λ"]
        assert best < 0.8 * curve["test MSE at the largest λ (underfit end)"]
        assert best < 0.8 * curve["test MSE at the smallest λ (overfit end)"]
        assert curve["training MSE at the smallest λ"] < 0.05 * best


def test_l1_vs_l2_numbers(doc):
    n = section(doc, "l1_vs_l2")["numbers"]
    l1 = n["L1 at λ = 2·λ₀"]
    assert l1["precision"] == 1.0 and l1["recall"] == 1.0
    assert l1["selected features"] == n["setting"]["relevant features"]
    assert n["along the paths"]["exact zeros over the whole L2 path"] == 0
    assert n["L2 at its best λ"]["exact zeros"] == 0
    assert n["L2 at its best λ"]["smallest |w_j| over irrelevant features"] > 0
    easy = next(v for k, v in n.items() if k.startswith("easy setting"))
    assert easy["exact support recovery rate (L1)"] >= 0.8
    assert easy["exact zeros in total (L2, λ=0.1)"] == 0


def test_geometry_numbers(doc):
    n = section(doc, "geometry")["numbers"]
    many = next(v for k, v in n.items() if k.endswith("random two-feature problems"))
    assert many["optimum exactly on an axis, L1 (fraction)"] >= 0.2
    assert many["optimum exactly on an axis, L2 (fraction)"] == 0.0
    picture = n["the 2-D picture"]
    l1 = next(v for k, v in picture.items() if k.startswith("L1 solution"))
    l2 = next(v for k, v in picture.items() if k.startswith("L2 solution"))
    assert sum(x == 0 for x in l1) == 1 and all(x != 0 for x in l2)
    one = n["near zero (1-D)"]
    assert one["largest |z| mapped to 0 by the L1 prox"] == pytest.approx(one["λ"], abs=0.01)


@pytest.mark.skipif(not _has_torch(), reason="PyTorch is not installed")
def test_deep_numbers(doc):
    n = section(doc, "deep")["numbers"]
    assert n["L2"]["exact-zero fraction (weights)"] == 0.0
    assert n["L1 (subgradient)"]["exact-zero fraction (weights)"] < 0.01
    tiny = "|w| < 1e-3 fraction (weights)"
    assert n["L1 (subgradient)"][tiny] > n["no penalty"][tiny]
    assert n["no penalty"]["test accuracy"] > 0.85


@pytest.mark.skipif(not _has_torch(), reason="PyTorch is not installed")
def test_deep_proximal_optimizer(doc):
    prox = section(doc, "deep")["numbers"]["L1 (proximal)"]
    assert prox["exact-zero fraction (weights)"] > 0.3
    assert prox["inputs still used (of 64)"] < 64


def test_knob_cross_validation(doc):
    knob = section(doc, "knob")
    cv = knob["numbers"]["λ chosen by cross-validation (pz.LassoCV, training data only)"]
    assert cv["λ_1se"] >= cv["λ_min"]
    assert any("CV" in v["claim"] for v in knob["verdicts"])


def test_real_data_numbers(doc):
    n = section(doc, "real_data")["numbers"]["prostate"]
    assert n["order in which predictors enter the lasso path"][0] == "lcavol"  # ESL Figure 3.10
    assert n["least squares, test MSE (all 8 predictors)"] == pytest.approx(0.521, abs=1e-3)  # ESL Table 3.3


def test_real_data_cross_validation(doc):
    n = section(doc, "real_data")["numbers"]
    assert "lcavol" in n["prostate"]["lasso, λ by 10-fold CV (1-s.e. rule)"]["selected predictors"]
    assert 0 < n["singh2002"]["sparse logistic regression, λ by CV"]["genes selected"] < 300


def test_report_is_self_contained(doc, tour_dir):
    html = (tour_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<script" not in html and "<link" not in html
    n_figures = sum(len(s["figures"]) for s in doc["sections"])
    assert html.count('src="data:image/png;base64,') == n_figures >= 10


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    else:
        yield value


def test_report_shows_the_numbers_of_results_json(doc, tour_dir):
    import html as html_mod

    from penalized.report import format_value

    text = html_mod.unescape((tour_dir / "report.html").read_text(encoding="utf-8"))
    for s in doc["sections"]:
        for leaf in _leaves(s["numbers"]):
            assert format_value(leaf) in text, (s["key"], leaf)


# -- the lab in-process ----------------------------------------------------------------------------
def test_unknown_section():
    with pytest.raises(ValueError, match="unknown section 'nope'"):
        run_section("nope")
    with pytest.raises(ValueError, match="unknown section"):
        run_tour(sections=["geometry", "nope"])


def test_sections_are_reproducible():
    a, b = run_section("l1_vs_l2", quick=True, seed=3), run_section("l1_vs_l2", quick=True, seed=3)
    assert a.numbers == b.numbers


def test_crashing_section_is_reported_not_raised(monkeypatch):
    from penalized.lab import geometry

    def boom(quick, rng):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(geometry, "run", boom)
    r = run_section("geometry", quick=True)
    assert r.status == "failed" and r.error == "RuntimeError: kaboom"


def test_deep_without_pytorch_is_pending_and_measures_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails, find_spec says absent
    r = run_section("deep", quick=True)
    assert r.status == "pending" and r.error is None
    assert r.pending == ["PyTorch is not installed, so this section did not run: pip install 'penalized[nn]'."]
    assert not (r.verdicts or r.figures or r.numbers)
    assert r.claim  # the report still says what the section would show


def test_status():
    assert SectionResult("k", "t", "c").status == "complete"
    assert SectionResult("k", "t", "c", pending=["x"]).status == "pending"
    assert SectionResult("k", "t", "c", error="E").status == "failed"


# -- the report in a real browser --------------------------------------------------------------------
def _chromium():
    import os
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("PENALIZED_REQUIRE_BROWSER"):
        pytest.fail("PENALIZED_REQUIRE_BROWSER is set but no chromium is installed (.ci/run installs it)")
    pytest.skip("chromium is not installed (apt-get install chromium); .ci/run installs it so CI runs this")


def test_report_renders_in_headless_chromium(tour_dir, tmp_path):
    from matplotlib.image import imread

    browser = _chromium()
    shot = tmp_path / "shot.png"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,9000",
           (tour_dir / "report.html").as_uri()]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert shot.exists(), result.stderr[-2000:]
    assert shot.stat().st_size > 200_000
    img = imread(shot)[..., :3]
    assert img.shape[:2] == (9000, 1280)
    rgb = (img * 255).round().astype(int)
    flat = rgb.reshape(-1, 3)
    assert len(np.unique(flat // 4, axis=0)) > 2000  # figures, not a blank or text-only page
    assert np.mean(np.all(flat > 245, axis=1)) < 0.9
    # the L2 blue and test-error cyan of sections 1-2, the L1 red of sections 3-4
    for hex_color in ("#1f77b4", "#17becf", "#d62728"):
        target = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
        assert np.sum(np.abs(flat - target).sum(axis=1) < 30) > 300, hex_color
