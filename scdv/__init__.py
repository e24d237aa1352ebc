"""scdv: Sparse Composite Document Vectors as scikit-learn transformers.

SCDV (Mekala et al., EMNLP 2017) represents a document by soft-clustering
its words' word2vec vectors, concatenating the idf-weighted, cluster-weighted
vectors of each word, summing them over the document, normalising, and
zeroing small entries.

>>> from scdv import SCDV
>>> model = SCDV(random_state=0)            # doctest: +SKIP
>>> X = model.fit_transform(train_texts)    # doctest: +SKIP
"""

from ._version import __version__
from .clustering import GMMSoftClusterer
from .composite import (
    SCDV,
    WordTopicSum,
    composite_document_vectors,
    fit_scdv,
    load,
    save,
    word_topic_vectors,
)
from .exceptions import InputError, ModelFormatError, ScdvError, WordVectorsError
from .power import PowerNormalizer, signed_power
from .presets import HYBRID_WEIGHT, PAPER_PARAMS, make_hybrid, make_reduced_scdv, make_tfidf
from .threshold import SparseThreshold, sparsity_threshold
from .tokenize import TextTokenizer, english_tokenize, janome_tokenize
from .weighting import IDFWeighter, count_matrix, smooth_idf
from .word_vectors import SGNSWord2Vec, train_word_vectors

__all__ = [
    "HYBRID_WEIGHT",
    "PAPER_PARAMS",
    "SCDV",
    "GMMSoftClusterer",
    "IDFWeighter",
    "InputError",
    "ModelFormatError",
    "PowerNormalizer",
    "SGNSWord2Vec",
    "ScdvError",
    "SparseThreshold",
    "TextTokenizer",
    "WordTopicSum",
    "WordVectorsError",
    "__version__",
    "composite_document_vectors",
    "count_matrix",
    "english_tokenize",
    "fit_scdv",
    "janome_tokenize",
    "load",
    "make_hybrid",
    "make_reduced_scdv",
    "make_tfidf",
    "save",
    "signed_power",
    "smooth_idf",
    "sparsity_threshold",
    "train_word_vectors",
    "word_topic_vectors",
]
