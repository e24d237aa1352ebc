"""Benchmark plumbing that needs no corpus: how rows enter the accuracy table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import scdv
from benchmarks import bench_accuracy
from pipelines.classify import scdv_settings
from pipelines.features import effective_scdv_params


def _classify_result(tmp_path, name, *, preset="defaults", overrides=None, quick=False,
                     c_grid=None, ran_with=None, method="scdv", extra=None):
    # ``ran_with``: what the run's SCDV() defaults were, if not today's; None
    # for a result made before results recorded their effective parameters.
    settings = scdv_settings("20ng", preset, quick=quick, overrides=overrides)
    result = {
        "dataset": "20ng", "method": method, "protocol": "inductive", "quick": quick,
        "params": {"seed": 0, "scdv_preset": preset, "scdv": settings,
                   "scdv_effective": {**effective_scdv_params(settings), **(ran_with or {})},
                   "features": [{"n_features": 20000, "scdv_density": 0.1}]},
        "metrics": {"accuracy": 0.85, "f1_macro": 0.84},
        "cv": {}, "timings_s": {"total": 12.5},
    }
    result["params"].update(extra or {})
    if c_grid is not None:
        result["params"]["classifier"] = {"name": "linearsvc", "c_grid": c_grid}
    path = tmp_path / name
    path.write_text(json.dumps(result))
    return str(path)


def test_a_classify_run_becomes_the_row_of_its_method(tmp_path):
    defaults = _classify_result(tmp_path, "defaults.json")
    paper = _classify_result(tmp_path, "paper.json", preset="paper")
    ms = _classify_result(tmp_path, "ms.json", overrides={"cluster_proba_threshold": 0.3})
    rows = dict(bench_accuracy._rows_of_results([defaults, paper, ms], quick=False))
    assert [r["method"] for r in rows["20ng"]] == ["scdv", "scdv-paper", "scdv-ms"]
    first = rows["20ng"][0]
    assert first["wall_seconds"] == 12.5 and first["nnz_per_doc"] == pytest.approx(2000)
    assert rows["20ng"][1]["command"].endswith("--method scdv --scdv paper")


def test_a_row_names_a_c_grid_other_than_the_default(tmp_path):
    own = _classify_result(tmp_path, "own.json", c_grid=[0.3, 1.0, 3.0, 10.0])
    default = _classify_result(tmp_path, "default.json", c_grid=[0.1, 0.3, 1.0, 3.0, 10.0])
    rows = dict(bench_accuracy._rows_of_results([own, default], quick=False))["20ng"]
    assert rows[0]["command"].endswith("--method scdv --c-grid 0.3,1,3,10")
    assert "--c-grid" not in rows[1]["command"]


@pytest.mark.parametrize("change", [
    dict(overrides={"n_components": 7}),  # settings the benchmark does not use
    dict(quick=True),                     # a quick run offered as a full one
])
def test_a_run_with_other_settings_is_refused(tmp_path, change):
    other = _classify_result(tmp_path, "other.json", **change)
    with pytest.raises(ValueError, match="not a run of one of this benchmark's methods"):
        dict(bench_accuracy._rows_of_results([other], quick=False))


def test_a_run_made_under_other_scdv_defaults_is_refused(tmp_path):
    # Same overrides as today's run, but the K that SCDV() had when it ran.
    older = _classify_result(tmp_path, "older.json", ran_with={"n_components": 60})
    with pytest.raises(ValueError, match="not a run of one of this benchmark's methods"):
        dict(bench_accuracy._rows_of_results([older], quick=False))


def test_a_hybrid_row_is_taken_only_at_todays_hybrid_weight(tmp_path, monkeypatch):
    monkeypatch.setattr(scdv, "HYBRID_WEIGHT", 0.5)
    today = _classify_result(tmp_path, "today.json", method="hybrid",
                             extra={"hybrid_weight": 0.5})
    assert [r["method"] for r in dict(bench_accuracy._rows_of_results(
        [today], quick=False))["20ng"]] == ["hybrid"]
    for name, extra in [("other.json", {"hybrid_weight": 2.0}),
                        ("unrecorded.json", {})]:  # made when the weight was always 1
        older = _classify_result(tmp_path, name, method="hybrid", extra=extra)
        with pytest.raises(ValueError, match="not a run of one of this benchmark's methods"):
            dict(bench_accuracy._rows_of_results([older], quick=False))


def test_an_earlier_hybrid_row_of_another_weight_is_dropped_when_rows_are_merged(
        tmp_path, monkeypatch):
    import argparse

    monkeypatch.setattr(bench_accuracy, "RESULTS", tmp_path)
    monkeypatch.setattr(scdv, "HYBRID_WEIGHT", 0.25)
    earlier = {"20ng": [{"method": "hybrid", "params": {}},  # unrecorded: weight 1
                        {"method": "tfidf", "params": {}}],
               "reuters": [{"method": "hybrid", "params": {"hybrid_weight": 0.25}}]}
    (tmp_path / "bench_accuracy.json").write_text(json.dumps({"results": earlier}))
    merged = bench_accuracy._merged(argparse.Namespace(quick=False),
                                    {"20ng": [{"method": "scdv", "params": {}}]})
    assert [r["method"] for r in merged["20ng"]] == ["tfidf", "scdv"]
    assert [r["method"] for r in merged["reuters"]] == ["hybrid"]


def test_a_result_without_its_effective_settings_is_matched_on_its_overrides(tmp_path):
    path = Path(_classify_result(tmp_path, "old-format.json"))
    result = json.loads(path.read_text())
    del result["params"]["scdv_effective"]
    path.write_text(json.dumps(result))
    rows = dict(bench_accuracy._rows_of_results([path], quick=False))
    assert [r["method"] for r in rows["20ng"]] == ["scdv"]


def test_the_report_names_the_command_and_the_draws_of_every_learning_curve_row():
    from benchmarks import report

    curve = {"metric": "accuracy", "n_splits": 1, "n_train": 400, "n_classes": 20,
             "curves": {m: {"1": {"mean": 0.3, "std": 0.01, "scores": [0.3] * draws,
                                  "C_rule": {"fixed": draws}}}
                        for m, draws in (("scdv", 5), ("tfidf", 3))},
             "runs": {"scdv": {"command": "python -m a", "draws": 5},
                      "tfidf": {"command": "python -m b", "draws": 3}}}
    result = {"C_rule": "C=1 below 5", "quick": False, "results": {"20ng": curve},
              "machine": {"cpu": "x", "cores": 2, "python": "3", "date": "today",
                          "versions": dict.fromkeys(
                              ("scdv", "numpy", "scikit-learn", "gensim", "numba"), "1")}}
    text = "\n".join(report.learning_curve_section(result))
    assert "| scdv | 5 | 0.300 ± 0.010† |" in text and "| tfidf | 3 |" in text
    assert "- scdv: `python -m a`" in text and "- tfidf: `python -m b`" in text
    assert "results/bench_learning_curve_20ng.png" in text


def test_search_defaults_only_narrows_the_groups_it_is_given():
    from benchmarks import search_defaults

    groups = search_defaults.candidates()
    names = lambda cs: [c["name"] for c in cs]  # noqa: E731
    assert names(search_defaults.selected(groups, "hybrid", "hybrid_w=0.25,hybrid_w=1")) == [
        "hybrid_w=0.25", "hybrid_w=1"]
    assert names(search_defaults.selected(groups, "", "window=5")) == ["window=5"]
    assert len(search_defaults.selected(groups, "w2v")) == len(groups["w2v"]) > 2
    with pytest.raises(ValueError, match=r"outside --group hybrid: proba_cut=0.1 \(group "):
        search_defaults.selected(groups, "hybrid", "proba_cut=0.1")
    with pytest.raises(ValueError, match=r"window=6 \(no such candidate\)"):
        search_defaults.selected(groups, "", "window=6")
    with pytest.raises(ValueError, match="no candidate group nope; the groups are "):
        search_defaults.selected(groups, "nope")
