"""The public backend protocol, its optional capabilities, and the sync-first base class.

A backend stores ``bytes`` under ``str`` keys. Implement the six sync methods; the
async twins default to running them in a worker thread, and backends with native async
I/O override them (the shape of Django's cache ``BaseCache``).

Everything else a backend may offer is declared here as a small runtime-checkable
Protocol (:class:`PartsWriter`, :class:`HeadReader`, :class:`Locking`,
:class:`ReleasingWriter`, :class:`ObjectStore`, :class:`SlotSource`, and the
``transient_errors`` attribute of :class:`TransientErrors`). memo checks each one once per
backend (``isinstance``) and uses what is there; a backend that implements none of them
works, on the plain path. Backends import only this package, ``memo.exceptions``,
``memo._keys`` and ``memo._serialize`` (records) from memo, never the engine.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = [
    "AsyncBackend",
    "Backend",
    "BaseBackend",
    "CrossLock",
    "HeadReader",
    "HeadsReader",
    "Locking",
    "ObjectStore",
    "PartsWriter",
    "ReleasingWriter",
    "Slot",
    "SlotSource",
    "TransientErrors",
    "declares",
    "forgotten_at_fork",
    "poll_delays",
]

Buffer = bytes | bytearray | memoryview


@runtime_checkable
class Backend(Protocol):
    """The sync half of memo's storage protocol: bytes values under str keys.

    Any object with these methods can be passed as ``backend=``::

        class DictBackend(memo.BaseBackend):
            def __init__(self): self.d = {}
            def get(self, key): return self.d.get(key)
            ...
    """

    def get(self, key: str) -> bytes | None:
        """The stored bytes, or ``None`` for a miss (or an expired entry)."""

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store ``value``; ``ttl`` seconds until it expires, ``None`` for never."""

    def delete(self, key: str) -> bool:
        """Delete one key; true if it existed."""

    def clear(self, prefix: str = "") -> int:
        """Delete every key starting with ``prefix``; returns how many."""

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate the live keys starting with ``prefix``."""

    def close(self) -> None:
        """Release connections and files; idempotent."""


@runtime_checkable
class AsyncBackend(Protocol):
    """The async twins of :class:`Backend`, used by ``async def`` functions.

    Example::

        value = await backend.aget("default:mod.f:v:abc")
    """

    async def aget(self, key: str) -> bytes | None:
        """Async :meth:`Backend.get`."""

    async def aset(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Async :meth:`Backend.set`."""

    async def adelete(self, key: str) -> bool:
        """Async :meth:`Backend.delete`."""

    async def aclear(self, prefix: str = "") -> int:
        """Async :meth:`Backend.clear`."""

    def akeys(self, prefix: str = "") -> AsyncIterator[str]:
        """Async :meth:`Backend.keys`."""

    async def aclose(self) -> None:
        """Async :meth:`Backend.close`."""


# -- optional capabilities ---------------------------------------------------------------
# Each is checked once per backend, when memo first uses it (``isinstance``, which for a
# runtime-checkable Protocol means "has these members"; a method set to ``None`` opts out).
# A pair of sync and async methods counts only when both are there.


@runtime_checkable
class PartsWriter(Protocol):
    """Stores a big record given as a list of buffers, without joining them first.

    memo hands records of 1 MiB or more this way, so a big array goes from its own memory
    to the storage (``FileBackend`` has it)::

        class MyBackend(memo.BaseBackend):
            def set_parts(self, key, buffers, ttl=None):
                with open(self.path(key), "wb") as f:
                    f.writelines(buffers)          # get(key) == b"".join(buffers)
            async def aset_parts(self, key, buffers, ttl=None):
                await asyncio.to_thread(self.set_parts, key, buffers, ttl)
    """

    def set_parts(self, key: str, buffers: Sequence[Buffer], ttl: float | None = None) -> None:
        """Store the concatenation of ``buffers`` under ``key``, as :meth:`Backend.set` would."""

    async def aset_parts(self, key: str, buffers: Sequence[Buffer], ttl: float | None = None) -> None:
        """Async :meth:`set_parts`."""


@runtime_checkable
class HeadReader(Protocol):
    """Reads the start of a value only: listings read a record's metadata, not a 2 GiB array.

    A record's metadata sits in its first 64 KiB, so ``get_head`` must return at least
    that much (or the whole value if shorter)::

        class MyBackend(memo.BaseBackend):
            def get_head(self, key):
                with open(self.path(key), "rb") as f:
                    return f.read(65536)
    """

    def get_head(self, key: str) -> bytes | None:
        """The first 64 KiB (at least) of the value under ``key``, or ``None`` for a miss."""


