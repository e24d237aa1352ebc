"""Document features for the classification pipelines, one builder per method.

Every method turns the training and test documents of one split into two
matrices. The unsupervised stages (SCDV's word2vec, mixture, idf and
threshold; TF-IDF's vocabulary and idf) are fitted once per split, on the
training documents only (``protocol="inductive"``) or on the training and
test documents without their labels (``"transductive"``, as the SCDV paper's
code did). The classifier's hyper-parameters are then searched on the fixed
training features, so word2vec is never refitted per C value: this is what a
``Pipeline(memory=...)`` would buy, done by hand so the fitted SCDV can also
be cached on disk and shared between methods and runs.

Methods
-------
``scdv``
    SCDV vectors (:class:`scdv.SCDV` on cached token lists).
``tfidf``
    TF-IDF with sublinear tf on the raw text: word unigrams and bigrams with
    scikit-learn's default token pattern for English, character 2-3-grams
    for Japanese (no word segmentation needed).
``w2v-avg``
    The mean of the same unit word vectors the SCDV model learned.
``stacking``
    SCDV and TF-IDF features side by side; see :class:`ColumnSlice`.
``scdv-svd``
    SCDV reduced to :data:`SVD_DIMENSION` dense columns by TruncatedSVD
    fitted on the training vectors, then unit rows: the steps of
    :func:`scdv.make_reduced_scdv`, on the cached model.
``doc2vec``
    gensim Doc2Vec, PV-DBOW (:mod:`pipelines.doc2vec`), on the same token lists.
``minilm``, ``minilm-chunks``, ``glove-avg``, ``scdv-glove``
    Pretrained peers (:mod:`pipelines.peers`, the ``peers`` extra).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import normalize

import scdv
from scdv import SCDV, make_tfidf
from scdv._atomic import replacing
from scdv.clustering import cut_posteriors
from scdv.word_vectors import average_word_vectors

from . import peers
from .tokens import hash_tokens

__all__ = [
    "METHODS",
    "TFIDF_METHODS",
    "ColumnSlice",
    "FeatureSet",
    "build_features",
    "fit_scdv_cached",
    "make_tfidf",
    "scdv_cache_path",
    "w2v_average",
]

logger = logging.getLogger(__name__)

METHODS = ("scdv", "tfidf", "w2v-avg", "stacking", "hybrid", "doc2vec", "scdv-svd",
           *peers.PEER_METHODS)
#: The methods whose features come from a fitted SCDV model.
SCDV_METHODS = ("scdv", "w2v-avg", "stacking", "hybrid", "scdv-svd", *peers.SCDV_PEERS)
#: The methods that read TF-IDF features.
TFIDF_METHODS = ("tfidf", "stacking", "hybrid")
#: Columns of ``scdv-svd``: 2,000, a sixth of the paper's 12,000; a smaller
#: SCDV (as in quick runs) is cut to a sixth of its columns likewise.
SVD_DIMENSION = 2000
PROTOCOLS = ("inductive", "transductive")

# SCDV params that act after the mixture, and their base values: the cache
# holds the model fitted with the base values, and other values are applied
# to it (the SCDV-MS cut of the posteriors, then ``SCDV.refit_threshold``)
# without refitting word2vec and the mixture.
_AFTER_THE_MIXTURE = {"sublinear_tf": False, "sparsity_percentage": 0.04,
                      "cluster_proba_threshold": None, "renormalize_proba": False}
# SCDV params that act at transform time only and leave the fitted state as it
# is: set on the cached model, never part of its key.
_TRANSFORM_ONLY = ("batch_size", "n_jobs", "verbose", "power")
# Keys of SCDV params left out of the cache key: they do not change the fit,
# or are always their base value there (the other base values stay in the
# key, so that models cached before they were split off are still found).
_NOT_IN_KEY = _TRANSFORM_ONLY + ("sublinear_tf", "cluster_proba_threshold",
                                 "renormalize_proba")
# SCDV params of the mixture. A cached model that differs from the wanted one
# only in these lends its word vectors (``SCDV.refit_mixture``): another K or
# covariance type costs the mixture's fit, not word2vec's.
_MIXTURE = ("n_components", "covariance_type", "gmm_max_iter")


class FeatureSet:
    """Training and test features of one split, with what it took to build them.

    Attributes
    ----------
    X_train, X_test : sparse matrix or ndarray
    blocks : dict of str to (int, int)
        Column range of each part when features were stacked side by side.
    timings : dict of str to float
        Seconds per stage (``fit_scdv``, ``vectorize``).
    info : dict
        Facts for the report (vocabulary size, density, cache hits).
    """

    def __init__(self, X_train, X_test, *, blocks=None, timings=None, info=None):
        self.X_train = X_train
        self.X_test = X_test
        self.blocks = dict(blocks or {})
        self.timings = dict(timings or {})
        self.info = dict(info or {})


class ColumnSlice(TransformerMixin, BaseEstimator):
    """Select the columns ``start:stop`` of a matrix (a block of stacked features).

    The stacking method builds its SCDV and TF-IDF features once per split,
    ``hstack`` s them, and gives each base estimator of the
    :class:`~sklearn.ensemble.StackingClassifier` a ``ColumnSlice`` in front,
    so that the stacking's internal cross-validation refits only the linear
    models, never word2vec.

    Parameters
    ----------
    start : int, default=0
        First column.
    stop : int or None, default=None
        One past the last column; ``None`` means to the end.

    Examples
    --------
    >>> import numpy as np
    >>> ColumnSlice(1, 3).fit_transform(np.arange(8).reshape(2, 4))
    array([[1, 2],
           [5, 6]])
    """

    def __init__(self, start=0, stop=None):
        self.start = start
        self.stop = stop

    def fit(self, X, y=None):
        """Check the slice against ``X``; nothing is learned.

        Returns
        -------
        self : ColumnSlice
        """
        n = X.shape[1]
        stop = n if self.stop is None else self.stop
        if not (0 <= self.start < stop <= n):
            raise ValueError(f"ColumnSlice({self.start}, {self.stop}) does not fit {n} columns")
        self.n_features_in_ = n
        return self

    def transform(self, X):
        """Return ``X[:, start:stop]`` (CSR stays CSR)."""
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} columns; ColumnSlice was fitted on {self.n_features_in_}"
            )
        if sp.issparse(X):
            X = X.tocsr()
        return X[:, self.start:self.stop]


# --------------------------------------------------------------------------- SCDV


def _digest(train_tokens: Sequence[Sequence[str]], params: dict, leave_out) -> str:
    key = {k: v for k, v in sorted(params.items()) if k not in leave_out}
    source = key.get("word_vectors")
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source):
        # A file rewritten in place must not hit the model fitted on the old one.
        stat = os.stat(source)
        key["word_vectors"] = [os.path.abspath(source), stat.st_size, stat.st_mtime_ns]
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode())
    digest.update(hash_tokens(train_tokens).encode())
    digest.update(scdv.__version__.encode())
    return digest.hexdigest()[:20]


def scdv_cache_path(train_tokens: Sequence[Sequence[str]], params: dict, cache_dir) -> Path:
    """File that holds the SCDV fitted with ``params`` on ``train_tokens``.

    The key is a hash of the parameters that shape the model and of the
    training token lists, so any change of either refits.
    """
    return Path(cache_dir) / "models" / f"scdv-{_digest(train_tokens, params, _NOT_IN_KEY)}.scdv"


def _word_vectors_pointer(train_tokens, params, cache_dir) -> Path:
    # Names a cached model whose word2vec matches ``params`` whatever its mixture.
    digest = _digest(train_tokens, params, _NOT_IN_KEY + _MIXTURE)
    return Path(cache_dir) / "models" / f"word2vec-{digest}.txt"


def _with_cached_word_vectors(train_tokens, params, cache_dir):
    """A model with ``params``, its word vectors taken from a cached model, or None."""
    pointer = _word_vectors_pointer(train_tokens, params, cache_dir)
    try:
        name = pointer.read_text().strip()
        base = scdv.load(pointer.parent / name)
    except FileNotFoundError:
        return None
    except (OSError, scdv.ModelFormatError) as exc:
        logger.warning("refitting word2vec: %s", exc)
        return None
    logger.info("SCDV: refitting the mixture on the cached word vectors of %s", name)
    defaults = SCDV().get_params()
    mixture = {k: params.get(k, defaults[k]) for k in _MIXTURE}
    return base.set_params(**mixture).refit_mixture(train_tokens)


def effective_scdv_params(params: dict) -> dict:
    """Every ``SCDV`` parameter a fit with ``params`` uses, defaults spelled out.

    The pipelines give SCDV only their overrides of ``SCDV()``; this is what
    the fit is keyed and recorded by, so that neither a cached model nor a
    result file silently takes new defaults for the ones it was made with.
    ``tokenizer`` is None: the pipelines tokenise before SCDV sees the text.
    """
    return {**SCDV().get_params(), **params, "tokenizer": None}


def fit_scdv_cached(train_tokens: Sequence[Sequence[str]], params: dict, cache_dir=None):
    """Fit :class:`scdv.SCDV` on token lists, or load the same fit from the cache.

    Parameters
    ----------
    train_tokens : sequence of list of str
        The documents SCDV is fitted on (already tokenised).
    params : dict
        ``SCDV`` keyword arguments; ``tokenizer`` is forced to None.
    cache_dir : path-like or None
        Cache folder; models go to ``cache_dir/models/``. ``None`` disables
        it, as does a ``word_vectors`` given as an object rather than a file
        (a file is keyed by its path, size and modification time).

    Returns
    -------
    model : SCDV
        Fitted model that takes token lists.
    seconds : float or None
        Fit time, or None when the model came from the cache. When a cached
        model differs only in the mixture's parameters, its word vectors are
        reused and this is the time of the mixture and threshold alone.
    path : pathlib.Path or None
        The cache file.
    """
    # A key of the given settings alone would hit a model fitted under older defaults.
    params = effective_scdv_params(params)
    transform = {k: params.pop(k) for k in _TRANSFORM_ONLY if k in params}
    source = params.get("word_vectors")
    if source is not None and not isinstance(source, (str, os.PathLike)):
        cache_dir = None  # an in-memory KeyedVectors has no stable name to key the cache on
    wanted = {k: params[k] for k in _AFTER_THE_MIXTURE}
    params.update(_AFTER_THE_MIXTURE)
    path = None
    model = seconds = None
    if cache_dir is not None:
        path = scdv_cache_path(train_tokens, params, cache_dir)
        if path.is_file():
            try:
                model = scdv.load(path)
            except scdv.ModelFormatError as exc:
                logger.warning("refitting: %s", exc)
            else:
                logger.info("SCDV: loaded cached model %s", path)
    if model is None:
        start = time.perf_counter()
        if cache_dir is not None:
            model = _with_cached_word_vectors(train_tokens, params, cache_dir)
        if model is None:
            model = SCDV(**params).fit(train_tokens)
        seconds = time.perf_counter() - start
        logger.info("SCDV: fitted on %d documents in %.1f s (vocabulary %d words)",
                    len(train_tokens), seconds, len(model.vocabulary_))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save(path)
    if path is not None:
        pointer = _word_vectors_pointer(train_tokens, params, cache_dir)
        if not pointer.is_file():
            with replacing(pointer) as tmp:  # a reader never sees a half-written name
                Path(tmp).write_text(path.name + "\n")
    if wanted != _AFTER_THE_MIXTURE:
        # What fit does with these parameters, on the same mixture.
        model.word_cluster_proba_ = cut_posteriors(model.word_cluster_proba_, wanted)
        model.set_params(**wanted).refit_threshold(train_tokens)
    model.set_params(**transform)
    return model, seconds, path


def w2v_average(model, token_docs: Sequence[Sequence[str]]) -> np.ndarray:
    """Mean of the unit word vectors of each document's in-vocabulary tokens.

    Uses the vectors a fitted SCDV (or :class:`scdv.SGNSWord2Vec`) learned, so
    the baseline and SCDV start from the same word2vec. Repeated tokens count
    again, as in :meth:`scdv.SGNSWord2Vec.transform`; a document with no
    vocabulary word is a zero row.

    Returns
    -------
    ndarray of shape (n_docs, d), float32
    """
    return average_word_vectors(token_docs, model.vocabulary_, model.word_vectors_)


# --------------------------------------------------------------------------- TF-IDF


def tfidf_description(language: str) -> dict:
    """The TF-IDF settings as JSON-friendly params for the report."""
    vec = make_tfidf(language)
    return {"analyzer": vec.analyzer, "ngram_range": list(vec.ngram_range),
            "sublinear_tf": vec.sublinear_tf, "min_df": vec.min_df,
            "token_pattern": vec.token_pattern if vec.analyzer == "word" else None,
            "lowercase": vec.lowercase, "norm": vec.norm}


# --------------------------------------------------------------------------- dispatch


def _reduce(Xtr, Xte, seed, info):
    # The reducing steps of scdv.make_reduced_scdv (TruncatedSVD, then unit
    # rows), applied to the cached model's vectors.
    n = max(1, min(SVD_DIMENSION, Xtr.shape[1] // 6, Xtr.shape[0] - 1))
    reducer = scdv.make_reduced_scdv(n, random_state=seed)[1:]
    Xtr = reducer.fit_transform(Xtr).astype(np.float32)
    Xte = reducer.transform(Xte).astype(np.float32)
    info["svd_components"] = n
    info["svd_explained_variance"] = float(
        reducer.named_steps["svd"].explained_variance_ratio_.sum())
    return Xtr, Xte


def _density(X) -> float:
    if sp.issparse(X):
        return X.nnz / max(1, X.shape[0] * X.shape[1])
    return float(np.count_nonzero(X)) / max(1, X.size)


def _scdv_features(method, train_tokens, test_tokens, all_tokens, *, protocol, params, l2,
                   cache_dir, seed, info):
    """SCDV (or averaged word2vec) features: ``(X_train, X_test, fit s, vectorise s)``.

    Facts about the model go into ``info``; the fit time is 0 when the model
    came from the cache.
    """
    fit_docs = list(train_tokens)
    if protocol == "transductive":
        fit_docs = (list(all_tokens) if all_tokens is not None
                    else fit_docs + list(test_tokens))
    model, seconds, path = fit_scdv_cached(fit_docs, params, cache_dir)
    info["scdv_cache_hit"] = seconds is None
    info["scdv_model_file"] = str(path) if path is not None else None
    info["model_bytes_on_disk"] = path.stat().st_size if path is not None else None
    info["scdv_vocabulary_size"] = len(model.vocabulary_)
    info["scdv_threshold"] = float(model.threshold_)
    start = time.perf_counter()
    if method == "w2v-avg":
        Xtr, Xte = w2v_average(model, train_tokens), w2v_average(model, test_tokens)
    else:
        Xtr, Xte = model.transform(train_tokens), model.transform(test_tokens)
        if l2:
            Xtr, Xte = normalize(Xtr), normalize(Xte)
        info["scdv_density"] = _density(Xtr)
        if method == "scdv-svd":
            Xtr, Xte = _reduce(Xtr, Xte, seed, info)
    return Xtr, Xte, seconds if seconds is not None else 0.0, time.perf_counter() - start


def _doc2vec_features(train_tokens, test_tokens, *, protocol, seed, params):
    """PV-DBOW features: ``(X_train, X_test, seconds)``."""
    from .doc2vec import doc2vec_features

    start = time.perf_counter()
    if protocol == "transductive":
        # Test documents are trained on too (never their labels).
        X_all, _ = doc2vec_features(list(train_tokens) + list(test_tokens), [],
                                    seed=seed, params=params)
        Xtr, Xte = X_all[:len(train_tokens)], X_all[len(train_tokens):]
    else:
        Xtr, Xte = doc2vec_features(train_tokens, test_tokens, seed=seed, params=params)
    return Xtr, Xte, time.perf_counter() - start


def _tfidf_features(train_texts, test_texts, all_texts, *, language, protocol, info):
    """TF-IDF features of the raw texts: ``(X_train, X_test, seconds)``."""
    start = time.perf_counter()
    vec = make_tfidf(language)
    if protocol == "transductive":
        vec.fit(list(all_texts) if all_texts is not None
                else list(train_texts) + list(test_texts))
        Xtr = vec.transform(train_texts)
    else:
        Xtr = vec.fit_transform(train_texts)
    Xte = vec.transform(test_texts)
    seconds = time.perf_counter() - start
    info["tfidf_features"] = len(vec.vocabulary_)
    return Xtr, Xte, seconds


def _side_by_side(parts):
    """``(X_train, X_test, blocks)``: the parts' columns side by side, and where each is."""
    blocks, offset = {}, 0
    for name, Xtr, _ in parts:
        blocks[name] = (offset, offset + Xtr.shape[1])
        offset += Xtr.shape[1]
    if len(parts) == 1:
        return parts[0][1], parts[0][2], blocks
    X_train = sp.hstack([Xtr for _, Xtr, _ in parts], format="csr", dtype=np.float32)
    X_test = sp.hstack([Xte for _, _, Xte in parts], format="csr", dtype=np.float32)
    return X_train, X_test, blocks


