"""Loaders for the text-classification corpora used by the SCDV pipelines.

Three corpora are supported, each read either from its tarball or from the unpacked
folder in a data directory (see :func:`resolve_data_dir`):

* 20 Newsgroups, "bydate" split (:func:`load_20newsgroups`), single-label, 20 classes;
* the livedoor news corpus (:func:`load_livedoor`), Japanese, single-label, 9 classes;
* Reuters-21578 ModApte in NLTK layout (:func:`load_reuters`), multi-label, 90 labels.

Every loader returns a :class:`sklearn.utils.Bunch` in the style of
:func:`sklearn.datasets.fetch_20newsgroups` with at least ``data``, ``target``,
``target_names`` and ``ids``. Archives are read in place and never unpacked to disk.

When no local copy is found, each loader can download its corpus's published
archive (see ``download_if_missing``) into the download cache, ``$SCDV_DATA`` if
set, else ``~/scdv_data``, where later calls find it.

:data:`DATASETS` is the registry the pipelines read: for each short name, a
:class:`DatasetInfo` with its loader, language, labels, headline metric, split
scheme, ``--quick`` sizes and SCDV settings. Adding a corpus means adding a
loader and an entry there; :mod:`pipelines.classify` names no corpus.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import re
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, NamedTuple

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.utils import Bunch

from scdv._atomic import replacing
from tqdm import tqdm

__all__ = [
    "DATASETS",
    "DATASET_NAMES",
    "DatasetInfo",
    "DatasetNotFoundError",
    "ENV_VAR",
    "JANOME_ALL_POS",
    "PresetSettings",
    "Splits",
    "StratifiedFolds",
    "TOKENIZERS",
    "TrainTestSplit",
    "resolve_data_dir",
    "load_20newsgroups",
    "load_livedoor",
    "load_reuters",
    "load_dataset",
    "load_splits",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the data directory (and the download cache).
ENV_VAR = "SCDV_DATA"
_SUBSETS = ("train", "test", "all")

_NEWSGROUPS_TARBALL = "20news-bydate.tar.gz"
_NEWSGROUPS_ROOTS = {"train": "20news-bydate-train", "test": "20news-bydate-test"}

_LIVEDOOR_TARBALL = "ldcc.tar.gz"
_LIVEDOOR_ARCHIVE = "ldcc-20140209.tar.gz"
_LIVEDOOR_URL = "https://www.rondhuit.com/download/ldcc-20140209.tar.gz"
_LIVEDOOR_ROOT = "text"
# Article files are "<category>-<article id>.txt"; LICENSE.txt, README.txt and
# CHANGES.txt do not match, so this one pattern is what skips them.
_LIVEDOOR_ARTICLE = re.compile(r"^(?P<category>.+)-(?P<id>\d+)\.txt$")

_REUTERS_TARBALL = "reuters21578-apte-nltk.tar.gz"
_REUTERS_ROOT = "reuters"
_REUTERS_SPLITS = {"train": "training", "test": "test"}

_REUTERS_ZIP = "reuters.zip"

_DOWNLOAD_TIMEOUT = 60  # seconds without data before urllib gives up
_CHUNK = 1 << 20  # bytes read, hashed and written per step of a download


class DatasetNotFoundError(FileNotFoundError):
    """No local copy of a corpus was found (and none could be downloaded).

    The message lists every place that was looked at and how to provide the data.

    Parameters
    ----------
    dataset : str
        Human-readable name of the corpus.
    places : sequence of str
        Every path (or setting) that was checked, in the order checked.
    hint : str
        What the user can do to make the data available.
    reason : str, optional
        Extra detail, e.g. why a download failed.
    """

    def __init__(self, dataset: str, places: Sequence[str], hint: str, reason: str = "") -> None:
        self.dataset = dataset
        self.places = list(places)
        lines = [f"Could not find the {dataset} corpus."]
        if reason:
            lines.append(reason)
        lines.append("Looked at:")
        lines.extend(f"  - {place}" for place in self.places or ["(nowhere: no data directory)"])
        lines.append(hint)
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------- locating


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the directory that holds the corpora, or None when none is configured.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Explicit location. Takes precedence over everything else and is returned
        even if it does not exist, so that the loaders can report it.

    Returns
    -------
    pathlib.Path or None
        ``data_dir`` if given; else ``$SCDV_DATA`` if set and non-empty; else the
        ``shared/data`` folder next to the project root if it exists; else None.

    Raises
    ------
    None
        This function only inspects paths.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    default = _default_data_dir()
    return default if default.is_dir() else None


def _default_data_dir() -> Path:
    # The project root is the parent of this package; the shared data sits beside it.
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _resolution_notes() -> list[str]:
    """Describe why :func:`resolve_data_dir` found nothing (for error messages)."""
    # Only reached when no argument was given and $SCDV_DATA is unset or empty.
    return [
        "data_dir argument / --data-dir: not given",
        f"${ENV_VAR}: not set",
        f"default {_default_data_dir()}: does not exist",
    ]


def _cache_dir() -> Path:
    """Where downloads are stored: ``$SCDV_DATA`` if set, else ``~/scdv_data``."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else Path.home() / "scdv_data"


