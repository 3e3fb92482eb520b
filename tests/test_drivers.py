"""The call drivers: one backend read and one argument binding per miss, and sync/async kept in step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import memo
from memo._keymaker import KeyMaker
from memo.backends.file import FileBackend
from memo.backends.memory import MemoryBackend

_READS = {MemoryBackend: ("get", "get_entry", "aget"), FileBackend: ("get", "aget", "get_head")}


class Counts:
    """Calls of the backend's read methods and of KeyMaker.bind since the last reset."""

    def __init__(self) -> None:
        self.reads = self.binds = 0

    def reset(self) -> None:
        self.reads = self.binds = 0


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counts:
    """Counts backend reads (every read method of the built-in backends) and argument bindings."""
    found = Counts()

    def counting(method: Callable[..., Any], attr: str) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(method):

            async def acounted(*args: Any, **kwargs: Any) -> Any:
                setattr(found, attr, getattr(found, attr) + 1)
                return await method(*args, **kwargs)

            return acounted

        def counted(*args: Any, **kwargs: Any) -> Any:
            setattr(found, attr, getattr(found, attr) + 1)
            return method(*args, **kwargs)

        return counted

    for cls, names in _READS.items():
        for name in names:
            if name in vars(cls):
                monkeypatch.setattr(cls, name, counting(vars(cls)[name], "reads"))
    monkeypatch.setattr(KeyMaker, "bind", counting(KeyMaker.bind, "binds"))
    return found


def _backend(name: str, tmp_path: Path) -> Any:
    return MemoryBackend() if name == "memory" else FileBackend(tmp_path / "c")


def _call(func: Any, *args: Any) -> Any:
    result = func(*args)
    if asyncio.iscoroutine(result):
        return asyncio.run(result)
    return result


def _make(is_async: bool, generic: bool, backend: Any) -> Any:
    """A cached function of the wrapper shape under test: its own parameters, or ``*args``."""
    if generic:
        if is_async:

            async def agen(*args: Any) -> Any:
                return sum(map(len, args))

            return memo.cache(backend=backend)(agen)

        def gen(*args: Any) -> Any:
            return sum(map(len, args))

        return memo.cache(backend=backend)(gen)
    if is_async:

        async def aown(a: Any, b: int = 2) -> Any:
            return len(a) + b

        return memo.cache(backend=backend)(aown)

    def own(a: Any, b: int = 2) -> Any:
        return len(a) + b

    return memo.cache(backend=backend)(own)


@pytest.mark.parametrize("backend_name", ["memory", "file"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("generic", [False, True], ids=["own-signature", "args"])
@pytest.mark.parametrize("arg", ["abc", ["a", "b"]], ids=["atom", "list"])
@pytest.mark.parametrize("again", [False, True], ids=["first-call", "after-delete"])
def test_a_miss_reads_the_backend_once_and_binds_once(
    counts: Counts, tmp_path: Path, backend_name: str, is_async: bool, generic: bool, arg: Any, again: bool
) -> None:
    """A miss reads the backend once and binds the arguments once, whatever the wrapper shape and driver.

    After a delete, an atom call's key is remembered (no hashing), a list's is computed again.
    """
    func = _make(is_async, generic, _backend(backend_name, tmp_path))
    first = _call(func, "zz")
    if again:
        _call(func, arg)
        assert func.cache_delete(arg)
    counts.reset()
    assert _call(func, arg) == (first - 2 + len(arg) if not generic else len(arg))
    assert (counts.reads, counts.binds) == (1, 1)
    counts.reset()
    assert _call(func, arg) == _call(func.uncached, arg)  # a hit: at most one read
    assert counts.reads <= 1  # the uncached call reads nothing
    assert counts.binds == (0 if isinstance(arg, str) else 1)  # a list is hashed (bound) on every call


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_refresh_binds_once(counts: Counts, tmp_path: Path, is_async: bool) -> None:
    """cache_refresh computes without reading the entry and binds the arguments once."""
    func = _make(is_async, False, FileBackend(tmp_path / "c"))
    _call(func, ["x"])
    counts.reset()
    result = asyncio.run(func.acache_refresh(["x"])) if is_async else func.cache_refresh(["x"])
    assert result == 3
    assert (counts.reads, counts.binds) == (0, 1)


def _normalized(func: Any) -> list[str]:
    """A driver's body with ``await`` dropped and async names mapped to their sync twins, line by line."""
    import ast
    import inspect
    import textwrap

    twins = {"aload": "load", "asave": "save", "aacquire": "acquire", "arelease": "release"}

    class Sync(ast.NodeTransformer):
        def visit_Await(self, node: ast.Await) -> Any:
            return self.visit(node.value)

        def visit_Attribute(self, node: ast.Attribute) -> Any:
            self.generic_visit(node)
            node.attr = twins.get(node.attr, node.attr)
            return node

    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    module = ast.Module(body=[Sync().visit(node) for node in body], type_ignores=[])
    return ast.unparse(module).splitlines()


def test_the_two_drivers_stay_line_for_line_twins() -> None:
    """The async driver is the sync flow with awaits, except for the few lines listed here.

    A change made to one driver and not the other changes this diff and fails the test.
    """
    import difflib
    import re

    from memo._drivers import async_call, sync_flow

    def bare(line: str) -> str:  # ast.unparse brackets tuples and yields differently across Pythons
        return re.sub(r"[()\s]", "", line)

    diff = [
        bare(line)
        for line in difflib.unified_diff(_normalized(sync_flow), _normalized(async_call), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff == [
        bare(line)
        for line in [
            "-store.check_sync()",  # a sync function cannot use an async-only backend
            "+import asyncio",
            "-        value, duration = flight.result(timeout=c.opts.lock_timeout)",
            "+        value, duration = asyncio.wait_for("
            "asyncio.shield(asyncio.wrap_future(flight)), c.opts.lock_timeout)",
            "-    except (FuturesTimeout, TimeoutError, SOLO):",
            "+    except (FuturesTimeout, TimeoutError, asyncio.TimeoutError, SOLO):",
            "-    value = (yield)",  # the sync flow's caller runs the body
            "+    value = c.func(*args, **kwargs)",
        ]
    ]
