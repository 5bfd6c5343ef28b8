"""penalized: regularized learning, ``L(w) = L_data(w) + λ · L_reg(w)``, as objects.

The penalties (:class:`L1`, :class:`L2`, :class:`L1L2`, :class:`GroupL1`, :class:`MCP`,
:class:`SCAD`, and their sums) and data fits (:class:`SquaredError`, :class:`Logistic`,
:class:`Poisson`, :class:`Huber`, :class:`Cox`) are imported eagerly and are light; the
estimators, the compiled solvers, :mod:`penalized.nn` (PyTorch) and the plotting code
load on first use, so ``import penalized`` stays fast.
"""

from importlib import import_module

from .datafits import Logistic, Multinomial, Poisson, SquaredError
from .glm import Cox, Huber
from .penalties import L1, L1L2, L2, MCP, SCAD, GroupL1

__version__ = "0.1.0"

_LAZY = {
    "Lasso": "linear_model",
    "Ridge": "linear_model",
    "ElasticNet": "linear_model",
    "LinearRegression": "linear_model",
    "LogisticRegression": "linear_model",
    "PoissonRegressor": "linear_model",
    "MultiTaskLasso": "linear_model",
    "MultiTaskElasticNet": "linear_model",
    "fit_linear": "linear_model",
    "glmnet_penalty": "conventions",
    "BerHu": "penalties",
    "certificate": "certify",
    "CoxPH": "glm.estimators",
    "HuberRegressor": "glm.estimators",
    "CoxPHCV": "glm.path",
    "regularization_path": "path",
    "lambda_max": "path",
    "PathResult": "path",
    "LassoCV": "model_selection",
    "ElasticNetCV": "model_selection",
    "LogisticRegressionCV": "model_selection",
    "PoissonRegressorCV": "model_selection",
    "MultiTaskLassoCV": "model_selection",
    "MultiTaskElasticNetCV": "model_selection",
    "RelaxedLasso": "relaxed",
    "RelaxedLogisticRegression": "relaxed_glm",
    "RelaxedPoissonRegressor": "relaxed_glm",
    "RelaxedCoxPH": "relaxed_glm",
    "stability_selection": "selection",
    "StabilityResult": "selection",
    "datasets": None,
    "solvers": None,
    "nn": None,
}

# ``from penalized import *`` leaves out ``nn``: it needs PyTorch (optional), and the name would
# shadow ``torch.nn``. Reach it as ``penalized.nn``.
__all__ = ["L1", "L2", "L1L2", "GroupL1", "MCP", "SCAD", "SquaredError", "Logistic", "Poisson", "Multinomial",
           "Cox", "Huber",
           *(n for n in _LAZY if n != "nn")]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'penalized' has no attribute {name!r}")
    module = _LAZY[name]
    if module is None:
        return import_module(f".{name}", __name__)
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
