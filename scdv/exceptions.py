"""The library's own exceptions."""

__all__ = ["InputError", "ModelFormatError", "ScdvError", "WordVectorsError"]


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


class InputError(ScdvError):
    """An input path is missing, unreadable, or does not decode.

    Attributes
    ----------
    path : str
        The offending input as given (or as found in a directory).
    reason : {"missing", "unreadable", "decode"}
        What went wrong, so that a caller can add its own advice.
    encodings : tuple of str
        With ``reason="decode"``, the encodings that decode the file cleanly
        (see :func:`scdv._io.suggest_encodings`), most likely first.
    """

    def __init__(self, message, *, path, reason, encodings=()):
        super().__init__(message)
        self.path = path
        self.reason = reason
        self.encodings = tuple(encodings)

    def __reduce__(self):
        # Keyword-only arguments: the default pickling (used to send it back
        # from a Dask worker) would call InputError(message) and fail.
        return (_input_error, (str(self), self.path, self.reason, self.encodings))


def _input_error(message, path, reason, encodings):
    return InputError(message, path=path, reason=reason, encodings=encodings)
