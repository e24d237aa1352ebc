"""The ``scdv`` command and the file helpers under it (scdv._io).

Most tests call ``main([...])`` in-process; a few run the real command as a
subprocess (``python -m scdv`` and the ``scdv`` console script). One model is
fitted per module on a tiny corpus, with tiny settings, to stay fast.
"""

import io
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file

import scdv
from scdv import SCDV, load
from scdv import _io, commands
from scdv._io import (
    InputError,
    StagedOutputs,
    expand_inputs,
    ids_path,
    read_documents,
    stage_vectors,
)
from scdv.cli import build_parser

from .cli_helpers import (  # noqa: F401 (corpus_dir, model_path, model: fixtures)
    N_DOCS,
    TINY,
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

SCRIPT = Path(sys.executable).with_name("scdv")


# ---------------------------------------------------------------------------
# Fixtures (more in cli_helpers)


@pytest.fixture(scope="module")
def texts(corpus_dir):
    return [p.read_text(encoding="utf-8") for p in sorted(corpus_dir.iterdir())]


@pytest.fixture
def out_dir(tmp_path):
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


# ---------------------------------------------------------------------------
# vectorize: inputs


def test_vectorize_directory_fits_and_matches_library(corpus_dir, texts, out_dir):
    out = out_dir / "vectors.npz"
    code, stdout, err = run("vectorize", corpus_dir, "-o", out, *TINY_ARGS)
    assert code == 0, err
    assert stdout == ""
    X = sp.load_npz(out)
    assert sp.isspmatrix_csr(X) and X.dtype == np.float32
    assert X.shape == (N_DOCS, WIDTH)
    # random_state defaults to 0 on the command line: the library gives the same rows.
    expected = SCDV(**TINY, random_state=0).fit_transform(texts)
    assert same(X, expected)
    ids = commands.read_ids(out_dir / "vectors.npz.ids.jsonl")
    assert ids == [os.path.join(os.fspath(corpus_dir), f"doc{i:02d}.txt")
                   for i in range(N_DOCS)]
    assert err.strip() == (f"scdv: wrote {N_DOCS} x {WIDTH} CSR ({X.nnz:,} non-zeros) "
                           f"to {out}; ids in {out}.ids.jsonl")
    assert listing(out_dir) == ["vectors.npz", "vectors.npz.ids.jsonl"]


def test_vectorize_with_model_matches_library_transform(corpus_dir, texts,
                                                        model, model_path, out_dir):
    out = out_dir / "v.npz"
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out)
    assert code == 0, err
    assert same(sp.load_npz(out), model.transform(texts))


def test_files_are_one_document_each_in_the_order_given(corpus_dir, texts, model,
                                                        model_path, out_dir):
    first, second = corpus_dir / "doc05.txt", corpus_dir / "doc01.txt"
    out = out_dir / "two.npz"
    code, _, err = run("vectorize", "--model", model_path, first, second, "-o", out)
    assert code == 0, err
    assert same(sp.load_npz(out), model.transform([texts[5], texts[1]]))
    assert commands.read_ids(ids_path(out)) == [str(first), str(second)]


def test_lines_makes_each_non_blank_line_a_document(texts, model, model_path,
                                                    tmp_path, out_dir):
    source = tmp_path / "lines.txt"
    source.write_text(f"{texts[0]}\n\n{texts[1]}\r\n   \n{texts[2]}", encoding="utf-8")
    out = out_dir / "lines.npz"
    code, _, err = run("vectorize", "--model", model_path, "--lines", source,
                       "-o", out)
    assert code == 0, err
    assert same(sp.load_npz(out), model.transform(texts[:3]))
    assert commands.read_ids(ids_path(out)) == [
        f"{source}:1", f"{source}:3", f"{source}:5"]


def test_stdin_is_one_document_per_line(monkeypatch, texts, model, model_path,
                                        out_dir):
    data = f"{texts[3]}\n\n{texts[4]}\n".encode("utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out = out_dir / "stdin.npz"
    code, _, err = run("vectorize", "--model", model_path, "-", "-o", out)
    assert code == 0, err
    assert same(sp.load_npz(out), model.transform(texts[3:5]))
    assert commands.read_ids(ids_path(out)) == ["-:1", "-:3"]


def test_options_may_follow_and_precede_inputs(corpus_dir, model_path, out_dir):
    out = out_dir / "mixed.npz"
    code, _, err = run("vectorize", corpus_dir / "doc00.txt", "-o", out,
                       corpus_dir / "doc01.txt", "--model", model_path)
    assert code == 0, err
    assert sp.load_npz(out).shape == (2, WIDTH)


# ---------------------------------------------------------------------------
# vectorize: outputs


def test_svmlight_file_loads_back(corpus_dir, texts, model, model_path, out_dir):
    out = out_dir / "v.svm"
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out,
                       "--format", "svmlight")
    assert code == 0, err
    X, y = load_svmlight_file(os.fspath(out), n_features=WIDTH, zero_based=True)
    assert np.array_equal(y, np.zeros(N_DOCS))
    np.testing.assert_allclose(X.toarray(), model.transform(texts).toarray(), rtol=1e-6)
    assert len(commands.read_ids(ids_path(out))) == N_DOCS


def test_npy_is_dense_float32(corpus_dir, texts, model, model_path, out_dir):
    out = out_dir / "v.npy"
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out,
                       "--format", "npy")
    assert code == 0, err
    dense = np.load(out)
    assert dense.dtype == np.float32 and dense.shape == (N_DOCS, WIDTH)
    assert np.array_equal(dense, model.transform(texts).toarray())
    assert "dense float32" in err


def test_dash_output_writes_svmlight_to_stdout_and_no_sidecar(corpus_dir, texts,
                                                              model, model_path, out_dir,
                                                              monkeypatch):
    monkeypatch.chdir(out_dir)
    code, stdout, err = run("vectorize", "--model", model_path, corpus_dir,
                            "-o", "-")
    assert code == 0, err
    assert len(stdout.splitlines()) == N_DOCS
    X, y = load_svmlight_file(io.BytesIO(stdout.encode()), n_features=WIDTH,
                              zero_based=True)
    np.testing.assert_allclose(X.toarray(), model.transform(texts).toarray(), rtol=1e-6)
    assert "ids not written" in err
    assert listing(out_dir) == []


