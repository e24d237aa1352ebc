"""How many documents a second does SCDV vectorise, against MiniLM, in one run?

One process, the same N test documents, one method after another: SCDV's
``transform`` (from the pipelines' token lists, and from raw text with its
tokenizer), the mean of GloVe vectors, and all-MiniLM-L6-v2 (truncated, and
averaged over chunks). SCDV runs before and after MiniLM and its median is
reported, so that a change of load on a shared machine shows up as spread
rather than as a bias. Each method reports wall and CPU seconds (both cores
are used by every method: SCDV's ``n_jobs`` and PyTorch's threads), the
peak memory while it ran and its model's size on disk, and the ratio of
SCDV's throughput to MiniLM's.

The SCDV model is the pipelines' (``python -m pipelines.classify``) for the
corpus's training split, taken from their cache (``--cache-dir``) or fitted
once there; ``--quick`` fits the pipelines' small quick model on the quick
training subset instead, and encodes 200 documents.

Usage::

    python -m benchmarks.bench_peers --quick                 # about 2 minutes
    python -m benchmarks.bench_peers --n-docs 1000           # the full SCDV model
    python -m benchmarks.bench_peers --dataset reuters --scdv paper

Writes ``benchmarks/results/bench_peers[_quick].json`` and prints a Markdown
table. Needs the ``peers`` extra.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from benchmarks._common import reset_peak_rss, status_kb, write_result
from pipelines import peers
from pipelines.classify import SCDV_PRESETS, scdv_settings
from pipelines.datasets import DATASETS, load_splits
from pipelines.features import fit_scdv_cached
from pipelines.tokens import default_cache_dir, tokenize_corpus

logger = logging.getLogger("benchmarks.bench_peers")

#: Documents encoded by default, and with ``--quick``.
N_DOCS, QUICK_N_DOCS = 1000, 200
#: Passes of SCDV's transform before MiniLM and again after it.
SCDV_REPEATS = 3


def measure(function, n_docs):
    """Run ``function()`` once: seconds (wall, CPU), docs/s and peak memory.

    The peak is the process's resident set while it ran (VmHWM after a
    reset), which includes what was loaded before (the corpus, the models).
    """
    reset_peak_rss()
    before = status_kb("VmRSS")
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = status_kb("VmHWM")
    return {"wall_seconds": wall, "cpu_seconds": cpu, "docs_per_second": n_docs / wall,
            "cpu_ms_per_doc": 1000 * cpu / n_docs,
            "peak_rss_mb": peak / 1024 if peak is not None else None,
            "rss_before_mb": before / 1024 if before is not None else None}


def _median_run(runs):
    """The run of median wall time, with the spread of all of them."""
    ordered = sorted(runs, key=lambda r: r["wall_seconds"])
    row = dict(ordered[len(ordered) // 2])
    row["docs_per_second_all"] = [r["docs_per_second"] for r in runs]
    return row


def load_documents(dataset, n_docs, *, quick, preset, data_dir, cache_dir):
    """(training token lists, the first ``n_docs`` test texts and their tokens)."""
    info = DATASETS[dataset]
    sizes = dict(info.quick) if quick else {}
    corpus, splits, _, _ = load_splits(dataset, data_dir, sizes=sizes, seed=0)
    train, test = splits[0]
    tokens = tokenize_corpus(corpus["data"], info.tokenizer, cache_dir=cache_dir,
                             **info.preset(preset).tokens)
    test = test[:n_docs]
    return ([tokens[i] for i in train], [corpus["data"][i] for i in test],
            [tokens[i] for i in test])


def run(dataset="20ng", n_docs=N_DOCS, *, quick=False, preset="defaults", data_dir=None,
        cache_dir=None):
    """Measure every method on the same documents; return the JSON-ready result."""
    from scdv.tokenize import make_tokenizer

    cache_dir = cache_dir or default_cache_dir()
    train_tokens, texts, tokens = load_documents(dataset, n_docs, quick=quick, preset=preset,
                                                 data_dir=data_dir, cache_dir=cache_dir)
    n = len(texts)
    params = scdv_settings(dataset, preset, quick=quick)
    model, fit_seconds, path = fit_scdv_cached(train_tokens, params, cache_dir)
    tokenize = make_tokenizer(DATASETS[dataset].tokenizer)
    model.transform(tokens[:10])  # compile the kernel before timing it
    embedder = peers.SentenceEmbedder().fit()
    chunked = peers.SentenceEmbedder(chunks=True).fit()
    index, vectors = peers.glove_index(), peers.load_glove()[1]

    scdv_runs, text_runs = [], []

    def scdv_passes():
        for _ in range(SCDV_REPEATS):
            scdv_runs.append(measure(lambda: model.transform(tokens), n))
            text_runs.append(measure(lambda: model.transform([tokenize(t) for t in texts]), n))

    scdv_passes()
    rows = {
        "minilm": measure(lambda: embedder.transform(texts), n),
        "minilm-chunks": measure(lambda: chunked.transform(texts), n),
        "glove-avg": measure(lambda: peers.average_vectors(tokens, index, vectors), n),
    }
    scdv_passes()
    rows = {"scdv (from tokens)": _median_run(scdv_runs),
            "scdv (from raw text)": _median_run(text_runs), **rows}
    sizes = {"scdv (from tokens)": path.stat().st_size if path else None,
             "minilm": peers.model_bytes("minilm"), "glove-avg": peers.model_bytes("glove-avg")}
    sizes["scdv (from raw text)"] = sizes["scdv (from tokens)"]
    sizes["minilm-chunks"] = sizes["minilm"]
    dims = {"minilm": embedder.embedding_dimension_, "minilm-chunks": 384,
            "glove-avg": vectors.shape[1]}
    dims["scdv (from tokens)"] = dims["scdv (from raw text)"] = (
        model.word_cluster_proba_.shape[1] * model.word_vectors_.shape[1])
    for name, row in rows.items():
        row.update(model_bytes_on_disk=sizes[name], dimension=dims[name])
    scdv_rate = rows["scdv (from tokens)"]["docs_per_second"]
    return {
        "dataset": dataset, "n_docs": n, "quick": quick, "scdv_preset": preset,
        "scdv_params": params, "scdv_model_file": str(path) if path else None,
        "scdv_fit_seconds": fit_seconds,
        "methods": rows,
        "ratios": {
            "scdv_over_minilm": scdv_rate / rows["minilm"]["docs_per_second"],
            "scdv_over_minilm_chunks": scdv_rate / rows["minilm-chunks"]["docs_per_second"],
            "scdv_text_over_minilm": (rows["scdv (from raw text)"]["docs_per_second"]
                                      / rows["minilm"]["docs_per_second"]),
            "scdv_over_minilm_cpu": (rows["minilm"]["cpu_ms_per_doc"]
                                     / rows["scdv (from tokens)"]["cpu_ms_per_doc"]),
        },
    }


def markdown(result):
    """The result as a Markdown table a person can read."""
    lines = [f"{result['dataset']}, {result['n_docs']} test documents"
             f"{' (quick SCDV)' if result['quick'] else ''}, one process:", "",
             "| method | docs/s (wall) | CPU ms/doc | peak RSS MB | dimension | model MB |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in result["methods"].items():
        size = r["model_bytes_on_disk"]
        lines.append(f"| {name} | {r['docs_per_second']:,.1f} | {r['cpu_ms_per_doc']:.2f} | "
                     f"{r['peak_rss_mb'] or 0:,.0f} | {r['dimension']:,} | "
                     f"{size / 1e6 if size else 0:,.1f} |")
    ratios = result["ratios"]
    lines += ["", f"SCDV / MiniLM throughput: {ratios['scdv_over_minilm']:,.0f}x wall "
                  f"({ratios['scdv_over_minilm_cpu']:,.0f}x CPU); from raw text "
                  f"{ratios['scdv_text_over_minilm']:,.0f}x; against minilm-chunks "
                  f"{ratios['scdv_over_minilm_chunks']:,.0f}x"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    english = [name for name, info in DATASETS.items() if info.language == "english"]
    parser.add_argument("--dataset", choices=english, default="20ng")
    parser.add_argument("--n-docs", type=int, metavar="N",
                        help=f"test documents to encode (default {N_DOCS}, quick "
                             f"{QUICK_N_DOCS})")
    parser.add_argument("--quick", action="store_true",
                        help="the pipelines' quick subset and small SCDV, 200 documents")
    parser.add_argument("--scdv", choices=tuple(SCDV_PRESETS), default="defaults")
    parser.add_argument("--data-dir")
    parser.add_argument("--cache-dir")
    args = parser.parse_args(argv)
    problem = peers.unsupported("minilm", "english")
    if problem:
        parser.error(problem)
    if args.n_docs is not None and args.n_docs < 1:
        parser.error("--n-docs must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("gensim", "numba", "sentence_transformers", "transformers", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    n_docs = args.n_docs or (QUICK_N_DOCS if args.quick else N_DOCS)
    result = run(args.dataset, n_docs, quick=args.quick, preset=args.scdv,
                 data_dir=args.data_dir, cache_dir=args.cache_dir)
    command = "python -m benchmarks.bench_peers" + " ".join(
        [""] + [a for a in (argv if argv is not None else sys.argv[1:])])
    result["command"] = command
    result["markdown"] = markdown(result)
    path = write_result("bench_peers" + ("_quick" if args.quick else ""), result)
    print(result["markdown"])
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