@runtime_checkable
class HeadsReader(Protocol):
    """Reads the heads of many values in one go: listings over a network store in round trips per thousand keys.

    ``memo.admin`` reads every listed entry's metadata; key by key, 1e5 entries on Redis
    cost 1e5 round trips::

        class MyBackend(memo.BaseBackend):
            def get_heads(self, keys):
                return [self.get_head(k) for k in keys]   # or one batched request
    """

    def get_heads(self, keys: Sequence[str]) -> list[bytes | None]:
        """:meth:`HeadReader.get_head` of each key, in order; ``None`` where absent."""


@runtime_checkable
class CrossLock(Protocol):
    """A non-blocking cross-process lock on one key, made by :meth:`Locking.make_lock`.

    memo polls ``try_acquire`` with backoff, looking for the result in between, and always
    releases what it took::

        lock = backend.make_lock("default:mod.f:v:abc", 10.0)
        if lock.try_acquire():
            try: ...   # compute and store
            finally: lock.release()
    """

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""

    def release(self) -> None:
        """Give the lock back (only if held)."""

    async def atry_acquire(self) -> bool:
        """Async :meth:`try_acquire`."""

    async def arelease(self) -> None:
        """Async :meth:`release`."""


@runtime_checkable
class Locking(Protocol):
    """Makes per-key cross-process locks, so one process computes a missing key and the others wait.

    ``lease`` is how long a lock may outlive a holder that stopped extending it (a lock the
    kernel frees when its holder dies may ignore it). Return ``None`` for no lock::

        class MyBackend(memo.BaseBackend):
            def make_lock(self, key, lease):
                return MyLock(self.lock_dir, key)     # a CrossLock
    """

    def make_lock(self, key: str, lease: float) -> CrossLock | None:
        """A fresh, not yet taken lock on ``key`` (or ``None``)."""


@runtime_checkable
class ReleasingWriter(Protocol):
    """Stores a value and releases the key's held lock in one round trip.

    ``lock`` is a lock this backend's :meth:`Locking.make_lock` made; a backend that cannot
    do both at once here stores only, and the holder releases as usual::

        class MyBackend(memo.BaseBackend):
            def set_releasing(self, key, value, ttl, lock):
                self.pipeline(("SET", key, value), lock.release_command())
                lock.released()
    """

    def set_releasing(self, key: str, value: bytes, ttl: float | None, lock: CrossLock) -> None:
        """:meth:`Backend.set`, freeing ``lock`` in the same operation when it can."""

    async def aset_releasing(self, key: str, value: bytes, ttl: float | None, lock: CrossLock) -> None:
        """Async :meth:`set_releasing`."""


@runtime_checkable
class ObjectStore(Protocol):
    """Keeps memo's entry objects themselves (no pickling): an in-process store.

    ``stores_objects`` must be true; ``get_entry`` returns the very object ``set_entry``
    stored (memo treats it as read-only). ``MemoryBackend`` is one::

        class DictStore(memo.BaseBackend):
            stores_objects = True
            def get_entry(self, key): return self.d.get(key)
            def set_entry(self, key, entry, ttl=None): self.d[key] = entry
    """

    stores_objects: bool

    def get_entry(self, key: str) -> Any:
        """The stored entry object, or ``None`` for a miss (or an expired entry)."""

    def set_entry(self, key: str, entry: Any, ttl: float | None = None) -> None:
        """Keep ``entry`` (memo's entry object) for ``ttl`` seconds (``None``: no expiry)."""


@runtime_checkable
class Slot(Protocol):
    """The cell an :class:`SlotSource` keeps one entry in, read by memo's compiled wrappers.

    A wrapper keeps the slot of a hit and serves the next identical call from it with no
    lookup, as long as ``item`` is still the entry it saw and ``expires`` is ahead::

        slot = backend.slot(key)
        if slot.item is entry and (slot.expires is None or slot.expires > time.monotonic()):
            slot.ref = True
    """

    item: Any
    """The entry held; ``None`` (or another entry) as soon as the key is dropped or replaced."""
    expires: float | None
    """``time.monotonic()`` deadline, or ``None``; fixed for the slot's life."""
    ref: bool
    """Set to true on every hit (recency, for eviction)."""


@runtime_checkable
class SlotSource(Protocol):
    """An :class:`ObjectStore` whose hits memo may serve inline, from the entry's :class:`Slot`.

    Such a hit never calls the backend, so a backend offers slots only when ``get_entry``
    has nothing to do but find the slot (``MemoryBackend`` withdraws it from a subclass
    that overrides ``get_entry``)::

        slot = backend.slot("default:mod.f:v:abc")   # a Slot, or None
    """

    def slot(self, key: str) -> Slot | None:
        """The slot that holds ``key`` now, or ``None``."""