def test_max_dense_mb_refuses_before_fitting(corpus_dir, out_dir, monkeypatch):
    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before refusing")

    monkeypatch.setattr(SCDV, "fit_transform", no_fit)
    out = out_dir / "v.npy"
    code, _, err = run("vectorize", corpus_dir, "-o", out, "--format", "npy",
                       "--max-dense-mb", "0.001", *TINY_ARGS)
    assert code == 1
    assert_one_error_line(err, "--max-dense-mb", f"{N_DOCS} x {WIDTH}", "--format npz")
    assert listing(out_dir) == []


def test_max_dense_mb_allows_what_fits(corpus_dir, model_path, out_dir):
    need_mb = N_DOCS * WIDTH * 4 / 2**20
    out = out_dir / "v.npy"
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out,
                       "--format", "npy", "--max-dense-mb", str(need_mb * 1.01))
    assert code == 0, err
    assert out.exists()


def test_save_model_keeps_the_fitted_model(corpus_dir, texts, out_dir):
    out, saved = out_dir / "v.npz", out_dir / "m.scdv"
    code, _, err = run("vectorize", corpus_dir, "-o", out, "--save-model", saved,
                       *TINY_ARGS)
    assert code == 0, err
    reloaded = load(saved)
    assert reloaded.get_params()["vector_size"] == TINY["vector_size"]
    np.testing.assert_allclose(reloaded.transform(texts).toarray(),
                               sp.load_npz(out).toarray(), atol=1e-6)
    assert f"in {saved}" in err
    assert listing(out_dir) == ["m.scdv", "v.npz", "v.npz.ids.jsonl"]


def test_model_fitted_on_token_lists_is_refused_in_one_line(corpus_dir, texts,
                                                            out_dir):
    model = SCDV(**TINY, tokenizer=None, random_state=0).fit(
        [t.lower().split() for t in texts])
    path = out_dir / "tokens.scdv"
    model.save(path)
    code, out, err = run("vectorize", "--model", path, corpus_dir,
                         "-o", out_dir / "v.npz")
    assert code == 1 and out == ""
    assert_one_error_line(err, "tokenizer=None", "scdv fit")
    assert sorted(p.name for p in out_dir.iterdir()) == ["tokens.scdv"]


def test_fit_saves_a_loadable_model(model, model_path):
    assert model.word_vectors_.shape[1] == TINY["vector_size"]
    assert model.word_cluster_proba_.shape[1] == TINY["n_components"]
    assert model.get_params()["random_state"] == 0
    assert listing(model_path.parent) == ["model.scdv"]


def test_fit_reports_what_it_saved(corpus_dir, out_dir):
    path = out_dir / "m.scdv"
    code, _, err = run("fit", corpus_dir, "-o", path, *TINY_ARGS)
    assert code == 0, err
    assert f"fitted on {N_DOCS} documents" in err and str(path) in err
    assert load(path).n_components == TINY["n_components"]


def test_quiet_prints_nothing(corpus_dir, model_path, out_dir):
    code, stdout, err = run("vectorize", "-q", "--model", model_path, corpus_dir,
                            "-o", out_dir / "v.npz")
    assert (code, stdout, err) == (0, "", "")


def test_parameter_defaults_are_the_library_defaults():
    parser = build_parser()
    args = parser.parse_args(["vectorize", "x", "-o", "y"])
    from scdv.cli import _fit_params

    params = _fit_params(args)
    library = SCDV().get_params()
    for name, value in params.items():
        if name not in ("random_state", "verbose"):
            assert value == library[name], name
    assert params["random_state"] == 0
    assert params["verbose"] == 1


def test_options_reach_the_model(corpus_dir, out_dir):
    path = out_dir / "m.scdv"
    code, _, err = run("fit", corpus_dir, "-o", path, *TINY_ARGS,
                       "--covariance-type", "diag", "--sparsity-percentage", "0.1",
                       "--window", "3", "--random-state", "7", "--batch-size", "5",
                       "--sublinear-tf")
    assert code == 0, err
    params = load(path).get_params()
    assert (params["covariance_type"], params["sparsity_percentage"], params["window"],
            params["random_state"], params["batch_size"],
            params["sublinear_tf"]) == ("diag", 0.1, 3, 7, 5, True)


# ---------------------------------------------------------------------------
# --force and existing outputs


@pytest.mark.parametrize("existing", ["v.npz", "v.npz.ids.jsonl", "m.scdv"])
def test_existing_output_is_refused_before_fitting(corpus_dir, out_dir, existing,
                                                   monkeypatch):
    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before refusing")

    monkeypatch.setattr(SCDV, "fit_transform", no_fit)
    (out_dir / existing).write_text("keep me")
    code, _, err = run("vectorize", corpus_dir, "-o", out_dir / "v.npz",
                       "--save-model", out_dir / "m.scdv", *TINY_ARGS)
    assert code == 1
    assert_one_error_line(err, existing, "already exists", "use --force")
    assert listing(out_dir) == [existing]
    assert (out_dir / existing).read_text() == "keep me"


def test_fit_refuses_existing_model(corpus_dir, out_dir):
    (out_dir / "m.scdv").write_text("keep me")
    code, _, err = run("fit", corpus_dir, "-o", out_dir / "m.scdv", *TINY_ARGS)
    assert code == 1
    assert_one_error_line(err, "m.scdv", "--force")
    assert (out_dir / "m.scdv").read_text() == "keep me"


def test_force_overwrites(corpus_dir, model_path, out_dir):
    out = out_dir / "v.npz"
    out.write_text("old")
    Path(ids_path(out)).write_text("old")
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out,
                       "--force")
    assert code == 0, err
    assert sp.load_npz(out).shape == (N_DOCS, WIDTH)
    assert len(commands.read_ids(ids_path(out))) == N_DOCS
    assert listing(out_dir) == ["v.npz", "v.npz.ids.jsonl"]


# ---------------------------------------------------------------------------
# Errors: one line, the right exit code, nothing written


def _bad_model(directory):
    path = directory / "bad.scdv"
    path.write_bytes(b"this is not a model")
    return path


