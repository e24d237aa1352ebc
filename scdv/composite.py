"""Sparse Composite Document Vectors: the composite transformer and its math.

Plain functions hold the algorithm (:func:`composite_document_vectors`,
:func:`fit_scdv`); :class:`SCDV` is a thin scikit-learn wrapper over them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

from . import _kernels, persistence
from ._progress import progress_bar
from ._validation import check_documents, check_token_documents, seed_from
from .clustering import COVARIANCE_TYPES, too_few_words_message
from .power import power_normalize_rows
from .fit_steps import count_words, learn_posteriors, learn_word_vectors, learn_word_weights
from .threshold import sparsity_threshold
from .tokenize import make_tokenizer, tokenize_documents
from .weighting import TokenIds, count_matrix, count_texts, term_weights
from .word_state import staged_state
from .word_vectors import WORD2VEC_CONSTRAINTS, load_word_vectors

logger = logging.getLogger(__name__)

__all__ = ["SCDV", "WordTopicSum", "composite_document_vectors", "fit_scdv", "load",
           "save", "word_topic_vectors"]


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


#: The fast path adds the pairs (word, cluster) with p(C_k|w) at least this;
#: the rest is bounded per document (see ``scdv._kernels``).
KEEP_POSTERIOR = 1e-5
#: A document whose bound exceeds this per-entry error is computed exactly.
#: Half the 1e-5 the tests hold the output to.
TOLERANCE = 5e-6


def _rounded_up(x):
    # float32 no smaller than x: still an upper bound after rounding.
    low = x.astype(np.float32)
    return np.where(low < x, np.nextafter(low, np.float32(np.inf)), low)


class _Kernel:
    """The fitted arrays, laid out once for the compiled kernel."""

    def __init__(self, word_vectors, word_cluster_proba, idf, keep=KEEP_POSTERIOR,
                 tolerance=TOLERANCE, sublinear_tf=False):
        lengths = [len(word_vectors), len(word_cluster_proba), len(idf)]
        if len(set(lengths)) > 1:
            raise ValueError(
                "word_vectors, word_cluster_proba and idf must have a row per word; got "
                f"{', '.join(map(str, lengths))} rows.")
        # Accumulation is in float64 and only the output is rounded to
        # float32. float32 word vectors (SCDV's own) stay float32: widening
        # them is exact, and half the bytes per word read are half the
        # memory traffic of the kernel's inner loop.
        vectors = np.asarray(word_vectors)
        dtype = np.float32 if vectors.dtype == np.float32 else np.float64
        self.vectors = np.ascontiguousarray(vectors, dtype=dtype)
        proba = np.asarray(word_cluster_proba, dtype=np.float64)
        self.proba_t = np.ascontiguousarray(proba.T)
        self.idf = np.ascontiguousarray(idf, dtype=np.float64)
        self.n_features = proba.shape[1] * self.vectors.shape[1]
        kept = proba >= keep
        self.p_indptr = np.zeros(len(proba) + 1, dtype=np.int64)
        np.cumsum(kept.sum(axis=1), out=self.p_indptr[1:])
        rows, self.p_clusters = np.nonzero(kept)
        self.p_values = np.ascontiguousarray(proba[rows, self.p_clusters])
        # What each word leaves out, for the error bounds of ``_kernels``.
        left = np.where(kept, 0.0, proba)
        self.vector_norm = np.linalg.norm(self.vectors.astype(np.float64), axis=1)
        self.vector_peak = np.abs(self.vectors).max(axis=1, initial=0.0).astype(np.float64)
        self.word_left_norm = self.vector_norm * np.linalg.norm(left, axis=1)
        self.word_left_peak = self.vector_peak * left.max(axis=1, initial=0.0)
        self.left = _rounded_up(left)
        self.tolerance = float(tolerance)
        self.sublinear_tf = bool(sublinear_tf)
        self.n_exact = 0  # documents that took the exact path (a diagnostic)

    def _call(self, mode, counts, threshold, stats, first_doc, out):
        # The compiled code trusts every column index: check them, once a batch.
        if counts.shape[1] != len(self.idf) or (
                counts.nnz and (counts.indices.min() < 0
                                or counts.indices.max() >= len(self.idf))):
            raise ValueError(f"Counts of {counts.shape[1]} columns do not fit a model of "
                             f"{len(self.idf)} words.")
        next_doc, n_exact = _kernels.composite_vectors_kernel(
            mode,
            counts.indptr.astype(np.int64, copy=False),
            counts.indices.astype(np.int64, copy=False),
            term_weights(counts.data, self.sublinear_tf),
            self.idf, self.vectors, self.proba_t, self.p_indptr, self.p_clusters,
            self.p_values, self.vector_norm, self.vector_peak, self.left,
            self.word_left_norm, self.word_left_peak, float(threshold),
            self.tolerance, stats, first_doc, *out,
        )
        self.n_exact += n_exact
        return next_doc

    def row_min_max(self, counts, n_jobs=1):
        """Smallest and largest entry of each normalised, unthresholded row."""
        def stats_of(part):
            stats = np.zeros((part.shape[0], 2))
            empty = (np.zeros(part.shape[0] + 1, np.int64), np.empty(0, np.int32),
                     np.empty(0, np.float32))
            self._call(_kernels.STATS, part, 0.0, stats, 0, empty)
            return stats

        parts = _split_rows(sp.csr_matrix(counts), n_jobs)
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            stats = np.concatenate(list(pool.map(stats_of, parts)))
        return stats[:, 0], stats[:, 1]

    def write_rows(self, counts, threshold, out, per_row):
        """Write the rows of ``counts`` into ``out = [indptr, indices, data]``.

        ``out[0][0]`` is where the first row starts in the other two arrays.
        They must hold at least one row's worth; when a row does not fit they
        grow in place (``ndarray.resize``: a large array is remapped, not
        copied) to the expected size of the rest at ``per_row`` entries a row.
        """
        counts = _counted(counts)
        indptr, indices, data = out
        no_stats = np.zeros((0, 2))
        n_rows = counts.shape[0]
        doc = 0
        while doc < n_rows:
            doc = self._call(_kernels.WRITE, counts, threshold, no_stats, doc,
                             (indptr, indices, data))
            if doc < n_rows:
                wanted = int(indptr[doc]) + int(1.1 * per_row * (n_rows - doc))
                capacity = max(wanted, int(indptr[doc]) + self.n_features,
                               int(1.25 * len(data)))
                data.resize(capacity, refcheck=False)
                indices.resize(capacity, refcheck=False)
        return int(indptr[-1])

    def _row_nnz_estimate(self, counts, threshold):
        # Entries per row on about 64 rows spread over the first batch, to
        # size the output once: np.empty neither copies nor zero-fills, and
        # the pages it reserves beyond what is written are never touched.
        sample = counts[::max(1, counts.shape[0] // 64)]
        out = (np.zeros(sample.shape[0] + 1, np.int64),
               np.empty(sample.shape[0] * self.n_features, np.int32),
               np.empty(sample.shape[0] * self.n_features, np.float32))
        n_exact = self.n_exact  # the sample is not part of the output
        self._call(_kernels.WRITE, sample, threshold, np.zeros((0, 2)), 0, out)
        self.n_exact = n_exact
        return out[0][-1] / max(sample.shape[0], 1)

    def _output_arrays(self, n_rows, per_row):
        capacity = int(1.1 * per_row * n_rows) + self.n_features
        # The estimate comes from the first batch: long documents first and
        # millions of empty ones after would reserve more than there is.
        # Reserve at most half the memory left; the arrays grow in place
        # if the rows turn out to need more.
        budget = persistence.memory_budget()
        if budget is not None:
            capacity = min(capacity, max(budget // 16, self.n_features))
        return (np.zeros(n_rows + 1, np.int64), np.empty(capacity, np.int32),
                np.empty(capacity, np.float32))

    def vectors_of(self, count_batches, threshold, n_jobs=1, verbose=0, n_docs=None):
        """CSR float32 of the rows of all count batches.

        A batch is a count matrix or a ``TokenIds`` (tokens looked up, not
        yet counted: the worker threads count it). ``count_batches`` may be
        a generator (``transform`` tokenises raw text lazily), in which case
        ``n_docs`` must be given. On one
        thread, rows go straight into the output arrays. With threads, the
        batches are cut into parts that worker threads vectorise (the kernel
        releases the GIL) while this thread goes on producing batches; each
        finished part is copied into the output, in order, as soon as it is
        at the front of the queue, so at most a few parts wait besides it.
        """
        if n_docs is None:
            count_batches = list(count_batches)
            n_docs = sum(c.shape[0] for c in count_batches)
        out = None
        bar = progress_bar(total=n_docs, desc="SCDV vectors", unit="doc", verbose=verbose)
        pool = ThreadPoolExecutor(max_workers=n_jobs) if n_jobs > 1 else None
        pending = deque()
        try:
            with bar:
                for counts in count_batches:
                    if out is None:
                        counts = _counted(counts)
                        per_row = self._row_nnz_estimate(counts, threshold)
                        out = _Output(self._output_arrays(n_docs, per_row), bar)
                    if pool is None:
                        self.write_rows(counts, threshold, out.tail(counts.shape[0]), per_row)
                        out.advance(counts.shape[0])
                        continue
                    for part in _split_rows(counts, n_jobs):
                        pending.append(pool.submit(self._part, part, threshold, per_row))
                    while pending and pending[0].done():
                        out.append(pending.popleft().result())
                while pending:
                    out.append(pending.popleft().result())
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        if out is None:
            out = _Output(self._output_arrays(0, 0.0), bar)
        return out.matrix(self.n_features)

    def _part(self, counts, threshold, per_row):
        arrays = self._output_arrays(counts.shape[0], per_row)
        self.write_rows(counts, threshold, arrays, per_row)
        return arrays


def _batch_bounds(n_docs, batch_size, first=256):
    """(start, stop) of each batch; the first is short, so the threads start early."""
    start = 0
    size = min(first, batch_size)
    while start < n_docs:
        yield start, min(start + size, n_docs)
        start += size
        size = batch_size


def _counted(batch):
    # Worker threads count a batch that is still token ids (TokenIds).
    return batch.counts() if isinstance(batch, TokenIds) else sp.csr_matrix(batch)


class _Output:
    """The output CSR arrays, filled row block by row block."""

    def __init__(self, arrays, bar):
        self.indptr, self.indices, self.data = arrays
        self.row = 0
        self.bar = bar

    def tail(self, n_rows):
        # Where the next rows go, for the kernel to write into directly.
        return (self.indptr[self.row:self.row + n_rows + 1], self.indices, self.data)

    def advance(self, n_rows):
        self.row += n_rows
        self.bar.update(n_rows)

    def append(self, piece):
        # Copy a part written elsewhere; grow in place if the estimate was low.
        piece_indptr, piece_indices, piece_data = piece
        n_rows, start = len(piece_indptr) - 1, int(self.indptr[self.row])
        stop = start + int(piece_indptr[-1])
        if stop > len(self.data):
            capacity = max(stop, int(1.25 * len(self.data)))
            self.data.resize(capacity, refcheck=False)
            self.indices.resize(capacity, refcheck=False)
        self.data[start:stop] = piece_data[:stop - start]
        self.indices[start:stop] = piece_indices[:stop - start]
        self.indptr[self.row + 1:self.row + n_rows + 1] = piece_indptr[1:] + start
        self.advance(n_rows)

    def matrix(self, n_features):
        nnz = int(self.indptr[-1])
        self.data.resize(nnz, refcheck=False)  # shrinking a large array frees pages
        self.indices.resize(nnz, refcheck=False)
        indptr = self.indptr
        if nnz <= np.iinfo(np.int32).max:
            indptr = indptr.astype(np.int32)
        X = sp.csr_matrix((len(indptr) - 1, n_features), dtype=np.float32)
        # Assign the arrays directly: the constructor would check and may copy.
        X.data, X.indices, X.indptr = self.data, self.indices, indptr
        X.has_sorted_indices = True
        return X


def _split_rows(counts, n_parts, min_rows=64):
    # Row slices for n_parts threads; small inputs stay whole.
    n = counts.shape[0]
    size = max(min_rows, -(-n // max(n_parts, 1)))
    return [counts[i:i + size] for i in range(0, n, size)] or [counts]


def effective_n_jobs(n_jobs):
    """Threads to use: None or -1 mean every core this process may run on."""
    if n_jobs is None or n_jobs == -1:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    return n_jobs


def composite_document_vectors(counts, word_vectors, word_cluster_proba, idf, threshold,
                               *, sublinear_tf=False, batch_size=2000, n_jobs=None,
                               verbose=0):
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
    sublinear_tf : bool, default=False
        Weigh a word by 1 + ln(count) instead of its count (not in the paper).
    batch_size : int, default=2000
        Documents per compiled-kernel call (progress granularity).
    n_jobs : int or None, default=None
        Threads; None uses every available core. The result does not depend on it.
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
    a zero row. The sum adds the pairs (word, cluster) with
    p(C_k|w) >= ``KEEP_POSTERIOR`` and bounds the rest per document; a
    document whose bound could exceed ``TOLERANCE`` on any entry is
    recomputed over all posteriors (see ``scdv._kernels``). The dense
    (n_docs, K*d) matrix is never formed.
    """
    kernel = _Kernel(word_vectors, word_cluster_proba, idf, sublinear_tf=sublinear_tf)
    counts = sp.csr_matrix(counts)
    batches = [counts[i:i + batch_size] for i in range(0, counts.shape[0], batch_size)]
    return kernel.vectors_of(batches, threshold, n_jobs=effective_n_jobs(n_jobs),
                             verbose=verbose)


