"""Tests for pipelines.datasets: real-corpus counts (skipped without data) and tiny fake layouts."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import logging
import re
import tarfile
import threading
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

PROJECT_ROOT = Path(__file__).resolve().parents[1]

from pipelines import datasets
from pipelines.datasets import (
    DatasetNotFoundError,
    load_20newsgroups,
    load_dataset,
    load_livedoor,
    load_reuters,
    resolve_data_dir,
)


# --------------------------------------------------------------------------- helpers


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, payload in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    return root


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """A .tar.gz holding ``files`` plus explicit directory entries (which loaders must skip)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        dirs = sorted({str(Path(rel).parent) for rel in files} - {"."})
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for rel, payload in sorted(files.items()):
            info = tarfile.TarInfo(rel)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def write_tar(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tar_bytes(files))
    return path


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for rel, payload in sorted(files.items()):
            archive.writestr(rel, payload)
    return path


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """No SCDV_DATA, no default shared/data and an empty HOME, so nothing real leaks in."""
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "_default_data_dir", lambda: tmp_path / "no-shared-data")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


# --------------------------------------------------------------------------- fake corpora

# Ids "9" and "10" check numeric (not string) ordering; sci.space exists only in test.
FAKE_20NG = {
    "20news-bydate-train/alt.atheism/10": b"From: a@b\nSubject: ten\n\nbody ten\n",
    "20news-bydate-train/alt.atheism/9": b"From: a@b\nSubject: nine\n\nbody nine\n",
    "20news-bydate-train/comp.graphics/38753": b"Subject: caf\xe9\r\n\r\nlatin-1 body\r\n",
    "20news-bydate-train/comp.graphics/100": b"Subject: hundred\n\nbody\n",
    "20news-bydate-test/alt.atheism/53068": b"Subject: test one\n\nx\n",
    "20news-bydate-test/comp.graphics/39009": b"Subject: test two\n\ny\n",
    "20news-bydate-test/sci.space/60000": b"Subject: test three\n\nz\n",
}
TRAIN_IDS = [
    "20news-bydate-train/alt.atheism/9",
    "20news-bydate-train/alt.atheism/10",
    "20news-bydate-train/comp.graphics/100",
    "20news-bydate-train/comp.graphics/38753",
]
TEST_IDS = [
    "20news-bydate-test/alt.atheism/53068",
    "20news-bydate-test/comp.graphics/39009",
    "20news-bydate-test/sci.space/60000",
]
GROUPS = ["alt.atheism", "comp.graphics", "sci.space"]


def _article(article_id: int, title: str, body: str) -> bytes:
    head = f"http://news.livedoor.com/article/detail/{article_id}/\n2012-09-01T10:00:00+0900\n"
    return (head + f"{title}\n{body}\n").encode("utf-8")


FAKE_LIVEDOOR = {
    "text/README.txt": b"readme\n",
    "text/CHANGES.txt": b"changes\n",
    "text/cat-a/LICENSE.txt": b"license a\n",
    "text/cat-a/cat-a-20.txt": _article(20, "タイトル二十", "本文その二十。"),
    "text/cat-a/cat-a-3.txt": _article(3, "タイトル三", "本文その三。\n二行目。"),
    "text/peachy/LICENSE.txt": b"license peachy\n",
    "text/peachy/peachy-7.txt": _article(7, "ピーチ", "本文。"),
}
LIVEDOOR_IDS = ["text/cat-a/cat-a-3.txt", "text/cat-a/cat-a-20.txt", "text/peachy/peachy-7.txt"]
LIVEDOOR_TEXTS = [
    "タイトル三\n本文その三。\n二行目。\n",
    "タイトル二十\n本文その二十。\n",
    "ピーチ\n本文。\n",
]

# "corn" only labels a test document: train must still get its (all-zero) column.
# The repeated "earn" mirrors cats.txt, which repeats a label on two lines.
FAKE_REUTERS = {
    "reuters/README": b"readme\n",
    "reuters/stopwords": b"a\nthe\n",
    "reuters/cats.txt": b"test/5 corn\ntraining/10 acq earn\ntraining/2 earn earn\n",
    "reuters/training/2": b"EARNINGS UP\n  Profit rose.\n",
    "reuters/training/10": b"TAKEOVER\n  M\xfcller bid.\n",
    "reuters/test/5": b"CORN CROP\n  Big harvest.\n",
}


# --------------------------------------------------------------------------- real data