def _empty_dir(directory):
    path = directory / "empty"
    path.mkdir()
    return path


def _latin1_file(directory):
    path = directory / "latin1.txt"
    path.write_bytes("caf\u00e9 cr\u00e8me br\u00fbl\u00e9e\n".encode("latin-1"))
    return path


DATA_ERRORS = {
    # name: (extra argv built from (corpus_dir, tmp_path), fragments in the message)
    "missing input": (lambda c, t: [t / "nope.txt", *TINY_ARGS], ["nope.txt"]),
    "undecodable file": (lambda c, t: [c, _latin1_file(t), *TINY_ARGS],
                         ["latin1.txt", "utf-8", "--encoding"]),
    "empty directory": (lambda c, t: [_empty_dir(t), *TINY_ARGS],
                        ["no documents", "empty"]),
    "vocabulary too small": (lambda c, t: [c, *TINY_ARGS, "--n-components", "500"],
                             ["n_components=500"]),
    "empty vocabulary": (lambda c, t: [c, *TINY_ARGS, "--min-count", "100000"],
                         ["min_count=100000", "vocabulary is empty"]),
    "bad model file": (lambda c, t: [c, "--model", _bad_model(t)], ["bad.scdv"]),
    "missing model file": (lambda c, t: [c, "--model", t / "none.scdv"], ["none.scdv"]),
    "output directory missing": (lambda c, t: [c, *TINY_ARGS, "-o", t / "no" / "v.npz"],
                                 ["does not exist"]),
}


@pytest.mark.parametrize("case", sorted(DATA_ERRORS))
def test_bad_data_exits_1_with_one_line(corpus_dir, tmp_path, out_dir, case):
    build, fragments = DATA_ERRORS[case]
    code, stdout, err = run("vectorize", "-o", out_dir / "v.npz",
                            *build(corpus_dir, tmp_path))
    assert code == 1
    assert_one_error_line(err, *fragments)
    assert stdout == ""
    assert listing(out_dir) == []


USAGE_ERRORS = {
    "negative vector size": (["--vector-size", "-3"], ["--vector-size", "-3"]),
    "zero components": (["--n-components", "0"], ["--n-components"]),
    "bad sparsity": (["--sparsity-percentage", "2"], ["--sparsity-percentage"]),
    "negative random state": (["--random-state", "-1"], ["--random-state"]),
    "not an int": (["--epochs", "three"], ["--epochs", "three"]),
    "unknown option": (["--frobnicate"], ["--frobnicate", "scdv vectorize --help"]),
    "bad choice": (["--covariance-type", "round"], ["--covariance-type"]),
    "unknown encoding": (["--encoding", "no-such-codec"], ["--encoding"]),
    "negative max dense": (["--max-dense-mb", "-1"], ["--max-dense-mb"]),
    "npz to stdout": (["-o", "-", "--format", "npz"], ["-o -", "svmlight"]),
    "stdin twice": (["-", "-"], ["standard input"]),
    "fit option with model": (["--model", "m.scdv", "--epochs", "3"],
                              ["--epochs", "--model"]),
    "save-model with model": (["--model", "m.scdv", "--save-model", "x.scdv"],
                              ["--save-model"]),
    "save-model over output": (["--save-model", "v.npz"], ["same file"]),
}


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_bad_usage_exits_2_with_one_line(corpus_dir, out_dir, case, monkeypatch):
    monkeypatch.chdir(out_dir)
    extra, fragments = USAGE_ERRORS[case]
    argv = ["vectorize", corpus_dir, *extra]
    if "-o" not in extra:
        argv += ["-o", "v.npz"]
    code, stdout, err = run(*argv)
    assert code == 2
    assert_one_error_line(err, *fragments)
    assert stdout == ""
    assert listing(out_dir) == []


@pytest.mark.parametrize("argv", [[], ["frob"], ["vectorize"], ["fit", "x"],
                                  ["fit", "x", "-o", "-"]])
def test_bad_command_lines_exit_2(argv):
    code, _, err = run(*argv)
    assert code == 2
    assert_one_error_line(err)


