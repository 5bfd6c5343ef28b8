"""Side-by-side benchmarks against the peers; each script writes its section of docs/benchmarks.md."""

import os

# One BLAS thread for every library, set before NumPy or SciPy load their BLAS: threadpoolctl's
# limits (benchmarks.solvers) reach only the BLAS libraries already loaded when they are entered,
# and a LAPACK loaded later (SciPy's, on the first exact support step) would otherwise run two
# threads that spin against the other jobs on a shared machine (measured: 7.7 ms → 50–330 ms on
# the 100×10000 lasso). An explicit setting in the environment wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
