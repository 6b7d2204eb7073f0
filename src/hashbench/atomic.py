"""Atomic file writes: a file either appears whole or not at all, whatever moment a run dies.

A bottom module (standard library only) so that checkpoints, hash tables and reports share one
implementation without the report layer importing pyarrow or the hashing machinery. It also holds
the lock that keeps two runs from writing the same output (:func:`hold_lock`).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Locked", "atomic_write_bytes", "atomic_write_text", "check_target", "hold_lock"]


class Locked(RuntimeError):
    """Another process holds the lock; the message names the lock file."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_target(path: str | os.PathLike[str]) -> None:
    """Raise :class:`OSError` (with a ``strerror`` fit for one line) unless ``path`` is free or a regular file.

    The rename of :func:`atomic_write_bytes` replaces whatever has the name: given ``/dev/full``
    as root it would replace the device, given a symlink or a FIFO it would replace the link or
    the pipe. Outputs are written into regular files and folders only.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise OSError(errno.EINVAL, "it is a symbolic link; give the path of a regular file (the link's target)")
    if stat.S_ISDIR(st.st_mode):
        raise OSError(errno.EISDIR, "it is a folder; give a file name")
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "it is not a regular file (a device, FIFO or socket); give a file name")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The rename is atomic on one filesystem, and the data is fsync'ed first, so a reader (or a
    resumed run) never sees half a file. ``path`` must be free or a regular file (:func:`check_target`).
    """
    out = Path(path)
    check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing like any file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` encoded as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def hold_lock(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block.

    Raises :class:`Locked` at once, without waiting, when another process holds it: two runs
    writing one output would overwrite each other's checkpoints. The lock dies with its process
    (kill -9 included), so a crashed run never leaves a stale lock. A lock file deleted by the
    holder at its end (with its folder) is detected and taken again fresh.
    """
    import fcntl

    lock = Path(path)
    while True:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Locked(f"another run holds {lock}") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # we locked a file its holder had just removed: lock the current one
    try:
        yield lock
    finally:
        os.close(fd)
