"""A cancelled or interrupted caller releases every lock it took (file byte-range lock, Redis lease).

Each test interrupts the caller right after it won the key's cross-process lock (while
it re-reads the cache), then checks that the lock is free at once and that a cold call
does not wait ``lock_timeout``. Real backends only; the guard is pytest-timeout.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import memo
from memo._xflight import LEASE
from memo.backends._redis_lock import RedisLock, _keeper
from tests._helpers import lock_free

pytestmark = pytest.mark.timeout(30)


class Trap:
    """Hooks a backend's reads: frees a rival's lock during the wait, then springs once the caller holds the lock."""

    def __init__(self, is_async: bool) -> None:
        self.is_async = is_async  # which of get/aget counts (a base aget may call get in a thread)
        self.rival: Any = None
        self.reads = 0
        self.armed = True

    def read(self, backend: Any, key: str) -> bool:
        """Count a read; true when this read comes right after the caller won the lock."""
        self.reads += 1
        if self.reads == 2:  # the first poll while the rival holds the lock: let it go
            self.rival.release()
            return False
        if self.reads > 2 and self.armed and not lock_free(backend, key):
            self.armed = False
            return True
        return False


def trapped(base: type, trap: Trap, spring: Any) -> type:
    """A subclass of ``base`` whose ``get``/``aget`` call ``spring`` when ``trap`` says so."""

    class Trapped(base):  # type: ignore[valid-type, misc]
        def get(self, key: str) -> Any:
            if not trap.is_async and trap.read(self, key):
                spring()
            return super().get(key)

        async def aget(self, key: str) -> Any:
            if trap.is_async and trap.read(self, key):
                await spring()
            return await super().aget(key)

    return Trapped


@pytest.fixture(params=["file", "redis"])
def make_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Builds a trapped FileBackend or RedisBackend (a real server); closes it after the test."""
    made: list[Any] = []

    def make(trap: Trap, spring: Any) -> Any:
        if request.param == "file":
            backend = trapped(memo.FileBackend, trap, spring)(tmp_path / "flights-release")
        else:
            url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
            backend = trapped(memo.RedisBackend, trap, spring)(url, prefix=prefix)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.clear()
        backend.close()


def test_keyboard_interrupt_after_winning_the_lock_releases_it(make_backend: Any) -> None:
    """A sync caller interrupted (KeyboardInterrupt) just after it took the cross-process lock gives it back."""
    trap = Trap(is_async=False)

    def interrupt() -> None:
        raise KeyboardInterrupt

    backend = make_backend(trap, interrupt)
    kept = _keeper.held()

    @memo.cache(backend=backend)
    def double(x: int) -> int:
        return x * 2

    key = double.cache_key(21)
    trap.rival = backend.make_lock(key, LEASE)
    assert trap.rival.try_acquire()
    with pytest.raises(KeyboardInterrupt):
        double(21)
    assert not trap.armed, "the trap sprang after the caller won the lock"
    assert lock_free(backend, key)
    assert _keeper.held() == kept  # no lease is being extended for nobody
    assert double(21) == 42  # a cold call takes the lock at once


async def test_cancel_after_winning_the_lock_releases_it(make_backend: Any) -> None:
    """An async caller cancelled just after it took the cross-process lock gives it back (no lease kept alive)."""
    trap = Trap(is_async=True)
    sprung = asyncio.Event()

    async def hang() -> None:
        sprung.set()
        await asyncio.Event().wait()  # until cancelled

    backend = make_backend(trap, hang)

    @memo.cache(backend=backend)
    async def double(x: int) -> int:
        return x * 2

    key = double.cache_key(21)
    trap.rival = backend.make_lock(key, LEASE)
    assert trap.rival.try_acquire()
    try:
        task = asyncio.ensure_future(double(21))
        await sprung.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)  # let a leaked keep-alive task run, if any
        assert lock_free(backend, key)
        others: list[int] = []
        thread = threading.Thread(target=lambda: others.append(asyncio.run(double(21))))
        thread.start()  # a cold call from another thread and loop
        await asyncio.to_thread(thread.join)
        assert others == [42]
    finally:
        await backend.aclose()


def test_redis_interrupted_set_gives_the_lease_back(redis_backend: Any) -> None:
    """A KeyboardInterrupt that loses the reply of the lease's SET (applied by the server) deletes the lease."""

    def run(*args: Any) -> Any:
        reply = redis_backend._run(*args)
        if args[0] == "SET":
            raise KeyboardInterrupt
        return reply

    lock = RedisLock(run, redis_backend._arun, redis_backend._k("\x00lock:k"), LEASE)
    with pytest.raises(KeyboardInterrupt):
        lock.try_acquire()
    assert lock_free(redis_backend, "k")


async def test_redis_cancelled_set_gives_the_lease_back(redis_backend: Any) -> None:
    """A cancel that loses the reply of the lease's SET (applied by the server) deletes the lease."""

    async def arun(*args: Any) -> Any:
        reply = await redis_backend._arun(*args)
        if args[0] == "SET":
            raise asyncio.CancelledError
        return reply

    lock = RedisLock(redis_backend._run, arun, redis_backend._k("\x00lock:k"), LEASE)
    try:
        with pytest.raises(asyncio.CancelledError):
            await lock.atry_acquire()
        assert lock_free(redis_backend, "k")
    finally:
        await redis_backend.aclose()
