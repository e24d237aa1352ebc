"""The chiVe converter (benchmarks.ginza_vectors) on a spaCy vocab the tests write."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from benchmarks import ginza_vectors
from scdv.word_vectors import load_word_vectors

msgpack = pytest.importorskip("msgpack")


def test_murmurhash_matches_spacys_documented_hash():
    # spaCy's documentation: nlp.vocab.strings["coffee"] == 3197928453018144401.
    assert ginza_vectors.murmurhash64a("coffee".encode("utf-8")) == 3197928453018144401


def _write_vocab(folder, words_to_rows, vectors, extra_strings=()):
    folder.mkdir(parents=True)
    with open(folder / "vectors", "wb") as f:  # spaCy's name has no .npy suffix
        np.save(f, vectors)
    key2row = {ginza_vectors.murmurhash64a(w.encode("utf-8")): r
               for w, r in words_to_rows.items()}
    (folder / "key2row").write_bytes(msgpack.packb(key2row))
    strings = [*words_to_rows, *extra_strings]
    (folder / "strings.json").write_text(json.dumps(strings, ensure_ascii=False))


@pytest.fixture
def model(tmp_path):
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    # Pruned as in ja_ginza: 映画 and 映像 share row 1; "a b" cannot be a word2vec word.
    rows = {"東京": 0, "映画": 1, "映像": 1, "野球": 2, "a b": 2}
    _write_vocab(tmp_path / "ja_ginza" / "ja_ginza-5.3.0" / "vocab", rows, vectors,
                 extra_strings=["NOUN"])  # a string without a vector
    return tmp_path / "ja_ginza", vectors


@pytest.mark.parametrize("binary", [False, True])
def test_every_word_with_a_vector_is_written_exactly(model, tmp_path, binary):
    folder, vectors = model
    out = tmp_path / ("out.bin" if binary else "out.txt")
    assert ginza_vectors.main([str(folder), str(out)] + (["--binary"] if binary else [])) == 0
    words, got = load_word_vectors(str(out))
    assert words == ["東京", "映画", "映像", "野球"]  # by row, then string order
    np.testing.assert_array_equal(got, vectors[[0, 1, 1, 2]])
    assert not list(tmp_path.glob(".out*"))  # no temp file left behind


def test_the_wheel_is_read_in_place(model, tmp_path):
    folder, _ = model
    wheel = tmp_path / "ja_ginza-5.3.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path in folder.rglob("*"):
            zf.write(path, path.relative_to(tmp_path).as_posix())
    ginza_vectors.main([str(wheel), str(tmp_path / "w.txt")])
    ginza_vectors.main([str(folder), str(tmp_path / "d.txt")])
    assert (tmp_path / "w.txt").read_bytes() == (tmp_path / "d.txt").read_bytes()


@pytest.mark.parametrize("make_input", [
    lambda tmp: tmp / "missing.whl",
    lambda tmp: (tmp / "plain.txt").write_text("hello") and tmp / "plain.txt",
    lambda tmp: (tmp / "empty").mkdir() or tmp / "empty",
])
def test_a_bad_input_is_one_line_exit_2_and_no_output(tmp_path, capsys, make_input):
    source = make_input(tmp_path)
    assert ginza_vectors.main([str(source), str(tmp_path / "out.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out.txt").exists()


def test_nfkc_lower_adds_the_spelling_scdv_tokens_have():
    pairs = [("iPhone", 0), ("！", 1), ("IPHONE", 2), ("iphone5", 3), ("!", 4)]
    added = ginza_vectors.with_nfkc_lower(pairs)
    # The first (most frequent) source claims a spelling; existing words keep theirs.
    assert added == pairs + [("iphone", 0)]
