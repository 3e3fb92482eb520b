"""How many bytes a cached value holds: what ``MemoryBackend(max_bytes=...)`` counts.

``sys.getsizeof`` sees only an object's own header: a dataclass holding an 8 MiB array is
56 bytes to it. This walks what the value holds instead, within fixed bounds so that it
stays cheap on every store:

* arrays count their buffer: numpy by the memory they keep alive (a small view of a big
  array holds the whole base), pandas by ``memory_usage(deep=False)`` plus a sample of
  object columns, other array-likes by an integer ``nbytes``;
* containers, ``__dict__`` and ``__slots__`` attributes (so dataclass fields) are
  followed, each object once (a visited set: a shared array counts once);
* at most ``_SAMPLE`` items of one container are sized (spread over a list or tuple),
  the rest are extrapolated from them (leaving out the largest sampled item, so one big
  object shared by every item is not multiplied); at most ``_BUDGET`` objects in all and
  ``_DEPTH`` levels are followed, past which objects count their own size only;
* classes, modules, functions and code are shared program state: counted shallowly,
  never followed.

numpy and pandas are looked up in ``sys.modules``, never imported here.
"""

from __future__ import annotations

import collections
import itertools
import sys
import types
from typing import Any

__all__ = ["estimate_size"]

_SAMPLE = 256  # items of one container sized one by one
_BUDGET = 4096  # objects followed for one value
_DEPTH = 24  # nesting levels followed

_getsizeof = sys.getsizeof
_ATOMS = frozenset({int, float, bool, complex, str, bytes, bytearray, type(None)})
_SEQUENCES = frozenset({list, tuple})
_CONTAINERS = (list, tuple, dict, set, frozenset, collections.deque)
_OPAQUE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
)
_slot_names: dict[type, tuple[str, ...]] = {}


def estimate_size(value: Any) -> int:
    """Bytes ``value`` holds, estimated within fixed bounds (see the module docstring).

    Example::

        >>> estimate_size(Holder(array=np.zeros(2**20)))   # ~8 MiB, not 56 bytes
        8388784
    """
    if type(value) in _ATOMS:
        return _getsizeof(value)
    try:
        return _Sizer().size(value, 0)
    except Exception:  # an estimate must never stop a store: fall back to the object's own size
        try:
            return int(_getsizeof(value))
        except Exception:
            return 64


def _slots_of(cls: type) -> tuple[str, ...]:
    """Attribute names of ``cls``'s ``__slots__`` along its MRO (private names mangled)."""
    names = _slot_names.get(cls)
    if names is None:
        found: list[str] = []
        for klass in cls.__mro__:
            slots = klass.__dict__.get("__slots__", ())
            for name in (slots,) if isinstance(slots, str) else slots:
                if name in ("__dict__", "__weakref__"):
                    continue
                if name.startswith("__") and not name.endswith("__"):
                    name = f"_{klass.__name__.lstrip('_')}{name}"
                found.append(name)
        names = tuple(found)
        if len(_slot_names) > 1024:
            _slot_names.clear()
        _slot_names[cls] = names
    return names


