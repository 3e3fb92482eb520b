"""Cross-process single-flight: take the backend's per-key lock, or wait for the result.

The in-process leader of a key calls :func:`acquire` (or :func:`aacquire`). It returns
``(lock, entry)``: a held lock to release after storing, and ``MISS``; or no lock and the
entry another process stored while we waited; or no lock and ``MISS`` when the backend
has no locks (it does not declare the ``Locking`` capability), the wait reached
``lock_timeout`` (compute alone rather than hang), or the backend failed (the policy has
been told). Locks are driven only through the ``CrossLock`` protocol.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from memo._policy import Policy
from memo._types import MISS
from memo.backends._base import CrossLock, poll_delays

if TYPE_CHECKING:
    from memo._store import Store

__all__ = ["LEASE", "aacquire", "acquire", "arelease", "release"]

LEASE = 10.0  # seconds a Redis lease lives without its holder extending it


def acquire(store: Store, key: str, timeout: float, policy: Policy) -> tuple[CrossLock | None, Any]:
    """Take ``key``'s cross-process lock, or return the entry someone else stored meanwhile."""
    try:
        lock = store.make_lock(key, LEASE)
        if lock is None or lock.try_acquire():
            return lock, MISS
    except Exception as exc:
        store.lock_failed(exc, policy)
        return None, MISS
    deadline = time.monotonic() + timeout
    for delay in poll_delays():
        entry = store.load(key, policy)
        if entry is not MISS or time.monotonic() >= deadline:
            return None, entry
        time.sleep(delay)
        try:
            won = lock.try_acquire()
        except Exception as exc:
            store.lock_failed(exc, policy)
            return None, MISS
        if won:
            try:
                return lock, store.load(key, policy)  # the holder may have stored just before releasing
            except BaseException:  # interrupted (or on_error="raise") before the caller has the lock
                release(lock)
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def aacquire(store: Store, key: str, timeout: float, policy: Policy) -> tuple[CrossLock | None, Any]:
    """Async :func:`acquire`."""
    try:
        lock = store.make_lock(key, LEASE)
        if lock is None or await lock.atry_acquire():
            return lock, MISS
    except Exception as exc:
        store.lock_failed(exc, policy)
        return None, MISS
    deadline = time.monotonic() + timeout
    for delay in poll_delays():
        entry = await store.aload(key, policy)
        if entry is not MISS or time.monotonic() >= deadline:
            return None, entry
        await _sleep(delay)
        try:
            won = await lock.atry_acquire()
        except Exception as exc:
            store.lock_failed(exc, policy)
            return None, MISS
        if won:
            try:
                return lock, await store.aload(key, policy)  # the holder may have stored just before releasing
            except BaseException:  # cancelled (or on_error="raise") before the caller has the lock
                await arelease(lock)
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _sleep(delay: float) -> None:
    import asyncio

    await asyncio.sleep(delay)


def release(lock: CrossLock | None) -> None:
    """Release a held lock (errors are swallowed: the lease or the kernel frees it anyway).

    A lock's ``release`` stops whatever keeps it alive before its first wait, so even an
    interrupt during the release leaves at most a lease that expires on its own.
    """
    if lock is not None:
        try:
            lock.release()
        except Exception:
            pass


async def arelease(lock: CrossLock | None) -> None:
    """Async :func:`release`."""
    if lock is not None:
        try:
            await lock.arelease()
        except Exception:
            pass
