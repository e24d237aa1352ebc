"""Model files and fitted state built to break the loader or the kernel.

Each case is refused with scdv.ModelFormatError (a file) or one ValueError
(an edited model), never a crash, a MemoryError or a read out of bounds.
"""

import io
import json
import pickle
import struct
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest

from scdv import SCDV, ModelFormatError, load
from scdv import persistence

from .conftest import SMALL_PARAMS

# --------------------------------------------------------------------------- crafting


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _write(path, members, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _json_npy(obj, padding=""):
    raw = (json.dumps(obj) + padding).encode()
    return _npy(np.frombuffer(raw, dtype=np.uint8))


def _metadata(path):
    with np.load(path) as archive:
        return json.loads(archive["metadata"].tobytes())


def _patch_central_directory(path, member, **fields):
    """Rewrite fields of ``member``'s central-directory entry in place."""
    offsets = {"flags": (8, "<H"), "method": (10, "<H"), "compressed": (20, "<I"),
               "size": (24, "<I")}
    data = bytearray(path.read_bytes())
    start = 0
    while True:
        start = data.index(b"PK\x01\x02", start)
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46:start + 46 + name_length] == member.encode():
            break
        start += 4
    for field, value in fields.items():
        offset, fmt = offsets[field]
        struct.pack_into(fmt, data, start + offset, value)
    path.write_bytes(bytes(data))


@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "good.scdv"
    fitted.save(path)
    return path


def _refused(path, *fragments):
    with pytest.raises(ModelFormatError) as info:
        load(path)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


# --------------------------------------------------------------------------- the archive


@pytest.mark.parametrize("method, number", [(zipfile.ZIP_BZIP2, 12), (zipfile.ZIP_LZMA, 14)])
def test_members_compressed_otherwise_than_deflate_are_refused_unread(saved, tmp_path,
                                                                     method, number):
    bad = tmp_path / "bad.scdv"
    _write(bad, _members(saved), method=method)
    _refused(bad, f"compression method {number}")


@pytest.mark.parametrize("fields, fragment", [
    ({"flags": 0x1}, "is encrypted"),
    ({"method": 9}, "compression method 9"),  # deflate64
    ({"method": 99}, "compression method 99"),
])
def test_encrypted_and_unknown_members_are_refused(saved, tmp_path, fields, fragment):
    bad = tmp_path / "bad.scdv"
    bad.write_bytes(saved.read_bytes())
    _patch_central_directory(bad, "idf.npy", **fields)
    _refused(bad, fragment)


def test_metadata_padded_past_its_bound_is_refused_before_it_is_read(saved, tmp_path):
    members = _members(saved)
    members["metadata.npy"] = _json_npy(_metadata(saved), padding=" " * (2 << 20))
    bad = tmp_path / "bad.scdv"
    _write(bad, members)
    _refused(bad, "'metadata' declares", "more than")


def test_header_declaring_a_huge_array_is_refused_before_allocating(saved, tmp_path):
    members = _members(saved)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**11, 20)})
    members["word_vectors.npy"] = header.getvalue() + b"\0" * 64
    bad = tmp_path / "bad.scdv"
    _write(bad, members)
    _refused(bad, "word_vectors.npy", "declares a (100000000000, 20)")


def test_arrays_whose_rows_disagree_are_refused_from_their_headers(saved, tmp_path):
    members = _members(saved)
    with np.load(saved) as archive:
        members["idf.npy"] = _npy(archive["idf"][:-1])
    bad = tmp_path / "bad.scdv"
    _write(bad, members)
    _refused(bad, "array shapes do not match")


def test_a_model_larger_than_the_memory_left_is_refused(saved, monkeypatch):
    monkeypatch.setattr(persistence, "memory_budget", lambda: 1000)
    _refused(saved, "more than the 0 MiB of memory this process has left")


