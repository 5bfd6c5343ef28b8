"""What importing penalized costs: no torch, matplotlib or numba at import time, and a star
import that works on a machine without PyTorch."""

import subprocess
import sys

# A meta-path finder that makes `import torch` (and every torch.*) fail as on a machine without
# PyTorch. (sys.modules["torch"] = None is not the same: scipy takes a None entry for a loaded torch.)
NO_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoTorch())
"""

HEAVY = ("torch", "matplotlib", "numba")


def run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()


def test_star_import_without_torch():
    lines = run(NO_TORCH + """
from penalized import *
import penalized
assert Lasso and LassoCV and regularization_path and stability_selection and L1 and GroupL1
assert "nn" not in dir() and "nn" not in penalized.__all__
print(sorted(set(penalized.__all__) - set(dir())))
try:
    penalized.nn
except ImportError as exc:
    print(exc)
""")
    assert lines == ["[]", "penalized.nn needs PyTorch: pip install 'penalized[nn]'"]


def test_star_import_does_not_load_heavy_modules():
    """Every public name resolves, yet neither torch (nn is not starred: it would also shadow
    torch.nn), matplotlib nor numba is imported; a fit still works afterwards."""
    lines = run(f"""
import sys
from penalized import *
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
import numpy as np
X = np.random.default_rng(0).standard_normal((20, 3))
print(Lasso(lam=0.1).fit(X, X[:, 0]).coef_[0] > 0)
""")
    assert lines == ["[]", "True"]


def test_import_penalized_loads_no_heavy_module():
    lines = run(NO_TORCH + f"""
import penalized
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
""")
    assert lines == ["[]"]
