"""Arrow data hashes by its values, not its memory layout: chunks, slices and spare buffers never change a key."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings

import memo

h = memo.hash_value

STRINGS = ["a", "bb", "ccc", "t"]

# Each row: values that are equal as Arrow data but laid out differently in memory.
SAME: list[tuple[str, Any, Any]] = [
    (
        "two chunks vs one",
        pa.chunked_array([pa.array(STRINGS[:3]), pa.array(STRINGS[3:])]),
        pa.chunked_array([pa.array(STRINGS)]),
    ),
    (
        "three chunks vs two",
        pa.chunked_array([pa.array(["a"]), pa.array(["bb"]), pa.array(["ccc", "t"])]),
        pa.chunked_array([pa.array(["a", "bb"]), pa.array(["ccc", "t"])]),
    ),
    ("slice with offset", pa.array(["x", *STRINGS]).slice(1), pa.array(STRINGS)),
    ("slice with spare data", pa.array([*STRINGS, "zzzz"]).slice(0, 4), pa.array(STRINGS)),
    ("validity bitmap without nulls", pa.array([*STRINGS, None]).slice(0, 4), pa.array(STRINGS)),
    ("sliced doubles", pa.array([9.0, 1.5, 2.5]).slice(1), pa.array([1.5, 2.5])),
    ("sliced booleans", pa.array([True, False, True]).slice(1), pa.array([False, True])),
    ("sliced ints with nulls", pa.array([7, 1, None, 3]).slice(1), pa.array([1, None, 3])),
    (
        "chunked large strings",
        pa.chunked_array([pa.array(["a"], pa.large_string()), pa.array(["b"], pa.large_string())]),
        pa.chunked_array([pa.array(["a", "b"], pa.large_string())]),
    ),
    (
        "sliced timestamps",
        pa.array([0, 1, 2], pa.timestamp("ns", tz="UTC")).slice(1),
        pa.array([1, 2], pa.timestamp("ns", tz="UTC")),
    ),
    ("sliced lists", pa.array([[0], [1, 2], [3]]).slice(1), pa.array([[1, 2], [3]])),
    (
        "chunked ints with nulls",
        pa.chunked_array([pa.array([1, None]), pa.array([3])]),
        pa.chunked_array([pa.array([0, 1, None, 3]).slice(1)]),
    ),
    (
        "no chunks vs an empty one",
        pa.chunked_array([], type=pa.string()),
        pa.chunked_array([pa.array([], type=pa.string())]),
    ),
    (
        "table chunks",
        pa.concat_tables([pa.table({"a": [1], "s": ["x"]}), pa.table({"a": [2], "s": ["y"]})]),
        pa.table({"a": [1, 2], "s": ["x", "y"]}),
    ),
    ("record batch slice", pa.record_batch({"a": [0, 1, 2]}).slice(1), pa.record_batch({"a": [1, 2]})),
    (
        "str Series after pickle",
        pd.Series(["a", "b"], dtype="string[pyarrow]").pipe(lambda s: pd.concat([s, s])),
        pickle.loads(pickle.dumps(pd.concat([pd.Series(["a", "b"], dtype="string[pyarrow]")] * 2))),
    ),
]

# Each row: values that differ as data; they must never share a key.
DIFFERENT: list[tuple[str, Any, Any]] = [
    ("string boundaries", pa.array(["ab", "c"]), pa.array(["a", "bc"])),
    (
        "chunked string boundaries",
        pa.chunked_array([pa.array(["ab"]), pa.array(["c"])]),
        pa.chunked_array([pa.array(["a"]), pa.array(["bc"])]),
    ),
    ("list boundaries", pa.array([[1, 2], [3]]), pa.array([[1], [2, 3]])),
    ("null vs empty string", pa.array([None, "a"]), pa.array(["", "a"])),
    ("null vs zero", pa.array([None, 1]), pa.array([0, 1])),
    ("-0.0 vs 0.0", pa.array([-0.0]), pa.array([0.0])),
    ("int32 vs float32 bits", pa.array([1065353216], pa.int32()), pa.array([1.0], pa.float32())),
    ("string vs large_string", pa.array(["a"], pa.string()), pa.array(["a"], pa.large_string())),
    (
        "dictionaries differ",
        pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["x", "y"])),
        pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["p", "q"])),
    ),
    ("dictionary vs plain", pa.array(["x", "y"]).dictionary_encode(), pa.array(["x", "y"])),
    ("slice vs whole", pa.array(STRINGS).slice(1), pa.array(STRINGS)),
    ("null position", pa.array([None, 1]), pa.array([1, None])),
    ("booleans", pa.array([True, False]), pa.array([True, True])),
    ("binary vs string", pa.array([b"a"]), pa.array(["a"])),
    ("time zones", pa.array([1], pa.timestamp("ns", tz="UTC")), pa.array([1], pa.timestamp("ns", tz="Europe/Paris"))),
    ("decimal scale", pa.array([1], pa.decimal128(5, 1)), pa.array([1], pa.decimal128(5, 2))),
    (
        "long string views",
        pa.array(["abcdefghijklmnopqrst"], pa.string_view()),
        pa.array(["abcdefghijklmnopqrsX"], pa.string_view()),
    ),
    ("null arrays", pa.array([None, None]), pa.array([None])),
    (
        "intervals",
        pa.array([(1, 2, 3)], pa.month_day_nano_interval()),
        pa.array([(1, 2, 4)], pa.month_day_nano_interval()),
    ),
    ("column names", pa.table({"a": [1], "b": [2]}), pa.table({"b": [1], "a": [2]})),
    ("column order", pa.table({"a": [1], "b": [2]}), pa.table({"b": [2], "a": [1]})),
    ("schema metadata", pa.table({"a": [1]}).replace_schema_metadata({"unit": "m"}), pa.table({"a": [1]})),
    ("table vs batch", pa.table({"a": [1]}), pa.record_batch({"a": [1]})),
    ("array vs chunked array", pa.array([1]), pa.chunked_array([pa.array([1])])),
    ("struct fields", pa.array([{"x": 1, "y": 2}]), pa.array([{"x": 2, "y": 1}])),
]


@pytest.mark.parametrize(("name", "left", "right"), SAME, ids=[row[0] for row in SAME])
def test_equal_arrow_data_shares_a_key_whatever_its_layout(name: str, left: Any, right: Any) -> None:
    """Chunking, slice offsets, spare buffer bytes and an all-valid bitmap are layout: the key is the same."""
    assert left.equals(right)
    assert h(left) == h(right)


@pytest.mark.parametrize(("name", "left", "right"), DIFFERENT, ids=[row[0] for row in DIFFERENT])
def test_unequal_arrow_data_never_shares_a_key(name: str, left: Any, right: Any) -> None:
    """Values, types, nulls, dictionaries, names and schema metadata all reach the key."""
    assert h(left) != h(right)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=12),
    other=st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=12),
    cut=st.integers(0, 12),
    pad=st.integers(0, 3),
)
def test_layout_never_matters_and_values_always_do(values: list[Any], other: list[Any], cut: int, pad: int) -> None:
    """Random string columns: any chunking or slicing keys like the plain array; different values key apart."""
    plain = pa.chunked_array([pa.array(values, pa.string())])
    cut = min(cut, len(values))
    chunks = pa.chunked_array([pa.array(values[:cut], pa.string()), pa.array(values[cut:], pa.string())])
    sliced = pa.chunked_array([pa.array(["pad"] * pad + values + ["spare"], pa.string()).slice(pad, len(values))])
    assert h(plain) == h(chunks) == h(sliced)
    assert (h(plain) == h(pa.chunked_array([pa.array(other, pa.string())]))) == (values == other)


def test_a_pandas_frame_from_the_cache_hits_what_the_original_computed(tmp_path: Path) -> None:
    """A frame with str columns read back from a file cache keys like the frame that was stored (no endless misses)."""
    backend = memo.FileBackend(tmp_path)
    calls: list[str] = []

    @memo.cache(backend=backend)
    def load() -> pd.DataFrame:
        frame = pd.DataFrame(np.arange(6.0).reshape(3, 2), columns=["a", "b"])
        frame["name"] = pd.Series(["x", "y", "z"], dtype="string[pyarrow]")  # grows the column index: a new chunk
        return frame

    @memo.cache(backend=backend)
    def total(frame: pd.DataFrame) -> float:
        calls.append("total")
        return float(frame["a"].sum())

    fresh = load()  # the computed object
    stored = load()  # read back from the file
    assert fresh.equals(stored)
    assert total(fresh) == total(stored) == 6.0
    assert calls == ["total"]
    backend.close()


def test_hashing_arrow_backed_pandas_values_warns_nothing() -> None:
    """pandas 2.x deprecates ArrowStringArray._data: hashing a string[pyarrow] column must not touch it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h(pd.Series(["a", None], dtype="string[pyarrow]"))
        h(pd.DataFrame({"s": pd.Series(["a"], dtype="string[pyarrow]")}))
