"""The models of the penalty sections and their peers, each behind ``fit(X, y, lam, tol) -> (coef, b)``.

Every model is stated on penalized's scale (mean squared error, ``lam`` the factor on a unit
penalty) and translated to each peer's parameters (``docs/penalties.md``, README):

==================  ===========================================  ==========================================
model               penalized                                    peer
==================  ===========================================  ==========================================
``group4/10``       ``GroupL1(lam, groups, weights=√|g|)``       skglm ``GroupLasso(|g|, alpha=lam/2,
                                                                 weights=√|g|)``
``sgl10``           ``L1(lam/2) + GroupL1(lam/2, groups,          skglm ``WeightedL1GroupL2(alpha=lam/2,
                    weights=√|g|)`` (sparse group lasso)          weights_groups=√|g|/2, weights_features=
                                                                 1/2)`` with ``QuadraticGroup``, ``GroupBCD``
``mcp``             ``MCP(lam, gamma=1.5)``                      skglm ``MCPRegression(alpha=lam/2, gamma=3)``
``positive``        ``Lasso(lam, positive=True)``                scikit-learn, skglm, celer
                                                                 ``Lasso(alpha=lam/2, positive=True)``
==================  ===========================================  ==========================================

skglm's ``WeightedL1GroupL2`` fails with ``fit_intercept=True`` in skglm 0.5 (its ``value`` is
given the intercept as a coefficient: "unable to broadcast"), so on the (centred) dense designs
it gets ``y − ȳ`` and no intercept, whose solution with ``b = ȳ`` is the same as the problem
with an intercept; the sparse designs fit no intercept for any library.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass

import numpy as np

BIG = 10**6
SGL_L1 = 0.5  # the L1 share of the sparse group lasso
MCP_GAMMA = 1.5  # penalized's default (skglm's default 3 on its (1/2n) scale)


@dataclass(frozen=True)
class Model:
    key: str
    name: str
    section: str
    group_size: int = 0  # contiguous groups of this size (0: none)
    positive: bool = False
    peers: tuple = ("skglm",)

    def labels(self, p):
        return np.arange(p) // self.group_size

    def weights(self, p):
        return np.full(p // self.group_size, np.sqrt(self.group_size))

    def unit(self, p):
        """The penalty at ``lam = 1`` (``unit.scaled(lam)`` is the cell's penalty)."""
        import penalized as pz

        if self.key.startswith("group"):
            return pz.GroupL1(1.0, groups=self.labels(p), weights=self.weights(p))
        if self.key.startswith("sgl"):
            return pz.L1(SGL_L1) + pz.GroupL1(1.0 - SGL_L1, groups=self.labels(p), weights=self.weights(p))
        if self.key == "mcp":
            return pz.MCP(1.0, gamma=MCP_GAMMA)
        return pz.L1(1.0)

    def bounds(self, p):
        """The box of the problem, as :func:`penalized.solvers.certify` takes it."""
        return (np.zeros(p), np.full(p, np.inf)) if self.positive else None


MODELS = {
    "group4": Model("group4", "group lasso, groups of 4", "group", group_size=4),
    "group10": Model("group10", "group lasso, groups of 10", "group", group_size=10),
    "sgl10": Model("sgl10", "sparse group lasso, groups of 10", "group", group_size=10),
    "mcp": Model("mcp", f"MCP γ={MCP_GAMMA:g}", "mcp"),
    "positive": Model("positive", "lasso, positive=True", "positive", positive=True,
                      peers=("scikit-learn", "skglm", "celer")),
}
SECTIONS = {"group": ("group4", "group10", "sgl10"), "mcp": ("mcp",), "positive": ("positive",)}
_MODULES = {"penalized": "penalized", "scikit-learn": "sklearn", "skglm": "skglm", "celer": "celer"}


def available(library):
    return importlib.util.find_spec(_MODULES[library]) is not None


def _coef(est):
    coef = np.asarray(est.coef_, dtype=np.float64).ravel()
    b = np.ravel(np.asarray(getattr(est, "intercept_", 0.0), dtype=np.float64))
    return coef, float(b[0]) if b.size else 0.0


def _skglm_sgl(model, X, y, lam, tol, fit_intercept):
    from skglm import GeneralizedLinearEstimator
    from skglm.datafits import QuadraticGroup
    from skglm.penalties import WeightedL1GroupL2
    from skglm.solvers import GroupBCD
    from skglm.utils.data import grp_converter

    p = X.shape[1]
    idx, ptr = grp_converter(model.group_size, p)
    penalty = WeightedL1GroupL2(lam / 2, (1.0 - SGL_L1) * model.weights(p), np.full(p, SGL_L1), ptr, idx)
    # no subdiff_distance for this penalty in skglm: the fixpoint working-set score
    est = GeneralizedLinearEstimator(QuadraticGroup(ptr, idx), penalty,
                                     GroupBCD(max_iter=1000, max_epochs=BIG, tol=tol, fit_intercept=False,
                                              ws_strategy="fixpoint"))
    shift = float(np.mean(y)) if fit_intercept else 0.0  # see the module docstring
    est.fit(X, y - shift)
    return np.asarray(est.coef_, dtype=np.float64).ravel()[:p], shift


def make_penalized(model, lam, tol, fit_intercept, p, max_iter=BIG):
    import penalized as pz

    if model.positive:
        return pz.Lasso(lam=lam, positive=True, fit_intercept=fit_intercept, tol=tol, max_iter=max_iter)
    return pz.LinearRegression(penalty=model.unit(p).scaled(lam), fit_intercept=fit_intercept, tol=tol,
                               max_iter=max_iter)


def fit(library, model, X, y, lam, tol, fit_intercept=True):
    """Fit ``model`` at strength ``lam`` (penalized's scale) with ``library``'s ``tol``;
    returns ``(coef, intercept)``. Warnings (non-convergence) are silenced."""
    p = X.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if library == "penalized":
            return _coef(make_penalized(model, lam, tol, fit_intercept, p).fit(X, y))
        if library == "skglm":
            import skglm

            if model.key.startswith("sgl"):
                return _skglm_sgl(model, X, y, lam, tol, fit_intercept)
            if model.key.startswith("group"):
                est = skglm.GroupLasso(model.group_size, alpha=lam / 2, weights=model.weights(p), tol=tol,
                                       max_iter=1000, max_epochs=BIG, fit_intercept=fit_intercept)
            elif model.key == "mcp":
                est = skglm.MCPRegression(alpha=lam / 2, gamma=2 * MCP_GAMMA, tol=tol, max_iter=1000,
                                          max_epochs=BIG, fit_intercept=fit_intercept)
            else:
                est = skglm.Lasso(alpha=lam / 2, positive=True, tol=tol, max_iter=1000, max_epochs=BIG,
                                  fit_intercept=fit_intercept)
            return _coef(est.fit(X, y))
        if library == "scikit-learn" and model.positive:
            from sklearn.linear_model import Lasso

            return _coef(Lasso(alpha=lam / 2, positive=True, tol=tol, max_iter=BIG,
                               fit_intercept=fit_intercept).fit(X, y))
        if library == "celer" and model.positive:
            import celer

            return _coef(celer.Lasso(alpha=lam / 2, positive=True, tol=tol, max_iter=1000, max_epochs=BIG,
                                     fit_intercept=fit_intercept).fit(X, y))
    raise ValueError(f"{library!r} has no {model.name}")
