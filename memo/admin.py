"""Manage memo's caches from any process: list functions and entries, read sizes, delete, clear.

Everything here works from a backend alone (a backend object, a URL such as
``"file:///srv/cache"`` or ``"redis://host:6379/0"``, or ``None`` for the configured
default), so a command line, a notebook after a kernel restart or a second process that
never imported the cached functions can inspect and clear what others wrote. Entries are
found by memo's key layout (``namespace:module.qualname:version:digest``) and described
from each record's metadata: no value is ever unpickled. Only keys of that layout are
ever deleted; another program's keys in the same store stay. Example::

    from memo import admin

    for row in admin.functions("file:///srv/cache"):
        print(row.namespace, row.function, row.entries, row.bytes)
    admin.entries("redis://localhost:6379/0", function="etl.steps.load")
    admin.clear("file:///srv/cache", function="etl.steps.load", version="v1")

The functions are sync (notebook magics and widget callbacks are); do not call them from
a running event loop's thread if the backend blocks.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from memo import _config, _registry
from memo._keys import KeyParts, check_segment, function_prefix, namespace_prefix, parse_key, version_prefix
from memo._registry import cached_functions, sync_method
from memo._serialize import Entry, RecordError, read_meta
from memo._types import CacheInfo, EntryInfo, entry_from_meta, entry_info
from memo.backends._base import HeadReader, HeadsReader, ObjectStore, declares
from memo.exceptions import ConfigurationError

__all__ = [
    "CacheSummary",
    "FunctionInfo",
    "cached_functions",
    "clear",
    "clear_in_use",
    "delete",
    "entries",
    "functions",
    "info",
]


class FunctionInfo(NamedTuple):
    """One cached function as a backend holds it: its entries, their bytes, the versions seen.

    ``stats`` is the function's live :class:`memo.CacheInfo` when it is registered in this
    process (else ``None``); ``bytes`` sums the value sizes recorded in the metadata.
    Example::

        >>> admin.functions("file:///srv/cache")
        [FunctionInfo(namespace='default', function='etl.steps.load', versions=('3f9a0c1d2b4e5f60',),
                      entries=120, bytes=48213, stats=None)]
    """

    namespace: str
    function: str
    versions: tuple[str, ...]
    entries: int
    bytes: int
    stats: CacheInfo | None


class CacheSummary(NamedTuple):
    """What :func:`info` reports: totals over the entries asked for, and one row per function.

    Example::

        >>> s = admin.info("redis://localhost:6379/0", namespace="etl")
        >>> s.entries, s.bytes, [f.function for f in s.functions]
        (240, 96426, ['etl.steps.load', 'etl.steps.parse'])
    """

    backend: str
    entries: int
    bytes: int
    functions: tuple[FunctionInfo, ...]


class _Filter(NamedTuple):
    """Which of memo's keys an operation is about, and the narrowest prefix holding them all."""

    namespace: str | None
    function: str | None
    version: str | None

    def prefix(self) -> str:
        if self.namespace is None:
            return ""
        if self.function is None:
            return namespace_prefix(self.namespace)
        prefix = function_prefix(self.namespace, self.function)
        return prefix if self.version is None else version_prefix(prefix, self.version)

    def matches(self, parts: KeyParts) -> bool:
        return (
            (self.namespace is None or parts.namespace == self.namespace)
            and (self.function is None or parts.function == self.function)
            and (self.version is None or parts.version == self.version)
        )

    def group(self, parts: KeyParts) -> str:
        """The prefix one ``clear(prefix)`` may take for this key's group (function, or version)."""
        prefix = function_prefix(parts.namespace, parts.function)
        return prefix if self.version is None else version_prefix(prefix, parts.version)


