"""Few labels, plenty of text: labelled subsets, the C rule and semi-supervised classifiers.

SCDV's word vectors, mixture, idf and threshold learn from text alone, so
they can be fitted on every training document while only a few of them carry
a label. This module holds what such a run adds to :mod:`pipelines.classify`:

* :func:`draw_order` and :func:`labelled_subset` pick the labelled documents:
  ``n`` per class, or for multi-label targets ``n`` times the number of
  labels in all, covering the rarest labels first;
* :func:`choose_C`: C of the linear model by cross-validation on the labelled
  documents when every class has at least :data:`MIN_PER_CLASS_FOR_CV` of
  them, else :data:`FIXED_C` (the rule every run records);
* :func:`make_semi_supervised`: scikit-learn's own
  :class:`~sklearn.semi_supervised.SelfTrainingClassifier` and
  :class:`~sklearn.semi_supervised.LabelSpreading` (``kernel="knn"``), which
  also see the unlabelled training documents (``-1`` labels; never a test
  label);
* :func:`fit_predict` and :func:`run_draws`: one labelled subset, and the
  mean and std over several random draws of it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

import numpy as np
from scipy.special import softmax
from sklearn.decomposition import TruncatedSVD
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.svm import LinearSVC

from . import evaluate
from .models import SVC_MAX_ITER, FitWarnings, decision_scores, grid_search, make_classifier, \
    quiet_fit_warnings

__all__ = [
    "FIXED_C",
    "LABEL_SPREADING",
    "MIN_PER_CLASS_FOR_CV",
    "SELF_TRAINING",
    "SEMI_SUPERVISED",
    "ScoredLinearSVC",
    "choose_C",
    "draw_order",
    "fit_predict",
    "labelled_subset",
    "make_semi_supervised",
    "run_draws",
    "spreading_features",
]

logger = logging.getLogger(__name__)

#: Classifiers that also learn from the unlabelled training documents.
SEMI_SUPERVISED = ("self-training", "label-spreading")
#: Below this many labelled documents in the smallest class, C is not
#: searched: a K-fold split would leave classes out of its validation folds
#: (stratified K-fold needs K members per class) and a score on one or two
#: documents per class picks C by noise. 5 allows the pipelines' 5-fold CV.
MIN_PER_CLASS_FOR_CV = 5
#: C when it is not searched: LinearSVC's default, and the middle of the grid.
FIXED_C = 1.0
#: Self-training: in each of ``max_iter`` rounds the LinearSVC labels the
#: ``fraction`` of the (initially) unlabelled documents it is surest of
#: (scikit-learn's ``criterion="k_best"``), a tenth of them in all. A
#: threshold on probabilities would need calibrated ones, which a few labels
#: cannot give. On the quick 20 Newsgroups subset (1,500 documents, 5 per
#: class) larger steps hurt more: 0.43 plain, 0.40 with 2% x 5, 0.36 with
#: 5% x 10 (one draw).
SELF_TRAINING = {"max_iter": 5, "fraction": 0.02}
#: LabelSpreading on the k-nearest-neighbour graph (cosine on unit rows),
#: after a TruncatedSVD of the features fitted on the training documents: a
#: kNN graph on 12,000 sparse columns costs minutes per fit, on 200 dense
#: columns about a second.
LABEL_SPREADING = {"n_neighbors": 10, "alpha": 0.2, "max_iter": 100, "n_components": 200}


class ScoredLinearSVC(LinearSVC):
    """:class:`~sklearn.svm.LinearSVC` with ``predict_proba``: the softmax of its scores.

    :class:`~sklearn.semi_supervised.SelfTrainingClassifier` ranks the
    unlabelled documents by ``predict_proba``. Its ``k_best`` criterion only
    needs the ranking, which the softmax of the decision scores gives without
    the held-out data a calibration would need; the values are not calibrated
    probabilities.
    """

    def predict_proba(self, X):
        """Softmax of the decision scores (two classes: of ``[-s, s]``)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
        return softmax(scores, axis=1)


# --------------------------------------------------------------------------- labelled subsets


