"""Helpers and fixtures shared by the tests of the ``scdv`` command.

``tests/test_cli.py`` and ``tests/test_cli_abuse.py`` import them; the
fixtures are imported by name so that pytest finds them in each module
(and each module still fits its model once).
"""

import io
import os
from contextlib import redirect_stderr, redirect_stdout

import pytest
import scipy.sparse as sp

from scdv import load
from scdv.cli import main

from .conftest import make_corpus

N_DOCS = 40
TINY = dict(vector_size=16, n_components=4, min_count=2, epochs=3)
TINY_ARGS = ["--vector-size", "16", "--n-components", "4", "--min-count", "2",
             "--epochs", "3"]
WIDTH = TINY["vector_size"] * TINY["n_components"]


class _Capture(io.TextIOWrapper):
    """A text stream with a binary ``buffer``, like pytest's capsys streams.

    ``scdv vectorize -o -`` writes its rows to ``sys.stdout.buffer``, which
    a plain StringIO lacks.
    """

    def __init__(self):
        super().__init__(io.BytesIO(), encoding="utf-8", newline="", write_through=True)

    def getvalue(self):
        self.flush()
        return self.buffer.getvalue().decode("utf-8")


def run(*argv):
    """``main(argv)`` in-process with str arguments; returns (exit code, stdout, stderr).

    Redirects the streams itself rather than through capsys, so that it also
    works inside hypothesis tests and threads.
    """
    out, err = _Capture(), _Capture()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([os.fspath(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def assert_one_error_line(err, *fragments):
    """``err`` is one ``scdv: error:`` line naming every fragment, not a crash."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("scdv: error: "), err
    assert "Traceback" not in err
    # A known failure, not a crash caught at the top of main.
    assert "unexpected" not in err and "bug in scdv" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def listing(directory):
    """Every entry of ``directory``, hidden temporaries included."""
    return sorted(os.listdir(directory))


def same(A, B):
    """True when the two matrices have the same shape and exactly equal entries."""
    return A.shape == B.shape and (sp.csr_matrix(A) != sp.csr_matrix(B)).nnz == 0


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    """A directory of N_DOCS small text files, doc00.txt ... in order."""
    directory = tmp_path_factory.mktemp("corpus")
    docs, _ = make_corpus(n_docs=N_DOCS, length=30)
    for i, text in enumerate(docs):
        (directory / f"doc{i:02d}.txt").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def model_path(corpus_dir, tmp_path_factory):
    """``scdv fit`` once for the module, with tiny settings; the saved model's path."""
    path = tmp_path_factory.mktemp("model") / "model.scdv"
    assert main(["fit", os.fspath(corpus_dir), "-o", os.fspath(path), *TINY_ARGS,
                 "-q"]) == 0
    return path


@pytest.fixture(scope="module")
def model(model_path):
    """The model at ``model_path``, loaded."""
    return load(model_path)
