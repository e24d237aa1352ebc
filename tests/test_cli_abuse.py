"""The command-line interface under abuse.

Hostile inputs (random bytes, NUL bytes, invalid UTF-8, empty files, denied
reads, symbolic-link loops, FIFOs, odd file names, codecs that are not text
encodings) and a Ctrl-C in the middle of fitting. Whatever happens, a run must

- exit 0, 1 or 2 (130 when interrupted);
- on failure, print exactly one line on stderr, starting ``scdv: error:``,
  with no traceback, and print nothing on stdout;
- on failure, leave the output directory empty: no output, no sidecar, no
  ``.part`` temporary;
- on success, write vectors of the right shape that equal the library's
  ``transform`` of the documents the inputs hold.

A model is fitted once per module with tiny settings and most runs only
transform with ``--model``; a few runs fit.
"""

import io
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from scdv import _io, commands, load

from .cli_helpers import (  # noqa: F401 (corpus_dir, model_path, model: fixtures)
    TINY_ARGS,
    WIDTH,
    assert_one_error_line,
    corpus_dir,
    listing,
    model,
    model_path,
    run,
    same,
)
from .conftest import FILLER, TOPICS, make_corpus

OUTPUTS = ["v.npz", "v.npz.ids.jsonl"]
HANG_SECONDS = 30  # a run that takes longer than this is taken to hang
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# ---------------------------------------------------------------------------
# Helpers (more in cli_helpers)


def run_bounded(argv, unblock):
    """``run(*argv)`` in a thread; fail (after calling ``unblock()``) if it hangs."""
    result = {}

    def target():
        try:
            result["value"] = run(*argv)
        except BaseException as exc:  # pragma: no cover - reported below
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_SECONDS)
    if thread.is_alive():
        unblock()
        thread.join(10)
        pytest.fail(f"scdv {' '.join(map(str, argv))} hung for {HANG_SECONDS} s")
    if "error" in result:
        raise result["error"]
    return result["value"]


def assert_failed(result, out_dir, *fragments, code=1):
    """Exit ``code``, one ``scdv: error:`` line naming ``fragments``, nothing written."""
    status, stdout, err = result
    assert status == code, (status, err)
    assert len(err.splitlines()) == 1, err  # not even a blank line around it
    assert_one_error_line(err, *fragments)
    assert stdout == ""
    assert listing(out_dir) == []


def assert_succeeded(result, out_dir, n_rows):
    """Exit 0 and a loadable (n_rows, WIDTH) float32 CSR plus its ids; returns both."""
    status, stdout, err = result
    assert status == 0, err
    assert "Traceback" not in err and "error" not in err, err
    assert stdout == ""
    assert listing(out_dir) == OUTPUTS
    X = sp.load_npz(out_dir / "v.npz")
    assert sp.isspmatrix_csr(X) and X.dtype == np.float32
    assert X.shape == (n_rows, WIDTH)
    assert np.isfinite(X.data).all()
    raw = (out_dir / "v.npz.ids.jsonl").read_bytes()
    assert raw.endswith(b"\n") and raw.isascii()  # every id ends with a newline
    ids = commands.read_ids(out_dir / "v.npz.ids.jsonl")  # checks rows and sha256
    assert len(ids) == n_rows
    return X, ids


def split_lines(text):
    """The documented --lines rule, written independently: (number, line) of each
    non-blank line, with \\n, \\r\\n and \\r as line ends, numbers from 1."""
    return [(n, line) for n, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1)
            if line.strip()]


def expected_documents(files, *, lines, errors, encoding="utf-8"):
    """What the inputs hold: ("ok", texts, ids), ("decode", path) or ("empty",)."""
    texts, ids = [], []
    for path, data in files:
        try:
            text = data.decode(encoding, errors)
        except UnicodeDecodeError:
            return ("decode", path)
        if lines:
            for number, line in split_lines(text):
                texts.append(line)
                ids.append(f"{path}:{number}")
        else:
            texts.append(text)
            ids.append(path)
    # Documents that are all blank are refused as "no documents", not vectorised.
    return ("ok", texts, ids) if any(t.strip() for t in texts) else ("empty",)


