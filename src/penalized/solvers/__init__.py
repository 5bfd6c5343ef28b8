"""Solvers for ``L_data(w, b) + L_reg(w)`` on linear models (numba-compiled inner loops)."""

from .coordinate_descent import SolverResult, solve
from .problem import LinearProblem

__all__ = ["LinearProblem", "SolverResult", "solve"]
