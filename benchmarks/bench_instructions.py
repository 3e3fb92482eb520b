"""Instructions per call, this checkout against another one, counted by valgrind's callgrind.

Wall-clock ratios on a shared 2-core machine move by 10-20% between runs; callgrind counts
the instructions the interpreter executes, which does not depend on what else the machine
does (it still moves a few percent between runs: start-up work varies). Each case runs in
a fresh interpreter with n = 0 and n = N iterations; the difference over N is the cost of
one call, median of ``--rounds``.

Run: python benchmarks/bench_instructions.py --before /path/to/other/checkout
(needs ``valgrind`` on PATH; ``git worktree add /tmp/before <rev>`` makes a checkout).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

CASE = textwrap.dedent(
    """
    import asyncio, sys, tempfile
    import memo
    case, n = sys.argv[1], int(sys.argv[2])
    if case == "sync memory hit":
        @memo.cache
        def f(a, b, c="abc", k=3): return a
        f(1, 2.0, "abc", k=3); f(1, 2.0, "abc", k=3)
        for _ in range(n): f(1, 2.0, "abc", k=3)
    elif case == "async memory hit":
        @memo.cache
        async def g(a, b): return a
        async def main():
            await g(1, 2.0); await g(1, 2.0)
            for _ in range(n): await g(1, 2.0)
        asyncio.run(main())
    elif case == "memory miss + store":
        @memo.cache
        def h(a): return a
        for i in range(n): h(i + 0.5)
    elif case == "file hit":
        @memo.cache(backend=memo.FileBackend(tempfile.mkdtemp()))
        def fh(a): return a
        fh(1)
        for _ in range(n): fh(1)
    elif case == "hash 2000 dict rows":
        rows = [{"id": i, "name": f"n{i}", "score": i * 0.5, "ok": i % 2 == 0} for i in range(2000)]
        memo.hash_value(rows[:10])
        for _ in range(n): memo.hash_value(rows)
    elif case == "hash 1000x20 float frame":
        import numpy as np, pandas as pd
        frame = pd.DataFrame(np.random.default_rng(0).random((1000, 20)))
        memo.hash_value(frame)
        for _ in range(n): memo.hash_value(frame)
    elif case == "hash 3x3 int/float/str frame":
        import pandas as pd
        frame = pd.DataFrame({"a": [1, 2, 3], "b": [1.0, 2.0, 3.0], "c": ["x", "y", "z"]})
        memo.hash_value(frame)
        for _ in range(n): memo.hash_value(frame)
    """
)
CASES = {
    "sync memory hit": 4000,
    "async memory hit": 4000,
    "memory miss + store": 300,
    "file hit": 300,
    "hash 2000 dict rows": 20,
    "hash 1000x20 float frame": 200,
    "hash 3x3 int/float/str frame": 200,
}


def instructions(checkout: Path, case: str, n: int) -> int:
    """Instructions callgrind counted for one fresh interpreter running ``case`` ``n`` times."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0"}
    # Not from a checkout's root: ``python -c`` puts the working directory first on sys.path,
    # ahead of PYTHONPATH, and the checkout it was run from would be measured on both sides.
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", CASE, case, str(n)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count for {case!r}:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_call(checkout: Path, case: str, n: int, rounds: int) -> float:
    """Median over ``rounds`` of the instructions one call costs (start-up subtracted)."""
    samples = [(instructions(checkout, case, n) - instructions(checkout, case, 0)) / n for _ in range(rounds)]
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout (its memo/ is imported)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh-interpreter pairs per case and side (median)")
    parser.add_argument("--case", action="append", choices=list(CASES), help="only these cases (repeatable)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not on PATH (Debian: apt-get install valgrind)")
    print("| case | before (instructions/call) | after | after/before |")
    print("|---|---|---|---|")
    for case, n in CASES.items():
        if args.case and case not in args.case:
            continue
        before, after = per_call(args.before, case, n, args.rounds), per_call(HERE, case, n, args.rounds)
        print(f"| {case} | {before:,.0f} | {after:,.0f} | {after / before:.3f}x |")


if __name__ == "__main__":
    main()
