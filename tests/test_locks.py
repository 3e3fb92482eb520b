"""Cross-process locks: Redis leases are kept alive while held and freed when released."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from memo._locks import RedisLock, _keeper


def _pair(backend: Any, key: str, lease: float) -> tuple[RedisLock, RedisLock]:
    return backend.make_lock(key, lease), backend.make_lock(key, lease)


def test_held_redis_lease_outlives_its_lease_time(redis_backend: Any) -> None:
    """A held lease is extended by the keeper thread, so a rival cannot take it after `lease`; release frees it."""
    mine, rival = _pair(redis_backend, "held", 0.3)
    assert mine.try_acquire()
    try:
        assert _keeper.held() >= 1
        time.sleep(1.0)  # more than three lease times
        assert not rival.try_acquire()
    finally:
        mine.release()
    assert rival.try_acquire()
    rival.release()


def test_released_lease_is_no_longer_extended(redis_backend: Any) -> None:
    """After release the keeper forgets the lease, and a lease whose key vanished is dropped too."""
    lock, _ = _pair(redis_backend, "dropped", 0.3)
    before = _keeper.held()
    assert lock.try_acquire()
    lock.release()
    assert _keeper.held() == before
    assert not lock.extend()  # the key is gone: nothing to extend


def test_unextended_lease_expires(redis_backend: Any) -> None:
    """A lease its holder stops extending (a dead holder) frees itself after `lease`."""
    mine, rival = _pair(redis_backend, "lapse", 0.3)
    assert mine.try_acquire()
    _keeper.discard(mine)  # as if the holder's process had died
    time.sleep(0.5)
    assert rival.try_acquire()
    rival.release()


@pytest.mark.asyncio
async def test_async_held_lease_outlives_its_lease_time(redis_backend: Any) -> None:
    """An async holder's lease is extended from a task on its loop, and arelease frees it."""
    mine, rival = _pair(redis_backend, "aheld", 0.3)
    assert await mine.atry_acquire()
    try:
        await asyncio.sleep(1.0)
        assert not await rival.atry_acquire()
    finally:
        await mine.arelease()
    assert await rival.atry_acquire()
    await rival.arelease()
