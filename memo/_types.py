"""memo's vocabulary: the types every layer shares, defined once and importing nothing of memo.

* :data:`MISS`, the one "nothing cached" sentinel of loads and flights;
* :class:`Entry`, a cached result with its metadata (the one shape: records, the memory
  backend, listings and :class:`EntryInfo` all carry these fields);
* :class:`CacheInfo` and :class:`EntryInfo`, the public read-outs;
* :class:`CachedFunction` and :class:`AsyncCachedFunction`, what ``@memo.cache`` returns.

Like dogpile.cache's ``api.py`` and httpx's ``_types.py``, this is the leaf of the import
graph: backends, the store, the drivers and the admin API all import from here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, ParamSpec, Protocol, TypedDict, TypeVar

if TYPE_CHECKING:
    from datetime import timedelta

    from memo._explanation import KeyExplanation

__all__ = [
    "MISS",
    "AsyncCachedFunction",
    "CacheInfo",
    "CacheOptions",
    "CachedFunction",
    "Entry",
    "EntryInfo",
    "P",
    "R",
    "T",
    "entry_from_meta",
    "entry_info",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

MISS: Any = type("Miss", (), {"__repr__": lambda self: "MISS", "__bool__": lambda self: False})()
"""A load found nothing usable (absent, expired, unreadable or skipped): compute."""


class Entry:
    """One cached result and what memo knows about it (internal).

    ``value`` is None in an entry read for its metadata only (a listing); ``size`` is the
    stored record's length, or the estimated size of the object a memory backend keeps.
    """

    __slots__ = ("args", "created", "duration", "expires", "function", "size", "value", "version")

    def __init__(
        self,
        value: Any,
        function: str = "",
        args: str = "",
        created: float = 0.0,
        expires: float | None = None,
        duration: float = 0.0,
        version: str = "",
        size: int = 0,
    ) -> None:
        self.value = value
        self.function = function
        self.args = args
        self.created = created
        self.expires = expires
        self.duration = duration
        self.version = version
        self.size = size

    def __repr__(self) -> str:
        return f"Entry({self.function}({self.args}), size={self.size}, duration={self.duration})"


class CacheInfo(NamedTuple):
    """Per-process statistics of one cached function (``f.cache_info()``).

    ``time_saved`` is the summed compute time of the results served from the cache::

        >>> f.cache_info()
        CacheInfo(hits=3, misses=1, errors=0, stores=1, time_saved=1.52)
    """

    hits: int
    misses: int
    errors: int
    stores: int
    time_saved: float


class EntryInfo(NamedTuple):
    """What ``f.cache_entries()`` reports of one stored entry, read without unpickling.

    Example::

        for e in f.cache_entries(): print(e.args, e.size, e.duration)
    """

    key: str
    args: str
    size: int
    created: float
    expires: float | None
    duration: float
    version: str
    namespace: str = ""  # from the key: entries of every function can be listed together (memo.admin)
    function: str = ""  # module.qualname, from the key


def entry_info(key: str, entry: Entry, namespace: str = "", function: str = "") -> EntryInfo:
    """Public view of an entry's metadata (``namespace`` and ``function`` as parsed from its key)."""
    return EntryInfo(
        key=key,
        args=entry.args,
        size=entry.size,
        created=entry.created,
        expires=entry.expires,
        duration=entry.duration,
        version=entry.version,
        namespace=namespace,
        function=function,
    )


def _number(value: object, default: float | None) -> float | None:
    """A finite float from stored metadata, else ``default`` (records may be hand-made or damaged)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if number - number == 0.0:  # finite (inf - inf and nan - nan are nan)
            return number
    return default


def entry_from_meta(meta: dict[str, Any]) -> Entry:
    """An entry without value from a record's JSON metadata; a missing or ill-typed field gets its default."""

    def text(name: str) -> str:
        value = meta.get(name)
        return value if isinstance(value, str) else ""

    size = meta.get("size")
    return Entry(
        None,
        text("function"),
        text("args"),
        _number(meta.get("created"), 0.0) or 0.0,
        _number(meta.get("expires"), None),
        _number(meta.get("duration"), 0.0) or 0.0,
        text("version"),
        size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else 0,
    )


