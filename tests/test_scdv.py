"""The composite SCDV transformer: its contract as a scikit-learn text
transformer, and its numbers against a plain per-token implementation."""

import copy
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from scdv import SCDV, composite_document_vectors, word_topic_vectors
from scdv.tokenize import english_tokenize

from .conftest import JAPANESE_DOCS, SMALL_PARAMS, make_corpus


def reference_vectors(model, token_docs, threshold=None):
    """The paper's loop: add each token's dense word-topic vector, normalise, cut."""
    wtv = word_topic_vectors(model.word_vectors_, model.word_cluster_proba_, model.idf_)
    out = np.zeros((len(token_docs), wtv.shape[1]))
    for i, doc in enumerate(token_docs):
        for token in doc:
            if token in model.vocabulary_:
                out[i] += wtv[model.vocabulary_[token]]
        norm = np.linalg.norm(out[i])
        if norm > 0:
            out[i] /= norm
    t = model.threshold_ if threshold is None else threshold
    return np.where(np.abs(out) < t, 0, out)


def assert_matches_reference(X, unthresholded, threshold, atol=1e-5):
    """Entry-wise within ``atol`` of the reference; entries whose true value
    lies within ``atol`` of the threshold may fall on either side of it."""
    expected = np.where(np.abs(unthresholded) < threshold, 0, unthresholded)
    near_cut = np.abs(np.abs(unthresholded) - threshold) <= atol
    X = X.toarray()
    np.testing.assert_allclose(X[~near_cut], expected[~near_cut], atol=atol, rtol=0)


def test_transform_matches_per_token_reference(fitted, corpus):
    docs = corpus[0][:30] + ["orbit orbit orbit hockey", ""]
    ref = reference_vectors(fitted, [english_tokenize(d) for d in docs], threshold=0)
    assert_matches_reference(fitted.transform(docs), ref, fitted.threshold_)


def test_sublinear_tf_weighs_each_word_by_one_plus_log_count(fitted):
    from collections import Counter

    model = copy.deepcopy(fitted).set_params(sublinear_tf=True)
    docs = ["orbit orbit orbit orbit hockey", "hockey", ""]
    wtv = word_topic_vectors(model.word_vectors_, model.word_cluster_proba_, model.idf_)
    ref = np.zeros((len(docs), wtv.shape[1]))
    for i, doc in enumerate(docs):
        for word, count in Counter(english_tokenize(doc)).items():
            if word in model.vocabulary_:
                ref[i] += (1 + np.log(count)) * wtv[model.vocabulary_[word]]
        norm = np.linalg.norm(ref[i])
        ref[i] /= norm if norm else 1
    X = model.transform(docs)
    assert_matches_reference(X, ref, model.threshold_)
    assert (X != fitted.transform(docs)).nnz > 0  # the plain sum differs


def test_sublinear_tf_threshold_is_learned_from_sublinear_vectors(corpus):
    plain = SCDV(**SMALL_PARAMS).fit(corpus[0])
    sub = SCDV(**{**SMALL_PARAMS, "sublinear_tf": True}).fit(corpus[0])
    np.testing.assert_array_equal(plain.word_vectors_, sub.word_vectors_)
    sub_train = copy.deepcopy(sub)
    sub_train.threshold_ = 0.0
    full = sub_train.transform(corpus[0]).toarray()
    expected = sub.sparsity_percentage * (abs(full.max(axis=1).mean())
                                          + abs(full.min(axis=1).mean())) / 2
    assert sub.threshold_ == pytest.approx(expected, abs=1e-6)
    assert sub.threshold_ != pytest.approx(plain.threshold_, abs=1e-9)


@pytest.mark.parametrize("change", [{"sparsity_percentage": 0.1}, {"sublinear_tf": True}])
def test_refit_threshold_equals_the_threshold_of_a_full_fit(fitted, corpus, change):
    fresh = SCDV(**{**fitted.get_params(), **change}).fit(corpus[0])
    twin = copy.deepcopy(fitted).set_params(**change).refit_threshold(corpus[0])
    assert twin.threshold_ == pytest.approx(fresh.threshold_, rel=1e-12)
    assert twin.threshold_ != fitted.threshold_
    np.testing.assert_array_equal(twin.idf_, fitted.idf_)


