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

import time
import warnings
from typing import Any

from memo._health import breaker_for, is_transient
from memo._policy import Policy
from memo._results import shared_entry
from memo._serialize import Entry, RecordError, UnverifiableRecord, loads_record, read_meta, record_parts
from memo._types import MISS, entry_from_meta
from memo.exceptions import BackendWarning, ConfigurationError, MemoError

__all__ = ["Store", "store_for"]

OBJECT, BYTES, VALUE = "object", "bytes", "value"
_PARTS_MIN = 1 << 20  # records this big go as a list of buffers to backends that take one


def _kind(backend: Any) -> str:
    import inspect

    if getattr(backend, "stores_objects", False) and callable(getattr(backend, "get_entry", None)):
        return OBJECT
    if not callable(getattr(backend, "aget", None)) and inspect.iscoroutinefunction(getattr(backend, "get", None)):
        return VALUE
    return BYTES


class Store:
    """One backend seen through memo's entry interface."""

    __slots__ = ("backend", "breaker", "kind", "parts", "releasing", "secret", "transient", "unverifiable_warned")

    def __init__(self, backend: Any, secret: bytes | None) -> None:
        self.backend = backend
        self.kind = _kind(backend)
        self.secret = secret
        self.breaker = breaker_for(backend)
        self.unverifiable_warned = False  # warned about signed records this secret-less reader skips
        # Optional: ``transient_errors``, the backend's own "unreachable or slow" exception types.
        transient = getattr(backend, "transient_errors", ())
        self.transient: tuple[type[BaseException], ...] = tuple(
            t for t in (transient if isinstance(transient, tuple) else ()) if isinstance(t, type)
        )
        # Optional capability: ``set_parts(key, buffers, ttl)`` writes a big record without a joined copy.
        self.parts = callable(getattr(backend, "set_parts", None)) and callable(getattr(backend, "aset_parts", None))
        # Optional: ``set_releasing(key, value, ttl, lock)`` stores and frees the cross-process lock at once.
        self.releasing = callable(getattr(backend, "set_releasing", None)) and callable(
            getattr(backend, "aset_releasing", None)
        )

    def _failed(self, op: str, exc: BaseException, policy: Policy) -> None:
        """Report a failure; only an unreachable or slow backend opens the breaker for everyone."""
        if is_transient(exc, self.transient):
            self.breaker.failed()
        policy.backend_failed(self.backend, op, exc)

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
            policy.backend_failed(self.backend, "set", exc)
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

    def entries(self, prefix: str) -> list[tuple[str, Entry]]:
        """(key, entry-without-value) for each key under ``prefix``, without unpickling."""
        if self.kind == VALUE:
            raise self._sync_only_error()
        found: list[tuple[str, Entry]] = []
        for key in list(self.backend.keys(prefix)):
            meta_entry = self._meta(key)
            if meta_entry is not None:
                found.append((key, meta_entry))
        return found

    def _meta(self, key: str) -> Entry | None:
        if self.kind == OBJECT:
            entry = self.backend.get_entry(key)
            return None if entry is None else Entry(None, *_meta_fields(entry))
        head = getattr(self.backend, "get_head", None)
        data = head(key) if callable(head) else self.backend.get(key)
        if data is None:
            return None
        try:
            meta = read_meta(data)
        except RecordError:
            return None
        expires = meta.get("expires")
        if isinstance(expires, (int, float)) and expires <= time.time():
            return None  # expired (a load deletes it): listed no more than it is served
        return entry_from_meta(meta)

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
        method = getattr(self.backend, async_name, None)
        if method is not None:
            return await method(*args)
        import asyncio

        return await asyncio.to_thread(getattr(self.backend, sync_name), *args)

    def _dump(self, key: str, entry: Entry, policy: Policy) -> list[bytes | memoryview] | None:
        try:
            return record_parts(entry, self.secret, key)
        except Exception as exc:
            policy.write_failed(exc)
            return None

    def _unverifiable(self, policy: Policy) -> None:
        """A signed record met by a reader without a secret: a miss (kept for readers that have it), warned once."""
        if self.unverifiable_warned or policy.on_error == "ignore":
            return
        self.unverifiable_warned = True
        warnings.warn(
            f"memo: {type(self.backend).__name__} holds records signed with a secret, and {policy.name} has none, "
            "so it cannot verify them: they are misses, recomputed and never unpickled. Give this process the "
            "writers' secret (MEMO_SECRET or memo.configure(secret=...)). Warned once per backend.",
            BackendWarning,
            stacklevel=5,
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


def _meta_fields(entry: Entry) -> tuple[str, str, float, float | None, float, str, int]:
    return (entry.function, entry.args, entry.created, entry.expires, entry.duration, entry.version, entry.size)


_stores: dict[tuple[int, bytes | None], tuple[Any, Store]] = {}


def store_for(backend: Any, secret: bytes | None) -> Store:
    """The (cached) adapter for a backend and signing key."""
    cache_key = (id(backend), secret)
    found = _stores.get(cache_key)
    if found is not None and found[0] is backend:
        return found[1]
    store = Store(backend, secret)
    if len(_stores) > 256:
        _stores.clear()
    _stores[cache_key] = (backend, store)
    return store
