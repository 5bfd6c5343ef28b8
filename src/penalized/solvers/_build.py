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


def build_aot(verbose=False):
    """Compile the AOT module; returns its path (raises on failure)."""
    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        from numba.pycc import CC

    _loader._ANNOUNCED = True  # this process is the build: it says so itself
    kernels = _loader.jit()  # the dispatchers: exported functions call them
    target = _loader.aot_path()
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
    args = parser.parse_args(argv)
    _loader._ANNOUNCED = True  # no CompileWarning: compiling is what was asked for
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
