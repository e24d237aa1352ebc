"""Beyond the paper: pretrained word vectors, SCDV-MS posteriors, presets."""

import numpy as np
import pytest
from gensim.models import KeyedVectors

import scdv
from scdv import SCDV
from scdv.clustering import sparsify_posteriors
from scdv.tokenize import english_tokenize

from .conftest import SMALL_PARAMS, TOPICS


@pytest.fixture(scope="module")
def vectors_file(tmp_path_factory):
    """A small word2vec text file with topic-shaped vectors, and one word the
    corpus never uses."""
    rng = np.random.RandomState(0)
    kv = KeyedVectors(vector_size=12)
    words, vectors = [], []
    for t, topic in enumerate(sorted(TOPICS)):
        centre = rng.randn(12) * 3
        for word in TOPICS[topic].split():
            words.append(word)
            vectors.append(centre + rng.randn(12))
    words.append("zeppelin")
    vectors.append(rng.randn(12))
    kv.add_vectors(words, np.array(vectors, dtype=np.float32))
    path = tmp_path_factory.mktemp("vectors") / "vectors.txt"
    kv.save_word2vec_format(str(path), binary=False)
    binary = path.with_suffix(".bin")
    kv.save_word2vec_format(str(binary), binary=True)
    return path, binary, kv


PRETRAINED = {**SMALL_PARAMS, "n_components": 3}


@pytest.mark.parametrize("which", ["text", "binary", "object"])
def test_pretrained_vectors_give_their_vocabulary(corpus, vectors_file, which):
    text, binary, kv = vectors_file
    source = {"text": str(text), "binary": binary, "object": kv}[which]
    model = SCDV(**PRETRAINED, word_vectors=source).fit(corpus[0])
    # The corpus words that the file has; not its unused word, not filler words.
    assert "zeppelin" not in model.vocabulary_
    assert "people" not in model.vocabulary_
    assert "orbit" in model.vocabulary_
    assert model.word_vectors_.shape == (len(model.vocabulary_), 12)
    expected = kv["orbit"] / np.linalg.norm(kv["orbit"])
    np.testing.assert_allclose(model.word_vectors_[model.vocabulary_["orbit"]], expected,
                               rtol=1e-5)
    X = model.transform(corpus[0][:5])
    assert X.shape == (5, 3 * 12) and X.nnz > 0


def test_pretrained_model_saves_and_loads(corpus, vectors_file, tmp_path):
    model = SCDV(**PRETRAINED, word_vectors=vectors_file[2]).fit(corpus[0])
    model.save(tmp_path / "m.scdv")
    loaded = scdv.load(tmp_path / "m.scdv")
    assert (loaded.transform(corpus[0]) != model.transform(corpus[0])).nnz == 0


