"""The pandas hasher plug-in: frames, series, indexes and arrays by content (installed lazily).

Every column is hashed exactly: numpy-backed values from their buffers, nullable
(masked) arrays from their data and mask, Arrow-backed arrays by value (the pyarrow plug-in),
object values by their canonical forms. No ``astype(str)``, no 64-bit per-value hashes,
and ``-0.0`` stays apart from ``0.0``. A frame's and a series' ``attrs`` count too.

Only :func:`install` is run by memo, the first time a pandas type is hashed (see
``memo.hashers``); importing this module imports pandas and numpy, loaded by then.
"""

from __future__ import annotations

from typing import Any

import numpy as np  # the libraries themselves: absolute imports never resolve to memo.hashers.*
import pandas as pd

from memo._hash_buffers import buffer_digests
from memo._hashing import canon, register_hasher
from memo.hashers.numpy import array_digest, dtype_form

__all__ = ["index_form", "install", "series_values", "values_form"]

_NUMPY_ARRAY = type(pd.Series([0.0]).array).__name__  # NumpyExtensionArray (PandasArray before pandas 2.1)


def values_form(values: Any, digest: bytes | None = None) -> object:
    """Canonical form of a 1-d pandas array-like: a column's values, an Index's, a Categorical.

    ``digest`` is the already computed :func:`array_digest` of the plain ndarray behind
    ``values`` (see :func:`_column_digests`); the form is the same either way. Example::

        values_form(pd.array([1, None], dtype="Int64"))  # ("masked", "Int64", "<i8", data digest, mask digest)
    """
    if isinstance(values, np.ndarray):
        if values.dtype.hasobject:
            return ("objects", canon(values.tolist(), []))
        return ("ndarray", dtype_form(values.dtype), array_digest(values) if digest is None else digest)
    if isinstance(values, pd.Categorical):
        codes = np.asarray(values.codes)
        return (
            "categorical",
            dtype_form(codes.dtype),
            array_digest(codes),
            index_form(values.categories),
            values.ordered,
        )
    if isinstance(values, pd.api.extensions.ExtensionArray):
        mask = getattr(values, "_mask", None)
        data = getattr(values, "_data", None) if isinstance(mask, np.ndarray) else None  # pandas 2 warns on Arrow's
        if isinstance(mask, np.ndarray) and isinstance(data, np.ndarray):  # nullable Int64, Float64, boolean
            if mask.any():  # what lies under NA is not content
                data = data.copy()
                data[mask] = 0
            return ("masked", str(values.dtype), dtype_form(data.dtype), array_digest(data), array_digest(mask))
        arrow = getattr(values, "_pa_array", None)
        if arrow is not None:  # double[pyarrow], str, list columns: by value, whatever their chunks
            return ("arrow", str(values.dtype), canon(arrow, []))
        backing = getattr(values, "_ndarray", None)
        if isinstance(backing, np.ndarray):  # object, python-storage str, datetimes, periods
            return ("backed", type(values).__name__, str(values.dtype), values_form(backing, digest))
    return ("reduced", canon(values, []))  # intervals, sparse, third-party arrays: their pickled state


def index_form(index: Any) -> object:
    """Canonical form of a pandas Index: its kind, dtype, name, values and frequency.

    Example::

        index_form(pd.RangeIndex(3))  # ("range", 0, 3, 1, None)
    """
    if isinstance(index, pd.RangeIndex):
        return ("range", index.start, index.stop, index.step, canon(index.name, []))
    if isinstance(index, pd.MultiIndex):
        levels = tuple(series_values(index.get_level_values(i)) for i in range(index.nlevels))
        return ("multi", canon(list(index.names), []), levels)
    freq = getattr(index, "freqstr", None)
    return (type(index).__name__, str(index.dtype), canon(index.name, []), series_values(index), freq)


def series_values(obj: Any) -> object:
    """The dtype and values of a Series or Index.

    Example::

        series_values(pd.Series([1.5]))
        # ("float64", ("backed", "NumpyExtensionArray", "float64", ("ndarray", "<f8", digest)))
    """
    return (str(obj.dtype), values_form(obj.array))


def _hash_series(s: Any) -> object:
    return (canon(s.name, []), index_form(s.index), series_values(s), canon(s.attrs, []), _flags(s))


