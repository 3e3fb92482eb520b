"""Deterministic backend errors stay with the function that caused them (real Redis servers).

Only connection and timeout errors open a backend's circuit breaker. A value the server
refuses (OOM), a key of a foreign type (WRONGTYPE) or a TTL the server cannot store is
reported through the failing function's ``on_error`` policy, and every other function on
the same backend keeps caching.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest

import memo
from memo import _config
from tests._servers import Server
from tests.conftest import Kind

BIG = 8 << 20  # bytes: twice the small server's maxmemory


def _prefix() -> str:
    return f"memo-fail-{uuid.uuid4().hex[:8]}:"


def test_oom_write_of_one_function_leaves_the_others_cached(small_redis_server: Server, kind: Kind) -> None:
    """A value Redis refuses with OOM is not stored, and another function on the backend still hits."""
    backend = memo.RedisBackend(small_redis_server.url, prefix=_prefix())
    runs: list[str] = []

    def big(x: int) -> bytes:
        runs.append("big")
        return bytes([x]) * BIG

    def small(x: int) -> int:
        runs.append("small")
        return x + 1

    f = kind.make(big, backend=backend, on_error="ignore")
    g = kind.make(small, backend=backend, on_error="ignore")
    assert kind.call(f, 1) == b"\x01" * BIG
    assert f.cache_info().errors == 1
    assert f.cache_info().stores == 0
    assert kind.call(g, 1) == 2
    assert kind.call(g, 1) == 2
    assert g.cache_info().hits == 1
    assert g.cache_info().stores == 1
    assert runs == ["big", "small"]
    backend.close()


def test_wrongtype_key_of_one_function_leaves_the_others_cached(redis_url: str, kind: Kind) -> None:
    """A foreign list at one function's key (WRONGTYPE on GET) never stops another function from caching."""
    import redis

    prefix = _prefix()
    backend = memo.RedisBackend(redis_url, prefix=prefix)

    def first(x: int) -> int:
        return x * 10

    def second(x: int) -> int:
        return x * 20

    f = kind.make(first, backend=backend, on_error="ignore")
    g = kind.make(second, backend=backend, on_error="ignore")
    raw = redis.Redis.from_url(redis_url)
    raw.rpush(prefix + f.cache_key(1), b"foreign")
    try:
        assert kind.call(f, 1) == 10
        assert f.cache_info().errors >= 1
        assert kind.call(g, 1) == 20
        assert kind.call(g, 1) == 20
        assert g.cache_info().hits == 1
    finally:
        raw.delete(prefix + f.cache_key(1))
        raw.close()
        backend.clear()
        backend.close()


def test_deterministic_error_goes_to_the_policy(small_redis_server: Server) -> None:
    """The refused write still reaches the function's policy: on_error='raise' raises BackendError from it."""
    import redis

    backend = memo.RedisBackend(small_redis_server.url, prefix=_prefix())

    @memo.cache(backend=backend, on_error="raise")
    def big() -> bytes:
        return b"x" * BIG

    with pytest.raises(memo.BackendError) as info:
        big()
    assert isinstance(info.value.__cause__, redis.exceptions.ResponseError)
    backend.close()


@pytest.mark.parametrize("lock", [True, False], ids=["store-and-release", "plain-set"])
def test_refused_big_value_is_not_resent(small_redis_server: Server, kind: Kind, lock: bool) -> None:
    """A value refused with OOM is not sent to the server again for its key; each call still counts an error."""
    import redis

    backend = memo.RedisBackend(small_redis_server.url, prefix=_prefix())

    def big(x: int) -> bytes:
        return bytes([x]) * BIG

    f = kind.make(big, backend=backend, on_error="ignore", lock=lock)
    raw = redis.Redis.from_url(small_redis_server.url)
    before = int(raw.info("stats")["total_net_input_bytes"])
    for _ in range(5):
        assert kind.call(f, 2) == b"\x02" * BIG
    sent = int(raw.info("stats")["total_net_input_bytes"]) - before
    raw.close()
    assert BIG <= sent < 2 * BIG
    assert f.cache_info().errors == 5
    assert f.cache_info().stores == 0
    backend.close()


def test_value_over_the_servers_size_limit_leaves_the_others_cached(
    bulk_limited_redis_server: Server, kind: Kind
) -> None:
    """A value over proto-max-bulk-len (the server drops the connection) fails alone; the backend keeps caching."""
    backend = memo.RedisBackend(bulk_limited_redis_server.url, prefix=_prefix())

    def big(x: int) -> bytes:
        return bytes([x]) * (2 << 20)

    def small(x: int) -> int:
        return -x

    f = kind.make(big, backend=backend, on_error="ignore")
    g = kind.make(small, backend=backend, on_error="ignore")
    for _ in range(3):
        assert kind.call(f, 3) == b"\x03" * (2 << 20)
    assert f.cache_info().errors == 3
    assert kind.call(g, 3) == -3
    assert kind.call(g, 3) == -3
    assert g.cache_info().hits == 1
    backend.close()


