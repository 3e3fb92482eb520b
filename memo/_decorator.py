"""``@memo.cache``: option checks, the per-function state, and the two call drivers.

The sync and async drivers below mirror each other line for line over the I/O-free
steps of ``_core``; a change to one is made to the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Generator
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from memo import _config, _registry, _xflight
from memo._core import (
    ABANDONED,
    MISS,
    SOLO,
    CacheInfo,
    EntryInfo,
    Flights,
    KeyMaker,
    Policy,
    Stats,
    computed,
    computing,
    make_entry,
    reentrant,
)
from memo._identity import check_identifiable, resolve
from memo._keys import check_segment, function_prefix
from memo._results import fresh
from memo._store import OBJECT, Store, store_for
from memo._watch import Watch
from memo._wrapper import make_wrapper
from memo.exceptions import ConfigurationError, HashingError

__all__ = ["AsyncCachedFunction", "CachedFunction", "cache"]


P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


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


class _Options:
    """Validated decorator options."""

    __slots__ = (
        "backend",
        "condition",
        "ignore",
        "key",
        "lock",
        "lock_timeout",
        "namespace",
        "on_error",
        "secret",
        "ttl",
        "version",
    )

    def __init__(self, **opts: Any) -> None:
        self.backend = opts["backend"] if opts["backend"] is None else _config.resolve_backend(opts["backend"])
        self.ttl = _config.normalize_ttl(opts["ttl"])
        ignore = opts["ignore"]
        if isinstance(ignore, str):
            ignore = (ignore,)
        if not isinstance(ignore, (tuple, list, set, frozenset)) or not all(isinstance(n, str) for n in ignore):
            raise ConfigurationError(f"ignore={ignore!r}: pass a tuple of parameter names, e.g. ignore=('verbose',)")
        self.ignore: tuple[str, ...] = tuple(ignore)
        for name in ("key", "condition"):
            if opts[name] is not None and not callable(opts[name]):
                raise ConfigurationError(f"{name}={opts[name]!r} is not callable: pass a function or None")
        self.key = opts["key"]
        self.condition = opts["condition"]
        version, namespace = opts["version"], opts["namespace"]
        for name, text in (("version", version), ("namespace", namespace)):
            if text is not None:
                check_segment(name, text)
        self.version: str | None = version
        self.namespace: str = namespace or "default"
        if not isinstance(opts["lock"], bool):
            raise ConfigurationError(f"lock={opts['lock']!r}: pass True or False")
        self.lock: bool = opts["lock"]
        timeout = _config.normalize_ttl(opts["lock_timeout"], "lock_timeout")
        self.lock_timeout: float = 60.0 if timeout is None else timeout
        self.on_error = None if opts["on_error"] is None else _config.check_on_error(opts["on_error"])
        self.secret = _config.normalize_secret(opts["secret"])


class _Cached:
    """Per-function state shared by the drivers and the attached controls."""

    def __init__(self, func: Callable[..., Any], opts: _Options) -> None:
        self.func = func
        self.opts = opts
        target = resolve(func)
        check_identifiable(func, target, opts.version)
        self.name = target.name
        self.fn_prefix = function_prefix(opts.namespace, self.name)
        watch = Watch(target, self.fn_prefix, opts.version, frozenset(opts.ignore))
        self.keys = KeyMaker(func, watch, opts.ignore, opts.key)
        self.keys.check_ignore(opts.ignore)
        try:
            watch.sync()
        except HashingError as exc:  # a partial's args are its identity: refused now, not at the first call
            if "functools.partial" in str(exc):
                raise ConfigurationError(f"@memo.cache cannot identify {func!r}: {exc}") from None
        self.stats = Stats()
        self.policy = Policy(self.name, opts.on_error, self.stats)
        self.flights = Flights()
        self._last: tuple[Any, Any, Any] = (None, None, None)  # (backend, secret, store) of the last call
        # Typed call -> key (see KeyMaker), and typed call -> the MemoryBackend slot of its
        # entry, so a memory hit is one lookup; the slots map is emptied when the backend
        # changes and when full. The wrapper checks a slot's owner is this call's backend.
        self.fast: dict[tuple[Any, ...], str] = {}
        self.slots: dict[tuple[Any, ...], Any] = {}
        self.slots_owner: Any = None
        watch.maps += (self.fast, self.slots)  # emptied when the code or a hidden input changes

    @property
    def version(self) -> str:
        """The version of the code in place now (``version=``, else the live code's fingerprint)."""
        return self.keys.watch.version

    def store(self) -> Store:
        """The adapter for this call's backend (the default is looked up now, not at decoration)."""
        backend = self.opts.backend
        if backend is None:
            backend = _config.get_default_backend()
        secret = self.opts.secret or _config.state.secret
        last = self._last
        if last[0] is backend and last[1] is secret:
            return last[2]  # type: ignore[no-any-return]
        store = store_for(backend, self.opts.secret or _config.current_secret())
        self._last = (backend, secret, store)
        return store

    def ttl(self) -> float | None:
        return self.opts.ttl if self.opts.ttl is not None else _config.state.ttl

    def entry(self, value: Any, duration: float, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The entry to store for a computed value, or None when ``condition`` says no."""
        condition = self.opts.condition
        if condition is not None and not condition(value):
            return None
        return make_entry(value, duration, self.name, self.keys.describe(args, kwargs), self.version, self.ttl())

    def entries(self) -> list[EntryInfo]:
        from memo import admin  # the management layer sits above this one: looked up when used

        return admin.entries(self.store().backend, self.name, self.opts.namespace)


# ---------------------------------------------------------------------------------------
# The two drivers. Keep them line-for-line twins.
# ---------------------------------------------------------------------------------------


def _sync_call(
    c: _Cached, key: str, store: Store, args: tuple[Any, ...], kwargs: dict[str, Any], refresh: bool = False
) -> Any:
    """Run one sync call through :func:`_sync_flow`, calling the body when the flow asks for it.

    The compiled sync wrapper drives the flow the same way inline, so a cold recursive
    call costs two Python frames per level (wrapper and body; the flow is suspended while
    the body runs), as deep as ``lru_cache`` goes before ``RecursionError``.
    """
    flow = _sync_flow(c, key, store, args, kwargs, refresh)
    try:
        next(flow)
    except StopIteration as done:  # a hit: the body is not needed
        return done.value
    try:
        value = c.func(*args, **kwargs)
    except BaseException as exc:
        flow.throw(exc)  # the flow settles its waiters, releases its locks and re-raises
        raise
    try:
        flow.send(value)
    except StopIteration as done:
        return done.value
    raise RuntimeError("memo: the call flow asked for the body twice")  # pragma: no cover


def _sync_flow(
    c: _Cached, key: str, store: Store, args: tuple[Any, ...], kwargs: dict[str, Any], refresh: bool = False
) -> Generator[None, Any, Any]:
    """The sync driver, as a generator: it yields once when the body must run and is sent its result."""
    store.check_sync()
    seen = c.flights.completed
    entry = MISS if refresh else store.load(key, c.policy)
    if entry is not MISS:
        c.stats.hit(entry.duration)
        return entry.value
    lead = c.opts.lock and not refresh and not reentrant(key)  # a re-entrant call computes at once
    flight, leader = c.flights.join(key) if lead else (None, True)
    while not leader:
        from concurrent.futures import TimeoutError as FuturesTimeout  # only followers get here

        try:
            value, duration = flight.result(timeout=c.opts.lock_timeout)  # type: ignore[union-attr]
        except ABANDONED:
            flight, leader = c.flights.join(key)
            continue
        except (FuturesTimeout, TimeoutError, SOLO):
            flight, leader = None, True  # waited long enough, or not a shareable result: compute alone
            break
        c.stats.hit(duration)
        return value
    xlock = token = None
    try:
        entry = store.load(key, c.policy) if flight is not None and seen != c.flights.completed else MISS
        if entry is MISS and flight is not None:
            xlock, entry = _xflight.acquire(store, key, c.opts.lock_timeout, c.policy)
        if entry is not MISS:
            Flights.settle(flight, (entry.value, entry.duration))  # type: ignore[arg-type]
            c.stats.hit(entry.duration)
            return entry.value
        c.stats.add(misses=1)
        token = computing(key) if c.opts.lock else None  # calls from the body on this key compute at once
        start = time.perf_counter()
        value = yield  # the caller runs the body (a frame fewer per recursive level)
        duration = time.perf_counter() - start
        value, keep = fresh(value, c, store.kind == OBJECT)  # used up: not kept; shared: protected
        if flight is not None:
            Flights.settle(flight, (value, duration), None if keep else SOLO())
        new = c.entry(value, duration, args, kwargs) if keep else None
        if new is not None and store.save(key, new, c.ttl(), c.policy, xlock):
            c.stats.add(stores=1)
        return value
    except BaseException as exc:
        if flight is not None:
            Flights.settle(flight, exc=exc)
        raise
    finally:
        computed(token)
        try:
            _xflight.release(xlock)
        finally:  # even if the release is interrupted
            if flight is not None:
                c.flights.leave(key, flight)


async def _async_call(
    c: _Cached, key: str, store: Store, args: tuple[Any, ...], kwargs: dict[str, Any], refresh: bool = False
) -> Any:
    import asyncio  # already loaded by the running loop; not imported at `import memo`

    seen = c.flights.completed
    entry = MISS if refresh else await store.aload(key, c.policy)
    if entry is not MISS:
        c.stats.hit(entry.duration)
        return entry.value
    lead = c.opts.lock and not refresh and not reentrant(key)  # a re-entrant call computes at once
    flight, leader = c.flights.join(key) if lead else (None, True)
    while not leader:
        from concurrent.futures import TimeoutError as FuturesTimeout  # only followers get here

        try:
            value, duration = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(flight)), c.opts.lock_timeout)  # type: ignore[arg-type]
        except ABANDONED:
            flight, leader = c.flights.join(key)
            continue
        except (FuturesTimeout, TimeoutError, asyncio.TimeoutError, SOLO):
            flight, leader = None, True  # waited long enough, or not a shareable result: compute alone
            break
        c.stats.hit(duration)
        return value
    xlock = token = None
    try:
        entry = await store.aload(key, c.policy) if flight is not None and seen != c.flights.completed else MISS
        if entry is MISS and flight is not None:
            xlock, entry = await _xflight.aacquire(store, key, c.opts.lock_timeout, c.policy)
        if entry is not MISS:
            Flights.settle(flight, (entry.value, entry.duration))  # type: ignore[arg-type]
            c.stats.hit(entry.duration)
            return entry.value
        c.stats.add(misses=1)
        token = computing(key) if c.opts.lock else None  # calls from the body on this key compute at once
        start = time.perf_counter()
        value = await c.func(*args, **kwargs)
        duration = time.perf_counter() - start
        value, keep = fresh(value, c, store.kind == OBJECT)  # used up: not kept; shared: protected
        if flight is not None:
            Flights.settle(flight, (value, duration), None if keep else SOLO())
        new = c.entry(value, duration, args, kwargs) if keep else None
        if new is not None and await store.asave(key, new, c.ttl(), c.policy, xlock):
            c.stats.add(stores=1)
        return value
    except BaseException as exc:
        if flight is not None:
            Flights.settle(flight, exc=exc)
        raise
    finally:
        computed(token)
        try:
            await _xflight.arelease(xlock)
        finally:  # even if the release is interrupted
            if flight is not None:
                c.flights.leave(key, flight)


# ---------------------------------------------------------------------------------------
# Building the wrapper
# ---------------------------------------------------------------------------------------


def _check_callable(func: Any) -> None:
    if isinstance(func, type):
        raise ConfigurationError(
            f"@memo.cache cannot decorate the class {func.__qualname__}: decorate a function or method instead"
        )
    if not callable(func):
        raise ConfigurationError(f"@memo.cache needs a function, got {func!r}")
    import inspect  # at the first decoration, not at `import memo`

    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise ConfigurationError(
            f"@memo.cache cannot cache the generator function {getattr(func, '__qualname__', func)!r}: "
            "its result is consumed once; return a list (or other value) instead"
        )
    try:
        inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"@memo.cache cannot read the signature of {func!r}: {exc}") from None


def _build(func: Callable[..., Any], opts: _Options) -> Any:
    import inspect

    if isinstance(func, (staticmethod, classmethod)):  # @memo.cache above @staticmethod/@classmethod
        return type(func)(_build(func.__func__, opts))
    _check_callable(func)
    c = _Cached(func, opts)
    is_async = inspect.iscoroutinefunction(func)
    make_key = c.keys.key
    wrapper: Any = make_wrapper(c, is_async, _async_call if is_async else _sync_flow)
    if is_async:

        async def acache_refresh(*args: Any, **kwargs: Any) -> Any:
            return await _async_call(c, make_key(args, kwargs), c.store(), args, kwargs, refresh=True)

        async def acache_delete(*args: Any, **kwargs: Any) -> bool:
            return await c.store().adelete(c.keys.key(args, kwargs))

        async def acache_clear() -> int:
            return await c.store().aclear(c.fn_prefix)

        wrapper.acache_refresh = acache_refresh
        wrapper.acache_delete = acache_delete
        wrapper.acache_clear = acache_clear
        refresh: Callable[..., Any] = acache_refresh
    else:

        def refresh(*args: Any, **kwargs: Any) -> Any:
            return _sync_call(c, make_key(args, kwargs), c.store(), args, kwargs, refresh=True)

    def cache_key(*args: Any, **kwargs: Any) -> str:
        return c.keys.key(args, kwargs)

    def cache_delete(*args: Any, **kwargs: Any) -> bool:
        return c.store().delete(c.keys.key(args, kwargs))

    def cache_clear() -> int:
        return c.store().clear(c.fn_prefix)

    for attr, value in (
        ("cache_key", cache_key),
        ("cache_delete", cache_delete),
        ("cache_clear", cache_clear),
        ("cache_info", c.stats.info),
        ("cache_entries", c.entries),
        ("cache_refresh", refresh),
        ("uncached", func),
        ("cache_name", c.name),
        ("cache_namespace", opts.namespace),
        ("_memo", c),
    ):
        setattr(wrapper, attr, value)
    _registry.register(wrapper, opts.namespace, c.name, c.fn_prefix, c.version, opts.backend)
    return wrapper


@overload
def cache(func: Callable[P, Coroutine[Any, Any, T]], /) -> AsyncCachedFunction[P, T]: ...
@overload
def cache(func: Callable[P, R], /) -> CachedFunction[P, R]: ...
@overload
def cache(
    func: None = None,
    /,
    *,
    backend: Any = None,
    ttl: Any = None,
    ignore: Any = (),
    key: Callable[..., Any] | None = None,
    version: str | None = None,
    namespace: str | None = None,
    lock: bool = True,
    lock_timeout: float = 60,
    condition: Callable[[Any], bool] | None = None,
    on_error: str | None = None,
    secret: bytes | str | None = None,
) -> _Decorator: ...
def cache(
    func: Callable[..., Any] | None = None,
    /,
    *,
    backend: Any = None,
    ttl: Any = None,
    ignore: Any = (),
    key: Callable[..., Any] | None = None,
    version: str | None = None,
    namespace: str | None = None,
    lock: bool = True,
    lock_timeout: float = 60,
    condition: Callable[[Any], bool] | None = None,
    on_error: str | None = None,
    secret: bytes | str | None = None,
) -> Any:
    """Memoize a ``def`` or ``async def`` function on the content of its arguments.

    Use it bare or with options (all checked now, at decoration time)::

        @memo.cache
        def load(path: str) -> bytes: ...

        @memo.cache(ttl=60, backend="redis://localhost:6379/0", ignore=("verbose",))
        async def get_item(item_id: int, verbose: bool = False) -> dict: ...

    ``backend``: a backend or URL (``None``: the configured default, looked up per call);
    ``ttl``: seconds or timedelta (``None``: the configured default, never expiring);
    ``ignore``: parameter names left out of the key; ``key``: a function with the same
    signature returning what to hash instead; ``version``: pin entries across code edits
    (default: a fingerprint of the code); ``namespace``: a group for ``memo.clear``;
    ``lock``: single-flight for concurrent callers; ``lock_timeout``: seconds a caller waits
    for another's computation; ``condition(result)``: store only when true; ``on_error``:
    ``"warn"``, ``"raise"`` or ``"ignore"`` on backend failure; ``secret``: HMAC key.
    """
    opts = _Options(
        backend=backend,
        ttl=ttl,
        ignore=ignore,
        key=key,
        version=version,
        namespace=namespace,
        lock=lock,
        lock_timeout=lock_timeout,
        condition=condition,
        on_error=on_error,
        secret=secret,
    )
    if func is not None:
        return _build(func, opts)
    return _Decorator(opts)


class _Decorator:
    """The decorator ``memo.cache(...)`` returns when given options."""

    def __init__(self, opts: _Options) -> None:
        self._opts = opts

    @overload
    def __call__(self, func: Callable[P, Coroutine[Any, Any, T]], /) -> AsyncCachedFunction[P, T]: ...
    @overload
    def __call__(self, func: Callable[P, R], /) -> CachedFunction[P, R]: ...
    def __call__(self, func: Callable[..., Any], /) -> Any:
        return _build(func, self._opts)