def draw_order(n_docs: int, seed) -> np.ndarray:
    """A random order of the training documents; one per draw.

    :func:`labelled_subset` takes each class's first documents in this
    order, so with one order the subsets of growing budgets are nested
    (5 per class contains 2 per class), which makes a learning curve smoother
    than independent draws.
    """
    return np.random.default_rng(seed).permutation(n_docs)


def labelled_subset(y, n_per_class: int | None, order: np.ndarray) -> np.ndarray:
    """Sorted indices of the labelled documents for a budget of ``n_per_class``.

    Parameters
    ----------
    y : array of shape (n,) or indicator matrix (n, n_labels)
    n_per_class : int or None
        None labels every document.
    order : ndarray
        :func:`draw_order`.

    Returns
    -------
    ndarray of int
        Single-label: the first ``n_per_class`` documents of each class in
        ``order`` (all of a smaller class). Multi-label: ``n_per_class``
        times the number of labels documents in all (or every document):
        labels are covered rarest first, each up to ``n_per_class`` labelled
        documents, then the rest is filled in ``order``.
    """
    y = np.asarray(y)
    order = np.asarray(order)
    if n_per_class is None:
        return np.arange(len(y))
    if y.ndim == 1:
        picked = [order[y[order] == c][:n_per_class] for c in np.unique(y)]
        return np.sort(np.concatenate(picked))
    return _multilabel_subset(y, n_per_class, order)


def _multilabel_subset(Y, n_per_class, order):
    total = min(len(Y), n_per_class * Y.shape[1])
    chosen = np.zeros(len(Y), dtype=bool)
    counts = np.zeros(Y.shape[1], dtype=np.int64)
    for label in np.argsort(Y.sum(axis=0), kind="stable"):
        # Documents chosen for a rarer label count for every label they carry.
        candidates = order[(Y[order, label] > 0) & ~chosen[order]]
        take = candidates[:max(0, n_per_class - counts[label])]
        take = take[:total - chosen.sum()]
        chosen[take] = True
        counts += Y[take].sum(axis=0, dtype=np.int64)
    rest = order[~chosen[order]][:total - chosen.sum()]
    chosen[rest] = True
    return np.flatnonzero(chosen)


def per_class_counts(y) -> np.ndarray:
    """Labelled documents per class (per label for an indicator matrix)."""
    y = np.asarray(y)
    return y.sum(axis=0) if y.ndim == 2 else np.unique(y, return_counts=True)[1]


# --------------------------------------------------------------------------- C and classifiers


def choose_C(X, y, *, n_per_class, multilabel=False, classifier="linearsvc", c_grid=None,
             n_splits=5, seed=0, counter=None):
    """C of the linear model on the labelled documents ``X, y``, and how it was chosen.

    The rule: cross-validate over ``c_grid`` when the smallest class has at
    least :data:`MIN_PER_CLASS_FOR_CV` labelled documents (multi-label:
    when the budget ``n_per_class`` is at least that, or None for every
    label, since rare labels have one or two documents whatever the budget),
    with ``min(n_splits, smallest class)`` folds; else :data:`FIXED_C`. A
    grid of one value is that value, without CV.

    Returns
    -------
    C : float
    info : dict
        ``{"C_rule": "fixed", "best_C": 1.0}`` or ``{"C_rule": "cv", ...}``
        with the grid search summary of :func:`pipelines.models.grid_search`.
    """
    if c_grid is not None and len(c_grid) == 1:
        return float(c_grid[0]), {"C_rule": "fixed", "best_C": float(c_grid[0]),
                                  "why": "a grid of one C"}
    if multilabel:
        smallest = math.inf if n_per_class is None else n_per_class
        folds = n_splits
    else:
        smallest = int(per_class_counts(y).min())
        folds = min(n_splits, smallest)
    if smallest < MIN_PER_CLASS_FOR_CV:
        return FIXED_C, {"C_rule": "fixed", "best_C": FIXED_C,
                         "why": f"fewer than {MIN_PER_CLASS_FOR_CV} labelled documents in "
                                "a class"}
    _, summary = grid_search(X, y, classifier=classifier, c_grid=c_grid, n_splits=folds,
                             multilabel=multilabel, seed=seed, counter=counter)
    return summary["best_C"], {"C_rule": "cv", **summary}