@pytest.mark.parametrize("change", [
    {"n_components": 3},
    {"covariance_type": "diag"},
    {"cluster_proba_threshold": 0.3, "renormalize_proba": True},
])
def test_refit_mixture_equals_a_full_fit_with_the_same_word_vectors(fitted, corpus, change):
    # One word2vec worker and a seed: a full fit trains the same word vectors.
    fresh = SCDV(**{**fitted.get_params(), **change}).fit(corpus[0])
    np.testing.assert_array_equal(fresh.word_vectors_, fitted.word_vectors_)
    twin = copy.deepcopy(fitted).set_params(**change).refit_mixture(corpus[0])
    np.testing.assert_allclose(twin.word_cluster_proba_, fresh.word_cluster_proba_,
                               rtol=0, atol=1e-12)
    assert twin.threshold_ == pytest.approx(fresh.threshold_, rel=1e-12)
    same_mixture = (twin.word_cluster_proba_.shape == fitted.word_cluster_proba_.shape
                    and np.allclose(twin.word_cluster_proba_, fitted.word_cluster_proba_))
    assert not same_mixture
    assert twin.transform(corpus[0][:3]).shape == fresh.transform(corpus[0][:3]).shape


def test_refit_mixture_with_more_clusters_than_words_says_so(fitted, corpus):
    with pytest.raises(ValueError, match="words"):
        fitted.set_params(n_components=len(fitted.vocabulary_) + 1).refit_mixture(corpus[0])


def test_threshold_is_the_paper_formula_over_training_vectors(fitted, corpus):
    dense = reference_vectors(fitted, [english_tokenize(d) for d in corpus[0]], threshold=0)
    a_min, a_max = dense.min(axis=1).mean(), dense.max(axis=1).mean()
    expected = fitted.sparsity_percentage * (abs(a_max) + abs(a_min)) / 2
    assert fitted.threshold_ == pytest.approx(expected, abs=1e-7)
    assert fitted.threshold_ > 0


def test_idf_is_smooth_idf_over_training_documents(fitted, corpus):
    tokens = [set(english_tokenize(d)) for d in corpus[0]]
    n = len(tokens)
    for word in ["orbit", "hockey", "people"]:
        df = sum(word in t for t in tokens)
        row = fitted.vocabulary_[word]
        assert fitted.idf_[row] == pytest.approx(np.log((1 + n) / (1 + df)) + 1)


def test_output_is_csr_float32_with_cluster_major_columns(fitted, corpus):
    X = fitted.transform(corpus[0][:5])
    K, d = SMALL_PARAMS["n_components"], SMALL_PARAMS["vector_size"]
    assert sp.isspmatrix_csr(X) and X.dtype == np.float32 and X.shape == (5, K * d)
    assert X.has_canonical_format
    names = fitted.get_feature_names_out()
    assert len(names) == K * d and names[d + 3] == "cluster1_dim3"
    # A document of one word lies in the blocks of that word's clusters only.
    word = "orbit"
    row = fitted.transform([word]).toarray().reshape(K, d)
    proba = fitted.word_cluster_proba_[fitted.vocabulary_[word]]
    for k in range(K):
        if proba[k] < 1e-3:
            assert not row[k].any()


def test_fit_transform_equals_fit_then_transform(corpus):
    model = SCDV(**SMALL_PARAMS)
    Xa = model.fit_transform(corpus[0])
    Xb = model.transform(corpus[0])
    assert (Xa != Xb).nnz == 0


def test_empty_and_out_of_vocabulary_documents_give_zero_rows(fitted):
    X = fitted.transform(["", "zzzz qqqq", "!!! 123", "orbit"])
    assert X[:3].nnz == 0 and X[3].nnz > 0
    assert np.isfinite(X.data).all()


def test_rows_are_unit_length_before_the_cut(fitted, corpus):
    ref = reference_vectors(fitted, [english_tokenize(d) for d in corpus[0][:10]], threshold=0)
    np.testing.assert_allclose(np.linalg.norm(ref, axis=1), 1, rtol=1e-6)
    X = fitted.transform(corpus[0][:10])
    # The cut only removes mass, never adds it.
    assert (sp.linalg.norm(X, axis=1) <= 1 + 1e-6).all()


