"""What does SCDV cost in time and memory, and how does the cost grow?

All figures come from one run on one machine, against baselines measured in
the same run:

1. ``transform`` throughput against the reference code's per-token loop and
   against scikit-learn's ``TfidfVectorizer.transform``, on the same token
   lists and the same fitted model (20 Newsgroups, d=200, K=60).
2. Time per stage of ``fit``: tokenise, word2vec, GMM, IDF, threshold.
3. Peak memory of ``transform`` against the size of its output.
4. How transform time and memory grow with the number of documents
   (1k to 16k) and with K (10 to 120), with the fitted exponent of a power
   law (time ~ n^b).

Usage::

    python -m benchmarks.bench_speed            # full run
    python -m benchmarks.bench_speed --quick    # under 3 minutes

Writes ``benchmarks/results/bench_speed[_quick].json`` and
``benchmarks/results/scaling[_quick].png``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import tracemalloc

import numpy as np

from benchmarks._common import RESULTS, timer, write_result
from benchmarks.bench_transform import (
    PAPER,
    QUICK_CHANGES,
    QUICK_TRAIN_DOCS,
    SPEED_TARGET,
    TFIDF_TARGET,
    _identity,
    measure_memory,
    reference_sum,
)
from pipelines.datasets import load_20newsgroups
from scdv import SCDV, word_topic_vectors
from scdv.clustering import soft_cluster_words
from scdv.composite import _Kernel, effective_n_jobs
from scdv.threshold import sparsity_threshold
from scdv.tokenize import english_tokenize
from scdv.weighting import count_matrix, smooth_idf
from scdv.word_vectors import normalize_rows, train_word_vectors

logger = logging.getLogger("benchmarks")


def fit_by_stage(train_texts, params):
    """Fit SCDV stage by stage, timing each; return the model and the times."""
    times = {}
    with timer(times, "tokenise"):
        tokens = [english_tokenize(t) for t in train_texts]
    with timer(times, "word2vec"):
        words, raw = train_word_vectors(
            tokens, vector_size=params["vector_size"], window=params["window"],
            min_count=params["min_count"], negative=params["negative"],
            sample=params["sample"], epochs=params["epochs"], workers=params["workers"],
            seed=params["random_state"])
        vectors = normalize_rows(raw)
    with timer(times, "gmm"):
        _, proba = soft_cluster_words(
            vectors, n_components=params["n_components"],
            covariance_type=params["covariance_type"], random_state=params["random_state"])
    vocabulary = {w: i for i, w in enumerate(words)}
    with timer(times, "idf"):
        counts = count_matrix(tokens, vocabulary)
        idf = smooth_idf(np.diff(counts.tocsc().indptr), counts.shape[0])
    with timer(times, "threshold"):
        mins, maxs = _Kernel(vectors, proba, idf).row_min_max(counts, effective_n_jobs(None))
        threshold = sparsity_threshold(mins, maxs, params["sparsity_percentage"])
    model = SCDV(**{**params, "tokenizer": None})
    model.vocabulary_, model.word_vectors_ = vocabulary, vectors
    model.word_cluster_proba_, model.idf_, model.threshold_ = proba, idf, threshold
    return model, times, tokens


def best_time(func, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def traced_peak(func):
    """Peak bytes numpy and Python allocate while ``func`` runs, and its result."""
    tracemalloc.start()
    out = func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, peak


def power_law_exponent(x, y):
    """b in y ~ a * x^b, by least squares on logs."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def plot_scaling(doc_rows, k_rows, path, K_main):
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    n = np.array([r["n_docs"] for r in doc_rows])
    t = np.array([r["seconds"] for r in doc_rows])
    mem = np.array([r["peak_traced_bytes"] for r in doc_rows]) / 2**20
    out = np.array([r["output_bytes"] for r in doc_rows]) / 2**20
    ax = axes[0]
    ax.loglog(n, t, "o-", label="transform time (s)")
    ax.set_xlabel("documents")
    ax.set_ylabel("seconds")
    ax2 = ax.twinx()
    ax2.loglog(n, mem, "s--", color="tab:red", label="peak traced memory (MB)")
    ax2.loglog(n, out, "^:", color="tab:gray", label="output size (MB)")
    ax2.set_ylabel("MB")
    b = power_law_exponent(n, t)
    ax.set_title(f"Scaling in documents (K={K_main}): time ~ n^{b:.2f}")
    ax.grid(True, which="both", alpha=0.3)

    ax.plot(n, t[0] * n / n[0], color="0.6", lw=0.8, label="slope 1 (linear)")
    for axis in (ax.xaxis, ax.yaxis, ax2.yaxis):
        axis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="upper left", fontsize=8)

    # Linear axes from zero: a flat line here means K costs nothing extra.
    ax = axes[1]
    k = np.array([r["K"] for r in k_rows])
    tk = np.array([r["seconds"] for r in k_rows])
    ax.plot(k, tk, "o-", label="transform time (s)")
    ax.set_ylim(0, 1.3 * tk.max())
    ax.set_xlabel("clusters K")
    ax.set_ylabel("seconds")
    ax2 = ax.twinx()
    mk = np.array([r["peak_traced_bytes"] for r in k_rows]) / 2**20
    ax2.plot(k, mk, "s--", color="tab:red", label="peak traced memory (MB)")
    ax2.set_ylim(0, 1.3 * mk.max())
    ax2.set_ylabel("MB")
    bk = power_law_exponent(k, tk)
    ax.set_title(f"Scaling in clusters ({k_rows[0]['n_docs']} docs): time ~ K^{bk:.2f}")
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="lower right", fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="3,000 training documents, 10 epochs, smaller sweeps")
    parser.add_argument("--data-dir", help="folder holding 20news-bydate.tar.gz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("gensim").setLevel(logging.WARNING)
    run_start = time.perf_counter()

    train = load_20newsgroups("train", data_dir=args.data_dir)
    test = load_20newsgroups("test", data_dir=args.data_dir)
    params = dict(PAPER)
    train_texts = train.data
    n_timed, doc_sizes, k_values = 3000, [1000, 2000, 4000, 8000, 16000], [10, 20, 40, 60, 120]
    if args.quick:
        # The paper's d=200 and K=60, so that the speed ratios compare with the
        # full run's (the reference loop's cost grows with K*d); fewer words
        # and K<=30 in the sweep keep the mixtures cheap (EM costs K * V * d^2).
        train_texts = train.data[:QUICK_TRAIN_DOCS]
        params.update(QUICK_CHANGES)
        doc_sizes, k_values = [500, 1000, 2000, 4000], [10, 20, 30]

    logger.info("fitting stage by stage on %d documents", len(train_texts))
    model, fit_times, train_tokens = fit_by_stage(train_texts, params)
    pool_tokens = [english_tokenize(t) for t in test.data] + train_tokens
    tokens = pool_tokens[:n_timed]

    # 1. Throughput against the reference loop and TF-IDF.
    model.transform(tokens[:10])
    ours = best_time(lambda: model.transform(tokens), 5)
    model.set_params(n_jobs=1)
    ours_1 = best_time(lambda: model.transform(tokens), 5)
    model.set_params(n_jobs=None)
    wtv = word_topic_vectors(model.word_vectors_, model.word_cluster_proba_,
                             model.idf_).astype(np.float32)

    def reference():
        out = reference_sum(tokens, model.vocabulary_, wtv)
        out[np.abs(out) < model.threshold_] = 0

    reference_seconds = best_time(reference, 1)
    del wtv
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(analyzer=_identity, sublinear_tf=True).fit(train_tokens)
    tfidf_seconds = best_time(lambda: tfidf.transform(tokens), 5)

    # 2. Memory of transforming every document, from raw text.
    model.set_params(tokenizer="english")
    all_texts = test.data + train.data
    memory = measure_memory(model, all_texts if not args.quick else all_texts[:5000])
    model.set_params(tokenizer=None)

    # 3. Growth with the number of documents.
    doc_rows = []
    for n in doc_sizes:
        docs = pool_tokens[:n]
        X, peak = traced_peak(lambda: model.transform(docs))
        doc_rows.append({
            "n_docs": len(docs),
            "seconds": best_time(lambda: model.transform(docs), 3),
            "peak_traced_bytes": peak,
            "output_bytes": X.data.nbytes + X.indices.nbytes + X.indptr.nbytes,
            "nnz": int(X.nnz),
        })
        logger.info("n=%d: %.3f s", n, doc_rows[-1]["seconds"])

    # 4. Growth with K: same word vectors, new mixture per K.
    k_rows = []
    docs = pool_tokens[:doc_sizes[1]]
    for K in k_values:
        start = time.perf_counter()
        _, proba = soft_cluster_words(model.word_vectors_, n_components=K,
                                      random_state=params["random_state"])
        gmm_seconds = time.perf_counter() - start
        variant = SCDV(**{**params, "tokenizer": None, "n_components": K})
        variant.vocabulary_, variant.word_vectors_ = model.vocabulary_, model.word_vectors_
        variant.word_cluster_proba_, variant.idf_ = proba, model.idf_
        kernel = _Kernel(model.word_vectors_, proba, model.idf_)
        counts = count_matrix(train_tokens, model.vocabulary_)
        mins, maxs = kernel.row_min_max(counts, effective_n_jobs(None))
        variant.threshold_ = sparsity_threshold(mins, maxs, params["sparsity_percentage"])
        variant.transform(docs[:10])
        X, peak = traced_peak(lambda: variant.transform(docs))
        k_rows.append({
            "K": K, "n_docs": len(docs), "gmm_fit_seconds": gmm_seconds,
            "seconds": best_time(lambda: variant.transform(docs), 3),
            "peak_traced_bytes": peak,
            "output_bytes": X.data.nbytes + X.indices.nbytes + X.indptr.nbytes,
            "nnz_per_doc": X.nnz / X.shape[0],
        })
        logger.info("K=%d: %.3f s", K, k_rows[-1]["seconds"])

    doc_exponent = power_law_exponent([r["n_docs"] for r in doc_rows],
                                      [r["seconds"] for r in doc_rows])
    memory_exponent = power_law_exponent([r["n_docs"] for r in doc_rows],
                                         [r["peak_traced_bytes"] for r in doc_rows])
    k_exponent = power_law_exponent([r["K"] for r in k_rows], [r["seconds"] for r in k_rows])
    suffix = "_quick" if args.quick else ""
    plot_path = RESULTS / f"scaling{suffix}.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot_scaling(doc_rows, k_rows, plot_path, params["n_components"])

    result = {
        "quick": args.quick,
        "command": "python -m benchmarks.bench_speed" + (" --quick" if args.quick else ""),
        "model": {"params": params, "V": len(model.vocabulary_),
                  "n_train_docs": len(train_texts)},
        "fit_stage_seconds": fit_times,
        "transform": {
            "n_docs": len(tokens),
            "threads": effective_n_jobs(None),
            "scdv_seconds": ours,
            "scdv_seconds_1_thread": ours_1,
            "reference_loop_seconds": reference_seconds,
            "tfidf_seconds": tfidf_seconds,
            "speedup_vs_reference": reference_seconds / ours,
            "speedup_vs_reference_1_thread": reference_seconds / ours_1,
            "speedup_target": SPEED_TARGET,
            "time_ratio_vs_tfidf": ours / tfidf_seconds,
            "tfidf_ratio_target": TFIDF_TARGET,
        },
        "memory": memory,
        "scaling_docs": doc_rows,
        "scaling_docs_time_exponent": doc_exponent,
        "scaling_docs_memory_exponent": memory_exponent,
        "scaling_k": k_rows,
        "scaling_k_time_exponent": k_exponent,
        "plot": str(plot_path.relative_to(RESULTS.parent)),
        "wall_seconds": time.perf_counter() - run_start,
    }
    path = write_result("bench_speed" + suffix, result)
    t = result["transform"]
    print(f"fit stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in fit_times.items()))
    print(f"transform {t['n_docs']} docs: scdv {ours:.3f} s, reference {reference_seconds:.2f} s "
          f"-> {t['speedup_vs_reference']:.1f}x (1 thread {t['speedup_vs_reference_1_thread']:.1f}x; "
          f"target {SPEED_TARGET:.0f}x); TF-IDF {tfidf_seconds:.3f} s -> scdv/tfidf "
          f"{t['time_ratio_vs_tfidf']:.2f}x (target <= {TFIDF_TARGET:.0f}x)")
    print(f"memory: output {memory['output_bytes'] / 2**20:.0f} MB, traced peak "
          f"{memory['peak_traced_bytes'] / 2**20:.0f} MB, bound {memory['bound_bytes'] / 2**20:.0f} MB "
          f"-> {'within' if memory['within_bound'] else 'OVER'}")
    print(f"time ~ n_docs^{doc_exponent:.2f}, memory ~ n_docs^{memory_exponent:.2f}, "
          f"time ~ K^{k_exponent:.2f}; plot {plot_path}")
    print(f"wrote {path} in {result['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
