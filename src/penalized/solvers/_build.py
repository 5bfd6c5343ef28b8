"""Compile the kernels ahead of time: ``python -m penalized.solvers._build`` (or ``penalized warmup``).

Builds the extension module described in :mod:`._loader` with ``numba.pycc`` (which
needs a C compiler) into a temporary directory beside its place in the cache, records its
checksum, then renames it into place (atomic: no process ever sees half a module), under
a lock so that concurrent builds do not collide (:mod:`._cache`: a lock whose process is
gone is taken over). If that is impossible, records why (``describe()`` and ``penalized
warmup`` report it) and warms numba's JIT cache instead, so that later processes at least
skip compilation.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from . import _cache, _loader


def build_aot(verbose=False, target=None):
    """Compile the AOT module into ``target`` (default: its place in the user cache, see
    :func:`._loader.aot_path`), with its checksum; returns its path (raises on failure)."""
    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        from numba.pycc import CC

    _loader._ANNOUNCED = True  # this process is the build: it says so itself
    kernels = _loader.jit()  # the dispatchers: exported functions call them
    target = Path(target) if target is not None else _loader.aot_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        cc = CC(_loader.module_name())
        cc.output_dir = tmp
        cc.target_cpu = "host"  # the key names the CPU, so the module never moves to another
        cc.verbose = verbose
        for name in _loader.ENTRY_POINTS:
            cc.export(name, _loader.aot_signature(name))(_trampoline(getattr(kernels, name)))
        cc.compile()
        built = [p for p in Path(tmp).iterdir() if p.name.startswith(_loader.module_name())]
        if not built:
            raise RuntimeError("numba.pycc produced no module")
        _cache.record_checksum(built[0], target)  # first: a module in place always has its record
        os.replace(built[0], target)
    return target


def build_into(folder):
    """Install time (``setup.py``): build the AOT module into ``folder``, the package's ``_aot``
    (:func:`._loader.package_aot_dir`), and record what happened in ``folder/build.json``:
    the build key, the versions it was built with, and ``"status": "built"`` or ``"failed"``
    with the error. Modules of other keys in ``folder`` are removed first. Never raises for a
    failed build (the install goes on; the kernels then take the user cache's route and
    :func:`._loader.describe` reports the failure); returns 0 if built, else 1."""
    import json
    import sys as _sys

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():  # an earlier install's module, checksum and record
        if old.is_file() and old.name.startswith(("penalized_kernels_", _loader.INSTALL_RECORD)):
            old.unlink()
    record = {"key": _loader.build_key(), "module": _loader.module_name(), "versions": _loader.versions(),
              "source": _loader.source_hash(), "python": _sys.implementation.cache_tag}
    start = time.perf_counter()
    try:
        path = build_aot(target=folder / _loader.aot_path().name)
        record.update(status="built", seconds=round(time.perf_counter() - start, 1))
        print(f"penalized: compiled its kernels into {path} in {record['seconds']:.0f} s")
    except Exception as exc:  # no C compiler, no numba.pycc, ...: the runtime routes still work
        record.update(status="failed", message=f"{type(exc).__name__}: {exc}")
        print(f"penalized: the install-time kernel build failed ({record['message']}); "
              f"the kernels will be compiled on first use or by `{_cache.RETRY_COMMAND}`", file=_sys.stderr)
    tmp = folder / f"{_loader.INSTALL_RECORD}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, folder / _loader.INSTALL_RECORD)
    return 0 if record["status"] == "built" else 1


def _trampoline(dispatcher):
    """``def f(*args): return kernel(*args)`` with the kernel's exact parameters.

    ``numba.pycc`` compiles what it exports with default flags; exporting this wrapper
    instead of the kernel itself makes the kernel a callee, compiled with its own options
    (``fastmath``: vectorised column loops).
    """
    import inspect

    params = ", ".join(inspect.signature(dispatcher.py_func).parameters)
    namespace = {"kernel": dispatcher}
    exec(f"def trampoline({params}):\n    return kernel({params})\n", namespace)
    return namespace["trampoline"]


def warm_jit(dtypes=("float64",)):
    """Compile (or load) the JIT kernels on tiny problems of each dtype, dense and sparse."""
    import numpy as np
    import scipy.sparse as sp

    import penalized as pz

    from .coordinate_descent import solve
    from .problem import LinearProblem

    rng = np.random.default_rng(0)
    for dtype in dtypes:
        X = rng.standard_normal((20, 6)).astype(dtype)
        y = X[:, 0] + 0.1 * rng.standard_normal(20)
        labels = np.where(y > 0, 1.0, -1.0)
        for design in (X, sp.csc_matrix(X)):
            for datafit, target in ((pz.SquaredError(), y), (pz.Logistic(), labels)):
                problem = LinearProblem.build(design, target, datafit, kernels="jit")
                solve(problem, pz.L1(0.01), tol=1e-8)
                solve(problem, pz.L1L2(l1=0.01, l2=0.01), tol=1e-8, gram=False)
            if not sp.issparse(design):
                problem = LinearProblem.build(design, y, pz.SquaredError(), kernels="jit")
                solve(problem, pz.L1(0.01), tol=1e-8, gram=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m penalized.solvers._build")
    parser.add_argument("--background", action="store_true", help="quiet; give up silently")
    parser.add_argument("--jit", action="store_true", help="also warm numba's cache (float32 too)")
    parser.add_argument("--into", default=None, help="install time: build into this folder (see build_into)")
    args = parser.parse_args(argv)
    _loader._ANNOUNCED = True  # no CompileWarning: compiling is what was asked for
    if args.into:
        return build_into(args.into)
    packaged = _loader.packaged_aot_path()
    if packaged.is_file() and _cache.verify(packaged) is None and not args.jit:
        print(f"the module built at install is in place ({packaged}); nothing to do")
        return 0
    lock = _loader.cache_dir() / (_loader.module_name() + ".lock")
    if not _cache.acquire(lock):
        print(f"another build holds {lock}; nothing to do", file=sys.stderr)
        return 0
    status = 0
    try:
        start = time.perf_counter()
        target = _loader.aot_path()
        problem = _cache.verify(target) if target.exists() else "missing"
        if problem is not None:  # missing, or corrupt: (re)build, whatever failed before
            try:
                path = build_aot(verbose=not args.background)
                _cache.clear_failure(target)
                print(f"compiled {path} in {time.perf_counter() - start:.0f} s")
            except Exception as exc:  # no compiler, no pycc: the JIT cache still helps
                print(f"ahead-of-time build failed ({type(exc).__name__}: {exc}); "
                      "warming numba's JIT cache instead", file=sys.stderr)
                _cache.record_failure(target, f"{type(exc).__name__}: {exc}")
                status = 1
                warm_jit()
        if args.jit:
            warm_jit(("float64", "float32"))
            print(f"numba JIT cache warm ({time.perf_counter() - start:.0f} s in all)")
    finally:
        _cache.release(lock)
    return status


if __name__ == "__main__":
    sys.exit(main())
