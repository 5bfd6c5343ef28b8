"""Data fits described on whole vectors of linear predictors (Huber, Cox) and the one outer loop
(proximal Newton / IRLS over the penalized weighted least-squares solver) they all reduce to.

Light at import (NumPy only): the estimators (:mod:`.estimators`), paths and CV (:mod:`.path`)
load the compiled solvers on first use.
"""

from .base import BoundDatafit, VectorDatafit, as_vector_datafit
from .cox import Cox
from .huber import Huber

__all__ = ["BoundDatafit", "VectorDatafit", "as_vector_datafit", "Cox", "Huber"]
