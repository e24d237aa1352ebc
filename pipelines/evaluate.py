"""Metrics and error analysis for single-label and multi-label classification.

Single-label corpora (20 Newsgroups, livedoor) report accuracy and macro
precision, recall and F1. Multi-label Reuters reports the SCDV paper's set:
Precision@1, nDCG@1, coverage error, label ranking average precision (all four
from decision scores, not thresholded predictions) and weighted and micro F1
(from the predictions, i.e. scores > 0 for one-vs-rest linear models).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    coverage_error,
    f1_score,
    label_ranking_average_precision_score,
    precision_recall_fscore_support,
)

__all__ = [
    "confused_pairs",
    "multilabel_confused_pairs",
    "multilabel_metrics",
    "ndcg_at_k",
    "per_label_report",
    "precision_at_k",
    "single_label_metrics",
]


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    # Stable sort on the negated scores: ties go to the lower label index,
    # so the result does not depend on the sort algorithm.
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def precision_at_k(y_true, scores, k: int = 1) -> float:
    """Mean fraction of the k top-scored labels that are true labels.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        Binary label indicator matrix.
    scores : array-like of shape (n_samples, n_labels)
        Decision scores; higher means more likely.
    k : int, default=1

    Returns
    -------
    float
        In [0, 1]. Ties are broken towards the lower label index.

    Examples
    --------
    >>> precision_at_k([[1, 0, 0], [0, 1, 1]], [[0.9, 0.1, 0.0], [0.8, 0.1, 0.3]])
    0.5
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    if y_true.shape != scores.shape:
        raise ValueError(f"y_true {y_true.shape} and scores {scores.shape} differ in shape")
    top = _top_k(scores, k)
    hits = np.take_along_axis(y_true, top, axis=1) > 0
    return float(hits.sum(axis=1).mean() / k)


def ndcg_at_k(y_true, scores, k: int = 1) -> float:
    """Mean normalised discounted cumulative gain at k, for binary relevance.

    DCG@k = sum over ranks r=1..k of rel_r / log2(r + 1); it is divided by the
    DCG of an ideal ranking (all true labels first). A sample with no true
    label scores 0. For k=1 this equals Precision@1 on samples with a label.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        Binary label indicator matrix.
    scores : array-like of shape (n_samples, n_labels)
    k : int, default=1

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> ndcg_at_k([[0, 1, 0], [1, 1, 0]], [[0.5, 0.2, 0.1], [0.1, 0.9, 0.3]], k=2)
    0.622038473168458
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    if y_true.shape != scores.shape:
        raise ValueError(f"y_true {y_true.shape} and scores {scores.shape} differ in shape")
    k = min(k, y_true.shape[1])
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    rel = (np.take_along_axis(y_true, _top_k(scores, k), axis=1) > 0).astype(np.float64)
    dcg = rel @ discount
    n_true = np.minimum((y_true > 0).sum(axis=1), k)
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[n_true]
    with np.errstate(invalid="ignore", divide="ignore"):
        per_sample = np.where(ideal > 0, dcg / ideal, 0.0)
    return float(per_sample.mean())


def single_label_metrics(y_true, y_pred) -> dict:
    """Accuracy and macro precision, recall and F1 (classes absent from both count 0).

    Returns
    -------
    dict of str to float
        ``accuracy``, ``precision_macro``, ``recall_macro``, ``f1_macro``.
    """
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="macro",
                                                 zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision_macro": float(p),
        "recall_macro": float(r),
        "f1_macro": float(f),
    }


def multilabel_metrics(y_true, scores, y_pred=None) -> dict:
    """The SCDV paper's multi-label metrics.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        Binary indicator matrix.
    scores : array-like of shape (n_samples, n_labels)
        Decision scores (one-vs-rest ``decision_function``).
    y_pred : array-like of shape (n_samples, n_labels) or None
        Predicted indicator matrix; defaults to ``scores > 0``.

    Returns
    -------
    dict of str to float
        ``precision_at_1``, ``ndcg_at_1``, ``coverage`` (coverage error: the
        mean rank depth needed to reach every true label; lower is better, 1
        is best), ``lrap``, ``f1_weighted``, ``f1_micro``.
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    y_pred = (scores > 0).astype(int) if y_pred is None else np.asarray(y_pred)
    return {
        "precision_at_1": precision_at_k(y_true, scores, 1),
        "ndcg_at_1": ndcg_at_k(y_true, scores, 1),
        "coverage": float(coverage_error(y_true, scores)),
        "lrap": float(label_ranking_average_precision_score(y_true, scores)),
        "f1_weighted": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        "f1_micro": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
    }


