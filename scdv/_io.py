"""Reading documents from files and writing vectors safely, for the ``scdv`` command.

Plain functions, usable (and tested) without the command line:

- :func:`expand_inputs` turns files, directories and ``-`` into the list of
  sources to read (a file found in a directory is a :class:`ListedPath`);
- :func:`read_documents` reads them into ``(texts, ids)``; a listed file
  that is no longer a regular file when it is opened (a FIFO put in its
  place) is refused, never waited on;
- :class:`StagedOutputs` (from :mod:`scdv._atomic`, the project's one
  atomic-write helper) writes files under a temporary name beside the
  target and renames them into place, so a failure or an interrupt never
  leaves a half-written output;
- :data:`OUTPUT_FORMATS` is the one registry of vector formats (``npz``,
  ``svmlight``, ``npy``): each entry's writer, help text and name in
  summaries; :func:`stage_vectors` writes a matrix in one of them, with the
  document ids in a manifest (:func:`ids_path`, ``OUT.ids.jsonl``) that
  :func:`read_ids` checks against the vectors file.

:mod:`scdv.commands` puts these together with a model, as the ``scdv``
command does.
"""

from __future__ import annotations

import codecs
import errno
import fnmatch
import hashlib
import json
import os
import stat
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp

from ._atomic import StagedOutputs, file_kind
from ._progress import progress_bar
from .exceptions import InputError

__all__ = [
    "FORMATS",
    "IDS_FORMAT",
    "InputError",
    "ListedPath",
    "OUTPUT_FORMATS",
    "OutputFormat",
    "StagedOutputs",
    "default_format",
    "dense_nbytes",
    "expand_inputs",
    "ids_path",
    "output_format",
    "read_documents",
    "read_ids",
    "suggest_encodings",
    "stage_vectors",
    "zero_rows_warning",
]

#: The name that means standard input (for reading) or standard output (for writing).
STDIO = "-"
#: Appended to an output's path to name its document-ids manifest.
IDS_SUFFIX = ".ids.jsonl"
#: The ``format`` and ``version`` of the first line of an ids manifest.
IDS_FORMAT, IDS_VERSION = "scdv-ids", 1


def _show(path):
    # Quote a path for a message; repr keeps odd characters visible.
    return repr(os.fspath(path))


def _check_encoding(encoding, errors):
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"Unknown encoding {encoding!r}.") from None
    if not getattr(info, "_is_text_encoding", True):  # rot13, base64, zip, ...
        raise ValueError(f"{encoding!r} is not a text encoding.")
    if errors not in ("strict", "replace", "ignore"):
        raise ValueError(
            f"errors must be 'strict', 'replace' or 'ignore'; got {errors!r}."
        )


def _is_hidden(name):
    return name.startswith(".")


def _selected(relative, include, exclude):
    # A pattern matches the path below the folder ("sub/*.txt") or the file
    # name alone ("*.txt"), with the shell's wildcards (fnmatch).
    def matches(patterns):
        return any(fnmatch.fnmatchcase(relative, p)
                   or fnmatch.fnmatchcase(os.path.basename(relative), p) for p in patterns)

    return (not include or matches(include)) and not matches(exclude)


class ListedPath(str):
    """A path found by listing a directory, as opposed to one the user named.

    A plain ``str`` everywhere else; :func:`read_documents` reads it only if
    it is still a regular file when opened, so that a FIFO or device put in
    its place after the listing is refused instead of read (or waited on
    forever). :func:`expand_inputs` makes them; pass them on as they are.
    """

    __slots__ = ()


def _walk_regular_files(top, include=(), exclude=(), hidden=False):
    """The regular files below directory ``top`` to read, in sorted path order.

    Symbolic links to directories are not followed (so link loops cannot
    trap the walk); symbolic links to regular files are read. FIFOs, sockets,
    devices and dangling links are skipped, and so are hidden files and
    folders (names starting with ".") unless ``hidden``.
    """
    def fail(exc):
        raise InputError(
            f"Cannot read directory {_show(exc.filename or top)}: {exc.strerror or exc}.",
            path=os.fspath(exc.filename or top), reason="unreadable",
        )

    found = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False, onerror=fail):
        if not hidden:
            dirnames[:] = [d for d in dirnames if not _is_hidden(d)]
            filenames = [f for f in filenames if not _is_hidden(f)]
        for name in filenames:
            path = os.path.join(dirpath, name)
            relative = os.path.relpath(path, top).replace(os.sep, "/")
            if not _selected(relative, include, exclude):
                continue
            try:
                mode = os.stat(path).st_mode  # follows a link to a file
            except OSError:
                continue  # dangling link, or vanished meanwhile
            if stat.S_ISREG(mode):
                found.append(ListedPath(path))
    return sorted(found)


