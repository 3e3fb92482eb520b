"""``memo.configure(backend=...)`` repeated: no leaked descriptors, user backends left open."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import memo


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class _Recording(memo.MemoryBackend):
    """A user's backend that records whether memo closed it."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")
@pytest.mark.parametrize("url", ["file", "file:///{tmp}/explicit"])
def test_reconfiguring_a_file_url_leaks_no_descriptors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """Re-running ``configure(backend="file")`` (a notebook cell) keeps the open descriptors level."""
    monkeypatch.setenv("MEMO_CACHE_DIR", str(tmp_path / "default"))
    url = url.format(tmp=str(tmp_path).lstrip("/"))

    @memo.cache
    def double(x: int) -> int:
        return 2 * x

    def rerun_cell() -> None:
        memo.configure(backend=url)
        assert double(3) == 6

    rerun_cell()
    rerun_cell()
    before = _open_fds()
    for _ in range(10):
        rerun_cell()
    assert _open_fds() <= before
    memo.configure(backend=None)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")
def test_switching_between_urls_closes_the_backend_memo_made(tmp_path: Path) -> None:
    """A file backend memo made from a URL is closed when configure replaces it with another."""

    @memo.cache
    def double(x: int) -> int:
        return 2 * x

    memo.configure(backend=f"file://{tmp_path}/a")
    double(1)
    before = _open_fds()
    for i in range(10):
        memo.configure(backend=f"file://{tmp_path}/{'b' if i % 2 else 'a'}")
        double(1)
        memo.configure(backend="memory")
        double(1)
    assert _open_fds() <= before
    memo.configure(backend=None)


def test_a_backend_object_the_user_passed_is_never_closed() -> None:
    """configure never closes a backend object the user passed in (they may still use it)."""
    mine = _Recording()
    memo.configure(backend=mine)
    memo.configure(backend="memory")
    memo.configure(backend=mine)
    memo.configure(backend=_Recording())
    memo.configure(backend=None)
    assert mine.closed == 0


def test_the_same_url_keeps_the_same_backend() -> None:
    """configure with the URL already configured keeps that backend (and what it cached)."""
    memo.configure(backend="memory")
    first: Any = memo.get_default_backend()
    memo.configure(backend="memory")
    assert memo.get_default_backend() is first
    memo.configure(backend=None)
