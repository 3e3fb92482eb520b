"""Cache entries and the stored record format.

A record is a small binary header, JSON metadata, then a cloudpickle payload written
with pickle protocol 5 so large buffers (numpy, pandas) go out of band::

    b"MEMO" | format (1 byte) | flags (1 byte) | parts N (2 bytes) | meta length (4 bytes)
    | compute duration (8-byte float) | expiry (8-byte float, Unix time; +inf: never)
    | N part lengths (8 bytes each, big-endian)
    | check: HMAC-SHA256 (32 bytes) when signed, else xxh3-128 (16 bytes)
    | meta JSON | main pickle | buffer 1 | ...

The check covers everything but itself, so a flipped or missing byte anywhere is
detected before anything is unpickled. A signature also covers the key the record is
stored under (length-prefixed, ahead of the header), so a signed record moved to another
key fails verification; the expiry is inside the signed bytes and checked on every load,
so an expired record re-inserted without a backend TTL is a miss. A signed record read
without a secret cannot be verified and is never unpickled (:class:`UnverifiableRecord`).
A hit reads only the binary header and slices one memoryview (no JSON); listing entries
reads only the head and the JSON metadata.
"""

from __future__ import annotations

import pickle
import struct
import time as _time
from collections.abc import Callable, Sequence
from math import isfinite as _isfinite
from typing import Any, NamedTuple

import xxhash

from memo._types import Entry

__all__ = [
    "Entry",
    "RecordError",
    "UnverifiableRecord",
    "dumps_record",
    "loads_record",
    "meta_json",
    "use_pickler",
    "read_meta",
    "record_parts",
]

MAGIC = b"MEMO"
FORMAT_VERSION = 2  # 2: the expiry is in the header and a signature covers the key
_FLAG_SIGNED = 1
_HEADER = struct.Struct(">4sBBHIdd")  # magic, format, flags, parts, meta length, duration, expiry
_NEVER = float("inf")
_SIG_LEN = 32
_SUM_LEN = 16
# Exact types whose pickle never refers to a global: plain data pickles the same with the
# C pickler as with cloudpickle, ~7x faster for small values.
_ATOMS: frozenset[type] = frozenset({int, str, float, bool, type(None), bytes, complex})
_FLAT: frozenset[type] = frozenset({list, tuple, set, frozenset})
try:  # the C encoder alone: importing the json package would add ~3 ms to `import memo`
    from _json import encode_basestring_ascii as _encode_str
except ImportError:  # pragma: no cover - interpreters without the C accelerator
    from json.encoder import encode_basestring_ascii as _encode_str


class RecordError(ValueError):
    """A stored record is truncated, corrupt, of another format, expired or badly signed (internal)."""


class UnverifiableRecord(RecordError):
    """A signed record read without a secret: it cannot be verified, so it is never unpickled (internal)."""


def _sign(secret: bytes, key: str | None, parts: Sequence[bytes | memoryview]) -> bytes:
    """HMAC-SHA256 of the key (length-prefixed, so no two keys and records run together) and the parts."""
    import hashlib
    import hmac

    if key is None:
        raise ValueError("a signed record needs the key it is stored under")
    key_bytes = key.encode("utf-8", "surrogatepass")
    mac = hmac.new(secret, struct.pack(">Q", len(key_bytes)) + key_bytes, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def _number(value: float | None) -> str:
    """A float as JSON (``null`` for None and non-finite values, which JSON cannot hold)."""
    if value is None:
        return "null"
    value = float(value)
    return repr(value) if _isfinite(value) else "null"


def meta_json(entry: Entry) -> bytes:
    """An entry's metadata as compact JSON, built directly (this runs on every store)."""
    text = (
        f'{{"function":{_encode_str(entry.function)},"args":{_encode_str(entry.args)},'
        f'"created":{_number(entry.created)},"expires":{_number(entry.expires)},'
        f'"duration":{_number(entry.duration)},"version":{_encode_str(entry.version)},"size":{int(entry.size)}}}'
    )
    return text.encode()


def _plain(value: Any) -> bool:
    """True for exact atoms and flat containers of them (no global references inside)."""
    t = type(value)
    if t in _ATOMS:
        return True
    if t in _FLAT:
        return _ATOMS.issuperset(map(type, value))
    if t is dict:
        return _ATOMS.issuperset(map(type, value)) and _ATOMS.issuperset(map(type, value.values()))
    return False


Pickler = Callable[[object, Callable[[pickle.PickleBuffer], Any]], bytes]
pickler: Pickler | None = None
"""What pickles non-plain values: set by ``memo._notebook`` (cloudpickle, with notebook classes
coming back as the live class), plain cloudpickle until then. The records layer does not know
notebooks; the layer that does plugs its pickler in here."""


def use_pickler(dumps: Pickler) -> None:
    """Pickle non-plain values with ``dumps(value, buffer_callback) -> bytes`` from now on."""
    global pickler
    pickler = dumps


def _cloudpickle_dumps(value: object, buffer_callback: Callable[[pickle.PickleBuffer], Any]) -> bytes:
    import cloudpickle  # imported on first store of a non-plain value, not at `import memo`

    return cloudpickle.dumps(value, protocol=5, buffer_callback=buffer_callback)  # type: ignore[no-any-return]


def record_parts(entry: Entry, secret: bytes | None = None, key: str | None = None) -> list[bytes | memoryview]:
    """An entry's record as a list of buffers to write one after the other (no joined copy).

    Out-of-band pickle buffers (numpy, pandas) are views of the value's own memory, so
    a big array goes to the backend without ever being copied. With a ``secret`` the
    record is signed for ``key`` (required then) and its expiry. Raises pickling errors
    as they come.
    """
    buffers: list[pickle.PickleBuffer] = []
    if _plain(entry.value):
        main = pickle.dumps(entry.value, protocol=5)
    else:
        main = (pickler or _cloudpickle_dumps)(entry.value, buffers.append)
    raws = [b.raw() for b in buffers]
    lengths = [len(main), *(r.nbytes for r in raws)]
    entry.size = sum(lengths)
    meta_bytes = meta_json(entry)
    flags = _FLAG_SIGNED if secret else 0
    expires = _NEVER if entry.expires is None else float(entry.expires)
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, flags, len(lengths), len(meta_bytes), entry.duration, expires)
    header += struct.pack(f">{len(lengths)}Q", *lengths)
    body: list[bytes | memoryview] = [meta_bytes, main, *raws]
    check = _sign(secret, key, [header, *body]) if secret else _checksum([header, *body])
    return [header, check, *body]