@dataclass(frozen=True)
class _Source:
    """A corpus location: a tar.gz or zip archive, or folders on disk.

    For archives, ``path`` is the archive. For folders, ``folders`` maps each
    top-level name used inside the archive (e.g. ``"reuters"``) to the folder on
    disk that plays its role, so both kinds yield the same relative paths.
    """

    kind: str  # "tar", "zip" or "dir"
    path: Path
    folders: Mapping[str, Path] = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind != "dir":
            return str(self.path)
        return ", ".join(f"{folder}{os.sep} (folder)" for folder in self.folders.values())

    def files(self, roots: Sequence[str]) -> Iterator[tuple[tuple[str, ...], Callable[[], bytes]]]:
        """Yield ``(parts, read)`` for every regular file under the given top-level names.

        ``parts`` is the archive-relative path split on "/", ``read()`` returns the
        bytes. Reading is lazy so callers can skip files they do not need; ``read``
        is only valid until the iteration moves on.
        """
        wanted = set(roots)
        if self.kind == "tar":
            # One sequential pass: random access into a .tar.gz would re-decompress.
            with tarfile.open(self.path, "r:gz") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    parts = _split_member(member.name)
                    if parts and parts[0] in wanted:
                        yield parts, _tar_reader(tar, member)
        elif self.kind == "zip":
            with zipfile.ZipFile(self.path) as archive:
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    parts = _split_member(info.filename)
                    if parts and parts[0] in wanted:
                        yield parts, _zip_reader(archive, info)
        else:
            for root in roots:
                folder = self.folders.get(root)
                if folder is None or not folder.is_dir():
                    continue
                for dirpath, dirnames, filenames in os.walk(folder):
                    dirnames.sort()
                    rel = Path(dirpath).relative_to(folder).parts
                    for name in sorted(filenames):
                        path = Path(dirpath, name)
                        if path.is_file():
                            yield (root, *rel, name), path.read_bytes


def _split_member(name: str) -> tuple[str, ...]:
    # Archives made with "tar czf x.tgz ./dir" prefix names with "./".
    return tuple(part for part in name.replace("\\", "/").split("/") if part not in ("", "."))


