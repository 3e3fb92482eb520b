"""On-disk backend built on diskcache: shared safely by the processes of one host.

Keys are ``str`` and values ``bytes`` only: small values live in diskcache's SQLite
table, big ones in files of their own, written in one ``write`` call and read back
without an intermediate copy (on POSIX, as a private copy-on-write mapping of the file).
diskcache never unpickles anything on memo's behalf: an entry diskcache pickled itself
(not written by memo) reads as a miss.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from memo.backends._base import BaseBackend
from memo.backends._file_lock import FileLock
from memo.exceptions import ConfigurationError

__all__ = ["FileBackend", "default_directory"]

_MMAP_MIN = 1 << 20  # values at least this big are mapped, not read, on POSIX
_HEAD = 65536
# size_limit bounds the value files plus the database's pages. SQLite's write-ahead log and
# its index (cache.db-wal, cache.db-shm) come on top: checkpointed every 1000 pages (4 MiB)
# and truncated back to _WAL_KEEP once reset, they stay within _SQLITE_LOG in practice (seen
# up to 8 MiB with four processes writing without pause; SQLite sets no hard bound, since a
# log is reset only when no reader is using it). A lower autocheckpoint made writes ~40% slower.
_WAL_KEEP = 4 << 20
_SQLITE_LOG = 16 << 20
_MODE_RAW, _MODE_BINARY = 1, 2  # diskcache.core.MODE_RAW / MODE_BINARY


def default_directory() -> Path:
    """``MEMO_CACHE_DIR``, else the platform's user cache directory plus ``memo``.

    Example::

        >>> default_directory()
        PosixPath('/home/me/.cache/memo')
    """
    env = os.environ.get("MEMO_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("memo", appauthor=False))


def _disk_class() -> Any:
    """A ``diskcache.Disk`` that writes big buffers in one call and never unpickles."""
    import diskcache
    from diskcache.core import MODE_BINARY, MODE_PICKLE

    class MemoDisk(diskcache.Disk):  # type: ignore[misc]
        def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> Any:
            if type(value) is _Parts:
                if value.nbytes < self.min_file_size:
                    return super().store(b"".join(value.buffers), read, key)
                filename, full_path = self.filename(key, value)
                size = self._write(full_path, iter(value.buffers), "xb")
                return size, MODE_BINARY, filename, None
            if isinstance(value, (bytes, bytearray, memoryview)):
                view = memoryview(value)
                if view.nbytes >= self.min_file_size:
                    # diskcache's own path iterates an io.BytesIO, i.e. writes line by line
                    filename, full_path = self.filename(key, value)
                    size = self._write(full_path, iter((view.cast("B"),)), "xb")
                    return size, MODE_BINARY, filename, None
                if type(value) is not bytes:
                    value = bytes(view)
            return super().store(value, read, key)

        def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
            if mode == MODE_PICKLE:
                raise OSError("not a memo entry: diskcache would unpickle it")  # diskcache reads it as a miss
            return super().fetch(mode, filename, value, read)

    return MemoDisk


class _Parts:
    """A value given as buffers written one after the other into one value file."""

    __slots__ = ("buffers", "nbytes")

    def __init__(self, buffers: Sequence[bytes | bytearray | memoryview]) -> None:
        self.buffers = [memoryview(b).cast("B") for b in buffers]
        self.nbytes = sum(b.nbytes for b in self.buffers)


_maps = {"live": 0, "max": 0}  # copy-on-write mappings alive (before 3.13 each holds a descriptor)
_maps_lock = threading.RLock()  # re-entrant: a mapping's finalizer can run (GC) on a thread inside _map


def _unmapped() -> None:
    with _maps_lock:
        _maps["live"] -= 1


def _map(handle: Any, size: int) -> memoryview | None:
    """A private copy-on-write mapping of a value file: no copy, writable, or ``None``."""
    import mmap

    if sys.version_info >= (3, 13):  # trackfd=False: the mapping keeps no file descriptor
        options: dict[str, Any] = {"trackfd": False}
        return memoryview(mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_COPY, **options))
    with _maps_lock:
        if not _maps["max"]:
            import resource

            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            _maps["max"] = max(16, min(1024, (soft if soft > 0 else 1024) // 4))
        if _maps["live"] >= _maps["max"]:
            return None  # many mapped values alive: read instead, so descriptors never run out
        _maps["live"] += 1
    try:
        mapping = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_COPY)
    except BaseException:
        _unmapped()
        raise
    weakref.finalize(mapping, _unmapped)
    return memoryview(mapping)


def _read_all(handle: Any) -> bytes | bytearray | memoryview:
    """A value file's bytes: mapped copy-on-write when big (zero-copy, writable), else read once.

    diskcache never rewrites a value file in place (a new value gets a new file, and old
    ones are unlinked), so a mapping stays valid for as long as the value is alive.
    """
    size = os.fstat(handle.fileno()).st_size
    if size >= _MMAP_MIN and os.name == "posix":
        try:
            mapped = _map(handle, size)
        except (OSError, ValueError):  # a filesystem without mmap: read it instead
            mapped = None
        if mapped is not None:
            return mapped
    buffer = bytearray(size)
    view = memoryview(buffer)
    filled = 0
    while filled < size:
        count = handle.readinto(view[filled:])
        if not count:
            break
        filled += count
    return buffer if filled == size else bytes(buffer[:filled])


class FileBackend(BaseBackend):
    """Results on local disk (diskcache/SQLite), shared by every process on the host.

    Values are stored as bytes only, so diskcache never unpickles anything itself; big
    values live in their own files. The directory is created with mode ``0o700``. TTLs
    use diskcache's expiry.

    ``size_limit`` is a bound: every write that takes the cache past it evicts, before it
    returns, the least recently used entries until the cache is back within it. So the
    value files and the database hold at most ``size_limit`` plus the values being
    written at that moment (one per writing thread or process; a value bigger than
    ``size_limit`` is not stored), and at most ``size_limit`` once writes stop. SQLite's
    write-ahead log comes on top: up to 4 MiB, somewhat more while many processes write.

    Recency has one-minute resolution: a hit refreshes it at most once a minute per
    process, so hits are plain reads instead of a write transaction each. Values of 1 MiB
    or more come back from :meth:`get` as a writable ``memoryview`` over a private
    copy-on-write mapping of their file (no copy; use ``bytes(...)`` for a ``bytes``)::

        @memo.cache(backend=memo.FileBackend("~/.cache/my-project", size_limit=2**32))
        def embed(text: str) -> list[float]: ...
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, size_limit: int = 2**30) -> None:
        if not isinstance(size_limit, int) or isinstance(size_limit, bool) or size_limit <= 0:
            raise ConfigurationError(f"FileBackend(size_limit={size_limit!r}): pass a positive number of bytes")
        self.directory = Path(directory).expanduser() if directory is not None else default_directory()
        self._locks = str(self.directory / "locks")
        self.size_limit = size_limit
        self._cache: Any = None
        self._touch_every = 60.0  # seconds between recency refreshes of one key
        self._touched: dict[str, float] = {}
        self._cull_every = 1.0  # seconds between purges of expired entries (per process)
        self._culled = time.monotonic()

    def __repr__(self) -> str:
        return f"FileBackend({str(self.directory)!r}, size_limit={self.size_limit})"

    def _open(self) -> Any:
        cache = self._cache
        if cache is None:
            import diskcache

            if not self.directory.exists():
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(self.directory, 0o700)  # whatever the umask
            cache = diskcache.Cache(
                str(self.directory),
                size_limit=self.size_limit,
                eviction_policy="least-recently-stored",
                cull_limit=0,  # evicted by _written after the write's transaction, to size_limit
                disk=_disk_class(),
                sqlite_journal_size_limit=_WAL_KEEP,  # a log that grew past this shrinks back once reset
            )
            self._cache = cache
        return cache

    # -- reads -------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """Stored bytes or ``None``; a big value is mapped (or read) without extra copies."""
        cache = self._open()
        value = cache.get(key, default=None, read=True, retry=True)
        if value is None:
            return None
        self._touch(cache, key)
        if isinstance(value, bytes):
            return value
        if not hasattr(value, "fileno"):
            return None  # not something memo wrote (a str, an int)
        with value as handle:
            return _read_all(handle)  # type: ignore[return-value]

    def get_head(self, key: str, size: int = _HEAD) -> bytes | None:
        """The first ``size`` bytes of a value (enough for a record's metadata), or ``None``.

        Example::

            head = backend.get_head(key)   # reads 64 KiB of a 2 GiB value, not 2 GiB
        """
        value = self._open().get(key, default=None, read=True, retry=True)
        if value is None or isinstance(value, bytes):
            return value
        if not hasattr(value, "fileno"):
            return None
        with value as handle:
            return bytes(handle.read(size))

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

    # -- writes ------------------------------------------------------------------------
    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store bytes, expiring after ``ttl`` seconds (diskcache expiry)."""
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"FileBackend.set stores bytes, got {type(value).__name__}")
        cache = self._open()
        if memoryview(value).nbytes > self.size_limit:
            self._refuse(cache, key)
            return
        cache.set(key, value, expire=ttl, retry=True)
        self._written(cache, key)

    def _refuse(self, cache: Any, key: str) -> None:
        """A value bigger than the whole cache: not stored (it would evict everything, then
        itself), and an older value under its key is deleted, so it is never served stale."""
        cache.delete(key, retry=True)
        self._touched.pop(key, None)

    def _written(self, cache: Any, key: str) -> None:
        """After a write: note its recency; evict to ``size_limit`` if the write went past it.

        diskcache's own culling (inside each write's transaction) removes at most ten
        entries per write, which is no bound when values differ in size; this evicts until
        the volume (value files plus database pages) is within ``size_limit`` again, from
        any process, before the write returns. Its cost on a write that stays within the
        limit is one read of the volume (one SQLite statement, ~20 us). Expired entries are also
        purged at most once per ``_cull_every`` seconds.
        """
        now = time.monotonic()
        self._touched[key] = now
        try:
            if now - self._culled >= self._cull_every:
                self._culled = now
                cache.expire(retry=True)
            if _volume(cache) > self.size_limit:
                self._evict(cache)
        except Exception:  # eviction is best effort (a busy or read-only database): the next write tries again
            self._culled = now - self._cull_every

    def _evict(self, cache: Any) -> None:
        """Evict the least recently stored entries until the volume is within ``size_limit``.

        The excess is read inside the write transaction, so processes evicting at the same
        time do not evict twice for one excess; entries go oldest first and only as many as
        the excess needs (diskcache's ``cull`` removes ten at a time, which on a small cache
        can take the entry just written with it).
        """
        limit = self.size_limit
        for _ in range(10_000):  # each round removes at least one entry
            with cache._transact(True) as (sql, cleanup):
                excess = _volume(cache) - limit
                if excess <= 0:
                    return
                rows = sql("SELECT rowid, filename, size FROM Cache ORDER BY store_time LIMIT 64").fetchall()
                if not rows:
                    return
                doomed: list[int] = []
                freed = 0
                for rowid, filename, size in rows:
                    doomed.append(rowid)
                    if filename is not None:
                        cleanup(filename)  # unlinked once the transaction commits
                    freed += size or 0
                    if freed >= excess:
                        break
                sql(f"DELETE FROM Cache WHERE rowid IN ({', '.join('?' * len(doomed))})", doomed)

    def set_parts(self, key: str, buffers: Sequence[bytes | bytearray | memoryview], ttl: float | None = None) -> None:
        """:meth:`set` of the concatenation of ``buffers``, written without joining them first.

        Example::

            backend.set_parts("k", [header, big_array_view])   # get("k") == header + bytes(view)
        """
        cache = self._open()
        parts = _Parts(buffers)
        if parts.nbytes > self.size_limit:
            self._refuse(cache, key)
            return
        cache.set(key, parts, expire=ttl, retry=True)
        self._written(cache, key)

    async def aset_parts(
        self, key: str, buffers: Sequence[bytes | bytearray | memoryview], ttl: float | None = None
    ) -> None:
        """Async :meth:`set_parts`, in a worker thread."""
        import asyncio

        await asyncio.to_thread(self.set_parts, key, buffers, ttl)

    def delete(self, key: str) -> bool:
        """Delete one key; true if it existed."""
        return bool(self._open().delete(key, retry=True))

    def clear(self, prefix: str = "") -> int:
        """Delete the keys starting with ``prefix``; entries and files memo did not write stay."""
        cache = self._open()
        doomed = list(self.keys(prefix))
        count = 0
        for start in range(0, len(doomed), 500):
            with cache.transact(retry=True):  # one transaction per batch, not one per key
                for key in doomed[start : start + 500]:
                    count += bool(cache.delete(key, retry=True))
        return count

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Live ``str`` keys starting with ``prefix`` (an index range scan, not a full listing)."""
        cache = self._open()
        # memo's entries: a str key and a bytes value (a blob in the table, or a binary file)
        query = "SELECT key FROM Cache WHERE raw = 1 AND typeof(key) = 'text'"
        query += f" AND ((mode = {_MODE_RAW} AND typeof(value) = 'blob') OR mode = {_MODE_BINARY})"
        query += " AND (expire_time IS NULL OR expire_time > ?)"
        params: list[Any] = [time.time()]
        if prefix:
            query += " AND key >= ?"
            params.append(prefix)
            upper = _successor(prefix)
            if upper is not None:
                query += " AND key < ?"
                params.append(upper)
        rows = cache._sql(query, params).fetchall()
        return iter([k for (k,) in rows if k.startswith(prefix)])

    def make_lock(self, key: str, lease: float) -> FileLock:
        """A per-key lock under ``<directory>/locks`` for cross-process single-flight (see FileLock).

        The kernel frees it when its holder dies, so ``lease`` is not needed::

            lock = backend.make_lock("default:mod.f:v:abc", 10.0)
        """
        return FileLock(self._locks, key)

    def close(self) -> None:
        """Close the SQLite connections; the backend reopens on next use. Idempotent."""
        cache, self._cache = self._cache, None
        if cache is not None:
            cache.close()


_VOLUME = (
    "SELECT (SELECT value FROM Settings WHERE key = 'size') + page_count * page_size"
    " FROM pragma_page_count(), pragma_page_size()"
)


def _volume(cache: Any) -> int:
    """diskcache's ``volume()`` (value bytes plus database pages) in one statement, not three."""
    try:
        return int(cache._sql(_VOLUME).fetchone()[0])
    except Exception:  # an SQLite built without pragma functions
        return int(cache.volume())


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (UTF-8 order)."""
    nxt = ord(prefix[-1]) + 1
    if nxt > 0x10FFFF:
        return None
    if 0xD800 <= nxt <= 0xDFFF:  # surrogates are not characters of a stored key
        nxt = 0xE000
    return prefix[:-1] + chr(nxt)
