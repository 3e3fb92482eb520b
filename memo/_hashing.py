"""Deterministic content hashing of call arguments.

Values are reduced to a *canonical form* (dicts in sorted-key order, sets as sorted
digests, numpy/pandas buffers replaced by their xxh3_128 digests, other objects by their
pickle reduction) and the canonical form is pickled by the C pickler in fast mode (no
memo, so identity never leaks into the bytes) and hashed with xxh3_128. Nothing is ever
keyed on ``str()`` or ``repr()``; anything without deterministic content raises
:class:`~memo.HashingError`.
"""

from __future__ import annotations

import copyreg
import enum
import io
import pickle
import re
import types
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any, TypeVar

import xxhash

from memo.exceptions import HashingError

__all__ = ["hash_arguments", "hash_value", "register_hasher"]

T = TypeVar("T")

# Exact types the C pickler serializes deterministically by content.
_ATOMS: frozenset[type] = frozenset({int, str, float, bool, type(None), bytes, complex})
_SORTABLE: frozenset[type] = frozenset({int, str, bytes})
_NUMBERS: frozenset[type] = frozenset({int, float, bool, complex})
_JOIN_MAX = 16 << 20  # record columns pickled to more than this check str columns without joining them
_DICT_ONLY: frozenset[type] = frozenset({dict})


class _Unhashable(Exception):
    """Internal: carries the offending value and why, to be turned into HashingError."""

    def __init__(self, value: object, why: str) -> None:
        super().__init__(why)
        self.value = value
        self.why = why


# Private tag classes: pickled as global references, so no user value can forge them.
class _TSet: ...


class _TFrozenSet: ...


class _TDict: ...


class _TType: ...


class _TFunc: ...


class _TObj: ...


class _TEnum: ...


class _TBuffer: ...


class _TCustom: ...


class _TReduce: ...


class _TRecords: ...


_registry: dict[type, Callable[[Any], object]] = {}
_lazy_modules: dict[str, Callable[[], None]] = {}
# (keys, their exact types) of a dict -> None when already in sorted order, the sorted keys
# when not, () when not sortable by value. The types are part of the lookup because tuple
# equality is not type-exact: (0, 1) == (False, True) == (0.0, 1.0).
_key_order: dict[tuple[tuple[object, ...], tuple[type, ...]], tuple[object, ...] | None] = {}
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{4,}")
_PASS_THROUGH: frozenset[str] = frozenset(
    {
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "uuid.UUID",
        "fractions.Fraction",
        "builtins.range",
        "builtins.slice",
        "builtins.ellipsis",
        "builtins.NotImplementedType",
        "zoneinfo.ZoneInfo",
        "pathlib.PurePath",
        "pathlib.Path",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
    }
)


