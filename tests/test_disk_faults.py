"""Disk faults on FileBackend fail open: the function answers, warns once and counts errors."""

from __future__ import annotations

import errno
import warnings
from pathlib import Path
from typing import Any

import diskcache
import pytest

import memo


def _no_space(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, "No space left on device")


def _denied(*args: Any, **kwargs: Any) -> Any:
    raise PermissionError(errno.EACCES, "Permission denied")


@pytest.mark.parametrize(
    ("method", "fault", "warned"),
    [("store", _no_space, True), ("store", _denied, True), ("fetch", _denied, False)],
    ids=["ENOSPC-on-write", "EACCES-on-write", "EACCES-on-read"],
)
def test_disk_errors_fail_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, fault: Any, warned: bool
) -> None:
    """An OS error inside the disk layer leaves every result correct; write faults warn once.

    diskcache itself reads an unreadable value file as a miss, so read faults recompute quietly.
    """
    backend = memo.FileBackend(tmp_path / "c")

    @memo.cache(backend=backend)
    def square(x: int) -> int:
        return x * x

    square(0)  # open the cache and store once before the fault
    monkeypatch.setattr(diskcache.Disk, method, fault)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [square(i % 5) for i in range(20)] == [(i % 5) ** 2 for i in range(20)]
    assert [w.category for w in caught] == ([memo.BackendWarning] if warned else [])
    assert square.cache_info().errors >= (1 if warned else 0)
    backend.close()


def test_unusable_directory_fails_open(tmp_path: Path) -> None:
    """A cache directory that cannot be created (a file is in the way) still lets the function answer."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    @memo.cache(backend=memo.FileBackend(blocker / "cache"), on_error="ignore")
    def square(x: int) -> int:
        return x * x

    assert square(3) == 9
    assert square(3) == 9
    assert square.cache_info().errors >= 1
    assert blocker.read_text() == "not a directory"
