import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "penalized.cli", *args], capture_output=True, text=True,
                          timeout=300)


def test_unknown_command_is_one_line_error():
    result = run("nonsense")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_lists_the_commands_and_exit_codes():
    result = run("--help")
    assert result.returncode == 0
    for word in ("tour", "fit", "path", "Exit codes", "bad usage or bad input"):
        assert word in result.stdout


def test_tour_refuses_a_foreign_directory_before_working(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = run("tour", "--quick", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "is not a penalized report" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
