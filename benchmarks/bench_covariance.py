"""What does each Gaussian-mixture covariance type cost at K=60, d=200?

Fits ``GaussianMixture`` (k-means init, max_iter=50, as SCDV does) on the
unit word vectors of a fitted 20 Newsgroups model, once per covariance type,
and reports fit time, peak traced memory, the size of the fitted
parameters, and how peaked the posteriors are (mean number of clusters with
p(C_k|w) >= 0.01 per word, which drives ``transform``'s cost).

Usage::

    python -m benchmarks.bench_covariance --model PATH   # a saved SCDV model
    python -m benchmarks.bench_covariance                # fits the paper's model
    python -m benchmarks.bench_covariance --quick        # bench_transform's quick model

Without ``--model`` the word vectors come from the model bench_transform
fits (and caches): the paper's on 20 Newsgroups train, or with ``--quick``
the same settings on 3,000 documents with 10 epochs (6,543 words). K is the
paper's 60 either way: the costs differ most in how many EM iterations each
type needs on real word vectors, which synthetic clusters do not show.

Writes ``benchmarks/results/bench_covariance[_quick].json``.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc

import numpy as np

from benchmarks._common import cached_model, write_result
from benchmarks.bench_transform import PAPER, QUICK_CHANGES, QUICK_TRAIN_DOCS
from pipelines.datasets import load_20newsgroups
from scdv import load
from scdv.clustering import COVARIANCE_TYPES, soft_cluster_words


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="saved SCDV model whose word vectors to cluster")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-components", type=int, default=60)
    parser.add_argument("--data-dir", help="folder holding 20news-bydate.tar.gz")
    args = parser.parse_args(argv)
    start_all = time.perf_counter()
    if args.model:
        vectors = load(args.model).word_vectors_
    else:
        params, texts = dict(PAPER), load_20newsgroups("train", data_dir=args.data_dir).data
        if args.quick:
            params.update(QUICK_CHANGES)
            texts = texts[:QUICK_TRAIN_DOCS]
        vectors = cached_model(texts, params, "20ng-train")[0].word_vectors_
    K = args.n_components
    rows = []
    for covariance in COVARIANCE_TYPES:
        tracemalloc.start()
        start = time.perf_counter()
        gmm, proba = soft_cluster_words(vectors, n_components=K, covariance_type=covariance,
                                        random_state=0)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append({
            "covariance_type": covariance,
            "fit_seconds": seconds,
            "peak_traced_bytes": peak,
            "parameter_bytes": int(gmm.covariances_.nbytes + gmm.precisions_cholesky_.nbytes
                                   + gmm.means_.nbytes),
            "n_iter": int(gmm.n_iter_),
            "converged": bool(gmm.converged_),
            "clusters_per_word_p_ge_0.01": float((proba >= 0.01).sum(axis=1).mean()),
        })
        r = rows[-1]
        print(f"{covariance:>9}: {seconds:7.1f} s, peak {peak / 2**20:7.1f} MB, parameters "
              f"{r['parameter_bytes'] / 2**20:6.2f} MB, {r['n_iter']} iterations, "
              f"{r['clusters_per_word_p_ge_0.01']:.2f} clusters/word")
    path = write_result("bench_covariance" + ("_quick" if args.quick else ""), {
        "command": "python -m benchmarks.bench_covariance"
                   + (f" --model {args.model}" if args.model else "")
                   + (" --quick" if args.quick else ""),
        "n_words": int(len(vectors)), "d": int(vectors.shape[1]), "K": K,
        "rows": rows, "wall_seconds": time.perf_counter() - start_all,
    })
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
