"""Declared backend capabilities: backends import only their base, and a third-party backend's declarations are used."""

from __future__ import annotations

import ast
import asyncio
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import memo
from memo import _store
from memo.backends import CrossLock, HeadReader, Locking, PartsWriter, SlotSource
from memo.backends._base import declares
from tests._helpers import DictBackend

BACKENDS = Path(memo.__file__).parent / "backends"
# What a backend may import from memo: its own package, the record codec, the key layout,
# the exception tree (and the vocabulary leaf, once it exists). Never the engine.
ALLOWED = ("memo.backends", "memo._serialize", "memo._keys", "memo.exceptions", "memo._types")


def _memo_imports(path: Path) -> list[str]:
    """Every module of memo that ``path`` imports, at any depth (functions, TYPE_CHECKING blocks)."""
    package = "memo.backends"
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "memo"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against memo.backends
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.split(".")[0] == "memo":
                found += [module] if module != "memo" else [f"memo.{alias.name}" for alias in node.names]
    return found


@pytest.mark.parametrize("path", sorted(BACKENDS.glob("*.py")), ids=lambda p: p.name)
def test_backend_modules_import_nothing_from_the_engine(path: Path) -> None:
    """A backend module imports from memo only memo.backends.*, _serialize, _keys, exceptions (and _types)."""
    foreign = [m for m in _memo_imports(path) if not any(m == a or m.startswith(a + ".") for a in ALLOWED)]
    assert foreign == [], f"{path.name} imports {foreign}"


def test_import_check_sees_engine_imports(tmp_path: Path) -> None:
    """The import check flags an engine import, inside a function or relative, and passes the allowed ones."""
    source = tmp_path / "b.py"
    source.write_text(
        "from memo.backends._base import BaseBackend\nfrom memo.exceptions import MemoError\n"
        "def f():\n    from memo._store import Store\n    from .. import _core\n    import memo._xflight\n"
    )
    assert _memo_imports(source) == [
        "memo.backends._base",
        "memo.exceptions",
        "memo._store",
        "memo._core",
        "memo._xflight",
    ]


