"""Nothing generated lands in the repository: no figures at its root, examples write into an
ignored folder."""

import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = (".png", ".svg", ".pdf", ".jpg", ".html", ".joblib")


def git(*args):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)


def test_no_generated_file_is_tracked_at_the_root():
    tracked = git("ls-files").stdout.splitlines()
    at_root = [f for f in tracked if "/" not in f]
    assert at_root and not [f for f in at_root if f.lower().endswith(GENERATED)], at_root


def test_examples_write_into_an_ignored_folder():
    for example in sorted((ROOT / "examples").glob("*.py")):
        out = Path(runpy.run_path(str(example), run_name="not_main")["DEFAULT_OUT"])
        assert ROOT in out.parents, (example.name, out)
        assert out.parent != ROOT
        ignored = git("check-ignore", "-q", str(out / "figure.png"))
        assert ignored.returncode == 0, f"{example.name} writes to {out}, which git does not ignore"