def make_semi_supervised(name: str, *, C: float = FIXED_C, n_unlabelled: int = 0, seed: int = 0):
    """A scikit-learn semi-supervised classifier; unlabelled documents have the label -1.

    Parameters
    ----------
    name : {"self-training", "label-spreading"}
        ``SelfTrainingClassifier`` around a :class:`ScoredLinearSVC` with
        :data:`SELF_TRAINING`, or ``LabelSpreading(kernel="knn")`` with
        :data:`LABEL_SPREADING` (give it :func:`spreading_features`).
    C : float
        The LinearSVC's C (self-training only).
    n_unlabelled : int
        Unlabelled documents it will see; sizes self-training's rounds.
    seed : int

    Returns
    -------
    estimator
    """
    if name == "self-training":
        k_best = max(1, int(SELF_TRAINING["fraction"] * n_unlabelled))
        base = ScoredLinearSVC(C=C, max_iter=SVC_MAX_ITER, random_state=seed)
        return SelfTrainingClassifier(base, criterion="k_best", k_best=k_best,
                                      max_iter=SELF_TRAINING["max_iter"])
    if name == "label-spreading":
        return LabelSpreading(kernel="knn", n_neighbors=LABEL_SPREADING["n_neighbors"],
                              alpha=LABEL_SPREADING["alpha"],
                              max_iter=LABEL_SPREADING["max_iter"])
    raise ValueError(f"unknown semi-supervised classifier {name!r}; valid: "
                     f"{', '.join(SEMI_SUPERVISED)}")


def spreading_features(X_train, X_test, *, seed=0, n_components=None):
    """Dense unit rows for LabelSpreading's kNN graph: TruncatedSVD fitted on ``X_train``.

    Fitted once per split on every training document (no labels), as the
    other unsupervised stages are; ``make_pipeline(TruncatedSVD(200),
    Normalizer(), LabelSpreading(kernel="knn"))`` is the same for one fit.

    Returns
    -------
    Z_train, Z_test : ndarray of float32
    """
    n = n_components or LABEL_SPREADING["n_components"]
    n = max(1, min(n, X_train.shape[1] - 1, X_train.shape[0] - 1))
    reducer = make_pipeline(TruncatedSVD(n, random_state=seed), Normalizer())
    Z_train = reducer.fit_transform(X_train).astype(np.float32)
    return Z_train, reducer.transform(X_test).astype(np.float32)


def _scores_of(estimator, X):
    if hasattr(estimator, "decision_function"):
        return decision_scores(estimator, X)
    return estimator.predict_proba(X)


