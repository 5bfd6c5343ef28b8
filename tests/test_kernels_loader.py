"""The three ways of running the kernels (AOT module, numba JIT, Python) agree."""

import inspect
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized.solvers import LinearProblem, _kernels, _loader, solve


def tiny(classification=False, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((25, 12)) + 0.5
    y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(25)
    if classification:
        y = np.where(y > np.median(y), 1.0, -1.0)
    return X, y


@pytest.mark.parametrize("datafit", [pz.SquaredError(), pz.Logistic()], ids=repr)
@pytest.mark.parametrize("penalty", [pz.L1(0.05), pz.L1L2(l1=0.03, l2=0.02)], ids=repr)
@pytest.mark.parametrize("sparse", [False, True])
def test_interpreted_kernels_match_compiled(datafit, penalty, sparse):
    X, y = tiny(isinstance(datafit, pz.Logistic))
    design = sp.csc_matrix(np.where(np.abs(X) > 0.7, X, 0.0)) if sparse else X
    results = {}
    for mode in ("python", "jit"):
        problem = LinearProblem.build(design, y, datafit, kernels=mode)
        assert problem.kernels.mode == mode
        results[mode] = solve(problem, penalty, tol=1e-12, max_iter=10_000)
    python, jit = results["python"], results["jit"]
    assert python.converged and jit.converged
    np.testing.assert_allclose(python.coef, jit.coef, rtol=1e-9, atol=1e-12)
    assert python.intercept == pytest.approx(jit.intercept, rel=1e-9, abs=1e-12)


def test_entry_point_table_matches_the_kernels():
    for name, (_, codes) in _loader.ENTRY_POINTS.items():
        function = _loader._MARKED[name]
        assert getattr(_kernels, name) in (function, getattr(_loader._JIT, name, None)), name
        n_args = len(inspect.signature(function).parameters)
        assert len(codes.split()) == n_args, name
    # every kernel the Python side calls is an entry point (they run ahead of time)
    called = set()
    for module in ("coordinate_descent", "problem", "certificate", "group_lasso", "group_newton"):
        source = inspect.getsource(__import__(f"penalized.solvers.{module}", fromlist=["x"]))
        called |= set(re.findall(r"\bk\.([a-z_]\w*)\(", source))  # calls, not attributes such as k.mode
    assert called <= set(_loader.ENTRY_POINTS), called - set(_loader.ENTRY_POINTS)


def test_aot_wrapper_checks_every_argument_before_calling():
    calls = []

    def fake_compiled(*args):
        calls.append(args)
        return 1.5

    wrapped = _loader._aot_function("best_squared_intercept", fake_compiled)
    y, a, zx = np.ones(3), np.full(3, 1 / 3), np.zeros(3)
    assert wrapped(y, a, zx) == 1.5 and len(calls) == 1
    # float32, a strided view, a list: the AOT module would crash or misread them; the JIT runs
    assert wrapped(y.astype(np.float32), a, zx) == pytest.approx(1.0)
    assert wrapped(np.ones(6)[::2], a, zx) == pytest.approx(1.0)
    assert len(calls) == 1


def test_default_choice_never_interprets_big_problems(monkeypatch):
    monkeypatch.delenv("PENALIZED_KERNELS", raising=False)
    monkeypatch.setattr(_loader, "aot", lambda *a, **k: None)
    monkeypatch.setattr(_loader, "start_background_build", lambda: False)
    monkeypatch.setattr(_loader, "_jit_cache_warm", lambda *a: False)
    monkeypatch.setattr(_loader, "_JIT", None)
    assert _loader.kernels_for(10).mode == "python"  # cold, tiny: Python while it compiles
    assert _loader.kernels_for(10**6).mode == "jit"
    monkeypatch.setenv("PENALIZED_KERNELS", "python")
    assert _loader.kernels_for(10**6).mode == "python"


@pytest.mark.slow
def test_ahead_of_time_module_builds_loads_without_numba_and_agrees(tmp_path):
    env = {**os.environ, "PENALIZED_CACHE_DIR": str(tmp_path), "PENALIZED_BACKGROUND_BUILD": "0",
           "PENALIZED_AOT_DIR": str(tmp_path / "installed")}
    build = subprocess.run([sys.executable, "-m", "penalized.solvers._build"], env=env, capture_output=True,
                           text=True, timeout=900)
    if build.returncode != 0:
        pytest.skip(f"no ahead-of-time build on this machine: {build.stderr[-500:]}")
    script = (
        "import sys, numpy as np, scipy.sparse as sp, penalized as pz\n"
        "from penalized.solvers import LinearProblem, solve\n"
        "rng = np.random.default_rng(0); X = rng.standard_normal((30, 50)); y = X[:, 0] - X[:, 1]\n"
        "out = []\n"
        "for design in (X, sp.csc_matrix(X)):\n"
        "    pb = LinearProblem.build(design, y, pz.SquaredError())\n"
        "    assert pb.kernels.mode == 'aot', pb.kernels.mode\n"
        "    out.append(solve(pb, pz.L1(0.05), tol=1e-12).objective)\n"
        "    pb = LinearProblem.build(design, np.sign(y), pz.Logistic())\n"
        "    out.append(solve(pb, pz.L1(0.02), tol=1e-12).objective)\n"
        "print('numba' in sys.modules, *out)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    numba_loaded, *objectives = run.stdout.split()
    assert numba_loaded == "False"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 50))
    y = X[:, 0] - X[:, 1]
    expected = []
    for design in (X, sp.csc_matrix(X)):
        pb = LinearProblem.build(design, y, pz.SquaredError(), kernels="jit")
        expected.append(solve(pb, pz.L1(0.05), tol=1e-12).objective)
        pb = LinearProblem.build(design, np.sign(y), pz.Logistic(), kernels="jit")
        expected.append(solve(pb, pz.L1(0.02), tol=1e-12).objective)
    np.testing.assert_allclose([float(o) for o in objectives], expected, rtol=1e-10)


