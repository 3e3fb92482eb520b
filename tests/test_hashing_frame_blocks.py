"""A frame that is one numeric numpy block is hashed without a Series per column, to the very same key."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pandas as pd
from hypothesis import given, settings

import memo
from memo.hashers import pandas as plugin

h = memo.hash_value
DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint64", "float16", "float32", "float64", "complex128"]


def _block(dtype: str, rows: int, cols: int, seed: int) -> np.ndarray:
    raw = np.random.default_rng(seed).integers(0, 256, size=rows * cols * np.dtype(dtype).itemsize, dtype=np.uint8)
    return (
        raw.view(dtype).reshape(rows, cols)
        if dtype != "bool"
        else (raw[: rows * cols] % 2).astype(bool).reshape(rows, cols)
    )


@settings(max_examples=150, deadline=None)
@given(dtype=st.sampled_from(DTYPES), rows=st.integers(0, 40), cols=st.integers(0, 6), seed=st.integers(0, 3))
def test_the_one_block_path_builds_the_general_forms(dtype: str, rows: int, cols: int, seed: int) -> None:
    """Whenever the one-block path answers, its forms equal the per-column path's, whatever the dtype or shape."""
    block = _block(dtype, rows, cols, seed)
    for frame in (pd.DataFrame(np.asfortranarray(block), copy=False), pd.DataFrame(block, copy=False)):
        fast = plugin._one_block_columns(frame)
        if rows > 0 and cols > 1:  # a small block of two columns or more, in either order: the one-block path answers
            assert fast is not None
        if fast is not None:
            assert fast == plugin._column_forms(frame)
    assert h(pd.DataFrame(np.asfortranarray(block), copy=False)) == h(pd.DataFrame(block, copy=False))


def test_a_big_frame_over_a_c_order_array_is_not_copied() -> None:
    """Strided columns of a big block are read in place by the per-column path, to the same key."""
    block = np.random.default_rng(1).random((300_000, 8))  # 18 MiB, over the copy limit
    strided = pd.DataFrame(block, copy=False)
    if not strided.to_numpy(copy=False).flags.f_contiguous:  # pandas 2 keeps the C-order array; pandas 3 copies
        assert plugin._one_block_columns(strided) is None
    assert h(strided) == h(pd.DataFrame(np.asfortranarray(block), copy=False))


def test_the_common_frames_take_the_one_block_path() -> None:
    """A frame built from a 2-D array or read back from a pickle is one block: the fast path is really used."""
    frame = pd.DataFrame(np.random.default_rng(0).random((1000, 20)))
    assert plugin._one_block_columns(frame) is not None
    assert plugin._one_block_columns(pd.read_pickle(_pickled(frame))) is not None


def _pickled(frame: pd.DataFrame) -> object:
    import io

    buffer = io.BytesIO()
    frame.to_pickle(buffer)
    buffer.seek(0)
    return buffer


def test_unequal_one_block_frames_never_share_a_key() -> None:
    """A changed value, swapped columns, another dtype over the same bytes, or other labels give another key."""
    base = pd.DataFrame(np.arange(12, dtype=np.int64).reshape(3, 4).T.copy().T, columns=list("abcd"))
    assert plugin._one_block_columns(base) is not None
    seen = {h(base)}
    changed = base.copy()
    changed.iloc[2, 3] += 1
    seen.add(h(changed))
    seen.add(h(base[["b", "a", "c", "d"]].set_axis(list("abcd"), axis=1)))
    seen.add(h(pd.DataFrame(base.to_numpy().view(np.float64), columns=list("abcd"))))
    seen.add(h(base.set_axis(list("abce"), axis=1)))
    seen.add(h(base.iloc[:2]))
    assert len(seen) == 6


def test_a_frame_of_several_blocks_is_hashed_in_place() -> None:
    """A frame grown column by column (several blocks) keys like its one-block copy, without the one-block path."""
    grown = pd.DataFrame({"a": np.arange(5.0)})
    grown["b"] = np.arange(5.0) * 2
    assert plugin._one_block_columns(grown) is None
    assert h(grown) == h(grown.copy())
