"""The one figure layer (``penalized.plots``): plain Figures, no pyplot, imports that go down."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np

import penalized as pz
from penalized.plots import figure, png_bytes

SRC = Path(pz.__file__).parent

SCRIPT = """
import sys
import numpy as np
import pandas as pd
import penalized as pz
from penalized import tables
from penalized.lab import run_section
from penalized.plots import png_bytes

rng = np.random.default_rng(0)
X = pd.DataFrame(rng.standard_normal((40, 5)), columns=list("abcde"))
y = X["a"] - 2 * X["b"] + 0.1 * rng.standard_normal(40)
axes = [pz.regularization_path(X, y, n_lambdas=8).plot(),
        pz.LassoCV(n_lambdas=8, cv=3).fit(X, y).plot(),
        pz.stability_selection(X, y, n_lambdas=8, n_subsamples=6, random_state=0).plot()]
table = tables.load_table(X.assign(y=y), "y")
figures = [ax.figure for ax in axes] + [tables.path_table(table, n_lambdas=8).figure]
figures += list(run_section("geometry", quick=True).figures.values())
assert all(png_bytes(f, dpi=30).startswith(b"\\x89PNG") for f in figures)
print(len(figures), "matplotlib.pyplot" in sys.modules)
"""


def test_no_figure_goes_through_pyplot():
    """The .plot() methods, the tables and the lab draw plain Figures: pyplot is never imported."""
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    n, pyplot = out.stdout.split()
    assert int(n) >= 5 and pyplot == "False"


def test_plot_draws_on_the_given_axes():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 4))
    y = X[:, 0] + 0.1 * rng.standard_normal(30)
    fig, (left, right) = figure(ncols=2)
    assert pz.regularization_path(X, y, n_lambdas=6).plot(ax=left) is left
    assert pz.LassoCV(n_lambdas=6, cv=3).fit(X, y).plot(ax=right) is right
    assert left.figure is fig and right.get_legend() is not None
    assert {"x0"} <= {t.get_text() for t in left.texts}
    assert png_bytes(fig, dpi=30).startswith(b"\x89PNG")


def _imports(path):
    """The penalized modules that ``path`` imports (absolute dotted names)."""
    rel = path.relative_to(SRC.parent).with_suffix("")
    package = list(rel.parts[:-1])  # a module's package; for __init__.py, the package itself
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [module] + [f"{module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n for n in names if n.startswith("penalized"))
    return found


def test_imports_go_down_to_the_figure_layer():
    """Only the command line reaches up into the lab; the figure layer imports no other part of
    penalized (every other module may use it)."""
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        imported = _imports(path)
        if not (rel.startswith("lab/") or rel == "cli.py"):
            assert not any(m == "penalized.lab" or m.startswith("penalized.lab.") for m in imported), rel
        if rel == "plots.py":
            assert imported == set(), imported
