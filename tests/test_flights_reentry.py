"""Re-entrant calls: a body that calls its own key computes at once, like ``lru_cache``.

The guard is pytest-timeout: before the fix the inner call waited ``lock_timeout`` (60 s)
on its own in-process flight or its own cross-process lock.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import memo

pytestmark = pytest.mark.timeout(30)

# `backend` (conftest) covers each lock kind: the in-process flight, a file byte-range lock, a Redis lease.


def test_sync_reentrant_call_computes_at_once(backend: Any) -> None:
    """A sync body calling itself with the same arguments gets the inner result at once, no wait."""
    runs: list[int] = []

    @memo.cache(backend=backend)
    def depth(x: int) -> int:
        runs.append(x)
        if len(runs) == 1:
            return depth(x) + 1  # the same key, from inside its own computation
        return 0

    assert depth(5) == 1
    assert runs == [5, 5]
    assert depth(5) == 1  # the outer (last) result is the stored one
    assert depth.cache_info().hits == 1


async def test_async_reentrant_call_computes_at_once(backend: Any) -> None:
    """An async body awaiting itself with the same arguments gets the inner result at once, no wait."""
    runs: list[int] = []

    @memo.cache(backend=backend)
    async def depth(x: int) -> int:
        runs.append(x)
        if len(runs) == 1:
            return await depth(x) + 1
        return 0

    try:
        assert await depth(5) == 1
        assert runs == [5, 5]
        assert await depth(5) == 1
    finally:
        await backend.aclose()


async def test_task_spawned_by_the_body_computes_at_once() -> None:
    """A task the body starts and awaits on its own key inherits the re-entry, so it does not wait for its parent."""
    runs: list[int] = []

    @memo.cache
    async def depth(x: int) -> int:
        runs.append(x)
        if len(runs) == 1:
            inner = await asyncio.gather(depth(x), depth(x))
            return sum(inner) + 1
        return 0

    assert await depth(2) == 1
    assert runs == [2, 2]  # the first inner task computed and stored; the second one hit


def test_other_threads_still_share_one_flight() -> None:
    """Re-entry is per caller: another thread calling the key while it computes still waits for that one run."""
    runs: list[int] = []
    started = threading.Event()
    results: list[int] = []

    @memo.cache(ignore=("started", "follower"))
    def slow(x: int) -> int:
        runs.append(x)
        started.set()
        follower.join(0.3)  # give the other thread time to join this flight
        return x * 10

    follower = threading.Thread(target=lambda: (started.wait(), results.append(slow(3))))
    follower.start()
    assert slow(3) == 30
    follower.join()
    assert results == [30]
    assert runs == [3]


_release = threading.Event()


def test_reentry_from_a_refresh_does_not_wait_for_another_callers_flight() -> None:
    """A body run by cache_refresh (no flight of its own) calling its key computes at once, not after lock_timeout."""
    _release.clear()
    calls: list[str] = []

    @memo.cache
    def value(x: int) -> int:
        calls.append(threading.current_thread().name)
        if threading.current_thread().name == "leader":
            _release.wait(30)  # holds this key's flight until the refresh is done
            return 0
        if len(calls) == 2:
            return value(x) + 1  # re-entry from the refresh's body
        return 0

    leader = threading.Thread(target=value, args=(1,), name="leader")
    leader.start()
    while not calls:
        time.sleep(0.01)
    try:
        assert value.cache_refresh(1) == 1
    finally:
        _release.set()
        leader.join()
    assert calls == ["leader", "MainThread", "MainThread"]


def test_cold_recursive_fib_400_computes_like_lru_cache() -> None:
    """A cold recursive fib(400) computes (two Python frames per cached level), where lru_cache does too."""
    import functools

    @functools.cache
    def plain(n: int) -> int:
        return n if n < 2 else plain(n - 1) + plain(n - 2)

    @memo.cache
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(400) == plain(400)
    assert fib.cache_info().misses == 401