def _load_real(loader, *args):
    if resolve_data_dir() is None:
        pytest.skip(f"no data directory (pass SCDV_DATA or provide {datasets._default_data_dir()})")
    try:
        return loader(*args)
    except DatasetNotFoundError as exc:
        pytest.skip(f"corpus not available: {exc}")


@pytest.fixture(scope="module")
def ng_train():
    return _load_real(lambda: load_20newsgroups("train", download_if_missing=False))


@pytest.fixture(scope="module")
def ng_test():
    return _load_real(lambda: load_20newsgroups("test", download_if_missing=False))


@pytest.fixture(scope="module")
def livedoor():
    return _load_real(lambda: load_livedoor(download_if_missing=False))


@pytest.fixture(scope="module")
def reuters_train():
    return _load_real(lambda: load_reuters("train", download_if_missing=False))


@pytest.fixture(scope="module")
def reuters_test():
    return _load_real(lambda: load_reuters("test", download_if_missing=False))


def _counts(bunch) -> dict[str, int]:
    return {bunch.target_names[k]: v for k, v in Counter(bunch.target.tolist()).items()}


def test_real_20newsgroups_counts(ng_train, ng_test):
    assert len(ng_train.data) == len(ng_train.ids) == len(ng_train.target) == 11314
    assert len(ng_test.data) == len(ng_test.ids) == len(ng_test.target) == 7532
    assert len(ng_train.target_names) == 20
    assert ng_train.target_names == ng_test.target_names == sorted(ng_train.target_names)
    train, test = _counts(ng_train), _counts(ng_test)
    assert (train["alt.atheism"], test["alt.atheism"]) == (480, 319)
    assert (train["comp.graphics"], test["comp.graphics"]) == (584, 389)
    assert (train["talk.religion.misc"], test["talk.religion.misc"]) == (377, 251)
    assert ng_train.subset == "train" and ng_test.subset == "test"


def test_real_20newsgroups_order_and_raw_text(ng_train, ng_test):
    assert ng_train.ids[0] == "20news-bydate-train/alt.atheism/49960"
    assert all(i.startswith("20news-bydate-test/") for i in ng_test.ids)
    keys = [(i.split("/")[1], int(i.split("/")[2])) for i in ng_train.ids]
    assert keys == sorted(keys)
    # Headers are kept, and the README's 73 files with 8-bit bytes decode (as latin-1).
    assert all("Subject:" in doc or "From:" in doc for doc in ng_train.data[:100])
    non_ascii = sum(any(ord(ch) > 127 for ch in doc) for doc in ng_train.data + ng_test.data)
    assert non_ascii == 73


def test_real_livedoor(livedoor):
    assert len(livedoor.data) == len(livedoor.ids) == len(livedoor.target) == 7367
    assert len(livedoor.target_names) == 9
    assert _counts(livedoor)["dokujo-tsushin"] == 870
    assert livedoor.ids[0] == "text/dokujo-tsushin/dokujo-tsushin-4778030.txt"
    assert not any(i.endswith(("LICENSE.txt", "README.txt", "CHANGES.txt")) for i in livedoor.ids)
    date_line = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$", re.MULTILINE)
    assert not any(text.startswith("http") for text in livedoor.data)
    assert not any(date_line.search(text) for text in livedoor.data)
    assert all(text.split("\n", 1)[0].strip() for text in livedoor.data)  # a title comes first


def test_real_reuters(reuters_train, reuters_test):
    assert len(reuters_train.data) == len(reuters_train.ids) == 7769
    assert len(reuters_test.data) == len(reuters_test.ids) == 3019
    assert len(reuters_train.target_names) == 90
    assert reuters_train.target_names == reuters_test.target_names
    assert reuters_train.target.shape == (7769, 90) and reuters_test.target.shape == (3019, 90)
    assert reuters_train.ids[:2] == ["training/1", "training/5"]
    for bunch in (reuters_train, reuters_test):
        assert bunch.target.sum(axis=1).min() >= 1  # every document has a label
        assert bunch.target.sum(axis=0).min() >= 1  # every label occurs in each split
    labels_per_doc = np.concatenate([reuters_train.target.sum(1), reuters_test.target.sum(1)])
    # The README says 1629 multi-label docs, counting label tokens; cats.txt repeats a
    # label on two lines (test/19918 "trade trade"), so 1628 have 2+ distinct labels.
    assert int((labels_per_doc >= 2).sum()) == 1628
    assert labels_per_doc.max() == 15


# --------------------------------------------------------------------------- 20NG fake


