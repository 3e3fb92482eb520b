"""Adapters between the call drivers and a backend.

Three backend shapes are served behind one face (``load``/``save`` and async twins):

* object stores (``MemoryBackend``): the entry object itself is kept, no pickling;
* bytes backends (the public protocol): entries travel as signed-or-not records;
* value backends (user classes whose ``get/set`` are ``async def`` and keep Python values,
  the shape web frameworks document): the result itself, ``None`` read as a miss.

Backend failures never escape as such: they go to the function's :class:`Policy`. Only
connection and timeout failures also open the backend's breaker (:func:`is_transient`);
a deterministic one (a value the server refuses, a foreign key type) stays with its call.
A TTL of 0 means "do not store", on every backend: the result is returned, never written.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any

from memo._breaker import Breaker, WarnClock, is_transient
from memo._policy import Policy
from memo._results import shared_entry
from memo._serialize import Entry, RecordError, UnverifiableRecord, loads_record, record_parts
from memo._types import MISS
from memo._userline import warn
from memo.backends._base import (
    AsyncBackend,
    CrossLock,
    HeadReader,
    Locking,
    ObjectStore,
    PartsWriter,
    ReleasingWriter,
    Slot,
    SlotSource,
    TransientErrors,
    declares,
)
from memo.exceptions import BackendWarning, ConfigurationError, MemoError

__all__ = ["BackendState", "Store", "store_for"]

OBJECT, BYTES, VALUE = "object", "bytes", "value"
_PARTS_MIN = 1 << 20  # records this big go as a list of buffers to backends that take one


class BackendState:
    """What memo keeps per backend object: its resolved capabilities, breaker and warning clock.

    Resolved once, from the capability Protocols of ``memo.backends._base`` (``declares``,
    that is ``isinstance``; never a ``getattr`` probe later), and shared by every :class:`Store` of the backend (one
    per function and signing key), so all functions on a backend share one breaker::

        state = BackendState(memo.FileBackend())
        state.kind, state.parts, state.locking    # ("bytes", True, True)
    """

    __slots__ = (
        "breaker",
        "clock",
        "head",
        "kind",
        "locking",
        "native",
        "parts",
        "releasing",
        "slots",
        "transient",
        "unverifiable_warned",
    )

    def __init__(self, backend: Any) -> None:
        import inspect  # kept out of `import memo`

        if declares(backend, ObjectStore) and backend.stores_objects:
            self.kind = OBJECT
        elif not declares(backend, AsyncBackend) and inspect.iscoroutinefunction(getattr(backend, "get", None)):
            self.kind = VALUE  # async get/set keeping Python values, no a* twins (see the module docstring)
        else:
            self.kind = BYTES
        # The a* twins are used when the backend has them all, else the sync methods run in a thread.
        self.native = declares(backend, AsyncBackend)
        transient = backend.transient_errors if declares(backend, TransientErrors) else ()
        self.transient: tuple[type[BaseException], ...] = tuple(
            t for t in (transient if isinstance(transient, tuple) else ()) if isinstance(t, type)
        )
        self.parts = declares(backend, PartsWriter)
        self.releasing = declares(backend, ReleasingWriter)
        self.head = declares(backend, HeadReader)
        self.locking = declares(backend, Locking)
        self.slots = self.kind == OBJECT and declares(backend, SlotSource)
        self.breaker = Breaker()
        self.clock = WarnClock()
        self.unverifiable_warned: set[bytes | None] = set()  # signing keys already warned about


class Store:
    """One backend seen through memo's entry interface, for one signing key.

    Made by :func:`store_for`; it reads its backend's :class:`BackendState` (capabilities,
    breaker, warning clock), shared with the backend's other Stores.
    """

    # The flags read on every load or save (and the breaker, used by each bytes load and
    # save) are copied from the BackendState: a slot read per call instead of two attribute
    # hops (``self.state.kind``), on the path of every driver call. What only a failure, a
    # warning or a test reads (``transient``, ``clock``, ``head``, ``unverifiable_warned``)
    # stays on the state.
    __slots__ = (
        "backend",
        "breaker",
        "kind",
        "locking",
        "native",
        "parts",
        "releasing",
        "secret",
        "slots",
        "state",
    )

    def __init__(self, backend: Any, secret: bytes | None, state: BackendState | None = None) -> None:
        if state is None:
            state = BackendState(backend)
        self.backend = backend
        self.secret = secret
        self.state = state
        self.kind = state.kind
        self.native = state.native
        self.parts = state.parts
        self.releasing = state.releasing
        self.locking = state.locking
        self.slots = state.slots  # the wrappers may keep this backend's slots and serve hits inline
        self.breaker = state.breaker

    def make_lock(self, key: str, lease: float) -> CrossLock | None:
        """The backend's cross-process lock on ``key`` (``None``: it has no locks)."""
        return self.backend.make_lock(key, lease) if self.locking else None

    def slot(self, key: str) -> Slot | None:
        """The backend's slot holding ``key`` (only for a SlotSource: see :attr:`slots`)."""
        slot: Slot | None = self.backend.slot(key)
        return slot

    def lock_failed(self, exc: BaseException, policy: Policy) -> None:
        """A lock operation failed: the policy reports it (a lock failure never opens the breaker)."""
        policy.backend_failed(self.backend, "lock", exc, self.state.clock)

    def _failed(self, op: str, exc: BaseException, policy: Policy) -> None:
        """Report a failure; only an unreachable or slow backend opens the breaker for everyone."""
        if is_transient(exc, self.state.transient):
            self.breaker.failed()
        policy.backend_failed(self.backend, op, exc, self.state.clock)

    def _skip(self, policy: Policy) -> bool:
        """True (and counted as an error) while the backend's breaker is open."""
        if self.breaker.allow():
            return False
        policy.stats.add(errors=1)
        return True

    def _sync_only_error(self) -> ConfigurationError:
        return ConfigurationError(
            f"{type(self.backend).__name__} has async get/set, so it serves only async def functions; "
            "use it on an async function, or give a sync function a backend with sync methods "
            "(subclass memo.BaseBackend)"
        )

    def check_sync(self) -> None:
        """A sync function cannot use an async-only value backend."""
        if self.kind == VALUE:
            raise self._sync_only_error()

    # -- sync ------------------------------------------------------------------------
    def load(self, key: str, policy: Policy) -> Any:
        """The entry for ``key`` or MISS; bad records are deleted, failures go to the policy."""
        try:
            if self.kind == OBJECT:
                entry = self.backend.get_entry(key)
                return MISS if entry is None else entry
            if self.kind == VALUE:
                raise self._sync_only_error()
            if self._skip(policy):
                return MISS
            data = self.backend.get(key)
            self.breaker.succeeded()
            return MISS if data is None else loads_record(data, self.secret, key)
        except UnverifiableRecord:
            self._unverifiable(policy)
        except RecordError:
            self._heal(key, policy)
        except MemoError:
            raise
        except Exception as exc:
            self._failed("get", exc, policy)
        return MISS

    def _save_object(self, key: str, entry: Entry, ttl: float | None, policy: Policy) -> bool:
        try:
            self.backend.set_entry(key, shared_entry(entry), ttl)  # hits get this object: protect it
            return True
        except Exception as exc:
            policy.backend_failed(self.backend, "set", exc, self.state.clock)
            return False

    def save(self, key: str, entry: Entry, ttl: float | None, policy: Policy, lock: Any = None) -> bool:
        """Store an entry; False (and a warning or error per policy) when it could not be.

        ``lock`` is the key's held cross-process lock, which a backend may free in the same
        round trip as the store (its holder's release then does nothing).
        A ``ttl`` of 0 stores nothing (on every backend) and returns False.
        """
        if ttl is not None and ttl <= 0:
            return False
        if self.kind == OBJECT:
            return self._save_object(key, entry, ttl, policy)
        parts = self._dump(key, entry, policy)
        if parts is None or self._skip(policy):
            return False
        try:
            if self.parts and entry.size >= _PARTS_MIN:
                self.backend.set_parts(key, parts, ttl)
            elif lock is not None and self.releasing:
                self.backend.set_releasing(key, b"".join(parts), ttl, lock)
            else:
                self.backend.set(key, b"".join(parts), ttl)
            self.breaker.succeeded()
            return True
        except Exception as exc:
            self._failed("set", exc, policy)
            return False

    def delete(self, key: str) -> bool:
        """Delete one key (errors propagate: this is an explicit user action)."""
        if self.kind == VALUE:
            raise self._sync_only_error()
        return bool(self.backend.delete(key))

    def clear(self, prefix: str) -> int:
        """Delete keys under ``prefix``."""
        if self.kind == VALUE:
            raise self._sync_only_error()
        return int(self.backend.clear(prefix))

    # -- async twins -------------------------------------------------------------------
    async def aload(self, key: str, policy: Policy) -> Any:
        """Async :meth:`load`."""
        try:
            if self.kind == OBJECT:
                entry = self.backend.get_entry(key)
                return MISS if entry is None else entry
            if self._skip(policy):
                return MISS
            if self.kind == VALUE:
                value = await self.backend.get(key)
                self.breaker.succeeded()
                return MISS if value is None else Entry(value)
            data = await self._acall("aget", "get", key)
            self.breaker.succeeded()
            return MISS if data is None else loads_record(data, self.secret, key)
        except UnverifiableRecord:
            self._unverifiable(policy)
        except RecordError:
            await self._aheal(key, policy)
        except MemoError:
            raise
        except Exception as exc:
            self._failed("get", exc, policy)
        return MISS

    async def asave(self, key: str, entry: Entry, ttl: float | None, policy: Policy, lock: Any = None) -> bool:
        """Async :meth:`save`."""
        if ttl is not None and ttl <= 0:
            return False
        if self.kind == OBJECT:
            return self._save_object(key, entry, ttl, policy)
        parts = [] if self.kind == VALUE else self._dump(key, entry, policy)
        if parts is None or self._skip(policy):
            return False
        try:
            if self.kind == VALUE:
                await self.backend.set(key, entry.value, ttl)
            elif self.parts and entry.size >= _PARTS_MIN:
                await self.backend.aset_parts(key, parts, ttl)
            elif lock is not None and self.releasing:
                await self.backend.aset_releasing(key, b"".join(parts), ttl, lock)
            else:
                await self._acall("aset", "set", key, b"".join(parts), ttl)
            self.breaker.succeeded()
            return True
        except Exception as exc:
            self._failed("set", exc, policy)
            return False

    async def adelete(self, key: str) -> bool:
        """Async :meth:`delete`."""
        if self.kind == VALUE:
            return bool(await self.backend.delete(key))
        return bool(await self._acall("adelete", "delete", key))

    async def aclear(self, prefix: str) -> int:
        """Async :meth:`clear`."""
        if self.kind == VALUE:
            return int(await self.backend.clear(prefix) or 0)
        return int(await self._acall("aclear", "clear", prefix))

    # -- helpers -----------------------------------------------------------------------
    async def _acall(self, async_name: str, sync_name: str, *args: Any) -> Any:
        """The backend's async twin, or (a backend without the a* twins) its sync method in a thread."""
        if self.native:
            return await getattr(self.backend, async_name)(*args)
        import asyncio

        method: Callable[..., Any] = getattr(self.backend, sync_name)
        return await asyncio.to_thread(method, *args)

    def _dump(self, key: str, entry: Entry, policy: Policy) -> list[bytes | memoryview] | None:
        try:
            return record_parts(entry, self.secret, key)
        except Exception as exc:
            policy.write_failed(exc)
            return None

    def _unverifiable(self, policy: Policy) -> None:
        """A signed record met by a reader without a secret: a miss (kept for readers that have it), warned once."""
        warned = self.state.unverifiable_warned
        if self.secret in warned or policy.on_error == "ignore":
            return
        warned.add(self.secret)
        warn(
            f"memo: {type(self.backend).__name__} holds records signed with a secret, and {policy.name} has none, "
            "so it cannot verify them: they are misses, recomputed and never unpickled. Give this process the "
            "writers' secret (MEMO_SECRET or memo.configure(secret=...)). Warned once per backend.",
            BackendWarning,
        )

    def _heal(self, key: str, policy: Policy) -> None:
        try:
            self.backend.delete(key)
        except Exception as exc:
            self._failed("delete", exc, policy)

    async def _aheal(self, key: str, policy: Policy) -> None:
        try:
            await self._acall("adelete", "delete", key)
        except Exception as exc:
            self._failed("delete", exc, policy)


