"""scdv.dask on a real LocalCluster: two worker processes on loopback."""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
import dask.bag as db  # noqa: E402

import scdv.dask  # noqa: E402
from scdv import SCDV  # noqa: E402
from scdv.tokenize import english_tokenize  # noqa: E402

from .conftest import SMALL_PARAMS  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        yield client


def _unpacked(client):
    return client.run(lambda: __import__("scdv.dask").dask._UNPACKED)


def test_transform_equals_local_transform_row_for_row(client, fitted, corpus):
    docs = corpus[0]
    X = scdv.dask.transform(fitted, db.from_sequence(docs, npartitions=8))
    assert X.shape[1] == len(fitted.get_feature_names_out()) and X.dtype == np.float32
    assert (X.compute() != fitted.transform(docs)).nnz == 0


def test_model_is_sent_to_each_worker_once(client, fitted, corpus):
    before = _unpacked(client)
    bag = db.from_sequence(corpus[0] * 4, npartitions=12)
    scdv.dask.transform(fitted, bag).compute()
    after = _unpacked(client)
    assert len(after) == 2
    # Twelve partitions, two workers: one copy of the model each.
    assert all(after[w] - before[w] == 1 for w in after)


def test_transform_of_token_lists(client, fitted, corpus):
    tokens = [english_tokenize(d) for d in corpus[0][:20]]
    model = fitted.set_params(tokenizer=None)
    X = scdv.dask.transform(model, db.from_sequence(tokens, npartitions=3)).compute()
    assert (X != model.transform(tokens)).nnz == 0


def test_transform_refuses_a_plain_list(fitted):
    with pytest.raises(TypeError, match="dask.bag.Bag"):
        scdv.dask.transform(fitted, ["a list"])


def test_read_text_files_and_lines(tmp_path, client):
    (tmp_path / "b.txt").write_text("second file\n\nwith two lines\n")
    (tmp_path / "a.txt").write_text("first file\n")
    assert scdv.dask.read_text(tmp_path).compute() == [
        "first file\n", "second file\n\nwith two lines\n"]
    assert sorted(scdv.dask.read_text(tmp_path, lines=True).compute()) == [
        "first file", "second file", "with two lines"]
    with pytest.raises(FileNotFoundError, match="nope"):
        scdv.dask.read_text(tmp_path / "nope")


def test_distributed_fit_counts_like_a_local_fit(client, corpus):
    docs = corpus[0]
    params = {**SMALL_PARAMS}
    remote = scdv.dask.fit(db.from_sequence(docs, npartitions=6), **params)
    local = SCDV(**params).fit(docs)
    # Vocabulary and idf come from counts: identical to the local fit.
    assert set(remote.vocabulary_) == set(local.vocabulary_)
    for word, row in remote.vocabulary_.items():
        assert remote.idf_[row] == pytest.approx(local.idf_[local.vocabulary_[word]])
    # The threshold is the paper's formula over the remote model's own vectors.
    learned, remote.threshold_ = remote.threshold_, 0.0
    dense = remote.transform(docs).toarray()  # normalised, nothing cut
    remote.threshold_ = learned
    expected = 0.04 * (abs(dense.max(1).mean()) + abs(dense.min(1).mean())) / 2
    assert remote.threshold_ == pytest.approx(expected, rel=1e-6)
    X = scdv.dask.transform(remote, db.from_sequence(docs, npartitions=3)).compute()
    assert X.shape == (len(docs), 4 * 16) and X.nnz > 0


def _scdv(*argv):
    # A separate process: a distributed Client made by the command would
    # otherwise stay this test process's default scheduler.
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "scdv", *argv], capture_output=True,
                         text=True, timeout=180)
    return run.returncode, run.stderr


