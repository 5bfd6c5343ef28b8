"""The modules of penalized.nn import each other in one direction only (no circle, lazy imports included)."""

import ast
import pathlib

import penalized

NN = pathlib.Path(penalized.__file__).parent / "nn"


def _edges():
    edges = {}
    for path in NN.glob("*.py"):
        if path.stem == "__init__":
            continue
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):  # module level and inside functions
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                deps.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.level == 1:
                deps.update(a.name for a in node.names)
        edges[path.stem] = deps - {path.stem}
    return edges


def test_no_import_circle_in_nn():
    edges = _edges()
    assert "penalty_state" in edges["coupled"]  # coupled reads the state helpers, not the reverse
    assert "coupled" not in edges["penalty_state"]
    state = {}

    def visit(mod, stack):
        state[mod] = "open"
        for dep in edges.get(mod, ()):
            if state.get(dep) == "open":
                raise AssertionError(f"import circle: {' -> '.join(stack + [mod, dep])}")
            if dep not in state:
                visit(dep, stack + [mod])
        state[mod] = "done"

    for mod in edges:
        if mod not in state:
            visit(mod, [])
