"""memo's warnings point at the user's line that called into memo, whatever path raised them."""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import memo


class Down(memo.BaseBackend):
    """A backend whose every operation fails as an unreachable server does."""

    def get(self, key: str) -> bytes | None:
        raise ConnectionError("down")

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        raise ConnectionError("down")

    def delete(self, key: str) -> bool:
        raise ConnectionError("down")

    def clear(self, prefix: str = "") -> int:
        raise ConnectionError("down")

    def keys(self, prefix: str = "") -> Iterator[str]:
        raise ConnectionError("down")


def _caught(call: Any) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w for w in caught if issubclass(w.category, memo.MemoWarning)]


@pytest.mark.parametrize("shape", ["own", "generic"])
def test_a_backend_warning_names_the_callers_line_sync(shape: str) -> None:
    """A failing backend's BackendWarning on a sync call is attributed to the line of the call."""
    if shape == "own":

        def f(x: int) -> int:
            return x

    else:

        def f(*x: int) -> int:  # type: ignore[misc]
            return x[0]

    cached = memo.cache(backend=Down())(f)
    found = _caught(lambda: cached(1))
    assert found
    assert {(Path(w.filename).name, w.category) for w in found} == {(Path(__file__).name, memo.BackendWarning)}


def test_a_backend_warning_names_the_callers_line_async() -> None:
    """A failing backend's BackendWarning on an awaited call is attributed to the test's coroutine."""

    @memo.cache(backend=Down())
    async def f(x: int) -> int:
        return x

    async def main() -> int:
        return await f(1)

    found = _caught(lambda: asyncio.run(main()))
    assert found
    assert {Path(w.filename).name for w in found} == {Path(__file__).name}


def test_a_write_warning_names_the_callers_line(tmp_path: Path) -> None:
    """An unpicklable result's CacheWriteWarning is attributed to the line of the call."""

    @memo.cache(backend=memo.FileBackend(tmp_path / "c"))
    def f(x: int) -> Any:
        return threading.Lock()

    found = _caught(lambda: f(1))
    assert [(Path(w.filename).name, w.category) for w in found] == [(Path(__file__).name, memo.CacheWriteWarning)]


def test_a_used_up_result_warning_names_the_callers_line() -> None:
    """Returning a generator warns at the caller's line that it is not cached."""

    @memo.cache
    def f(n: int) -> Any:
        return (i for i in range(n))

    found = _caught(lambda: list(f(3)))
    assert [Path(w.filename).name for w in found] == [Path(__file__).name]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_an_unverifiable_record_warning_names_the_callers_line(tmp_path: Path, is_async: bool) -> None:
    """A signed record met without a secret warns once, at the line of the call that met it."""

    backend = memo.FileBackend(tmp_path / "c")

    def body(x: int) -> int:
        return x

    async def abody(x: int) -> int:
        return x

    f = memo.cache(backend=backend)(abody if is_async else body)

    async def main() -> Any:
        return await f(1)

    def call() -> Any:
        return asyncio.run(main()) if is_async else f(1)

    memo.configure(secret=b"k" * 32)
    call()
    memo.configure(secret=None)
    found = _caught(call)
    assert [(Path(w.filename).name, w.category) for w in found] == [(Path(__file__).name, memo.BackendWarning)]
