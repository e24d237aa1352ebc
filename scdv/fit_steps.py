"""The steps of an SCDV fit, each written once for every driver.

:func:`scdv.fit_scdv` (and so :meth:`SCDV.fit`), :meth:`SCDV.refit_mixture`,
:meth:`SCDV.refit_threshold` and :func:`scdv.dask.fit` run these steps; none
keeps its own copy. Each step takes what a map-reduce driver can compute over
partitions (word counts, document frequencies, sums of row extremes), so the
local fit and the cluster fit give the same vocabulary, idf and threshold:

1. :func:`learn_word_vectors`: the vocabulary and unit-length word vectors,
   trained (skip-gram word2vec) or pretrained and restricted to the corpus;
2. :func:`learn_posteriors`: p(C_k | w) of a Gaussian mixture over them,
   with the SCDV-MS cut when asked;
3. :func:`learn_word_weights`: the idf of the document frequencies (times
   the SIF factor of the term counts with ``weighting="sif"``);
4. :func:`scdv.threshold.threshold_from_sums` of the training rows' extremes.
"""

from __future__ import annotations

import logging
from collections import Counter

from .clustering import cut_posteriors, soft_cluster_words, too_few_words_message
from .weighting import sif_weights, smooth_idf
from .word_vectors import normalize_rows, restrict_to_counts, train_word_vectors

__all__ = ["WORD2VEC_PARAMS", "count_words", "learn_posteriors", "learn_word_vectors",
           "learn_word_weights"]

logger = logging.getLogger(__name__)

#: The SCDV parameters that word2vec training reads.
WORD2VEC_PARAMS = ("vector_size", "window", "min_count", "negative", "sample", "epochs",
                   "workers", "trainer")


def count_words(token_docs):
    """How often each token occurs in ``token_docs`` (first occurrence first).

    Counts of partitions add up (``Counter.update``) to the corpus's counts.
    """
    return Counter(token for doc in token_docs for token in doc)


def learn_word_vectors(corpus, word_counts, n_docs, params, *, seed, pretrained=None,
                       verbose=0):
    """The vocabulary and its unit-length word vectors (SCDV step 1).

    Parameters
    ----------
    corpus : re-iterable of list of str
        The documents word2vec trains on (a list, or a stream that can be
        iterated once per epoch).
    word_counts : mapping of str to int
        Token counts of the training documents (:func:`count_words`); the
        vocabulary is the words seen at least ``min_count`` times.
    n_docs : int
        Documents in ``corpus``.
    params : mapping
        SCDV parameters: :data:`WORD2VEC_PARAMS` and ``n_components``.
    seed : int
        word2vec's seed.
    pretrained : (words, vectors) or None
        Pretrained vectors to restrict to the vocabulary instead of training.
    verbose : int, default=0

    Returns
    -------
    words : list of str
        Most frequent first.
    vectors : ndarray of shape (V, d), float32
        L2-normalised rows, as the paper's ``init_sims(replace=True)``.

    Raises
    ------
    ValueError
        The vocabulary is empty, or smaller than ``n_components``.
    """
    min_count = params["min_count"]
    if pretrained is None:
        w2v = {name: params[name] for name in WORD2VEC_PARAMS}
        words, raw = train_word_vectors(corpus, word_counts=word_counts, n_docs=n_docs,
                                        seed=seed, verbose=verbose, **w2v)
    else:
        words, raw = restrict_to_counts(*pretrained, word_counts, min_count)
        if not words:
            raise ValueError(
                f"No pretrained word occurs at least min_count={min_count} times in "
                f"the {n_docs} training documents. Check that the tokenizer matches "
                "the vectors (case, base forms)"
                + (" or lower 'min_count'." if min_count > 1 else "."))
    if len(words) < params["n_components"]:
        raise ValueError(too_few_words_message(len(words), params["n_components"],
                                               min_count))
    return words, normalize_rows(raw)


def learn_word_weights(document_frequency, term_counts, n_docs, params):
    """Each vocabulary word's weight in the composite sum (SCDV step 3).

    Parameters
    ----------
    document_frequency : array-like of shape (V,)
        In how many training documents each word occurs.
    term_counts : array-like of shape (V,)
        How often each word occurs in the training documents.
    n_docs : int
    params : mapping
        ``weighting`` ("idf" or "sif") and ``sif_a``.

    Returns
    -------
    ndarray of shape (V,), float64
        idf(w) = ln((1+n)/(1+df(w))) + 1, the paper's; with ``"sif"``,
        times a / (a + p(w)) (see :func:`scdv.weighting.sif_weights`).
    """
    weights = smooth_idf(document_frequency, n_docs)
    if params["weighting"] == "sif":
        weights = weights * sif_weights(term_counts, params["sif_a"])
    return weights


def learn_posteriors(vectors, params, *, seed, verbose=0):
    """p(C_k | w) of the Gaussian mixture fitted on the word vectors (SCDV step 2).

    Parameters
    ----------
    vectors : ndarray of shape (V, d)
        Unit-length word vectors.
    params : mapping
        SCDV parameters: ``n_components``, ``covariance_type``,
        ``gmm_max_iter``, ``cluster_proba_threshold`` and
        ``renormalize_proba``.
    seed : int
        The mixture's ``random_state``.
    verbose : int, default=0
        2 and above print EM iterations.

    Returns
    -------
    ndarray of shape (V, n_components), float64
        After the SCDV-MS cut (:func:`scdv.clustering.sparsify_posteriors`)
        when ``cluster_proba_threshold`` is set.
    """
    logger.info("GMM: %d clusters over %d words", params["n_components"], len(vectors))
    _, proba = soft_cluster_words(
        vectors, n_components=params["n_components"],
        covariance_type=params["covariance_type"], max_iter=params["gmm_max_iter"],
        random_state=seed, verbose=max(verbose - 1, 0),
    )
    return cut_posteriors(proba, params)
