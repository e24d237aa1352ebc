"""Ready-made pipelines around SCDV."""

from __future__ import annotations

from sklearn.decomposition import TruncatedSVD
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

from .composite import SCDV

__all__ = ["make_reduced_scdv"]


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
