"""The live part of a cached function's key: its version and its hidden inputs.

A :class:`Watch` follows the decorated callable's code and the values it depends on
besides its arguments (closure variables the body reads, a bound method's ``__self__``,
a partial's args and keywords). ``sync()`` runs before a key is made: when ``__code__``
was replaced the version (and the closure names read) are taken again; the hidden inputs
are hashed like arguments, except that a snapshot made only of immutable values
(numbers, strings, tuples of them, classes, modules) is checked by identity, so a hit
costs one ``is`` per value. Whenever the version or the inputs' digest changes, the
registered maps (typed call -> key, memory slots) are emptied.
"""

from __future__ import annotations

import operator
import threading
import types
from typing import Any

from memo._hashing import hash_arguments
from memo._identity import Target, target_version
from memo._reads import reads_of
from memo.exceptions import HashingError

__all__ = ["Watch"]

_STABLE: frozenset[type] = frozenset(
    {int, float, str, bytes, bool, complex, type(None), types.ModuleType, types.BuiltinFunctionType}
)
_UNSET: Any = object()
_busy = threading.local()  # ids of watches being hashed on this thread (cached functions closing over each other)


class _EmptyCell:
    """Stand-in for a closure cell not yet filled (or the function itself, when recursive)."""


class _CachedFunction:
    """Tag of a ``@memo.cache`` function used as an input: its key prefix and its own state."""


def _stable(value: object, depth: int = 0) -> bool:
    """True when ``value`` cannot change while the same object: its identity stands for its digest."""
    t = type(value)
    if t in _STABLE or isinstance(value, type):
        return True
    if (t is tuple or t is frozenset) and depth < 3 and len(value) <= 64:  # type: ignore[arg-type]
        return all(_stable(v, depth + 1) for v in value)  # type: ignore[attr-defined]
    return False


def _input(value: object) -> object:
    """The value hashed for a hidden input: a cached function counts by its key prefix and state."""
    if type(value) is types.FunctionType:
        watch = getattr(getattr(getattr(value, "_memo", None), "keys", None), "watch", None)
        if isinstance(watch, Watch):
            return (_CachedFunction, watch.prefix, watch.state())
    return value


def _cell_getter(cell: Any, func: Any) -> Any:
    def get() -> object:
        try:
            value = cell.cell_contents
        except ValueError:
            return _EmptyCell
        if value is func or getattr(value, "__wrapped__", None) is func:
            return _EmptyCell  # a recursive nested function refers to itself
        return value

    return get


class Watch:
    """Version and hidden-input digest of one cached callable, kept in step with its live code."""

    __slots__ = (
        "_inputs",
        "_labels",
        "_snap",
        "base",
        "cells",
        "code",
        "digest",
        "ignore",
        "maps",
        "pinned",
        "prefix",
        "target",
        "version",
    )

    def __init__(self, target: Target, base: str, pinned: str | None, ignore: frozenset[str]) -> None:
        self.target = target
        self.base = base  # "namespace:name:"
        self.pinned = pinned
        self.ignore = ignore
        self.maps: list[dict[Any, Any]] = []  # emptied whenever the key of a call may change
        self.cells: list[Any] = []  # closure cells of compiled wrappers holding the code they compare with
        self.code: Any = _UNSET
        self.version = self.prefix = ""
        self.digest = ""
        self._inputs: tuple[Any, ...] = ()
        self._labels: tuple[str, ...] = ()
        self._snap: tuple[object, ...] | None = None
        self._recode(self._codes())

    @property
    def has_inputs(self) -> bool:
        """Whether anything besides the arguments can change a key (so every call must sync)."""
        return bool(self.target.bound) or bool(getattr(self.target.closure, "__closure__", None))

    def free_names(self) -> tuple[str, ...]:
        """Names of the closure variables (any of them may be named in ``ignore=``)."""
        func = self.target.closure
        code = getattr(func, "__code__", None)
        return tuple(code.co_freevars) if code is not None and getattr(func, "__closure__", None) else ()

    def bound_names(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.target.bound)

    def _codes(self) -> Any:
        owners = self.target.owners
        if len(owners) == 1:
            return owners[0].__code__
        return tuple(o.__code__ for o in owners)

    def _recode(self, code: Any) -> None:
        """Take the version and the closure names read from the code now in place."""
        self.code = code
        for cell in self.cells:
            cell.cell_contents = code
        self.version = self.pinned or target_version(self.target)
        self.prefix = f"{self.base}{self.version}:"
        inputs: list[tuple[str, Any]] = [(label, get) for label, get in self.target.bound if label not in self.ignore]
        func = self.target.closure
        names = self.free_names()
        if names:
            read = reads_of(func.__code__).free_inputs()
            for name, cell in zip(names, func.__closure__):
                if name in read and name not in self.ignore:
                    inputs.append((name, _cell_getter(cell, func)))
        self._labels = tuple(label for label, _ in inputs)
        self._inputs = tuple(get for _, get in inputs)
        self._snap = None
        self.digest = ""
        self.clear()

    def clear(self) -> None:
        for mapping in self.maps:
            mapping.clear()

    def sync(self) -> None:
        """Bring version and input digest up to date with the live code and values."""
        code = self._codes()
        if code is not self.code and (type(code) is not tuple or code != self.code):
            self._recode(code)
        getters = self._inputs
        if not getters:
            return
        values = tuple(get() for get in getters)
        snap = self._snap
        if snap is not None and all(map(operator.is_, snap, values)):
            return
        digest = self._hash(values)
        if digest != self.digest:
            self.digest = digest
            self.clear()
        self._snap = values if all(map(_stable, values)) else None

    def state(self) -> str:
        """Version and input digest, current (what a cached function counts for as a value)."""
        busy: set[int] = getattr(_busy, "ids", None) or set()
        _busy.ids = busy
        if id(self) in busy:
            return "<recursive>"
        busy.add(id(self))
        try:
            self.sync()
            return f"{self.version}:{self.digest}"
        finally:
            busy.discard(id(self))

    def _hash(self, values: tuple[object, ...]) -> str:
        closure = set(self.free_names())
        items = [(label, _input(value)) for label, value in zip(self._labels, values)]
        try:
            return hash_arguments(items)
        except HashingError as exc:
            text = str(exc)
            for label in self._labels:
                if label in closure:
                    text = text.replace(f"argument {label!r}", f"closure variable {label!r}", 1)
            raise HashingError(text) from None
