"""Saving and loading fitted SCDV models without pickle.

A model file is an uncompressed-or-deflated ``.npz`` zip archive holding plain
numeric arrays, read back with ``numpy.load(allow_pickle=False)``, so loading
a file can never run code from it:

- ``metadata``: UTF-8 JSON (as uint8) with the format name and version, the
  library version, the estimator's parameters and ``threshold_``;
- ``vocabulary``: UTF-8 JSON list of the words (as uint8), in row order;
- ``word_vectors`` (V, d) float32, ``word_cluster_proba`` (V, K) float64 and
  ``idf`` (V,) float64.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._version import __version__
from .exceptions import ModelFormatError

__all__ = ["save", "load", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "scdv-model"
FORMAT_VERSION = 1
_ARRAYS = {
    "word_vectors": (np.float32, 2),
    "word_cluster_proba": (np.float64, 2),
    "idf": (np.float64, 1),
}
_SAVED_TYPES = (str, int, float, bool, type(None))


def _json_bytes(obj):
    return np.frombuffer(json.dumps(obj, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _saveable_params(model):
    params = {}
    for name, value in model.get_params(deep=False).items():
        if name == "tokenizer" and callable(value):
            raise ValueError(
                "Cannot save a model whose tokenizer is a callable: code is never "
                "stored in a model file. Use tokenizer='english', 'janome' or None "
                "(tokenise yourself), or pickle the model instead."
            )
        if name == "random_state" and not isinstance(value, (int, type(None))):
            value = None  # a RandomState cannot be stored; it only mattered for fit
        if name == "word_vectors" and value is not None:
            # A path is kept; a KeyedVectors object only mattered for fit (its
            # vectors are saved as word_vectors_), so it is stored as None.
            value = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
        if isinstance(value, (set, frozenset)):
            value = sorted(value)
        elif isinstance(value, tuple):
            value = list(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            params[name] = value
        elif isinstance(value, _SAVED_TYPES):
            params[name] = value
        else:
            raise ValueError(
                f"Cannot save parameter {name}={value!r}: only str, numbers, None "
                "and lists of str are stored."
            )
    return params


def save(model, path):
    """Write a fitted :class:`scdv.SCDV` to ``path`` without pickle.

    The file is written beside ``path`` under a temporary name and renamed
    into place, so an interrupted save never leaves a half-written model.

    Parameters
    ----------
    model : SCDV
        A fitted model whose tokenizer is ``"english"``, ``"janome"`` or None.
    path : str or path-like
    """
    check_is_fitted(model, "threshold_")
    path = Path(path)
    words = [None] * len(model.vocabulary_)
    for word, row in model.vocabulary_.items():
        words[row] = word
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "estimator": type(model).__name__,
        "params": _saveable_params(model),
        "threshold": float(model.threshold_),
        "pretrained": model.get_params(deep=False).get("word_vectors") is not None,
    }
    arrays = {
        "metadata": _json_bytes(metadata),
        "vocabulary": _json_bytes(words),
        "word_vectors": np.asarray(model.word_vectors_, dtype=np.float32),
        "word_cluster_proba": np.asarray(model.word_cluster_proba_, dtype=np.float64),
        "idf": np.asarray(model.idf_, dtype=np.float64),
    }
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        # mkstemp creates the file private (0600); give it the permissions any
        # new file gets here, as the umask says.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fail(path, problem):
    raise ModelFormatError(f"Cannot load model {os.fspath(path)!r}: {problem}")


def _read_json(path, archive, name):
    try:
        raw = archive[name]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            _fail(path, f"'{name}' is not UTF-8 JSON bytes.")
        return json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(path, f"'{name}' is not valid UTF-8 JSON ({exc}).")


def load(path):
    """Load a model written by :meth:`SCDV.save`.

    Nothing is unpickled: arrays are read with ``allow_pickle=False`` and
    checked for type, shape and finiteness before use.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    SCDV
        A fitted model, ready to ``transform``.

    Raises
    ------
    ModelFormatError
        The file is missing, damaged, of another format or of a newer format
        version, or holds arrays that do not fit together.
    """
    from .composite import SCDV

    path = Path(path)
    if not path.is_file():
        _fail(path, "no such file." if not path.exists() else "not a regular file.")
    if not zipfile.is_zipfile(path):
        _fail(path, "not an scdv model file (expected a .npz zip archive written by "
                    "SCDV.save).")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            missing = {"metadata", "vocabulary", *_ARRAYS} - names
            if missing:
                _fail(path, f"missing {', '.join(sorted(missing))}; not written by SCDV.save.")
            metadata = _read_json(path, archive, "metadata")
            if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
                _fail(path, f"not an {FORMAT_NAME} file.")
            version = metadata.get("format_version")
            if not isinstance(version, int) or version < 1:
                _fail(path, f"bad format_version {version!r}.")
            if version > FORMAT_VERSION:
                _fail(path, f"format version {version} was written by scdv "
                            f"{metadata.get('library_version')}; this scdv {__version__} "
                            f"reads up to version {FORMAT_VERSION}. Upgrade scdv.")
            words = _read_json(path, archive, "vocabulary")
            arrays = {}
            for name, (dtype, ndim) in _ARRAYS.items():
                array = archive[name]
                if array.dtype != dtype or array.ndim != ndim:
                    _fail(path, f"'{name}' should be a {ndim}-d {np.dtype(dtype).name} "
                                f"array, found {array.ndim}-d {array.dtype}.")
                if not np.all(np.isfinite(array)):
                    _fail(path, f"'{name}' contains NaN or infinite values.")
                arrays[name] = array
    except ModelFormatError:
        raise
    except ValueError as exc:
        # numpy refuses object arrays (pickles) with ValueError.
        _fail(path, f"unreadable array ({exc}).")
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        _fail(path, f"damaged or truncated file ({type(exc).__name__}: {exc}).")

    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        _fail(path, "'vocabulary' must be a list of str.")
    if len(set(words)) != len(words):
        _fail(path, "'vocabulary' has repeated words.")
    V = len(words)
    vectors, proba, idf = (arrays[n] for n in ("word_vectors", "word_cluster_proba", "idf"))
    if vectors.shape[0] != V or proba.shape[0] != V or idf.shape[0] != V:
        _fail(path, f"array rows do not match the {V} vocabulary words "
                    f"(word_vectors {vectors.shape}, word_cluster_proba {proba.shape}, "
                    f"idf {idf.shape}).")
    threshold = metadata.get("threshold")
    if not isinstance(threshold, (int, float)) or not np.isfinite(threshold) or threshold < 0:
        _fail(path, f"bad threshold {threshold!r}.")
    params = metadata.get("params")
    if not isinstance(params, dict):
        _fail(path, "'params' must be a JSON object.")
    model = SCDV()
    unknown = set(params) - set(model.get_params(deep=False))
    if unknown:
        _fail(path, f"unknown parameters {sorted(unknown)}; written by a newer scdv?")
    model.set_params(**params)
    # With pretrained vectors d is theirs, not vector_size.
    d_expected = vectors.shape[1] if metadata.get("pretrained") else model.vector_size
    if proba.shape[1] != model.n_components or vectors.shape[1] != d_expected:
        _fail(path, f"array shapes {vectors.shape}, {proba.shape} do not match "
                    f"vector_size={model.vector_size}, n_components={model.n_components}.")
    try:
        model._validate_params()
    except (TypeError, ValueError) as exc:
        _fail(path, f"bad parameters ({exc}).")
    model.vocabulary_ = {w: i for i, w in enumerate(words)}
    model.word_vectors_ = vectors
    model.word_cluster_proba_ = proba
    model.idf_ = idf
    model.threshold_ = float(threshold)
    return model