def fit_scdv(token_docs, *, vector_size=200, window=10, min_count=20, negative=10,
             sample=1e-3, epochs=10, n_components=100, covariance_type="tied",
             gmm_max_iter=50, sparsity_percentage=0.04, workers=1, n_jobs=None, seed=0,
             verbose=0, pretrained=None, cluster_proba_threshold=None,
             renormalize_proba=False, sublinear_tf=True, weighting="idf", sif_a=1e-3,
             trainer="word2vec"):
    """Fit every SCDV stage on tokenised training documents.

    The defaults are :class:`SCDV`'s; ``fit_scdv(docs, **PAPER_PARAMS)`` (less
    ``tokenizer``, ``word_vectors`` and ``power``) fits the paper's model.

    Parameters
    ----------
    token_docs : list of list of str
    vector_size, window, min_count, negative, sample, epochs, workers
        word2vec (skip-gram, negative sampling) settings.
    n_components, covariance_type, gmm_max_iter
        Gaussian-mixture settings.
    sparsity_percentage : float
        p of the threshold.
    n_jobs : int or None
        Threads for the threshold statistics (None: every core).
    seed : int
        Seeds both word2vec and the mixture.
    verbose : int
    pretrained : (words, vectors) or None
        Pretrained word vectors to use instead of training word2vec; only the
        words seen ``min_count`` times in ``token_docs`` are kept.
    cluster_proba_threshold : float or None
        SCDV-MS: posteriors below it become 0 (see :func:`sparsify_posteriors`).
    renormalize_proba : bool
        Rescale the thresholded posteriors to sum to 1.
    sublinear_tf : bool
        Weigh words by 1 + ln(count) (see :func:`term_weights`); the
        threshold is learned from vectors weighed so.
    weighting : {"idf", "sif"}
    sif_a : float
        The word weights (see :func:`scdv.fit_steps.learn_word_weights`).
    trainer : {"word2vec", "fasttext"}
        The word-vector model (see :func:`scdv.train_word_vectors`).

    Returns
    -------
    dict
        ``vocabulary``, ``word_vectors``, ``word_cluster_proba``, ``idf``,
        ``threshold``, ``counts`` (the training count matrix) and
        ``seconds`` (wall time of each step: ``word_vectors``, ``mixture``,
        ``idf`` and ``threshold``).
    """
    if not token_docs:
        raise ValueError("The corpus is empty: fit needs at least one document.")
    params = dict(vector_size=vector_size, window=window, min_count=min_count,
                  negative=negative, sample=sample, epochs=epochs, workers=workers,
                  n_components=n_components, covariance_type=covariance_type,
                  gmm_max_iter=gmm_max_iter, cluster_proba_threshold=cluster_proba_threshold,
                  renormalize_proba=renormalize_proba, weighting=weighting, sif_a=sif_a,
                  trainer=trainer)
    clock = _StepClock()
    words, vectors = learn_word_vectors(token_docs, count_words(token_docs), len(token_docs),
                                        params, seed=seed, pretrained=pretrained,
                                        verbose=verbose)
    clock.lap("word_vectors")
    proba = learn_posteriors(vectors, params, seed=seed, verbose=verbose)
    clock.lap("mixture")
    vocabulary = {w: i for i, w in enumerate(words)}
    counts = count_matrix(token_docs, vocabulary)
    idf = learn_word_weights(np.diff(counts.tocsc().indptr),
                             np.asarray(counts.sum(axis=0, dtype=np.float64)).ravel(), counts.shape[0],
                             params)
    clock.lap("idf")
    kernel = _Kernel(vectors, proba, idf, sublinear_tf=sublinear_tf)
    mins, maxs = kernel.row_min_max(counts, effective_n_jobs(n_jobs))
    threshold = sparsity_threshold(mins, maxs, sparsity_percentage)
    clock.lap("threshold")
    return {
        "vocabulary": vocabulary,
        "word_vectors": vectors,
        "word_cluster_proba": proba,
        "idf": idf,
        "threshold": threshold,
        "counts": counts,
        "seconds": clock.seconds,
    }


