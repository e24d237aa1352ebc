"""Skip-gram word2vec with negative sampling (SCDV stage 1), on gensim."""

from __future__ import annotations

import logging
import zlib
from collections import Counter
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._progress import progress_bar
from ._validation import check_token_documents, seed_from
from .exceptions import WordVectorsError
from .word_state import WordVectorDocs

logger = logging.getLogger(__name__)

__all__ = [
    "SGNSWord2Vec",
    "average_word_vectors",
    "load_word_vectors",
    "normalize_rows",
    "restrict_to_corpus",
    "restrict_to_counts",
    "train_word_vectors",
]


def _stable_hash(text):
    # gensim's default seed hash is Python's hash(), which changes with
    # PYTHONHASHSEED; a checksum keeps runs repeatable across processes.
    return zlib.crc32(text.encode("utf-8"))


def normalize_rows(vectors):
    """Return a float32 copy of ``vectors`` with each row scaled to unit L2 norm.

    Zero rows stay zero (gensim's ``init_sims(replace=True)`` does the same).
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


class _EpochProgress:
    """gensim callback that advances a tqdm bar once per epoch."""

    def __init__(self, bar):
        self.bar = bar

    def on_epoch_begin(self, model):
        pass

    def on_epoch_end(self, model):
        self.bar.update(1)

    def on_train_begin(self, model):
        pass

    def on_train_end(self, model):
        pass


def train_word_vectors(
    token_docs,
    *,
    word_counts=None,
    n_docs=None,
    vector_size=200,
    window=10,
    min_count=20,
    negative=10,
    sample=1e-3,
    epochs=10,
    workers=1,
    seed=0,
    verbose=0,
    trainer="word2vec",
):
    """Train skip-gram negative-sampling word2vec and return its vocabulary.

    Parameters
    ----------
    token_docs : re-iterable of list of str
        The training documents, tokenised: a list, or a stream that can be
        iterated once per epoch (then give ``word_counts`` and ``n_docs``).
    word_counts : mapping of str to int, optional
        Token counts of ``token_docs``, in first-occurrence order; counted
        here when not given.
    n_docs : int, optional
        Documents in ``token_docs``; ``len(token_docs)`` when not given.
    vector_size, window, min_count, negative, sample, epochs, workers
        As for ``gensim.models.Word2Vec`` (``sg=1``, ``hs=0`` are fixed).
    seed : int
        gensim's ``seed``.
    verbose : int
        Show a progress bar over epochs when > 0 and stderr is a terminal.
    trainer : {"word2vec", "fasttext"}, default="word2vec"
        ``"fasttext"`` trains gensim's ``FastText`` with the same skip-gram
        and negative-sampling settings: each word's vector is also the sum
        of its character 3- to 6-grams (Bojanowski et al., TACL 2017), which
        helps rare words and compounds. Its n-grams share
        :data:`FASTTEXT_BUCKETS` hashed rows.

    Returns
    -------
    words : list of str
        The vocabulary, most frequent first (gensim's order).
    vectors : ndarray of shape (V, vector_size), float32
        The raw (not normalised) input vectors.

    Notes
    -----
    The result is repeatable for a fixed ``seed`` only with ``workers=1``:
    gensim's worker threads interleave their updates in an order the operating
    system decides. Seeding does not depend on ``PYTHONHASHSEED`` here, since
    a checksum replaces gensim's default ``hash``.
    """
    from gensim.models import Word2Vec

    counts = word_counts
    if counts is None:
        counts = Counter(token for doc in token_docs for token in doc)
    if n_docs is None:
        n_docs = len(token_docs)
    # gensim fails with an obscure RuntimeError on an empty vocabulary.
    if not any(c >= min_count for c in counts.values()):
        raise ValueError(empty_vocabulary_message(n_docs, sum(counts.values()), min_count))
    bar = progress_bar(total=epochs, desc=f"{trainer} epochs", unit="epoch", verbose=verbose)
    settings = dict(vector_size=vector_size, window=window, min_count=min_count, sg=1, hs=0,
                    negative=negative, sample=sample, workers=workers, seed=seed,
                    hashfxn=_stable_hash)
    if trainer == "fasttext":
        from gensim.models import FastText

        model = FastText(bucket=FASTTEXT_BUCKETS, **settings)
    else:
        model = Word2Vec(**settings)
    # The vocabulary from counts (what word2vec's own scan would count, in
    # the same order), so that a streamed corpus is read only to train:
    # the result equals Word2Vec(sentences=token_docs, ...) exactly.
    model.build_vocab_from_freq(counts, corpus_count=n_docs)
    with bar:
        model.train(token_docs, total_examples=n_docs, epochs=epochs,
                    callbacks=[_EpochProgress(bar)])
    words = list(model.wv.index_to_key)
    vectors = np.asarray(model.wv.vectors, dtype=np.float32)
    logger.info("word2vec: %d words of dimension %d", len(words), vector_size)
    return words, vectors


#: Hashed rows of FastText's character n-gram vectors. gensim's default of
#: 2,000,000 takes 1.6 GB at d=200; a corpus of the size SCDV is fitted on
#: has far fewer distinct n-grams.
FASTTEXT_BUCKETS = 2**18

#: scikit-learn parameter constraints of the word2vec settings, shared by
#: :class:`SGNSWord2Vec` and :class:`scdv.SCDV`.
WORD2VEC_CONSTRAINTS = {
    "vector_size": [Interval(Integral, 1, None, closed="left")],
    "window": [Interval(Integral, 1, None, closed="left")],
    "min_count": [Interval(Integral, 1, None, closed="left")],
    "negative": [Interval(Integral, 1, None, closed="left")],
    "sample": [Interval(Real, 0, None, closed="left")],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "workers": [Interval(Integral, 1, None, closed="left")],
    "trainer": [StrOptions({"word2vec", "fasttext"})],
}


class SGNSWord2Vec(TransformerMixin, BaseEstimator):
    """Skip-gram negative-sampling word2vec on token lists (SCDV stage 1).

    ``fit`` trains gensim's ``Word2Vec`` (``sg=1, hs=0``) and keeps only the
    vocabulary and the L2-normalised vectors, not the training state.
    ``transform`` returns the mean of each document's normalised word vectors,
    the "average word2vec" baseline SCDV is compared with.

    Parameters
    ----------
    vector_size : int, default=200
        Dimension d of the word vectors.
    window : int, default=10
        Context window.
    min_count : int, default=20
        Words seen fewer times in training are left out of the vocabulary.
    negative : int, default=10
        Negative samples per positive one.
    sample : float, default=1e-3
        Down-sampling threshold for frequent words.
    epochs : int, default=10
        Passes over the corpus (the paper's SCDV trains 25; see
        :class:`scdv.SCDV`).
    workers : int, default=1
        gensim worker threads; only ``workers=1`` is repeatable.
    trainer : {"word2vec", "fasttext"}, default="word2vec"
        ``"fasttext"``: gensim's ``FastText``, whose vectors also sum
        character n-grams (see :func:`train_word_vectors`).
    random_state : int or None, default=None
        Seed of gensim's generator; see Notes.
    verbose : int, default=0
        Progress bar over epochs when > 0.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Word to row of ``word_vectors_``.
    word_vectors_ : ndarray of shape (V, vector_size), float32
        Unit-length word vectors.

    Notes
    -----
    ``random_state=None`` draws a seed from numpy's global generator, as
    scikit-learn does. Exact repeatability needs an int and ``workers=1``.

    Examples
    --------
    >>> docs = [["cat", "dog", "mouse"], ["dog", "cat"]] * 20
    >>> model = SGNSWord2Vec(vector_size=8, min_count=1, epochs=2, random_state=0)
    >>> model.fit_transform(docs).shape
    (40, 8)
    """

    def __init__(
        self,
        *,
        vector_size=200,
        window=10,
        min_count=20,
        negative=10,
        sample=1e-3,
        epochs=10,
        workers=1,
        trainer="word2vec",
        random_state=None,
        verbose=0,
    ):
        self.vector_size = vector_size
        self.window = window
        self.min_count = min_count
        self.negative = negative
        self.sample = sample
        self.epochs = epochs
        self.workers = workers
        self.trainer = trainer
        self.random_state = random_state
        self.verbose = verbose

    _parameter_constraints = {
        **WORD2VEC_CONSTRAINTS,
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train word2vec on the token lists ``X``.

        Parameters
        ----------
        X : iterable of list of str
        y : ignored

        Returns
        -------
        self : SGNSWord2Vec
        """
        docs = check_token_documents(X)
        seed = seed_from(self.random_state)
        words, vectors = train_word_vectors(
            docs,
            vector_size=self.vector_size,
            window=self.window,
            min_count=self.min_count,
            negative=self.negative,
            sample=self.sample,
            epochs=self.epochs,
            workers=self.workers,
            seed=seed,
            verbose=self.verbose,
            trainer=self.trainer,
        )
        self.vocabulary_ = {w: i for i, w in enumerate(words)}
        self.word_vectors_ = normalize_rows(vectors)
        return self

    def transform(self, X):
        """Average the unit word vectors of each document's in-vocabulary tokens.

        Parameters
        ----------
        X : iterable of list of str

        Returns
        -------
        WordVectorDocs of shape (n_docs, vector_size), float32
            An ndarray (a document with no in-vocabulary token gives a zero
            row) that also carries the tokens, the vocabulary and the word
            vectors, for the next stage of a staged SCDV pipeline
            (:mod:`scdv.word_state`).
        """
        check_is_fitted(self, "word_vectors_")
        docs = check_token_documents(X)
        averages = average_word_vectors(docs, self.vocabulary_, self.word_vectors_)
        return WordVectorDocs(averages, docs, self.vocabulary_, self.word_vectors_)

    def get_feature_names_out(self, input_features=None):
        """Names ``sgnsword2vec0`` ... of the averaged dimensions."""
        check_is_fitted(self, "word_vectors_")
        d = self.word_vectors_.shape[1]
        return np.asarray([f"sgnsword2vec{j}" for j in range(d)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


def empty_vocabulary_message(n_docs, n_tokens, min_count):
    """The error of a corpus with no word seen ``min_count`` times."""
    advice = "Lower 'min_count' or give more text." if min_count > 1 else "Give more text."
    return (
        f"The vocabulary is empty: no word occurs at least min_count={min_count} "
        f"times in {n_docs} documents ({n_tokens} tokens). {advice}"
    )


def average_word_vectors(token_docs, vocabulary, vectors):
    """Mean word vector of each document; repeated tokens count again.

    One sparse product, counts (n_docs x V) times vectors (V x d), instead of
    a Python loop per token. A document with no vocabulary word is a zero row.

    Returns
    -------
    ndarray of shape (n_docs, d), float32
    """
    from .weighting import count_matrix

    counts = count_matrix(token_docs, vocabulary, dtype=np.float64)
    n = np.asarray(counts.sum(axis=1)).ravel()
    total = counts @ np.asarray(vectors, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n[:, None] > 0, total / n[:, None], 0.0)
    return mean.astype(np.float32)


def load_word_vectors(source):
    """Words and vectors of pretrained embeddings.

    Parameters
    ----------
    source : gensim KeyedVectors, or str / path-like
        A ``KeyedVectors`` object, or a file in word2vec text or binary
        format (fastText ``.vec`` files are word2vec text). The format is
        found by trying text first, then binary.

    Returns
    -------
    words : list of str
    vectors : ndarray of shape (n_words, d), float32

    Raises
    ------
    WordVectorsError
        The file is missing or is not in word2vec format (a ``ValueError``).
    """
    import os

    from gensim.models import KeyedVectors

    if isinstance(source, KeyedVectors):
        return list(source.index_to_key), np.asarray(source.vectors, dtype=np.float32)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "The 'word_vectors' parameter must be a gensim KeyedVectors or the path "
            f"of a word2vec-format file; got {type(source).__name__}."
        )
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise WordVectorsError(f"word_vectors: no such file {path!r}; give the path of a "
                         "word2vec text or binary file.")
    errors = []
    for binary in (False, True):
        try:
            kv = KeyedVectors.load_word2vec_format(path, binary=binary)
        except Exception as exc:  # gensim raises many types on a foreign format
            errors.append(f"{'binary' if binary else 'text'}: {type(exc).__name__}")
            continue
        if len(kv) and np.all(np.isfinite(kv.vectors)):
            return list(kv.index_to_key), np.asarray(kv.vectors, dtype=np.float32)
        errors.append(f"{'binary' if binary else 'text'}: empty or non-finite vectors")
    raise WordVectorsError(
        f"word_vectors: {path!r} is not a word2vec text or binary file "
        f"({'; '.join(errors)}). Give a file written by save_word2vec_format, or a "
        "KeyedVectors object."
    )


def restrict_to_corpus(words, vectors, token_docs, min_count):
    """Keep the pretrained words that occur at least ``min_count`` times.

    Parameters
    ----------
    words : list of str
    vectors : ndarray of shape (n_words, d)
    token_docs : list of list of str
        The training documents.
    min_count : int

    Returns
    -------
    words : list of str
        Most frequent in the training documents first (ties: pretrained order),
        the order word2vec training would give.
    vectors : ndarray of shape (V, d), float32
    """
    return restrict_to_counts(words, vectors, Counter(t for doc in token_docs for t in doc),
                              min_count)


def restrict_to_counts(words, vectors, word_counts, min_count):
    """:func:`restrict_to_corpus` from the corpus's token counts.

    Parameters
    ----------
    words : list of str
    vectors : ndarray of shape (n_words, d)
    word_counts : mapping of str to int
    min_count : int

    Returns
    -------
    words : list of str
    vectors : ndarray of shape (V, d), float32
    """
    rows = [i for i, w in enumerate(words) if word_counts.get(w, 0) >= min_count]
    rows.sort(key=lambda i: -word_counts[words[i]])
    return [words[i] for i in rows], np.asarray(vectors, dtype=np.float32)[rows]
