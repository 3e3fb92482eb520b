"""Deterministic content hashing of call arguments.

Values are reduced to a *canonical form* and the canonical form is pickled by the C
pickler in fast mode (no memo, so identity never leaks into the bytes) and hashed with
xxh3_128. Nothing is ever keyed on ``str()`` or ``repr()``; anything without
deterministic content raises :class:`~memo.HashingError`. The forms:

- atoms (exact ``int``, ``float``, ``bool``, ``None``, ``str``, ``bytes``, ``complex``),
  lists and tuples of canonical forms stand for themselves;
- a dict keeps its insertion order (code observes it): a dict of atom keys stays a dict
  of canonical values, any other dict becomes ``(_TDict, [(key, value), ...])``;
- a set is ``(tag, _TByValue, sorted values)`` when its values are of one sortable type,
  else ``(tag, _TByDigest, sorted digests)``: the two never coincide;
- every other form is a tuple led by one of the private ``_T*`` classes below, which
  pickle as global references, so no user value can forge one (``docs/hashing.md``).

This module is the engine: it names no third-party library. Hashers for other libraries
are plug-ins, one module per library, built on its internal API (``__all__`` below): they
register with :func:`register_hasher`, exactly as a user does, from an installer that
:func:`register_lazy` runs the first time a type of their library is hashed.
"""

from __future__ import annotations

import copyreg
import enum
import io
import pickle
import re
import sys
import types
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import xxhash

from memo._hash_buffers import buffer_digest, stream_digest
from memo._hash_errors import Unhashable as _Unhashable
from memo._hash_errors import failed as _failed
from memo._hash_errors import hashing_error as _hashing_error
from memo._hash_errors import type_name as _type_name
from memo._hash_errors import what as _what
from memo._hash_lazy import install_pending as _install_pending
from memo._hash_lazy import register_lazy
from memo._hash_rows import ATOMS, SORTABLE, row_table
from memo.exceptions import HashingError

# The engine's API for the rest of memo and for hasher plug-ins: import these
# names from here, never an underscore name.
__all__ = [
    "ATOMS",
    "SORTABLE",
    "buffer_digest",
    "canon",
    "digest",
    "hash_arguments",
    "hash_value",
    "register_alias",
    "register_hasher",
    "register_lazy",
    "stream_digest",
]

T = TypeVar("T")


# Private tag classes: pickled as global references, so no user value can forge them.
class _TSet: ...


class _TFrozenSet: ...


class _TByValue: ...


class _TByDigest: ...


class _TDict: ...


class _TType: ...


class _TFunc: ...


class _TObj: ...


class _TEnum: ...


class _TBuffer: ...


class _TCustom: ...


class _TReduce: ...


class _TRecords: ...


class _TSlice: ...


_NEWOBJ = (_TFunc, "copyreg.__newobj__")
_DISPATCH_TABLE = copyreg.dispatch_table
_OBJECT_EQ = object.__eq__
# Forms _check_no_address need not open: checked when built, or names and digests only.
_CHECKED: frozenset[object] = frozenset({_TReduce, _TType, _TFunc, _TEnum, _TBuffer, _TRecords})
_Handler = Callable[[Any, type, list[int]], object]
_registry: dict[type, Callable[[Any], object]] = {}
_dispatch: dict[type, _Handler] = {}  # exact type -> its canonicaliser; emptied when a hasher is registered
_aliases: dict[type, type] = {}  # types hashed under another's name (a memory-mapped array as the array)
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
_BUILTIN_BASES: tuple[type, ...] = (int, float, complex, str, bytes, list, tuple, dict, set, frozenset)


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
    # A plug-in for cls's library installs first, so what is registered last wins whatever
    # the order: a user's hasher for a library type is never overwritten by the plug-in.
    _install_pending(cls)
    _registry[cls] = fn
    _dispatch.clear()


def register_alias(cls: type, as_type: type) -> None:
    """Hash instances of ``cls`` exactly like those of ``as_type``, under its name (internal).

    For a view type that must hit what its base computed (a memory-mapped array hashes as
    the in-memory array it equals)::

        register_alias(MappedArray, Array)
    """
    _install_pending(cls)
    _aliases[cls] = as_type
    _dispatch.clear()


