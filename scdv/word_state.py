"""What the SCDV stages hand each other inside a scikit-learn ``Pipeline``.

SCDV's stages learn word-level state (vectors, posteriors, idf), but its
output is per document. In a staged pipeline,

    make_pipeline(TextTokenizer(), SGNSWord2Vec(), GMMSoftClusterer(),
                  IDFWeighter(), WordTopicSum())

each stage passes on the documents' tokens together with the word-level
state learned so far, in the objects defined here:

- :class:`WordVectorDocs`, from :class:`SGNSWord2Vec`: an ndarray of the
  documents' averaged word vectors (so ``SGNSWord2Vec`` still feeds a
  classifier as the "average word2vec" baseline), which also carries the
  tokens, the vocabulary and the unit word vectors;
- :class:`WordTopicState`, from :class:`GMMSoftClusterer` and
  :class:`IDFWeighter`: the tokens and every piece of word-level state
  gathered so far; only :class:`WordTopicSum` turns it into vectors.

A stage that gets the wrong object says which stage belongs before it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WordTopicState", "WordVectorDocs", "looks_like_tokens", "staged_state"]

#: The stage that learns each piece of state, for messages.
PRODUCERS = {
    "word_vectors": "SGNSWord2Vec()",
    "word_cluster_proba": "GMMSoftClusterer()",
    "idf": "IDFWeighter()",
}


class WordVectorDocs(np.ndarray):
    """Averaged word vectors of documents, carrying their tokens and the vocabulary.

    An ``(n_docs, d)`` float32 array like any other; its attributes are what
    the next SCDV stage needs. A slice or a copy is a plain array with no
    attributes (they describe the whole set of documents).

    Attributes
    ----------
    tokens : list of list of str
    vocabulary : dict of str to int
    word_vectors : ndarray of shape (V, d)
    """

    def __new__(cls, averages, tokens, vocabulary, word_vectors):
        obj = np.asarray(averages).view(cls)
        obj.tokens, obj.vocabulary, obj.word_vectors = tokens, vocabulary, word_vectors
        return obj

    def __array_finalize__(self, obj):
        # Views, slices and ufunc results do not describe the same documents.
        self.tokens = self.vocabulary = self.word_vectors = None

    def __reduce__(self):
        return np.asarray(self).__reduce__()  # pickles as the plain array

    def state(self):
        """The :class:`WordTopicState` of these documents (word vectors only so far)."""
        return WordTopicState(self.tokens, self.vocabulary, word_vectors=self.word_vectors)


class WordTopicState:
    """Documents' tokens with the word-level SCDV state learned so far.

    Parameters
    ----------
    tokens : list of list of str
    vocabulary : dict of str to int
    word_vectors : ndarray of shape (V, d) or None
    word_cluster_proba : ndarray of shape (V, K) or None
    idf : ndarray of shape (V,) or None

    Notes
    -----
    It is not an array: a classifier placed after ``GMMSoftClusterer`` or
    ``IDFWeighter`` is told to add :class:`WordTopicSum` first.
    """

    def __init__(self, tokens, vocabulary, *, word_vectors=None, word_cluster_proba=None,
                 idf=None):
        self.tokens = tokens
        self.vocabulary = vocabulary
        self.word_vectors = word_vectors
        self.word_cluster_proba = word_cluster_proba
        self.idf = idf

    def __len__(self):
        return len(self.tokens)

    @property
    def shape(self):
        return (len(self.tokens), len(self.vocabulary))

    def with_state(self, **state):
        """A copy with some pieces of state set (the tokens are shared)."""
        pieces = {name: getattr(self, name) for name in PRODUCERS}
        pieces.update(state)
        return WordTopicState(self.tokens, self.vocabulary, **pieces)

    def require(self, consumer, *names):
        """Raise a one-line ValueError naming the stages missing before ``consumer``."""
        missing = [PRODUCERS[n] for n in names if getattr(self, n) is None]
        if missing:
            raise ValueError(
                f"{consumer} needs {', '.join(missing)} earlier in the pipeline; the "
                "SCDV stages go TextTokenizer(), SGNSWord2Vec(), GMMSoftClusterer(), "
                "IDFWeighter(), WordTopicSum().")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "This is SCDV's word-level state (tokens, word vectors, clusters, idf), not "
            "document vectors: add WordTopicSum() after GMMSoftClusterer() and "
            "IDFWeighter() to get them.")


def staged_state(X):
    """``X`` as a :class:`WordTopicState` if it came from an SCDV stage, else None."""
    if isinstance(X, WordTopicState):
        return X
    if isinstance(X, WordVectorDocs) and X.tokens is not None:
        return X.state()
    return None


def looks_like_tokens(X):
    """Whether ``X`` is a list of token lists (what TextTokenizer gives), not numbers."""
    if isinstance(X, (list, tuple)) and X:
        first = X[0]
        return isinstance(first, (list, tuple)) and (not first or isinstance(first[0], str))
    return False
