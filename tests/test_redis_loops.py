"""Async Redis connections belong to their event loop: closed when it finishes, reused inside it."""

from __future__ import annotations

import asyncio
import gc
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import memo
from tests._servers import Server

RUNS = 40
WIDTH = 4  # concurrent cached calls per loop


def _stat(raw: Any, section: str, name: str) -> int:
    return int(raw.info(section)[name])


@pytest.fixture
def raw(own_redis_server: Server) -> Iterator[Any]:
    """A plain client on the test's own server, for INFO."""
    import redis

    client = redis.Redis.from_url(own_redis_server.url)
    yield client
    client.close()


def _runs(backend: Any, lock: bool) -> None:
    @memo.cache(backend=backend, lock=lock)
    async def f(run: int, k: int) -> int:
        await asyncio.sleep(0.001)
        return run * WIDTH + k

    async def main(run: int) -> None:
        assert await asyncio.gather(*(f(run, k) for k in range(WIDTH))) == [run * WIDTH + k for k in range(WIDTH)]
        assert await f(run, 0) == run * WIDTH  # a hit, on a connection the loop already has

    for run in range(RUNS):
        asyncio.run(main(run))


@pytest.mark.parametrize("lock", [True, False], ids=["with-leases", "no-leases"])
def test_finished_loops_close_their_connections(own_redis_server: Server, raw: Any, lock: bool) -> None:
    """40 asyncio.run() calls of 4 concurrent cached calls: no connection outlives its loop, none warns."""
    backend = memo.RedisBackend(own_redis_server.url, prefix=f"loops-{uuid.uuid4().hex[:6]}:")
    baseline = _stat(raw, "clients", "connected_clients")
    received = _stat(raw, "stats", "total_connections_received")
    gc.collect()
    gc.disable()  # what is left open must be closed by memo, not by the collector
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _runs(backend, lock)
            still_open = _stat(raw, "clients", "connected_clients") - baseline
            gc.enable()
            gc.collect()
    finally:
        gc.enable()
    opened = _stat(raw, "stats", "total_connections_received") - received
    leaks = [str(w.message)[:80] for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []
    assert still_open == 0
    assert opened <= RUNS * (WIDTH + 1)  # within one loop, connections are reused
    backend.close()


def test_explicit_aclose_then_loop_end_closes_once(own_redis_server: Server, raw: Any) -> None:
    """aclose() inside the loop, then the loop's end: connections closed once, the loop can use the backend again."""
    backend = memo.RedisBackend(own_redis_server.url, prefix=f"loops-{uuid.uuid4().hex[:6]}:")

    async def main() -> None:
        await backend.aset("k", b"v")
        await backend.aclose()
        assert await backend.aget("k") == b"v"  # a fresh set of connections for this loop

    baseline = _stat(raw, "clients", "connected_clients")
    gc.disable()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            asyncio.run(main())
            still_open = _stat(raw, "clients", "connected_clients") - baseline
            gc.enable()
            gc.collect()
    finally:
        gc.enable()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert still_open == 0
    backend.close()
