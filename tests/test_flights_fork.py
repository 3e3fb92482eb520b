"""``fork()`` while a computation is in flight: the child never waits on its parent's flights or locks.

Children report through their exit status; the parent waits for them with a generous
deadline and kills them if it passes (a hang guard, not a timing measurement).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import memo
from tests._helpers import lock_free

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork"),
    pytest.mark.timeout(60),
]

_started = threading.Event()
_release = threading.Event()


def fork(child: Callable[[], int]) -> int:
    """Fork; the child runs ``child`` and exits with its status (1 on any exception). Returns the pid."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork of a multi-threaded process
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = child()
        finally:
            os._exit(code)
    return pid


def exit_status(pid: int, deadline: float = 30.0) -> int | None:
    """The child's exit status, or None (and the child killed) if it did not finish by ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def test_child_does_not_join_the_parents_flight() -> None:
    """A child forked while a thread of the parent computes a key computes that key itself, at once."""
    parent = os.getpid()
    _started.clear()
    _release.clear()

    @memo.cache
    def slow(x: int) -> int:
        _started.set()
        if os.getpid() == parent:
            _release.wait(30)
        return x * 2

    thread = threading.Thread(target=slow, args=(21,))
    thread.start()
    try:
        assert _started.wait(10)
        pid = fork(lambda: 0 if slow(21) == 42 else 2)
        assert exit_status(pid) == 0  # before: the child waited lock_timeout (60 s) on the orphaned flight
    finally:
        _release.set()
        thread.join()
    assert slow(21) == 42


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_child_of_a_body_does_not_release_the_parents_lock(kind: str, tmp_path: Path, request: Any) -> None:
    """A child forked inside the body returns through the driver without freeing its parent's lock or lease."""
    backend = (
        memo.FileBackend(tmp_path / "flights-fork") if kind == "file" else request.getfixturevalue("redis_backend")
    )
    parent = os.getpid()
    statuses: list[int | None] = []

    @memo.cache(backend=backend)
    def forking(x: int) -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid:  # the parent holds the lock until its child has checked it
            statuses.append(exit_status(pid))
        return x

    key = forking.cache_key(1)
    try:
        assert forking(1) == 1  # in the child this returns too, through the driver's store and release
    finally:
        if os.getpid() != parent:
            os._exit(0 if not lock_free(backend, key) else 3)  # 0: the parent's lock is still held
    assert statuses == [0]
    assert lock_free(backend, key)
    if kind == "file":
        backend.close()


CHILD_HOLDER = """
import os, sys, threading, time, memo
backend = memo.FileBackend(sys.argv[1])
started = threading.Event()

@memo.cache(backend=backend)
def slow(x):
    started.set()
    time.sleep(120)
    return x

threading.Thread(target=slow, args=(1,), daemon=True).start()
started.wait(30)
ready_r, ready_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(ready_w, b"1")  # os.fork() returned here: the at-fork hooks have run
    time.sleep(120)  # a forked worker that outlives its parent
    os._exit(0)
os.read(ready_r, 1)
print(pid, slow.cache_key(1), flush=True)
time.sleep(120)
"""


def test_killed_holder_lock_is_free_though_its_forked_child_lives(tmp_path: Path) -> None:
    """A lock holder's forked child does not keep the lock: killing the holder frees it for everyone."""
    directory = tmp_path / "flights-fork-holder"
    holder = subprocess.Popen([sys.executable, "-c", CHILD_HOLDER, str(directory)], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert holder.stdout is not None
        child_text, key = holder.stdout.readline().split()
        child = int(child_text)
        backend = memo.FileBackend(directory)
        assert not lock_free(backend, key)  # the holder computes
        holder.kill()
        holder.wait()
        assert lock_free(backend, key)  # before: the child's inherited descriptor kept the lock
        backend.close()
    finally:
        holder.kill()
        holder.wait()
        if child:
            os.kill(child, signal.SIGKILL)
