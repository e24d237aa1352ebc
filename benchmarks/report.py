"""Write ``benchmarks/RESULTS.md`` from the JSON files in ``benchmarks/results/``.

Usage::

    python -m benchmarks.report            # the full runs
    python -m benchmarks.report --quick    # the --quick runs, to RESULTS_quick.md

Every figure in the tables is read from a result file; nothing is typed in.
"""

from __future__ import annotations

import argparse
import json
import sys

import scdv
from benchmarks._common import HERE, RESULTS
from benchmarks.bench_accuracy import vector_size
from scdv import SCDV

MB = 2**20


def _load(name):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _verdict(ok):
    return "met" if ok else "**MISSED**"


def _machine(result):
    m = result["machine"]
    v = m["versions"]
    return (f"{m['cpu']}, {m['cores']} cores; Python {m['python']}, scdv {v['scdv']}, "
            f"numpy {v['numpy']}, scikit-learn {v['scikit-learn']}, gensim {v['gensim']}, "
            f"numba {v['numba']}; {m['date']}")


def transform_section(result):
    s = result["seconds"]
    mem = result["memory"]
    lines = [
        "## Transform: speed, exactness, memory (`bench_transform`)",
        "",
        f"Model: 20 Newsgroups train, V={result['model']['V']}, d={result['model']['d']}, "
        f"K={result['model']['K']}. Timed on {result['n_docs_timed']:,} test documents "
        f"({result['n_tokens_timed']:,} tokens), from token lists, best of 5.",
        "",
        "| measure | value | target | verdict |",
        "|---|---:|---:|---|",
        f"| reference per-token loop | {s['reference_loop']:.3f} s | | |",
        f"| scdv `transform`, {result['threads']} threads (default) | {s['scdv_transform']:.3f} s | | |",
        f"| scdv `transform`, 1 thread | {s['scdv_transform_1_thread']:.3f} s | | |",
        f"| speed-up vs reference ({result['threads']} threads) | "
        f"{result['speedup_vs_reference']:.1f}x | >= {result['speedup_target']:.0f}x | "
        f"{_verdict(result['speedup_vs_reference'] >= result['speedup_target'])} |",
        f"| speed-up vs reference (1 thread) | {result['speedup_vs_reference_1_thread']:.1f}x | "
        f"| |",
        f"| `TfidfVectorizer.transform`, same tokens | {s['tfidf_transform']:.3f} s | | |",
        f"| scdv time / TF-IDF time | {result['time_ratio_vs_tfidf']:.2f}x | "
        f"<= {result['tfidf_ratio_target']:.0f}x | "
        f"{_verdict(result['time_ratio_vs_tfidf'] <= result['tfidf_ratio_target'])} |",
        f"| max abs error vs reference | {result['max_abs_error_vs_reference']:.1e} | "
        f"<= {result['tolerance']:g} | "
        f"{_verdict(result['max_abs_error_vs_reference'] <= result['tolerance'])} |",
        f"| non-zeros per document | {result['nnz_per_doc']:.0f} "
        f"({100 * result['density']:.1f}% dense) | | |",
        f"| transform of {mem['n_docs']:,} docs from raw text | {mem['seconds']:.1f} s | | |",
        f"| output size | {mem['output_bytes'] / MB:.0f} MB | | |",
        f"| peak extra memory (RSS) | "
        f"{(mem['peak_rss_extra_bytes'] or 0) / MB:.0f} MB | | |",
        f"| peak traced allocations | {mem['peak_traced_bytes'] / MB:.0f} MB | "
        f"<= {mem['bound_bytes'] / MB:.0f} MB (1.5 x output + 256 MB) | "
        f"{_verdict(mem['within_bound'])} |",
        "",
        f"Machine: {_machine(result)}.",
        "",
    ]
    return lines


