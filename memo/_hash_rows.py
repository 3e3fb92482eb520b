"""The hashing engine's table fast path for lists of flat dicts (rows), checked at C speed.

A list or tuple of two or more exact ``dict`` rows that hold the same keys *in the same
order*, of one exact key type (``int``, ``str`` or ``bytes``), with atom values only, is
hashed as one table: the keys (in their order) and the xxh3_128 of one column of values
per key. Key order is part of a dict's content (code observes it: a data-frame library
orders its columns by it), so rows whose key order differs never take one form.
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import xxhash

__all__ = ["ATOMS", "SORTABLE", "row_table"]

# Exact types the C pickler serializes deterministically by content. Defined here, below the
# engine, because the row check needs them; the rest of memo imports them from memo._hashing.
ATOMS: frozenset[type] = frozenset({int, str, float, bool, type(None), bytes, complex})
# Exact types whose == is exact within the type (and which sort by value).
SORTABLE: frozenset[type] = frozenset({int, str, bytes})
_NUMBERS: frozenset[type] = frozenset({int, float, bool, complex})
_JOIN_MAX = 16 << 20  # record columns pickled to more than this check str columns without joining them
_DICT_ONLY: frozenset[type] = frozenset({dict})


def row_table(seq: Sequence[Any]) -> tuple[tuple[object, ...], bytes] | None:
    """``(keys, digest)`` when ``seq`` is a table of flat dicts, else ``None``.

    ``[{"id": 1, "ok": True}, {"id": 2, "ok": False}]`` gives ``(("id", "ok"), digest)``,
    the digest taken over one column of values per key, in key order. Every check runs
    at C speed (no Python call per dict or per value). Whether a sequence qualifies
    depends only on its content (exact types included), so equal sequences always take
    the same form.
    """
    if len(seq) < 2 or type(seq[0]) is not dict or set(map(type, seq)) != _DICT_ONLY:
        return None
    # Key types first (a set, not list.count: == of two classes may run a metaclass's
    # __eq__); with one exact type among int/str/bytes, == between keys is exact...
    flat = list(chain.from_iterable(seq))
    kinds = set(map(type, flat))
    if len(kinds) != 1 or not kinds <= SORTABLE:
        return None
    # ...so when all the keys in a row are the first row's keys repeated, every row holds
    # exactly those keys in that order: a row longer than the first would repeat a key.
    keys = tuple(seq[0])
    if flat != list(keys) * len(seq):
        return None
    columns = [list(map(itemgetter(key), seq)) for key in keys]
    data = _atom_columns(columns)
    return None if data is None else (keys, data)


class _NotAtom(Exception):
    """Internal: the columns hold a value the C pickler does not serialize natively."""


class _Sink:
    """A file the pickler writes its frames (~64 KiB each) to, hashed as they come (no buffer)."""

    __slots__ = ("hasher", "size")

    def __init__(self) -> None:
        self.hasher = xxhash.xxh3_128()
        self.size = 0

    def write(self, frame: bytes) -> None:
        self.hasher.update(frame)
        self.size += len(frame)


class _AtomPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        # Called for every value the C pickler has no built-in code for: of the atoms,
        # only complex; anything else (a str subclass, an enum, a Decimal...) is no atom.
        if type(obj) is complex or obj is complex:  # a complex pickles as complex(real, imag)
            return NotImplemented
        raise _NotAtom


def _atom_columns(columns: list[list[Any]]) -> bytes | None:
    """xxh3_128 of the pickle of ``columns`` if every value's exact type is one of ``ATOMS``, else ``None``.

    The pickler refuses every type it has no built-in code for, so what is left are
    builtins; then ``"".join`` or ``sum`` (which refuse containers, ``None`` and each
    other's types) check a whole column in C without a type() call per value.
    """
    sink = _Sink()
    pickler = _AtomPickler(sink, protocol=5)
    pickler.fast = True
    try:
        pickler.dump(columns)
    except (_NotAtom, pickle.PicklingError, ValueError, RecursionError):  # ValueError: a cycle in fast mode
        return None
    for column in columns:
        kind = type(column[0])
        try:
            if kind is str:
                if sink.size <= _JOIN_MAX:
                    "".join(column)
                else:  # no joined copy of a big text column
                    deque(map(str.__len__, column), 0)
                continue
            if kind in _NUMBERS:
                sum(column)
                continue
        except (TypeError, ArithmeticError):
            pass  # a mixed column (None among numbers, say): check each value's type
        if not ATOMS.issuperset(map(type, column)):
            return None
    return sink.hasher.digest()
