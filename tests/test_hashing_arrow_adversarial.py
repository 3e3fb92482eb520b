"""Adversarial review of the Arrow and parallel-frame hashing paths: unequal data never shares a key, nothing raises."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings

import memo
from memo._hash_buffers import _PARALLEL_MIN

h = memo.hash_value

RAW = [bytes(range(16)), bytes(range(100, 116))]  # two 16-byte buffers every fixed-width type is built on


class Unit(pa.ExtensionType):
    """A registered Python extension type with a parameter, over int64 storage (for the review only)."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        super().__init__(pa.int64(), "memo.review.unit")

    def __arrow_ext_serialize__(self) -> bytes:
        return self.unit.encode()

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> Unit:
        return cls(serialized.decode())


try:
    pa.register_extension_type(Unit("m"))
except pa.ArrowKeyError:  # already registered by an earlier import of this module
    pass


def _dict(values: Any, indices: list[int | None], index_type: pa.DataType = pa.int32(), ordered: bool = False) -> Any:
    values_array = values if isinstance(values, pa.Array) else pa.array(values)
    return pa.DictionaryArray.from_arrays(pa.array(indices, index_type), values_array, ordered=ordered)


def _fixed_width_types() -> list[pa.DataType]:
    """Every flat fixed-width type whose width divides 16 bytes, so each can be built on the same raw bytes."""
    return [
        *(pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()),
        *(pa.float16(), pa.float32(), pa.float64(), pa.date32(), pa.date64()),
        *(pa.time32("s"), pa.time32("ms"), pa.time64("us"), pa.time64("ns")),
        *(pa.timestamp("s"), pa.timestamp("ns"), pa.timestamp("ns", tz="UTC"), pa.timestamp("ns", tz="Europe/Paris")),
        *(pa.duration("s"), pa.duration("ms"), pa.duration("us"), pa.duration("ns")),
        *(pa.month_day_nano_interval(), pa.decimal32(9, 2), pa.decimal64(18, 2)),
        *(pa.decimal128(38, 0), pa.decimal128(38, 2), pa.decimal256(76, 2)),
        *(pa.binary(1), pa.binary(2), pa.binary(4), pa.binary(8), pa.binary(16)),
    ]


