"""The one atomic writer (scdv._atomic) and the ids manifest written with it.

No model is fitted here: the writer is tested on plain files, the manifest
through ``commands.write_outputs`` on small matrices, and model saving
through :func:`scdv.persistence.write_model_file` on a few arrays.
"""

import errno
import fcntl
import io
import json
import os
import re
import signal
import stat
import subprocess
import threading

import numpy as np
import pytest
import scipy.sparse as sp

from scdv import _atomic, _io, commands, persistence
from scdv._atomic import NotRegularFileError, StagedOutputs, replacing

from .cli_helpers import listing

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
#: Every name that broke the old one-id-per-line text file.
NASTY_IDS = ["a\nb.txt", "a\\nb.txt", "vt\x0bname", "fs\x1cname", "nel\x85name",
             "ls\u2028name", os.fsdecode(b"caf\xff.txt"), "tab\tname", 'say "hi"', "",
             "cr\rname", "\u65e5\u672c\u8a9e"]


def _matrix(n_rows=3, n_cols=4):
    return sp.random(n_rows, n_cols, density=0.5, format="csr", dtype=np.float32,
                     random_state=n_rows)


def _write_file(path, data):
    with open(path, "wb") as handle:
        handle.write(data)


# ---------------------------------------------------------------------------
# replacing() and StagedOutputs


def test_replacing_renames_on_success_and_removes_the_temporary_on_any_failure(tmp_path):
    target = tmp_path / "f.txt"
    with replacing(target) as tmp:
        assert os.path.dirname(tmp) == os.fspath(tmp_path) and os.path.exists(tmp)
        _write_file(tmp, b"one")
    assert target.read_bytes() == b"one"
    for failure in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(failure)):
            with replacing(target) as tmp:
                _write_file(tmp, b"half")
                raise failure
        assert target.read_bytes() == b"one"
        assert listing(tmp_path) == ["f.txt"]
    with pytest.raises(FileExistsError):
        with replacing(target, force=False):
            pass
    assert listing(tmp_path) == ["f.txt"]


def test_staged_outputs_is_the_shared_helper_also_under_its_old_name():
    assert _io.StagedOutputs is StagedOutputs is commands.StagedOutputs


def test_temporaries_are_named_dot_name_random_part_beside_the_target(tmp_path):
    seen = []
    with replacing(tmp_path / "vectors.npz") as tmp:
        seen.append(os.path.basename(tmp))
    assert re.fullmatch(r"\.vectors\.npz\.[0-9a-f]{8}\.part", seen[0]), seen


def test_a_250_character_target_gets_a_temporary_that_fits_name_max(tmp_path):
    name = "v" * 246 + ".npz"
    assert len(name) == 250
    with replacing(tmp_path / name) as tmp:
        assert len(os.fsencode(os.path.basename(tmp))) <= 255
        assert os.path.basename(tmp).startswith(".vvv") and tmp.endswith(".part")
        _write_file(tmp, b"x")
    assert listing(tmp_path) == [name]


def test_long_multibyte_names_are_cut_between_characters(tmp_path):
    name = "\u65e5" * 84  # 252 bytes in UTF-8
    tmp = _atomic.temporary_name(tmp_path / name)
    base = os.path.basename(tmp)
    assert len(os.fsencode(base)) <= 255
    assert base.encode("utf-8")  # whole characters: still valid UTF-8


def test_new_files_get_the_umask_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        with replacing(tmp_path / "f") as tmp:
            _write_file(tmp, b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "f").st_mode) == 0o640


