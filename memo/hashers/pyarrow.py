"""The pyarrow hasher plug-in: arrays, chunked arrays, tables and record batches by value (installed lazily).

Arrow data is immutable but its memory layout is not canonical: the same values can sit
in one chunk or several (pandas grows a ``str`` column index chunk by chunk), in a slice
with an offset into a bigger buffer, or carry an all-valid bitmap. Hashing the buffers as
they lie would give equal data different keys, so a frame read back from a file cache
would miss what the frame it was stored from computed. So :func:`array_form` reads only
the bytes that belong to the values: flat columns (numbers, strings, ...) from their
buffers in place, sliced or nested ones after a copy to exact buffers, nested ones
through Arrow IPC (which carries dictionaries, children and extension metadata), and
the type is always part of the form, so unequal data never shares a key. Bytes under a
null slot still count (Arrow leaves them unspecified: differing ones cost a miss, never
a wrong hit).

Only :func:`install` is run by memo, the first time an Arrow value is hashed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa  # the library itself: absolute imports never resolve to memo.hashers.*

from memo._hash_buffers import buffer_digest
from memo._hashing import register_hasher

__all__ = ["array_form", "install"]


_STRINGS = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)


def _has_dictionary(arrow_type: pa.DataType) -> bool:
    """Whether a dictionary sits anywhere in the type: at the top, in a child, or in an extension's storage."""
    if pa.types.is_dictionary(arrow_type):
        return True
    if isinstance(arrow_type, pa.BaseExtensionType):
        return _has_dictionary(arrow_type.storage_type)
    return any(_has_dictionary(arrow_type.field(i).type) for i in range(arrow_type.num_fields))


def _one_array(values: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """The values as one array; chunk boundaries are layout, and one chunk is used as it is (no copy).

    None when the chunks cannot be joined without loss: joining chunks whose dictionaries
    differ unifies the dictionaries, and Arrow's unifier merges ``-0.0`` with ``0.0``, so
    the chunks ``[0.0], [-0.0]`` would come out as ``[0.0, 0.0]``.
    """
    if not isinstance(values, pa.ChunkedArray):
        return values
    chunks = [chunk for chunk in values.chunks if len(chunk)]  # an empty chunk holds no values
    if len(chunks) == 1:
        return chunks[0]
    if chunks and _has_dictionary(values.type):
        return None
    return values.combine_chunks()  # also right for no chunks: an empty array of the type


def _view(buffer: pa.Buffer | None) -> memoryview:
    """A buffer's bytes; an absent one (Arrow allows it for zero-length arrays, as C data imports give) is empty."""
    return memoryview(b"") if buffer is None else memoryview(buffer)


def _bits(buffer: pa.Buffer | None, length: int) -> bytes:
    """The first ``length`` bits of a bitmap, bits past the end zeroed (Arrow leaves them unspecified)."""
    whole, rest = divmod(length, 8)
    bits = bytearray(_view(buffer)[: whole + (rest > 0)])
    if rest:
        bits[-1] &= (1 << rest) - 1
    return bytes(bits)


def _fixed_width(arrow_type: pa.DataType) -> int | None:
    """Bytes per value of a flat fixed-width type (ints, floats, temporals, decimals, fixed binary), else None."""
    if pa.types.is_dictionary(arrow_type) or pa.types.is_nested(arrow_type) or pa.types.is_boolean(arrow_type):
        return None
    try:
        bits = int(arrow_type.bit_width)
    except ValueError:  # variable width
        return None
    return bits // 8 if bits % 8 == 0 else None


def _flat_form(array: pa.Array) -> object | None:
    """The values of a flat array starting at offset 0, from its buffers in place; None for other layouts.

    Only the bytes that belong to the values are read: an all-valid bitmap is skipped,
    bitmap bits past the end are masked, spare buffer bytes are never reached.
    """
    if array.offset != 0 or isinstance(array.type, pa.ExtensionType):
        return None
    n = len(array)
    buffers = array.buffers()
    validity = _bits(buffers[0], n) if array.null_count and buffers[0] is not None else None
    width = _fixed_width(array.type)
    if width is not None:
        return ("fixed", validity, buffer_digest(_view(buffers[1])[: n * width]))
    if pa.types.is_boolean(array.type):
        return ("bits", validity, _bits(buffers[1], n))
    if any(test(array.type) for test in _STRINGS):
        offset_type = (
            np.int64 if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type) else np.int32
        )
        if n == 0:  # Arrow allows an empty offsets buffer for no values: the offsets of any empty array
            offsets = np.zeros(1, dtype=offset_type)
        else:
            offsets = np.frombuffer(buffers[1], dtype=offset_type, count=n + 1)
        if offsets[0] != 0:
            return None
        data = _view(buffers[2])[: int(offsets[-1])]
        return ("strings", validity, buffer_digest(memoryview(offsets.data)), buffer_digest(data))
    return None


