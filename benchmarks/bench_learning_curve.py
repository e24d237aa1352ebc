"""How does accuracy grow with the number of labelled documents, when all the text is there?

SCDV's word vectors and clusters, TF-IDF's vocabulary and idf, word2vec for
``w2v-avg`` and doc2vec learn from text alone. Here they are fitted ONCE per
corpus (per outer fold for livedoor, the folds ``pipelines.classify`` uses)
on every training text, without labels, through
:func:`pipelines.features.build_features` and its on-disk model cache (so a
full run loads the SCDV models that ``pipelines.classify`` runs fitted).
Then, for each budget of labelled documents per class and each of
``--draws`` random draws, only the classifier is fitted
(:func:`pipelines.fewlabels.run_draws`): a LinearSVC on the labelled
documents, or a semi-supervised classifier of scikit-learn that also sees
the other training documents without their labels. Test documents are
never seen by any stage before they are scored.

* Budgets: labelled documents per class, drawn in one random order per draw
  so that growing budgets are nested; ``all`` labels every training
  document (one draw). A budget that labels every document is left out.
  Reuters (multi-label): N x (number of labels) documents in all, covering
  the rarest labels first (:func:`pipelines.fewlabels.labelled_subset`).
* C: ``C=1`` while the smallest class has fewer than 5 labelled documents,
  else K-fold CV on the labelled documents
  (:func:`pipelines.fewlabels.choose_C`); the JSON records which, per draw.
* Methods: a name of :data:`pipelines.features.METHODS` (``scdv`` with the
  library's defaults, the pipelines' ``defaults`` preset; ``tfidf``,
  ``w2v-avg``, ``doc2vec``, ``hybrid``; a method added there later plugs in
  by name), or one added with :func:`register_features`; ``NAME+CLASSIFIER``
  puts another classifier on NAME's features (``scdv+self-training``,
  ``scdv+label-spreading``, ``tfidf+self-training``).

Usage::

    python -m benchmarks.bench_learning_curve --quick                 # under 3 minutes
                                                     # (one livedoor fold, Reuters C=1)
    python -m benchmarks.bench_learning_curve --dataset 20ng          # one corpus, full size
    python -m benchmarks.bench_learning_curve --dataset 20ng --methods scdv,tfidf \\
        --budgets 1,5,20,all --draws 3

Writes ``benchmarks/results/bench_learning_curve[_quick].json`` (a run
replaces only the cells it measured: its corpus, methods and budgets, each
cell with its command and draws), one PNG per corpus
beside it, and prints :func:`markdown_table` for each corpus.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

import scdv
from benchmarks._common import RESULTS, write_result
from pipelines import fewlabels
from pipelines.classify import QUICK_CV, DEFAULT_CV, scdv_settings
from pipelines.datasets import DATASETS, load_splits
from pipelines.doc2vec import QUICK_DOC2VEC_PARAMS
from pipelines.features import METHODS as FEATURE_METHODS
from pipelines.features import build_features
from pipelines.models import C_GRIDS, QUICK_C_GRIDS, FitWarnings
from pipelines.tokens import default_cache_dir, tokenize_corpus

logger = logging.getLogger("benchmarks.bench_learning_curve")

#: Labelled documents per class; None is every training document ("all").
BUDGETS = (1, 2, 5, 10, 20, 50, 100, 200, None)
#: ``--quick``: the quick subsets have 75 (20ng), 40 (livedoor) training
#: documents per class, so 50 and up are (nearly) "all" there.
QUICK_BUDGETS = (1, 2, 5, 10, 20, None)
DRAWS, QUICK_DRAWS = 5, 2
#: ``--quick`` draws twice, scores the first of livedoor's outer folds only
#: and fixes C at ``FIXED_C`` on Reuters: with three draws, the five fold fits
#: and the one-vs-rest grid searches, a quick run took 624 s sharing the
#: machine, against a 3-minute budget.
QUICK_OUTER_FOLDS = 1
METHODS = ("scdv", "tfidf", "w2v-avg", "doc2vec", "hybrid", "scdv+self-training",
           "scdv+label-spreading")
CORPORA = ("20ng", "livedoor", "reuters")
CLASSIFIERS = ("linearsvc",) + fewlabels.SEMI_SUPERVISED


@dataclass(frozen=True)
class Split:
    """One split's documents, for a feature builder."""

    train_texts: list
    test_texts: list
    train_tokens: list
    test_tokens: list
    language: str
    quick: bool
    seed: int
    scdv_params: dict
    cache_dir: object


