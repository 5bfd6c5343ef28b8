"""Fitting on data that no machine holds: Dask arrays and DataFrames on a ``dask.distributed`` cluster.

The estimators (:class:`~penalized.Lasso`, :class:`~penalized.ElasticNet`,
:class:`~penalized.Ridge`, :class:`~penalized.LinearRegression`,
:class:`~penalized.LogisticRegression`, :class:`~penalized.PoissonRegressor`,
:class:`~penalized.MultiTaskLasso`, :class:`~penalized.MultiTaskElasticNet`; with
``bounds=``/``positive=`` and ``fit(offset=...)``) and the CV estimators
(:class:`~penalized.LassoCV`, :class:`~penalized.ElasticNetCV`) and
:func:`~penalized.regularization_path` (squared error) route a Dask ``X`` here, with every
penalty the in-memory solver takes for them (the elastic net, MCP, SCAD, BerHu, group penalties;
each through its own compiled block, :mod:`.bridge`);
nothing else changes for the user: the same objective, the same certificate
(``dual_gap_``), an ordinary fitted estimator. ``X`` is never gathered on the client:
every pass over the data is a set of chunk tasks whose results (vectors, and ``p × p``
matrices) are summed on the cluster by a tree reduction.

- squared error: one pass computes the sufficient statistics (weighted means and the
  centred ``[X, y]ᵀA[X, y]``), merged across chunks with Chan et al.'s pairwise update
  (no cancellation from uncentred sums); the client then solves the problem in Gram
  mode (:mod:`.bridge`), a whole λ path and every CV fold included, without another
  pass. Beyond :data:`~.newton.GRAM_MAX_FEATURES` features, working-set Newton passes
  (below) take over.
- more than two classes (:mod:`.multinomial`): distributed proximal Newton on ``(W, b)``, each
  model solved by the in-memory block solver.
- several targets (:mod:`.multitask`): the same one pass, then the block solver on the client;
  group penalties (:mod:`.groups`) are the block solver's and block certificate's too.
- log-loss and Poisson: distributed proximal Newton (:mod:`.newton`); the per-sample
  formulas are the data fits' own (:mod:`penalized.datafits`), the certificate's terms the
  compiled kernels' (:mod:`.bridge`). With an offset, the squared error's statistics are
  those of ``y − offset``; the other data fits find their null model by Newton passes on
  the intercept. Pass 0 also finds the classes
  (per label: its weight and weighted sum of ``x``, which give every binary and
  one-vs-rest problem's statistics). Each further pass returns the gradient, the weighted
  Hessian on the working set, the loss at a set of trial steps (the line search of the
  previous direction costs no extra pass) and the data term of the duality gap at the
  current point.

The modules: :mod:`.data` (validation, chunk alignment), :mod:`.chunks` (the NumPy
functions run on the workers), :mod:`.bridge` (the only calls into penalized's solver),
:mod:`.newton` (the algorithms), :mod:`.estimators` and :mod:`.cv` (the glue).
Importing this package does not import dask.
"""

from __future__ import annotations

__all__ = ["is_dask_collection"]


def is_dask_collection(obj):
    """Whether ``obj`` is a Dask collection (array, DataFrame, Series, …), without importing dask."""
    return hasattr(obj, "__dask_graph__") and hasattr(obj, "__dask_keys__") and not isinstance(obj, type)
