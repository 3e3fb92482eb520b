"""The memory hit path's shortcuts stay correct: exact hit counts, live configuration, exact types."""

from __future__ import annotations

import threading

import memo


def test_hit_count_exact_under_threads() -> None:
    """8 threads x 5 000 hits are all counted."""

    @memo.cache
    def f(x: int) -> int:
        return x

    f(1)

    def spin() -> None:
        for _ in range(5_000):
            f(1)

    threads = [threading.Thread(target=spin) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert f.cache_info().hits == 40_000
    assert f.cache_info().misses == 1


def test_configure_after_warm_up_switches_backend() -> None:
    """A function whose hit path is warm still follows memo.configure(backend=...)."""

    @memo.cache
    def f(x: int) -> list[int]:
        return [x]

    first = f(1)
    assert f(1) is first
    memo.configure(backend=memo.MemoryBackend())
    assert f(1) is not first
    assert f.cache_info().misses == 2


def test_disable_after_warm_up_bypasses() -> None:
    """memo.disable() bypasses even a warm key."""
    calls: list[int] = []

    @memo.cache
    def f(x: int) -> int:
        calls.append(x)
        return x

    f(1)
    f(1)
    with memo.disabled():
        f(1)
    assert calls == [1, 1]


def test_call_shapes_share_the_key_on_the_fast_path() -> None:
    """Positional, keyword and reordered keyword calls of a warm function share one entry."""
    calls: list[tuple[int, int]] = []

    @memo.cache
    def f(a: int, b: int = 2) -> int:
        calls.append((a, b))
        return a + b

    for _ in range(2):
        assert f(1) == 3
        assert f(1, 2) == 3
        assert f(a=1, b=2) == 3
        assert f(b=2, a=1) == 3
    assert calls == [(1, 2)]


def test_subclasses_and_zero_floats_are_not_confused() -> None:
    """An int subclass, 0.0 and -0.0, and nested containers of each get their own entries."""
    import enum

    class Level(enum.IntEnum):
        ONE = 1

    @memo.cache
    def ident(x: object) -> str:
        return repr(x)

    values: list[object] = [1, Level.ONE, 0.0, -0.0, (0.0,), (-0.0,), [1], [True], {"a": 1}, {"a": 1.0}]
    for _ in range(2):
        assert [ident(v) for v in values] == [repr(v) for v in values]
    assert ident.cache_info().misses == len(values)
