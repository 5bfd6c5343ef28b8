"""Runs adelie's Cox lasso path (``grpnet`` with ``glm.cox``) for :mod:`benchmarks.cox_path`, in
adelie's own environment.

adelie needs NumPy < 2, so it lives in a separate virtual environment and this script runs there
(it imports neither penalized nor the benchmarks package). Usage, from the benchmark:
``<adelie python> adelie_cox_worker.py DIR``, where ``DIR`` holds ``X.npy``, ``time.npy``,
``event.npy`` and ``lmdas.npy`` (adelie's λ grid). Every feature is its own group of size 1 with
penalty factor 1 (the lasso), no intercept (it cancels in the partial likelihood), Breslow ties,
unit sample weights (adelie normalises them to 1/n: its loss is ``−(1/n) log PL``, penalized's).
Commands are read one per line on stdin:

- ``fit TOL SAVE``: one path at ``tol`` (``SAVE`` = 1 writes ``betas.npy`` (L, p)); replies one
  JSON line ``{"wall": s, "cpu": s, "n_lambdas": L}`` timing ``grpnet`` alone;
- ``quit``.
"""

import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import adelie as ad
import numpy as np


def main(folder):
    X = np.asfortranarray(np.load(os.path.join(folder, "X.npy")))
    stop = np.load(os.path.join(folder, "time.npy"))
    status = np.load(os.path.join(folder, "event.npy")).astype(np.float64)
    lmdas = np.load(os.path.join(folder, "lmdas.npy"))
    n, p = X.shape
    print(json.dumps({"ready": ad.__version__}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        tol, save = float(words[1]), words[2] == "1"
        t0, c0 = time.perf_counter(), time.process_time()
        glm = ad.glm.cox(np.zeros(n), stop, status, tie_method="breslow")
        state = ad.grpnet(X, glm, groups=np.arange(p), penalty=np.ones(p), alpha=1.0, lmda_path=lmdas, tol=tol,
                          max_iters=10**7, early_exit=False, intercept=False, n_threads=1, progress_bar=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if save:
            np.save(os.path.join(folder, "betas.npy"), state.betas.toarray())
        print(json.dumps({"wall": wall, "cpu": cpu, "n_lambdas": int(state.betas.shape[0])}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
