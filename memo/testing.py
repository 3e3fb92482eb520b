"""``BackendContract``: the storage protocol's test suite, for any backend.

Subclass it in a pytest module and provide a ``backend`` fixture; every built-in backend
runs this same suite. It needs no asyncio plugin: each async case runs its own event loop
(``asyncio.run``), so it works with or without pytest-asyncio, in strict or auto mode::

    import pytest
    from memo.testing import BackendContract

    class TestMyBackend(BackendContract):
        @pytest.fixture
        def backend(self, tmp_path):
            b = MyBackend(tmp_path)
            yield b
            b.close()
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

__all__ = ["BackendContract"]

P = "contract:"
TTL = 0.3
_VALUES = {"empty": b"", "binary": b"\x00\xff", "small": b"abc" * 100}


@functools.lru_cache(maxsize=1)
def _big() -> bytes:
    return os.urandom(8 * 1024 * 1024)  # made on first use, not at import


def _value(name: str) -> bytes:
    return _big() if name == "8MiB" else _VALUES[name]


class BackendContract:
    """The storage protocol, checked: miss, round-trip, delete, scoped clear/keys, TTL, close.

    Every case runs again through the async twins, each in a fresh event loop at the end
    of which the backend is ``aclose``-d. Example::

        class TestRedis(BackendContract):
            @pytest.fixture
            def backend(self):
                return memo.RedisBackend("redis://localhost:6379/15", prefix="t:")
    """

    @pytest.fixture
    def backend(self) -> Any:
        """Override: yield the backend under test (empty, or at least without ``contract:`` keys)."""
        raise NotImplementedError("subclass BackendContract and define a `backend` fixture")

    @staticmethod
    def run_async(backend: Any, case: Callable[[], Awaitable[None]]) -> None:
        """Run an async case in its own event loop, then ``aclose`` the backend in that loop.

        The async twins are plain test functions that call this, so the suite needs no
        asyncio plugin and behaves the same under pytest-asyncio's strict and auto modes.
        """

        async def main() -> None:
            try:
                await case()
            finally:
                await backend.aclose()

        asyncio.run(main())

    # -- sync ----------------------------------------------------------------------------
    def test_miss_is_none(self, backend: Any) -> None:
        """A key never set reads as None."""
        assert backend.get(P + "missing") is None

    @pytest.mark.parametrize("name", ["empty", "binary", "small", "8MiB"])
    def test_bytes_round_trip(self, backend: Any, name: str) -> None:
        """Bytes come back exactly, including NUL/0xFF and 8 MiB values."""
        value = _value(name)
        backend.set(P + "v", value)
        assert bytes(backend.get(P + "v")) == value

    def test_set_overwrites(self, backend: Any) -> None:
        """A second set replaces the value."""
        backend.set(P + "o", b"1")
        backend.set(P + "o", b"2")
        assert backend.get(P + "o") == b"2"

    def test_delete_reports_presence(self, backend: Any) -> None:
        """delete is True for a present key, then False."""
        backend.set(P + "d", b"x")
        assert backend.delete(P + "d") is True
        assert backend.delete(P + "d") is False
        assert backend.get(P + "d") is None

    def test_clear_and_keys_are_scoped_by_prefix(self, backend: Any) -> None:
        """clear(prefix) and keys(prefix) only touch keys under that prefix."""
        for key in ("a:1", "a:2", "ab:1", "b:1"):
            backend.set(P + key, b"x")
        assert sorted(backend.keys(P + "a:")) == [P + "a:1", P + "a:2"]
        assert backend.clear(P + "a:") == 2
        assert sorted(backend.keys(P)) == [P + "ab:1", P + "b:1"]
        assert backend.get(P + "b:1") == b"x"
        assert backend.clear(P) == 2

    def test_ttl_expires(self, backend: Any) -> None:
        """A value set with a TTL is gone after it, and not listed."""
        backend.set(P + "t", b"x", ttl=TTL)
        backend.set(P + "keep", b"y")
        assert backend.get(P + "t") == b"x"
        time.sleep(TTL + 0.3)
        assert backend.get(P + "t") is None
        assert list(backend.keys(P + "t")) == []
        assert backend.get(P + "keep") == b"y"

    def test_close_is_idempotent(self, backend: Any) -> None:
        """close can be called twice."""
        backend.close()
        backend.close()

    # -- async twins: plain functions running their own loop (no asyncio plugin needed) --
    def test_async_miss_is_none(self, backend: Any) -> None:
        """aget of a missing key is None."""

        async def case() -> None:
            assert await backend.aget(P + "missing") is None

        self.run_async(backend, case)

    @pytest.mark.parametrize("name", ["empty", "binary", "small", "8MiB"])
    def test_async_bytes_round_trip(self, backend: Any, name: str) -> None:
        """aset/aget round-trip bytes exactly, including NUL/0xFF and 8 MiB values."""

        async def case() -> None:
            value = _value(name)
            await backend.aset(P + "v", value)
            assert bytes(await backend.aget(P + "v")) == value

        self.run_async(backend, case)

    def test_async_set_overwrites(self, backend: Any) -> None:
        """A second aset replaces the value."""

        async def case() -> None:
            await backend.aset(P + "o", b"1")
            await backend.aset(P + "o", b"2")
            assert await backend.aget(P + "o") == b"2"

        self.run_async(backend, case)

    def test_async_delete_reports_presence(self, backend: Any) -> None:
        """adelete is True for a present key, then False."""

        async def case() -> None:
            await backend.aset(P + "d", b"x")
            assert await backend.adelete(P + "d") is True
            assert await backend.adelete(P + "d") is False
            assert await backend.aget(P + "d") is None

        self.run_async(backend, case)

    def test_async_clear_and_keys_are_scoped(self, backend: Any) -> None:
        """aclear(prefix) and akeys(prefix) only touch keys under that prefix."""

        async def case() -> None:
            for key in ("a:1", "a:2", "b:1"):
                await backend.aset(P + key, b"x")
            assert sorted([k async for k in backend.akeys(P + "a:")]) == [P + "a:1", P + "a:2"]
            assert await backend.aclear(P + "a:") == 2
            assert [k async for k in backend.akeys(P)] == [P + "b:1"]
            assert await backend.aclear(P) == 1

        self.run_async(backend, case)

    def test_async_ttl_expires(self, backend: Any) -> None:
        """A value aset with a TTL is gone after it, and not listed by akeys."""

        async def case() -> None:
            await backend.aset(P + "t", b"x", ttl=TTL)
            await backend.aset(P + "keep", b"y")
            assert await backend.aget(P + "t") == b"x"
            await asyncio.sleep(TTL + 0.3)
            assert await backend.aget(P + "t") is None
            assert [k async for k in backend.akeys(P + "t")] == []
            assert await backend.aget(P + "keep") == b"y"

        self.run_async(backend, case)

    def test_async_close_is_idempotent(self, backend: Any) -> None:
        """aclose can be awaited twice."""

        async def case() -> None:
            await backend.aclose()
            await backend.aclose()

        self.run_async(backend, case)
