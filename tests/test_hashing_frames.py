"""numpy, pandas and Arrow values hash all their content, exactly (issue #15, items 3 and 6)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import memo

h = memo.hash_value
SURROGATE = os.fsdecode(b"caf\xe9")  # what os.fsdecode makes of a non-UTF-8 file name


def _with_attrs(frame: pd.DataFrame, **attrs: Any) -> pd.DataFrame:
    frame.attrs.update(attrs)
    return frame


def _object_array(*items: Any) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = [None] * len(items)
    for i, item in enumerate(items):
        out[i] = item
    return out


PAIRS: list[tuple[str, Any, Any]] = [
    (
        "object EA 1 vs '1'",
        pd.Series(pd.arrays.SparseArray([1, "a"], dtype=object)),
        pd.Series(pd.arrays.SparseArray(["1", "a"], dtype=object)),
    ),
    ("Float64 -0.0", pd.Series([-0.0], dtype="Float64"), pd.Series([0.0], dtype="Float64")),
    ("double[pyarrow] -0.0", pd.Series([-0.0], dtype="double[pyarrow]"), pd.Series([0.0], dtype="double[pyarrow]")),
    (
        "masked fill_value",
        np.ma.array([1, 2], mask=[0, 1], fill_value=7),
        np.ma.array([1, 2], mask=[0, 1], fill_value=9),
    ),
    ("frame attrs", _with_attrs(pd.DataFrame({"a": [1]}), unit="m"), pd.DataFrame({"a": [1]})),
    ("column order", pd.DataFrame({"a": [1], "b": [2]}), pd.DataFrame({"b": [2], "a": [1]})),
    ("surrogate vs replacement", pd.Series([SURROGATE], dtype=object), pd.Series(["caf\ufffd"], dtype=object)),
    (
        "arrow lists",
        pd.Series([[1, 2], [3]], dtype=pd.ArrowDtype(pa.list_(pa.int64()))),
        pd.Series([[1], [2, 3]], dtype=pd.ArrowDtype(pa.list_(pa.int64()))),
    ),
    ("arrow tables", pa.table({"a": [1, 2]}), pa.table({"a": [1, 3]})),
    ("object dtype vs structured", np.array([(1, 2)], dtype="O,O"), _object_array((1, 2))),
    ("Int64 NA vs 0", pd.Series([1, None], dtype="Int64"), pd.Series([1, 0], dtype="Int64")),
    (
        "datetime freq",
        pd.Series(1, index=pd.date_range("2024", periods=3, freq="D")),
        pd.Series(1, index=pd.DatetimeIndex(pd.date_range("2024", periods=3, freq="D"), freq=None)),
    ),
]


@pytest.mark.parametrize(("a", "b"), [(a, b) for _, a, b in PAIRS], ids=[name for name, _, _ in PAIRS])
def test_different_content_differs(a: Any, b: Any) -> None:
    """Values that differ in any value, sign of zero, attrs, fill value or column order differ in digest."""
    assert h(a) != h(b)


EQUAL: list[tuple[str, Any]] = [
    ("Float64 with NA", lambda: pd.Series([1.5, None, -0.0], dtype="Float64")),
    ("Int64 with NA", lambda: pd.Series([1, None], dtype="Int64")),
    ("arrow doubles", lambda: pd.Series([1.0, None], dtype="double[pyarrow]")),
    ("str", lambda: pd.Series(["a", "b", None], dtype="str")),
    ("python str with a surrogate", lambda: pd.Series(["a", SURROGATE], dtype=pd.StringDtype("python"))),
    ("object with a surrogate", lambda: pd.Series([SURROGATE, 1], dtype=object)),
    ("arrow list", lambda: pd.Series([[1, 2], None], dtype=pd.ArrowDtype(pa.list_(pa.int64())))),
    ("arrow table", lambda: pa.table({"a": [1, 2], "b": ["x", None]})),
    ("frame with attrs", lambda: _with_attrs(pd.DataFrame({"a": [1]}), k=1)),
    ("datetime tz", lambda: pd.Series(pd.date_range("2024", periods=3, tz="UTC"))),
    ("interval", lambda: pd.Series(pd.arrays.IntervalArray.from_breaks([0, 1, 2]))),
]


@pytest.mark.parametrize("make", [m for _, m in EQUAL], ids=[name for name, _ in EQUAL])
def test_equal_content_hashes_alike(make: Any) -> None:
    """Two equal values built separately share a digest (and hashing them never raises)."""
    assert h(make()) == h(make())


def test_surrogate_column_is_hashed_in_a_cached_call() -> None:
    """A str column holding a lone surrogate is hashed, not a UnicodeEncodeError out of the call."""

    @memo.cache
    def names(s: pd.Series) -> list[str]:
        return list(s)

    assert names(pd.Series([SURROGATE], dtype=object)) == [SURROGATE]
    assert names(pd.Series([SURROGATE], dtype=pd.StringDtype("python"))) == [SURROGATE]


def test_arrow_values_are_hashed_not_refused() -> None:
    """A frame with an Arrow list column and a pa.Table hash by content inside a cached call."""

    @memo.cache
    def rows(x: Any) -> int:
        return len(x)

    frame = pd.DataFrame({"l": pd.Series([[1], [2, 3]], dtype=pd.ArrowDtype(pa.list_(pa.int64())))})
    assert rows(frame) == 2
    assert rows(pa.table({"a": [1, 2, 3]})) == 3


def test_memmap_hashes_like_the_equal_array(tmp_path: Path) -> None:
    """An array loaded with mmap_mode="r" hits what the equal in-memory array computed."""
    array = np.arange(1000, dtype=np.float64).reshape(10, 100)
    np.save(tmp_path / "hashing-memmap.npy", array)
    mapped = np.load(tmp_path / "hashing-memmap.npy", mmap_mode="r")
    assert isinstance(mapped, np.memmap)
    assert h(mapped) == h(array)
    assert h(mapped[:, ::2]) == h(array[:, ::2].copy())
    assert h(mapped) != h(array.astype(np.float32))
    calls: list[int] = []

    @memo.cache
    def total(a: np.ndarray) -> float:
        calls.append(1)
        return float(a.sum())

    assert total(array) == total(mapped)
    assert len(calls) == 1


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_subclasses_with_behaviour_or_state_keep_their_type() -> None:
    """np.matrix (other arithmetic) and a subclass carrying attributes do not hash like the plain array."""

    class Tagged(np.ndarray):
        pass

    a = np.arange(4.0).reshape(2, 2)
    assert h(np.asmatrix(a)) != h(a)
    t1, t2 = a.view(Tagged), a.view(Tagged)
    t1.unit, t2.unit = "m", "s"  # type: ignore[attr-defined]
    assert h(t1) != h(t2)
