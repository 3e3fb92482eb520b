"""Cache entries and the stored record format.

A record is a small binary header, JSON metadata, then a cloudpickle payload written
with pickle protocol 5 so large buffers (numpy, pandas) go out of band::

    b"MEMO" | format version (1 byte) | flags (1 byte) | meta length (4 bytes, big-endian)
    | check: HMAC-SHA256 (32 bytes) when signed, else xxh3-128 (16 bytes)
    | meta JSON | main pickle | buffer 1 | ...

The check covers everything after it (and the header), so a flipped or missing byte
anywhere is detected before anything is unpickled. The metadata says how long the main
pickle and each buffer are, so reading a record slices one memoryview; listing entries
reads the metadata only.
"""

from __future__ import annotations

import json
import pickle
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import xxhash

__all__ = ["Entry", "RecordError", "dumps_record", "loads_record", "read_meta"]

MAGIC = b"MEMO"
FORMAT_VERSION = 1
_FLAG_SIGNED = 1
_HEADER = struct.Struct(">4sBBI")
_SIG_LEN = 32
_SUM_LEN = 16


class RecordError(ValueError):
    """A stored record is truncated, corrupt, of another format or badly signed (internal)."""


@dataclass(slots=True)
class Entry:
    """One cached result and what memo knows about it (internal)."""

    value: Any
    function: str = ""
    args: str = ""
    created: float = 0.0
    expires: float | None = None
    duration: float = 0.0
    version: str = ""
    size: int = 0

    def meta(self) -> dict[str, Any]:
        """The JSON-able metadata of this entry."""
        return {
            "function": self.function,
            "args": self.args,
            "created": self.created,
            "expires": self.expires,
            "duration": self.duration,
            "version": self.version,
            "size": self.size,
        }


def _sign(secret: bytes, parts: Sequence[bytes | memoryview]) -> bytes:
    import hashlib
    import hmac

    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def dumps_record(entry: Entry, secret: bytes | None = None) -> bytes:
    """Serialize an entry to record bytes; raises pickling errors as they come."""
    import cloudpickle  # imported on first store, not at `import memo`

    buffers: list[pickle.PickleBuffer] = []
    main = cloudpickle.dumps(entry.value, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    meta = entry.meta()
    meta["pickle"] = [len(main), *(r.nbytes for r in raws)]
    meta["size"] = sum(meta["pickle"])
    entry.size = meta["size"]
    meta_bytes = json.dumps(meta, separators=(",", ":")).encode()
    flags = _FLAG_SIGNED if secret else 0
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, flags, len(meta_bytes))
    body: list[bytes | memoryview] = [meta_bytes, main, *raws]
    check = _sign(secret, [header, *body]) if secret else _checksum([header, *body])
    return b"".join([header, check, *body])


def _checksum(parts: Sequence[bytes | memoryview]) -> bytes:
    h = xxhash.xxh3_128()
    for part in parts:
        h.update(part)
    return h.digest()


def _split(
    data: bytes | bytearray | memoryview, secret: bytes | None, verify: bool = True
) -> tuple[dict[str, Any], memoryview, int]:
    view = memoryview(data)
    if len(view) < _HEADER.size:
        raise RecordError("record shorter than its header")
    magic, version, flags, meta_len = _HEADER.unpack_from(view)
    if magic != MAGIC:
        raise RecordError("not a memo record")
    if version != FORMAT_VERSION:
        raise RecordError(f"record format {version}, this memo reads {FORMAT_VERSION}")
    offset = _HEADER.size
    signed = bool(flags & _FLAG_SIGNED)
    check_len = _SIG_LEN if signed else _SUM_LEN
    if len(view) < offset + check_len:
        raise RecordError("record truncated in its check bytes")
    check = bytes(view[offset : offset + check_len])
    offset += check_len
    if secret is not None and not signed:
        raise RecordError("record is not signed but a secret is set")
    if verify:
        covered = [view[: _HEADER.size], view[offset:]]
        expected = _sign(secret, covered) if secret is not None else None if signed else _checksum(covered)
        if expected is not None and not _same(check, expected):
            raise RecordError("record signature does not match" if signed else "record checksum does not match")
    if len(view) < offset + meta_len:
        raise RecordError("record truncated in its metadata")
    try:
        meta = json.loads(bytes(view[offset : offset + meta_len]))
    except ValueError as exc:
        raise RecordError(f"record metadata is not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise RecordError("record metadata is not an object")
    return meta, view, offset + meta_len


def _same(a: bytes, b: bytes) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def read_meta(data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Metadata of a record (only its head is needed), without unpickling anything."""
    meta, _, _ = _split(data, None, verify=False)
    return meta


def loads_record(data: bytes | bytearray | memoryview, secret: bytes | None = None) -> Entry:
    """Parse and verify a record, then unpickle its value; RecordError if it is bad.

    Out-of-band buffers are handed to the unpickler as slices of ``data``; when ``data``
    is read-only (``bytes``) they are copied once, so arrays come back writable like a
    freshly computed result. Pass a ``bytearray`` to skip that copy.
    """
    meta, view, offset = _split(data, secret)
    lengths = meta.get("pickle")
    if not isinstance(lengths, list) or not lengths or sum(lengths) != len(view) - offset:
        raise RecordError("record payload length does not match its metadata")
    parts = []
    for length in lengths:
        parts.append(view[offset : offset + length])
        offset += length
    buffers: list[Any] = parts[1:]
    if view.readonly and buffers:
        buffers = [bytearray(b) for b in buffers]
    try:
        value = pickle.loads(parts[0], buffers=buffers)
    except Exception as exc:
        raise RecordError(f"record payload cannot be unpickled: {exc}") from None
    return Entry(
        value=value,
        function=str(meta.get("function", "")),
        args=str(meta.get("args", "")),
        created=float(meta.get("created") or 0.0),
        expires=meta.get("expires"),
        duration=float(meta.get("duration") or 0.0),
        version=str(meta.get("version", "")),
        size=int(meta.get("size") or 0),
    )


def now() -> float:
    """Wall-clock seconds (one place, so tests can reason about it)."""
    return time.time()
