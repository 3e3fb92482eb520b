"""``FileLock``: the file backend's per-key cross-process lock (memo's ``Locking`` capability).

Only the in-process leader of a key takes it, so threads and tasks of one process share
one lock per key. ``try_acquire`` never blocks; memo polls with backoff (and looks for
the result meanwhile) up to ``lock_timeout``. A holder that dies frees the lock: the
kernel drops its lock when its descriptor goes.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from typing import TYPE_CHECKING

from memo.backends._base import forgotten_at_fork

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["FileLock"]

# Open-file-description locks (Linux): byte-range locks owned by one open file, so two
# lockers conflict even inside one process, and the kernel drops them when the holder dies.
_OFD = sys.platform == "linux" and struct.calcsize("P") == 8
_FLOCK = struct.Struct("hhqqi4x")  # struct flock on 64-bit Linux: type, whence, start, len, pid
_WRLCK, _UNLCK, _F_OFD_SETLK = 1, 2, 37


class FileLock:
    """A per-key exclusive lock under ``directory``, released by the kernel if the holder dies.

    On 64-bit Linux every key is one byte of a single ``keys.lock`` file, locked with an
    open-file-description lock at an offset taken from the key's 62-bit hash: no file per
    key (the directory never grows) and no collisions in practice. Elsewhere it is a
    ``flock`` on ``<sha256(key)>.lock``; those files stay (deleting one would race other
    lockers).
    """

    def __init__(self, directory: str | Path, key: str) -> None:
        self.directory = str(directory)
        if _OFD:
            import xxhash

            self.path = os.path.join(self.directory, "keys.lock")
            self.offset = xxhash.xxh3_64_intdigest(key.encode()) >> 2
        else:
            import hashlib

            self.path = os.path.join(self.directory, f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.lock")
            self.offset = 0
        self._fd: int | None = None

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(self.path, flags, 0o600)
        except FileNotFoundError:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            return os.open(self.path, flags, 0o600)

    def try_acquire(self) -> bool:
        """Take the key's lock without waiting; false if another holder has it."""
        import fcntl

        fd = self._open()
        won = False
        try:
            if _OFD:
                fcntl.fcntl(fd, _F_OFD_SETLK, _FLOCK.pack(_WRLCK, os.SEEK_SET, self.offset, 1, 0))
            else:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._fd = fd
            won = True
            _held.add(self)
        except OSError:
            pass
        finally:
            if not won:  # busy, or interrupted before the lock was recorded: closing frees it
                self._fd = None
                os.close(fd)
        return won

    def release(self) -> None:
        """Unlock and close (closing alone would free it too); the lock file stays."""
        fd, self._fd = self._fd, None
        _held.discard(self)
        if fd is not None:
            import fcntl

            with contextlib.suppress(OSError):
                if _OFD:
                    fcntl.fcntl(fd, _F_OFD_SETLK, _FLOCK.pack(_UNLCK, os.SEEK_SET, self.offset, 1, 0))
                else:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def forget(self) -> None:
        """In a forked child: close the inherited descriptor without unlocking (the parent's lock stays)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # the lock lives while any descriptor of its open file does: the parent's

    async def atry_acquire(self) -> bool:
        """Non-blocking, so it runs inline."""
        return self.try_acquire()

    async def arelease(self) -> None:
        """Inline :meth:`release`."""
        self.release()


# Locks this process holds (taken, not yet released); a forked child forgets them (closes
# its copy of the descriptor without unlocking).
_held: set[FileLock] = forgotten_at_fork(set())
