"""numpy and pandas arguments are keyed by content: no collisions, layout-independent, no copies."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from typing import Any

import numpy as np
import pandas as pd
import pytest

import memo

h = memo.hash_value


def _middle_changed(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b[len(b) // 2] += 1
    return b


BASE = np.arange(10_000, dtype=np.float64)
FRAME = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]})

PAIRS: list[tuple[str, Any, Any]] = [
    ("one middle element", BASE, _middle_changed(BASE)),
    ("int32 vs int64", np.arange(100, dtype=np.int32), np.arange(100, dtype=np.int64)),
    ("float32 vs float64", np.ones(10, dtype=np.float32), np.ones(10, dtype=np.float64)),
    ("shape", np.arange(12).reshape(3, 4), np.arange(12).reshape(4, 3)),
    ("1-d vs 2-d", np.arange(4), np.arange(4).reshape(1, 4)),
    ("array vs list", np.arange(3), [0, 1, 2]),
    ("masked", np.ma.array([1, 2, 3], mask=[0, 1, 0]), np.ma.array([1, 2, 3], mask=[0, 0, 0])),
    ("np.float64 vs float", np.float64(1.0), 1.0),
    ("np.int64 vs np.float64", np.int64(1), np.float64(1)),
    ("object arrays", np.array([1, "a"], dtype=object), np.array([1, "b"], dtype=object)),
    ("frame one cell", FRAME, FRAME.assign(c=[0.5, 1.5, 2.6])),
    ("frame column name", FRAME, FRAME.rename(columns={"c": "d"})),
    ("frame dtype", FRAME, FRAME.astype({"a": "int32"})),
    ("frame index", FRAME, FRAME.set_axis([10, 11, 12])),
    ("series name", pd.Series([1, 2], name="x"), pd.Series([1, 2], name="y")),
    ("series vs frame", pd.Series([1, 2, 3], name="a"), FRAME[["a"]]),
    ("categorical", pd.Series(pd.Categorical(["a", "b"])), pd.Series(pd.Categorical(["a", "c"]))),
    ("nullable NA", pd.Series([1, None], dtype="Int64"), pd.Series([1, 0], dtype="Int64")),
    ("None vs 'None'", pd.Series(["a", None], dtype=object), pd.Series(["a", "None"], dtype=object)),
    ("NaN vs 'nan'", pd.Series(["a", np.nan], dtype=object), pd.Series(["a", "nan"], dtype=object)),
    ("str dtype NA vs 'nan'", pd.Series(["a", None], dtype="str"), pd.Series(["a", "nan"], dtype="str")),
    ("1 vs '1' objects", pd.Series([1, 2], dtype=object), pd.Series(["1", 2], dtype=object)),
    (
        "multiindex",
        pd.Series([1, 2], index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)])),
        pd.Series([1, 2], index=pd.MultiIndex.from_tuples([("a", 1), ("b", 3)])),
    ),
    ("empty frames", pd.DataFrame({"a": []}), pd.DataFrame({"b": []})),
]


@pytest.mark.parametrize(("a", "b"), [(a, b) for _, a, b in PAIRS], ids=[name for name, _, _ in PAIRS])
def test_different_content_never_shares_a_key(a: Any, b: Any) -> None:
    """Arrays and frames that differ in any value, dtype, shape, name or index differ in digest."""
    assert h(a) != h(b)


def test_layout_does_not_matter() -> None:
    """C-order, Fortran-order and strided views with equal content hash alike."""
    c = np.arange(24, dtype=np.float64).reshape(4, 6)
    f = np.asfortranarray(c)
    strided = np.arange(48, dtype=np.float64).reshape(4, 12)[:, ::2] * 0 + c
    assert h(c) == h(f) == h(strided) == h(c.copy())
    assert not f.flags.c_contiguous


def test_equal_frames_hash_alike() -> None:
    """A DataFrame and its deep copy (and a rebuilt equal one) share a digest."""
    rebuilt = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]})
    assert h(FRAME) == h(FRAME.copy(deep=True)) == h(rebuilt)


def test_structured_dtype_names_matter() -> None:
    """Structured arrays differing only in field names differ."""
    a = np.zeros(3, dtype=[("x", "i4"), ("y", "f8")])
    b = np.zeros(3, dtype=[("x", "i4"), ("z", "f8")])
    assert h(a) != h(b)


def test_contiguous_array_is_hashed_without_a_copy() -> None:
    """Hashing a 50 MiB contiguous array allocates far less than its size."""
    array = np.ones(50 * 2**20 // 8)
    h(array)  # register the numpy hashers first
    tracemalloc.start()
    try:
        h(array)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_numpy_pandas_not_imported_for_plain_values() -> None:
    """Hashing plain values after import memo imports neither numpy nor pandas."""
    code = "import sys, memo; memo.hash_value([1, {'a': 2.0}]); print('numpy' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_cached_function_on_frames() -> None:
    """A cached function recomputes for a changed cell and hits for an equal frame."""
    calls: list[int] = []

    @memo.cache
    def total(df: pd.DataFrame) -> float:
        calls.append(1)
        return float(df["c"].sum())

    assert total(FRAME) == 4.5
    assert total(FRAME.copy()) == 4.5
    assert total(FRAME.assign(c=[1.0, 1.0, 1.0])) == 3.0
    assert len(calls) == 2


@pytest.mark.parametrize("extra", [-8, 0, 1, 8 * 2**20 - 8, 8 * 2**20 + 8])
def test_big_buffers_hash_alike_whatever_their_layout(extra: int) -> None:
    """Arrays around 32 MiB (chunked on threads above it) match strided and Fortran twins; one element differs."""
    from memo._hashing import buffer_digest, stream_digest

    n = 32 * 2**20 + extra
    raw = np.frombuffer(np.random.default_rng(abs(extra)).bytes(n), dtype=np.uint8)
    strided = np.zeros(2 * n, dtype=np.uint8)[::2]
    strided[:] = raw
    assert memo.hash_value(raw) == memo.hash_value(strided)
    as_2d = raw[: n - n % 8].reshape(-1, 8)
    assert memo.hash_value(as_2d) == memo.hash_value(np.asfortranarray(as_2d))
    changed = raw.copy()
    changed[n // 2] ^= 1
    assert memo.hash_value(changed) != memo.hash_value(raw)
    pieces = [memoryview(raw[i : i + 3_000_017]) for i in range(0, n, 3_000_017)]
    assert stream_digest(pieces, n) == buffer_digest(memoryview(raw))
    assert buffer_digest(memoryview(raw)) != buffer_digest(memoryview(raw[:-1]))
