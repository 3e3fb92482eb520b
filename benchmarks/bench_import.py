"""``import memo`` time in fresh interpreters, and which heavy modules it pulls in.

Run: python benchmarks/bench_import.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

HEAVY = ("redis", "IPython", "ipywidgets", "numpy", "pandas")


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # users have .pyc caches


def run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=ENV)
    return time.perf_counter() - start


def importtime() -> float:
    """Seconds ``python -X importtime`` reports for the whole ``import memo`` (cumulative)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import memo"], capture_output=True, text=True, check=True, env=ENV
    ).stderr
    for line in err.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "memo":
            return int(parts[1]) / 1e6
    raise RuntimeError("memo not in -X importtime output")


def main() -> None:
    run("import memo")  # write the .pyc files once, as any installed package has them
    bare = [run("pass") for _ in range(9)]
    with_memo = [run("import memo") for _ in range(9)]
    cost = statistics.median(with_memo) - statistics.median(bare)
    decorated = [run("import memo\n@memo.cache\ndef f(x): return x") for _ in range(9)]
    first_use = statistics.median(decorated) - statistics.median(bare)
    cumulative = statistics.median(importtime() for _ in range(9))
    check = f"import sys, memo; print(sorted(set({HEAVY!r}) & set(sys.modules)))"
    heavy = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout.strip()
    print("| measure | value | target |\n|---|---|---|")
    print(f"| import memo (median of 9, minus bare interpreter) | {cost * 1000:.1f} ms | <= 50 ms |")
    print(f"| import memo, -X importtime cumulative (median of 9) | {cumulative * 1000:.1f} ms | <= 50 ms |")
    print(f"| (reference) import memo + first @memo.cache (loads inspect) | {first_use * 1000:.1f} ms | - |")
    print(f"| heavy modules imported | {heavy} | [] |")


if __name__ == "__main__":
    main()
