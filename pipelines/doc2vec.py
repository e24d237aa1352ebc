"""gensim Doc2Vec (PV-DBOW) document vectors, a peer of SCDV in the benchmarks."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

__all__ = ["DOC2VEC_PARAMS", "QUICK_DOC2VEC_PARAMS", "doc2vec_features"]

logger = logging.getLogger(__name__)

#: Plain PV-DBOW, the distributed bag of words of Le & Mikolov (2014):
#: document vectors predict the document's words; no word vectors are
#: trained alongside (dbow_words=0), which keeps it fast.
DOC2VEC_PARAMS = dict(vector_size=300, min_count=5, negative=10, sample=1e-4, epochs=20,
                      dbow_words=0)
#: The --quick configuration.
QUICK_DOC2VEC_PARAMS = dict(vector_size=50, epochs=10)


def doc2vec_features(train_tokens: Sequence[Sequence[str]],
                     test_tokens: Sequence[Sequence[str]], *, seed: int = 0,
                     workers: int = 2, params: dict | None = None):
    """Train PV-DBOW on the training documents; infer vectors for the test ones.

    Parameters
    ----------
    train_tokens, test_tokens : sequence of list of str
    seed : int
    workers : int
        gensim threads (more than one is not bit-repeatable).
    params : dict or None
        Overrides of :data:`DOC2VEC_PARAMS`.

    Returns
    -------
    X_train, X_test : ndarray of shape (n, vector_size), float32
        The test vectors are inferred (``infer_vector``), never trained on:
        the inductive protocol.
    """
    from gensim.models.doc2vec import Doc2Vec, TaggedDocument

    settings = {**DOC2VEC_PARAMS, **(params or {})}
    corpus = [TaggedDocument(list(doc), [i]) for i, doc in enumerate(train_tokens)]
    model = Doc2Vec(corpus, dm=0, seed=seed, workers=workers, **settings)
    X_train = np.vstack([model.dv[i] for i in range(len(corpus))]).astype(np.float32)
    X_test = np.vstack([model.infer_vector(list(doc)) for doc in test_tokens]
                       ).astype(np.float32) if len(test_tokens) else np.zeros(
        (0, settings["vector_size"]), np.float32)
    logger.info("doc2vec: %d training vectors, %d inferred", len(X_train), len(X_test))
    return X_train, X_test