@pytest.fixture(params=["folder", "tarball", "nested-folder"])
def ng_dir(request, tmp_path, isolated_env):
    if request.param == "folder":
        return write_tree(tmp_path / "data", FAKE_20NG)
    if request.param == "nested-folder":  # data_dir/20news-bydate/20news-bydate-train/...
        write_tree(tmp_path / "data" / "20news-bydate", FAKE_20NG)
        return tmp_path / "data"
    write_tar(tmp_path / "data" / "20news-bydate.tar.gz", FAKE_20NG)
    return tmp_path / "data"


def test_20newsgroups_fake_train(ng_dir):
    bunch = load_20newsgroups("train", data_dir=ng_dir, download_if_missing=False)
    assert isinstance(bunch, Bunch)
    assert bunch.ids == TRAIN_IDS
    assert bunch.target_names == GROUPS  # includes the test-only group
    assert bunch.target.tolist() == [0, 0, 1, 1]
    assert bunch.target.dtype.kind == "i"
    assert bunch.subset == "train"
    assert bunch.data[0] == "From: a@b\nSubject: nine\n\nbody nine\n"
    # latin-1 decoding and raw CRLF kept
    assert bunch.data[3] == "Subject: café\r\n\r\nlatin-1 body\r\n"


def test_20newsgroups_fake_test_and_all(ng_dir):
    test = load_20newsgroups("test", data_dir=ng_dir, download_if_missing=False)
    assert test.ids == TEST_IDS
    assert test.target.tolist() == [0, 1, 2]
    assert test.target_names == GROUPS
    everything = load_20newsgroups("all", data_dir=ng_dir, download_if_missing=False)
    assert everything.ids == TRAIN_IDS + TEST_IDS
    assert everything.target.tolist() == [0, 0, 1, 1, 0, 1, 2]
    assert everything.subset == "all"
    assert len(everything.data) == 7


def test_20newsgroups_missing_split_in_tarball(tmp_path, isolated_env):
    train_only = {k: v for k, v in FAKE_20NG.items() if k.startswith("20news-bydate-train/")}
    write_tar(tmp_path / "20news-bydate.tar.gz", train_only)
    assert len(load_20newsgroups("train", data_dir=tmp_path, download_if_missing=False).data) == 4
    with pytest.raises(DatasetNotFoundError, match="20news-bydate-test/"):
        load_20newsgroups("test", data_dir=tmp_path, download_if_missing=False)


def test_20newsgroups_bad_subset(tmp_path):
    with pytest.raises(ValueError, match="subset"):
        load_20newsgroups("validation", data_dir=tmp_path)


# --------------------------------------------------------------------------- livedoor fake


@pytest.fixture(params=["folder", "tarball", "upstream-archive"])
def livedoor_dir(request, tmp_path, isolated_env, monkeypatch):
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "cache"))  # keep the cache empty
    data = tmp_path / "data"
    if request.param == "folder":
        write_tree(data, FAKE_LIVEDOOR)
    else:
        name = "ldcc.tar.gz" if request.param == "tarball" else "ldcc-20140209.tar.gz"
        write_tar(data / name, FAKE_LIVEDOOR)
    return data


def test_livedoor_fake(livedoor_dir):
    bunch = load_livedoor(data_dir=livedoor_dir, download_if_missing=False)
    assert bunch.ids == LIVEDOOR_IDS  # LICENSE/README/CHANGES skipped, numeric order
    assert bunch.data == LIVEDOOR_TEXTS  # URL and date lines dropped
    assert bunch.target_names == ["cat-a", "peachy"]
    assert bunch.target.tolist() == [0, 0, 1]


# --------------------------------------------------------------------------- Reuters fake


@pytest.fixture(
    params=["folder", "tarball", "nltk-zip", "nltk-corpora-folder", "reuters-folder-itself"]
)
def reuters_dir(request, tmp_path, isolated_env):
    data = tmp_path / "data"
    if request.param == "folder":
        write_tree(data, FAKE_REUTERS)
    elif request.param == "tarball":
        write_tar(data / "reuters21578-apte-nltk.tar.gz", FAKE_REUTERS)
    elif request.param == "nltk-zip":  # what nltk.download("reuters") leaves: corpora/reuters.zip
        write_zip(data / "corpora" / "reuters.zip", FAKE_REUTERS)
    elif request.param == "nltk-corpora-folder":
        write_tree(data / "corpora", FAKE_REUTERS)
    else:
        write_tree(data, FAKE_REUTERS)
        return data / "reuters"
    return data