def test_same_random_state_gives_identical_output(corpus):
    X1 = SCDV(**SMALL_PARAMS).fit_transform(corpus[0])
    X2 = SCDV(**SMALL_PARAMS).fit_transform(corpus[0])
    assert (X1 != X2).nnz == 0


def test_different_random_state_gives_different_vectors(corpus):
    params = {**SMALL_PARAMS, "random_state": 1}
    a = SCDV(**SMALL_PARAMS).fit(corpus[0]).word_vectors_
    b = SCDV(**params).fit(corpus[0]).word_vectors_
    assert not np.allclose(a, b)


def test_transform_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        SCDV().transform(["text"])
    with pytest.raises(NotFittedError):
        SCDV().get_feature_names_out()


def test_get_set_params_and_clone_round_trip():
    model = SCDV(vector_size=7, tokenizer=None)
    assert model.get_params()["vector_size"] == 7
    model.set_params(n_components=3, sparsity_percentage=0.1)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "vocabulary_")


def test_init_stores_parameters_without_validation():
    # As in scikit-learn: errors surface at fit, not construction.
    model = SCDV(vector_size=-1)
    assert model.vector_size == -1
    with pytest.raises(ValueError, match="'vector_size' parameter of SCDV must be an int in the range \\[1, inf\\)"):
        model.fit(["a b c"])


def test_pickle_round_trip_gives_same_vectors(fitted, corpus):
    twin = pickle.loads(pickle.dumps(fitted))
    assert (twin.transform(corpus[0][:10]) != fitted.transform(corpus[0][:10])).nnz == 0


def test_refit_starts_over(corpus):
    model = SCDV(**SMALL_PARAMS).fit(corpus[0])
    model.set_params(n_components=3).fit(corpus[0])
    assert model.word_cluster_proba_.shape[1] == 3
    assert model.transform(["orbit"]).shape == (1, 3 * SMALL_PARAMS["vector_size"])


def test_rows_do_not_depend_on_batch_order_or_size(fitted, corpus):
    docs = corpus[0][:12]
    X = fitted.transform(docs).toarray()
    order = np.random.RandomState(0).permutation(len(docs))
    shuffled = fitted.transform([docs[i] for i in order]).toarray()
    np.testing.assert_array_equal(shuffled, X[order])
    fitted.set_params(batch_size=5)
    np.testing.assert_array_equal(fitted.transform(docs).toarray(), X)


def test_repeated_tokens_count_again(fitted):
    once = fitted.transform(["orbit hockey"]).toarray()
    twice = fitted.transform(["orbit orbit hockey"]).toarray()
    assert not np.allclose(once, twice)
    doubled = fitted.transform(["orbit hockey orbit hockey"]).toarray()
    np.testing.assert_allclose(once, doubled, atol=1e-6)


def test_cross_val_score_in_a_pipeline():
    docs, labels = make_corpus(n_docs=60)
    pipe = make_pipeline(SCDV(**SMALL_PARAMS), LinearSVC())
    scores = cross_val_score(pipe, docs, labels, cv=3)
    assert scores.mean() > 0.8


def test_pretokenised_input_with_tokenizer_none(corpus):
    tokens = [english_tokenize(d) for d in corpus[0]]
    by_text = SCDV(**SMALL_PARAMS).fit(corpus[0]).transform(corpus[0][:5])
    by_tokens = SCDV(**SMALL_PARAMS, tokenizer=None).fit(tokens).transform(tokens[:5])
    assert (by_text != by_tokens).nnz == 0


def test_a_bad_token_far_into_the_input_is_named_by_its_document(corpus):
    tokens = [english_tokenize(d) for d in corpus[0]]
    model = SCDV(**SMALL_PARAMS, tokenizer=None, batch_size=4).fit(tokens)
    bad = tokens[:10] + [["fine", 7]]
    with pytest.raises(TypeError, match="Document 10 contains a int token"):
        model.transform(bad)


