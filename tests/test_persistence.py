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


@pytest.mark.parametrize(
    "change", [{"n_components": 5}, {"vector_size": 8}, {"cluster_proba_threshold": 0.3},
               {"min_count": 1}],
    ids=lambda c: next(iter(c)))
def test_save_refuses_fit_parameters_changed_after_fitting(fitted, tmp_path, change):
    fitted.set_params(**change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=rf"Cannot save: {name}=.* \(fitted with .*refit"):
        fitted.save(tmp_path / "m.scdv")
    assert os.listdir(tmp_path) == []


def test_refit_mixture_makes_a_changed_model_saveable_and_loadable(fitted, corpus, tmp_path):
    fitted.set_params(n_components=3, cluster_proba_threshold=0.3)
    fitted.refit_mixture(corpus[0])
    fitted.save(tmp_path / "m.scdv")
    loaded = load(tmp_path / "m.scdv")
    assert loaded.get_params()["n_components"] == 3
    assert loaded.get_params()["cluster_proba_threshold"] == 0.3
    assert (loaded.transform(corpus[0]) != fitted.transform(corpus[0])).nnz == 0


def test_transform_time_parameters_may_change_before_save(fitted, corpus, tmp_path):
    fitted.set_params(batch_size=7, n_jobs=1, sublinear_tf=True)
    fitted.save(tmp_path / "m.scdv")
    loaded = load(tmp_path / "m.scdv")
    assert loaded.batch_size == 7 and loaded.sublinear_tf is True
    assert (loaded.transform(corpus[0]) != fitted.transform(corpus[0])).nnz == 0


def test_numpy_scalar_parameters_are_saved_as_numbers(corpus, tmp_path):
    from .conftest import SMALL_PARAMS

    params = {**SMALL_PARAMS, "n_components": np.int64(3), "random_state": np.int64(0)}
    model = SCDV(**params).fit(corpus[0])
    model.save(tmp_path / "m.scdv")
    loaded = load(tmp_path / "m.scdv")
    assert loaded.n_components == 3 and loaded.random_state == 0


def test_save_of_a_pipeline_says_only_scdv_models_are_saved(fitted, tmp_path):
    from sklearn.pipeline import make_pipeline

    with pytest.raises(TypeError, match="SCDV models only; got a Pipeline.*named_steps"):
        scdv.save(make_pipeline(fitted), tmp_path / "m.scdv")


def test_file_of_another_estimator_is_refused(saved, tmp_path):
    bad = tmp_path / "bad.scdv"
    _rewrite(saved, bad, metadata=_meta(saved, estimator="Word2Vec"))
    with pytest.raises(ModelFormatError, match="'Word2Vec' model, not an SCDV"):
        load(bad)


def test_plain_pickle_is_refused_with_a_pointer_to_pickle_load(fitted, tmp_path):
    bad = tmp_path / "model.pkl"
    bad.write_bytes(pickle.dumps(fitted))
    with pytest.raises(ModelFormatError, match="pickle.load"):
        load(bad)