def test_output_that_is_also_an_input_is_refused(tmp_path, corpus_dir,
                                                 model_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text((corpus_dir / "doc00.txt").read_text())
    (docs / "v.npz").write_text("an earlier output")
    code, _, err = run("vectorize", "--model", model_path, docs,
                       "-o", docs / "v.npz", "--force")
    assert code == 2
    assert_one_error_line(err, "v.npz", "also an input")
    assert (docs / "v.npz").read_text() == "an earlier output"


def test_encoding_errors_replace_reads_undecodable_file(tmp_path, corpus_dir,
                                                        model_path, out_dir):
    bad = _latin1_file(tmp_path)
    out = out_dir / "v.npz"
    code, _, err = run("vectorize", "--model", model_path, bad, "-o", out,
                       "--encoding-errors", "replace")
    assert code == 0, err
    assert sp.load_npz(out).shape == (1, WIDTH)


def test_encoding_option_decodes_latin1(tmp_path):
    bad = _latin1_file(tmp_path)
    texts, _ = read_documents([bad], encoding="latin-1")
    assert texts == ["caf\u00e9 cr\u00e8me br\u00fbl\u00e9e\n"]


def test_interrupt_during_fit_exits_130_and_writes_nothing(corpus_dir, out_dir,
                                                           monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(SCDV, "fit_transform", interrupted)
    code, _, err = run("vectorize", corpus_dir, "-o", out_dir / "v.npz",
                       *TINY_ARGS)
    assert code == 130
    assert_one_error_line(err, "interrupted")
    assert listing(out_dir) == []


def test_interrupt_while_writing_leaves_no_partial_file(corpus_dir, out_dir,
                                                        monkeypatch):
    def interrupted(handle, X, fmt):
        handle.write(b"half a matrix")
        raise KeyboardInterrupt

    monkeypatch.setattr(_io, "_write_matrix", interrupted)
    code, _, err = run("vectorize", corpus_dir, "-o", out_dir / "v.npz",
                       "--save-model", out_dir / "m.scdv", *TINY_ARGS)
    assert code == 130
    assert_one_error_line(err, "interrupted")
    assert listing(out_dir) == []  # no output, sidecar, model or .part file


def test_write_failure_is_one_line_and_leaves_nothing(corpus_dir, model_path,
                                                      out_dir, monkeypatch):
    def disk_full(handle, X, fmt):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_io, "_write_matrix", disk_full)
    code, _, err = run("vectorize", "--model", model_path, corpus_dir,
                       "-o", out_dir / "v.npz")
    assert code == 1
    assert_one_error_line(err, "No space left on device")
    assert listing(out_dir) == []


# ---------------------------------------------------------------------------
# Help and version


@pytest.mark.parametrize("command, example", [
    ([], "scdv vectorize corpus/ -o vectors.npz"),
    (["vectorize"], "scdv vectorize --model model.scdv new/ -o new.npz"),
    (["fit"], "scdv fit corpus/ -o model.scdv"),
])
def test_help_exits_0_and_shows_an_example(command, example):
    code, stdout, _ = run(*command, "--help")
    assert code == 0
    assert "examples:" in stdout and example in stdout


def test_vectorize_help_documents_sidecar_stdout_and_seed():
    _, stdout, _ = run("vectorize", "--help")
    flat = " ".join(stdout.split())
    assert "OUT.ids.jsonl" in flat
    assert "ids are not written" in flat
    assert "default: 0 on the command line" in flat
    for option in ("--tokenizer", "--vector-size", "--window", "--min-count", "--negative",
                   "--sample", "--epochs", "--n-components", "--covariance-type",
                   "--gmm-max-iter", "--sparsity-percentage", "--workers",
                   "--batch-size", "--random-state", "--lines", "--encoding",
                   "--encoding-errors", "--format", "--max-dense-mb", "--model",
                   "--save-model", "--force", "--quiet"):
        assert option in stdout, option


def test_version():
    code, stdout, _ = run("--version")
    assert code == 0
    assert stdout.strip() == f"scdv {scdv.__version__}"


# ---------------------------------------------------------------------------
# As a real process


def _run_process(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, timeout=120, **kwargs)


def test_python_m_scdv_vectorizes(corpus_dir, texts, model, model_path, tmp_path):
    out = tmp_path / "v.npz"
    result = _run_process([sys.executable, "-m", "scdv", "vectorize", "--model",
                           model_path, corpus_dir, "-o", out], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert same(sp.load_npz(out), model.transform(texts))


@pytest.mark.skipif(not SCRIPT.exists(), reason="scdv console script not installed")
def test_console_script_reads_stdin_and_writes_stdout(texts, model, model_path, tmp_path):
    result = _run_process([SCRIPT, "vectorize", "--model", model_path, "-", "-o", "-"],
                          input="\n".join(texts[:5]).encode(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    X, _ = load_svmlight_file(io.BytesIO(result.stdout), n_features=WIDTH,
                              zero_based=True)
    np.testing.assert_allclose(X.toarray(), model.transform(texts[:5]).toarray(),
                               rtol=1e-6)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not SCRIPT.exists(), reason="scdv console script not installed")
@pytest.mark.parametrize("argv, status", [
    (["vectorize", "missing-dir", "-o", "v.npz"], 1),
    (["fit", "missing-dir", "-o", "m.scdv", "--vector-size", "-1"], 2),
])
def test_console_script_errors(tmp_path, argv, status):
    result = _run_process([SCRIPT, *argv], cwd=tmp_path)
    assert result.returncode == status
    err = result.stderr.decode()
    assert_one_error_line(err)
    assert result.stdout == b""
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------
# scdv._io on its own


def test_directories_are_walked_in_sorted_path_order(tmp_path):
    root = tmp_path / "d"
    (root / "a").mkdir(parents=True)
    for name in ("b.txt", "a/z.txt", "a.txt", ".hidden"):
        (root / name).write_text(name)
    texts, ids = read_documents([root], hidden=True)  # hidden: sorted in too
    assert ids == [os.path.join(root, n) for n in (".hidden", "a.txt", "a/z.txt", "b.txt")]
    assert texts == [".hidden", "a.txt", "a/z.txt", "b.txt"]


def test_walk_skips_links_to_directories_and_special_files(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "real.txt").write_text("real")
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "link.txt").symlink_to(root / "real.txt")
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    os.mkfifo(root / "fifo")
    assert expand_inputs([root]) == [os.path.join(root, "link.txt"),
                                     os.path.join(root, "real.txt")]


def test_explicit_fifo_is_read(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "wb") as handle:
            handle.write(b"one\ntwo\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        texts, ids = read_documents([fifo], lines=True)
    finally:
        writer.join(timeout=10)
    assert texts == ["one", "two"] and ids == [f"{fifo}:1", f"{fifo}:2"]


def test_read_documents_missing_path(tmp_path):
    with pytest.raises(InputError, match="nope") as info:
        read_documents([tmp_path / "nope"])
    assert info.value.reason == "missing"
    assert isinstance(info.value, scdv.ScdvError)


def test_read_documents_undecodable_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nstill fine\nbad \xff here\n")
    with pytest.raises(InputError, match=r"bad\.txt.*0xff.*line 3") as info:
        read_documents([path])
    assert info.value.reason == "decode" and info.value.path == str(path)
    texts, _ = read_documents([path], errors="replace")
    assert "\ufffd" in texts[0]
    texts, _ = read_documents([path], errors="ignore")
    assert texts == ["fine\nstill fine\nbad  here\n"]


def test_read_documents_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "secret.txt"
    path.write_text("x")

    def denied(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", os.fspath(file))

    monkeypatch.setattr(_io, "open", denied, raising=False)  # works even as root
    with pytest.raises(InputError, match="secret.txt.*Permission denied") as info:
        read_documents([path])
    assert info.value.reason == "unreadable"


def test_read_documents_stdin_text_and_bytes():
    assert read_documents(["-"], stdin=io.StringIO("a\n\nb")) == (["a", "b"], ["-:1", "-:3"])
    latin = io.BytesIO("caf\u00e9\n".encode("latin-1"))
    assert read_documents(["-"], stdin=latin, encoding="latin-1") == (["caf\u00e9"], ["-:1"])
    with pytest.raises(InputError, match="stdin"):
        read_documents(["-"], stdin=io.BytesIO(b"\xff\n"))


def test_read_documents_refuses_unknown_encoding(tmp_path):
    with pytest.raises(ValueError, match="no-such"):
        read_documents([tmp_path], encoding="no-such")


def _staged_write(path, writer_fn, *, force=False):
    # One file through StagedOutputs, as the command writes each of its files.
    with StagedOutputs(force=force) as staged:
        writer_fn(staged.open(path))


def test_staged_output_replaces_only_on_success(tmp_path):
    path = tmp_path / "f.bin"
    _staged_write(path, lambda h: h.write(b"one"))
    assert path.read_bytes() == b"one"
    with pytest.raises(FileExistsError):
        _staged_write(path, lambda h: h.write(b"two"))

    def broken(handle):
        handle.write(b"half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        _staged_write(path, broken, force=True)
    assert path.read_bytes() == b"one"
    _staged_write(path, lambda h: h.write(b"three"), force=True)
    assert path.read_bytes() == b"three"
    assert listing(tmp_path) == ["f.bin"]


def test_staged_outputs_are_all_or_nothing_and_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with pytest.raises(KeyboardInterrupt):
            with StagedOutputs() as staged:
                staged.open(tmp_path / "a").write(b"a")
                staged.open(tmp_path / "b").write(b"b")
                raise KeyboardInterrupt
        assert listing(tmp_path) == []
        with StagedOutputs() as staged:
            staged.open(tmp_path / "a").write(b"a")
            staged.open(tmp_path / "b").write(b"b")
        assert listing(tmp_path) == ["a", "b"]
        assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o644
    finally:
        os.umask(old)


def _load_back(path, fmt, n_features):
    if fmt == "npz":
        return sp.load_npz(path)
    if fmt == "npy":
        return np.load(path)
    back, _ = load_svmlight_file(os.fspath(path), n_features=n_features, zero_based=True)
    return back


@pytest.mark.parametrize("fmt", _io.FORMATS)
def test_every_registered_format_round_trips(tmp_path, fmt):
    X = sp.random(5, 7, density=0.4, format="csr", dtype=np.float32, random_state=0)
    path = tmp_path / f"x.{fmt}"
    sidecar = commands.write_outputs(X, path, fmt, [f"d{i}" for i in range(5)])
    assert sidecar == f"{path}.ids.jsonl"
    back = _load_back(path, fmt, 7)
    np.testing.assert_allclose(sp.csr_matrix(back).toarray(), X.toarray(), rtol=1e-6)
    assert commands.read_ids(sidecar) == [f"d{i}" for i in range(5)]


def test_stage_vectors_keeps_one_id_per_line(tmp_path):
    X = sp.csr_matrix(np.eye(2, dtype=np.float32))
    with StagedOutputs() as staged:
        sidecar = stage_vectors(staged, X, tmp_path / "x.npz", "npz",
                                ["odd\nname", "plain"])
    # JSON lines now: the id comes back as it was, newline included.
    assert commands.read_ids(sidecar) == ["odd\nname", "plain"]


def test_stage_vectors_checks_ids_and_format(tmp_path):
    X = sp.csr_matrix(np.eye(2, dtype=np.float32))
    with pytest.raises(ValueError, match="ids"):
        with StagedOutputs() as staged:
            stage_vectors(staged, X, tmp_path / "x.npz", "npz", ["only one"])
    with pytest.raises(ValueError, match="format"):
        with StagedOutputs() as staged:
            stage_vectors(staged, X, tmp_path / "x.bin", "parquet", ["a", "b"])
    with pytest.raises(ValueError, match="standard output"):
        with StagedOutputs() as staged:
            stage_vectors(staged, X, "-", "npz", None)
    assert listing(tmp_path) == []


def test_the_format_registry_drives_choices_help_and_summary():
    formats = _io.OUTPUT_FORMATS
    assert _io.FORMATS == tuple(formats) == ("npz", "svmlight", "npy")
    assert [f.summary for f in formats.values()] == ["CSR", "svmlight", "dense float32"]
    assert _io.default_format("v.out") == "npz" and _io.default_format("-") == "svmlight"
    vectorize = build_parser()._subparsers._group_actions[0].choices["vectorize"]
    option = next(a for a in vectorize._actions if "--format" in a.option_strings)
    assert tuple(option.choices) == _io.FORMATS
    for fmt in formats.values():
        assert f"{fmt.name}: {fmt.help}" in option.help


def test_a_new_format_is_one_registry_entry(tmp_path, monkeypatch, corpus_dir,
                                            model_path, out_dir):
    def write_text(handle, X):
        handle.write(f"{X.shape[0]} {X.shape[1]}\n".encode())

    extra = _io.OutputFormat("shape", write_text, "just the shape", "shape-only")
    monkeypatch.setattr(_io, "OUTPUT_FORMATS", {**_io.OUTPUT_FORMATS, "shape": extra})
    out = out_dir / "v.shape"
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out,
                       "--format", "shape")
    assert code == 0, err
    assert out.read_text() == f"{N_DOCS} {WIDTH}\n"
    assert f"{N_DOCS} x {WIDTH} shape-only" in err
    assert "shape: just the shape" in " ".join(run("vectorize", "--help")[1].split())


def test_write_outputs_saves_the_model_with_the_vectors_or_nothing(tmp_path, model,
                                                                   monkeypatch):
    X = sp.csr_matrix(np.eye(2, dtype=np.float32))
    commands.write_outputs(X, tmp_path / "v.npz", ids=["a", "b"], model=model,
                           model_path=tmp_path / "m.scdv")
    assert listing(tmp_path) == ["m.scdv", "v.npz", "v.npz.ids.jsonl"]
    assert load(tmp_path / "m.scdv").vocabulary_ == model.vocabulary_
    with pytest.raises(ValueError, match="model_path"):
        commands.write_outputs(X, tmp_path / "w.npz", model_path=tmp_path / "n.scdv")

    def disk_full(handle, X, fmt):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_io, "_write_matrix", disk_full)
    with pytest.raises(OSError):
        commands.write_outputs(X, tmp_path / "w.npz", ids=["a", "b"], model=model,
                               model_path=tmp_path / "n.scdv")
    assert listing(tmp_path) == ["m.scdv", "v.npz", "v.npz.ids.jsonl"]


def test_commands_are_the_command_line_in_python(corpus_dir, texts, model, model_path,
                                                 tmp_path):
    read, ids = commands.read_documents([corpus_dir])
    assert read == texts
    X, fitted = commands.vectorize(SCDV(**TINY, random_state=0, verbose=0), read, fit=True)
    assert same(X, model.transform(texts))
    assert commands.n_features(fitted) == WIDTH == X.shape[1]
    assert commands.n_features(SCDV(**TINY)) == WIDTH
    loaded = commands.load_model(model_path, batch_size=7, verbose=0)
    assert loaded.batch_size == 7
    Y, same_model = commands.vectorize(loaded, texts)
    assert same_model is loaded and same(Y, X)
    with pytest.raises(TypeError, match="n_components"):
        commands.load_model(model_path, n_components=3)
    commands.save_model(fitted, tmp_path / "m.scdv")
    with pytest.raises(FileExistsError):
        commands.save_model(fitted, tmp_path / "m.scdv")
    assert listing(tmp_path) == ["m.scdv"]


def test_load_model_refuses_a_model_of_token_lists(texts, tmp_path):
    path = tmp_path / "tokens.scdv"
    SCDV(**TINY, tokenizer=None, random_state=0).fit(
        [t.lower().split() for t in texts]).save(path)
    with pytest.raises(ValueError, match="tokenizer=None"):
        commands.load_model(path)


def test_failed_scheduler_connection_leaves_no_default_client(corpus_dir, model_path,
                                                              out_dir):
    distributed = pytest.importorskip("distributed")
    import dask

    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o",
                       out_dir / "v.npz", "--scheduler", "no-port-here")
    assert code == 2
    assert_one_error_line(err, "--scheduler")
    # Nothing left that later Dask work in this process would wait on.
    with pytest.raises(ValueError):
        distributed.default_client()
    assert dask.config.get("scheduler", None) is None
    assert listing(out_dir) == []


# ---------------------------------------------------------------------------
# Which files of a folder are documents


@pytest.fixture
def article_dir(tmp_path, texts):
    """Articles beside the files a real corpus folder also holds."""
    folder = tmp_path / "articles"
    (folder / "sport").mkdir(parents=True)
    (folder / ".git").mkdir()
    for i, text in enumerate(texts[:4]):
        (folder / "sport" / f"sport-{i}.txt").write_text(text)
    (folder / "LICENSE.txt").write_text("Creative Commons licence terms")
    (folder / "README.txt").write_text("About this corpus")
    (folder / ".DS_Store").write_bytes(b"\x00\x01binary")
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main")
    return folder


def test_hidden_files_and_folders_are_skipped_by_default(article_dir):
    names = [os.path.relpath(p, article_dir) for p in expand_inputs([article_dir])]
    assert names == ["LICENSE.txt", "README.txt"] + [
        os.path.join("sport", f"sport-{i}.txt") for i in range(4)]
    with_hidden = expand_inputs([article_dir], hidden=True)
    assert os.path.join(article_dir, ".DS_Store") in with_hidden
    assert os.path.join(article_dir, ".git", "HEAD") in with_hidden


def test_glob_and_exclude_select_the_documents(article_dir, model_path, out_dir):
    out = out_dir / "v.npz"
    code, _, err = run("vectorize", "--model", model_path, article_dir, "-o", out,
                       "--exclude", "LICENSE*", "--exclude", "README.txt")
    assert code == 0, err
    ids = commands.read_ids(out_dir / "v.npz.ids.jsonl")
    assert [os.path.basename(i) for i in ids] == [f"sport-{i}.txt" for i in range(4)]
    code, _, err = run("vectorize", "--model", model_path, article_dir, "-o",
                       out_dir / "w.npz", "--glob", "sport/*")
    assert code == 0, err
    assert commands.read_ids(out_dir / "w.npz.ids.jsonl") == ids


def test_glob_that_selects_nothing_says_so(article_dir, model_path, out_dir):
    code, _, err = run("vectorize", "--model", model_path, article_dir, "-o",
                       out_dir / "v.npz", "--glob", "*.md")
    assert code == 1
    assert_one_error_line(err, "no regular files that --glob and --exclude select")
    assert listing(out_dir) == []


def test_empty_and_unknown_documents_are_warned_about_in_one_line(
        article_dir, model_path, out_dir):
    (article_dir / "sport" / "sport-9.txt").write_text("   \n")
    (article_dir / "sport" / "sport-8.txt").write_text("zzyzx qwertyuiop")
    code, _, err = run("vectorize", "--model", model_path, article_dir / "sport",
                       "-o", out_dir / "v.npz")
    assert code == 0
    warning = [line for line in err.splitlines() if "warning" in line]
    assert len(warning) == 1, err
    assert "1 document is empty (" in warning[0] and "sport-9.txt" in warning[0]
    assert "1 document has no word in the vocabulary (" in warning[0]
    assert "sport-8.txt" in warning[0] and "rows are all zero" in warning[0]


# ---------------------------------------------------------------------------
# Which encoding to suggest


def _real_livedoor_article():
    datasets = pytest.importorskip("pipelines.datasets")
    try:
        return datasets.load_livedoor(download_if_missing=False).data[0]
    except datasets.DatasetNotFoundError as exc:
        pytest.skip(f"livedoor not available: {exc}")


@pytest.mark.parametrize("codec", ["cp932", "euc-jp"])
def test_japanese_file_that_is_not_utf8_gets_its_japanese_codec_suggested(
        tmp_path, model_path, out_dir, codec):
    path = tmp_path / "article.txt"
    path.write_bytes(_real_livedoor_article().encode(codec, errors="ignore"))
    code, _, err = run("vectorize", "--model", model_path, path, "-o",
                       out_dir / "v.npz")
    assert code == 1
    assert_one_error_line(err, "article.txt", f"decodes cleanly as {codec} and latin-1",
                          f"(e.g. --encoding {codec})")


def test_western_file_gets_latin1_not_a_japanese_codec_suggested(tmp_path,
                                                                 model_path, out_dir):
    path = tmp_path / "note.txt"
    path.write_bytes("Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9 \u00e0 la carte".encode("latin-1"))
    code, _, err = run("vectorize", "--model", model_path, path, "-o",
                       out_dir / "v.npz")
    assert code == 1
    assert_one_error_line(err, "decodes cleanly as latin-1.", "(e.g. --encoding latin-1)")
    assert "cp932" not in err and "euc-jp" not in err


# ---------------------------------------------------------------------------
# Every parameter is an option


def test_every_scdv_parameter_a_user_can_type_is_an_option():
    from scdv.cli import FIT_PARAMETERS

    help_text = build_parser()._subparsers._group_actions[0].choices["fit"].format_help()
    for name in SCDV().get_params():
        if name == "verbose":  # -q / --quiet
            continue
        assert name in FIT_PARAMETERS, name
        assert "--" + name.replace("_", "-") in help_text, name


def test_stop_words_pos_and_renormalize_options_reach_the_model(tmp_path, corpus_dir):
    words = tmp_path / "stop.txt"
    words.write_text("rocket\norbit\n", encoding="utf-8")
    path = tmp_path / "m.scdv"
    code, _, err = run("fit", corpus_dir, "-o", path, *TINY_ARGS, "-q",
                       "--stop-words", words, "--pos", "名詞, 動詞",
                       "--cluster-proba-threshold", "0.3", "--renormalize-proba")
    assert code == 0, err
    model = load(path)
    assert set(model.stop_words) == {"rocket", "orbit"} and "rocket" not in model.vocabulary_
    assert tuple(model.pos) == ("名詞", "動詞")
    assert model.renormalize_proba is True
    np.testing.assert_allclose(model.word_cluster_proba_.sum(axis=1), 1.0)


def test_missing_stop_word_file_is_a_usage_error(tmp_path, corpus_dir):
    code, _, err = run("fit", corpus_dir, "-o", tmp_path / "m.scdv",
                       "--stop-words", tmp_path / "nope.txt")
    assert code == 2
    assert_one_error_line(err, "--stop-words", "nope.txt")
    assert not (tmp_path / "m.scdv").exists()


# ---------------------------------------------------------------------------
# Option values, checked against SCDV._parameter_constraints


def _no_fit(*args, **kwargs):
    raise AssertionError("fitted before refusing")


@pytest.mark.parametrize("argv, line", [
    (["--n-components", "0"], "argument --n-components: must be an int in the range "
                              "[1, inf); got 0"),
    (["--random-state", "4294967296"], "argument --random-state: must be an int in the "
                                       "range [0, 4294967295]; got 4294967296"),
    (["--sparsity-percentage", "2"], "argument --sparsity-percentage: must be a float "
                                     "in the range [0.0, 1.0]; got 2.0"),
    (["--n-jobs", "0"], "argument --n-jobs: must be an int in the range [1, inf) or -1; "
                        "got 0"),
])
def test_option_errors_are_one_line_from_the_parameter_constraints(corpus_dir, out_dir,
                                                                   monkeypatch, argv,
                                                                   line):
    monkeypatch.setattr(SCDV, "fit_transform", _no_fit)
    code, _, err = run("vectorize", corpus_dir, "-o", out_dir / "v.npz", *argv)
    assert code == 2
    assert err == f"scdv: error: {line}\n"
    assert listing(out_dir) == []


def test_n_jobs_0_with_a_model_is_a_usage_error(corpus_dir, model_path, out_dir):
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o",
                       out_dir / "v.npz", "--n-jobs", "0")
    assert code == 2
    assert_one_error_line(err, "argument --n-jobs", "got 0")
    assert listing(out_dir) == []


def test_load_model_refuses_transform_parameters_out_of_range(model_path):
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="n_jobs"):
        commands.load_model(model_path, n_jobs=0)
    with pytest.raises(InvalidParameterError, match="batch_size"):
        commands.load_model(model_path, batch_size=0)


