"""Cross-validated text classification on SCDV features (and peers), from the command line.

Usage::

    python -m pipelines.classify --dataset NAME --output results.json
    python -m pipelines.classify --dataset NAME --quick --plots plots/ --output quick.json
    python -m pipelines.classify --dataset NAME --method tfidf --output tfidf.json
    python -m pipelines.classify --dataset NAME --word-vectors vectors.bin --output wv.json

``NAME`` is a corpus of the registry :data:`pipelines.datasets.DATASETS`. Its
entry gives the loader, the language (hence the tokenizer), whether it is
multi-label, the headline metric, the split scheme, the ``--quick`` sizes and
its own SCDV settings; this module names no corpus, so adding one takes an
entry there and nothing here.

What one run does:

1. load the corpus (``--data-dir``, else ``$SCDV_DATA``, else ``../shared/data``)
   and split it by its registered scheme: its own train/test split, or
   stratified K-fold for a corpus that has none;
2. tokenise every document once, on two processes, with the token lists
   cached on disk (:mod:`pipelines.tokens`);
3. per split, fit the unsupervised stages once (SCDV: word2vec, mixture, idf,
   threshold; cached on disk) on the training documents (``inductive``) or on
   all documents without labels (``transductive``), and transform train and
   test once (:mod:`pipelines.features`); ``--scdv defaults`` (the
   library's ``SCDV()``) or ``--scdv paper`` (``scdv.PAPER_PARAMS``) picks the
   SCDV settings (:data:`SCDV_PRESETS`);
4. choose C of the linear classifier by K-fold CV on the training features
   only, refit on all training features (:mod:`pipelines.models`);
5. predict the test documents and compute metrics, a per-class report, the
   most-confused class pairs and, with ``--plots``, PNG figures.

The programmatic entry points are :func:`run` (keywords) and :func:`run_config`
(a :class:`RunConfig`); :func:`main` is the CLI. Both build one
:class:`RunConfig`, which every step of the run reads.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

import scdv
from scdv._atomic import replacing

from . import evaluate, fewlabels, peers
from .datasets import (
    DATASET_NAMES,
    DATASETS,
    JANOME_ALL_POS,
    DatasetInfo,
    DatasetNotFoundError,
    Splits,
    load_splits,
)
from .doc2vec import DOC2VEC_PARAMS, QUICK_DOC2VEC_PARAMS
from .features import (
    METHODS,
    PROTOCOLS,
    SCDV_METHODS,
    TFIDF_METHODS,
    build_features,
    effective_scdv_params,
    tfidf_description,
)
from .models import (
    C_GRIDS,
    CLASSIFIERS,
    QUICK_C_GRIDS,
    FitWarnings,
    decision_scores,
    grid_search,
    make_stacking,
    quiet_fit_warnings,
)
from .tokens import default_cache_dir, tokenize_corpus

__all__ = [
    "FULL_SCDV", "JANOME_ALL_POS", "QUICK", "QUICK_SCDV", "SCDV_PRESETS", "RunConfig",
    "UsageError", "main", "run", "run_config", "scdv_settings",
]

logger = logging.getLogger(__name__)

#: What the full runs add to SCDV's settings: word2vec on both cores. With
#: workers=2 gensim's threads interleave updates in an order the OS decides, so
#: two full runs are close but not bit-identical.
FULL_SCDV = {"workers": 2}
#: The SCDV settings a run starts from. Each corpus's own settings under a
#: preset (a Japanese corpus's tokens) are in its registry entry
#: (:attr:`pipelines.datasets.DatasetInfo.presets`).
SCDV_PRESETS = {
    # The library's own defaults, chosen by cross-validation on training data
    # (benchmarks/results/defaults/): ``make_pipeline(SCDV(), LinearSVC())``.
    "defaults": {},
    # The paper's model and vectors as it defines them, to compare with it.
    "paper": {k: v for k, v in scdv.PAPER_PARAMS.items()
              if k not in ("tokenizer", "word_vectors")},
}
#: A small, fast, exactly repeatable SCDV for CI (one word2vec thread).
QUICK_SCDV = dict(vector_size=50, window=10, min_count=5, negative=5, sample=1e-3,
                  epochs=20, n_components=20, covariance_type="tied", gmm_max_iter=50,
                  sparsity_percentage=0.04, workers=1)
#: Folds of the default inner grid search (and of quick runs).
DEFAULT_CV, QUICK_CV = 5, 3
#: Documents drawn for the 2-D map.
MAP_DOCS, QUICK_MAP_DOCS = 2000, 600


class _QuickSizes(Mapping):
    """``QUICK[name]``: the ``--quick`` subset sizes of a registered corpus.

    Read from :data:`pipelines.datasets.DATASETS` on each access rather than
    copied at import, so that a corpus registered later has its entry too.
    """

    def __getitem__(self, name: str) -> Mapping[str, int]:
        return DATASETS[name].quick

    def __iter__(self):
        return iter(DATASETS)

    def __len__(self) -> int:
        return len(DATASETS)


#: Subsets of ``--quick`` runs (stratified samples of single-label corpora),
#: drawn with the run's seed: :attr:`pipelines.datasets.DatasetInfo.quick`.
QUICK = _QuickSizes()


class UsageError(ValueError):
    """A bad option value (the CLI exits with status 2)."""


# --------------------------------------------------------------------------- configuration


def _read_only(mapping: Mapping | None) -> Mapping | None:
    # A frozen config must not change when the caller edits the dict it passed.
    return None if mapping is None else MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class RunConfig:
    """The settings of one run, checked when built; every step of the run reads them.

    The fields are the parameters of :func:`run`, with the same defaults and
    meanings (see there). Building a config with a bad value raises
    :class:`UsageError`; ``class_weight="none"`` is stored as None. The
    properties derive what the steps need (folds, C grid, SCDV parameters,
    the corpus's registry entry).
    """

    dataset: str
    method: str = "scdv"
    protocol: str = "inductive"
    quick: bool = False
    data_dir: str | os.PathLike | None = None
    cv: int | None = None
    classifier: str = "linearsvc"
    class_weight: str | None = None
    cache_dir: str | os.PathLike | None = None
    plots_dir: str | os.PathLike | None = None
    seed: int = 0
    c_grid: Sequence[float] | None = None
    scdv_l2: bool = False
    scdv_preset: str = "defaults"
    scdv_params: Mapping[str, Any] | None = None
    subset: Mapping[str, int] | None = None
    blas_threads: int | None = 1
    n_jobs: int | None = None
    labels_per_class: int | None = None
    draws: int = 1

    def __post_init__(self) -> None:
        if self.class_weight == "none":
            object.__setattr__(self, "class_weight", None)
        _check(self)
        if self.c_grid is not None:
            object.__setattr__(self, "c_grid", tuple(self.c_grid))
        object.__setattr__(self, "scdv_params", _read_only(self.scdv_params))
        object.__setattr__(self, "subset", _read_only(self.subset))

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunConfig:
        """The config of parsed command-line arguments (:func:`build_parser`)."""
        return cls(
            args.dataset, method=args.method, protocol=args.protocol, quick=args.quick,
            data_dir=args.data_dir, cv=args.cv, classifier=args.classifier,
            class_weight=args.class_weight, cache_dir=args.cache_dir, plots_dir=args.plots,
            seed=args.seed, c_grid=args.c_grid, scdv_l2=args.l2_normalize, n_jobs=args.n_jobs,
            scdv_preset=args.scdv_preset,
            scdv_params={"word_vectors": args.word_vectors} if args.word_vectors else None,
            labels_per_class=args.labels_per_class, draws=args.draws,
        )

    @property
    def info(self) -> DatasetInfo:
        """The corpus's registry entry."""
        return DATASETS[self.dataset]

    @property
    def n_splits(self) -> int:
        """Folds of the inner grid search over C."""
        return self.cv if self.cv is not None else (QUICK_CV if self.quick else DEFAULT_CV)

    @property
    def grid(self) -> list[float]:
        """C values searched."""
        if self.c_grid is not None:
            return list(self.c_grid)
        # A semi-supervised classifier wraps LinearSVC and takes its C grid.
        base = "linearsvc" if self.classifier in fewlabels.SEMI_SUPERVISED else self.classifier
        return list((QUICK_C_GRIDS if self.quick else C_GRIDS)[base])

    @property
    def scdv(self) -> dict:
        """The ``SCDV`` parameters (:func:`scdv_settings`)."""
        return scdv_settings(self.dataset, self.scdv_preset, quick=self.quick,
                             overrides=self.scdv_params, seed=self.seed)

    @property
    def token_settings(self) -> Mapping[str, Any]:
        """Keyword arguments of the tokenizer under the preset."""
        return self.info.preset(self.scdv_preset).tokens

    @property
    def cache_path(self) -> Path:
        """The token and model cache folder."""
        return Path(self.cache_dir) if self.cache_dir is not None else default_cache_dir()

    @property
    def sizes(self) -> dict:
        """Subset sizes: the corpus's quick sizes (if ``quick``) under ``subset``."""
        quick = self.info.quick if self.quick else {}
        return {**quick, **(self.subset or {})}

    @property
    def uses_scdv(self) -> bool:
        """Whether the method fits SCDV."""
        return self.method in SCDV_METHODS

    @property
    def uses_tfidf(self) -> bool:
        """Whether the method computes TF-IDF."""
        return self.method in TFIDF_METHODS

    @property
    def uses_tokens(self) -> bool:
        """Whether the method reads token lists (TF-IDF reads the raw text)."""
        return self.uses_scdv or self.method == "doc2vec" or self.method in peers.TOKEN_PEERS


def _check(config: RunConfig) -> None:
    """Raise :class:`UsageError` for the first bad value of ``config``."""
    def choice(value, name, valid):
        try:
            known = value in valid
        except TypeError:  # an unhashable value is no key of the registry
            known = False
        if not known:
            raise UsageError(f"{name} must be one of {', '.join(map(str, valid))}; "
                             f"got {value!r}")

    choice(config.dataset, "dataset", DATASET_NAMES)
    choice(config.method, "method", METHODS)
    choice(config.protocol, "protocol", PROTOCOLS)
    choice(config.classifier, "classifier", CLASSIFIERS + fewlabels.SEMI_SUPERVISED)
    choice(config.class_weight, "class_weight", (None, "balanced"))
    problem = peers.unsupported(config.method, config.info.language)
    if problem:
        raise UsageError(problem)
    cv, c_grid = config.cv, config.c_grid
    if cv is not None and (isinstance(cv, bool) or not isinstance(cv, int) or cv < 2):
        raise UsageError(f"cv must be an integer >= 2; got {cv!r}")
    if c_grid is not None:
        if len(c_grid) == 0 or any(not np.isfinite(c) or c <= 0 for c in c_grid):
            raise UsageError(f"every C in the grid must be a positive number; got {c_grid!r}")
    if config.scdv_preset not in SCDV_PRESETS:
        raise UsageError(f"scdv_preset must be one of {', '.join(SCDV_PRESETS)}; "
                         f"got {config.scdv_preset!r}")
    if isinstance((config.scdv_params or {}).get("word_vectors"), (str, os.PathLike)):
        _check_word_vectors_file(config.scdv_params["word_vectors"])
    for name in ("blas_threads", "n_jobs"):
        threads = getattr(config, name)
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise UsageError(f"{name} must be a positive integer or None; got {threads!r}")
    problem = fewlabels.config_problem(config)
    if problem:
        raise UsageError(problem)


# --------------------------------------------------------------------------- helpers


def versions() -> dict:
    """Versions of Python and the libraries that shape the results."""
    import gensim
    import scipy
    import sklearn

    return {"python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "sklearn": sklearn.__version__,
            "gensim": gensim.__version__, "scdv": scdv.__version__}


def _check_word_vectors_file(path) -> None:
    # word2vec text and binary files both open with an ASCII "<words> <dim>"
    # line; checking it here fails fast, before the corpus is tokenised. A
    # damaged body is found when SCDV loads the file (scdv.WordVectorsError).
    try:
        with open(path, "rb") as f:
            head = f.readline(100).split()
    except OSError as exc:
        raise UsageError(f"cannot read word vectors {os.fspath(path)!r}: "
                         f"{exc.strerror or exc}") from None
    if len(head) != 2 or not all(part.isdigit() and int(part) > 0 for part in head):
        raise UsageError(f"{os.fspath(path)!r} is not a word2vec text or binary file (its "
                         "first line should be '<words> <dimension>')")


class _Timer:
    def __init__(self):
        self.seconds: dict[str, float] = {}

    def add(self, key, seconds):
        self.seconds[key] = self.seconds.get(key, 0.0) + float(seconds)

    def stage(self, key):
        timer = self

        class _Stage:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                timer.add(key, time.perf_counter() - self.start)

        return _Stage()


def _load(config: RunConfig) -> Splits:
    """The corpus split by its registered scheme; downloaded when no local copy is found."""
    return load_splits(config.dataset, config.data_dir, sizes=config.sizes, seed=config.seed,
                       download_if_missing=True)


def _first_label_by_frequency(Y_test, Y_train) -> np.ndarray:
    """For each multi-label row, its label that is most frequent in training."""
    # int64: label matrices are uint8, and negating an unsigned sum wraps around.
    freq = np.asarray(Y_train).sum(axis=0).astype(np.int64)
    rank = np.argsort(np.argsort(-freq, kind="stable"), kind="stable")
    masked = np.where(np.asarray(Y_test) > 0, rank[None, :], len(rank) + 1)
    return np.argmin(masked, axis=1)


# --------------------------------------------------------------------------- one split


def _fit_predict(fs, y_train, config: RunConfig, timer: _Timer, counter: FitWarnings):
    """Grid-search (or stack) on the training features; predict the test features."""
    common = dict(classifier=config.classifier, class_weight=config.class_weight,
                  n_splits=config.n_splits, multilabel=config.info.multilabel,
                  seed=config.seed)
    searching = dict(c_grid=config.grid, counter=counter, n_jobs=config.n_jobs)
    with timer.stage("grid_search"):
        if config.method == "stacking":
            cv_info, base_C = {}, {}
            for block in ("scdv", "tfidf"):
                start, stop = fs.blocks[block]
                _, summary = grid_search(fs.X_train[:, start:stop], y_train,
                                         **searching, **common)
                cv_info[block] = summary
                base_C[block] = summary["best_C"]
            estimator = make_stacking(fs.blocks, base_C, **common)
            with quiet_fit_warnings(counter):
                estimator.fit(fs.X_train, y_train)
        else:
            search, cv_info = grid_search(fs.X_train, y_train, **searching, **common)
            estimator = search.best_estimator_
    with timer.stage("predict"):
        y_pred = estimator.predict(fs.X_test)
        scores = decision_scores(estimator, fs.X_test)
    return y_pred, scores, cv_info


@dataclass(frozen=True)
class _Folds:
    """What the splits of one run left: per-split results and the pooled test predictions.

    ``results`` has one dict per split (sizes, metrics, inner CV); ``y_true``
    and ``y_pred`` hold the test documents of every split, split after split,
    whose corpus rows are ``test_rows``; ``features`` is each split's
    :attr:`pipelines.features.FeatureSet.info`; ``map_data`` is (test
    features, test rows, training labels) of the first split, kept only when
    plots are drawn.
    """

    results: list
    y_true: np.ndarray
    y_pred: np.ndarray
    test_rows: np.ndarray
    features: list
    map_data: tuple | None

    @property
    def n_train(self) -> int:
        """Training documents per split (the mean over outer folds)."""
        return int(np.mean([f["n_train"] for f in self.results]))

    @property
    def n_test(self) -> int:
        """Test documents per split (the mean over outer folds)."""
        return int(np.mean([f["n_test"] for f in self.results]))


def _run_folds(config: RunConfig, corpus: dict, splits, tokens, timer: _Timer,
               counter: FitWarnings) -> _Folds:
    """Features, classifier and test predictions of every split, one after the other."""
    texts, y = corpus["data"], corpus["target"]
    results, features, y_pred_parts, map_data = [], [], [], None
    for k, (tr, te) in enumerate(splits):
        if len(splits) > 1:
            logger.info("fold %d/%d: %d train, %d test", k + 1, len(splits), len(tr), len(te))
        fs = build_features(
            config.method,
            train_texts=[texts[i] for i in tr], test_texts=[texts[i] for i in te],
            train_tokens=[tokens[i] for i in tr] if tokens is not None else None,
            test_tokens=[tokens[i] for i in te] if tokens is not None else None,
            language=config.info.language, protocol=config.protocol,
            scdv_params=config.scdv, scdv_l2=config.scdv_l2,
            cache_dir=config.cache_path, all_texts=texts, all_tokens=tokens,
            seed=config.seed, doc2vec_params=QUICK_DOC2VEC_PARAMS if config.quick else None,
        )
        for key, seconds in fs.timings.items():
            timer.add(key, seconds)
        features.append(fs.info)
        if config.labels_per_class is None:
            y_pred, scores, cv_info = _fit_predict(fs, y[tr], config, timer, counter)
            fold_metrics = fewlabels.metrics_of(y[te], y_pred, scores, config.info.multilabel)
        else:  # mean over draws of labelled subsets; the first draw's predictions
            with timer.stage("grid_search"):
                fold_metrics, cv_info, y_pred = fewlabels.run_config_draws(
                    fs, y[tr], y[te], config, counter)
        y_pred_parts.append(np.asarray(y_pred))
        results.append({"fold": k + 1, "n_train": len(tr), "n_test": len(te),
                        **fold_metrics, "inner_cv": cv_info})
        if k == 0 and config.plots_dir is not None:
            map_data = (fs.X_test, te, y[tr])
        del fs  # a split's features can be large; free them before the next split's
    order = np.concatenate([te for _, te in splits])
    return _Folds(results, y[order], np.concatenate(y_pred_parts), order, features, map_data)


# --------------------------------------------------------------------------- the result


def _aggregate(config: RunConfig, folds: _Folds, scheme: str,
               counter: FitWarnings) -> tuple[dict, dict]:
    """The headline ``metrics`` and the ``cv`` section of the result."""
    keys = [k for k in folds.results[0] if k not in ("fold", "n_train", "n_test", "inner_cv")]
    if len(folds.results) > 1:
        # Outer CV: the headline is the mean over folds; std goes to "cv".
        metrics = {m: float(np.mean([f[m] for f in folds.results])) for m in keys}
        cv_section = {
            "scheme": scheme,
            "inner": f"{config.n_splits}-fold grid search over C on each outer fold's "
                     "training part",
            "folds": folds.results,
            "mean": metrics,
            "std": {m: float(np.std([f[m] for f in folds.results])) for m in keys},
        }
    else:
        metrics = {m: folds.results[0][m] for m in keys}
        inner = folds.results[0]["inner_cv"]
        cv_section = {
            "scheme": f"{config.n_splits}-fold grid search over C on the training set "
                      f"(test set: {scheme})",
            **({"base_estimators": inner,
                "final_estimator": "ScoreBlend (one weight per base model, one bias per "
                                   "class), not searched"}
               if config.method == "stacking" else inner),
        }
    if config.labels_per_class is not None and len(folds.results) > 1:
        cv_section["std_over_draws"] = fewlabels.std_over_draws(folds.results, keys)
    cv_section["fit_warnings"] = counter.as_dict()
    return metrics, cv_section


def _error_report(config: RunConfig, folds: _Folds, ids: Sequence[str],
                  target_names: Sequence[str]) -> tuple[dict, dict]:
    """The per-label ``report`` and the ``errors`` section (most-confused pairs)."""
    y_true, y_pred = folds.y_true, folds.y_pred
    test_ids = [ids[i] for i in folds.test_rows]
    report = evaluate.per_label_report(y_true, y_pred, target_names)
    if config.info.multilabel:
        confused = evaluate.multilabel_confused_pairs(y_true, y_pred, test_ids, target_names)
        errors = {"definition": "pairs (true label the classifier missed, label it "
                                "predicted that is not true) in the same document",
                  "n_docs_with_errors": int(np.any(y_true != y_pred, axis=1).sum()),
                  "most_confused": confused}
    else:
        confused = evaluate.confused_pairs(y_true, y_pred, test_ids, target_names)
        errors = {"definition": "(true class, predicted class) pairs of misclassified "
                                "test documents" + (", pooled over the outer folds"
                                                    if len(folds.results) > 1 else ""),
                  "n_errors": int(np.sum(y_true != y_pred)),
                  "most_confused": confused}
    return report, errors


def _describe(config: RunConfig, scheme: str, feature_info: list, tokenized: bool) -> dict:
    """The ``params`` section of the result: how the run was made."""
    params: dict = {
        "protocol": config.protocol,
        "protocol_description": (
            "inductive: tokenizer statistics, word2vec, GMM, IDF, threshold (and TF-IDF "
            "vocabulary/idf) fitted on the training documents only"
            if config.protocol == "inductive" else
            "transductive: the unsupervised stages (SCDV fit, TF-IDF vocabulary/idf) also "
            "saw the test documents' text, never their labels (as the SCDV paper's code)"),
        "split": scheme,
        "classifier": {"name": config.classifier, "class_weight": config.class_weight,
                       "c_grid": config.grid, "cv_folds": config.n_splits,
                       "selection_scoring": "lrap" if config.info.multilabel else "accuracy",
                       "multilabel": "one-vs-rest" if config.info.multilabel else None},
        "seed": config.seed,
        "feature_caching": (
            "unsupervised features are fitted once per training set and computed once "
            "for train and test; the C grid search refits only the linear classifier "
            "(the inner CV folds therefore share features fitted on the whole training "
            "part, without labels)"),
        "quick": bool(config.quick),
        "quick_config": ({"subset": config.sizes, "scdv": QUICK_SCDV,
                          "cv_folds": config.n_splits, "c_grid": config.grid}
                         if config.quick else None),
    }
    if tokenized:
        params["tokenizer"] = config.info.tokenizer
        params["tokenizer_settings"] = {k: list(v) for k, v in config.token_settings.items()}
    if config.uses_scdv:
        params["scdv"] = config.scdv
        params["scdv_effective"] = effective_scdv_params(config.scdv)
        params["scdv_l2_normalize"] = bool(config.scdv_l2)
        params["scdv_preset"] = config.scdv_preset
        if params["scdv"].get("workers", 1) > 1:
            params["scdv_note"] = (f"word2vec ran with workers={params['scdv']['workers']}: "
                                   "results are not bit-repeatable between runs")
        params["features"] = feature_info
    if config.uses_tfidf:
        params["tfidf"] = tfidf_description(config.info.language)
        params.setdefault("features", feature_info)
    if config.method == "doc2vec":
        params["features"] = feature_info
        params["doc2vec"] = {"dm": 0, **DOC2VEC_PARAMS,
                             **(QUICK_DOC2VEC_PARAMS if config.quick else {}),
                             "seed": config.seed,
                             "note": "PV-DBOW trained on the training documents; test "
                                     "vectors inferred (infer_vector)"}
    if config.method == "w2v-avg":
        params["w2v_avg"] = ("mean of the unit word vectors of the fitted SCDV model "
                             "(same word2vec as SCDV)")
    if config.method == "hybrid":
        params["hybrid"] = (f"hstack([{scdv.HYBRID_WEIGHT:g} * SCDV, TF-IDF]) and one "
                            "classifier, as scdv.make_hybrid")
        params["hybrid_weight"] = scdv.HYBRID_WEIGHT
    if config.method == "stacking":
        params["stacking"] = (
            "StackingClassifier(final_estimator=ScoreBlend: one weight per base model, one "
            "bias per class, log-loss) over "
            "[ColumnSlice(SCDV block) + classifier, ColumnSlice(TF-IDF block) + classifier] "
            "on hstack'ed features computed once; each base C chosen by its own grid "
            f"search; internal {config.n_splits}-fold out-of-fold decision scores")
    if config.labels_per_class is not None:
        params["few_labels"] = fewlabels.describe(config)
    if config.method in peers.PEERS:
        params["peer"] = peers.describe(config.method)
        params.setdefault("features", feature_info)
    params["blas_threads"] = config.blas_threads
    params["n_jobs"] = config.n_jobs
    return params


def _timings(timer: _Timer, t_start: float) -> dict:
    """Seconds per stage (0 for a stage the method skips) and in all."""
    timings = {k: round(v, 3) for k, v in timer.seconds.items()}
    for stage in ("load", "tokenize", "fit_scdv", "vectorize", "grid_search", "predict"):
        timings.setdefault(stage, 0.0)
    timings["total"] = round(time.perf_counter() - t_start, 3)
    return timings


# --------------------------------------------------------------------------- run


def run(
    dataset: str,
    method: str = "scdv",
    protocol: str = "inductive",
    quick: bool = False,
    data_dir=None,
    cv: int | None = None,
    classifier: str = "linearsvc",
    class_weight: str | None = None,
    cache_dir=None,
    plots_dir=None,
    seed: int = 0,
    *,
    c_grid: Sequence[float] | None = None,
    scdv_l2: bool = False,
    scdv_preset: str = "defaults",
    scdv_params: dict | None = None,
    subset: dict | None = None,
    blas_threads: int | None = 1,
    n_jobs: int | None = None,
    labels_per_class: int | None = None,
    draws: int = 1,
) -> dict:
    """Run one cross-validated classification experiment and return its results.

    Parameters
    ----------
    dataset : str
        A corpus of :data:`pipelines.datasets.DATASETS`.
    method : str, default="scdv"
        One of :data:`pipelines.features.METHODS`; the pretrained peers
        (``minilm``, ``minilm-chunks``, ``glove-avg``, ``scdv-glove``) are in
        :mod:`pipelines.peers` and need the ``peers`` extra.
    protocol : {"inductive", "transductive"}, default="inductive"
        ``inductive``: every unsupervised stage is fitted on training
        documents only. ``transductive``: they also see the test documents
        (never their labels), as the SCDV paper's code did.
    quick : bool, default=False
        Small subsets and a small SCDV (the corpus's
        :attr:`~pipelines.datasets.DatasetInfo.quick` sizes, :data:`QUICK_SCDV`).
    data_dir : path-like or None
        Corpus folder; see :func:`pipelines.datasets.resolve_data_dir`.
    cv : int or None
        Folds of the inner grid search over C (default 5, quick 3).
    classifier : {"linearsvc", "logreg"}, default="linearsvc"
    class_weight : {None, "balanced"}, default=None
    cache_dir : path-like or None
        Token and model cache; default ``$SCDV_CACHE`` or ``~/.cache/scdv``.
    plots_dir : path-like or None
        Write PNG figures there.
    seed : int, default=0
        Seeds subsampling, folds, SCDV and the classifiers.
    c_grid : sequence of float or None, keyword-only
        C values to search; default :data:`pipelines.models.C_GRIDS`.
    scdv_l2 : bool, default=False, keyword-only
        L2-normalise SCDV rows after the sparsity threshold.
    scdv_preset : {"defaults", "paper"}, default="defaults", keyword-only
        ``"defaults"``: the library's ``SCDV()`` settings. ``"paper"``:
        ``scdv.PAPER_PARAMS``, the paper's model and vectors exactly. The
        corpus's own settings under the preset
        (:attr:`pipelines.datasets.DatasetInfo.presets`) apply too: tokens
        always, SCDV settings without ``quick``. See :data:`SCDV_PRESETS`.
    scdv_params : dict or None, keyword-only
        Overrides of the SCDV settings.
    subset : dict or None, keyword-only
        Overrides of the quick subset sizes (``n_train``, ``n_test``,
        ``n_docs``, ``max_chars``, ``outer_folds``: see
        :func:`pipelines.datasets.load_splits`); also applies without ``quick``.
    blas_threads : int or None, default=1, keyword-only
        Threads of BLAS and OpenMP (k-means, the mixture, t-SNE) during the
        run; None leaves the libraries' default (one per core). One thread is
        the default because the machines this runs on are shared: with more
        busy threads than cores, OpenMP's spin-waiting made a quick run 3.6
        times slower (90 s instead of 25 s). word2vec's own threads
        (``workers``) are not affected. The mixture's result can differ in
        the last digits with the thread count, so it is recorded in
        ``params``.
    n_jobs : int or None, default=None, keyword-only
        Classifier fits of the grid search run at once, on threads that share
        the features (:func:`pipelines.models.grid_search`); None uses every
        core. Scores do not depend on it.
    labels_per_class : int or None, keyword-only
        Label only this many training documents per class (multi-label:
        this many times the number of labels, in all; see
        :func:`pipelines.fewlabels.labelled_subset`); the unsupervised stages
        still see every training text. None labels them all.
    draws : int, default=1, keyword-only
        Random labelled subsets; the metrics are their mean, ``cv["std"]``
        (outer folds: ``cv["std_over_draws"]``) their std.

    Returns
    -------
    dict
        JSON-ready: ``dataset``, ``protocol``, ``method``, ``params``,
        ``metrics``, ``cv``, ``timings_s``, ``versions``, ``report``,
        ``errors``, ``n_train``, ``n_test``, ``quick`` (and ``plots``).

    Raises
    ------
    UsageError
        An option has a bad value.
    pipelines.datasets.DatasetNotFoundError
        The corpus is not where it was looked for.
    """
    return run_config(RunConfig(
        dataset, method=method, protocol=protocol, quick=quick, data_dir=data_dir, cv=cv,
        classifier=classifier, class_weight=class_weight, cache_dir=cache_dir,
        plots_dir=plots_dir, seed=seed, c_grid=c_grid, scdv_l2=scdv_l2,
        scdv_preset=scdv_preset, scdv_params=scdv_params, subset=subset,
        blas_threads=blas_threads, n_jobs=n_jobs, labels_per_class=labels_per_class,
        draws=draws))


def run_config(config: RunConfig) -> dict:
    """Run the experiment ``config`` describes; the result is :func:`run`'s.

    Raises
    ------
    pipelines.datasets.DatasetNotFoundError
        The corpus is not where it was looked for.
    """
    threads = config.blas_threads
    with threadpool_limits(limits=threads) if threads else nullcontext():
        return _run(config)


def scdv_settings(dataset: str, preset: str = "defaults", *, quick: bool = False,
                  overrides: dict | None = None, seed: int = 0) -> dict:
    """The ``SCDV`` parameters a run uses: the preset's, the run's, the corpus's, then yours.

    Parameters
    ----------
    dataset : str
        A corpus of :data:`pipelines.datasets.DATASETS`.
    preset : {"defaults", "paper"}, default="defaults"
        See :data:`SCDV_PRESETS`; the corpus's fit settings under it
        (:attr:`pipelines.datasets.DatasetInfo.presets`) apply to the full
        configuration only.
    quick : bool, default=False, keyword-only
        :data:`QUICK_SCDV`'s small model instead of :data:`FULL_SCDV`.
    overrides : dict or None, keyword-only
        Win over everything else (``scdv_params`` of :func:`run`).
    seed : int, default=0, keyword-only
        SCDV's ``random_state``.

    Returns
    -------
    dict
        Only what differs from ``SCDV()``'s defaults is listed.
    """
    fit = {} if quick else DATASETS[dataset].preset(preset).scdv
    return {**SCDV_PRESETS[preset], **(QUICK_SCDV if quick else FULL_SCDV), **fit,
            **(overrides or {}), "random_state": seed}


def _run(config: RunConfig) -> dict:
    """Load, tokenise, run every split, and assemble the result of :func:`run`."""
    timer, counter = _Timer(), FitWarnings()
    t_start = time.perf_counter()
    with timer.stage("load"):
        corpus, splits, target_names, scheme = _load(config)
    # Logged once the data is found, so a missing corpus prints its one error line only.
    logger.info("run: dataset=%s method=%s protocol=%s classifier=%s%s", config.dataset,
                config.method, config.protocol, config.classifier,
                " (quick)" if config.quick else "")
    logger.info("load: %d documents, %d classes, %s", len(corpus["data"]), len(target_names),
                scheme)
    tokens = None
    if config.uses_tokens:
        with timer.stage("tokenize"):
            tokens = tokenize_corpus(corpus["data"], config.info.tokenizer,
                                     cache_dir=config.cache_path, **config.token_settings)
    folds = _run_folds(config, corpus, splits, tokens, timer, counter)
    metrics, cv_section = _aggregate(config, folds, scheme, counter)
    report, errors = _error_report(config, folds, corpus["ids"], target_names)
    result = {
        "dataset": config.dataset,
        "protocol": config.protocol,
        "method": config.method,
        "params": _describe(config, scheme, folds.features, tokenized=tokens is not None),
        "metrics": metrics,
        "cv": cv_section,
        "timings_s": {},
        "versions": versions(),
        "report": report,
        "errors": errors,
        "n_train": folds.n_train,
        "n_test": folds.n_test,
        "quick": bool(config.quick),
    }
    if config.plots_dir is not None:
        with timer.stage("plots"):
            result["plots"] = _make_plots(config, folds, corpus["target"], target_names,
                                          metrics, cv_section)
    result["timings_s"] = _timings(timer, t_start)
    logger.info("run: done in %.1f s", result["timings_s"]["total"])
    return result


def _make_plots(config: RunConfig, folds: _Folds, y, target_names, metrics: dict,
                cv_section: dict) -> list[str]:
    """Draw the run's PNG figures into ``config.plots_dir``; return their paths."""
    from . import plots

    plots_dir = Path(config.plots_dir)
    multilabel, outer = config.info.multilabel, len(folds.results) > 1
    tag = f"{config.dataset}-{config.method}-{config.protocol}"
    head = f"{config.dataset} / {config.method} / {config.protocol}"
    written = []
    if multilabel:
        written.append(plots.plot_label_f1(
            folds.y_true, folds.y_pred, target_names, plots_dir / f"{tag}-label-f1.png",
            title=f"{head}: per-label F1, 20 most frequent test labels "
                  f"(micro F1 {metrics['f1_micro']:.3f})"))
    else:
        pooled = " pooled over outer folds" if outer else ""
        written.append(plots.plot_confusion_matrix(
            folds.y_true, folds.y_pred, target_names, plots_dir / f"{tag}-confusion.png",
            title=f"{head}: confusion matrix{pooled}, rows normalised (%); "
                  f"accuracy {metrics['accuracy']:.3f}"))

    X_test, te, y_train = folds.map_data
    if multilabel:
        colour = _first_label_by_frequency(y[te], y_train)
        what = "coloured by each document's most frequent label"
    else:
        colour = y[te]
        what = "coloured by class"
    n_map = QUICK_MAP_DOCS if config.quick else MAP_DOCS
    where = "fold-1 test" if outer else "test"
    written.append(plots.plot_document_map(
        X_test, colour, target_names, plots_dir / f"{tag}-map.png", max_docs=n_map,
        seed=config.seed,
        title=f"{head}: {min(n_map, X_test.shape[0])} {where} documents, "
              f"TruncatedSVD(50) + t-SNE, {what}"))

    if outer:
        keys = ("accuracy", "f1_macro")
        scores = {k: [f[k] for f in folds.results] for k in keys}
        written.append(plots.plot_fold_scores(
            scores, plots_dir / f"{tag}-folds.png", xlabel="outer fold",
            title=f"{head}: test scores per outer fold"))
    elif "draws" in cv_section:
        key = config.info.metric
        written.append(plots.plot_fold_scores(
            {f"test {key}": [d[key] for d in cv_section["draws"]]},
            plots_dir / f"{tag}-folds.png", xlabel="draw of labelled documents",
            title=f"{head}: {config.labels_per_class} labelled documents per class"))
    else:
        inner = cv_section.get("base_estimators") or {config.method: cv_section}
        scores = {f"{name} CV {s['scoring']} (C={s['best_C']:g})": s["fold_scores"]
                  for name, s in inner.items()}
        ref_key = config.info.metric
        written.append(plots.plot_fold_scores(
            scores, plots_dir / f"{tag}-folds.png", xlabel="inner fold (training data)",
            reference={f"test {ref_key}": metrics[ref_key]},
            title=f"{head}: grid-search CV scores of the chosen C"
                  + (" (each base estimator)" if config.method == "stacking" else "")))
    return [str(p) for p in written]


# --------------------------------------------------------------------------- CLI


def summary_text(result: dict) -> str:
    """A few human-readable lines about a :func:`run` result."""
    m = result["metrics"]
    lines = [f"{result['dataset']} | method={result['method']} | protocol={result['protocol']}"
             f" | classifier={result['params']['classifier']['name']}"
             f"{' | QUICK' if result['quick'] else ''}"]
    std = result["cv"].get("std")
    parts = []
    for key, value in m.items():
        text = f"{key}={value:.4f}"
        if std:
            text += f" (+/- {std[key]:.4f})"
        parts.append(text)
    lines.append("  " + ", ".join(parts))
    if std and "folds" in result["cv"]:
        lines.append(f"  mean over {len(result['cv']['folds'])} outer folds "
                     f"({result['n_train']} train / {result['n_test']} test per fold)")
    elif std:
        lines.append(f"  mean over {len(result['cv']['draws'])} draws of "
                     f"{result['cv']['labels_per_class']} labelled documents per class; "
                     f"{result['n_train']} train (unlabelled too) / {result['n_test']} test")
    else:
        lines.append(f"  {result['n_train']} train / {result['n_test']} test documents")
    confused = result["errors"]["most_confused"][:3]
    if confused:
        lines.append("  most confused: " + "; ".join(
            f"{c['true']} -> {c['predicted']} ({c['count']})" for c in confused))
    t = result["timings_s"]
    lines.append(f"  time: {t['total']:.1f} s total ("
                 + ", ".join(f"{k} {v:.1f}" for k, v in t.items() if k != "total" and v)
                 + ")")
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for any bad option
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _c_grid(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}")
    if not values or any(not np.isfinite(v) or v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"C values must be positive numbers: {text!r}")
    return values


def _int_at_least(minimum: int):
    """An argparse type: an integer of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}: {value}")
        return value

    return parse


def _at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}: {value}")
        return value

    return parse


def _preset_summaries(preset: str) -> list[str]:
    """``"<what> on <name>"`` for each corpus that has its own settings under ``preset``."""
    texts = []
    for name, info in DATASETS.items():
        summary = info.preset(preset).summary
        if summary:
            texts.append(f"{summary} on {name}")
    return texts


def build_parser() -> argparse.ArgumentParser:
    """The command line of :func:`main`; its corpora come from the registry."""
    titles = [info.title for info in DATASETS.values()]
    corpora = " or ".join(filter(None, [", ".join(titles[:-1]), titles[-1]]))
    parser = _Parser(
        prog="python -m pipelines.classify",
        description="Cross-validated classification of SCDV features (or TF-IDF, "
                    f"averaged word2vec, or SCDV with TF-IDF in one model or stacked) on {corpora}.")
    parser.add_argument("--dataset", required=True, choices=DATASET_NAMES)
    parser.add_argument("--output", metavar="FILE",
                        help="write the JSON results here (default: print them on stdout)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="corpus folder (default: $SCDV_DATA, else ../shared/data)")
    parser.add_argument("--quick", action="store_true",
                        help="small subsets and a small SCDV, for CI (under a minute)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="inductive",
                        help="inductive: unsupervised stages see training texts only; "
                             "transductive: they also see test texts (never labels)")
    parser.add_argument("--method", choices=METHODS, default="scdv")
    parser.add_argument("--classifier", choices=CLASSIFIERS + fewlabels.SEMI_SUPERVISED,
                        default="linearsvc",
                        help="self-training and label-spreading (scikit-learn's) also learn "
                             "from the unlabelled training documents; they need "
                             "--labels-per-class")
    parser.add_argument("--labels-per-class", type=_at_least(1), metavar="N",
                        help="label only N random training documents per class (multi-label: "
                             "N x labels in all); SCDV, TF-IDF and the rest still fit on "
                             "every training text")
    parser.add_argument("--draws", type=_at_least(1), default=1, metavar="R",
                        help="random labelled subsets with --labels-per-class; metrics are "
                             "their mean, with their std (default 1)")
    parser.add_argument("--class-weight", choices=("none", "balanced"), default="none")
    parser.add_argument("--cv", type=_int_at_least(2), metavar="K",
                        help=f"folds of the grid search over C (default {DEFAULT_CV}, "
                             f"quick {QUICK_CV})")
    parser.add_argument("--c-grid", type=_c_grid, metavar="C1,C2,...",
                        help="C values to search (default: linearsvc "
                             f"{','.join(map(str, C_GRIDS['linearsvc']))}, logreg "
                             f"{','.join(map(str, C_GRIDS['logreg']))})")
    parser.add_argument("--l2-normalize", action="store_true",
                        help="re-normalise SCDV rows to unit length after the threshold")
    parser.add_argument("--scdv", choices=tuple(SCDV_PRESETS), default="defaults",
                        dest="scdv_preset",
                        help="defaults (the default): the library's SCDV() settings"
                             + "".join(f"; {text}" for text in _preset_summaries("defaults"))
                             + "; paper: scdv.PAPER_PARAMS, the paper's model and vectors "
                               "as they are")
    parser.add_argument("--word-vectors", metavar="PATH",
                        help="pretrained word vectors (word2vec text or binary) instead of "
                             "training word2vec; restricted to words seen min_count times "
                             "in the training documents")
    parser.add_argument("--plots", metavar="DIR", help="write PNG figures into DIR")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="token and model cache (default: $SCDV_CACHE or ~/.cache/scdv)")
    parser.add_argument("--n-jobs", type=_int_at_least(1), metavar="N",
                        help="classifier fits of the grid search run at once (default: one "
                             "per core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return parser


def _configure_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)
    # gensim logs every few seconds of training; numba logs its compiler.
    for noisy in ("gensim", "numba", "smart_open", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _one_line(exc: DatasetNotFoundError) -> str:
    lines = str(exc).splitlines()
    reason = lines[1] if len(lines) > 1 and lines[1] != "Looked at:" else ""
    looked = "; ".join(exc.places) or "nowhere"
    return (f"{lines[0]} {reason + ' ' if reason else ''}Looked at: {looked}. "
            "Pass --data-dir DIR or set $SCDV_DATA.")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0, 1 data, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.quiet)
    prog = parser.prog
    try:
        result = run_config(RunConfig.from_args(args))
    except (UsageError, scdv.WordVectorsError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except DatasetNotFoundError as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.output:
        try:
            out = Path(args.output)
            if str(out.parent):
                out.parent.mkdir(parents=True, exist_ok=True)
            with replacing(out) as tmp:
                Path(tmp).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"{prog}: error: cannot write {args.output}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
        print(summary_text(result))
        print(f"  results: {args.output}")
    else:
        print(text)
        print(summary_text(result), file=sys.stderr)
    if result.get("plots"):
        print("  plots: " + ", ".join(result["plots"]),
              file=sys.stdout if args.output else sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
