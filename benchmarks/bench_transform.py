"""How fast and how lean is ``SCDV.transform``, and is it exact?

One question, three measurements, all in one run on one fitted model
(20 Newsgroups, d=200, K=60 by default):

1. Speed against the reference code's loop: for each token, a dict look-up
   and an in-place add of the word's dense K*d word-topic vector; then
   normalise; then cut at the threshold. Both start from the same token lists.
   The same run checks that the two outputs agree to 1e-5 per entry.
2. Speed against scikit-learn's ``TfidfVectorizer.transform`` on the same
   token lists.
3. Peak memory of transforming every 20 Newsgroups document (from raw text)
   against the size of the CSR it returns. The bound to meet is
   1.5 x output + 256 MB above what was in use before.

Usage::

    python -m benchmarks.bench_transform            # full: paper model, 3,000 docs
    python -m benchmarks.bench_transform --quick    # under 3 minutes

Writes ``benchmarks/results/bench_transform[_quick].json``.
"""

from __future__ import annotations

import argparse
import gc
import logging
import statistics
import sys
import time
import tracemalloc

import numpy as np

from benchmarks._common import cached_model, reset_peak_rss, status_kb, write_result
from pipelines.datasets import load_20newsgroups
import scdv
from scdv import word_topic_vectors
from scdv.composite import effective_n_jobs
from scdv.tokenize import english_tokenize

PAPER = dict(vector_size=200, window=10, min_count=20, negative=10, sample=1e-3,
             epochs=25, n_components=60, covariance_type="tied",
             sparsity_percentage=0.04, workers=2, random_state=0)

#: What ``--quick`` fits instead (bench_transform, bench_speed and
#: bench_covariance share it): the paper's d and K, on the first 3,000
#: training documents, with ten epochs. Fewer epochs give flatter posteriors,
#: which the kernel pays for, so the speed ratio would understate the full
#: run's (3 epochs: 7.6-10.1x; 10 epochs: 12.7x).
QUICK_TRAIN_DOCS = 3000
QUICK_CHANGES = dict(epochs=10, min_count=10)

SPEED_TARGET = 10.0
TFIDF_TARGET = 3.0
TOLERANCE = 1e-5


def reference_sum(token_docs, vocabulary, wtv):
    """The reference code's per-token loop over dense word-topic vectors,
    up to normalisation (the cut is timed separately, see ``main``)."""
    out = np.zeros((len(token_docs), wtv.shape[1]), dtype=np.float32)
    for i, doc in enumerate(token_docs):
        vec = out[i]
        for token in doc:
            row = vocabulary.get(token)
            if row is not None:
                vec += wtv[row]
        norm = np.linalg.norm(vec)
        if norm > 0:
            vec /= norm
    return out


def _identity(doc):
    return doc


