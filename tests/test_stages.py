"""The single stages: scikit-learn's common checks on the numeric ones, and
the formulas each one computes."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from scdv import GMMSoftClusterer, IDFWeighter, PowerNormalizer, SGNSWord2Vec, SparseThreshold
from scdv.threshold import row_min_max, sparsity_threshold
from scdv.weighting import TokenIds, count_matrix, smooth_idf, term_weights
from scdv.word_vectors import normalize_rows

from .conftest import SMALL_PARAMS


@parametrize_with_checks(
    [
        GMMSoftClusterer(n_components=2, random_state=0),
        IDFWeighter(dtype=np.float64),
        PowerNormalizer(),
        SparseThreshold(),
    ]
)
def test_numeric_stages_pass_sklearn_common_checks(estimator, check):
    check(estimator)


def test_idf_is_sklearn_smooth_idf():
    counts = sp.csr_matrix(np.array([[1, 0, 3], [2, 1, 0], [0, 0, 1], [0, 0, 0]]))
    ours = IDFWeighter().fit(counts).idf_
    theirs = TfidfTransformer(smooth_idf=True).fit(counts).idf_
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(ours, np.log(5 / np.array([3, 2, 3])) + 1)


def test_idf_transform_scales_columns_and_keeps_sparse():
    counts = sp.csr_matrix(np.array([[1.0, 0, 2], [0, 1, 0]]))
    out = IDFWeighter().fit(counts).transform(counts)
    assert sp.issparse(out) and out.dtype == np.float32
    np.testing.assert_allclose(out.toarray(), counts.toarray() * smooth_idf([1, 1, 1], 2))


def test_count_matrix_counts_repeats_and_skips_unknown_tokens():
    counts = count_matrix([["a", "b", "a", "zzz"], []], {"a": 0, "b": 1})
    np.testing.assert_array_equal(counts.toarray(), [[2, 1], [0, 0]])
    assert counts.has_canonical_format


def test_token_ids_count_row_slices_like_count_matrix():
    docs = [["b", "a", "b", "x"], [], ["x"], ["c", "a", "c", "c"], ["a"]]
    vocabulary = {"a": 0, "b": 1, "c": 2}
    ids = TokenIds.lookup(docs, vocabulary)
    for start, stop in [(0, 5), (1, 4), (3, 5), (2, 2)]:
        got = ids[start:stop].counts(np.float32)
        expected = count_matrix(docs[start:stop], vocabulary)
        assert got.shape == expected.shape
        assert got.has_canonical_format
        np.testing.assert_array_equal(got.toarray(), expected.toarray())
    np.testing.assert_array_equal(ids.counts().toarray(),
                                  [[1, 2, 0], [0, 0, 0], [0, 0, 0], [1, 0, 3], [1, 0, 0]])
    with pytest.raises(ValueError, match="contiguous"):
        ids[::2]


def test_sublinear_term_weights_are_one_plus_log_and_keep_zero():
    np.testing.assert_allclose(term_weights([1, 3, 0], sublinear_tf=True),
                               [1, 1 + np.log(3), 0])
    np.testing.assert_array_equal(term_weights([1, 3, 0]), [1, 3, 0])


def test_power_normalizer_takes_signed_roots_then_unit_rows_and_keeps_sparsity():
    X = sp.csr_matrix(np.array([[4.0, 0.0, -9.0], [0.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    out = PowerNormalizer().fit_transform(X)
    assert sp.issparse(out) and out.nnz == X.nnz
    np.testing.assert_allclose(out.toarray(), [[2 / np.sqrt(13), 0, -3 / np.sqrt(13)],
                                               [0, 0, 0], [0, 1, 0]])
    np.testing.assert_allclose(PowerNormalizer(power=1, norm=None).fit_transform(X).toarray(),
                               X.toarray())


@pytest.mark.parametrize("power", [0, 1.5, -1])
def test_power_normalizer_rejects_powers_outside_zero_to_one(power):
    with pytest.raises(ValueError, match="power"):
        PowerNormalizer(power=power).fit(np.ones((2, 2)))


def test_threshold_is_p_times_mean_extremes():
    X = np.array([[0.6, -0.2, 0.0], [0.2, -0.4, 0.1]])
    cut = SparseThreshold(sparsity_percentage=0.1).fit(X)
    a_min, a_max = np.mean([-0.2, -0.4]), np.mean([0.6, 0.2])
    assert cut.threshold_ == pytest.approx(0.1 * (abs(a_max) + abs(a_min)) / 2)
    np.testing.assert_array_equal(cut.transform(X), [[0.6, -0.2, 0], [0.2, -0.4, 0.1]])


def test_threshold_counts_implicit_zeros_of_sparse_rows():
    dense = np.array([[0.5, 0.3, 0.0], [-0.5, -0.1, -0.2]])
    mins, maxs = row_min_max(sp.csr_matrix(dense))
    np.testing.assert_array_equal(mins, [0.0, -0.5])
    np.testing.assert_array_equal(maxs, [0.5, -0.1])
    assert SparseThreshold().fit(sp.csr_matrix(dense)).threshold_ == pytest.approx(
        SparseThreshold().fit(dense).threshold_
    )


def test_threshold_grows_with_sparsity_percentage():
    rng = np.random.RandomState(0)
    X = rng.randn(20, 30)
    cuts = [SparseThreshold(sparsity_percentage=p).fit(X).threshold_ for p in (0, 0.02, 0.5)]
    assert cuts[0] == 0 and cuts[0] < cuts[1] < cuts[2]
    assert sparsity_threshold([], [], 0.04) == 0.0


@pytest.mark.parametrize("value", [-0.1, 1.5, "4%"])
def test_threshold_rejects_bad_percentage_by_name(value):
    with pytest.raises(ValueError, match="sparsity_percentage"):
        SparseThreshold(sparsity_percentage=value).fit(np.eye(3))


def test_normalize_rows_gives_unit_rows_and_keeps_zero_rows():
    out = normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0, 0]])
    assert out.dtype == np.float32


def test_gmm_posteriors_are_distributions_over_clusters():
    rng = np.random.RandomState(0)
    X = np.r_[rng.randn(30, 3), rng.randn(30, 3) + 8]
    proba = GMMSoftClusterer(n_components=2, random_state=0).fit_transform(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert set(proba[:30].argmax(1)) != set(proba[30:].argmax(1))


def test_gmm_with_fewer_rows_than_clusters_says_what_to_change():
    with pytest.raises(ValueError, match="fewer than n_components=5"):
        GMMSoftClusterer(n_components=5).fit(np.eye(3))


def test_word2vec_stage_learns_unit_vectors_and_averages_them(corpus):
    docs = [d.lower().rstrip(".").split() for d in corpus[0]]
    model = SGNSWord2Vec(vector_size=8, min_count=2, epochs=2, random_state=0).fit(docs)
    assert "orbit" in model.vocabulary_
    np.testing.assert_allclose(np.linalg.norm(model.word_vectors_, axis=1), 1, rtol=1e-5)
    out = model.transform([["orbit", "orbit", "nope"], ["nope"]])
    np.testing.assert_allclose(out[0], model.word_vectors_[model.vocabulary_["orbit"]])
    np.testing.assert_array_equal(out[1], 0)
    assert model.get_feature_names_out().shape == (8,)


def test_word2vec_stage_with_no_frequent_word_says_to_lower_min_count():
    with pytest.raises(ValueError, match="min_count=5"):
        SGNSWord2Vec(min_count=5).fit([["a", "b"], ["c"]])


def test_long_documents_are_counted_piece_by_piece_with_the_same_result():
    from scdv.tokenize import english_tokenize
    from scdv.weighting import count_texts

    vocabulary = {"alpha": 0, "beta": 1, "gamma": 2}
    long_text = "alpha beta\ngamma " * 500 + "alphabet beta"
    texts = ["beta beta", long_text, ""]
    whole = count_matrix([english_tokenize(t) for t in texts], vocabulary)
    pieces = count_texts(texts, english_tokenize, vocabulary, long_document=97)
    np.testing.assert_array_equal(pieces.toarray(), whole.toarray())
    assert pieces.toarray()[1].tolist() == [500, 501, 500]


# --------------------------------------------------------------------------- staged pipeline


def _staged(params, **sum_params):
    from scdv import TextTokenizer, WordTopicSum

    w2v = {k: params[k] for k in ("vector_size", "min_count", "epochs", "window", "negative",
                                  "sample", "random_state")}
    return make_pipeline(
        TextTokenizer(), SGNSWord2Vec(**w2v),
        GMMSoftClusterer(n_components=params["n_components"],
                         covariance_type=params["covariance_type"],
                         random_state=params["random_state"]),
        IDFWeighter(), WordTopicSum(**{"sublinear_tf": params["sublinear_tf"], **sum_params}))


def test_each_stage_defaults_to_scdv_defaults():
    # A staged pipeline of default stages is SCDV() (but for power, a stage of its own).
    from scdv import SCDV, SparseThreshold, TextTokenizer, WordTopicSum

    scdv_defaults = SCDV().get_params()
    renamed = {"max_iter": "gmm_max_iter"}
    for stage in (TextTokenizer(), SGNSWord2Vec(), GMMSoftClusterer(), WordTopicSum(),
                  SparseThreshold()):
        shared = {name: value for name, value in stage.get_params().items()
                  if renamed.get(name, name) in scdv_defaults}
        assert shared, stage
        assert shared == {name: scdv_defaults[renamed.get(name, name)] for name in shared}, stage
    # So are the functions under them.
    import inspect

    from scdv import fit_scdv, train_word_vectors
    for function in (fit_scdv, train_word_vectors):
        keywords = {name: p.default for name, p in inspect.signature(function).parameters.items()
                    if name in scdv_defaults}
        assert len(keywords) >= 6
        assert keywords == {name: scdv_defaults[name] for name in keywords}, function


def test_staged_pipeline_equals_scdv(corpus, fitted):
    docs = corpus[0]
    staged = _staged(SMALL_PARAMS).fit(docs)
    X, Y = staged.transform(docs), fitted.transform(docs)
    assert X.shape == Y.shape and X.dtype == np.float32
    assert abs(X - Y).max() <= 1e-6
    assert staged[-1].threshold_ == pytest.approx(fitted.threshold_, rel=1e-12)
    assert list(staged[-1].get_feature_names_out()) == list(fitted.get_feature_names_out())


def test_staged_pipeline_with_the_cut_as_its_own_stage_equals_scdv(corpus, fitted):
    docs = corpus[0]
    staged = _staged(SMALL_PARAMS, sparsity_percentage=0.0)
    staged.steps.append(("sparsethreshold", SparseThreshold()))
    X = staged.fit(docs).transform(docs)
    assert abs(X - fitted.transform(docs)).max() <= 1e-6


def test_naive_five_stage_chain_refuses_in_one_line(corpus):
    from scdv import TextTokenizer

    docs = corpus[0]
    naive = make_pipeline(TextTokenizer(), SGNSWord2Vec(vector_size=8, min_count=2, epochs=1),
                          GMMSoftClusterer(n_components=2), IDFWeighter(), SparseThreshold())
    with pytest.raises(ValueError, match="end the staged pipeline with WordTopicSum()"):
        naive.fit(docs)


@pytest.mark.parametrize("order, missing", [
    (("tokenizer", "gmm"), "put SGNSWord2Vec\\(\\) before it"),
    (("tokenizer", "idf"), "put SGNSWord2Vec\\(\\) before it"),
    (("tokenizer", "w2v", "idf", "sum"), "WordTopicSum needs GMMSoftClusterer\\(\\)"),
    (("tokenizer", "w2v", "gmm", "sum"), "WordTopicSum needs IDFWeighter\\(\\)"),
    (("tokenizer", "sum"), "WordTopicSum takes the output of the SCDV stages"),
])
def test_stages_in_a_wrong_order_say_what_belongs_before_them(corpus, order, missing):
    from scdv import TextTokenizer, WordTopicSum

    stages = {"tokenizer": TextTokenizer(),
              "w2v": SGNSWord2Vec(vector_size=8, min_count=2, epochs=1),
              "gmm": GMMSoftClusterer(n_components=2), "idf": IDFWeighter(),
              "sum": WordTopicSum()}
    with pytest.raises(ValueError, match=missing):
        make_pipeline(*(stages[name] for name in order)).fit(corpus[0])


def test_a_classifier_after_the_clusters_is_told_to_add_word_topic_sum(corpus):
    from sklearn.svm import LinearSVC

    from scdv import TextTokenizer

    docs, labels = corpus
    chain = make_pipeline(TextTokenizer(), SGNSWord2Vec(vector_size=8, min_count=2, epochs=1),
                          GMMSoftClusterer(n_components=2), LinearSVC())
    with pytest.raises(TypeError, match="add WordTopicSum"):
        chain.fit(docs, labels)


def test_word2vec_stage_still_feeds_a_classifier_as_the_average_baseline(corpus):
    from sklearn.svm import LinearSVC

    from scdv import TextTokenizer

    docs, labels = corpus
    chain = make_pipeline(TextTokenizer(), SGNSWord2Vec(vector_size=8, min_count=2, epochs=3,
                                                        random_state=0), LinearSVC())
    assert chain.fit(docs, labels).score(docs, labels) > 0.8


@pytest.mark.parametrize("estimator, bad", [
    ("TextTokenizer", {"tokenizer": "klingon"}),
    ("SGNSWord2Vec", {"epochs": 0}),
    ("GMMSoftClusterer", {"covariance_type": "round"}),
    ("IDFWeighter", None),
    ("SparseThreshold", {"sparsity_percentage": 1.5}),
    ("PowerNormalizer", {"power": 0}),
    ("WordTopicSum", {"batch_size": 0}),
    ("SCDV", {"n_components": 0}),
])
def test_every_public_estimator_validates_with_sklearn_constraints(estimator, bad):
    from sklearn.utils._param_validation import InvalidParameterError

    import scdv

    cls = getattr(scdv, estimator)
    assert cls._parameter_constraints, estimator
    assert set(cls._parameter_constraints) == set(cls().get_params()), estimator
    if bad is None:  # dtype takes any numpy spelling: nothing to refuse
        return
    with pytest.raises(InvalidParameterError, match=f"'{next(iter(bad))}' parameter"):
        cls(**bad).fit(np.ones((3, 2)) if estimator != "SCDV" else ["a b c"])
