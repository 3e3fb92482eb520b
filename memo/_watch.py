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

from memo._globals import GlobalReads, tracks_globals
from memo._hashing import hash_arguments
from memo._identity import Target, target_version
from memo._keys import version_prefix
from memo._reads import reads_of
from memo.exceptions import HashingError

__all__ = ["Watch"]

_STABLE: frozenset[type] = frozenset(
    {int, float, str, bytes, bool, complex, type(None), types.ModuleType, types.BuiltinFunctionType}
)
UNSET: Any = object()  # matches nothing: a wrapper comparing with it always syncs
_UNSET = UNSET
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


_CONTENTS = operator.attrgetter("cell_contents")


def _contents(cell: Any) -> object:
    try:
        return cell.cell_contents
    except ValueError:
        return _EmptyCell


class Watch:
    """Version and hidden-input digest of one cached callable, kept in step with its live code."""

    __slots__ = (
        "_cells",
        "_getters",
        "_labels",
        "_lock",
        "_snap",
        "base",
        "cells",
        "code",
        "digest",
        "globals",
        "ignore",
        "maps",
        "pinned",
        "prefix",
        "snaps",
        "target",
        "track",
        "version",
    )

    def __init__(
        self, target: Target, base: str, pinned: str | None, ignore: frozenset[str], track: bool | None = None
    ) -> None:
        self.target = target
        func = target.closure
        # Globals read are inputs for notebook/__main__ functions (or any, opted in): see ``_globals``.
        self.track = type(func) is types.FunctionType and tracks_globals(func, track)
        self.globals: GlobalReads | None = None
        self.base = base  # "namespace:name:"
        self.pinned = pinned
        self.ignore = ignore
        self.maps: list[dict[Any, Any]] = []  # emptied whenever the key of a call may change
        self.cells: list[Any] = []  # closure cells of compiled wrappers holding the code they compare with
        self.snaps: list[list[Any]] = []  # per wrapper, cells holding what each closure cell held at the last sync
        self.code: Any = _UNSET
        self.version = self.prefix = ""
        self.digest = ""
        self._cells: tuple[Any, ...] = ()  # closure cells of the names the body reads
        self._getters: tuple[Any, ...] = ()  # bound inputs: __self__, a partial's args and keywords
        self._labels: tuple[str, ...] = ()
        self._snap: tuple[object, ...] | None = None
        self._lock = threading.RLock()  # re-entrant: cached functions reading each other hash one another
        self._recode(self._codes())

    @property
    def has_inputs(self) -> bool:
        """Whether anything besides the arguments can change a key (so every call must sync)."""
        return (
            bool(self.target.bound)
            or bool(getattr(self.target.closure, "__closure__", None))
            or self.globals is not None
        )

    def free_names(self) -> tuple[str, ...]:
        """Names of the closure variables (any of them may be named in ``ignore=``)."""
        func = self.target.closure
        code = getattr(func, "__code__", None)
        return tuple(code.co_freevars) if code is not None and getattr(func, "__closure__", None) else ()

    def global_names(self) -> frozenset[str]:
        """Names of the globals the body reads when they are inputs (any may be named in ``ignore=``)."""
        if not self.track:
            return frozenset()
        owners = (self.target.closure, *(o for o in self.target.owners if type(o) is types.FunctionType))
        return frozenset().union(*(reads_of(o.__code__).global_inputs() for o in owners))

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
        also = tuple(o for o in self.target.owners if type(o) is types.FunctionType)
        reads = GlobalReads(self.target.closure, self.ignore, also) if self.track else None
        self.globals = reads if reads is not None and reads.reads_any() else None
        for cell in self.cells:  # with globals to watch, a value that never matches: every call syncs
            cell.cell_contents = code if self.globals is None else _UNSET
        self.version = self.pinned or target_version(self.target)
        self.prefix = version_prefix(self.base, self.version)
        cells: list[tuple[str, Any]] = []
        func = self.target.closure
        names = self.free_names()
        if names:
            read = reads_of(func.__code__).free_inputs()
            cells = [(n, c) for n, c in zip(names, func.__closure__) if n in read and n not in self.ignore]
        bound = [(label, get) for label, get in self.target.bound if label not in self.ignore]
        self._cells = tuple(cell for _, cell in cells)
        self._getters = tuple(get for _, get in bound)
        self._labels = tuple(name for name, _ in cells) + tuple(label for label, _ in bound)
        if self.globals is not None:
            self._labels += ("<globals>",)
        self._snap = None
        self.digest = ""
        self.clear()

    def clear(self) -> None:
        for mapping in self.maps:
            mapping.clear()

    def sync(self) -> None:
        """Bring version and input digest up to date with the live code and values."""
        self._sync()
        if self.snaps:
            self.publish()

    def publish(self) -> None:
        """Tell the compiled wrappers what each closure cell holds now (they skip ``sync`` while unchanged).

        While an input is not immutable, a value that never matches goes out instead, so
        every call syncs (and hashes it).
        """
        cells = self.target.closure.__closure__
        snap = self._snap
        if snap is None or self.globals is not None:  # globals are checked by ``sync`` itself
            values = [_UNSET] * len(cells)
        else:
            hashed = dict(zip(map(id, self._cells), snap))
            values = [hashed[id(c)] if id(c) in hashed else _contents(c) for c in cells]
        for holders in self.snaps:
            for holder, value in zip(holders, values):
                holder.cell_contents = value

    def _sync(self) -> None:
        owners = self.target.owners
        if len(owners) == 1:
            if owners[0].__code__ is not self.code:
                self._recode(owners[0].__code__)
        elif owners:
            codes = tuple(o.__code__ for o in owners)
            if codes != self.code:
                self._recode(codes)
        reads = self.globals
        if not self._cells and not self._getters:
            if reads is None:
                return
            snap = self._snap  # only globals: one digest, the same str object while they are unchanged
            if snap is not None and snap[0] is reads.value():
                return
        values = self._values()
        snap = self._snap
        if snap is not None and all(map(operator.is_, snap, values)):
            return
        with self._lock:  # one publisher at a time, of values read under the lock: the digest never goes back
            values = self._values()
            snap = self._snap
            if snap is not None and all(map(operator.is_, snap, values)):
                return
            digest = self._hash(values)
            if digest != self.digest:
                self.digest = digest
                self.clear()
            self._snap = values if all(map(self._stable, values)) else None

    def _values(self) -> tuple[object, ...]:
        """What the hidden inputs hold now: closure values read, bound values, the globals' digest."""
        cells, getters, reads = self._cells, self._getters, self.globals
        try:
            values = tuple(map(_CONTENTS, cells))
        except ValueError:  # a cell not filled (yet)
            values = tuple(map(_contents, cells))
        if getters:
            values += tuple([get() for get in getters])
        if reads is not None:
            values += (reads.value(),)  # the same str object while the globals read are unchanged
        return values

    def explain(self) -> list[tuple[str, str, object, str]]:
        """The hidden inputs as hashed now: (kind, name, value, digest) per closure value, bound value and global.

        Kinds: ``closure``, ``bound`` (``self``, a partial's args), and per global read the
        kinds of :class:`~memo._globals.GlobalInput` (``data``, ``callee``, ``module``...).
        """
        self.sync()
        closure = set(self.free_names())
        values = [_contents(c) for c in self._cells] + [get() for get in self._getters]
        out: list[tuple[str, str, object, str]] = []
        for label, value in zip(self._labels, values):
            hashed = _EmptyCell if self._itself(value) else _input(value)
            out.append(("closure" if label in closure else "bound", label, value, hash_arguments([(label, hashed)])))
        if self.globals is not None:
            for item in self.globals.inputs:
                digest = hash_arguments([(item.label, (item.kind, item.form))])
                out.append((item.kind, item.label, item.value, digest))
        return out

    def state_names(self) -> tuple[str, ...]:
        """Closure variables and globals the body mutates (state, left out of the key) and those ignored."""
        func = self.target.closure
        code = getattr(func, "__code__", None)
        if not isinstance(code, types.CodeType):
            return ()
        reads = reads_of(code)
        names = set(reads.free_mutated & set(self.free_names()))
        if self.track:
            names |= reads.global_mutated & reads.global_read
        return tuple(sorted(names))

    def _itself(self, value: object) -> bool:
        """Whether ``value`` is the function itself (a recursive nested function, or its cached wrapper)."""
        func = self.target.closure
        return value is func or (type(value) is types.FunctionType and getattr(value, "__wrapped__", None) is func)

    def _stable(self, value: object) -> bool:
        return _stable(value) or self._itself(value)

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
        items = [(n, _EmptyCell if self._itself(v) else _input(v)) for n, v in zip(self._labels, values)]
        try:
            return hash_arguments(items)
        except HashingError as exc:
            text = str(exc)
            for label in self._labels:
                if label.startswith("<") and repr(label) in text:  # a partial's args: not something to ignore
                    why = text.partition(": ")[2].split(" memo keys calls", 1)[0].split("ignore=", 1)[0]
                    raise HashingError(
                        f"cannot hash the {label[1:-1]} bound in {self.target.name}: {why.rstrip(' ,;')} "
                        "A functools.partial is identified by what it binds: cache the underlying function and "
                        "pass that value as an argument instead (leaving it out with ignore= if it is state)."
                    ) from None
            for label in self._labels:
                if label in closure:
                    text = text.replace(f"argument {label!r}", f"closure variable {label!r}", 1)
            raise HashingError(text) from None