def test_a_parameter_refused_by_transform_is_a_usage_error(corpus_dir, model_path,
                                                           out_dir, monkeypatch):
    from sklearn.utils._param_validation import InvalidParameterError

    def refuse(self, X):
        raise InvalidParameterError("The 'n_jobs' parameter of SCDV must be an int in "
                                    "the range [1, inf). Got 0 instead.")

    monkeypatch.setattr(SCDV, "transform", refuse)
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o",
                       out_dir / "v.npz")
    assert code == 2
    assert_one_error_line(err, "n_jobs")
    assert listing(out_dir) == []


@pytest.mark.parametrize("option, value", [("--sample", "inf"), ("--sample", "nan"),
                                           ("--sparsity-percentage", "nan"),
                                           ("--cluster-proba-threshold", "inf")])
def test_inf_and_nan_are_usage_errors(corpus_dir, out_dir, monkeypatch, option, value):
    monkeypatch.setattr(SCDV, "fit_transform", _no_fit)
    code, _, err = run("vectorize", corpus_dir, "-o", out_dir / "v.npz", option, value)
    assert code == 2
    assert_one_error_line(err, option, "must be a finite number", repr(value))


def test_whole_numbers_too_large_for_word2vec_are_refused_before_fitting(
        corpus_dir, out_dir, monkeypatch):
    # Past a C long, word2vec's threads die and the fit waits for them forever.
    monkeypatch.setattr(SCDV, "fit_transform", _no_fit)
    code, _, err = run("vectorize", corpus_dir, "-o", out_dir / "v.npz",
                       "--window", "10000000000000")
    assert code == 2
    assert_one_error_line(err, "--window", "10000000000000")