class _Sizer:
    """One estimate: the objects already counted, and what is left of the budget."""

    __slots__ = ("budget", "np", "pd", "seen")

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.budget = _BUDGET
        self.np: Any = sys.modules.get("numpy")
        self.pd: Any = sys.modules.get("pandas")

    def size(self, obj: Any, depth: int) -> int:
        oid = id(obj)
        if oid in self.seen:
            return 0
        self.seen.add(oid)
        cls = type(obj)
        if cls in _ATOMS:
            return _getsizeof(obj)
        self.budget -= 1
        follow = self.budget > 0 and depth < _DEPTH
        depth += 1
        if cls is dict or cls in _SEQUENCES or isinstance(obj, _CONTAINERS):
            own = _getsizeof(obj)
            if not follow or not obj:
                return own
            if isinstance(obj, dict):
                return own + self.items(obj.items(), len(obj), depth, pairs=True)
            return own + self.items(obj, len(obj), depth)
        if isinstance(obj, _OPAQUE):
            return _getsizeof(obj)
        np, pd = self.np, self.pd
        if np is not None and isinstance(obj, np.ndarray):
            return self.ndarray(obj, depth, follow)
        if pd is not None and isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
            return self.pandas(obj, depth, follow)
        if isinstance(obj, memoryview):
            return _getsizeof(obj) + (self.size(obj.obj, depth) if follow and obj.obj is not None else obj.nbytes)
        try:
            own = _getsizeof(obj)
        except TypeError:  # a C type without __sizeof__ support
            own = 64
        if hasattr(cls, "nbytes"):  # looked up on the class: no AttributeError raised per plain object
            try:
                nbytes = obj.nbytes
            except Exception:  # a property that fails: no buffer to count
                nbytes = None
            if isinstance(nbytes, int) and not isinstance(nbytes, bool):
                # an array-like (torch, pyarrow, ...): its buffer, unless its __sizeof__ counts it already
                return own if own >= nbytes else own + nbytes
        if not follow:
            return own
        try:
            attrs = object.__getattribute__(obj, "__dict__")
        except Exception:  # no __dict__ (AttributeError), or a descriptor that fails
            attrs = None
        if isinstance(attrs, dict) and id(attrs) not in self.seen:
            # the attribute names are the class's (interned, shared by every instance): values only
            self.seen.add(id(attrs))
            own += _getsizeof(attrs) + self.items(attrs.values(), len(attrs), depth)
        for name in _slots_of(cls):
            try:
                own += self.size(object.__getattribute__(obj, name), depth)
            except Exception:  # a slot never set (AttributeError), or a property that fails
                continue
        return own

    def items(self, items: Any, count: int, depth: int, pairs: bool = False) -> int:
        """Sizes of a container's items (``pairs``: of dict items): up to ``_SAMPLE``, the rest extrapolated."""
        np = self.np
        if count <= _SAMPLE:
            sample: Any = items
        elif type(items) in _SEQUENCES or (np is not None and isinstance(items, np.ndarray)):
            step = count // _SAMPLE
            sample = items[: step * _SAMPLE : step]  # spread over the sequence
        else:
            sample = itertools.islice(items, _SAMPLE)
        size, seen, atoms = self.size, self.seen, _ATOMS
        total = biggest = taken = 0
        for item in sample:
            got = 0
            for x in item if pairs else (item,):
                if type(x) in atoms:  # inline self.size for the common leaves
                    oid = id(x)
                    if oid not in seen:
                        seen.add(oid)
                        got += _getsizeof(x)
                else:
                    got += size(x, depth)
            total += got
            if got > biggest:
                biggest = got
            taken += 1
            if self.budget <= 0:
                break
        if taken >= count or taken == 0:
            return total
        # the unsampled items are like the sampled ones, less the biggest (maybe one shared object)
        typical = (total - biggest) / (taken - 1) if taken > 1 else 0.0
        return total + int(typical * (count - taken))

    def ndarray(self, arr: Any, depth: int, follow: bool) -> int:
        """An array's header and buffer; a view counts the base it keeps alive instead."""
        own = int(_getsizeof(arr))  # header, plus the buffer when the array owns it
        base = arr.base
        if base is not None:
            own += self.size(base, depth) if follow else int(arr.nbytes)
        if arr.dtype.hasobject and follow and arr.size:
            flat = arr.reshape(-1) if arr.flags.c_contiguous else arr.ravel()
            own += self.items(flat, int(arr.size), depth)
        return own

    def pandas(self, obj: Any, depth: int, follow: bool) -> int:
        """``memory_usage(deep=False)`` (buffers and index), plus sampled values of object columns."""
        pd = self.pd
        try:
            if isinstance(obj, pd.Index):
                own = int(obj.memory_usage(deep=False))
                columns = [obj]
            elif isinstance(obj, pd.Series):
                own = int(obj.memory_usage(index=True, deep=False))
                columns = [obj, obj.index]
            else:
                own = int(obj.memory_usage(index=True, deep=False).sum())
                columns = [obj.iloc[:, i] for i, dtype in enumerate(obj.dtypes) if self.boxed(dtype)]
                columns.append(obj.index)
        except Exception:  # an exotic subclass or extension array: its header only
            return int(_getsizeof(obj))
        if not follow:
            return own
        for column in columns:
            if self.boxed(column.dtype) and len(column):
                values = column.to_numpy()  # no copy for object dtype
                own += self.items(values, len(values), depth)
        return own

    def boxed(self, dtype: Any) -> bool:
        """True when a pandas column holds Python objects: numpy object dtype or python-backed strings."""
        if isinstance(dtype, self.np.dtype):
            return bool(dtype.kind == "O")
        return getattr(dtype, "storage", None) == "python"