def unblock_fifo_reader(fifo):
    """Give a reader stuck opening ``fifo`` a writer that closes at once (EOF)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    os.close(fd)


def unblock_fifo_writer(fifo):
    """Give a writer stuck opening ``fifo`` a reader that closes at once."""
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return
    time.sleep(0.2)
    os.close(fd)


def feed_fifo(fifo, data):
    """Start a daemon thread that writes ``data`` into ``fifo`` once a reader opens it."""
    def write():
        try:
            with open(fifo, "wb") as handle:
                handle.write(data)
        except OSError:  # the reader went away; the test's assertions will say why
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


# ---------------------------------------------------------------------------
# Fixtures (model_path and model come from cli_helpers)


@pytest.fixture
def dirs(tmp_path):
    """(input directory, empty output directory)."""
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    return inputs, outputs


# ---------------------------------------------------------------------------
# Random bytes (hypothesis)

VOCAB = sorted({word for words in TOPICS.values() for word in words.split()})
JUNK = [b"\x00", b"\xff", b"\xfe", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf",
        b"\n", b"\r", b"\r\n", b" ", b"\t", b"\x0b", b"\x1c", b"\xc2\x85",
        "\u2028".encode(), "\u00e9".encode(), b"\\", b"'"]
#: Mostly words the model knows, glued with control characters and broken UTF-8,
#: so that the runs that succeed have non-zero rows worth comparing.
CHUNKY = st.lists(
    st.one_of(st.sampled_from([w.encode() for w in VOCAB]), st.sampled_from(JUNK),
              st.binary(max_size=6)),
    max_size=30,
).map(b"".join)
PAYLOADS = st.one_of(st.binary(max_size=200), CHUNKY,
                     st.text(max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass")))
ERRORS = st.sampled_from(["strict", "replace", "ignore"])


@settings(max_examples=25, deadline=None)
@given(contents=st.lists(PAYLOADS, max_size=4), lines=st.booleans(), errors=ERRORS,
       as_directory=st.booleans())
@example(contents=[b"orbit rocket", b"goal \xff\x00"], lines=False, errors="strict",
         as_directory=True)
@example(contents=[b"", b" \r\n\t\n"], lines=True, errors="strict", as_directory=False)
@example(contents=[b"\x00\xfe hockey\rgoal"], lines=True, errors="ignore",
         as_directory=False)
def test_random_bytes_in_files(model, model_path, contents, lines, errors, as_directory):
    with tempfile.TemporaryDirectory() as tmp:
        inputs, out_dir = Path(tmp, "in"), Path(tmp, "out")
        inputs.mkdir()
        out_dir.mkdir()
        files = []
        for i, data in enumerate(contents):
            path = inputs / f"f{i}.txt"
            path.write_bytes(data)
            files.append((os.fspath(path), data))
        given_inputs = [inputs] if as_directory or not files else [p for p, _ in files]
        argv = ["vectorize", "--model", model_path, *given_inputs, "-o", out_dir / "v.npz",
                "--encoding-errors", errors] + (["--lines"] if lines else [])
        result = run(*argv)
        expected = expected_documents(files, lines=lines, errors=errors)
        event(f"outcome: {expected[0]}")
        if expected[0] == "decode":
            assert_failed(result, out_dir, "cannot decode", repr(expected[1]), "--encoding")
        elif expected[0] == "empty":
            assert_failed(result, out_dir, "no documents")
        else:
            _, texts, ids = expected
            X, written = assert_succeeded(result, out_dir, len(texts))
            assert written == ids
            assert same(X, model.transform(texts))


@settings(max_examples=15, deadline=None)
@given(data=PAYLOADS, errors=ERRORS)
@example(data=b"nasa moon\n\xed\xa0\x80", errors="strict")
@example(data=b"\n \r\n\x0b\n", errors="strict")
@example(data=b"key \xc3\r\ncipher", errors="replace")
def test_random_bytes_on_stdin(model, model_path, data, errors):
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp)
        stdin = io.TextIOWrapper(io.BytesIO(data))
        with mock.patch.object(sys, "stdin", stdin):
            result = run("vectorize", "--model", model_path, "-", "-o", out_dir / "v.npz",
                         "--encoding-errors", errors)
        expected = expected_documents([("-", data)], lines=True, errors=errors)
        event(f"outcome: {expected[0]}")
        if expected[0] == "decode":
            assert_failed(result, out_dir, "cannot decode", "<stdin>")
        elif expected[0] == "empty":
            assert_failed(result, out_dir, "no documents")
        else:
            _, texts, ids = expected
            X, written = assert_succeeded(result, out_dir, len(texts))
            assert written == ids
            assert same(X, model.transform(texts))


# ---------------------------------------------------------------------------
# NUL bytes, invalid UTF-8, codecs


def test_nul_bytes_are_word_separators(model, model_path, dirs):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_bytes(b"orbit\x00rocket\x00\x00launch")
    (inputs / "b.txt").write_bytes(b"\x00" * 4096)
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
    X, ids = assert_succeeded(result, out_dir, 2)
    assert same(X, model.transform(["orbit rocket launch", ""]))
    assert X[0].nnz > 0 and X[1].nnz == 0
    assert ids == [os.path.join(inputs, "a.txt"), os.path.join(inputs, "b.txt")]


def test_nul_lines_are_documents(model, model_path, dirs):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_bytes(b"hockey\x00goal\n\x00\n\n  \nnasa")
    result = run("vectorize", "--model", model_path, "--lines", inputs / "a.txt",
                 "-o", out_dir / "v.npz")
    X, ids = assert_succeeded(result, out_dir, 3)  # a line of one NUL is not blank
    assert same(X, model.transform(["hockey goal", "\x00", "nasa"]))
    assert [i.rsplit(":", 1)[1] for i in ids] == ["1", "2", "5"]


INVALID_UTF8 = {
    "lone 0xff": (b"orbit rocket\nlaunch \xff moon", 20, 2, "ff"),
    "truncated sequence": (b"goal \xc3( team", 5, 1, "c3"),
    "overlong slash": (b"moon \xc0\xaf", 5, 1, "c0"),
    "encoded surrogate": (b"key\r\ncipher \xed\xa0\x80", 12, 2, "ed"),
    "cut at the end": (b"orbit\n\nrocket \xe2\x82", 14, 3, "e2"),
}


@pytest.mark.parametrize("case", sorted(INVALID_UTF8))
def test_invalid_utf8_strict_names_file_byte_and_line(model_path, dirs, case):
    data, offset, line, byte = INVALID_UTF8[case]
    inputs, out_dir = dirs
    bad = inputs / "bad.txt"
    bad.write_bytes(data)
    result = run("vectorize", "--model", model_path, bad, "-o", out_dir / "v.npz")
    assert_failed(result, out_dir, repr(os.fspath(bad)), f"0x{byte}",
                  f"offset {offset} (line {line})", "--encoding-errors replace")


@pytest.mark.parametrize("case", sorted(INVALID_UTF8))
@pytest.mark.parametrize("errors", ["replace", "ignore"])
def test_invalid_utf8_carries_on_when_asked(model, model_path, dirs, case, errors):
    data = INVALID_UTF8[case][0]
    inputs, out_dir = dirs
    (inputs / "bad.txt").write_bytes(data)
    result = run("vectorize", "--model", model_path, "--lines", inputs, "-o",
                 out_dir / "v.npz", "--encoding-errors", errors)
    texts = [line for _, line in split_lines(data.decode("utf-8", errors))]
    X, _ = assert_succeeded(result, out_dir, len(texts))
    assert same(X, model.transform(texts))


def test_latin1_reads_any_bytes(model, model_path, dirs):
    inputs, out_dir = dirs
    data = bytes(range(256)) + b" rocket orbit"
    (inputs / "all.bin").write_bytes(data)
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz",
                 "--encoding", "latin-1")
    X, _ = assert_succeeded(result, out_dir, 1)
    assert same(X, model.transform([data.decode("latin-1")]))


@pytest.mark.parametrize("encoding", ["rot13", "base64", "zip"])
def test_codec_that_is_not_a_text_encoding_is_bad_usage(model_path, dirs, encoding):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_text("orbit rocket")
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz",
                 "--encoding", encoding)
    assert_failed(result, out_dir, "--encoding", repr(encoding), "not a text encoding",
                  code=2)


@pytest.mark.parametrize("encoding", ["idna", "punycode"])
def test_codec_failing_without_position_is_a_decode_error(model_path, dirs, encoding):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_bytes(b"orbit\x00 \xff rocket..")
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz",
                 "--encoding", encoding)
    assert_failed(result, out_dir, "cannot decode", "a.txt", encoding, "--encoding")


# ---------------------------------------------------------------------------
# Empty files


def test_directory_of_empty_files_is_refused_not_zero_rows(model_path, dirs):
    inputs, out_dir = dirs
    for name in ("a", "b", "c"):
        (inputs / name).write_bytes(b"")
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
    assert_failed(result, out_dir, "no documents", "3 inputs, all empty")


def test_directory_of_empty_files_has_no_lines(model_path, dirs):
    inputs, out_dir = dirs
    for name in ("a", "b", "c"):
        (inputs / name).write_bytes(b"")
    result = run("vectorize", "--model", model_path, "--lines", inputs, "-o",
                 out_dir / "v.npz")
    assert_failed(result, out_dir, "no documents", "3 inputs, all empty")


def test_empty_directory_has_no_documents(model_path, dirs):
    inputs, out_dir = dirs
    (inputs / "sub").mkdir()
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
    assert_failed(result, out_dir, "no documents", "no regular files")


def test_fitting_on_empty_files_fails_cleanly(dirs):
    inputs, out_dir = dirs
    for name in ("a", "b", "c"):
        (inputs / name).write_bytes(b"")
    result = run("vectorize", inputs, "-o", out_dir / "v.npz", "--save-model",
                 out_dir / "m.scdv", *TINY_ARGS)
    # Refused before fitting, like the same folder with --model.
    assert_failed(result, out_dir, "no documents", "3 inputs, all empty")


# ---------------------------------------------------------------------------
# Unreadable inputs


def _deny(*denied):
    """An ``open`` that raises PermissionError for ``denied`` paths (works as root)."""
    denied = {os.fspath(p) for p in denied}

    def fake_open(file, *args, **kwargs):
        if os.fspath(file) in denied:
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return open(file, *args, **kwargs)

    return fake_open


def test_denied_file_in_a_directory(model_path, dirs, monkeypatch):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_text("orbit rocket")
    (inputs / "b.txt").write_text("hockey goal")
    monkeypatch.setattr(_io, "open", _deny(inputs / "b.txt"), raising=False)
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
    assert_failed(result, out_dir, repr(os.path.join(inputs, "b.txt")),
                  "Permission denied")


def test_denied_directory_listing(model_path, dirs, monkeypatch):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_text("orbit rocket")
    (inputs / "locked").mkdir()
    (inputs / "locked" / "b.txt").write_text("hockey goal")
    locked = os.path.join(inputs, "locked")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
    assert_failed(result, out_dir, "cannot read directory", repr(locked),
                  "Permission denied")


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their mode")
def test_chmod_000_file_and_directory(model_path, dirs):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_text("orbit rocket")
    secret = inputs / "secret.txt"
    secret.write_text("hockey goal")
    secret.chmod(0)
    try:
        result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
        assert_failed(result, out_dir, repr(os.fspath(secret)), "Permission denied")
    finally:
        secret.chmod(0o644)
    locked = inputs / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
        assert_failed(result, out_dir, "cannot read directory", repr(os.fspath(locked)))
    finally:
        locked.chmod(0o755)


# ---------------------------------------------------------------------------
# Symbolic-link loops


def test_directory_link_to_its_parent_is_not_followed(model, model_path, dirs):
    inputs, out_dir = dirs
    (inputs / "sub").mkdir()
    (inputs / "a.txt").write_text("orbit rocket")
    (inputs / "sub" / "b.txt").write_text("hockey goal")
    (inputs / "sub" / "up").symlink_to(inputs, target_is_directory=True)
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
    X, ids = assert_succeeded(result, out_dir, 2)
    assert ids == [os.path.join(inputs, "a.txt"), os.path.join(inputs, "sub", "b.txt")]
    assert same(X, model.transform(["orbit rocket", "hockey goal"]))


def test_loop_link_given_explicitly_is_walked_once(model_path, dirs):
    inputs, out_dir = dirs
    (inputs / "sub").mkdir()
    (inputs / "a.txt").write_text("orbit rocket")
    (inputs / "sub" / "b.txt").write_text("hockey goal")
    up = inputs / "sub" / "up"
    up.symlink_to(inputs, target_is_directory=True)
    result = run("vectorize", "--model", model_path, up, "-o", out_dir / "v.npz")
    _, ids = assert_succeeded(result, out_dir, 2)
    assert ids == [os.path.join(up, "a.txt"), os.path.join(up, "sub", "b.txt")]


def test_self_referencing_file_link_in_a_directory_is_skipped(model, model_path, dirs):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_text("orbit rocket")
    (inputs / "self").symlink_to(inputs / "self")
    (inputs / "ping").symlink_to(inputs / "pong")
    (inputs / "pong").symlink_to(inputs / "ping")
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
    X, ids = assert_succeeded(result, out_dir, 1)
    assert ids == [os.path.join(inputs, "a.txt")]
    assert same(X, model.transform(["orbit rocket"]))


@pytest.mark.parametrize("name", ["self", "ping"])
def test_link_loop_given_explicitly_fails_cleanly(model_path, dirs, name):
    inputs, out_dir = dirs
    (inputs / "self").symlink_to(inputs / "self")
    (inputs / "ping").symlink_to(inputs / "pong")
    (inputs / "pong").symlink_to(inputs / "ping")
    result = run("vectorize", "--model", model_path, inputs / name, "-o",
                 out_dir / "v.npz")
    assert_failed(result, out_dir, repr(os.fspath(inputs / name)))


# ---------------------------------------------------------------------------
# FIFOs


@pytest.mark.parametrize("lines", [False, True])
def test_explicit_fifo_is_read(model, model_path, dirs, lines):
    inputs, out_dir = dirs
    fifo = inputs / "pipe"
    os.mkfifo(fifo)
    data = b"orbit rocket\n\nhockey\x00goal\n"
    writer = feed_fifo(fifo, data)
    argv = ["vectorize", "--model", model_path, fifo, "-o", out_dir / "v.npz"]
    result = run_bounded(argv + (["--lines"] if lines else []),
                         unblock=lambda: unblock_fifo_reader(fifo))
    writer.join(timeout=10)
    if writer.is_alive():  # scdv never opened the FIFO: free the writer, then fail below
        unblock_fifo_writer(fifo)
    texts = ["orbit rocket", "hockey\x00goal"] if lines else [data.decode()]
    X, ids = assert_succeeded(result, out_dir, len(texts))
    assert same(X, model.transform(texts))
    assert ids == ([f"{fifo}:1", f"{fifo}:3"] if lines else [os.fspath(fifo)])


def test_fifo_inside_a_directory_is_skipped_not_waited_for(model, model_path, dirs):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_text("orbit rocket")
    fifo = inputs / "b.pipe"  # sorts after a.txt; nobody ever writes to it
    os.mkfifo(fifo)
    result = run_bounded(["vectorize", "--model", model_path, inputs, "-o",
                          out_dir / "v.npz"], unblock=lambda: unblock_fifo_reader(fifo))
    X, ids = assert_succeeded(result, out_dir, 1)
    assert ids == [os.path.join(inputs, "a.txt")]
    assert same(X, model.transform(["orbit rocket"]))


def test_fit_from_a_fifo(dirs):
    inputs, out_dir = dirs
    fifo = inputs / "pipe"
    os.mkfifo(fifo)
    docs, _ = make_corpus(n_docs=30, length=20, seed=1)
    writer = feed_fifo(fifo, "\n".join(docs).encode())
    result = run_bounded(["fit", "--lines", fifo, "-o", out_dir / "m.scdv", *TINY_ARGS],
                         unblock=lambda: unblock_fifo_reader(fifo))
    writer.join(timeout=10)
    status, stdout, err = result
    assert status == 0, err
    assert "fitted on 30 documents" in err
    assert listing(out_dir) == ["m.scdv"]
    fitted = load(out_dir / "m.scdv")
    assert fitted.transform(docs[:3]).shape == (3, WIDTH)


# ---------------------------------------------------------------------------
# Odd file names


def test_undecodable_and_multiline_file_names(model, model_path, dirs):
    inputs, out_dir = dirs
    odd = os.fsdecode(os.path.join(os.fsencode(inputs), b"caf\xe9.txt"))
    with open(odd, "w", encoding="utf-8") as handle:
        handle.write("orbit rocket")
    (inputs / "new\nline.txt").write_text("hockey goal")
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
    X, ids = assert_succeeded(result, out_dir, 2)
    # JSON lines (was: newline escaped as \\n, bytes written raw): each id is
    # the name exactly, and os.fsencode gives back its bytes.
    assert ids == [odd, os.path.join(inputs, "new\nline.txt")]
    assert os.fsencode(ids[0]).endswith(b"caf\xe9.txt")
    raw = (out_dir / "v.npz.ids.jsonl").read_bytes()
    assert b'caf\\udce9.txt"\n' in raw  # ASCII: the undecodable byte, escaped
    assert same(X, model.transform(["orbit rocket", "hockey goal"]))


def test_error_about_an_odd_file_name_stays_on_one_line(model_path, dirs):
    inputs, out_dir = dirs
    bad = os.fsdecode(os.path.join(os.fsencode(inputs), b"bad\xff\nname\r.txt"))
    with open(bad, "wb") as handle:
        handle.write(b"orbit \xff")
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
    assert_failed(result, out_dir, "cannot decode", repr(bad))


# ---------------------------------------------------------------------------
# Fitting on garbage


def _garbage_corpus(directory, seed):
    """Corpus documents with NULs, control characters and broken UTF-8 mixed in."""
    rng = random.Random(seed)
    docs, _ = make_corpus(n_docs=30, length=25, seed=seed)
    for i, doc in enumerate(docs):
        words = doc.encode().split(b" ")
        junk = [rng.choice(JUNK) for _ in words]
        data = b"".join(w + j for w, j in zip(words, junk))
        (directory / f"d{i:02d}.txt").write_bytes(data)


def test_fit_on_garbage_with_replace_succeeds(dirs):
    inputs, out_dir = dirs
    _garbage_corpus(inputs, seed=3)
    result = run("vectorize", inputs, "-o", out_dir / "v.npz", "--save-model",
                 out_dir / "m.scdv", "--encoding-errors", "replace", *TINY_ARGS)
    status, stdout, err = result
    assert status == 0, err
    assert listing(out_dir) == ["m.scdv", *OUTPUTS]
    X = sp.load_npz(out_dir / "v.npz")
    assert X.shape == (30, WIDTH) and X.dtype == np.float32
    assert (X.getnnz(axis=1) > 0).all()  # every document kept its words
    fitted = load(out_dir / "m.scdv")
    assert set(fitted.vocabulary_) <= set(VOCAB) | set(FILLER)


def test_fit_on_garbage_strict_fails_before_fitting(dirs):
    inputs, out_dir = dirs
    _garbage_corpus(inputs, seed=4)
    result = run("fit", inputs, "-o", out_dir / "m.scdv", *TINY_ARGS)
    assert_failed(result, out_dir, "cannot decode", "d00.txt")


def test_fit_on_random_latin1_bytes(dirs):
    inputs, out_dir = dirs
    rng = random.Random(5)
    for i in range(20):
        (inputs / f"r{i}").write_bytes(bytes(rng.randrange(256) for _ in range(400)))
    result = run("vectorize", inputs, "-o", out_dir / "v.npz", "--encoding", "latin-1",
                 *TINY_ARGS)
    # Random letters rarely repeat as words: too few for the clusters, one clean line.
    status = result[0]
    assert status in (0, 1), result
    if status == 1:
        assert_failed(result, out_dir, "min_count")
    else:
        assert_succeeded(result, out_dir, 20)


# ---------------------------------------------------------------------------
# Ctrl-C in a real process


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _started_fitting(pid):
    """True once the process has loaded gensim's word2vec (the fit's first step)."""
    try:
        with open(f"/proc/{pid}/maps") as handle:
            return "word2vec_inner" in handle.read()
    except OSError:
        return False


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/maps"),
                    reason="needs /proc to see when fitting starts")
@pytest.mark.parametrize("command", ["vectorize", "fit"])
def test_ctrl_c_while_fitting_exits_130_and_writes_nothing(tmp_path, command):
    docs, _ = make_corpus(n_docs=300, length=30, seed=2)
    source = tmp_path / "docs.txt"
    source.write_text("\n".join(docs), encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / ("v.npz" if command == "vectorize" else "m.scdv")
    # 2,000 epochs would take half a minute: the run is always interrupted mid-fit.
    argv = [sys.executable, "-m", "scdv", command, "--lines", source, "-o", target,
            *TINY_ARGS[:-1], "2000"]
    if command == "vectorize":
        argv += ["--save-model", out_dir / "m.scdv"]
    # A shell without job control starts background commands with SIGINT
    # ignored, and a child inherits that (Python then installs no handler):
    # give the command the default disposition a terminal would, so the test
    # does not depend on how pytest itself was started.
    process = subprocess.Popen([os.fspath(a) for a in argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=tmp_path,
                               preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 60
        while not _started_fitting(process.pid):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "fitting never started"
            time.sleep(0.02)
        time.sleep(0.3)  # inside word2vec's training by now
        assert process.poll() is None, "finished before it could be interrupted"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    err = stderr.decode()
    assert err.splitlines() == ["scdv: error: interrupted; nothing was written"], err
    assert stdout == b""
    assert listing(out_dir) == []
    assert listing(tmp_path) == ["docs.txt", "out"]


# ---------------------------------------------------------------------------
# SIGTERM and SIGHUP, as kill, timeout, systemd and docker send them

#: Runs the command with a vectors writer that writes half and then stalls,
#: so that the signal arrives while a temporary exists.
SLOW_WRITER = """
import sys, time
from scdv import _io, cli