class CacheOptions(TypedDict, total=False):
    """The options of ``@memo.cache(...)``: their one declaration (names, types, meaning).

    All are checked at decoration time; each left out takes its default. Wrap
    ``memo.cache`` with the same typing::

        def my_cache(**options: Unpack[memo.CacheOptions]): return memo.cache(namespace="etl", **options)
    """

    backend: object
    """A backend object or URL (``"memory"``, ``"file:///path"``, ``"redis://host"``); default ``None``: the
    configured default backend, looked up per call."""
    ttl: float | timedelta | None
    """Seconds (or a timedelta) an entry lives; ``0``: do not store; default ``None``: the configured default."""
    ignore: str | Collection[str]
    """Parameter names (or closure variables) left out of the key; default none."""
    key: Callable[..., object] | None
    """A function with the same signature returning what to hash instead of the arguments."""
    version: str | None
    """Pin entries across code edits; default ``None``: a fingerprint of the code (edits start afresh)."""
    namespace: str | None
    """A group of functions for ``memo.clear(namespace=...)`` and ``memo.admin``; default ``"default"``."""
    lock: bool
    """Single flight: concurrent callers of one key wait for one computation; default ``True``."""
    lock_timeout: float | timedelta
    """Seconds a caller waits for another's computation before computing itself; default 60."""
    condition: Callable[[Any], bool] | None
    """Store a result only when ``condition(result)`` is true."""
    on_error: Literal["warn", "raise", "ignore"] | None
    """On a backend failure: warn (default, rate limited), raise ``BackendError``, or stay quiet."""
    secret: bytes | str | None
    """HMAC key signing stored records (default: ``MEMO_SECRET`` / ``memo.configure(secret=...)``)."""
    track_globals: bool | None
    """Whether the globals the body reads (and the code of same-module functions it calls) are part of the key;
    default ``None``: yes for functions defined in a notebook or a script's ``__main__``, no elsewhere."""
    verbose: bool | None
    """Print one short line per call to ``sys.stdout`` (``memo: load(path='a.csv') hit, saved 2.31 s``);
    default ``None``: the process default, ``memo.configure(verbose=...)`` (off unless set)."""


class CachedFunction(Protocol[P, R]):
    """What ``@memo.cache`` returns: the function, plus cache controls.

    Example::

        @memo.cache
        def area(w: float, h: float) -> float: return w * h
        area(2, 3); area.cache_info().hits; area.cache_clear()
    """

    __wrapped__: Callable[P, R]
    cache_name: str
    cache_namespace: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...
    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str: ...
    def cache_explain(self, *args: P.args, **kwargs: P.kwargs) -> KeyExplanation: ...
    def cache_delete(self, *args: P.args, **kwargs: P.kwargs) -> bool: ...
    def cache_clear(self) -> int: ...
    def cache_info(self) -> CacheInfo: ...
    def cache_entries(self) -> list[EntryInfo]: ...
    def cache_refresh(self, *args: P.args, **kwargs: P.kwargs) -> R: ...
    def uncached(self, *args: P.args, **kwargs: P.kwargs) -> R: ...


class AsyncCachedFunction(CachedFunction[P, Coroutine[Any, Any, R]], Protocol[P, R]):
    """What ``@memo.cache`` returns for ``async def``: also awaitable cache controls.

    Example::

        @memo.cache(ttl=60)
        async def item(i: int) -> dict: ...
        await item.acache_delete(3); await item.acache_clear()
    """

    async def acache_delete(self, *args: P.args, **kwargs: P.kwargs) -> bool: ...
    async def acache_clear(self) -> int: ...
    async def acache_refresh(self, *args: P.args, **kwargs: P.kwargs) -> R: ...
