"""What the solvers return, and the constants their stopping rules share (a leaf module: every
solver imports it, it imports no solver)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Below this, a certificate is rounding noise of the data (e.g. a constant y fitted by
# its mean); in units of mean(a·y²).
_ROUNDING_FLOOR = 1e4 * np.finfo(np.float64).eps ** 2
# Recompute X̃w from w at least this often (epochs), and before declaring convergence.
REFRESH_EPOCHS = 100


@dataclass(frozen=True)
class Certificate:
    """``value`` (the certificate), ``null_loss`` (L(0), the null model's loss) and the
    ``objective`` ``L_data + L_reg`` at the candidate; ``relative = value / null_loss``."""

    value: float
    null_loss: float
    objective: float

    @property
    def relative(self):
        return self.value / self.null_loss if self.null_loss > 0 else self.value

    def meets(self, tol):
        """Would the solver have stopped here with this ``tol``?"""
        return self.relative <= tol

    def finite_value(self):
        """``value``; a block solver's iterates that overflowed raise here, with what to do."""
        if not np.isfinite(self.value):
            raise FloatingPointError("the solver produced non-finite values; rescale X (e.g. StandardScaler) "
                                     "or increase the penalty.")
        return self.value


@dataclass(frozen=True)
class SolverPlan:
    """What :func:`solve` decided to run on one problem, and why (see ``str(plan)``)."""

    datafit: str
    penalty: str
    method: str
    working_sets: str
    gram: bool
    anderson_k: int
    support_steps: bool
    screening: bool
    certificate: str
    reasons: tuple = ()
    anderson_beyond_support_steps: bool = False

    def __str__(self):
        lines = [f"{self.penalty} on the {self.datafit}: {self.method}",
                 f"  working sets: {self.working_sets}; Gram mode: {self.gram}; Anderson: "
                 f"{self.anderson_k or 'off'}"
                 f"{' (on supports beyond the exact steps)' if self.anderson_beyond_support_steps else ''}; "
                 f"exact support steps: {self.support_steps}; "
                 f"Gap Safe screening: {self.screening}",
                 f"  certificate: {self.certificate}"]
        lines += [f"  - {r}" for r in self.reasons]
        return "\n".join(lines)


@dataclass(frozen=True)
class SolverResult:
    """What :func:`solve` returns.

    ``certificate`` (reported by estimators as ``dual_gap_``) bounds the distance to the
    optimum as described in the module docstring; ``converged`` says whether it fell
    below ``threshold = tol · L(0)`` within ``max_iter`` epochs: ``converged`` is exactly
    ``certificate <= threshold``. Where every coordinate's optimality violation fell below the
    rounding error of its gradient (at tiny λ the rescaled dual point cannot certify an exact
    solution), ``certificate`` is the stationarity measure ``Σ_j v_j²/(2L_j)`` instead of the
    duality gap (see :func:`_certificate_at_rounding`; ``plan`` says so).
    """

    coef: np.ndarray
    intercept: float
    certificate: float
    threshold: float
    n_iter: int
    converged: bool
    objective: float
    n_screened: int = 0
    support_steps: int = 0
    gradient: np.ndarray | None = None
    plan: SolverPlan | None = None