def test_janome_tokenizer_end_to_end():
    docs = JAPANESE_DOCS * 8
    model = SCDV(**{**SMALL_PARAMS, "n_components": 2, "min_count": 1}, tokenizer="janome")
    X = model.fit_transform(docs)
    assert X.shape == (len(docs), 2 * SMALL_PARAMS["vector_size"])
    assert "東京" in model.vocabulary_ and "飲む" in model.vocabulary_
    assert X.getnnz(axis=1).min() > 0
    assert b"janome.tokenizer" not in pickle.dumps(model)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ("one string", ValueError, "string object received"),
        (None, TypeError, "iterable of str"),
        ([1, 2], TypeError, "Document 0 is a int"),
        (["fine", None], TypeError, "Document 1 is a NoneType"),
    ],
)
def test_bad_documents_are_refused_in_fit_and_transform(fitted, bad, error, message):
    with pytest.raises(error, match=message):
        SCDV(**SMALL_PARAMS).fit(bad)
    with pytest.raises(error, match=message):
        fitted.transform(bad)


def test_empty_corpus_says_so():
    with pytest.raises(ValueError, match="corpus is empty"):
        SCDV().fit([])


def test_empty_vocabulary_names_min_count():
    with pytest.raises(ValueError, match="vocabulary is empty.*min_count=20"):
        SCDV().fit(["just a few words", "nothing repeats enough"])


def test_too_few_words_for_the_clusters_names_the_numbers():
    docs = ["alpha beta gamma"] * 5
    with pytest.raises(ValueError, match=r"3 words \(min_count=1\), fewer than "
                                         "n_components=100") as info:
        SCDV(min_count=1, vector_size=8, epochs=1).fit(docs)
    # min_count is already 1: lowering it is no advice.
    assert "min_count'" not in str(info.value) and "n_components'" in str(info.value)


def test_empty_vocabulary_at_min_count_one_does_not_advise_lowering_it():
    with pytest.raises(ValueError, match="vocabulary is empty") as info:
        SCDV(min_count=1).fit(["", "   "])
    assert "Lower 'min_count'" not in str(info.value)


