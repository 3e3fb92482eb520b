"""Redis (and Valkey) backend on redis-py: a sync client plus one asyncio client per loop.

The hot commands (GET, SET, UNLINK of one key) go over connections this backend keeps in
a free list of its own, straight through ``send_command``/``read_response``. That skips
redis-py's per-command pool checkout, retry wrapper and observability hooks, which cost
about as much as the loopback round trip itself. Scans, clears and locks use the ordinary
clients. Clients passed in by the user are always used as they are.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from memo.backends._base import BaseBackend, CrossLock
from memo.backends._redis_conn import _BIG_SEND, _ADirect, _Direct, _InThread, _Loop
from memo.backends._redis_lock import RedisLock
from memo.exceptions import ConfigurationError

__all__ = ["RedisBackend"]

_INSTALL = "RedisBackend needs the redis package: pip install 'memo-cache[redis]'"
_SCHEMES = ("redis://", "rediss://", "unix://")
_GLOB = re.compile(r"([*?\[\]\\])")
_LOCKS = "\x00lock:"  # lock keys live under the prefix but are never listed or cleared
_HEAD = 65535  # GETRANGE end index: the first 64 KiB
_BATCH = 500  # keys per UNLINK during a clear
_REFUSAL_TTL = 60.0  # seconds a key's refused size is remembered, so the value is not re-sent
_REFUSALS_MAX = 1024  # keys remembered at most
_TIMEOUTS: dict[str, Any] = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0}


def _redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ConfigurationError(_INSTALL) from exc
    return redis


def _split_url(url: str) -> tuple[str, bool]:
    """``redis+cluster://h:p`` -> (``redis://h:p``, True); other URLs unchanged."""
    scheme, sep, rest = url.partition("://")
    if scheme.lower().endswith("+cluster"):
        return f"{scheme[: -len('+cluster')]}{sep}{rest}", True
    return url, False


def _px(ttl: float | None) -> tuple[Any, ...]:
    return () if ttl is None else ("PX", max(1, int(ttl * 1000)))


def _decodes(client: Any) -> bool:
    """True when a redis-py client decodes replies to str (``decode_responses=True``)."""
    try:
        return bool(client.get_encoder().decode_responses)
    except Exception:  # not a redis-py client, or one without an encoder: nothing to check
        return False


def _is_oom(exc: BaseException) -> bool:
    """The server refused a write for lack of memory (``maxmemory`` with ``noeviction``)."""
    return str(exc).startswith("OOM") or type(exc).__name__ == "OutOfMemoryError"


