"""Redis rough edges: decoding application clients, foreign keys, per-backend tables."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

import memo
from memo import _store
from tests._helpers import DictBackend


class Plain(DictBackend, memo.BaseBackend):
    """A real (dict) backend with nothing else, made by the thousand below."""


def test_breaker_table_does_not_outlive_its_backends() -> None:
    """20 000 short-lived backends leave no more breakers behind than backends still alive."""
    gc.collect()
    start = _store.tracked()
    alive: list[Any] = []
    for i in range(20_000):
        backend = Plain()
        _store.store_for(backend, None)
        alive.append(backend)
        if len(alive) > 50:
            alive.pop(0)
        if i % 7 == 0:
            alive.append([0] * (i % 13))  # other objects in between, so ids do not simply repeat
    del backend
    alive.clear()
    gc.collect()
    assert _store.tracked() <= start + 1


def test_breaker_survives_while_its_backend_lives() -> None:
    """A live backend keeps one breaker: an open breaker is not forgotten while it is in use."""
    backend = Plain()
    breaker = _store.store_for(backend, None).breaker
    for _ in range(6):  # open for the longest pause (5 s), so a slow machine's gc.collect() cannot outlast it
        breaker.failed()
    gc.collect()
    assert _store.store_for(backend, b"another secret").breaker is breaker
    assert not _store.store_for(backend, None).breaker.allow()


# -- decoding clients ----------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["sync", "asyncio"])
def test_decoding_client_is_refused_with_advice(redis_url: str, flavour: str) -> None:
    """A client made with decode_responses=True (it could never cache) raises ConfigurationError saying what to pass."""
    import redis
    import redis.asyncio

    factory = redis.Redis if flavour == "sync" else redis.asyncio.Redis
    client = factory.from_url(redis_url, decode_responses=True)
    with pytest.raises(memo.ConfigurationError, match="decode_responses=False"):
        memo.RedisBackend(client=client)


def test_decoding_cluster_client_is_refused(redis_cluster: str) -> None:
    """A RedisCluster client with decode_responses=True is refused the same way."""
    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(redis_cluster.replace("redis+cluster", "redis"), decode_responses=True)
    try:
        with pytest.raises(memo.ConfigurationError, match="decode_responses"):
            memo.RedisBackend(client=client)
    finally:
        client.close()


def test_bytes_client_still_caches(redis_url: str, redis_prefix: str) -> None:
    """A client with the default decode_responses=False is used as it is, and caches."""
    import redis

    client = redis.Redis.from_url(redis_url)
    backend = memo.RedisBackend(client=client, prefix=redis_prefix)
    runs: list[int] = []

    @memo.cache(backend=backend)
    def f(x: int) -> int:
        runs.append(x)
        return x

    assert f(1) == f(1) == 1
    assert runs == [1]
    backend.clear()
    client.close()


# -- foreign keys under the prefix ------------------------------------------------------------


@pytest.fixture
def with_foreign_key(redis_url: str, redis_backend: Any) -> Iterator[tuple[Any, bytes, Any]]:
    """The test backend holding one memo entry plus a foreign key under its prefix that is not UTF-8."""
    import redis

    raw = redis.Redis.from_url(redis_url)
    foreign = redis_backend.prefix.encode() + b"\xff\xfe-not-utf8"
    raw.set(foreign, b"theirs")
    redis_backend.set("default:m.f:v:abc", b"ours")
    try:
        yield redis_backend, foreign, raw
    finally:
        raw.delete(foreign)
        raw.close()


def test_non_utf8_foreign_key_is_neither_listed_nor_deleted(with_foreign_key: tuple[Any, bytes, Any]) -> None:
    """keys() and clear() skip a non-UTF-8 key under the prefix instead of raising, and leave it in place."""
    backend, foreign, raw = with_foreign_key
    assert list(backend.keys()) == ["default:m.f:v:abc"]
    assert backend.clear() == 1
    assert raw.get(foreign) == b"theirs"
    assert list(backend.keys()) == []


async def test_non_utf8_foreign_key_async(with_foreign_key: tuple[Any, bytes, Any]) -> None:
    """akeys() and aclear() skip a non-UTF-8 key under the prefix the same way."""
    backend, foreign, raw = with_foreign_key
    assert [k async for k in backend.akeys()] == ["default:m.f:v:abc"]
    assert await backend.aclear() == 1
    assert raw.get(foreign) == b"theirs"
    await backend.aclose()