def expand_inputs(inputs, *, include=(), exclude=(), hidden=False):
    """The sources named by ``inputs``, in reading order.

    Parameters
    ----------
    inputs : iterable of str or path-like
        Files, directories, or ``"-"`` for standard input.
    include : sequence of str, default=()
        Shell patterns (``*.txt``, ``news/*``): a file inside a directory is
        read only if its name, or its path below the directory, matches
        one. Empty: every file.
    exclude : sequence of str, default=()
        Patterns of files inside directories to leave out (``LICENSE*``).
    hidden : bool, default=False
        Also read hidden files and folders inside directories (``.DS_Store``,
        ``.git/``).

    Returns
    -------
    list of str
        A file named in ``inputs`` stays itself, whatever the patterns (even
        a FIFO or device); a directory becomes the regular files below it
        that the patterns select, in sorted path order, as
        :class:`ListedPath` strings; ``"-"`` stays ``"-"``.

    Raises
    ------
    InputError
        A path does not exist or a directory cannot be listed.
    """
    sources = []
    for item in inputs:
        item = os.fspath(item)
        if item == STDIO:
            sources.append(STDIO)
        elif os.path.isdir(item):
            sources.extend(_walk_regular_files(item, include, exclude, hidden))
        elif os.path.exists(item):
            sources.append(item)
        else:
            raise InputError(f"No such file or directory: {_show(item)}.",
                             path=item, reason="missing")
    return sources


def zero_rows_warning(texts, ids, X, *, limit=3):
    """One line about documents whose vector is all zero, or None if there are none.

    Parameters
    ----------
    texts, ids : sequence of str
        The documents and their ids, one per row of ``X``.
    X : sparse matrix
        Their vectors.
    limit : int, default=3
        Ids named for each kind.

    Returns
    -------
    str or None
        E.g. "2 documents are empty (a.txt, b.txt) and 1 has no word in the
        vocabulary (c.txt); their rows are all zero".
    """
    X = sp.csr_matrix(X)
    zero = np.flatnonzero(np.diff(X.indptr) == 0)
    empty = [ids[i] for i in zero if not texts[i].strip()]
    unknown = [ids[i] for i in zero if texts[i].strip()]

    def some(names, verb_one, verb_many, what):
        shown = ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
        verb = verb_one if len(names) == 1 else verb_many
        noun = "document" if len(names) == 1 else "documents"
        return f"{len(names):,} {noun} {verb} {what} ({shown})"

    parts = []
    if empty:
        parts.append(some(empty, "is", "are", "empty"))
    if unknown:
        parts.append(some(unknown, "has", "have", "no word in the vocabulary"))
    if not parts:
        return None
    return " and ".join(parts) + "; their rows are all zero"


#: Encodings whose clean decoding of a file is worth suggesting, most telling first.
SUGGESTED_ENCODINGS = ("utf-8", "cp932", "euc-jp", "latin-1")
_JAPANESE_ENCODINGS = ("cp932", "euc-jp")


def _japanese_share(text):
    # Of the non-ASCII characters, the share that are kana, kanji or
    # full-width forms: high for Japanese text read right, low for mojibake.
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return 0.0
    japanese = sum("\u3000" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff"
                   or "\uff00" <= c <= "\uffef" for c in wide)
    return japanese / len(wide)