def register_hasher(cls: type[T], fn: Callable[[T], object]) -> None:
    """Teach memo how to hash instances of ``cls`` (and its subclasses).

    ``fn(obj)`` returns any value memo can already hash (bytes, a tuple of numbers,
    a dict...); memo hashes that together with the type's qualified name::

        memo.register_hasher(Point, lambda p: (p.x, p.y))
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_hasher needs a class, got {cls!r}")
    if not callable(fn):
        raise TypeError(f"register_hasher needs a callable, got {fn!r}")
    _registry[cls] = fn


def register_lazy(module: str, installer: Callable[[], None]) -> None:
    """Run ``installer`` (which registers hashers) the first time a type from ``module`` is seen."""
    _lazy_modules[module] = installer


def _type_name(t: type) -> str:
    return f"{t.__module__}.{t.__qualname__}"


def _sorted_dict(d: dict[Any, Any], path: list[int]) -> object:
    keys = tuple(d)
    shape = (keys, tuple(map(type, keys)))
    order: tuple[object, ...] | None
    try:
        order = _key_order[shape]
    except KeyError:
        order = None
        try:
            if _SORTABLE.issuperset(map(type, keys)) and len(set(map(type, keys))) < 2:
                srt = tuple(sorted(keys))
                order = None if srt == keys else srt
            else:
                order = ()  # not sortable by value: digest path
        except TypeError:
            order = ()
        if len(_key_order) > 4096:
            _key_order.clear()
        _key_order[shape] = order
    if order == ():
        items = sorted((digest(canon(k, path)), canon(k, path), canon(v, path)) for k, v in d.items())
        return (_TDict, tuple((k, v) for _, k, v in items))
    if _ATOMS.issuperset(map(type, d.values())):
        return d if order is None else {k: d[k] for k in order}
    if order is None:
        return {k: canon(v, path) for k, v in d.items()}
    return {k: canon(d[k], path) for k in order}


def _canon_set(s: set[Any] | frozenset[Any], path: list[int]) -> object:
    tag = _TFrozenSet if type(s) is frozenset else _TSet
    types_ = set(map(type, s))
    if len(types_) == 1 and types_ <= _SORTABLE:
        return (tag, tuple(sorted(s)))
    return (tag, tuple(sorted(digest(canon(x, path)) for x in s)))


def canon(obj: object, path: list[int]) -> object:
    """Return a deterministic, picklable stand-in for ``obj`` (internal)."""
    t = type(obj)
    if t in _ATOMS:
        return obj
    if t is list or t is tuple:
        if _ATOMS.issuperset(map(type, obj)):  # type: ignore[call-overload]
            return obj
        records = _records(obj, t)  # type: ignore[arg-type]
        if records is not None:
            return records
        items = _inside(obj, path, lambda: [canon(x, path) for x in obj])  # type: ignore[attr-defined]
        return items if t is list else tuple(items)
    if t is dict:
        # Fast path: atom values under keys already seen in sorted order pickle as they are.
        mapping: dict[Any, Any] = obj  # type: ignore[assignment]
        if _ATOMS.issuperset(map(type, mapping.values())):
            keys = tuple(mapping)
            if _key_order.get((keys, tuple(map(type, keys))), ()) is None:
                return obj
        return _inside(obj, path, lambda: _sorted_dict(mapping, path))
    if t is set or t is frozenset:
        return _canon_set(obj, path)  # type: ignore[arg-type]
    return _canon_other(obj, t, path)


def _records(seq: Sequence[Any], t: type) -> object | None:
    """A list/tuple of flat dicts sharing one key set, as one table; ``None`` if it is not one.

    ``[{"id": 1, "ok": True}, {"ok": False, "id": 2}]`` becomes ``(_TRecords, True, ("id",
    "ok"), digest)``, the digest taken over one column of values per key, keys sorted, so
    key order never matters. Every check runs at C speed (no Python call per dict or per
    value). Whether a sequence qualifies depends only on its content (exact types
    included), so equal sequences always take the same form.
    """
    count = len(seq)
    if count < 2 or type(seq[0]) is not dict or set(map(type, seq)) != _DICT_ONLY:
        return None
    first: dict[Any, Any] = seq[0]
    width = len(first)
    key_types = list(map(type, chain.from_iterable(seq)))
    if not width or len(key_types) != width * count:
        return None
    kinds = set(key_types)  # a set, not list.count: == of two classes may run a metaclass's __eq__
    if len(kinds) != 1 or not kinds <= _SORTABLE:
        return None
    keys = tuple(sorted(first))
    try:
        columns = [list(map(itemgetter(key), seq)) for key in keys]
    except KeyError:
        return None
    # Every dict holds a key equal to each of the ``width`` keys of the first and all
    # dicts hold ``width * count`` keys in all: each holds exactly those, of one exact type.
    data = _atom_columns(columns)
    return None if data is None else (_TRecords, t is list, keys, data)


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
    """xxh3_128 of the pickle of ``columns`` if every value's exact type is one of ``_ATOMS``, else ``None``.

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
        if not _ATOMS.issuperset(map(type, column)):
            return None
    return sink.hasher.digest()


def _inside(container: object, path: list[int], build: Callable[[], Any]) -> Any:
    """Run ``build`` with ``container`` on the path of open containers; refuse cycles."""
    oid = id(container)
    if oid in path:
        raise _Unhashable(container, "it contains itself (a recursive structure)")
    path.append(oid)
    try:
        return build()
    finally:
        path.pop()