def test_a_sample_too_large_for_word2vec_is_a_usage_error_not_a_bug(corpus_dir,
                                                                    out_dir):
    code, _, err = run("vectorize", corpus_dir, "-o", out_dir / "v.npz", *TINY_ARGS,
                       "--sample", "1e308", "-q")
    assert code == 2
    assert_one_error_line(err, "too large", "--sample")
    assert listing(out_dir) == []


# ---------------------------------------------------------------------------
# Targets


@pytest.mark.parametrize("target", ["newdir/x.scdv", "missing/", "existing/"])
def test_fit_into_a_missing_directory_or_a_directory_name_fails_before_fitting(
        corpus_dir, tmp_path, monkeypatch, target):
    monkeypatch.setattr(SCDV, "fit", _no_fit)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing").mkdir()
    code, _, err = run("fit", corpus_dir, "-o", target, *TINY_ARGS)
    assert code == 1
    assert_one_error_line(err, repr(target))
    assert listing(tmp_path) == ["existing"] and listing(tmp_path / "existing") == []


def _special(kind, path):
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except OSError as exc:
            pytest.skip(f"cannot create a device node here: {exc}")
    else:
        path.with_name("real").write_text("keep me")
        path.symlink_to(path.with_name("real"))


@pytest.mark.parametrize("kind, said", [("fifo", "a FIFO (named pipe)"),
                                        ("device", "a character device"),
                                        ("link", "a symbolic link")])
