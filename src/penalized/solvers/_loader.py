"""How the kernels of :mod:`._kernels` run: compiled ahead of time, numba's JIT, or Python.

The kernels are a package of modules by concern (:mod:`._kernels`). Every way below runs them
as one source: the modules joined in dependency order (``_kernels._PARTS``), their imports of
each other dropped (:func:`kernel_sources`). numba's on-disk cache is keyed on the source file
of each function and would not see that a callee in another file changed; the joined source
is one file named by its hash (:func:`joined_source_path`), so a change anywhere is a new file.

numba makes the kernels fast but, left alone, costs every new process ~0.5–1 s (importing
numba and building its typing tables before the first cached kernel can load) and the
very first run ~1 min of compilation. penalized avoids both:

1. **Ahead-of-time (AOT) module** — the kernels compiled once by ``numba.pycc`` into an
   ordinary extension module in the user cache directory (``$PENALIZED_CACHE_DIR``, else
   ``$XDG_CACHE_HOME/penalized`` or ``~/.cache/penalized``), named by a hash of the kernel
   source, the numba/NumPy/Python versions and the CPU, so that a stale module is never
   loaded. Importing it takes about a millisecond and does not import numba. It covers
   float64 data, dense or CSC with int32 indices (what NumPy and SciPy give by default).
   Built at install time (``pip install``, see ``setup.py``) into the package's ``_aot``
   folder (:func:`package_aot_dir`, looked at first), else by ``penalized warmup`` or,
   automatically, by a background process the first time penalized runs without one
   (``PENALIZED_BACKGROUND_BUILD=0`` disables it). The module built at install is named by
   the same key, so one built in pip's isolated build environment against other numba or
   NumPy versions than those installed is never loaded (:func:`describe` says so), and its
   checksum is checked before it is loaded, as the cache's.
2. **numba JIT** with its on-disk cache — for every other argument type and whenever no
   AOT module exists. (float32 data and int64 sparse indices are converted to float64 and
   int32 by :func:`aot_dtypes` first, so that they run on the AOT module, or on the same JIT
   specialisation, instead of compiling another: 30-70 s on first use.) A process that
   starts compiling says so once, with a :class:`CompileWarning` naming
   ``penalized warmup``. The joined source, and numba's cache beside it, live in the
   package's ``__pycache__`` or, if that is read-only, in ``cache_dir()/jit``
   (``NUMBA_CACHE_DIR`` moves numba's part).
3. **Interpreted** — the same source run as plain Python (the package's files themselves,
   one after another in one namespace: tracebacks point at their lines), used only before anything is
   compiled (a fresh install) and only for tiny problems (``n·p ≤`` :data:`INTERPRET_MAX`),
   so that tiny fits on a fresh machine (the tour's first ones) do not wait for a compiler.

``PENALIZED_KERNELS=aot|jit|python`` forces one way (``aot`` falls back to the JIT for
arguments it does not cover). Every choice runs the same source, so results agree to
rounding; the tests check the three against each other.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import platform
import subprocess
import sys
import sysconfig
import time
import types
from pathlib import Path

import numpy as _np

from . import _cache, _kernels

INTERPRET_MAX = 5_000  # n·p of the largest problem run as Python while nothing is compiled

# Entry points called from Python and their AOT signatures. Argument codes:
#   X: float64 2-D Fortran-ordered, P: float64 2-D C-ordered (penalty parameters),
#   f: float64 1-D, I: int32 1-D (sparse indices), n: int64 1-D (feature indices),
#   B: bool 1-D, b: bool, i: int, d: float.
_X = "X f I I b"
ENTRY_POINTS = {
    "col_weighted_moments": ("none", f"{_X} f f f"),
    "datafit_value": ("f8", "i f f f d"),
    "matvec": ("none", f"{_X} f f f"),
    "gradient": ("f8", f"i {_X} f f f d f n f f"),
    "duality_gap": ("UniTuple(f8, 2)", "i f f f d f f d i P f n b"),
    "violations": ("none", "f f i P f f"),
    "best_squared_intercept": ("f8", "f f f"),
    "penalty_value": ("f8", "f i P n"),
    "solve_subproblem": ("Tuple((f8, i8, f8, f8, i8, i8))", f"i {_X} f f f d f n f i P f b d i i i f i f f"),
    "best_dual_gap": ("f8", f"i {_X} f f f d f P f f n d d f f f"),
    "solve_subproblem_newton": ("Tuple((f8, i8, f8, f8, i8, i8))", f"i {_X} f f f d f n f i P f b d i f i f f"),
    "gram_solve": ("Tuple((i8, f8, f8, i8))", "X f d f f i P d i i f"),
    "gap_safe_screen": ("i8", "f d f P f B n"),
    "group_lipschitz": ("none", f"{_X} f f n n d f n f"),
    "block_gradient": ("none", f"i {_X} P f P f f n P P f"),
    "block_certificate": ("UniTuple(f8, 2)", "i P f P f P P f P n n f f n b"),
    "block_violations": ("none", "P P P n n f f f"),
    "block_penalty_value": ("f8", "P P n n f"),
    "block_loss": ("f8", "i P f P f"),
    "solve_blocks_subproblem": ("Tuple((i8, f8, f8))", f"i {_X} P f P f P n n n f f P f b d i i i P n f"),
    "group_lasso_epochs": ("Tuple((i8, f8))", "X f f f f n n n f f n f f f d i"),
    "group_grams": ("none", "X f f n n n f"),
    "cox_enet_fit": ("none", f"{_X} n n n P P P f f f f"),
    "cox_enet_path": ("none", f"{_X} n n n P P P f f P P"),
}
_NUMBA_TYPES = {"X": "f8[::1,:]", "P": "f8[:,::1]", "f": "f8[::1]", "I": "i4[::1]", "n": "i8[::1]",
                "B": "b1[::1]", "b": "b1", "i": "i8", "d": "f8"}


def aot_signature(name):
    """The numba signature string of entry point ``name`` for ``numba.pycc``."""
    ret, args = ENTRY_POINTS[name]
    return f"{ret}({', '.join(_NUMBA_TYPES[c] for c in args.split())})"


# --------------------------------------------------------------------------- locations
def cache_dir():
    """Where AOT modules are written (created on demand)."""
    env = os.environ.get("PENALIZED_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "penalized"


def _cpu_id():
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo") as fh:
                for line in fh:
                    if line.startswith(("flags", "Features")):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
    return platform.processor() or platform.machine()


def versions():
    """``{"numba": ..., "numpy": ...}``: the installed versions an AOT module is keyed on ("-" if absent)."""
    from importlib import metadata

    found = {}
    for pkg in ("numba", "numpy"):
        try:
            found[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            found[pkg] = "-"
    return found


_KEY = None


def build_key():
    """Hash of everything an AOT module depends on: kernel source, build recipe, versions, CPU."""
    global _KEY
    if _KEY is None:
        h = hashlib.sha256(source_hash().encode())
        h.update(Path(__file__).with_name("_build.py").read_bytes())  # how it was compiled
        h.update(repr(ENTRY_POINTS).encode())
        for version in versions().values():  # numba's and NumPy's: the module is built against NumPy's C API
            h.update(version.encode())
        h.update(sys.implementation.cache_tag.encode())
        h.update(platform.machine().encode())
        h.update(_cpu_id().encode())
        _KEY = h.hexdigest()[:16]
    return _KEY


def module_name():
    return f"penalized_kernels_{build_key()}"


# ------------------------------------------------------------------- the joined source
def _blank_package_imports(text):
    """``text`` with its imports of sibling kernel modules (``from .x import ...``) blanked,
    line numbers kept (tracebacks of the interpreted kernels point at the real lines)."""
    lines = text.splitlines(keepends=True)
    for node in ast.parse(text).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            for i in range(node.lineno - 1, node.end_lineno):
                lines[i] = "\n"
    return "".join(lines)


_SOURCES = None


def kernel_sources():
    """``[(path, source)]`` of the kernel modules in dependency order, sibling imports blanked:
    run one after another in one namespace, they define every kernel."""
    global _SOURCES
    if _SOURCES is None:
        package = Path(_kernels.__file__).parent
        _SOURCES = [(package / f"{part}.py", _blank_package_imports((package / f"{part}.py").read_text()))
                    for part in _kernels._PARTS]
    return _SOURCES


_SOURCE_HASH = None


def source_hash():
    """Hash of the kernels' joined source (16 hex digits)."""
    global _SOURCE_HASH
    if _SOURCE_HASH is None:
        h = hashlib.sha256()
        for path, text in kernel_sources():
            h.update(path.name.encode() + b"\0" + text.encode() + b"\0")
        _SOURCE_HASH = h.hexdigest()[:16]
    return _SOURCE_HASH