def test_reuters_fake(reuters_dir):
    train = load_reuters("train", data_dir=reuters_dir)
    assert train.ids == ["training/2", "training/10"]
    assert train.target_names == ["acq", "corn", "earn"]
    assert train.target.dtype == np.uint8
    assert train.target.tolist() == [[0, 0, 1], [1, 0, 1]]
    assert train.data[1] == "TAKEOVER\n  Müller bid.\n"  # ISO-8859-2 byte 0xFC
    assert train.subset == "train"

    test = load_reuters("test", data_dir=reuters_dir)
    assert test.ids == ["test/5"] and test.target.tolist() == [[0, 1, 0]]
    everything = load_reuters("all", data_dir=reuters_dir)
    assert everything.ids == ["training/2", "training/10", "test/5"]
    assert everything.target.shape == (3, 3)


def test_reuters_without_cats_is_an_error(tmp_path, isolated_env):
    write_tar(
        tmp_path / "reuters21578-apte-nltk.tar.gz",
        {k: v for k, v in FAKE_REUTERS.items() if k != "reuters/cats.txt"},
    )
    with pytest.raises(DatasetNotFoundError, match="cats.txt"):
        load_reuters("train", data_dir=tmp_path)


# --------------------------------------------------------------------------- resolve_data_dir


def test_resolve_data_dir_precedence(tmp_path, monkeypatch):
    arg, env, default = tmp_path / "arg", tmp_path / "env", tmp_path / "default"
    default.mkdir()
    monkeypatch.setattr(datasets, "_default_data_dir", lambda: default)

    monkeypatch.setenv(datasets.ENV_VAR, str(env))
    assert resolve_data_dir(arg) == arg  # argument wins, even when it does not exist
    assert resolve_data_dir(str(arg)) == arg
    assert resolve_data_dir() == env  # then the environment

    monkeypatch.delenv(datasets.ENV_VAR)
    assert resolve_data_dir() == default  # then the default, when it exists
    default.rmdir()
    assert resolve_data_dir() is None


def test_default_data_dir_is_next_to_the_project():
    assert datasets._default_data_dir() == PROJECT_ROOT.parent / "shared" / "data"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("key", "load", "expected_paths"),
    [
        (
            "20ng",
            lambda d: load_20newsgroups("train", data_dir=d, download_if_missing=False),
            ["20news-bydate.tar.gz", "20news-bydate-train", "20news_home"],
        ),
        (
            "livedoor",
            lambda d: load_livedoor(data_dir=d, download_if_missing=False),
            ["ldcc.tar.gz", "ldcc-20140209.tar.gz", "text"],
        ),
        (
            "reuters",
            lambda d: load_reuters("train", data_dir=d, download_if_missing=False),
            ["reuters21578-apte-nltk.tar.gz", "reuters", "reuters.zip", "corpora/reuters.zip"],
        ),
    ],
    ids=["20ng", "livedoor", "reuters"],
)
def test_not_found_message_lists_places_and_says_what_would_be_downloaded(
    tmp_path, isolated_env, monkeypatch, key, load, expected_paths
):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(datasets.ENV_VAR, str(empty))
    with pytest.raises(DatasetNotFoundError) as info:
        load(empty)
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    for rel in expected_paths:
        assert str(empty / rel) in message
    assert "--data-dir" in message and "SCDV_DATA" in message
    spec = datasets._DOWNLOADS[key]
    # The hint names the URL and the cache file a download would create.
    assert spec.url in message and str(empty / spec.filename) in message
    assert "not downloaded" not in message
    assert len(info.value.places) >= len(expected_paths)


def test_not_found_without_any_data_dir(isolated_env):
    with pytest.raises(DatasetNotFoundError) as info:
        load_reuters("test", download_if_missing=False)
    message = str(info.value)
    assert "SCDV_DATA: not set" in message
    assert str(isolated_env / "no-shared-data") in message


# --------------------------------------------------------------------------- load_dataset


def test_load_dataset_dispatch(tmp_path, isolated_env, monkeypatch, caplog):
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "cache"))
    data = tmp_path / "data"
    write_tree(data, {**FAKE_20NG, **FAKE_LIVEDOOR, **FAKE_REUTERS})

    assert load_dataset("20ng", "test", data_dir=data).ids == TEST_IDS
    assert load_dataset("reuters", "train", data_dir=data).ids == ["training/2", "training/10"]
    with caplog.at_level(logging.WARNING, logger=datasets.__name__):
        livedoor = load_dataset("livedoor", "train", data_dir=data)
    assert livedoor.ids == LIVEDOOR_IDS  # subset ignored: whole corpus
    assert "no train/test split" in caplog.text
    assert load_dataset("livedoor", "all", data_dir=data).subset == "all"


