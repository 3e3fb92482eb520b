"""Fail-open: a failing backend never loses the caller's result, and never stalls every call."""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import memo


class FlakyBackend(memo.BaseBackend):
    """A real in-process bytes backend that can be switched to fail slowly, like a dead server."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.down = False
        self.attempts = 0

    def _gate(self) -> None:
        self.attempts += 1
        if self.down:
            time.sleep(0.2)  # a connect timeout
            raise ConnectionError("backend unreachable")

    def get(self, key: str) -> bytes | None:
        self._gate()
        return self.data.get(key)

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._gate()
        self.data[key] = value

    def delete(self, key: str) -> bool:
        self._gate()
        return self.data.pop(key, None) is not None

    def clear(self, prefix: str = "") -> int:
        self._gate()
        doomed = [k for k in self.data if k.startswith(prefix)]
        for k in doomed:
            del self.data[k]
        return len(doomed)

    def keys(self, prefix: str = "") -> Iterator[str]:
        self._gate()
        return iter([k for k in self.data if k.startswith(prefix)])


def test_down_backend_still_answers_with_one_warning() -> None:
    """With on_error='warn', calls return correct results, warn once, count errors, and do not each stall."""
    backend = FlakyBackend()
    backend.down = True

    @memo.cache(backend=backend)
    def double(x: int) -> int:
        return 2 * x

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.monotonic()
        results = [double(i % 3) for i in range(30)]
        elapsed = time.monotonic() - start
    assert results == [2 * (i % 3) for i in range(30)]
    assert [w.category for w in caught] == [memo.BackendWarning]
    assert double.cache_info().errors >= 1
    assert backend.attempts < 10, "the breaker should skip a backend that keeps failing"
    assert elapsed < 2.0


def test_backend_is_used_again_once_it_is_back() -> None:
    """After an outage the breaker half-opens and the cache serves hits again."""
    backend = FlakyBackend()

    @memo.cache(backend=backend, on_error="ignore")
    def double(x: int) -> int:
        return 2 * x

    backend.down = True
    assert double(1) == 2
    backend.down = False
    deadline = time.monotonic() + 5
    while double.cache_info().hits == 0 and time.monotonic() < deadline:
        assert double(1) == 2
        time.sleep(0.05)
    assert double.cache_info().hits >= 1


def test_on_error_raise_chains_the_original() -> None:
    """on_error='raise' raises BackendError from the backend's own exception."""
    backend = FlakyBackend()
    backend.down = True

    @memo.cache(backend=backend, on_error="raise")
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(memo.BackendError) as info:
        double(1)
    assert isinstance(info.value.__cause__, ConnectionError)


def test_on_error_from_configure() -> None:
    """memo.configure(on_error=...) sets the default for functions without their own."""
    backend = FlakyBackend()
    backend.down = True

    @memo.cache(backend=backend)
    def double(x: int) -> int:
        return 2 * x

    memo.configure(on_error="raise")
    with pytest.raises(memo.BackendError):
        double(1)


async def test_async_down_backend_still_answers() -> None:
    """The async driver fails open the same way."""
    backend = FlakyBackend()
    backend.down = True

    @memo.cache(backend=backend, on_error="ignore")
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    assert [await double(i) for i in range(10)] == [2 * i for i in range(10)]
    assert double.cache_info().errors >= 1


def test_async_value_backend_serves_async_and_refuses_sync() -> None:
    """An async-get/set value backend serves async functions; sync ones get ConfigurationError."""

    class AsyncDict:
        def __init__(self) -> None:
            self.data: dict[str, Any] = {}

        async def get(self, key: str) -> Any:
            return self.data.get(key)

        async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
            self.data[key] = value

        async def delete(self, key: str) -> bool:
            return self.data.pop(key, None) is not None

        async def clear(self, prefix: str = "") -> int:
            doomed = [k for k in self.data if k.startswith(prefix)]
            for k in doomed:
                del self.data[k]
            return len(doomed)

    store = AsyncDict()
    calls: list[int] = []

    @memo.cache(backend=store)
    async def fetch(x: int) -> dict[str, int]:
        calls.append(x)
        return {"x": x}

    async def main() -> None:
        assert await fetch(1) == {"x": 1}
        assert await fetch(1) == {"x": 1}
        assert await fetch.acache_delete(1) is True

    asyncio.run(main())
    assert calls == [1]
    assert list(store.data.values()) == []

    @memo.cache(backend=store)
    def sync_fetch(x: int) -> int:
        return x

    with pytest.raises(memo.ConfigurationError, match="async def functions"):
        sync_fetch(1)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "refused"),
        ConnectionResetError(104, "reset"),
        TimeoutError("timed out"),
        asyncio.TimeoutError(),
        OSError(113, "No route to host"),
    ],
    ids=repr,
)
def test_unreachable_errors_open_the_breaker(exc: BaseException) -> None:
    """Connection, timeout and socket-level OSErrors are transient: they open a backend's breaker."""
    from memo._breaker import is_transient

    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("value too big"),
        TypeError("not bytes"),
        OSError(28, "No space left on device"),
        PermissionError(13, "Permission denied"),
        KeyError("x"),
    ],
    ids=repr,
)
def test_deterministic_errors_do_not_open_the_breaker(exc: BaseException) -> None:
    """A refused value, a bug, a full or read-only disk: the call's own failure, not the backend's."""
    from memo._breaker import is_transient

    assert not is_transient(exc)


def test_backend_declared_transient_errors_open_the_breaker(kind: Any) -> None:
    """A backend's ``transient_errors`` attribute adds its own 'unreachable' exception types."""

    class Outage(Exception):
        pass

    class Declaring(FlakyBackend):
        transient_errors = (Outage,)

        def _gate(self) -> None:
            self.attempts += 1
            if self.down:
                raise Outage("service unavailable")

    backend = Declaring()
    backend.down = True

    def ident(x: int) -> int:
        return x

    f = kind.make(ident, backend=backend, on_error="ignore")
    for i in range(10):
        assert kind.call(f, i) == i
    assert backend.attempts < 5


def test_full_disk_keeps_serving_hits(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """FileBackend: a write that fails with ENOSPC does not stop other functions' entries from being served."""
    import errno

    import diskcache

    backend = memo.FileBackend(tmp_path / "full")

    @memo.cache(backend=backend, on_error="ignore")
    def cached(x: int) -> int:
        return x

    @memo.cache(backend=backend, on_error="ignore")
    def fresh(x: int) -> int:
        return -x

    assert cached(1) == 1  # stored before the disk fills up

    def no_space(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(diskcache.Disk, "store", no_space)
    assert fresh(1) == -1
    assert fresh.cache_info().errors == 1
    assert cached(1) == 1
    assert cached.cache_info().hits == 1
    backend.close()