#: Feature builders beyond :data:`pipelines.features.METHODS`, by name:
#: ``builder(split) -> (X_train, X_test)``, fitted on ``split.train_texts``
#: (or tokens) only. See :func:`register_features`.
FEATURES: dict[str, Callable[[Split], tuple]] = {}


def register_features(name: str, builder: Callable[[Split], tuple]) -> None:
    """Make ``name`` (and ``name+CLASSIFIER``) a method of this benchmark."""
    FEATURES[name] = builder


def parse_method(name: str) -> tuple[str, str]:
    """``"scdv+self-training"`` -> ``("scdv", "self-training")``; a bare name is LinearSVC's."""
    features, _, classifier = name.partition("+")
    classifier = classifier or "linearsvc"
    if features not in FEATURES and features not in FEATURE_METHODS:
        raise ValueError(f"unknown features {features!r} in method {name!r}; known: "
                         f"{', '.join([*FEATURE_METHODS, *FEATURES])}")
    if classifier not in CLASSIFIERS:
        raise ValueError(f"unknown classifier {classifier!r} in method {name!r}; known: "
                         f"{', '.join(CLASSIFIERS)}")
    return features, classifier


def _features(name: str, split: Split):
    if name in FEATURES:
        return FEATURES[name](split)
    fs = build_features(name, train_texts=split.train_texts, test_texts=split.test_texts,
                        train_tokens=split.train_tokens, test_tokens=split.test_tokens,
                        language=split.language, scdv_params=split.scdv_params,
                        cache_dir=split.cache_dir, seed=split.seed,
                        doc2vec_params=QUICK_DOC2VEC_PARAMS if split.quick else None)
    return fs.X_train, fs.X_test


def _budgets_for(y_train, budgets, multilabel):
    """The budgets that leave some training document unlabelled, then None (all)."""
    y_train = np.asarray(y_train)
    if multilabel:
        useful = [b for b in budgets if b is not None and b * y_train.shape[1] < len(y_train)]
    else:
        largest = fewlabels.per_class_counts(y_train).max()
        useful = [b for b in budgets if b is not None and b < largest]
    return useful + ([None] if None in budgets else [])


def _splits(dataset, quick, data_dir, cache_dir, seed):
    info = DATASETS[dataset]
    corpus, splits, names, scheme = load_splits(dataset, data_dir, sizes=info.quick if quick
                                                else {}, seed=seed)
    tokens = tokenize_corpus(corpus["data"], info.tokenizer, cache_dir=cache_dir,
                             **info.preset("defaults").tokens)
    texts, y = corpus["data"], corpus["target"]
    params = scdv_settings(dataset, "defaults", quick=quick, seed=seed)
    scored = list(splits)[:QUICK_OUTER_FOLDS] if quick else list(splits)
    for tr, te in scored:
        yield Split([texts[i] for i in tr], [texts[i] for i in te], [tokens[i] for i in tr],
                    [tokens[i] for i in te], info.language, quick, seed, params,
                    cache_dir), y[tr], y[te], len(scored), scheme


def _is_hybrid(method):
    # By name, not by parse_method: a row's plug-in features may be gone.
    return method.partition("+")[0].partition("@")[0] == "hybrid"


