"""In-process single-flight: concurrent callers of one cold key run the body once."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import memo


def test_32_threads_one_run() -> None:
    """32 threads on one cold key of a 0.2 s body: one run, every caller gets its result."""
    runs: list[int] = []

    @memo.cache
    def slow(x: int) -> list[int]:
        runs.append(x)
        time.sleep(0.2)
        return [x]

    barrier = threading.Barrier(32)

    def call() -> list[int]:
        barrier.wait()
        return slow(7)

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda _: call(), range(32)))
    assert runs == [7]
    assert all(r is results[0] for r in results)


async def test_32_tasks_one_run() -> None:
    """32 asyncio tasks on one cold key of a 0.2 s body: one run."""
    runs: list[int] = []

    @memo.cache
    async def slow(x: int) -> int:
        runs.append(x)
        await asyncio.sleep(0.2)
        return x * 2

    results = await asyncio.gather(*(slow(4) for _ in range(32)))
    assert runs == [4]
    assert results == [8] * 32


def test_threads_share_the_exception() -> None:
    """Followers get the leader's exception; nothing is stored."""
    runs: list[int] = []

    @memo.cache
    def bad(x: int) -> int:
        runs.append(x)
        time.sleep(0.2)
        raise KeyError(x)

    def call() -> str:
        try:
            bad(1)
        except KeyError:
            return "raised"
        return "returned"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: call(), range(8)))
    assert outcomes == ["raised"] * 8
    assert runs == [1]


async def test_cancelled_leader_lets_followers_compute() -> None:
    """If the leading task is cancelled, a waiting task takes over instead of hanging."""
    runs: list[int] = []

    @memo.cache
    async def slow(x: int) -> int:
        runs.append(x)
        await asyncio.sleep(0.2)
        return x

    leader = asyncio.create_task(slow(1))
    await asyncio.sleep(0.05)
    follower = asyncio.create_task(slow(1))
    await asyncio.sleep(0.05)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await asyncio.wait_for(follower, 2) == 1
    assert runs == [1, 1]


def test_lock_timeout_bounds_the_wait() -> None:
    """A follower waits at most lock_timeout, then computes on its own."""
    runs: list[float] = []

    @memo.cache(lock_timeout=0.1)
    def slow(x: int) -> int:
        runs.append(time.monotonic())
        time.sleep(0.6)
        return x

    t = threading.Thread(target=slow, args=(1,))
    t.start()
    time.sleep(0.05)
    start = time.monotonic()
    assert slow(1) == 1
    t.join()
    assert len(runs) == 2
    assert runs[1] - start < 0.4


def test_no_global_lock_while_body_runs() -> None:
    """Different keys compute in parallel: two 0.3 s bodies finish in well under 0.6 s."""

    @memo.cache
    def slow(x: int) -> int:
        time.sleep(0.3)
        return x

    start = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(slow, [1, 2])) == [1, 2]
    assert time.monotonic() - start < 0.55
