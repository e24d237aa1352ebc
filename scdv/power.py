"""Power normalisation of document vectors, for linear classifiers.

SCDV sums many word-topic vectors into one, as Fisher vectors and VLAD sum
local descriptors. Such sums are "bursty": a few large entries, from words a
document repeats, dominate a dot product. Perronnin, Sanchez and Mensink
(ECCV 2010) showed that for linear classifiers, taking the signed square
root of every entry and then L2-normalising the row helps a lot. The paper's
SCDV does not do this; it is offered here as a separate stage, to put
between ``SCDV`` and the classifier.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.preprocessing import normalize
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

__all__ = ["PowerNormalizer", "power_normalize_rows", "signed_power"]


def signed_power(X, power=0.5):
    """sign(x) * |x| ** power, entry by entry; sparse input stays sparse.

    Parameters
    ----------
    X : ndarray or sparse matrix
    power : float, default=0.5
        0 < power <= 1; 1 returns a copy of ``X``.

    Returns
    -------
    ndarray or sparse matrix, of the dtype of ``X`` (float)

    Examples
    --------
    >>> signed_power(np.array([[-4.0, 0.0, 9.0]]))
    array([[-2.,  0.,  3.]])
    """
    X = X.copy()
    _signed_power_inplace(X.data if sp.issparse(X) else X, power)
    return X


def _signed_power_inplace(values, power):
    np.multiply(np.sign(values), np.abs(values) ** power, out=values)


def power_normalize_rows(X, power=0.5):
    """:class:`PowerNormalizer` of a CSR matrix, in place on ``X.data``.

    Parameters
    ----------
    X : csr_matrix, float
        Edited in place; all-zero rows stay zero.
    power : float, default=0.5

    Returns
    -------
    X : csr_matrix
    """
    _signed_power_inplace(X.data, power)
    return normalize(X, norm="l2", copy=False)  # scikit-learn scales CSR rows in place


class PowerNormalizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Signed power, then unit rows: x -> sign(x)|x|^a / ||sign(x)|x|^a||.

    A stateless stage (like scikit-learn's ``Normalizer``) for the output of
    ``SCDV``, or of any sum of word vectors, before a linear classifier.
    Zeros stay zeros, so sparse input stays sparse with the same pattern; an
    all-zero row stays all zero.

    Parameters
    ----------
    power : float, default=0.5
        The exponent a, in (0, 1]. 0.5 is the signed square root of
        Perronnin et al.; 1 leaves only the normalisation.
    norm : {"l2", "l1", "max"} or None, default="l2"
        Row normalisation after the power; None skips it.

    Attributes
    ----------
    n_features_in_ : int

    References
    ----------
    .. [1] F. Perronnin, J. Sanchez and T. Mensink, "Improving the Fisher
       kernel for large-scale image classification", ECCV 2010.

    Examples
    --------
    >>> import numpy as np
    >>> PowerNormalizer().fit_transform(np.array([[9.0, -16.0]])).round(3)
    array([[ 0.6, -0.8]])
    """

    _parameter_constraints = {
        "power": [Interval(Real, 0, 1, closed="right")],
        "norm": [StrOptions({"l2", "l1", "max"}), None],
    }

    def __init__(self, power=0.5, norm="l2"):
        self.power = power
        self.norm = norm

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and record the number of features.

        Returns
        -------
        self : PowerNormalizer
        """
        validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32])
        return self

    def transform(self, X):
        """Signed power of every entry, then each row scaled to unit norm.

        Returns
        -------
        ndarray or csr_matrix of the shape and dtype of ``X``
        """
        # Stateless, like ``Normalizer``: transform works unfitted too, so it
        # validates the parameters itself.
        self._validate_params()
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          reset=False)
        X = signed_power(X, self.power)
        return X if self.norm is None else normalize(X, norm=self.norm, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.requires_fit = False
        return tags
