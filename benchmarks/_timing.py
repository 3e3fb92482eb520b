"""Timing helpers shared by the benchmarks: medians of rounds, ratios in one run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def per_call(fn: Callable[[], Any], number: int, rounds: int = 7) -> float:
    """Median over ``rounds`` of the mean seconds per call of ``fn`` (run ``number`` times a round)."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def once(fn: Callable[[], Any], rounds: int = 5) -> float:
    """Median seconds of one call of ``fn`` over ``rounds``."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def paired(mine: Callable[[], Any], theirs: Callable[[], Any], number: int = 1, rounds: int = 7) -> tuple[float, float]:
    """Median seconds per call of ``mine`` and of ``theirs``, timed in alternating rounds.

    Interleaving keeps a noisy shared machine's slow spells from landing on one side only.
    """
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for side, fn in enumerate((mine, theirs)):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[side].append((time.perf_counter() - start) / number)
    return statistics.median(samples[0]), statistics.median(samples[1])


def table(rows: list[tuple[str, float, str, float, str]]) -> str:
    """Markdown table: case, memo time, peer, peer time, ratio and target."""
    out = ["| case | memo | peer | peer time | memo/peer | target |", "|---|---|---|---|---|---|"]
    for case, mine, peer, theirs, target in rows:
        out.append(f"| {case} | {fmt(mine)} | {peer} | {fmt(theirs)} | {mine / theirs:.2f}x | {target} |")
    return "\n".join(out)


def fmt(seconds: float) -> str:
    """Seconds in a readable unit."""
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
