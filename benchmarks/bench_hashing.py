"""Content hashing speed: numpy, pandas and plain containers, against joblib.hash and pickle.

Run: python benchmarks/bench_hashing.py
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
import xxhash
from _timing import fmt, once, paired, table

import memo


def main() -> None:
    rows = []
    array = np.random.default_rng(0).random(100 * 2**20 // 8)  # 100 MiB float64
    mine = once(lambda: memo.hash_value(array), rounds=7)
    try:
        import joblib

        peer = once(lambda: joblib.hash(array), rounds=5)
        rows.append(("100 MiB float64 array", mine, "joblib.hash", peer, ">= 20x faster (ratio <= 0.05)"))
    except ImportError:
        pass
    print(f"array throughput: {array.nbytes / mine / 1e9:.1f} GB/s (target >= 10 GB/s)")

    n = 1_000_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "i": np.arange(n),
            "f": rng.random(n),
            "s": [f"user-{i % 5000}" for i in range(n)],
            "c": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "t": pd.date_range("2024-01-01", periods=n, freq="s"),
            "b": rng.random(n) > 0.5,
            "i32": np.arange(n, dtype=np.int32),
            "f32": rng.random(n).astype(np.float32),
            "s2": rng.choice(["x", "y"], n),
            "u": np.arange(n, dtype=np.uint16),
        }
    )
    mine_df = once(lambda: memo.hash_value(frame), rounds=5)
    print(f"1e6 x 10 mixed DataFrame: {fmt(mine_df)} (target <= 0.35 s)")
    texts = pd.Series([f"user-{i % 5000}" for i in range(n)], dtype=object)
    mine_t, peer_t = paired(
        lambda: memo.hash_value(texts),
        lambda: xxhash.xxh3_128_hexdigest(pd.util.hash_array(texts.to_numpy()).tobytes()),
        rounds=5,
    )
    rows.append(("1e6 str, object column", mine_t, "xxh3(pd.util.hash_array)", peer_t, "-"))

    dicts = [{"id": i, "name": f"n{i}", "score": i * 0.5, "ok": True} for i in range(100_000)]
    mine_d, peer_d = paired(
        lambda: memo.hash_value(dicts), lambda: xxhash.xxh3_128_hexdigest(pickle.dumps(dicts, protocol=5)), rounds=15
    )
    rows.append(("1e5 small dicts", mine_d, "xxh3(pickle.dumps)", peer_d, "<= 1.2x"))
    sorted_dicts = [{"id": i, "name": f"n{i}", "ok": True, "score": i * 0.5} for i in range(100_000)]
    sorted_dicts = [dict(sorted(d.items())) for d in sorted_dicts]
    mine_s, peer_s = paired(
        lambda: memo.hash_value(sorted_dicts),
        lambda: xxhash.xxh3_128_hexdigest(pickle.dumps(sorted_dicts, protocol=5)),
        rounds=15,
    )
    rows.append(("1e5 small dicts, keys in another order", mine_s, "xxh3(pickle.dumps)", peer_s, "-"))
    print(table(rows))


if __name__ == "__main__":
    main()