def build_features(
    method: str,
    *,
    train_texts: Sequence[str],
    test_texts: Sequence[str],
    train_tokens: Sequence[Sequence[str]] | None,
    test_tokens: Sequence[Sequence[str]] | None,
    language: str,
    protocol: str = "inductive",
    scdv_params: dict | None = None,
    scdv_l2: bool = False,
    cache_dir=None,
    all_texts: Sequence[str] | None = None,
    all_tokens: Sequence[Sequence[str]] | None = None,
    seed: int = 0,
    doc2vec_params: dict | None = None,
) -> FeatureSet:
    """Build the training and test features of one split for ``method``.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`. ``"hybrid"`` puts ``scdv.HYBRID_WEIGHT`` times the SCDV columns beside
        the TF-IDF columns, as :func:`scdv.make_hybrid` does, for one linear
        model; ``"stacking"`` puts them side by side unweighted for
        :func:`pipelines.models.make_stacking`.
    train_texts, test_texts : sequence of str
        Raw documents (TF-IDF reads these).
    train_tokens, test_tokens : sequence of list of str or None
        The same documents tokenised (SCDV and w2v-avg read these); may be
        None for ``"tfidf"``.
    language : {"english", "japanese"}
        Picks the TF-IDF analyzer.
    protocol : {"inductive", "transductive"}, default="inductive"
        Whether the unsupervised stages see only the training documents, or
        the test documents too (never their labels).
    scdv_params : dict or None
        ``SCDV`` keyword arguments.
    scdv_l2 : bool, default=False
        Re-normalise each SCDV row to unit L2 length after the sparsity
        threshold (an option of the pipeline, not of the library: the paper
        does not re-normalise).
    cache_dir : path-like or None
        Cache folder for fitted SCDV models.
    all_texts, all_tokens : sequence or None
        The whole corpus in its own order, used instead of train + test by the
        transductive protocol. With cross-validation every fold then fits the
        same unsupervised model (one SCDV fit, one cache entry), not one per
        fold order.

    Returns
    -------
    FeatureSet
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid: {', '.join(PROTOCOLS)}")
    timings: dict[str, float] = {}
    info: dict = {}
    parts = []  # (block name, train matrix, test matrix)
    if method in peers.SCDV_PEERS:
        scdv_params = peers.with_peer_vectors(method, scdv_params, cache_dir)
        info["word_vectors"] = scdv_params["word_vectors"]
    if method in peers.EMBEDDING_PEERS:
        Xtr, Xte, timings["vectorize"] = peers.peer_features(
            method, train_texts=train_texts, test_texts=test_texts,
            train_tokens=train_tokens, test_tokens=test_tokens, info=info)
        parts.append((method, Xtr, Xte))
    if method in SCDV_METHODS:
        Xtr, Xte, timings["fit_scdv"], timings["vectorize"] = _scdv_features(
            method, train_tokens, test_tokens, all_tokens, protocol=protocol,
            params=scdv_params or {}, l2=scdv_l2, cache_dir=cache_dir,
            seed=seed, info=info)
        if method == "hybrid":
            Xtr, Xte = scdv.HYBRID_WEIGHT * Xtr, scdv.HYBRID_WEIGHT * Xte
        parts.append(("w2v-avg" if method == "w2v-avg" else "scdv", Xtr, Xte))
    if method == "doc2vec":
        Xtr, Xte, timings["fit"] = _doc2vec_features(train_tokens, test_tokens,
                                                     protocol=protocol, seed=seed,
                                                     params=doc2vec_params)
        parts.append(("doc2vec", Xtr, Xte))
    if method in TFIDF_METHODS:
        Xtr, Xte, seconds = _tfidf_features(train_texts, test_texts, all_texts,
                                            language=language, protocol=protocol, info=info)
        timings["vectorize"] = timings.get("vectorize", 0.0) + seconds
        parts.append(("tfidf", Xtr, Xte))
    X_train, X_test, blocks = _side_by_side(parts)
    info["n_features"] = int(X_train.shape[1])
    return FeatureSet(X_train, X_test, blocks=blocks, timings=timings, info=info)
