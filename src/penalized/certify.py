"""``penalized.certificate``: the optimality certificate of any candidate solution, in memory or
on a Dask cluster (:func:`penalized.solvers.certificate` is the in-memory one; this module sits
above both routes so that neither imports the other)."""

from __future__ import annotations

from .dask import is_dask_collection

__all__ = ["certificate"]


def certificate(X, y, coef, intercept=0.0, *, datafit, penalty, sample_weight=None, fit_intercept=True,
                bounds=None, offset=None):
    """The certificate of ``(coef, intercept)`` for ``datafit + penalty`` on ``(X, y)``: see
    :func:`penalized.solvers.certificate` for the parameters and the rule. A Dask ``X`` has the same
    terms summed over its chunks on the cluster (:mod:`penalized.dask`)."""
    if is_dask_collection(X):
        from .dask import estimators as dask_route

        return dask_route.certificate(X, y, coef, intercept, datafit=datafit, penalty=penalty,
                                      sample_weight=sample_weight, fit_intercept=fit_intercept, bounds=bounds,
                                      offset=offset)
    from .solvers.certificate import certificate as in_memory

    return in_memory(X, y, coef, intercept, datafit=datafit, penalty=penalty, sample_weight=sample_weight,
                     fit_intercept=fit_intercept, bounds=bounds, offset=offset)
