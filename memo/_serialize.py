"""Cache entries and the stored record format.

A record is a small binary header, JSON metadata, then a cloudpickle payload written
with pickle protocol 5 so large buffers (numpy, pandas) go out of band::

    b"MEMO" | format version (1 byte) | flags (1 byte) | meta length (4 bytes, big-endian)
    | HMAC-SHA256 (32 bytes, only when signed) | meta JSON | main pickle | buffer 1 | ...

The metadata says how long the main pickle and each buffer are, so reading a record
slices one memoryview and never copies a buffer; listing entries reads the metadata only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle
import struct
import time
from dataclasses import dataclass
from typing import Any

import cloudpickle

__all__ = ["Entry", "RecordError", "dumps_record", "loads_record", "read_meta"]

MAGIC = b"MEMO"
FORMAT_VERSION = 1
_FLAG_SIGNED = 1
_HEADER = struct.Struct(">4sBBI")
_SIG_LEN = 32


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


def _sign(secret: bytes, parts: list[bytes | memoryview]) -> bytes:
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def dumps_record(entry: Entry, secret: bytes | None = None) -> bytes:
    """Serialize an entry to record bytes; raises pickling errors as they come."""
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
    sig = [_sign(secret, [header, *body])] if secret else []
    return b"".join([header, *sig, *body])


def _split(data: bytes | memoryview, secret: bytes | None) -> tuple[dict[str, Any], memoryview, int]:
    view = memoryview(data)
    if len(view) < _HEADER.size:
        raise RecordError("record shorter than its header")
    magic, version, flags, meta_len = _HEADER.unpack_from(view)
    if magic != MAGIC:
        raise RecordError("not a memo record")
    if version != FORMAT_VERSION:
        raise RecordError(f"record format {version}, this memo reads {FORMAT_VERSION}")
    offset = _HEADER.size
    if secret is not None:
        if not flags & _FLAG_SIGNED or len(view) < offset + _SIG_LEN:
            raise RecordError("record is not signed but a secret is set")
        sig = bytes(view[offset : offset + _SIG_LEN])
        offset += _SIG_LEN
        if not hmac.compare_digest(sig, _sign(secret, [view[: _HEADER.size], view[offset:]])):
            raise RecordError("record signature does not match")
    elif flags & _FLAG_SIGNED:
        offset += _SIG_LEN
    if len(view) < offset + meta_len:
        raise RecordError("record truncated in its metadata")
    try:
        meta = json.loads(bytes(view[offset : offset + meta_len]))
    except ValueError as exc:
        raise RecordError(f"record metadata is not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise RecordError("record metadata is not an object")
    return meta, view, offset + meta_len


def read_meta(data: bytes | memoryview) -> dict[str, Any]:
    """Metadata of a record (only its head is needed), without unpickling anything."""
    meta, _, _ = _split(data, None)
    return meta


def loads_record(data: bytes | memoryview, secret: bytes | None = None) -> Entry:
    """Parse and verify a record, then unpickle its value; RecordError if it is bad."""
    meta, view, offset = _split(data, secret)
    lengths = meta.get("pickle")
    if not isinstance(lengths, list) or not lengths or sum(lengths) != len(view) - offset:
        raise RecordError("record payload length does not match its metadata")
    parts = []
    for length in lengths:
        parts.append(view[offset : offset + length])
        offset += length
    try:
        value = pickle.loads(parts[0], buffers=parts[1:])
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
