"""Sparse matrices with duplicate entries (the same (row, column) stored twice).

A duplicate stands for the sum of its entries (scipy's meaning). The validation layer sums
them on a copy: the fit equals the fit on the canonical matrix, and the caller's matrix is
left as it was. A canonical matrix is not copied.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized._validation import canonical_sparse

RNG = np.random.default_rng(0)
N, P = 60, 8
X = RNG.standard_normal((N, P))
X[RNG.random((N, P)) < 0.5] = 0.0
Y = X @ RNG.standard_normal(P) + 0.1 * RNG.standard_normal(N)
LABELS = (Y > np.median(Y)).astype(int)


def _with_duplicates(dense, fmt):
    """The same matrix with every stored entry split in two halves at the same position."""
    coo = sp.coo_matrix(dense)
    rows, cols = np.r_[coo.row, coo.row], np.r_[coo.col, coo.col]
    data = np.r_[coo.data * 0.25, coo.data * 0.75]
    major, minor = (cols, rows) if fmt == "csc" else (rows, cols)
    order = np.lexsort((minor, major))
    indptr = np.r_[0, np.cumsum(np.bincount(major, minlength=dense.shape[1 if fmt == "csc" else 0]))]
    cls = sp.csc_matrix if fmt == "csc" else sp.csr_matrix
    M = cls((data[order], minor[order].astype(np.int32), indptr.astype(np.int32)), shape=dense.shape)
    assert not M.has_canonical_format and M.nnz == 2 * coo.nnz
    np.testing.assert_allclose(M.toarray(), dense)
    return M


@pytest.mark.parametrize("fmt", ["csc", "csr"])
@pytest.mark.parametrize("make", [
    lambda: pz.Lasso(lam=0.05, tol=1e-8, max_iter=20000),
    lambda: pz.LogisticRegression(penalty=pz.L1(0.02), tol=1e-8, max_iter=20000),
], ids=["Lasso", "LogisticL1"])
def test_duplicates_are_summed(fmt, make):
    target = LABELS if "Logistic" in type(make()).__name__ else Y
    M = _with_duplicates(X, fmt)
    before = (M.data.copy(), M.indices.copy(), M.indptr.copy())
    dup = make().fit(M, target)
    ref = make().fit(sp.csc_matrix(X), target)
    np.testing.assert_allclose(dup.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(dup.intercept_, ref.intercept_, atol=1e-6)
    np.testing.assert_allclose(dup.predict(M), ref.predict(X), atol=1e-6)
    # the caller's matrix is unchanged
    for new, old in zip((M.data, M.indices, M.indptr), before, strict=True):
        np.testing.assert_array_equal(new, old)


def test_regularization_path_sums_duplicates():
    M = _with_duplicates(X, "csc")
    dup = pz.regularization_path(M, Y, n_lambdas=5, tol=1e-8)
    ref = pz.regularization_path(sp.csc_matrix(X), Y, n_lambdas=5, tol=1e-8)
    np.testing.assert_allclose(np.asarray(dup.coefs), np.asarray(ref.coefs), atol=1e-6)


def test_canonical_matrix_is_not_copied():
    C = sp.csc_matrix(X)
    assert canonical_sparse(C) is C
    M = _with_duplicates(X, "csc")
    out = canonical_sparse(M)
    assert out is not M and out.has_canonical_format and out.nnz == sp.csc_matrix(X).nnz