def _tar_reader(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        handle = tar.extractfile(member)
        if handle is None:  # pragma: no cover - isfile() members always have data
            raise OSError(f"cannot read {member.name} from {tar.name}")
        with handle:
            return handle.read()

    return read


def _zip_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    return lambda: archive.read(info)


def _find_source(
    candidates: Sequence[tuple[_Source, Callable[[], bool]]], places: list[str]
) -> _Source | None:
    """Return the first candidate whose check passes, recording each one in ``places``."""
    for source, exists in candidates:
        places.append(source.describe())
        if exists():
            logger.info("reading %s", source.describe())
            return source
    return None


def _check_subset(subset: str) -> tuple[str, ...]:
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {_SUBSETS}, got {subset!r}")
    return ("train", "test") if subset == "all" else (subset,)


def _sorted_unique(values: Sequence[str] | set[str]) -> list[str]:
    return sorted(set(values))


def _locate(
    data_dir: str | os.PathLike[str] | None,
    candidates_in: Callable[[Path], list[tuple[_Source, Callable[[], bool]]]],
) -> tuple[_Source | None, list[str]]:
    """Search the data directory, then the download cache; return ``(source, places)``."""
    base = resolve_data_dir(data_dir)
    places: list[str] = [] if base is not None else _resolution_notes()
    candidates = candidates_in(base) if base is not None else []
    cache = _cache_dir()
    if base is None or cache.resolve() != base.resolve():
        # A previous download lives in the cache; look there before downloading again.
        candidates += candidates_in(cache)
    return _find_source(candidates, places), places


# --------------------------------------------------------------------------- downloading


@dataclass(frozen=True)
class _Download:
    """Where a corpus's archive is published and how to check what arrives.

    ``filename`` is the archive's name in the download cache (:func:`_cache_dir`),
    one the loader's search finds there. ``sha256`` is the publisher's digest, or
    None when the publisher gives none. ``kind`` is "tar" (gzip-compressed) or
    "zip". ``roots`` are the top-level folders the loader reads from the archive.
    """

    url: str
    filename: str
    sha256: str | None
    kind: str
    roots: tuple[str, ...]


_DOWNLOADS: dict[str, _Download] = {
    # The archive sklearn.datasets.fetch_20newsgroups downloads, with the digest it checks.
    "20ng": _Download(
        url="https://ndownloader.figshare.com/files/5975967",
        filename=_NEWSGROUPS_TARBALL,
        sha256="8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610",
        kind="tar",
        roots=tuple(_NEWSGROUPS_ROOTS.values()),
    ),
    # RONDHUIT publishes no checksum: the digest is logged and the whole archive read.
    "livedoor": _Download(
        url=_LIVEDOOR_URL,
        filename=_LIVEDOOR_ARCHIVE,
        sha256=None,
        kind="tar",
        roots=(_LIVEDOOR_ROOT,),
    ),
    # NLTK's data package; NLTK publishes no sha256 for it: handled as for livedoor.
    "reuters": _Download(
        url=(
            "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages"
            "/packages/corpora/reuters.zip"
        ),
        filename=_REUTERS_ZIP,
        sha256=None,
        kind="zip",
        roots=(_REUTERS_ROOT,),
    ),
}

_KINDS = {
    # kind: (description, leading bytes, format check)
    "tar": ("gzip-compressed tar", b"\x1f\x8b", tarfile.is_tarfile),
    "zip": ("zip", b"PK\x03\x04", zipfile.is_zipfile),
}


class _DownloadError(OSError):
    """A download arrived but is not the archive it should be."""


def _fetch(key: str, dataset: str, places: list[str], hint: Callable[[], str]) -> _Source:
    """Download corpus ``key`` into the cache and return it as a source.

    Raises
    ------
    DatasetNotFoundError
        If the download fails or what arrives is refused; ``places`` (which gets
        the URL appended) and ``hint()`` go into the message.
    """
    spec = _DOWNLOADS[key]
    places.append(f"{spec.url} (download)")
    try:
        path = _download(spec, _cache_dir())
    except Exception as exc:  # network, HTTP, file-system and checking failures alike
        raise DatasetNotFoundError(
            dataset, places, hint(), reason=f"Download from {spec.url} failed: {exc}"
        ) from exc
    return _Source(spec.kind, path)


def _download(spec: _Download, cache: Path) -> Path:
    """Download ``spec.url`` to ``cache / spec.filename``, checked, and return that path.

    The body is streamed into a temporary ``.part`` file beside the target, hashed
    on the way; only a complete archive that passes every check is renamed into
    place. On any failure, interruptions included, the temporary file and any
    directory created for it are removed, so later runs never trust a bad file.

    Raises
    ------
    urllib.error.URLError
        If the server cannot be reached or answers with an HTTP error.
    OSError
        If the body is cut short, is not an archive of ``spec.kind``, does not
        match ``spec.sha256``, or (without a checksum) cannot be read through.
    """
    target = cache / spec.filename
    created = [d for d in (cache, *cache.parents) if not d.exists()]  # innermost first
    logger.info("downloading %s to %s", spec.url, target)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with replacing(target) as tmp_name:
            tmp = Path(tmp_name)
            with open(tmp, "wb") as out:
                digest = _stream(spec.url, out, spec.filename)
            _check_kind(tmp, spec)
            if spec.sha256 is None:
                logger.info(
                    "sha256 of %s: %s (the publisher gives no checksum to compare with)",
                    spec.url,
                    digest,
                )
                _check_readable(tmp, spec)
            elif digest != spec.sha256:
                raise _DownloadError(
                    f"checksum mismatch: expected sha256 {spec.sha256}, got {digest}"
                )
    except BaseException:
        for folder in created:
            try:
                folder.rmdir()
            except OSError:  # not empty: someone else uses it
                break
        raise
    return target


def _stream(url: str, out: BinaryIO, label: str) -> str:
    """Copy the body of ``url`` to ``out`` with a progress bar; return its sha256."""
    hasher = hashlib.sha256()
    received = 0
    try:
        opened = urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the connection open until garbage-collected
        raise
    with opened as response:
        length = response.headers.get("Content-Length", "")
        total = int(length) if length.isdigit() else None
        # disable=None: the bar is drawn only when stderr is a terminal.
        with tqdm(
            total=total,
            desc=label,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=None,
            leave=False,
            file=sys.stderr,
        ) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                hasher.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    # http.client returns a short body without complaint when the connection drops.
    if total is not None and received != total:
        raise _DownloadError(f"the connection closed after {received} of {total} bytes")
    return hasher.hexdigest()


def _check_kind(path: Path, spec: _Download) -> None:
    """Refuse what is not an archive of ``spec.kind``, such as an HTML error page."""
    description, magic, is_kind = _KINDS[spec.kind]
    with path.open("rb") as handle:
        head = handle.read(32)
    if not (head.startswith(magic) and is_kind(path)):
        size = path.stat().st_size
        raise _DownloadError(
            f"the server sent {size} bytes starting {head!r}, not a {description} archive"
        )


def _top_folder(name: str) -> str:
    parts = _split_member(name)
    return parts[0] if parts else ""


def _check_readable(path: Path, spec: _Download) -> None:
    """Read the whole archive once and check it holds the loader's folders.

    Without a published checksum this is what stands between a damaged download
    and the cache.
    """
    tops: set[str] = set()
    try:
        if spec.kind == "tar":
            with gzip.open(path, "rb") as stream:
                with tarfile.open(fileobj=stream, mode="r:") as tar:
                    tops = {_top_folder(m.name) for m in tar if m.isfile()}
                # gzip checks its CRC only once the stream is read to the very end.
                while stream.read(_CHUNK):
                    pass
        else:
            with zipfile.ZipFile(path) as archive:
                damaged = archive.testzip()
                tops = {_top_folder(i.filename) for i in archive.infolist() if not i.is_dir()}
            if damaged is not None:
                raise zipfile.BadZipFile(f"{damaged} fails its CRC check")
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, zlib.error) as exc:
        raise _DownloadError(f"the archive is damaged: {exc}") from exc
    missing = [f"{root}/" for root in spec.roots if root not in tops]
    if missing:
        raise _DownloadError(f"the archive has no {' or '.join(missing)} folder")


# --------------------------------------------------------------------------- 20 Newsgroups

_NEWSGROUPS_NAME = "20 Newsgroups (bydate)"


def _newsgroups_hint() -> str:
    spec = _DOWNLOADS["20ng"]
    return (
        "To fix: pass --data-dir (data_dir=...) pointing at the folder that holds "
        f"{_NEWSGROUPS_TARBALL} or the unpacked 20news-bydate-train/ and 20news-bydate-test/ "
        f"folders, or set {ENV_VAR} to that folder, or call with download_if_missing=True "
        f"(needs internet) to download {spec.url} into {_cache_dir() / spec.filename}."
    )


