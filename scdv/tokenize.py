"""Tokenisation: the first stage of SCDV, from raw text to lists of tokens.

Two built-in tokenizers are offered, named by string so that a model that
uses them can be saved without pickling code:

- ``"english"``: the paper's preprocessing. Every character that is not an
  ASCII letter becomes a space, the text is lower-cased and split, English stop
  words and one-letter tokens are dropped.
- ``"janome"``: Japanese morphological analysis with janome. The text is
  NFKC-normalised (punctuation keeps its width until it is tagged), each token
  is replaced by its base form, and only content words (nouns, verbs,
  adjectives by default) are kept; punctuation and other symbols are dropped.

A callable ``str -> list[str]`` may be given instead, and ``None`` means the
documents are already token lists.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Sequence

from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.utils._param_validation import StrOptions

from ._validation import check_documents, check_token_documents

__all__ = [
    "DEFAULT_JANOME_POS",
    "TextTokenizer",
    "english_tokenize",
    "janome_tokenize",
    "make_tokenizer",
]

_NON_LETTERS = re.compile(r"[^a-zA-Z]+")

#: Revision of each built-in tokenizer's rules, for caches of token lists:
#: bumped whenever the same text and settings give other tokens.
#: janome 2: symbols are dropped unless 記号 is kept, and tagged before NFKC.
TOKENIZER_REVISIONS = {"english": 1, "janome": 2}

#: Parts of speech kept by the janome tokenizer unless told otherwise.
DEFAULT_JANOME_POS = ("名詞", "動詞", "形容詞")

# Sub-categories that carry no topic: numbers, pronouns, suffixes, and
# "non-independent" words such as する in 勉強する.
_JANOME_DROPPED_DETAILS = frozenset({"数", "代名詞", "非自立", "接尾"})


def english_tokenize(text, *, stop_words=ENGLISH_STOP_WORDS, min_length=2):
    """Split English text the way the SCDV paper's code does.

    Parameters
    ----------
    text : str
        A document.
    stop_words : collection of str, default=sklearn's ``ENGLISH_STOP_WORDS``
        Lower-case words to drop. The paper used NLTK's list; scikit-learn's
        list is used here so that NLTK is not a dependency.
    min_length : int, default=2
        Shorter tokens are dropped (the paper drops one-letter tokens).

    Returns
    -------
    tokens : list of str

    Examples
    --------
    >>> english_tokenize("The GPU's 3 cores, and a CPU!")
    ['gpu', 'cores', 'cpu']
    """
    words = _NON_LETTERS.sub(" ", text).lower().split()
    return [w for w in words if len(w) >= min_length and w not in stop_words]


# A janome Tokenizer loads its dictionary once (about a second) and is not
# documented as thread-safe, so each thread builds its own, lazily. It never
# lives on an estimator, so estimators pickle without it.
_janome_local = threading.local()


def _is_symbol_only(text):
    return bool(text) and all(unicodedata.category(c)[0] in "PS" for c in text)


@functools.cache
def _nfkc_runs():
    # Runs of characters that NFKC may change, apart from full-width (and other
    # compatibility) punctuation and symbols, which NFKC would turn into ASCII
    # ones: IPADIC tags ASCII "! ( ) . : / -" as nouns (名詞,サ変接続), which
    # both lets them through the noun filter and mis-tags their neighbours
    # (都 in 東京（都） becomes a suffix). Those characters are left for janome
    # to tag as symbols (記号) and normalised after tagging.
    kept = [chr(c) for c in range(0x10000)
            if not 0xD800 <= c < 0xE000
            and unicodedata.normalize("NFKC", chr(c)) != chr(c)
            and _is_symbol_only(unicodedata.normalize("NFKC", chr(c)))]
    return re.compile("[^" + "".join(re.escape(c) for c in kept) + "]+")


_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def _nfkc_before_tagging(text):
    """NFKC-normalise ``text`` except compatibility punctuation and symbols.

    Lone surrogates (from text decoded with ``surrogateescape``) become
    spaces: they are no characters, and janome cannot encode them.
    """
    text = _LONE_SURROGATES.sub(" ", text)
    return _nfkc_runs().sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def _has_word_character(text):
    # A letter or a digit, in any script (the English tokenizer keeps letters only).
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def _janome_tokenizer():
    tokenizer = getattr(_janome_local, "tokenizer", None)
    if tokenizer is None:
        from janome.tokenizer import Tokenizer

        tokenizer = _janome_local.tokenizer = Tokenizer()
    return tokenizer


def janome_tokenize(
    text,
    *,
    pos=DEFAULT_JANOME_POS,
    stop_words=(),
    drop_details=_JANOME_DROPPED_DETAILS,
    lowercase=True,
):
    """Tokenise Japanese text into base forms of content words with janome.

    The text is NFKC-normalised (full-width letters and digits become ASCII,
    half-width katakana full-width) and lower-cased, then tagged; a token is
    kept when its top-level part of speech is in ``pos`` and its second
    level not in ``drop_details``. A token with no letter or digit in any
    script (``!``, ``(``, ``://``) counts as a symbol (記号) whatever IPADIC
    tags it, so it is kept only when ``pos`` has 記号, and then in its NFKC
    form. Full-width punctuation is normalised only after tagging, so that
    janome sees it as punctuation: NFKC's ASCII forms are tagged as nouns
    by IPADIC.

    Parameters
    ----------
    text : str
        A document.
    pos : sequence of str, default=("名詞", "動詞", "形容詞")
        Top-level parts of speech to keep (nouns, verbs, adjectives).
    stop_words : collection of str, default=()
        Base forms to drop.
    drop_details : collection of str
        Second-level part-of-speech details to drop even when the top level is
        kept: numbers (数), pronouns (代名詞), non-independent words (非自立)
        and suffixes (接尾).
    lowercase : bool, default=True
        Lower-case Latin letters after NFKC normalisation.

    Returns
    -------
    tokens : list of str

    Examples
    --------
    >>> janome_tokenize("美しい花が咲いた。")
    ['美しい', '花', '咲く']
    """
    text = _nfkc_before_tagging(text)
    if lowercase:
        text = text.lower()
    pos = frozenset(pos)
    keep_symbols = "記号" in pos
    stop_words = frozenset(stop_words)
    tokens = []
    for token in _janome_tokenizer().tokenize(text):
        tags = token.part_of_speech.split(",")
        base = token.base_form if token.base_form != "*" else token.surface
        if not _has_word_character(base):
            if not keep_symbols or not base.strip():
                continue
            base = unicodedata.normalize("NFKC", base)
        elif tags[0] not in pos or tags[1] in drop_details:
            continue
        if base not in stop_words:
            tokens.append(base)
    return tokens


def make_tokenizer(tokenizer, *, stop_words=None, pos=None):
    """Return the ``str -> list[str]`` function a ``tokenizer`` setting names.

    Parameters
    ----------
    tokenizer : {"english", "janome"}, callable or None
        What to build. ``None`` returns ``None`` (input is pre-tokenised).
    stop_words : collection of str or None
        Overrides the built-in stop-word list of the named tokenizer.
    pos : sequence of str or None
        Parts of speech kept by ``"janome"``; ignored by ``"english"``.

    Returns
    -------
    callable or None
        A picklable function (a ``functools.partial``), so that it can be
        sent to worker processes.
    """
    if tokenizer is None:
        return None
    if callable(tokenizer):
        return tokenizer
    if tokenizer == "english":
        words = ENGLISH_STOP_WORDS if stop_words is None else frozenset(stop_words)
        return functools.partial(english_tokenize, stop_words=words)
    if tokenizer == "janome":
        words = frozenset(stop_words or ())
        tags = DEFAULT_JANOME_POS if pos is None else tuple(pos)
        return functools.partial(janome_tokenize, pos=tags, stop_words=words)
    raise ValueError(
        "The 'tokenizer' parameter must be 'english', 'janome', a callable "
        f"str -> list of str, or None for pre-tokenised input; got {tokenizer!r}."
    )


def tokenize_documents(documents, tokenizer, *, stop_words=None, pos=None):
    """Check ``documents`` and turn them into a list of token lists.

    Parameters
    ----------
    documents : iterable of str, or iterable of list of str when ``tokenizer`` is None
    tokenizer, stop_words, pos
        As for :func:`make_tokenizer`.

    Returns
    -------
    list of list of str
    """
    func = make_tokenizer(tokenizer, stop_words=stop_words, pos=pos)
    if func is None:
        return check_token_documents(documents)
    out = []
    for i, text in enumerate(check_documents(documents)):
        tokens = func(text)
        if isinstance(tokens, str) or not isinstance(tokens, Sequence):
            raise TypeError(
                f"The tokenizer must return a list of str; for document {i} it "
                f"returned {type(tokens).__name__}."
            )
        out.append(list(tokens))
    return out


class TextTokenizer(TransformerMixin, BaseEstimator):
    """Turn raw documents into token lists (SCDV stage 0).

    Parameters
    ----------
    tokenizer : {"english", "janome"} or callable, default="english"
        ``"english"`` is the paper's preprocessing (:func:`english_tokenize`),
        ``"janome"`` is Japanese content-word analysis
        (:func:`janome_tokenize`), a callable maps one str to a list of str.
    stop_words : collection of str or None, default=None
        Replaces the named tokenizer's stop-word list (English: scikit-learn's
        list; Japanese: none).
    pos : sequence of str or None, default=None
        Parts of speech kept by ``"janome"``; ``None`` keeps nouns, verbs and
        adjectives.

    Examples
    --------
    >>> TextTokenizer().fit_transform(["Cats chase mice.", "A dog."])
    [['cats', 'chase', 'mice'], ['dog']]
    """

    _parameter_constraints = {
        "tokenizer": [StrOptions({"english", "janome"}), callable],
        "stop_words": [list, tuple, set, frozenset, None],
        "pos": [list, tuple, None],
    }

    def __init__(self, tokenizer="english", *, stop_words=None, pos=None):
        self.tokenizer = tokenizer
        self.stop_words = stop_words
        self.pos = pos

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters; tokenisation learns nothing.

        Returns
        -------
        self : TextTokenizer
        """
        self.n_features_in_ = 1
        return self

    def transform(self, X):
        """Tokenise each document.

        Parameters
        ----------
        X : iterable of str

        Returns
        -------
        list of list of str
        """
        return tokenize_documents(
            X, self.tokenizer, stop_words=self.stop_words, pos=self.pos
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