def _hybrid_weight(method):
    """``{"hybrid_weight": scdv.HYBRID_WEIGHT}`` for a method on hybrid features, else ``{}``."""
    return {"hybrid_weight": scdv.HYBRID_WEIGHT} if _is_hybrid(method) else {}


def _group(methods):
    """Methods by their features, in first-seen order: each feature set is built once."""
    groups: dict[str, list] = {}
    for method in methods:
        groups.setdefault(parse_method(method)[0], []).append(method)
    return groups


def run_dataset(dataset, *, methods=METHODS, budgets=BUDGETS, draws=DRAWS, quick=False,
                data_dir=None, cache_dir=None, seed=0):
    """The learning curves of one corpus: ``{method: {budget: summary}}`` and facts.

    Returns
    -------
    dict
        ``metric``, ``scheme``, ``n_train``, ``n_classes`` and ``curves``:
        per method, per budget (``"all"`` for None), ``mean``, ``std`` and
        ``scores`` (every outer fold's draws) of the corpus's headline
        metric, ``n_labelled`` (mean), ``C_rule`` counts, chosen ``C`` values
        and ``seconds``.
    """
    info = DATASETS[dataset]
    cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
    metric, multilabel = info.metric, info.multilabel
    methods = [m for m in methods
               if not (multilabel and parse_method(m)[1] in fewlabels.SEMI_SUPERVISED)]
    cv, grid = (QUICK_CV, QUICK_C_GRIDS) if quick else (DEFAULT_CV, C_GRIDS)
    if quick and multilabel:
        grid = {**grid, "linearsvc": (fewlabels.FIXED_C,)}
    raw: dict = {m: {} for m in methods}
    facts: dict = {"n_train": [], "n_classes": None}
    counter, start = FitWarnings(), time.perf_counter()
    for k, (split, y_train, y_test, n_splits, scheme) in enumerate(
            _splits(dataset, quick, data_dir, cache_dir, seed)):
        facts.update(scheme=scheme, n_splits=n_splits)
        facts["n_train"].append(len(y_train))
        facts["n_classes"] = int(y_train.shape[1]) if multilabel else int(len(np.unique(y_train)))
        for features, group in _group(methods).items():
            t0 = time.perf_counter()
            X_train, X_test = _features(features, split)
            logger.info("%s split %d/%d: %s features %s in %.0f s", dataset, k + 1, n_splits,
                        features, X_train.shape, time.perf_counter() - t0)
            spread = None  # label spreading's SVD: once per feature set, not per budget
            c_cache: dict = {}  # each draw's C, shared by the LinearSVC methods of a feature set
            for method in group:
                classifier = parse_method(method)[1]
                if classifier == "label-spreading" and spread is None:
                    spread = fewlabels.spreading_features(X_train, X_test, seed=seed)
                for budget in _budgets_for(y_train, budgets, multilabel):
                    t0 = time.perf_counter()
                    _, out, _ = fewlabels.run_draws(
                        X_train, y_train, X_test, y_test, n_per_class=budget,
                        draws=1 if budget is None else draws, seed=seed,
                        classifier=classifier, multilabel=multilabel,
                        c_grid=grid["linearsvc"], n_splits=cv, counter=counter,
                        X_spread=spread, c_cache=c_cache)
                    seconds = time.perf_counter() - t0
                    cell = raw[method].setdefault("all" if budget is None else budget, [])
                    cell.extend({**d, "split": k + 1, "seconds": seconds / len(out["draws"])}
                                for d in out["draws"])
                    logger.info("%s split %d/%d %-22s %4s/class: %s %.4f (%.1f s, %.0f s in all)",
                                dataset, k + 1, n_splits, method,
                                "all" if budget is None else budget, metric,
                                np.mean([d[metric] for d in out["draws"]]), seconds,
                                time.perf_counter() - start)
            del X_train, X_test, spread
    curves = {m: {str(b): _summary(cell, metric) for b, cell in per.items()}
              for m, per in raw.items()}
    return {"metric": metric, "scheme": facts.get("scheme"), "n_splits": facts.get("n_splits"),
            "n_train": float(np.mean(facts["n_train"])), "n_classes": facts["n_classes"],
            "curves": curves, "fit_warnings": counter.as_dict(),
            "C_fixed_by_quick": bool(quick and multilabel),
            "seconds": time.perf_counter() - start}


