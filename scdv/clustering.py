"""Soft clustering of word vectors with a Gaussian mixture (SCDV stage 2)."""

from __future__ import annotations

import logging
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import seed_from
from .word_state import looks_like_tokens, staged_state

logger = logging.getLogger(__name__)

__all__ = ["COVARIANCE_TYPES", "GMMSoftClusterer", "cut_posteriors", "soft_cluster_words",
           "sparsify_posteriors"]

COVARIANCE_TYPES = ("tied", "full", "diag", "spherical")


def too_few_words_message(n_words, n_components, min_count=None):
    """The error of a vocabulary too small for the clusters."""
    said = "" if min_count is None else f" (min_count={min_count})"
    advice = ("Lower 'n_components', lower 'min_count', or give more text."
              if min_count is None or min_count > 1
              else "Lower 'n_components' or give more text.")
    return (f"The vocabulary has {n_words} words{said}, fewer than "
            f"n_components={n_components} clusters. {advice}")


def soft_cluster_words(
    vectors,
    *,
    n_components=100,
    covariance_type="tied",
    max_iter=50,
    n_init=1,
    reg_covar=1e-6,
    random_state=0,
    verbose=0,
):
    """Fit a Gaussian mixture on word vectors and return it with p(C_k | w).

    Parameters
    ----------
    vectors : ndarray of shape (V, d)
        Word vectors, one per row (SCDV uses unit-length ones).
    n_components : int, default=100
        Number of clusters K.
    covariance_type : {"tied", "full", "diag", "spherical"}, default="tied"
    max_iter : int, default=50
    n_init : int, default=1
    reg_covar : float, default=1e-6
    random_state : int, default=0
    verbose : int, default=0
        Passed to ``GaussianMixture`` (it prints per-iteration progress).

    Returns
    -------
    gmm : GaussianMixture
        The fitted mixture (k-means initialisation, as in the paper).
    proba : ndarray of shape (V, K), float64
        ``gmm.predict_proba(vectors)``.

    Notes
    -----
    The paper's code stops after 50 EM iterations whether or not EM has
    converged; scikit-learn warns about that, and so the warning is turned into
    a log line here rather than repeated on every fit.
    """
    vectors = np.asarray(vectors)
    if vectors.shape[0] < n_components:
        raise ValueError(too_few_words_message(vectors.shape[0], n_components))
    gmm = GaussianMixture(
        n_components=n_components,
        covariance_type=covariance_type,
        init_params="kmeans",
        max_iter=max_iter,
        n_init=n_init,
        reg_covar=reg_covar,
        random_state=random_state,
        verbose=verbose,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        gmm.fit(vectors)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            logger.info("GMM: %s", w.message)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return gmm, gmm.predict_proba(vectors)


def sparsify_posteriors(proba, threshold, renormalize=False):
    """Hard-threshold cluster posteriors, as SCDV-MS does.

    Parameters
    ----------
    proba : ndarray of shape (V, K)
        p(C_k | w).
    threshold : float
        Posteriors below it become 0 (Gupta et al., 2020, use 0.3).
    renormalize : bool, default=False
        Rescale each row to sum to 1 afterwards.

    Returns
    -------
    ndarray of shape (V, K)

    Notes
    -----
    A word's largest posterior is always kept, even when it is below the
    threshold (a word with flat posteriors would otherwise vanish from every
    document); this is a deliberate deviation from a plain cut.

    References
    ----------
    .. [1] V. Gupta, A. Saw, P. Nokhiz, H. Gupta and P. Talukdar, "Improving
       Document Classification with Multi-Sense Embeddings", ECAI 2020.

    Examples
    --------
    >>> import numpy as np
    >>> sparsify_posteriors(np.array([[0.6, 0.35, 0.05], [0.2, 0.25, 0.55]]), 0.3)
    array([[0.6 , 0.35, 0.  ],
           [0.  , 0.  , 0.55]])
    """
    proba = np.asarray(proba, dtype=np.float64)
    keep = proba >= threshold
    keep[np.arange(len(proba)), proba.argmax(axis=1)] = True
    out = np.where(keep, proba, 0.0)
    if renormalize:
        out /= out.sum(axis=1, keepdims=True)
    return out


def cut_posteriors(proba, params):
    """The SCDV-MS cut that ``params`` asks for (none when it is unset).

    Parameters
    ----------
    proba : ndarray of shape (V, K)
    params : mapping
        ``cluster_proba_threshold`` (None: no cut) and ``renormalize_proba``.

    Returns
    -------
    ndarray of shape (V, K)
    """
    if params["cluster_proba_threshold"] is None:
        return proba
    return sparsify_posteriors(proba, params["cluster_proba_threshold"],
                               params["renormalize_proba"])


class GMMSoftClusterer(TransformerMixin, BaseEstimator):
    """Soft-cluster vectors with a Gaussian mixture: X -> p(C_k | x) (SCDV stage 2).

    A numeric transformer: ``fit`` takes a (n_words, d) matrix of word vectors,
    ``transform`` returns the (n, K) posterior of each row.

    In a staged SCDV pipeline (see :mod:`scdv.word_state`) it takes the
    output of :class:`SGNSWord2Vec` instead: it fits on the vocabulary's word
    vectors, not on the documents, and passes on p(C_k | w) of every word
    with the documents' tokens, for :class:`WordTopicSum`.

    Parameters
    ----------
    n_components : int, default=100
        Number of clusters K.
    covariance_type : {"tied", "full", "diag", "spherical"}, default="tied"
    max_iter : int, default=50
        EM iterations (the paper's value).
    n_init : int, default=1
    reg_covar : float, default=1e-6
    cluster_proba_threshold : float or None, default=None
        SCDV-MS: posteriors below it become 0, a row's largest kept (see
        :func:`sparsify_posteriors`).
    renormalize_proba : bool, default=False
        Rescale what the cut leaves to sum to 1.
    random_state : int, RandomState or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    gmm_ : GaussianMixture
        The fitted mixture.
    n_iter_ : int
        EM iterations run.
    converged_ : bool
        Whether EM converged before ``max_iter`` (the paper's 50 often
        stops it earlier; a log line says so, not a warning).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((20, 2)), np.ones((20, 2))] + np.random.RandomState(0).rand(40, 2) / 10
    >>> GMMSoftClusterer(n_components=2, random_state=0).fit_transform(X).shape
    (40, 2)
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "cluster_proba_threshold": [Interval(Real, 0, 1, closed="both"), None],
        "renormalize_proba": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        n_components=100,
        covariance_type="tied",
        max_iter=50,
        n_init=1,
        reg_covar=1e-6,
        cluster_proba_threshold=None,
        renormalize_proba=False,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.max_iter = max_iter
        self.n_init = n_init
        self.reg_covar = reg_covar
        self.cluster_proba_threshold = cluster_proba_threshold
        self.renormalize_proba = renormalize_proba
        self.random_state = random_state
        self.verbose = verbose

    def _vectors(self, X, reset):
        state = staged_state(X)
        if state is not None:
            state.require(type(self).__name__, "word_vectors")
            X = state.word_vectors
        elif looks_like_tokens(X):
            raise ValueError(
                "GMMSoftClusterer clusters word vectors, and got token lists: put "
                "SGNSWord2Vec() before it.")
        return state, validate_data(self, X, dtype=[np.float64, np.float32], reset=reset)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the mixture on the rows of ``X`` (or on the words of staged documents).

        Returns
        -------
        self : GMMSoftClusterer
        """
        _, X = self._vectors(X, reset=True)
        if X.shape[0] < self.n_components:
            raise ValueError(too_few_words_message(X.shape[0], self.n_components))
        self.gmm_, _ = soft_cluster_words(
            X,
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            max_iter=self.max_iter,
            n_init=self.n_init,
            reg_covar=self.reg_covar,
            random_state=seed_from(self.random_state),
            verbose=self.verbose,
        )
        self.n_iter_ = self.gmm_.n_iter_
        self.converged_ = self.gmm_.converged_
        return self

    def transform(self, X):
        """Posterior p(C_k | x) of each row, after the SCDV-MS cut when it is set.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            Or, for staged documents, a :class:`scdv.word_state.WordTopicState`
            that carries p(C_k | w) of every vocabulary word.
        """
        check_is_fitted(self, "gmm_")
        state, X = self._vectors(X, reset=False)
        proba = cut_posteriors(self.gmm_.predict_proba(X), self.get_params())
        return proba if state is None else state.with_state(word_cluster_proba=proba)

    def get_feature_names_out(self, input_features=None):
        """Names ``gmmsoftclusterer0`` ... of the K posteriors."""
        check_is_fitted(self, "gmm_")
        return np.asarray(
            [f"gmmsoftclusterer{k}" for k in range(self.n_components)], dtype=object
        )
