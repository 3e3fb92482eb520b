"""I/O-free steps shared by the sync and async call drivers.

Everything here is plain computation: option checks, keys, statistics, the failure
policy and in-process single-flight bookkeeping. The drivers in ``_decorator.py`` do the
I/O (backend calls, running the body) and call into these steps in the same order.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import threading
import time
import warnings
import weakref
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import inspect
    from concurrent.futures import Future

    from memo._breaker import WarnClock

from memo import _config
from memo._hashing import hash_arguments
from memo._serialize import Entry
from memo._summary import short_repr
from memo._watch import Watch
from memo.exceptions import (
    BackendError,
    BackendWarning,
    CacheWriteWarning,
    ConfigurationError,
    SerializationError,
)

__all__ = ["MISS", "CacheInfo", "EntryInfo", "Flights", "Policy", "Stats", "entry_from_meta", "short_repr"]

MISS: Any = type("Miss", (), {"__repr__": lambda self: "MISS", "__bool__": lambda self: False})()
_WARN_INTERVAL = 60.0
_DEFAULT_ATOMS = frozenset({int, float, str, bytes, bool, type(None)})
_NO_DEFAULT: Any = type("NoDefault", (), {})()
_FAST_MAX = 4096  # remembered calls per function; the map is emptied when full
_FAST_ATOM_LEN = 512  # longest str/bytes argument remembered
_ARG_MAX = 60  # characters shown per argument in entry metadata
_DESCRIBE_MAX = 200  # characters shown for all arguments
_KEPT_FOLD = 4096  # the most memory slots a wrapper keeps (see Stats.keep)


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


class Stats:
    """Counters behind :class:`CacheInfo`.

    The hit counter is an ``itertools.count`` (one atomic C call, exact under threads);
    the other counters change off the hot path and take a lock. ``time_saved`` is added
    without a lock to keep hits cheap, so two threads hitting in the same instant can
    rarely drop one hit's duration from it.

    Hits served inline by a compiled wrapper count on a counter of their own per kept
    memory slot (:meth:`keep`), paired with that entry's duration: the inline hit is one
    ``next()``, and hits and ``time_saved`` are summed when read. The newest
    ``2 * _KEPT_FOLD`` counters stay live (the wrapper's slot map holds at most
    ``_KEPT_FOLD``); older ones are folded into the totals.
    """

    __slots__ = ("_folded", "_hits", "errors", "kept", "lock", "misses", "stores", "time_saved")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._hits = itertools.count()
        self._folded = 0  # hits of folded kept counters
        self.kept: list[tuple[itertools.count[int], float]] = []
        self.misses = self.errors = self.stores = 0
        self.time_saved = 0.0

    def hit(self, duration: float) -> None:
        next(self._hits)
        self.time_saved += duration

    def keep(self, duration: float) -> itertools.count[int]:
        """A new hit counter for a kept slot whose entry took ``duration`` to compute."""
        counter = itertools.count()
        with self.lock:
            kept = self.kept
            if len(kept) >= 3 * _KEPT_FOLD:
                for old, took in kept[:_KEPT_FOLD]:
                    n = _count(old)
                    self._folded += n
                    self.time_saved += n * took
                del kept[:_KEPT_FOLD]
            kept.append((counter, duration))
        return counter

    @property
    def hits(self) -> int:
        """Hits so far (reads the counters without advancing them)."""
        with self.lock:
            return _count(self._hits) + self._folded + sum(_count(c) for c, _ in self.kept)

    def add(self, misses: int = 0, errors: int = 0, stores: int = 0) -> None:
        with self.lock:
            self.misses += misses
            self.errors += errors
            self.stores += stores

    def info(self) -> CacheInfo:
        hits = self.hits
        with self.lock:
            saved = self.time_saved + sum(_count(c) * took for c, took in self.kept)
            return CacheInfo(hits, self.misses, self.errors, self.stores, saved)


def _count(counter: itertools.count[int]) -> int:
    return int(repr(counter)[6:-1])  # "count(N)": read without advancing


class Policy:
    """What a backend failure does for one function: warn (rate limited), raise or ignore."""

    __slots__ = ("_on_error", "name", "stats", "write_warned")

    def __init__(self, name: str, on_error: str | None, stats: Stats) -> None:
        self.name = name
        self._on_error = on_error
        self.stats = stats
        self.write_warned = False

    @property
    def on_error(self) -> str:
        return self._on_error or _config.state.on_error

    def backend_failed(self, backend: object, op: str, exc: BaseException, clock: WarnClock) -> None:
        """Count a backend failure; raise BackendError, warn at most once a minute, or stay quiet.

        ``clock`` is the backend's warning clock (its Store owns it), shared by every function on it.
        """
        self.stats.add(errors=1)
        mode = self.on_error
        if mode == "raise":
            raise BackendError(f"{type(backend).__name__}.{op} failed for {self.name}: {exc!r}") from exc
        if mode == "warn":
            if not clock.due(_WARN_INTERVAL):
                return
            warnings.warn(
                f"memo: {type(backend).__name__}.{op} failed ({exc!r}); {self.name} ran without the cache. "
                "Further warnings for this backend are silenced for a minute.",
                BackendWarning,
                stacklevel=4,
            )

    def write_failed(self, exc: BaseException) -> None:
        """A result could not be serialized: raise (on_error='raise') or warn once per function."""
        if self.on_error == "raise":
            raise SerializationError(f"cannot store the result of {self.name}: {exc!r}") from exc
        if not self.write_warned:
            self.write_warned = True
            warnings.warn(
                f"memo: the result of {self.name} cannot be stored ({exc!r}); it is returned uncached. "
                "Return picklable values to cache them.",
                CacheWriteWarning,
                stacklevel=4,
            )


class _Abandoned(Exception):
    """The leader of a flight went away (cancelled, interrupted): followers retry."""


class _Solo(Exception):
    """The leader's result is not for sharing (an iterator, a coroutine): followers compute their own."""


