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
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from ._atomic import replacing
from ._version import __version__
from .exceptions import ModelFormatError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "fail", "memory_budget", "read_model_file",
           "write_model_file"]

FORMAT_NAME = "scdv-model"
FORMAT_VERSION = 1


def _json_bytes(obj):
    # ASCII JSON: a lone surrogate (a token cut from broken text) is escaped
    # as \udxxx and comes back as it was, where UTF-8 could not encode it.
    return np.frombuffer(json.dumps(obj, ensure_ascii=True).encode("ascii"), dtype=np.uint8)


def write_model_file(path, estimator, metadata, json_members, arrays):
    """Write a model archive to ``path``, whole or not at all.

    The file is written beside ``path`` under a temporary name and renamed
    into place (:func:`scdv._atomic.replacing`), so an interrupted save never
    leaves a half-written model; a new file gets the umask's permissions.

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

    Raises
    ------
    NotRegularFileError, IsADirectoryError
        ``path`` exists and is not a regular file (a FIFO, a device, a
        symbolic link, a directory); it is left as it is.
    """
    path = Path(path)
    header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
              "library_version": __version__, "estimator": estimator}
    members = {"metadata": _json_bytes({**header, **metadata})}
    members.update({name: _json_bytes(value) for name, value in json_members.items()})
    members.update(arrays)
    with replacing(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **members)


def fail(path, problem):
    """Raise :class:`ModelFormatError` for the file at ``path``."""
    raise ModelFormatError(f"Cannot load model {os.fspath(path)!r}: {problem}")


