"""Few labels, plenty of text: labelled subsets, the C rule, semi-supervised classifiers,
a frozen SCDV that survives pickling and save/load, and the learning-curve benchmark.

Everything runs on the tiny corpora of tests.conftest, in seconds.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

import scdv
from benchmarks import bench_learning_curve as blc
from pipelines import classify, datasets, fewlabels
from scdv import SCDV
from tests.conftest import SMALL_PARAMS, make_corpus


@pytest.fixture(scope="module")
def tfidf_split():
    docs, labels = make_corpus(150, seed=3)
    y = np.array([sorted(set(labels)).index(label) for label in labels])
    X = TfidfVectorizer().fit_transform(docs)  # unsupervised: every text, no label
    return X[:120], y[:120], X[120:], y[120:]


# --------------------------------------------------------------------------- labelled subsets


def test_labelled_subset_takes_n_of_each_class_and_grows_nested():
    y = np.array([0] * 10 + [1] * 10 + [2] * 3)
    order = fewlabels.draw_order(len(y), [0, 0])
    two, five = (fewlabels.labelled_subset(y, n, order) for n in (2, 5))
    assert np.bincount(y[two]).tolist() == [2, 2, 2]
    assert np.bincount(y[five]).tolist() == [5, 5, 3]  # a small class gives what it has
    assert set(two) <= set(five)
    assert len(fewlabels.labelled_subset(y, None, order)) == len(y)
    other = fewlabels.labelled_subset(y, 2, fewlabels.draw_order(len(y), [0, 1]))
    assert set(other) != set(two)  # another draw, other documents


def test_multilabel_subset_covers_rare_labels_first_and_has_n_times_labels_documents():
    rng = np.random.default_rng(0)
    Y = np.zeros((200, 4), dtype=np.uint8)
    Y[:, 0] = 1                      # a label on every document
    Y[rng.choice(200, 40, replace=False), 1] = 1
    Y[[3, 50, 120], 2] = 1           # a rare label: three documents
    Y[rng.choice(200, 20, replace=False), 3] = 1
    picked = fewlabels.labelled_subset(Y, 5, fewlabels.draw_order(200, 0))
    assert len(picked) == 5 * 4 and len(set(picked)) == 20
    counts = Y[picked].sum(axis=0)
    assert counts[2] == 3 and counts[1] >= 5 and counts[3] >= 5
    assert len(fewlabels.labelled_subset(Y, 100, fewlabels.draw_order(200, 0))) == 200


# --------------------------------------------------------------------------- C and classifiers


def test_C_is_fixed_below_five_labels_per_class_and_cross_validated_from_five(tfidf_split):
    X, y, _, _ = tfidf_split
    order = fewlabels.draw_order(len(y), 0)
    few = fewlabels.labelled_subset(y, 4, order)
    C, info = fewlabels.choose_C(X[few], y[few], n_per_class=4, c_grid=[0.1, 10])
    assert (C, info["C_rule"]) == (fewlabels.FIXED_C, "fixed")
    enough = fewlabels.labelled_subset(y, 5, order)
    C, info = fewlabels.choose_C(X[enough], y[enough], n_per_class=5, c_grid=[0.1, 10])
    assert info["C_rule"] == "cv" and C in (0.1, 10) and len(info["fold_scores"]) == 5
    # Multi-label: the budget decides, since rare labels stay rare at any budget.
    Y = np.eye(3, dtype=int)[y[enough]]
    _, info = fewlabels.choose_C(X[enough], Y, n_per_class=2, multilabel=True)
    assert info["C_rule"] == "fixed"
    C, info = fewlabels.choose_C(X[enough], y[enough], n_per_class=5, c_grid=[3.0])
    assert (C, info["C_rule"]) == (3.0, "fixed")  # nothing to choose: no CV


@pytest.mark.parametrize("name", fewlabels.SEMI_SUPERVISED)
def test_semi_supervised_classifiers_never_read_the_unlabelled_documents_labels(
        tfidf_split, name):
    X, y, X_test, _ = tfidf_split
    labelled = fewlabels.labelled_subset(y, 2, fewlabels.draw_order(len(y), 0))
    shuffled = y.copy()
    rest = np.setdiff1d(np.arange(len(y)), labelled)
    shuffled[rest] = np.random.default_rng(1).permutation(y[rest])
    one, _, _ = fewlabels.fit_predict(X, y, labelled, X_test, classifier=name)
    two, _, _ = fewlabels.fit_predict(X, shuffled, labelled, X_test, classifier=name)
    np.testing.assert_array_equal(one, two)


def test_self_training_pseudo_labels_a_tenth_of_the_unlabelled_documents(tfidf_split):
    X, y, _, _ = tfidf_split
    labelled = fewlabels.labelled_subset(y, 2, fewlabels.draw_order(len(y), 0))
    y_partial = np.full(len(y), -1)
    y_partial[labelled] = y[labelled]
    n_unlabelled = len(y) - len(labelled)
    model = fewlabels.make_semi_supervised("self-training", n_unlabelled=n_unlabelled)
    model.fit(X, y_partial)
    pseudo = (model.labeled_iter_ > 0).sum()
    rounds, fraction = fewlabels.SELF_TRAINING["max_iter"], fewlabels.SELF_TRAINING["fraction"]
    assert pseudo == rounds * max(1, int(fraction * n_unlabelled))
    # The pseudo-labels are mostly right on three well-separated topics.
    assert (model.transduction_[model.labeled_iter_ > 0] == y[model.labeled_iter_ > 0]).mean() > 0.8


def test_label_spreading_learns_from_unlabelled_text(tfidf_split):
    X, y, X_test, y_test = tfidf_split
    metrics, info, _ = fewlabels.run_draws(X, y, X_test, y_test, n_per_class=1, draws=3,
                                           classifier="label-spreading")
    assert metrics["accuracy"] > 0.6  # one label per class; chance is 1/3
    assert [d["n_labelled"] for d in info["draws"]] == [3, 3, 3]


def test_run_draws_reports_the_mean_and_std_over_draws(tfidf_split):
    X, y, X_test, y_test = tfidf_split
    metrics, info, y_pred = fewlabels.run_draws(X, y, X_test, y_test, n_per_class=1, draws=4)
    scores = [d["accuracy"] for d in info["draws"]]
    assert metrics["accuracy"] == pytest.approx(np.mean(scores))
    assert info["std"]["accuracy"] == pytest.approx(np.std(scores))
    assert {d["C_rule"] for d in info["draws"]} == {"fixed"}
    assert len(y_pred) == len(y_test)


# --------------------------------------------------------------------------- frozen SCDV


def test_a_frozen_scdv_pipeline_survives_pickle_and_save_load(tmp_path):
    unlabelled, _ = make_corpus(90, seed=5)
    docs, labels = make_corpus(30, seed=6)
    model = make_pipeline(FrozenEstimator(SCDV(**SMALL_PARAMS).fit(unlabelled)), LinearSVC())
    model.fit(docs, labels)
    expected = model.predict(unlabelled)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(unlabelled),
                                  expected)
    # The model file holds the SCDV; the frozen wrapper is rebuilt around it.
    model[0].estimator.save(tmp_path / "unlabelled.scdv")
    loaded = scdv.load(tmp_path / "unlabelled.scdv")
    np.testing.assert_allclose(loaded.transform(docs).toarray(),
                               model[0].transform(docs).toarray(), atol=1e-6)
    again = make_pipeline(FrozenEstimator(loaded), LinearSVC()).fit(docs, labels)
    np.testing.assert_array_equal(again.predict(unlabelled), expected)
    search = GridSearchCV(again, {"linearsvc__C": [0.1, 1.0]}, cv=3).fit(docs, labels)
    assert search.best_estimator_[0].estimator is loaded  # still frozen: the same object


# --------------------------------------------------------------------------- pipelines.classify


@pytest.fixture
def tiny(monkeypatch):
    from tests.test_pipelines import _tiny_bunch

    def load(subset, data_dir=None, download_if_missing=True):
        return _tiny_bunch(subset, False)

    monkeypatch.setitem(datasets.DATASETS, "tiny", datasets.DatasetInfo(
        title="tiny", loader=load, language="english", multilabel=False, metric="accuracy",
        split=datasets.TrainTestSplit("tiny train/test")))
    monkeypatch.setitem(datasets.DATASETS, "tiny-folds", datasets.DatasetInfo(
        title="tiny folds", loader=load, language="english", multilabel=False,
        metric="accuracy", split=datasets.StratifiedFolds(n_folds=3)))
    monkeypatch.setitem(datasets.DATASETS, "tiny-multi", datasets.DatasetInfo(
        title="tiny multi-label", loader=lambda subset, data_dir=None, download_if_missing=True:
        _tiny_bunch(subset, True), language="english", multilabel=True,
        metric="precision_at_1", split=datasets.TrainTestSplit("tiny train/test")))


def test_classify_labels_per_class_gives_mean_and_std_over_draws(tiny, tmp_path, capsys):
    out = tmp_path / "r.json"
    status = classify.main(["--dataset", "tiny", "--quick", "--labels-per-class", "2",
                            "--draws", "3", "--classifier", "self-training", "--output",
                            str(out), "--cache-dir", str(tmp_path), "-q"])
    assert status == 0 and "mean over 3 draws of 2 labelled" in capsys.readouterr().out
    result = json.loads(out.read_text())
    draws = result["cv"]["draws"]
    assert [d["n_labelled"] for d in draws] == [6, 6, 6] and result["n_train"] == 60
    assert result["metrics"]["accuracy"] == pytest.approx(np.mean([d["accuracy"]
                                                                   for d in draws]))
    assert result["cv"]["std"]["accuracy"] == pytest.approx(np.std([d["accuracy"]
                                                                    for d in draws]))
    assert result["params"]["few_labels"]["semi_supervised"]["classifier"] == "self-training"


def test_classify_labels_per_class_over_outer_folds(tiny, tmp_path):
    result = classify.run("tiny-folds", quick=True, cache_dir=tmp_path, labels_per_class=1,
                          draws=2, method="tfidf")
    assert len(result["cv"]["folds"]) == 3
    assert all(len(f["inner_cv"]["draws"]) == 2 for f in result["cv"]["folds"])
    assert set(result["cv"]["std_over_draws"]) == set(result["metrics"])


@pytest.mark.parametrize("change, message", [
    (dict(classifier="label-spreading"), "needs labels_per_class"),
    (dict(draws=3), "draws needs labels_per_class"),
    (dict(labels_per_class=0), "labels_per_class must be a positive integer"),
    (dict(labels_per_class=2, method="stacking"), "does not work with method stacking"),
    (dict(dataset="reuters", labels_per_class=2, classifier="self-training"), "multi-label"),
])
def test_few_label_settings_that_cannot_work_are_usage_errors(change, message):
    with pytest.raises(classify.UsageError, match=message):
        classify.RunConfig(**{"dataset": "20ng", **change})


# --------------------------------------------------------------------------- the benchmark


def test_learning_curve_of_a_registered_corpus_with_a_plugged_in_method(tiny, tmp_path,
                                                                        monkeypatch):
    def word_counts(split):  # a peer registered by name, as issue 19's would be
        vec = TfidfVectorizer(use_idf=False).fit(split.train_texts)
        return vec.transform(split.train_texts), vec.transform(split.test_texts)

    monkeypatch.setitem(blc.FEATURES, "counts", word_counts)
    result = blc.run_dataset("tiny", methods=["scdv", "counts", "scdv+label-spreading"],
                             budgets=[1, 5, 100, None], draws=2, quick=True,
                             cache_dir=tmp_path)
    curves = result["curves"]
    assert list(curves) == ["scdv", "counts", "scdv+label-spreading"]
    assert list(curves["scdv"]) == ["1", "5", "all"]  # 100/class would label everything
    one, five, every = (curves["counts"][b] for b in ("1", "5", "all"))
    assert len(one["scores"]) == 2 and len(every["scores"]) == 1
    assert one["C_rule"] == {"fixed": 2} and five["C_rule"] == {"cv": 2}
    assert one["n_labelled"] == 3 and every["n_labelled"] == 60
    table = blc.markdown_table("tiny", result)
    assert "| counts | 2 |" in table and "1/class" in table and "†" in table
    later = blc.markdown_table("tiny", {**result, "curves": {"hybrid": curves["counts"]},
                                        "runs": {"hybrid": {"hybrid_weight": 0.25}}})
    assert "| hybrid (SCDV weight 0.25) |" in later
    unrecorded = blc.markdown_table("tiny", {**result, "curves": {"hybrid": curves["counts"]}})
    assert "| hybrid (SCDV weight 1) |" in unrecorded
    png = blc.plot_curves("tiny", result, tmp_path / "curve.png")
    assert png.stat().st_size > 10_000


def test_every_row_of_a_learning_curve_plot_has_its_own_colour_and_marker():
    # 20 Newsgroups has eleven rows; tab10 alone gave the eleventh the first's colour.
    styles = blc._styles(30)
    assert len(set(styles)) == 30
    assert len({colour for colour, _ in styles[:20]}) == 20


def test_a_later_run_keeps_the_earlier_methods_with_their_own_commands(tmp_path,
                                                                       monkeypatch):
    monkeypatch.setattr(blc, "RESULTS", tmp_path)
    first = {"curves": {"scdv": {"1": {}}, "tfidf": {"1": {}}},
             "runs": {"scdv": {"command": "first", "draws": 3},
                      "tfidf": {"command": "first", "draws": 3}}}
    (tmp_path / "curve.json").write_text(json.dumps({"results": {"20ng": first}}))
    later = {"curves": {"scdv": {"5": {"command": "later", "draws": 5}}},
             "runs": {"scdv": {"command": "later", "draws": 5}}}
    merged = blc._merged("curve", {"20ng": later})["20ng"]
    assert merged["curves"] == {
        "scdv": {"1": {"command": "first", "draws": 3}, "5": {"command": "later", "draws": 5}},
        "tfidf": {"1": {"command": "first", "draws": 3}}}
    assert merged["runs"]["tfidf"] == {"command": "first", "draws": 3}


def test_extending_a_curve_keeps_its_other_budgets_and_a_hybrid_of_another_weight_apart(
        tmp_path, monkeypatch):
    from benchmarks import report

    monkeypatch.setattr(blc, "RESULTS", tmp_path)
    cell = {"mean": 0.5, "std": 0.0, "scores": [0.5] * 3, "C_rule": {"cv": 3}}
    first = {"metric": "accuracy", "n_train": 400, "n_classes": 20,
             "curves": {"scdv": {"1": cell, "100": cell}, "hybrid": {"1": cell}},
             "runs": {"scdv": {"command": "first", "draws": 3},
                      "hybrid": {"command": "first", "draws": 3}}}  # weight 1, unrecorded
    (tmp_path / "curve.json").write_text(json.dumps({"results": {"20ng": first}}))
    five = {**cell, "scores": [0.6] * 5, "command": "later", "draws": 5}
    later = {**first, "curves": {"scdv": {"100": five, "all": {**five, "scores": [0.6]}},
                                 "hybrid": {"all": {**five, "scores": [0.6]}}},
             "runs": {"scdv": {"command": "later", "draws": 5},
                      "hybrid": {"command": "later", "draws": 5, "hybrid_weight": 0.25}}}
    merged = blc._merged("curve", {"20ng": later})["20ng"]
    assert list(merged["curves"]["scdv"]) == ["1", "100", "all"]
    assert merged["curves"]["scdv"]["100"]["scores"] == [0.6] * 5
    assert list(merged["curves"]["hybrid"]) == ["all"]  # not mixed with weight 1's cells
    assert list(merged["curves"]["hybrid@1"]) == ["1"]
    table = blc.markdown_table("20ng", merged)
    assert "| scdv | 3–5 |" in table and "| hybrid (SCDV weight 0.25) | 1 |" in table
    assert "| hybrid (SCDV weight 1) | 3 |" in table
    commands = report._commands_of_cells(merged)
    assert commands == {
        "first": ["scdv (1)", "hybrid (SCDV weight 1), when `scdv.HYBRID_WEIGHT` was 1"],
        "later": ["scdv (100, all)", "hybrid (SCDV weight 0.25)"]}


def test_a_hybrid_weight_that_comes_back_rejoins_its_earlier_row(tmp_path, monkeypatch):
    monkeypatch.setattr(blc, "RESULTS", tmp_path)
    cell = {"mean": 0.5, "std": 0.0, "scores": [0.5] * 3, "C_rule": {"cv": 3}}

    def run(weight, budget):
        return {"metric": "accuracy", "n_train": 400, "n_classes": 20,
                "curves": {"hybrid": {budget: cell}},
                "runs": {"hybrid": {"command": f"w={weight}", "draws": 3,
                                    "hybrid_weight": weight}}}

    for weight, budget in [(1.0, "1"), (0.25, "all"), (1.0, "200"), (0.25, "5")]:
        merged = blc._merged("curve", {"20ng": run(weight, budget)})
        (tmp_path / "curve.json").write_text(json.dumps({"results": merged}))
    curves = merged["20ng"]["curves"]
    assert {m: list(c) for m, c in curves.items()} == {"hybrid": ["5", "all"],
                                                       "hybrid@1": ["1", "200"]}
    assert blc.markdown_table("20ng", merged["20ng"]).count("(SCDV weight 1)") == 1


def test_a_hybrid_row_without_a_recorded_weight_is_named_for_its_suffix():
    assert blc._label("hybrid@0.5", {}) == "hybrid (SCDV weight 0.5)"
    assert blc._label("hybrid+self-training", {}) == "hybrid+self-training (SCDV weight 1)"
    assert blc._label("scdv@x", {}) == "scdv@x"


def test_the_benchmark_stamps_each_cell_with_its_command_and_draws(tiny, tmp_path, monkeypatch):
    import benchmarks._common as common

    for module in (blc, common):
        monkeypatch.setattr(module, "RESULTS", tmp_path)
    monkeypatch.setattr(blc, "CORPORA", ("tiny-folds",))
    assert blc.main(["--quick", "--dataset", "tiny-folds", "--methods", "tfidf", "--budgets",
                     "2,all", "--draws", "2", "--cache-dir", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "bench_learning_curve_quick.json").read_text())
    cells = saved["results"]["tiny-folds"]["curves"]["tfidf"]
    assert (cells["2"]["draws"], cells["all"]["draws"]) == (2, 1)
    assert cells["2"]["command"] == cells["all"]["command"] == saved["command"]
    assert saved["command"].startswith("python -m benchmarks.bench_learning_curve --quick")


def test_quick_curves_score_one_outer_fold_and_fix_C_on_multilabel_corpora(tiny, tmp_path):
    folds = blc.run_dataset("tiny-folds", methods=["tfidf"], budgets=[5], draws=2,
                            quick=True, cache_dir=tmp_path)
    assert folds["n_splits"] == 1 and len(folds["curves"]["tfidf"]["5"]["scores"]) == 2
    assert folds["curves"]["tfidf"]["5"]["C_rule"] == {"cv": 2}
    multi = blc.run_dataset("tiny-multi", methods=["tfidf"], budgets=[5], draws=2,
                            quick=True, cache_dir=tmp_path)
    assert multi["curves"]["tfidf"]["5"]["C_rule"] == {"fixed": 2}
    assert "--quick on a multi-label corpus" in blc.markdown_table("tiny-multi", multi)
    assert "--quick" not in blc.markdown_table("tiny-folds", folds)


def test_learning_curve_methods_and_budgets_are_parsed_by_name():
    assert blc.parse_method("scdv+self-training") == ("scdv", "self-training")
    assert blc.parse_method("hybrid") == ("hybrid", "linearsvc")
    with pytest.raises(ValueError, match="unknown features"):
        blc.parse_method("glove-avg-not-yet")
    assert blc._budget_list("5,1,all,5") == [1, 5, None]
    with pytest.raises(SystemExit):
        blc.build_parser().parse_args(["--methods", "scdv+knn"])