class _StepClock:
    """Wall time of consecutive steps, for ``fit_seconds_``."""

    def __init__(self):
        self.seconds = {}
        self._last = time.perf_counter()

    def lap(self, step):
        now = time.perf_counter()
        self.seconds[step] = now - self._last
        self._last = now


#: Parameters that act at transform time only; the rest shape the fitted state.
TRANSFORM_PARAMS = ("batch_size", "n_jobs", "verbose", "sublinear_tf", "power")
#: What :meth:`SCDV.refit_mixture` and :meth:`SCDV.refit_threshold` learn again with.
MIXTURE_PARAMS = ("n_components", "covariance_type", "gmm_max_iter",
                  "cluster_proba_threshold", "renormalize_proba", "random_state")
THRESHOLD_PARAMS = ("sparsity_percentage",)
#: The fitted arrays a model file holds (attribute name without "_": dtype, ndim).
_MODEL_ARRAYS = {
    "word_vectors": (np.float32, 2),
    "word_cluster_proba": (np.float64, 2),
    "idf": (np.float64, 1),
}


#: Slack of the checks on loaded arrays: float32 vectors are unit length to
#: about 1e-7, posteriors sum to 1 to about 1e-12.
_LOAD_TOLERANCE = 1e-4


def _check_fitted_arrays(path, vectors, proba, idf):
    """Refuse arrays no fit can produce, before the kernel trusts them."""
    if np.any(idf <= 0):
        persistence.fail(path, "'idf' has zero or negative weights; smoothed idf is at least 1.")
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    if np.any(norms > 1 + _LOAD_TOLERANCE):
        persistence.fail(path, "'word_vectors' rows are longer than 1; SCDV keeps unit "
                               "vectors.")
    if proba.size and (proba.min() < 0 or proba.max() > 1):
        persistence.fail(path, "'word_cluster_proba' has values outside [0, 1].")
    sums = proba.sum(axis=1)
    if np.any(sums > 1 + _LOAD_TOLERANCE) or np.any(sums <= 0):
        # The SCDV-MS cut may leave less than 1 (a word's largest is always kept).
        persistence.fail(path, "'word_cluster_proba' rows do not sum to at most 1 with "
                               "some mass.")