@pytest.mark.parametrize("which", ["output", "ids file"])
def test_force_onto_a_special_file_is_refused_before_any_work(model_path, corpus_dir,
                                                              out_dir, kind, said,
                                                              which):
    out = out_dir / "v.npz"
    target = out if which == "output" else Path(ids_path(out))
    _special(kind, target)
    before = os.lstat(target)
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out,
                       "--force")
    assert code == 1
    assert_one_error_line(err, which, repr(os.fspath(target)), said,
                          "not a regular file")
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert "v.npz" not in listing(out_dir) or which == "output"
    if kind == "link":
        assert (out_dir / "real").read_text() == "keep me"


def test_a_250_character_model_name_is_saved(model, tmp_path):
    name = "m" * 245 + ".scdv"
    assert len(name) == 250
    commands.save_model(model, tmp_path / name)
    assert listing(tmp_path) == [name]
    assert load(tmp_path / name).vocabulary_ == model.vocabulary_


def test_an_output_whose_ids_file_name_is_too_long_is_refused_before_work(
        model_path, corpus_dir, out_dir):
    out = out_dir / ("v" * 246 + ".npz")  # 250 bytes; its ids file would be 260
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out)
    assert code == 1
    assert_one_error_line(err, "ids file", "260 bytes", "255")
    assert listing(out_dir) == []