def test_renames_follow_the_staging_order(tmp_path, monkeypatch):
    renamed = []
    real_replace = os.replace

    def recording(src, dst):
        renamed.append(os.path.basename(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording)
    commands.write_outputs(_matrix(), tmp_path / "v.npz", ids=["a", "b", "c"],
                           model=None)
    # The manifest vouches for the vectors, so it appears last.
    assert renamed == ["v.npz", "v.npz.ids.jsonl"]


def test_renames_hold_an_exclusive_lock_on_the_directory(tmp_path, monkeypatch):
    blocked = []
    real_replace = os.replace

    def probing(src, dst):
        fd = os.open(os.path.dirname(dst), os.O_RDONLY)
        try:  # another open file description: conflicts with the writer's lock
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            blocked.append(True)
        else:
            blocked.append(False)
        finally:
            os.close(fd)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", probing)
    commands.write_outputs(_matrix(), tmp_path / "v.npz", ids=["a", "b", "c"])
    assert blocked == [True, True]
    fd = os.open(tmp_path, os.O_RDONLY)  # and released afterwards
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


def test_a_signal_during_the_renames_waits_until_all_are_done(tmp_path, monkeypatch):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set in the main thread")
    real_replace = os.replace

    class Stop(Exception):
        pass

    def stop(signum, frame):
        raise Stop

    def kill_between(src, dst):
        real_replace(src, dst)
        if dst.endswith(".npz"):  # the first of the two renames
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        monkeypatch.setattr(os, "replace", kill_between)
        with pytest.raises(Stop):
            commands.write_outputs(_matrix(), tmp_path / "v.npz", ids=["a", "b", "c"])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert listing(tmp_path) == ["v.npz", "v.npz.ids.jsonl"]  # both, not one
    assert commands.read_ids(tmp_path / "v.npz.ids.jsonl") == ["a", "b", "c"]


# ---------------------------------------------------------------------------
# Targets that are not regular files


def _fifo(path):
    os.mkfifo(path)
    return path


def _device(path):
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot create a device node here: {exc}")
    return path


@pytest.mark.parametrize("make, kind", [(_fifo, "a FIFO (named pipe)"),
                                        (_device, "a character device")],
                         ids=["fifo", "device"])
def test_a_special_file_is_never_replaced_even_with_force(tmp_path, make, kind):
    target = make(tmp_path / "out")
    before = os.lstat(target)
    with pytest.raises(NotRegularFileError, match=re.escape(kind)) as info:
        with StagedOutputs(force=True) as staged:
            staged.open(target).write(b"data")
    assert info.value.filename == os.fspath(target) and info.value.kind == kind
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert listing(tmp_path) == ["out"]  # no temporary left


def test_a_symbolic_link_is_refused_and_its_file_left_alone(tmp_path):
    real = tmp_path / "real.npz"
    real.write_bytes(b"keep me")
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    with pytest.raises(NotRegularFileError, match="symbolic link"):
        with replacing(link) as tmp:
            _write_file(tmp, b"new")
    assert os.path.islink(link) and real.read_bytes() == b"keep me"
    assert listing(tmp_path) == ["link.npz", "real.npz"]


def test_a_target_that_turns_special_before_the_renames_is_refused(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(NotRegularFileError):
        with StagedOutputs(force=True) as staged:
            staged.open(target).write(b"data")
            os.mkfifo(target)  # appears while the file is being written
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert listing(tmp_path) == ["out"]


@pytest.mark.parametrize("name", ["folder", "folder/", "missing/"])
def test_directories_and_names_ending_in_a_separator_are_refused(tmp_path, name):
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError):
        with replacing(os.path.join(tmp_path, name)):
            pass
    assert listing(tmp_path) == ["folder"] and listing(tmp_path / "folder") == []


def test_a_missing_directory_is_named_not_the_temporary(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist") as info:
        with replacing(tmp_path / "nowhere" / "f"):
            pass
    assert info.value.filename == os.fspath(tmp_path / "nowhere" / "f")


def test_saving_a_model_onto_a_fifo_or_link_refuses_through_the_shared_helper(tmp_path):
    fifo = _fifo(tmp_path / "m.scdv")
    real = tmp_path / "real.scdv"
    real.write_bytes(b"keep me")
    link = tmp_path / "link.scdv"
    link.symlink_to(real)
    arrays = {"a": np.arange(3)}
    for target in (fifo, link):
        with pytest.raises(NotRegularFileError):
            persistence.write_model_file(target, "SCDV", {}, {}, arrays)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.path.islink(link)
    assert real.read_bytes() == b"keep me"
    assert listing(tmp_path) == ["link.scdv", "m.scdv", "real.scdv"]


# ---------------------------------------------------------------------------
# A full disk


class _FullDisk(io.RawIOBase):
    """A handle on a disk that is full: writes are buffered, every flush fails."""

    def __init__(self, real):
        self.real = real

    def writable(self):
        return True

    def write(self, data):
        return len(data)

    def flush(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self):
        if self.closed:  # when garbage-collected after the failed close
            return
        self.real.close()
        super().close()
        raise OSError(errno.ENOSPC, "No space left on device")

    def fileno(self):
        return self.real.fileno()


def test_a_full_disk_leaves_no_temporary_even_when_closing_fails_again(tmp_path,
                                                                       monkeypatch):
    real_open = open

    def full_disk_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return handle if mode == "xb" else _FullDisk(handle)

    monkeypatch.setattr(_atomic, "open", full_disk_open, raising=False)
    with pytest.raises(OSError) as info:
        with StagedOutputs() as staged:
            staged.open(tmp_path / "a").write(b"a")
            staged.open(tmp_path / "b").write(b"b")
    assert info.value.errno == errno.ENOSPC
    assert listing(tmp_path) == []


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64 KiB tmpfs, or a skip where mounting is not allowed."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                             os.fspath(mount_point)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {result.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", os.fspath(mount_point)], capture_output=True)


@pytest.mark.skipif(not IS_ROOT, reason="mounting a tmpfs needs root")
def test_a_real_full_disk_leaves_no_part_file(tiny_tmpfs):
    rng = np.random.default_rng(0)
    X = sp.csr_matrix(rng.random((200, 200), dtype=np.float32))  # ~160 KB, does not fit
    # numpy reports the short write without an errno: any OSError will do.
    with pytest.raises(OSError):
        commands.write_outputs(X, tiny_tmpfs / "v.npy", "npy", [str(i) for i in range(200)])
    assert listing(tiny_tmpfs) == []


