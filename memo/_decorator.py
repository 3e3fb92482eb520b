"""``@memo.cache``: the decorator, and the cached function it builds (wrapper plus controls)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, overload

from memo._types import AsyncCachedFunction, CachedFunction, CacheOptions, EntryInfo, P, R, T

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from 3.11; only type checkers read it

    from memo._function import Options

# The call machinery (_function, _drivers, _wrapper and what they stand on) is imported by
# the first decoration, not by `import memo`: a program that imports memo and never
# decorates (a CLI, `python -m memo --version`) does not pay for it.

__all__ = ["cache"]


def _build(func: Callable[..., Any], opts: Options) -> Any:
    import inspect

    from memo import _registry
    from memo._drivers import async_call, sync_call
    from memo._function import CachedState, check_callable
    from memo._wrapper import make_wrapper

    if isinstance(func, (staticmethod, classmethod)):  # @memo.cache above @staticmethod/@classmethod
        return type(func)(_build(func.__func__, opts))
    check_callable(func)
    c = CachedState(func, opts)
    is_async = inspect.iscoroutinefunction(func)
    make_key = c.keys.key_bound
    wrapper: Any = make_wrapper(c, is_async)
    if is_async:

        async def acache_refresh(*args: Any, **kwargs: Any) -> Any:
            key, bound = make_key(args, kwargs)
            return await async_call(c, key, c.store(), args, kwargs, bound, refresh=True)

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
            key, bound = make_key(args, kwargs)
            return sync_call(c, key, c.store(), args, kwargs, bound, refresh=True)

    def cache_key(*args: Any, **kwargs: Any) -> str:
        return c.keys.key(args, kwargs)

    def cache_explain(*args: Any, **kwargs: Any) -> Any:
        from memo._explain import explain  # loaded on first use: `import memo` stays light

        return explain(c, args, kwargs)

    def cache_delete(*args: Any, **kwargs: Any) -> bool:
        return c.store().delete(c.keys.key(args, kwargs))

    def cache_clear() -> int:
        return c.store().clear(c.fn_prefix)

    def cache_entries() -> list[EntryInfo]:
        from memo import admin  # loaded on first use: `import memo` stays light

        return admin.entries(c.store().backend, c.name, opts.namespace)

    for attr, value in (
        ("cache_key", cache_key),
        ("cache_explain", cache_explain),
        ("cache_delete", cache_delete),
        ("cache_clear", cache_clear),
        ("cache_info", c.stats.info),
        ("cache_entries", cache_entries),
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
def cache(func: None = None, /, **options: Unpack[CacheOptions]) -> _Decorator: ...
def cache(func: Callable[..., Any] | None = None, /, **options: Unpack[CacheOptions]) -> Any:
    """Memoize a ``def`` or ``async def`` function on the content of its arguments.

    Use it bare or with options (all checked now, at decoration time)::

        @memo.cache
        def load(path: str) -> bytes: ...

        @memo.cache(ttl=60, backend="redis://localhost:6379/0", ignore=("verbose",))
        async def get_item(item_id: int, verbose: bool = False) -> dict: ...

    The options (declared, typed and documented once, in :class:`memo.CacheOptions`):
    ``backend``: a backend or URL (``None``: the configured default, looked up per call);
    ``ttl``: seconds or timedelta (``None``: the configured default, never expiring);
    ``ignore``: parameter names left out of the key; ``key``: a function with the same
    signature returning what to hash instead; ``version``: pin entries across code edits
    (default: a fingerprint of the code); ``namespace``: a group for ``memo.clear``;
    ``lock``: single-flight for concurrent callers; ``lock_timeout``: seconds a caller waits
    for another's computation; ``condition(result)``: store only when true; ``on_error``:
    ``"warn"``, ``"raise"`` or ``"ignore"`` on backend failure; ``secret``: HMAC key;
    ``track_globals``: hash the globals the body reads and the same-module functions it
    calls (default: only for notebook and ``__main__`` functions); ``verbose``: print one
    short line per call (hit/miss/refreshed and the seconds; default: ``memo.configure(verbose=...)``).
    """
    from memo._function import Options

    opts = Options(options)
    if func is not None:
        return _build(func, opts)
    return _Decorator(opts)


class _Decorator:
    """The decorator ``memo.cache(...)`` returns when given options."""

    def __init__(self, opts: Options) -> None:
        self._opts = opts

    @overload
    def __call__(self, func: Callable[P, Coroutine[Any, Any, T]], /) -> AsyncCachedFunction[P, T]: ...
    @overload
    def __call__(self, func: Callable[P, R], /) -> CachedFunction[P, R]: ...
    def __call__(self, func: Callable[..., Any], /) -> Any:
        return _build(func, self._opts)
