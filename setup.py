"""Install-time build of the solver kernels (everything else is in pyproject.toml).

``pip install .`` and ``pip install -e .`` compile the numba kernels ahead of time into
``penalized/solvers/_aot/`` (git-ignored), so that no first fit waits for a compiler (see
``penalized.solvers._loader``). The build runs in a subprocess with numba and NumPy from the
build requirements, and it may fail (no C compiler, no ``numba.pycc``): the install then
succeeds anyway, the failure is recorded in ``_aot/build.json``, ``penalized warmup`` and
``describe()`` report it, and the kernels take the runtime route (the user cache, built by
``penalized warmup`` or in the background). ``PENALIZED_BUILD_KERNELS=0`` skips the build.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUILD_TIMEOUT_S = 1800

# penalized.solvers._build without importing penalized itself (its dependencies, scikit-learn
# and the rest, are not in the isolated build environment: numba and NumPy are)
BOOT = """\
import sys, types
src = sys.argv[1]
for name, folder in (("penalized", "/penalized"), ("penalized.solvers", "/penalized/solvers")):
    package = types.ModuleType(name)
    package.__path__ = [src + folder]
    sys.modules[name] = package
from penalized.solvers import _build
sys.exit(_build.main(["--into", sys.argv[2]]))
"""


def build_kernels(folder):
    """Compile the kernels into ``folder``; report, never raise, on failure."""
    if os.environ.get("PENALIZED_BUILD_KERNELS", "1").lower() in ("0", "false", "no", "off"):
        print("penalized: PENALIZED_BUILD_KERNELS=0, the kernels are not compiled at install")
        return
    print("penalized: compiling the solver kernels ahead of time (a few minutes, once per install)")
    with tempfile.TemporaryDirectory() as numba_cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": numba_cache, "PENALIZED_BACKGROUND_BUILD": "0"}
        try:
            proc = subprocess.run([sys.executable, "-c", BOOT, str(HERE / "src"), str(folder)], env=env,
                                  timeout=BUILD_TIMEOUT_S)
            failed = f"exit status {proc.returncode}" if proc.returncode else ""
        except (OSError, subprocess.SubprocessError) as exc:
            failed = f"{type(exc).__name__}: {exc}"
    if failed:  # build.json says why, where the build got far enough to write it
        print(f"penalized: the kernels were not compiled at install ({failed}); "
              "they will be compiled on first use, or by `penalized warmup`", file=sys.stderr)


class BuildPyWithKernels(build_py):
    """``build_py``, then the kernels: into the wheel's tree, or into ``src/`` for an editable install."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            folder = HERE / "src" / "penalized" / "solvers" / "_aot"
        else:
            folder = Path(self.build_lib) / "penalized" / "solvers" / "_aot"
        build_kernels(folder)


if __name__ == "__main__":  # as pip's build backend runs it (tests import build_kernels)
    setup(cmdclass={"build_py": BuildPyWithKernels})
