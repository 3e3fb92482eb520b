"""Cross-process single-flight on FileBackend: one body run for many processes, crash-safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

WORKER = """
import os, sys, time, memo
backend_url, marker = sys.argv[1], sys.argv[2]

@memo.cache(backend=backend_url)
def slow(x):
    with open(marker, "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    time.sleep(float(os.environ["SLOW"]))
    return x * 2

print(slow(21), flush=True)
"""


def spawn(url: str, marker: Path, slow: float) -> subprocess.Popen[str]:
    env = dict(os.environ, SLOW=str(slow))
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(marker)], env=env, stdout=subprocess.PIPE, text=True
    )


def runs(marker: Path) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def file_url(tmp_path: Path) -> str:
    return (tmp_path / "cache").as_uri()


def test_four_processes_one_run(tmp_path: Path) -> None:
    """Four processes on one cold key of a 1 s function run the body exactly once."""
    marker = tmp_path / "runs"
    procs = [spawn(file_url(tmp_path), marker, 1.0) for _ in range(4)]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert outputs == ["42"] * 4
    assert runs(marker) == 1


def test_killed_lock_holder_frees_waiters(tmp_path: Path) -> None:
    """Killing the process that holds the lock lets a waiter compute at once, not after lock_timeout."""
    marker = tmp_path / "runs"
    holder = spawn(file_url(tmp_path), marker, 30.0)
    deadline = time.monotonic() + 20
    while runs(marker) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    waiters = [spawn(file_url(tmp_path), marker, 0.5) for _ in range(3)]
    time.sleep(0.5)
    start = time.monotonic()
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    outputs = [p.communicate(timeout=30)[0].strip() for p in waiters]
    assert outputs == ["42"] * 3
    assert time.monotonic() - start < 10
    assert runs(marker) == 2  # the killed holder and one waiter
