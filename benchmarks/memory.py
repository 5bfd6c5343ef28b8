"""Peak memory of one fit, in a fresh process (``python -m benchmarks.memory SPEC`` is the child).

The child rebuilds the problem from its generator's keyword arguments, fits each library
once on a small slice of it (imports, compilation, first-call caches), then resets the
kernel's peak-RSS counter (``/proc/self/clear_refs``), fits the problem and reports the peak
resident set size above what it held before the fit. What a library allocates in C or C++
(liblinear's own copy of X, for instance) is counted, which tracemalloc would miss. Where the
counter cannot be reset (not Linux), it falls back to tracemalloc (NumPy's allocations only)
and says so.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _status_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_mb(spec, library, model, lam, tol, timeout=900):
    """``(extra MB, how)`` for fitting ``library``'s ``model`` at ``lam``, ``tol`` on the problem
    ``text_like(**spec)``; ``(nan, reason)`` if the child fails."""
    request = json.dumps(dict(spec=spec, library=library, model=model, lam=lam, tol=tol))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run([sys.executable, "-m", "benchmarks.memory", request], capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        return float("nan"), "timeout"
    if done.returncode != 0:
        return float("nan"), done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["extra_mb"], answer["how"]


def _child(request):
    import warnings

    from threadpoolctl import threadpool_limits

    from . import peers
    from .problems import Problem, text_like
    from .solvers import target

    warnings.simplefilter("ignore")
    X, y, labels, classes = text_like(**request["spec"])
    prob = Problem("child", X, y, labels, classes=classes)
    model, library = request["model"], request["library"]
    y = target(prob, model)
    with threadpool_limits(limits=1, user_api="blas"):
        small = min(X.shape[0], 500)
        peers.fit(library, model, X[:small].tocsc(), y[:small], request["lam"], 1e-2)  # imports, compilation
        gc.collect()
        if _reset_peak():
            before = _status_kb("VmRSS")
            peers.fit(library, model, X, y, request["lam"], request["tol"])
            extra = (_status_kb("VmHWM") - before) / 1024
            how = "peak RSS"
        else:
            import tracemalloc

            tracemalloc.start()
            peers.fit(library, model, X, y, request["lam"], request["tol"])
            extra = tracemalloc.get_traced_memory()[1] / 2**20
            how = "tracemalloc"
    print(json.dumps(dict(extra_mb=extra, how=how)))


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