def zoo() -> dict[str, list[Any]]:
    """Arrow arrays of every type family, several unequal values each (many built on the very same bytes)."""
    arrays: dict[str, list[Any]] = {}
    for t in _fixed_width_types():
        n = 16 // (t.bit_width // 8)
        arrays[str(t)] = [pa.Array.from_buffers(t, n, [None, pa.py_buffer(raw)]) for raw in RAW]
        validity = pa.py_buffer(bytes([0b1111_1110, 0xFF]) if n > 1 else bytes([0]))  # null at slot 0
        arrays[str(t)].append(pa.Array.from_buffers(t, n, [validity, pa.py_buffer(RAW[0])]))
    arrays["bool"] = [
        pa.array([True] * 9),
        pa.array([True] * 8 + [False]),
        pa.array([True] * 8 + [None]),
        pa.array([True] * 7),
        pa.array([False, None, True]),
    ]
    long = ["a much longer string than twelve bytes", "a much longer string than twelve bytez", "short"]
    for t in (pa.string(), pa.large_string(), pa.string_view()):
        arrays[str(t)] = [pa.array(long[:2], t), pa.array(long[1:], t), pa.array([long[0], None], t)]
    for t in (pa.binary(), pa.large_binary(), pa.binary_view()):
        arrays[str(t)] = [
            pa.array([s.encode() for s in long[:2]], t),
            pa.array([b"", b"x"], t),
            pa.array([None, b"x"], t),
        ]
    arrays["null"] = [pa.nulls(1), pa.nulls(2), pa.nulls(0)]
    for name, t in [
        ("list", pa.list_(pa.int64())),
        ("large_list", pa.large_list(pa.int64())),
        ("list_view", pa.list_view(pa.int64())),
        ("large_list_view", pa.large_list_view(pa.int64())),
        ("list not null", pa.list_(pa.field("item", pa.int64(), nullable=False))),
        ("list named", pa.list_(pa.field("element", pa.int64()))),
        ("list field metadata", pa.list_(pa.field("item", pa.int64(), metadata={"k": "v"}))),
    ]:
        arrays[name] = [pa.array([[1, 2], [3]], t), pa.array([[1], [2, 3]], t), pa.array([[1, 2], None], t)]
    for size in (1, 2):
        t = pa.list_(pa.int64(), size)
        arrays[str(t)] = [pa.array([[1] * size, [2] * size], t), pa.array([[2] * size, [1] * size], t)]
    arrays["map"] = [
        pa.array([[("a", 1)], [("b", 2)]], pa.map_(pa.string(), pa.int64())),
        pa.array([[("a", 1), ("b", 2)], []], pa.map_(pa.string(), pa.int64())),
        pa.array([[("a", 1)], [("b", 2)]], pa.map_(pa.string(), pa.int64(), keys_sorted=True)),
    ]
    entries = pa.list_(pa.struct([pa.field("key", pa.string(), nullable=False), ("value", pa.int64())]))
    arrays["map storage"] = [pa.array([[("a", 1)], [("b", 2)]], entries)]
    xy = pa.struct([("x", pa.int64()), ("y", pa.string())])
    arrays["struct"] = [
        pa.array([{"x": 1, "y": "a"}, None], xy),  # null at the struct level
        pa.array([{"x": 1, "y": "a"}, {"x": None, "y": None}], xy),  # nulls in the children only
        pa.array([{"x": 1, "y": "a"}, {"x": 2, "y": "b"}], xy),
        pa.array([{"y": 1, "x": "a"}, {"y": 2, "x": "b"}], pa.struct([("y", pa.int64()), ("x", pa.string())])),
    ]
    ints, strs = pa.array([1, 2]), pa.array(["p", "q"])
    codes = pa.array([0, 1], pa.int8())
    arrays["sparse union"] = [
        pa.UnionArray.from_sparse(codes, [ints, strs]),
        pa.UnionArray.from_sparse(pa.array([1, 0], pa.int8()), [ints, strs]),
    ]
    arrays["dense union"] = [
        pa.UnionArray.from_dense(codes, pa.array([0, 0], pa.int32()), [ints, strs]),
        pa.UnionArray.from_dense(codes, pa.array([1, 1], pa.int32()), [ints, strs]),
    ]
    arrays["dictionary"] = [
        _dict(["x", "y"], [0, 1]),
        _dict(["x", "y"], [0, 1], pa.int8()),
        _dict(["x", "y"], [0, 1], ordered=True),
        _dict(["x", "y", "z"], [0, 1]),
        _dict(["y", "x"], [1, 0]),
        _dict(["x", "y"], [0, None]),
        _dict([0.0, -0.0], [0, 1]),
        _dict([0.0, 0.0], [0, 1]),
    ]
    run_ends = pa.array([2, 3], pa.int32())
    arrays["run_end_encoded"] = [
        pa.RunEndEncodedArray.from_arrays(run_ends, pa.array([7, 8])),
        pa.RunEndEncodedArray.from_arrays(pa.array([1, 3], pa.int32()), pa.array([7, 8])),
        pa.RunEndEncodedArray.from_arrays(pa.array([2, 3], pa.int64()), pa.array([7, 8])),
    ]
    sixteen = pa.Array.from_buffers(pa.binary(16), 1, [None, pa.py_buffer(RAW[0])])
    arrays["extension"] = [
        pa.ExtensionArray.from_storage(pa.uuid(), sixteen),
        pa.ExtensionArray.from_storage(pa.bool8(), pa.array([0, 1], pa.int8())),
        pa.ExtensionArray.from_storage(pa.json_(pa.string()), pa.array(['{"a": 1}'])),
        pa.ExtensionArray.from_storage(pa.json_(pa.large_string()), pa.array(['{"a": 1}'], pa.large_string())),
        pa.ExtensionArray.from_storage(pa.opaque(pa.int64(), "a", "v"), pa.array([1, 2])),
        pa.ExtensionArray.from_storage(pa.opaque(pa.int64(), "b", "v"), pa.array([1, 2])),
        pa.ExtensionArray.from_storage(Unit("m"), pa.array([1, 2])),
        pa.ExtensionArray.from_storage(Unit("s"), pa.array([1, 2])),
        pa.array([1, 2]),  # the storage itself
        pa.array([0, 1], pa.int8()),
    ]
    tensor = pa.array([[1, 2, 3, 4]], pa.list_(pa.int8(), 4))
    arrays["tensor"] = [
        pa.ExtensionArray.from_storage(pa.fixed_shape_tensor(pa.int8(), [2, 2]), tensor),
        pa.ExtensionArray.from_storage(pa.fixed_shape_tensor(pa.int8(), [2, 2], permutation=[1, 0]), tensor),
        pa.ExtensionArray.from_storage(pa.fixed_shape_tensor(pa.int8(), [2, 2], dim_names=["r", "c"]), tensor),
        pa.ExtensionArray.from_storage(pa.fixed_shape_tensor(pa.int8(), [4]), tensor),
    ]
    return arrays


