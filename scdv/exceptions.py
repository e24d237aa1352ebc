"""The library's own exceptions."""

__all__ = ["ScdvError", "ModelFormatError"]


class ScdvError(Exception):
    """Base class of the errors scdv raises on its own account."""


class ModelFormatError(ScdvError, ValueError):
    """A model file is not one :func:`scdv.load` can read.

    Raised for a missing or truncated file, a file of another format, a newer
    format version, arrays of the wrong shape or type, or anything that would
    need unpickling.
    """
