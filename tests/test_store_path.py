"""The store path: big records go to the file backend as buffers, small ones as bytes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import memo


@pytest.mark.parametrize("sizes", [[3, 0, 5], [2**20, 7, 2**21]], ids=["small", "big"])
def test_file_set_parts_is_set_of_the_concatenation(tmp_path: Path, sizes: list[int]) -> None:
    """set_parts/aset_parts store exactly the concatenated buffers, in the table or in a value file."""
    backend = memo.FileBackend(tmp_path / "c")
    buffers: list[Any] = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    buffers[1] = memoryview(bytearray(buffers[1]))
    whole = b"".join(buffers)
    backend.set_parts("k", buffers, ttl=60)
    assert bytes(backend.get("k")) == whole
    asyncio.run(backend.aset_parts("a", buffers))
    assert bytes(backend.get("a")) == whole
    assert sorted(backend.keys()) == ["a", "k"]
    backend.close()


class _Counting(memo.FileBackend):
    """A FileBackend that counts which write method the store path used."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.calls: list[str] = []

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self.calls.append("set")
        super().set(key, value, ttl)

    def set_parts(self, key: str, buffers: Any, ttl: float | None = None) -> None:
        self.calls.append("set_parts")
        super().set_parts(key, buffers, ttl)


def test_big_results_are_written_as_parts(tmp_path: Path) -> None:
    """A result of 1 MiB or more is handed over as buffers (no joined copy); a small one as bytes; both hit."""
    np = pytest.importorskip("numpy")
    backend = _Counting(tmp_path / "c")

    @memo.cache(backend=backend)
    def make(n: int) -> Any:
        return np.ones(n)

    make(10)
    make(2**18)  # 2 MiB
    assert backend.calls == ["set", "set_parts"]
    assert np.array_equal(make(2**18), np.ones(2**18))
    assert make(10).sum() == 10
    assert make.cache_info().hits == 2
    backend.close()


def test_backends_without_set_parts_get_bytes(tmp_path: Path) -> None:
    """A third-party bytes backend without set_parts receives one bytes record, even for big results."""
    np = pytest.importorskip("numpy")

    class Plain:  # the bare protocol, no base class
        def __init__(self) -> None:
            self.data: dict[str, bytes] = {}

        def get(self, key: str) -> bytes | None:
            return self.data.get(key)

        def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
            assert type(value) is bytes
            self.data[key] = value

        def delete(self, key: str) -> bool:
            return self.data.pop(key, None) is not None

        def clear(self, prefix: str = "") -> int:
            doomed = [k for k in self.data if k.startswith(prefix)]
            for k in doomed:
                del self.data[k]
            return len(doomed)

        def keys(self, prefix: str = "") -> Any:
            return iter([k for k in self.data if k.startswith(prefix)])

        def close(self) -> None:
            pass

    backend = Plain()

    @memo.cache(backend=backend)
    def make(n: int) -> Any:
        return np.ones(n)

    make(2**18)
    assert len(backend.data) == 1
    assert np.array_equal(make(2**18), np.ones(2**18))
    assert make.cache_info().hits == 1