ZOO = zoo()
ALL = [(f"{family}[{i}]", a) for family, items in ZOO.items() for i, a in enumerate(items)]
# Families whose equal values still key by layout (IPC keeps union offsets and run
# boundaries as they lie): a slice or other chunks cost a miss, never a wrong hit (reported).
LAYOUT_MISSES = {"dense union", "run_end_encoded"}
SAME_LAYOUT = [(name, a) for name, a in ALL if name.rsplit("[", 1)[0] not in LAYOUT_MISSES]


def _same_data(a: Any, b: Any) -> bool:
    return bool(a.type == b.type and a.equals(b))


def test_every_arrow_type_hashes_without_raising() -> None:
    """Each array of the zoo, sliced, chunked and inside a table, hashes (a raise would be a HashingError)."""
    for name, array in ALL:
        h(array)
        h(array.slice(1))
        h(pa.chunked_array([array.slice(0, 1), array.slice(1)], type=array.type))
        h(pa.table({"c": array}))
        h(pa.record_batch({"c": array}))


def _nested_exotics() -> list[Any]:
    """Types nested inside each other in unusual ways: dictionaries in unions, runs, maps; views in list views."""
    uuid = pa.ExtensionArray.from_storage(pa.uuid(), pa.array([b"x" * 16, b"y" * 16], pa.binary(16)))
    runs = pa.array([2, 3], pa.int32())
    return [
        _dict(pa.array([[1], [2]]), [0, 1, 1]),
        _dict(uuid, [1, 0, 1]),
        pa.UnionArray.from_sparse(pa.array([0, 1], pa.int8()), [_dict(["a", "b"], [0, 1]), pa.array([1, 2])]),
        pa.RunEndEncodedArray.from_arrays(runs, pa.array(["a", "b"])),
        pa.RunEndEncodedArray.from_arrays(runs, _dict(["a", "b"], [0, 1])),
        pa.ListArray.from_arrays(
            pa.array([0, 1, 3], pa.int32()), pa.RunEndEncodedArray.from_arrays(runs, pa.array([1, 2]))
        ),
        pa.StructArray.from_arrays([uuid], names=["u"]),
        pa.MapArray.from_arrays(pa.array([0, 1, 2], pa.int32()), _dict(["k", "j"], [0, 1]), pa.array([1, 2])),
        pa.array([["a" * 20, None], ["b"]], pa.list_view(pa.string_view())),
        pa.array([{}, None, {}], pa.struct([])),
    ]


def test_nested_exotic_types_hash_without_raising_and_apart() -> None:
    """Unusual nestings hash whole, sliced, in chunks and in tables; each slice keys apart from the whole."""
    for array in _nested_exotics():
        chunked = pa.chunked_array([array.slice(0, 1), array.slice(1)])
        keys = {h(array), h(array.slice(1)), h(chunked), h(pa.table({"c": chunked}))}
        assert len(keys) == 4, array.type


def test_no_two_unequal_arrays_of_the_zoo_share_a_key() -> None:
    """Across every family (same raw bytes read as other types included), arrays that differ as data key apart."""
    keyed = [(name, array, h(array)) for name, array in ALL]
    for (name_a, a, key_a), (name_b, b, key_b) in itertools.combinations(keyed, 2):
        if not _same_data(a, b):
            assert key_a != key_b, (name_a, name_b)


@pytest.mark.parametrize(("name", "array"), SAME_LAYOUT, ids=[name for name, _ in SAME_LAYOUT])
def test_a_slice_and_a_copy_of_zoo_data_key_like_it(name: str, array: Any) -> None:
    """The same values at an offset inside a bigger array, or in two chunks, key like the array itself."""
    tripled = pa.concat_arrays([array, array, array])
    assert tripled.slice(len(array), len(array)).equals(array)
    assert h(tripled.slice(len(array), len(array))) == h(array)
    plain = pa.chunked_array([array])
    if len(array) > 1 and not pa.types.is_dictionary(array.type):  # dictionary chunks: see the test below
        assert h(pa.chunked_array([array.slice(0, 1), array.slice(1)])) == h(plain)
    assert h(pa.chunked_array([array.slice(0, 0), array, array.slice(0, 0)])) == h(plain)


