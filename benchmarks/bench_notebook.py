"""Hit cost of notebook functions whose globals are inputs, up to a 100 MiB global DataFrame.

Run: python benchmarks/bench_notebook.py

Run as a script, the functions below live in ``__main__``, as a notebook's do, so the
globals they read and the helpers they call are part of their keys (``docs/notebooks.md``).
Every row is a memory-backend hit, timed against ``functools.lru_cache`` of the same body
(which sees no globals at all, so is stale after an edit). The big rows read a 100 MiB
float64 DataFrame as a global: read-only (built on a read-only array with ``copy=False``,
its digest kept by identity), Arrow-backed (immutable), and writable (hashed by content at
every call, the price of soundness for data that may have changed in place). The hot
path of functions that read no globals is ``bench_memory.py``'s (its target is there).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _timing import fmt, once, paired, table

import memo

N = 20_000
ROUNDS = 7
ROWS, COLS = 1_310_720, 10  # 100 MiB of float64
Row = tuple[str, float, str, float, str]

SCALE = 2
FRAME: Any = None


def helper(x: int) -> int:
    return x + SCALE


def plain(x: int) -> int:
    return x * 2


def with_constant(x: int) -> int:
    return helper(x) * SCALE


def with_frame(x: int) -> int:
    return x + FRAME.shape[0]


def hit_row(label: str, body: Any, number: int, target: str) -> Row:
    cached = memo.cache(backend=memo.MemoryBackend())(body)
    lru = functools.lru_cache(maxsize=None)(body)
    cached(1)
    lru(1)
    mine, base = paired(lambda: cached(1), lambda: lru(1), number, ROUNDS)
    return (label, mine, "functools.lru_cache", base, target)


def main() -> None:
    global FRAME
    rows: list[Row] = [
        hit_row("hit, reads no globals", plain, N, "-"),
        hit_row("hit, reads SCALE and calls helper()", with_constant, N, "-"),
    ]
    data = np.random.default_rng(0).random((ROWS, COLS))
    data.flags.writeable = False
    FRAME = pd.DataFrame(data, copy=False)  # blocks are read-only views of `data`
    assert FRAME.memory_usage(index=False).sum() == 100 * 2**20
    rows.append(hit_row("hit, reads a 100 MiB read-only DataFrame", with_frame, N // 4, "-"))
    FRAME = FRAME.astype("float64[pyarrow]")
    rows.append(hit_row("hit, reads a 100 MiB Arrow-backed DataFrame", with_frame, N // 4, "-"))
    FRAME = pd.DataFrame(np.random.default_rng(0).random((ROWS, COLS)))  # writable: hashed per call
    rows.append(hit_row("hit, reads a 100 MiB writable DataFrame", with_frame, 3, "-"))
    seconds = once(lambda: memo.hash_value(FRAME), 3)
    print(f"Python {sys.version.split()[0]}, pandas {pd.__version__}, medians of {ROUNDS} rounds")
    print(table(rows))
    print(f"hashing the 100 MiB DataFrame once: {fmt(seconds)} ({100 * 2**20 / seconds / 1e9:.1f} GB/s)")


if __name__ == "__main__":
    main()
