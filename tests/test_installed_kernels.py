"""The ahead-of-time module built at install time (setup.py → ``penalized/solvers/_aot``): found
before the user cache's, never loaded when corrupt or built for another environment, and a
failed install-time build leaves a working install whose ``describe()`` says what happened."""

import importlib.util
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from penalized.solvers import _build, _cache, _loader

GOOD = b"\x7fELF" + bytes(range(256)) * 64
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """An empty user cache and an empty install-time folder; a loader that has loaded nothing."""
    cache, installed = tmp_path / "cache", tmp_path / "installed"
    monkeypatch.setenv("PENALIZED_CACHE_DIR", str(cache))
    monkeypatch.setenv("PENALIZED_AOT_DIR", str(installed))
    monkeypatch.delenv("PENALIZED_BACKGROUND_BUILD", raising=False)
    monkeypatch.delenv("PENALIZED_KERNELS", raising=False)
    monkeypatch.setattr(_loader, "_AOT", None)
    monkeypatch.setattr(_loader, "_AOT_CHECKED", 0.0)
    monkeypatch.setattr(_loader, "_SPAWNED", False)
    spawned = []
    fake = types.SimpleNamespace(Popen=lambda *a, **k: spawned.append(a), DEVNULL=subprocess.DEVNULL)
    monkeypatch.setattr(_loader, "subprocess", fake)
    return cache, installed, spawned


