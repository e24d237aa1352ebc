"""PNG figures of a classification run (matplotlib, Agg backend, no display needed).

* :func:`plot_confusion_matrix`: row-normalised confusion matrix (single-label);
* :func:`plot_label_f1`: per-label F1 of the most frequent labels (multi-label);
* :func:`plot_document_map`: document vectors in 2-D (TruncatedSVD, then t-SNE);
* :func:`plot_fold_scores`: per-fold scores with their mean.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.decomposition import TruncatedSVD  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

__all__ = [
    "plot_confusion_matrix",
    "plot_document_map",
    "plot_fold_scores",
    "plot_label_f1",
]

logger = logging.getLogger(__name__)

_DPI = 110


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight")
    plt.close(fig)
    logger.info("wrote %s", path)
    return path


def plot_confusion_matrix(y_true, y_pred, target_names: Sequence[str], path, *,
                          title: str = "") -> Path:
    """Confusion matrix with each row divided by its true-class count.

    Cells show the share (in %) of a true class predicted as each class; the
    diagonal is per-class recall. Rows are true classes, columns predictions.
    """
    n = len(target_names)
    cm = confusion_matrix(y_true, y_pred, labels=np.arange(n)).astype(np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    size = max(5.0, 0.45 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), labels=target_names, rotation=60, ha="right",
                  rotation_mode="anchor", fontsize=8 if n > 12 else 9)
    ax.set_yticks(range(n), labels=target_names, fontsize=8 if n > 12 else 9)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in range(n):
        for j in range(n):
            value = norm[i, j]
            if value >= 0.005:  # empty cells stay blank so mistakes stand out
                ax.text(j, i, f"{100 * value:.0f}", ha="center", va="center",
                        fontsize=7 if n > 12 else 8,
                        color="white" if value > 0.5 else "black")
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cbar.set_label("share of the true class")
    ax.set_title(title or "Confusion matrix (rows normalised, %)", fontsize=10)
    return _save(fig, path)


def plot_label_f1(y_true, y_pred, target_names: Sequence[str], path, *, top: int = 20,
                  title: str = "") -> Path:
    """Horizontal bars of F1 for the ``top`` labels with the most test documents."""
    from sklearn.metrics import precision_recall_fscore_support

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    # int64: label matrices are uint8, and negating an unsigned sum wraps around.
    support = y_true.sum(axis=0).astype(np.int64)
    order = np.argsort(-support, kind="stable")[:top]
    _, _, f1, _ = precision_recall_fscore_support(y_true, y_pred, labels=order,
                                                  zero_division=0)
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(order) + 1.5))
    ypos = np.arange(len(order))[::-1]
    ax.barh(ypos, f1, color="tab:blue")
    ax.set_yticks(ypos, labels=[f"{target_names[i]} ({int(support[i])})" for i in order],
                  fontsize=8)
    for y, v in zip(ypos, f1):
        # Long bars get their value inside, in white, so it never runs off the axes.
        inside = v > 0.85
        ax.text(v - 0.01 if inside else v + 0.01, y, f"{v:.2f}", va="center",
                ha="right" if inside else "left", fontsize=7,
                color="white" if inside else "black")
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 on the test set")
    ax.set_title(title or f"Per-label F1, {len(order)} most frequent labels "
                          "(test support in brackets)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def plot_document_map(X, labels, label_names: Sequence[str], path, *, max_docs: int = 2000,
                      seed: int = 0, title: str = "", max_legend: int = 20) -> Path:
    """Scatter of documents in 2-D: TruncatedSVD to 50 dimensions, then t-SNE.

    Parameters
    ----------
    X : matrix of shape (n_docs, n_features)
        Document vectors (sparse or dense).
    labels : array of int, shape (n_docs,)
        Colour index of each document, into ``label_names``.
    label_names : sequence of str
    path : path-like
    max_docs : int, default=2000
        A random subsample of at most this many documents is drawn (t-SNE
        is quadratic-ish and a crowded plot shows nothing more).
    seed : int, default=0
    title : str
    max_legend : int, default=20
        Classes beyond the most frequent ``max_legend`` are grey ("other").
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    idx = np.sort(rng.choice(n, size=min(n, max_docs), replace=False))
    Xs = X[idx]
    if sp.issparse(Xs):
        Xs = Xs.tocsr().astype(np.float64)
    else:
        Xs = np.asarray(Xs, dtype=np.float64)
    n_svd = min(50, Xs.shape[1] - 1, Xs.shape[0] - 1)
    reduced = TruncatedSVD(n_components=n_svd, random_state=seed).fit_transform(Xs) \
        if n_svd >= 2 else np.asarray(Xs.todense() if sp.issparse(Xs) else Xs)
    perplexity = float(min(30.0, max(5.0, (len(idx) - 1) / 4)))
    coords = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed,
                  max_iter=750).fit_transform(reduced)
    sub = labels[idx]
    counts = np.bincount(sub, minlength=len(label_names))
    shown = [c for c in np.argsort(-counts, kind="stable") if counts[c] > 0][:max_legend]
    cmap = plt.get_cmap("tab20" if len(shown) > 10 else "tab10")
    fig, ax = plt.subplots(figsize=(9.5, 7))
    other = ~np.isin(sub, shown)
    if other.any():
        ax.scatter(coords[other, 0], coords[other, 1], s=6, c="lightgrey", label="other",
                   linewidths=0)
    for k, c in enumerate(sorted(shown)):
        mask = sub == c
        ax.scatter(coords[mask, 0], coords[mask, 1], s=9, color=cmap(k % cmap.N),
                   label=label_names[c], linewidths=0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, markerscale=2.5,
              frameon=False)
    ax.set_title(title or f"Document map ({len(idx)} documents; TruncatedSVD({n_svd}) "
                          "then t-SNE)", fontsize=10)
    return _save(fig, path)


def plot_fold_scores(fold_scores: dict, path, *, title: str = "", xlabel: str = "fold",
                     reference: dict | None = None) -> Path:
    """Dots per fold for each metric, with a dashed line at each metric's mean.

    Parameters
    ----------
    fold_scores : dict of str to sequence of float
        Metric name to one score per fold.
    path : path-like
    title, xlabel : str
    reference : dict of str to float, optional
        Extra horizontal dotted lines (e.g. the test-set score), labelled.
    """
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = plt.get_cmap("tab10")
    lows = []
    for k, (name, scores) in enumerate(fold_scores.items()):
        scores = np.asarray(scores, dtype=float)
        x = np.arange(1, len(scores) + 1) + (k - (len(fold_scores) - 1) / 2) * 0.12
        mean = scores.mean()
        ax.plot(x, scores, "o", color=colors(k), markersize=8,
                label=f"{name}: mean {mean:.4f} (std {scores.std():.4f})")
        ax.axhline(mean, color=colors(k), linestyle="--", linewidth=1)
        lows.append(scores.min())
    for k, (name, value) in enumerate((reference or {}).items()):
        ax.axhline(value, color=colors(len(fold_scores) + k), linestyle=":", linewidth=1.5,
                   label=f"{name}: {value:.4f}")
        lows.append(value)
    n_folds = max(len(s) for s in fold_scores.values())
    ax.set_xticks(range(1, n_folds + 1))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("score")
    low = min(lows) if lows else 0.0
    ax.set_ylim(max(0.0, low - 0.05), 1.0)
    ax.grid(axis="y", alpha=0.3)
    # Below the axes, so the legend never hides a fold's dot.
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1,
              frameon=False)
    ax.set_title(title or "Per-fold scores", fontsize=10)
    return _save(fig, path)
