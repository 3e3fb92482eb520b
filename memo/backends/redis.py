"""Redis (and Valkey) backend on redis-py: a sync client plus one asyncio client per loop."""

from __future__ import annotations

import asyncio
import os
import re
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

from memo.backends._base import BaseBackend
from memo.exceptions import ConfigurationError

__all__ = ["RedisBackend"]

_INSTALL = "RedisBackend needs the redis package: pip install 'memo-cache[redis]'"
_GLOB = re.compile(r"([*?\[\]\\])")
_LOCKS = "\x00lock:"  # lock keys live under the prefix but are never listed or cleared
_HEAD = 65535
_BATCH = 500


def _redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ConfigurationError(_INSTALL) from exc
    return redis


def _split_url(url: str) -> tuple[str, bool]:
    scheme, sep, rest = url.partition("://")
    if scheme.endswith("+cluster"):
        return f"{scheme[: -len('+cluster')]}{sep}{rest}", True
    return url, False


class RedisBackend(BaseBackend):
    """Results in Redis or Valkey, shared by every process and host that reaches the server.

    Keys are stored under ``prefix`` (default ``"memo:"``) and ``clear`` scans and unlinks
    only that prefix. TTLs use ``PX``. Sync calls use one ``redis.Redis``; async calls use
    one ``redis.asyncio.Redis`` per running event loop (never shared across loops). Pass
    ``redis+cluster://host:port`` or a ``RedisCluster`` client for Redis Cluster::

        backend = memo.RedisBackend("redis://localhost:6379/0")

        @memo.cache(backend=backend, ttl=300)
        async def profile(user_id: int) -> dict: ...
    """

    def __init__(self, url: str | None = None, *, client: Any = None, prefix: str = "memo:") -> None:
        redis = _redis()
        if not isinstance(prefix, str) or not prefix:
            raise ConfigurationError(f"RedisBackend(prefix={prefix!r}): pass a non-empty string such as 'memo:'")
        if url is None and client is None:
            url = os.environ.get("MEMO_REDIS_URL", "redis://localhost:6379/0")
        self.prefix = prefix
        self.url = url
        self._cluster = False
        self._client: Any = None
        self._shared_async: Any = None
        if client is not None:
            self._cluster = "Cluster" in type(client).__name__
            if type(client).__module__.startswith("redis.asyncio"):
                self._shared_async = client
            else:
                self._client = client
        elif url is not None:
            plain, self._cluster = _split_url(url)
            if not plain.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigurationError(f"RedisBackend({url!r}): use redis://, rediss://, unix:// or redis+cluster://")
            self._plain_url = plain
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._redis = redis

    def __repr__(self) -> str:
        return f"RedisBackend({self.url!r}, prefix={self.prefix!r})"

    # -- clients -----------------------------------------------------------------------
    def _options(self) -> dict[str, Any]:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return {"socket_connect_timeout": 1.0, "socket_timeout": 5.0, "retry": Retry(NoBackoff(), 1)}

    def _sync(self) -> Any:
        client = self._client
        if client is None:
            if self._shared_async is not None:
                raise ConfigurationError(
                    "this RedisBackend was given an asyncio client, so it serves only async def functions; "
                    "pass a URL or a sync redis.Redis client for sync functions"
                )
            if self._cluster:
                from redis.cluster import RedisCluster

                client = RedisCluster.from_url(self._plain_url, socket_connect_timeout=1.0, socket_timeout=5.0)
            else:
                client = self._redis.Redis.from_url(self._plain_url, **self._options())
            self._client = client
        return client

    def _async(self) -> Any:
        if self._shared_async is not None:
            return self._shared_async
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            if self.url is None:  # built from a sync client only: no URL to open an async one
                return None
            if self._cluster:
                from redis.asyncio.cluster import RedisCluster

                client = RedisCluster.from_url(self._plain_url, socket_connect_timeout=1.0, socket_timeout=5.0)
            else:
                import redis.asyncio

                client = redis.asyncio.Redis.from_url(self._plain_url, **self._options())
            self._aclients[loop] = client
        return client

    def _k(self, key: str) -> str:
        return self.prefix + key

    def _pattern(self, prefix: str) -> str:
        return _GLOB.sub(r"\\\1", self.prefix + prefix) + "*"

    def _visible(self, raw: bytes | str) -> str | None:
        text = raw.decode() if isinstance(raw, bytes) else raw
        key = text[len(self.prefix) :]
        return None if key.startswith(_LOCKS) else key

    # -- sync protocol -----------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """Stored bytes or ``None``."""
        value = self._sync().get(self._k(key))
        return None if value is None else bytes(value)

    def get_head(self, key: str) -> bytes | None:
        """The first 64 KiB of a value (enough for a record's metadata), or ``None``."""
        value = self._sync().getrange(self._k(key), 0, _HEAD)
        return bytes(value) or None

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store bytes; ``ttl`` seconds become ``PX`` milliseconds."""
        px = None if ttl is None else max(1, int(ttl * 1000))
        self._sync().set(self._k(key), value, px=px)

    def delete(self, key: str) -> bool:
        """Unlink one key; true if it existed."""
        return bool(self._sync().unlink(self._k(key)))

    def clear(self, prefix: str = "") -> int:
        """SCAN + UNLINK every key under this backend's prefix plus ``prefix``; nothing else."""
        client = self._sync()
        count = 0
        batch: list[bytes] = []
        for raw in client.scan_iter(match=self._pattern(prefix), count=1000):
            if self._visible(raw) is None:
                continue
            batch.append(raw)
            if len(batch) >= _BATCH:
                count += self._unlink(client, batch)
                batch = []
        if batch:
            count += self._unlink(client, batch)
        return count

    def _unlink(self, client: Any, keys: list[bytes]) -> int:
        if self._cluster:
            return sum(int(client.unlink(k)) for k in keys)
        return int(client.unlink(*keys))

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Live keys under the prefix (SCAN, so it never blocks the server)."""
        for raw in self._sync().scan_iter(match=self._pattern(prefix), count=1000):
            key = self._visible(raw)
            if key is not None:
                yield key

    def make_lock(self, key: str, lease: float) -> Any:
        """A ``SET NX PX`` lease on ``key`` for cross-process single-flight."""
        from memo._locks import RedisLock

        return RedisLock(self._client_for_lock(), self._async, self._k(_LOCKS + key), lease)

    def _client_for_lock(self) -> Any:
        return None if self._shared_async is not None else self._sync()

    def close(self) -> None:
        """Close the sync client's connections; async clients are dropped with their loops."""
        client, self._client = self._client, None
        if client is not None and self.url is not None:
            client.close()
        self._aclients = weakref.WeakKeyDictionary()

    # -- native async twins --------------------------------------------------------------
    async def aget(self, key: str) -> bytes | None:
        """Async :meth:`get` on this loop's client."""
        client = self._async()
        if client is None:
            return await super().aget(key)
        value = await client.get(self._k(key))
        return None if value is None else bytes(value)

    async def aset(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Async :meth:`set`."""
        client = self._async()
        if client is None:
            return await super().aset(key, value, ttl)
        px = None if ttl is None else max(1, int(ttl * 1000))
        await client.set(self._k(key), value, px=px)

    async def adelete(self, key: str) -> bool:
        """Async :meth:`delete`."""
        client = self._async()
        if client is None:
            return await super().adelete(key)
        return bool(await client.unlink(self._k(key)))

    async def aclear(self, prefix: str = "") -> int:
        """Async :meth:`clear`."""
        client = self._async()
        if client is None:
            return await super().aclear(prefix)
        keys = [raw async for raw in client.scan_iter(match=self._pattern(prefix), count=1000)]
        keys = [k for k in keys if self._visible(k) is not None]
        count = 0
        for start in range(0, len(keys), _BATCH):
            chunk = keys[start : start + _BATCH]
            if self._cluster:
                for k in chunk:
                    count += int(await client.unlink(k))
            else:
                count += int(await client.unlink(*chunk))
        return count

    async def akeys(self, prefix: str = "") -> AsyncIterator[str]:
        """Async :meth:`keys`."""
        client = self._async()
        if client is None:
            async for key in super().akeys(prefix):
                yield key
            return
        async for raw in client.scan_iter(match=self._pattern(prefix), count=1000):
            visible = self._visible(raw)
            if visible is not None:
                yield visible

    async def aclose(self) -> None:
        """Close this loop's async client."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - always called from a loop
            return
        client = self._aclients.pop(loop, None)
        if client is not None:
            await client.aclose()