def canon(obj: object, path: list[int]) -> object:
    """Return a deterministic, picklable stand-in for ``obj`` (internal)."""
    t = type(obj)
    if t in ATOMS:
        return obj
    if t is list or t is tuple:
        if ATOMS.issuperset(map(type, obj)):  # type: ignore[call-overload]
            return obj
        table = row_table(obj)  # type: ignore[arg-type]
        if table is not None:
            return (_TRecords, t is list, table[0], table[1])
        items = _inside(obj, path, lambda: [canon(x, path) for x in obj])  # type: ignore[attr-defined]
        return items if t is list else tuple(items)
    if t is dict:
        mapping: dict[Any, Any] = obj  # type: ignore[assignment]
        if ATOMS.issuperset(map(type, mapping)):  # atom keys: the dict pickles in its own order
            if ATOMS.issuperset(map(type, mapping.values())):
                return obj
            return _inside(obj, path, lambda: {k: canon(v, path) for k, v in mapping.items()})
        return _inside(obj, path, lambda: (_TDict, [(canon(k, path), canon(v, path)) for k, v in mapping.items()]))
    if t is set or t is frozenset:
        return _canon_set(obj, path)  # type: ignore[arg-type]
    return _canon_other(obj, t, path)


def _canon_set(s: set[Any] | frozenset[Any], path: list[int]) -> object:
    tag = _TFrozenSet if type(s) is frozenset else _TSet
    kinds = set(map(type, s))
    if len(kinds) == 1 and kinds <= SORTABLE:
        return (tag, _TByValue, tuple(sorted(s)))
    return (tag, _TByDigest, tuple(sorted(digest(canon(x, path)) for x in s)))


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
    _install_pending(t)
    for base in t.__mro__:
        fn = _registry.get(base)
        if fn is not None:
            return fn
    return None


def _canon_other(obj: object, t: type, path: list[int]) -> object:
    handler = _dispatch.get(t)
    if handler is None:
        handler = _handler_for(t)
        if len(_dispatch) >= 4096:
            _dispatch.clear()
        _dispatch[t] = handler
    return handler(obj, t, path)


