"""Sparse Composite Document Vectors: the composite transformer and its math.

Plain functions hold the algorithm (:func:`composite_document_vectors`,
:func:`fit_scdv`); :class:`SCDV` is a thin scikit-learn wrapper over them.
"""

from __future__ import annotations

import logging
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _kernels
from ._progress import progress_bar
from ._validation import check_choice, check_number, seed_from
from .clustering import COVARIANCE_TYPES, soft_cluster_words, too_few_words_message
from .threshold import sparsity_threshold
from .tokenize import make_tokenizer, tokenize_documents
from .weighting import count_matrix, smooth_idf
from .word_vectors import (
    normalize_rows,
    train_word_vectors,
    validate_word2vec_params,
)

logger = logging.getLogger(__name__)

__all__ = ["SCDV", "composite_document_vectors", "fit_scdv", "word_topic_vectors"]

#: Posteriors below this are skipped by the fast path; the error they would
#: add is bounded per document, which falls back to all clusters if needed.
PRUNE_BELOW = 1e-6
#: Largest error per normalised entry the fast path may make (the contract is 1e-5).
TOLERANCE = 1e-6


def word_topic_vectors(word_vectors, word_cluster_proba, idf):
    """Dense word-topic vectors, the paper's wtv_w, for a few words.

    wtv_w = idf(w) * concat_k( p(C_k | w) * v_w ), cluster-major: entry
    ``k * d + j`` is ``idf(w) * p(C_k|w) * v_w[j]``.

    Parameters
    ----------
    word_vectors : ndarray of shape (V, d)
    word_cluster_proba : ndarray of shape (V, K)
    idf : ndarray of shape (V,)

    Returns
    -------
    ndarray of shape (V, K * d), float64
        Dense: meant for checks and small vocabularies, not for a corpus.
    """
    v = np.asarray(word_vectors, dtype=np.float64)
    p = np.asarray(word_cluster_proba, dtype=np.float64)
    idf = np.asarray(idf, dtype=np.float64)
    out = idf[:, None, None] * p[:, :, None] * v[:, None, :]
    return out.reshape(len(v), -1)


def _pruned_posteriors(proba, prune_below):
    # Per word, the clusters kept by the fast path (CSR by word) and the mass
    # left out, summed from the small entries themselves to stay accurate.
    keep = proba >= prune_below
    p_indptr = np.zeros(proba.shape[0] + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=p_indptr[1:])
    rows, clusters = np.nonzero(keep)
    values = proba[rows, clusters].astype(np.float64)
    residual = np.where(keep, 0.0, proba).sum(axis=1)
    return p_indptr, clusters.astype(np.int64), values, residual


class _Kernel:
    """The fitted arrays, laid out once for the compiled kernel."""

    def __init__(self, word_vectors, word_cluster_proba, idf, prune_below=PRUNE_BELOW,
                 tolerance=TOLERANCE):
        self.vectors = np.ascontiguousarray(word_vectors, dtype=np.float32)
        self.proba = np.ascontiguousarray(word_cluster_proba, dtype=np.float64)
        self.idf = np.ascontiguousarray(idf, dtype=np.float64)
        self.norms = np.linalg.norm(self.vectors.astype(np.float64), axis=1)
        self.pruned = _pruned_posteriors(self.proba, prune_below)
        self.tolerance = float(tolerance)
        self.n_features = self.proba.shape[1] * self.vectors.shape[1]
        self.n_exact = 0

    def run(self, mode, counts, threshold=0.0, stats=None, out=None):
        counts = sp.csr_matrix(counts)
        n = counts.shape[0]
        if stats is None:
            stats = np.zeros((n, 2))
        indptr, indices, data = out if out is not None else (
            np.zeros(n + 1, np.int64), np.empty(0, np.int32), np.empty(0, np.float32))
        self.n_exact += _kernels.composite_vectors_kernel(
            mode,
            counts.indptr.astype(np.int64, copy=False),
            counts.indices.astype(np.int64, copy=False),
            counts.data.astype(np.float64, copy=False),
            self.idf, self.norms, self.vectors, self.proba, *self.pruned,
            float(threshold), self.tolerance, stats, indptr, indices, data,
        )
        return stats

    def row_min_max(self, counts):
        stats = self.run(_kernels.STATS, counts)
        return stats[:, 0], stats[:, 1]

    def vectors_of(self, count_batches, threshold, verbose=0):
        """CSR float32 of all batches, allocated once at its exact size."""
        sizes = []
        for counts in count_batches:
            sizes.append(self.run(_kernels.COUNT, counts, threshold)[:, 0].astype(np.int64))
        row_nnz = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
        indptr = np.zeros(len(row_nnz) + 1, dtype=np.int64)
        np.cumsum(row_nnz, out=indptr[1:])
        indices = np.empty(indptr[-1], dtype=np.int32)
        data = np.empty(indptr[-1], dtype=np.float32)
        offset = 0
        for counts in progress_bar(count_batches, desc="SCDV vectors", unit="batch",
                                   verbose=verbose):
            n = counts.shape[0]
            self.run(_kernels.WRITE, counts, threshold,
                     out=(indptr[offset:offset + n + 1], indices, data))
            offset += n
        if indptr[-1] <= np.iinfo(np.int32).max:
            indptr = indptr.astype(np.int32)
        return sp.csr_matrix((data, indices, indptr), shape=(len(row_nnz), self.n_features))