def _newsgroups_candidates(
    base: Path, roots: Sequence[str]
) -> list[tuple[_Source, Callable[[], bool]]]:
    tarball = base / _NEWSGROUPS_TARBALL
    candidates: list[tuple[_Source, Callable[[], bool]]] = [
        (_Source("tar", tarball), tarball.is_file)
    ]
    for folder in (base, base / "20news-bydate", base / "20news_home"):
        # Map both splits so the other split's folder names feed target_names.
        src = _Source("dir", folder, {r: folder / r for r in _NEWSGROUPS_ROOTS.values()})
        needed = [folder / r for r in roots]
        candidates.append((src, lambda needed=needed: all(p.is_dir() for p in needed)))
    return candidates


def load_20newsgroups(
    subset: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
) -> Bunch:
    """Load the 20 Newsgroups "bydate" corpus with headers, footers and quotes kept.

    Looks in the data directory (see :func:`resolve_data_dir`) for
    ``20news-bydate.tar.gz``, or for unpacked ``20news-bydate-train/`` and
    ``20news-bydate-test/`` folders directly in it or in its ``20news-bydate/``
    or ``20news_home/`` (scikit-learn's cache layout) subfolder, then in the
    download cache (``$SCDV_DATA`` if set, else ``~/scdv_data``).

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to return; "all" is train followed by test.
    data_dir : str or path-like, optional
        Data directory; defaults to :func:`resolve_data_dir`.
    download_if_missing : bool, default=True
        When no local copy is found, download the archive scikit-learn uses
        (checked against its published sha256) into the cache directory as
        ``20news-bydate.tar.gz`` and read it.

    Returns
    -------
    sklearn.utils.Bunch
        ``data`` : list of str, raw messages decoded as latin-1.
        ``target`` : ndarray of int64, index into ``target_names``.
        ``target_names`` : list of str, sorted newsgroup names.
        ``ids`` : list of str, e.g. ``"20news-bydate-train/alt.atheism/49960"``.
        ``subset`` : str, the requested subset.
        Documents are ordered by (split, newsgroup, numeric message id).

    Raises
    ------
    ValueError
        If ``subset`` is not one of "train", "test", "all".
    DatasetNotFoundError
        If no local copy is found and downloading is disabled or fails, or a
        local copy lacks the requested split.
    """
    splits = _check_subset(subset)
    roots = [_NEWSGROUPS_ROOTS[s] for s in splits]
    source, places = _locate(data_dir, lambda base: _newsgroups_candidates(base, roots))
    if source is None:
        if not download_if_missing:
            raise DatasetNotFoundError(_NEWSGROUPS_NAME, places, _newsgroups_hint())
        source = _fetch("20ng", _NEWSGROUPS_NAME, places, _newsgroups_hint)
    return _read_20newsgroups(source, subset, splits)


def _newsgroups_key(doc_id: str) -> tuple[int, str, int]:
    """Sort key (split, group, numeric id) for ids like ``20news-bydate-test/sci.med/58045``."""
    root, group, number = doc_id.split("/")
    split_rank = 0 if root == _NEWSGROUPS_ROOTS["train"] else 1
    return split_rank, group, int(number)


def _read_20newsgroups(source: _Source, subset: str, splits: Sequence[str]) -> Bunch:
    wanted = {_NEWSGROUPS_ROOTS[s] for s in splits}
    groups: set[str] = set()
    docs: dict[str, bytes] = {}
    # Walk both splits even for one subset: the other split's group names are
    # needed so train and test loaded separately share the same target_names.
    for parts, read in source.files(list(_NEWSGROUPS_ROOTS.values())):
        # Message files are "<split>/<group>/<numeric id>"; anything else is stray.
        if len(parts) != 3 or not parts[2].isdigit():
            logger.debug("skipping %s", "/".join(parts))
            continue
        groups.add(parts[1])
        if parts[0] in wanted:
            docs["/".join(parts)] = read()

    for root in sorted(wanted):
        if not any(doc_id.startswith(root + "/") for doc_id in docs):
            raise DatasetNotFoundError(
                _NEWSGROUPS_NAME,
                [source.describe()],
                _newsgroups_hint(),
                reason=f"The source has no message files under {root}/.",
            )

    ids = sorted(docs, key=_newsgroups_key)
    target_names = _sorted_unique(groups)
    index = {name: i for i, name in enumerate(target_names)}
    return Bunch(
        # latin-1 maps every byte, so the 8-bit messages decode as scikit-learn does.
        data=[docs[doc_id].decode("latin-1") for doc_id in ids],
        target=np.array([index[doc_id.split("/")[1]] for doc_id in ids], dtype=np.int64),
        target_names=target_names,
        ids=ids,
        subset=subset,
    )


# --------------------------------------------------------------------------- livedoor


_LIVEDOOR_NAME = "livedoor news"


def _livedoor_hint() -> str:
    spec = _DOWNLOADS["livedoor"]
    return (
        "To fix: pass --data-dir (data_dir=...) pointing at the folder that holds "
        f"{_LIVEDOOR_TARBALL}, {_LIVEDOOR_ARCHIVE} or the unpacked text/ folder, or set "
        f"{ENV_VAR} to that folder, or call with download_if_missing=True (needs internet) "
        f"to download {spec.url} into {_cache_dir() / spec.filename}."
    )


def _livedoor_candidates(base: Path) -> list[tuple[_Source, Callable[[], bool]]]:
    text = base / _LIVEDOOR_ROOT
    return [
        (_Source("tar", base / _LIVEDOOR_TARBALL), (base / _LIVEDOOR_TARBALL).is_file),
        (_Source("tar", base / _LIVEDOOR_ARCHIVE), (base / _LIVEDOOR_ARCHIVE).is_file),
        (_Source("dir", base, {_LIVEDOOR_ROOT: text}), text.is_dir),
    ]