def suggest_encodings(data, tried=None):
    """Encodings of :data:`SUGGESTED_ENCODINGS` that decode ``data`` cleanly.

    A Japanese encoding (cp932, euc-jp) is suggested only when what it
    decodes is mostly kana and kanji; latin-1 decodes any bytes, so it comes
    last, as the fallback for Western text.

    Parameters
    ----------
    data : bytes
    tried : str or None
        The encoding that failed; never suggested.

    Returns
    -------
    list of str

    Examples
    --------
    >>> suggest_encodings("日本語のテキスト".encode("cp932"), "utf-8")
    ['cp932', 'latin-1']
    >>> suggest_encodings("café".encode("latin-1"), "utf-8")
    ['latin-1']
    """
    tried = codecs.lookup(tried).name if tried else None
    found = []
    for name in SUGGESTED_ENCODINGS:
        if codecs.lookup(name).name == tried:
            continue
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if name in _JAPANESE_ENCODINGS and _japanese_share(text) < 0.9:
            continue
        found.append(name)
    return found


def _decode(data, source, encoding, errors):
    try:
        return data.decode(encoding, errors)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start:exc.start + 1].hex()
        encodings = suggest_encodings(data, encoding)
        hint = f"; it decodes cleanly as {' and '.join(encodings)}" if encodings else ""
        raise InputError(
            f"Cannot decode {_show(source)} as {encoding}: byte 0x{bad} at offset "
            f"{exc.start} (line {line}) is invalid{hint}.",
            path=source, reason="decode", encodings=encodings,
        ) from None
    except UnicodeError as exc:  # codecs such as idna raise it without a position
        raise InputError(
            f"Cannot decode {_show(source)} as {encoding}: {exc}.",
            path=source, reason="decode",
        ) from None


