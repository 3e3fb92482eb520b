"""FileBackend: ``size_limit`` holds at all times, across processes, and after the last write."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import memo
from memo.backends.file import _SQLITE_LOG

KiB, MiB = 2**10, 2**20


_LOG_FILES = ("cache.db-wal", "cache.db-shm")


def _directory_bytes(directory: Path, log: bool = False) -> int:
    """Bytes of the files under ``directory``: values, database and locks, or (``log``) SQLite's log files only."""
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            if (name in _LOG_FILES) != log:
                continue
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:  # unlinked by an eviction meanwhile
                continue
    return total


def test_directory_is_within_size_limit_right_after_the_last_write(tmp_path: Path) -> None:
    """Right after a burst of writes (no later write, no wait), values and database are within size_limit."""
    limit = 4 * MiB
    backend = memo.FileBackend(tmp_path / "c", size_limit=limit)
    sizes = [64 * KiB, 256 * KiB, 1 * MiB, 100 * KiB, 700 * KiB]
    for i in range(40):  # about 15 MiB offered, well within one second
        backend.set(f"k{i}", os.urandom(sizes[i % len(sizes)]))
    assert _directory_bytes(tmp_path / "c") <= limit
    assert _directory_bytes(tmp_path / "c", log=True) <= _SQLITE_LOG
    survivors = set(backend.keys())
    assert "k39" in survivors  # the oldest go first, the last written stays
    assert "k0" not in survivors
    backend.close()


def test_set_parts_is_bounded_like_set(tmp_path: Path) -> None:
    """Writes in parts (memo's path for big arrays) are evicted to size_limit like plain writes."""
    limit = 2 * MiB
    backend = memo.FileBackend(tmp_path / "c", size_limit=limit)
    for i in range(60):  # 18 MiB offered
        backend.set_parts(f"k{i}", [b"head", os.urandom(300 * KiB)])
    assert _directory_bytes(tmp_path / "c") <= limit
    backend.close()


def test_value_bigger_than_size_limit_is_not_stored_and_flushes_nothing(tmp_path: Path) -> None:
    """A value bigger than size_limit is not stored, evicts nothing, and leaves no older value under its key."""
    backend = memo.FileBackend(tmp_path / "c", size_limit=1 * MiB)
    backend.set("small", b"s" * 100)
    backend.set("big", b"old")
    backend.set("big", os.urandom(2 * MiB))
    assert backend.get("big") is None  # neither the new value nor the stale old one
    assert backend.get("small") == b"s" * 100
    assert _directory_bytes(tmp_path / "c") <= 1 * MiB
    backend.close()


_WRITER = textwrap.dedent(
    """
    import os, random, sys, time
    import memo
    directory, limit, seconds, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    backend = memo.FileBackend(directory, size_limit=limit)
    rng = random.Random(seed)
    end = time.monotonic() + seconds
    i = offered = 0
    while time.monotonic() < end:
        value = os.urandom(rng.randint(64 * 1024, 1024 * 1024))
        backend.set(f"w{seed}-{i}", value)
        i += 1
        offered += len(value)
    backend.close()
    print(offered)
    """
)


def test_processes_writing_together_stay_within_the_stated_margin(tmp_path: Path) -> None:
    """Four processes writing 64 KiB-1 MiB values: values and database stay within size_limit plus one value
    per writer (sampled while they write) and within size_limit at the end; SQLite's log stays within its bound."""
    directory = tmp_path / "shared"
    limit, writers, largest = 8 * MiB, 4, 1 * MiB
    memo.FileBackend(directory, size_limit=limit).set("warm", b"x")  # create the database once
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), *sys.path])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(directory), str(limit), "3", str(seed)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(writers)
    ]
    samples: list[int] = []
    logs: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(_directory_bytes(directory))
            logs.append(_directory_bytes(directory, log=True))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        offered = [int(p.communicate(timeout=120)[0]) for p in procs]
    finally:
        done.set()
        sampler.join()
    assert all(p.returncode == 0 for p in procs)
    assert sum(offered) > 4 * limit, "the writers must have offered well past the limit"
    assert len(samples) > 20
    assert max(samples) <= limit + writers * largest
    assert _directory_bytes(directory) <= limit
    assert max(logs) <= _SQLITE_LOG
