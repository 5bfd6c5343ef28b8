import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "penalized.cli", *args], capture_output=True, text=True,
                          timeout=300)


def test_tour_prints_l1_zeros_and_l2_none():
    result = run("tour")
    assert result.returncode == 0, result.stderr
    assert "0 (exact)" in result.stdout
    assert "L2 sets 0" in result.stdout


def test_unknown_command_is_one_line_error():
    result = run("nonsense")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
