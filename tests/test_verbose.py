"""``verbose=True``: one short line per call on the current ``sys.stdout`` (issue #17)."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Iterator

import pytest

import memo
from memo import _config


@pytest.fixture(autouse=True)
def _quiet_after() -> Iterator[None]:
    yield
    memo.configure(verbose=False)


def test_sync_miss_hit_refresh_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """A verbose sync function prints a miss, then hits (inline path included), then a refresh line."""

    @memo.cache(verbose=True, backend=memo.MemoryBackend())
    def load(path: str) -> int:
        return len(path)

    load("a.csv")
    load("a.csv")
    load("a.csv")  # the third call would be an inline hit for a quiet function
    load.cache_refresh("a.csv")
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        "memo: load(path='a.csv') miss, computed in",
        "memo: load(path='a.csv') hit, saved",
        "memo: load(path='a.csv') hit, saved",
        "memo: load(path='a.csv') refreshed, computed in",
    ]
    assert all(line.endswith(" s") for line in lines)


def test_async_miss_hit_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """A verbose async function prints a miss line, then a hit line on every later call."""

    @memo.cache(verbose=True)
    async def fetch(n: int) -> int:
        return n * 2

    for _ in range(3):
        asyncio.run(fetch(4))
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        "memo: fetch(n=4) miss, computed in",
        "memo: fetch(n=4) hit, saved",
        "memo: fetch(n=4) hit, saved",
    ]


def test_async_refresh_line(capsys: pytest.CaptureFixture[str]) -> None:
    """An async cache_refresh prints a refreshed line."""

    @memo.cache(verbose=True)
    async def fetch(n: int) -> int:
        return n

    asyncio.run(fetch.cache_refresh(1))
    assert capsys.readouterr().out.startswith("memo: fetch(n=1) refreshed, computed in ")


def test_file_backend_hits_print(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    """Hits from a non-memory backend (the driver's load) print too."""

    @memo.cache(verbose=True, backend=memo.FileBackend(str(tmp_path)))
    def square(x: int) -> int:
        return x * x

    square(3)
    square(3)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("memo: square(x=3) miss")
    assert out[1].startswith("memo: square(x=3) hit, saved")


def test_off_by_default_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """Without verbose, calls print nothing."""

    @memo.cache
    def f(x: int) -> int:
        return x

    for _ in range(3):
        f(1)
    assert capsys.readouterr().out == ""


def test_configure_turns_on_already_decorated(capsys: pytest.CaptureFixture[str]) -> None:
    """configure(verbose=True) makes an already decorated function print, even hits it served inline before."""

    @memo.cache
    def f(x: int) -> int:
        return x

    for _ in range(3):
        f(1)  # the slot is kept: the next hit would be inline
    memo.configure(verbose=True)
    f(1)
    f(2)
    memo.configure(verbose=False)
    f(1)
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit(" ", 2)[0] for line in lines] == ["memo: f(x=1) hit, saved", "memo: f(x=2) miss, computed in"]


def test_per_function_false_beats_configure(capsys: pytest.CaptureFixture[str]) -> None:
    """verbose=False on a function keeps it quiet under configure(verbose=True)."""
    memo.configure(verbose=True)

    @memo.cache(verbose=False)
    def f(x: int) -> int:
        return x

    f(1)
    f(1)
    assert capsys.readouterr().out == ""


def test_output_goes_to_current_stdout() -> None:
    """The line goes to sys.stdout as it is at call time (a notebook cell's output)."""

    @memo.cache(verbose=True)
    def f(x: int) -> int:
        return x

    swapped = io.StringIO()
    saved, sys.stdout = sys.stdout, swapped
    try:
        f(7)
    finally:
        sys.stdout = saved
    assert swapped.getvalue().startswith("memo: f(x=7) miss, computed in ")


def test_big_arguments_summarised(capsys: pytest.CaptureFixture[str]) -> None:
    """Arguments are summarised like EntryInfo.args: a big list is never printed whole."""

    @memo.cache(verbose=True)
    def total(items: list[int]) -> int:
        return sum(items)

    total(list(range(100_000)))
    line = capsys.readouterr().out
    assert len(line) < 300
    assert "99999" not in line


def test_bad_verbose_values_refused() -> None:
    """verbose must be a bool (or None on a function)."""
    with pytest.raises(memo.ConfigurationError):
        memo.cache(verbose="yes")  # type: ignore[call-overload]
    with pytest.raises(memo.ConfigurationError):
        memo.configure(verbose=1)
    assert _config.state.verbose is False