def _summary(records, metric):
    mean, std = fewlabels.mean_std_over(records, metric)
    rules = [r["C_rule"] for r in records]
    return {"mean": mean, "std": std, "scores": [r[metric] for r in records],
            "n_labelled": float(np.mean([r["n_labelled"] for r in records])),
            "C_rule": {rule: rules.count(rule) for rule in sorted(set(rules))},
            "C": [r["C"] for r in records],
            "seconds": float(sum(r["seconds"] for r in records))}


# --------------------------------------------------------------------------- report


def _x_of(budget: str, result: dict) -> float:
    # "all" sits at the mean number of training documents per class.
    return float(budget) if budget != "all" else result["n_train"] / result["n_classes"]


def _weight_of(method: str, result: dict):
    """The SCDV weight that a hybrid row was made at; None for other methods.

    The run's record wins; a ``hybrid@W`` row without one was made at W, and
    a hybrid row from before the weight was recorded at 1.0.
    """
    recorded = result.get("runs", {}).get(method, {}).get("hybrid_weight")
    if recorded is not None or not _is_hybrid(method):
        return recorded
    suffix = method.partition("@")[2]
    return float(suffix) if suffix else 1.0  # 1.0 was the only weight until it was recorded


def _run_of(method: str, result: dict) -> dict:
    """The run record of ``method`` in ``result``, with its hybrid weight filled in."""
    weight = _weight_of(method, result)
    return {**({} if weight is None else {"hybrid_weight": weight}),
            **result.get("runs", {}).get(method, {})}


def _label(method: str, result: dict) -> str:
    """The method's name for people: a hybrid row names its SCDV weight."""
    weight = _weight_of(method, result)
    return method if weight is None else f"{method.partition('@')[0]} (SCDV weight {weight:g})"