def test_load_dataset_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="'20ng', 'livedoor', 'reuters'"):
        load_dataset("imdb", "train", data_dir=tmp_path)
    with pytest.raises(ValueError, match="subset"):
        load_dataset("livedoor", "dev", data_dir=tmp_path)


# --------------------------------------------------------------------------- registry


def _bunch_loader(n_docs=40, n_classes=4, calls=None):
    """A registry loader over made-up documents: ``"train"`` is the first three quarters."""

    def load(subset, data_dir=None, download_if_missing=True):
        if calls is not None:
            calls.append((subset, data_dir, download_if_missing))
        rows = {"train": range(3 * n_docs // 4), "test": range(3 * n_docs // 4, n_docs),
                "all": range(n_docs)}[subset]
        return Bunch(data=[f"document {i}" for i in rows],
                     target=np.array([i % n_classes for i in rows]),
                     target_names=[f"class {k}" for k in range(n_classes)],
                     ids=[f"doc/{i}" for i in rows], subset=subset)

    return load


def test_registry_holds_each_corpus_facts():
    assert list(datasets.DATASET_NAMES) == ["20ng", "livedoor", "reuters"]
    ng, livedoor, reuters = (datasets.DATASETS[name] for name in datasets.DATASET_NAMES)
    assert (ng.tokenizer, ng.multilabel, ng.metric) == ("english", False, "accuracy")
    assert ng.split == datasets.TrainTestSplit("20 Newsgroups bydate train/test")
    assert (livedoor.tokenizer, livedoor.metric) == ("janome", "accuracy")
    assert livedoor.split == datasets.StratifiedFolds(n_folds=5)
    assert livedoor.preset("defaults").tokens == {"pos": datasets.JANOME_ALL_POS}
    assert (reuters.multilabel, reuters.metric) == (True, "precision_at_1")
    assert reuters.preset("defaults") == datasets.PresetSettings()  # the preset's own settings
    assert dict(ng.quick) == {"n_train": 1500, "n_test": 800}
    assert "Reuters" in reuters.title and ng.loader is load_20newsgroups


def test_dataset_info_is_frozen_and_checked():
    info = datasets.DATASETS["20ng"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.language = "japanese"
    with pytest.raises(TypeError):  # the dicts inside are read-only too
        info.quick["n_train"] = 5
    with pytest.raises(TypeError):
        datasets.DATASETS["livedoor"].preset("defaults").tokens["pos"] = ["名詞"]
    with pytest.raises(ValueError, match="language"):
        dataclasses.replace(info, language="klingon")
    with pytest.raises(ValueError, match="multi-label"):
        dataclasses.replace(info, multilabel=True, split=datasets.StratifiedFolds())


def test_a_registered_corpus_is_loaded_by_name(monkeypatch):
    calls = []
    info = datasets.DatasetInfo(title="made up", loader=_bunch_loader(calls=calls),
                                language="english", multilabel=False, metric="accuracy",
                                split=datasets.TrainTestSplit("made-up train/test"))
    monkeypatch.setitem(datasets.DATASETS, "made-up", info)
    assert "made-up" in datasets.DATASET_NAMES  # a live view of the registry
    assert load_dataset("made-up", "test", "somewhere", download_if_missing=False).ids == [
        f"doc/{i}" for i in range(30, 40)]
    assert calls == [("test", "somewhere", False)]
    with pytest.raises(ValueError, match="'made-up'"):
        load_dataset("imdb", "train")


def test_train_test_split_scheme_samples_each_part():
    scheme = datasets.TrainTestSplit("made-up train/test")
    corpus, splits, names, description = scheme.split(
        _bunch_loader(), None, {"n_train": 20, "n_test": 6}, 0, True)
    ((train, test),) = splits
    assert description == "made-up train/test" and names[0] == "class 0"
    assert train.tolist() == list(range(20)) and test.tolist() == list(range(20, 26))
    numbers = [int(doc_id.split("/")[1]) for doc_id in corpus["ids"]]
    assert max(numbers[:20]) < 30 <= min(numbers[20:])  # training documents come first
    # Stratified: every class keeps its share of the training sample.
    assert np.bincount(corpus["target"][train]).tolist() == [5, 5, 5, 5]
    full = scheme.split(_bunch_loader(), None, {}, 0, True)
    assert [len(part) for part in full.splits[0]] == [30, 10]


def test_stratified_folds_scheme_cuts_samples_and_folds_with_the_seed():
    scheme = datasets.StratifiedFolds(n_folds=5)
    loaded = scheme.split(_bunch_loader(), None, {"n_docs": 24, "max_chars": 6}, 3, True)
    assert loaded.description == "stratified 5-fold cross-validation (shuffled, seed 3)"
    assert len(loaded.corpus["data"]) == 24 and all(len(d) <= 6 for d in loaded.corpus["data"])
    tested = np.sort(np.concatenate([test for _, test in loaded.splits]))
    assert tested.tolist() == list(range(24))  # each document is tested once
    again = scheme.split(_bunch_loader(), None, {"n_docs": 24, "max_chars": 6}, 3, True)
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(loaded.splits, again.splits))
    three = scheme.split(_bunch_loader(), None, {"outer_folds": 3}, 0, True)
    assert len(three.splits) == 3 and len(three.corpus["data"]) == 40


def test_load_splits_uses_the_registered_scheme(monkeypatch):
    calls = []
    info = datasets.DatasetInfo(title="made up", loader=_bunch_loader(calls=calls),
                                language="english", multilabel=False, metric="accuracy",
                                split=datasets.StratifiedFolds(n_folds=4))
    monkeypatch.setitem(datasets.DATASETS, "made-up", info)
    loaded = datasets.load_splits("made-up", "here", sizes={"n_docs": 20}, seed=1)
    assert len(loaded.splits) == 4 and len(loaded.corpus["ids"]) == 20
    assert calls == [("all", "here", True)]
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.load_splits("imdb")


# --------------------------------------------------------------------------- downloads


class LocalServer:
    """An HTTP server on 127.0.0.1 answering GET /<name> from ``responses``.

    Every request's name is recorded in ``requests``. Unknown names get a 404 page.
    """

    def __init__(self) -> None:
        self.responses: dict[str, tuple[int, str, bytes, int]] = {}
        self.requests: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.lstrip("/")
                owner.requests.append(name)
                default = (404, "text/html", b"<html><body>404 Not Found</body></html>", 0)
                status, content_type, body, length = owner.responses.get(name, default)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                # A declared length above len(body) imitates a connection that drops.
                self.send_header("Content-Length", str(max(length, len(body))))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args) -> None:
                pass  # keep the test output clean

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # a client that gives up mid-body is expected here

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/{name}"

    def offer(self, name: str, body: bytes, *, status: int = 200,
              content_type: str = "application/octet-stream", length: int = 0) -> str:
        self.responses[name] = (status, content_type, body, length)
        return self.url(name)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.close()