def measure_memory(model, texts):
    """Peak extra memory of ``model.transform(texts)``, by RSS and by tracemalloc."""
    gc.collect()
    before_kb = status_kb("VmRSS")
    reset = reset_peak_rss()
    tracemalloc.start()
    start = time.perf_counter()
    X = model.transform(texts)
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_kb = status_kb("VmHWM")
    output = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    rss_extra = (peak_kb - before_kb) * 1024 if reset else None
    bound = 1.5 * output + 256 * 2**20
    return {
        "n_docs": X.shape[0],
        "seconds": seconds,
        "output_bytes": output,
        "output_nnz": int(X.nnz),
        "peak_rss_extra_bytes": rss_extra,
        "peak_traced_bytes": traced_peak,
        "bound_bytes": bound,
        "within_bound": bool((rss_extra if rss_extra is not None else traced_peak) <= bound
                             and traced_peak <= bound),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fit on 3,000 documents with 10 epochs (as bench_speed --quick); time the same 3,000 "
                             "test documents")
    parser.add_argument("--data-dir", help="folder holding 20news-bydate.tar.gz")
    parser.add_argument("--n-docs", type=int, default=None, help="documents to time")
    parser.add_argument("--model", help="a saved model to time instead of fitting one")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("gensim").setLevel(logging.WARNING)

    train = load_20newsgroups("train", data_dir=args.data_dir)
    test = load_20newsgroups("test", data_dir=args.data_dir)
    params = dict(PAPER)
    train_texts = train.data
    n_docs = args.n_docs or 3000
    if args.quick:
        train_texts = train.data[:QUICK_TRAIN_DOCS]
        params.update(QUICK_CHANGES)

    if args.model:
        model, fit_seconds = scdv.load(args.model), None
        params = model.get_params()
    else:
        model, fit_seconds = cached_model(train_texts, params, "20ng-train")
    vocab = model.vocabulary_
    K, d = model.word_cluster_proba_.shape[1], model.word_vectors_.shape[1]
    print(f"model: V={len(vocab)} d={d} K={K} threshold={model.threshold_:.6g}"
          + (f" (fitted in {fit_seconds:.0f} s)" if fit_seconds else " (cached)"))

    tokens = [english_tokenize(t) for t in test.data[:n_docs]]
    token_model = model.set_params(tokenizer=None)

    # Ours: best of 5 after one warm-up call (JIT compilation is cached on
    # disk), with the default threads (every core) and with one thread.
    token_model.transform(tokens[:10])

    def best_of(n_jobs, repeats=5):
        token_model.set_params(n_jobs=n_jobs)
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = token_model.transform(tokens)
            runs.append(time.perf_counter() - start)
        return out, runs

    X, ours_times = best_of(None)
    _, ours_1_times = best_of(1)
    token_model.set_params(n_jobs=None)
    ours, ours_1 = min(ours_times), min(ours_1_times)

    # Reference: the dense word-topic table, as the reference code keeps it.
    start = time.perf_counter()
    wtv = word_topic_vectors(model.word_vectors_, model.word_cluster_proba_,
                             model.idf_).astype(np.float32)
    table_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ref = reference_sum(tokens, vocab, wtv)
    reference = time.perf_counter() - start
    # Entries within the tolerance of the threshold may fall on either side;
    # finding them is not part of the reference's time.
    near_cut = np.abs(np.abs(ref) - model.threshold_) <= TOLERANCE
    start = time.perf_counter()
    ref[np.abs(ref) < model.threshold_] = 0
    reference += time.perf_counter() - start
    del wtv

    dense = X.toarray()
    max_error = float(np.max(np.abs(dense - ref)[~near_cut]))
    del dense, ref

    from sklearn.feature_extraction.text import TfidfVectorizer

    train_tokens = [english_tokenize(t) for t in train_texts[:5000]]
    tfidf = TfidfVectorizer(analyzer=_identity, sublinear_tf=True).fit(train_tokens)
    tfidf_times = []
    for _ in range(5):
        start = time.perf_counter()
        tfidf.transform(tokens)
        tfidf_times.append(time.perf_counter() - start)
    tfidf_seconds = min(tfidf_times)

    token_model.set_params(tokenizer="english")
    all_texts = train.data + test.data
    if args.quick:
        all_texts = all_texts[:5000]
    memory = measure_memory(token_model, all_texts)

    speed_ratio = reference / ours
    tfidf_ratio = ours / tfidf_seconds
    result = {
        "quick": args.quick,
        "model": {"params": params, "V": len(vocab), "d": d, "K": K,
                  "threshold": model.threshold_, "fit_seconds": fit_seconds},
        "n_docs_timed": len(tokens),
        "n_tokens_timed": sum(map(len, tokens)),
        "threads": effective_n_jobs(None),
        "seconds": {"scdv_transform": ours, "scdv_transform_runs": ours_times,
                    "scdv_transform_1_thread": ours_1,
                    "scdv_transform_1_thread_runs": ours_1_times,
                    "reference_loop": reference, "reference_table_build": table_seconds,
                    "tfidf_transform": tfidf_seconds, "tfidf_transform_runs": tfidf_times},
        "speedup_vs_reference": speed_ratio,
        "speedup_vs_reference_1_thread": reference / ours_1,
        "speedup_target": SPEED_TARGET,
        "time_ratio_vs_tfidf": tfidf_ratio,
        "tfidf_ratio_target": TFIDF_TARGET,
        "max_abs_error_vs_reference": max_error,
        "near_threshold_entries_skipped": int(near_cut.sum()),
        "tolerance": TOLERANCE,
        "nnz_per_doc": X.nnz / X.shape[0],
        "density": X.nnz / (X.shape[0] * X.shape[1]),
        "memory": memory,
    }
    path = write_result("bench_transform" + ("_quick" if args.quick else ""), result)

    mb = 2**20
    print(f"transform of {len(tokens)} docs: scdv {ours:.3f} s ({effective_n_jobs(None)} threads, "
          f"the default), reference loop {reference:.2f} s -> speed-up {speed_ratio:.1f}x "
          f"({'meets' if speed_ratio >= SPEED_TARGET else 'MISSES'} the {SPEED_TARGET:.0f}x target); "
          f"on one thread {ours_1:.3f} s -> {reference / ours_1:.1f}x")
    print(f"against TfidfVectorizer.transform {tfidf_seconds:.3f} s: scdv takes "
          f"{tfidf_ratio:.2f}x its time ({'meets' if tfidf_ratio <= TFIDF_TARGET else 'MISSES'} "
          f"the <= {TFIDF_TARGET:.0f}x target)")
    print(f"max |scdv - reference| = {max_error:.2e} (tolerance {TOLERANCE:g}; "
          f"{int(near_cut.sum())} entries within {TOLERANCE:g} of the threshold skipped)")
    rss = memory["peak_rss_extra_bytes"]
    print(f"memory, {memory['n_docs']} docs from raw text: output {memory['output_bytes'] / mb:.0f} MB, "
          f"peak extra RSS {rss / mb if rss is not None else float('nan'):.0f} MB, "
          f"traced peak {memory['peak_traced_bytes'] / mb:.0f} MB, bound "
          f"{memory['bound_bytes'] / mb:.0f} MB -> "
          f"{'within' if memory['within_bound'] else 'OVER'} the bound")
    print(f"wrote {path}")
    ok = speed_ratio >= SPEED_TARGET and max_error <= TOLERANCE and memory["within_bound"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
