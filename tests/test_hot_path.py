"""The memory hit path's shortcuts stay correct: exact hit counts, live configuration, exact types.

Most tests define real ``def`` and ``async def`` bodies (``both`` below), so they go
through the wrappers compiled with the function's own signature; the shared ``Kind``
factory in conftest covers the generic ``*args, **kwargs`` wrapper.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import memo
from memo.backends.memory import MemoryBackend


def both(body: Callable[..., Any], is_async: bool, **options: Any) -> Callable[..., Any]:
    """``body`` cached as a real def or async def with the same parameters, called synchronously."""
    sig = inspect.signature(body)
    plain = sig.replace(
        parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()], return_annotation=sig.empty
    )
    call = ", ".join(p.name if p.kind is not p.KEYWORD_ONLY else f"{p.name}={p.name}" for p in sig.parameters.values())
    source = f"{'async ' if is_async else ''}def body{plain}:\n    return _body({call})\n"
    namespace: dict[str, Any] = {"_body": body}
    exec(source, namespace)
    cached = memo.cache(**options)(namespace["body"])
    if not is_async:
        return cached

    def run(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(cached(*args, **kwargs))

    run.cached = cached  # type: ignore[attr-defined]
    return run


def info(func: Callable[..., Any]) -> memo.CacheInfo:
    return getattr(func, "cached", func).cache_info()  # type: ignore[no-any-return]


drivers = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


def test_hit_count_exact_under_threads() -> None:
    """8 threads x 10 000 hits are all counted, and time_saved adds every hit's duration."""

    @memo.cache
    def f(x: int) -> int:
        time.sleep(0.01)
        return x

    f(1)

    def spin() -> None:
        for _ in range(10_000):
            f(1)

    threads = [threading.Thread(target=spin) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = f.cache_info()
    assert (stats.hits, stats.misses) == (80_000, 1)
    duration = f.cache_entries()[0].duration
    assert stats.time_saved == pytest.approx(80_000 * duration, rel=1e-6)


@drivers
def test_hit_counts_stay_exact_when_kept_counters_are_folded(is_async: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inline hits count per kept slot; folding old counters (past 3 x the slot cap) loses none."""
    import memo._policy
    import memo._wrapper

    monkeypatch.setattr(memo._policy, "_KEPT_FOLD", 4)
    monkeypatch.setattr(memo._wrapper, "_SLOTS_MAX", 4)

    def body(x: int) -> int:
        return x

    f = both(body, is_async)
    for x in range(30):
        for _ in range(4):
            assert f(x) == x
    stats = info(f)
    assert (stats.hits, stats.misses) == (90, 30)
    durations = {e.args: e.duration for e in getattr(f, "cached", f).cache_entries()}
    assert stats.time_saved == pytest.approx(3 * sum(durations.values()), rel=1e-6)
    assert len(getattr(f, "cached", f)._memo.stats.kept) < 3 * 4  # old counters were folded


@drivers
def test_configure_after_warm_up_switches_backend(is_async: bool) -> None:
    """A function whose hit path is warm follows memo.configure(backend=...), there and back."""
    first_backend = memo.get_default_backend()
    f = both(lambda x: [x], is_async)
    first = f(1)
    assert f(1) is first
    second_backend = MemoryBackend()
    memo.configure(backend=second_backend)
    second = f(1)
    assert second is not first
    assert f(1) is second
    memo.configure(backend=first_backend)
    assert f(1) is first
    assert (info(f).hits, info(f).misses) == (3, 2)


@drivers
def test_disable_after_warm_up_bypasses(is_async: bool) -> None:
    """memo.disable() bypasses even a warm key, and counts nothing."""
    calls: list[int] = []

    def body(x: int) -> int:
        calls.append(x)
        return x

    f = both(body, is_async)
    f(1)
    f(1)
    with memo.disabled():
        assert f(1) == 1
    assert calls == [1, 1]
    assert (info(f).hits, info(f).misses) == (1, 1)


@drivers
def test_call_shapes_share_the_key_on_the_fast_path(is_async: bool) -> None:
    """Positional, keyword, reordered keyword and defaulted calls of a warm function share one entry."""
    calls: list[tuple[int, int]] = []

    def body(a: int, b: int = 2) -> int:
        calls.append((a, b))
        return a + b

    f = both(body, is_async)
    for _ in range(2):
        assert f(1) == 3
        assert f(1, 2) == 3
        assert f(a=1, b=2) == 3
        assert f(b=2, a=1) == 3
    assert calls == [(1, 2)]
    assert getattr(f, "cached", f).cache_key(1) == getattr(f, "cached", f).cache_key(b=2, a=1)


@drivers
def test_atoms_equal_under_eq_get_their_own_entries(is_async: bool) -> None:
    """1, 1.0, True, 0.0, -0.0, NaN, an int subclass and a str subclass never share an entry, warm or cold."""
    import enum

    class Level(enum.IntEnum):
        ONE = 1

    class Text(str):
        pass

    f = both(lambda x, k=3: f"{type(x).__name__}:{x!r}", is_async)
    values: list[object] = [1, 1.0, True, Level.ONE, 0.0, -0.0, math.nan, 0, False, "a", Text("a"), None, "", b""]
    expected = [f"{type(v).__name__}:{v!r}" for v in values]
    for _ in range(3):
        assert [f(v) for v in values] == expected
        assert [f(v, k=3) for v in values] == expected
    assert info(f).misses == len(values)


@drivers
def test_buffer_objects_are_not_confused_on_the_fast_path(is_async: bool) -> None:
    """bytes, bytearray and memoryview of equal bytes, and arrays of one buffer but other shapes, differ."""
    np = pytest.importorskip("numpy")
    f = both(lambda x: (type(x).__name__, getattr(x, "shape", None)), is_async)
    flat, column = np.array([1, 2]), np.array([[1], [2]])
    for _ in range(2):
        assert f(flat) == ("ndarray", (2,))
        assert f(column) == ("ndarray", (2, 1))
        assert f(flat.view(np.float64)) == ("ndarray", (2,))
        assert f(b"ab") == ("bytes", None)
        assert f(bytearray(b"ab")) == ("bytearray", None)
        assert f(memoryview(b"ab")) == ("memoryview", (2,))
    assert info(f).misses == 6


@drivers
def test_dropped_entries_are_not_served_from_a_kept_slot(is_async: bool) -> None:
    """After cache_delete, cache_clear, eviction or TTL expiry a warm call computes again."""
    calls: list[int] = []

    def body(x: int) -> int:
        calls.append(x)
        return x

    backend = MemoryBackend(max_entries=1)
    f = both(body, is_async, backend=backend, ttl=0.2)
    cached = getattr(f, "cached", f)
    f(1), f(1)
    cached.cache_delete(1)
    f(1), f(1)
    cached.cache_clear()
    f(1), f(1)
    f(2)  # evicts 1 (max_entries=1)
    f(1)
    time.sleep(0.25)
    f(1)
    assert calls == [1, 1, 1, 2, 1, 1]


@drivers
def test_lru_order_kept_by_inline_hits(is_async: bool) -> None:
    """A hit on a bounded MemoryBackend makes its entry the most recently used one."""
    calls: list[str] = []

    def body(x: str) -> str:
        calls.append(x)
        return x

    f = both(body, is_async, backend=MemoryBackend(max_entries=2))
    f("a"), f("b"), f("a"), f("a")  # "a" is now the most recently used
    f("c")  # evicts "b"
    f("a")
    f("b")
    assert calls == ["a", "b", "c", "b"]


@drivers
def test_backend_failure_goes_through_the_policy(is_async: bool) -> None:
    """A MemoryBackend subclass whose reads fail is handled by on_error, not by the inline hit path."""

    class Broken(MemoryBackend):
        def get_entry(self, key: str) -> Any:
            raise OSError("read failed")

    calls: list[int] = []

    def body(x: int) -> int:
        calls.append(x)
        return x

    f = both(body, is_async, backend=Broken(), on_error="warn")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert f(1) == 1
        assert f(1) == 1
    assert calls == [1, 1]
    assert any(issubclass(w.category, memo.BackendWarning) for w in seen)
    assert info(f).errors == 2
    g = both(body, is_async, backend=Broken(), on_error="raise")
    with pytest.raises(memo.BackendError):
        g(2)


@drivers
def test_compiled_wrapper_keeps_the_signature(is_async: bool) -> None:
    """Positional-only, keyword-only, defaults and a parameter named ``type`` behave as in the function."""

    def body(type: str, b: int = 2, /, c: int = 3, *, d: int = 4) -> tuple[str, int, int, int]:
        return (type, b, c, d)

    f = both(body, is_async)
    cached = getattr(f, "cached", f)
    assert f("x") == ("x", 2, 3, 4)
    assert f("x", 2, c=3, d=4) == ("x", 2, 3, 4)
    assert f("x", 5, 6, d=7) == ("x", 5, 6, 7)
    assert info(f).misses == 2
    shape = [(p.name, p.kind, p.default) for p in inspect.signature(cached).parameters.values()]
    assert shape == [(p.name, p.kind, p.default) for p in inspect.signature(body).parameters.values()]
    assert inspect.iscoroutinefunction(cached) is is_async
    with pytest.raises(TypeError, match="body"):
        cached(type="x")  # positional-only
    with pytest.raises(TypeError, match="body"):
        cached("x", 1, 2, 3)  # d is keyword-only


def test_generic_wrapper_shortcut_for_star_args() -> None:
    """Functions with *args/**kwargs take the generic wrapper, whose shortcut also keeps types apart."""
    calls: list[tuple[Any, ...]] = []

    @memo.cache
    def f(*args: Any, **kwargs: Any) -> str:
        calls.append(args)
        return repr((args, kwargs))

    for _ in range(2):
        assert f(1, x=1) == repr(((1,), {"x": 1}))
        assert f(1.0, x=True) == repr(((1.0,), {"x": True}))
        assert f(1, x=1.0) == repr(((1,), {"x": 1.0}))
    assert len(calls) == 3
    assert f.cache_info().hits == 3


def test_hit_returns_the_identical_object() -> None:
    """A memory hit hands back the very object that was cached (no copy)."""

    @memo.cache
    def f(n: int) -> list[int]:
        return list(range(n))

    assert f(3) is f(3)