@pytest.fixture
def cache(tmp_path, isolated_env, monkeypatch):
    """An empty download cache at tmp_path/cache (via SCDV_DATA); nothing else is found."""
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def empty_dir(tmp_path):
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def cached_files(cache: Path) -> list[str]:
    """Every file under the cache, relative to it (empty when the cache does not exist)."""
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*")) if cache.exists() else []


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def point_registry_at(monkeypatch, key: str, url: str, sha256: str | None = None) -> None:
    """Make corpus ``key`` download from ``url``; a published checksum becomes ``sha256``."""
    spec = datasets._DOWNLOADS[key]
    changes = {"url": url}
    if spec.sha256 is not None:
        changes["sha256"] = sha256
    monkeypatch.setitem(datasets._DOWNLOADS, key, dataclasses.replace(spec, **changes))


def serve_corpus(server, monkeypatch, key: str, payload: bytes, **response) -> str:
    """Offer ``payload`` as corpus ``key``'s published archive (checksum: its own digest)."""
    url = server.offer(f"published/{key}", payload, **response)
    point_registry_at(monkeypatch, key, url, sha256_hex(payload))
    return url


def fake_archive(key: str) -> bytes:
    if key == "reuters":  # NLTK publishes a zip
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for rel, payload in sorted(FAKE_REUTERS.items()):
                archive.writestr(rel, payload)
        return buffer.getvalue()
    return tar_bytes(FAKE_20NG if key == "20ng" else FAKE_LIVEDOOR)


FAKE_IDS = {
    "20ng": TRAIN_IDS + TEST_IDS,
    "livedoor": LIVEDOOR_IDS,
    "reuters": ["training/2", "training/10", "test/5"],
}
CORPORA = ["20ng", "livedoor", "reuters"]


@pytest.fixture(scope="module")
def shared_data():
    """The shared data directory, resolved before any test isolates the environment."""
    return resolve_data_dir()


