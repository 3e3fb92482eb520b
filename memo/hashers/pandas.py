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


def _column_digests(columns: list[Any]) -> list[bytes | None]:
    """The digests of the plain ndarrays behind numpy-backed columns, side by side on the hashing threads.

    Only a contiguous, non-object ndarray that ``values_form`` reaches as the ``backed``
    array of the column gets one; every other column gets None and is hashed in turn.
    """
    views: list[memoryview | None] = []
    for column in columns:
        values = column.array
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


def _hash_frame(df: Any) -> object:
    series = [column for _, column in df.items()]  # by position (duplicate labels too), without iloc's indexing cost
    digests = _column_digests(series)
    columns = tuple((str(s.dtype), values_form(s.array, d)) for s, d in zip(series, digests))
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
