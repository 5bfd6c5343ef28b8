"""Data fits described on whole vectors of linear predictors (Huber, Cox) and the one outer loop
(proximal Newton / IRLS over the penalized weighted least-squares solver) they all reduce to.

Light at import (NumPy only): the estimators (:mod:`.estimators`), paths and CV (:mod:`.path`)
load the compiled solvers on first use.
"""

from .base import BoundDatafit, VectorDatafit
from .cox import Cox
from .huber import Huber

__all__ = ["BoundDatafit", "VectorDatafit", "as_vector_datafit", "Cox", "Huber"]


def as_vector_datafit(datafit):
    """The :class:`VectorDatafit` that ``datafit`` names (``"cox"``, ``"huber"`` or an object),
    or None for the data fits of the compiled kernels."""
    if isinstance(datafit, VectorDatafit):
        return datafit
    if isinstance(datafit, str) and datafit.lower() in ("cox", "huber"):
        return Cox() if datafit.lower() == "cox" else Huber()
    return None