def load_livedoor(
    data_dir: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
) -> Bunch:
    """Load the livedoor news corpus (9 Japanese news channels, 7,367 articles).

    Looks in the data directory (see :func:`resolve_data_dir`) for ``ldcc.tar.gz``,
    ``ldcc-20140209.tar.gz`` or an unpacked ``text/`` folder, then in the download
    cache (``$SCDV_DATA`` if set, else ``~/scdv_data``). The corpus has no
    train/test split; split it yourself.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Data directory; defaults to :func:`resolve_data_dir`.
    download_if_missing : bool, default=True
        When no local copy is found, download the published archive
        ``ldcc-20140209.tar.gz`` into the cache directory and read it. Its
        publisher gives no checksum, so the archive is read through before it is
        kept and its sha256 is logged.

    Returns
    -------
    sklearn.utils.Bunch
        ``data`` : list of str, title + "\\n" + body of each article (the URL and
        date lines are dropped), decoded as UTF-8.
        ``target`` : ndarray of int64, index into ``target_names``.
        ``target_names`` : list of str, sorted category names.
        ``ids`` : list of str, e.g. ``"text/dokujo-tsushin/dokujo-tsushin-4778030.txt"``.
        ``subset`` : str, always "all".
        Articles are ordered by (category, numeric article id).

    Raises
    ------
    DatasetNotFoundError
        If no local copy is found and downloading is disabled or fails.
    UnicodeDecodeError
        If an article is not valid UTF-8.
    """
    source, places = _locate(data_dir, _livedoor_candidates)
    if source is None:
        if not download_if_missing:
            raise DatasetNotFoundError(_LIVEDOOR_NAME, places, _livedoor_hint())
        source = _fetch("livedoor", _LIVEDOOR_NAME, places, _livedoor_hint)
    return _read_livedoor(source)


def _livedoor_key(doc_id: str) -> tuple[str, int]:
    _, category, name = doc_id.split("/")
    match = _LIVEDOOR_ARTICLE.match(name)
    assert match is not None  # only matching names are collected
    return category, int(match["id"])


def _strip_livedoor_header(text: str, doc_id: str) -> str:
    # Line 1 is the article URL and line 2 its timestamp; neither is content.
    lines = text.split("\n", 2)
    if len(lines) == 3 and lines[0].startswith("http"):
        return lines[2]
    logger.warning("%s does not start with a URL line; keeping it whole", doc_id)
    return text


def _read_livedoor(source: _Source) -> Bunch:
    docs: dict[str, str] = {}
    for parts, read in source.files([_LIVEDOOR_ROOT]):
        # Articles sit at text/<category>/<category>-<id>.txt; this skips
        # text/README.txt, text/CHANGES.txt and each text/<category>/LICENSE.txt.
        if len(parts) != 3 or not _LIVEDOOR_ARTICLE.match(parts[2]):
            logger.debug("skipping %s", "/".join(parts))
            continue
        doc_id = "/".join(parts)
        docs[doc_id] = _strip_livedoor_header(read().decode("utf-8"), doc_id)

    if not docs:
        raise DatasetNotFoundError(
            _LIVEDOOR_NAME,
            [source.describe()],
            _livedoor_hint(),
            reason="The source has no article files under text/<category>/.",
        )
    ids = sorted(docs, key=_livedoor_key)
    categories = [doc_id.split("/")[1] for doc_id in ids]
    target_names = _sorted_unique(categories)
    index = {name: i for i, name in enumerate(target_names)}
    return Bunch(
        data=[docs[doc_id] for doc_id in ids],
        target=np.array([index[c] for c in categories], dtype=np.int64),
        target_names=target_names,
        ids=ids,
        subset="all",
    )


# --------------------------------------------------------------------------- Reuters

_REUTERS_NAME = "Reuters-21578 (ModApte)"


def _reuters_hint() -> str:
    spec = _DOWNLOADS["reuters"]
    return (
        "To fix: pass --data-dir (data_dir=...) pointing at a folder containing "
        f"{_REUTERS_TARBALL}, {_REUTERS_ZIP} or an unpacked reuters/ folder (an nltk_data "
        f"folder works too: its corpora/{_REUTERS_ZIP} is read directly), or set {ENV_VAR} "
        "to that folder, or call with download_if_missing=True (needs internet) to download "
        f"NLTK's {spec.url} into {_cache_dir() / spec.filename}."
    )


def _reuters_candidates(base: Path) -> list[tuple[_Source, Callable[[], bool]]]:
    candidates: list[tuple[_Source, Callable[[], bool]]] = []
    for parent in (base, base / "corpora"):
        tarball = parent / _REUTERS_TARBALL
        folder, zipped = parent / _REUTERS_ROOT, parent / _REUTERS_ZIP
        if parent == base:
            candidates.append((_Source("tar", tarball), tarball.is_file))
        candidates.append(
            (_Source("dir", folder, {_REUTERS_ROOT: folder}), (folder / "cats.txt").is_file)
        )
        candidates.append((_Source("zip", zipped), zipped.is_file))
    # base may itself be the reuters folder (it holds cats.txt).
    itself = _Source("dir", base, {_REUTERS_ROOT: base})
    candidates.append((itself, (base / "cats.txt").is_file))
    return candidates