def test_command_line_runs_against_the_scheduler(client, corpus, tmp_path):
    from scipy.sparse import load_npz

    from scdv import load

    folder = tmp_path / "docs"
    folder.mkdir()
    for i, doc in enumerate(corpus[0]):
        (folder / f"{i:02d}.txt").write_text(doc)
    small = ["--vector-size", "16", "--n-components", "4", "--min-count", "2",
             "--epochs", "3", "-q"]
    address = client.scheduler.address
    assert _scdv("vectorize", str(folder), "-o", str(tmp_path / "d.npz"), "--scheduler",
                 address, "--save-model", str(tmp_path / "m.scdv"), *small)[0] == 0
    model = load(tmp_path / "m.scdv")
    remote = load_npz(tmp_path / "d.npz")
    texts = [p.read_text() for p in sorted(folder.iterdir())]
    assert (remote != model.transform(texts)).nnz == 0
    assert _scdv("vectorize", str(folder), "-o", str(tmp_path / "e.npz"), "--model",
                 str(tmp_path / "m.scdv"), "--scheduler", address, "-q")[0] == 0
    assert (load_npz(tmp_path / "e.npz") != remote).nnz == 0
    code, err = _scdv("vectorize", str(folder), "-o", str(tmp_path / "f.npz"), "--model",
                      str(tmp_path / "m.scdv"), "--scheduler", "tcp://127.0.0.1:9", "-q")
    assert code == 1 and "cannot reach the Dask scheduler" in err
    assert not (tmp_path / "f.npz").exists()


def test_command_line_refuses_a_malformed_scheduler_address(tmp_path):
    (tmp_path / "a.txt").write_text("some text")
    code, err = _scdv("vectorize", str(tmp_path / "a.txt"), "-o", str(tmp_path / "o.npz"),
                      "--scheduler", "no-port-here", "-q")
    assert code == 2 and "--scheduler" in err and "Traceback" not in err
    assert not (tmp_path / "o.npz").exists()


def test_distributed_fit_equals_a_local_fit_with_one_word2vec_thread(client, corpus):
    docs = corpus[0]
    params = {**SMALL_PARAMS, "workers": 1}
    remote = scdv.dask.fit(db.from_sequence(docs, npartitions=5), **params)
    local = SCDV(**params).fit(docs)
    assert list(remote.vocabulary_) == list(local.vocabulary_)
    np.testing.assert_array_equal(remote.word_vectors_, local.word_vectors_)
    np.testing.assert_allclose(remote.word_cluster_proba_, local.word_cluster_proba_)
    np.testing.assert_allclose(remote.idf_, local.idf_, rtol=1e-12)
    assert remote.threshold_ == pytest.approx(local.threshold_, rel=1e-9)


def test_distributed_fit_uses_pretrained_word_vectors(client, corpus):
    from gensim.models import KeyedVectors

    docs = corpus[0]
    words = sorted({t for d in docs for t in english_tokenize(d)})
    kv = KeyedVectors(vector_size=12)
    kv.add_vectors(words, np.random.RandomState(0).randn(len(words), 12).astype(np.float32))
    params = {**SMALL_PARAMS, "word_vectors": kv}
    remote = scdv.dask.fit(db.from_sequence(docs, npartitions=4), **params)
    local = SCDV(**params).fit(docs)
    assert remote.word_vectors_.shape[1] == 12
    assert remote.vocabulary_ == local.vocabulary_
    np.testing.assert_array_equal(remote.word_vectors_, local.word_vectors_)
    np.testing.assert_allclose(remote.idf_, local.idf_, rtol=1e-12)
    assert remote.threshold_ == pytest.approx(local.threshold_, rel=1e-9)


@pytest.mark.parametrize("lines", [False, True], ids=["files", "lines"])
def test_read_text_decode_error_names_the_file_and_offset_and_logs_no_text(
        client, tmp_path, lines):
    secret = "Zebrafish-confidential café"
    (tmp_path / "ok.txt").write_text("fine text\n")
    (tmp_path / "latin.txt").write_bytes(f"line one\n{secret}\n".encode("latin-1"))
    with pytest.raises(scdv.InputError) as info:
        scdv.dask.read_text(tmp_path, lines=lines).compute()
    message = str(info.value)
    assert "latin.txt" in message and "offset 35" in message and "line 2" in message
    assert secret not in message
    logs = client.get_worker_logs()
    assert not any("Zebrafish" in line for log in logs.values() for _, line in log)
