"""The self-contained HTML report of the lab (and of ``penalized fit``).

:func:`write_report` writes a directory with

- ``report.html``: one file, readable offline — inline CSS, figures as base64 PNG, a
  summary table of every claim with its measured verdict, then one part per section
  (claim, experiment, figures, measured numbers, verdicts; or why it did not run);
- ``figures/*.png``: the same figures as files;
- ``results.json``: every number the report shows (the HTML is rendered from it).

The directory appears whole or not at all: everything is written to a temporary
directory next to the target, which is then renamed into place. An existing target is
replaced only if it is a previous penalized report (it holds the marker file
``.penalized-report``); anything else is left alone and reported as an error.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import html
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["MARKER", "publish_dir", "to_jsonable", "render_html", "write_report"]

MARKER = ".penalized-report"


# -- atomic output -----------------------------------------------------------------------
def check_target_dir(out):
    """``out`` as a Path, if it may be (re)written: absent, empty, or a previous report."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise ValueError(f"--out {str(out)!r} exists and is not a directory; choose another path.")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise ValueError(f"--out {str(out)!r} exists and is not a penalized report (no {MARKER} "
                             "file); choose a new directory or remove it yourself.")
    return out


@contextlib.contextmanager
def publish_dir(out):
    """Yield a temporary directory next to ``out``; on success it replaces ``out`` whole.

    On an exception the temporary directory is removed and ``out`` is untouched.
    """
    out = check_target_dir(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        (tmp / MARKER).write_text("written by penalized; this directory may be replaced whole\n")
        os.chmod(tmp, 0o755)  # mkdtemp's 0700 would hide the report from other users
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "previous")
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old / "previous", out)
                raise
            finally:
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# -- JSON ------------------------------------------------------------------------------------
def to_jsonable(value):
    """Plain Python (numpy scalars and arrays converted, NaN/inf as None, keys as str)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def section_record(result, figure_paths):
    return to_jsonable({
        "key": result.key, "title": result.title, "claim": result.claim, "status": result.status,
        "text": result.text, "numbers": result.numbers,
        "verdicts": [{"claim": c, "agrees": bool(ok)} for c, ok in result.verdicts.items()],
        "pending": list(result.pending), "error": result.error,
        "figures": figure_paths, "seconds": round(result.seconds, 3), "data": result.data,
    })


def summary(records):
    verdicts = [v for r in records for v in r["verdicts"]]
    return {
        "claims measured": len(verdicts),
        "claims that agree": sum(v["agrees"] for v in verdicts),
        "claims that disagree": sum(not v["agrees"] for v in verdicts),
        "pending parts": sum(len(r["pending"]) for r in records),
        "failed sections": [r["key"] for r in records if r["status"] == "failed"],
    }


# -- HTML ------------------------------------------------------------------------------------
CSS = """
:root { --ink:#1d232a; --muted:#5d6770; --line:#e3e7eb; --bg:#fbfcfd; --ok:#1e7d32; --bad:#c62828;
        --wait:#a66300; --accent:#1f5fa8; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
       color:var(--ink); background:var(--bg); }