def speed_section(result):
    t = result["transform"]
    f = result["fit_stage_seconds"]
    lines = [
        "## Fit stages and scaling (`bench_speed`)",
        "",
        f"Model fitted on {result['model']['n_train_docs']:,} documents "
        f"(V={result['model']['V']}, d={result['model']['params']['vector_size']}, "
        f"K={result['model']['params']['n_components']}, "
        f"{result['model']['params']['epochs']} epochs).",
        "",
        "| fit stage | seconds |",
        "|---|---:|",
        *[f"| {k} | {v:.1f} |" for k, v in f.items()],
        f"| **total** | {sum(f.values()):.1f} |",
        "",
        f"Transform of {t['n_docs']:,} documents: scdv {t['scdv_seconds']:.3f} s, reference "
        f"loop {t['reference_loop_seconds']:.3f} s ({t['speedup_vs_reference']:.1f}x; "
        f"{_verdict(t['speedup_vs_reference'] >= t['speedup_target'])} the "
        f"{t['speedup_target']:.0f}x target), TF-IDF {t['tfidf_seconds']:.3f} s "
        f"(scdv takes {t['time_ratio_vs_tfidf']:.2f}x; "
        f"{_verdict(t['time_ratio_vs_tfidf'] <= t['tfidf_ratio_target'])} the "
        f"<= {t['tfidf_ratio_target']:.0f}x target).",
        "",
        "| documents | seconds | peak traced MB | output MB |",
        "|---:|---:|---:|---:|",
        *[f"| {r['n_docs']:,} | {r['seconds']:.3f} | {r['peak_traced_bytes'] / MB:.0f} | "
          f"{r['output_bytes'] / MB:.0f} |" for r in result["scaling_docs"]],
        "",
        f"Fitted exponents: time ~ n^{result['scaling_docs_time_exponent']:.2f}, "
        f"memory ~ n^{result['scaling_docs_memory_exponent']:.2f}.",
        "",
        "| K | GMM fit s | transform s | non-zeros / doc | peak traced MB |",
        "|---:|---:|---:|---:|---:|",
        *[f"| {r['K']} | {r['gmm_fit_seconds']:.1f} | {r['seconds']:.3f} | "
          f"{r['nnz_per_doc']:.0f} | {r['peak_traced_bytes'] / MB:.0f} |"
          for r in result["scaling_k"]],
        "",
        f"Fitted exponent: time ~ K^{result['scaling_k_time_exponent']:.2f}.",
        "",
        f"![scaling]({result['plot'].split('/', 1)[-1] if '/' in result['plot'] else result['plot']})",
        "",
        f"Machine: {_machine(result)}. Wall time of the run: {result['wall_seconds']:.0f} s.",
        "",
    ]
    return lines


def _scdv_settings(row):
    # Rows measured before a preset changed keep the settings they ran with.
    params = row.get("params") or {}
    scdv = params.get("scdv_effective") or params.get("scdv") or {}
    # A "defaults" row made before results recorded every parameter holds only
    # its overrides of SCDV(), so the rest is read from today's SCDV(): right
    # while the row is as new as the defaults.
    if params.get("scdv_preset") == "defaults" and "scdv_effective" not in params:
        scdv = {**SCDV().get_params(), **scdv}
    text = f"{scdv.get('n_components', '?')}, {scdv.get('min_count', '?')}"
    return text + (", pretrained" if scdv.get("word_vectors") else "")


def _c_grid(row):
    grid = ((row.get("params") or {}).get("classifier") or {}).get("c_grid")
    return ", ".join(f"{c:g}" for c in grid) if grid else "?"


