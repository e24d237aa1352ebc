"""SCDV on a Dask cluster: vectorise, and fit, corpora larger than one machine.

Install with ``pip install -e ".[dask]"``. ``transform`` works with any Dask
scheduler; with a ``distributed`` client the fitted model is broadcast to
each worker once (``Client.scatter(..., broadcast=True)``), not sent with
every partition.

What runs where in :func:`fit`:

- distributed (map-reduce over partitions): tokenising, word counts for the
  vocabulary, document frequencies, and the threshold statistics (each
  document's smallest and largest normalised entry);
- streamed: word2vec trains on the client, pulling one partition of the
  tokenised corpus at a time from the cluster, once per epoch (gensim
  streams any re-iterable corpus), or on a random sample when asked
  (``sample_fraction``): the training itself is one machine's work;
- on the client: the Gaussian mixture, fitted on the vocabulary's vectors
  (tens of thousands of rows, whatever the corpus size).

Examples
--------
>>> import dask.bag as db
>>> from scdv import SCDV
>>> import scdv.dask
>>> docs = ["the cat sat on the mat", "dogs chase cats", "a cat and a dog"] * 10
>>> model = SCDV(vector_size=10, n_components=2, min_count=1, epochs=2,
...              random_state=0).fit(docs)
>>> X = scdv.dask.transform(model, db.from_sequence(docs, npartitions=3))
>>> (X.compute() != model.transform(docs)).nnz
0
"""

from __future__ import annotations

import copy
import logging
import os
from collections import Counter
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ._validation import seed_from
from .clustering import soft_cluster_words, sparsify_posteriors, too_few_words_message
from .composite import SCDV, _Kernel
from .threshold import sparsity_threshold
from .tokenize import make_tokenizer
from .weighting import count_matrix, smooth_idf
from .word_vectors import _stable_hash, empty_vocabulary_message, normalize_rows

__all__ = ["fit", "read_text", "transform"]

logger = logging.getLogger(__name__)

# How many times this process has unpacked a shipped model (see _Shipped).
_UNPACKED = 0


class _Shipped:
    """A fitted model in transit to the workers.

    Unpacking counts itself, so that tests can check each worker received the
    model once however many partitions it vectorised. On the workers the
    model vectorises on one thread: Dask's own threads share the cores.
    """

    def __init__(self, model):
        self.model = model

    def __getstate__(self):
        return {"model": self.model}

    def __setstate__(self, state):
        global _UNPACKED
        _UNPACKED += 1
        self.model = state["model"]


def _client():
    # The default distributed client, if there is one that is running (a
    # Client whose connection failed can linger as the default).
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return None
    return client if client.status == "running" else None


def _ship(model):
    """The model as a value tasks can depend on: one broadcast, or a delayed."""
    import dask

    shipped = _Shipped(copy.copy(model).set_params(n_jobs=1, verbose=0))
    client = _client()
    if client is not None:
        return client.scatter(shipped, broadcast=True, hash=False)
    return dask.delayed(shipped, pure=True, traverse=False)


def _vectorise_partition(shipped, documents):
    return shipped.model.transform(list(documents))


def transform(model, texts):
    """SCDV vectors of a Dask bag of documents, as a Dask array.

    Parameters
    ----------
    model : SCDV
        A fitted model.
    texts : dask.bag.Bag
        Documents: str, or lists of tokens when the model's ``tokenizer`` is
        None.

    Returns
    -------
    dask.array.Array of shape (n_docs, n_components * vector_size), float32
        One chunk per partition, each a ``scipy.sparse.csr_matrix``; the
        number of rows per chunk is unknown until computed.
        ``.compute()`` equals ``model.transform(texts.compute())``.
    """
    import dask
    import dask.array as da
    import dask.bag as db

    check_is_fitted(model, "threshold_")
    if not isinstance(texts, db.Bag):
        raise TypeError(
            f"scdv.dask.transform expects a dask.bag.Bag; got {type(texts).__name__}. "
            "Make one with dask.bag.from_sequence(texts) or scdv.dask.read_text(paths)."
        )
    width = model.word_cluster_proba_.shape[1] * model.word_vectors_.shape[1]
    meta = sp.csr_matrix((0, width), dtype=np.float32)
    shipped = _ship(model)
    vectorise = dask.delayed(_vectorise_partition, pure=True)
    chunks = [
        da.from_delayed(vectorise(shipped, part), shape=(np.nan, width),
                        dtype=np.float32, meta=meta)
        for part in texts.to_delayed()
    ]
    if not chunks:
        return da.from_array(meta, chunks=(0, width))
    return da.concatenate(chunks, axis=0)


def _read_file(path, encoding, errors):
    with open(path, encoding=encoding, errors=errors) as handle:
        return handle.read()