def test_value_over_the_size_limit_is_a_deterministic_error(bulk_limited_redis_server: Server) -> None:
    """on_error='raise' on a too-big value: BackendError from a non-connection error that names the size."""
    import redis

    backend = memo.RedisBackend(bulk_limited_redis_server.url, prefix=_prefix())

    @memo.cache(backend=backend, on_error="raise")
    def big() -> bytes:
        return b"z" * (2 << 20)

    with pytest.raises(memo.BackendError) as info:
        big()
    assert not isinstance(info.value.__cause__, redis.exceptions.ConnectionError)
    assert re.search(r"dropped the connection while receiving a \d+-byte value", str(info.value.__cause__))
    backend.close()


class Refusing(memo.BaseBackend):
    """A real dict backend whose writes of big values are refused, like a server with a size limit."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        if len(value) > 10_000:
            raise ValueError("value too big for this store")
        self.data[key] = value

    def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None


def test_user_backend_value_error_does_not_open_the_breaker(kind: Kind) -> None:
    """A user backend's ValueError on one write is that function's failure; others keep hitting."""
    backend = Refusing()

    def huge(x: int) -> bytes:
        return b"y" * 20_000

    def same(x: int) -> int:
        return x

    f = kind.make(huge, backend=backend, on_error="ignore")
    g = kind.make(same, backend=backend, on_error="ignore")
    kind.call(f, 1)
    assert kind.call(g, 2) == 2
    assert kind.call(g, 2) == 2
    assert g.cache_info().hits == 1


def test_connection_errors_still_open_the_breaker() -> None:
    """A dead server (connection refused) still opens the breaker: the next call skips the backend."""
    from memo._store import store_for
    from tests._servers import free_port

    backend = memo.RedisBackend(f"redis://127.0.0.1:{free_port()}/0", prefix=_prefix())

    @memo.cache(backend=backend, on_error="ignore")
    def f(x: int) -> int:
        return x

    assert f(1) == 1
    assert not store_for(backend, None).breaker.allow()


# -- TTLs --------------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [1e17, 10**12, float(_config.MAX_TTL) * 2])
def test_ttl_no_backend_can_store_is_refused_at_decoration(ttl: float) -> None:
    """A TTL above memo's maximum raises ConfigurationError at decoration and in configure, naming None."""
    with pytest.raises(memo.ConfigurationError, match="None"):
        memo.cache(ttl=ttl)(lambda: 1)
    with pytest.raises(memo.ConfigurationError, match="None"):
        memo.configure(ttl=ttl)


def test_ttl_timedelta_above_maximum_is_refused() -> None:
    """A timedelta TTL longer than the maximum is refused the same way."""
    import datetime

    with pytest.raises(memo.ConfigurationError, match="maximum"):
        memo.cache(ttl=datetime.timedelta(days=365 * 1000))(lambda: 1)


def _three(tmp_path: Any, redis_url: str) -> list[Any]:
    return [
        memo.MemoryBackend(),
        memo.FileBackend(tmp_path / "file-cache"),
        memo.RedisBackend(redis_url, prefix=_prefix()),
    ]


def test_maximum_ttl_is_stored_by_every_backend(tmp_path: Any, redis_url: str, kind: Kind) -> None:
    """The largest accepted TTL is stored and served by the memory, file and Redis backends."""
    for backend in _three(tmp_path, redis_url):
        runs: list[int] = []

        def ident(x: int) -> int:
            runs.append(x)
            return x

        f = kind.make(ident, backend=backend, ttl=_config.MAX_TTL)
        assert kind.call(f, 3) == 3
        assert kind.call(f, 3) == 3
        assert runs == [3], backend
        assert f.cache_info().hits == 1
        f.cache_clear()
        backend.close()


def test_ttl_zero_means_do_not_store_on_every_backend(tmp_path: Any, redis_url: str, kind: Kind) -> None:
    """ttl=0 computes and returns the result and writes nothing, on the memory, file and Redis backends."""
    for backend in _three(tmp_path, redis_url):
        runs: list[int] = []

        def double(x: int) -> int:
            runs.append(x)
            return x * 2

        f = kind.make(double, backend=backend, ttl=0)
        assert kind.call(f, 4) == 8
        assert kind.call(f, 4) == 8
        assert runs == [4, 4], backend
        info = f.cache_info()
        assert (info.stores, info.hits, info.errors) == (0, 0, 0), backend
        assert list(backend.keys()) == [], backend
        backend.close()


def test_ttl_zero_from_configure_does_not_store() -> None:
    """configure(ttl=0) makes functions without their own TTL compute and store nothing."""
    memo.configure(ttl=0)
    runs: list[int] = []

    @memo.cache
    async def f(x: int) -> int:
        runs.append(x)
        return x

    assert asyncio.run(f(1)) == 1
    assert asyncio.run(f(1)) == 1
    assert runs == [1, 1]
    assert f.cache_info().stores == 0
