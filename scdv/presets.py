"""Ready-made pipelines around SCDV."""

from __future__ import annotations

from sklearn.decomposition import TruncatedSVD
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

from .composite import SCDV

__all__ = ["PAPER_PARAMS", "make_reduced_scdv"]

#: ``SCDV(**PAPER_PARAMS)`` is the model of Mekala et al. (EMNLP 2017): every
#: setting that shapes the vectors, as the paper gives it, whatever the
#: library's defaults are. (Its stop words are scikit-learn's list, not
#: NLTK's, and word2vec runs on ``workers`` threads; see :class:`SCDV`.)
PAPER_PARAMS = {
    "tokenizer": "english",
    "vector_size": 200,
    "window": 10,
    "min_count": 20,
    "negative": 10,
    "sample": 1e-3,
    "epochs": 25,
    "n_components": 60,
    "covariance_type": "tied",
    "gmm_max_iter": 50,
    "sparsity_percentage": 0.04,
    "word_vectors": None,
    "cluster_proba_threshold": None,
    "renormalize_proba": False,
    "sublinear_tf": False,
    "weighting": "idf",
    "power": None,
    "trainer": "word2vec",
}


def make_reduced_scdv(dimension=2000, *, random_state=None, **scdv_params):
    """SCDV followed by a truncated SVD to ``dimension`` dense columns.

    The paper's vectors have K*d = 12,000 columns; many downstream models
    prefer a few thousand dense ones. This is a plain scikit-learn
    ``Pipeline``: ``SCDV -> TruncatedSVD -> Normalizer``. TruncatedSVD works
    on the sparse output directly (no dense copy), and the rows are
    re-normalised to unit length, as the SVD shrinks them unevenly.

    Parameters
    ----------
    dimension : int, default=2000
        Columns after the reduction; must be below K*d.
    random_state : int or None, default=None
        Seeds SCDV and the randomised SVD.
    **scdv_params
        Passed to :class:`scdv.SCDV`.

    Returns
    -------
    Pipeline
        Steps ``"scdv"``, ``"svd"`` and ``"normalize"``; tune them with
        ``set_params(svd__n_components=...)`` like any pipeline.

    Examples
    --------
    >>> pipe = make_reduced_scdv(500, random_state=0, n_components=10)
    >>> [name for name, _ in pipe.steps]
    ['scdv', 'svd', 'normalize']
    """
    return Pipeline([
        ("scdv", SCDV(random_state=random_state, **scdv_params)),
        ("svd", TruncatedSVD(n_components=dimension, random_state=random_state)),
        ("normalize", Normalizer()),
    ])