#: Held while a fitted state is replaced or read whole (see SCDV._publish).
_PUBLISHING = threading.Lock()


def _check_vocabulary(vocabulary, arrays):
    """Refuse a vocabulary whose rows the kernel would read out of bounds."""
    n_words = len(vocabulary)
    if len(arrays[0]) != n_words:
        raise ValueError(
            f"The fitted state is inconsistent: {n_words} vocabulary words and "
            f"{len(arrays[0])} word vectors. Fit again, or restore them together.")
    rows = np.fromiter(vocabulary.values(), dtype=np.int64, count=n_words)
    if n_words and (rows.min() < 0 or rows.max() >= n_words
                    or len(np.unique(rows)) != n_words):
        raise ValueError(
            "vocabulary_ must map its words to the rows 0 .. V-1, each once; "
            "fit again, or restore the vocabulary.")


def _same_value(a, b):
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # arrays, objects without a plain truth value
        return False


def _json_params(params):
    """``get_params()`` as JSON values, or ValueError naming what cannot be stored."""
    stored = {}
    for name, value in params.items():
        if name == "tokenizer" and callable(value):
            raise ValueError(
                "Cannot save a model whose tokenizer is a callable: code is never "
                "stored in a model file. Use tokenizer='english', 'janome' or None "
                "(tokenise yourself), or pickle the model instead."
            )
        if isinstance(value, np.generic):
            value = value.item()  # numpy scalars are stored as the number they hold
        if name == "random_state" and not isinstance(value, (int, type(None))):
            value = None  # a RandomState cannot be stored; it only mattered for fit
        if name == "word_vectors" and value is not None:
            # A path is kept; a KeyedVectors object only mattered for fit (its
            # vectors are saved as word_vectors_), so it is stored as None.
            value = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
        if isinstance(value, (set, frozenset)):
            value = sorted(value)
        elif isinstance(value, tuple):
            value = list(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            stored[name] = value
        elif isinstance(value, (str, int, float, bool, type(None))):
            stored[name] = value
        else:
            raise ValueError(
                f"Cannot save parameter {name}={value!r}: only str, numbers, None "
                "and lists of str are stored."
            )
    return stored


def save(model, path):
    """Write a fitted :class:`SCDV` to ``path`` without pickle.

    Parameters
    ----------
    model : SCDV
        A fitted model whose tokenizer is ``"english"``, ``"janome"`` or None.
    path : str or path-like

    See Also
    --------
    SCDV.save, load
    """
    if not isinstance(model, SCDV):
        raise TypeError(
            f"scdv.save writes SCDV models only; got a {type(model).__name__}. Save "
            "its SCDV step (e.g. scdv.save(pipeline.named_steps['scdv'], path)), or "
            "pickle the whole object with joblib.dump or pickle.dump.")
    model.save(path)


def load(path):
    """Load a model written by :meth:`SCDV.save`.

    Nothing is unpickled: arrays are read with ``allow_pickle=False`` and
    checked for type, shape and finiteness before use.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    SCDV
        A fitted model, ready to ``transform``.

    Raises
    ------
    ModelFormatError
        The file is missing, damaged, of another format or of a newer format
        version, or holds arrays that do not fit together. A plain pickle is
        refused too: read a pickle you trust with ``pickle.load``.
    """
    return SCDV._from_file(path)


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
    epochs : int, default=10
        word2vec passes. The paper trains 25; 10 is as accurate in
        cross-validation on three corpora, at 0.4 of the time (see Notes).
    n_components : int, default=100
        Number of clusters K (the paper: 60).
    covariance_type : {"tied", "full", "diag", "spherical"}, default="tied"
        Gaussian-mixture covariance.
    gmm_max_iter : int, default=50
        EM iterations (the paper stops at 50).
    sparsity_percentage : float, default=0.04
        p in the threshold t = p * (|a_max| + |a_min|) / 2.
    workers : int, default=1
        word2vec threads. Only ``workers=1`` is exactly repeatable.
    batch_size : int, default=2000
        Documents tokenised and vectorised at a time in ``transform``; bounds
        the memory held besides the output.
    n_jobs : int or None, default=None
        Threads for the compiled vectorising kernel (``transform`` and the
        threshold pass of ``fit``). None uses every core available, as
        scikit-learn's ``KMeans`` does with its OpenMP threads; the output
        does not depend on it. word2vec threads are ``workers``.
    word_vectors : gensim KeyedVectors, str, path-like or None, default=None
        Pretrained word vectors (fastText, chiVe, word2vec, ...) to use instead
        of training word2vec: a ``KeyedVectors`` or the path of a word2vec
        text or binary file. The vocabulary is then the pretrained words that
        occur at least ``min_count`` times in the training documents, and the
        word2vec parameters (``vector_size``, ``window``, ...) are not used:
        d is the pretrained dimension.
    cluster_proba_threshold : float or None, default=None
        SCDV-MS (Gupta et al., 2020): posteriors p(C_k|w) below this become 0
        (they used 0.3), which makes vectors sparser and ``transform``
        faster. A word's largest posterior is always kept.
    renormalize_proba : bool, default=False
        With ``cluster_proba_threshold``, rescale each word's remaining
        posteriors to sum to 1.
    sublinear_tf : bool, default=True
        Weigh each distinct word of a document by 1 + ln(count) instead of
        its count, as ``TfidfVectorizer(sublinear_tf=True)`` does. Not in the
        paper (which sums every token, ``False``); a word repeated many times
        then dominates its document less. ``threshold_`` is learned from vectors
        weighed the way ``fit`` was told; ``transform`` uses the current
        setting.
    weighting : {"idf", "sif"}, default="idf"
        Each word's weight in the sum: the paper's smoothed idf, or idf times
        the smooth inverse frequency a / (a + p(w)) of P-SIF (Gupta et al.,
        AAAI 2020; p(w) the word's share of the training tokens), which
        discounts frequent words further. Not in SCDV's paper.
    sif_a : float, default=1e-3
        a of ``weighting="sif"``.
    power : float in (0, 1] or None, default=0.5
        After the cut, replace every entry x by sign(x)|x|^power and scale
        each row to unit length again (power normalisation, Perronnin et
        al., ECCV 2010; 0.5 is the signed square root), as
        :class:`PowerNormalizer` does, in place. Not in the paper (``None``:
        the vectors as the paper defines them); acts at ``transform`` only.
    trainer : {"word2vec", "fasttext"}, default="word2vec"
        The word vectors: skip-gram word2vec (the paper's), or gensim's
        FastText with the same settings, whose vectors also sum character
        n-grams (Bojanowski et al., TACL 2017).
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
        p(C_k | w), after ``cluster_proba_threshold`` when it is set.
    idf_ : ndarray of shape (V,), float64
        Smoothed idf over the training documents.
    threshold_ : float
        The sparsity cut learned from the training documents.
    fit_seconds_ : dict of str to float
        Wall time of each step of the last ``fit``: ``tokenize``,
        ``word_vectors``, ``mixture``, ``idf`` and ``threshold``. Not saved
        in model files.

    Notes
    -----
    For a document with tokens t_1..t_n (repeats count again, out-of-vocabulary
    tokens are skipped):

        wtv_w = idf(w) * concat_k( p(C_k|w) * v_w )          (length K*d)
        u = sum_i wtv_{t_i},   x = u / ||u||_2                (0 stays 0)
          = sum_w c_w wtv_w    (c_w: count of w; 1 + ln c_w with sublinear_tf)
        x_j := 0  where |x_j| < t,   t = p * (|a_max| + |a_min|) / 2

    where a_min and a_max are the means over training documents of each
    normalised vector's smallest and largest entry, and
    idf(w) = ln((1+n)/(1+df(w))) + 1. Column ``k * d + j`` is dimension j of
    cluster k.

    The defaults differ from the paper in four settings, each chosen by
    5-fold cross-validation on training data only (20 Newsgroups, livedoor
    and Reuters-21578; ``benchmarks/results/defaults/``): ``sublinear_tf``
    and ``power=0.5`` (not in the paper) raised the CV accuracy on 20
    Newsgroups from 0.894 to 0.904 and on livedoor from 0.928 to 0.953;
    ``epochs=10`` instead of 25 cost nothing measurable (0.902 on 20
    Newsgroups; Reuters' LRAP 0.9591 against the paper's 0.9588) at 0.36 of
    word2vec's CPU time; K=100 instead of 60 raised 20 Newsgroups to 0.909.
    ``SCDV(**scdv.PAPER_PARAMS)`` is the paper's model.

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
        epochs=10,
        n_components=100,
        covariance_type="tied",
        gmm_max_iter=50,
        sparsity_percentage=0.04,
        workers=1,
        batch_size=2000,
        n_jobs=None,
        word_vectors=None,
        cluster_proba_threshold=None,
        renormalize_proba=False,
        sublinear_tf=True,
        weighting="idf",
        sif_a=1e-3,
        power=0.5,
        trainer="word2vec",
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
        self.n_jobs = n_jobs
        self.word_vectors = word_vectors
        self.cluster_proba_threshold = cluster_proba_threshold
        self.renormalize_proba = renormalize_proba
        self.sublinear_tf = sublinear_tf
        self.weighting = weighting
        self.sif_a = sif_a
        self.power = power
        self.trainer = trainer
        self.random_state = random_state
        self.verbose = verbose

    _parameter_constraints = {
        "tokenizer": [StrOptions({"english", "janome"}), callable, None],
        "stop_words": [list, tuple, set, frozenset, None],
        "pos": [list, tuple, None],
        **WORD2VEC_CONSTRAINTS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "gmm_max_iter": [Interval(Integral, 1, None, closed="left")],
        "sparsity_percentage": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
        "word_vectors": "no_validation",  # checked by load_word_vectors, with advice
        "cluster_proba_threshold": [Interval(Real, 0, 1, closed="both"), None],
        "renormalize_proba": ["boolean"],
        "sublinear_tf": ["boolean"],
        "weighting": [StrOptions({"idf", "sif"})],
        "sif_a": [Interval(Real, 0, None, closed="neither")],
        "power": [Interval(Real, 0, 1, closed="right"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def _check_transform_params(self):
        # Fitting validates every parameter; these may change after it.
        validate_parameter_constraints(
            {name: self._parameter_constraints[name] for name in TRANSFORM_PARAMS},
            {name: getattr(self, name) for name in TRANSFORM_PARAMS},
            caller_name=type(self).__name__)

    def _tokenize(self, X):
        return tokenize_documents(X, self.tokenizer, stop_words=self.stop_words, pos=self.pos)

    def _fit(self, X):
        pretrained = None
        if self.word_vectors is not None:
            pretrained = load_word_vectors(self.word_vectors)
        start = time.perf_counter()
        docs = self._tokenize(X)
        tokenize_seconds = time.perf_counter() - start
        fitted = fit_scdv(
            docs, vector_size=self.vector_size, window=self.window,
            min_count=self.min_count, negative=self.negative, sample=self.sample,
            epochs=self.epochs, n_components=self.n_components,
            covariance_type=self.covariance_type, gmm_max_iter=self.gmm_max_iter,
            sparsity_percentage=self.sparsity_percentage, workers=self.workers,
            n_jobs=self.n_jobs, seed=seed_from(self.random_state), verbose=self.verbose,
            pretrained=pretrained, cluster_proba_threshold=self.cluster_proba_threshold,
            renormalize_proba=self.renormalize_proba, sublinear_tf=self.sublinear_tf,
            weighting=self.weighting, sif_a=self.sif_a, trainer=self.trainer,
        )
        self._publish(vocabulary_=fitted["vocabulary"], word_vectors_=fitted["word_vectors"],
                      word_cluster_proba_=fitted["word_cluster_proba"], idf_=fitted["idf"],
                      threshold_=fitted["threshold"])
        self.fit_seconds_ = {"tokenize": tokenize_seconds, **fitted["seconds"]}
        self._record_fitted()
        return fitted["counts"]

    @_fit_context(prefer_skip_nested_validation=True)
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit, then return the training documents' vectors (tokenised once).

        Returns
        -------
        csr_matrix of shape (n_docs, n_components * vector_size), float32
        """
        counts = self._fit(X)
        _, kernel, threshold = self._snapshot()
        return self._vectorize(kernel, threshold,
                               [counts[i:i + self.batch_size]
                                for i in range(0, counts.shape[0], self.batch_size)])

    def refit_threshold(self, X):
        """Learn ``threshold_`` again from ``X``, keeping every other fitted array.

        For trying another ``sparsity_percentage`` or ``sublinear_tf``
        without refitting word2vec and the mixture: set the parameter, then
        call this with the training documents. The result is the threshold
        ``fit`` would have learned with the same word vectors and clusters.

        Parameters
        ----------
        X : iterable of str (or of lists of str when ``tokenizer=None``)
            The training documents, for the paper's threshold.

        Returns
        -------
        self : SCDV
        """
        check_is_fitted(self, "threshold_")
        self._validate_params()
        vocabulary, kernel, _ = self._snapshot()
        self._publish(threshold_=self._threshold_of(X, vocabulary, kernel))
        self._record_fitted(THRESHOLD_PARAMS)
        return self

    def _threshold_of(self, X, vocabulary, kernel):
        # The paper's threshold over the training documents X, for this kernel.
        counts = self._counts(X, vocabulary)
        mins, maxs = kernel.row_min_max(counts, effective_n_jobs(self.n_jobs))
        return sparsity_threshold(mins, maxs, self.sparsity_percentage)

    def refit_mixture(self, X):
        """Fit the mixture and the threshold again, keeping the word vectors.

        For trying another ``n_components``, ``covariance_type``,
        ``gmm_max_iter`` or ``cluster_proba_threshold`` without retraining
        word2vec, which is most of the fit's time: set the parameters, then
        call this with the training documents. The vocabulary, word vectors
        and idf stay; the posteriors p(C_k|w) and ``threshold_`` are learned
        as ``fit`` learns them, with the same seed, so the result equals a
        fit whose word2vec produced these word vectors.

        Parameters
        ----------
        X : iterable of str (or of lists of str when ``tokenizer=None``)
            The training documents, for the paper's threshold.

        Returns
        -------
        self : SCDV
        """
        check_is_fitted(self, "threshold_")
        self._validate_params()
        if len(self.vocabulary_) < self.n_components:
            raise ValueError(too_few_words_message(len(self.vocabulary_), self.n_components))
        proba = learn_posteriors(self.word_vectors_, self.get_params(),
                                 seed=seed_from(self.random_state), verbose=self.verbose)
        # New posteriors and their threshold are published together: a
        # transform in another thread never pairs one with the other's.
        kernel = _Kernel(self.word_vectors_, proba, self.idf_,
                         sublinear_tf=bool(self.sublinear_tf))
        threshold = self._threshold_of(X, self.vocabulary_, kernel)
        self._publish(word_cluster_proba_=proba, threshold_=threshold)
        self._record_fitted(MIXTURE_PARAMS + THRESHOLD_PARAMS)
        return self

    def _counts(self, X, vocabulary):
        # The (n_docs, V) count matrix of documents, tokenised as transform does.
        func = make_tokenizer(self.tokenizer, stop_words=self.stop_words, pos=self.pos)
        if func is None:
            return TokenIds.lookup(check_token_documents(X), vocabulary).counts()
        return count_texts(check_documents(X), func, vocabulary)

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
        self._check_transform_params()
        # One fitted state for the whole call, whatever another thread fits.
        vocabulary, kernel, threshold = self._snapshot()
        func = make_tokenizer(self.tokenizer, stop_words=self.stop_words, pos=self.pos)
        if func is None:
            # Token lists are in memory already: look them all up first (4
            # bytes a token). Looking up holds the GIL in one long C call,
            # which would stall the worker threads' Python glue if it were
            # interleaved with their work.
            docs = check_token_documents(X)
            ids = TokenIds.lookup(docs, vocabulary)
            batches = (ids[start:stop]
                       for start, stop in _batch_bounds(len(docs), self.batch_size))
        else:
            # Tokenise and count a batch at a time, while threads vectorise the
            # batches before it: only a few batches of tokens are alive at once.
            docs = check_documents(X)
            batches = (count_texts(docs[start:stop], func, vocabulary)
                       for start, stop in _batch_bounds(len(docs), self.batch_size))
        return self._vectorize(kernel, threshold, batches, n_docs=len(docs))

    def _publish(self, **fitted):
        # Fitted attributes change together: a transform in another thread
        # takes its snapshot before or after, never in between.
        with _PUBLISHING:
            for name, value in fitted.items():
                setattr(self, name, value)

    def _snapshot(self):
        """(vocabulary, kernel, threshold) of one fitted state, checked for the kernel."""
        with _PUBLISHING:
            vocabulary, threshold = self.vocabulary_, self.threshold_
            arrays = (self.word_vectors_, self.word_cluster_proba_, self.idf_)
        return vocabulary, self._kernel(vocabulary, arrays), threshold

    def _kernel(self, vocabulary, arrays):
        # Laying the fitted arrays out for the kernel costs about as much as
        # vectorising a few thousand documents, so it is kept between calls
        # for as long as the fitted state is the same objects (a refit, a
        # load or an assignment replaces them; editing them in place does not,
        # and is not supported, though the kernel still never reads out of
        # bounds). The cache holds the objects themselves, so an identity
        # check cannot be fooled by a recycled id().
        key = (vocabulary, *arrays)
        sublinear_tf = bool(self.sublinear_tf)
        cached = self.__dict__.get("_kernel_cache")
        if (cached is None or any(a is not b for a, b in zip(cached[0], key))
                or cached[1].sublinear_tf != sublinear_tf):
            _check_vocabulary(vocabulary, arrays)
            cached = (key, _Kernel(*arrays, sublinear_tf=sublinear_tf))
            self.__dict__["_kernel_cache"] = cached
        return cached[1]

    def __getstate__(self):
        # A copy first: popping from the live __dict__ would race with a
        # transform in another thread that caches its kernel there.
        state = dict(super().__getstate__())
        state.pop("_kernel_cache", None)  # derived; rebuilt on first use
        return state

    def _vectorize(self, kernel, threshold, count_batches, n_docs=None):
        X = kernel.vectors_of(count_batches, threshold, n_jobs=effective_n_jobs(self.n_jobs),
                              verbose=self.verbose, n_docs=n_docs)
        if self.power is not None:
            power_normalize_rows(X, self.power)
        return X

    def get_feature_names_out(self, input_features=None):
        """Output feature names ``cluster{k}_dim{j}``, in column order.

        Returns
        -------
        ndarray of str objects, shape (n_components * vector_size,)
        """
        check_is_fitted(self, "threshold_")
        return _feature_names(self.word_cluster_proba_.shape[1], self.word_vectors_.shape[1])

    def _unfitted_changes(self):
        # Parameters set since the fitted state was learned, as name -> (now, fitted).
        fitted = self.__dict__.get("_fitted_params")
        if fitted is None:  # pickled before fitted parameters were recorded
            return {}
        now = self.get_params(deep=False)
        return {name: (now[name], value) for name, value in fitted.items()
                if not _same_value(now[name], value)}

    def _record_fitted(self, names=None):
        # Remember the parameters the fitted arrays were learned with (all of
        # them after fit; the refitted ones after refit_mixture/refit_threshold).
        now = self.get_params(deep=False)
        fitted = dict(self.__dict__.get("_fitted_params") or {})
        for name in now if names is None else names:
            if name not in TRANSFORM_PARAMS:
                fitted[name] = now[name]
        self._fitted_params = fitted

    def save(self, path):
        """Save the fitted model in scdv's format (arrays and JSON, no pickle).

        The file describes the fitted state exactly: a model whose fit-time
        parameters were changed with ``set_params`` after fitting (say
        ``n_components``) is refused, since its arrays were learned with the
        old value. Refit first, or set the parameter back. Only the
        parameters that act at transform time (``batch_size``, ``n_jobs``,
        ``verbose``, ``sublinear_tf``) may differ from the fit's.

        Parameters
        ----------
        path : str or path-like
            Written under a temporary name beside it, then renamed into place.

        See Also
        --------
        scdv.load : read the file back.
        """
        check_is_fitted(self, "threshold_")
        params = _json_params(self.get_params(deep=False))
        changed = self._unfitted_changes()
        if changed:
            said = ", ".join(f"{name}={now!r} (fitted with {then!r})"
                             for name, (now, then) in changed.items())
            raise ValueError(
                f"Cannot save: {said} set after fitting, so the file would not describe "
                "the fitted arrays. Call fit again (refit_mixture for the mixture's "
                "parameters, refit_threshold for sparsity_percentage), or set the "
                "parameters back.")
        words = [None] * len(self.vocabulary_)
        for word, row in self.vocabulary_.items():
            words[row] = word
        metadata = {
            "params": params,
            "threshold": float(self.threshold_),
            "pretrained": self.word_vectors is not None,
        }
        arrays = {name: np.asarray(getattr(self, name + "_"), dtype=dtype)
                  for name, (dtype, _) in _MODEL_ARRAYS.items()}
        persistence.write_model_file(path, type(self).__name__, metadata,
                                     {"vocabulary": words}, arrays)

    @classmethod
    def _from_file(cls, path):
        metadata, members, arrays = persistence.read_model_file(
            path, cls.__name__, ["vocabulary"], _MODEL_ARRAYS)
        words = members["vocabulary"]
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            persistence.fail(path, "'vocabulary' must be a list of str.")
        if len(set(words)) != len(words):
            persistence.fail(path, "'vocabulary' has repeated words.")
        V = len(words)
        vectors, proba, idf = (arrays[n] for n in _MODEL_ARRAYS)
        if vectors.shape[0] != V or proba.shape[0] != V or idf.shape[0] != V:
            persistence.fail(
                path, f"array rows do not match the {V} vocabulary words "
                      f"(word_vectors {vectors.shape}, word_cluster_proba {proba.shape}, "
                      f"idf {idf.shape}).")
        threshold = metadata.get("threshold")
        if not isinstance(threshold, float) or not 0 <= threshold < 1:
            # Rows are unit vectors: a cut at 1 or above would zero every entry.
            persistence.fail(path, f"bad threshold {threshold!r}; expected a float in [0, 1).")
        pretrained = metadata.get("pretrained")
        if not isinstance(pretrained, bool):
            persistence.fail(path, f"bad 'pretrained' {pretrained!r}; expected true or false.")
        _check_fitted_arrays(path, vectors, proba, idf)
        params = metadata.get("params")
        if not isinstance(params, dict):
            persistence.fail(path, "'params' must be a JSON object.")
        model = cls()
        unknown = set(params) - set(model.get_params(deep=False))
        if unknown:
            persistence.fail(path, f"unknown parameters {sorted(unknown)}; written by a "
                                   "newer scdv?")
        model.set_params(**params)
        # With pretrained vectors d is theirs, not vector_size.
        d_expected = vectors.shape[1] if pretrained else model.vector_size
        if proba.shape[1] != model.n_components or vectors.shape[1] != d_expected:
            persistence.fail(
                path, f"array shapes {vectors.shape}, {proba.shape} do not match "
                      f"vector_size={model.vector_size}, n_components={model.n_components}.")
        try:
            model._validate_params()
        except (TypeError, ValueError) as exc:
            persistence.fail(path, f"bad parameters ({exc}).")
        model.vocabulary_ = {w: i for i, w in enumerate(words)}
        model.word_vectors_ = vectors
        model.word_cluster_proba_ = proba
        model.idf_ = idf
        model.threshold_ = float(threshold)
        model._record_fitted()
        return model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags


def _feature_names(n_clusters, dimension):
    # Column k * d + j is dimension j of cluster k (cluster-major).
    return np.asarray([f"cluster{k}_dim{j}" for k in range(n_clusters)
                       for j in range(dimension)], dtype=object)


class WordTopicSum(TransformerMixin, BaseEstimator):
    """Sum each document's word-topic vectors, normalise and cut (SCDV steps 4-6).

    The last stage of a staged SCDV pipeline, which computes what
    :class:`SCDV` computes, one stage at a time:

        make_pipeline(TextTokenizer(), SGNSWord2Vec(), GMMSoftClusterer(),
                      IDFWeighter(), WordTopicSum(), PowerNormalizer())

    (``SCDV()`` does the power normalisation inside ``transform``; without
    the last stage the pipeline is ``SCDV(power=None)``.)

    It takes the documents' tokens with the word vectors, the posteriors
    and the idf learned by the stages before it (a
    :class:`scdv.word_state.WordTopicState`), and returns the same CSR
    vectors as :meth:`SCDV.transform`, with the same compiled kernel.

    Parameters
    ----------
    sparsity_percentage : float, default=0.04
        p of the threshold t = p * (|a_max| + |a_min|) / 2, learned from the
        training documents. 0 keeps every entry (then a
        :class:`SparseThreshold` may follow; the output is much denser).
    sublinear_tf : bool, default=True
        Weigh each distinct word of a document by 1 + ln(count), as
        :class:`SCDV` does by default (the paper: ``False``).
    batch_size : int, default=2000
        Documents per kernel call.
    n_jobs : int or None, default=None
        Threads; None uses every core. The result does not depend on it.
    verbose : int, default=0

    Attributes
    ----------
    threshold_ : float
        The cut learned from the training documents.
    n_features_out_ : int
        K * d.

    See Also
    --------
    SCDV : the same computation in one estimator.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from scdv import (GMMSoftClusterer, IDFWeighter, SGNSWord2Vec, TextTokenizer,
    ...                   WordTopicSum)
    >>> docs = ["the cat sat on the mat", "dogs chase cats", "a cat and a dog"] * 10
    >>> staged = make_pipeline(
    ...     TextTokenizer(), SGNSWord2Vec(vector_size=10, min_count=1, epochs=2, random_state=0),
    ...     GMMSoftClusterer(n_components=2, random_state=0), IDFWeighter(), WordTopicSum())
    >>> staged.fit_transform(docs).shape
    (30, 20)
    """

    _parameter_constraints = {
        "sparsity_percentage": [Interval(Real, 0, 1, closed="both")],
        "sublinear_tf": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
        "verbose": ["verbose"],
    }

    def __init__(self, *, sparsity_percentage=0.04, sublinear_tf=True, batch_size=2000,
                 n_jobs=None, verbose=0):
        self.sparsity_percentage = sparsity_percentage
        self.sublinear_tf = sublinear_tf
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _kernel_and_counts(self, X):
        state = staged_state(X)
        if state is None:
            raise ValueError(
                "WordTopicSum takes the output of the SCDV stages; the pipeline goes "
                "TextTokenizer(), SGNSWord2Vec(), GMMSoftClusterer(), IDFWeighter(), "
                "WordTopicSum().")
        state.require(type(self).__name__, "word_vectors", "word_cluster_proba", "idf")
        kernel = _Kernel(state.word_vectors, state.word_cluster_proba, state.idf,
                         sublinear_tf=self.sublinear_tf)
        return kernel, count_matrix(state.tokens, state.vocabulary)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn ``threshold_`` from the training documents' normalised vectors.

        Returns
        -------
        self : WordTopicSum
        """
        kernel, counts = self._kernel_and_counts(X)
        mins, maxs = kernel.row_min_max(counts, effective_n_jobs(self.n_jobs))
        self.threshold_ = sparsity_threshold(mins, maxs, self.sparsity_percentage)
        self.n_features_out_ = kernel.n_features
        self._clusters_by_dimension = (kernel.proba_t.shape[0], kernel.vectors.shape[1])
        return self

    def transform(self, X):
        """SCDV vectors of the documents.

        Returns
        -------
        csr_matrix of shape (n_docs, K * d), float32
        """
        check_is_fitted(self, "threshold_")
        kernel, counts = self._kernel_and_counts(X)
        if kernel.n_features != self.n_features_out_:
            raise ValueError(f"WordTopicSum was fitted for {self.n_features_out_} columns; "
                             f"these documents give {kernel.n_features}.")
        batches = [counts[i:i + self.batch_size]
                   for i in range(0, counts.shape[0], self.batch_size)]
        return kernel.vectors_of(batches, self.threshold_,
                                 n_jobs=effective_n_jobs(self.n_jobs), verbose=self.verbose)

    def get_feature_names_out(self, input_features=None):
        """Output feature names ``cluster{k}_dim{j}``, in column order, as :class:`SCDV`'s."""
        check_is_fitted(self, "threshold_")
        return _feature_names(*self._clusters_by_dimension)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
