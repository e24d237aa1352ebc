"""The model file format: plain arrays and JSON in a zip archive, never pickle.

A model file is an ``.npz`` archive (deflated members), read back with
``numpy.load(allow_pickle=False)``, so loading a file can never run code
from it. It holds:

- ``metadata``: UTF-8 JSON (as uint8) with the format name and version, the
  library version, the estimator's class name and whatever the estimator
  stores about itself (its parameters, ``threshold_``, ...);
- other JSON members the estimator asks for (SCDV: ``vocabulary``, the words
  in row order);
- numeric arrays, each of a declared dtype and number of dimensions.

This module knows the archive, not the estimator: :meth:`scdv.SCDV.save`
and :func:`scdv.load` say what goes in and check what comes out as a model.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ._version import __version__
from .exceptions import ModelFormatError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "fail", "read_model_file", "write_model_file"]

FORMAT_NAME = "scdv-model"
FORMAT_VERSION = 1


def _json_bytes(obj):
    return np.frombuffer(json.dumps(obj, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def write_model_file(path, estimator, metadata, json_members, arrays):
    """Write a model archive to ``path``, whole or not at all.

    The file is written beside ``path`` under a temporary name and renamed
    into place, so an interrupted save never leaves a half-written model.

    Parameters
    ----------
    path : str or path-like
    estimator : str
        The class name, checked again by :func:`read_model_file`.
    metadata : dict
        JSON-serialisable facts about the model; the format's own keys
        (``format``, ``format_version``, ``library_version``, ``estimator``)
        are added here.
    json_members : dict of str to JSON-serialisable
        Further members stored as UTF-8 JSON.
    arrays : dict of str to ndarray
        Numeric arrays, stored as they are.
    """
    path = Path(path)
    header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
              "library_version": __version__, "estimator": estimator}
    members = {"metadata": _json_bytes({**header, **metadata})}
    members.update({name: _json_bytes(value) for name, value in json_members.items()})
    members.update(arrays)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **members)
        # mkstemp creates the file private (0600); give it the permissions any
        # new file gets here, as the umask says.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fail(path, problem):
    """Raise :class:`ModelFormatError` for the file at ``path``."""
    raise ModelFormatError(f"Cannot load model {os.fspath(path)!r}: {problem}")


def _read_json(path, archive, name):
    try:
        raw = archive[name]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            fail(path, f"'{name}' is not UTF-8 JSON bytes.")
        return json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(path, f"'{name}' is not valid UTF-8 JSON ({exc}).")


def _check_header(path, metadata, estimator):
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        fail(path, f"not an {FORMAT_NAME} file.")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        fail(path, f"bad format_version {version!r}.")
    if version > FORMAT_VERSION:
        fail(path, f"format version {version} was written by scdv "
                   f"{metadata.get('library_version')}; this scdv {__version__} "
                   f"reads up to version {FORMAT_VERSION}. Upgrade scdv.")
    if metadata.get("estimator") != estimator:
        fail(path, f"it holds a {metadata.get('estimator')!r} model, not an {estimator}.")


def _pickle_hint(path):
    # Pickle protocols 2 to 5 start with the PROTO opcode 0x80 and the version.
    try:
        with open(path, "rb") as handle:
            start = handle.read(2)
    except OSError:
        return ""
    if len(start) == 2 and start[0] == 0x80 and 2 <= start[1] <= 5:
        return (" It looks like a pickle, which scdv.load never reads since "
                "unpickling can run code; open a pickle you trust with pickle.load.")
    return ""


def read_model_file(path, estimator, json_members, arrays):
    """Read and check a model archive written by :func:`write_model_file`.

    Parameters
    ----------
    path : str or path-like
    estimator : str
        The class name the file must declare.
    json_members : iterable of str
        Names of the JSON members to read besides ``metadata``.
    arrays : dict of str to (dtype, ndim)
        The arrays to read, each checked for that dtype, number of dimensions
        and finite values.

    Returns
    -------
    metadata : dict
    members : dict of str to object
        The JSON members, parsed.
    arrays : dict of str to ndarray

    Raises
    ------
    ModelFormatError
        The file is missing, damaged, of another format, of a newer format
        version or for another estimator, or an array has the wrong type.
    """
    path = Path(path)
    if not path.is_file():
        fail(path, "no such file." if not path.exists() else "not a regular file.")
    if not zipfile.is_zipfile(path):
        fail(path, "not an scdv model file (expected a .npz zip archive written by "
                   f"SCDV.save).{_pickle_hint(path)}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = {"metadata", *json_members, *arrays} - set(archive.files)
            if missing:
                fail(path, f"missing {', '.join(sorted(missing))}; not written by SCDV.save.")
            metadata = _read_json(path, archive, "metadata")
            _check_header(path, metadata, estimator)
            members = {name: _read_json(path, archive, name) for name in json_members}
            found = {}
            for name, (dtype, ndim) in arrays.items():
                array = archive[name]
                if array.dtype != dtype or array.ndim != ndim:
                    fail(path, f"'{name}' should be a {ndim}-d {np.dtype(dtype).name} "
                               f"array, found {array.ndim}-d {array.dtype}.")
                if not np.all(np.isfinite(array)):
                    fail(path, f"'{name}' contains NaN or infinite values.")
                found[name] = array
    except ModelFormatError:
        raise
    except ValueError as exc:
        # numpy refuses object arrays (pickles) with ValueError.
        fail(path, f"unreadable array ({exc}).")
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        fail(path, f"damaged or truncated file ({type(exc).__name__}: {exc}).")
    return metadata, members, found
