"""Inverse document frequency (SCDV stage 3)."""

from __future__ import annotations

import re
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _kernels
from .word_state import looks_like_tokens, staged_state

__all__ = ["IDFWeighter", "TokenIds", "count_matrix", "count_texts", "sif_weights", "smooth_idf",
           "term_weights"]


def smooth_idf(document_frequency, n_documents):
    """Smoothed inverse document frequency, scikit-learn's formula.

    Parameters
    ----------
    document_frequency : array-like of shape (V,)
        df(w): how many documents contain w.
    n_documents : int
        n: how many documents there are.

    Returns
    -------
    idf : ndarray of shape (V,), float64

    Notes
    -----
    idf(w) = ln((1 + n) / (1 + df(w))) + 1, as in
    ``TfidfTransformer(smooth_idf=True)``: as if one extra document contained
    every word once, so no idf is infinite.

    Examples
    --------
    >>> smooth_idf([1, 3], 3).round(4)
    array([1.6931, 1.    ])
    """
    df = np.asarray(document_frequency, dtype=np.float64)
    return np.log((1.0 + n_documents) / (1.0 + df)) + 1.0


def sif_weights(term_counts, a=1e-3):
    """Smooth inverse frequency a / (a + p(w)), p(w) each word's share of the tokens.

    Parameters
    ----------
    term_counts : array-like of shape (V,)
        How often each vocabulary word occurs in the training documents
        (tokens outside the vocabulary do not count).
    a : float, default=1e-3
        Smaller a discounts frequent words more.

    Returns
    -------
    ndarray of shape (V,), float64, in (0, 1]

    Notes
    -----
    Arora, Liang and Ma (ICLR 2017) weigh word vectors so; P-SIF (Gupta et
    al., AAAI 2020) multiplies SCDV-style idf by it, which
    ``SCDV(weighting="sif")`` does.

    Examples
    --------
    >>> sif_weights([1, 999], a=1e-3).round(4)
    array([0.5  , 0.001])
    """
    counts = np.asarray(term_counts, dtype=np.float64)
    total = counts.sum()
    share = counts / total if total > 0 else counts
    return a / (a + share)