def split_lines(text):
    """``(line_number, line)`` for each non-blank line; line numbers start at 1.

    ``\\r\\n`` and ``\\r`` count as line ends, as in Python's text mode.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]


def _open_nonblocking(path, flags):
    # A FIFO opened without O_NONBLOCK blocks until a writer comes, perhaps never.
    return os.open(path, flags | os.O_NONBLOCK)


def _read_blocking(source):
    with open(source, "rb") as handle:
        return handle.read()


def _read_bytes(source):
    """The bytes of ``source``; a :class:`ListedPath` must be a regular file.

    A name the user gave that is not a regular file (a FIFO, ``/dev/stdin``)
    is read as it comes, with a blocking open: opening a FIFO non-blocking
    and then again would wake a writer already waiting on it and leave it
    writing to nobody.
    """
    listed = isinstance(source, ListedPath)
    try:
        if not listed and not stat.S_ISREG(os.stat(source).st_mode):
            return _read_blocking(source)
        with open(source, "rb", opener=_open_nonblocking) as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if stat.S_ISREG(mode):
                return handle.read()
        if listed:
            raise InputError(
                f"Cannot read {_show(source)}: it is now {file_kind(mode)}, not a "
                "regular file (it changed after its folder was listed).",
                path=str(source), reason="unreadable",
            )
        return _read_blocking(source)  # named, and swapped meanwhile: read it as named
    except FileNotFoundError:
        raise InputError(f"No such file or directory: {_show(source)}.",
                         path=str(source), reason="missing") from None
    except OSError as exc:
        raise InputError(f"Cannot read {_show(source)}: {exc.strerror or exc}.",
                         path=str(source), reason="unreadable") from None


def decode_file(path, encoding="utf-8", errors="strict"):
    """The text of the file at ``path``; :class:`InputError` names what went wrong.

    A decode error gives the byte's offset and line, never the text. A
    :class:`ListedPath` that is no longer a regular file is refused
    (``reason="unreadable"``).
    """
    return _decode(_read_bytes(path), str(path), encoding, errors)


def _read_stdin(stdin):
    stream = sys.stdin if stdin is None else stdin
    return getattr(stream, "buffer", stream).read()  # bytes, or str from a text stream


def read_documents(inputs, *, lines=False, encoding="utf-8", errors="strict", stdin=None,
                   verbose=0, include=(), exclude=(), hidden=False):
    """Read documents and their ids from files, directories and standard input.

    Parameters
    ----------
    inputs : iterable of str or path-like
        A file is one document. A directory means every regular file below
        it (see :func:`expand_inputs`), one document each; one that is no
        longer a regular file when it is opened is refused. ``"-"`` is
        standard input, one document per non-blank line.
    lines : bool, default=False
        Make every non-blank line of every input file its own document.
    encoding : str, default="utf-8"
        How the bytes of every input are decoded.
    errors : {"strict", "replace", "ignore"}, default="strict"
        What to do with bytes that do not decode: ``"strict"`` raises
        :class:`InputError` naming the file.
    stdin : binary or text stream, optional
        Read for ``"-"`` instead of ``sys.stdin``. A text stream's ``str`` is
        used as is; bytes are decoded with ``encoding``.
    verbose : int, default=0
        Show a progress bar over files on stderr when > 0 and stderr is a
        terminal.
    include, exclude, hidden
        Which files inside directories are read (see :func:`expand_inputs`).

    Returns
    -------
    texts : list of str
    ids : list of str
        One per text, in the same order: the file's path, or ``path:LINE``
        with ``lines=True`` and ``-:LINE`` for standard input (1-based line
        numbers, counted before blank lines are dropped).

    Raises
    ------
    InputError
        An input is missing, unreadable, not valid ``encoding`` (with
        ``errors="strict"``), or was found in a directory as a regular file
        and is something else (a FIFO, a device) when opened.
    ValueError
        ``encoding`` or ``errors`` is not known.

    Examples
    --------
    >>> import io
    >>> read_documents(["-"], stdin=io.BytesIO(b"first doc\\n\\nsecond doc\\n"))
    (['first doc', 'second doc'], ['-:1', '-:3'])
    """
    _check_encoding(encoding, errors)
    texts, ids = [], []
    sources = expand_inputs(inputs, include=include, exclude=exclude, hidden=hidden)
    for source in progress_bar(sources, desc="reading", unit="file", verbose=verbose):
        if source == STDIO:
            data = _read_stdin(stdin)
            text = data if isinstance(data, str) else _decode(data, "<stdin>", encoding, errors)
            for number, line in split_lines(text):
                texts.append(line)
                ids.append(f"{STDIO}:{number}")
            continue
        text = decode_file(source, encoding, errors)
        if lines:
            for number, line in split_lines(text):
                texts.append(line)
                ids.append(f"{source}:{number}")
        else:
            texts.append(text)
            ids.append(str(source))  # a plain str, not the ListedPath
    return texts, ids


def ids_path(path):
    """The manifest that holds the document ids of output ``path``: ``path + ".ids.jsonl"``."""
    return os.fspath(path) + IDS_SUFFIX


def dense_nbytes(n_rows, n_cols):
    """Bytes of a dense float32 array of that shape."""
    return int(n_rows) * int(n_cols) * np.dtype(np.float32).itemsize


def file_sha256(path):
    """The SHA-256 of the file at ``path``, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_line(value):
    # ASCII JSON: a newline, U+2028 or a lone surrogate (an undecodable byte
    # of a file name) inside an id is escaped, so one line is one id, the
    # file is valid in any ASCII-compatible encoding, and the id comes back
    # exactly (os.fsencode gives back the original bytes).
    return json.dumps(value, ensure_ascii=True) + "\n"


def _write_ids(handle, ids, *, vectors, rows, sha256):
    header = {"format": IDS_FORMAT, "version": IDS_VERSION, "vectors": vectors,
              "rows": rows, "sha256": sha256}
    handle.write(_json_line(header))
    for doc_id in ids:
        handle.write(_json_line(os.fsdecode(doc_id)))


def _bad_manifest(path, problem):
    return ValueError(f"{_show(path)} is not an scdv ids file: {problem}.")


def _read_header(path, line):
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != IDS_FORMAT:
        raise _bad_manifest(path, f"its first line is not a {IDS_FORMAT!r} header")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _bad_manifest(path, f"bad version {version!r}")
    if version > IDS_VERSION:
        raise _bad_manifest(path, f"version {version} is newer than this scdv reads "
                                  f"({IDS_VERSION}); upgrade scdv")
    rows, name, sha = header.get("rows"), header.get("vectors"), header.get("sha256")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise _bad_manifest(path, f"bad rows {rows!r}")
    if not isinstance(name, str) or not name or os.path.basename(name) != name:
        raise _bad_manifest(path, f"bad vectors file name {name!r}")
    if not isinstance(sha, str) or len(sha) != 64:
        raise _bad_manifest(path, f"bad sha256 {sha!r}")
    return header