def _filter(function: object, namespace: object, version: object) -> tuple[_Filter, Any]:
    """The key filter for the arguments, and the backend a function object names (None: default)."""
    backend = None
    if namespace is not None:
        check_segment("namespace", namespace)
    if version is not None:
        check_segment("version", version)
    if function is not None and not isinstance(function, str):
        name = getattr(function, "cache_name", None)
        if not isinstance(name, str):
            raise ConfigurationError(
                f"function={function!r}: pass a @memo.cache function or its name 'module.qualname' (f.cache_name)"
            )
        registration = _registry.registration(getattr(function, "__func__", function))
        if namespace is None:
            namespace = getattr(function, "cache_namespace", None)
        if registration is not None:
            backend = registration.backend
        function = name
    if function is not None:
        check_segment("function", function)
        if "." not in function:
            raise ConfigurationError(
                f"function={function!r}: pass the name as it appears in keys, 'module.qualname' "
                "(e.g. 'etl.steps.load'; see f.cache_name or admin.functions())"
            )
    return _Filter(namespace, function, version), backend  # type: ignore[arg-type]


@contextlib.contextmanager
def _opened(backend: object, fallback: Any = None) -> Iterator[Any]:
    """The backend object for ``backend`` (object, URL or None); one made from a URL is closed after."""
    if backend is None:
        yield _config.get_default_backend() if fallback is None else fallback
        return
    if not isinstance(backend, str):
        if isinstance(backend, type) or not callable(getattr(backend, "keys", None)):
            raise ConfigurationError(
                f"backend={backend!r}: pass a backend object (with keys/get/delete/clear), a URL such as "
                "'file:///abs/dir' or 'redis://host:6379/0', or None for the configured default"
            )
        yield backend
        return
    url = backend.strip()
    default = _config.get_default_backend()
    made = _config.state.made
    if made is not None and made[1] is default and made[0] == (url, os.environ.get("MEMO_CACHE_DIR")):
        yield default  # the URL the process is configured with: its open backend, not a second one
        return
    if url.lower() == "memory" or url.lower().startswith("memory:"):
        if not (declares(default, ObjectStore) and default.stores_objects):
            raise ConfigurationError(
                "backend='memory' names a new, empty in-process cache: pass the MemoryBackend object itself"
            )
        yield default  # a memory cache is only reachable in its own process: the default one
        return
    opened = _config.resolve_backend(url)
    try:
        yield opened
    finally:
        with contextlib.suppress(Exception):  # a failing close must not hide the answer
            opened.close()


def _method(backend: Any, name: str) -> Callable[..., Any]:
    method = sync_method(backend, name)
    if method is None:
        raise ConfigurationError(
            f"{type(backend).__name__} has no sync {name}(): memo.admin lists and clears from sync code; "
            "give the backend sync keys/get/delete/clear methods (subclass memo.BaseBackend)"
        )
    return method  # type: ignore[no-any-return]


def _ours(backend: Any, filt: _Filter) -> tuple[list[tuple[str, KeyParts]], dict[str, int], int]:
    """memo's keys matching ``filt`` with their parts; how many keys (any) each group prefix holds; all listed."""
    keys = _method(backend, "keys")
    found: list[tuple[str, KeyParts]] = []
    under: dict[str, int] = {}  # every listed key, memo's or not, per "namespace:function:[version:]"
    depth = 2 if filt.version is None else 3
    listed = 0
    for key in keys(filt.prefix()):
        listed += 1
        if not isinstance(key, str):
            continue
        cut = -1
        for _ in range(depth):  # the group prefix of any key, without assuming its layout
            cut = key.find(":", cut + 1)
            if cut < 0:
                break
        if cut >= 0:
            under[key[: cut + 1]] = under.get(key[: cut + 1], 0) + 1
        parts = parse_key(key)
        if parts is not None and filt.matches(parts):
            found.append((key, parts))
    return found, under, listed


def _metadata(backend: Any, keys: list[str]) -> list[Entry | None]:
    """Each key's metadata (None: gone, expired or not a record), never unpickling a value.

    A backend that keeps entry objects hands them over as they are; one that keeps records
    is asked for each record's head only (``get_heads`` for all at once where it has it,
    else ``get_head`` per key, else ``get``), and the head's JSON metadata is read.
    """
    if declares(backend, ObjectStore) and backend.stores_objects:
        return [backend.get_entry(key) for key in keys]  # the entry objects themselves: nothing to decode
    heads: list[bytes | None]
    if declares(backend, HeadsReader):
        heads = backend.get_heads(keys)
    else:
        read = backend.get_head if declares(backend, HeadReader) else _method(backend, "get")
        heads = [read(key) for key in keys]
    now = time.time()
    found: list[Entry | None] = []
    for data in heads:
        meta = None
        if data is not None:
            with contextlib.suppress(RecordError):  # not a record memo wrote (or a damaged one)
                meta = read_meta(data)
        expires = None if meta is None else meta.get("expires")
        if meta is None or (isinstance(expires, (int, float)) and expires <= now):
            found.append(None)  # expired, though the store still holds it: no more listed than served
        else:
            found.append(entry_from_meta(meta))
    return found


