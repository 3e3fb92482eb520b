"""xxh3_128 digests of buffers: in place when contiguous, chunked on threads when big.

Buffers of ``_PARALLEL_MIN`` bytes or more are hashed as fixed ``_CHUNK``-byte chunks on
a few threads (xxhash releases the GIL), then the chunk digests are hashed together.
Chunking depends only on the length, so a digest never depends on the thread count.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import xxhash

__all__ = ["buffer_digest", "buffer_digests", "stream_digest"]

_CHUNK = 8 << 20
_PARALLEL_MIN = 32 << 20
_pool_state: dict[str, Any] = {"pid": 0, "pool": None}


def _map_chunks(chunks: list[memoryview]) -> list[bytes]:
    import os

    workers = min(4, os.cpu_count() or 1)
    if workers < 2:
        return [xxhash.xxh3_128_digest(c) for c in chunks]
    pool = _pool_state["pool"]
    if pool is None or _pool_state["pid"] != os.getpid():  # a forked child has none of the parent's threads
        from concurrent.futures import ThreadPoolExecutor

        pool = _pool_state["pool"] = ThreadPoolExecutor(workers, thread_name_prefix="memo-hash")
        _pool_state["pid"] = os.getpid()
    return list(pool.map(xxhash.xxh3_128_digest, chunks))


def _combine(digests: list[bytes], total: int) -> bytes:
    return xxhash.xxh3_128_digest(b"memo-chunks" + total.to_bytes(8, "little") + b"".join(digests))


def buffer_flat(view: memoryview) -> memoryview:
    """A view's logical (C-order) bytes as a flat byte view; copied only when not contiguous."""
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    try:
        return view.cast("B") if view.ndim != 1 or view.format != "B" else view
    except TypeError:  # a format cast() does not know (a struct, say): its bytes as they are
        return memoryview(view.tobytes())


def buffer_digest(view: memoryview) -> bytes:
    """xxh3_128 of a buffer's logical (C-order) content, without copying contiguous ones.

    Big buffers (32 MiB or more) are hashed in 8 MiB chunks on several threads; the
    result depends only on the bytes, as :func:`stream_digest` of the same bytes shows.
    """
    flat = buffer_flat(view)
    total = flat.nbytes
    if total < _PARALLEL_MIN:
        return xxhash.xxh3_128_digest(flat)
    return _combine(_map_chunks([flat[i : i + _CHUNK] for i in range(0, total, _CHUNK)]), total)


def buffer_digests(views: list[memoryview | None]) -> list[bytes | None]:
    """:func:`buffer_digest` of each view (``None`` stays ``None``), on the threads when together they are big.

    For the columns of a frame: ten 10 MiB columns are each below the size that is split
    into chunks, but 100 MiB together; hashing them side by side uses every core. Each
    digest is exactly ``buffer_digest(view)``, so no key depends on which path ran::

        buffer_digests([memoryview(b"a"), None]) == [buffer_digest(memoryview(b"a")), None]
    """
    small = [v for v in views if v is not None and v.nbytes < _PARALLEL_MIN]
    if len(small) < 2 or sum(v.nbytes for v in small) < _PARALLEL_MIN:
        return [None if v is None else buffer_digest(v) for v in views]
    done = iter(_map_chunks([buffer_flat(v) for v in small]))  # the pool never waits on itself: no big view here
    return [None if v is None else (next(done) if v.nbytes < _PARALLEL_MIN else buffer_digest(v)) for v in views]


def stream_digest(pieces: Iterable[memoryview], total: int) -> bytes:
    """:func:`buffer_digest` of the concatenation of ``pieces`` (``total`` bytes), fed in order."""
    h = xxhash.xxh3_128()
    if total < _PARALLEL_MIN:
        for piece in pieces:
            h.update(piece)
        return h.digest()
    digests: list[bytes] = []
    filled = 0
    for piece in pieces:
        rest = piece.cast("B") if piece.format != "B" or piece.ndim != 1 else piece
        while rest.nbytes:
            take = min(rest.nbytes, _CHUNK - filled)
            h.update(rest[:take])
            rest = rest[take:]
            filled += take
            if filled == _CHUNK:
                digests.append(h.digest())
                h, filled = xxhash.xxh3_128(), 0
    if filled:
        digests.append(h.digest())
    return _combine(digests, total)
