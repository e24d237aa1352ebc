"""Atomic file writes: a temporary beside the target, renamed into place.

The one way scdv writes a file that someone may read: the command's
outputs, saved models, and anything else that must never be seen
half-written. Two entry points:

- :func:`replacing`, for one file::

      with replacing("model.scdv") as tmp:
          write_somehow(tmp)          # a path; open it yourself

- :class:`StagedOutputs`, for several files that appear together or not at
  all::

      with StagedOutputs(force=True) as staged:
          staged.open("vectors.npz").write(data)
          model.save(staged.reserve("model.scdv"))

Both give the same guarantees:

- **Temporaries.** Each file is written as ``.NAME.RANDOM.part`` in the
  target's own directory (``RANDOM`` is 8 hex digits; a long ``NAME`` is
  shortened so that the temporary's name fits in ``NAME_MAX``, 255 bytes).
  Only a ``SIGKILL`` or a power cut can leave one behind; such files are safe
  to delete.
- **Whole or nothing.** When the block ends normally the temporaries are
  flushed to disk and renamed over their targets (:func:`os.replace`), in
  the order they were staged; when it raises, including
  ``KeyboardInterrupt`` and its subclasses, every temporary is removed and
  no target is touched, even if closing a file fails again (a full disk).
- **Regular files only.** An existing target that is not a regular file (a
  FIFO, a device such as ``/dev/null``, a socket, a symbolic link, a
  directory) is refused with :class:`NotRegularFileError` or
  :class:`IsADirectoryError`: replacing it would silently turn it into a
  regular file. Checked when a file is staged and again just before the
  renames.
- **No interleaving.** The renames run under an exclusive ``fcntl.flock``
  on each target directory, so two processes that commit into the same
  directory never interleave their renames; the last to commit wins with
  all of its files. Signals that would interrupt the renames (``SIGINT``,
  ``SIGTERM``, ``SIGHUP``) are held back until they are done.
- **Permissions.** A new file gets the permissions the umask gives any new
  file (``0o666 & ~umask``), not ``mkstemp``'s private ``0o600``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import stat
import threading

try:  # not on Windows: there the renames simply are not locked
    import fcntl
except ImportError:  # pragma: no cover - POSIX test machines
    fcntl = None

__all__ = [
    "NotRegularFileError",
    "PART_SUFFIX",
    "StagedOutputs",
    "check_target",
    "file_kind",
    "name_max",
    "replacing",
    "temporary_name",
]

#: How every temporary's name ends.
PART_SUFFIX = ".part"
#: The longest file name, in bytes, when the file system does not say.
DEFAULT_NAME_MAX = 255
_TOKEN_BYTES = 4  # 8 hex digits
#: Signals held back while the staged files are renamed.
_DEFERRED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                          if hasattr(signal, name))


class NotRegularFileError(OSError):
    """An existing target is not a regular file (FIFO, device, socket, link).

    Attributes
    ----------
    filename : str
        The target.
    kind : str
        What it is, e.g. ``"a FIFO (named pipe)"`` (see :func:`file_kind`).
    """

    def __init__(self, target, kind):
        super().__init__(errno.EEXIST, f"it is {kind}, not a regular file",
                         os.fspath(target))
        self.kind = kind

    def __str__(self):
        return (f"Cannot write {self.filename!r}: it is {self.kind}, not a regular "
                "file; only regular files are replaced.")


def file_kind(mode):
    """What a file of ``st_mode`` ``mode`` is, for a message.

    Parameters
    ----------
    mode : int
        From :func:`os.lstat` or :func:`os.fstat`.

    Returns
    -------
    str
        E.g. ``"a regular file"``, ``"a FIFO (named pipe)"``, ``"a character
        device"``, ``"a symbolic link"``.
    """
    kinds = [(stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
             (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket")]
    return next((kind for test, kind in kinds if test(mode)), "a special file")


def check_target(target, *, force):
    """Refuse a target that must not be replaced.

    Parameters
    ----------
    target : str or path-like
    force : bool
        Whether an existing regular file may be replaced.

    Raises
    ------
    IsADirectoryError
        ``target`` is a directory, or names one (it ends with a separator).
    NotRegularFileError
        ``target`` exists and is not a regular file; never replaced, even
        with ``force`` (a symbolic link is refused, not followed).
    FileExistsError
        ``target`` is a regular file and ``force`` is false.
    """
    target = os.fspath(target)
    if not os.path.basename(target):
        raise IsADirectoryError(errno.EISDIR, "the name ends with a separator, so it "
                                "names a directory; give a file name", target)
    try:
        mode = os.lstat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return  # creating the temporary says what is wrong with the directory
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "it is a directory; give a file name", target)
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(target, file_kind(mode))
    if not force:
        raise FileExistsError(f"{target!r} already exists.")


def name_max(directory):
    """The longest file name, in bytes, that ``directory`` takes (``NAME_MAX``).

    Parameters
    ----------
    directory : str or path-like
        ``""`` means the current directory.

    Returns
    -------
    int
        What the file system says, or :data:`DEFAULT_NAME_MAX` (255).
    """
    try:
        return os.pathconf(directory or os.curdir, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return DEFAULT_NAME_MAX


def temporary_name(target):
    """A fresh ``.NAME.RANDOM.part`` path beside ``target`` (not created).

    ``NAME`` is the target's file name, cut short (whole characters) when
    the temporary's name would not fit in the directory's ``NAME_MAX``.

    Parameters
    ----------
    target : str or path-like

    Returns
    -------
    str
    """
    directory, name = os.path.split(os.fspath(target))
    token = secrets.token_hex(_TOKEN_BYTES)
    limit = name_max(directory)

    def temporary(stem):
        return f".{stem}.{token}{PART_SUFFIX}"

    stem = name
    while stem and len(os.fsencode(temporary(stem))) > limit:
        stem = stem[:-1]
    return os.path.join(directory, temporary(stem))


def _fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(directories):
    """Hold an exclusive flock on each directory, taken in sorted order.

    Sorted so that two processes locking the same directories cannot
    deadlock. Where a lock cannot be had (no fcntl, a file system without
    flock, a directory that may be written but not read) the renames go on
    unlocked: locking protects against another scdv, not against the disk.
    """
    fds = []
    try:
        for directory in sorted(set(directories)):
            try:
                fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            except OSError:
                continue
            fds.append(fd)
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except OSError as exc:
                    if exc.errno not in (errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP,
                                         errno.ENOTSUP):
                        raise
        yield fds
    finally:
        for fd in fds:
            os.close(fd)  # closing the last descriptor releases the lock


@contextlib.contextmanager
def _signals_held_back():
    """Delay SIGINT, SIGTERM and SIGHUP until the block ends.

    A signal between two renames would leave some targets new and others
    old. Only the main thread may set handlers; elsewhere the block runs as
    it is. A held-back signal is acted on as soon as the block is over: its
    Python handler is called, or the signal is raised again for the default
    action.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = {}
    for signum in _DEFERRED_SIGNALS:
        handler = signal.getsignal(signum)
        if handler in (signal.SIG_IGN, None):
            continue  # ignored (nohup) or set outside Python: leave it alone
        previous[signum] = handler
        signal.signal(signum, lambda number, frame: pending.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in pending[:1]:  # the first is enough to stop the program
            handler = previous[signum]
            if callable(handler):
                handler(signum, None)
            else:
                signal.raise_signal(signum)


class StagedOutputs:
    """Write several files all-or-nothing, each beside its target.

    Use as a context manager. :meth:`open` (or :meth:`reserve`, for writers
    that want a path) gives a temporary file ``.NAME.RANDOM.part`` (see
    :func:`temporary_name`) in the target's directory. When the block ends
    normally, every temporary is flushed to disk and renamed over its target
    in the order staged, under an exclusive lock on the target directories:
    stage last the file that vouches for the others (the ids manifest). When
    the block raises (including ``KeyboardInterrupt``), every temporary is
    removed and no target is touched.

    Parameters
    ----------
    force : bool, default=False
        Replace targets that are existing regular files. Without it, an
        existing target raises :class:`FileExistsError`, both when it is
        staged and again just before the renames. Targets that are not
        regular files are refused either way (see :func:`check_target`).

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with StagedOutputs() as staged:
    ...     _ = staged.open(os.path.join(folder, "a.txt"), "w").write("a")
    ...     _ = staged.open(os.path.join(folder, "b.txt"), "w").write("b")
    >>> sorted(os.listdir(folder))
    ['a.txt', 'b.txt']
    """

    def __init__(self, *, force=False):
        self.force = force
        self._staged = []  # (temporary, target), in staging order
        self._handles = []

    def __enter__(self):
        return self

    def reserve(self, target):
        """Create an empty temporary for ``target`` and return its path.

        Parameters
        ----------
        target : str or path-like

        Returns
        -------
        str
            The temporary's path; write the file there (by name).

        Raises
        ------
        ValueError
            ``target`` is staged already.
        FileExistsError, NotRegularFileError, IsADirectoryError
            See :func:`check_target`.
        FileNotFoundError
            The target's directory does not exist.
        """
        target = os.fspath(target)
        if any(t == target for _, t in self._staged):
            raise ValueError(f"{target!r} is staged twice.")
        check_target(target, force=self.force)
        while True:
            tmp = temporary_name(target)
            try:
                # "x" never clobbers; the mode follows the umask, unlike mkstemp's 0600.
                with open(tmp, "xb"):
                    pass
            except FileExistsError:
                continue
            except (FileNotFoundError, NotADirectoryError) as exc:
                # Name the directory and the target, not a temporary nobody asked for.
                directory = os.path.dirname(target) or os.curdir
                raise type(exc)(exc.errno, f"directory {directory!r} does not exist",
                                target) from None
            break
        self._staged.append((tmp, target))
        return tmp

    def open(self, target, mode="wb", **kwargs):
        """Open a temporary for ``target``; it is closed before the renames.

        Parameters
        ----------
        target : str or path-like
        mode : str, default="wb"
        **kwargs
            Passed on to :func:`open` (``encoding``, ``newline``, ...).

        Returns
        -------
        file object
        """
        handle = open(self.reserve(target), mode, **kwargs)
        self._handles.append(handle)
        return handle

    def _close_all(self):
        while self._handles:
            self._handles.pop(0).close()

    def _discard(self):
        staged, self._staged = self._staged, []
        handles, self._handles = self._handles, []
        try:
            for handle in handles:
                try:
                    handle.close()
                except (OSError, ValueError):
                    # A full disk fails the final flush again; the file is
                    # closed all the same, and goes below.
                    pass
        finally:
            for tmp, _ in staged:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def _commit(self):
        self._close_all()  # flushes; a full disk raises here, and all is discarded
        for tmp, _ in self._staged:
            _fsync_path(tmp)
        directories = [os.path.dirname(os.path.abspath(t)) for _, t in self._staged]
        with _locked(directories) as locks, _signals_held_back():
            for _, target in self._staged:
                check_target(target, force=self.force)
            while self._staged:
                tmp, target = self._staged[0]
                os.replace(tmp, target)
                self._staged.pop(0)
            for fd in locks:  # the renames themselves survive a power cut
                with contextlib.suppress(OSError):
                    os.fsync(fd)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._discard()
            return False
        try:
            self._commit()
        except BaseException:
            self._discard()
            raise
        return False


@contextlib.contextmanager
def replacing(target, *, force=True):
    """Write one file atomically: yield a temporary path, rename it on success.

    Parameters
    ----------
    target : str or path-like
        The file to create or replace.
    force : bool, default=True
        Replace an existing regular file (otherwise :class:`FileExistsError`).
        A target that is not a regular file is always refused.

    Yields
    ------
    str
        An empty temporary file beside ``target`` (``.NAME.RANDOM.part``);
        write the contents there by name. It becomes ``target`` when the
        block ends normally and is removed when it raises, whatever the
        exception (``KeyboardInterrupt`` included).

    Raises
    ------
    FileExistsError, NotRegularFileError, IsADirectoryError
        See :func:`check_target`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp(), "notes.txt")
    >>> with replacing(path) as tmp:
    ...     _ = Path(tmp).write_text("hello")
    >>> path.read_text()
    'hello'
    """
    with StagedOutputs(force=force) as staged:
        yield staged.reserve(target)
