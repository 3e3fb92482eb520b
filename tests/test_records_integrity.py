"""What is verified is what is served: private copies of big signed hits, old record formats."""

from __future__ import annotations

import warnings
from pathlib import Path

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
