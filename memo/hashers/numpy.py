"""The numpy hasher plug-in: arrays, scalars and dtypes by content (installed lazily).

Arrays are hashed from their memory with xxh3_128: a C-contiguous buffer is hashed in
place (no copy); other layouts are hashed in C-order blocks of bounded size, so the
digest depends on content, dtype and shape, never on strides. ``np.memmap`` hashes like
the ``ndarray`` it views (a function fed an array loaded with ``mmap_mode="r"`` hits what
it computed from the array); other subclasses keep their type and their instance state.

Only :func:`install` is run by memo, the first time a numpy type is hashed (see
``memo.hashers``); importing this module imports numpy, which is loaded by then.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import numpy as np  # the library itself: absolute imports never resolve to this module

from memo._hashing import buffer_digest, canon, register_alias, register_hasher, stream_digest

__all__ = ["array_digest", "dtype_form", "install"]

_BLOCK = 1 << 22  # bytes per block when a non-contiguous array must be copied


def array_digest(a: Any) -> bytes:
    """xxh3_128 of an ndarray's logical content in C order, whatever its strides.

    Shared with the pandas plug-in (column buffers)::

        array_digest(np.arange(6).reshape(2, 3).T) == array_digest(np.array([[0, 3], [1, 4], [2, 5]]))
    """
    a = np.asarray(a)  # plain ndarray view of subclasses (masked, matrix): no copy
    if a.flags.c_contiguous:
        flat: Any = a.reshape(-1).view(np.uint8)
        return buffer_digest(memoryview(flat) if a.size else memoryview(b""))
    if a.ndim == 0 or a.size == 0:
        return buffer_digest(memoryview(np.ascontiguousarray(a).tobytes()))
    return stream_digest(_blocks(a), a.nbytes)


def _blocks(a: Any) -> Iterator[memoryview]:
    """A non-contiguous array's bytes in C order, a few MiB of rows at a time."""
    flat_rows = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    rows = max(1, _BLOCK // max(1, flat_rows.shape[1] * a.itemsize))
    for start in range(0, flat_rows.shape[0], rows):
        block = np.ascontiguousarray(flat_rows[start : start + rows])
        chunk: Any = block.reshape(-1).view(np.uint8)
        yield memoryview(chunk)


def dtype_form(dtype: Any) -> object:
    """A dtype's exact description: ``'<f8'``, or the fields of a structured dtype.

    Example::

        dtype_form(np.dtype("float64")) == "<f8"
    """
    return tuple(map(str, dtype.descr)) if dtype.fields else dtype.str


def _hash_ndarray(a: Any) -> object:
    content = ("object", canon(a.tolist(), [])) if a.dtype.hasobject else array_digest(a)
    form: tuple[object, ...] = (dtype_form(a.dtype), a.shape, content)
    if isinstance(a, np.ma.MaskedArray):  # the mask, and what filled() and assignment do
        fill = canon(a.fill_value, [])
        return (*form, "masked", array_digest(np.ma.getmaskarray(a)), fill, bool(a.hardmask))
    if type(a) is not np.ndarray and not isinstance(a, np.memmap):
        state = {k: v for k, v in vars(a).items()} if hasattr(a, "__dict__") else {}
        return (*form, "state", canon(state, []))
    return form


def _hash_generic(x: Any) -> object:
    if x.dtype.hasobject:
        return ("object", canon(x.item(), []))
    return (dtype_form(x.dtype), x.tobytes())


def install() -> None:
    """Register the numpy hashers through ``register_hasher``, as a user would.

    memo runs it the first time a numpy type is hashed; by hand::

        memo.hashers.numpy.install()
    """
    register_hasher(np.ndarray, _hash_ndarray)
    register_hasher(np.memmap, _hash_ndarray)
    register_alias(np.memmap, np.ndarray)
    register_hasher(cast(type, np.generic), _hash_generic)
    register_hasher(np.dtype, dtype_form)