def _column_digests(arrays: list[Any]) -> list[bytes | None]:
    """The digests of the plain ndarrays behind numpy-backed column arrays, side by side on the hashing threads.

    Only a contiguous, non-object ndarray that ``values_form`` reaches as the ``backed``
    array of the column gets one; every other column gets None and is hashed in turn.
    """
    views: list[memoryview | None] = []
    for values in arrays:
        backing = getattr(values, "_ndarray", None)
        if not isinstance(backing, np.ndarray):
            views.append(None)
            continue
        plain = (
            not isinstance(values, pd.Categorical)
            and not (isinstance(getattr(values, "_mask", None), np.ndarray) or hasattr(values, "_pa_array"))
            and not backing.dtype.hasobject
            and backing.flags.c_contiguous
            and backing.size > 0
        )
        flat: Any = backing.reshape(-1).view(np.uint8) if plain else None  # exactly what array_digest hashes
        views.append(memoryview(flat) if plain else None)
    return buffer_digests(views)


_COPY_AT_MOST = 16 << 20  # bytes of a strided one-block frame copied to column order, at most
_PLAIN_KINDS = frozenset("biufc")  # numpy dtypes a column holds as a NumpyExtensionArray (not datetimes, objects)


def _one_block_columns(df: Any) -> tuple[object, ...] | None:
    """The column forms of a frame whose columns are one numeric numpy array, without a Series per column.

    The very forms :func:`_column_forms` builds (``values_form`` of each column's
    NumpyExtensionArray), from ``df.to_numpy()``: a view when its columns are contiguous,
    else a column-order copy when it is small; None for any other frame.
    """
    if getattr(getattr(df, "_mgr", None), "nblocks", None) != 1:
        return None  # several blocks: to_numpy() would copy them all; the general path reads them in place
    dtypes = list(df.dtypes)
    if len(dtypes) < 2:
        return None
    first = dtypes[0]
    if not isinstance(first, np.dtype) or first.kind not in _PLAIN_KINDS or any(d != first for d in dtypes):
        return None
    values = df.to_numpy(copy=False)
    if values.dtype != first or values.shape[0] == 0:
        return None
    if not values.flags.f_contiguous:  # a frame over a C-order array (pandas 2 keeps it): strided columns
        if values.nbytes > _COPY_AT_MOST:
            return None  # big: the general path reads each strided column in bounded pieces
        values = np.asfortranarray(values)  # small: one copy makes every column contiguous
    flat: Any = values.T.reshape(-1).view(np.uint8)  # the columns one after another, no copy (F order)
    size = values.shape[0] * first.itemsize
    views: list[memoryview | None] = [memoryview(flat[i * size : (i + 1) * size]) for i in range(values.shape[1])]
    name, form = str(first), dtype_form(first)
    return tuple((name, ("backed", _NUMPY_ARRAY, name, ("ndarray", form, d))) for d in buffer_digests(views))


def _column_forms(df: Any) -> tuple[object, ...]:
    """Each column's dtype and :func:`values_form`, by position (duplicate labels too)."""
    series = [column for _, column in df.items()]  # without iloc's indexing cost
    arrays = [s.array for s in series]  # each built once: .array makes a new wrapper per call
    digests = _column_digests(arrays)
    return tuple((str(s.dtype), values_form(a, d)) for s, a, d in zip(series, arrays, digests))


def _hash_frame(df: Any) -> object:
    columns = _one_block_columns(df)
    if columns is None:
        columns = _column_forms(df)
    return (index_form(df.columns), index_form(df.index), columns, canon(df.attrs, []), _flags(df))


def _flags(obj: Any) -> bool:
    return bool(obj.flags.allows_duplicate_labels)


def install() -> None:
    """Register the pandas hashers through ``register_hasher``, as a user would.

    memo runs it the first time a pandas type is hashed (numpy values inside install the
    numpy plug-in the same way when they are reached); by hand::

        memo.hashers.pandas.install()
    """
    register_hasher(pd.Series, _hash_series)
    register_hasher(pd.DataFrame, _hash_frame)
    register_hasher(pd.Index, index_form)
    register_hasher(pd.Categorical, values_form)