def nltk_style_zip(tarball: Path, target: Path) -> bytes:
    """Repack the shared Reuters tarball as NLTK's reuters.zip (members ``reuters/...``)."""
    # Stored, not deflated: the loader reads both alike and this keeps the test fast.
    with tarfile.open(tarball, "r:gz") as tar, zipfile.ZipFile(target, "w") as out:
        for member in tar:
            if member.isfile():
                out.writestr(member.name, tar.extractfile(member).read())
    return target.read_bytes()


REAL = {
    # key: (shared tarball, documents per top-level folder of the ids, number of classes)
    "20ng": (
        "20news-bydate.tar.gz",
        {"20news-bydate-train": 11314, "20news-bydate-test": 7532},
        20,
    ),
    "livedoor": ("ldcc.tar.gz", {"text": 7367}, 9),
    "reuters": ("reuters21578-apte-nltk.tar.gz", {"training": 7769, "test": 3019}, 90),
}


@pytest.mark.parametrize("key", CORPORA)
def test_download_of_the_real_corpus_yields_its_counts_and_caches_only_the_archive(
    key, shared_data, server, cache, empty_dir, tmp_path, monkeypatch
):
    tarball, per_folder, n_classes = REAL[key]
    if shared_data is None or not (shared_data / tarball).is_file():
        pytest.skip(f"{tarball} is not in the shared data directory ({shared_data})")
    if key == "reuters":
        payload = nltk_style_zip(shared_data / tarball, tmp_path / "reuters.zip")
    else:
        payload = (shared_data / tarball).read_bytes()
    # For 20 Newsgroups the published digest is replaced by the repacked tarball's own.
    serve_corpus(server, monkeypatch, key, payload)

    bunch = load_dataset(key, "all", data_dir=empty_dir)
    assert Counter(doc_id.split("/")[0] for doc_id in bunch.ids) == per_folder
    assert len(bunch.data) == len(bunch.target) == sum(per_folder.values())
    assert len(bunch.target_names) == n_classes
    assert server.requests == [f"published/{key}"]
    filename = datasets._DOWNLOADS[key].filename
    assert cached_files(cache) == [filename]  # no .part left beside it
    assert sha256_hex((cache / filename).read_bytes()) == sha256_hex(payload)


@pytest.mark.parametrize("key", CORPORA)
def test_second_load_reads_the_cache_without_contacting_the_server(
    key, server, cache, empty_dir, monkeypatch
):
    serve_corpus(server, monkeypatch, key, fake_archive(key))
    first = load_dataset(key, "all", data_dir=empty_dir)
    second = load_dataset(key, "all", data_dir=empty_dir)
    assert first.ids == second.ids == FAKE_IDS[key]
    assert len(server.requests) == 1
    assert cached_files(cache) == [datasets._DOWNLOADS[key].filename]


@pytest.mark.parametrize("key", CORPORA)
def test_no_download_is_attempted_when_download_if_missing_is_false(
    key, server, cache, empty_dir, monkeypatch
):
    url = serve_corpus(server, monkeypatch, key, fake_archive(key))
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(key, "all", data_dir=empty_dir, download_if_missing=False)
    assert server.requests == []
    assert cached_files(cache) == []
    assert url in str(info.value)  # the hint says where a download would come from


@pytest.mark.parametrize("key", CORPORA)
def test_a_local_copy_is_read_without_contacting_the_server(
    key, server, cache, tmp_path, monkeypatch
):
    serve_corpus(server, monkeypatch, key, fake_archive(key))
    data = write_tree(tmp_path / "data", {**FAKE_20NG, **FAKE_LIVEDOOR, **FAKE_REUTERS})
    assert load_dataset(key, "all", data_dir=data).ids == FAKE_IDS[key]
    assert server.requests == [] and cached_files(cache) == []


def test_checksum_mismatch_is_refused_naming_both_digests_and_caches_nothing(
    server, cache, empty_dir, monkeypatch
):
    payload = fake_archive("20ng")
    url = server.offer("published/20ng", payload)
    expected = "0" * 64
    point_registry_at(monkeypatch, "20ng", url, sha256=expected)
    with pytest.raises(DatasetNotFoundError) as info:
        load_20newsgroups("train", data_dir=empty_dir)
    message = str(info.value)
    assert "checksum mismatch" in message
    assert expected in message and sha256_hex(payload) in message
    assert url in message
    assert cached_files(cache) == []


HTML_PAGE = b"<!DOCTYPE html><html><body>Service Unavailable</body></html>"


