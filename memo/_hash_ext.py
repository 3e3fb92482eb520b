"""Content hashers for numpy and pandas, installed lazily on first sight of their types.

Arrays are hashed from their memory with xxh3_128: a C-contiguous buffer is hashed in
place (no copy); other layouts are hashed in C-order blocks of bounded size, so the
digest depends on content, dtype and shape, never on strides.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from memo._hashing import _ATOMS, buffer_digest, canon, register_hasher, stream_digest

_BLOCK = 1 << 22  # bytes per block when a non-contiguous array must be copied


def array_digest(a: Any) -> bytes:
    """xxh3_128 of an ndarray's logical content in C order (internal)."""
    import numpy as np

    a = np.asarray(a)  # plain ndarray view of subclasses (masked, matrix): no copy
    if a.flags.c_contiguous:
        flat: Any = a.reshape(-1).view(np.uint8)
        return buffer_digest(memoryview(flat) if a.size else memoryview(b""))
    if a.ndim == 0 or a.size == 0:
        return buffer_digest(memoryview(np.ascontiguousarray(a).tobytes()))
    return stream_digest(_blocks(a), a.nbytes)


def _blocks(a: Any) -> Iterator[memoryview]:
    """A non-contiguous array's bytes in C order, a few MiB of rows at a time."""
    import numpy as np

    flat_rows = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    rows = max(1, _BLOCK // max(1, flat_rows.shape[1] * a.itemsize))
    for start in range(0, flat_rows.shape[0], rows):
        block = np.ascontiguousarray(flat_rows[start : start + rows])
        chunk: Any = block.reshape(-1).view(np.uint8)
        yield memoryview(chunk)


def _dtype_form(dtype: Any) -> object:
    return tuple(map(str, dtype.descr)) if dtype.fields else dtype.str


def _hash_ndarray(a: Any) -> object:
    import numpy as np

    if a.dtype.hasobject:
        return ("object", a.shape, canon(a.tolist(), []))
    form: tuple[object, ...] = (_dtype_form(a.dtype), a.shape, array_digest(a))
    if isinstance(a, np.ma.MaskedArray):
        form += (array_digest(np.ma.getmaskarray(a)),)
    return form


def _hash_generic(x: Any) -> object:
    if x.dtype.hasobject:
        return ("object", canon(x.item(), []))
    return (_dtype_form(x.dtype), x.tobytes())


def install_numpy() -> None:
    """Register the numpy hashers (internal; runs when numpy types are first hashed)."""
    import numpy as np

    register_hasher(np.ndarray, _hash_ndarray)
    register_hasher(cast(type, np.generic), _hash_generic)
    register_hasher(np.dtype, _dtype_form)


def _values_digest(values: Any) -> object:
    """Digest of a 1-d pandas array-like: buffer hash when numpy-backed, else by element."""
    import numpy as np
    import pandas as pd

    if isinstance(values, np.ndarray) and not values.dtype.hasobject:
        return array_digest(values)
    if isinstance(values, pd.Categorical):
        return ("categorical", array_digest(np.asarray(values.codes)), _index_form(values.categories), values.ordered)
    if isinstance(values, np.ndarray):  # object dtype
        kind = pd.api.types.infer_dtype(values, skipna=False)
        if kind in ("string", "bytes") and len(values):
            return (kind, array_digest(pd.util.hash_array(values, categorize=False)))
        if _ATOMS.issuperset(map(type, values)):
            return ("atoms", canon(values.tolist(), []))
        return ("objects", canon(values.tolist(), []))
    # extension arrays (nullable ints, strings, arrow, intervals...): NA mask + element hashes
    na = np.asarray(pd.isna(values), dtype=bool)
    hashed = pd.util.hash_array(values, categorize=False) if len(values) else np.empty(0, np.uint64)
    return ("ext", array_digest(na), array_digest(np.asarray(hashed)))


def _index_form(index: Any) -> object:
    import pandas as pd

    if isinstance(index, pd.RangeIndex):
        return ("range", index.start, index.stop, index.step, canon(index.name, []))
    if isinstance(index, pd.MultiIndex):
        levels = tuple(_series_values(index.get_level_values(i)) for i in range(index.nlevels))
        return ("multi", canon(list(index.names), []), levels)
    return (type(index).__name__, str(index.dtype), canon(index.name, []), _series_values(index))


def _series_values(obj: Any) -> object:
    return (str(obj.dtype), _values_digest(obj.array._ndarray if _is_numpy_ea(obj) else obj.array))


def _is_numpy_ea(obj: Any) -> bool:
    return type(obj.array).__name__ == "NumpyExtensionArray"


def _hash_series(s: Any) -> object:
    return (canon(s.name, []), _index_form(s.index), _series_values(s))


def _hash_frame(df: Any) -> object:
    columns = tuple(_series_values(df.iloc[:, i]) for i in range(df.shape[1]))
    return (_index_form(df.columns), _index_form(df.index), columns)


def install_pandas() -> None:
    """Register the pandas hashers (internal; runs when pandas types are first hashed)."""
    import pandas as pd

    register_hasher(pd.Series, _hash_series)
    register_hasher(pd.DataFrame, _hash_frame)
    register_hasher(pd.Index, _index_form)
    register_hasher(pd.Categorical, lambda c: _values_digest(c))
