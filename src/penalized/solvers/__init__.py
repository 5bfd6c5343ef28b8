"""Solvers for ``L_data(w, b) + L_reg(w)`` on linear models (numba-compiled inner loops)."""

from .certificate import Certificate, certificate, certify
from .coordinate_descent import SolverResult, solve, strong_rule_set
from .problem import LinearProblem

__all__ = ["Certificate", "LinearProblem", "SolverResult", "certificate", "certify", "solve",
           "strong_rule_set"]