def _ipc_digest(array: pa.Array) -> bytes:
    """xxh3_128 of the array as one Arrow IPC stream: its type (dictionaries, children, extensions) and values."""
    batch = pa.RecordBatch.from_arrays([array], names=["v"])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return buffer_digest(memoryview(sink.getvalue()))


def array_form(values: pa.Array | pa.ChunkedArray) -> object:
    """The canonical form of Arrow values: equal values give one form whatever their chunks, offsets or spare bytes.

    Flat arrays (numbers, temporals, decimals, booleans, strings, binaries) are read from
    their buffers in place; sliced ones are first copied to exact buffers
    (``concat_arrays``), string and binary views as their ``large_`` form, and nested,
    dictionary and extension arrays go through Arrow IPC after that copy, so one type
    always takes one path. Chunks holding dictionaries are
    hashed one by one (joining them would unify their dictionaries, which is lossy). Example::

        array_form(pa.chunked_array([["a"], ["b"]])) == array_form(pa.chunked_array([["a", "b"]]))
    """
    array = _one_array(values)
    if array is None:  # chunks with dictionaries, each by value in order: other chunking is a miss, never a wrong hit
        chunks = tuple(array_form(chunk) for chunk in values.chunks if len(chunk))
        return (str(values.type), len(values), values.null_count, ("chunks", chunks))
    if pa.types.is_string_view(array.type) or pa.types.is_binary_view(array.type):
        # Which buffer a long value sits in, and where, is layout (chunks, slices and
        # concatenation move it): the values, as their large offsets form, are not.
        values_only = array.cast(pa.large_string() if pa.types.is_string_view(array.type) else pa.large_binary())
        form = _flat_form(values_only) or _flat_form(pa.concat_arrays([values_only]))
        return (str(array.type), len(array), array.null_count, ("views", form))
    form = _flat_form(array)
    if form is None:
        array = pa.concat_arrays([array])  # offset 0, exact buffers, rebased offsets, sliced children
        form = _flat_form(array)
    if form is None:
        form = ("ipc", _ipc_digest(array))
    return (str(array.type), len(array), array.null_count, form)


def _hash_columns(data: pa.Table | pa.RecordBatch) -> object:
    # The serialized schema: field names, types, nullability, field and schema metadata, all of
    # it (a metadata key given twice too, which schema.metadata as a dict would collapse).
    schema = buffer_digest(memoryview(data.schema.serialize()))
    return (schema, data.num_rows, tuple(array_form(column) for column in data.columns))


def install() -> None:
    """Register the pyarrow hashers through ``register_hasher``, as a user would.

    memo runs it the first time an Arrow value is hashed (pandas' Arrow-backed columns
    reach it through the pandas plug-in); by hand::

        memo.hashers.pyarrow.install()
    """
    register_hasher(pa.Array, array_form)
    register_hasher(pa.ChunkedArray, array_form)
    register_hasher(pa.Table, _hash_columns)
    register_hasher(pa.RecordBatch, _hash_columns)
