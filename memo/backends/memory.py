"""In-process LRU backend that hands back the very object it cached."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator

from memo._serialize import Entry, dumps_record, loads_record
from memo.backends._base import BaseBackend
from memo.backends._sizing import estimate_size
from memo.exceptions import ConfigurationError

__all__ = ["MemoryBackend"]


class _Slot:
    """One stored item, and memo's :class:`~memo.backends._base.Slot`: memo's wrappers keep
    the slot of a hit and serve the next identical call from it; when the slot leaves the
    backend its ``item`` becomes ``None``, so a kept slot shows at once that it is gone (and
    no longer holds the value)."""

    __slots__ = ("expires", "item", "ref", "size")

    def __init__(self, item: Entry | bytes, expires: float | None, size: int) -> None:
        self.item: Entry | bytes | None = item
        self.expires = expires
        self.size = size
        self.ref = False  # hit since eviction last passed it (second chance, see MemoryBackend._evict)


class MemoryBackend(BaseBackend):
    """Thread-safe in-process LRU cache with TTL: memo's default backend.

    A hit returns the identical object that was cached (like ``functools.lru_cache``),
    so results are never pickled on this path. ``max_entries`` and ``max_bytes`` bound
    it; eviction is LRU by the second-chance (CLOCK) rule: the oldest entry goes first
    unless it was hit since eviction last passed it, in which case it moves to the young
    end (a hit costs one flag store, never a reorder or a lock). ``max_bytes`` counts what a value holds:
    array buffers (numpy, pandas, anything with ``nbytes``) wherever they sit, in
    containers, attributes, ``__slots__`` and dataclass fields, each object once; big
    containers are sampled and extrapolated (see ``memo.backends._sizing``)::

        @memo.cache(backend=memo.MemoryBackend(max_entries=1000, max_bytes=2**30))
        def features(path): ...
    """

    stores_objects = True

    def __init__(self, max_entries: int | None = None, max_bytes: int | None = None) -> None:
        for name, limit in (("max_entries", max_entries), ("max_bytes", max_bytes)):
            if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0):
                raise ConfigurationError(f"MemoryBackend({name}={limit!r}): pass a positive int, or None for no limit")
        self._data: OrderedDict[str, _Slot] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes

    @property
    def max_entries(self) -> int | None:
        """Most entries kept (``None``: no limit)."""
        return self._max_entries

    @max_entries.setter
    def max_entries(self, value: int | None) -> None:
        with self._lock:
            self._max_entries = value
            self._evict(None)

    @property
    def max_bytes(self) -> int | None:
        """Most estimated bytes kept (``None``: no limit)."""
        return self._max_bytes

    @max_bytes.setter
    def max_bytes(self, value: int | None) -> None:
        with self._lock:
            self._max_bytes = value
            self._evict(None)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.get_entry is not MemoryBackend.get_entry and "slot" not in vars(cls):
            # A subclass that changes how a hit reads must see every hit: an inline hit from a
            # kept slot would skip its get_entry. ``None`` withdraws the SlotSource capability
            # (unless the subclass defines ``slot`` itself: then it vouches for its slots).
            cls.slot = None  # type: ignore[assignment,method-assign]

    def __repr__(self) -> str:
        return f"MemoryBackend(max_entries={self.max_entries!r}, max_bytes={self.max_bytes!r})"

    # -- objects (memo's hot path) ---------------------------------------------------
    def get_entry(self, key: str) -> Entry | None:
        """The cached entry itself (no copy, no unpickling), or ``None``."""
        # Lock-free read: dict.get is one atomic operation, and a hit only sets its slot's ref.
        slot = self._data.get(key)
        if slot is None:
            return None
        expires = slot.expires
        if expires is not None and expires <= time.monotonic():
            self._drop_expired(key, slot)
            return None
        slot.ref = True  # recency for eviction: one attribute store, no reordering, no lock
        item = slot.item
        if isinstance(item, Entry):
            return item
        if item is None:  # removed by another thread meanwhile
            return None
        try:
            return loads_record(item)
        except ValueError:
            return None

    def slot(self, key: str) -> _Slot | None:
        """The slot holding ``key`` (memo's inline hits: the SlotSource capability), or ``None``::

        backend.slot("default:mod.f:v:abc").item    # the Entry, or None once dropped
        """
        return self._data.get(key)

    def set_entry(self, key: str, entry: Entry, ttl: float | None = None) -> None:
        """Store an entry object; its ``size`` is estimated from the value."""
        entry.size = estimate_size(entry.value)
        self._put(key, entry, ttl, entry.size)

    # -- bytes protocol ------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """Stored bytes (an object entry is serialized to a record), or ``None``."""
        item = self._get(key)
        if isinstance(item, Entry):
            return dumps_record(item)
        return item

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store bytes for ``ttl`` seconds."""
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"MemoryBackend.set stores bytes, got {type(value).__name__}")
        data = bytes(value)
        self._put(key, data, ttl, len(data))

    def delete(self, key: str) -> bool:
        """Delete one key; true if it was there and live."""
        with self._lock:
            slot = self._data.pop(key, None)
            if slot is None:
                return False
            slot.item = None
            self._bytes -= slot.size
            return not self._expired(slot, time.monotonic())

    def clear(self, prefix: str = "") -> int:
        """Delete every live key that starts with ``prefix``."""
        now = time.monotonic()
        with self._lock:
            doomed = [k for k, _ in self._snapshot() if k.startswith(prefix)]
            count = 0
            for k in doomed:
                slot = self._data.pop(k)
                slot.item = None
                self._bytes -= slot.size
                count += not self._expired(slot, now)
            return count

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Live keys starting with ``prefix`` (a snapshot)."""
        now = time.monotonic()
        with self._lock:
            items = self._snapshot()
        return iter([k for k, s in items if k.startswith(prefix) and not self._expired(s, now)])

    def close(self) -> None:
        """Nothing to release; entries stay until the process ends."""

    def __len__(self) -> int:
        return sum(1 for _ in self.keys())

    @property
    def total_bytes(self) -> int:
        """Estimated bytes held."""
        return self._bytes

    # -- native async twins: no thread hop, all of it is in memory --------------------
    async def aget(self, key: str) -> bytes | None:
        """Async :meth:`get`, inline."""
        return self.get(key)

    async def aset(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Async :meth:`set`, inline."""
        self.set(key, value, ttl)

    async def adelete(self, key: str) -> bool:
        """Async :meth:`delete`, inline."""
        return self.delete(key)

    async def aclear(self, prefix: str = "") -> int:
        """Async :meth:`clear`, inline."""
        return self.clear(prefix)

    async def akeys(self, prefix: str = "") -> AsyncIterator[str]:
        """Async :meth:`keys`, inline."""
        for key in self.keys(prefix):
            yield key

    async def aclose(self) -> None:
        """Async :meth:`close`."""

    # -- internals -------------------------------------------------------------------
    def _snapshot(self) -> list[tuple[str, _Slot]]:
        """The (key, slot) pairs, copied in one C-level pass; call it holding ``self._lock``.

        Only writers (under the lock) add, remove or reorder keys; a hit just sets its slot's
        ``ref``, so the copy never sees the dict change under it.
        """
        return list(self._data.items())

    @staticmethod
    def _expired(slot: _Slot, now: float) -> bool:
        return slot.expires is not None and slot.expires <= now

    def _drop_expired(self, key: str, slot: _Slot) -> None:
        with self._lock:
            if self._data.get(key) is slot:
                del self._data[key]
                slot.item = None
                self._bytes -= slot.size

    def _get(self, key: str) -> Entry | bytes | None:
        with self._lock:
            slot = self._data.get(key)
            if slot is None:
                return None
            if slot.expires is not None and slot.expires <= time.monotonic():
                del self._data[key]
                slot.item = None
                self._bytes -= slot.size
                return None
            slot.ref = True
            return slot.item

    def _put(self, key: str, item: Entry | bytes, ttl: float | None, size: int) -> None:
        expires = None if ttl is None else time.monotonic() + ttl
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                old.item = None
                self._bytes -= old.size
            if self._max_bytes is not None and size > self._max_bytes:
                return  # larger than the whole cache: do not flush everything for it
            self._data[key] = _Slot(item, expires, size)
            self._bytes += size
            self._evict(key)

    def _evict(self, keep: str | None) -> None:
        """Drop entries until within the bounds; ``keep`` (the entry just stored) goes last."""
        data = self._data
        max_entries, max_bytes = self._max_entries, self._max_bytes
        while data and (
            (max_entries is not None and len(data) > max_entries) or (max_bytes is not None and self._bytes > max_bytes)
        ):
            key, slot = next(iter(data.items()))
            if slot.ref or (key == keep and len(data) > 1):  # hit since last passed, or just stored:
                slot.ref = False  # a second chance at the young end
                data.move_to_end(key)
                continue
            del data[key]
            slot.item = None
            self._bytes -= slot.size
