"""Tokenise a corpus once, on both cores, and keep the token lists on disk.

Japanese tokenisation with janome runs at roughly 30,000 characters a second,
so the livedoor corpus takes minutes on one core. Every pipeline run needs the
same token lists, so :func:`tokenize_corpus` stores them in a gzip'd JSON-lines
file named by a hash of the texts and of the tokenizer settings: a second run
on the same texts reads the file instead of tokenising again.

The cache holds plain JSON (one list of str per line), never pickle, so a
cache file cannot run code when read.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from joblib import Parallel, delayed
from tqdm import tqdm

from scdv._atomic import replacing
from scdv.tokenize import TOKENIZER_REVISIONS, make_tokenizer

__all__ = [
    "CACHE_ENV_VAR",
    "default_cache_dir",
    "hash_texts",
    "hash_tokens",
    "tokenize_corpus",
    "token_cache_path",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the cache folder (token lists, fitted models).
CACHE_ENV_VAR = "SCDV_CACHE"
#: Bump when the cache layout or the meaning of a key changes.
_CACHE_VERSION = 1
# Below this many characters a process pool costs more than it saves
# (starting a worker imports scikit-learn and loads janome's dictionary).
_POOL_MIN_CHARS = {"janome": 200_000, "english": 100_000_000}
_CHUNK_DOCS = 64


def default_cache_dir() -> Path:
    """``$SCDV_CACHE`` if set and non-empty, else ``~/.cache/scdv``."""
    env = os.environ.get(CACHE_ENV_VAR, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scdv"


def _update_with(digest, items: Sequence[str]) -> None:
    # Length-prefix every item so that ["ab", "c"] and ["a", "bc"] differ.
    for item in items:
        raw = item.encode("utf-8", "surrogatepass")
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)


def hash_texts(texts: Sequence[str]) -> str:
    """Hex SHA-256 of a sequence of texts (order and boundaries matter)."""
    digest = hashlib.sha256(b"texts\0")
    _update_with(digest, texts)
    return digest.hexdigest()


def hash_tokens(token_docs: Sequence[Sequence[str]]) -> str:
    """Hex SHA-256 of tokenised documents (document and token boundaries matter)."""
    digest = hashlib.sha256(b"tokens\0")
    for doc in token_docs:
        digest.update(len(doc).to_bytes(8, "little"))
        _update_with(digest, doc)
    return digest.hexdigest()


def _settings(tokenizer: str, stop_words, pos) -> dict:
    return {
        "cache_version": _CACHE_VERSION,
        "tokenizer": tokenizer,
        "tokenizer_revision": TOKENIZER_REVISIONS.get(tokenizer),
        "stop_words": sorted(stop_words) if stop_words is not None else None,
        "pos": list(pos) if pos is not None else None,
    }


def token_cache_path(texts: Sequence[str], tokenizer: str, cache_dir, *, stop_words=None,
                     pos=None) -> Path:
    """Where :func:`tokenize_corpus` keeps the token lists of ``texts``.

    Parameters
    ----------
    texts : sequence of str
    tokenizer : {"english", "janome"}
    cache_dir : path-like
    stop_words, pos
        As for :func:`scdv.tokenize.make_tokenizer`.

    Returns
    -------
    pathlib.Path
        ``cache_dir/tokens/<tokenizer>-<hash>.jsonl.gz``.
    """
    digest = hashlib.sha256(
        json.dumps(_settings(tokenizer, stop_words, pos), sort_keys=True).encode()
    )
    digest.update(hash_texts(texts).encode())
    return Path(cache_dir) / "tokens" / f"{tokenizer}-{digest.hexdigest()[:20]}.jsonl.gz"


def _tokenize_chunk(args):
    # Runs in a worker: janome's Tokenizer is built lazily once per process
    # by scdv.tokenize and reused for every chunk that process receives.
    func, texts = args
    return [list(func(text)) for text in texts]


def _read_cache(path: Path, n_docs: int) -> list[list[str]] | None:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            docs = [json.loads(line) for line in handle]
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        logger.warning("ignoring unreadable token cache %s (%s)", path, exc)
        return None
    if len(docs) != n_docs:
        logger.warning("ignoring token cache %s: %d documents, expected %d",
                       path, len(docs), n_docs)
        return None
    return docs


def _write_cache(path: Path, docs: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:  # readers never see a half-written file
        # compresslevel 3: the files are rewritten rarely but read often, and
        # level 9 triples the write time for a few percent of size.
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=3) as handle:
            for doc in docs:
                handle.write(json.dumps(doc, ensure_ascii=False))
                handle.write("\n")


def tokenize_corpus(
    texts: Sequence[str],
    tokenizer: str = "english",
    *,
    cache_dir=None,
    stop_words=None,
    pos=None,
    n_jobs: int = 2,
    progress: bool | None = None,
) -> list[list[str]]:
    """Tokenise ``texts``, reading and writing the on-disk token cache.

    Parameters
    ----------
    texts : sequence of str
        The documents.
    tokenizer : {"english", "janome"}, default="english"
        Named tokenizer of :mod:`scdv.tokenize`.
    cache_dir : path-like or None, default=None
        Cache folder (see :func:`default_cache_dir`); ``None`` uses the default.
        The token lists go to ``cache_dir/tokens/``.
    stop_words, pos
        As for :func:`scdv.tokenize.make_tokenizer`.
    n_jobs : int, default=2
        Worker processes for large corpora. Small inputs are tokenised in this
        process, where starting workers would cost more than it saves.
    progress : bool or None, default=None
        Show a tqdm bar; ``None`` shows it only when stderr is a terminal.

    Returns
    -------
    list of list of str
        One token list per text, in order.

    Notes
    -----
    The cache key covers every text (content, order and boundaries) and the
    tokenizer settings, so editing or reordering a corpus tokenises it anew.
    Workers are joblib's "loky" processes (joblib comes with scikit-learn):
    they are started fresh rather than forked from a process that may already
    run BLAS or numba threads, and unlike ``multiprocessing``'s "spawn" they do
    not re-run the calling script, so a script calling this needs no
    ``if __name__ == "__main__"`` guard. Each worker builds its janome
    Tokenizer once and keeps it for every chunk it receives.
    """
    if isinstance(tokenizer, str) is False:
        raise TypeError("tokenize_corpus caches named tokenizers only ('english' or 'janome')")
    texts = list(texts)
    cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
    path = token_cache_path(texts, tokenizer, cache_dir, stop_words=stop_words, pos=pos)
    if path.is_file():
        docs = _read_cache(path, len(texts))
        if docs is not None:
            logger.info("tokens: %d documents read from cache %s", len(docs), path)
            return docs

    func = make_tokenizer(tokenizer, stop_words=stop_words, pos=pos)
    n_chars = sum(map(len, texts))
    use_pool = n_jobs > 1 and n_chars >= _POOL_MIN_CHARS.get(tokenizer, 1_000_000)
    chunks = [texts[i:i + _CHUNK_DOCS] for i in range(0, len(texts), _CHUNK_DOCS)]
    logger.info("tokens: tokenising %d documents (%.1fM characters) with %s on %d process%s",
                len(texts), n_chars / 1e6, tokenizer, n_jobs if use_pool else 1,
                "es" if use_pool else "")
    bar = tqdm(total=len(texts), desc=f"tokenise ({tokenizer})", unit="doc", file=sys.stderr,
               disable=(None if progress is None else not progress), leave=False,
               dynamic_ncols=True)
    docs: list[list[str]] = []
    with bar:
        if use_pool:
            # Results come back in submission order, chunk by chunk.
            parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
            for result in parallel(delayed(_tokenize_chunk)((func, c)) for c in chunks):
                docs.extend(result)
                bar.update(len(result))
        else:
            for chunk in chunks:
                result = _tokenize_chunk((func, chunk))
                docs.extend(result)
                bar.update(len(result))
    _write_cache(path, docs)
    logger.info("tokens: cached at %s", path)
    return docs