def _lookup(t: type) -> Callable[[Any], object] | None:
    fn = _registry.get(t)
    if fn is not None:
        return fn
    root = t.__module__.partition(".")[0]
    installer = _lazy_modules.pop(root, None)
    if installer is not None:
        installer()
        fn = _registry.get(t)
        if fn is not None:
            return fn
    for base in t.__mro__[1:]:
        fn = _registry.get(base)
        if fn is not None:
            return fn
    return None


def _canon_other(obj: object, t: type, path: list[int]) -> object:
    fn = _lookup(t)
    if fn is not None:
        return (_TCustom, _type_name(t), canon(fn(obj), path))
    if isinstance(obj, type):
        return (_TType, obj.__module__, obj.__qualname__)
    if isinstance(obj, types.ModuleType):  # a module is its name, like a global reference
        return (_TType, "<module>", obj.__name__)
    if isinstance(obj, enum.Enum):
        return (_TEnum, _type_name(t), obj.name)
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return _canon_function(obj, path)
    if isinstance(obj, (bytearray, memoryview)):
        view = memoryview(obj)
        return (_TBuffer, _type_name(t), view.format, view.shape, buffer_digest(view))
    if _type_name(t) in _PASS_THROUGH:
        return obj
    if hasattr(t, "__dataclass_fields__"):  # a dataclass: its module is loaded already
        import dataclasses

        fields = tuple((f.name, canon(getattr(obj, f.name), path)) for f in dataclasses.fields(obj))  # type: ignore[arg-type]
        return (_TObj, _type_name(t), fields)
    if isinstance(obj, (list, tuple, dict, set, frozenset, str, int, float, bytes)):
        return (_TObj, _type_name(t), canon(_builtin_base(obj), path), _reduce_state(obj, path))
    return _canon_reduce(obj, t, path)


def _builtin_base(obj: Any) -> object:
    bases: tuple[Any, ...] = (int, float, complex, str, bytes, list, tuple, dict, set, frozenset)
    for base in bases:
        if isinstance(obj, base):
            return base(obj)
    return None  # pragma: no cover


def _reduce_state(obj: object, path: list[int]) -> object:
    state = getattr(obj, "__dict__", None)
    return canon(state, path) if state else None


def _canon_function(fn: Any, path: list[int]) -> object:
    from memo._identity import code_fingerprint

    if isinstance(fn, types.MethodType):
        return (_TFunc, "method", canon(fn.__self__, path), canon(fn.__func__, path))
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", getattr(fn, "__name__", None))
    code = getattr(fn, "__code__", None)
    fingerprint = code_fingerprint(fn) if code is not None else ""
    cells: tuple[object, ...] = ()
    if getattr(fn, "__closure__", None) and id(fn) not in path:
        path.append(id(fn))
        try:
            cells = tuple(_cell(c, path) for c in fn.__closure__)
        finally:
            path.pop()
    return (_TFunc, module, qualname, fingerprint, cells)


def _cell(cell: Any, path: list[int]) -> object:
    try:
        value = cell.cell_contents
    except ValueError:  # an empty cell
        return _TFunc
    if callable(value) and id(value) in path:
        return (_TFunc, "recursive")
    return canon(value, path)


def _canon_reduce(obj: object, t: type, path: list[int]) -> object:
    oid = id(obj)
    if oid in path:
        raise _Unhashable(obj, "it contains itself (a recursive structure)")
    reducer = copyreg.dispatch_table.get(t)
    try:
        rv = reducer(obj) if reducer is not None else obj.__reduce_ex__(5)
    except Exception as exc:
        raise _Unhashable(obj, f"it cannot be pickled ({exc})") from None
    if isinstance(rv, str):  # a global singleton
        return (_TType, t.__module__, rv)
    func, args, *rest = tuple(rv) + (None,) * (5 - len(rv))
    state, listitems, dictitems = rest[0], rest[1], rest[2]
    identity_eq = getattr(t, "__eq__", None) is getattr(object, "__eq__", None)
    if identity_eq and not state and not listitems and not dictitems and not _has_content_args(func, args, t):
        raise _Unhashable(obj, "it has no content besides its identity (address)")
    path.append(oid)
    try:
        parts = (
            canon(func, path),
            canon(args, path),
            canon(state, path),
            canon(list(listitems), path) if listitems is not None else None,
            canon(dict(dictitems), path) if dictitems is not None else None,
        )
    finally:
        path.pop()
    _check_no_address(parts, obj)
    return (_TReduce, _type_name(t), parts)


