"""How fast does ``scdv.dask.transform`` vectorise on a local Dask cluster?

Throughput (documents per second) with 1 and 2 worker processes on a
``LocalCluster`` on loopback, for English (20 Newsgroups) and Japanese
(livedoor, janome tokenisation, the slow part), against the same model's
in-process ``transform``. Every distributed result is checked equal to the
in-process one.

Usage::

    python -m benchmarks.bench_dask            # 4,000 English, 1,000 Japanese docs
    python -m benchmarks.bench_dask --quick    # 1,000 and 200

Writes ``benchmarks/results/bench_dask[_quick].json``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from benchmarks._common import write_result
from pipelines.datasets import load_20newsgroups, load_livedoor
from scdv import SCDV


def throughput(model, texts, n_workers, npartitions):
    import dask.bag as db
    from distributed import Client, LocalCluster

    import scdv.dask

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster):
        bag = db.from_sequence(texts, npartitions=npartitions)
        scdv.dask.transform(model, db.from_sequence(texts[:50], npartitions=2)).compute()
        start = time.perf_counter()
        X = scdv.dask.transform(model, bag).compute()
        seconds = time.perf_counter() - start
    return X, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    n_en, n_ja = (1000, 200) if args.quick else (4000, 1000)
    start_all = time.perf_counter()

    english = load_20newsgroups("train").data
    japanese = load_livedoor().data
    cases = {
        "english": (english[:2000], english[2000:2000 + n_en],
                    dict(tokenizer="english", vector_size=100, n_components=20,
                         min_count=5, epochs=3, random_state=0)),
        "japanese": (japanese[::7][:600], japanese[1::7][:n_ja],
                     dict(tokenizer="janome", vector_size=100, n_components=20,
                          min_count=5, epochs=3, random_state=0)),
    }
    rows = []
    for language, (train, texts, params) in cases.items():
        model = SCDV(**params).fit(train)
        start = time.perf_counter()
        local = model.set_params(n_jobs=1).transform(texts)
        local_seconds = time.perf_counter() - start
        row = {"language": language, "n_docs": len(texts),
               "characters": sum(map(len, texts)), "in_process_seconds": local_seconds,
               "in_process_docs_per_s": len(texts) / local_seconds}
        for workers in (1, 2):
            X, seconds = throughput(model, texts, workers, npartitions=8)
            row[f"workers_{workers}_seconds"] = seconds
            row[f"workers_{workers}_docs_per_s"] = len(texts) / seconds
            row[f"workers_{workers}_equal"] = bool((X != local).nnz == 0)
        row["speedup_2_vs_1"] = row["workers_1_seconds"] / row["workers_2_seconds"]
        rows.append(row)
        print(f"{language}: {len(texts)} docs; in-process {row['in_process_docs_per_s']:.0f} "
              f"docs/s; 1 worker {row['workers_1_docs_per_s']:.0f} docs/s; 2 workers "
              f"{row['workers_2_docs_per_s']:.0f} docs/s ({row['speedup_2_vs_1']:.2f}x); "
              f"equal to in-process: {row['workers_1_equal'] and row['workers_2_equal']}")
    path = write_result("bench_dask" + ("_quick" if args.quick else ""), {
        "quick": args.quick,
        "command": "python -m benchmarks.bench_dask" + (" --quick" if args.quick else ""),
        "rows": rows,
        "wall_seconds": time.perf_counter() - start_all,
    })
    print(f"wrote {path}")
    return 0 if all(r["workers_1_equal"] and r["workers_2_equal"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