def test_a_declared_2_gib_member_is_refused_under_a_1_5_gb_address_space_limit(saved,
                                                                              tmp_path):
    # The member declares 2 GiB (a valid .npy header, sizes patched in the zip
    # directory); the loader must refuse it from the directory, unread.
    members = _members(saved)
    n_rows = (2 << 30) // 80
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (n_rows, 20)})
    members["word_vectors.npy"] = header.getvalue()
    bad = tmp_path / "bad.scdv"
    _write(bad, members, method=zipfile.ZIP_STORED)
    declared = len(header.getvalue()) + n_rows * 80
    _patch_central_directory(bad, "word_vectors.npy", compressed=declared, size=declared)
    script = f"""
import resource, sys
with open("/proc/self/statm") as f:
    used = int(f.read().split()[0]) * resource.getpagesize()
limit = used + int(1.5e9)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import scdv
try:
    scdv.load({str(bad)!r})
except scdv.ModelFormatError as exc:
    print("refused:", exc)
"""
    run = subprocess.run([sys.executable, "-c", "import scdv\n" + script],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "refused:" in run.stdout and "MemoryError" not in run.stdout + run.stderr


# --------------------------------------------------------------------------- metadata


def _with_metadata(saved, tmp_path, **changes):
    members = _members(saved)
    meta = _metadata(saved)
    meta.update(changes)
    members["metadata.npy"] = _json_npy(meta)
    bad = tmp_path / "bad.scdv"
    _write(bad, members)
    return bad


def test_metadata_nested_100000_deep_is_refused(saved, tmp_path):
    members = _members(saved)
    raw = ("[" * 100_000 + "]" * 100_000).encode()
    members["metadata.npy"] = _npy(np.frombuffer(raw, dtype=np.uint8))
    bad = tmp_path / "bad.scdv"
    _write(bad, members)
    _refused(bad, "nested too deep")


@pytest.mark.parametrize("changes, fragment", [
    ({"threshold": 10**400}, "bad threshold"),
    ({"threshold": 1.0}, "bad threshold"),
    ({"threshold": -0.1}, "bad threshold"),
    ({"threshold": True}, "bad threshold"),
    ({"format_version": True}, "bad format_version"),
    ({"pretrained": "no"}, "bad 'pretrained'"),
    ({"estimator": "Pipeline"}, "'Pipeline' model, not an SCDV"),
])
def test_impossible_metadata_values_are_refused(saved, tmp_path, changes, fragment):
    _refused(_with_metadata(saved, tmp_path, **changes), fragment)


def test_a_string_where_a_list_of_stop_words_belongs_is_refused(saved, tmp_path):
    params = {**_metadata(saved)["params"], "stop_words": "god"}
    _refused(_with_metadata(saved, tmp_path, params=params), "bad parameters", "stop_words")


# --------------------------------------------------------------------------- arrays


def _with_array(saved, tmp_path, name, edit):
    members = _members(saved)
    with np.load(saved) as archive:
        array = archive[name].copy()
    edit(array)
    members[f"{name}.npy"] = _npy(array)
    bad = tmp_path / "bad.scdv"
    _write(bad, members)
    return bad


@pytest.mark.parametrize("name, value, fragment", [
    ("idf", -1.0, "negative"),
    ("idf", 0.0, "negative"),
    ("word_cluster_proba", 1.5, "outside [0, 1]"),
    ("word_cluster_proba", -0.5, "outside [0, 1]"),
    ("word_vectors", 1e30, "longer than 1"),
])
def test_array_values_no_fit_can_produce_are_refused(saved, tmp_path, name, value, fragment):
    def edit(array):
        array.flat[0] = value

    _refused(_with_array(saved, tmp_path, name, edit), fragment)


def test_posterior_rows_summing_past_one_are_refused(saved, tmp_path):
    def edit(proba):
        proba[0] = 0.9

    _refused(_with_array(saved, tmp_path, "word_cluster_proba", edit), "sum to at most 1")


def test_a_lone_surrogate_in_the_vocabulary_survives_save_and_load(corpus, tmp_path):
    docs = [[*doc.split(), "caf\udce9"] for doc in corpus[0]]
    model = SCDV(**{**SMALL_PARAMS, "tokenizer": None}).fit(docs)
    assert "caf\udce9" in model.vocabulary_
    model.save(tmp_path / "m.scdv")
    loaded = load(tmp_path / "m.scdv")
    assert loaded.vocabulary_ == model.vocabulary_
    assert (loaded.transform(docs) != model.transform(docs)).nnz == 0


# --------------------------------------------------------------------------- the kernel


def test_a_vocabulary_index_past_the_arrays_is_refused_not_read(fitted, corpus):
    word = next(iter(fitted.vocabulary_))
    fitted.vocabulary_ = {**fitted.vocabulary_, word: 10**5}
    with pytest.raises(ValueError, match="rows 0 .. V-1"):
        fitted.transform(corpus[0])


def test_a_vocabulary_edited_in_place_after_a_transform_is_refused(fitted, corpus):
    fitted.transform(corpus[0])  # the kernel is laid out and cached
    fitted.vocabulary_[next(iter(fitted.vocabulary_))] = 6000
    with pytest.raises(ValueError, match="outside its"):
        fitted.transform(corpus[0])


def test_arrays_of_different_lengths_are_refused(fitted, corpus):
    fitted.idf_ = fitted.idf_[:-1]
    with pytest.raises(ValueError, match="row per word"):
        fitted.transform(corpus[0])


@pytest.mark.parametrize("name, value", [("batch_size", 0), ("batch_size", -5),
                                         ("n_jobs", 0)])
def test_transform_time_parameters_are_validated_at_transform(fitted, corpus, name, value):
    fitted.set_params(**{name: value})
    with pytest.raises(ValueError, match=f"'{name}' parameter of SCDV"):
        fitted.transform(corpus[0][:3])


# --------------------------------------------------------------------------- threads


def test_fit_in_another_thread_gives_rows_of_one_model_or_the_other(corpus):
    docs = corpus[0]
    small = {**SMALL_PARAMS, "epochs": 2}
    a = SCDV(**small).fit(docs)
    b = SCDV(**{**small, "n_components": 3, "vector_size": 12}).fit(docs)
    expected = {m.transform(docs).shape: m.transform(docs) for m in (a, b)}
    model = SCDV(**small).fit(docs)
    seen, errors, done = set(), [], threading.Event()

    def refit():
        try:
            for i in range(6):
                model.set_params(**(b.get_params() if i % 2 == 0 else a.get_params()))
                model.fit(docs)
        except Exception as exc:  # noqa: BLE001 - any failure is the test's failure
            errors.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=refit)
    worker.start()
    while not done.is_set():
        X = model.transform(docs)
        assert X.shape in expected
        assert abs(X - expected[X.shape]).max() == 0
        seen.add(X.shape)
    worker.join(timeout=60)
    assert not errors