def stall(handle, X, fmt):
    handle.write(b"half a matrix")
    handle.flush()
    time.sleep(120)

_io._write_matrix = stall
sys.exit(cli.main(sys.argv[1:]))
"""


def _default_terminating_signals():
    # Started under nohup, SIGHUP would be ignored, and scdv keeps it ignored.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_while_writing_leave_no_part_and_no_output(model_path, dirs,
                                                                      signum):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_text("orbit rocket")
    (inputs / "b.txt").write_text("hockey goal")
    argv = [sys.executable, "-c", SLOW_WRITER, "vectorize", "--model", model_path,
            inputs, "-o", out_dir / "v.npz"]
    process = subprocess.Popen([os.fspath(a) for a in argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=inputs,
                               preexec_fn=_default_terminating_signals)
    try:
        deadline = time.monotonic() + 60
        while not any(name.endswith(".part") for name in listing(out_dir)):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "writing never started"
            time.sleep(0.02)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    name = signal.Signals(signum).name
    assert process.returncode == 128 + signum, stderr
    assert stderr.decode().splitlines() == [
        f"scdv: error: terminated by {name}; nothing was written"]
    assert stdout == b""
    assert listing(out_dir) == []


def test_terminating_signals_are_caught_only_while_a_command_runs(model_path, dirs,
                                                                  monkeypatch):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set in the main thread")
    inputs, out_dir = dirs
    (inputs / "a.txt").write_text("orbit rocket")

    def mine(signum, frame):  # pragma: no cover - never delivered
        pass

    signums = (signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, mine) for s in signums}
    during = {}
    real_write = commands.write_outputs

    def spy(*args, **kwargs):
        during.update({s: signal.getsignal(s) for s in signums})
        return real_write(*args, **kwargs)

    try:
        monkeypatch.setattr(commands, "write_outputs", spy)
        result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
        after = {s: signal.getsignal(s) for s in signums}
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    assert result[0] == 0, result
    assert all(callable(during[s]) and during[s] is not mine for s in signums), during
    assert after == {s: mine for s in signums}


# ---------------------------------------------------------------------------
# Inputs that change under the run


def test_file_replaced_by_a_fifo_after_listing_is_refused_not_waited_for(model_path,
                                                                         dirs,
                                                                         monkeypatch):
    inputs, out_dir = dirs
    (inputs / "a.txt").write_text("orbit rocket")
    swapped = inputs / "b.txt"
    swapped.write_text("hockey goal")
    real_walk = _io._walk_regular_files

    def walk_then_swap(*args, **kwargs):
        found = real_walk(*args, **kwargs)
        swapped.unlink()
        os.mkfifo(swapped)  # nobody will ever write to it
        return found

    monkeypatch.setattr(_io, "_walk_regular_files", walk_then_swap)
    result = run_bounded(["vectorize", "--model", model_path, inputs, "-o",
                          out_dir / "v.npz"], unblock=lambda: unblock_fifo_reader(swapped))
    assert_failed(result, out_dir, repr(os.fspath(swapped)), "a FIFO (named pipe)",
                  "not a regular file")


# ---------------------------------------------------------------------------
# File names that broke the old ids file


def test_nasty_file_names_round_trip_through_the_ids_manifest(model, model_path, dirs):
    inputs, out_dir = dirs
    names = [b"a\nb.txt", b"a\\nb.txt", b"vt\x0b.txt", b"fs\x1c.txt",
             "nel\x85.txt".encode(), "ls\u2028.txt".encode(), b"caf\xff.txt"]
    folder = os.fsencode(inputs)
    for name in names:
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(b"orbit rocket")
    result = run("vectorize", "--model", model_path, inputs, "-o", out_dir / "v.npz")
    X, ids = assert_succeeded(result, out_dir, len(names))
    assert [os.fsencode(i) for i in ids] == sorted(os.path.join(folder, n) for n in names)
    assert same(X, model.transform(["orbit rocket"] * len(names)))
