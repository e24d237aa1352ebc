"""Tests for the classification pipelines (pipelines/).

Unit tests use hand-made inputs and need no corpus. The end-to-end ``--quick``
runs read the real corpora and are skipped when they are absent.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import ndcg_score
from sklearn.utils import Bunch

from pipelines import classify, datasets, evaluate, tokens
from pipelines.datasets import DatasetNotFoundError, load_dataset, resolve_data_dir
from pipelines.features import (
    ColumnSlice,
    build_features,
    fit_scdv_cached,
    scdv_cache_path,
    w2v_average,
)
from pipelines.models import (
    ScoreBlend,
    decision_scores,
    grid_search,
    make_classifier,
    make_stacking,
)
import scdv.composite
from scdv import SCDV

# --------------------------------------------------------------------------- metrics


def test_precision_at_1_hand_made():
    y = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1], [1, 1, 0]])
    scores = np.array([
        [0.9, 0.1, 0.0],   # top label 0: true
        [0.8, 0.1, 0.3],   # top label 0: false
        [-1.0, -2.0, -0.5],  # top label 2: true (all scores negative)
        [0.2, 0.7, 0.1],   # top label 1: true
    ])
    assert evaluate.precision_at_k(y, scores, 1) == pytest.approx(0.75)
    # Ties go to the lower label index, whatever the sort algorithm.
    assert evaluate.precision_at_k([[0, 1]], [[0.5, 0.5]], 1) == 0.0
    assert evaluate.precision_at_k([[1, 0]], [[0.5, 0.5]], 1) == 1.0
    # P@2 counts hits among the two best labels.
    assert evaluate.precision_at_k(y, scores, 2) == pytest.approx((1 + 1 + 1 + 2) / 8)


def test_ndcg_at_1_hand_made_and_against_sklearn():
    y = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    scores = np.array([[0.9, 0.1, 0.0], [0.8, 0.1, 0.3], [0.1, 0.2, 0.7]])
    # At k=1 the ideal DCG is 1 for any row with a label: nDCG@1 = P@1.
    assert evaluate.ndcg_at_k(y, scores, 1) == pytest.approx(2 / 3)
    assert evaluate.ndcg_at_k(y, scores, 1) == pytest.approx(ndcg_score(y, scores, k=1))
    # Row 2 at k=2: ranks (0, 2), hit at rank 2 -> (1/log2 3) / (1 + 1/log2 3).
    row = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert evaluate.ndcg_at_k(y, scores, 2) == pytest.approx((1 + row + 1) / 3)
    rng = np.random.default_rng(0)
    y_rand = (rng.random((50, 6)) < 0.3).astype(int)
    y_rand[:, 0] |= ~y_rand.any(axis=1)  # every row has a label
    s_rand = rng.normal(size=(50, 6))
    for k in (1, 3):
        assert evaluate.ndcg_at_k(y_rand, s_rand, k) == pytest.approx(
            ndcg_score(y_rand, s_rand, k=k))
    # A row with no true label scores 0, not NaN.
    assert evaluate.ndcg_at_k([[0, 0]], [[0.3, 0.1]], 1) == 0.0


def test_multilabel_metrics_perfect_and_ranges():
    y = np.array([[1, 0, 1], [0, 1, 0]])
    perfect = np.where(y > 0, 1.0, -1.0)
    m = evaluate.multilabel_metrics(y, perfect)
    assert set(m) == {"precision_at_1", "ndcg_at_1", "coverage", "lrap", "f1_weighted",
                      "f1_micro"}
    assert m["precision_at_1"] == m["ndcg_at_1"] == m["lrap"] == m["f1_micro"] == 1.0
    assert m["coverage"] == pytest.approx(1.5)  # mean number of true labels
    worst = -perfect
    m = evaluate.multilabel_metrics(y, worst)
    assert m["precision_at_1"] == 0.0 and m["f1_micro"] == 0.0


def test_single_label_metrics_and_confused_pairs():
    names = ["a", "b", "c"]
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2, 1, 2])
    m = evaluate.single_label_metrics(y_true, y_pred)
    assert m["accuracy"] == pytest.approx(4 / 8)
    assert 0 <= m["f1_macro"] <= 1
    ids = [f"d{i}" for i in range(8)]
    pairs = evaluate.confused_pairs(y_true, y_pred, ids, names)
    assert pairs[0] == {"true": "a", "predicted": "b", "count": 2, "rate": pytest.approx(2 / 3),
                        "ids": ["d1", "d2"]}
    assert {(p["true"], p["predicted"]) for p in pairs} == {("a", "b"), ("b", "a"), ("c", "b")}
    ml = evaluate.multilabel_confused_pairs(
        np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0]]),
        np.array([[0, 0, 1], [0, 0, 1], [0, 1, 1]]), ["x", "y", "z"], names)
    assert ml == [{"true": "a", "predicted": "c", "count": 2, "rate": 1.0, "ids": ["x", "y"]}]


def test_decision_scores_rank_never_seen_labels_last():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    Y = np.zeros((60, 3), dtype=int)
    Y[:, 0] = X[:, 0] > 0
    Y[:, 1] = X[:, 1] > 0
    # Label 2 never occurs in training: scikit-learn scores it 0 for every row.
    clf = make_classifier("linearsvc", multilabel=True)
    with pytest.warns(UserWarning, match="present in all training examples"):
        clf.fit(X, Y)
    scores = decision_scores(clf, X)
    assert np.all(scores[:, 2] < scores[:, :2].min())


# --------------------------------------------------------------------------- token cache


def test_token_cache_hit_skips_tokenizer(tmp_path, monkeypatch):
    calls = []

    def counting_tokenizer(text):
        calls.append(text)
        return text.lower().split()

    monkeypatch.setattr(tokens, "make_tokenizer", lambda *a, **k: counting_tokenizer)
    texts = ["Alpha beta", "gamma DELTA delta", ""]
    first = tokens.tokenize_corpus(texts, "english", cache_dir=tmp_path, progress=False)
    assert first == [["alpha", "beta"], ["gamma", "delta", "delta"], []]
    assert len(calls) == 3
    files = list((tmp_path / "tokens").glob("*.jsonl.gz"))
    assert len(files) == 1

    second = tokens.tokenize_corpus(texts, "english", cache_dir=tmp_path, progress=False)
    assert second == first
    assert len(calls) == 3  # served from the cache

    # Any change of the texts or of the tokenizer settings is a new key.
    tokens.tokenize_corpus(texts[::-1], "english", cache_dir=tmp_path, progress=False)
    assert len(calls) == 6
    tokens.tokenize_corpus(texts, "english", cache_dir=tmp_path, stop_words=["beta"],
                           progress=False)
    assert len(calls) == 9
    assert len(list((tmp_path / "tokens").glob("*.jsonl.gz"))) == 3

    # A damaged cache file is ignored and rewritten, never trusted.
    files[0].write_bytes(b"not gzip")
    again = tokens.tokenize_corpus(texts, "english", cache_dir=tmp_path, progress=False)
    assert again == first and len(calls) == 12


def test_hashes_respect_boundaries():
    assert tokens.hash_texts(["ab", "c"]) != tokens.hash_texts(["a", "bc"])
    assert tokens.hash_tokens([["a", "b"], ["c"]]) != tokens.hash_tokens([["a"], ["b", "c"]])


def test_token_cache_uses_scdv_cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SCDV_CACHE", str(tmp_path / "c"))
    assert tokens.default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SCDV_CACHE")
    assert tokens.default_cache_dir() == Path.home() / ".cache" / "scdv"


# --------------------------------------------------------------------------- stacking helper


def test_column_slice_selects_block_sparse_and_dense():
    X = np.arange(12, dtype=float).reshape(3, 4)
    np.testing.assert_array_equal(ColumnSlice(1, 3).fit_transform(X), X[:, 1:3])
    Xs = sp.csr_matrix(X)
    out = ColumnSlice(2).fit(Xs).transform(Xs)
    assert sp.issparse(out) and out.shape == (3, 2)
    np.testing.assert_array_equal(out.toarray(), X[:, 2:])
    with pytest.raises(ValueError, match="does not fit"):
        ColumnSlice(3, 9).fit(X)
    with pytest.raises(ValueError, match="columns"):
        ColumnSlice(0, 2).fit(X).transform(X[:, :3])


@pytest.mark.parametrize("multilabel", [False, True])
def test_grid_search_on_threads_scores_as_on_one(multilabel):
    rng = np.random.default_rng(0)
    X = sp.random(120, 40, density=0.2, random_state=0, format="csr")
    y = rng.integers(0, 3, 120)
    if multilabel:
        y = np.eye(3, dtype=int)[y]
        y[::5, 0] = 1
    kw = dict(c_grid=[0.1, 1.0, 10.0], n_splits=3, multilabel=multilabel)
    one, summary_one = grid_search(X, y, n_jobs=1, **kw)
    two, summary_two = grid_search(X, y, n_jobs=2, **kw)
    assert summary_two == summary_one
    np.testing.assert_array_equal(two.predict(X), one.predict(X))


def test_stacking_base_estimators_see_only_their_block():
    rng = np.random.default_rng(0)
    n = 120
    y = np.arange(n) % 3
    # Block A (5 columns) carries the class; block B (7 columns) is noise.
    A = rng.normal(size=(n, 5)) + np.eye(3, 5)[y] * 3
    B = rng.normal(size=(n, 7))
    X = sp.csr_matrix(np.hstack([A, B]))
    stack = make_stacking({"scdv": (0, 5), "tfidf": (5, 12)}, {"scdv": 1.0, "tfidf": 1.0},
                          n_splits=3, seed=0)
    stack.fit(X, y)
    scdv_pipe, tfidf_pipe = stack.estimators_
    assert scdv_pipe["clf"].coef_.shape[1] == 5
    assert tfidf_pipe["clf"].coef_.shape[1] == 7
    assert stack.score(X, y) > 0.9
    assert decision_scores(stack, X).shape == (n, 3)


def test_stacking_blend_gives_the_noise_block_no_weight():
    rng = np.random.default_rng(0)
    n = 300
    y = np.arange(n) % 3
    A = rng.normal(size=(n, 5)) + np.eye(3, 5)[y] * 3
    X = sp.csr_matrix(np.hstack([A, rng.normal(size=(n, 7))]))
    stack = make_stacking({"scdv": (0, 5), "tfidf": (5, 12)}, {"scdv": 1.0, "tfidf": 1.0},
                          n_splits=3, seed=0).fit(X, y)
    w_signal, w_noise = stack.final_estimator_.coef_
    # Not exactly 0: out-of-fold scores of a model of pure noise lean slightly
    # against the true class (each held-out fold shifts the class means).
    assert w_signal > 1 and abs(w_noise) < 0.4 * w_signal
    assert isinstance(stack.final_estimator_, ScoreBlend)


def test_score_blend_fits_the_weighted_sum_of_scores():
    rng = np.random.default_rng(1)
    n, L = 2000, 4
    S1, S2 = rng.normal(size=(n, L)), rng.normal(size=(n, L))
    bias = np.array([0.5, -0.5, 0.0, 1.0])
    z = 2.0 * S1 + 0.5 * S2 + bias
    y = np.array([rng.choice(L, p=p) for p in np.exp(z) / np.exp(z).sum(1, keepdims=True)])
    blend = ScoreBlend(alpha=0).fit(np.hstack([S1, S2]), y)
    np.testing.assert_allclose(blend.coef_, [2.0, 0.5], atol=0.2)
    # Biases are identified up to a shared shift under the softmax.
    centred = blend.intercept_ - blend.intercept_.mean()
    np.testing.assert_allclose(centred, bias - bias.mean(), atol=0.2)
    proba = blend.predict_proba(np.hstack([S1, S2]))
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert (blend.predict(np.hstack([S1, S2])) == y).mean() > 0.5


@pytest.mark.parametrize("kind", ["binary", "multilabel"])
def test_score_blend_binary_and_multilabel_use_a_sigmoid_per_column(kind):
    rng = np.random.default_rng(2)
    n = 1000
    L = 1 if kind == "binary" else 3
    S1, S2 = rng.normal(size=(n, L)), rng.normal(size=(n, L))
    Y = (rng.random((n, L)) < 1 / (1 + np.exp(-(3 * S1 - 1)))).astype(int)
    y = np.where(Y[:, 0] == 1, "yes", "no") if kind == "binary" else Y
    blend = ScoreBlend().fit(np.hstack([S1, S2]), y)
    assert blend.coef_[0] > 2 and abs(blend.coef_[1]) < 0.5
    pred = blend.predict(np.hstack([S1, S2]))
    if kind == "binary":
        assert set(pred) <= {"yes", "no"}
        assert blend.decision_function(np.hstack([S1, S2])).shape == (n,)
        assert blend.predict_proba(np.hstack([S1, S2])).shape == (n, 2)
    else:
        assert pred.shape == (n, L) and set(np.unique(pred)) <= {0, 1}
    with pytest.raises(ValueError, match="blocks"):
        blend.predict(np.hstack([S1, S2, S1]))


def test_build_features_w2v_avg_and_stacking_blocks(tmp_path):
    from tests.conftest import make_corpus

    docs, labels = make_corpus(60)
    toks = [d.lower().rstrip(".").split() for d in docs]
    params = dict(vector_size=8, n_components=3, min_count=2, epochs=2, window=3,
                  negative=3, random_state=0)
    fs = build_features("stacking", train_texts=docs[:40], test_texts=docs[40:],
                        train_tokens=toks[:40], test_tokens=toks[40:], language="english",
                        scdv_params=params, cache_dir=tmp_path)
    assert fs.blocks["scdv"] == (0, 24)
    assert fs.blocks["tfidf"][0] == 24 and fs.blocks["tfidf"][1] == fs.X_train.shape[1]
    assert fs.X_test.shape[1] == fs.X_train.shape[1]
    assert len(list((tmp_path / "models").glob("*.scdv"))) == 1
    # The same fit is reused from the disk cache (no refit: fit time 0).
    again = build_features("w2v-avg", train_texts=docs[:40], test_texts=docs[40:],
                           train_tokens=toks[:40], test_tokens=toks[40:], language="english",
                           scdv_params=params, cache_dir=tmp_path)
    assert again.info["scdv_cache_hit"] and again.X_train.shape == (40, 8)
    from scdv import SGNSWord2Vec
    model = SGNSWord2Vec(vector_size=8, min_count=2, epochs=2, window=3, negative=3,
                         random_state=0).fit(toks[:40])
    np.testing.assert_allclose(w2v_average(model, toks[:5]), model.transform(toks[:5]),
                               atol=1e-6)


def test_sublinear_and_power_features_reuse_the_cached_fit(tmp_path):
    from tests.conftest import make_corpus

    docs, _ = make_corpus(60)
    toks = [d.lower().rstrip(".").split() for d in docs]
    params = dict(vector_size=8, n_components=3, min_count=2, epochs=2, window=3,
                  negative=3, random_state=0, workers=1)
    common = dict(train_texts=docs[:40], test_texts=docs[40:], train_tokens=toks[:40],
                  test_tokens=toks[40:], language="english", cache_dir=tmp_path)
    params.update(sublinear_tf=False, power=None)  # the paper's vectors, whatever SCDV()'s are
    plain = build_features("scdv", scdv_params=params, **common)
    tuned = build_features("scdv", scdv_params={**params, "sublinear_tf": True, "power": 0.5},
                           **common)
    sparser = build_features("scdv", scdv_params={**params, "sparsity_percentage": 0.2},
                             **common)
    ms = build_features("scdv", scdv_params={**params, "cluster_proba_threshold": 0.3},
                        **common)
    # One cached fit serves them all: the posterior cut and the threshold are
    # applied to it, word2vec and the mixture are not refitted.
    assert len(list((tmp_path / "models").glob("*.scdv"))) == 1
    assert tuned.info["scdv_cache_hit"] and sparser.info["scdv_cache_hit"]
    assert ms.info["scdv_cache_hit"]
    cached, _, _ = fit_scdv_cached(toks[:40], {**params, "cluster_proba_threshold": 0.3},
                                   tmp_path)
    fresh = SCDV(**{**params, "cluster_proba_threshold": 0.3, "tokenizer": None}).fit(toks[:40])
    np.testing.assert_allclose(cached.word_cluster_proba_, fresh.word_cluster_proba_)
    assert cached.threshold_ == pytest.approx(fresh.threshold_, rel=1e-9)
    assert tuned.info["scdv_threshold"] != plain.info["scdv_threshold"]
    assert sparser.info["scdv_threshold"] > plain.info["scdv_threshold"]
    assert sparser.X_train.nnz < plain.X_train.nnz
    norms = np.sqrt(np.asarray(tuned.X_train.multiply(tuned.X_train).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms[norms > 0], 1, atol=1e-5)


def test_hybrid_features_are_make_hybrid_of_the_same_fit(tmp_path):
    import scdv
    from tests.conftest import make_corpus

    docs, _ = make_corpus(60)
    toks = [scdv.english_tokenize(d) for d in docs]
    params = dict(vector_size=8, n_components=3, min_count=2, epochs=2, window=3,
                  negative=3, random_state=0, workers=1)
    hybrid = build_features("hybrid", train_texts=docs[:40], test_texts=docs[40:],
                            train_tokens=toks[:40], test_tokens=toks[40:],
                            language="english", scdv_params=params, cache_dir=tmp_path)
    union = scdv.make_hybrid(**params).fit(docs[:40])
    np.testing.assert_allclose(hybrid.X_test.toarray(), union.transform(docs[40:]).toarray(),
                               atol=1e-6)
    start, stop = hybrid.blocks["scdv"]
    assert stop - start == 24 and hybrid.blocks["tfidf"][0] == stop
    assert union.transformer_weights == {"scdv": scdv.HYBRID_WEIGHT, "tfidf": 1.0}


def test_another_mixture_reuses_the_cached_word_vectors(tmp_path, monkeypatch):
    from tests.conftest import make_corpus

    docs, _ = make_corpus(60)
    toks = [d.lower().rstrip(".").split() for d in docs]
    params = dict(vector_size=8, n_components=3, min_count=2, epochs=2, window=3,
                  negative=3, random_state=0, workers=1)
    base, _, _ = fit_scdv_cached(toks, params, tmp_path)
    fresh = SCDV(**{**params, "covariance_type": "diag", "n_components": 4,
                    "tokenizer": None}).fit(toks)
    trained = []
    real_train = scdv.fit_steps.train_word_vectors
    monkeypatch.setattr(scdv.fit_steps, "train_word_vectors",
                        lambda *a, **k: trained.append(1) or real_train(*a, **k))
    diag, seconds, path = fit_scdv_cached(
        toks, {**params, "covariance_type": "diag", "n_components": 4}, tmp_path)
    assert not trained and seconds is not None and path.is_file()
    np.testing.assert_array_equal(diag.word_vectors_, base.word_vectors_)
    np.testing.assert_allclose(diag.word_cluster_proba_, fresh.word_cluster_proba_, atol=1e-12)
    assert diag.threshold_ == pytest.approx(fresh.threshold_, rel=1e-9)
    # Word2vec's key differs (another min_count): it is trained again.
    fit_scdv_cached(toks, {**params, "min_count": 3}, tmp_path)
    assert trained == [1]


def test_pretrained_vectors_file_is_cached_by_path_size_and_time(tmp_path):
    from gensim.models import KeyedVectors
    from tests.conftest import make_corpus

    docs, _ = make_corpus(60)
    toks = [d.lower().rstrip(".").split() for d in docs]
    words = sorted({w for doc in toks for w in doc})
    rng = np.random.default_rng(0)
    kv = KeyedVectors(vector_size=5)
    kv.add_vectors(words, rng.normal(size=(len(words), 5)).astype(np.float32))
    path = tmp_path / "vectors.txt"
    kv.save_word2vec_format(str(path))
    params = dict(word_vectors=str(path), n_components=3, min_count=2, random_state=0)
    model, seconds, cached = fit_scdv_cached(toks, params, tmp_path)
    assert seconds is not None and model.word_vectors_.shape[1] == 5
    assert set(model.vocabulary_) <= set(words)
    again, seconds, same = fit_scdv_cached(toks, params, tmp_path)
    assert seconds is None and same == cached
    # The same path with other contents is another model.
    kv.vectors *= 2
    kv.save_word2vec_format(str(path), binary=True)
    other, seconds, elsewhere = fit_scdv_cached(toks, params, tmp_path)
    assert seconds is not None and elsewhere != cached
    np.testing.assert_allclose(other.word_vectors_, model.word_vectors_, rtol=1e-5)  # unit rows
    # An in-memory KeyedVectors has no stable key: nothing is cached for it.
    _, seconds, nowhere = fit_scdv_cached(toks, {**params, "word_vectors": kv}, tmp_path)
    assert seconds is not None and nowhere is None


def test_scdv_svd_gives_dense_unit_rows_from_the_cached_model(tmp_path):
    from tests.conftest import make_corpus

    docs, _ = make_corpus(60)
    toks = [d.lower().rstrip(".").split() for d in docs]
    params = dict(vector_size=8, n_components=3, min_count=2, epochs=2, window=3,
                  negative=3, random_state=0, workers=1)
    fs = build_features("scdv-svd", train_texts=docs[:40], test_texts=docs[40:],
                        train_tokens=toks[:40], test_tokens=toks[40:], language="english",
                        scdv_params=params, cache_dir=tmp_path)
    # A sixth of the 24 columns SCDV has (2,000 of the paper's 12,000).
    assert fs.X_train.shape == (40, 4) and fs.X_test.shape == (20, 4)
    assert isinstance(fs.X_train, np.ndarray) and fs.X_train.dtype == np.float32
    norms = np.linalg.norm(fs.X_train, axis=1)
    np.testing.assert_allclose(norms[norms > 0], 1, atol=1e-5)
    assert fs.info["svd_components"] == 4
    assert 0 < fs.info["svd_explained_variance"] <= 1 + 1e-6


# --------------------------------------------------------------------------- CLI errors


def test_cli_missing_data_is_one_line_exit_1(tmp_path, capsys):
    status = classify.main(["--dataset", "reuters", "--quick", "--data-dir",
                            str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert len(err) == 1 and "Reuters" in err[0] and "nowhere" in err[0]
    assert "Traceback" not in err[0]


@pytest.mark.parametrize("argv", [
    ["--dataset", "imdb"],
    ["--dataset", "20ng", "--cv", "1"],
    ["--dataset", "20ng", "--c-grid", "1,-2"],
    ["--dataset", "20ng", "--method", "bert"],
    ["--dataset", "20ng", "--scdv", "fancy"],
])
def test_cli_bad_options_exit_2_one_line(argv, capsys):
    with pytest.raises(SystemExit) as info:
        classify.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]


def test_cli_bad_word_vectors_file_is_one_line_exit_2(tmp_path, capsys):
    missing = classify.main(["--dataset", "20ng", "--word-vectors", str(tmp_path / "no.bin")])
    (tmp_path / "notes.txt").write_text("these are not word vectors\n")
    foreign = classify.main(["--dataset", "20ng", "--word-vectors",
                             str(tmp_path / "notes.txt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert missing == foreign == 2
    assert len(err) == 2 and "no.bin" in err[0] and "notes.txt" in err[1]
    assert "word2vec" in err[1] and "Traceback" not in "".join(err)


def test_cli_word_vectors_with_a_damaged_body_is_one_line_exit_2(tmp_path, capsys):
    _require("20ng")
    damaged = tmp_path / "damaged.txt"
    damaged.write_text("3 2\nfoo 1 2\nbar x y\n")  # a good header, then no numbers
    out = tmp_path / "out.json"
    status = classify.main(["--dataset", "20ng", "--quick", "--word-vectors", str(damaged),
                            "--cache-dir", str(tmp_path), "--output", str(out), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and not out.exists()
    assert len(err) == 1 and "damaged.txt" in err[0] and "Traceback" not in err[0]


def test_run_rejects_bad_values():
    with pytest.raises(classify.UsageError, match="classifier"):
        classify.run("20ng", classifier="svm")
    with pytest.raises(classify.UsageError, match="cv"):
        classify.run("20ng", cv=1)
    with pytest.raises(classify.UsageError, match="scdv_preset"):
        classify.run("20ng", scdv_preset="fancy")


def test_presets_are_the_library_defaults_or_the_paper_and_yield_to_overrides():
    import scdv

    # "defaults" adds only word2vec's threads to SCDV()'s own settings.
    assert classify.scdv_settings("20ng", "defaults") == {**classify.FULL_SCDV,
                                                          "random_state": 0}
    assert classify.scdv_settings("livedoor", "defaults", seed=2) == {
        **classify.FULL_SCDV, "random_state": 2}
    paper = classify.scdv_settings("reuters", "paper")
    model = scdv.SCDV(**paper)
    assert {k: model.get_params()[k] for k in scdv.PAPER_PARAMS} == scdv.PAPER_PARAMS
    # Quick runs keep their small model; the caller's overrides win over the preset.
    quick = classify.scdv_settings("20ng", "paper", quick=True)
    assert quick["n_components"] == classify.QUICK_SCDV["n_components"]
    assert quick["sublinear_tf"] is False and quick["power"] is None
    mine = classify.scdv_settings("20ng", "paper", overrides={"n_components": 7}, seed=3)
    assert (mine["n_components"], mine["min_count"], mine["random_state"]) == (7, 20, 3)


def test_run_config_is_frozen_checked_and_built_from_the_command_line():
    args = classify.build_parser().parse_args(
        ["--dataset", "20ng", "--quick", "--c-grid", "1,10", "--l2-normalize", "--seed", "4"])
    config = classify.RunConfig.from_args(args)
    assert config == classify.RunConfig("20ng", quick=True, c_grid=[1.0, 10.0], scdv_l2=True,
                                        seed=4)
    assert config.class_weight is None and config.n_splits == 3 and config.grid == [1.0, 10.0]
    assert config.scdv == classify.scdv_settings("20ng", "defaults", quick=True, seed=4)
    assert config.sizes == {"n_train": 1500, "n_test": 800}
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1
    assert classify.RunConfig("20ng", class_weight="none").class_weight is None
    with pytest.raises(classify.UsageError, match="blas_threads"):
        classify.RunConfig("20ng", blas_threads=0)
    with pytest.raises(classify.UsageError, match="dataset"):
        classify.RunConfig(["20ng"])
    # The caller's dicts are copied: editing them later changes no config.
    overrides, subset = {"n_components": 7}, {"n_train": 10}
    mine = classify.RunConfig("20ng", scdv_params=overrides, subset=subset)
    overrides["n_components"], subset["n_train"] = 8, 11
    assert mine.scdv["n_components"] == 7 and mine.sizes == {"n_train": 10}


def test_classify_names_no_corpus():
    # Corpora live in the registry (pipelines.datasets); classify reads them from there.
    source = Path(classify.__file__).read_text(encoding="utf-8").lower()
    words = {name.lower() for name in datasets.DATASETS} | {"newsgroups", "reuters",
                                                            "livedoor"}
    assert sorted(word for word in words if word in source) == []
    assert classify.QUICK["20ng"] == {"n_train": 1500, "n_test": 800}
    assert list(classify.QUICK) == list(datasets.DATASETS)


# --------------------------------------------------------------------------- a registered corpus


def _tiny_bunch(subset, multilabel):
    """90 documents of three topics (tests.conftest); "train" is the first 60."""
    from tests.conftest import make_corpus

    docs, labels = make_corpus(90, seed=1)
    names = sorted(set(labels))
    target = np.array([names.index(label) for label in labels])
    if multilabel:
        Y = np.eye(len(names), dtype=np.uint8)[target]
        Y[::4, (target[::4] + 1) % len(names)] = 1  # every fourth document has two labels
        target = Y
    rows = list({"train": range(60), "test": range(60, 90), "all": range(90)}[subset])
    return Bunch(data=[docs[i] for i in rows], target=target[rows], target_names=names,
                 ids=[f"tiny/{i}" for i in rows], subset=subset)


@pytest.fixture
def tiny_corpora(monkeypatch):
    """Two made-up corpora in the registry, as a new corpus would be added; returns the
    subsets their loaders were asked for."""
    calls = []

    def loader(multilabel):
        def load(subset, data_dir=None, download_if_missing=True):
            calls.append(subset)
            return _tiny_bunch(subset, multilabel)

        return load

    monkeypatch.setitem(datasets.DATASETS, "tiny-folds", datasets.DatasetInfo(
        title="tiny folds", loader=loader(False), language="english", multilabel=False,
        metric="accuracy", split=datasets.StratifiedFolds(n_folds=3), quick={"n_docs": 60},
        presets={"defaults": datasets.PresetSettings(
            scdv={"n_components": 5}, tokens={"stop_words": ["people"]}, summary="K=5")}))
    monkeypatch.setitem(datasets.DATASETS, "tiny-tags", datasets.DatasetInfo(
        title="tiny tags", loader=loader(True), language="english", multilabel=True,
        metric="precision_at_1", split=datasets.TrainTestSplit("tiny train/test"),
        quick={"n_train": 45}))
    return calls


def test_a_registered_corpus_runs_through_the_cli(tiny_corpora, tmp_path, capsys):
    assert "K=5 on tiny-folds" in classify.build_parser().format_help()
    assert classify.scdv_settings("tiny-folds", "defaults")["n_components"] == 5
    out = tmp_path / "r.json"
    status = classify.main(["--dataset", "tiny-folds", "--quick", "--output", str(out),
                            "--cache-dir", str(tmp_path / "cache"), "-q"])
    assert status == 0 and "accuracy" in capsys.readouterr().out
    result = json.loads(out.read_text())
    _check_schema(result, "tiny-folds")
    assert tiny_corpora == ["all"]
    assert result["params"]["split"] == "stratified 3-fold cross-validation (shuffled, seed 0)"
    assert result["params"]["quick_config"]["subset"] == {"n_docs": 60}
    assert result["params"]["tokenizer"] == "english"
    assert result["params"]["tokenizer_settings"] == {"stop_words": ["people"]}
    assert result["params"]["scdv"]["n_components"] == classify.QUICK_SCDV["n_components"]
    effective = result["params"]["scdv_effective"]  # every parameter, defaults included
    assert set(effective) == set(SCDV().get_params())
    assert effective["n_components"] == classify.QUICK_SCDV["n_components"]
    assert effective["covariance_type"] == SCDV().covariance_type
    assert len(result["cv"]["folds"]) == 3 and result["n_train"] + result["n_test"] == 60
    assert result["metrics"]["accuracy"] > 0.6  # three distinct topics; chance is 1/3


def test_a_registered_multilabel_corpus_runs_with_plots(tiny_corpora, tmp_path):
    plots = tmp_path / "plots"
    result = classify.run("tiny-tags", quick=True, cache_dir=tmp_path, plots_dir=plots)
    _check_schema(result, "tiny-tags")
    assert tiny_corpora == ["train", "test"]
    assert set(result["metrics"]) == {"precision_at_1", "ndcg_at_1", "coverage", "lrap",
                                      "f1_weighted", "f1_micro"}
    assert result["n_train"] == 45 and result["n_test"] == 30
    assert result["params"]["split"] == "tiny train/test"
    assert result["params"]["classifier"]["multilabel"] == "one-vs-rest"
    assert result["cv"]["scheme"].endswith("(test set: tiny train/test)")
    assert "n_docs_with_errors" in result["errors"]
    names = sorted(p.name for p in plots.glob("*.png"))
    assert names == ["tiny-tags-scdv-inductive-folds.png",
                     "tiny-tags-scdv-inductive-label-f1.png", "tiny-tags-scdv-inductive-map.png"]


# --------------------------------------------------------------------------- quick runs

TOP_KEYS = {"dataset", "protocol", "method", "params", "metrics", "cv", "timings_s",
            "versions", "report", "errors", "n_train", "n_test", "quick"}


def _require(name):
    """Skip unless the corpus can be read (no download is attempted)."""
    if resolve_data_dir() is None:
        pytest.skip("no corpus folder: set SCDV_DATA or provide ../shared/data")
    try:
        load_dataset(name, "all" if name == "livedoor" else "test",
                     download_if_missing=False)
    except DatasetNotFoundError as exc:
        pytest.skip(f"{name} corpus not available: {str(exc).splitlines()[0]}")


def _check_schema(result, dataset):
    assert TOP_KEYS <= set(result)
    assert result["dataset"] == dataset and result["quick"] is True
    assert result["protocol"] == "inductive"
    assert set(result["versions"]) == {"python", "numpy", "scipy", "sklearn", "gensim", "scdv"}
    for stage in ("load", "tokenize", "fit_scdv", "vectorize", "grid_search", "predict",
                  "total"):
        assert result["timings_s"][stage] >= 0
    assert result["params"]["quick_config"] is not None
    json.dumps(result)  # JSON-ready
    for value in result["metrics"].values():
        assert np.isfinite(value)


def test_quick_20ng_through_main(tmp_path, capsys):
    _require("20ng")
    out = tmp_path / "r.json"
    status = classify.main(["--dataset", "20ng", "--quick", "--output", str(out),
                            "--cache-dir", str(tmp_path / "cache"), "-q"])
    assert status == 0
    assert "accuracy" in capsys.readouterr().out
    result = json.loads(out.read_text())
    _check_schema(result, "20ng")
    m = result["metrics"]
    assert {"accuracy", "f1_macro"} <= set(m)
    assert all(0 <= v <= 1 for v in m.values())
    assert m["accuracy"] > 3 / 20  # chance is 1/20
    assert result["n_train"] == 1500 and result["n_test"] == 800
    assert len(result["cv"]["fold_scores"]) == 3
    assert len(result["errors"]["most_confused"]) == 5
    assert all(len(p["ids"]) <= 5 for p in result["errors"]["most_confused"])


def test_quick_reuters(tmp_path):
    _require("reuters")
    result = classify.run("reuters", quick=True, cache_dir=tmp_path)
    _check_schema(result, "reuters")
    m = result["metrics"]
    assert set(m) == {"precision_at_1", "ndcg_at_1", "coverage", "lrap", "f1_weighted",
                      "f1_micro"}
    for key in ("precision_at_1", "ndcg_at_1", "lrap", "f1_weighted", "f1_micro"):
        assert 0 <= m[key] <= 1
    # Always ranking the most frequent label ("earn") first gives P@1 ~ 0.36.
    assert m["precision_at_1"] > 0.6
    assert 1 <= m["coverage"] < 20  # 90 labels; random ranking would be ~45


def test_quick_livedoor_with_plots(tmp_path):
    _require("livedoor")
    plots = tmp_path / "plots"
    result = classify.run("livedoor", quick=True, cache_dir=tmp_path, plots_dir=plots)
    _check_schema(result, "livedoor")
    assert result["n_train"] + result["n_test"] == 450
    m = result["metrics"]
    assert all(0 <= v <= 1 for v in m.values())
    assert m["accuracy"] > 2 / 9  # chance is 1/9
    assert len(result["cv"]["folds"]) == 5
    assert set(result["cv"]["std"]) == set(m)
    names = sorted(p.name for p in plots.glob("*.png"))
    assert names == ["livedoor-scdv-inductive-confusion.png",
                     "livedoor-scdv-inductive-folds.png", "livedoor-scdv-inductive-map.png"]
    # livedoor's tokens keep particles (は, が) and symbols, which the janome default drops.
    assert "助詞" in result["params"]["tokenizer_settings"]["pos"]
    (cached,) = (tmp_path / "tokens").glob("janome-*.jsonl.gz")
    with gzip.open(cached, "rt", encoding="utf-8") as f:
        tokens = {t for line in f for t in json.loads(line)}
    assert {"は", "が", "。"} <= tokens


def test_quick_20ng_doc2vec_peer(tmp_path):
    _require("20ng")
    result = classify.run("20ng", method="doc2vec", quick=True, cache_dir=tmp_path)
    assert result["method"] == "doc2vec"
    assert result["params"]["doc2vec"]["dm"] == 0  # PV-DBOW
    assert result["params"]["features"][0]["n_features"] == 50
    assert 3 / 20 < result["metrics"]["accuracy"] <= 1


def test_the_model_cache_key_spells_out_scdv_defaults(tmp_path):
    # A key of the given settings alone would serve a model fitted under older
    # defaults; spelled out, leaving a default out or writing it is one model.
    from tests.conftest import make_corpus

    docs, _ = make_corpus(40)
    toks = [d.lower().rstrip(".").split() for d in docs]
    small = dict(vector_size=8, min_count=2, epochs=2, window=3, negative=3)
    implicit = scdv_cache_path(toks, {**SCDV().get_params(), **small}, tmp_path)
    given = scdv_cache_path(toks, {**SCDV().get_params(), **small,
                                   "n_components": SCDV().n_components}, tmp_path)
    other = scdv_cache_path(toks, {**SCDV().get_params(), **small, "n_components": 3},
                            tmp_path)
    assert implicit == given != other
    model, _, _ = fit_scdv_cached(toks, {**small, "n_components": 3, "random_state": 0},
                                  tmp_path)
    again, seconds, _ = fit_scdv_cached(toks, {**small, "n_components": 3, "random_state": 0,
                                               "sample": SCDV().sample}, tmp_path)
    assert seconds is None  # the same settings, spelled out: the cached model
    assert model.sublinear_tf is SCDV().sublinear_tf and again.n_components == 3
