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

from . import _io
from ._validation import seed_from
from .composite import SCDV, _Kernel
from .fit_steps import count_words, learn_posteriors, learn_word_vectors, learn_word_weights
from .threshold import threshold_from_sums
from .tokenize import make_tokenizer
from .weighting import count_matrix
from .word_vectors import load_word_vectors

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
    # scdv._io's reader: a decode error names the file and the byte offset,
    # and carries no document text (a UnicodeDecodeError holds the whole
    # file's bytes, which the workers' logs would print).
    return _io.decode_file(path, encoding, errors)


def _read_lines(path, encoding, errors):
    return [line for _, line in _io.split_lines(_io.decode_file(path, encoding, errors))]


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
        As for :func:`open`. With ``errors="strict"``, a file that does not
        decode raises :class:`scdv.InputError` naming the file and the byte
        offset when the bag is computed.
    npartitions : int or None
        Partitions of the bag of files; default about 100 files each.

    Returns
    -------
    dask.bag.Bag of str
    """
    import dask.bag as db

    files = _files(paths)
    if not files:
        raise ValueError(f"No files found in {paths!r}.")
    n = npartitions or max(1, len(files) // 100)
    bag = db.from_sequence(files, npartitions=min(n, len(files)))
    if lines:
        return bag.map(_read_lines, encoding, errors).flatten()
    return bag.map(_read_file, encoding, errors)


class _StreamedCorpus:
    """Token lists pulled from the cluster one partition at a time, per pass."""

    def __init__(self, tokens):
        self.parts = tokens.to_delayed()

    def __iter__(self):
        for part in self.parts:
            yield from part.compute()


def _frequencies_of(docs, vocabulary):
    # Document frequencies and term counts of one partition; they add up.
    counts = count_matrix(list(docs), vocabulary)
    return [(np.bincount(counts.indices, minlength=len(vocabulary)),
             np.asarray(counts.sum(axis=0, dtype=np.float64)).ravel())]


def _extremes_of(docs, shipped):
    model = shipped.model
    kernel = _Kernel(model.word_vectors_, model.word_cluster_proba_, model.idf_,
                     sublinear_tf=model.sublinear_tf)
    mins, maxs = kernel.row_min_max(count_matrix(list(docs), model.vocabulary_))
    return [(float(mins.sum()), float(maxs.sum()), len(mins))]


def _sum_counts(parts):
    total = Counter()
    for part in parts:
        total.update(part)
    return total


def fit(texts, *, sample_fraction=None, **params):
    """Fit SCDV on a Dask bag, with the corpus-wide work done on the cluster.

    Parameters
    ----------
    texts : dask.bag.Bag
        Training documents (str, or token lists with ``tokenizer=None``).
    sample_fraction : float or None, default=None
        Train word2vec on this random fraction of the documents (the
        vocabulary, idf and threshold still use them all). Not used with
        pretrained ``word_vectors``.
    **params
        :class:`scdv.SCDV` parameters.

    Returns
    -------
    SCDV
        A fitted model, the same kind :meth:`SCDV.fit` returns. Both run the
        same steps (:mod:`scdv.fit_steps`). With ``workers=1`` and an int
        ``random_state`` it equals a local fit on the same documents in the
        same order (word2vec streams them in that order); with pretrained
        ``word_vectors`` it always does, word vectors included.
    """
    model = SCDV(**params)
    model._validate_params()
    seed = seed_from(model.random_state)
    # Loaded before any cluster work, so that a bad file fails fast.
    pretrained = None if model.word_vectors is None else load_word_vectors(model.word_vectors)
    tokenizer = make_tokenizer(model.tokenizer, stop_words=model.stop_words, pos=model.pos)
    tokens = texts if tokenizer is None else texts.map(tokenizer)
    tokens = tokens.persist()

    counts = tokens.reduction(count_words, _sum_counts).compute()
    n_docs = tokens.count().compute()
    if n_docs == 0:
        raise ValueError("The corpus is empty: fit needs at least one document.")
    corpus, n_train = tokens, n_docs
    if sample_fraction is not None and pretrained is None:
        corpus = tokens.random_sample(sample_fraction, random_state=seed)
        n_train = corpus.count().compute()
    fit_params = model.get_params()
    words, vectors = learn_word_vectors(_StreamedCorpus(corpus), counts, n_train, fit_params,
                                        seed=seed, pretrained=pretrained,
                                        verbose=model.verbose)
    proba = learn_posteriors(vectors, fit_params, seed=seed, verbose=model.verbose)
    vocabulary = {w: i for i, w in enumerate(words)}

    parts = tokens.map_partitions(_frequencies_of, vocabulary).compute()
    df = np.sum([d for d, _ in parts], axis=0)
    term_counts = np.sum([c for _, c in parts], axis=0)
    model.vocabulary_, model.word_vectors_ = vocabulary, vectors
    model.word_cluster_proba_ = proba
    model.idf_ = learn_word_weights(df, term_counts, n_docs, fit_params)
    model.threshold_ = 0.0
    shipped = _ship(model)
    extremes = tokens.map_partitions(_extremes_of, shipped).compute()
    model.threshold_ = threshold_from_sums(sum(e[0] for e in extremes),
                                           sum(e[1] for e in extremes), n_docs,
                                           model.sparsity_percentage)
    model._record_fitted()
    return model