def term_weights(counts, sublinear_tf=False):
    """Term frequency as the composite sum weighs it: c, or 1 + ln c.

    ``sublinear_tf`` follows ``TfidfTransformer(sublinear_tf=True)``; a
    count of 0 stays 0. Returns float64.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if not sublinear_tf:
        return counts
    weights = np.zeros_like(counts)
    np.log(counts, out=weights, where=counts > 0)
    weights[counts > 0] += 1.0
    return weights


class TokenIds:
    """Documents as the vocabulary columns of their tokens, not yet counted.

    Looking tokens up in the vocabulary needs the interpreter; counting them
    does not (``scdv._kernels.bag_of_words`` releases the GIL), so
    ``SCDV.transform`` looks token lists up on the main thread and lets its
    worker threads count them, a row slice each.

    Parameters
    ----------
    indptr : ndarray of shape (n_docs + 1,), int64
        Document i's tokens are ``ids[indptr[i]:indptr[i + 1]]``.
    ids : ndarray, int32
        Each token's column, or -1 for a token outside the vocabulary.
    n_features : int
        The vocabulary's size.
    """

    def __init__(self, indptr, ids, n_features):
        self.indptr, self.ids, self.n_features = indptr, ids, n_features

    @classmethod
    def lookup(cls, token_docs, vocabulary):
        """Look every token of ``token_docs`` up in ``vocabulary`` (str -> column)."""
        # One C-level pass (map over dict.get): a Python loop per token
        # would cost twice as much.
        indptr = np.zeros(len(token_docs) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, token_docs), dtype=np.int64, count=len(token_docs)),
                  out=indptr[1:])
        ids = np.fromiter(
            map(vocabulary.get, chain.from_iterable(token_docs), repeat(-1)),
            dtype=np.int32, count=int(indptr[-1]),
        )
        # The compiled counting trusts the ids: a vocabulary edited to map a
        # word past its size must fail here, not write out of bounds.
        if ids.size and (ids.max() >= len(vocabulary) or ids.min() < -1):
            raise ValueError(f"The vocabulary maps words to columns {int(ids.min())} .. "
                             f"{int(ids.max())}, outside its {len(vocabulary)} words.")
        return cls(indptr, ids, len(vocabulary))

    @property
    def shape(self):
        return (len(self.indptr) - 1, self.n_features)

    def __getitem__(self, rows):
        # Rows [start:stop]; the slice shares ``ids``.
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError("TokenIds takes contiguous row slices only")
        return TokenIds(self.indptr[start:max(start, stop) + 1], self.ids, self.n_features)

    def counts(self, dtype=np.float64):
        """The (n_docs, V) count matrix, canonical CSR."""
        indptr, words, counts = _kernels.bag_of_words(self.indptr, self.ids, self.n_features)
        return sp.csr_matrix((counts.astype(dtype, copy=False), words, indptr),
                             shape=self.shape)


def count_matrix(token_docs, vocabulary, dtype=np.float32):
    """Bag-of-words counts of token lists over a fixed vocabulary.

    Parameters
    ----------
    token_docs : list of list of str
    vocabulary : dict of str to int
        Token to column; tokens outside it are skipped.
    dtype : numpy dtype, default=float32

    Returns
    -------
    counts : csr_matrix of shape (n_docs, len(vocabulary))
        Canonical CSR (sorted column indices, no duplicates).
    """
    return TokenIds.lookup(token_docs, vocabulary).counts(dtype)


#: Documents longer than this many characters are tokenised piece by piece.
LONG_DOCUMENT = 1_000_000


#: Up to and including the last character of a window that is no letter or
#: digit (whitespace of any kind, U+3000, "." or "。"): where a piece may end.
_LAST_BREAK = re.compile(r".*[\W_]", re.DOTALL)


def _pieces(text, size):
    # Cut after the last separator before each boundary, so words stay whole
    # (a hard cut only where a piece has no separator at all).
    start = 0
    while start < len(text):
        stop = min(start + size, len(text))
        if stop < len(text):
            found = _LAST_BREAK.match(text, start, stop)
            if found is not None and found.end() > start:
                stop = found.end()
        yield text[start:stop]
        start = stop


def count_texts(texts, tokenizer, vocabulary, *, long_document=LONG_DOCUMENT,
                dtype=np.float32):
    """Bag-of-words counts of raw texts, tokenising long ones piece by piece.

    Parameters
    ----------
    texts : list of str
    tokenizer : callable str -> list of str
    vocabulary : dict of str to int
    long_document : int, default=1,000,000
        Texts longer than this (in characters) are cut at whitespace into
        pieces of about this size, so a single huge document never has all
        its tokens in memory at once.
    dtype : numpy dtype, default=float32

    Returns
    -------
    counts : csr_matrix of shape (len(texts), len(vocabulary))
    """
    short = [tokenizer(t) if len(t) <= long_document else [] for t in texts]
    counts = count_matrix(short, vocabulary, dtype=dtype)
    del short
    long_rows = [i for i, t in enumerate(texts) if len(t) > long_document]
    if not long_rows:
        return counts
    counts = counts.tolil()
    for i in long_rows:
        total = np.zeros(len(vocabulary), dtype=np.float64)
        for piece in _pieces(texts[i], long_document):
            row = count_matrix([tokenizer(piece)], vocabulary, dtype=np.float64)
            total[row.indices] += row.data
        columns = np.flatnonzero(total)
        counts.rows[i], counts.data[i] = list(columns), list(total[columns].astype(dtype))
    return counts.tocsr()


class IDFWeighter(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Scale term counts by smoothed inverse document frequency (SCDV stage 3).

    Like ``TfidfTransformer(norm=None, smooth_idf=True)``: a numeric stage
    from a (n_docs, V) count matrix to the same matrix times idf. Sparse input
    stays sparse.

    In a staged SCDV pipeline (see :mod:`scdv.word_state`) it takes the
    documents passed on by :class:`SGNSWord2Vec` or :class:`GMMSoftClusterer`
    instead: it learns idf over the vocabulary from their tokens and passes
    it on with them, for :class:`WordTopicSum`.

    Parameters
    ----------
    dtype : numpy dtype, default=np.float32
        Output type.

    Attributes
    ----------
    idf_ : ndarray of shape (V,), float64
        idf(w) = ln((1 + n) / (1 + df(w))) + 1.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> IDFWeighter().fit(np.array([[1, 0], [2, 1]])).idf_.round(4)
    array([1.    , 1.4055])
    """

    _parameter_constraints = {"dtype": "no_validation"}  # numpy accepts many spellings

    def __init__(self, *, dtype=np.float32):
        self.dtype = dtype

    @staticmethod
    def _staged(X):
        state = staged_state(X)
        if state is None and looks_like_tokens(X):
            raise ValueError(
                "IDFWeighter weighs a count matrix, and got token lists: put "
                "SGNSWord2Vec() before it (or count the tokens first).")
        return state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn idf from the document frequencies of the count matrix ``X``.

        Returns
        -------
        self : IDFWeighter
        """
        state = self._staged(X)
        if state is not None:
            X = count_matrix(state.tokens, state.vocabulary)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32])
        if sp.issparse(X):
            df = np.bincount(X.indices[X.data != 0], minlength=X.shape[1])
        else:
            df = np.count_nonzero(X, axis=0)
        self.idf_ = smooth_idf(df, X.shape[0])
        return self

    def transform(self, X):
        """Multiply each column of ``X`` by its idf.

        Returns
        -------
        sparse matrix or ndarray of shape (n_docs, V)
            Or, for staged documents, a :class:`scdv.word_state.WordTopicState`
            that carries the idf of every vocabulary word.
        """
        check_is_fitted(self, "idf_")
        state = self._staged(X)
        if state is not None:
            if len(state.vocabulary) != len(self.idf_):
                raise ValueError(
                    f"IDFWeighter was fitted on {len(self.idf_)} words, and these "
                    f"documents come with a vocabulary of {len(state.vocabulary)}.")
            return state.with_state(idf=self.idf_)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False,
            copy=True,
        )
        if sp.issparse(X):
            X.data *= self.idf_[X.indices]
            return X.astype(self.dtype, copy=False)
        return (X * self.idf_).astype(self.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