class Flights:
    """In-process single-flight: one leader per key computes, followers wait for its outcome.

    No lock is held while a body runs; the table's lock only guards join/leave. A forked
    child starts with empty tables and new locks: its parent's flights are led by threads
    the child does not have (see :func:`_reset_after_fork`).
    """

    __slots__ = ("__weakref__", "_flights", "_lock", "completed")

    def __init__(self) -> None:
        self._reset()
        self.completed = 0  # flights finished so far: a leader re-reads the cache if it moved
        _all_flights.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Future[Any]] = {}

    def join(self, key: str) -> tuple[Future[Any], bool]:
        """The flight for ``key`` and whether the caller leads it."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            from concurrent.futures import Future  # loaded on the first miss, not at import

            flight = Future()
            flight.set_running_or_notify_cancel()  # followers can never cancel it
            self._flights[key] = flight
            return flight, True

    def leave(self, key: str, flight: Future[Any]) -> None:
        """The leader is done with ``key``; a flight nobody resolved is abandoned."""
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
            self.completed += 1
        if not flight.done():
            flight.set_exception(_Abandoned())

    @staticmethod
    def settle(flight: Future[Any], value: Any = None, exc: BaseException | None = None) -> None:
        """Hand the leader's result (or exception) to the followers."""
        if flight.done():
            return
        if exc is None:
            flight.set_result(value)
        elif isinstance(exc, Exception):
            flight.set_exception(exc)
        else:  # cancellation or interrupt of the leader is not the followers' outcome
            flight.set_exception(_Abandoned())


ABANDONED = _Abandoned
SOLO = _Solo

_all_flights: weakref.WeakSet[Flights] = weakref.WeakSet()


def _reset_after_fork() -> None:
    """In a forked child: forget every in-process flight (its leaders stayed in the parent)."""
    for flights in list(_all_flights):
        flights._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)

# The keys whose bodies the current caller is running: per thread and per asyncio task
# (a task starts with a copy of its creator's context, so a task a body starts and awaits
# counts as that body). A call on one of these keys is re-entrant: it computes at once
# instead of waiting for its own flight or its own cross-process lock.
_computing: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("memo_computing", default=frozenset())


