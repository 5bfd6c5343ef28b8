"""When a path stops before the end of its λ grid: glmnet's rules.

The **deviance ratio** of a point (glmnet's ``dev.ratio``, printed as ``%Dev``) is the fraction of
the null deviance it explains::

    dev_ratio = 1 − (L_data − L_sat) / (L_null − L_sat)

with ``L_null`` the data fit of the null model (the intercept alone, or nothing without an
intercept; offsets included) and ``L_sat`` that of the saturated model (0 for least squares and
the log-losses). Along a path, after at least ``min_lambdas = 5`` points (glmnet's ``mnlam``):

- ``early_stop``: the path stops after the point where the fractional change of the deviance
  ratio ``(dev_k − dev_{k−1}) < fdev · dev_k`` (``fdev = 1e-5``) or where ``dev_k > devmax``
  (``devmax = 0.999``): glmnet's ``fdev`` and ``devmax`` (``glmnet.control``). glmnet solves every
  point to ``thr = 1e-7``; penalized solves each to its certificate ``≤ tol·L(0)``, which bounds
  the *objective*, not the data fit, and at the default ``tol = 1e-4`` a warm start that already
  meets it does not move (its measured change is 0 while the exact one is not). A point whose
  measured change is below ``fdev·dev_k`` is therefore solved again, from where it is, to
  ``TIGHT_TOL = 1e-10``, and the rule is applied to that solution: the path stops where the tightly
  solved path stops (tested), at the cost of a few tight re-solves near the end;
- ``dfmax``: the path stops after the first point with more than ``dfmax`` non-zero features.

At any point, ``pmax``: a point at which more than ``pmax`` features have ever been non-zero is
dropped and the path ends before it (glmnet returns "the solutions for larger lambdas").
"""

from __future__ import annotations

import numpy as np

from .datafits import normalized_weights

__all__ = ["FDEV", "DEVMAX", "MIN_LAMBDAS", "TIGHT_TOL", "PathStop", "null_loss"]

FDEV = 1e-5
DEVMAX = 0.999
MIN_LAMBDAS = 5
#: the tolerance a candidate point for the ``fdev`` rule is solved to again (module docstring)
TIGHT_TOL = 1e-10


def null_loss(datafit, y, sample_weight, offset, fit_intercept):
    """``L_data`` of the null model: the intercept alone (with the offset), or ``z = offset``."""
    K = 1 if np.ndim(y) == 1 else y.shape[1]
    if fit_intercept:
        b = datafit.null_intercept(y, sample_weight, offset)
    else:
        b = 0.0 if K == 1 else np.zeros(K)
    z = np.zeros(y.shape[0]) if K == 1 else np.zeros((y.shape[0], K))
    z = z + b
    if offset is not None:
        z = z + offset
    return datafit.value(y, z, sample_weight)


class PathStop:
    """The stopping rules of one path (module docstring); ``check`` after each point."""

    def __init__(self, datafit, y, sample_weight, offset, fit_intercept, *, early_stop=False, dfmax=None,
                 pmax=None, fdev=FDEV, devmax=DEVMAX, min_lambdas=MIN_LAMBDAS):
        self.null = null_loss(datafit, y, sample_weight, offset, fit_intercept)
        self.sat = datafit.saturated_loss(y, normalized_weights(y.shape[0], sample_weight))
        self.early_stop, self.dfmax, self.pmax = bool(early_stop), dfmax, pmax
        self.fdev, self.devmax, self.min_lambdas = fdev, devmax, min_lambdas
        self.ever = None
        self.previous = 0.0

    def dev_ratio(self, loss):
        """``1 − (loss − L_sat)/(L_null − L_sat)`` (0 when the null model is already saturated)."""
        denom = self.null - self.sat
        if not denom > 0:
            return 0.0
        return float(1.0 - (loss - self.sat) / denom)

    def tighter_tol(self, i, loss, tol):
        """``TIGHT_TOL`` when point ``i`` is a candidate for the ``fdev`` rule (its measured change is
        below ``fdev·dev``) but was solved to a looser ``tol``; None otherwise (module docstring)."""
        if not self.early_stop or i + 1 < self.min_lambdas or tol <= TIGHT_TOL:
            return None
        dev = self.dev_ratio(loss)
        if dev <= 0 or dev - self.previous >= self.fdev * dev:
            return None
        return TIGHT_TOL

    def check(self, i, nonzero, dev):
        """``"go"``, ``"stop"`` (keep point ``i``, then stop) or ``"drop"`` (stop without it).

        ``nonzero``: the features non-zero at point ``i``; ``dev``: its deviance ratio (of the
        tight re-solve, for a candidate of the ``fdev`` rule: :meth:`tighter_tol`).
        """
        self.ever = nonzero.copy() if self.ever is None else (self.ever | nonzero)
        if self.pmax is not None and int(self.ever.sum()) > self.pmax and i > 0:
            return "drop"
        previous, self.previous = self.previous, dev
        if i + 1 < self.min_lambdas:
            return "go"
        if self.dfmax is not None and int(nonzero.sum()) > self.dfmax:
            return "stop"
        if not self.early_stop:
            return "go"
        if dev - previous < self.fdev * dev or dev > self.devmax:
            return "stop"
        return "go"
