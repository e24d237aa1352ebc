"""Input and parameter checks shared by the estimators.

Every message names what was expected, what came, and what to change.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np


def _describe(obj):
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def check_documents(documents):
    """Return ``documents`` as a list of str, or raise a clear error.

    Follows ``CountVectorizer``: an iterable of str. A bare str is refused,
    because iterating it would give one document per character.
    """
    if isinstance(documents, (str, bytes)):
        raise ValueError(
            "Iterable over raw text documents expected, string object received. "
            "Wrap a single document in a list: [text]."
        )
    if documents is None or not isinstance(documents, Iterable):
        raise TypeError(
            "Expected an iterable of str documents (a list, tuple, Series or "
            f"generator); got {type(documents).__name__}."
        )
    docs = list(documents)
    for i, doc in enumerate(docs):
        if not isinstance(doc, str):
            raise TypeError(
                f"Document {i} is a {type(doc).__name__} ({_describe(doc)}), not str. "
                "Pass str documents, or tokenizer=None for lists of tokens."
            )
    return docs


def check_token_documents(documents):
    """Return ``documents`` as a list of token lists, or raise a clear error.

    Used when ``tokenizer=None``: each document must be a list (or tuple) of
    str tokens.
    """
    if isinstance(documents, (str, bytes)):
        raise ValueError(
            "Iterable over tokenised documents expected, string object received. "
            "With tokenizer=None each document must be a list of str tokens."
        )
    if documents is None or not isinstance(documents, Iterable):
        raise TypeError(
            "Expected an iterable of tokenised documents (lists of str); got "
            f"{type(documents).__name__}."
        )
    return check_token_lists(list(documents))


def check_token_lists(docs, start=0):
    """Raise a clear error unless every item of ``docs`` is a list of str.

    ``start`` is the index of ``docs[0]`` in the whole input, for the message.
    Returns ``docs``.
    """
    for i, doc in enumerate(docs, start):
        if isinstance(doc, str) or not isinstance(doc, (list, tuple, np.ndarray)):
            raise TypeError(
                f"Document {i} is a {type(doc).__name__} ({_describe(doc)}); with "
                "tokenizer=None each document must be a list of str tokens. Set "
                "tokenizer='english' (or 'janome') to pass raw text."
            )
        # One C-level pass over the token types instead of a Python loop.
        if not set(map(type, doc)) <= _STR_TYPE:
            token = next(t for t in doc if not isinstance(t, str))
            if not isinstance(token, str):
                raise TypeError(
                    f"Document {i} contains a {type(token).__name__} token "
                    f"({_describe(token)}); tokens must be str."
                )
    return docs


_STR_TYPE = frozenset({str})


def check_number(value, name, *, kind=numbers.Real, low=None, high=None,
                 low_inclusive=True, high_inclusive=True, allow_none=False):
    """Check one numeric parameter and raise ValueError naming it and its range."""
    if value is None and allow_none:
        return
    integral = kind is numbers.Integral
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        interval = (
            ("[" if low_inclusive and low is not None else "(")
            + f"{lo}, {hi}"
            + ("]" if high_inclusive and high is not None else ")")
        )
        what = "an int" if integral else "a number"
        raise ValueError(
            f"The '{name}' parameter must be {what} in the range {interval}"
            f"{' or None' if allow_none else ''}; got {value!r}."
        )


def check_choice(value, name, choices):
    """Check that ``value`` is one of ``choices``; raise ValueError naming them."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"The '{name}' parameter must be one of {options}; got {value!r}.")


def seed_from(random_state):
    """The one place a ``random_state`` becomes an int seed for gensim and the GMM."""
    if random_state is None:
        return int(np.random.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    check_number(random_state, "random_state", kind=numbers.Integral, low=0, high=2**32 - 1)
    return int(random_state)
