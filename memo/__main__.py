"""``python -m memo``: ``demo`` (watch a slow function get cached) and ``--version``."""

from __future__ import annotations

import argparse
import sys
import time

import memo
from memo import _config


def demo() -> int:
    """Run a slow function twice and print what memo did; 0 when it behaved as expected.

    With caching disabled (``MEMO_DISABLE=1`` or ``memo.disable()``) both calls compute,
    the demo says so, and that is expected too.
    """

    @memo.cache(backend=memo.MemoryBackend())
    def slow_square(x: int, delay: float = 0.5) -> int:
        time.sleep(delay)
        return x * x

    enabled = _config.state.enabled
    if not enabled:
        print("caching is disabled (MEMO_DISABLE=1 or memo.disable()): every call runs the function")
    for call in ("first call", "second call"):
        hits = slow_square.cache_info().hits
        start = time.perf_counter()
        result = slow_square(12)
        elapsed = time.perf_counter() - start
        label = f"{call} ({'cache hit' if slow_square.cache_info().hits > hits else 'computed'})"
        print(f"{label:26} slow_square(12) = {result}   {elapsed:8.4f} s")
    info = slow_square.cache_info()
    print(f"cache_info: hits={info.hits} misses={info.misses} stores={info.stores} time_saved={info.time_saved:.2f} s")
    print(f"key: {slow_square.cache_key(12)}")
    if not enabled:
        return 0 if info.hits == 0 else 1
    return 0 if info.hits == 1 and info.misses == 1 else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m memo``."""
    parser = argparse.ArgumentParser(prog="python -m memo", description="memo: memoization for notebooks and services")
    parser.add_argument("--version", action="version", version=f"memo {memo.__version__}")
    parser.add_argument("command", choices=["demo", "version"], help="demo: show a cache hit; version: print it")
    args = parser.parse_args(argv)
    if args.command == "version":
        print(f"memo {memo.__version__}")
        return 0
    return demo()


if __name__ == "__main__":
    sys.exit(main())
