"""``python -m memo demo``: watch a slow function get cached."""

from __future__ import annotations

import argparse
import sys
import time

import memo


def demo() -> int:
    """Run a slow function twice and print what memo did."""

    @memo.cache(backend=memo.MemoryBackend())
    def slow_square(x: int, delay: float = 0.5) -> int:
        time.sleep(delay)
        return x * x

    for label in ("first call (computes)", "second call (cache hit)"):
        start = time.perf_counter()
        result = slow_square(12)
        print(f"{label:26} slow_square(12) = {result}   {time.perf_counter() - start:8.4f} s")
    info = slow_square.cache_info()
    print(f"cache_info: hits={info.hits} misses={info.misses} stores={info.stores} time_saved={info.time_saved:.2f} s")
    print(f"key: {slow_square.cache_key(12)}")
    return 0 if info.hits == 1 and info.misses == 1 else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m memo``."""
    parser = argparse.ArgumentParser(prog="python -m memo", description="memo: memoization for notebooks and services")
    parser.add_argument("command", choices=["demo", "version"], help="demo: show a cache hit; version: print it")
    args = parser.parse_args(argv)
    if args.command == "version":
        print(memo.__version__)
        return 0
    return demo()


if __name__ == "__main__":
    sys.exit(main())