def read_ids(path, *, verify=True):
    """The document ids in an ids manifest, checked against its vectors file.

    The manifest (``OUT.ids.jsonl``, written beside ``OUT`` by
    :func:`stage_vectors`) is JSON lines in ASCII: a header object
    ``{"format": "scdv-ids", "version": 1, "vectors": NAME, "rows": N,
    "sha256": HEX}``, then one JSON string per row of the vectors file
    ``NAME`` (in the same directory). It is renamed into place after the
    vectors, so a manifest that matches its vectors file proves that both
    come from the same run. Without scdv::

        header, *ids = map(json.loads, open("news.npz.ids.jsonl"))

    Parameters
    ----------
    path : str or path-like
        The manifest.
    verify : bool, default=True
        Check that the vectors file exists and has the manifest's SHA-256
        (which reads it once).

    Returns
    -------
    list of str
        One id per row. An id made from a file name with bytes that are
        not UTF-8 holds lone surrogates; ``os.fsencode(id)`` gives back the
        name's bytes.

    Raises
    ------
    ValueError
        Not an ids manifest, a number of ids other than its ``rows``, or
        (with ``verify``) a vectors file whose SHA-256 differs: the two files
        come from different runs.
    OSError
        The manifest, or (with ``verify``) the vectors file, cannot be read.
    """
    path = os.fspath(path)
    with open(path, encoding="ascii", newline="\n") as handle:
        lines = handle.read().split("\n")
    if lines[-1] != "":
        raise _bad_manifest(path, "it does not end with a newline (cut short?)")
    header = _read_header(path, lines[0])
    ids = []
    for number, line in enumerate(lines[1:-1], start=2):
        try:
            doc_id = json.loads(line)
        except ValueError:
            doc_id = None
        if not isinstance(doc_id, str):
            raise _bad_manifest(path, f"line {number} is not a JSON string")
        ids.append(doc_id)
    if len(ids) != header["rows"]:
        raise ValueError(f"{_show(path)} lists {len(ids):,} ids for {header['rows']:,} rows.")
    if verify:
        vectors = os.path.join(os.path.dirname(path), header["vectors"])
        if file_sha256(vectors) != header["sha256"]:
            raise ValueError(
                f"{_show(path)} does not describe {_show(vectors)}: the vectors file's "
                "SHA-256 differs from the one recorded, so the two come from different "
                "runs (or one was changed); write them again.")
    return ids


def _write_npz(handle, X):
    sp.save_npz(handle, X, compressed=True)  # a handle: no ".npz" is appended


def _write_svmlight(handle, X):
    # Imported here: scikit-learn's datasets module is slow to import and
    # only this format needs it.
    from sklearn.datasets import dump_svmlight_file

    dump_svmlight_file(X, np.zeros(X.shape[0]), handle, zero_based=True)


def _write_npy(handle, X):
    np.save(handle, X.toarray().astype(np.float32, copy=False), allow_pickle=False)


@dataclass(frozen=True)
class OutputFormat:
    """How document vectors are written in one format.

    Parameters
    ----------
    name : str
        What ``--format`` and :func:`stage_vectors` call it.
    write : callable
        ``write(handle, X)`` writes the CSR matrix ``X`` to the open binary
        ``handle``.
    help : str
        What the file holds, for ``--help``.
    summary : str
        What the command's summary line calls the matrix written
        ("wrote 40 x 64 CSR ...").
    dense : bool, default=False
        Every entry is stored, zeros included, so the file's size grows with
        rows x columns; the command checks that size before fitting.
    streams : bool, default=False
        Can be written to standard output (``-o -``): a format that needs
        to seek, or a sidecar, cannot.
    read_back : str, default=""
        How to read the file back in Python, when the reader's defaults
        would get it wrong; ``{path}`` and ``{n_features}`` are filled in for
        the command's summary line.
    """

    name: str
    write: Callable
    help: str
    summary: str
    dense: bool = False
    streams: bool = False
    read_back: str = ""


def _registry(*formats):
    return {fmt.name: fmt for fmt in formats}