def test_pretrained_file_that_is_not_word2vec_is_refused(corpus, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not\na vectors file\n")
    with pytest.raises(ValueError, match="not a word2vec text or binary file"):
        SCDV(**PRETRAINED, word_vectors=str(bad)).fit(corpus[0])
    with pytest.raises(ValueError, match="no such file"):
        SCDV(**PRETRAINED, word_vectors=str(tmp_path / "nope.vec")).fit(corpus[0])


def test_pretrained_vectors_sharing_no_word_say_so(corpus, tmp_path):
    kv = KeyedVectors(vector_size=4)
    kv.add_vectors(["xylophone", "quasar"], np.ones((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="No pretrained word occurs"):
        SCDV(**PRETRAINED, word_vectors=kv).fit(corpus[0])


def test_sparsify_posteriors_cuts_and_keeps_each_word_s_best_cluster():
    proba = np.array([[0.5, 0.3, 0.2], [0.25, 0.25, 0.5], [0.34, 0.33, 0.33]])
    out = sparsify_posteriors(proba, 0.3)
    np.testing.assert_array_equal(out, [[0.5, 0.3, 0], [0, 0, 0.5], [0.34, 0.33, 0.33]])
    flat = sparsify_posteriors(np.array([[0.2, 0.25, 0.55 - 1e-9, 0.0]]), 0.6)
    assert np.count_nonzero(flat) == 1  # best cluster kept though below the cut
    renorm = sparsify_posteriors(proba, 0.3, renormalize=True)
    np.testing.assert_allclose(renorm.sum(axis=1), 1)


def test_scdv_ms_posteriors_make_vectors_sparser_and_stay_exact(corpus):
    from .test_scdv import assert_matches_reference, reference_vectors

    plain = SCDV(**SMALL_PARAMS).fit(corpus[0])
    ms = SCDV(**{**SMALL_PARAMS, "cluster_proba_threshold": 0.9}).fit(corpus[0])
    P, Q = plain.word_cluster_proba_, ms.word_cluster_proba_
    # Same seed, same mixture: the cut keeps exactly the entries >= 0.9 and
    # each word's best cluster.
    expected = (P >= 0.9) | (P == P.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(Q != 0, expected)
    np.testing.assert_array_equal(Q[expected], P[expected])
    tokens = [english_tokenize(d) for d in corpus[0][:20]]
    ref = reference_vectors(ms, tokens, threshold=0)
    assert_matches_reference(ms.set_params(tokenizer=None).transform(tokens), ref,
                             ms.threshold_)


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_cluster_proba_threshold_is_checked(value):
    with pytest.raises(ValueError, match="cluster_proba_threshold"):
        SCDV(cluster_proba_threshold=value).fit(["a b"])


def test_command_line_accepts_word_vectors(corpus, vectors_file, tmp_path, capsys):
    from scipy.sparse import load_npz

    from scdv.cli import main

    folder = tmp_path / "docs"
    folder.mkdir()
    for i, doc in enumerate(corpus[0][:40]):
        (folder / f"{i:02d}.txt").write_text(doc)
    out = tmp_path / "out.npz"
    code = main(["vectorize", str(folder), "-o", str(out), "--word-vectors",
                 str(vectors_file[0]), "--n-components", "3", "--min-count", "2", "-q"])
    assert code == 0
    assert load_npz(out).shape == (40, 3 * 12)
    code = main(["vectorize", str(folder), "-o", str(tmp_path / "x.npz"), "--word-vectors",
                 str(tmp_path / "missing.vec"), "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "missing.vec" in err and "Traceback" not in err


def test_reduced_preset_gives_unit_rows_of_the_asked_dimension(corpus):
    pipe = scdv.make_reduced_scdv(20, random_state=0, **{k: v for k, v in SMALL_PARAMS.items()
                                                         if k != "random_state"})
    X = pipe.fit_transform(corpus[0])
    assert X.shape == (len(corpus[0]), 20)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1, rtol=1e-5)


def test_power_parameter_equals_power_normalizer_after_scdv(fitted, corpus):
    from scdv import PowerNormalizer

    docs = corpus[0]
    expected = PowerNormalizer(power=0.5).fit_transform(fitted.transform(docs))
    got = fitted.set_params(power=0.5).transform(docs)
    assert abs(got - expected).max() <= 1e-6
    norms = np.sqrt(np.asarray(got.multiply(got).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms[norms > 0], 1.0, atol=1e-5)


def test_sif_weighting_is_idf_times_a_over_a_plus_word_share(corpus):
    from scdv.weighting import count_matrix

    from .conftest import SMALL_PARAMS

    docs = corpus[0]
    plain = SCDV(**SMALL_PARAMS).fit(docs)
    sif = SCDV(**{**SMALL_PARAMS, "weighting": "sif", "sif_a": 1e-2}).fit(docs)
    tokens = plain._tokenize(docs)
    counts = np.asarray(count_matrix(tokens, plain.vocabulary_).sum(axis=0, dtype=float)).ravel()
    share = counts / counts.sum()
    np.testing.assert_allclose(sif.idf_, plain.idf_ * 1e-2 / (1e-2 + share), rtol=1e-12)
    assert sif.threshold_ != plain.threshold_  # learned from the re-weighted vectors


def test_fasttext_trainer_fits_the_same_vocabulary_with_other_vectors(corpus):
    from .conftest import SMALL_PARAMS

    docs = corpus[0]
    w2v = SCDV(**SMALL_PARAMS).fit(docs)
    fasttext = SCDV(**{**SMALL_PARAMS, "trainer": "fasttext"}).fit(docs)
    assert fasttext.vocabulary_ == w2v.vocabulary_
    assert not np.allclose(fasttext.word_vectors_, w2v.word_vectors_)
    np.testing.assert_allclose(np.linalg.norm(fasttext.word_vectors_, axis=1), 1, atol=1e-5)
    assert fasttext.transform(docs).nnz > 0


def test_make_hybrid_puts_weighted_scdv_beside_the_tfidf_of_its_language(corpus):
    from sklearn.feature_extraction.text import TfidfVectorizer

    english = scdv.make_hybrid(0.5, **SMALL_PARAMS)
    assert english.transformer_list[1][1].analyzer == "word"
    japanese = scdv.make_hybrid(tokenizer="janome")
    assert japanese.transformer_list[1][1].analyzer == "char"
    mine = TfidfVectorizer()
    assert scdv.make_hybrid(tfidf=mine).transformer_list[1][1] is mine
    docs = corpus[0]
    X = english.fit_transform(docs)
    alone = scdv.SCDV(**SMALL_PARAMS).fit_transform(docs)
    k = alone.shape[1]
    # The SCDV block is SCDV's own vectors times the weight; TF-IDF rows are unit.
    np.testing.assert_allclose(X[:, :k].toarray(), 0.5 * alone.toarray(), atol=1e-6)
    tfidf_norms = np.sqrt(np.asarray(X[:, k:].multiply(X[:, k:]).sum(axis=1))).ravel()
    np.testing.assert_allclose(tfidf_norms, 1, atol=1e-5)
    with pytest.raises(ValueError, match="language"):
        scdv.make_tfidf("klingon")