@pytest.mark.parametrize("key", CORPORA)
@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        ("unreachable", "Connection refused"),
        ("http-404", "HTTP Error 404"),
        ("html-page", "not a"),
        ("cut-short", "closed after"),
    ],
)
def test_a_failed_download_leaves_nothing_in_the_cache(
    key, failure, expected, server, cache, empty_dir, monkeypatch
):
    url = datasets._DOWNLOADS[key].url  # by default a closed port
    if failure == "http-404":
        url = server.url("no-such-file")
    elif failure == "html-page":
        url = server.offer("page", HTML_PAGE, content_type="text/html")
    elif failure == "cut-short":
        payload = fake_archive(key)
        url = server.offer("half", payload[: len(payload) // 2], length=len(payload))
    point_registry_at(monkeypatch, key, url, sha256=sha256_hex(fake_archive(key)))
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(key, "all", data_dir=empty_dir)
    message = str(info.value)
    assert f"Download from {url} failed" in message and expected in message
    assert cached_files(cache) == []
    assert not cache.exists()  # the folder made for the download is gone too


def test_an_interrupted_download_leaves_nothing_behind(server, cache, empty_dir, monkeypatch):
    class InterruptedBar:
        """Stands in for tqdm: Ctrl-C arrives once the first chunk is on disk."""

        def __init__(self, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return False

        def update(self, n):
            assert any(p.suffix == ".part" for p in cache.iterdir())
            raise KeyboardInterrupt

    serve_corpus(server, monkeypatch, "livedoor", fake_archive("livedoor"))
    monkeypatch.setattr(datasets, "tqdm", InterruptedBar)
    with pytest.raises(KeyboardInterrupt):
        load_livedoor(data_dir=empty_dir)
    assert not cache.exists()


def test_progress_is_shown_in_bytes_and_only_on_a_terminal(server, cache, empty_dir, monkeypatch):
    bars = []

    class RecordingBar:
        def __init__(self, **kwargs):
            self.kwargs, self.count = kwargs, 0
            bars.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return False

        def update(self, n):
            self.count += n

    payload = fake_archive("reuters")
    serve_corpus(server, monkeypatch, "reuters", payload)
    monkeypatch.setattr(datasets, "tqdm", RecordingBar)
    load_reuters("train", data_dir=empty_dir)
    (bar,) = bars
    assert bar.kwargs["unit"] == "B" and bar.kwargs["disable"] is None
    assert bar.kwargs["total"] == bar.count == len(payload)


@pytest.mark.parametrize("key", ["livedoor", "reuters"])
def test_download_without_a_published_checksum_logs_its_sha256(
    key, server, cache, empty_dir, monkeypatch, caplog
):
    assert datasets._DOWNLOADS[key].sha256 is None
    payload = fake_archive(key)
    serve_corpus(server, monkeypatch, key, payload)
    with caplog.at_level(logging.INFO, logger=datasets.__name__):
        load_dataset(key, "all", data_dir=empty_dir)
    assert sha256_hex(payload) in caplog.text


def _with_bad_gzip_crc(payload: bytes) -> bytes:
    # The gzip trailer is CRC32 then size; only reading to the end notices the CRC.
    damaged = bytearray(payload)
    damaged[-8] ^= 0xFF
    return bytes(damaged)


def _zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for rel, payload in files.items():
            archive.writestr(rel, payload)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("key", "payload", "expected"),
    [
        ("livedoor", _with_bad_gzip_crc(tar_bytes(FAKE_LIVEDOOR)), "damaged"),
        ("livedoor", tar_bytes({"ldcc/README.txt": b"moved\n"}), "no text/ folder"),
        ("reuters", _zip_of({"corpora/reuters/cats.txt": b"x\n"}), "no reuters/ folder"),
    ],
    ids=["bad-gzip-crc", "tarball-without-text", "zip-without-reuters"],
)
def test_download_without_a_checksum_must_be_an_archive_the_loader_can_read(
    key, payload, expected, server, cache, empty_dir, monkeypatch
):
    serve_corpus(server, monkeypatch, key, payload)
    with pytest.raises(DatasetNotFoundError, match=expected):
        load_dataset(key, "all", data_dir=empty_dir)
    assert cached_files(cache) == []


def test_classify_downloads_a_corpus_missing_locally(server, cache, empty_dir, monkeypatch):
    from pipelines import classify

    serve_corpus(server, monkeypatch, "reuters", fake_archive("reuters"))
    config = classify.RunConfig("reuters", data_dir=str(empty_dir))
    corpus, splits, target_names, _ = classify._load(config)
    assert corpus["ids"] == FAKE_IDS["reuters"]
    assert [len(train) for train, _ in splits] == [2]
    assert target_names == ["acq", "corn", "earn"]
    assert len(server.requests) == 1  # the test split is read from the cache