def _styles(n: int) -> list[tuple]:
    """``n`` (colour, marker) pairs, no two alike up to 30 rows.

    tab20 holds ten hues, dark then light: the first ten rows take the dark
    ones, the next ten the light ones with square markers, then triangles
    (tab10 alone repeats its colours after ten rows).
    """
    from matplotlib import colormaps

    palette = colormaps["tab20"]
    return [(palette((2 * k) % 20 + (k // 10) % 2), "os^"[(k // 10) % 3]) for k in range(n)]


def plot_curves(dataset: str, result: dict, path):
    """One PNG: the headline metric against labelled documents per class, ±1 std shaded."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    styles = _styles(len(result["curves"]))
    for (method, curve), (colour, marker) in zip(result["curves"].items(), styles):
        budgets = sorted(curve, key=lambda b: _x_of(b, result))
        x = np.array([_x_of(b, result) for b in budgets])
        mean = np.array([curve[b]["mean"] for b in budgets])
        std = np.array([curve[b]["std"] for b in budgets])
        style = "--" if "+" in method else "-"
        ax.plot(x, mean, style, marker=marker, markersize=4, color=colour,
                label=_label(method, result))
        ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.15, linewidth=0)
    ax.set_xscale("log")
    ax.set_xlabel("labelled training documents per class (log; last point: all)")
    ax.set_ylabel(result["metric"].replace("_", " "))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"{DATASETS[dataset].title}: unsupervised stages on all "
                 f"{result['n_train']:.0f} training texts; mean ± std over draws"
                 + (" and outer folds" if (result.get("n_splits") or 1) > 1 else ""),
                 fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown_table(dataset: str, result: dict) -> str:
    """A Markdown table: methods down, budgets across, ``mean ± std`` per cell.

    A cell whose C was fixed (too few labels to cross-validate) is marked
    with a dagger.
    """
    curves = result["curves"]
    budgets = sorted({b for c in curves.values() for b in c}, key=lambda b: _x_of(b, result))
    head = ["method", "draws", *[f"{b}/class" if b != "all" else "all" for b in budgets]]
    over = "draws and outer folds" if (result.get("n_splits") or 1) > 1 else "draws"
    lines = [f"{DATASETS[dataset].title}, {result['metric'].replace('_', ' ')} "
             f"(mean ± std over {over})",
             "", "| " + " | ".join(head) + " |", "|---" + "|---:" * (len(budgets) + 1) + "|"]
    for method, curve in curves.items():
        # The draws of the budgets below "all" (which is one draw); two runs
        # of one method may have drawn a different number of times.
        folds = result.get("n_splits") or 1
        per_budget = {len(c["scores"]) // folds for b, c in curve.items() if b != "all"} or {1}
        cells = ["–".join(str(n) for n in sorted({min(per_budget), max(per_budget)}))]
        for b in budgets:
            if b not in curve:
                cells.append("")
                continue
            c = curve[b]
            mark = "†" if "fixed" in c["C_rule"] else ""
            cells.append(f"{c['mean']:.3f} ± {c['std']:.3f}{mark}")
        lines.append(f"| {_label(method, result)} | " + " | ".join(cells) + " |")
    why = ("--quick on a multi-label corpus, or fewer than" if result.get("C_fixed_by_quick")
           else "fewer than")
    lines += ["", f"† C fixed at 1 ({why} {fewlabels.MIN_PER_CLASS_FOR_CV} labelled "
              "documents in a class); elsewhere chosen by cross-validation on the labelled "
              "documents."]
    return "\n".join(lines)


# --------------------------------------------------------------------------- CLI


def _budget_list(text: str):
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part == "all":
            out.append(None)
            continue
        try:
            value = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a budget (an integer or 'all'): {part!r}")
        if value < 1:
            raise argparse.ArgumentTypeError(f"budgets must be at least 1: {value}")
        out.append(value)
    if not out:
        raise argparse.ArgumentTypeError("no budget given")
    return sorted(set(out), key=lambda b: (b is None, b or 0))


def _method_list(text: str):
    methods = [m.strip() for m in text.split(",") if m.strip()]
    for method in methods:
        try:
            parse_method(method)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc))
    return methods


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_learning_curve",
        description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the pipelines' quick subsets and small SCDV; "
                             f"{QUICK_DRAWS} draws (under 3 minutes)")
    parser.add_argument("--dataset", choices=CORPORA, action="append",
                        help="run only this corpus (repeatable; default: all three)")
    parser.add_argument("--methods", type=_method_list, default=list(METHODS),
                        help=f"comma-separated (default {','.join(METHODS)})")
    parser.add_argument("--budgets", type=_budget_list,
                        help="labelled documents per class, comma-separated; 'all' for "
                             "every training document (default 1,2,5,10,20,50,100,200,all; "
                             "quick 1,2,5,10,20,all)")
    parser.add_argument("--draws", type=int, help=f"random draws per budget (default {DRAWS}, "
                                                  f"quick {QUICK_DRAWS})")
    parser.add_argument("--data-dir")
    parser.add_argument("--cache-dir")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _stamped(curve, run):
    """``curve``'s cells, each carrying the command and draws that measured it.

    Cells written before cells carried them take their method's ``run``.
    """
    keys = {k: run[k] for k in ("command", "draws") if k in run}
    once = {"draws": 1} if "draws" in keys else {}  # "all" labels every document: one draw
    return {b: {**keys, **(once if b == "all" else {}), **cell} for b, cell in curve.items()}


def _merged(name, results):
    """``results`` over the cells of an earlier run that this run did not redo.

    A method that this run did not name keeps its whole earlier curve; one it
    did name keeps its earlier budgets that this run left out, so that a curve
    can be extended (``--budgets 200,all``) without redoing it. A hybrid
    made at another weight than this run's is kept whole as ``hybrid@W``, and
    rejoins ``hybrid`` when a later run is made at W again.
    Every cell keeps the command and the draws that measured it.
    """
    try:
        earlier = json.loads((RESULTS / f"{name}.json").read_text())["results"]
    except (OSError, ValueError, KeyError):
        return results
    for dataset, result in results.items():
        if dataset not in earlier:
            continue
        old_curves = earlier[dataset].get("curves", {})
        curves, runs = result["curves"], result.setdefault("runs", {})
        returned = set()  # hybrid@W rows of the weight this run used again: they rejoin
        for method, run in runs.items():
            back = f"{method}@{run['hybrid_weight']:g}" if "hybrid_weight" in run else None
            if back in old_curves:
                old = _stamped(old_curves[back], _run_of(back, earlier[dataset]))
                curves[method] = {**old, **curves[method]}
                returned.add(back)
        for method, old in old_curves.items():
            if method in returned:
                continue
            old_run = _run_of(method, earlier[dataset])
            old = _stamped(old, old_run)
            if method not in curves:
                curves.setdefault(method, old)
                runs.setdefault(method, old_run)
            elif old_run.get("hybrid_weight") == runs.get(method, {}).get("hybrid_weight"):
                curves[method] = {**old, **curves[method]}
            else:  # a hybrid at another weight: its row stays, named for the weight
                renamed = f"{method}@{old_run['hybrid_weight']:g}"
                curves[renamed] = {**_stamped(old_curves.get(renamed, {}), old_run), **old}
                runs[renamed] = old_run
        # Methods first seen in this run go last, budgets in order of size.
        order = [m for m in dict.fromkeys([*old_curves, *curves]) if m in curves]
        result["curves"] = {m: dict(sorted(curves[m].items(), key=lambda kv: _budget_key(kv[0])))
                            for m in order}
        result["runs"] = {m: runs[m] for m in order if m in runs}
    return {**earlier, **results}


def _budget_key(budget: str):
    return (budget == "all", 0 if budget == "all" else int(budget))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("gensim", "numba", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    draws = args.draws or (QUICK_DRAWS if args.quick else DRAWS)
    budgets = args.budgets or list(QUICK_BUDGETS if args.quick else BUDGETS)
    name = "bench_learning_curve" + ("_quick" if args.quick else "")
    command = "python -m " + __spec__.name + " " + " ".join(argv or sys.argv[1:])
    results = {}
    with threadpool_limits(limits=1):  # the machine is shared (see pipelines.classify.run)
        for dataset in args.dataset or CORPORA:
            results[dataset] = run_dataset(
                dataset, methods=args.methods, budgets=budgets, draws=draws,
                quick=args.quick, data_dir=args.data_dir, cache_dir=args.cache_dir,
                seed=args.seed)
            results[dataset]["runs"] = {m: {"command": command, "draws": draws,
                                            **_hybrid_weight(m)}
                                        for m in results[dataset]["curves"]}
            results[dataset]["curves"] = {
                m: _stamped(c, results[dataset]["runs"][m])
                for m, c in results[dataset]["curves"].items()}
            merged = _merged(name, {dataset: results[dataset]})
            path = write_result(name, {
                "quick": args.quick, "seed": args.seed,
                "C_rule": f"C=1 below {fewlabels.MIN_PER_CLASS_FOR_CV} labelled documents "
                          "in a class, else K-fold CV on the labelled documents"
                          + ("; --quick: C=1 on multi-label corpora" if args.quick else ""),
                "self_training": fewlabels.SELF_TRAINING,
                "label_spreading": fewlabels.LABEL_SPREADING,
                "command": command, "results": merged})
            png = plot_curves(dataset, merged[dataset], RESULTS / f"{name}_{dataset}.png")
            print(markdown_table(dataset, merged[dataset]) + "\n")
            print(f"wrote {path} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
