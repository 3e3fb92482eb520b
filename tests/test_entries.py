"""``cache_entries()``: one short line per argument, and listings that survive bad records."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import memo
from memo import _serialize
from memo._serialize import Entry, record_parts


class _CountingRepr:
    """An element whose repr counts its calls (a listing must not repr a big container)."""

    calls = 0

    def __repr__(self) -> str:
        type(self).calls += 1
        return "<counted>"


def _args_of(func: Any) -> str:
    (entry,) = func.cache_entries()
    return str(entry.args)


def test_dataframe_argument_is_one_line_with_its_shape() -> None:
    """A DataFrame argument is listed as its type and shape, on one line."""

    @memo.cache
    def rows(df: Any) -> int:
        return len(df)

    rows(pd.DataFrame(np.zeros((1000, 10)), columns=[f"c{i}" for i in range(10)]))
    assert _args_of(rows) == "df=DataFrame(1000x10)"


def test_array_and_series_arguments_show_dtype_and_shape() -> None:
    """ndarray and Series arguments are listed as type(dtype, shape)."""

    @memo.cache
    def total(a: Any, s: Any) -> float:
        return float(a.sum() + s.sum())

    total(np.ones((1000, 3)), pd.Series(np.arange(50)))
    assert _args_of(total) == "a=ndarray(float64, 1000x3), s=Series(int64, 50)"


def test_big_list_is_its_length_and_never_repr_d() -> None:
    """A big list is listed as list(len=N) without calling repr on it or its items."""

    @memo.cache(key=lambda items: len(items))
    def count(items: list[Any]) -> int:
        return len(items)

    _CountingRepr.calls = 0
    count([_CountingRepr() for _ in range(100_000)])
    assert _args_of(count) == "items=list(len=100000)"
    assert _CountingRepr.calls == 0


def test_small_values_are_short_reprs() -> None:
    """Numbers, short strings, None and small flat containers are shown as their repr."""

    @memo.cache
    def f(n: int, x: float, s: str, flag: bool, t: tuple[int, ...], d: dict[str, int], none: None = None) -> int:
        return n

    f(3, 1.5, "abc", True, (1, 2), {"k": 1})
    assert _args_of(f) == "n=3, x=1.5, s='abc', flag=True, t=(1, 2), d={'k': 1}, none=None"


def test_long_string_is_cut_with_its_length() -> None:
    """A long string shows its start and its length, on one line even if it has newlines."""

    @memo.cache
    def f(text: str) -> int:
        return len(text)

    f("line\n" * 10_000)
    shown = _args_of(f)
    assert shown.startswith("text='line\\nline\\n")
    assert "len=50000" in shown
    assert "\n" not in shown
    assert len(shown) <= 80


def test_dataclass_argument_is_summarised_field_by_field() -> None:
    """A dataclass holding a big list is listed by its fields' summaries, not its full repr."""

    @dataclasses.dataclass
    class Batch:
        name: str
        rows: list[int]

    @memo.cache
    def size(batch: Batch) -> int:
        return len(batch.rows)

    size(Batch("b", list(range(50_000))))
    assert _args_of(size) == "batch=Batch(name='b', rows=list(len=50000))"


def test_multiline_repr_objects_stay_on_one_line() -> None:
    """An object whose repr spans lines is shown on one bounded line."""

    class Report:
        def __repr__(self) -> str:
            return "Report\n" + "\n".join(f"  row {i}" for i in range(100))

        def __reduce__(self) -> Any:
            return (str, ("report",))

    @memo.cache
    def f(r: Report) -> int:
        return 1

    f(Report())
    shown = _args_of(f)
    assert "\n" not in shown
    assert shown.startswith("r=Report row 0 row 1")
    assert len(shown) <= 80


def test_many_arguments_are_bounded_in_total() -> None:
    """The whole args line is bounded, however many arguments there are."""

    @memo.cache
    def f(*args: int) -> int:
        return sum(args)

    f(*range(1000))
    assert len(_args_of(f)) <= 200


def test_entries_survive_records_with_bad_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records whose metadata fields have wrong types are listed with defaults, never a crash."""
    backend = memo.FileBackend(tmp_path / "c")

    @memo.cache(backend=backend)
    def f(x: int) -> int:
        return x

    f(1)
    key = f.cache_key(2)

    def bad_meta(entry: Entry) -> bytes:
        return (
            b'{"function": 7, "args": ["x"], "created": "yesterday", "expires": "soon",'
            b' "duration": {"s": 1}, "version": null, "size": "big"}'
        )

    with monkeypatch.context() as patch:
        patch.setattr(_serialize, "meta_json", bad_meta)
        backend.set(key, b"".join(record_parts(Entry(value=2))))
    entries = {e.key: e for e in f.cache_entries()}
    assert set(entries) == {f.cache_key(1), key}
    bad = entries[key]
    assert (bad.created, bad.expires, bad.duration) == (0.0, None, 0.0)
    assert (bad.args, bad.version, bad.size) == ("", "", 0)
    backend.close()
