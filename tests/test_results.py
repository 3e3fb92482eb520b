"""Results that are used up or shared: never stored, or protected on the memory backend."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import memo
from tests.conftest import Kind

ITERATORS: dict[str, Callable[[int], Any]] = {
    "generator": lambda n: (i for i in range(n)),
    "map": lambda n: map(int, range(n)),
    "zip": lambda n: zip(range(n), range(n)),
    "iter": lambda n: iter(list(range(n))),
}


@pytest.fixture(params=["memory", "file"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The memory backend (keeps objects) and the file backend (keeps bytes)."""
    if request.param == "memory":
        yield memo.MemoryBackend()
    else:
        file_backend = memo.FileBackend(tmp_path / "results")
        yield file_backend
        file_backend.close()


def no_warning(call: Callable[[], Any]) -> Any:
    """``call()``, failing on any memo warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", memo.MemoWarning)
        return call()


def test_sync_wrapper_of_async_def_is_not_cached() -> None:
    """A plain def wrapping an async def returns a fresh coroutine per call, never a cached, awaited one."""

    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    @memo.cache
    @functools.wraps(fetch)
    def wrapper(*args: Any) -> Any:
        return fetch(*args)

    with pytest.warns(memo.CacheWriteWarning, match="awaitable"):
        first = wrapper(1)
    assert asyncio.run(first) == 2
    second = no_warning(lambda: wrapper(1))  # one warning per function
    assert second is not first
    assert asyncio.run(second) == 2
    assert wrapper.cache_info().stores == 0


@pytest.mark.parametrize("shape", sorted(ITERATORS))
def test_iterator_results_are_never_stored(shape: str, backend: Any) -> None:
    """A function returning a generator, map, zip or other iterator gives a full one on every call."""
    make = ITERATORS[shape]
    runs: list[int] = []

    @memo.cache(backend=backend)
    def numbers(n: int) -> Any:
        runs.append(n)
        return make(n)

    with pytest.warns(memo.CacheWriteWarning, match="iterator"):
        first = list(numbers(3))
    second = list(no_warning(lambda: numbers(3)))
    assert first == second == list(make(3))
    assert runs == [3, 3]
    assert numbers.cache_info().stores == 0


def test_async_iterator_results_are_never_stored(kind: Kind) -> None:
    """The same rule through both drivers: an iterator result is returned but not stored."""

    def letters(n: int) -> Any:
        return iter("abc"[:n])

    f = kind.make(letters)
    with pytest.warns(memo.CacheWriteWarning):
        assert list(kind.call(f, 2)) == ["a", "b"]
    assert list(no_warning(lambda: kind.call(f, 2))) == ["a", "b"]
    assert f.cache_info().stores == 0


def test_waiters_of_an_iterator_flight_get_their_own() -> None:
    """Callers that waited for a computation whose result is an iterator compute their own, never share one."""
    barrier = threading.Barrier(4)

    @memo.cache(ignore=("barrier",))
    def numbers(n: int, barrier: Any = barrier) -> Any:
        time.sleep(0.2)
        return iter(list(range(n)))

    results: list[list[int]] = []

    def call() -> None:
        barrier.wait()
        results.append(list(numbers(3)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", memo.CacheWriteWarning)
        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [[0, 1, 2]] * 4


def test_numpy_results_are_read_only_on_the_memory_backend() -> None:
    """A cached array is handed out read-only, so a caller's write raises instead of changing later hits."""
    np = pytest.importorskip("numpy")
    own = np.arange(4)

    @memo.cache
    def array() -> Any:
        return own

    first = array()
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 99
    with pytest.raises(ValueError, match="read-only"):
        array()[0] = 99
    assert array().tolist() == [0, 1, 2, 3]
    own[0] = 7  # the body's own array is left writable
    assert own.flags.writeable


def test_numpy_results_stay_writable_on_a_bytes_backend(tmp_path: Path) -> None:
    """A file backend's hits are fresh copies: nothing is shared, so arrays stay writable."""
    np = pytest.importorskip("numpy")
    backend = memo.FileBackend(tmp_path / "results-np")

    @memo.cache(backend=backend)
    def array() -> Any:
        return np.arange(4)

    try:
        array()[0] = 99
        hit = array()
        hit[0] = 99
        assert array().tolist() == [0, 1, 2, 3]
    finally:
        backend.close()


def test_pandas_results_are_protected_on_the_memory_backend() -> None:
    """A caller changing a cached DataFrame or Series (new column, cell write) never changes what later hits return."""
    pd = pytest.importorskip("pandas")

    @memo.cache
    def load() -> Any:
        return pd.DataFrame({"a": [1, 2, 3]})

    @memo.cache
    def series() -> Any:
        return pd.Series([1, 2, 3])

    # Cell writes stay apart only under copy-on-write: pandas 3, or pandas 2 with the option on.
    cow = int(pd.__version__.split(".")[0]) >= 3 or bool(pd.get_option("mode.copy_on_write"))
    first = load()
    first["x"] = 0
    hit = load()
    hit["y"] = 1
    if cow:
        first.loc[0, "a"] = 99
        hit.loc[1, "a"] = 98
    again = load()
    assert list(again.columns) == ["a"]
    assert again["a"].tolist() == [1, 2, 3]
    assert load.cache_info().hits == 2
    if cow:
        first_series = series()
        first_series.iloc[0] = 99
        hit_series = series()
        hit_series.iloc[1] = 98
        assert series().tolist() == [1, 2, 3]


async def test_async_waiters_of_an_iterator_flight_get_their_own() -> None:
    """Tasks that waited for an async computation whose result is an iterator compute their own."""

    @memo.cache
    async def numbers(n: int) -> Any:
        await asyncio.sleep(0.1)
        return iter(list(range(n)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", memo.CacheWriteWarning)
        results = await asyncio.gather(*(numbers(3) for _ in range(4)))
    assert [list(r) for r in results] == [[0, 1, 2]] * 4
    assert len({id(r) for r in results}) == 4
