"""``BackendContract``: the storage protocol's test suite, for any backend.

Subclass it in a pytest module and provide a ``backend`` fixture; every built-in backend
runs this same suite. The optional capabilities a backend declares (``memo.backends``:
``PartsWriter``, ``HeadReader``, ``Locking``, ``ObjectStore``, ``SlotSource``) are checked
too; the cases of the ones it does not declare are skipped. It needs no asyncio plugin:
each async case runs its own event loop (``asyncio.run``), so it works with or without
pytest-asyncio, in strict or auto mode::

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

from memo.backends._base import HeadReader, Locking, ObjectStore, PartsWriter, SlotSource

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

    # -- declared capabilities: checked when the backend declares them, skipped otherwise --
    @staticmethod
    def require(backend: Any, capability: type[Any]) -> None:
        """Skip the case unless ``backend`` declares ``capability`` (a Protocol of ``memo.backends``)."""
        if not isinstance(backend, capability) or (capability is ObjectStore and not backend.stores_objects):
            pytest.skip(f"{type(backend).__name__} does not declare {capability.__name__}")

    def test_parts_writer_stores_the_concatenation(self, backend: Any) -> None:
        """A PartsWriter's set_parts stores what set would store for the joined buffers."""
        self.require(backend, PartsWriter)
        big = _big()
        backend.set_parts(P + "p", [b"head:", memoryview(big), bytearray(b":tail")])
        assert bytes(backend.get(P + "p")) == b"head:" + big + b":tail"

    def test_async_parts_writer_stores_the_concatenation(self, backend: Any) -> None:
        """A PartsWriter's aset_parts stores what aset would store for the joined buffers."""
        self.require(backend, PartsWriter)

        async def case() -> None:
            await backend.aset_parts(P + "p", [b"a", memoryview(b"b" * 1000), b"c"], None)
            assert bytes(await backend.aget(P + "p")) == b"a" + b"b" * 1000 + b"c"

        self.run_async(backend, case)

    def test_head_reader_returns_the_start(self, backend: Any) -> None:
        """A HeadReader's get_head is the value's first 64 KiB or more (all of a short value); None for a miss."""
        self.require(backend, HeadReader)
        big = _big()
        backend.set(P + "h", big)
        backend.set(P + "short", b"abc")
        head = bytes(backend.get_head(P + "h"))
        assert len(head) >= 65535
        assert big.startswith(head)
        assert bytes(backend.get_head(P + "short")) == b"abc"
        assert backend.get_head(P + "missing") is None

    def test_locking_excludes_a_second_holder(self, backend: Any) -> None:
        """Two locks on one key made by a Locking backend exclude each other until released; other keys are free."""
        self.require(backend, Locking)
        mine, rival, other = (backend.make_lock(P + k, 10.0) for k in ("l", "l", "other"))
        assert mine.try_acquire()
        try:
            assert not rival.try_acquire()
            assert other.try_acquire()
            other.release()
        finally:
            mine.release()
        assert rival.try_acquire()
        rival.release()

    def test_async_locking_excludes_a_second_holder(self, backend: Any) -> None:
        """atry_acquire/arelease of a Locking backend's locks exclude each other like the sync forms."""
        self.require(backend, Locking)

        async def case() -> None:
            mine, rival = backend.make_lock(P + "al", 10.0), backend.make_lock(P + "al", 10.0)
            assert await mine.atry_acquire()
            try:
                assert not await rival.atry_acquire()
            finally:
                await mine.arelease()
            assert await rival.atry_acquire()
            await rival.arelease()

        self.run_async(backend, case)

    def test_object_store_returns_the_identical_entry(self, backend: Any) -> None:
        """An ObjectStore's get_entry returns the very entry set_entry stored, None for a miss or once expired."""
        self.require(backend, ObjectStore)
        from memo._serialize import Entry

        value = object()
        entry = Entry([value], "mod.f")
        backend.set_entry(P + "e", entry)
        assert backend.get_entry(P + "e") is entry
        assert backend.get_entry(P + "missing") is None
        backend.set_entry(P + "t", Entry(1), TTL)
        time.sleep(TTL + 0.3)
        assert backend.get_entry(P + "t") is None

    def test_slot_source_slot_shows_the_entry_and_its_removal(self, backend: Any) -> None:
        """A SlotSource's slot holds the stored entry, its expiry and recency flag, and lets go when the key goes."""
        self.require(backend, SlotSource)
        from memo._serialize import Entry

        entry = Entry(1)
        backend.set_entry(P + "s", entry, 60.0)
        slot = backend.slot(P + "s")
        assert slot is not None
        assert slot.item is entry
        assert slot.expires is not None
        assert time.monotonic() < slot.expires <= time.monotonic() + 60.0
        slot.ref = True  # memo's inline hit sets it
        backend.delete(P + "s")
        assert slot.item is not entry
        assert backend.slot(P + "s") is None
