"""Write one section of ``docs/benchmarks.md`` (between its BEGIN/END markers)."""

from __future__ import annotations

import platform
import re
from importlib import metadata
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine_line():
    """One line naming the machine and the versions, for every table's caption."""
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    versions = []
    for pkg in ("penalized", "numpy", "scipy", "scikit-learn", "numba", "skglm", "celer", "glum", "torch"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pass
    return (f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            + ", ".join(versions) + ".")


def write_section(name, markdown, doc=DOC):
    """Replace the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->``."""
    text = doc.read_text()
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(doc)