def place(path, content, checksum_of):
    """``content`` at ``path``, with the checksum of ``checksum_of`` recorded (None: no record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if checksum_of is not None:
        built = path.with_name("built.tmp")
        built.write_bytes(checksum_of)
        _cache.record_checksum(built, path)
        built.unlink()
    path.write_bytes(content)
    return path


def recording_loader(monkeypatch):
    loaded = []

    class Module:
        def __getattr__(self, name):
            return lambda *args: 0.0

    monkeypatch.setattr(_loader, "_load_module", lambda p: loaded.append(p) or Module())
    return loaded


def never_load(path):
    raise AssertionError(f"{path} was loaded")


def test_the_installed_module_is_found_before_the_cache(dirs, monkeypatch):
    cache, installed, spawned = dirs
    assert _loader.packaged_aot_path().parent == installed
    assert _loader.packaged_aot_path().name == _loader.aot_path().name  # the same key-derived name
    packaged = place(_loader.packaged_aot_path(), GOOD, GOOD)
    place(_loader.aot_path(), GOOD, GOOD)
    loaded = recording_loader(monkeypatch)
    kernels = _loader.aot(recheck_after=0)
    assert kernels.mode == "aot" and loaded == [packaged] and kernels.path == packaged
    assert _loader.describe().startswith("ahead-of-time module built at install")
    assert not _loader.start_background_build() and spawned == []  # nothing to build
    assert _build.main([]) == 0  # warmup: nothing to do
    assert _cache.failure(_loader.aot_path()) is None


@pytest.mark.parametrize("corruption", ["truncated", "garbage", "empty", "no checksum"])
def test_a_corrupt_installed_module_is_never_loaded(dirs, monkeypatch, corruption):
    cache, installed, spawned = dirs
    content = {"truncated": GOOD[:1000], "garbage": bytes(len(GOOD)), "empty": b"",
               "no checksum": GOOD}[corruption]
    packaged = place(_loader.packaged_aot_path(), content, None if corruption == "no checksum" else GOOD)
    (installed / _loader.INSTALL_RECORD).write_text(json.dumps(
        {"key": _loader.build_key(), "status": "built", "versions": _loader.versions(),
         "source": _loader.source_hash()}))
    monkeypatch.setattr(_loader, "_load_module", never_load)
    assert _loader.aot(recheck_after=0) is None
    assert packaged.exists()  # pip's file: left for a reinstall, never dlopened
    note = _loader.describe()
    assert "the module built at install failed its check" in note and "penalized warmup" in note
    _loader.start_background_build()
    assert len(spawned) == 1  # the user cache's route takes over
    # ... and a valid module in the user cache is then used
    cached = place(_loader.aot_path(), GOOD, GOOD)
    loaded = recording_loader(monkeypatch)
    assert _loader.aot(recheck_after=0).mode == "aot" and loaded == [cached]


def key_with(monkeypatch, **changed):
    """The build key as it would be with other numba/NumPy versions."""
    real = _loader.versions()
    monkeypatch.setattr(_loader, "versions", lambda: {**real, **changed})
    monkeypatch.setattr(_loader, "_KEY", None)
    key = _loader.build_key()
    monkeypatch.setattr(_loader, "versions", lambda: real)
    monkeypatch.setattr(_loader, "_KEY", None)
    return key


@pytest.mark.parametrize("changed", [{"numpy": "1.26.4"}, {"numba": "0.59.0"}], ids=str)
def test_a_module_built_against_other_versions_is_not_loaded(dirs, monkeypatch, changed):
    """An isolated build environment may hold other numba/NumPy versions than the installed
    ones (the module is compiled against NumPy's C API): its module has another name and is
    never looked at, and describe() says why the installed module is not used."""
    cache, installed, spawned = dirs
    other = key_with(monkeypatch, **changed)
    assert other != _loader.build_key()
    name = f"penalized_kernels_{other}.{_loader.aot_path().name.split('.', 1)[1]}"
    place(installed / name, GOOD, GOOD)  # valid for its own key
    built_with = {**_loader.versions(), **changed}
    (installed / _loader.INSTALL_RECORD).write_text(json.dumps(
        {"key": other, "status": "built", "versions": built_with, "source": _loader.source_hash()}))
    monkeypatch.setattr(_loader, "_load_module", never_load)
    assert _loader.aot(recheck_after=0) is None
    note = _loader.describe()
    assert "the module built at install does not fit" in note
    assert f"numba {built_with['numba']} and NumPy {built_with['numpy']}" in note
    assert note.endswith("to build it now: penalized warmup")
    _loader.start_background_build()
    assert len(spawned) == 1


def test_build_into_records_a_failure_and_never_raises(dirs, monkeypatch, capsys):
    cache, installed, spawned = dirs

    def failing_build(verbose=False, target=None):
        raise RuntimeError("no C compiler found")

    monkeypatch.setattr(_build, "build_aot", failing_build)
    assert _build.main(["--into", str(installed)]) == 1
    record = _loader.install_record()
    assert record["status"] == "failed" and "no C compiler found" in record["message"]
    assert "install-time kernel build failed" in capsys.readouterr().err
    note = _loader.describe()
    assert "the install-time build failed (RuntimeError: no C compiler found)" in note
    assert note.endswith("to build it now: penalized warmup")
    _loader.start_background_build()
    assert len(spawned) == 1  # the runtime route, as without an install-time build


def test_build_into_replaces_an_earlier_install(dirs, monkeypatch):
    cache, installed, spawned = dirs
    stale = place(installed / "penalized_kernels_0123456789abcdef.so", b"old", b"old")
    built = []

    def fake_build(verbose=False, target=None):
        place(Path(target), GOOD, GOOD)
        built.append(Path(target))
        return Path(target)

    monkeypatch.setattr(_build, "build_aot", fake_build)
    assert _build.main(["--into", str(installed)]) == 0
    assert built == [_loader.packaged_aot_path()]
    assert not stale.exists() and not _cache.sidecar(stale, ".sha256").exists()
    record = _loader.install_record()
    assert record["status"] == "built" and record["key"] == _loader.build_key()
    assert record["versions"] == _loader.versions()
    assert _loader.install_note() == ""
    loaded = recording_loader(monkeypatch)
    assert _loader.aot(recheck_after=0).mode == "aot" and loaded == [built[0]]


def load_setup_py():
    spec = importlib.util.spec_from_file_location("penalized_setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not "__main__": setup() is not called
    return module


def test_setup_py_survives_a_build_that_cannot_run(tmp_path, monkeypatch, capsys):
    setup_py = load_setup_py()
    monkeypatch.setattr(setup_py, "BOOT", "import sys; sys.exit(3)")  # e.g. numba missing
    setup_py.build_kernels(tmp_path / "_aot")  # no exception: the install goes on
    assert "not compiled at install (exit status 3)" in capsys.readouterr().err
    monkeypatch.setattr(setup_py.sys, "executable", str(tmp_path / "no-such-python"))
    setup_py.build_kernels(tmp_path / "_aot")
    assert "not compiled at install" in capsys.readouterr().err
    monkeypatch.setenv("PENALIZED_BUILD_KERNELS", "0")
    setup_py.build_kernels(tmp_path / "_aot")
    assert "not compiled at install" in capsys.readouterr().out


FIT = (
    "import sys, numpy as np, scipy.sparse as sp\n"
    "import penalized as pz\n"
    "from penalized.solvers import LinearProblem, _loader, solve\n"
    "rng = np.random.default_rng(0); X = rng.standard_normal((150, 30)); y = X[:, 0] - X[:, 1]\n"
    "out = []\n"
    "for design in (X, sp.csc_matrix(X)):\n"
    "    pb = LinearProblem.build(design, y, pz.SquaredError())\n"
    "    out.append(solve(pb, pz.L1(0.05), tol=1e-12).objective)\n"
    "print(pb.kernels.mode, 'numba' in sys.modules, *out, _loader.describe(), sep='|')\n"
)


@pytest.mark.slow
def test_setup_py_builds_a_module_that_a_fresh_process_loads(tmp_path):
    """The real install-time build (setup.py's subprocess, without penalized's dependencies
    imported), then a fresh process with an empty user cache: the installed module runs,
    numba is not imported, and the objectives agree with numba's JIT."""
    installed = tmp_path / "installed"
    load_setup_py().build_kernels(installed)
    record = json.loads((installed / _loader.INSTALL_RECORD).read_text())
    if record["status"] != "built":
        pytest.skip(f"no ahead-of-time build on this machine: {record['message']}")
    env = {**os.environ, "PENALIZED_CACHE_DIR": str(tmp_path / "cache"), "PENALIZED_AOT_DIR": str(installed),
           "PENALIZED_BACKGROUND_BUILD": "0", "NUMBA_CACHE_DIR": str(tmp_path / "numba")}  # numba's cache: cold
    env.pop("PENALIZED_KERNELS", None)
    run = subprocess.run([sys.executable, "-c", FIT], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    mode, numba_loaded, *objectives, said = run.stdout.strip().splitlines()[-1].split("|")
    assert mode == "aot" and numba_loaded == "False"
    assert said.startswith("ahead-of-time module built at install")
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").glob("penalized_kernels_*"))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 30))
    y = X[:, 0] - X[:, 1]
    from scipy import sparse

    import penalized as pz
    from penalized.solvers import LinearProblem, solve

    for design, objective in zip((X, sparse.csc_matrix(X)), objectives, strict=True):
        expected = solve(LinearProblem.build(design, y, pz.SquaredError(), kernels="jit"), pz.L1(0.05),
                         tol=1e-12).objective
        assert float(objective) == pytest.approx(expected, rel=1e-10)
    # corrupted after the install: never loaded, the fit still right (n·p ≤ INTERPRET_MAX: Python)
    module = installed / _loader.aot_path().name
    module.write_bytes(module.read_bytes()[:4096])
    run = subprocess.run([sys.executable, "-c", FIT], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]  # not SIGBUS
    mode, _, *again, said = run.stdout.strip().splitlines()[-1].split("|")
    assert mode == "python" and "failed its check" in said
    np.testing.assert_allclose([float(v) for v in again], [float(v) for v in objectives], rtol=1e-10)
