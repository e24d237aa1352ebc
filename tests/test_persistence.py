"""Saving and loading models: round trips, and refusal of anything else."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import scdv
from scdv import SCDV, ModelFormatError, load
from scdv.persistence import FORMAT_VERSION


def test_save_load_round_trip_gives_same_vectors_and_params(fitted, corpus, tmp_path):
    path = tmp_path / "model.scdv"
    fitted.save(path)
    loaded = load(path)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.vocabulary_ == fitted.vocabulary_
    assert loaded.threshold_ == fitted.threshold_
    assert (loaded.transform(corpus[0]) != fitted.transform(corpus[0])).nnz == 0


def test_model_file_holds_no_pickle(fitted, tmp_path):
    path = tmp_path / "model.scdv"
    scdv.save(fitted, path)
    with np.load(path, allow_pickle=False) as archive:  # would raise on object arrays
        assert {"metadata", "vocabulary", "word_vectors"} <= set(archive.files)
        meta = json.loads(archive["metadata"].tobytes())
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["library_version"] == scdv.__version__


def test_save_leaves_no_temporary_files(fitted, tmp_path):
    fitted.save(tmp_path / "m.scdv")
    assert os.listdir(tmp_path) == ["m.scdv"]


def test_save_refuses_callable_tokenizer(fitted, tmp_path):
    fitted.set_params(tokenizer=str.split)
    with pytest.raises(ValueError, match="callable"):
        fitted.save(tmp_path / "m.scdv")
    assert not (tmp_path / "m.scdv").exists()


def test_save_before_fit_raises_not_fitted(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SCDV().save(tmp_path / "m.scdv")


def _rewrite(src, dst, **replace):
    with np.load(src, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays.update(replace)
    with open(dst, "wb") as fh:
        np.savez(fh, **arrays)


def _meta(src, **changes):
    with np.load(src, allow_pickle=False) as archive:
        meta = json.loads(archive["metadata"].tobytes())
    meta.update(changes)
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "good.scdv"
    fitted.save(path)
    return path


def test_truncated_file_is_refused(saved, tmp_path):
    bad = tmp_path / "bad.scdv"
    bad.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(ModelFormatError, match="bad.scdv"):
        load(bad)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ModelFormatError, match="no such file"):
        load(tmp_path / "nope.scdv")


def test_random_bytes_are_refused(tmp_path):
    bad = tmp_path / "bad.scdv"
    bad.write_bytes(np.random.RandomState(0).bytes(5000))
    with pytest.raises(ModelFormatError, match="not an scdv model file"):
        load(bad)


def test_newer_format_version_is_refused_with_upgrade_hint(saved, tmp_path):
    bad = tmp_path / "bad.scdv"
    _rewrite(saved, bad, metadata=_meta(saved, format_version=FORMAT_VERSION + 1))
    with pytest.raises(ModelFormatError, match="Upgrade scdv"):
        load(bad)


def test_wrong_array_shapes_are_refused(saved, tmp_path):
    bad = tmp_path / "bad.scdv"
    with np.load(saved) as archive:
        idf = archive["idf"]
    _rewrite(saved, bad, idf=idf[:-1])
    with pytest.raises(ModelFormatError, match="do not match"):
        load(bad)


def test_nan_arrays_are_refused(saved, tmp_path):
    bad = tmp_path / "bad.scdv"
    with np.load(saved) as archive:
        idf = archive["idf"].copy()
    idf[0] = np.nan
    _rewrite(saved, bad, idf=idf)
    with pytest.raises(ModelFormatError, match="NaN"):
        load(bad)


class _Plant:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickle_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.scdv"
    bad.write_bytes(pickle.dumps(_Plant(str(marker))))
    with pytest.raises(ModelFormatError):
        load(bad)
    assert not marker.exists()


def test_zip_with_a_pickled_array_is_refused_without_running_it(saved, tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.scdv"
    planted = np.array([_Plant(str(marker))], dtype=object)
    buffer = io.BytesIO()
    np.save(buffer, planted, allow_pickle=True)
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            data = buffer.getvalue() if name == "idf.npy" else src.read(name)
            dst.writestr(name, data)
    with pytest.raises(ModelFormatError, match="idf|unreadable"):
        load(bad)
    assert not marker.exists()


def test_other_npz_is_refused(tmp_path):
    bad = tmp_path / "other.npz"
    np.savez(bad, x=np.arange(3))
    with pytest.raises(ModelFormatError, match="missing"):
        load(bad)


def test_plain_pickle_of_the_estimator_still_works(fitted, corpus):
    twin = pickle.loads(pickle.dumps(fitted))
    assert (twin.transform(corpus[0][:3]) != fitted.transform(corpus[0][:3])).nnz == 0


def test_saved_model_gets_the_umask_permissions(fitted, tmp_path):
    umask = os.umask(0o022)
    try:
        fitted.save(tmp_path / "m.scdv")
    finally:
        os.umask(umask)
    assert (tmp_path / "m.scdv").stat().st_mode & 0o777 == 0o644