class _Owned:
    """A backend's state in the table, with what tells that the entry is still this backend's."""

    __slots__ = ("state", "target")

    def __init__(self, state: BackendState, target: Callable[[], Any]) -> None:
        self.state = state
        self.target = target  # a weak reference to the backend, or (not weak-referenceable) a strong one


# id(backend) -> its state. The entry goes when the backend dies (a weak reference's callback);
# the identity check keeps a new object that reuses a dead one's id from getting its state.
# A backend that cannot be weakly referenced is held strongly, in a bounded part of the table.
_owned: dict[int, _Owned] = {}
_strong: dict[int, None] = {}  # ids of the strongly held entries, oldest first
_lock = threading.Lock()
_STRONG_MAX = 256


_dead: list[tuple[int, weakref.ref[Any]]] = []  # backends gone since the table was last tidied


def _forget(key: int, ref: weakref.ref[Any]) -> None:
    """A backend died: note it for the next tidy. No lock here: this weak-reference callback can
    run inside a garbage collection on the very thread that holds ``_lock``."""
    _dead.append((key, ref))  # list.append is atomic


def _tidy() -> None:
    """Drop the states of the backends that died (the caller holds ``_lock``)."""
    while _dead:
        key, ref = _dead.pop()
        found = _owned.get(key)
        if found is not None and found.target is ref:
            del _owned[key]


