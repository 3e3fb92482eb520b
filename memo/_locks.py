"""Cross-process single-flight locks: a lock file per key, or a Redis lease.

Only the in-process leader of a key takes the cross-process lock, so threads and tasks
of one process share one lock per key. Both locks are non-blocking ``try_acquire``; the
drivers poll with backoff (and look for the result meanwhile) up to ``lock_timeout``.
A holder that dies frees the lock: the kernel drops its ``flock`` at once, and a Redis
lease expires after ``lease`` seconds unless the live holder keeps extending it.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import asyncio
    from pathlib import Path

__all__ = ["CrossLock", "FileLock", "RedisLock", "poll_delays"]


class CrossLock(Protocol):
    """A non-blocking cross-process lock on one key."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""

    def release(self) -> None:
        """Give the lock back (only if held)."""

    async def atry_acquire(self) -> bool:
        """Async :meth:`try_acquire`."""

    async def arelease(self) -> None:
        """Async :meth:`release`."""


def poll_delays(first: float = 0.002, factor: float = 1.5, cap: float = 0.1) -> Any:
    """Sleep intervals for waiters: short at first, growing to ``cap``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, cap)


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


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


class _Keeper:
    """One daemon thread per process that extends every held sync Redis lease.

    Each lease is extended a third of the way through it, so a holder that lives keeps its
    lock and a holder that dies loses it within ``lease``. Taking a lock is a dict insert,
    not a thread start (a thread per computation cost more than the round trips).
    """

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        """Start empty (also in a forked child: the parent's leases and thread are not ours)."""
        self._wake = threading.Condition()
        self._due: dict[RedisLock, float] = {}
        self._thread: threading.Thread | None = None

    def add(self, lock: RedisLock) -> None:
        """Keep extending ``lock`` until :meth:`discard`."""
        with self._wake:
            self._due[lock] = time.monotonic() + lock.lease_ms / 3000
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="memo-leases", daemon=True)
                self._thread.start()
            self._wake.notify()

    def discard(self, lock: RedisLock) -> None:
        """Stop extending ``lock``."""
        with self._wake:
            self._due.pop(lock, None)

    def held(self) -> int:
        """How many leases are being kept (for tests)."""
        with self._wake:
            return len(self._due)

    def _run(self) -> None:
        while True:
            with self._wake:
                now = time.monotonic()
                ready = [lock for lock, due in self._due.items() if due <= now]
                if not ready:
                    self._wake.wait(min(self._due.values(), default=now + 60.0) - now)
                    continue
                for lock in ready:
                    self._due[lock] = now + lock.lease_ms / 3000
            for lock in ready:  # network calls outside the condition's lock
                if not lock.extend():
                    self.discard(lock)


_keeper = _Keeper()

# Locks this process holds (taken, not yet released). A forked child inherits them but not
# the computations behind them: it forgets them (closes its copy of a file lock's
# descriptor, never deletes a lease), so the parent's release, or its death, frees them.
_held: set[FileLock | RedisLock] = set()


def _forget_held() -> None:
    for lock in list(_held):
        lock.forget()
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_held)


class RedisLock:
    """``SET key token NX PX lease``; extended while held, released only by its owner.

    ``run``/``arun`` send one command (the backend's own fast path) and return its reply.
    """

    def __init__(self, run: Callable[..., Any], arun: Callable[..., Awaitable[Any]], key: str, lease: float) -> None:
        self._run = run
        self._arun = arun
        self.key = key
        self.lease_ms = max(100, int(lease * 1000))
        self.token = os.urandom(16).hex()
        self._task: asyncio.Task[None] | None = None
        self._done = False

    def try_acquire(self) -> bool:
        """Take the lease if free; the process's lease keeper extends it from then on."""
        try:
            if not self._run("SET", self.key, self.token, "NX", "PX", self.lease_ms):
                return False
            _held.add(self)
            _keeper.add(self)
        except BaseException:  # the server may have applied the SET whose reply was lost: give it back
            self.release()
            raise
        return True

    def extend(self) -> bool:
        """Push the lease's expiry out by ``lease`` if it is still ours; false if it is not (or failed)."""
        try:
            return bool(self._run("EVAL", _EXTEND, 1, self.key, self.token, self.lease_ms))
        except Exception:
            return False  # the lease lapses; waiters will compute on their own

    def release_command(self) -> tuple[Any, ...]:
        """The command that deletes the lease if it is still ours (to pipeline with a store)."""
        if self._done:  # released already, or inherited by a forked child: the lease is not ours to delete
            return ("EVAL", "return 0", 0)
        return ("EVAL", _RELEASE, 1, self.key, self.token)

    def released(self) -> None:
        """Record that :meth:`release_command` ran: stop extending; release becomes a no-op."""
        self._done = True
        _held.discard(self)
        _keeper.discard(self)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    def forget(self) -> None:
        """In a forked child: the parent holds this lease; never extend or delete it from here."""
        self._done = True
        self._task = None

    def release(self) -> None:
        """Stop extending and delete the lease if it is still ours."""
        _keeper.discard(self)
        _held.discard(self)
        if self._done:
            return
        with contextlib.suppress(Exception):
            self._run("EVAL", _RELEASE, 1, self.key, self.token)

    async def atry_acquire(self) -> bool:
        """Async :meth:`try_acquire`, extending the lease from a task on this loop."""
        import asyncio

        try:
            if not await self._arun("SET", self.key, self.token, "NX", "PX", self.lease_ms):
                return False
            _held.add(self)
        except BaseException:  # cancelled after the server applied the SET, maybe: give it back
            await self.arelease()
            raise
        self._task = asyncio.ensure_future(self._akeep_alive())
        return True

    async def _akeep_alive(self) -> None:
        import asyncio

        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                if not await self._arun("EVAL", _EXTEND, 1, self.key, self.token, self.lease_ms):
                    return
            except Exception:
                return

    async def arelease(self) -> None:
        """Async :meth:`release`."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        _held.discard(self)
        if self._done:
            return
        with contextlib.suppress(Exception):
            await self._arun("EVAL", _RELEASE, 1, self.key, self.token)