def fit_predict(X_train, y_train, labelled, X_test, *, classifier="linearsvc", n_per_class=None,
                multilabel=False, c_grid=None, n_splits=5, class_weight=None, seed=0,
                counter=None, X_spread=None, C=None):
    """Fit on the ``labelled`` rows of the training data (and, semi-supervised, the rest).

    Parameters
    ----------
    X_train, y_train
        Every training document and its label; only ``labelled`` rows'
        labels are read.
    labelled : ndarray of int
        :func:`labelled_subset`.
    X_test
    classifier : {"linearsvc", "logreg", "self-training", "label-spreading"}
    n_per_class : int or None
        The budget, for :func:`choose_C`'s rule.
    X_spread : (Z_train, Z_test) or None
        :func:`spreading_features` of the split; computed here when needed
        and not given.
    C : (float, dict) or None
        :func:`choose_C`'s result for these labelled documents, when known.

    Returns
    -------
    y_pred : ndarray
    scores : ndarray
        Decision scores (or LabelSpreading's label distributions).
    info : dict
        :func:`choose_C`'s, plus ``n_labelled`` and ``fit_seconds``.
    """
    start = time.perf_counter()
    y_train = np.asarray(y_train)
    base = "linearsvc" if classifier in SEMI_SUPERVISED else classifier
    if classifier == "label-spreading":  # it has no C
        C = (FIXED_C, {"C_rule": "none", "best_C": None})
    if C is None:
        C = choose_C(X_train[labelled], y_train[labelled], n_per_class=n_per_class,
                     multilabel=multilabel, classifier=base, c_grid=c_grid,
                     n_splits=n_splits, seed=seed, counter=counter)
    C, info = C[0], dict(C[1])
    if classifier in SEMI_SUPERVISED:
        if multilabel:
            raise ValueError(f"{classifier} takes one class per document, not multi-label "
                             "targets")
        y_partial = np.full(len(y_train), -1, dtype=np.int64)
        y_partial[labelled] = y_train[labelled]
        estimator = make_semi_supervised(classifier, C=C, seed=seed,
                                         n_unlabelled=len(y_train) - len(labelled))
        if classifier == "label-spreading":
            Z_train, X_test = X_spread or spreading_features(X_train, X_test, seed=seed)
            fit_X, fit_y = Z_train, y_partial
        else:
            fit_X, fit_y = X_train, y_partial
    else:
        estimator = make_classifier(classifier, C=C, class_weight=class_weight,
                                    multilabel=multilabel, seed=seed)
        fit_X, fit_y = X_train[labelled], y_train[labelled]
    with quiet_fit_warnings(counter):
        estimator.fit(fit_X, fit_y)
    y_pred = estimator.predict(X_test)
    info.update(n_labelled=int(len(labelled)), fit_seconds=time.perf_counter() - start)
    return y_pred, _scores_of(estimator, X_test), info


def metrics_of(y_true, y_pred, scores, multilabel: bool) -> dict:
    """The run's metrics: :mod:`pipelines.evaluate`'s single- or multi-label set."""
    if multilabel:
        return evaluate.multilabel_metrics(y_true, scores, y_pred)
    return evaluate.single_label_metrics(y_true, y_pred)


def run_draws(X_train, y_train, X_test, y_test, *, n_per_class, draws=1, seed=0,
              classifier="linearsvc", multilabel=False, c_grid=None, n_splits=5,
              class_weight=None, counter=None, X_spread=None, c_cache=None):
    """Fit and score one budget over ``draws`` random labelled subsets.

    Draw ``r`` labels the documents :func:`labelled_subset` picks in
    ``draw_order(n, [seed, r])``; every unsupervised stage behind ``X_train``
    saw all training documents.

    ``X_spread`` is :func:`spreading_features` of the split for
    label spreading, computed here when not given. ``c_cache``, a dict kept
    by the caller for one feature matrix and one base classifier, holds each
    draw's C, so that self-training reuses the C chosen for the plain
    LinearSVC on the same labelled documents instead of searching again.

    Returns
    -------
    metrics : dict
        The mean over draws of each metric.
    info : dict
        ``draws`` (per draw: metrics, C rule and C, labelled documents),
        ``std`` over draws and ``labels_per_class``.
    y_pred : ndarray
        The first draw's test predictions (for the error report).
    """
    counter = counter if counter is not None else FitWarnings()
    spread = X_spread
    if classifier == "label-spreading" and spread is None:
        spread = spreading_features(X_train, X_test, seed=seed)
    per_draw, first_pred = [], None
    for r in range(draws):
        order = draw_order(len(y_train), [seed, r])
        labelled = labelled_subset(y_train, n_per_class, order)
        known = None if c_cache is None else c_cache.get((n_per_class, r))
        y_pred, scores, info = fit_predict(
            X_train, y_train, labelled, X_test, classifier=classifier,
            n_per_class=n_per_class, multilabel=multilabel, c_grid=c_grid,
            n_splits=n_splits, class_weight=class_weight, seed=seed, counter=counter,
            X_spread=spread, C=known)
        if c_cache is not None and info["C_rule"] != "none":
            c_cache[(n_per_class, r)] = (info["best_C"], info)
        if first_pred is None:
            first_pred = y_pred
        per_draw.append({"draw": r + 1, **metrics_of(y_test, y_pred, scores, multilabel),
                         "C_rule": info["C_rule"], "C": info["best_C"],
                         "n_labelled": info["n_labelled"]})
        logger.info("draw %d/%d: %d labelled, C=%s (%s)", r + 1, draws, info["n_labelled"],
                    info["best_C"], info["C_rule"])
    keys = [k for k in per_draw[0] if isinstance(per_draw[0][k], float) and k != "C"]
    metrics = {k: float(np.mean([d[k] for d in per_draw])) for k in keys}
    std = {k: float(np.std([d[k] for d in per_draw])) for k in keys}
    return metrics, {"labels_per_class": n_per_class, "draws": per_draw, "std": std}, first_pred