def _has_content_args(func: object, args: object, t: type) -> bool:
    if func is copyreg.__newobj__ and isinstance(args, tuple):  # type: ignore[attr-defined]
        return len(args) > 1
    return bool(args)


def _check_no_address(parts: object, obj: object) -> None:
    stack = [parts]
    while stack:
        item = stack.pop()
        if type(item) is str and " at 0x" in item and _ADDRESS.search(item):
            raise _Unhashable(obj, "its pickled state carries a memory address")
        if type(item) in (tuple, list):
            stack.extend(item)  # type: ignore[arg-type]
        elif type(item) is dict:
            stack.extend(item.keys())
            stack.extend(item.values())


# Buffers of _PARALLEL_MIN bytes or more are hashed as fixed _CHUNK-byte chunks on a few
# threads (xxhash releases the GIL), then the chunk digests are hashed together. Chunking
# depends only on the length, so a digest never depends on the thread count.
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


def buffer_digest(view: memoryview) -> bytes:
    """xxh3_128 of a buffer's logical (C-order) content, without copying contiguous ones.

    Big buffers (32 MiB or more) are hashed in 8 MiB chunks on several threads; the
    result depends only on the bytes, as :func:`stream_digest` of the same bytes shows.
    """
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    flat = view.cast("B") if view.ndim != 1 or view.format != "B" else view
    total = flat.nbytes
    if total < _PARALLEL_MIN:
        return xxhash.xxh3_128_digest(flat)
    return _combine(_map_chunks([flat[i : i + _CHUNK] for i in range(0, total, _CHUNK)]), total)


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


def _dumps(canonical: object) -> bytes:
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    pickler.fast = True  # no memo: identity must not change the bytes
    pickler.dump(canonical)
    return buf.getvalue()


def digest(canonical: object) -> bytes:
    """xxh3_128 digest of an already canonical value (internal)."""
    return xxhash.xxh3_128_digest(_dumps(canonical))


def _hashing_error(name: str, exc: _Unhashable) -> HashingError:
    tname = _type_name(type(exc.value))
    return HashingError(
        f"cannot hash argument {name!r} of type {tname}: {exc.why}. memo keys calls on "
        f"argument content; leave it out with ignore=({name!r},), or pass key= to say "
        f"what to hash, or memo.register_hasher({type(exc.value).__qualname__}, fn)."
    )


def hash_value(obj: object) -> str:
    """Return the hex xxh3_128 digest memo uses for one value (handy in ``key=`` functions).

    Equal content gives equal digests in every process, whatever ``PYTHONHASHSEED`` is::

        >>> memo.hash_value({"a": 1, "b": 2}) == memo.hash_value({"b": 2, "a": 1})
        True
    """
    try:
        canonical = canon(obj, [])
        return xxhash.xxh3_128_hexdigest(_dumps(canonical))
    except _Unhashable as exc:
        raise _hashing_error("value", exc) from None
    except RecursionError:
        raise HashingError("cannot hash value: it is nested too deeply") from None


def hash_arguments(items: Iterable[tuple[str, object]]) -> str:
    """Hash named arguments; a failure names the parameter (internal)."""
    canonical: list[object] = []
    for name, value in items:
        try:
            canonical.append(name)
            canonical.append(canon(value, []))
        except _Unhashable as exc:
            raise _hashing_error(name, exc) from None
        except RecursionError:
            raise HashingError(f"cannot hash argument {name!r}: it is nested too deeply") from None
    try:
        return xxhash.xxh3_128_hexdigest(_dumps(canonical))
    except (pickle.PicklingError, TypeError, ValueError) as exc:
        raise HashingError(f"cannot hash the arguments: {exc}") from None


def _install_numpy() -> None:
    from memo._hash_ext import install_numpy

    install_numpy()


def _install_pandas() -> None:
    from memo._hash_ext import install_numpy, install_pandas

    install_numpy()
    install_pandas()


register_lazy("numpy", _install_numpy)
register_lazy("pandas", _install_pandas)