def load_reuters(
    subset: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
) -> Bunch:
    """Load Reuters-21578 (ModApte split, NLTK layout) as a multi-label corpus.

    Looks in the data directory (see :func:`resolve_data_dir`) for
    ``reuters21578-apte-nltk.tar.gz``, an unpacked ``reuters/`` folder, NLTK's
    ``reuters.zip``, the same two under ``corpora/`` (an ``nltk_data`` folder), or
    the data directory itself being the ``reuters`` folder (it holds ``cats.txt``),
    then in the download cache (``$SCDV_DATA`` if set, else ``~/scdv_data``).

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to return; "all" is train followed by test.
    data_dir : str or path-like, optional
        Data directory; defaults to :func:`resolve_data_dir`.
    download_if_missing : bool, default=True
        When no local copy is found, download NLTK's ``reuters.zip`` data package
        into the cache directory and read it. NLTK publishes no sha256 for it, so
        the archive is read through before it is kept and its sha256 is logged.

    Returns
    -------
    sklearn.utils.Bunch
        ``data`` : list of str, decoded as ISO-8859-2 (as NLTK does).
        ``target`` : ndarray of uint8, shape (n_docs, n_labels), label indicator
        matrix whose columns follow ``target_names``.
        ``target_names`` : list of str, sorted labels of the whole corpus (train
        and test), so separately loaded splits share columns.
        ``ids`` : list of str, e.g. ``"training/1"`` or ``"test/14826"``.
        ``subset`` : str, the requested subset.
        Documents are ordered by split, then numeric id.

    Raises
    ------
    ValueError
        If ``subset`` is not one of "train", "test", "all".
    DatasetNotFoundError
        If no local copy is found and downloading is disabled or fails, or the
        copy lacks ``cats.txt`` or the requested split.
    """
    splits = _check_subset(subset)
    source, places = _locate(data_dir, _reuters_candidates)
    if source is None:
        if not download_if_missing:
            raise DatasetNotFoundError(_REUTERS_NAME, places, _reuters_hint())
        source = _fetch("reuters", _REUTERS_NAME, places, _reuters_hint)
    return _read_reuters(source, subset, splits)


def _parse_reuters_cats(text: str) -> dict[str, list[str]]:
    """Parse ``cats.txt`` lines ``"<split>/<id> <label> [<label> ...]"``."""
    labels: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split()
        if fields:
            labels[fields[0]] = fields[1:]
    return labels


def _read_reuters(source: _Source, subset: str, splits: Sequence[str]) -> Bunch:
    folders = {_REUTERS_SPLITS[s] for s in splits}
    cats_text: str | None = None
    docs: dict[str, str] = {}
    for parts, read in source.files([_REUTERS_ROOT]):
        if parts[1:] == ("cats.txt",):
            cats_text = read().decode("iso-8859-2")
        elif len(parts) == 3 and parts[1] in folders and parts[2].isdigit():
            docs[f"{parts[1]}/{parts[2]}"] = read().decode("iso-8859-2")

    def missing(reason: str) -> DatasetNotFoundError:
        return DatasetNotFoundError(
            _REUTERS_NAME, [source.describe()], _reuters_hint(), reason=reason
        )

    if cats_text is None:
        raise missing("The source has no reuters/cats.txt.")
    for folder in sorted(folders):
        if not any(doc_id.startswith(folder + "/") for doc_id in docs):
            raise missing(f"The source has no documents under reuters/{folder}/.")

    labels = _parse_reuters_cats(cats_text)
    # Columns come from the whole cats.txt, not just this split, so that a
    # classifier trained on "train" scores "test" with the same label columns.
    target_names = _sorted_unique({label for doc_labels in labels.values() for label in doc_labels})
    index = {name: i for i, name in enumerate(target_names)}

    split_rank = {"training": 0, "test": 1}
    ids = sorted(docs, key=lambda d: (split_rank[d.split("/")[0]], int(d.split("/")[1])))
    target = np.zeros((len(ids), len(target_names)), dtype=np.uint8)
    unlabelled = 0
    for row, doc_id in enumerate(ids):
        doc_labels = labels.get(doc_id, [])
        unlabelled += not doc_labels
        target[row, [index[label] for label in doc_labels]] = 1
    if unlabelled:
        logger.warning("%d Reuters documents have no entry in cats.txt", unlabelled)
    return Bunch(
        data=[docs[doc_id] for doc_id in ids],
        target=target,
        target_names=target_names,
        ids=ids,
        subset=subset,
    )


# --------------------------------------------------------------------------- registry

#: Tokenizer of each language (a name for :func:`scdv.tokenize.make_tokenizer`).
TOKENIZERS = {"english": "english", "japanese": "janome"}
#: Top-level janome parts of speech: all but fillers (フィラー) and "other" (その他).
JANOME_ALL_POS = ("名詞", "動詞", "形容詞", "副詞", "連体詞", "接続詞", "助詞", "助動詞",
                  "感動詞", "記号", "接頭詞")


def _frozen(mapping: Mapping | None) -> Mapping:
    # A read-only copy: a frozen dataclass whose dicts could still be edited in
    # place would let one run (or test) change the settings of every later one.
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class PresetSettings:
    """What one SCDV preset of the pipelines changes for one dataset.

    Parameters
    ----------
    scdv : mapping, optional
        ``SCDV`` parameters over the base settings; the full configuration
        only (``--quick`` keeps its small model).
    tokens : mapping, optional
        Keyword arguments of :func:`pipelines.tokens.tokenize_corpus`.
    summary : str, optional
        A few words for ``--help``, e.g. ``"K=100 and min_count 5"``.
    """

    scdv: Mapping[str, Any] = field(default_factory=dict)
    tokens: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "scdv", _frozen(self.scdv))
        object.__setattr__(self, "tokens", _frozen(self.tokens))