def test_dictionary_chunks_keep_negative_zero_apart() -> None:
    """Reproducer of a fixed collision: joining chunks unified their dictionaries, merging -0.0 into 0.0."""
    for value_type, zero, negative in [
        (pa.float64(), 0.0, -0.0),
        (pa.float16(), np.float16(0.0), np.float16(-0.0)),
        (pa.struct([("x", pa.float64())]), {"x": 0.0}, {"x": -0.0}),
    ]:
        mixed = pa.chunked_array(
            [_dict(pa.array([zero], value_type), [0]), _dict(pa.array([negative], value_type), [0])]
        )
        zeros = pa.chunked_array([_dict(pa.array([zero], value_type), [0]), _dict(pa.array([zero], value_type), [0])])
        assert h(mixed) != h(zeros), value_type
    arrow_backed = [  # a pandas column over such chunks takes the same path
        pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([_dict([0.0], [0]), _dict([zero], [0])])))
        for zero in (-0.0, 0.0)
    ]
    assert h(arrow_backed[0]) != h(arrow_backed[1])
    nested = pa.list_(pa.dictionary(pa.int32(), pa.float64()))
    assert h(pa.chunked_array([pa.array([[0.0]], nested), pa.array([[-0.0]], nested)])) != h(
        pa.chunked_array([pa.array([[0.0]], nested), pa.array([[0.0]], nested)])
    )


def test_dictionary_chunks_key_by_their_chunks() -> None:
    """Chunks with dictionaries key chunk by chunk: the same chunks match, others never; empty chunks are layout."""
    one = pa.chunked_array([_dict(["x", "y"], [0]), _dict(["y"], [0])])
    assert h(one) == h(pa.chunked_array([_dict(["x", "y"], [0]), _dict(["y"], [0])]))
    assert h(one) == h(pa.chunked_array([_dict(["x", "y"], [0]), _dict(["y"], []), _dict(["y"], [0])]))
    assert h(one) != h(pa.chunked_array([_dict(["x", "y"], [0]), _dict(["x"], [0])]))
    assert h(one) != h(pa.chunked_array([_dict(["x", "y"], [0, 1])]))  # a miss by chunking, never a wrong hit


def test_zero_length_arrays_without_buffers_hash_like_empty_ones() -> None:
    """Reproducer of a fixed crash: Arrow allows absent or empty buffers at length 0 (C data imports give them)."""
    for t in (pa.int64(), pa.bool_(), pa.float16(), pa.decimal128(5, 1), pa.binary(0), pa.timestamp("ns", tz="UTC")):
        bare = pa.Array.from_buffers(t, 0, [None, None])
        bare.validate(full=True)
        assert h(bare) == h(pa.array([], t))
        assert h(bare) != h(pa.array([], pa.int32()))
    for t in (pa.string(), pa.large_string(), pa.binary(), pa.large_binary()):
        bare = pa.Array.from_buffers(t, 0, [None, pa.py_buffer(b""), pa.py_buffer(b"")])
        bare.validate(full=True)
        assert h(bare) == h(pa.array([], t))
        assert h(pa.chunked_array([bare, bare])) == h(pa.chunked_array([], t))


