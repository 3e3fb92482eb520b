"""MemoryBackend: listing and clearing under concurrent hits, and what ``max_bytes`` counts."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

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