class Splits(NamedTuple):
    """A corpus ready for evaluation: its documents and its train/test splits.

    Attributes
    ----------
    corpus : dict
        ``data``, ``target`` and ``ids`` of every document used.
    splits : list of (ndarray, ndarray)
        (train indices, test indices) into ``corpus``, one pair per split.
    target_names : list of str
    description : str
        The scheme, as results name it.
    """

    corpus: dict
    splits: list
    target_names: list
    description: str


def _subsample(n: int, size: int, y, seed: int) -> np.ndarray:
    """Sorted indices of a random subset; stratified when ``y`` is 1-d."""
    if size >= n:
        return np.arange(n)
    idx = np.arange(n)
    stratify = y if (y is not None and np.ndim(y) == 1) else None
    chosen, _ = train_test_split(idx, train_size=size, stratify=stratify, random_state=seed)
    return np.sort(chosen)


def _take(part: dict, idx) -> dict:
    return {"data": [part["data"][i] for i in idx],
            "target": np.asarray(part["target"])[idx],
            "ids": [part["ids"][i] for i in idx]}


def _documents(bunch: Bunch) -> dict:
    return {"data": bunch.data, "target": bunch.target, "ids": bunch.ids}


@dataclass(frozen=True)
class TrainTestSplit:
    """The corpus's own split: its loader's ``"train"`` and ``"test"`` subsets.

    Parameters
    ----------
    description : str
        How results name the split, e.g. ``"20 Newsgroups bydate train/test"``.
    """

    description: str

    def split(self, loader: Callable[..., Bunch], data_dir, sizes: Mapping, seed: int,
              download_if_missing: bool) -> Splits:
        """Load both subsets; ``sizes`` may hold ``n_train`` and ``n_test`` (random samples).

        Returns
        -------
        Splits
            One split: the training documents first, then the test documents.
        """
        train = loader("train", data_dir, download_if_missing=download_if_missing)
        test = loader("test", data_dir, download_if_missing=download_if_missing)
        tr, te = _documents(train), _documents(test)
        if "n_train" in sizes:
            tr = _take(tr, _subsample(len(tr["data"]), sizes["n_train"], tr["target"], seed))
        if "n_test" in sizes:
            te = _take(te, _subsample(len(te["data"]), sizes["n_test"], te["target"], seed))
        corpus = {"data": tr["data"] + te["data"],
                  "target": np.concatenate([tr["target"], te["target"]]),
                  "ids": tr["ids"] + te["ids"]}
        n_tr = len(tr["data"])
        splits = [(np.arange(n_tr), np.arange(n_tr, len(corpus["data"])))]
        return Splits(corpus, splits, list(train.target_names), self.description)


@dataclass(frozen=True)
class StratifiedFolds:
    """No canonical split: stratified K-fold over the loader's ``"all"``, shuffled with the seed.

    Parameters
    ----------
    n_folds : int, default=5
        Outer folds; each document is a test document once.
    """

    n_folds: int = 5

    def split(self, loader: Callable[..., Bunch], data_dir, sizes: Mapping, seed: int,
              download_if_missing: bool) -> Splits:
        """Load the corpus and fold it.

        ``sizes`` may hold ``n_docs`` (a stratified sample), ``max_chars``
        (texts cut to that length) and ``outer_folds`` (instead of ``n_folds``).

        Returns
        -------
        Splits
            ``n_folds`` splits of the same documents.
        """
        bunch = loader("all", data_dir, download_if_missing=download_if_missing)
        part = _documents(bunch)
        if "n_docs" in sizes:
            part = _take(part, _subsample(len(part["data"]), sizes["n_docs"],
                                          part["target"], seed))
        if "max_chars" in sizes:
            part["data"] = [text[:sizes["max_chars"]] for text in part["data"]]
        n_outer = sizes.get("outer_folds", self.n_folds)
        outer = StratifiedKFold(n_splits=n_outer, shuffle=True, random_state=seed)
        splits = list(outer.split(np.zeros(len(part["target"])), part["target"]))
        scheme = f"stratified {n_outer}-fold cross-validation (shuffled, seed {seed})"
        return Splits(part, splits, list(bunch.target_names), scheme)


@dataclass(frozen=True)
class DatasetInfo:
    """Everything the pipelines know about one corpus.

    Parameters
    ----------
    title : str
        Human-readable name, e.g. ``"20 Newsgroups (bydate)"``.
    loader : callable
        ``loader(subset, data_dir, download_if_missing=...)`` returning a
        :class:`~sklearn.utils.Bunch` with ``data``, ``target``,
        ``target_names`` and ``ids``; ``subset`` is "train", "test" or "all".
    language : {"english", "japanese"}
        Picks the tokenizer (:data:`TOKENIZERS`) and the TF-IDF analyzer.
    multilabel : bool
        ``target`` is a label indicator matrix (one-vs-rest classifiers,
        ranking metrics) rather than one class per document.
    metric : str
        The headline metric, a key of the run's ``metrics``:
        ``"accuracy"`` or ``"precision_at_1"``.
    split : TrainTestSplit or StratifiedFolds
        How documents are split into training and test documents.
    quick : mapping, optional
        Subset sizes of ``--quick`` runs (see the split's ``split`` method).
    presets : mapping of str to PresetSettings, optional
        This corpus's own settings under each SCDV preset of the pipelines.
    """

    title: str
    loader: Callable[..., Bunch]
    language: str
    multilabel: bool
    metric: str
    split: TrainTestSplit | StratifiedFolds
    quick: Mapping[str, int] = field(default_factory=dict)
    presets: Mapping[str, PresetSettings] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.language not in TOKENIZERS:
            raise ValueError(f"language must be one of {', '.join(TOKENIZERS)}; "
                             f"got {self.language!r}")
        if self.multilabel and isinstance(self.split, StratifiedFolds):
            raise ValueError("stratified folds need one class per document, not multi-label "
                             "targets")
        object.__setattr__(self, "quick", _frozen(self.quick))
        object.__setattr__(self, "presets", _frozen(self.presets))

    @property
    def tokenizer(self) -> str:
        """The tokenizer of the corpus's language."""
        return TOKENIZERS[self.language]

    def preset(self, name: str) -> PresetSettings:
        """This corpus's settings under SCDV preset ``name`` (none: the preset's own)."""
        return self.presets.get(name, PresetSettings())


