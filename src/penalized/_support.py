"""The selected features of a fitted linear model (those with a non-zero coefficient): one mixin for
every estimator with a ``coef_`` of shape (p,) or (n_outputs, p)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted


class SupportMixin:
    # -- feature selection ----------------------------------------------------------------
    def get_support(self, indices=False):
        """Mask (or indices) of the features with a non-zero coefficient."""
        check_is_fitted(self)
        mask = np.any(np.atleast_2d(self.coef_) != 0, axis=0)
        return np.flatnonzero(mask) if indices else mask

    @property
    def selected_features_(self):
        """Names of the features with a non-zero coefficient (``x0, x1, …`` without names)."""
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.array([f"x{j}" for j in range(self.n_features_in_)], dtype=object)
        return names[self.get_support()]