def _files(paths):
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(str(p) for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            found.append(str(path))
        else:
            raise FileNotFoundError(f"No such file or directory: {str(path)!r}")
    return found


def read_text(paths, lines=False, *, encoding="utf-8", errors="strict", npartitions=None):
    """A Dask bag of documents read from files.

    Parameters
    ----------
    paths : str, path-like, or a list of them
        Files, or directories (every regular file below, in sorted order).
    lines : bool, default=False
        False: each file is one document. True: each non-blank line is one.
    encoding, errors : str
        As for :func:`open`.
    npartitions : int or None
        Partitions of the bag of files (``lines=False``); default about 100
        files each.

    Returns
    -------
    dask.bag.Bag of str
    """
    import dask.bag as db

    files = _files(paths)
    if not files:
        raise ValueError(f"No files found in {paths!r}.")
    if lines:
        bag = db.read_text(files, encoding=encoding, errors=errors)
        return bag.map(str.rstrip, "\r\n").filter(lambda line: line.strip() != "")
    n = npartitions or max(1, len(files) // 100)
    return db.from_sequence(files, npartitions=n).map(_read_file, encoding, errors)


class _StreamedCorpus:
    """Token lists pulled from the cluster one partition at a time, per pass."""

    def __init__(self, tokens):
        self.parts = tokens.to_delayed()

    def __iter__(self):
        for part in self.parts:
            yield from part.compute()


def _counts_of(docs):
    return Counter(token for doc in docs for token in doc)


def _sum_counts(parts):
    total = Counter()
    for part in parts:
        total.update(part)
    return total


def _df_of(docs, vocabulary):
    counts = count_matrix(list(docs), vocabulary)
    return [(np.bincount(counts.indices, minlength=len(vocabulary)), counts.shape[0])]


def _extremes_of(docs, shipped):
    model = shipped.model
    kernel = _Kernel(model.word_vectors_, model.word_cluster_proba_, model.idf_,
                     sublinear_tf=model.sublinear_tf)
    mins, maxs = kernel.row_min_max(count_matrix(list(docs), model.vocabulary_))
    return [(float(mins.sum()), float(maxs.sum()), len(mins))]


def fit(texts, *, sample_fraction=None, **params):
    """Fit SCDV on a Dask bag, with the corpus-wide work done on the cluster.

    Parameters
    ----------
    texts : dask.bag.Bag
        Training documents (str, or token lists with ``tokenizer=None``).
    sample_fraction : float or None, default=None
        Train word2vec on this random fraction of the documents (the
        vocabulary, idf and threshold still use them all).
    **params
        :class:`scdv.SCDV` parameters.

    Returns
    -------
    SCDV
        A fitted model, the same kind :meth:`SCDV.fit` returns. It matches a
        local fit in every stage computed from counts (vocabulary, idf,
        threshold); the word vectors differ, as word2vec sees the documents
        in a streamed order.
    """
    from gensim.models import Word2Vec

    model = SCDV(**params)
    model._check_params()
    seed = seed_from(model.random_state)
    tokenizer = make_tokenizer(model.tokenizer, stop_words=model.stop_words, pos=model.pos)
    tokens = texts if tokenizer is None else texts.map(tokenizer)
    tokens = tokens.persist()

    counts = tokens.reduction(_counts_of, _sum_counts).compute()
    n_docs = tokens.count().compute()
    if n_docs == 0:
        raise ValueError("The corpus is empty: fit needs at least one document.")
    frequent = {w: c for w, c in counts.items() if c >= model.min_count}
    if not frequent:
        raise ValueError(empty_vocabulary_message([[]] * n_docs, model.min_count))

    w2v = Word2Vec(vector_size=model.vector_size, window=model.window, min_count=model.min_count,
                   sg=1, hs=0, negative=model.negative, sample=model.sample,
                   workers=model.workers, seed=seed, hashfxn=_stable_hash)
    w2v.build_vocab_from_freq(frequent)
    corpus = tokens
    if sample_fraction is not None:
        corpus = tokens.random_sample(sample_fraction, random_state=seed)
    n_train = corpus.count().compute() if sample_fraction is not None else n_docs
    w2v.train(_StreamedCorpus(corpus), total_examples=n_train, epochs=model.epochs)
    words = list(w2v.wv.index_to_key)
    if len(words) < model.n_components:
        raise ValueError(too_few_words_message(len(words), model.n_components))
    vectors = normalize_rows(w2v.wv.vectors)
    del w2v
    _, proba = soft_cluster_words(vectors, n_components=model.n_components,
                                  covariance_type=model.covariance_type,
                                  max_iter=model.gmm_max_iter, random_state=seed)
    if model.cluster_proba_threshold is not None:
        proba = sparsify_posteriors(proba, model.cluster_proba_threshold,
                                    model.renormalize_proba)
    vocabulary = {w: i for i, w in enumerate(words)}

    df_parts = tokens.map_partitions(_df_of, vocabulary).compute()
    df = np.sum([d for d, _ in df_parts], axis=0)
    model.vocabulary_, model.word_vectors_ = vocabulary, vectors
    model.word_cluster_proba_ = proba
    model.idf_ = smooth_idf(df, n_docs)
    model.threshold_ = 0.0
    shipped = _ship(model)
    extremes = tokens.map_partitions(_extremes_of, shipped).compute()
    total_min = sum(e[0] for e in extremes)
    total_max = sum(e[1] for e in extremes)
    model.threshold_ = sparsity_threshold([total_min / n_docs], [total_max / n_docs],
                                          model.sparsity_percentage)
    return model
