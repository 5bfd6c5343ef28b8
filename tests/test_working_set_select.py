"""The working-set selection (partition over the candidates only) and the re-entrant
single-threaded BLAS block of the coordinate-descent solver."""
import numpy as np
import pytest

from penalized import SquaredError
from penalized.penalties import L1
from penalized.solvers import LinearProblem
from penalized.solvers import coordinate_descent as cd


@pytest.mark.parametrize("n_violating", [0, 3, 40, 400])
def test_working_set_is_support_plus_top_violators(n_violating):
    rng = np.random.default_rng(n_violating)
    p = 1000
    k = LinearProblem.build(rng.standard_normal((5, 3)), rng.standard_normal(5), SquaredError()).kernels
    lam = 1.0
    kp = cd.kernel_penalty(L1(lam), p)
    w = np.zeros(p)
    support = rng.choice(p, 20, replace=False)
    w[support] = rng.standard_normal(20)
    grad = rng.uniform(-0.5, 0.5, p)  # non-violating at zero
    rest = np.setdiff1d(np.arange(p), support)
    violating = rng.choice(rest, n_violating, replace=False)
    grad[violating] = np.sign(rng.standard_normal(n_violating)) * (lam + rng.uniform(0.01, 1.0, n_violating))
    L = np.ones(p)
    L[rest[:5]] = 0.0  # unusable features never enter
    usable = L > 0
    unpenalized = np.zeros(p, dtype=bool)
    scores = np.empty(p)
    ws = cd._working_set(k, w, grad, kp.code, kp.params, L, usable, unpenalized, scores, 50)
    size = max(50, 2 * 20)
    assert ws.shape[0] == size and np.all(np.diff(ws) > 0)  # sorted, distinct
    assert set(support) <= set(ws) and not set(rest[:5]) & set(ws)
    # the reference: the most violating features fill the rest (distances to the subdifferential)
    viol = np.where(w == 0, np.maximum(np.abs(grad) - lam, 0.0), 0.0)
    viol[~usable] = -1.0
    viol[support] = np.inf
    chosen = np.isin(np.arange(p), ws)
    assert viol[~chosen].max() <= viol[chosen].min()


def test_single_threaded_blas_is_reentrant():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [m["num_threads"] for m in threadpoolctl.threadpool_info() if m["user_api"] == "blas"]

    before = blas_threads()
    with cd._single_threaded_blas():
        assert all(t == 1 for t in blas_threads())
        with cd._single_threaded_blas():
            assert all(t == 1 for t in blas_threads())
        assert all(t == 1 for t in blas_threads())  # the inner exit leaves the outer limit on
    assert blas_threads() == before