def composite_document_vectors(counts, word_vectors, word_cluster_proba, idf, threshold,
                               *, batch_size=2000, verbose=0):
    """SCDV vectors of documents given as bag-of-words counts.

    Parameters
    ----------
    counts : sparse matrix of shape (n_docs, V)
        How often each vocabulary word occurs in each document.
    word_vectors : ndarray of shape (V, d)
        v_w (SCDV uses unit-length vectors).
    word_cluster_proba : ndarray of shape (V, K)
        p(C_k | w).
    idf : ndarray of shape (V,)
    threshold : float
        Entries with |x| < threshold become 0.
    batch_size : int, default=2000
        Documents per compiled-kernel call (progress granularity).
    verbose : int, default=0

    Returns
    -------
    csr_matrix of shape (n_docs, K * d), float32

    Notes
    -----
    With wtv_w = idf(w) * concat_k( p(C_k|w) * v_w ) (length K*d, cluster-major),

        u = sum over the document's tokens t of wtv_t,   x = u / ||u||_2,

    then x_i := 0 where |x_i| < threshold; no re-normalisation follows
    (Mekala et al., 2017, Algorithm 1). A document with no vocabulary word is
    a zero row. Posteriors below ``PRUNE_BELOW`` are skipped, with a per-
    document error bound that triggers an exact recomputation whenever an
    entry could be off by more than ``TOLERANCE``; the dense (n_docs, K*d)
    matrix is never formed.
    """
    kernel = _Kernel(word_vectors, word_cluster_proba, idf)
    counts = sp.csr_matrix(counts)
    batches = [counts[i:i + batch_size] for i in range(0, counts.shape[0], batch_size)]
    return kernel.vectors_of(batches, threshold, verbose=verbose)


def fit_scdv(token_docs, *, vector_size=200, window=10, min_count=20, negative=10,
             sample=1e-3, epochs=25, n_components=60, covariance_type="tied",
             gmm_max_iter=50, sparsity_percentage=0.04, workers=1, seed=0, verbose=0):
    """Fit every SCDV stage on tokenised training documents.

    Parameters
    ----------
    token_docs : list of list of str
    vector_size, window, min_count, negative, sample, epochs, workers
        word2vec (skip-gram, negative sampling) settings.
    n_components, covariance_type, gmm_max_iter
        Gaussian-mixture settings.
    sparsity_percentage : float
        p of the threshold.
    seed : int
        Seeds both word2vec and the mixture.
    verbose : int

    Returns
    -------
    dict
        ``vocabulary``, ``word_vectors``, ``word_cluster_proba``, ``idf``,
        ``threshold`` and ``counts`` (the training count matrix).
    """
    if not token_docs:
        raise ValueError("The corpus is empty: fit needs at least one document.")
    words, raw = train_word_vectors(
        token_docs, vector_size=vector_size, window=window, min_count=min_count,
        negative=negative, sample=sample, epochs=epochs, workers=workers, seed=seed,
        verbose=verbose,
    )
    if len(words) < n_components:
        raise ValueError(
            too_few_words_message(len(words), n_components)
            + f" (min_count={min_count})"
        )
    vectors = normalize_rows(raw)
    logger.info("GMM: %d clusters over %d words", n_components, len(words))
    _, proba = soft_cluster_words(
        vectors, n_components=n_components, covariance_type=covariance_type,
        max_iter=gmm_max_iter, random_state=seed, verbose=max(verbose - 1, 0),
    )
    vocabulary = {w: i for i, w in enumerate(words)}
    counts = count_matrix(token_docs, vocabulary)
    idf = smooth_idf(np.diff(counts.tocsc().indptr), counts.shape[0])
    mins, maxs = _Kernel(vectors, proba, idf).row_min_max(counts)
    return {
        "vocabulary": vocabulary,
        "word_vectors": vectors,
        "word_cluster_proba": proba,
        "idf": idf,
        "threshold": sparsity_threshold(mins, maxs, sparsity_percentage),
        "counts": counts,
    }


