"""Fault injection against real services: a Redis killed mid-traffic, a lock holder killed mid-body."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest

import memo
from tests._servers import Server

pytestmark = pytest.mark.slow


def test_redis_killed_mid_traffic(own_redis_server: Server) -> None:
    """8 threads and 8 tasks keep getting correct results while Redis dies and comes back."""
    backend = memo.RedisBackend(own_redis_server.url, prefix=f"fault-{uuid.uuid4().hex[:6]}:")

    @memo.cache(backend=backend)
    def double(x: int) -> int:
        return 2 * x

    @memo.cache(backend=backend)
    async def triple(x: int) -> int:
        return 3 * x

    stop = threading.Event()
    wrong: list[Any] = []
    errors: list[BaseException] = []
    stalls: list[float] = []
    lock = threading.Lock()

    def record(expected: int, got: int, took: float) -> None:
        with lock:
            stalls.append(took)
            if got != expected:
                wrong.append((expected, got))

    def thread_loop(seed: int) -> None:
        i = seed
        while not stop.is_set():
            i += 1
            start = time.monotonic()
            try:
                record(2 * (i % 25), double(i % 25), time.monotonic() - start)
            except BaseException as exc:
                errors.append(exc)
            time.sleep(0.002)

    async def task_loop(seed: int) -> None:
        i = seed
        while not stop.is_set():
            i += 1
            start = time.monotonic()
            try:
                record(3 * (i % 25), await triple(i % 25), time.monotonic() - start)
            except BaseException as exc:
                errors.append(exc)
            await asyncio.sleep(0.002)

    async def tasks() -> None:
        await asyncio.gather(*(task_loop(k) for k in range(8)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=thread_loop, args=(k,)) for k in range(8)]
        threads.append(threading.Thread(target=lambda: asyncio.run(tasks())))
        for t in threads:
            t.start()
        time.sleep(1.0)
        own_redis_server.kill()
        time.sleep(1.5)
        own_redis_server.start()
        restarted = time.monotonic()
        hits_before = double.cache_info().hits + triple.cache_info().hits
        time.sleep(6.0)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    hits_after = double.cache_info().hits + triple.cache_info().hits
    backend_warnings = [w for w in caught if issubclass(w.category, memo.BackendWarning)]
    calls = len(stalls)
    print(
        f"calls={calls} wrong={len(wrong)} exceptions={len(errors)} warnings={len(backend_warnings)} "
        f"max_stall={max(stalls):.3f}s errors_counted={double.cache_info().errors + triple.cache_info().errors} "
        f"restart_to_end={time.monotonic() - restarted:.1f}s"
    )
    assert errors == []
    assert wrong == []
    assert calls > 1000
    assert len(backend_warnings) <= 1  # one per backend per minute
    assert max(stalls) < 2.5
    assert hits_after > hits_before, "the cache must be used again after Redis is back"
    backend.close()


WORKER = """
import os, sys, time, memo
url, prefix, marker = sys.argv[1], sys.argv[2], sys.argv[3]

@memo.cache(backend=memo.RedisBackend(url, prefix=prefix))
def slow(x):
    with open(marker, "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    time.sleep(float(os.environ["SLOW"]))
    return x * 2

print(slow(21), flush=True)
"""


def _spawn(url: str, prefix: str, marker: Path, slow: float) -> subprocess.Popen[str]:
    env = dict(os.environ, SLOW=str(slow))
    args = [sys.executable, "-c", WORKER, url, prefix, str(marker)]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)


def _runs(marker: Path) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def test_redis_four_processes_one_run(redis_url: str, tmp_path: Path) -> None:
    """Four processes on one cold key of a 1 s function run the body once through the Redis lease."""
    marker, prefix = tmp_path / "runs", f"x-{uuid.uuid4().hex[:6]}:"
    procs = [_spawn(redis_url, prefix, marker, 1.0) for _ in range(4)]
    assert [p.communicate(timeout=60)[0].strip() for p in procs] == ["42"] * 4
    assert _runs(marker) == 1


def test_redis_killed_lease_holder_frees_waiters(redis_url: str, tmp_path: Path) -> None:
    """Killing the lease holder lets a waiter compute within the lease, long before lock_timeout."""
    marker, prefix = tmp_path / "runs", f"x-{uuid.uuid4().hex[:6]}:"
    holder = _spawn(redis_url, prefix, marker, 60.0)
    deadline = time.monotonic() + 20
    while _runs(marker) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    waiters = [_spawn(redis_url, prefix, marker, 0.2) for _ in range(3)]
    time.sleep(0.5)
    start = time.monotonic()
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert [p.communicate(timeout=40)[0].strip() for p in waiters] == ["42"] * 3
    from memo._xflight import LEASE

    assert time.monotonic() - start < LEASE + 3
    assert _runs(marker) == 2
