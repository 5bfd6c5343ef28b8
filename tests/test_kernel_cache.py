"""The compiled-module cache heals: corrupt modules are never loaded, stale locks and failed
builds do not stop builds for good, and describe()/warmup say what happened."""

import os
import subprocess
import sys
import time
import types
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized.solvers import LinearProblem, _build, _cache, _loader


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory, and a loader that has loaded nothing from it yet."""
    monkeypatch.setenv("PENALIZED_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PENALIZED_AOT_DIR", str(tmp_path / "installed"))  # none built at install
    monkeypatch.delenv("PENALIZED_BACKGROUND_BUILD", raising=False)
    monkeypatch.setattr(_loader, "_AOT", None)
    monkeypatch.setattr(_loader, "_AOT_CHECKED", 0.0)
    monkeypatch.setattr(_loader, "_SPAWNED", False)
    spawned = []
    fake = types.SimpleNamespace(Popen=lambda *a, **k: spawned.append(a), DEVNULL=subprocess.DEVNULL)
    monkeypatch.setattr(_loader, "subprocess", fake)  # the build that would start
    return tmp_path, spawned


def never_load(path):
    raise AssertionError(f"{path} was loaded although it failed its checksum")


def write_module(content, checksum_of=None):
    """The module file with ``content``; its checksum recorded for ``checksum_of`` (as built)."""
    path = _loader.aot_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if checksum_of is not None:
        built = path.with_name("built.tmp")
        built.write_bytes(checksum_of)
        _cache.record_checksum(built, path)
        built.unlink()
    path.write_bytes(content)
    return path


GOOD = b"\x7fELF" + bytes(range(256)) * 64


@pytest.mark.parametrize("corruption", ["truncated", "garbage", "empty", "no checksum"])
def test_a_corrupt_module_is_never_loaded_and_is_rebuilt(cache, monkeypatch, corruption):
    tmp, spawned = cache
    content = {"truncated": GOOD[:1000], "garbage": bytes(len(GOOD)), "empty": b"",
               "no checksum": GOOD}[corruption]
    path = write_module(content, None if corruption == "no checksum" else GOOD)
    monkeypatch.setattr(_loader, "_load_module", never_load)
    assert _loader.aot(recheck_after=0) is None
    assert not path.exists()  # removed, so that the next build replaces it
    assert "failed its check" not in _loader.describe()
    _loader.start_background_build()
    assert len(spawned) == 1  # the old code never rebuilt an existing file (an empty one: never again)


def test_a_module_matching_its_checksum_is_loaded(cache, monkeypatch):
    path = write_module(GOOD, GOOD)
    loaded = []

    class Module:
        def __getattr__(self, name):
            return lambda *args: 0.0

    monkeypatch.setattr(_loader, "_load_module", lambda p: loaded.append(p) or Module())
    assert _cache.verify(path) is None
    assert _loader.aot(recheck_after=0).mode == "aot"
    assert loaded == [path]
    assert _loader.describe().startswith("ahead-of-time module")


def test_a_corrupt_module_is_left_alone_while_a_build_holds_the_lock(cache, monkeypatch):
    path = write_module(GOOD[:10], GOOD)
    assert _cache.acquire(_loader._lock_path())  # this (live) process builds
    try:
        monkeypatch.setattr(_loader, "_load_module", never_load)
        assert _loader.aot(recheck_after=0) is None
        assert path.exists()  # the builder is about to replace it
        assert "failed its check" in _loader.describe()
    finally:
        _cache.release(_loader._lock_path())
    assert not _loader._lock_path().exists()


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.skipif(os.name != "posix", reason="process liveness is checked on POSIX")
def test_a_lock_whose_process_is_gone_is_taken_over_at_once(cache):
    tmp, spawned = cache
    lock = _loader._lock_path()
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(f"{_cache.socket.gethostname()} {dead_pid()} -")  # a killed build, seconds ago
    assert _cache.stale(lock)
    _loader.start_background_build()
    assert len(spawned) == 1  # the old code waited an hour
    assert _cache.acquire(lock)
    assert _cache.holder(lock)[1] == os.getpid()
    _cache.release(lock)


@pytest.mark.skipif(os.name != "posix", reason="process liveness is checked on POSIX")
def test_a_lock_held_by_a_live_process_blocks_other_builds(cache):
    tmp, spawned = cache
    lock = _loader._lock_path()
    lock.parent.mkdir(parents=True, exist_ok=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(f"{_cache.socket.gethostname()} {sleeper.pid} {_cache._start_time(sleeper.pid)}")
        old = time.time() - 2 * 3600
        os.utime(lock, (old, old))  # however old: its owner is alive
        assert not _cache.stale(lock)
        _loader.start_background_build()
        assert spawned == []
        assert not _cache.acquire(lock)
        assert _build.main(["--background"]) == 0  # "another build holds it": nothing done
        assert "being built" in _loader.describe()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert _cache.stale(lock)  # killed and reaped: gone


def test_a_reused_pid_or_another_hosts_lock(cache):
    lock = _loader._lock_path()
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(f"{_cache.socket.gethostname()} {os.getpid()} not-my-start-time")
    assert _cache.stale(lock) == (_cache._start_time(os.getpid()) != "-")
    lock.write_text(f"some-other-host {os.getpid()} -")
    assert not _cache.stale(lock)  # cannot be checked from here: expires by age
    old = time.time() - 2 * _cache.FOREIGN_LOCK_S
    os.utime(lock, (old, old))
    assert _cache.stale(lock)


def test_a_failed_build_is_reported_and_retried(cache, monkeypatch):
    tmp, spawned = cache
    path = _loader.aot_path()
    tmp.mkdir(exist_ok=True)
    _cache.record_failure(path, "CompilerError: no C compiler found")
    note = _loader.describe()
    assert "ahead-of-time build failed (CompilerError: no C compiler found" in note
    assert note.endswith("Retry with: penalized warmup")
    _loader.start_background_build()
    assert spawned == []  # not one failed attempt per process
    old = time.time() - 2 * _cache.FAILED_RETRY_S
    os.utime(_cache.sidecar(path, ".failed"), (old, old))
    monkeypatch.setattr(_loader, "_SPAWNED", False)  # a later process
    _loader.start_background_build()
    assert len(spawned) == 1  # but not never again

    # warmup always retries; success clears the marker
    built = []

    def fake_build(verbose=False):
        path.write_bytes(GOOD)
        built.append(verbose)
        return path

    monkeypatch.setattr(_build, "build_aot", fake_build)
    _cache.record_failure(path, "CompilerError: no C compiler found")
    assert _build.main([]) == 0
    assert built == [True] and _cache.failure(path) is None


def test_warmup_reports_a_failed_build_with_the_retry_command(cache, monkeypatch):
    from click.testing import CliRunner

    from penalized.cli import app

    def failing_build(verbose=False):
        raise RuntimeError("numba.pycc produced no module")

    monkeypatch.setattr(_build, "build_aot", failing_build)
    monkeypatch.setattr(_build, "warm_jit", lambda *a: None)
    result = CliRunner().invoke(app, ["warmup"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "build failed (RuntimeError: numba.pycc produced no module" in text
    assert "Retry with: penalized warmup" in text
    assert _cache.failure(_loader.aot_path()) is not None


def test_a_fit_with_a_corrupt_module_in_a_fresh_process_is_right(tmp_path):
    """A fresh process that finds garbage where the module should be fits with the JIT or
    Python kernels (the same answer), never crashes, and removes the file."""
    env = {**os.environ, "PENALIZED_CACHE_DIR": str(tmp_path), "PENALIZED_BACKGROUND_BUILD": "0",
           "PENALIZED_AOT_DIR": str(tmp_path / "installed")}
    script = ("import numpy as np, penalized as pz\nfrom penalized.solvers import _loader\n"
              "p = _loader.aot_path(); p.parent.mkdir(parents=True, exist_ok=True)\n"
              "p.write_bytes(b'\\x7fELF' + bytes(4000))\n"
              "open(str(p).split('.')[0] + '.sha256', 'w').write('0' * 64 + ' 4004')\n"
              "rng = np.random.default_rng(0); X = rng.standard_normal((40, 10)); y = X[:, 0] - X[:, 1]\n"
              "est = pz.Lasso(lam=0.05, tol=1e-10).fit(X, y)\n"
              "print(p.exists(), *est.coef_)\n")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    exists, *coef = run.stdout.split()
    assert exists == "False"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 10))
    y = X[:, 0] - X[:, 1]
    np.testing.assert_allclose([float(c) for c in coef], pz.Lasso(lam=0.05, tol=1e-10).fit(X, y).coef_,
                               rtol=1e-7, atol=1e-9)


# ----------------------------------------------------------------------- the first run talks
def test_the_first_compile_in_a_process_says_so_once(monkeypatch):
    monkeypatch.setattr(_loader, "_JIT", None)
    monkeypatch.setattr(_loader, "_ANNOUNCED", False)
    monkeypatch.setattr(_loader, "_jit_cache_warm", lambda *a: False)
    with pytest.warns(_loader.CompileWarning, match="compiling its solver kernels.*penalized warmup") as record:
        assert _loader.jit().mode == "jit"
    assert len(record) == 1
    monkeypatch.setattr(_loader, "_JIT", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _loader.jit()  # once per process


def test_nothing_is_said_when_the_kernels_are_on_disk(monkeypatch):
    monkeypatch.setattr(_loader, "_JIT", None)
    monkeypatch.setattr(_loader, "_ANNOUNCED", False)
    monkeypatch.setattr(_loader, "_jit_cache_warm", lambda *a: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _loader.jit()


@pytest.mark.parametrize("sparse", [False, True])
def test_float32_and_int64_indices_run_on_the_built_dtypes(sparse):
    """float32 values and int64 sparse indices reach the kernels as float64/int32 (exact), so the
    AOT module runs them instead of a 30-70 s compile; the caller's matrix is not changed."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 9))
    X[np.abs(X) < 0.6] = 0.0
    y = X[:, 0] - 2 * X[:, 3] + 0.1 * rng.standard_normal(60)
    X32 = X.astype(np.float32)
    if sparse:
        X32 = sp.csc_matrix(X32)
        X32.indices, X32.indptr = X32.indices.astype(np.int64), X32.indptr.astype(np.int64)
        before = (X32.data.copy(), X32.indices.copy(), X32.indptr.copy())
    problem = LinearProblem.build(X32, y, pz.SquaredError(), kernels="jit")
    kX = problem.kernel_X
    codes = _loader.ENTRY_POINTS["matvec"][1].split()[:4]
    assert all(_loader._fits(c, a) for c, a in zip(codes, kX[:4], strict=True))
    if sparse:
        assert X32.data.dtype == np.float32 and X32.indices.dtype == np.int64
        for a, b in zip(before, (X32.data, X32.indices, X32.indptr), strict=True):
            np.testing.assert_array_equal(a, b)
    ref = pz.Lasso(lam=0.02, tol=1e-12).fit(X32.astype(np.float64), y)
    est = pz.Lasso(lam=0.02, tol=1e-12).fit(X32, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-7)
    assert est.coef_.dtype == np.float32  # the user's dtype, as before