def test_the_kernel_package_runs_as_one_joined_source():
    """Every module of the kernel package is joined, in dependency order, into one source whose
    file name is its hash (numba's cache cannot go stale across files); the interpreted kernels
    run the package's files themselves, line numbers kept."""
    from pathlib import Path

    package = Path(_kernels.__file__).parent
    modules = {p.stem for p in package.glob("*.py")} - {"__init__"}
    sources = _loader.kernel_sources()
    assert [p.stem for p, _ in sources] == list(_kernels._PARTS)
    assert set(_kernels._PARTS) == modules  # no module left out of the compiled source
    for path, text in sources:
        assert text.count("\n") == path.read_text().count("\n")  # imports blanked, lines kept
        assert not re.search(r"^from \.", text, re.M)
    k = _loader.interpreted()
    assert Path(k.solve_subproblem.__code__.co_filename).parent == package
    assert Path(k.prox_enet.__code__.co_filename).name == "penalty_enet.py"
    joined = _loader.joined_source_path()
    assert _loader.source_hash() in joined.name
    defined = {name for name in _kernels.__all__ if callable(getattr(_kernels, name))}
    namespace = {}
    exec(compile(joined.read_text(), str(joined), "exec"), namespace)
    assert defined <= set(namespace)
    # a change in any module is a new joined source (and a new AOT module)
    text = "x = 1\nfrom .base import njit\nfrom .matrix import (\n    col_dot,\n)\ny = 2\n"
    assert _loader._blank_package_imports(text) == "x = 1\n" + "\n" * 4 + "y = 2\n"


def test_old_joined_sources_and_their_numba_caches_are_pruned(tmp_path):
    old, new, recent = (tmp_path / f"penalized_kernels_src_{h}.py" for h in ("a" * 16, "b" * 16, "c" * 16))
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    files = {}
    for path in (old, new, recent):
        path.write_text("x = 1\n")
        files[path] = [cache / f"{path.stem}.solve_subproblem-12.py311.nbi",
                       cache / f"{path.stem}.solve_subproblem-12.py311.1.nbc"]
        for f in files[path]:
            f.write_text("")
    os.utime(old, (0, 0))
    os.utime(new, (0, 0))  # the one in use is kept whatever its age
    _loader._prune_joined(tmp_path, keep=new.name)
    assert not old.exists() and not any(f.exists() for f in files[old])
    assert new.exists() and all(f.exists() for f in files[new])
    assert recent.exists() and all(f.exists() for f in files[recent])  # another checkout's, in use


def test_joined_source_written_once_where_it_can_be(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("")
    unwritable, free = tmp_path / "a_file" / "pycache", tmp_path / "free"  # under a file: no folder there
    monkeypatch.setattr(_loader, "_joined_dirs", lambda: [unwritable, free])
    assert _loader.joined_source_path(write=False) is None
    path = _loader.joined_source_path()
    assert path.parent == free and path.name == f"penalized_kernels_src_{_loader.source_hash()}.py"
    text = path.read_text()
    assert all(source in text for _, source in _loader.kernel_sources())
    stamp = path.stat().st_mtime_ns
    assert _loader.joined_source_path() == path and path.stat().st_mtime_ns == stamp  # not rewritten
    assert not list(free.glob("*.tmp"))
