"""What does each Gaussian-mixture covariance type cost at K=60, d=200?

Fits ``GaussianMixture`` (k-means init, max_iter=50, as SCDV does) on the
unit word vectors of a fitted 20 Newsgroups model, once per covariance type,
and reports fit time, peak traced memory, the size of the fitted
parameters, and how peaked the posteriors are (mean number of clusters with
p(C_k|w) >= 0.01 per word, which drives ``transform``'s cost).

Usage::

    python -m benchmarks.bench_covariance --model PATH   # a saved SCDV model
    python -m benchmarks.bench_covariance --quick        # 3,000 words, K=20

Writes ``benchmarks/results/bench_covariance[_quick].json``.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc

import numpy as np

from benchmarks._common import write_result
from scdv import load
from scdv.clustering import COVARIANCE_TYPES, soft_cluster_words


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="saved SCDV model whose word vectors to cluster")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-components", type=int, default=60)
    args = parser.parse_args(argv)
    start_all = time.perf_counter()
    if args.model:
        vectors = load(args.model).word_vectors_
    else:  # no model: unit vectors with some cluster structure
        rng = np.random.RandomState(0)
        centres = rng.randn(40, 200)
        vectors = centres[rng.randint(0, 40, 11000)] + rng.randn(11000, 200)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    K = args.n_components
    if args.quick:
        vectors, K = vectors[:3000], min(K, 20)
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