def _entries(backend: Any, filt: _Filter) -> list[EntryInfo]:
    ours = _ours(backend, filt)[0]
    listed = []
    for (key, parts), entry in zip(ours, _metadata(backend, [key for key, _ in ours]), strict=True):
        if entry is not None:
            listed.append(entry_info(key, entry, parts.namespace, parts.function))
    return listed


def entries(
    backend: object = None, function: object = None, namespace: str | None = None, version: str | None = None
) -> list[EntryInfo]:
    """The live entries of memo's layout in ``backend``, described from their metadata.

    ``function`` is a name ``"module.qualname"`` (any namespace unless ``namespace`` is
    given) or a cached function (its namespace and backend, unless given). Each
    :class:`memo.EntryInfo` carries key, arguments summary, value size, creation and expiry
    times, compute time, version, namespace and function. Values are never unpickled, so a
    record whose value cannot be loaded here is still listed; expired entries are not.
    Example::

        for e in admin.entries("file:///srv/cache", function="etl.steps.load"):
            print(e.args, e.size, e.duration)
    """
    filt, own = _filter(function, namespace, version)
    with _opened(backend, own) as store:
        return _entries(store, filt)


def _rows(backend: Any, filt: _Filter) -> list[FunctionInfo]:
    """One row per (namespace, function) among the matching entries, plus live registered functions."""
    found: dict[tuple[str, str], tuple[set[str], list[int]]] = {}
    for entry in _entries(backend, filt):
        versions, sums = found.setdefault((entry.namespace, entry.function), (set(), [0, 0]))
        versions.add(entry.key.rsplit(":", 2)[1])
        sums[0] += 1
        sums[1] += entry.size
    stats: dict[tuple[str, str], CacheInfo] = {}
    default = _config.get_default_backend()
    for reg in _registry.registered():
        if (default if reg.backend is None else reg.backend) is not backend:
            continue  # lives on another backend: its stats say nothing about this one
        if not filt.matches(KeyParts(reg.namespace, reg.name, reg.version, "")):
            continue
        stats[(reg.namespace, reg.name)] = reg.func.cache_info()
        found.setdefault((reg.namespace, reg.name), (set(), [0, 0]))
    return [
        FunctionInfo(ns, name, tuple(sorted(versions)), sums[0], sums[1], stats.get((ns, name)))
        for (ns, name), (versions, sums) in sorted(found.items(), key=lambda item: (item[0][1], item[0][0]))
    ]


def functions(backend: object = None, namespace: str | None = None) -> list[FunctionInfo]:
    """One :class:`FunctionInfo` per (namespace, function) with entries in ``backend``, in name order.

    Functions registered in this process on that backend are listed too (with 0 entries
    when they have none), with their live hit/miss statistics. Example::

        for row in admin.functions("redis://localhost:6379/0", namespace="etl"):
            print(f"{row.function}: {row.entries} entries, {row.bytes} bytes, versions {row.versions}")
    """
    filt, _ = _filter(None, namespace, None)
    with _opened(backend) as store:
        return _rows(store, filt)


def info(backend: object = None, function: object = None, namespace: str | None = None) -> CacheSummary:
    """Totals (entries, bytes) over ``backend``, one namespace or one function, with per-function rows.

    Example::

        s = admin.info("file:///srv/cache")
        print(f"{s.entries} entries, {s.bytes / 2**20:.1f} MiB in {len(s.functions)} functions")
    """
    filt, own = _filter(function, namespace, None)
    with _opened(backend, own) as store:
        rows = tuple(_rows(store, filt))
        return CacheSummary(repr(store), sum(r.entries for r in rows), sum(r.bytes for r in rows), rows)


