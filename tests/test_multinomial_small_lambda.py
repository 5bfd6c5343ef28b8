"""The multinomial L1 model at small λ converges (block steps stalled there: the Böhning bound
½ on the curvature is far above the true p(1 − p)); checked against scikit-learn's saga and
the optimality conditions computed here."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression as SKLogistic

import penalized as pz
from penalized.solvers import certificate


def data():
    return make_classification(120, 12, n_informative=6, n_redundant=0, n_classes=3, random_state=0)


def kkt_violation(X, y, coef, intercept, lam):
    Y = (y[:, None] == np.unique(y)[None, :]).astype(float)
    Z = X @ coef.T + intercept
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    G = X.T @ (P - Y) / len(y)  # (p, K)
    W = coef.T
    viol = np.where(W == 0, np.maximum(np.abs(G) - lam, 0), np.abs(G + lam * np.sign(W)))
    return max(viol.max(), np.abs((P - Y).mean(0)).max())


@pytest.mark.parametrize("lam", [2.5e-5, 1e-4])
def test_multinomial_l1_at_small_lambda_converges_and_matches_saga(lam):
    X, y = data()
    n = len(y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the old solver warned: no convergence in 20,000 epochs
        model = pz.LogisticRegression(penalty=pz.L1(lam), tol=1e-10, max_iter=20_000).fit(X, y)
    assert model.dual_gap_ <= 1e-10 * np.log(3) * 1.01
    assert kkt_violation(X, y, model.coef_, model.intercept_, lam) < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SKLogistic(C=1 / (n * lam), l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=200_000).fit(X, y)
    ours = certificate(X, y, model.coef_, model.intercept_, datafit=pz.Multinomial(), penalty=pz.L1(lam))
    theirs = certificate(X, y, ref.coef_, ref.intercept_, datafit=pz.Multinomial(), penalty=pz.L1(lam))
    assert ours.objective <= theirs.objective + 1e-9
    assert np.abs(model.predict_proba(X) - ref.predict_proba(X)).max() < 1e-3


def test_block_steps_alone_still_available_and_agree_at_moderate_lambda():
    from penalized.datafits import Multinomial
    from penalized.solvers import LinearProblem
    from penalized.solvers.blocks import solve_blocks
    from penalized.solvers.coordinate_descent import kernel_penalty

    X, y = data()
    problem = LinearProblem.build(X, np.eye(3)[y], Multinomial())
    kp = kernel_penalty(pz.L1(1e-3), X.shape[1])
    hybrid = solve_blocks(problem, kp, tol=1e-10, max_iter=20_000)
    block = solve_blocks(problem, kp, tol=1e-10, max_iter=20_000, newton=False)
    assert hybrid.converged and block.converged
    assert hybrid.objective == pytest.approx(block.objective, abs=1e-9)
    assert kkt_violation(X, y, hybrid.coef, hybrid.intercept, 1e-3) < 1e-6


def test_small_lambda_on_sparse_input_with_weights_meets_kkt():
    import scipy.sparse as sp

    X, y = data()
    X[np.abs(X) < 0.3] = 0.0
    w = np.random.default_rng(1).uniform(0.2, 2.0, len(y))
    lam = 5e-5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converged: no ConvergenceWarning
        models = [pz.LogisticRegression(penalty=pz.L1(lam), tol=1e-10, max_iter=20_000).fit(design, y, sample_weight=w)
                  for design in (X, sp.csc_matrix(X))]
    Y = (y[:, None] == np.unique(y)[None, :]).astype(float)
    a = w / w.sum()
    for model in models:
        assert model.dual_gap_ <= 2e-10
        Z = X @ model.coef_.T + model.intercept_
        P = np.exp(Z - Z.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        G = X.T @ (a[:, None] * (P - Y))
        W = model.coef_.T
        viol = np.where(W == 0, np.maximum(np.abs(G) - lam, 0), np.abs(G + lam * np.sign(W)))
        assert viol.max() < 1e-6 and np.abs((a[:, None] * (P - Y)).sum(0)).max() < 1e-6
    np.testing.assert_allclose(models[0].predict_proba(X), models[1].predict_proba(X), atol=1e-5)