def per_label_report(y_true, y_pred, target_names: Sequence[str]) -> dict:
    """Per-class (or per-label) precision, recall, F1 and support, JSON-ready.

    Returns
    -------
    dict
        ``classification_report(..., output_dict=True)`` with every label
        present, absent ones included (``zero_division=0``).
    """
    labels = np.arange(len(target_names))
    report = classification_report(y_true, y_pred, labels=labels,
                                   target_names=list(target_names), output_dict=True,
                                   zero_division=0)
    return {k: ({m: float(v) for m, v in d.items()} if isinstance(d, dict) else float(d))
            for k, d in report.items()}


def confused_pairs(y_true, y_pred, ids: Sequence[str], target_names: Sequence[str],
                   top: int = 5, n_examples: int = 5) -> list[dict]:
    """The most frequent (true class, predicted class) mistakes.

    Returns
    -------
    list of dict
        Up to ``top`` entries sorted by count (ties by class names), each with
        ``true``, ``predicted``, ``count``, ``rate`` (share of the true class
        sent there) and up to ``n_examples`` misclassified document ``ids``.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    cm = confusion_matrix(y_true, y_pred, labels=np.arange(len(target_names)))
    off = [(int(cm[t, p]), t, p) for t in range(len(cm)) for p in range(len(cm))
           if t != p and cm[t, p] > 0]
    off.sort(key=lambda x: (-x[0], target_names[x[1]], target_names[x[2]]))
    out = []
    for count, t, p in off[:top]:
        rows = np.flatnonzero((y_true == t) & (y_pred == p))[:n_examples]
        out.append({
            "true": target_names[t],
            "predicted": target_names[p],
            "count": count,
            "rate": float(count / max(1, cm[t].sum())),
            "ids": [ids[i] for i in rows],
        })
    return out


def multilabel_confused_pairs(y_true, y_pred, ids: Sequence[str],
                              target_names: Sequence[str], top: int = 5,
                              n_examples: int = 5) -> list[dict]:
    """The most frequent (missed label, wrongly predicted label) pairs.

    For a multi-label document a "confusion" is a true label the classifier
    missed together with a label it predicted that is not true; every such
    pair in a document counts once.

    Returns
    -------
    list of dict
        Same layout as :func:`confused_pairs` (``true`` is the missed label,
        ``predicted`` the false one); ``rate`` is relative to the documents
        that carry the missed label.
    """
    y_true = np.asarray(y_true) > 0
    y_pred = np.asarray(y_pred) > 0
    counts: Counter = Counter()
    examples: dict = defaultdict(list)
    for i in range(len(y_true)):
        missed = np.flatnonzero(y_true[i] & ~y_pred[i])
        wrong = np.flatnonzero(y_pred[i] & ~y_true[i])
        for t in missed:
            for p in wrong:
                counts[(t, p)] += 1
                if len(examples[(t, p)]) < n_examples:
                    examples[(t, p)].append(ids[i])
    support = y_true.sum(axis=0)
    ranked = sorted(counts.items(),
                    key=lambda kv: (-kv[1], target_names[kv[0][0]], target_names[kv[0][1]]))
    return [{
        "true": target_names[t],
        "predicted": target_names[p],
        "count": int(c),
        "rate": float(c / max(1, support[t])),
        "ids": examples[(t, p)],
    } for (t, p), c in ranked[:top]]