def delete(backend: object, key: str) -> bool:
    """Delete one entry by its key (from :func:`entries`); True when it was there.

    Only a key of memo's layout is accepted: another program's key in the same store is
    not memo's to delete. Example::

        (e, *_) = admin.entries("file:///srv/cache", function="etl.steps.load")
        admin.delete("file:///srv/cache", e.key)
    """
    if parse_key(key) is None:
        raise ConfigurationError(
            f"key={key!r} is not a memo key (namespace:module.qualname:version:digest); "
            "take keys from admin.entries() or f.cache_key(...)"
        )
    with _opened(backend) as store:
        return bool(_method(store, "delete")(key))


def _clear(backend: Any, filt: _Filter) -> int | None:
    """Delete memo's keys matching ``filt`` (None: the backend cannot list keys from sync code).

    When every key under a prefix is one to delete, one ``clear(prefix)`` takes them all
    (the whole filter's prefix, else each function's or version's); otherwise they go key
    by key, so a foreign key sharing the prefix stays.
    """
    clear_prefix, delete_key = sync_method(backend, "clear"), sync_method(backend, "delete")
    if sync_method(backend, "keys") is None or clear_prefix is None or delete_key is None:
        return None
    found, under, listed = _ours(backend, filt)
    if not found:
        return 0
    if len(found) == listed:  # nothing but keys to delete under the prefix (often: the whole store): one clear
        return int(clear_prefix(filt.prefix()))
    groups: dict[str, list[str]] = {}
    for key, parts in found:
        groups.setdefault(filt.group(parts), []).append(key)
    total = 0
    for prefix, keys in groups.items():
        if under.get(prefix) == len(keys):
            total += int(clear_prefix(prefix))
        else:
            total += sum(bool(delete_key(k)) for k in keys)
    return total


def clear(
    backend: object = None, function: object = None, namespace: str | None = None, version: str | None = None
) -> int:
    """Delete memo's entries in ``backend``: all, one namespace, one function, one version; how many.

    Only keys of memo's layout (``namespace:module.qualname:version:digest``) are
    deleted; another program's keys in the same store stay, even under the same prefix.
    ``function`` is a name ``"module.qualname"`` or a cached function. Example::

        admin.clear("file:///srv/cache", function="etl.steps.load", version="3f9a0c1d2b4e5f60")
        admin.clear("redis://localhost:6379/0", namespace="etl")
    """
    filt, own = _filter(function, namespace, version)
    with _opened(backend, own) as store:
        for name in ("keys", "clear", "delete"):
            _method(store, name)  # a backend that cannot do it from sync code: say so, not 0
        return _clear(store, filt) or 0


def clear_in_use(namespace: str | None = None) -> int:
    """What ``memo.clear`` does: memo's entries on every backend in use (the default and every explicit one).

    Without a namespace every key of memo's layout on them goes; with one, every key under
    ``namespace:``. Example::

        admin.clear_in_use(namespace="etl")   # same as memo.clear(namespace="etl")
    """
    if namespace is not None:
        check_segment("namespace", namespace)
    registered = _registry.registered()
    backends: dict[int, Any] = {}
    default = _config.get_default_backend()
    for candidate in [default, *(r.backend for r in registered)]:
        if candidate is not None:
            backends.setdefault(id(candidate), candidate)
    total = 0
    unlisted: set[int] = set()
    for backend in backends.values():
        if namespace is None:
            cleared = _clear(backend, _Filter(None, None, None))
            if cleared is None:
                unlisted.add(id(backend))
            else:
                total += cleared
            continue
        clear_prefix = sync_method(backend, "clear")
        if clear_prefix is not None:  # async-only value backends cannot be cleared from sync code
            total += int(clear_prefix(namespace_prefix(namespace)))
    for reg in registered:  # backends that cannot list keys: each function clears its own prefix
        if id(default if reg.backend is None else reg.backend) in unlisted:
            total += reg.func.cache_clear()
    return total