def mean_std_over(records: Sequence[dict], key: str) -> tuple[float, float]:
    """Mean and (population) std of ``record[key]`` over ``records``."""
    values = [r[key] for r in records]
    return float(np.mean(values)), float(np.std(values))


# --------------------------------------------------------------------------- pipelines.classify


def _positive_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def config_problem(config) -> str | None:
    """What is wrong with the few-label settings of a :class:`pipelines.classify.RunConfig`.

    Returns
    -------
    str or None
        A one-line message, or None when they are fine.
    """
    n, draws = config.labels_per_class, config.draws
    if n is not None and not _positive_int(n):
        return f"labels_per_class must be a positive integer or None; got {n!r}"
    if not _positive_int(draws):
        return f"draws must be a positive integer; got {draws!r}"
    if n is None and draws != 1:
        return "draws needs labels_per_class (with every label there is nothing to draw)"
    if config.classifier in SEMI_SUPERVISED:
        if n is None:
            return (f"classifier {config.classifier} needs labels_per_class: with every "
                    "training document labelled there is nothing unlabelled to learn from")
        if config.info.multilabel:
            return (f"classifier {config.classifier} takes one class per document; "
                    f"{config.dataset} is multi-label")
    if n is not None and config.method == "stacking":
        return "labels_per_class does not work with method stacking (its internal CV needs labels)"
    return None


def run_config_draws(fs, y_train, y_test, config, counter=None):
    """:func:`run_draws` on a split's features with a run config's settings."""
    return run_draws(fs.X_train, y_train, fs.X_test, y_test,
                     n_per_class=config.labels_per_class, draws=config.draws, seed=config.seed,
                     classifier=config.classifier, multilabel=config.info.multilabel,
                     c_grid=config.grid, n_splits=config.n_splits,
                     class_weight=config.class_weight, counter=counter)


def std_over_draws(fold_results: Sequence[dict], keys: Sequence[str]) -> dict:
    """Std over draws of the outer-fold mean of each metric (draw r of every fold)."""
    n_draws = len(fold_results[0]["inner_cv"]["draws"])
    per_draw = [{k: np.mean([f["inner_cv"]["draws"][r][k] for f in fold_results])
                 for k in keys} for r in range(n_draws)]
    return {k: float(np.std([d[k] for d in per_draw])) for k in keys}


def describe(config) -> dict:
    """The ``params["few_labels"]`` section of a run with ``labels_per_class``."""
    semi = config.classifier in SEMI_SUPERVISED
    return {
        "labels_per_class": config.labels_per_class,
        "draws": config.draws,
        "labelled_documents": (
            "per draw, a random order of the training documents; the first N of each class "
            "are labelled" if not config.info.multilabel else
            "per draw, N x (number of labels) training documents: labels covered rarest "
            "first, up to N documents each, the rest filled at random"),
        "unsupervised_stages": "fitted on every training text (labelled or not), never a "
                               "test text",
        "C_rule": (f"C chosen by {config.n_splits}-fold CV (at most the smallest class's "
                   f"count) over {config.grid} on the labelled documents when every class has "
                   f"at least {MIN_PER_CLASS_FOR_CV}, else C={FIXED_C:g}"),
        "semi_supervised": ({"classifier": config.classifier,
                             "unlabelled": "the other training documents (label -1)",
                             "settings": SELF_TRAINING if config.classifier == "self-training"
                             else LABEL_SPREADING,
                             "C": "the rule's C for the LinearSVC inside"
                             if config.classifier == "self-training" else "none (no C)"}
                            if semi else None),
    }
