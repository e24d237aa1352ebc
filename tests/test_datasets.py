"""Tests for pipelines.datasets: real-corpus counts (skipped without data) and tiny fake layouts."""

from __future__ import annotations

import io
import logging
import re
import tarfile
import urllib.error
import urllib.request
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
    return _load_real(lambda: load_reuters("train"))


@pytest.fixture(scope="module")
def reuters_test():
    return _load_real(lambda: load_reuters("test"))


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


def test_20newsgroups_sklearn_fallback(tmp_path, isolated_env, monkeypatch):
    import sklearn.datasets

    calls = []

    def fake_fetch(**kwargs):
        calls.append(kwargs)
        home = tmp_path / "scikit_learn_data" / "20news_home" / "20news-bydate-train"
        # sklearn lists files in string order: "10" before "9".
        names = ["alt.atheism/10", "alt.atheism/9", "comp.graphics/5"]
        return Bunch(
            data=["ten", "nine", "five"],
            target=np.array([0, 0, 1]),
            target_names=["alt.atheism", "comp.graphics"],
            filenames=np.array([str(home / n) for n in names]),
        )

    monkeypatch.setattr(sklearn.datasets, "fetch_20newsgroups", fake_fetch)
    bunch = load_20newsgroups("train", data_dir=tmp_path / "empty")
    assert calls and calls[0]["subset"] == "train"
    assert calls[0]["remove"] == () and calls[0]["shuffle"] is False
    assert bunch.ids == [
        "20news-bydate-train/alt.atheism/9",
        "20news-bydate-train/alt.atheism/10",
        "20news-bydate-train/comp.graphics/5",
    ]
    assert bunch.data == ["nine", "ten", "five"]
    assert bunch.target.tolist() == [0, 0, 1]
    assert bunch.target_names == ["alt.atheism", "comp.graphics"]
    assert bunch.subset == "train"


def test_20newsgroups_sklearn_fallback_failure(tmp_path, isolated_env, monkeypatch):
    import sklearn.datasets

    def offline(**kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(sklearn.datasets, "fetch_20newsgroups", offline)
    with pytest.raises(DatasetNotFoundError) as info:
        load_20newsgroups("test", data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "20news-bydate.tar.gz") in message
    assert "no network" in message
    assert isinstance(info.value.__cause__, urllib.error.URLError)


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


def _fake_urlopen(payload: bytes, calls: list):
    def urlopen(url, timeout=None):
        calls.append(url)
        return io.BytesIO(payload)

    return urlopen


def test_livedoor_download_is_cached(tmp_path, isolated_env, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(datasets.ENV_VAR, str(cache))
    calls: list[str] = []
    monkeypatch.setattr(urllib.request, "urlopen", _fake_urlopen(tar_bytes(FAKE_LIVEDOOR), calls))

    bunch = load_livedoor(data_dir=tmp_path / "empty")
    assert calls == ["https://www.rondhuit.com/download/ldcc-20140209.tar.gz"]
    assert bunch.ids == LIVEDOOR_IDS and bunch.data == LIVEDOOR_TEXTS
    assert sorted(p.name for p in cache.iterdir()) == ["ldcc-20140209.tar.gz"]  # no .part left

    again = load_livedoor(data_dir=tmp_path / "empty")
    assert len(calls) == 1  # served from the cache
    assert again.ids == LIVEDOOR_IDS


@pytest.mark.parametrize(
    "failure", ["network", "not-a-tarball"], ids=["network-error", "html-error-page"]
)
def test_livedoor_download_failure_leaves_nothing(tmp_path, isolated_env, monkeypatch, failure):
    cache = tmp_path / "cache"
    monkeypatch.setenv(datasets.ENV_VAR, str(cache))
    if failure == "network":

        def urlopen(url, timeout=None):
            raise urllib.error.URLError("offline")

    else:
        urlopen = _fake_urlopen(b"<html>503</html>", [])
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    with pytest.raises(DatasetNotFoundError, match="Download failed") as info:
        load_livedoor(data_dir=tmp_path / "empty")
    assert "rondhuit.com" in str(info.value)
    assert not cache.exists() or list(cache.iterdir()) == []


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
    ("load", "expected_paths", "route"),
    [
        (
            lambda d: load_20newsgroups("train", data_dir=d, download_if_missing=False),
            ["20news-bydate.tar.gz", "20news-bydate-train", "20news_home"],
            "fetch_20newsgroups",
        ),
        (
            lambda d: load_livedoor(data_dir=d, download_if_missing=False),
            ["ldcc.tar.gz", "ldcc-20140209.tar.gz", "text"],
            "ldcc-20140209.tar.gz",
        ),
        (
            lambda d: load_reuters("train", data_dir=d),
            ["reuters21578-apte-nltk.tar.gz", "reuters", "corpora/reuters.zip"],
            "nltk.download('reuters')",
        ),
    ],
    ids=["20ng", "livedoor", "reuters"],
)
def test_not_found_message_lists_places(
    tmp_path, isolated_env, monkeypatch, load, expected_paths, route
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
    assert "--data-dir" in message and "SCDV_DATA" in message and route in message
    assert len(info.value.places) >= len(expected_paths)


def test_not_found_without_any_data_dir(isolated_env):
    with pytest.raises(DatasetNotFoundError) as info:
        load_reuters("test")
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
