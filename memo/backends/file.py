"""On-disk backend built on diskcache: shared safely by the processes of one host."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from memo.backends._base import BaseBackend
from memo.exceptions import ConfigurationError

__all__ = ["FileBackend", "default_directory"]


def default_directory() -> Path:
    """``MEMO_CACHE_DIR``, else the platform's user cache directory plus ``memo``."""
    env = os.environ.get("MEMO_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("memo", appauthor=False))


class FileBackend(BaseBackend):
    """Results on local disk (diskcache/SQLite), shared by every process on the host.

    Values are stored as bytes only, so diskcache never unpickles anything itself; big
    values live in their own files. The directory is created with mode ``0o700``.
    Eviction at ``size_limit`` is least-recently-used at one-minute resolution: a hit
    refreshes the entry's recency at most once a minute per process, so hits are plain
    reads instead of a write transaction each (diskcache's exact LRU writes on every read)::

        @memo.cache(backend=memo.FileBackend("~/.cache/my-project", size_limit=2**32))
        def embed(text: str) -> list[float]: ...
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, size_limit: int = 2**30) -> None:
        if not isinstance(size_limit, int) or isinstance(size_limit, bool) or size_limit <= 0:
            raise ConfigurationError(f"FileBackend(size_limit={size_limit!r}): pass a positive number of bytes")
        self.directory = Path(directory).expanduser() if directory is not None else default_directory()
        self.size_limit = size_limit
        self._cache: Any = None
        self._touch_every = 60.0  # seconds between recency refreshes of one key
        self._touched: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"FileBackend({str(self.directory)!r}, size_limit={self.size_limit})"

    def _open(self) -> Any:
        cache = self._cache
        if cache is None:
            import diskcache

            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            cache = diskcache.Cache(
                str(self.directory),
                size_limit=self.size_limit,
                eviction_policy="least-recently-stored",
                disk=diskcache.Disk,
            )
            self._cache = cache
        return cache

    def get(self, key: str) -> bytes | None:
        """Stored bytes or ``None``; big values are read straight into one writable buffer."""
        cache = self._open()
        value = cache.get(key, default=None, read=True, retry=True)
        if value is None:
            return None
        self._touch(cache, key)
        if isinstance(value, bytes):
            return value
        if not hasattr(value, "readinto"):
            return None  # not something memo wrote
        with value as handle:
            buffer = bytearray(os.fstat(handle.fileno()).st_size)
            view = memoryview(buffer)
            filled = 0
            while filled < len(buffer):
                count = handle.readinto(view[filled:])
                if not count:
                    break
                filled += count
        return buffer if filled == len(buffer) else bytes(buffer[:filled])  # type: ignore[return-value]

    def _touch(self, cache: Any, key: str) -> None:
        """Refresh a hit entry's recency (its store time) at most once per ``_touch_every``."""
        now = time.monotonic()
        last = self._touched.get(key)
        if last is not None and now - last < self._touch_every:
            return
        if len(self._touched) > 65536:
            self._touched.clear()
        self._touched[key] = now
        try:
            cache._sql("UPDATE Cache SET store_time = ? WHERE key = ? AND raw = 1", (time.time(), key))
        except Exception:  # recency is best effort: a busy or read-only database just skips it
            pass

    def get_head(self, key: str, size: int = 65536) -> bytes | None:
        """The first ``size`` bytes of a value (enough for a record's metadata), or ``None``."""
        value = self._open().get(key, default=None, read=True, retry=True)
        if value is None or isinstance(value, bytes):
            return value
        with value as handle:
            return bytes(handle.read(size))

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store bytes, expiring after ``ttl`` seconds."""
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"FileBackend.set stores bytes, got {type(value).__name__}")
        self._open().set(key, bytes(value), expire=ttl, retry=True)
        self._touched[key] = time.monotonic()

    def delete(self, key: str) -> bool:
        """Delete one key; true if it existed."""
        return bool(self._open().delete(key, retry=True))

    def clear(self, prefix: str = "") -> int:
        """Delete the keys starting with ``prefix``; files not written by memo are never touched."""
        cache = self._open()
        count = 0
        for key in list(self.keys(prefix)):
            count += bool(cache.delete(key, retry=True))
        return count

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Live string keys starting with ``prefix``."""
        cache = self._open()
        for key in list(cache.iterkeys()):
            if isinstance(key, str) and key.startswith(prefix) and key in cache:
                yield key

    def make_lock(self, key: str, lease: float) -> Any:
        """A per-key ``flock`` under ``<directory>/locks`` for cross-process single-flight."""
        from memo._locks import FileLock

        return FileLock(self.directory / "locks", key)

    def close(self) -> None:
        """Close the SQLite connections; the backend reopens on next use."""
        cache, self._cache = self._cache, None
        if cache is not None:
            cache.close()