def dumps_record(entry: Entry, secret: bytes | None = None, key: str | None = None) -> bytes:
    """Serialize an entry to one ``bytes`` record (signed for ``key`` with a secret); raises pickling errors."""
    return b"".join(record_parts(entry, secret, key))


def _checksum(parts: Sequence[bytes | memoryview]) -> bytes:
    h = xxhash.xxh3_128()
    for part in parts:
        h.update(part)
    return h.digest()


class _Layout(NamedTuple):
    view: memoryview
    duration: float
    expires: float
    lengths: tuple[int, ...]
    meta_start: int
    meta_len: int


def _split(
    data: bytes | bytearray | memoryview, secret: bytes | None, key: str | None = None, verify: bool = True
) -> _Layout:
    view = memoryview(data)
    if len(view) < _HEADER.size:
        raise RecordError("record shorter than its header")
    magic, version, flags, n_parts, meta_len, duration, expires = _HEADER.unpack_from(view)
    if magic != MAGIC:
        raise RecordError("not a memo record")
    if version != FORMAT_VERSION:  # before any other field is used: their layout differs between formats
        raise RecordError(f"record format {version}, this memo reads {FORMAT_VERSION}")
    head_len = _HEADER.size + 8 * n_parts
    signed = bool(flags & _FLAG_SIGNED)
    check_end = head_len + (_SIG_LEN if signed else _SUM_LEN)
    if not n_parts or len(view) < check_end + meta_len:
        raise RecordError("record truncated in its header")
    lengths = struct.unpack_from(f">{n_parts}Q", view, _HEADER.size)
    if verify:
        if secret is not None and not signed:
            raise RecordError("record is not signed but a secret is set")
        if secret is None and signed:
            raise UnverifiableRecord("record is signed and this reader has no secret to verify it")
        if check_end + meta_len + sum(lengths) != len(view):
            raise RecordError("record length does not match its header")
        covered = [view[:head_len], view[check_end:]]
        expected = _sign(secret, key, covered) if secret is not None else _checksum(covered)
        if not _same(bytes(view[head_len:check_end]), expected):
            raise RecordError("record signature does not match" if signed else "record checksum does not match")
    return _Layout(view, duration, expires, lengths, check_end, meta_len)


def _same(a: bytes, b: bytes) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def read_meta(data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Metadata of a record (only its head is needed), without unpickling anything."""
    import json

    layout = _split(data, None, verify=False)
    try:
        meta = json.loads(bytes(layout.view[layout.meta_start : layout.meta_start + layout.meta_len]))
    except ValueError as exc:
        raise RecordError(f"record metadata is not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise RecordError("record metadata is not an object")
    return meta


def loads_record(data: bytes | bytearray | memoryview, secret: bytes | None = None, key: str | None = None) -> Entry:
    """Verify a record, then unpickle its value; RecordError if it is bad or expired.

    With a ``secret`` the signature must match for ``key`` (the key the record was read
    from); without one, a signed record raises :class:`UnverifiableRecord` and an
    unsigned one must match its checksum. Only the binary header is parsed on this path
    (the JSON metadata is for listings). Out-of-band buffers are handed to the unpickler
    as slices of ``data``; when ``data`` is read-only (``bytes``) they are copied once,
    so arrays come back writable like a freshly computed result. Pass a ``bytearray`` to
    skip that copy. With a secret, ``data`` other than ``bytes``/``bytearray`` (a view of
    a file mapping, of shared memory) is first copied into a private buffer, so the bytes
    verified are exactly the bytes unpickled, whatever another process writes meanwhile.
    """
    if secret is not None and type(data) is not bytes and type(data) is not bytearray:
        data = bytearray(data)
    view, duration, expires, lengths, offset, meta_len = _split(data, secret, key)
    if not expires > _time.time():  # after verification: the expiry is one of the checked bytes
        raise RecordError("record expired")
    offset += meta_len
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
    return Entry(value=value, duration=duration, expires=None if expires == _NEVER else expires)
