"""``RedisLock``: the Redis backend's per-key lease (memo's ``Locking`` capability).

``SET key token NX PX lease`` takes it; the holder keeps extending it (a keeper thread for
sync holders, a task for async ones) and deletes it only if it is still its own (a Lua
compare-and-delete). A holder that dies stops extending, so the lease expires after
``lease`` seconds and a waiter computes.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from memo.backends._base import forgotten_at_fork

if TYPE_CHECKING:
    import asyncio

__all__ = ["RedisLock"]

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

# Locks this process holds (taken, not yet released); a forked child forgets them (never
# extends or deletes a lease of its parent's).
_held: set[RedisLock] = forgotten_at_fork(set())


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
