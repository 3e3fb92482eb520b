"""MemoryBackend: listing and clearing under concurrent hits, and what ``max_bytes`` counts."""

from __future__ import annotations

import collections
import dataclasses
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import memo


@pytest.fixture
def tiny_switch_interval() -> Iterator[None]:
    """Threads switch every microsecond, so a race shows up within a short test."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(saved)


def _hammer(hit: Callable[[], None], admin: Callable[[], None], seconds: float = 0.6) -> list[BaseException]:
    """Run ``hit`` in three threads while this thread runs ``admin`` repeatedly; return what any raised."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def hitter() -> None:
        try:
            while not stop.is_set():
                hit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hitter) for _ in range(3)]
    for t in threads:
        t.start()
    deadline = threading.Event()
    timer = threading.Timer(seconds, deadline.set)
    timer.start()
    try:
        while not deadline.is_set() and not errors:
            admin()
    except BaseException as exc:
        errors.append(exc)
    finally:
        stop.set()
        timer.cancel()
        for t in threads:
            t.join()
    return errors


@pytest.mark.usefixtures("tiny_switch_interval")
@pytest.mark.parametrize("admin", ["keys", "clear", "cache_entries", "memo.clear", "len"])
def test_bounded_listing_and_clearing_survive_concurrent_hits(admin: str) -> None:
    """keys/clear/cache_entries/memo.clear/len on a bounded MemoryBackend never raise while threads hit it."""
    backend = memo.MemoryBackend(max_entries=100_000)

    @memo.cache(backend=backend)
    def square(x: int) -> int:
        return x * x

    population = range(2000)
    for i in population:
        square(i)
    counter = iter(range(10**12))

    def hit() -> None:
        square(next(counter) % 2000)

    def run_admin() -> None:
        if admin == "keys":
            list(backend.keys())
        elif admin == "clear":
            backend.clear("no-such-prefix:")  # walks every key, removes none: the hitters keep hitting
        elif admin == "cache_entries":
            square.cache_entries()
        elif admin == "memo.clear":
            memo.clear(namespace="no-such-namespace")
            backend.clear("no-such-prefix:")
        else:
            len(backend)

    errors = _hammer(hit, run_admin)
    assert errors == []
    assert len(list(backend.keys())) == 2000


@pytest.mark.usefixtures("tiny_switch_interval")
def test_clear_under_concurrent_hits_removes_everything() -> None:
    """A full clear() of a bounded MemoryBackend while threads hit it completes and returns a true count."""
    backend = memo.MemoryBackend(max_bytes=2**30)

    @memo.cache(backend=backend)
    def square(x: int) -> int:
        return x * x

    counter = iter(range(10**12))
    cleared: list[int] = []

    def hit() -> None:
        square(next(counter) % 3000)

    def run_admin() -> None:
        for i in range(3000):
            square(i)
        cleared.append(backend.clear())

    errors = _hammer(hit, run_admin)
    assert errors == []
    assert cleared
    assert all(n >= 0 for n in cleared)


def test_bump_on_hit_still_orders_eviction() -> None:
    """A hit keeps an entry of a bounded MemoryBackend: the least recently used one is evicted instead."""
    backend = memo.MemoryBackend(max_entries=3)
    calls: list[int] = []

    @memo.cache(backend=backend)
    def ident(x: int) -> int:
        calls.append(x)
        return x

    for x in (1, 2, 3):
        ident(x)
    ident(1)  # hit: 1 becomes the most recent, 2 the least
    ident(1)
    ident(4)  # evicts 2
    ident(1)
    ident(3)
    assert calls == [1, 2, 3, 4]
    ident(2)
    assert calls == [1, 2, 3, 4, 2]


# -- item: max_bytes counts what a value really holds ------------------------------------

MiB = 2**20


@dataclasses.dataclass
class _Holder:
    """A result type that holds an array in a dataclass field."""

    name: str
    array: Any


class _Slotted:
    """A result type that holds its array in a ``__slots__`` attribute."""

    __slots__ = ("array", "unset")

    def __init__(self, array: Any) -> None:
        self.array = array


class _Plain:
    """A plain object whose array sits one level down, in a dict attribute."""

    def __init__(self, array: Any) -> None:
        self.parts = {"weights": array, "meta": [1, 2, 3]}


