"""Stored records: round-trips, integrity checks, signing, self-healing and unstorable results."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import memo
from memo._serialize import Entry, RecordError, dumps_record, loads_record, meta_json, read_meta, record_parts
from tests._helpers import Bomb

SECRET = b"s3cret-key"


def test_round_trip_keeps_metadata_and_writable_arrays() -> None:
    """A record round-trips value and metadata; arrays come back writable."""
    entry = Entry(np.arange(1000.0), function="m.f", args="x=1", created=1.0, expires=None, duration=0.5)
    entry2 = loads_record(dumps_record(entry))
    assert np.array_equal(entry2.value, entry.value)
    entry2.value[0] = 5.0  # writable like a fresh result
    assert entry2.duration == 0.5
    meta = read_meta(dumps_record(entry)[:300])
    assert (meta["function"], meta["args"], meta["duration"]) == ("m.f", "x=1", 0.5)


def test_metadata_json_holds_any_text_and_numbers() -> None:
    """Metadata is valid JSON for quotes, backslashes, control and non-ASCII text, None and non-finite floats."""
    import json

    args = "name=\"a\\b\", note='\u00e9\u4e2d\U0001f600', raw=\x00\n\t"
    nan = float("nan")
    entry = Entry(1, function="m.f\u00e9", args=args, created=1.5e9, expires=None, duration=nan, version='v"1')
    meta = read_meta(dumps_record(entry))
    assert meta == {
        "function": "m.f\u00e9",
        "args": args,
        "created": 1.5e9,
        "expires": None,
        "duration": None,
        "version": 'v"1',
        "size": entry.size,
    }
    assert json.loads(meta_json(entry)) == meta


@pytest.mark.parametrize(
    "value",
    [{"a": 1, "b": None}, [1, 2.5, "x"], (b"\x00", True), {1, 2}, frozenset({"a"}), 3 + 4j, "text", {"n": [1]}],
    ids=["dict", "list", "tuple", "set", "frozenset", "complex", "str", "nested"],
)
def test_plain_and_other_values_round_trip(value: Any) -> None:
    """Plain data (C pickler path) and nested data (cloudpickle path) come back equal and of the same type."""
    back = loads_record(dumps_record(Entry(value))).value
    assert back == value
    assert type(back) is type(value)


def test_big_record_parts_are_views_not_copies() -> None:
    """A big array's record parts include a view of the array's own memory (no copy before the write)."""
    array = np.arange(2**18, dtype=np.float64)
    parts = record_parts(Entry(array))
    views = [p for p in parts if isinstance(p, memoryview) and p.nbytes == array.nbytes]
    assert views
    assert np.shares_memory(np.frombuffer(views[0], dtype=np.float64), array)
    assert np.array_equal(loads_record(b"".join(parts)).value, array)


def _record() -> bytes:
    return dumps_record(Entry({"answer": 42}, function="m.f"), SECRET, "k")


def _mutations(data: bytes) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    from memo._serialize import _HEADER

    n_parts = int.from_bytes(data[6:8], "big")
    header, check = _HEADER.size + 8 * n_parts, 32
    positions = {
        "magic": 0,
        "version": 4,
        "flags": 5,
        "parts": 7,
        "meta-length": 11,
        "duration": 15,
        "part-length": _HEADER.size + 3,
        "signature": header + 5,
        "meta": header + check + 3,
        "payload": len(data) - 5,
    }
    for name, pos in positions.items():
        flipped = bytearray(data)
        flipped[pos] ^= 0x41
        out.append((f"flip-{name}", bytes(flipped)))
    for length in sorted({0, 1, 4, 9, 10, 20, header + check, header + check + 5, len(data) // 2, len(data) - 1}):
        out.append((f"truncate-{length}", data[:length]))
    out.append(("extended", data + b"\x00"))
    out.append(("foreign", b"not a memo record at all, just bytes"))
    return out


@pytest.mark.parametrize("secret", [SECRET, None], ids=["signed", "unsigned"])
def test_every_corruption_is_detected(secret: bytes | None) -> None:
    """Each flipped byte class and truncation length raises RecordError, never a wrong value."""
    data = dumps_record(Entry({"answer": 42}), secret, "k")
    for name, bad in _mutations(data):
        with pytest.raises(RecordError):
            loads_record(bad, secret, "k")
            pytest.fail(f"{name} was accepted")


def test_bad_signature_is_never_unpickled(tmp_path: Path) -> None:
    """A record signed with another key, or unsigned, is rejected before unpickling."""
    marker = tmp_path / "marker"
    for forged in (dumps_record(Entry(Bomb(str(marker))), b"attacker", "k"), dumps_record(Entry(Bomb(str(marker))))):
        with pytest.raises(RecordError):
            loads_record(forged, SECRET, "k")
    assert not marker.exists()


@pytest.fixture
def file_backend(tmp_path: Path) -> Any:
    backend = memo.FileBackend(tmp_path / "cache")
    try:
        yield backend
    finally:
        backend.close()


def test_corrupt_records_heal_through_the_decorator(file_backend: Any, tmp_path: Path) -> None:
    """A corrupt, truncated or forged stored record is a miss: deleted, recomputed, never raised."""
    calls: list[int] = []
    marker = tmp_path / "marker"

    @memo.cache(backend=file_backend, secret=SECRET)
    def f(x: int) -> dict[str, int]:
        calls.append(x)
        return {"answer": x}

    assert f(42) == {"answer": 42}
    key = f.cache_key(42)
    good = file_backend.get(key)
    forged = dumps_record(Entry(Bomb(str(marker))), b"attacker", key)
    cases = [*_mutations(good), ("forged", forged), ("unsigned", dumps_record(Entry(Bomb(str(marker)))))]
    for name, bad in cases:
        file_backend.set(key, bad)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert f(42) == {"answer": 42}, name
        healed = file_backend.get(key)
        assert loads_record(healed, SECRET, key).value == {"answer": 42}, name
    assert len(calls) == 1 + len(cases)
    assert not marker.exists()


def test_secret_from_environment(file_backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """MEMO_SECRET signs records: they verify with that secret for their key, and not with another secret."""
    monkeypatch.setenv("MEMO_SECRET", "from-env")

    @memo.cache(backend=file_backend)
    def f(x: int) -> int:
        return x

    f(1)
    key = f.cache_key(1)
    data = file_backend.get(key)
    assert loads_record(data, b"from-env", key).value == 1
    with pytest.raises(RecordError):
        loads_record(data, b"other", key)


def test_unpicklable_result_is_returned_with_one_warning(file_backend: Any) -> None:
    """A result that cannot be pickled is returned, not stored, with one CacheWriteWarning per function."""

    @memo.cache(backend=file_backend)
    def make(x: int) -> Any:
        return threading.Lock()

    with pytest.warns(memo.CacheWriteWarning, match="cannot be stored"):
        assert make(1) is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert make(2) is not None
    assert list(file_backend.keys()) == []


def test_unpicklable_result_raises_with_on_error_raise(file_backend: Any) -> None:
    """on_error='raise' turns an unstorable result into SerializationError."""

    @memo.cache(backend=file_backend, on_error="raise")
    def make(x: int) -> Any:
        return threading.Lock()

    with pytest.raises(memo.SerializationError):
        make(1)


def test_cache_directory_is_private(tmp_path: Path) -> None:
    """The cache directory is created with mode 0o700."""
    backend = memo.FileBackend(tmp_path / "private")

    @memo.cache(backend=backend)
    def f(x: int) -> int:
        return x

    f(1)
    assert os.stat(tmp_path / "private").st_mode & 0o777 == 0o700
    backend.close()