def reentrant(key: str) -> bool:
    """True when the current thread or task is already computing ``key`` (a call from its own body)."""
    return key in _computing.get()


def computing(key: str) -> contextvars.Token[frozenset[str]]:
    """Mark ``key`` as being computed by the current caller until :func:`computed`."""
    return _computing.set(_computing.get() | {key})


def computed(token: contextvars.Token[frozenset[str]] | None) -> None:
    """Undo :func:`computing` (nothing when ``token`` is None)."""
    if token is not None:
        _computing.reset(token)


class KeyMaker:
    """Binds call arguments and hashes them into ``namespace:function:version:digest`` keys.

    Hits skip binding and hashing through a bounded map from a *typed tuple* of the call's
    arguments to its key. Only calls whose arguments are all exact atoms (``int``,
    ``float``, ``str``, ``bytes``, ``bool``, ``None``) are remembered, and never one with a
    zero or NaN float. The tuple holds each argument's exact type next to its value, so
    1, 1.0 and True never meet (their types differ), a subclass never matches an atom,
    and 0.0/-0.0/NaN (the floats ``==`` cannot tell apart or match) are never in the map,
    so a probe holding one finds nothing. A probe of other objects finds nothing either
    (its types tuple differs) and takes the full path; so does an equal call of another
    shape (kwargs in another order).
    """

    __slots__ = (
        "_fast",
        "_fast_ok",
        "_ignore",
        "_key_fn",
        "_params",
        "_positional",
        "_sig",
        "_var_kw",
        "func",
        "watch",
    )

    def __init__(self, func: Any, watch: Watch, ignore: tuple[str, ...], key_fn: Any) -> None:
        self.func = func
        self.watch = watch  # version and hidden inputs (closure, __self__, partial args), live
        import inspect  # here, not at import: it is ~10 ms of `import memo`

        self._sig = inspect.signature(func)
        self._ignore = frozenset(ignore)
        self._key_fn = key_fn
        defaults = [p.default for p in self._sig.parameters.values() if p.default is not p.empty]
        # The typed-call -> key memo is sound only when the key depends on the call alone.
        self._fast_ok = key_fn is None and all(type(d) in _DEFAULT_ATOMS for d in defaults)
        self._fast: dict[tuple[Any, ...], str] = {}
        watch.maps.append(self._fast)
        # A plain parameter list (no *args, **kwargs or positional-only) binds without inspect.
        params = list(self._sig.parameters.values())
        plain = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params)
        self._positional = tuple(p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD) if plain else None
        self._params = tuple((p.name, _NO_DEFAULT if p.default is p.empty else p.default) for p in params)
        self._var_kw = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)

    @property
    def signature(self) -> inspect.Signature:
        return self._sig

    @property
    def prefix(self) -> str:
        """``namespace:name:version:`` for the code in place now."""
        return self.watch.prefix

    @staticmethod
    def probe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """The typed tuple of a call as the generic ``*args, **kwargs`` wrapper sees it."""
        if not kwargs:
            return (tuple(map(type, args)), args)
        values = tuple(kwargs.values())
        return (tuple(map(type, args)), args, tuple(kwargs), tuple(map(type, values)), values)

    def remember(self, fast: dict[tuple[Any, ...], str], probe: tuple[Any, ...], values: Any, key: str) -> None:
        """Map ``probe`` to ``key`` in ``fast`` when every argument in ``values`` is a safe atom."""
        if not self._fast_ok:
            return
        for v in values:
            t = type(v)
            if t is float:
                if not v or v != v:  # 0.0, -0.0 and NaN: == cannot tell them apart or match them
                    return
            elif t is str or t is bytes:
                if len(v) > _FAST_ATOM_LEN:
                    return
            elif t is not int and t is not bool and v is not None:
                return
        if len(fast) >= _FAST_MAX:
            fast.clear()
        fast[probe] = key

    def check_ignore(self, ignore: tuple[str, ...]) -> None:
        params = self._sig.parameters
        free = self.watch.free_names()
        bound = tuple(n for n in self.watch.bound_names() if not n.startswith("<"))
        unknown = [n for n in ignore if n not in params and n not in free and n not in bound]
        if unknown:
            name = self.watch.target.name
            raise ConfigurationError(
                f"ignore={ignore!r}: {name} has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are {', '.join((*bound, *params)) or '(none)'}"
                + (f" and its closure variables {', '.join(free)}" if free else "")
            )

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Bound arguments with defaults applied; TypeError like a real call when they don't fit.

        The same mapping, in parameter order, as ``signature.bind`` plus ``apply_defaults``;
        plain parameter lists take a direct path, anything unusual (or wrong) goes to inspect.
        """
        positional = self._positional
        if positional is not None and len(args) <= len(positional):
            bound = dict(zip(positional, args))
            used = 0
            for name, default in self._params[len(args) :]:
                if name in kwargs:
                    bound[name] = kwargs[name]
                    used += 1
                elif default is not _NO_DEFAULT:
                    bound[name] = default
                else:
                    break  # a missing argument: inspect raises the TypeError
            else:
                if used == len(kwargs):  # else an unexpected or duplicated keyword
                    return bound
        full = self._sig.bind(*args, **kwargs)
        full.apply_defaults()
        return full.arguments

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The cache key of a call (for the code and hidden inputs in place now)."""
        self.watch.sync()
        probe = self.probe(args, kwargs)
        try:
            found = self._fast.get(probe)
        except Exception:  # an unhashable argument: it cannot be remembered either
            return self.prefix + self._digest(args, kwargs)
        if found is not None:
            return found
        key = self.prefix + self._digest(args, kwargs)
        self.remember(self._fast, probe, (*args, *kwargs.values()), key)
        return key

    def _digest(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The digest part of a key; the caller has synced :attr:`watch`."""
        items: list[tuple[str, object]]
        if self._key_fn is not None:
            self.bind(args, kwargs)  # a call that does not fit the signature fails the same way
            items = [("key()", self._key_fn(*args, **kwargs))]
        else:
            arguments = self.bind(args, kwargs)
            var_kw = self._var_kw
            if var_kw is not None and len(arguments.get(var_kw) or ()) > 1:  # dict order counts, **kwargs order not
                arguments[var_kw] = dict(sorted(arguments[var_kw].items()))
            items = [(n, v) for n, v in arguments.items() if n not in self._ignore]
        digest = self.watch.digest
        if digest:  # closure values read, __self__, a partial's args: hashed by the watch
            items.append(("<state>", digest))
        return hash_arguments(items)

    def describe(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """Short readable arguments for metadata (the inspector shows them).

        One line, at most 200 characters: ``df=DataFrame(1000x10), a=ndarray(float64, 1000x3),
        items=list(len=100000), n=3``. Big arguments are summarised by type and size, never
        ``repr``-ed whole (see ``_summary``), so describing costs nothing next to hashing.
        """
        try:
            arguments = self.bind(args, kwargs)
        except TypeError:
            return ""
        parts: list[str] = []
        used = 0
        for name, value in arguments.items():
            if name in self._ignore:
                continue
            if used > _DESCRIBE_MAX:
                break
            part = f"{name}={short_repr(value, _ARG_MAX)}"
            parts.append(part)
            used += len(part) + 2
        shown = ", ".join(parts)
        return shown if len(shown) <= _DESCRIBE_MAX else shown[: _DESCRIBE_MAX - 3] + "..."


def make_entry(value: Any, duration: float, name: str, args: str, version: str, ttl: float | None) -> Entry:
    """A fresh entry for a computed result."""
    created = time.time()
    return Entry(
        value=value,
        function=name,
        args=args,
        created=created,
        expires=None if ttl is None else created + ttl,
        duration=duration,
        version=version,
    )


def entry_info(key: str, entry: Entry) -> EntryInfo:
    """Public view of an entry's metadata."""
    return EntryInfo(
        key=key,
        args=entry.args,
        size=entry.size,
        created=entry.created,
        expires=entry.expires,
        duration=entry.duration,
        version=entry.version,
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
