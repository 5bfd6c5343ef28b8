"""The house: no import circle between penalized's modules (lazy, in-function imports included).

A circle means two modules that cannot be understood, tested or changed one without the other;
leaf modules (``solvers/results.py``, ``path_result.py``, ``cv_rule.py``, ``penalties/names.py``)
hold what both sides need instead.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "penalized"


def _modules():
    out = {}
    for f in SRC.rglob("*.py"):
        parts = list(f.relative_to(SRC.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


def _targets(module, is_pkg, node, modules):
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level else []
    target = ".".join(base + ([node.module] if node.module else []))
    subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
    # "from package import submodule" depends on the submodule, not on the package's re-exports
    return subs if len(subs) == len(node.names) else [target, *subs]


def import_graph():
    modules = _modules()
    edges = {}
    for module, (path, is_pkg) in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for t in _targets(module, is_pkg, node, modules):
                    while t and t not in modules:
                        t = t.rpartition(".")[0]
                    if t and t not in (module, "penalized"):
                        edges.setdefault(module, set()).add(t)
    return modules, edges


def circles(modules, edges):
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index, low, on, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(root):
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    return found


def test_the_cycle_finder_finds_a_circle():
    modules = {"a": None, "b": None, "c": None}
    assert circles(modules, {"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert circles(modules, {"a": {"b"}, "b": {"c"}}) == []


def test_no_import_circle():
    modules, edges = import_graph()
    assert "penalized.solvers.coordinate_descent" in modules and edges
    assert circles(modules, edges) == []
