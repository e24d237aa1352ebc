"""Large inputs: does memory stay bounded?

Two inputs built from 20 Newsgroups text, each sent through ``SCDV.transform``
in this process and through ``scdv vectorize`` in a child process:

- ``single_document``: one 50 MB document (20 Newsgroups messages
  concatenated); in-process ``model.transform([doc])``, and the command on
  the file as one document;
- ``one_line_documents``: 200,000 one-line documents (the corpus's non-blank
  lines, cycled); in-process ``model.transform(lines)``, and the command with
  ``--lines``.

For each run: wall time, peak extra memory and output size. In-process, the
peak extra memory is the rise of the peak RSS (``VmHWM``, reset by writing 5
to ``/proc/self/clear_refs``) above the RSS before the call, with the input
already in memory; a second, separate run under ``tracemalloc`` gives the
peak of Python-traced allocations (tracing slows the run, so its time is kept
apart). For the command, it is the child's peak RSS (``os.wait4``) minus the
peak RSS of the same command on a one-line file (interpreter, libraries and
model). A run is ``bounded`` when its peak extra memory is at most
1.5 x output bytes + 256 MB, output bytes being the CSR's data, indices and
indptr.

The model is small and fitted once: ``SCDV(vector_size=100, n_components=20,
min_count=5, epochs=3, random_state=0)`` on the first 2,000 training
messages (cached in ``benchmarks/.cache``), saved to a temporary folder for
the command. Inputs are written to a temporary folder, never into the repo.

Usage::

    python -m benchmarks.bench_large_inputs            # 50 MB, 200,000 lines
    python -m benchmarks.bench_large_inputs --quick    # 5 MB, 20,000 lines

Writes ``benchmarks/results/bench_large_inputs[_quick].json`` and
``benchmarks/results/bench_large_inputs[_quick].png``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import scipy.sparse as sp

from benchmarks._common import (
    RESULTS,
    cached_model,
    reset_peak_rss,
    status_kb,
    write_result,
)
from pipelines.datasets import load_20newsgroups

MB = 2**20
PARAMS = dict(vector_size=100, n_components=20, min_count=5, epochs=3, random_state=0)
N_TRAIN = 2000
FULL = dict(doc_bytes=50 * 10**6, n_lines=200_000)
QUICK = dict(doc_bytes=5 * 10**6, n_lines=20_000)
BOUND_SLACK = 256 * MB
BOUND_FACTOR = 1.5


# ---------------------------------------------------------------------------
# Inputs


def build_single_document(texts, n_bytes):
    """20 Newsgroups messages joined by blank lines until UTF-8 size >= ``n_bytes``."""
    pieces, size = [], 0
    for text in itertools.cycle(texts):
        pieces.append(text)
        size += len(text.encode("utf-8")) + 2
        if size >= n_bytes:
            break
    return "\n\n".join(pieces)


def build_lines(texts, n_lines):
    """``n_lines`` non-blank lines of the messages, stripped, cycling over the corpus.

    ``str.splitlines`` splits on every line boundary Python knows, so no line
    holds a character that ``scdv vectorize --lines`` would split on: the
    file has exactly ``n_lines`` documents.
    """
    def corpus_lines():
        for text in texts:
            for line in text.splitlines():
                line = line.strip()
                if line:
                    yield line

    return list(itertools.islice(itertools.cycle(list(corpus_lines())), n_lines))


# ---------------------------------------------------------------------------
# Measurements


def csr_bytes(X):
    return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)


def bound_of(output_bytes):
    return BOUND_FACTOR * output_bytes + BOUND_SLACK


def measure_transform(model, docs):
    """Time and peak memory of ``model.transform(docs)`` in this process."""
    gc.collect()
    before_kb = status_kb("VmRSS")
    reset = reset_peak_rss()
    start = time.perf_counter()
    X = model.transform(docs)
    seconds = time.perf_counter() - start
    peak_kb = status_kb("VmHWM")
    rss_extra = (peak_kb - before_kb) * 1024 if reset and peak_kb and before_kb else None
    shape, nnz, output = X.shape, int(X.nnz), csr_bytes(X)
    del X
    gc.collect()

    tracemalloc.start()
    start = time.perf_counter()
    X = model.transform(docs)
    traced_seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del X
    gc.collect()

    extra = rss_extra if rss_extra is not None else traced_peak
    return {
        "path": "transform",
        "n_docs": shape[0],
        "shape": list(shape),
        "seconds": seconds,
        "seconds_under_tracemalloc": traced_seconds,
        "peak_rss_extra_bytes": rss_extra,
        "peak_traced_bytes": int(traced_peak),
        "output_bytes": output,
        "output_nnz": nnz,
        "bound_bytes": bound_of(output),
        "bounded": bool(extra <= bound_of(output) and traced_peak <= bound_of(output)),
    }


def run_child(argv, log_dir, tag):
    """Run ``argv``; return (exit code, seconds, peak RSS bytes of that child alone)."""
    out_log, err_log = log_dir / f"{tag}.stdout", log_dir / f"{tag}.stderr"
    with open(out_log, "wb") as out, open(err_log, "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{shlex.join(map(str, argv))} exited {process.returncode}: "
                           f"{err_log.read_text(errors='replace').strip()}")
    return seconds, usage.ru_maxrss * 1024  # kB on Linux


def scdv_command(model_path, inputs, output, lines):
    argv = [sys.executable, "-m", "scdv", "vectorize", "--model", os.fspath(model_path)]
    argv += ["--lines"] if lines else []
    return argv + [os.fspath(inputs), "-o", os.fspath(output), "-q"]


def measure_command(model_path, source, lines, tmp, baseline_bytes, tag):
    """Time and peak memory of ``scdv vectorize`` on ``source`` in a child process."""
    output = tmp / f"{tag}.npz"
    argv = scdv_command(model_path, source, output, lines)
    seconds, peak = run_child(argv, tmp, tag)
    X = sp.load_npz(output)
    out_bytes, shape, nnz = csr_bytes(X), X.shape, int(X.nnz)
    del X
    output.unlink()
    Path(f"{output}.ids.jsonl").unlink()
    extra = peak - baseline_bytes
    return {
        "path": "scdv vectorize",
        "command": shlex.join(["python", "-m", "scdv", "vectorize", "--model", "model.scdv",
                               *(["--lines"] if lines else []), source.name,
                               "-o", output.name, "-q"]),
        "n_docs": shape[0],
        "shape": list(shape),
        "seconds": seconds,
        "peak_rss_child_bytes": peak,
        "peak_rss_extra_bytes": extra,
        "output_bytes": out_bytes,
        "output_nnz": nnz,
        "bound_bytes": bound_of(out_bytes),
        "bounded": bool(extra <= bound_of(out_bytes)),
    }


# ---------------------------------------------------------------------------
# Report


def _mb(value):
    return "-" if value is None else f"{value / MB:,.1f}"


def print_table(cases):
    header = ("case", "path", "docs", "input MB", "seconds", "peak extra MB",
              "traced MB", "output MB", "bound MB", "bounded")
    rows = [header]
    for case in cases:
        rows.append((case["case"], case["path"], f"{case['n_docs']:,}",
                     _mb(case["input_bytes"]), f"{case['seconds']:.2f}",
                     _mb(case["peak_rss_extra_bytes"]), _mb(case.get("peak_traced_bytes")),
                     _mb(case["output_bytes"]), _mb(case["bound_bytes"]),
                     "yes" if case["bounded"] else "NO"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def plot(cases, path):
    """Bars of peak extra memory against the bound, one group per case and path."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    labels = [f"{c['case']}\n{c['path']}" for c in cases]
    peaks = [(c["peak_rss_extra_bytes"] or 0) / MB for c in cases]
    traced = [(c.get("peak_traced_bytes") or 0) / MB for c in cases]
    bounds = [c["bound_bytes"] / MB for c in cases]
    outputs = [c["output_bytes"] / MB for c in cases]
    x = range(len(cases))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.2
    ax.bar([i - 1.5 * width for i in x], peaks, width, label="peak extra RSS")
    ax.bar([i - 0.5 * width for i in x], traced, width, label="tracemalloc peak")
    ax.bar([i + 0.5 * width for i in x], outputs, width, label="output CSR")
    ax.bar([i + 1.5 * width for i in x], bounds, width, label="bound (1.5 x out + 256 MB)",
           color="none", edgecolor="black", linestyle="--")
    ax.set_xticks(list(x), labels, fontsize=8)
    ax.set_ylabel("MB")
    ax.set_title("Memory of large inputs: " + ", ".join(
        sorted({f"{c['case']} {c['input_bytes'] / MB:.0f} MB" for c in cases})))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a 5 MB document and 20,000 lines instead of 50 MB and 200,000")
    parser.add_argument("--data-dir", help="folder holding 20news-bydate.tar.gz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("gensim").setLevel(logging.WARNING)
    sizes = QUICK if args.quick else FULL
    command_line = shlex.join(["python", "-m", "benchmarks.bench_large_inputs",
                               *(sys.argv[1:] if argv is None else argv)])
    wall_start = time.perf_counter()

    corpus = load_20newsgroups("all", data_dir=args.data_dir, download_if_missing=False)
    train = [text for text, doc_id in zip(corpus.data, corpus.ids)
             if doc_id.startswith("20news-bydate-train/")][:N_TRAIN]
    model, fit_seconds = cached_model(train, dict(PARAMS), "20ng-train2000-small")
    model.set_params(verbose=0)
    model.transform(["warm up the compiled kernel"])

    cases = []
    with tempfile.TemporaryDirectory(prefix="bench_large_inputs-") as tmp:
        tmp = Path(tmp)
        model_path = tmp / "model.scdv"
        model.save(model_path)

        tiny = tmp / "tiny.txt"
        tiny.write_text("one short line of text\n", encoding="utf-8")
        _, baseline = run_child(scdv_command(model_path, tiny, tmp / "tiny.npz", True),
                                tmp, "baseline")

        # One 50 MB document.
        doc = build_single_document(corpus.data, sizes["doc_bytes"])
        doc_file = tmp / "single_document.txt"
        doc_file.write_text(doc, encoding="utf-8")
        doc_bytes = doc_file.stat().st_size
        print(f"single document: {doc_bytes / MB:.1f} MB, {len(doc):,} characters")
        result = measure_transform(model, [doc])
        cases.append({"case": "single_document", "input_bytes": doc_bytes, **result})
        del doc
        gc.collect()
        result = measure_command(model_path, doc_file, False, tmp, baseline, "single")
        cases.append({"case": "single_document", "input_bytes": doc_bytes, **result})
        doc_file.unlink()

        # 200,000 one-line documents.
        lines = build_lines(corpus.data, sizes["n_lines"])
        lines_file = tmp / "one_line_documents.txt"
        lines_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        lines_bytes = lines_file.stat().st_size
        print(f"one-line documents: {len(lines):,} lines, {lines_bytes / MB:.1f} MB")
        result = measure_transform(model, lines)
        cases.append({"case": "one_line_documents", "input_bytes": lines_bytes, **result})
        del lines
        gc.collect()
        result = measure_command(model_path, lines_file, True, tmp, baseline, "lines")
        cases.append({"case": "one_line_documents", "input_bytes": lines_bytes, **result})

    for case in cases:  # the two paths must agree on what they computed
        twin = next(c for c in cases if c["case"] == case["case"] and c is not case)
        case["same_shape_and_nnz_as_other_path"] = (
            case["shape"] == twin["shape"] and case["output_nnz"] == twin["output_nnz"])

    wall = time.perf_counter() - wall_start
    payload = {
        "command": command_line,
        "quick": args.quick,
        "sizes": sizes,
        "model": {"params": PARAMS, "n_train_docs": len(train), "V": len(model.vocabulary_),
                  "width": model.n_components * model.vector_size,
                  "batch_size": model.batch_size, "fit_seconds": fit_seconds},
        "bound": {"factor_of_output": BOUND_FACTOR, "slack_bytes": BOUND_SLACK},
        "command_baseline_peak_rss_bytes": baseline,
        "cases": cases,
        "all_bounded": all(c["bounded"] for c in cases),
        "wall_seconds": wall,
    }
    name = "bench_large_inputs" + ("_quick" if args.quick else "")
    path = write_result(name, payload)
    figure = plot(cases, RESULTS / f"{name}.png")

    print()
    print_table(cases)
    print()
    print(f"command baseline (one-line input) peak RSS: {baseline / MB:.0f} MB; "
          f"total wall time {wall:.0f} s")
    for case in cases:
        if not case["same_shape_and_nnz_as_other_path"]:
            print(f"WARNING: {case['case']}: transform and scdv vectorize disagree")
    print(f"wrote {path}" + (f" and {figure}" if figure else ""))
    return 0 if payload["all_bounded"] else 1


if __name__ == "__main__":
    sys.exit(main())
