"""Closure values: names the body only reads are inputs (per call), names it mutates are state.

Every test runs through the sync and the async driver with real nested ``def`` / ``async
def`` bodies (so the compiled wrappers and their memory-hit slots are exercised).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

import memo

drivers = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


def run(func: Callable[..., Any], *args: Any) -> Any:
    """Call a cached function, running the loop for async ones."""
    result = func(*args)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def build(is_async: bool, source: str, **env: Any) -> dict[str, Any]:
    """Exec ``source`` (with ``ADEF`` standing for ``def`` or ``async def``) and return its names."""
    namespace: dict[str, Any] = {"memo": memo, **env}
    exec(source.replace("ADEF", "async def" if is_async else "def"), namespace)
    return namespace


RESCALE = """
def outer():
    scale = 2
    cfg = {"offset": 0}

    @memo.cache
    ADEF f(x):
        return x * scale + cfg["offset"]

    def set_scale(value):
        nonlocal scale
        scale = value

    return f, set_scale, cfg
"""


@drivers
def test_rebinding_a_read_closure_variable_recomputes(is_async: bool) -> None:
    """After `nonlocal scale; scale = 100` in the enclosing scope, calls use the new value."""
    f, set_scale, _ = build(is_async, RESCALE)["outer"]()
    assert run(f, 1) == 2
    assert run(f, 1) == 2  # a memory hit
    set_scale(100)
    assert run(f, 1) == 100
    set_scale(2)
    assert run(f, 1) == 2  # back to the old value: the old entry is valid again
    assert f.cache_info().misses == 2


@drivers
def test_mutating_a_read_closure_dict_recomputes(is_async: bool) -> None:
    """After cfg["offset"] = 5 outside the body, calls use the new content."""
    f, _, cfg = build(is_async, RESCALE)["outer"]()
    assert run(f, 1) == 2
    assert run(f, 1) == 2
    cfg["offset"] = 5
    assert run(f, 1) == 7
    assert run(f, 1) == 7
    assert f.cache_info().misses == 2


STATE = """
def outer():
    log = []
    count = 0
    seen = {}

    @memo.cache
    ADEF f(x):
        nonlocal count
        count += 1
        log.append(x)
        seen[x] = True
        return x * 2

    return f, log, lambda: count
"""


@drivers
def test_state_the_body_mutates_is_not_an_input(is_async: bool) -> None:
    """A body that appends to a captured list, sets an item and bumps a counter still hits next time."""
    f, log, count = build(is_async, STATE)["outer"]()
    assert run(f, 3) == 6
    assert run(f, 3) == 6
    assert run(f, 3) == 6
    assert log == [3]
    assert count() == 1
    assert f.cache_info().hits == 2


@drivers
def test_ignore_leaves_a_read_closure_variable_out(is_async: bool) -> None:
    """ignore=('scale',) names a closure variable: it is then state, by the user's choice."""
    source = RESCALE.replace("@memo.cache", "@memo.cache(ignore=('scale',))")
    f, set_scale, _ = build(is_async, source)["outer"]()
    assert run(f, 1) == 2
    set_scale(100)
    assert run(f, 1) == 2


@drivers
def test_unhashable_closure_value_names_the_variable(is_async: bool) -> None:
    """A read closure value without content raises HashingError naming it; the suggested ignore works."""
    source = """
def outer(guard):
    @memo.cache
    ADEF f(x):
        with guard:
            return x + 1

    @memo.cache(ignore=("guard",))
    ADEF g(x):
        with guard:
            return x + 1

    return f, g
"""
    f, g = build(is_async, source)["outer"](threading.Lock())
    with pytest.raises(memo.HashingError, match=r"closure variable 'guard'.*ignore=\('guard',\)"):
        run(f, 1)
    assert run(g, 1) == 2


@drivers
def test_closure_key_changes_with_the_value(is_async: bool) -> None:
    """cache_key follows a rebinding too (the controls see the live closure)."""
    f, set_scale, _ = build(is_async, RESCALE)["outer"]()
    before = f.cache_key(1)
    set_scale(3)
    assert f.cache_key(1) != before
    set_scale(2)
    assert f.cache_key(1) == before


# -- item 7: cached functions as closure values ---------------------------------------------

PIPELINE = """
def outer(step):
    @memo.cache
    ADEF load(x):
        return x + step

    @memo.cache
    ADEF total(x):
        return (AWAIT load(x)) * 10

    return load, total
"""


def _pipeline(is_async: bool, step: int) -> tuple[Any, Any]:
    source = PIPELINE.replace("AWAIT ", "await " if is_async else "")
    return build(is_async, source)["outer"](step)  # type: ignore[no-any-return]


@drivers
def test_closing_over_a_cached_function(is_async: bool) -> None:
    """A cached function that calls another cached one from its closure works and hits."""
    _, total = _pipeline(is_async, 1)
    assert run(total, 2) == 30
    assert run(total, 2) == 30
    assert total.cache_info().hits == 1


@drivers
def test_cached_callee_identity_includes_its_own_closure(is_async: bool) -> None:
    """Two pipelines whose inner cached function closes over another value do not share."""
    _, one = _pipeline(is_async, 1)
    _, five = _pipeline(is_async, 5)
    assert run(one, 2) == 30
    assert run(five, 2) == 70


@drivers
def test_cached_callee_code_change_recomputes_the_caller(is_async: bool) -> None:
    """Replacing the inner cached function's code gives the caller a new key."""
    load, total = _pipeline(is_async, 1)
    assert run(total, 2) == 30
    inner = load.__wrapped__
    source = "def make(step):\n    ADEF load(x):\n        return x + step + 1000\n    return load\n"
    inner.__code__ = build(is_async, source)["make"](0).__code__
    assert run(total, 2) == 10030


@drivers
def test_emptied_closure_cell(is_async: bool) -> None:
    """A read closure variable deleted in the enclosing scope (an empty cell) is an input like any other."""
    source = """
def outer():
    later = 5

    @memo.cache
    ADEF f(x):
        return later if x else 0

    def forget():
        nonlocal later
        del later

    return f, forget
"""
    f, forget = build(is_async, source)["outer"]()
    assert run(f, 1) == 5
    assert run(f, 0) == 0
    forget()
    assert run(f, 0) == 0
    assert run(f, 0) == 0
    assert f.cache_info().hits == 1
    with pytest.raises(NameError):
        run(f, 1)


@drivers
def test_recursive_nested_cached_function(is_async: bool) -> None:
    """A nested cached function that calls itself through its closure hits, and is not its own input."""
    source = """
def outer():
    @memo.cache
    ADEF fib(n):
        return n if n < 2 else (AWAIT fib(n - 1)) + (AWAIT fib(n - 2))
    return fib
"""
    fib = build(is_async, source.replace("AWAIT ", "await " if is_async else ""))["outer"]()
    assert run(fib, 15) == 610
    assert run(fib, 15) == 610
    assert fib.cache_info().misses == 16