def _handler_for(t: type) -> _Handler:
    """How values of exact type ``t`` are canonicalised (decided once per type)."""
    fn = _lookup(t)
    if fn is not None:
        name = _type_name(_aliases.get(t, t))
        return lambda obj, t, path: (_TCustom, name, canon(fn(obj), path))
    if issubclass(t, type):
        return lambda obj, t, path: (_TType, obj.__module__, obj.__qualname__)
    if issubclass(t, types.ModuleType):  # a module is its name, like a global reference
        return lambda obj, t, path: (_TType, "<module>", obj.__name__)
    if issubclass(t, enum.Flag):  # a combined or undefined-bit flag may have no name: its value
        name = _type_name(t)
        return lambda obj, t, path: (_TEnum, name, "flag", canon(obj._value_, path))
    if issubclass(t, enum.Enum):
        name = _type_name(t)
        return lambda obj, t, path: (_TEnum, name, obj.name)
    if issubclass(t, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return lambda obj, t, path: _canon_function(obj, path)
    if t is bytearray or t is memoryview or t is pickle.PickleBuffer:  # a subclass may carry state: reduced
        return _canon_buffer
    if t is slice:
        return lambda obj, t, path: (_TSlice, canon(obj.start, path), canon(obj.stop, path), canon(obj.step, path))
    if _type_name(t) in _PASS_THROUGH:
        return lambda obj, t, path: obj
    if issubclass(t, _BUILTIN_BASES):
        return lambda obj, t, path: _inside(obj, path, lambda: _canon_builtin_subclass(obj, t, path))
    return _canon_reduce


def _canon_buffer(obj: Any, t: type, path: list[int]) -> object:
    view = memoryview(obj)
    return (_TBuffer, _type_name(t), view.format, view.shape, buffer_digest(view))


def _canon_builtin_subclass(obj: Any, t: type, path: list[int]) -> object:
    """A subclass of a builtin container or atom: its builtin content, its instance state, a factory."""
    base = next(b for b in _BUILTIN_BASES if isinstance(obj, b))
    extra = canon(obj.default_factory, path) if isinstance(obj, defaultdict) else None
    return (_TObj, _type_name(t), canon(base(obj), path), canon(_instance_state(obj), path), extra)


def _instance_state(obj: object) -> object:
    """An instance's ``__dict__`` and set ``__slots__`` (what pickle's default reduction saves)."""
    state = getattr(obj, "__dict__", None) or None
    names: list[str] = copyreg._slotnames(type(obj))  # type: ignore[attr-defined]
    if not names:
        return state
    missing = object()
    slots = {n: v for n in names if (v := getattr(obj, n, missing)) is not missing}
    return (state, slots)


def _memo_state(fn: Any) -> Any:
    """The per-function state of a ``@memo.cache`` function (``None`` for other functions)."""
    state = getattr(fn, "__dict__", {}).get("_memo")
    ok = isinstance(getattr(state, "name", None), str) and isinstance(getattr(state, "version", None), str)
    return state if ok and hasattr(fn, "__wrapped__") else None


_SINK_OWNERS: frozenset[type] = frozenset({list, dict, set, bytearray, deque})  # whose bound SINKS are state


def _sinks() -> frozenset[str]:
    from memo._reads import SINKS  # the read/mutate rule's list; `dis` loads at first use, not at import

    return SINKS


def _canon_function(fn: Any, path: list[int]) -> object:
    if isinstance(fn, types.MethodType):
        return (_TFunc, "method", canon(fn.__self__, path), canon(fn.__func__, path))
    if isinstance(fn, types.BuiltinFunctionType):  # `",".join`, `d.get`, `len`: bound to __self__
        owner = fn.__self__
        if type(owner) in _SINK_OWNERS and fn.__name__ in _sinks():
            # `log.append`, `seen.add`: a sink the function writes to returns None whatever the
            # container holds, so its content is state, not input (the read/mutate rule).
            return (_TFunc, "sink", _type_name(type(owner)), fn.__name__)
        return (_TFunc, "builtin", fn.__module__, fn.__qualname__, None if owner is None else canon(owner, path))
    state = _memo_state(fn)
    if state is not None:  # a cached function: its identity, its version and the code it wraps
        return (_TFunc, "memo", state.name, state.version, canon(fn.__wrapped__, path))
    from memo._identity import code_fingerprint

    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", getattr(fn, "__name__", None))
    fingerprint = code_fingerprint(fn)
    if id(fn) in path:  # a function reached again through its own closure or defaults
        return (_TFunc, "recursive", module, qualname, fingerprint)
    path.append(id(fn))
    try:
        cells = _cells(fn, path)
        defaults = canon(fn.__defaults__, path)
        kwdefaults = canon(fn.__kwdefaults__, path)
    finally:
        path.pop()
    return (_TFunc, module, qualname, fingerprint, cells, defaults, kwdefaults)


def _cells(fn: Any, path: list[int]) -> tuple[object, ...]:
    """The closure values ``fn`` reads; names its body mutates (a log it appends to) are state, tagged only."""
    closure = fn.__closure__
    if not closure:
        return ()
    from memo._reads import reads_of

    code = fn.__code__
    mutated = reads_of(code).free_mutated
    return tuple(
        (_TFunc, "state", name) if name in mutated else _cell(cell, path)
        for name, cell in zip(code.co_freevars, closure)
    )


def _cell(cell: Any, path: list[int]) -> object:
    try:
        value = cell.cell_contents
    except ValueError:  # an empty cell
        return _TFunc
    return canon(value, path)


def _canon_reduce(obj: object, t: type, path: list[int]) -> object:
    oid = id(obj)
    if oid in path:
        raise _Unhashable(obj, "it contains itself (a recursive structure)")
    reducer = _DISPATCH_TABLE.get(t)
    try:
        rv = reducer(obj) if reducer is not None else obj.__reduce_ex__(5)
    except Exception as exc:
        raise _Unhashable(obj, f"it cannot be pickled ({exc})") from None
    if isinstance(rv, str):  # pickled by a global name: a singleton, or a wrapper (lru_cache) of a function
        return _canon_named_global(obj, t, rv, path)
    n = len(rv)
    func, args = rv[0], rv[1]
    state = rv[2] if n > 2 else None
    listitems = rv[3] if n > 3 else None
    dictitems = rv[4] if n > 4 else None
    no_state = not state and listitems is None and dictitems is None
    if no_state and getattr(t, "__eq__", None) is _OBJECT_EQ and not _has_content_args(func, args, t):
        raise _Unhashable(obj, "it has no content besides its identity (address)")
    path.append(oid)
    try:
        if func is copyreg.__newobj__ and type(args) is tuple and len(args) == 1 and args[0] is t:  # type: ignore[attr-defined]
            func_args: object = _NEWOBJ  # cls.__new__(cls): the type is in the form already
        else:
            func_args = (canon(func, path), canon(args, path))
        parts = (
            func_args,
            canon(state, path),
            canon(list(listitems), path) if listitems is not None else None,
            canon(dict(dictitems), path) if dictitems is not None else None,
        )
    finally:
        path.pop()
    _check_no_address(parts, obj)
    return (_TReduce, _type_name(t), parts)


def _canon_named_global(obj: object, t: type, name: str, path: list[int]) -> object:
    wrapped = getattr(obj, "__wrapped__", None)
    if wrapped is not None and callable(obj):  # functools.lru_cache and kin: the function they wrap
        return _inside(obj, path, lambda: (_TFunc, "wrapper", _type_name(t), canon(wrapped, path)))
    module = getattr(obj, "__module__", None)
    if not isinstance(module, str):
        module = t.__module__
    found: object = sys.modules.get(module)
    for part in name.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        raise _Unhashable(obj, f"it pickles as the global name {module}.{name}, which is another object")
    return (_TType, module, name)


def _has_content_args(func: object, args: object, t: type) -> bool:
    if func is copyreg.__newobj__ and isinstance(args, tuple):  # type: ignore[attr-defined]
        return len(args) > 1
    return bool(args)


def _check_no_address(parts: object, obj: object) -> None:
    stack: list[Any] = [parts]
    while stack:
        item = stack.pop()
        t = type(item)
        if t is str and " at 0x" in item and _ADDRESS.search(item):
            raise _Unhashable(obj, "its pickled state carries a memory address")
        if t is tuple:
            if item and type(item[0]) is type and item[0] in _CHECKED:
                continue  # an object checked when its own form was built, a name, a digest
            stack.extend(item)
        elif t is list:
            stack.extend(item)
        elif t is dict:
            stack.extend(item.keys())
            stack.extend(item.values())


def _dumps(canonical: object) -> bytes:
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    pickler.fast = True  # no memo: identity must not change the bytes
    pickler.dump(canonical)
    return buf.getvalue()


def digest(canonical: object) -> bytes:
    """xxh3_128 digest of an already canonical value (internal)."""
    return xxhash.xxh3_128_digest(_dumps(canonical))


def _canon_named(name: str, value: object) -> object:
    try:
        return canon(value, [])
    except _Unhashable as exc:
        raise _hashing_error(name, exc) from None
    except RecursionError:
        raise HashingError(f"cannot hash {_what(name)}: it is nested too deeply") from None
    except HashingError:
        raise
    except Exception as exc:
        raise _failed(name, value, exc) from exc


def hash_value(obj: object) -> str:
    """Return the hex xxh3_128 digest memo uses for one value (handy in ``key=`` functions).

    Equal content gives equal digests in every process, whatever ``PYTHONHASHSEED`` is;
    a dict's insertion order is part of its content::

        >>> memo.hash_value({3, 1, 2}) == memo.hash_value({1, 2, 3})
        True
        >>> memo.hash_value({"a": 1, "b": 2}) == memo.hash_value({"b": 2, "a": 1})
        False
    """
    canonical = _canon_named("value", obj)
    try:
        return xxhash.xxh3_128_hexdigest(_dumps(canonical))
    except Exception as exc:
        raise _failed("value", obj, exc) from exc


def hash_arguments(items: Iterable[tuple[str, object]]) -> str:
    """Hash named arguments; a failure names the parameter (internal)."""
    named = [(name, value, _canon_named(name, value)) for name, value in items]
    canonical: list[object] = []
    for name, _, form in named:
        canonical.append(name)
        canonical.append(form)
    try:
        return xxhash.xxh3_128_hexdigest(_dumps(canonical))
    except Exception as exc:
        for name, value, form in named:  # which one: rare, so found only now
            try:
                _dumps(form)
            except Exception as own:
                raise _failed(name, value, own) from own
        raise HashingError(f"cannot hash the arguments: {exc}") from exc
