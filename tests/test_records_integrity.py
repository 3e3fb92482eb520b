"""What is verified is what is served: private copies of big signed hits, old record formats."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest

import memo
from tests.conftest import Kind

SECRET = b"s3cret-key"

# A format-1 record (memo before the key and expiry were signed) holding the value 41.
_FORMAT_1 = bytes.fromhex(
    "4d454d4f010000010000005d00000000000000000000000000000005eed91aa17559356b67854baf393703427b2266756e6374696f6e22"
    "3a2278222c2261726773223a22222c2263726561746564223a312e302c2265787069726573223a6e756c6c2c226475726174696f6e22"
    "3a302e302c2276657273696f6e223a2276222c2273697a65223a357d80054b292e"
)


def _value_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*.val") if p.is_file()]


@pytest.mark.skipif(os.name != "posix", reason="value files are mapped on POSIX only")
def test_big_signed_file_hit_is_unpickled_from_a_private_copy(tmp_path: Path) -> None:
    """A big signed FileBackend hit is verified and unpickled from a private copy: a later file rewrite is unseen."""
    np = pytest.importorskip("numpy")
    backend = memo.FileBackend(tmp_path / "sec-big")

    @memo.cache(backend=backend, secret=SECRET)
    def make(n: int) -> Any:
        return np.arange(n, dtype=np.float64)

    make(2**18)  # 2 MiB: stored in a value file of its own
    hit = make(2**18)
    assert make.cache_info().hits == 1
    expected = np.arange(2**18, dtype=np.float64)
    (value_file,) = _value_files(tmp_path / "sec-big")
    with open(value_file, "r+b") as handle:  # a process that can write the file, after the check
        handle.seek(-65536, os.SEEK_END)
        handle.write(b"\xff" * 65536)
    assert np.array_equal(hit, expected)
    backend.close()


def test_old_format_record_is_a_clean_miss(tmp_path: Path, kind: Kind) -> None:
    """A record of the previous format is a miss: deleted, recomputed and replaced, never served or raised."""
    backend = memo.FileBackend(tmp_path / "sec-old")
    calls: list[int] = []

    def ident(x: int) -> int:
        calls.append(x)
        return x

    f = kind.make(ident, backend=backend)
    key = f.cache_key(1)
    backend.set(key, _FORMAT_1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kind.call(f, 1) == 1
        assert kind.call(f, 1) == 1
    assert calls == [1]
    assert bytes(backend.get(key)) != _FORMAT_1
    backend.close()