# ---------------------------------------------------------------------------
# The ids manifest


def test_nasty_ids_round_trip_one_per_line_in_ascii(tmp_path):
    X = _matrix(n_rows=len(NASTY_IDS))
    sidecar = commands.write_outputs(X, tmp_path / "v.npz", ids=NASTY_IDS)
    assert sidecar == os.fspath(tmp_path / "v.npz.ids.jsonl")
    raw = (tmp_path / "v.npz.ids.jsonl").read_bytes()
    assert raw.isascii()
    # One line per id however the file is split: \x0b, \x1c, \x85 and U+2028
    # are escaped, so str.splitlines() sees the same lines as "\n".
    text = raw.decode("ascii")
    assert len(text.splitlines()) == len(text.split("\n")) - 1 == len(NASTY_IDS) + 1
    assert commands.read_ids(sidecar) == NASTY_IDS
    # The README's one line of Python reads the same ids.
    with open(sidecar) as handle:
        header, *ids = map(json.loads, handle)
    assert ids == NASTY_IDS
    assert os.fsencode(ids[NASTY_IDS.index(os.fsdecode(b"caf\xff.txt"))]) == b"caf\xff.txt"
    assert len(set(ids)) == len(ids)  # "a\nb.txt" and "a\\nb.txt" stay apart


def test_the_header_names_the_vectors_file_its_rows_and_sha256(tmp_path):
    sidecar = commands.write_outputs(_matrix(), tmp_path / "v.npz", ids=["a", "b", "c"])
    with open(sidecar) as handle:
        header = json.loads(handle.readline())
    assert header == {"format": "scdv-ids", "version": 1, "vectors": "v.npz", "rows": 3,
                      "sha256": _io.file_sha256(tmp_path / "v.npz")}


def test_a_crash_between_the_renames_is_caught_by_read_ids(tmp_path, monkeypatch):
    target = tmp_path / "v.npz"
    commands.write_outputs(_matrix(3), target, ids=["a", "b", "c"])
    real_replace = os.replace

    def crash_after_the_vectors(src, dst):
        if dst.endswith(".ids.jsonl"):
            raise OSError(errno.EIO, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_after_the_vectors)
    with pytest.raises(OSError):
        commands.write_outputs(_matrix(5), target, ids=list("vwxyz"), force=True)
    monkeypatch.undo()
    assert listing(tmp_path) == ["v.npz", "v.npz.ids.jsonl"]  # no .part left
    with pytest.raises(ValueError, match="different runs"):
        commands.read_ids(tmp_path / "v.npz.ids.jsonl")
    assert commands.read_ids(tmp_path / "v.npz.ids.jsonl", verify=False) == ["a", "b", "c"]


def test_concurrent_forced_writes_leave_a_matching_pair(tmp_path):
    target = tmp_path / "v.npz"
    errors = []

    def writer(n_rows):
        try:
            for _ in range(15):
                commands.write_outputs(_matrix(n_rows), target,
                                       ids=[f"{n_rows}-{i}" for i in range(n_rows)],
                                       force=True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in (2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = commands.read_ids(tmp_path / "v.npz.ids.jsonl")
    assert sp.load_npz(target).shape[0] == len(ids)
    assert listing(tmp_path) == ["v.npz", "v.npz.ids.jsonl"]


@pytest.mark.parametrize("content, problem", [
    (b'"just a string"\n', "header"),
    (b'{"format": "scdv-ids", "version": 9, "vectors": "v.npz", "rows": 0, '
     b'"sha256": "' + b"0" * 64 + b'"}\n', "newer"),
    (b'{"format": "scdv-ids", "version": 1, "vectors": "../v.npz", "rows": 0, '
     b'"sha256": "' + b"0" * 64 + b'"}\n', "vectors file name"),
    (b'{"format": "scdv-ids", "version": 1, "vectors": "v.npz", "rows": 2, '
     b'"sha256": "' + b"0" * 64 + b'"}\n"a"\n', "1 ids for 2 rows"),
    (b'{"format": "scdv-ids", "version": 1, "vectors": "v.npz", "rows": 1, '
     b'"sha256": "' + b"0" * 64 + b'"}\n"a"', "newline"),
    (b'{"format": "scdv-ids", "version": 1, "vectors": "v.npz", "rows": 1, '
     b'"sha256": "' + b"0" * 64 + b'"}\n7\n', "line 2"),
])
def test_read_ids_refuses_what_is_not_a_whole_manifest(tmp_path, content, problem):
    path = tmp_path / "v.npz.ids.jsonl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(problem)):
        commands.read_ids(path, verify=False)