class SCDV(TransformerMixin, BaseEstimator):
    """Sparse Composite Document Vectors: documents -> sparse CSR vectors.

    Fits, on the training documents: skip-gram word2vec word vectors, a
    Gaussian mixture that soft-clusters them, smoothed idf, and the sparsity
    threshold. ``transform`` then sums each document's word-topic vectors,
    normalises, and cuts small entries.

    Parameters
    ----------
    tokenizer : {"english", "janome"}, callable or None, default="english"
        How raw text becomes tokens (see :mod:`scdv.tokenize`). ``None``
        means each document is already a list of str tokens.
    stop_words : collection of str or None, default=None
        Replaces the named tokenizer's stop-word list.
    pos : sequence of str or None, default=None
        Parts of speech kept by the janome tokenizer (default nouns, verbs,
        adjectives).
    vector_size : int, default=200
        Word-vector dimension d.
    window : int, default=10
        word2vec context window.
    min_count : int, default=20
        Words rarer than this in training are left out.
    negative : int, default=10
        word2vec negative samples.
    sample : float, default=1e-3
        word2vec down-sampling of frequent words.
    epochs : int, default=25
        word2vec passes.
    n_components : int, default=60
        Number of clusters K.
    covariance_type : {"tied", "full", "diag", "spherical"}, default="tied"
        Gaussian-mixture covariance.
    gmm_max_iter : int, default=50
        EM iterations (the paper stops at 50).
    sparsity_percentage : float, default=0.04
        p in the threshold t = p * (|a_max| + |a_min|) / 2.
    workers : int, default=1
        word2vec threads. Only ``workers=1`` is exactly repeatable.
    batch_size : int, default=2000
        Documents tokenised and vectorised at a time in ``transform``.
    random_state : int, RandomState or None, default=None
        Seeds word2vec and the mixture (one seed drawn here, used for both).
    verbose : int, default=0
        0 is silent; 1 shows progress bars on stderr when it is a terminal;
        2 also prints EM iterations.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Word to row of the arrays below.
    word_vectors_ : ndarray of shape (V, vector_size), float32
        Unit-length word vectors.
    word_cluster_proba_ : ndarray of shape (V, n_components), float64
        p(C_k | w).
    idf_ : ndarray of shape (V,), float64
        Smoothed idf over the training documents.
    threshold_ : float
        The sparsity cut learned from the training documents.

    Notes
    -----
    For a document with tokens t_1..t_n (repeats count again, out-of-vocabulary
    tokens are skipped):

        wtv_w = idf(w) * concat_k( p(C_k|w) * v_w )          (length K*d)
        u = sum_i wtv_{t_i},   x = u / ||u||_2                (0 stays 0)
        x_j := 0  where |x_j| < t,   t = p * (|a_max| + |a_min|) / 2

    where a_min and a_max are the means over training documents of each
    normalised vector's smallest and largest entry, and
    idf(w) = ln((1+n)/(1+df(w))) + 1. Column ``k * d + j`` is dimension j of
    cluster k.

    Deviations from the paper's code, on purpose: stop words are
    scikit-learn's English list rather than NLTK's; HTML is not stripped;
    word2vec runs on one thread by default so that results repeat. With
    ``workers=1`` and an int ``random_state`` two fits give identical output;
    seeding does not depend on ``PYTHONHASHSEED``.

    References
    ----------
    .. [1] D. Mekala, V. Gupta, B. Paranjape and H. Karnick, "SCDV: Sparse
       Composite Document Vectors using soft clustering over distributional
       representations", EMNLP 2017.

    Examples
    --------
    >>> from scdv import SCDV
    >>> docs = ["the cat sat on the mat", "dogs chase cats", "a cat and a dog"] * 10
    >>> model = SCDV(vector_size=10, n_components=2, min_count=1, epochs=2,
    ...              random_state=0).fit(docs)
    >>> X = model.transform(["a cat", "unknown words only"])
    >>> X.shape, X.dtype
    ((2, 20), dtype('float32'))
    >>> X[1].nnz
    0
    """

    def __init__(
        self,
        *,
        tokenizer="english",
        stop_words=None,
        pos=None,
        vector_size=200,
        window=10,
        min_count=20,
        negative=10,
        sample=1e-3,
        epochs=25,
        n_components=60,
        covariance_type="tied",
        gmm_max_iter=50,
        sparsity_percentage=0.04,
        workers=1,
        batch_size=2000,
        random_state=None,
        verbose=0,
    ):
        self.tokenizer = tokenizer
        self.stop_words = stop_words
        self.pos = pos
        self.vector_size = vector_size
        self.window = window
        self.min_count = min_count
        self.negative = negative
        self.sample = sample
        self.epochs = epochs
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.gmm_max_iter = gmm_max_iter
        self.sparsity_percentage = sparsity_percentage
        self.workers = workers
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose

    def _validate_params(self):
        validate_word2vec_params(self)
        make_tokenizer(self.tokenizer, stop_words=self.stop_words, pos=self.pos)
        check_number(self.n_components, "n_components", kind=numbers.Integral, low=1)
        check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_number(self.gmm_max_iter, "gmm_max_iter", kind=numbers.Integral, low=1)
        check_number(self.sparsity_percentage, "sparsity_percentage", low=0, high=1)
        check_number(self.batch_size, "batch_size", kind=numbers.Integral, low=1)

    def _tokenize(self, X):
        return tokenize_documents(X, self.tokenizer, stop_words=self.stop_words, pos=self.pos)

    def _fit(self, X):
        self._validate_params()
        docs = self._tokenize(X)
        fitted = fit_scdv(
            docs, vector_size=self.vector_size, window=self.window,
            min_count=self.min_count, negative=self.negative, sample=self.sample,
            epochs=self.epochs, n_components=self.n_components,
            covariance_type=self.covariance_type, gmm_max_iter=self.gmm_max_iter,
            sparsity_percentage=self.sparsity_percentage, workers=self.workers,
            seed=seed_from(self.random_state), verbose=self.verbose,
        )
        self.vocabulary_ = fitted["vocabulary"]
        self.word_vectors_ = fitted["word_vectors"]
        self.word_cluster_proba_ = fitted["word_cluster_proba"]
        self.idf_ = fitted["idf"]
        self.threshold_ = fitted["threshold"]
        return fitted["counts"]

    def fit(self, X, y=None):
        """Learn the vocabulary, word vectors, clusters, idf and threshold.

        Parameters
        ----------
        X : iterable of str (or of lists of str when ``tokenizer=None``)
            Training documents.
        y : ignored

        Returns
        -------
        self : SCDV
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then return the training documents' vectors (tokenised once).

        Returns
        -------
        csr_matrix of shape (n_docs, n_components * vector_size), float32
        """
        counts = self._fit(X)
        return self._vectorize([counts[i:i + self.batch_size]
                                for i in range(0, counts.shape[0], self.batch_size)])

    def transform(self, X):
        """SCDV vectors of documents.

        Parameters
        ----------
        X : iterable of str (or of lists of str when ``tokenizer=None``)

        Returns
        -------
        csr_matrix of shape (n_docs, n_components * vector_size), float32
            A document with no vocabulary word is an all-zero row.
        """
        check_is_fitted(self, "threshold_")
        docs = self._tokenize(X)
        batches = []
        for i in progress_bar(range(0, len(docs), self.batch_size), desc="counting",
                              unit="batch", verbose=self.verbose):
            batches.append(count_matrix(docs[i:i + self.batch_size], self.vocabulary_))
        return self._vectorize(batches)

    def _vectorize(self, count_batches):
        kernel = _Kernel(self.word_vectors_, self.word_cluster_proba_, self.idf_)
        X = kernel.vectors_of(count_batches, self.threshold_, verbose=self.verbose)
        if kernel.n_exact:
            logger.debug("%d documents needed the exact path", kernel.n_exact)
        return X

    def get_feature_names_out(self, input_features=None):
        """Output feature names ``cluster{k}_dim{j}``, in column order.

        Returns
        -------
        ndarray of str objects, shape (n_components * vector_size,)
        """
        check_is_fitted(self, "threshold_")
        K = self.word_cluster_proba_.shape[1]
        d = self.word_vectors_.shape[1]
        return np.asarray(
            [f"cluster{k}_dim{j}" for k in range(K) for j in range(d)], dtype=object
        )

    def save(self, path):
        """Save the fitted model without pickle; see :func:`scdv.load`."""
        from .persistence import save

        save(self, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
