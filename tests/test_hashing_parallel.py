"""A big frame's columns are hashed side by side on threads, to the very digests hashing them in turn gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

import memo
from memo._hash_buffers import _PARALLEL_MIN, buffer_digest, buffer_digests

h = memo.hash_value
ROWS, COLS = 600_000, 8  # 8 columns of 4.6 MiB: each below the chunking size, together above it


def _frame() -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(7).random((ROWS, COLS)), columns=[f"c{i}" for i in range(COLS)])


def test_the_big_frame_takes_the_parallel_path() -> None:
    """The test frame is big enough for the side-by-side path and each column small enough to be part of it."""
    frame = _frame()
    assert frame.iloc[:, 0].nbytes < _PARALLEL_MIN <= frame.memory_usage(index=False).sum()


def test_buffer_digests_equal_buffer_digest_of_each() -> None:
    """Side by side or one by one, each view's digest is the same; None stays None."""
    views = [memoryview(np.full(1 << 20, i, dtype=np.float64)) for i in range(6)]
    mixed: list[memoryview | None] = [*views[:3], None, *views[3:]]
    assert buffer_digests(mixed) == [None if v is None else buffer_digest(v) for v in mixed]


def test_parallel_frame_digest_equals_the_one_by_one_digest() -> None:
    """A frame hashed on threads keys like the same values laid out so each column is hashed in turn."""
    frame = _frame()
    strided = pd.DataFrame(np.ascontiguousarray(frame.to_numpy()), columns=frame.columns, copy=False)
    assert not strided.iloc[:, 0].array._ndarray.flags.c_contiguous  # the one-by-one path
    assert h(frame) == h(strided)


def test_unequal_big_frames_never_share_a_key() -> None:
    """One changed value in any column, two swapped columns or a changed dtype give another key."""
    frame = _frame()
    seen = {h(frame)}
    for col in (0, COLS // 2, COLS - 1):
        changed = frame.copy()
        changed.iloc[ROWS - 1, col] += 1.0
        seen.add(h(changed))
    swapped = frame.copy()
    swapped[["c0", "c1"]] = swapped[["c1", "c0"]].to_numpy()
    seen.add(h(swapped))
    seen.add(h(frame.astype(np.float32)))
    seen.add(h(frame.iloc[:, ::-1].set_axis(frame.columns, axis=1)))
    assert len(seen) == 7


def test_a_big_mixed_frame_hashes_its_other_columns_in_turn() -> None:
    """Object, categorical, nullable, str and tz-aware columns beside the parallel ones keep their own forms."""
    frame = _frame()
    frame["obj"] = pd.Series(np.arange(ROWS) % 3, dtype=object)
    frame["cat"] = pd.Categorical(np.arange(ROWS) % 4)
    frame["nullable"] = pd.array(np.arange(ROWS), dtype="Int64")
    frame["when"] = pd.date_range("2024-01-01", periods=ROWS, freq="s", tz="UTC")
    frame["name"] = pd.Series(np.arange(ROWS) % 5).astype(str)
    assert h(frame) == h(frame.copy())
    changed = frame.copy()
    changed.loc[ROWS - 1, "obj"] = "2"  # 2 -> "2": an object column never compares by str()
    assert h(changed) != h(frame)
    changed = frame.copy()
    changed.loc[0, "when"] = changed.loc[0, "when"] + pd.Timedelta("1us")
    assert h(changed) != h(frame)


def test_columns_are_taken_by_position_even_under_duplicate_labels() -> None:
    """Two columns both labelled "a" keep their own values and places: swapping them changes the key."""
    left = pd.DataFrame([[1, 2, 3]], columns=["a", "a", "b"])
    right = pd.DataFrame([[2, 1, 3]], columns=["a", "a", "b"])
    assert h(left) != h(right)
    assert h(left) == h(left.copy())
