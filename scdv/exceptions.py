"""The library's own exceptions."""

__all__ = ["ScdvError", "ModelFormatError", "WordVectorsError"]


class ScdvError(Exception):
    """Base class of the errors scdv raises on its own account."""


class ModelFormatError(ScdvError, ValueError):
    """A model file is not one :func:`scdv.load` can read.

    Raised for a missing or truncated file, a file of another format, a newer
    format version, arrays of the wrong shape or type, or anything that would
    need unpickling.
    """


class WordVectorsError(ScdvError, ValueError):
    """A ``word_vectors`` path that is missing or not in word2vec format."""