def test_a_large_float32_matrix_is_not_copied(monkeypatch):
    monkeypatch.setattr(_loader, "CAST_MAX_BYTES", 100)
    X = np.ones((10, 10), dtype=np.float32)
    assert _loader.aot_dtypes(X) is X
    S = sp.csc_matrix(X)
    assert _loader.aot_dtypes(S).dtype == np.float32


# ------------------------------------------------------------- with a real compiled module
FIT_SCRIPT = (
    "import numpy as np, scipy.sparse as sp, penalized as pz\n"
    "from penalized.solvers import LinearProblem, solve\n"
    "rng = np.random.default_rng(0); X = rng.standard_normal((300, 40)); y = X[:, 0] - X[:, 1]\n"
    "pb = LinearProblem.build(X, y, pz.SquaredError())\n"
    "print(pb.kernels.mode, solve(pb, pz.L1(0.05), tol=1e-12).objective)\n"
)


def fresh_fit(env):
    run = subprocess.run([sys.executable, "-c", FIT_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"  # not SIGBUS (-7)
    mode, objective = run.stdout.split()
    return mode, float(objective)


@pytest.mark.slow
def test_a_corrupted_real_module_is_survived_and_healed(tmp_path):
    """Truncated, overwritten with garbage, emptied: a fresh process fits right (the old code
    died of SIGBUS on a truncated module), removes the file, and its background build heals it."""
    env = {**os.environ, "PENALIZED_CACHE_DIR": str(tmp_path), "PENALIZED_BACKGROUND_BUILD": "0",
           "PENALIZED_AOT_DIR": str(tmp_path / "installed")}
    build = subprocess.run([sys.executable, "-m", "penalized.solvers._build"], env=env, capture_output=True,
                           text=True, timeout=900)
    if build.returncode != 0:
        pytest.skip(f"no ahead-of-time build on this machine: {build.stderr[-500:]}")
    path = next(tmp_path.glob("penalized_kernels_*.so")) if os.name == "posix" else None
    if path is None:
        pytest.skip("extension suffix")
    good = path.read_bytes()
    mode, expected = fresh_fit(env)
    assert mode == "aot"
    X = np.random.default_rng(0).standard_normal((300, 40))
    problem = LinearProblem.build(X, X[:, 0] - X[:, 1], pz.SquaredError(), kernels="jit")
    from penalized.solvers import solve

    assert expected == pytest.approx(solve(problem, pz.L1(0.05), tol=1e-12).objective, rel=1e-10)
    for corrupt in (good[: len(good) // 2], good[:4096] + bytes(len(good) - 4096), b""):
        path.write_bytes(corrupt)
        mode, objective = fresh_fit(env)
        assert mode == "jit" and objective == pytest.approx(expected, rel=1e-10)
        assert not path.exists()
        path.write_bytes(good)  # the right bytes, but its checksum record went with the bad ones: untrusted
        assert fresh_fit(env)[0] == "jit" and not path.exists()
    # healing: a process that finds no valid module starts the background build
    path.write_bytes(good[:1000])
    mode, _ = fresh_fit({**env, "PENALIZED_BACKGROUND_BUILD": "1"})
    assert mode == "jit"
    deadline = time.time() + 900
    while time.time() < deadline and not (path.exists() and _cache.verify(path) is None):
        time.sleep(2)
    assert _cache.verify(path) is None, (tmp_path / path.name.split(".")[0]).with_suffix(".log").read_text()
    assert fresh_fit(env)[0] == "aot"


@pytest.mark.slow
def test_concurrent_first_runs_on_an_empty_cache_build_once_and_fit_right(tmp_path):
    """Four processes start at once on an empty cache: each fits correctly, the builds they
    start race for one lock, and one valid module results."""
    env = {**os.environ, "PENALIZED_CACHE_DIR": str(tmp_path), "PENALIZED_BACKGROUND_BUILD": "1",
           "PENALIZED_AOT_DIR": str(tmp_path / "installed")}
    procs = [subprocess.Popen([sys.executable, "-c", FIT_SCRIPT], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [proc.communicate(timeout=900) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err[-1000:] for _, err in outputs]
    objectives = [float(out.split()[1]) for out, _ in outputs]
    assert max(objectives) - min(objectives) <= 1e-12 * abs(objectives[0])
    deadline = time.time() + 900
    modules = []
    while time.time() < deadline:
        modules = list(tmp_path.glob("penalized_kernels_*.so"))
        lock = list(tmp_path.glob("*.lock"))
        if modules and not lock:
            break
        time.sleep(2)
    log = "".join(p.read_text() for p in tmp_path.glob("*.log"))
    if not modules and "build failed" in log:
        pytest.skip(f"no ahead-of-time build on this machine: {log[-500:]}")
    assert len(modules) == 1 and _cache.verify(modules[0]) is None, log
    assert log.count("compiled ") == 1, log  # one build; the others found the lock held
    assert fresh_fit({**env, "PENALIZED_BACKGROUND_BUILD": "0"})[0] == "aot"
