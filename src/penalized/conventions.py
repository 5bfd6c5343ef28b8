"""glmnet's penalty in penalized's scale: :func:`glmnet_penalty`.

glmnet minimises, for ``family="gaussian"``,

    1/(2n) Σ a_i (y_i − x_iᵀβ − b)² + λ·Σ_j v_j (α|β_j| + (1 − α)/2·β_j²),

but on a response it has first divided by its (weighted, 1/n) standard deviation ``σ_y``, with λ
divided by ``σ_y`` too; back on the scale of ``y`` this leaves the L1 part alone and divides the
ridge part by ``σ_y``. Multiplied by 2 (penalized's mean squared error carries no ½):

    MSE + 2λα·Σ v_j|β_j| + (λ(1 − α)/σ_y)·Σ v_j β_j²  =  MSE + L1L2(l1=2λα, l2=λ(1−α)/σ_y, weights=v).

(glmnet's documentation states the objective before this standardization of ``y``; its fits are
those of the line above, which the tests check against glmnet's Fortran.) For the other families
(``"binomial"``, ``"poisson"``, ``"multinomial"``, ``"cox"``) glmnet's loss is ``−(1/n)·loglik``,
which is penalized's data fit, and ``y`` is not standardized: ``L1L2(l1=λα, l2=λ(1−α)/2)``.

glmnet rescales ``penalty.factor`` to sum to the number of features, ``v = p·pf / Σ pf``; the
penalty's ``weights`` are ``v``. ``standardize=TRUE`` (glmnet's default) is the estimator's
``standardize=True``; glmnet's ``intercept=FALSE`` still uses the centred ``σ_y``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .penalties import L1L2, check_penalty_weights, check_strength

__all__ = ["glmnet_penalty", "GLMNET_FAMILIES"]

GLMNET_FAMILIES = ("gaussian", "binomial", "poisson", "multinomial", "cox")


def glmnet_penalty(lambda_, alpha=1.0, *, y=None, penalty_factor=None, sample_weight=None, family="gaussian"):
    """The penalty object that makes a penalized fit equal to glmnet's at ``lambda_``.

    ``glmnet(x, y, family, alpha, lambda = lambda_, penalty.factor = pf, weights = w)`` equals
    the penalized estimator with ``penalty=glmnet_penalty(lambda_, alpha, y=y, penalty_factor=pf,
    sample_weight=w, family=family)`` and ``standardize=True`` (glmnet's default; ``False`` for
    ``standardize=FALSE``), the same weights, and ``fit_intercept`` as glmnet's ``intercept``.

    Parameters
    ----------
    lambda_ : float ≥ 0
        glmnet's ``lambda``.
    alpha : float in [0, 1], default 1
        glmnet's ``alpha`` (1: the lasso, 0: ridge).
    y : array (n_samples,), optional
        The response: needed for ``family="gaussian"`` with ``alpha < 1`` (its standard
        deviation enters the ridge part).
    penalty_factor : array (n_features,), optional
        glmnet's ``penalty.factor`` (≥ 0, not all 0); rescaled to sum to ``n_features`` as glmnet does.
    sample_weight : array (n_samples,), optional
        glmnet's ``weights`` (they weigh ``σ_y``).
    family : {"gaussian", "binomial", "poisson", "multinomial", "cox"}, default "gaussian"
        ``"multinomial"`` is glmnet's ``type.multinomial = "ungrouped"``.

    Returns
    -------
    L1L2
        ``L1L2(l1=2λα, l2=λ(1−α)/σ_y, weights=v)`` (gaussian) or ``L1L2(l1=λα, l2=λ(1−α)/2,
        weights=v)`` (the others); ``v`` the rescaled penalty factors (None without them).
    """
    lam = check_strength(lambda_, "lambda_")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}.")
    alpha = float(alpha)
    if family not in GLMNET_FAMILIES:
        raise ValueError(f"family must be one of {', '.join(map(repr, GLMNET_FAMILIES))}, got {family!r}.")
    weights = _rescaled_factors(penalty_factor)
    if family != "gaussian":
        return L1L2(l1=lam * alpha, l2=lam * (1.0 - alpha) / 2.0, weights=weights)
    if alpha == 1.0:
        return L1L2(l1=2.0 * lam, l2=0.0, weights=weights)
    return L1L2(l1=2.0 * lam * alpha, l2=lam * (1.0 - alpha) / _response_sd(y, sample_weight), weights=weights)


def _rescaled_factors(penalty_factor):
    if penalty_factor is None:
        return None
    pf = check_penalty_weights(penalty_factor, name="penalty_factor")
    if pf.sum() <= 0:
        raise ValueError("penalty_factor must have a positive entry (glmnet rescales it to sum to n_features).")
    return pf * (pf.shape[0] / pf.sum())


def _response_sd(y, sample_weight):
    """glmnet's ``σ_y``: the weighted, 1/n, centred standard deviation of ``y``."""
    if y is None:
        raise ValueError("family='gaussian' with alpha < 1 needs y=: glmnet divides the ridge part by the "
                         "standard deviation of y.")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or not np.all(np.isfinite(y)):
        raise ValueError(f"y must be a finite 1-D array, got shape {y.shape}.")
    a = np.full(y.shape[0], 1.0 / y.shape[0]) if sample_weight is None else (
        np.asarray(sample_weight, dtype=np.float64) / np.sum(sample_weight))
    if a.shape != y.shape:
        raise ValueError(f"sample_weight has {a.shape[0]} entries but y has {y.shape[0]}.")
    sd = float(np.sqrt(a @ (y - a @ y) ** 2))
    if not sd > 0:
        raise ValueError("y is constant: glmnet's ridge part λ(1−α)/sd(y) is undefined (every fit is the mean).")
    return sd