def test_unknown_null_count_and_sliced_bitmaps() -> None:
    """An array whose null count is not computed yet, and sliced booleans with nulls, key by their values."""
    validity = pa.py_buffer(bytes([0b1011_1101, 0b1]))
    data = pa.py_buffer(np.array([0, 0, 2, 3, 4, 5, 0, 7, 8], dtype=np.int64).tobytes())  # zeros under nulls
    lazy = pa.Array.from_buffers(pa.int64(), 9, [validity, data], null_count=-1)
    eager = pa.array([0, None, 2, 3, 4, 5, None, 7, 8])
    assert lazy.equals(eager)
    assert h(lazy) == h(eager)
    bools = pa.array([True, None, False, True, None, True, False, True, True, None, False])
    for start in range(1, 9):
        part = bools.slice(start, 9 - start)
        fresh = pa.array(part.to_pylist(), pa.bool_())
        assert h(part) == h(fresh)
        assert h(part) != h(pa.array([not v if v is not None else None for v in part.to_pylist()], pa.bool_()))


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.booleans()), min_size=1, max_size=40),
    start=st.integers(0, 20),
    flip=st.integers(0, 39),
)
def test_booleans_with_nulls_at_any_offset(values: list[bool | None], start: int, flip: int) -> None:
    """Random boolean arrays with nulls: any slice keys like a fresh copy; flipping one valid value changes the key."""
    padded = pa.array([True] * start + values + [False, None])
    part = padded.slice(start, len(values))
    assert h(part) == h(pa.array(values, pa.bool_()))
    flip %= len(values)
    if values[flip] is not None:
        other = list(values)
        other[flip] = not values[flip]
        assert h(part) != h(pa.array(other, pa.bool_()))


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=20),
    type_index=st.integers(0, 3),
)
def test_same_bits_under_temporal_types_never_meet(values: list[int | None], type_index: int) -> None:
    """The same int64 values as timestamps, durations, date64 or time64 key apart from each other and from int64."""
    types = [pa.timestamp("us"), pa.duration("us"), pa.date64(), pa.time64("us")]
    ints = pa.array(values, pa.int64())
    t = types[type_index]
    cast = pa.Array.from_buffers(t, len(ints), ints.buffers(), null_count=ints.null_count)
    assert h(cast) != h(ints)
    others = {h(pa.Array.from_buffers(u, len(ints), ints.buffers(), null_count=ints.null_count)) for u in types}
    assert len(others) == len(types)


ARROW_VALUES: dict[str, Any] = {
    "int64": st.integers(-(2**63), 2**63 - 1),
    "string": st.text(max_size=14),  # around the 12 bytes a string view keeps inline
    "string_view": st.text(max_size=14),
    "binary": st.binary(max_size=6),
    "list<item: int8>": st.lists(st.integers(-128, 127), max_size=3),
    "struct<x: int16>": st.fixed_dictionaries({"x": st.one_of(st.none(), st.integers(-(2**15), 2**15 - 1))}),
}
ARROW_TYPES = {
    "int64": pa.int64(),
    "string": pa.string(),
    "string_view": pa.string_view(),
    "binary": pa.binary(),
    "list<item: int8>": pa.list_(pa.int8()),
    "struct<x: int16>": pa.struct([("x", pa.int16())]),
}


@st.composite
def _two_columns(draw: Any) -> tuple[pa.DataType, list[Any], list[Any], int]:
    name = draw(st.sampled_from(sorted(ARROW_VALUES)))
    values = st.lists(st.one_of(st.none(), ARROW_VALUES[name]), min_size=1, max_size=10)
    return ARROW_TYPES[name], draw(values), draw(values), draw(st.integers(0, 10))


@settings(max_examples=300, deadline=None)
@given(case=_two_columns())
def test_random_columns_share_a_key_exactly_when_their_values_are_equal(case: Any) -> None:
    """Random flat and nested columns, chunked anywhere: two columns' keys match if and only if their values do."""
    arrow_type, left, right, cut = case
    cut = min(cut, len(left))
    chunked = pa.chunked_array([pa.array(left[:cut], arrow_type), pa.array(left[cut:], arrow_type)])
    other = pa.chunked_array([pa.array(right, arrow_type)])
    assert (h(chunked) == h(other)) == (left == right)
    assert h(chunked.combine_chunks()) == h(pa.array(left, arrow_type))