main { max-width: 1220px; margin: 0 auto; padding: 28px 28px 60px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 18px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h1 .formula { font-family: Georgia, "Times New Roman", serif; font-weight: normal; color: var(--accent); }
h2 { font-size: 22px; margin: 42px 0 6px; padding-top: 10px; border-top: 1px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 6px; color: var(--muted); text-transform: uppercase;
     letter-spacing: .04em; }
.meta { color: var(--muted); font-size: 13px; }
.claim { font-size: 17px; border-left: 4px solid var(--accent); background: #eef4fb; margin: 10px 0 14px;
         padding: 10px 14px; }
.pending { border-left: 4px solid var(--wait); background: #fff6e8; padding: 8px 14px; margin: 10px 0; }
.failed { border-left: 4px solid var(--bad); background: #fdecec; padding: 8px 14px; margin: 10px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; background: white; }
table.numbers { max-width: 860px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: #f1f4f7; font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; text-align: right; white-space: nowrap; }
tr.group td { background: #f7f9fb; font-weight: 600; }
td.indent1 { padding-left: 26px; } td.indent2 { padding-left: 44px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 12.5px; font-weight: 600;
         white-space: nowrap; color: white; }
.agree { background: var(--ok); } .disagree { background: var(--bad); } .wait { background: var(--wait); }
.complete { background: var(--ok); }
.failed-b { background: var(--bad); }
figure { margin: 14px 0 18px; background: white; border: 1px solid var(--line); padding: 8px; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
nav ol { columns: 2; margin: 6px 0 0; }
ul.verdicts { list-style: none; padding-left: 0; } ul.verdicts li { margin: 4px 0; }
.how { color: var(--muted); font-size: 14px; }
code { background: #eef1f4; padding: 0 4px; border-radius: 3px; }
footer { margin-top: 48px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--line);
         padding-top: 10px; }
@media print { figure { break-inside: avoid; } }
"""


def _e(text):
    return html.escape(str(text), quote=True)


def format_value(value):
    """How a number (or list, or string) is shown in the report."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ") if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if value == 0:
            return "0"
        if value.is_integer() and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def _number_rows(numbers, depth=0):
    rows = []
    for key, value in numbers.items():
        indent = f' class="indent{min(depth, 2)}"' if depth else ""
        if isinstance(value, dict):
            rows.append(f'<tr class="group"><td{indent} colspan="2">{_e(key)}</td></tr>')
            rows.extend(_number_rows(value, depth + 1))
        else:
            items = value if isinstance(value, list) else [value]
            num = bool(items) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in items)
            cell = '<td class="num">' if num else "<td>"
            rows.append(f"<tr><td{indent}>{_e(key)}</td>{cell}{_e(format_value(value))}</td></tr>")
    return rows


def _badge(agrees):
    return ('<span class="badge agree">✓ agrees</span>' if agrees
            else '<span class="badge disagree">✗ disagrees</span>')


STATUS_BADGE = {"complete": ("complete", "complete"), "pending": ("pending", "wait"),
                "failed": ("failed", "failed-b")}


def render_html(doc, images):
    """The report's HTML from the ``results.json`` document and ``{figure path: png bytes}``."""
    meta = doc["meta"]
    sections = doc["sections"]
    summ = doc["summary"]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(doc['title'])}</title><style>{CSS}</style></head><body><main>"]
    out.append(f'<header><h1>{_e(doc["title"])} <span class="formula">L = L<sub>data</sub> + '
               "λ·L<sub>reg</sub></span></h1>")
    bits = [f"{k}: {format_value(v)}" for k, v in meta.items()]
    out.append(f'<div class="meta">{_e(" · ".join(bits))}</div></header>')
    if doc.get("intro"):
        out.append(f'<p class="how">{_e(doc["intro"])}</p>')

    # summary of claims (a report without claims, e.g. ``penalized fit``'s, has none)
    if summ["claims measured"] or summ["pending parts"] or summ["failed sections"]:
        out.extend(_summary(sections, summ))

    if len(sections) > 1:
        out.append("<nav><ol>" + "".join(f'<li><a href="#{_e(s["key"])}">{_e(s["title"])}</a></li>'
                                         for s in sections) + "</ol></nav>")

    for k, sec in enumerate(sections, 1):
        out.extend(_section(k, sec, images))
    out.append("<footer>" + _e(doc.get("footer", "")) + "</footer></main></body></html>")
    return "\n".join(out)


def _summary(sections, summ):
    out = ["<h2 id='summary'>Summary: every claim, measured</h2>"]
    out.append(f"<p><b>{summ['claims that agree']}</b> of <b>{summ['claims measured']}</b> claims "
               f"agree with the measurements; {summ['claims that disagree']} disagree; "
               f"{summ['pending parts']} part(s) pending.</p>")
    out.append("<table><tr><th>section</th><th>claim</th><th>verdict</th></tr>")
    for k, sec in enumerate(sections, 1):
        anchor = f"#{_e(sec['key'])}"
        title = f'<a href="{anchor}">{k}. {_e(sec["title"])}</a>'
        rows = [(v["claim"], _badge(v["agrees"])) for v in sec["verdicts"]]
        rows += [(p, '<span class="badge wait">pending</span>') for p in sec["pending"]]
        if sec["error"]:
            rows.append((sec["error"], '<span class="badge disagree">failed</span>'))
        for i, (claim, badge) in enumerate(rows):
            first = f'<td rowspan="{len(rows)}">{title}</td>' if i == 0 else ""
            out.append(f"<tr>{first}<td>{_e(claim)}</td><td>{badge}</td></tr>")
    out.append("</table>")
    return out


def _section(k, sec, images):
    out = []
    label, cls = STATUS_BADGE[sec["status"]]
    out.append(f'<section id="{_e(sec["key"])}"><h2>{k}. {_e(sec["title"])} '
               f'<span class="badge {cls}">{_e(label)}</span></h2>')
    if sec["claim"]:
        out.append(f'<div class="claim"><b>Claim.</b> {_e(sec["claim"])}</div>')
    for p in sec["pending"]:
        out.append(f'<div class="pending"><b>Pending.</b> {_e(p)} No number is shown for it.</div>')
    if sec["error"]:
        out.append(f'<div class="failed"><b>This section failed:</b> {_e(sec["error"])}</div>')
    if sec["verdicts"]:
        out.append("<ul class='verdicts'>" + "".join(
            f"<li>{_badge(v['agrees'])} {_e(v['claim'])}</li>" for v in sec["verdicts"]) + "</ul>")
    for name, rel in sec["figures"].items():
        data = base64.b64encode(images[rel]).decode("ascii")
        out.append(f'<figure><img alt="{_e(name)}" src="data:image/png;base64,{data}">'
                   f"<figcaption>Figure: {_e(name)} ({_e(rel)})</figcaption></figure>")
    if sec["text"]:
        out.append(f"<h3>Experiment</h3><p>{_e(sec['text'])}</p>")
    if sec["numbers"]:
        out.append('<h3>Measured</h3><table class="numbers">' + "".join(_number_rows(sec["numbers"]))
                   + "</table>")
    if sec["seconds"]:
        out.append(f'<p class="meta">{sec["seconds"]:.1f} s</p>')
    out.append("</section>")
    return out


def write_report(results, out_dir, *, title="penalized — the regularization lab", meta=None,
                 intro=None, footer=None, extra=None, dpi=100):
    """Write ``report.html``, ``figures/*.png`` and ``results.json`` to ``out_dir``.

    Parameters
    ----------
    results : list of :class:`penalized.lab.SectionResult`
    meta : dict, shown under the title and stored in ``results.json``.
    extra : callable(tmp_dir), optional: writes more files into the directory before it
        is published (``penalized fit`` saves its model this way).

    Returns the ``results.json`` document (a dict).
    """
    from . import __version__
    from .plots import png_bytes

    meta = {"penalized": __version__, "created": _dt.datetime.now(_dt.timezone.utc)
            .strftime("%Y-%m-%d %H:%M UTC"), **(meta or {})}
    out_dir = Path(out_dir)
    with publish_dir(out_dir) as tmp:
        (tmp / "figures").mkdir()
        images, records = {}, []
        for k, result in enumerate(results, 1):
            paths = {}
            for name, fig in result.figures.items():
                rel = f"figures/{k}-{name}.png"
                images[rel] = png_bytes(fig, dpi=dpi)
                (tmp / rel).write_bytes(images[rel])
                paths[name] = rel
            records.append(section_record(result, paths))
        doc = {"generator": "penalized", "title": title, "meta": to_jsonable(meta), "intro": intro,
               "footer": footer or "", "summary": summary(records), "sections": records}
        (tmp / "results.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False),
                                          encoding="utf-8")
        (tmp / "report.html").write_text(render_html(doc, images), encoding="utf-8")
        if extra is not None:
            extra(tmp)
    return doc
