"""Memory-backend hit path against functools.lru_cache, cachetools, cachebox and a dict.

Run: python benchmarks/bench_memory.py
"""

from __future__ import annotations

import asyncio
import functools
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import per_call, table

import memo

N = 20_000


def f(a: int, b: float, c: str, k: int = 3) -> tuple[Any, ...]:
    return (a, b, c, k)


def sync_rows() -> list[tuple[str, float, str, float, str]]:
    cached = memo.cache(backend=memo.MemoryBackend())(f)
    lru = functools.lru_cache(maxsize=None)(f)
    cached(1, 2.0, "abc", k=3)
    lru(1, 2.0, "abc", k=3)
    mine = per_call(lambda: cached(1, 2.0, "abc", k=3), N)
    base = per_call(lambda: lru(1, 2.0, "abc", k=3), N)
    rows = [("sync hit f(1, 2.0, 'abc', k=3)", mine, "functools.lru_cache", base, "<= 3x")]
    try:
        import cachetools

        ct = cachetools.cached(cachetools.LRUCache(maxsize=1024))(f)
        ct(1, 2.0, "abc", k=3)
        rows.append(("  (reference)", mine, "cachetools.cached", per_call(lambda: ct(1, 2.0, "abc", k=3), N), "-"))
    except ImportError:
        pass
    try:
        import cachebox

        cb = cachebox.cached(cachebox.LRUCache(1024))(f)
        cb(1, 2.0, "abc", k=3)
        rows.append(("  (reference)", mine, "cachebox.cached", per_call(lambda: cb(1, 2.0, "abc", k=3), N), "-"))
    except ImportError:
        pass
    return rows


def async_rows() -> list[tuple[str, float, str, float, str]]:
    store: dict[Any, Any] = {}

    async def body(a: int, b: float, c: str, k: int = 3) -> tuple[Any, ...]:
        return (a, b, c, k)

    async def dict_wrapper(a: int, b: float, c: str, k: int = 3) -> tuple[Any, ...]:
        key = (a, b, c, k)
        found = store.get(key)
        if found is None:
            found = store[key] = await body(a, b, c, k=k)
        return found

    cached = memo.cache(backend=memo.MemoryBackend())(body)

    async def loop(fn: Any) -> None:
        for _ in range(N):
            await fn(1, 2.0, "abc", k=3)

    async def run() -> tuple[float, float]:
        await cached(1, 2.0, "abc", k=3)
        await dict_wrapper(1, 2.0, "abc", k=3)
        import statistics
        import time

        mine, base = [], []
        for _ in range(7):
            start = time.perf_counter()
            await loop(cached)
            mine.append((time.perf_counter() - start) / N)
            start = time.perf_counter()
            await loop(dict_wrapper)
            base.append((time.perf_counter() - start) / N)
        return statistics.median(mine), statistics.median(base)

    mine, base = asyncio.run(run())
    return [("async hit", mine, "async def + dict lookup", base, "<= 2x")]


def miss_row() -> tuple[str, float, str, float, str]:
    backend = memo.MemoryBackend()
    cached = memo.cache(backend=backend)(f)
    counter = iter(range(10**9))
    mine = per_call(lambda: cached(next(counter), 2.0, "abc", k=3), 5_000)
    lru = functools.lru_cache(maxsize=None)(f)
    base = per_call(lambda: lru(next(counter), 2.0, "abc", k=3), 5_000)
    return ("miss + store (reference)", mine, "functools.lru_cache miss", base, "-")


if __name__ == "__main__":
    print(table([*sync_rows(), *async_rows(), miss_row()]))
