"""The public backend protocol and the sync-first base class.

A backend stores ``bytes`` under ``str`` keys. Implement the six sync methods; the
async twins default to running them in a worker thread, and backends with native async
I/O override them (the shape of Django's cache ``BaseCache``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = ["AsyncBackend", "Backend", "BaseBackend"]


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
