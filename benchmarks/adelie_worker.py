"""Runs adelie's ``grpnet`` for :mod:`benchmarks.group_path`, in adelie's own environment.

adelie needs NumPy < 2, so it lives in a separate virtual environment and this script runs
there (it imports neither penalized nor the benchmarks package). Usage, from the
benchmark: ``<adelie python> adelie_worker.py DIR``, where ``DIR`` holds ``X.npy``,
``y.npy``, ``groups.npy`` (the start index of every group), ``penalty.npy`` (one factor per
group), ``lmdas.npy`` (adelie's λ grid) and optionally ``glm.npy`` (``"binomial"``: ``y`` holds
0/1 labels; else gaussian). Commands are read one per line on stdin:

- ``fit TOL SAVE``: one path at ``tol`` (``SAVE`` = 1 writes ``betas.npy`` (L, p) and
  ``intercepts.npy``); replies one JSON line ``{"wall": s, "cpu": s}`` timing ``grpnet`` alone;
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
    y = np.load(os.path.join(folder, "y.npy"))
    groups = np.load(os.path.join(folder, "groups.npy"))
    penalty = np.load(os.path.join(folder, "penalty.npy"))
    lmdas = np.load(os.path.join(folder, "lmdas.npy"))
    intercept = bool(np.load(os.path.join(folder, "intercept.npy")))
    family = os.path.join(folder, "glm.npy")
    binomial = os.path.exists(family) and str(np.load(family)) == "binomial"  # then y holds 0/1 labels
    print(json.dumps({"ready": ad.__version__}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        tol, save = float(words[1]), words[2] == "1"
        t0, c0 = time.perf_counter(), time.process_time()
        glm = ad.glm.binomial(y) if binomial else ad.glm.gaussian(y)
        state = ad.grpnet(X, glm, groups=groups, penalty=penalty, alpha=1.0, lmda_path=lmdas,
                          tol=tol, max_iters=10**7, early_exit=False, intercept=intercept, n_threads=1,
                          progress_bar=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if save:
            np.save(os.path.join(folder, "betas.npy"), state.betas.toarray())
            np.save(os.path.join(folder, "intercepts.npy"), np.asarray(state.intercepts))
        print(json.dumps({"wall": wall, "cpu": cpu, "n_lambdas": int(state.betas.shape[0])}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