def test_tables_and_batches_keep_their_schema_apart() -> None:
    """Duplicate names, zero columns with other row counts, nullability, metadata (a key twice too) reach the key."""
    one = pa.array([1, 2])
    field = pa.field("a", pa.int64())
    tables = [
        pa.Table.from_arrays([one, one], names=["a", "a"]),
        pa.Table.from_arrays([one, one], names=["a", "b"]),
        pa.Table.from_arrays([one], names=["a"]),
        pa.Table.from_arrays([one], schema=pa.schema([field.with_nullable(False)])),
        pa.Table.from_arrays([one], schema=pa.schema([field.with_metadata({"unit": "m"})])),
        pa.Table.from_arrays([one], schema=pa.schema([field.with_metadata({"unit": "s"})])),
        pa.table({"a": one}).select([]),
        pa.table({"a": pa.array([1, 2, 3])}).select([]),
        pa.table({}),
        pa.table({"a": pa.chunked_array([], pa.int64())}),
    ]
    assert len({h(t) for t in tables}) == len(tables)
    twice = pa.KeyValueMetadata([(b"k", b"1"), (b"k", b"2")])  # a fixed collision: dict() kept only the first
    once = pa.KeyValueMetadata([(b"k", b"1")])
    assert (
        not pa.table({"a": one})
        .replace_schema_metadata(twice)
        .equals(pa.table({"a": one}).replace_schema_metadata(once), check_metadata=True)
    )
    assert h(pa.table({"a": one}).replace_schema_metadata(twice)) != h(
        pa.table({"a": one}).replace_schema_metadata(once)
    )
    field_twice = pa.schema([field.with_metadata(twice)])
    assert h(pa.Table.from_arrays([one], schema=field_twice)) != h(
        pa.Table.from_arrays([one], schema=pa.schema([field.with_metadata(once)]))
    )
    batches = [pa.record_batch({"a": one}).select([]), pa.record_batch({"a": pa.array([1])}).select([])]
    assert len({h(b) for b in batches} | {h(t) for t in tables}) == len(tables) + len(batches)


DAY = 86_400_000_000_000
BITS = np.arange(4, dtype=np.int64) * DAY  # one set of int64 bits, read below as every dtype that takes it


def small_frames() -> dict[str, pd.DataFrame]:
    """One-column frames over the same bits as other dtypes, and frames that differ only by names, order or index."""
    utc = pd.DatetimeIndex(BITS.view("M8[ns]")).tz_localize("UTC")
    return {
        "int64": pd.DataFrame({"a": BITS}),
        "datetime ns": pd.DataFrame({"a": BITS.view("M8[ns]")}),
        "datetime us": pd.DataFrame({"a": BITS.view("M8[us]")}),
        "datetime UTC": pd.DataFrame({"a": utc}),
        "datetime Paris": pd.DataFrame({"a": utc.tz_convert("Europe/Paris")}),
        "timedelta": pd.DataFrame({"a": BITS.view("m8[ns]")}),
        "period D": pd.DataFrame({"a": pd.arrays.PeriodArray(BITS, dtype=pd.PeriodDtype("D"))}),
        "period M": pd.DataFrame({"a": pd.arrays.PeriodArray(BITS, dtype=pd.PeriodDtype("M"))}),
        "float bits": pd.DataFrame({"a": BITS.view("f8")}),
        "Int64": pd.DataFrame({"a": pd.array(BITS, dtype="Int64")}),
        "Int64 NA": pd.DataFrame({"a": pd.array([0, None, 2 * DAY, 3 * DAY], dtype="Int64")}),
        "int64[pyarrow]": pd.DataFrame({"a": pd.array(BITS, dtype="int64[pyarrow]")}),
        "object": pd.DataFrame({"a": pd.Series(list(BITS), dtype=object)}),
        "categorical": pd.DataFrame({"a": pd.Categorical(BITS)}),
        "categorical ordered": pd.DataFrame({"a": pd.Categorical(BITS, ordered=True)}),
        "categorical reversed": pd.DataFrame({"a": pd.Categorical(BITS, categories=BITS[::-1])}),
        "other name": pd.DataFrame({"b": BITS}),
        "int index": pd.DataFrame({"a": BITS}, index=pd.Index([0, 1, 2, 3])),
        "names and values": pd.DataFrame({"a": ["b"], "b": ["a"]}),
        "values and names": pd.DataFrame({"b": ["a"], "a": ["b"]}),
        "swapped values": pd.DataFrame({"a": ["a"], "b": ["b"]}),
    }


def test_small_frames_over_the_same_bits_never_share_a_key() -> None:
    """Datetimes (units, zones), timedeltas, periods, floats, nullable, Arrow, categoricals, names: all key apart."""
    keys = {name: h(frame) for name, frame in small_frames().items()}
    assert len(set(keys.values())) == len(keys)


def _big_frame(rows: int = 600_000) -> pd.DataFrame:
    """Eight 4.6 MiB float columns (the side-by-side path), then c0's bits as int64, datetime and timedelta."""
    block = np.random.default_rng(11).random((rows, 8))
    frame = pd.DataFrame(block, columns=[f"c{i}" for i in range(8)])
    bits = block[:, 0].view(np.int64).copy()
    frame["i"] = bits
    frame["t"] = bits.view("M8[ns]")
    frame["d"] = bits.view("m8[ns]")
    return frame


