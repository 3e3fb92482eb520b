"""Cross-process locks: per-key file locks, and Redis leases kept alive while held and freed when released."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import memo
from memo.backends._redis_lock import RedisLock, _keeper
from tests._helpers import lock_free


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


def test_file_locks_conflict_per_key_and_never_grow_the_directory(tmp_path: Path) -> None:
    """Two lockers of one key conflict (even in one process), other keys are free, and 500 keys add no files."""
    backend = memo.FileBackend(tmp_path / "c")
    first, second, other = backend.make_lock("k", 10), backend.make_lock("k", 10), backend.make_lock("j", 10)
    assert first.try_acquire()
    assert not second.try_acquire()
    assert other.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()
    other.release()
    files = set(os.listdir(tmp_path / "c" / "locks"))
    for i in range(500):
        lock = backend.make_lock(f"key-{i}", 10)
        assert lock.try_acquire()
        lock.release()
    if sys.platform == "linux":
        assert set(os.listdir(tmp_path / "c" / "locks")) == files


def test_file_lock_of_a_killed_holder_is_free(tmp_path: Path) -> None:
    """A process killed while holding a key's file lock frees it at once."""
    code = (
        "import sys, time, memo\n"
        "lock = memo.FileBackend(sys.argv[1]).make_lock('k', 10)\n"
        "assert lock.try_acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "c")], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        lock = memo.FileBackend(tmp_path / "c").make_lock("k", 10)
        assert not lock.try_acquire()
    finally:
        child.kill()
        child.wait()
    assert lock.try_acquire()
    lock.release()


def _lock_keys(backend: Any) -> list[bytes]:
    import redis

    raw = redis.Redis.from_url(backend.url)
    try:
        return [k for k in raw.scan_iter(match=backend.prefix + "*") if b"\x00lock:" in k]
    finally:
        raw.close()


def test_store_frees_the_redis_lease_in_the_same_round_trip(redis_url: str, redis_prefix: str) -> None:
    """A lock=True miss stores and frees its lease through set_releasing (sync and async); nothing stays held."""
    calls: list[str] = []

    class Counting(memo.RedisBackend):
        def set_releasing(self, key: str, value: bytes, ttl: float | None, lock: Any) -> None:
            calls.append("sync")
            super().set_releasing(key, value, ttl, lock)

        async def aset_releasing(self, key: str, value: bytes, ttl: float | None, lock: Any) -> None:
            calls.append("async")
            await super().aset_releasing(key, value, ttl, lock)

    backend = Counting(redis_url, prefix=redis_prefix)
    before = _keeper.held()

    @memo.cache(backend=backend, ignore=("backend",))
    def square(x: int) -> int:
        assert _lock_keys(backend), "the lease is held while the body runs"
        return x * x

    @memo.cache(backend=backend, ignore=("backend",))
    async def acube(x: int) -> int:
        assert _lock_keys(backend), "the lease is held while the body runs"
        return x * x * x

    async def cube_then_aclose(x: int) -> int:
        try:
            return await acube(x)
        finally:
            await backend.aclose()  # this loop's connections close with it

    try:
        assert square(3) == 9
        assert asyncio.run(cube_then_aclose(3)) == 27
        assert calls == ["sync", "async"]
        assert _lock_keys(backend) == []
        assert _keeper.held() == before
        assert square(3) == 9
        assert asyncio.run(cube_then_aclose(3)) == 27
        assert square.cache_info().hits == 1
        assert acube.cache_info().hits == 1
    finally:
        backend.clear()
        backend.close()


def test_released_lease_is_not_deleted_again(redis_backend: Any) -> None:
    """After the pipelined release, the holder's own release leaves a rival's new lease alone."""
    mine, rival = _pair(redis_backend, "again", 10)
    assert mine.try_acquire()
    redis_backend.set_releasing("v", b"x", None, mine)
    assert rival.try_acquire()
    mine.release()
    assert not lock_free(redis_backend, "again", lease=10)
    rival.release()
    assert lock_free(redis_backend, "again", lease=10)