#: Every output format, by name; the first is the default for files. A new
#: format is one entry here: ``--format``, its help, the checks and the
#: summary line all read this.
OUTPUT_FORMATS = _registry(
    OutputFormat("npz", _write_npz, "scipy.sparse.save_npz CSR", "CSR"),
    # load_svmlight_file's defaults guess one-based features and count only
    # the columns seen, so a file read back that way loses or shifts columns.
    OutputFormat("svmlight", _write_svmlight,
                 "one line per document, label 0, zero-based features; read it with "
                 "sklearn.datasets.load_svmlight_file(path, zero_based=True, "
                 "n_features=K*d)", "svmlight", streams=True,
                 read_back="load_svmlight_file({path}, zero_based=True, "
                           "n_features={n_features})"),
    OutputFormat("npy", _write_npy, "dense float32 array", "dense float32", dense=True),
)
#: The names of :data:`OUTPUT_FORMATS`, in order (read the registry itself
#: where a format added later must count).
FORMATS = tuple(OUTPUT_FORMATS)


def output_format(name):
    """The :class:`OutputFormat` called ``name``; ValueError names the known ones."""
    try:
        return OUTPUT_FORMATS[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name
        raise ValueError(
            f"Unknown format {name!r}; expected one of {', '.join(OUTPUT_FORMATS)}."
        ) from None


def default_format(path):
    """The format written to ``path`` when none is asked for.

    The first format of :data:`OUTPUT_FORMATS` for a file; for ``"-"``
    (standard output), the first one that :attr:`~OutputFormat.streams`.
    """
    if os.fspath(path) == STDIO:
        return next(fmt.name for fmt in OUTPUT_FORMATS.values() if fmt.streams)
    return next(iter(OUTPUT_FORMATS))


def _write_matrix(handle, X, fmt):
    output_format(fmt).write(handle, X)


def _stdout_buffer():
    # Started with standard output closed (">&-"), Python has no sys.stdout.
    stream = sys.stdout
    if stream is None or getattr(stream, "buffer", None) is None:
        raise OSError(errno.EBADF, "standard output is closed", STDIO)
    return stream.buffer


def stage_vectors(staged, X, path, fmt, ids):
    """Stage the matrix ``X`` and its ids manifest in a :class:`StagedOutputs`.

    The vectors are staged first and the manifest last, so the manifest,
    which records the vectors file's name, rows and SHA-256, is renamed into
    place after it: a manifest that :func:`read_ids` accepts was written
    with the vectors beside it.

    Parameters
    ----------
    staged : StagedOutputs
        The files appear when its block ends without an error.
    X : sparse matrix or array of shape (n_docs, n_features)
    path : str or path-like
        The vectors file, or ``"-"`` for standard output (a format that
        :attr:`~OutputFormat.streams`, written at once; no manifest).
    fmt : str
        A name in :data:`OUTPUT_FORMATS`.
    ids : sequence of str or None
        Document ids, one per row, written to :func:`ids_path` of ``path``
        (see :func:`read_ids` for the format); None writes no manifest.

    Returns
    -------
    str or None
        The manifest's path, or None when none is written.

    Raises
    ------
    ValueError
        An unknown format, ids that do not match the rows, or a format that
        cannot go to standard output.
    OSError
        Standard output is closed (``-o -``), or a file cannot be written.
    """
    X = sp.csr_matrix(X)
    spec = output_format(fmt)
    if ids is not None and len(ids) != X.shape[0]:
        raise ValueError(f"{len(ids)} ids for {X.shape[0]} rows.")
    if os.fspath(path) == STDIO:
        if not spec.streams:
            streamable = ", ".join(f.name for f in OUTPUT_FORMATS.values() if f.streams)
            raise ValueError(f"Only {streamable} can go to standard output, not {fmt}.")
        out = _stdout_buffer()
        _write_matrix(out, X, fmt)
        out.flush()
        return None
    vectors = staged.open(path)
    _write_matrix(vectors, X, fmt)
    if ids is None:
        return None
    vectors.flush()  # writers may seek back (zip headers): hash what is on disk
    sidecar = ids_path(path)
    manifest = staged.open(sidecar, "w", encoding="ascii", newline="\n")
    _write_ids(manifest, ids, vectors=os.path.basename(os.fspath(path)), rows=X.shape[0],
               sha256=file_sha256(vectors.name))
    return sidecar
