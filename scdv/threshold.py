"""Sparsity threshold of SCDV (stage 5)."""

from __future__ import annotations

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from .word_state import WordTopicState

__all__ = ["SparseThreshold", "row_min_max", "sparsity_threshold", "threshold_from_sums"]


def sparsity_threshold(row_mins, row_maxs, sparsity_percentage=0.04):
    """The SCDV threshold t from the extreme entries of the training vectors.

    Parameters
    ----------
    row_mins, row_maxs : array-like of shape (n_docs,)
        Smallest and largest entry of each (normalised) training vector.
    sparsity_percentage : float, default=0.04
        p in the formula below (the paper's 4%).

    Returns
    -------
    t : float

    Notes
    -----
    With a_min the mean of the rows' minima and a_max the mean of their maxima,

        t = p * (|a_max| + |a_min|) / 2

    and every entry with |x| < t is set to 0 (Mekala et al., 2017, Sec. 3).

    Examples
    --------
    >>> round(sparsity_threshold([-0.2, -0.4], [0.5, 0.3], 0.04), 6)
    0.014
    """
    return threshold_from_sums(float(np.sum(row_mins)), float(np.sum(row_maxs)),
                               len(row_mins), sparsity_percentage)


def threshold_from_sums(sum_of_mins, sum_of_maxs, n_docs, sparsity_percentage=0.04):
    """:func:`sparsity_threshold` from the sums of the rows' extremes.

    The form a map-reduce fit needs: each partition sends its sums and its
    number of documents, and the means are taken once at the end.

    Parameters
    ----------
    sum_of_mins, sum_of_maxs : float
        Sums over the training documents of each row's smallest and largest entry.
    n_docs : int
        Number of training documents (0 gives a threshold of 0).
    sparsity_percentage : float, default=0.04

    Returns
    -------
    t : float

    Examples
    --------
    >>> round(threshold_from_sums(-0.6, 0.8, 2, 0.04), 6)
    0.014
    """
    if n_docs == 0:
        return 0.0
    a_min, a_max = sum_of_mins / n_docs, sum_of_maxs / n_docs
    return sparsity_percentage * (abs(a_max) + abs(a_min)) / 2.0


def row_min_max(X):
    """Smallest and largest entry of each row, zeros included for sparse rows."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        n_cols = X.shape[1]
        lengths = np.diff(X.indptr)
        mins = np.zeros(X.shape[0])
        maxs = np.zeros(X.shape[0])
        rows = np.flatnonzero(lengths)
        if rows.size:
            starts = X.indptr[rows]
            mins[rows] = np.minimum.reduceat(X.data, starts)
            maxs[rows] = np.maximum.reduceat(X.data, starts)
            # A row with implicit zeros also has 0 among its entries.
            partial = lengths[rows] < n_cols
            mins[rows[partial]] = np.minimum(mins[rows[partial]], 0.0)
            maxs[rows[partial]] = np.maximum(maxs[rows[partial]], 0.0)
        return mins, maxs
    X = np.asarray(X)
    if X.shape[1] == 0:
        return np.zeros(X.shape[0]), np.zeros(X.shape[0])
    return X.min(axis=1), X.max(axis=1)


def _refuse_word_state(X):
    if isinstance(X, WordTopicState):
        raise ValueError(
            "SparseThreshold cuts document vectors, and got SCDV's word-level state: "
            "end the staged pipeline with WordTopicSum(), which sums, normalises and "
            "cuts (or WordTopicSum(sparsity_percentage=0) then SparseThreshold()).")


def apply_threshold(X, threshold, copy=True):
    """Zero every entry of ``X`` with ``|x| < threshold`` (sparse stays sparse)."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, copy=copy)
        X.data[np.abs(X.data) < threshold] = 0
        X.eliminate_zeros()
        return X
    X = np.array(X, copy=copy)
    X[np.abs(X) < threshold] = 0
    return X


class SparseThreshold(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Zero small entries, with a cut learned from the training rows (SCDV stage 5).

    Parameters
    ----------
    sparsity_percentage : float, default=0.04
        p in t = p * (|a_max| + |a_min|) / 2, where a_min and a_max are the
        means over training rows of each row's smallest and largest entry.

    Attributes
    ----------
    threshold_ : float
        The cut t; entries with |x| < t become 0, in training and new rows alike.
    n_features_in_ : int

    Notes
    -----
    The rows are expected to be normalised already (SCDV normalises before it
    cuts); the cut is not followed by re-normalisation, as in the paper.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.5, -0.2, 0.01], [0.3, -0.4, -0.001]])
    >>> cut = SparseThreshold().fit(X)
    >>> round(cut.threshold_, 6)
    0.014
    >>> cut.transform(X)
    array([[ 0.5, -0.2,  0. ],
           [ 0.3, -0.4,  0. ]])
    """

    _parameter_constraints = {"sparsity_percentage": [Interval(Real, 0, 1, closed="both")]}

    def __init__(self, *, sparsity_percentage=0.04):
        self.sparsity_percentage = sparsity_percentage

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn ``threshold_`` from the rows of ``X``.

        Returns
        -------
        self : SparseThreshold
        """
        _refuse_word_state(X)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32])
        mins, maxs = row_min_max(X)
        self.threshold_ = sparsity_threshold(mins, maxs, self.sparsity_percentage)
        return self

    def transform(self, X):
        """Zero the entries of ``X`` below ``threshold_`` in absolute value.

        Returns
        -------
        sparse matrix or ndarray, same shape and type as ``X``
        """
        check_is_fitted(self, "threshold_")
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )
        return apply_threshold(X, self.threshold_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