def test_an_output_whose_ids_file_name_is_250_characters_long_is_written(
        model_path, corpus_dir, texts, model, out_dir):
    out = out_dir / ("v" * 236 + ".npz")  # the ids file: 250 bytes, its temporary more
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out)
    assert code == 0, err
    assert listing(out_dir) == [out.name, out.name + ".ids.jsonl"]
    assert same(sp.load_npz(out), model.transform(texts))
    assert len(commands.read_ids(ids_path(out))) == N_DOCS


def test_dash_output_with_standard_output_closed_is_one_data_error(corpus_dir,
                                                                   model_path, tmp_path):
    result = _run_process([sys.executable, "-m", "scdv", "vectorize", "--model",
                           model_path, corpus_dir, "-o", "-"], cwd=tmp_path,
                          preexec_fn=lambda: os.close(1))  # as the shell's ">&-"
    assert result.returncode == 1
    assert_one_error_line(result.stderr.decode(), "-o -", "standard output", "closed")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------
# Messages


def test_error_messages_show_control_characters_as_escapes(capsys):
    from scdv.cli import _error

    assert _error("model says \x1b]0;owned\x07 and \x1b[2J\x9b\x00 done", 1) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err
    assert err == ("scdv: error: model says \\x1b]0;owned\\x07 and \\x1b[2J\\x9b\\x00 "
                   "done\n")


def test_a_warning_naming_a_file_shows_its_control_characters_as_escapes(
        model_path, tmp_path, out_dir):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("orbit rocket")
    (folder / "evil\x1b[2J.txt").write_text("   ")  # an empty document: warned about
    code, _, err = run("vectorize", "--model", model_path, folder, "-o", out_dir / "v.npz")
    assert code == 0, err
    assert "\x1b" not in err
    assert "evil\\x1b[2J.txt" in err


def test_svmlight_summary_and_help_say_how_to_read_it_back(corpus_dir, model_path,
                                                           out_dir):
    out = out_dir / "v.svm"
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out,
                       "--format", "svmlight")
    assert code == 0, err
    assert (f"read it with load_svmlight_file({os.fspath(out)!r}, zero_based=True, "
            f"n_features={WIDTH})") in err
    flat = " ".join(run("vectorize", "--help")[1].split())
    assert "load_svmlight_file(path, zero_based=True, n_features=K*d)" in flat


def test_transform_time_options_apply_to_a_loaded_model(corpus_dir, texts, model,
                                                        model_path, out_dir):
    import copy

    out = out_dir / "v.npz"
    flipped = not model.sublinear_tf
    code, _, err = run("vectorize", "--model", model_path, corpus_dir, "-o", out,
                       "--power", "0.25", "--sublinear-tf" if flipped else "--no-sublinear-tf")
    assert code == 0, err
    expected = copy.deepcopy(model).set_params(power=0.25, sublinear_tf=flipped).transform(texts)
    assert abs(sp.load_npz(out) - expected).max() <= 1e-6
    assert abs(sp.load_npz(out) - model.transform(texts)).max() > 1e-3  # it did change


def test_options_whose_default_is_on_can_be_turned_off(corpus_dir, texts, model,
                                                       model_path, out_dir):
    import copy

    shaped = copy.deepcopy(model).set_params(power=0.5, sublinear_tf=True)
    shaped_path = out_dir / "shaped.scdv"
    shaped.save(shaped_path)
    out = out_dir / "plain.npz"
    code, _, err = run("vectorize", "--model", shaped_path, corpus_dir, "-o", out,
                       "--power", "none", "--no-sublinear-tf")
    assert code == 0, err
    plain = copy.deepcopy(model).set_params(power=None, sublinear_tf=False).transform(texts)
    assert abs(sp.load_npz(out) - plain).max() <= 1e-6
    code, _, err = run("vectorize", "--model", shaped_path, corpus_dir, "-o", out,
                       "--force", "--power", "nan")
    assert code == 2 and "--power" in err and "finite" in err