class _Dict(memo.BaseBackend):
    """A plain bytes backend keeping a dict, counting the calls memo makes."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.calls: list[str] = []

    def get(self, key: str) -> bytes | None:
        self.calls.append("get")
        return self.data.get(key)

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self.calls.append("set")
        self.data[key] = bytes(value)

    def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None

    def clear(self, prefix: str = "") -> int:
        doomed = [k for k in self.data if k.startswith(prefix)]
        for k in doomed:
            del self.data[k]
        return len(doomed)

    def keys(self, prefix: str = "") -> Iterator[str]:
        return iter([k for k in list(self.data) if k.startswith(prefix)])


class _Heads(_Dict):
    """Declares HeadReader."""

    def get_head(self, key: str) -> bytes | None:
        self.calls.append("get_head")
        data = self.data.get(key)
        return None if data is None else data[:65536]


class _ManyHeads(_Heads):
    """Declares HeadsReader (and HeadReader)."""

    def get_heads(self, keys: Sequence[str]) -> list[bytes | None]:
        self.calls.append(f"get_heads({len(keys)})")
        return [None if self.data.get(k) is None else self.data[k][:65536] for k in keys]


class _Parts(_Dict):
    """Declares PartsWriter."""

    def set_parts(self, key: str, buffers: Sequence[bytes | bytearray | memoryview], ttl: float | None = None) -> None:
        self.calls.append("set_parts")
        self.data[key] = b"".join(bytes(b) for b in buffers)

    async def aset_parts(
        self, key: str, buffers: Sequence[bytes | bytearray | memoryview], ttl: float | None = None
    ) -> None:
        self.set_parts(key, buffers, ttl)


class _Lock:
    """An in-process CrossLock on a shared set of held keys, counting its uses."""

    def __init__(self, owner: _Locks, key: str) -> None:
        self.owner, self.key = owner, key

    def try_acquire(self) -> bool:
        self.owner.calls.append("try_acquire")
        with self.owner.guard:
            if self.key in self.owner.held:
                return False
            self.owner.held.add(self.key)
            return True

    def release(self) -> None:
        self.owner.calls.append("release")
        self.owner.held.discard(self.key)

    async def atry_acquire(self) -> bool:
        return self.try_acquire()

    async def arelease(self) -> None:
        self.release()


class _Locks(_Dict):
    """Declares Locking."""

    def __init__(self) -> None:
        super().__init__()
        self.held: set[str] = set()
        self.guard = threading.Lock()

    def make_lock(self, key: str, lease: float) -> _Lock:
        self.calls.append("make_lock")
        return _Lock(self, key)


def test_third_party_capabilities_are_recognised_from_the_types() -> None:
    """isinstance against the declared Protocols is what the store resolves, and a plain backend declares none."""
    assert isinstance(_Heads(), HeadReader)
    assert not isinstance(_Dict(), HeadReader)
    assert isinstance(_Parts(), PartsWriter)
    assert not isinstance(_Dict(), PartsWriter)
    assert isinstance(_Locks(), Locking)
    assert isinstance(_Lock(_Locks(), "k"), CrossLock)
    assert isinstance(memo.MemoryBackend(), SlotSource)
    assert not isinstance(_Dict(), SlotSource)
    plain = _store.store_for(_Dict(), None)
    assert (plain.state.head, plain.parts, plain.locking, plain.releasing, plain.slots) == (False,) * 5
    assert _store.store_for(_Heads(), None).state.head
    assert _store.store_for(_Locks(), None).locking


CAPABILITIES = [
    memo.backends.AsyncBackend,
    CrossLock,
    HeadReader,
    memo.backends.HeadsReader,
    Locking,
    memo.backends.ObjectStore,
    PartsWriter,
    memo.backends.ReleasingWriter,
    SlotSource,
    memo.backends.TransientErrors,
]


class _NoSlots(memo.MemoryBackend):
    """A MemoryBackend subclass that reads differently: its slot capability is withdrawn (set to None)."""

    def get_entry(self, key: str) -> Any:
        return super().get_entry(key)


@pytest.mark.parametrize("capability", CAPABILITIES, ids=lambda c: c.__name__)
def test_declares_is_isinstance(capability: type, tmp_path: Path) -> None:
    """declares(obj, P), what the store resolves with, answers exactly as isinstance(obj, P) for every capability."""
    objects = [
        _Dict(),
        _Heads(),
        _ManyHeads(),
        _Parts(),
        _Locks(),
        _Lock(_Locks(), "k"),
        _Unweakable(),
        _NoSlots(),
        memo.MemoryBackend(),
        memo.FileBackend(tmp_path),
        memo.RedisBackend("redis://127.0.0.1:1/0"),
        object(),
    ]
    answers = [declares(obj, capability) for obj in objects]
    assert answers == [isinstance(obj, capability) for obj in objects]
    assert any(answers)  # each capability is met by one of them at least, and missed by another
    assert not all(answers)


def test_memory_subclass_overriding_reads_offers_no_slots() -> None:
    """A MemoryBackend subclass whose get_entry differs is no SlotSource: each of its hits goes through get_entry."""
    assert not isinstance(_NoSlots(), SlotSource)
    assert _store.store_for(_NoSlots(), None).slots is False
    assert _store.store_for(memo.MemoryBackend(), None).slots is True

    class Vouched(_NoSlots):
        def slot(self, key: str) -> Any:
            return memo.MemoryBackend.slot(self, key)

    assert isinstance(Vouched(), SlotSource)


def test_head_reader_is_used_by_listings() -> None:
    """A third-party HeadReader's get_head (not get) reads the metadata that cache_entries lists."""
    backend = _Heads()

    @memo.cache(backend=backend)
    def f(x: int) -> int:
        return x

    f(1), f(2)
    backend.calls.clear()
    assert sorted(e.args for e in f.cache_entries()) == ["x=1", "x=2"]
    assert backend.calls == ["get_head", "get_head"]


