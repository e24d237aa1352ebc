"""Is SCDV more accurate than its peers, and what does each method cost?

Every method runs through ``pipelines.classify.run`` under the same
protocol (inductive) and the same splits: the 20 Newsgroups bydate split,
livedoor's stratified 5-fold, Reuters ModApte. Reported per method: the
dataset's metrics, fit and transform time, vector dimension and non-zeros
per document. The papers' published figures stand beside them, labelled as
published.

Usage::

    python -m benchmarks.bench_accuracy                      # every dataset, full
    python -m benchmarks.bench_accuracy --dataset 20ng       # one dataset
    python -m benchmarks.bench_accuracy --quick              # under 3 minutes
    python -m benchmarks.bench_accuracy --add-result 20ng-scdv.json   # a classify run's row

Writes ``benchmarks/results/bench_accuracy[_quick].json``. A run with
``--dataset`` or ``--method`` replaces only its own rows there and keeps the
others, each row with the command that produced it. ``--add-result`` takes
the row from a ``python -m pipelines.classify --output`` file instead of
running it again, when that run is one of the methods below with the same
settings. Fitted SCDV models are
cached (``--cache-dir``), so a rerun only refits what changed.

``scdv`` is the library's ``SCDV()`` (the pipelines' default preset);
``scdv-paper`` is ``SCDV(**scdv.PAPER_PARAMS)``, the paper's model and
vectors as they are. ``hybrid`` is :func:`scdv.make_hybrid`'s SCDV + TF-IDF
columns under one LinearSVC. ``minilm``, ``minilm-chunks``, ``glove-avg``
and ``scdv-glove`` are the pretrained peers of :mod:`pipelines.peers` (the
``peers`` extra; English corpora only); a row whose peer cannot run here is
skipped with a message. Each row also records the vectorising throughput
(documents per second), the peak memory of its run and the size on disk of
its model.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import scdv
from benchmarks._common import RESULTS, reset_peak_rss, status_kb, write_result
from pipelines import peers
from pipelines.classify import run, scdv_settings
from pipelines.datasets import DATASETS as REGISTRY
from pipelines.features import effective_scdv_params
from pipelines.models import C_GRIDS, QUICK_C_GRIDS

#: Runs only with ``--word-vectors PATH``: SCDV on those pretrained vectors
#: instead of word2vec trained on the training split. For livedoor,
#: ``python -m benchmarks.ginza_vectors`` makes such a file from chiVe.
PRETRAINED = "scdv-pretrained"
#: Methods compared, as (name, method of pipelines.classify.run, SCDV
#: overrides, SCDV preset of the pipelines).
METHODS = [
    ("scdv", "scdv", {}, "defaults"),
    ("scdv-paper", "scdv", {}, "paper"),
    ("tfidf", "tfidf", {}, "defaults"),
    ("w2v-avg", "w2v-avg", {}, "defaults"),
    ("doc2vec", "doc2vec", {}, "defaults"),
    ("stacking", "stacking", {}, "defaults"),
    ("hybrid", "hybrid", {}, "defaults"),
    ("scdv-ms", "scdv", {"cluster_proba_threshold": 0.3}, "defaults"),
    ("scdv-svd", "scdv-svd", {}, "defaults"),
    # Other mixtures on the same cached word vectors (only the GMM is refitted).
    ("scdv-diag", "scdv", {"covariance_type": "diag"}, "defaults"),
    ("scdv-spherical", "scdv", {"covariance_type": "spherical"}, "defaults"),
    ("scdv-full", "scdv", {"covariance_type": "full"}, "defaults"),
    (PRETRAINED, "scdv", {}, "defaults"),
    # Pretrained peers (pipelines.peers).
    *((name, name, {}, "defaults") for name in peers.PEER_METHODS),
]
#: Left out of ``--quick`` (to stay under 3 minutes); none is in a target.
#: MiniLM encodes about 27 documents a second on 2 cores.
FULL_ONLY = ("scdv-diag", "scdv-spherical", "scdv-full", "minilm", "minilm-chunks")

#: Figures reported in the papers, never measured here.
PUBLISHED = {
    "20ng": {
        "scdv": {"accuracy": 0.846, "source": "Mekala et al., EMNLP 2017 (transductive)"},
        "scdv-ms": {"accuracy": 0.8619, "source": "Gupta et al., ECAI 2020"},
    },
    "reuters": {
        "scdv": {"precision_at_1": 0.9455, "source": "Mekala et al., EMNLP 2017"},
    },
}

HEADLINE = {"20ng": "accuracy", "livedoor": "accuracy", "reuters": "precision_at_1"}
DATASETS = ("20ng", "livedoor", "reuters")


def vector_size(name, params):
    """(dimension, non-zeros per document) of a method's vectors, from ``params``.

    Non-zeros are known for SCDV (its density) and the dense peers; they are
    not recorded for TF-IDF blocks (None).
    """
    info = ((params or {}).get("features") or [{}])[0]
    dimension = info.get("n_features")
    if name == "scdv-svd":
        return dimension, dimension
    if name.startswith("scdv") and info.get("scdv_density") is not None:
        return dimension, info["scdv_density"] * dimension
    if name in ("w2v-avg", "doc2vec") or name in peers.EMBEDDING_PEERS:
        return dimension, dimension
    return dimension, None


def summarise(name, result):
    """The row of the comparison table for one run."""
    timings = result.get("timings_s", {})
    dimension, nnz = vector_size(name, result.get("params"))
    features = ((result.get("params") or {}).get("features") or [{}])[0]
    # Train and test documents are vectorised once per split (outer fold).
    n_docs = ((result.get("n_train", 0) + result.get("n_test", 0))
              * max(1, len((result.get("cv") or {}).get("folds") or [])))
    seconds = timings.get("vectorize")
    return {
        "method": name,
        "metrics": result["metrics"],
        "cv": result.get("cv"),
        # 0 when the unsupervised model came from the cache.
        "fit_seconds": max(timings.get("fit_scdv", 0.0), timings.get("fit", 0.0)),
        "vectorize_seconds": seconds,
        "docs_per_second": n_docs / seconds if seconds else None,
        "model_bytes_on_disk": features.get("model_bytes_on_disk"),
        "total_seconds": timings.get("total"),
        "dimension": dimension,
        "nnz_per_doc": nnz,
        "params": result.get("params"),
    }


def _command(args, dataset, method):
    # The shortest command that redoes this one row.
    quick = " --quick" if args.quick else ""
    vectors = f" --word-vectors {args.word_vectors}" if method == PRETRAINED else ""
    return (f"python -m benchmarks.bench_accuracy{quick} --dataset {dataset} "
            f"--method {method}{vectors}")


def _of_another_weight(method, params):
    """Whether a hybrid result was made at another weight than ``scdv.HYBRID_WEIGHT``.

    Results before the weight was recorded were all made at 1.0, the only
    weight until then; a row of another weight is not ``make_hybrid()``.
    """
    return method == "hybrid" and (params or {}).get("hybrid_weight", 1.0) != scdv.HYBRID_WEIGHT


def _merged(args, rows):
    """``rows`` with the rows of earlier runs that this run did not redo.

    An earlier hybrid row of another weight is dropped: under today's name it
    would stand for another model.
    """
    path = RESULTS / f"bench_accuracy{'_quick' if args.quick else ''}.json"
    try:
        payload = json.loads(path.read_text())
        earlier = payload["results"]
    except (OSError, ValueError, KeyError):
        return rows
    for table in earlier.values():
        for row in table:  # rows written before each row kept its own command
            row.setdefault("command", payload.get("command"))
    merged = {}
    for dataset in dict.fromkeys([*earlier, *rows]):
        new = rows.get(dataset, [])
        done = {r["method"] for r in new}
        merged[dataset] = [r for r in earlier.get(dataset, []) if r["method"] not in done
                           and not _of_another_weight(r["method"], r.get("params"))] + new
    return merged


def _write(args, datasets, rows, start, partial):
    rows = _merged(args, rows)
    checks = {}
    for dataset, table in rows.items():
        score = {r["method"]: r["metrics"][HEADLINE[dataset]] for r in table}
        if "scdv" in score:
            for peer in ("w2v-avg", "doc2vec", "minilm", "minilm-chunks", "glove-avg"):
                if peer in score:
                    checks[f"{dataset}: scdv beats {peer}"] = score["scdv"] > score[peer]
        if dataset != "reuters" and {"stacking", "tfidf"} <= set(score):
            checks[f"{dataset}: stacking beats tfidf"] = score["stacking"] > score["tfidf"]
    command = "python -m benchmarks.bench_accuracy" + (" --quick" if args.quick else "")
    for d in args.dataset or []:
        command += f" --dataset {d}"
    for m in args.method or []:
        command += f" --method {m}"
    path = write_result("bench_accuracy" + ("_quick" if args.quick else ""), {
        "quick": args.quick,
        "partial": partial,
        "protocol": "inductive",
        "command": command,
        "results": rows,
        "published": {d: PUBLISHED.get(d, {}) for d in rows},
        "targets": checks,
        "wall_seconds": time.perf_counter() - start,
    })
    return path, checks


def _method_of(result, quick):
    """The name in :data:`METHODS` of a pipelines.classify result, or None."""
    params = result["params"]
    preset = params.get("scdv_preset", "defaults")
    vectors = (params.get("scdv") or {}).get("word_vectors")
    if result["protocol"] != "inductive" or bool(result["quick"]) != bool(quick):
        return None
    for name, method, overrides, method_preset in METHODS:
        if name == PRETRAINED:
            overrides = {"word_vectors": vectors}
        if (method, method_preset) != (result["method"], preset):
            continue
        if _of_another_weight(method, params):
            continue
        if "scdv" not in params:
            return name
        wanted = scdv_settings(result["dataset"], preset, quick=quick, overrides=overrides,
                               seed=params["seed"])
        # A newer result records every parameter it ran with, so one made under
        # other SCDV() defaults than today's is not taken for today's method.
        if "scdv_effective" in params:
            if params["scdv_effective"] == _json_like(effective_scdv_params(wanted)):
                return name
        elif params["scdv"] == wanted:
            return name
    return None


def _json_like(value):
    # As the value reads back from a result file (tuples become lists).
    return json.loads(json.dumps(value, default=str))


def _rows_of_results(paths, quick):
    """(dataset, [row]) for each pipelines.classify JSON in ``paths``.

    A file counts only when it is one of :data:`METHODS` as this benchmark
    would run it (same protocol, quick or full, SCDV settings), so the
    table never mixes in a run with other settings.
    """
    rows = {}
    for path in paths:
        result = json.loads(Path(path).read_text())
        name = _method_of(result, quick)
        if name is None:
            raise ValueError(f"{path} is not a run of one of this benchmark's methods "
                             f"({'quick' if quick else 'full'}, inductive)")
        dataset, params = result["dataset"], result["params"]
        row = summarise(name, result)
        row["wall_seconds"] = result["timings_s"]["total"]
        command = f"python -m pipelines.classify --dataset {dataset} --method {result['method']}"
        command += " --scdv paper" if params.get("scdv_preset") == "paper" else ""
        vectors = (params.get("scdv") or {}).get("word_vectors")
        command += f" --word-vectors {vectors}" if vectors else ""
        classifier = params.get("classifier") or {}
        grids = QUICK_C_GRIDS if quick else C_GRIDS
        if classifier.get("c_grid") and tuple(classifier["c_grid"]) != tuple(
                grids.get(classifier.get("name"), ())):
            command += " --c-grid " + ",".join(f"{c:g}" for c in classifier["c_grid"])
        row["command"] = command + (" --quick" if quick else "")
        rows.setdefault(dataset, []).append(row)
    return rows.items()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the pipelines' quick subsets and small SCDV")
    parser.add_argument("--dataset", choices=DATASETS, action="append",
                        help="run only this dataset (repeatable)")
    parser.add_argument("--method", choices=[m[0] for m in METHODS], action="append",
                        help="run only this method (repeatable)")
    parser.add_argument("--word-vectors", metavar="PATH",
                        help=f"pretrained word vectors (word2vec format) for the "
                             f"{PRETRAINED} rows, which run only with this option")
    parser.add_argument("--add-result", metavar="FILE", action="append",
                        help="instead of running, add the row of a `python -m "
                             "pipelines.classify --output FILE` run of one of the methods "
                             "(repeatable)")
    parser.add_argument("--data-dir")
    parser.add_argument("--cache-dir")
    args = parser.parse_args(argv)
    if args.add_result:
        try:
            rows = dict(_rows_of_results(args.add_result, args.quick))
        except (OSError, ValueError, KeyError) as exc:
            parser.error(f"--add-result: {exc}")
        args.dataset = list(rows)
        args.method = sorted({r["method"] for table in rows.values() for r in table})
        path, _ = _write(args, args.dataset, rows, time.perf_counter(), partial=False)
        print(f"wrote {path}")
        return 0
    if args.method and PRETRAINED in args.method and not args.word_vectors:
        parser.error(f"--method {PRETRAINED} needs --word-vectors PATH")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("gensim").setLevel(logging.WARNING)
    start = time.perf_counter()

    datasets = args.dataset or list(DATASETS)
    rows = {}
    for dataset in datasets:
        rows[dataset] = []
        for name, method, overrides, preset in METHODS:
            if args.method and name not in args.method:
                continue
            if args.quick and name in FULL_ONLY and not args.method:
                continue
            if name == PRETRAINED:
                if not args.word_vectors:
                    continue
                overrides = {"word_vectors": args.word_vectors}
            problem = peers.unsupported(method, REGISTRY[dataset].language)
            if problem:
                logging.info("== %s / %s: skipped, %s", dataset, name, problem)
                continue
            logging.info("== %s / %s", dataset, name)
            t0 = time.perf_counter()
            reset_peak_rss()
            result = run(dataset, method=method, quick=args.quick, data_dir=args.data_dir,
                         cache_dir=args.cache_dir, scdv_params=overrides or None,
                         scdv_preset=preset)
            row = summarise(name, result)
            row["wall_seconds"] = time.perf_counter() - t0
            peak = status_kb("VmHWM")  # of this run alone, after the reset above
            row["peak_rss_mb"] = peak / 1024 if peak is not None else None
            row["command"] = _command(args, dataset, name)
            rows[dataset].append(row)
            key = HEADLINE[dataset]
            logging.info("%s / %s: %s = %.4f (%.0f s)", dataset, name, key,
                         row["metrics"][key], row["wall_seconds"])

            # Written after every method, so an interrupted run keeps its rows.
            path, checks = _write(args, datasets, rows, start, partial=True)

    path, checks = _write(args, datasets, rows, start, partial=False)
    for dataset, table in rows.items():
        key = HEADLINE[dataset]
        print(f"\n{dataset} ({key}):")
        for r in sorted(table, key=lambda r: -r["metrics"][key]):
            rate = r.get("docs_per_second")
            print(f"  {r['method']:<14} {r['metrics'][key]:.4f}   dim {r['dimension']}   "
                  f"{r['wall_seconds']:.0f} s"
                  + (f"   {rate:,.0f} docs/s vectorising" if rate else ""))
    for check, ok in checks.items():
        print(f"{'met ' if ok else 'MISSED'}  {check}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