def accuracy_section(result):
    headline = {"20ng": "accuracy", "livedoor": "accuracy", "reuters": "precision_at_1"}
    lines = ["## Accuracy against peers (`bench_accuracy`)", "",
             f"Protocol: {result['protocol']}. Last command: `{result['command']}`; each "
             "row's own command is under its table. `scdv` is the library's `SCDV()` "
             "and `scdv-paper` `SCDV(**scdv.PAPER_PARAMS)`, the paper's model and vectors as "
             "they are. `hybrid` is `scdv.make_hybrid`: SCDV and TF-IDF columns under one "
             "LinearSVC. `scdv-ms` cuts "
             "posteriors below 0.3 (SCDV-MS); `scdv-svd` keeps 2,000 columns (at most a "
             "sixth of SCDV's) by TruncatedSVD; `scdv-diag`, `scdv-spherical` and "
             "`scdv-full` fit another mixture "
             "on the same cached word vectors, so their fit time is the mixture and the "
             "threshold only. `stacking` blends the out-of-fold decision scores of "
             "LinearSVC on SCDV and on TF-IDF (one weight per model, one bias per class). "
             "`scdv-pretrained` replaces word2vec by the pretrained vectors its command "
             "names (for livedoor, chiVe via `benchmarks.ginza_vectors`)."
             + (" **Partial run**: stopped before every method had run; the rows below "
                "are the methods that finished." if result.get("partial") else ""), ""]
    for dataset, rows in result["results"].items():
        key = headline[dataset]
        second = "f1_macro" if dataset != "reuters" else "f1_micro"
        lines += [f"### {dataset}", "",
                  f"| method | {key} | {second} | dimension | non-zeros/doc | SCDV fit s "
                  "(0: from cache) | vectorise s | wall s | SCDV K, min_count | C grid |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for r in sorted(rows, key=lambda r: -r["metrics"][key]):
            _, nnz = vector_size(r["method"], r.get("params"))
            nnz = f"{nnz:.0f}" if nnz else "n/a"
            uses_scdv = r["method"].startswith("scdv") or r["method"] in ("w2v-avg",
                                                                           "stacking", "hybrid")
            fit = f"{r['fit_seconds'] or 0:.0f}" if uses_scdv else "-"
            lines.append(
                f"| {r['method']} | {r['metrics'][key]:.4f} | "
                f"{r['metrics'].get(second, float('nan')):.4f} | {r['dimension']} | {nnz} | "
                f"{fit} | {r['vectorize_seconds'] or 0:.1f} | {r['wall_seconds']:.0f} | "
                f"{_scdv_settings(r) if uses_scdv else '-'} | {_c_grid(r)} |")
        for name, fig in result["published"].get(dataset, {}).items():
            value = {k: v for k, v in fig.items() if k != "source"}
            lines.append(f"| {name} (published, not measured) | "
                         f"{next(iter(value.values())):.4f} | | | | | | | | |")
        commands = list(dict.fromkeys(r["command"] for r in rows if r.get("command")))
        if commands:
            lines += ["", "Rows from: " + "; ".join(f"`{c}`" for c in commands) + "."]
        lines.append("")
    lines += ["| target | verdict |", "|---|---|"]
    lines += [f"| {k} | {_verdict(v)} |" for k, v in result["targets"].items()]
    lines += ["", f"Machine: {_machine(result)}. Wall time: {result['wall_seconds']:.0f} s.", ""]
    return lines


#: Issue 17's targets on the test split (livedoor: the mean over outer folds).
DEFAULTS_TARGETS = {"scdv": {"20ng": 0.855, "livedoor": 0.960, "reuters": 0.940},
                    "hybrid": {"20ng": 0.875, "livedoor": 0.975, "reuters": 0.945}}
#: The rows of the defaults table: bench_accuracy method, label.
DEFAULTS_ROWS = [("scdv", "`SCDV()`"), ("scdv-paper", "`SCDV(**PAPER_PARAMS)`"),
                 ("tfidf", "TF-IDF"), ("hybrid", "hybrid SCDV() + TF-IDF"),
                 ("stacking", "stacking (earlier preset)")]


def defaults_section(result):
    """The library's defaults against the paper's, TF-IDF and the hybrid (issue 17)."""
    headline = {"20ng": "accuracy", "livedoor": "accuracy", "reuters": "precision_at_1"}
    datasets = [d for d in headline if d in result["results"]]
    lines = ["## `SCDV()` against the paper's settings, TF-IDF and the hybrid", "",
             "Test scores, once, for what cross-validation on training data chose "
             "(`benchmarks/results/defaults/README.md` has the CV records and "
             "[the curve of CV accuracy against fit time](results/defaults/cv-vs-fit-time.png)). "
             "Each cell: the test metric, then the wall seconds of the whole run "
             "(SCDV fit included unless cached). Rows from the "
             "`bench_accuracy` table below, whose commands it lists.", "",
             "| method | " + " | ".join(f"{d} ({headline[d]})" for d in datasets) + " |",
             "|---|" + "---|" * len(datasets)]
    for method, label in DEFAULTS_ROWS:
        cells = []
        for d in datasets:
            row = next((r for r in result["results"][d] if r["method"] == method), None)
            if row is None:
                cells.append("not run")
                continue
            value = row["metrics"][headline[d]]
            goal = DEFAULTS_TARGETS.get(method, {}).get(d)
            verdict = f", target {goal}: {_verdict(value >= goal)}" if goal else ""
            cached = ", fit cached" if not row.get("fit_seconds") and method != "tfidf" else ""
            cells.append(f"{value:.4f} ({row['wall_seconds']:.0f} s{cached}{verdict})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def large_inputs_section(result):
    lines = ["## Large inputs (`bench_large_inputs`)", "",
             f"Command: `{result['command']}`. Bound: peak extra memory <= 1.5 x output "
             "+ 256 MB.", "",
             "| case | path | documents | input MB | seconds | peak extra MB | output MB "
             "| bound MB | bounded |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for c in result["cases"]:
        lines.append(
            f"| {c['case']} | {c['path']} | {c['n_docs']:,} | {c['input_bytes'] / MB:.1f} | "
            f"{c['seconds']:.2f} | {c['peak_rss_extra_bytes'] / MB:.0f} | "
            f"{c['output_bytes'] / MB:.1f} | {c['bound_bytes'] / MB:.0f} | "
            f"{'yes' if c['bounded'] else '**NO**'} |")
    lines += ["", f"Machine: {_machine(result)}. Wall time: {result['wall_seconds']:.0f} s.", ""]
    return lines


def dask_section(result):
    lines = ["## Dask (`bench_dask`)", "", f"Command: `{result['command']}`. LocalCluster "
             "on loopback, one thread per worker process; every result equal to the "
             "in-process one.", "",
             "| language | documents | in-process docs/s | 1 worker docs/s | 2 workers docs/s "
             "| 2 vs 1 | equal |", "|---|---:|---:|---:|---:|---:|---|"]
    for r in result["rows"]:
        lines.append(
            f"| {r['language']} | {r['n_docs']:,} | {r['in_process_docs_per_s']:.0f} | "
            f"{r['workers_1_docs_per_s']:.0f} | {r['workers_2_docs_per_s']:.0f} | "
            f"{r['speedup_2_vs_1']:.2f}x | {r['workers_1_equal'] and r['workers_2_equal']} |")
    lines += ["", f"Machine: {_machine(result)}.", ""]
    return lines


def covariance_section(result):
    lines = ["## Mixture covariance types (`bench_covariance`)", "",
             f"Command: `{result['command']}`. GaussianMixture with k-means "
             f"initialisation and at most 50 EM iterations on {result['n_words']:,} unit "
             f"word vectors, d={result['d']}, K={result['K']}.", "",
             "| covariance_type | fit s | EM iterations | converged | peak traced MB "
             "| parameters MB | clusters per word with p >= 0.01 |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(
            f"| {r['covariance_type']} | {r['fit_seconds']:.1f} | {r['n_iter']} | "
            f"{'yes' if r['converged'] else 'no'} | {r['peak_traced_bytes'] / MB:.0f} | "
            f"{r['parameter_bytes'] / MB:.2f} | {r['clusters_per_word_p_ge_0.01']:.2f} |")
    lines += ["", f"Machine: {_machine(result)}. Wall time: {result['wall_seconds']:.0f} s.",
              ""]
    return lines


def _commands_of_cells(curve, default=None):
    """``{command: ["method", "method (200, all)", ...]}``: who measured which cells.

    A method whose cells came from one command is named bare; otherwise each
    command lists the budgets it measured. Cells written before they carried
    their command take their method's run, and then ``default``, the command
    of a file from before runs were kept. A hybrid row is named with its
    weight, and with the ``scdv.HYBRID_WEIGHT`` it was run under where that
    is not today's, since its command alone would now run another weight.
    """
    from benchmarks.bench_learning_curve import _label, _weight_of

    commands: dict = {}
    for method, cells in curve["curves"].items():
        run = curve.get("runs", {}).get(method, {})
        name, weight = _label(method, curve), _weight_of(method, curve)
        if weight is not None and weight != scdv.HYBRID_WEIGHT:
            name += f", when `scdv.HYBRID_WEIGHT` was {weight:g}"
        by_command: dict = {}
        for budget, cell in cells.items():
            command = cell.get("command", run.get("command", default))
            by_command.setdefault(command, []).append(budget)
        for command, budgets in by_command.items():
            label = name if len(by_command) == 1 else f"{name} ({', '.join(budgets)})"
            commands.setdefault(command, []).append(label)
    return commands


def learning_curve_section(result):
    """Few labels (issue 18): each corpus's table, its picture and each row's command."""
    from benchmarks.bench_learning_curve import markdown_table

    lines = ["## Few labels (`bench_learning_curve`)", "",
             f"{result['C_rule']}. Unsupervised stages fitted once on every training text, "
             "without labels.", ""]
    suffix = "_quick" if result.get("quick") else ""
    for dataset, curve in result["results"].items():
        lines += [markdown_table(dataset, curve), "",
                  f"![{dataset}](results/bench_learning_curve{suffix}_{dataset}.png)", ""]
        lines += [f"- {', '.join(ms)}: `{command}`"
                  for command, ms in _commands_of_cells(curve, result.get("command")).items()]
        lines += [""]
    lines += [f"Machine: {_machine(result)}.", ""]
    return lines


def peers_section(result):
    """Vectorising throughput of SCDV and its peers, measured in one run (issue 19)."""
    return ["## Throughput against the peers (`bench_peers`)", "",
            f"Command: `{result['command']}`.", "", result["markdown"], "",
            f"Machine: {_machine(result)}.", ""]


def classify_section():
    folder = RESULTS / "classify"
    files = sorted(folder.glob("*.json")) if folder.exists() else []
    if not files:
        return []
    headline = {"20ng": "accuracy", "livedoor": "accuracy", "reuters": "precision_at_1"}
    target = DEFAULTS_TARGETS["scdv"]
    lines = ["## Full classification runs (`python -m pipelines.classify`)", "",
             "Full configuration, LinearSVC with C chosen by 5-fold grid search on the "
             "training data. The targets are for the inductive protocol; the "
             "transductive one (the SCDV paper's: the unsupervised stages also see the "
             "test texts, never their labels) is there to compare with the paper. Each "
             "row is one JSON file in `benchmarks/results/classify/`.", "",
             "| dataset | method (SCDV preset) | protocol | metric | test value | "
             "cross-validation | target (SCDV) | wall s |",
             "|---|---|---|---|---:|---|---:|---:|"]
    for path in files:
        r = json.loads(path.read_text())
        key = headline[r["dataset"]]
        cv = r.get("cv") or {}
        if isinstance(cv.get("mean"), dict):  # outer folds (livedoor)
            spread = (f"{cv['mean'][key]:.4f} +/- {cv['std'][key]:.4f} over "
                      f"{len(cv.get('folds', []))} outer folds")
        else:  # the chosen C's inner grid-search folds on the training set
            folds = cv.get("fold_scores") or []
            spread = (f"{sum(folds) / len(folds):.4f} (inner CV, {len(folds)} folds)"
                      if folds else "")
        inductive = r.get("protocol", "inductive") == "inductive"
        pretrained = bool((r["params"].get("scdv") or {}).get("word_vectors"))
        # The targets are for the default: trained word vectors, inductive.
        default = (r["method"] == "scdv" and inductive and not pretrained
                   and r["params"].get("scdv_preset") == "defaults")
        goal = target[r["dataset"]] if default else None
        verdict = "" if goal is None else f"{goal} {_verdict(r['metrics'][key] >= goal)}"
        method = r["method"]
        if method != "tfidf":  # files from before presets existed used the paper's
            method += f" ({r['params'].get('scdv_preset', 'paper')}"
            method += ", pretrained vectors)" if pretrained else ")"
        lines.append(f"| {r['dataset']} | {method} | {r.get('protocol', 'inductive')} | "
                     f"{key} | {r['metrics'][key]:.4f} | "
                     f"{spread} | {verdict} | {r['timings_s']['total']:.0f} |")
    plots = sorted((folder / "plots").glob("*.png")) if (folder / "plots").exists() else []
    if plots:
        lines += ["", "Figures (`--plots`): " + ", ".join(
            f"[{p.stem}](results/classify/plots/{p.name})" for p in plots) + "."]
    lines.append("")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    suffix = "_quick" if args.quick else ""
    lines = ["# Benchmark results" + (" (quick mode)" if args.quick else ""), "",
             "Written by `python -m benchmarks.report"
             + (" --quick" if args.quick else "") + "` from `benchmarks/results/*.json`.",
             ""]
    sections = [("bench_transform", transform_section), ("bench_speed", speed_section),
                ("bench_accuracy", accuracy_section),
                ("bench_covariance", covariance_section),
                ("bench_large_inputs", large_inputs_section), ("bench_dask", dask_section),
                ("bench_learning_curve", learning_curve_section),
                ("bench_peers", peers_section)]
    for name, section in sections:
        result = _load(name + suffix)
        if result is None:
            lines += [f"## {name}", "", f"No result yet: run `python -m benchmarks.{name}"
                      f"{' --quick' if args.quick else ''}`.", ""]
        else:
            lines += section(result)
            if name == "bench_accuracy":
                lines += defaults_section(result)
    if not args.quick:
        lines += classify_section()
    path = HERE / f"RESULTS{suffix}.md"
    path.write_text("\n".join(lines))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