@pytest.mark.parametrize(
    "param, value",
    [("n_components", 0), ("covariance_type", "banana"), ("sparsity_percentage", 2.0),
     ("window", 1.5), ("tokenizer", "klingon"), ("random_state", -3)],
)
def test_bad_parameters_are_named(param, value):
    with pytest.raises(ValueError, match=param if param != "tokenizer" else "'tokenizer'"):
        SCDV(**{param: value}).fit(["a b c"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keep, expect_exact", [(1e-5, False), (0.3, True)])
def test_flat_posteriors_match_the_dense_computation(keep, expect_exact, dtype):
    # Nothing in the kernel relies on peaked posteriors: with flat ones the
    # error bound sends documents down the exact path, and the result must
    # equal the dense sum either way, for float32 and float64 word vectors.
    from scdv import composite

    rng = np.random.RandomState(0)
    V, d, K = 50, 8, 5
    vectors = rng.randn(V, d).astype(dtype)
    proba = rng.dirichlet(np.ones(K), size=V)
    idf = rng.uniform(1, 3, size=V)
    counts = sp.random(20, V, density=0.2, format="csr", random_state=0)
    counts.data = np.ceil(counts.data * 3).astype(np.float32)
    kernel = composite._Kernel(vectors, proba, idf, keep=keep)
    X = kernel.vectors_of([counts[:7], counts[7:]], 0.01)
    assert (kernel.n_exact > 0) == expect_exact
    dense = counts.toarray() @ word_topic_vectors(vectors, proba, idf)
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    ref = dense / np.where(norms == 0, 1, norms)
    assert_matches_reference(X, ref, 0.01, atol=1e-6)


@pytest.mark.parametrize("keep, exact_docs", [(1e-6, (0, 0)), (1e-5, (1, 39)), (3e-2, (40, 40))])
def test_any_posterior_cut_stays_within_tolerance_of_the_dense_sum(keep, exact_docs):
    # Peaked posteriors with a long tail. With these cuts the 40 documents
    # all pass the cheap bound (1e-6), mostly pass the per-cluster bound
    # (1e-5, a few go down the exact path) or all take the exact path
    # (3e-2). Whatever the path, every entry is within the tolerance.
    from scdv import composite

    rng = np.random.RandomState(1)
    V, d, K = 400, 16, 12
    vectors = rng.randn(V, d).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    proba = rng.dirichlet(np.full(K, 0.05), size=V)
    idf = rng.uniform(1, 5, size=V)
    counts = sp.random(40, V, density=0.05, format="csr", random_state=1)
    counts.data = np.ceil(counts.data * 4)
    kernel = composite._Kernel(vectors, proba, idf, keep=keep)
    X = kernel.vectors_of([counts], 0.02)
    assert exact_docs[0] <= kernel.n_exact <= exact_docs[1]
    dense = counts.toarray() @ word_topic_vectors(vectors, proba, idf)
    ref = dense / np.linalg.norm(dense, axis=1, keepdims=True)
    assert_matches_reference(X, ref, 0.02, atol=1e-5)


def test_composite_function_works_on_counts_directly(fitted, corpus):
    tokens = [english_tokenize(d) for d in corpus[0][:8]]
    from scdv import count_matrix

    counts = count_matrix(tokens, fitted.vocabulary_)
    X = composite_document_vectors(counts, fitted.word_vectors_, fitted.word_cluster_proba_,
                                   fitted.idf_, fitted.threshold_, batch_size=3)
    assert (X != fitted.transform(corpus[0][:8])).nnz == 0


def test_deepcopy_is_independent(fitted):
    twin = copy.deepcopy(fitted)
    twin.idf_[:] = 0
    assert fitted.idf_.any()


def test_replacing_fitted_arrays_is_seen_by_transform(fitted, corpus):
    before = fitted.transform(corpus[0][:5])
    fitted.idf_ = fitted.idf_ * 2  # a new array: every row scales, norms cancel it
    np.testing.assert_allclose(fitted.transform(corpus[0][:5]).toarray(), before.toarray(),
                               atol=1e-6)
    fitted.word_cluster_proba_ = np.roll(fitted.word_cluster_proba_, 1, axis=1)
    assert (fitted.transform(corpus[0][:5]) != before).nnz > 0


def test_grid_search_over_a_frozen_scdv_fits_scdv_once(corpus, monkeypatch):
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import GridSearchCV

    docs, labels = corpus
    fits = []
    real_fit = SCDV._fit
    monkeypatch.setattr(SCDV, "_fit", lambda self, X: fits.append(1) or real_fit(self, X))
    model = SCDV(**SMALL_PARAMS).fit(docs)
    threshold = model.threshold_
    search = GridSearchCV(make_pipeline(FrozenEstimator(model), LinearSVC()),
                          {"linearsvc__C": [0.1, 0.3, 1.0, 3.0, 10.0]}, cv=3)
    search.fit(docs, labels)
    assert fits == [1]  # 5 candidates x 3 folds + the refit: never SCDV again
    assert model.threshold_ == threshold
    assert search.best_estimator_.score(docs, labels) > 0.9


def test_paper_params_are_the_papers_settings_whatever_the_defaults():
    from scdv import PAPER_PARAMS

    params = SCDV(**PAPER_PARAMS).get_params()
    assert {k: params[k] for k in ("vector_size", "window", "min_count", "negative",
                                   "sample", "epochs", "n_components", "covariance_type",
                                   "gmm_max_iter", "sparsity_percentage")} == {
        "vector_size": 200, "window": 10, "min_count": 20, "negative": 10, "sample": 1e-3,
        "epochs": 25, "n_components": 60, "covariance_type": "tied", "gmm_max_iter": 50,
        "sparsity_percentage": 0.04}
    assert params["cluster_proba_threshold"] is None and params["sublinear_tf"] is False


def test_fit_records_the_wall_time_of_each_step(fitted):
    assert set(fitted.fit_seconds_) == {"tokenize", "word_vectors", "mixture", "idf",
                                        "threshold"}
    assert all(seconds >= 0 for seconds in fitted.fit_seconds_.values())
