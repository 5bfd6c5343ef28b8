"""One optimality certificate for any candidate solution, whoever computed it.

:func:`certificate` judges a coefficient vector and intercept — from penalized, from
scikit-learn, skglm, celer or anything else — by the same rule the solver stops on
(see :mod:`penalized.solvers.coordinate_descent`): the Fenchel duality gap over the
penalized coefficients plus ``Σ g_j²/(2L_j)`` over the unpenalized ones and the
intercept, to be compared with ``tol · L(0)``. The benchmarks and the tests use it to
check every library's answer to the same relative tolerance.
"""

from __future__ import annotations

import numpy as np

from .results import Certificate

__all__ = ["Certificate", "certificate", "certify"]



def certify(problem, penalty, coef, intercept=0.0, bounds=None):
    """The certificate of ``(coef, intercept)`` on a built :class:`LinearProblem`."""
    from .coordinate_descent import kernel_penalty

    k = problem.kernels
    p = problem.n_features
    K = problem.n_outputs
    coef = np.asarray(coef, dtype=np.float64)
    if coef.size != K * p:
        raise ValueError(f"coef has shape {coef.shape}, expected ({p},)" + ("." if K == 1 else f" or ({K}, {p})."))
    coef = coef.ravel()
    kp = kernel_penalty(penalty, p, bounds)
    if kp.bounded and (np.any(coef < kp.lower) or np.any(coef > kp.upper)):
        return Certificate(value=float("inf"), null_loss=float(problem.null_loss), objective=float("inf"))
    if kp.groups is not None and not problem.datafit.bounded_curvature:  # Poisson with groups
        from .newton_blocks import certify_newton_blocks

        return certify_newton_blocks(problem, kp, coef, intercept, given=True)[0]
    if kp.groups is not None or K > 1:
        from .blocks import certify_blocks

        return certify_blocks(problem, kp, coef, intercept)
    pen, P = kp.code, kp.params
    b = float(np.ravel(intercept)[0]) if np.ndim(intercept) else float(intercept)
    if not problem.fit_intercept and b != 0.0:
        raise ValueError("the problem has no intercept but a non-zero intercept was given.")
    zx, b_int = problem.internal_state(coef, b)
    grad = np.empty(p)
    everything = np.arange(p)
    code = problem.datafit.code
    grad_b = k.gradient(code, *problem.kernel_X, problem.y, problem.a, zx, b_int, problem.mu, everything,
                        grad, np.empty(problem.n_samples))
    gap, stationarity = k.duality_gap(code, problem.y, problem.a, zx, b_int, coef, grad, grad_b, pen, P,
                                      problem.L, everything, problem.fit_intercept)
    objective = k.datafit_value(code, problem.y, problem.a, zx, b_int) + k.penalty_value(
        coef, pen, P, everything)
    return Certificate(value=float(gap + stationarity), null_loss=float(problem.null_loss),
                       objective=float(objective))


def certificate(X, y, coef, intercept=0.0, *, datafit, penalty, sample_weight=None, fit_intercept=True,
                bounds=None, offset=None):
    """The certificate of ``(coef, intercept)`` for ``datafit + penalty`` on ``(X, y)``.

    Parameters
    ----------
    X : array or sparse matrix (n_samples, n_features); :func:`penalized.certificate` also takes a
        Dask array or DataFrame
    y : array (n_samples,)
        Targets; for :class:`~penalized.Logistic`, two class labels (the larger one,
        in sorted order, is +1) or ±1.
    coef : array (n_features,)
    intercept : float
    datafit : a Datafit (SquaredError, Logistic, Poisson)
    penalty : a penalty object or None
        For non-convex penalties (MCP, SCAD) the certificate is the stationarity measure
        (see :mod:`penalized.solvers.coordinate_descent`).
    sample_weight : array (n_samples,), optional
    fit_intercept : bool
        Whether the intercept is a free variable of the problem (its stationarity is
        then part of the certificate); without one, ``intercept`` must be 0.
    bounds : (lower, upper), optional
        A box on the coefficients (scalars or arrays); a point outside it has an infinite
        certificate.
    offset : array (n_samples,), optional
        Added to the linear predictor.

    Returns
    -------
    Certificate
        ``certificate(...).relative <= tol`` is the stopping rule of every solver here.
    """
    if hasattr(X, "__dask_graph__"):
        raise TypeError("penalized.solvers.certificate takes in-memory X; for a Dask collection use "
                        "penalized.certificate (the same terms, summed over the chunks on the cluster).")
    from ..penalties import check_bounds
    from .problem import LinearProblem

    y = np.asarray(y)
    if datafit.needs_labels and y.ndim == 1:  # class labels: ±1 (log-loss) or one-hot (multinomial)
        classes = np.unique(y)
        if datafit.multi_output:
            y = (y[:, None] == classes[None, :]).astype(np.float64)
        elif classes.shape[0] != 2:
            raise ValueError(f"the log-loss needs two classes, got {classes.shape[0]}.")
        else:
            y = np.where(y == classes[1], 1.0, -1.0)
    problem = LinearProblem.build(X, y, datafit, sample_weight, fit_intercept, offset=offset)
    box = None if bounds is None else check_bounds(bounds, n_features=problem.n_features)
    return certify(problem, penalty, coef, intercept, bounds=box)