def state_for(backend: Any) -> BackendState:
    """The one :class:`BackendState` of a backend object, made on first use, dropped when it dies."""
    key = id(backend)
    found = _owned.get(key)
    if found is not None and found.target() is backend:
        return found.state
    state = BackendState(backend)  # outside the lock: isinstance checks may run a backend's properties
    with _lock:
        _tidy()
        found = _owned.get(key)
        if found is not None and found.target() is backend:
            return found.state
        try:
            target: Callable[[], Any] = weakref.ref(backend, functools.partial(_forget, key))
        except TypeError:  # not weak-referenceable: keep it alive with its state, in a bounded table
            if len(_strong) >= _STRONG_MAX:
                for old in list(_strong)[: _STRONG_MAX // 2]:
                    del _strong[old]
                    _owned.pop(old, None)
            _strong[key] = None
            target = _Strong(backend)
        _owned[key] = _Owned(state, target)
        return state


class _Strong:
    """A strong reference with a weak reference's call: ``ref()`` is the object."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __call__(self) -> Any:
        return self.obj


def tracked() -> int:
    """How many backends have a state now (for tests): one per live backend that has been used."""
    with _lock:
        _tidy()
        return len(_owned)


def store_for(backend: Any, secret: bytes | None) -> Store:
    """An adapter for a backend and signing key, sharing the backend's :class:`BackendState`.

    Not cached here: each cached function keeps the Store of its last call (a table of Stores
    would hold every backend alive), and all Stores of a backend share its breaker::

        store_for(backend, None).breaker is store_for(backend, b"k").breaker   # True
    """
    return Store(backend, secret, state_for(backend))
