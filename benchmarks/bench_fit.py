"""Where does SCDV's fit time go, and how much do the defaults save?

Fits ``SCDV()`` (the library's defaults) and ``SCDV(**scdv.PAPER_PARAMS)``
(the paper's model) on the same tokenised 20 Newsgroups training split, in
one run on the same machine, and prints each stage's wall time (word2vec,
mixture, idf, threshold; ``SCDV.fit_seconds_``) with the ratio of the two,
and the CPU seconds of each whole fit, which a busy machine changes less.
Tokenising is timed once, apart: both fits read the same token lists.

With ``--cv`` it also scores each fitted model by 5-fold cross-validation of
LinearSVC (C=1) on the training labels, with the SCDV model frozen: the
unsupervised stages saw every training text, never a label. That is the
accuracy half of the defaults' claim ("faster, and not less accurate").

Usage::

    python -m benchmarks.bench_fit            # full training split (minutes)
    python -m benchmarks.bench_fit --quick    # 2,000 documents
    python -m benchmarks.bench_fit --cv       # also the CV accuracy

Both fits use ``--workers`` word2vec threads (default 2, every core here),
so the ratio compares settings, not thread counts.

Writes ``benchmarks/results/bench_fit[_quick].json``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from benchmarks._common import write_result
from pipelines.datasets import load_20newsgroups
from scdv import PAPER_PARAMS, SCDV, english_tokenize

QUICK_DOCS = 2000
STAGES = ("word_vectors", "mixture", "idf", "threshold")


def _cv_accuracy(model, token_docs, labels):
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    pipe = make_pipeline(FrozenEstimator(model), LinearSVC(C=1.0, max_iter=5000))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, token_docs, labels, cv=folds)
    return float(scores.mean()), float(scores.std())


def _fit(name, params, token_docs, workers):
    model = SCDV(**{**params, "tokenizer": None, "workers": workers, "random_state": 0})
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(token_docs)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    seconds = {stage: model.fit_seconds_[stage] for stage in STAGES}
    print(f"{name:>8}: {total:7.1f} s, {cpu:7.1f} CPU s  (" + ", ".join(
        f"{stage} {seconds[stage]:.1f} s" for stage in STAGES) + ")")
    # CPU seconds (every thread of this process) count the work done, and
    # barely move when other processes share the cores; wall seconds do.
    return model, {"fit_seconds": total, "fit_cpu_seconds": cpu, "stage_seconds": seconds,
                   "params": {k: v for k, v in model.get_params().items()
                              if k not in ("word_vectors", "verbose")},
                   "n_words": len(model.vocabulary_)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cv", action="store_true", help="also 5-fold CV accuracy")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", help="folder holding 20news-bydate.tar.gz")
    args = parser.parse_args(argv)
    train = load_20newsgroups("train", data_dir=args.data_dir)
    texts, labels = train.data, np.asarray(train.target)
    if args.quick:
        texts, labels = texts[:QUICK_DOCS], labels[:QUICK_DOCS]
    start = time.perf_counter()
    token_docs = [english_tokenize(text) for text in texts]
    tokenize_seconds = time.perf_counter() - start
    print(f"tokenised {len(token_docs):,} documents in {tokenize_seconds:.1f} s")

    runs = {}
    for name, params in (("paper", PAPER_PARAMS), ("defaults", {})):
        model, runs[name] = _fit(name, params, token_docs, args.workers)
        if args.cv:
            runs[name]["cv_accuracy"], runs[name]["cv_std"] = _cv_accuracy(
                model, token_docs, labels)
            print(f"{'':>8}  5-fold CV accuracy {runs[name]['cv_accuracy']:.4f} "
                  f"+/- {runs[name]['cv_std']:.4f}")
    ratio = {stage: runs["defaults"]["stage_seconds"][stage]
             / max(runs["paper"]["stage_seconds"][stage], 1e-9) for stage in STAGES}
    ratio["total"] = runs["defaults"]["fit_seconds"] / runs["paper"]["fit_seconds"]
    ratio["total_cpu"] = runs["defaults"]["fit_cpu_seconds"] / runs["paper"]["fit_cpu_seconds"]
    print("defaults / paper fit time: " + ", ".join(
        f"{stage} {value:.2f}" for stage, value in ratio.items()))
    command = "python -m benchmarks.bench_fit" + (" --quick" if args.quick else "") + (
        " --cv" if args.cv else "") + (f" --workers {args.workers}" if args.workers != 2
                                        else "")
    path = write_result("bench_fit" + ("_quick" if args.quick else ""), {
        "command": command, "n_docs": len(token_docs),
        "tokenize_seconds": tokenize_seconds, "runs": runs, "ratio": ratio,
    })
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
