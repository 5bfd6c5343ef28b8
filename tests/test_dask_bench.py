"""benchmarks/dask_scale.py helpers that need no cluster: the restart guard and the convergence table."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("dask")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import dask_scale


class _Client:
    def __init__(self, restart_error=None, wait_error=None):
        self.restart_error, self.wait_error, self.calls = restart_error, wait_error, []

    def restart(self, timeout):
        self.calls.append(("restart", timeout))
        if self.restart_error:
            raise self.restart_error

    def wait_for_workers(self, n, timeout):
        self.calls.append(("wait", n, timeout))
        if self.wait_error:
            raise self.wait_error

    def scheduler_info(self):
        return {"workers": {"a": None}}


def test_a_restart_that_times_out_does_not_hang_the_run():
    log = []
    ok = _Client()
    assert dask_scale.restart_workers(ok, 2, log.append, timeout=5) is True and log == []
    slow = _Client(restart_error=TimeoutError("slow"))
    assert dask_scale.restart_workers(slow, 2, log.append, timeout=5) is False
    assert slow.calls == [("restart", 5), ("wait", 2, 5)] and "gave up after 5 s" in log[0]
    lost = _Client(restart_error=TimeoutError("slow"), wait_error=TimeoutError("gone"))
    assert dask_scale.restart_workers(lost, 2, log.append, timeout=5) is False
    assert "still 1 of 2 workers" in log[-1]


def test_convergence_table_marks_what_reached_penalized():
    class Cert:
        def __init__(self, objective, relative):
            self.objective, self.relative = objective, relative

    rows = [dask_scale._convergence_row("logistic", "penalized", 7, 100, 5, 0.01, 2.0, 2.0, Cert(0.5, 1e-10), 0.5,
                                        True, lambda _: None),
            dask_scale._convergence_row("logistic", "dask-ml admm", 50, 100, 5, 0.01, 20.0, 2.0, Cert(0.51, 0.1), 0.5,
                                        False, lambda _: None)]
    assert rows[1]["ratio"] == pytest.approx(10.0) and rows[1]["above_penalized"] == pytest.approx(0.02)
    table = dask_scale.convergence_markdown(rows, "Machine: test.", "cmd")
    assert "| logistic | dask-ml admm | 50 | 20.0 | 10.0× | 2.0e-02 | 1.0e-01 | no |" in table
    assert "| logistic | penalized | 7 | 2.0 | 1.0× |" in table
