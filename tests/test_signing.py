"""Signed records against a writer without the secret: moved, replayed, flipped or forged records."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import memo
from tests._helpers import Bomb
from tests.conftest import Kind

SECRET = b"s3cret-key"


@pytest.fixture(params=["file", "redis"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A store another process could write to: a FileBackend directory or a real Redis server."""
    if request.param == "file":
        backend = memo.FileBackend(tmp_path / "sec-cache")
        try:
            yield backend
        finally:
            backend.close()
    else:
        yield request.getfixturevalue("redis_backend")


def _raw(backend: Any, key: str) -> bytes:
    data = backend.get(key)
    assert data is not None
    return bytes(data)


def test_signed_record_moved_to_another_key_is_a_miss(shared: Any, kind: Kind) -> None:
    """A signed record copied to another call's key is not served there: the MAC binds the full key."""
    calls: list[str] = []

    def is_admin(user: str) -> bool:
        calls.append(user)
        return user == "alice"

    f = kind.make(is_admin, backend=shared, secret=SECRET)
    assert kind.call(f, "alice") is True
    shared.set(f.cache_key("mallory"), _raw(shared, f.cache_key("alice")))  # the attacker's copy
    assert kind.call(f, "mallory") is False
    assert kind.call(f, "mallory") is False  # the healed record is mallory's own
    assert kind.call(f, "alice") is True
    assert calls == ["alice", "mallory"]


def test_expired_signed_record_replayed_is_a_miss(shared: Any, kind: Kind, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signed record re-inserted (without a backend TTL) after its expiry is a miss: the MAC covers the expiry."""
    calls: list[int] = []

    def price(item: int) -> int:
        calls.append(item)
        return 10 * item + len(calls)

    f = kind.make(price, backend=shared, secret=SECRET, ttl=60)
    assert kind.call(f, 1) == 11
    key = f.cache_key(1)
    old = _raw(shared, key)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)  # an hour later...
    shared.set(key, old)  # ...the attacker re-inserts the old record with no TTL
    assert kind.call(f, 1) == 12
    assert kind.call(f, 1) == 12
    assert calls == [1, 1]


def test_signed_record_read_without_secret_is_never_unpickled(shared: Any, kind: Kind, tmp_path: Path) -> None:
    """A record flagged signed, read without a secret, is a miss and one BackendWarning, never an unpickle."""
    marker = tmp_path / "marker"
    pending = [Bomb(str(marker))]  # mutated by the body (pop): state, not part of the key

    def load(x: int) -> Any:
        return pending.pop() if pending else x

    f = kind.make(load, backend=shared)
    memo.configure(secret=b"attacker")  # a writer with some secret: the record carries the signed flag
    kind.call(f, 1)
    key = f.cache_key(1)
    signed = _raw(shared, key)
    memo.configure(secret=None)
    with pytest.warns(memo.BackendWarning, match="signed"):
        assert kind.call(f, 1) == 1
    assert not marker.exists()
    shared.set(key, signed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per process and backend
        assert kind.call(f, 1) == 1
    assert not marker.exists()


@pytest.mark.parametrize("writer_secret", [SECRET, None], ids=["signed", "unsigned"])
def test_flipped_bit_read_without_secret_is_a_miss(shared: Any, kind: Kind, writer_secret: bytes | None) -> None:
    """A flipped payload bit in a signed or an unsigned record, read without a secret, is never served."""
    calls: list[int] = []

    def label(x: int) -> str:
        calls.append(x)
        return f"result-{x}-{len(calls)}"

    f = kind.make(label, backend=shared)
    memo.configure(secret=writer_secret)
    assert kind.call(f, 1) == "result-1-1"
    key = f.cache_key(1)
    flipped = bytearray(_raw(shared, key))
    flipped[-5] ^= 0x01  # inside the pickled string
    shared.set(key, bytes(flipped))
    memo.configure(secret=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert kind.call(f, 1) == "result-1-2"
    warned = [w for w in caught if issubclass(w.category, memo.MemoWarning)]
    assert len(warned) == (1 if writer_secret else 0)
    assert kind.call(f, 1) == "result-1-2"
    assert calls == [1, 1]


def test_empty_memo_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """MEMO_SECRET set but empty raises ConfigurationError on use instead of silently storing unsigned records."""
    monkeypatch.setenv("MEMO_SECRET", "")

    @memo.cache
    def f(x: int) -> int:
        return x

    with pytest.raises(memo.ConfigurationError, match="MEMO_SECRET"):
        f(1)
    monkeypatch.setenv("MEMO_SECRET", "  \n")
    with pytest.raises(memo.ConfigurationError, match="MEMO_SECRET"):
        f(1)
    monkeypatch.delenv("MEMO_SECRET")
    assert f(1) == 1  # unset: unsigned, as documented


@pytest.mark.parametrize("secret", ["", b"", " "], ids=["str", "bytes", "blank"])
def test_empty_secret_option_is_refused(secret: Any) -> None:
    """secret='', b'' or blank in cache() or configure() raises ConfigurationError instead of turning signing off."""

    def g(x: int) -> int:
        return x

    with pytest.raises(memo.ConfigurationError, match="secret"):
        memo.cache(secret=secret)(g)
    with pytest.raises(memo.ConfigurationError, match="secret"):
        memo.configure(secret=secret)


def test_expired_record_is_not_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cache_entries() leaves out a record whose expiry has passed, even when the store still holds it."""
    backend = memo.FileBackend(tmp_path / "sec-list")

    @memo.cache(backend=backend, ttl=60)
    def f(x: int) -> int:
        return x

    f(1)
    f(2)
    key = f.cache_key(1)
    old = _raw(backend, key)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    backend.set(key, old)  # kept by the store (no TTL), expired by its own header
    assert [e.key for e in f.cache_entries()] == []
    f(3)
    assert [e.key for e in f.cache_entries()] == [f.cache_key(3)]
    backend.close()


def test_signed_record_without_secret_is_silent_with_on_error_ignore(tmp_path: Path) -> None:
    """on_error='ignore' reads a signed record without a secret as a plain miss, with no warning."""
    backend = memo.FileBackend(tmp_path / "sec-quiet")
    calls: list[int] = []

    @memo.cache(backend=backend, on_error="ignore")
    def f(x: int) -> int:
        calls.append(x)
        return x

    memo.configure(secret=SECRET)
    f(1)
    memo.configure(secret=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(1) == 1
    assert calls == [1, 1]
    backend.close()
