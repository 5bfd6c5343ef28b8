"""The HTML report: escaping, atomic output, refusing to replace what is not ours."""

import json

import pytest

from penalized.lab import SectionResult
from penalized.plots import figure
from penalized.report import MARKER, format_value, write_report


def _result(title="A <b>bold</b> & 'quoted' title"):
    fig, ax = figure()
    ax.plot([0, 1], [0, 1])
    return SectionResult("demo", title, "claim <script>alert(1)</script>", numbers={"x": 1.5, "g": {"y": 2}},
                         figures={"line": fig}, verdicts={"it works": True, "it fails": False},
                         pending=["part <i>pending</i>"], text="t & t")


def test_text_is_escaped(tmp_path):
    write_report([_result()], tmp_path / "r")
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "A &lt;b&gt;bold&lt;/b&gt; &amp; &#x27;quoted&#x27; title" in html
    doc = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    assert doc["summary"]["claims that disagree"] == 1
    assert doc["sections"][0]["numbers"] == {"x": 1.5, "g": {"y": 2}}


def test_replaces_previous_report_whole(tmp_path):
    out = tmp_path / "r"
    write_report([_result()], out)
    (out / "figures" / "stale.png").write_bytes(b"old")
    write_report([_result("second")], out)
    assert not (out / "figures" / "stale.png").exists()
    assert "second" in (out / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_refuses_a_directory_that_is_not_a_report(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="is not a penalized report"):
        write_report([_result()], out)
    assert (out / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


def test_failure_leaves_nothing_behind(tmp_path):
    out = tmp_path / "r"
    write_report([_result()], out)
    before = (out / "report.html").read_bytes()

    def broken(tmp):
        (tmp / "half.bin").write_bytes(b"x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_report([_result("new")], out, extra=broken)
    assert (out / "report.html").read_bytes() == before
    assert (out / MARKER).exists() and not (out / "half.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    with pytest.raises(RuntimeError):
        write_report([_result()], tmp_path / "fresh", extra=broken)
    assert not (tmp_path / "fresh").exists()


def test_format_value():
    assert format_value(0.123456789) == "0.1235"
    assert format_value(3.0) == "3"
    assert format_value(True) == "yes"
    assert format_value(["a", "b"]) == "a, b"
    assert format_value(None) == "—"
    assert format_value(123456) == "123 456"