def test_pickling_while_another_thread_transforms_never_fails(fitted, corpus):
    docs = corpus[0][:20]
    stop, errors = threading.Event(), []

    def transform_and_toggle():
        try:
            while not stop.is_set():
                fitted.set_params(sublinear_tf=not fitted.sublinear_tf)  # new kernel each time
                fitted.transform(docs)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    worker = threading.Thread(target=transform_and_toggle)
    worker.start()
    try:
        for _ in range(300):
            assert pickle.loads(pickle.dumps(fitted)).threshold_ == fitted.threshold_
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not errors


# --------------------------------------------------------------------------- large inputs


@pytest.mark.parametrize("separator", ["\t", "\u3000", ".", "\n"])
def test_long_documents_are_cut_between_words_whatever_separates_them(separator):
    from scdv.tokenize import english_tokenize
    from scdv.weighting import count_matrix, count_texts

    words = ["alpha", "bravo", "charlie", "delta"] * 40
    text = separator.join(words)
    vocabulary = {w: i for i, w in enumerate(sorted(set(words)))}
    pieces = count_texts([text], english_tokenize, vocabulary, long_document=37)
    whole = count_matrix([english_tokenize(text)], vocabulary)
    np.testing.assert_array_equal(pieces.toarray(), whole.toarray())


def test_output_reserved_from_a_first_batch_of_long_documents_fits_the_memory_left(
        fitted, corpus, monkeypatch):
    long_docs = [" ".join(corpus[0][:30])] * 256
    docs = long_docs + [""] * 20_000
    expected = fitted.transform(docs)
    monkeypatch.setattr(persistence, "memory_budget", lambda: 1 << 20)
    reserved = []
    real_empty = np.empty
    monkeypatch.setattr(np, "empty", lambda n, *a, **k: reserved.append(n) or
                        real_empty(n, *a, **k))
    X = fitted.set_params(n_jobs=1).transform(docs)
    # Before, the first batch set 1.1 x 64 entries x 20,256 rows = 1.4 M entries.
    assert max(reserved) <= (1 << 20) // 16
    assert (X != expected).nnz == 0