def test_heads_reader_reads_a_listing_in_one_call() -> None:
    """A third-party HeadsReader's get_heads reads all listed entries' metadata in one call (memo.admin)."""
    backend = _ManyHeads()

    @memo.cache(backend=backend)
    def f(x: int) -> int:
        return x

    f(1), f(2), f(3)
    backend.calls.clear()
    assert sorted(e.args for e in memo.admin.entries(backend, function=f)) == ["x=1", "x=2", "x=3"]
    assert backend.calls == ["get_heads(3)"]


def test_listings_without_head_reader_read_whole_values() -> None:
    """A backend that declares no HeadReader is listed with get."""
    backend = _Dict()

    @memo.cache(backend=backend)
    def f(x: int) -> int:
        return x

    f(1)
    backend.calls.clear()
    assert [e.args for e in f.cache_entries()] == ["x=1"]
    assert backend.calls == ["get"]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_parts_writer_takes_big_records(is_async: bool) -> None:
    """A third-party PartsWriter gets records of 1 MiB or more through set_parts; small ones go through set."""
    backend = _Parts()

    def body(n: int) -> bytes:
        return b"x" * n

    if is_async:

        async def abody(n: int) -> bytes:
            return body(n)

        af = memo.cache(backend=backend)(abody)
        assert asyncio.run(af(2 << 20)) == b"x" * (2 << 20)
        assert asyncio.run(af(10)) == b"x" * 10
    else:
        f = memo.cache(backend=backend)(body)
        assert f(2 << 20) == b"x" * (2 << 20)
        assert f(10) == b"x" * 10
    writes = [c for c in backend.calls if c != "get"]
    assert writes == ["set_parts", "set"]


def test_locking_backend_locks_each_miss() -> None:
    """A third-party Locking backend's lock is taken around a miss and released; a hit takes none."""
    backend = _Locks()

    @memo.cache(backend=backend)
    def f(x: int) -> int:
        return x

    assert f(1) == 1
    assert [c for c in backend.calls if c in ("make_lock", "try_acquire", "release")] == [
        "make_lock",
        "try_acquire",
        "release",
    ]
    assert backend.held == set()
    backend.calls.clear()
    assert f(1) == 1
    assert "make_lock" not in backend.calls


def test_a_backend_reusing_a_dead_ones_id_gets_fresh_state() -> None:
    """Per-backend state goes with its backend: an object at a dead backend's address gets a closed breaker."""
    seen: set[int] = set()
    reused = 0
    for _ in range(200):
        backend = _Dict()
        reused += id(backend) in seen
        seen.add(id(backend))
        store = _store.store_for(backend, None)
        assert store.breaker.allow(), "a new backend must not inherit an open breaker"
        store.breaker.failed()
        del backend, store
    assert reused, "no address was reused: the case did not run"


class _Unweakable(DictBackend):
    """A backend that cannot be weakly referenced (``__slots__`` without ``__weakref__``)."""

    __slots__ = ()


def test_unweakable_backend_keeps_one_state_while_in_use() -> None:
    """A backend that cannot be weakly referenced still has one breaker shared by its stores, and works."""
    backend = _Unweakable()
    with pytest.raises(TypeError):
        weakref.ref(backend)
    first = _store.store_for(backend, None)
    first.breaker.failed()
    assert _store.store_for(backend, b"k").breaker is first.breaker
    first.breaker.succeeded()

    @memo.cache(backend=backend)
    def f(x: int) -> int:
        return x

    assert f(1) == f(1) == 1
    assert f.cache_info().hits == 1


def test_a_backend_collected_while_the_state_table_is_locked_does_not_deadlock() -> None:
    """A backend dying while its thread holds the state table's lock (a collection run there) does not deadlock."""
    import gc
    import threading

    from memo import _store

    def die_under_the_lock() -> None:
        backend = _Dict()
        _store.state_for(backend)
        with _store._lock:  # what a garbage collection inside state_for's locked block amounts to
            del backend  # its weak reference's callback runs now, in this thread

    worker = threading.Thread(target=die_under_the_lock, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the weakref callback waited for the lock its own thread held"
    gc.collect()
    before = _store.tracked()
    backend = _Dict()
    _store.state_for(backend)
    del backend
    assert _store.tracked() <= before  # dead backends' states are still dropped