def _joined_name():
    return f"penalized_kernels_src_{source_hash()}"


def _joined_dirs():
    """Where the joined source may live: beside the package (numba's cache then sits next to
    it, as it would beside a module), else the user cache directory."""
    return [Path(_kernels.__file__).parent / "__pycache__", cache_dir() / "jit"]


def joined_source_path(write=True):
    """The joined source as one file named by its hash (written on first use, atomically).
    With ``write=False``, the existing file or None."""
    name = _joined_name() + ".py"
    for folder in _joined_dirs():
        if (folder / name).is_file():
            return folder / name
    if not write:
        return None
    text = "".join(f"# ---- {path.name}\n{source}\n" for path, source in kernel_sources())
    for folder in [*_joined_dirs(), None]:
        try:
            if folder is None:  # nothing writable: a private folder (numba caches nothing then)
                import tempfile

                folder = Path(tempfile.mkdtemp(prefix="penalized_kernels_"))
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f"{name}.{os.getpid()}.tmp"
            tmp.write_text(text)
            os.replace(tmp, folder / name)
            _prune_joined(folder, keep=name)
            return folder / name
        except OSError:
            continue
    raise OSError("no folder to write the kernels' joined source to")


def aot_path():
    """The AOT module in the user cache (built by ``penalized warmup`` or in the background)."""
    return cache_dir() / (module_name() + sysconfig.get_config_var("EXT_SUFFIX"))


