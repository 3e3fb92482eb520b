"""Shared fixtures: a fresh memory backend per test, each built-in backend, and a sync/async function factory."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import memo
from memo import _config

pytest_plugins = ["tests.redis_fixtures"]


@pytest.fixture(autouse=True)
def _fresh_memo_state() -> Iterator[None]:
    """Every test starts with caching on, default options and a new default memory backend."""
    saved = (_config.state.backend, _config.state.ttl, _config.state.on_error, _config.state.secret)
    _config.state.backend = memo.MemoryBackend()
    _config.state.ttl, _config.state.on_error, _config.state.secret = None, "warn", _config.UNREAD
    _config.state.enabled = True
    try:
        yield
    finally:
        _config.state.backend, _config.state.ttl, _config.state.on_error, _config.state.secret = saved
        _config.state.enabled = True


@pytest.fixture(params=["memory", "file", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Each built-in backend in turn, empty: memory, file (in ``tmp_path / "cache"``), Redis (the session server)."""
    if request.param == "memory":
        yield memo.MemoryBackend()
    elif request.param == "file":
        made = memo.FileBackend(tmp_path / "cache")
        yield made
        made.close()
    else:
        yield request.getfixturevalue("redis_backend")


class Kind:
    """Builds the same body as ``def`` or ``async def`` and calls it from sync test code."""

    def __init__(self, is_async: bool) -> None:
        self.is_async = is_async
        self.name = "async" if is_async else "sync"

    def make(self, body: Callable[..., Any], **options: Any) -> Any:
        """Decorate ``body`` (a plain function) as a cached def or async def with its signature."""
        if self.is_async:

            async def func(*args: Any, **kwargs: Any) -> Any:
                await asyncio.sleep(0)
                return body(*args, **kwargs)

        else:

            def func(*args: Any, **kwargs: Any) -> Any:
                return body(*args, **kwargs)

        func.__signature__ = inspect.signature(body)  # type: ignore[attr-defined]
        func.__qualname__ = body.__qualname__
        func.__name__ = body.__name__
        func.__module__ = body.__module__
        func.__doc__ = body.__doc__
        return memo.cache(**options)(func) if options else memo.cache(func)

    def call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Call a cached function and return its result, running a loop for async ones."""
        result = func(*args, **kwargs)
        if self.is_async:
            return asyncio.run(_await(result))
        return result

    def refresh(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """``cache_refresh`` through the right driver."""
        if self.is_async:
            return asyncio.run(func.acache_refresh(*args, **kwargs))
        return func.cache_refresh(*args, **kwargs)


async def _await(awaitable: Any) -> Any:
    return await awaitable


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> Kind:
    """Runs a test once through the sync driver and once through the async driver."""
    return Kind(request.param)