def _check_header(path, metadata, estimator):
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        fail(path, f"not an {FORMAT_NAME} file.")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        fail(path, f"bad format_version {version!r}.")
    if version > FORMAT_VERSION:
        # repr: the version string is the file's, and may hold escape sequences.
        fail(path, f"format version {version} was written by scdv "
                   f"{metadata.get('library_version')!r}; this scdv {__version__} "
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


#: The largest ``metadata`` member read (it holds parameters and a few numbers).
MAX_METADATA_BYTES = 1 << 20
#: Bytes a JSON member may spend per vocabulary row, beyond MAX_METADATA_BYTES:
#: room for long tokens, escaped as JSON.
MAX_JSON_BYTES_PER_ROW = 4096
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def memory_budget():
    """Bytes this process can still allocate: free memory, or its address-space limit.

    A model file that declares more is refused before anything is read.
    """
    budget = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    budget = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm") as handle:
                used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            left = max(soft - used, 0)
            budget = left if budget is None else min(budget, left)
    except (ImportError, OSError, ValueError):
        pass
    return budget


def _members(path, archive, wanted):
    # The zip directory, checked before any member is decompressed.
    infos = {}
    for info in archive.infolist():
        name = info.filename[:-4] if info.filename.endswith(".npy") else None
        if name not in wanted:
            continue  # never read
        if info.flag_bits & 0x1:
            fail(path, f"member {info.filename!r} is encrypted.")
        if info.compress_type not in _METHODS:
            fail(path, f"member {info.filename!r} uses compression method "
                       f"{info.compress_type}; model files are stored or deflated.")
        if name in infos:
            fail(path, f"member {info.filename!r} appears twice.")
        infos[name] = info
    missing = set(wanted) - set(infos)
    if missing:
        fail(path, f"missing {', '.join(sorted(missing))}; not written by SCDV.save.")
    return infos


def _npy_header(path, archive, info):
    # (shape, dtype, bytes of the header) from the first bytes of a member.
    try:
        with archive.open(info) as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                fail(path, f"member {info.filename!r} has .npy version {version}.")
            start = handle.tell()
    except ModelFormatError:
        raise
    except Exception as exc:  # numpy raises ValueError, SyntaxError, ... on junk
        fail(path, f"member {info.filename!r} is not a .npy array "
                   f"({type(exc).__name__}: {exc}).")
    if fortran or dtype.hasobject:
        fail(path, f"member {info.filename!r} is not a plain C-ordered numeric array.")
    if any(not isinstance(n, int) or n < 0 for n in shape):
        fail(path, f"member {info.filename!r} declares the shape {shape}.")
    if math.prod(shape) * dtype.itemsize != info.file_size - start:
        fail(path, f"member {info.filename!r} declares a {shape} {dtype} array in "
                   f"{info.file_size - start} bytes of data.")
    return shape, dtype


def _check_sizes(path, infos, headers, json_members, rows):
    # Bounds on what decompressing will take, known before it starts.
    limits = {"metadata": MAX_METADATA_BYTES}
    for name in json_members:
        limits[name] = MAX_METADATA_BYTES + MAX_JSON_BYTES_PER_ROW * rows
    for name, limit in limits.items():
        if infos[name].file_size > limit:
            fail(path, f"'{name}' declares {infos[name].file_size:,} bytes, more than "
                       f"the {limit:,} a model of {rows:,} words can need.")
    total = sum(info.file_size for info in infos.values())
    budget = memory_budget()
    if budget is not None and total > budget:
        fail(path, f"reading it needs {total / 2**20:,.0f} MiB, more than the "
                   f"{budget / 2**20:,.0f} MiB of memory this process has left.")


def _read_member(path, archive, info, name, dtype=None, ndim=None):
    with archive.open(info) as handle:
        array = np.lib.format.read_array(handle, allow_pickle=False)
    if dtype is not None and (array.dtype != dtype or array.ndim != ndim):
        fail(path, f"'{name}' should be a {ndim}-d {np.dtype(dtype).name} "
                   f"array, found {array.ndim}-d {array.dtype}.")
    return array


def _parse_json(path, raw, name):
    if raw.dtype != np.uint8 or raw.ndim != 1:
        fail(path, f"'{name}' is not UTF-8 JSON bytes.")
    try:
        return json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(path, f"'{name}' is not valid UTF-8 JSON ({exc}).")
    except RecursionError:
        fail(path, f"'{name}' is JSON nested too deep.")


def read_model_file(path, estimator, json_members, arrays):
    """Read and check a model archive written by :func:`write_model_file`.

    Nothing is decompressed before the zip directory and every array's
    ``.npy`` header have been checked: only stored and deflated members,
    no encryption, each array's declared shape matching its size and the
    other arrays' rows, JSON members within bounds set by the number of
    rows, and the whole within the memory this process has left.

    Parameters
    ----------
    path : str or path-like
    estimator : str
        The class name the file must declare.
    json_members : iterable of str
        Names of the JSON members to read besides ``metadata``.
    arrays : dict of str to (dtype, ndim)
        The arrays to read, each checked for that dtype, number of dimensions
        and finite values; their first dimensions must agree.

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
        version or for another estimator, an array has the wrong type or
        shape, or reading it would take more memory than there is.
    """
    path = Path(path)
    if not path.is_file():
        fail(path, "no such file." if not path.exists() else "not a regular file.")
    if not zipfile.is_zipfile(path):
        fail(path, "not an scdv model file (expected a .npz zip archive written by "
                   f"SCDV.save).{_pickle_hint(path)}")
    json_members = list(json_members)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = _members(path, archive, {"metadata", *json_members, *arrays})
            headers = {name: _npy_header(path, archive, infos[name])
                       for name in ["metadata", *json_members, *arrays]}
            for name, (dtype, ndim) in arrays.items():
                shape, found = headers[name]
                if found != dtype or len(shape) != ndim:
                    fail(path, f"'{name}' should be a {ndim}-d {np.dtype(dtype).name} "
                               f"array, found {len(shape)}-d {found}.")
            rows = {headers[name][0][0] for name in arrays}
            if len(rows) > 1:
                fail(path, "array shapes do not match: "
                           + ", ".join(f"{n} {headers[n][0]}" for n in arrays) + ".")
            n_rows = rows.pop() if rows else 0
            _check_sizes(path, infos, headers, json_members, n_rows)
            metadata = _parse_json(path, _read_member(path, archive, infos["metadata"],
                                                      "metadata"), "metadata")
            _check_header(path, metadata, estimator)
            members = {name: _parse_json(path, _read_member(path, archive, infos[name],
                                                            name), name)
                       for name in json_members}
            found = {}
            for name, (dtype, ndim) in arrays.items():
                array = _read_member(path, archive, infos[name], name, dtype, ndim)
                if not np.all(np.isfinite(array)):
                    fail(path, f"'{name}' contains NaN or infinite values.")
                found[name] = array
    except ModelFormatError:
        raise
    except ValueError as exc:
        # numpy refuses object arrays (pickles) with ValueError.
        fail(path, f"unreadable array ({exc}).")
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, RuntimeError,
            NotImplementedError) as exc:
        fail(path, f"damaged or truncated file ({type(exc).__name__}: {exc}).")
    except MemoryError:
        fail(path, "it does not fit in the memory this process has left.")
    return metadata, members, found