def package_aot_dir():
    """Where ``pip install`` builds the AOT module (``setup.py``; git-ignored in a checkout);
    ``$PENALIZED_AOT_DIR`` moves it (tests point it at an empty folder to ignore the installed one)."""
    return Path(os.environ.get("PENALIZED_AOT_DIR") or Path(__file__).with_name("_aot"))


def packaged_aot_path():
    """The AOT module built at install time, under the same key-derived name as in the cache:
    a module built against other numba/NumPy versions, another CPU or another kernel source
    has another name, and is never looked at."""
    return package_aot_dir() / aot_path().name


INSTALL_RECORD = "build.json"  # in package_aot_dir(): what the install-time build did (see _build.build_into)


def install_record():
    """The install-time build's record (a dict), or None where none ran (or it is unreadable)."""
    import json

    try:
        record = json.loads((package_aot_dir() / INSTALL_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def install_note():
    """One clause on why the module built at install time is not used, or '' (none was built,
    or it is used)."""
    record = install_record()
    if record is None:
        return ""
    if record.get("status") != "built":
        message = str(record.get("message", "unknown error")).splitlines()[-1][:300]
        return f"the install-time build failed ({message})"
    if record.get("key") != build_key():
        built, now = record.get("versions", {}), versions()
        if built != now:
            why = (f"it was built with numba {built.get('numba', '?')} and NumPy {built.get('numpy', '?')}, "
                   f"installed are numba {now['numba']} and NumPy {now['numpy']}")
        elif record.get("source") != source_hash():
            why = "the kernels' source changed since"
        else:
            why = "another Python or CPU"
        return f"the module built at install does not fit ({why})"
    path = packaged_aot_path()
    problem = _cache.verify(path) if path.is_file() else "missing"
    return "" if problem is None else f"the module built at install failed its check ({problem})"


# -------------------------------------------------------------------- the three ways
class Kernels(types.SimpleNamespace):
    """The kernel functions and constants of one way of running them; ``mode`` says which."""


def _prune_joined(folder, keep, min_age=600.0):
    """Remove the joined sources of other kernel versions in ``folder`` (and numba's cache of
    them) not touched for ``min_age`` seconds: each edit of the kernels makes a new one."""
    now = time.time()
    for old in folder.glob("penalized_kernels_src_*.py"):
        try:
            if old.name != keep and now - old.stat().st_mtime > min_age:
                for cached in (folder / "__pycache__").glob(f"{old.stem}.*"):
                    cached.unlink()
                old.unlink()
        except OSError:
            pass


# the kernels as the package defines them (plain functions marked by its ``njit``)
_MARKED = {name: f for name, f in vars(_kernels).items() if hasattr(f, "__jit_options__")}


def _load_joined():
    """The joined source imported as a module of its own (numba's cache needs a real file,
    and the module registered under its name to load cached kernels)."""
    path = joined_source_path()
    name = path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _constants():
    return {k: v for k, v in vars(_kernels).items() if k.isupper() and not k.startswith("_")}


_JIT = None


class CompileWarning(UserWarning):
    """penalized is about to compile its kernels with numba: this process waits (once per machine)."""


_ANNOUNCED = False
COMPILE_MESSAGE = (
    "penalized is compiling its solver kernels with numba before this first fit: about 20-90 s "
    "(once per machine and version; later processes load them from disk). Run `penalized warmup` "
    "once (e.g. after installing) to build them ahead of time.")


def announce_compile():
    """Say once per process, through :mod:`warnings`, that a compilation is starting
    (unless numba's on-disk cache already holds the kernels, or this process is the build)."""
    global _ANNOUNCED
    if _ANNOUNCED or _jit_cache_warm():
        return
    _ANNOUNCED = True
    import warnings

    warnings.warn(COMPILE_MESSAGE, CompileWarning, stacklevel=3)


def jit():
    """The kernels as numba dispatchers (compiling on first call, cached on disk)."""
    global _JIT
    if _JIT is None:
        announce_compile()
        import numba

        module = _load_joined()
        marked = {k: v for k, v in vars(module).items() if hasattr(v, "__jit_options__")}
        for name, f in marked.items():  # all bound before any compiles: kernels call kernels
            if not hasattr(f, "py_func"):  # not a dispatcher yet (a reset loader may come back)
                setattr(module, name, numba.njit(**f.__jit_options__)(f))
        _JIT = Kernels(mode="jit", **_constants(), **{name: getattr(module, name) for name in marked})
    return _JIT


_PYTHON = None


def interpreted():
    """The kernels as plain Python functions (a fresh copy of the package's source, its
    modules run one after another in one namespace)."""
    global _PYTHON
    if _PYTHON is None:
        namespace = {"__name__": "penalized.solvers._kernels_interpreted"}
        for path, source in kernel_sources():
            namespace["__file__"] = str(path)
            exec(compile(source, str(path), "exec"), namespace)
        funcs = {k: v for k, v in namespace.items() if hasattr(v, "__jit_options__")}
        _PYTHON = Kernels(mode="python", **_constants(), **funcs)
    return _PYTHON


_ndarray = _np.ndarray
_AOT_DTYPES = {"X": _np.dtype(_np.float64), "P": _np.dtype(_np.float64), "f": _np.dtype(_np.float64),
               "I": _np.dtype(_np.int32), "n": _np.dtype(_np.int64), "B": _np.dtype(_np.bool_)}
_CONVERT = {"b": bool, "i": int, "d": float}


def _fits(code, value):
    """Does array ``value`` match AOT argument ``code``? (The AOT wrappers do not check:
    a wrong dtype or layout would be misread, or crash.)"""
    if type(value) is not _ndarray:
        return False
    dtype, wanted = value.dtype, _AOT_DTYPES[code]
    if dtype is not wanted and dtype != wanted:  # identity first: the common case, and cheap
        return False
    if code == "X":
        flags = value.flags
        return value.ndim == 2 and flags.f_contiguous and flags.aligned
    if code == "P":
        flags = value.flags
        return value.ndim == 2 and flags.c_contiguous and flags.aligned
    return value.ndim == 1 and value.flags.c_contiguous  # 1-D: unit stride, or at most one entry


def _aot_function(name, compiled):
    """``compiled`` behind a check of every argument (dtype and layout by :func:`_fits`,
    scalars converted), falling back to numba's JIT where one does not fit.

    The check runs ~10 times per solver call, so the common case is inlined: a 1-D array
    of exactly the wanted dtype object (``value.dtype is wanted``) with unit stride.
    """
    codes = ENTRY_POINTS[name][1].split()
    arrays = tuple((i, c, _AOT_DTYPES[c]) for i, c in enumerate(codes) if c in _AOT_DTYPES)
    scalars = tuple((i, _CONVERT[c]) for i, c in enumerate(codes) if c in _CONVERT)
    count = len(codes)

    def call(*args):
        if len(args) == count:
            for i, code, wanted in arrays:
                value = args[i]
                if type(value) is _ndarray and value.dtype is wanted and value.ndim == 1 and code != "X" \
                        and value.flags.c_contiguous:
                    continue
                if not _fits(code, value):
                    break
            else:
                args = list(args)
                for i, convert in scalars:
                    args[i] = convert(args[i])
                return compiled(*args)
        return getattr(jit(), name)(*args)  # another dtype or layout: numba's JIT

    call.__name__ = name
    call.__wrapped__ = compiled
    return call


_AOT = None
_AOT_CHECKED = 0.0


def aot(recheck_after=2.0):
    """The AOT kernels (JIT for other argument types), or None if no valid module is built.

    The module built at install time (:func:`packaged_aot_path`) is preferred to the user
    cache's (:func:`aot_path`). Either is loaded only if its bytes match the checksum recorded when it was built
    (:mod:`._cache`); the cache's one that does not is removed (unless a build is under way),
    so that the next background build or ``penalized warmup`` replaces it.
    """
    global _AOT, _AOT_CHECKED
    if _AOT is not None:
        return _AOT
    now = time.monotonic()
    if now - _AOT_CHECKED < recheck_after:
        return None
    _AOT_CHECKED = now
    for path, ours in ((packaged_aot_path(), False), (aot_path(), True)):
        if not path.is_file():
            continue
        problem = _cache.verify(path)
        if problem is not None:  # never dlopen it: a truncated or overwritten module crashes the process
            if ours and not _cache.held(_lock_path()):  # the installed one is pip's to replace
                _cache.discard(path)
            continue
        try:
            module = _load_module(path)
        except Exception:  # it matched its checksum but does not load (a broken build): the JIT works
            continue
        _AOT = Kernels(mode="aot", path=path, **_constants(),
                       **{name: _aot_function(name, getattr(module, name)) for name in ENTRY_POINTS})
        return _AOT
    return None


def _load_module(path):
    spec = importlib.util.spec_from_file_location(module_name(), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CAST_MAX_BYTES = 1 << 30  # the largest float64 copy of a float32 X made to avoid compiling for float32
_INT32_MAX = _np.iinfo(_np.int32).max


def aot_dtypes(X):
    """``X`` in the dtypes the AOT module was built for, where that is exact and cheap.

    - float32 values become float64 (exact; the kernels accumulate in float64 anyway) if the
      copy takes at most :data:`CAST_MAX_BYTES`: beyond, compiling the float32 kernels once
      costs less than the copy on every fit;
    - int64 sparse indices become int32 when the entries and rows fit (a copy of the index
      arrays only, never of the caller's matrix).

    Anything else is returned as is (and runs under numba's JIT).
    """
    import scipy.sparse as sp

    if sp.issparse(X):
        X = X.tocsc()
        data = X.data
        if data.dtype == _np.float32 and 2 * data.nbytes <= CAST_MAX_BYTES:
            data = data.astype(_np.float64)
        indices, indptr = X.indices, X.indptr
        if (indices.dtype != _np.int32 or indptr.dtype != _np.int32) and \
                max(X.shape[0], indptr[-1] if indptr.size else 0) <= _INT32_MAX:
            indices, indptr = indices.astype(_np.int32), indptr.astype(_np.int32)
        if data is X.data and indices is X.indices and indptr is X.indptr:
            return X
        out = sp.csc_matrix(X.shape, dtype=data.dtype)
        out.data, out.indices, out.indptr = data, indices, indptr  # as set: no index upcast
        return out
    if getattr(X, "dtype", None) == _np.float32 and 2 * X.nbytes <= CAST_MAX_BYTES:
        return _np.asfortranarray(X, dtype=_np.float64)
    return X


# ----------------------------------------------------------------------- the choice
_WARM = (None, 0.0)


def _jit_cache_warm(ttl=5.0):
    """Does numba's on-disk cache hold the solver for this source (no numba import)?"""
    global _WARM
    answer, when = _WARM
    if answer is None or time.monotonic() - when > ttl:
        _WARM = (_look_for_jit_cache(), time.monotonic())
    return _WARM[0]


def _look_for_jit_cache():
    src = joined_source_path(write=False)
    if src is None:
        return False
    stamp = src.stat().st_mtime
    pattern = f"{src.stem}.solve_subproblem-*.nbi"
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    if numba_dir:  # numba then caches there only
        candidates = Path(numba_dir).rglob(pattern)
    else:  # next to the source, else numba's user-wide cache
        candidates = [*(src.parent / "__pycache__").glob(pattern),
                      *(Path(os.path.expanduser("~")) / ".cache" / "numba").rglob(pattern)]
    try:
        return any(index.stat().st_mtime >= stamp for index in candidates)
    except OSError:
        return False


def kernels_for(size=0):
    """The kernels to run a problem of ``size`` = n·p entries with."""
    forced = os.environ.get("PENALIZED_KERNELS", "").lower()
    if forced == "python":
        return interpreted()
    if forced == "jit":
        return jit()
    found = aot()
    if found is not None:
        return found
    if forced != "aot":
        start_background_build()
    if _JIT is None and size <= INTERPRET_MAX and not _jit_cache_warm():
        return interpreted()
    return jit()


def describe():
    """One line on how a new process would run the kernels (for reports, ``penalized warmup``),
    naming a failed or corrupt build and the command that retries it."""
    packaged = packaged_aot_path()
    if packaged.is_file() and _cache.verify(packaged) is None:
        return f"ahead-of-time module built at install ({packaged.name}), numba not imported"
    path = aot_path()
    note = install_note()
    if path.is_file():
        problem = _cache.verify(path)
        if problem is None:
            return f"ahead-of-time module ({path.name}), numba not imported" + (f"; {note}" if note else "")
        state = f"the cached module {path.name} failed its check ({problem}) and will be rebuilt"
    elif _cache.held(_lock_path()):
        state = "the ahead-of-time module is being built in the background"
    else:
        state = _cache.failure_note(path)
    way = ("numba JIT, loaded from its on-disk cache" if _jit_cache_warm()
           else "not compiled yet (numba JIT compiles on first use)")
    state = "; ".join(part for part in (note, state) if part)
    if not state:
        return way
    retry = "" if state.endswith(_cache.RETRY_COMMAND) else f"; to build it now: {_cache.RETRY_COMMAND}"
    return f"{way}; {state}{retry}"


# ------------------------------------------------------------------- background build
def _lock_path():
    return cache_dir() / (module_name() + ".lock")


def start_background_build():
    """Build the AOT module in a detached process, once per machine (lock file; see :mod:`._cache`)."""
    if os.environ.get("PENALIZED_BACKGROUND_BUILD", "1").lower() in ("0", "false", "no", "off"):
        return False
    global _SPAWNED
    if _SPAWNED:
        return False
    _SPAWNED = True
    try:
        path = aot_path()
        if any(found.exists() and _cache.verify(found) is None for found in (packaged_aot_path(), path)):
            return False
        if _cache.failure_blocks_background(path) or _cache.held(_lock_path()):
            return False  # failed recently (describe() says so), or someone is building
        cache_dir().mkdir(parents=True, exist_ok=True)
        log = open(cache_dir() / (module_name() + ".log"), "ab")
        subprocess.Popen([sys.executable, "-m", "penalized.solvers._build", "--background"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                         env={**os.environ, "PENALIZED_BACKGROUND_BUILD": "0"})
        log.close()
        return True
    except OSError:
        return False


_SPAWNED = False