class RedisBackend(BaseBackend):
    """Results in Redis or Valkey, shared by every process and host that reaches the server.

    Keys are stored as ``prefix + key`` (default prefix ``"memo:"``); ``clear`` SCANs and
    UNLINKs only that prefix (on a cluster, every primary). TTLs use ``PX``. Sync calls use
    one ``redis.Redis``; async calls use one ``redis.asyncio.Redis`` per running event loop,
    never shared across loops. Connections time out after 1 s (connect) and 2 s (socket),
    so a dead server fails fast. URLs: ``redis://``, ``rediss://``, ``unix://``, and
    ``redis+cluster://host:port`` for Redis Cluster. ``client=`` takes a ready
    ``redis.Redis``, ``RedisCluster`` or their ``redis.asyncio`` counterparts::

        backend = memo.RedisBackend("redis://localhost:6379/0")

        @memo.cache(backend=backend, ttl=300)
        async def profile(user_id: int) -> dict: ...
    """

    def __init__(self, url: str | None = None, *, client: Any = None, prefix: str = "memo:") -> None:
        redis = _redis()
        if not isinstance(prefix, str) or not prefix:
            raise ConfigurationError(f"RedisBackend(prefix={prefix!r}): pass a non-empty string such as 'memo:'")
        if url is not None and client is not None:
            raise ConfigurationError("RedisBackend: pass either url= or client=, not both")
        if url is None and client is None:
            url = os.environ.get("MEMO_REDIS_URL", "redis://localhost:6379/0")
        self.prefix = prefix
        self.url = url
        self._redis = redis
        self._errors = errors = redis.exceptions
        # Failures that mean the server is unreachable or slow: only these open memo's breaker.
        self.transient_errors: tuple[type[BaseException], ...] = (
            errors.ConnectionError,
            errors.TimeoutError,
            errors.ClusterError,
            errors.RedisClusterException,
        )
        self._refused: dict[str, tuple[float, int, type[BaseException], str]] = {}
        self._cluster = False
        self._client: Any = None
        self._user_async: Any = None
        self._direct: _Direct | None = None
        self._plain_url = ""
        self._opening = threading.Lock()
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = weakref.WeakKeyDictionary()
        if client is not None:
            self._adopt(client)
        elif isinstance(url, str):
            self._plain_url, self._cluster = _split_url(url)
            if not self._plain_url.lower().startswith(_SCHEMES):
                raise ConfigurationError(
                    f"RedisBackend({url!r}): use redis://, rediss://, unix://, redis+cluster:// or rediss+cluster://"
                )
        else:
            raise ConfigurationError(f"RedisBackend(url={url!r}): pass a URL string such as 'redis://localhost:6379/0'")

    def _adopt(self, client: Any) -> None:
        import redis.asyncio
        import redis.asyncio.cluster
        import redis.cluster

        self._cluster = isinstance(client, (redis.cluster.RedisCluster, redis.asyncio.cluster.RedisCluster))
        if _decodes(client):
            raise ConfigurationError(
                f"RedisBackend(client={type(client).__name__}(..., decode_responses=True)): memo stores bytes, and "
                "this client decodes every reply to str, so nothing could ever be read back. Pass a client made "
                "with decode_responses=False (the default), e.g. redis.Redis(host=..., port=...), or the URL: "
                "memo.RedisBackend('redis://host:6379/0')"
            )
        if isinstance(client, (redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster)):
            self._user_async = client
        elif callable(getattr(client, "get", None)) and callable(getattr(client, "scan_iter", None)):
            self._client = client
        else:
            raise ConfigurationError(
                f"RedisBackend(client={client!r}): pass a redis.Redis, redis.cluster.RedisCluster "
                "or a redis.asyncio client"
            )

    def __repr__(self) -> str:
        where = self.url if self.url is not None else type(self._client or self._user_async).__name__
        return f"RedisBackend({where!r}, prefix={self.prefix!r})"

    # -- clients -----------------------------------------------------------------------
    def _sync(self) -> Any:
        client = self._client
        if client is None:
            with self._opening:  # two threads' first calls open one client, not two
                return self._open_sync()
        return client

    def _open_sync(self) -> Any:
        client = self._client
        if client is None:
            if self._user_async is not None:
                raise ConfigurationError(
                    "this RedisBackend was given an asyncio client, so it serves only async def functions; "
                    "pass a URL or a sync redis.Redis client for sync functions"
                )
            if self._cluster:
                from redis.cluster import RedisCluster

                client = RedisCluster.from_url(self._plain_url, **_TIMEOUTS)
            else:
                client = self._redis.Redis.from_url(self._plain_url, decode_responses=False, **_TIMEOUTS)
                pool = client.connection_pool
                self._direct = _Direct(lambda: pool.connection_class(**pool.connection_kwargs), self._errors)
            self._client = client
        return client

    def _loop(self) -> _Loop:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None or state.closed:
            state = self._loops[loop] = self._new_loop_state()
            state.watch()  # closed when this loop shuts down
            for other in [lp for lp in self._loops if lp.is_closed()]:
                self._loops.pop(other, None)  # closed without asyncio.run's shutdown: left to the collector
        return state

    def _new_loop_state(self) -> _Loop:
        if self._user_async is not None:
            return _Loop(self._user_async, None)
        if not self._plain_url:  # built from a sync client: no settings to open an async one
            return _Loop(_InThread(self._sync()), None)
        if self._cluster:
            from redis.asyncio.cluster import RedisCluster

            return _Loop(RedisCluster.from_url(self._plain_url, **_TIMEOUTS), None, own=True)
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(self._plain_url, decode_responses=False, **_TIMEOUTS)
        pool = client.connection_pool
        return _Loop(client, _ADirect(lambda: pool.connection_class(**pool.connection_kwargs), self._errors), own=True)

    def _k(self, key: str) -> str:
        return self.prefix + key

    def _pattern(self, prefix: str) -> str:
        return _GLOB.sub(r"\\\1", self.prefix + prefix) + "*"

    def _visible(self, raw: bytes | str) -> str | None:
        """The memo key of a scanned name; None for lock keys and for names memo cannot have
        written (not UTF-8: another program's key that happens to share the prefix)."""
        try:
            text = raw.decode() if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            return None
        key = text[len(self.prefix) :]
        return None if key.startswith(_LOCKS) else key

    # -- sync protocol -----------------------------------------------------------------
    def _run(self, *args: Any) -> Any:
        """One command on one key: over a direct connection when there is one, else the client."""
        client = self._sync()
        direct = self._direct
        return direct.call(*args) if direct is not None else client.execute_command(*args)

    async def _arun(self, *args: Any) -> Any:
        """Async :meth:`_run` on this loop's connections."""
        state = self._loop()
        direct = state.direct
        return await (direct.acall(*args) if direct is not None else state.client.execute_command(*args))

    def get(self, key: str) -> bytes | None:
        """Stored bytes or ``None``."""
        value = self._run("GET", self.prefix + key)
        return None if value is None else bytes(value)

    def get_head(self, key: str) -> bytes | None:
        """The first 64 KiB of a value (enough for a record's metadata), or ``None``."""
        value = self._sync().getrange(self._k(key), 0, _HEAD)
        return bytes(value) or None

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store bytes; ``ttl`` seconds become ``PX`` milliseconds.

        A value the server refuses for lack of memory (OOM), or drops the connection over
        (a value over its ``proto-max-bulk-len`` while the server still answers PING: raised
        as ``redis.exceptions.DataError``, not as a connection error), is not re-sent for
        60 s: the same error is raised at once for that key and a value at least half as big.
        """
        if self._refused:
            self._check_refused(key, len(value))
        try:
            self._run("SET", self.prefix + key, value, *_px(ttl))
        except self._errors.RedisError as exc:
            error = self._refusal(key, len(value), exc, self._dropped(len(value), exc) and self._answers())
            if error is exc:
                raise
            raise error from exc

    def _answers(self) -> bool:
        """True when the server answers PING (so a failure was about the request, not the server)."""
        try:
            return bool(self._sync().ping())
        except Exception:
            return False

    async def _aanswers(self) -> bool:
        """Async :meth:`_answers`."""
        try:
            return bool(await self._loop().client.ping())
        except Exception:
            return False

    # -- refused values ----------------------------------------------------------------
    def _check_refused(self, key: str, size: int) -> None:
        """Raise again the refusal remembered for ``key`` if it still holds for ``size`` bytes."""
        found = self._refused.get(key)
        if found is None:
            return
        until, refused, kind, message = found
        if time.monotonic() >= until:
            self._refused.pop(key, None)
        elif 2 * size >= refused:  # records of one result differ by a few header bytes
            raise kind(
                f"{message} (memo did not re-send this value: the server refused {refused} bytes "
                f"for this key within the last {_REFUSAL_TTL:.0f} s)"
            )

    def _dropped(self, size: int, exc: BaseException) -> bool:
        """A big write lost its connection: maybe the server refused the value's size."""
        return size >= _BIG_SEND and isinstance(exc, self._errors.ConnectionError)

    def _refusal(self, key: str, size: int, exc: BaseException, refused_size: bool) -> BaseException:
        """The error a failed SET raises; a refusal of the value (not of the server) is remembered.

        ``refused_size``: the connection was dropped on a big value by a server that still
        answers, so the value itself was refused: a ``DataError``, which opens no breaker.
        """
        if refused_size:
            exc = self._errors.DataError(
                f"the server dropped the connection while receiving a {size}-byte value (over its "
                "proto-max-bulk-len or client-query-buffer-limit?); it still answers other commands"
            )
        self._note_refused(key, size, exc)
        return exc

    def _note_refused(self, key: str, size: int, exc: BaseException) -> None:
        """Remember a refusal of ``key``'s value (bounded table, oldest entries dropped first)."""
        if not (_is_oom(exc) or isinstance(exc, self._errors.DataError)):
            return
        table = self._refused
        if len(table) >= _REFUSALS_MAX:
            now = time.monotonic()
            stale = [k for k, v in list(table.items()) if v[0] <= now] or list(table)[: _REFUSALS_MAX // 2]
            for old in stale:
                table.pop(old, None)
        table[key] = (time.monotonic() + _REFUSAL_TTL, size, type(exc), str(exc))

    def delete(self, key: str) -> bool:
        """Unlink one key; true if it existed."""
        return bool(self._run("UNLINK", self.prefix + key))

    def clear(self, prefix: str = "") -> int:
        """SCAN + UNLINK the keys under this backend's prefix plus ``prefix``; nothing else."""
        client = self._sync()
        count = 0
        batch: list[bytes] = []
        for raw in client.scan_iter(match=self._pattern(prefix), count=1000):
            if self._visible(raw) is None:
                continue
            batch.append(raw)
            if len(batch) >= _BATCH:
                count += int(client.unlink(*batch))  # a cluster client splits it by slot
                batch = []
        if batch:
            count += int(client.unlink(*batch))
        return count

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Live keys under the prefix (SCAN, so it never blocks the server)."""
        for raw in self._sync().scan_iter(match=self._pattern(prefix), count=1000):
            key = self._visible(raw)
            if key is not None:
                yield key

    def set_releasing(self, key: str, value: bytes, ttl: float | None, lock: CrossLock) -> None:
        """:meth:`set`, and release ``lock`` (a lease of this backend) in the same round trip.

        Without a direct connection (a cluster or a user's client) it is a plain :meth:`set`
        and the lock is released by its holder as usual.
        """
        self._sync()
        direct = self._direct
        if direct is None or type(lock) is not RedisLock:
            return self.set(key, value, ttl)
        if self._refused:
            self._check_refused(key, len(value))
        try:
            replies = direct.pipeline(("SET", self.prefix + key, value, *_px(ttl)), lock.release_command())
        except self._errors.RedisError as exc:  # the lock stays held: its holder releases it
            error = self._refusal(key, len(value), exc, self._dropped(len(value), exc) and self._answers())
            if error is exc:
                raise
            raise error from exc
        self._released(key, len(value), lock, replies)
        return None

    async def aset_releasing(self, key: str, value: bytes, ttl: float | None, lock: CrossLock) -> None:
        """Async :meth:`set_releasing`."""
        direct = self._loop().direct
        if direct is None or type(lock) is not RedisLock:
            return await self.aset(key, value, ttl)
        if self._refused:
            self._check_refused(key, len(value))
        try:
            replies = await direct.apipeline(("SET", self.prefix + key, value, *_px(ttl)), lock.release_command())
        except self._errors.RedisError as exc:  # the lock stays held: its holder releases it
            error = self._refusal(key, len(value), exc, self._dropped(len(value), exc) and await self._aanswers())
            if error is exc:
                raise
            raise error from exc
        self._released(key, len(value), lock, replies)
        return None

    def _released(self, key: str, size: int, lock: RedisLock, replies: list[Any]) -> None:
        """After a pipelined SET and lease release: the lease is gone; raise the SET's own error, if any."""
        lock.released()
        if isinstance(replies[0], Exception):
            raise self._refusal(key, size, replies[0], False)

    def make_lock(self, key: str, lease: float) -> RedisLock:
        """A ``SET NX PX`` lease on ``key`` for cross-process single-flight, extended while held::

        lock = backend.make_lock("default:mod.f:v:abc", 10.0)
        """
        return RedisLock(self._run, self._arun, self._k(_LOCKS + key), lease)

    def close(self) -> None:
        """Close the connections this backend opened (a user's client is left open); idempotent.

        Async clients belong to their loops: close them with :meth:`aclose` from the loop.
        """
        direct, self._direct = self._direct, None
        if direct is not None:
            direct.close()
        client = self._client
        if client is not None and self.url is not None:
            self._client = None
            client.close()
        self._loops = weakref.WeakKeyDictionary()

    # -- native async twins --------------------------------------------------------------
    async def aget(self, key: str) -> bytes | None:
        """Async :meth:`get` on this loop's connections."""
        value = await self._arun("GET", self.prefix + key)
        return None if value is None else bytes(value)

    async def aset(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Async :meth:`set`."""
        if self._refused:
            self._check_refused(key, len(value))
        try:
            await self._arun("SET", self.prefix + key, value, *_px(ttl))
        except self._errors.RedisError as exc:
            error = self._refusal(key, len(value), exc, self._dropped(len(value), exc) and await self._aanswers())
            if error is exc:
                raise
            raise error from exc

    async def adelete(self, key: str) -> bool:
        """Async :meth:`delete`."""
        return bool(await self._arun("UNLINK", self.prefix + key))

    async def aclear(self, prefix: str = "") -> int:
        """Async :meth:`clear`."""
        client = self._loop().client
        keys = [raw async for raw in client.scan_iter(match=self._pattern(prefix), count=1000)]
        keys = [k for k in keys if self._visible(k) is not None]
        count = 0
        for start in range(0, len(keys), _BATCH):
            count += int(await client.unlink(*keys[start : start + _BATCH]))
        return count

    async def akeys(self, prefix: str = "") -> AsyncIterator[str]:
        """Async :meth:`keys`."""
        async for raw in self._loop().client.scan_iter(match=self._pattern(prefix), count=1000):
            visible = self._visible(raw)
            if visible is not None:
                yield visible

    async def aclose(self) -> None:
        """Close this loop's async connections (a user's client is left open); idempotent."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - always awaited inside a loop
            return
        state = self._loops.pop(loop, None)
        if state is not None:
            await state.aclose()

    def get_heads(self, keys: Sequence[str]) -> list[bytes | None]:
        """:meth:`get_head` of many keys, pipelined (one round trip per 1000 keys); ``None`` where absent.

        ``memo.admin`` reads every entry's metadata this way: key by key, 1e5 heads cost
        1e5 round trips. Example::

            heads = backend.get_heads(list(backend.keys("default:")))
        """
        client = self._sync()
        heads: list[bytes | None] = []
        for start in range(0, len(keys), 1000):
            pipe = client.pipeline(transaction=False)
            for key in keys[start : start + 1000]:
                pipe.getrange(self._k(key), 0, _HEAD)
            heads.extend(bytes(value) or None for value in pipe.execute())
        return heads