def _load_livedoor_subset(
    subset: str,
    data_dir: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
) -> Bunch:
    """:func:`load_livedoor` behind the registry's loader signature.

    livedoor has no split, so ``subset`` is checked, then ignored (with a
    warning unless it is "all").
    """
    _check_subset(subset)
    if subset != "all":
        logger.warning(
            "livedoor has no train/test split; subset=%r ignored, returning all articles",
            subset,
        )
    return load_livedoor(data_dir, download_if_missing=download_if_missing)


#: The corpora the pipelines know, by short name. To add one, add an entry
#: (tests may add one with ``monkeypatch.setitem``). A corpus's own settings
#: under a preset are explained in README.md, "How the defaults were chosen".
DATASETS: dict[str, DatasetInfo] = {
    "20ng": DatasetInfo(
        title=_NEWSGROUPS_NAME,
        loader=load_20newsgroups,
        language="english",
        multilabel=False,
        metric="accuracy",
        split=TrainTestSplit("20 Newsgroups bydate train/test"),
        quick={"n_train": 1500, "n_test": 800},
    ),
    "livedoor": DatasetInfo(
        title=_LIVEDOOR_NAME,
        loader=_load_livedoor_subset,
        language="japanese",
        multilabel=False,
        metric="accuracy",
        # No canonical split; the run's seed fixes the folds.
        split=StratifiedFolds(n_folds=5),
        # Texts are cut so that janome tokenises a quick run in seconds.
        quick={"n_docs": 450, "max_chars": 1000},
        # Every part of speech: the channels differ in style as much as in topic.
        presets={"defaults": PresetSettings(tokens={"pos": JANOME_ALL_POS},
                                            summary="every part of speech")},
    ),
    "reuters": DatasetInfo(
        title=_REUTERS_NAME,
        loader=load_reuters,
        language="english",
        multilabel=True,
        metric="precision_at_1",
        split=TrainTestSplit("Reuters-21578 ModApte train/test"),
        quick={"n_train": 1500, "n_test": 600},
    ),
}
#: Names accepted by :func:`load_dataset`: a live view of :data:`DATASETS`,
#: so a corpus registered later is accepted too.
DATASET_NAMES = DATASETS.keys()


def _info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        valid = ", ".join(map(repr, DATASETS))
        raise ValueError(f"unknown dataset {name!r}; valid names are {valid}") from None


def load_dataset(
    name: str,
    subset: str,
    data_dir: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
) -> Bunch:
    """Load a corpus by short name.

    Parameters
    ----------
    name : str
        A name of :data:`DATASETS`: "20ng" (20 Newsgroups bydate), "livedoor"
        (livedoor news), "reuters" (Reuters-21578 ModApte), or one registered since.
    subset : {"train", "test", "all"}
        Split to return. livedoor has no predefined split, so for "livedoor" the
        value is only validated and the whole corpus is always returned (a
        warning is logged when it is not "all"); split it yourself.
    data_dir : str or path-like, optional
        Data directory; defaults to :func:`resolve_data_dir`.
    download_if_missing : bool, default=True
        Passed to the loader: whether to download the corpus into the cache
        directory when no local copy is found.

    Returns
    -------
    sklearn.utils.Bunch
        The loader's result; see :func:`load_20newsgroups`, :func:`load_livedoor`
        and :func:`load_reuters`.

    Raises
    ------
    ValueError
        If ``name`` or ``subset`` is not valid.
    DatasetNotFoundError
        If the corpus cannot be found (or downloaded).
    """
    return _info(name).loader(subset, data_dir, download_if_missing=download_if_missing)


def load_splits(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    seed: int = 0,
    download_if_missing: bool = True,
) -> Splits:
    """Load a corpus by short name and split it by its registered scheme.

    Parameters
    ----------
    name : str
        A name of :data:`DATASETS`.
    data_dir : str or path-like, optional
        Data directory; defaults to :func:`resolve_data_dir`.
    sizes : mapping, optional, keyword-only
        Subset sizes (e.g. :attr:`DatasetInfo.quick`): ``n_train`` and
        ``n_test`` for a :class:`TrainTestSplit`; ``n_docs``, ``max_chars``
        and ``outer_folds`` for :class:`StratifiedFolds`. Others are ignored.
    seed : int, default=0, keyword-only
        Seeds the subsets and the folds.
    download_if_missing : bool, default=True, keyword-only
        Passed to the loader.

    Returns
    -------
    Splits

    Raises
    ------
    ValueError
        If ``name`` is not registered.
    DatasetNotFoundError
        If the corpus cannot be found (or downloaded).
    """
    info = _info(name)
    return info.split.split(info.loader, data_dir, dict(sizes or {}), seed,
                            download_if_missing)