def _array(mib: int, seed: int) -> Any:
    np = pytest.importorskip("numpy")
    return np.full(mib * MiB // 8, float(seed))


@pytest.mark.parametrize(
    "wrap",
    [
        lambda a: _Holder("x", a),
        lambda a: _Slotted(a),
        lambda a: _Plain(a),
        lambda a: {"a": a},
        lambda a: [a],
        lambda a: (1, (a,)),
        lambda a: collections.deque([a]),
    ],
    ids=["dataclass", "slots", "object-dict", "dict", "list", "nested-tuple", "deque"],
)
def test_max_bytes_bounds_objects_holding_arrays(wrap: Callable[[Any], Any]) -> None:
    """MemoryBackend(max_bytes=50 MiB) holds at most 50 MiB of arrays, wherever in the result they sit."""
    backend = memo.MemoryBackend(max_bytes=50 * MiB)

    @memo.cache(backend=backend)
    def make(i: int) -> Any:
        return wrap(_array(8, i))

    for i in range(20):  # 160 MiB of arrays offered
        make(i)
    assert 0 < len(backend) <= 6
    assert 8 * MiB * len(backend) <= backend.total_bytes <= 50 * MiB
    assert all(e.size >= 8 * MiB for e in make.cache_entries())


def test_max_bytes_counts_the_base_a_view_keeps_alive() -> None:
    """A small view of a big array counts the whole base it keeps in memory."""
    backend = memo.MemoryBackend(max_bytes=2**40)
    base = _array(16, 1)
    backend.set_entry("k", _entry(base[:10]))
    assert backend.total_bytes >= 16 * MiB


def test_max_bytes_counts_a_shared_array_once() -> None:
    """A list holding one 8 MiB array a thousand times counts it once: it is stored, not refused as 8 GiB."""
    backend = memo.MemoryBackend(max_bytes=50 * MiB)
    array = _array(8, 1)
    backend.set_entry("k", _entry([array] * 1000))
    assert backend.get_entry("k") is not None
    assert 8 * MiB <= backend.total_bytes < 10 * MiB


def test_max_bytes_counts_object_columns_of_a_dataframe() -> None:
    """A DataFrame's object column of big strings counts the strings, not 8 bytes a row."""
    pd = pytest.importorskip("pandas")
    backend = memo.MemoryBackend(max_bytes=2**40)
    frame = pd.DataFrame({"text": pd.Series(["x" * 10_000 + str(i) for i in range(1000)], dtype=object)})
    backend.set_entry("k", _entry(frame))
    assert backend.total_bytes >= 10_000 * 1000


def test_array_like_buffer_is_counted_once() -> None:
    """An array-like whose __sizeof__ already counts its buffer (a pyarrow Table) is not counted twice."""
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"a": list(range(100_000))})
    backend = memo.MemoryBackend(max_bytes=2**40)
    backend.set_entry("k", _entry(table))
    assert table.nbytes <= backend.total_bytes <= 1.1 * table.nbytes


def test_size_of_many_small_items_is_extrapolated_closely() -> None:
    """A list of 100k distinct strings is sized within 10% of the sum of its parts."""
    backend = memo.MemoryBackend(max_bytes=2**40)
    value = [f"{i:08d}" + "y" * (i % 200) for i in range(100_000)]
    truth = sys.getsizeof(value) + sum(sys.getsizeof(s) for s in value)
    backend.set_entry("k", _entry(value))
    assert 0.9 * truth <= backend.total_bytes <= 1.1 * truth


def test_size_of_deep_and_cyclic_values_is_bounded() -> None:
    """Sizing a 100k-deep nested list or a cyclic object graph neither recurses without end nor raises."""
    backend = memo.MemoryBackend(max_bytes=2**40)
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    cyclic = _Plain(None)
    cyclic.parts["self"] = cyclic
    backend.set_entry("deep", _entry(deep))
    backend.set_entry("cyclic", _entry(cyclic))
    assert backend.get_entry("deep") is not None
    assert backend.get_entry("cyclic") is not None


def _entry(value: Any) -> Any:
    from memo._serialize import Entry

    return Entry(value)