def test_the_big_frame_takes_the_side_by_side_path() -> None:
    """The review's big frame is over the parallel threshold while each column is below it."""
    frame = _big_frame()
    assert frame["c0"].nbytes < _PARALLEL_MIN <= frame.memory_usage(index=False).sum()


def test_big_frames_with_the_same_bytes_under_other_dtypes_or_names_never_share_a_key() -> None:
    """On the parallel path: a column's bits under another dtype, swapped names, values or order all key apart."""
    frame = _big_frame()
    variants = [frame, frame.copy()]
    variants.append(frame.assign(t=frame["i"].to_numpy().view("m8[ns]")))  # datetime -> timedelta, same bits
    variants.append(frame.assign(c0=frame["i"], i=frame["c0"]))  # each column keeps its bytes, dtypes swap
    variants.append(frame.rename(columns={"c0": "c1", "c1": "c0"}))  # names swapped, values stay
    variants.append(frame.assign(c0=frame["c1"], c1=frame["c0"]))  # values swapped, names stay
    variants.append(frame[[*frame.columns[1:], frame.columns[0]]])  # column order
    variants.append(frame.assign(t=frame["t"].dt.tz_localize("UTC")))
    keys = [h(v) for v in variants]
    assert keys[0] == keys[1]
    assert len(set(keys)) == len(variants) - 1


def test_big_frame_keys_the_same_from_one_block_or_separate_columns() -> None:
    """Columns as views of one 2-D block (C or F order) or as separate arrays key alike; a one-bit change never does."""
    block = np.random.default_rng(5).random((600_000, 8))
    names = [f"c{i}" for i in range(8)]
    from_c = pd.DataFrame(block, columns=names, copy=False)
    from_f = pd.DataFrame(np.asfortranarray(block), columns=names, copy=False)
    separate = pd.DataFrame({n: block[:, i].copy() for i, n in enumerate(names)})
    assert h(from_c) == h(from_f) == h(separate)
    flipped = block.copy()
    flipped.view(np.uint64)[-1, -1] ^= 1
    assert h(pd.DataFrame(flipped, columns=names)) != h(separate)


def test_a_frame_with_a_column_over_the_chunk_size_keeps_every_column_in_place() -> None:
    """A 36 MiB float64 column beside narrower ones on the threads: swapping two columns' bytes moves the key."""
    rows = (_PARALLEL_MIN + (4 << 20)) // 8
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"huge": rng.random(rows), "a": rng.random(rows, dtype=np.float32)})
    frame["b"] = rng.random(rows, dtype=np.float32)
    frame["c"] = (np.arange(rows) % 30_000).astype(np.int16)
    widths = frame.memory_usage(index=False)
    assert widths["huge"] >= _PARALLEL_MIN > widths["a"]
    assert widths["a"] + widths["b"] >= _PARALLEL_MIN  # the narrow ones go to the threads together
    assert h(frame) == h(frame.copy())
    assert h(frame) != h(frame.assign(a=frame["b"], b=frame["a"]))
    assert h(frame) != h(frame.assign(c=frame["c"].to_numpy().view(np.uint16)))


def zoo_digests() -> dict[str, str]:
    """The digest of every zoo array and of a table of some, for the fresh-interpreter comparison."""
    digests = {name: h(array) for name, array in ALL}
    digests["table"] = h(pa.table({"s": ZOO["string"][0], "d": ZOO["dictionary"][0], "m": ZOO["map"][0]}))
    digests["dictionary chunks"] = h(pa.chunked_array([_dict(["x", "y"], [0]), _dict(["y"], [0])]))
    digests.update({f"frame {name}": h(frame) for name, frame in small_frames().items()})
    digests["big frame"] = h(_big_frame())  # 52 MiB: the side-by-side path
    return digests


def test_digests_are_the_same_in_a_fresh_interpreter() -> None:
    """A new process with another hash seed gives every zoo array the digest this one gives."""
    root = Path(__file__).resolve().parent.parent
    code = "import json; from tests.test_hashing_arrow_adversarial import zoo_digests; print(json.dumps(zoo_digests()))"
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == zoo_digests()