@runtime_checkable
class TransientErrors(Protocol):
    """Names the backend's own "unreachable or slow" exceptions; only those (and memo's
    connection and timeout errors) open its circuit breaker::

        class MyBackend(memo.BaseBackend):
            transient_errors = (MyClient.Unavailable, MyClient.Timeout)
    """

    transient_errors: tuple[type[BaseException], ...]


_MEMBERS: dict[type, tuple[tuple[str, bool], ...]] = {}


def declares(obj: object, capability: type) -> bool:
    """``isinstance(obj, capability)`` for these Protocols, at the cost of a few ``getattr``\\s.

    Same rule as ``isinstance`` on a runtime-checkable Protocol (every member present; a
    method set to ``None`` opts out), without its per-call walk of the Protocol's MRO, which
    costs ~20 us a check on Python 3.11::

        declares(memo.FileBackend(), HeadReader)   # True
    """
    members = _MEMBERS.get(capability)
    if members is None:
        names = {n for n in vars(capability).get("__annotations__", {})}
        names.update(n for n, v in vars(capability).items() if callable(v) and not n.startswith("_"))
        members = _MEMBERS[capability] = tuple((n, callable(vars(capability).get(n))) for n in sorted(names))
    missing = object()
    for name, is_method in members:
        value = getattr(obj, name, missing)
        if value is missing or (is_method and value is None):
            return False
    return True


def poll_delays(first: float = 0.002, factor: float = 1.5, cap: float = 0.1) -> Iterator[float]:
    """Sleep intervals for a lock's waiters: short at first, growing to ``cap``::

    next(poll_delays())   # 0.002
    """
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, cap)


class _Forgets(Protocol):
    """A held lock that can let go in a forked child without freeing its parent's hold."""

    def forget(self) -> None: ...


_L = TypeVar("_L", bound=_Forgets)


def forgotten_at_fork(held: set[_L]) -> set[_L]:
    """Make ``held`` the set of locks this process holds, forgotten by a forked child; returns it.

    A child inherits the held locks but not the computations behind them, so after a fork
    it calls each one's ``forget()`` and empties the set: the parent's release, or its
    death, frees them. Every lock module keeps one such set::

        _held: set[FileLock] = forgotten_at_fork(set())   # try_acquire adds, release discards
    """

    def forget_all() -> None:
        for lock in list(held):
            lock.forget()
        held.clear()

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=forget_all)
    return held


_T = TypeVar("_T")


async def _to_thread(func: Callable[..., _T], /, *args: Any) -> _T:
    import asyncio  # loaded already by the running loop; kept out of `import memo`

    return await asyncio.to_thread(func, *args)


class BaseBackend:
    """Base class for backends: write the sync methods, inherit the async twins.

    The twins run the sync method in a worker thread, so an event loop never blocks::

        class MyBackend(memo.BaseBackend):
            def get(self, key): ...
            def set(self, key, value, ttl=None): ...
            def delete(self, key): ...
            def clear(self, prefix=""): ...
            def keys(self, prefix=""): ...
    """

    def get(self, key: str) -> bytes | None:
        """The stored bytes, or ``None`` for a miss."""
        raise NotImplementedError

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (``None``: no expiry)."""
        raise NotImplementedError

    def delete(self, key: str) -> bool:
        """Delete one key; true if it existed."""
        raise NotImplementedError

    def clear(self, prefix: str = "") -> int:
        """Delete every key starting with ``prefix``; returns how many."""
        raise NotImplementedError

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate live keys starting with ``prefix``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release resources; idempotent. Nothing to do by default."""

    async def aget(self, key: str) -> bytes | None:
        """:meth:`get` in a worker thread."""
        return await _to_thread(self.get, key)

    async def aset(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """:meth:`set` in a worker thread."""
        await _to_thread(self.set, key, value, ttl)

    async def adelete(self, key: str) -> bool:
        """:meth:`delete` in a worker thread."""
        return await _to_thread(self.delete, key)

    async def aclear(self, prefix: str = "") -> int:
        """:meth:`clear` in a worker thread."""
        return await _to_thread(self.clear, prefix)

    async def akeys(self, prefix: str = "") -> AsyncIterator[str]:
        """:meth:`keys`, listed in a worker thread."""
        for key in await _to_thread(lambda: list(self.keys(prefix))):
            yield key

    async def aclose(self) -> None:
        """:meth:`close` in a worker thread."""
        await _to_thread(self.close)

    def __enter__(self) -> BaseBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
