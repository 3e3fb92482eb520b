"""The globals a notebook function reads, and the same-notebook functions it calls, as part of its key.

For a function defined in a notebook or a script's ``__main__`` (or any module, with
``track_globals=True``), what the body reads from its module besides its arguments is an
input, as closure variables are (``_watch``): a global constant it reads (``SCALE = 3``),
a data frame it reads, and the code of the helpers it calls from the same namespace, and
recursively what *they* read. The read/mutate rule of ``_reads`` applies: a global the
body (or a helper) only reads is an input; one it mutates (``log.append(x)``) is state,
left out; ``ignore=`` names a global to leave out by hand.

What counts, per kind of value read (see ``docs/notebooks.md``):

* a module, a class or a function from another module: its name and its package's
  ``__version__`` (never its content);
* a class defined in the same namespace: its name and the code of its methods;
* a function defined in the same namespace (a *callee*): its code, defaults and closure
  values, and what it reads, recursively;
* a ``@memo.cache`` function: its name, its live version and its own hidden inputs;
* any other value (data): its content, hashed like an argument. Immutable values are
  checked by identity while unchanged; a read-only numpy array or a DataFrame/Series
  whose blocks are all read-only (or Arrow-backed) keeps its digest, keyed by identity
  with a weakref, while its layout token is unchanged, so a big global costs a few
  attribute reads per call, not a hash of its bytes.

A call first compares what each watched name is bound to now (and each callee's
``__code__``) with the last snapshot, one ``is`` per name; when all are the same objects
and all of them are immutable, the digest is reused as is.
"""

from __future__ import annotations

import builtins
import sys
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

from memo._hashing import hash_arguments, hash_value
from memo._identity import code_fingerprint
from memo._reads import reads_of
from memo.exceptions import HashingError

__all__ = ["GlobalInput", "GlobalReads", "class_form", "frozen_token", "tracks_globals"]

_MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()
_ATOMS: frozenset[type] = frozenset({int, float, str, bytes, bool, complex, type(None)})
_NOT_CODE = frozenset({"__doc__", "__firstlineno__", "__static_attributes__", "__module__", "__qualname__"})
_BIG = frozenset({"ndarray", "DataFrame", "Series"})
_FROZEN_MAX = 256  # remembered digests of read-only big values


def tracks_globals(func: Any, option: bool | None) -> bool:
    """Whether the globals ``func`` reads are inputs: ``option``, else only for ``__main__`` (notebooks, scripts)."""
    if option is not None:
        return option
    return getattr(func, "__module__", None) == "__main__"


class GlobalInput(NamedTuple):
    """One global read by a function (or by a function it calls): what it is and what is hashed for it.

    ``label`` is the name as read (``SCALE``), or the path through callees (``helper.SCALE``);
    ``kind``: ``data``, ``module``, ``class``, ``function`` (another module's), ``callee``
    (same namespace), ``cached`` (a ``@memo.cache`` function) or ``self``.
    """

    label: str
    kind: str
    value: object
    form: object


def _package_version(module: str | None) -> object:
    top = (module or "").partition(".")[0]
    version = getattr(sys.modules.get(top), "__version__", None)
    return version if isinstance(version, str) else None


def class_form(cls: type) -> tuple[object, ...]:
    """A same-namespace class: its name, bases and the code of its methods (an edited class is a new version)."""
    parts: list[object] = []
    for name, attr in sorted(vars(cls).items()):
        if name in _NOT_CODE:
            continue
        target = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
        if isinstance(target, property):
            parts.append((name, tuple(code_fingerprint(f) for f in (target.fget, target.fset, target.fdel))))
        elif isinstance(target, types.FunctionType):
            parts.append((name, code_fingerprint(target)))
        elif type(attr) in _ATOMS:
            parts.append((name, attr))
    bases = tuple(f"{b.__module__}.{b.__qualname__}" for b in cls.__bases__)
    return (cls.__qualname__, bases, tuple(parts))


def _cached_state(value: object) -> Any:
    """The Watch of a ``@memo.cache`` function, or None."""
    return getattr(getattr(getattr(value, "_memo", None), "keys", None), "watch", None)


def _array_token(a: Any, np: Any) -> tuple[object, ...] | None:
    """Identity token of a numpy array whose content cannot change: read-only down to its memory owner."""
    chain: list[int] = []
    x = a
    for _ in range(64):
        if isinstance(x, np.ndarray):
            if x.flags.writeable:
                return None
            chain.append(id(x))
            x = x.base
            if x is None:
                break
        elif type(x) is bytes:  # immutable memory (np.frombuffer(b"..."))
            chain.append(id(x))
            break
        else:  # a writable owner (mmap, bytearray, a foreign buffer): content may change under it
            return None
    else:
        return None
    return ("ndarray", tuple(chain), a.shape, a.strides, a.dtype.str)


def _values_token(values: Any, np: Any) -> object:
    """Token of a pandas block's or index's values, or None when they may change in place."""
    if isinstance(values, np.ndarray):
        return _array_token(values, np)
    arrow = getattr(values, "_pa_array", None)
    if arrow is not None:  # Arrow arrays are immutable: setting a value builds a new one
        return ("arrow", id(arrow), id(values))
    return None


def _pandas_token(obj: Any, np: Any) -> tuple[object, ...] | None:
    mgr = getattr(obj, "_mgr", None)
    blocks = getattr(mgr, "blocks", None)
    axes = getattr(mgr, "axes", None)
    if blocks is None or axes is None:
        return None
    name = obj.name if type(obj).__name__ == "Series" else None  # a frame's .name would look up a column
    parts: list[object] = [id(mgr), type(obj).__name__, name]
    for blk in blocks:
        tok = _values_token(blk.values, np)
        if tok is None:
            return None
        parts.append((tok, blk.mgr_locs.as_array.tobytes()))
    for ax in axes:
        if type(ax).__name__ == "RangeIndex":
            parts.append(("range", ax.start, ax.stop, ax.step, ax.names))
            continue
        tok = _values_token(getattr(ax, "_data", None), np)
        if tok is None:
            return None
        parts.append((id(ax), tok, tuple(ax.names)))
    parts.append(hash_value(obj.attrs) if obj.attrs else None)
    parts.append(bool(obj.flags.allows_duplicate_labels))
    return tuple(parts)


def frozen_token(value: object) -> tuple[object, ...] | None:
    """A token that stays equal only while ``value``'s content provably cannot have changed, or None.

    For a read-only numpy array (read-only down to its memory's owner), and a pandas
    DataFrame or Series whose blocks and index values are read-only or Arrow-backed. Making
    an array writable again and writing into it between two calls is outside the contract.
    """
    t = type(value)
    module = t.__module__
    if module == "numpy" and t.__name__ == "ndarray":
        return _array_token(value, sys.modules["numpy"])
    if module.startswith("pandas") and t.__name__ in ("DataFrame", "Series") and "numpy" in sys.modules:
        try:
            return _pandas_token(value, sys.modules["numpy"])
        except Exception:  # a pandas layout this does not know: hashed by content each call
            return None
    return None


# id(value) -> (weakref to it, its token, its digest): big read-only globals hashed once
_frozen: dict[int, tuple[Any, tuple[object, ...], str]] = {}


def _frozen_digest(value: object, token: tuple[object, ...], label: str) -> str:
    found = _frozen.get(id(value))
    if found is not None and found[0]() is value and found[1] == token:
        return found[2]
    digest = hash_arguments([(label, value)])
    try:
        ref = weakref.ref(value)
    except TypeError:
        return digest
    if len(_frozen) >= _FROZEN_MAX:
        _frozen.clear()
    _frozen[id(value)] = (ref, token, digest)
    return digest


def _stable(value: object) -> bool:
    t = type(value)
    if t in _ATOMS or isinstance(value, (type, types.ModuleType)):
        return True
    if t is tuple or t is frozenset:
        return len(value) <= 64 and all(_stable(v) for v in value)  # type: ignore[arg-type, attr-defined]
    return False


class GlobalReads:
    """The globals one function reads (and its same-namespace callees read), and their digest, kept live."""

    __slots__ = (
        "_check",
        "_frozen",
        "_funcs",
        "_lock",
        "_lookups",
        "_snap",
        "_stable",
        "digest",
        "func",
        "ignore",
        "inputs",
        "roots",
    )

    def __init__(self, func: Any, ignore: frozenset[str], also: tuple[Any, ...] = ()) -> None:
        self.func = func
        # ``also``: the functions down a decorator's ``__wrapped__`` chain, whose globals are the body's too
        self.roots: tuple[Any, ...] = (func, *(f for f in also if f is not func))
        self.ignore = ignore
        self._lookups: list[tuple[dict[str, Any], str]] = []
        self._funcs: list[Any] = []  # callees: their code is watched too (``%autoreload`` replaces it)
        self._snap: list[object] | None = None
        self._check: Callable[[], bool] | None = None  # compiled snapshot test, while every value is stable
        self._stable = False
        self._frozen: list[tuple[object, tuple[object, ...]]] = []  # big read-only values and their tokens
        self._lock = threading.RLock()  # rebuilds one at a time, so the digest never goes back to older values
        self.digest = ""
        self.inputs: list[GlobalInput] = []

    def names(self) -> frozenset[str]:
        """The global names the function's own body reads and never mutates (any may be named in ``ignore=``)."""
        return frozenset().union(*(reads_of(r.__code__).global_inputs() for r in self.roots))

    def reads_any(self) -> bool:
        """Whether the body reads a global that is bound now, or may be later (not only builtins)."""
        known = vars(builtins)
        return any(
            n in r.__globals__ or n not in known
            for r in self.roots
            for n in reads_of(r.__code__).global_inputs() - self.ignore
        )

    def _current(self) -> list[object]:
        now: list[object] = [d.get(n, _MISSING) for d, n in self._lookups]
        funcs = self._funcs
        if funcs:
            now += [f.__code__ for f in funcs]
            now += [f.__defaults__ for f in funcs]
        return now

    def value(self) -> str:
        """The digest of everything read now: the same ``str`` object while nothing changed."""
        if self._unchanged():
            return self.digest
        with self._lock:
            if not self._unchanged():
                self._rebuild()
            return self.digest

    def _unchanged(self) -> bool:
        check = self._check
        if check is None or not check():
            return False
        frozen = self._frozen
        return not frozen or all([frozen_token(v) == token for v, token in frozen])

    def _rebuild(self) -> None:
        lookups: list[tuple[dict[str, Any], str]] = []
        funcs: list[Any] = []
        inputs: list[GlobalInput] = []
        frozen: list[tuple[object, tuple[object, ...]]] = []
        stable = True
        seen = {id(r) for r in self.roots}
        queue: list[tuple[Any, str]] = [(r, "") for r in self.roots]
        named: set[tuple[int, str]] = set()  # (globals, name) read by the roots: each once
        read: list[object] = []  # the snapshot: what was read *here*, so a rebind meanwhile is seen next call
        codes: list[object] = []
        defaults: list[object] = []
        while queue:
            fn, via = queue.pop(0)
            g = fn.__globals__
            code = fn.__code__
            if via:
                codes.append(code)
                defaults.append(fn.__defaults__)
            for name in sorted(reads_of(code).global_inputs()):
                if not via:
                    if name in self.ignore or (id(g), name) in named:
                        continue
                    named.add((id(g), name))
                lookups.append((g, name))
                value = g.get(name, _MISSING)
                read.append(value)
                if value is _MISSING:  # a builtin (or not defined yet): a later global of that name is seen
                    continue
                label = via + name
                item, still, callee, token = self._classify(label, value, g)
                inputs.append(item)
                stable = stable and still
                if token is not None:
                    frozen.append((value, token))
                if callee is not None and id(callee) not in seen:
                    seen.add(id(callee))
                    funcs.append(callee)
                    queue.append((callee, label + "."))
        try:
            digest = hash_arguments([(i.label, (i.kind, i.form)) for i in inputs])
        except HashingError as exc:
            text = str(exc)
            for i in inputs:
                text = text.replace(f"argument {i.label!r}", f"global variable {i.label!r}", 1)
            raise HashingError(text) from None
        # Published digest first and snapshot last: a concurrent caller that matches the new
        # snapshot always reads the new digest (one that matches the old one re-checks).
        if digest != self.digest:
            self.digest = digest
        self._lookups, self._funcs, self.inputs, self._frozen = lookups, funcs, inputs, frozen
        self._stable = stable
        self._snap = snap = read + codes + defaults
        self._check = _checker(lookups, funcs, snap) if stable else None

    def _classify(
        self, label: str, value: Any, g: dict[str, Any]
    ) -> tuple[GlobalInput, bool, Any, tuple[object, ...] | None]:
        """What is hashed for ``value``; whether its identity stands for it; the callee to follow; its frozen token.

        A frozen value (big read-only data) counts as stable while its token is unchanged.
        """
        if type(value).__name__ in _BIG and type(value).__module__.partition(".")[0] in ("numpy", "pandas"):
            # data: no attribute probing (a DataFrame's getattr looks up a column)
            return self._data(label, value)
        roots = self.roots
        wrapped = getattr(value, "__wrapped__", None)
        if any(value is r or wrapped is r for r in roots):  # recursion: the function itself
            return GlobalInput(label, "self", value, None), True, None, None
        if isinstance(value, types.ModuleType):
            return (
                GlobalInput(label, "module", value, (value.__name__, _package_version(value.__name__))),
                True,
                None,
                None,
            )
        if isinstance(value, type):
            if value.__module__ == g.get("__name__"):
                return GlobalInput(label, "class", value, class_form(value)), True, None, None
            name = f"{value.__module__}.{value.__qualname__}"
            return GlobalInput(label, "class", value, (name, _package_version(value.__module__))), True, None, None
        watch = _cached_state(value)
        if watch is not None and hasattr(watch, "state"):  # a cached function: its name, version and inputs
            return GlobalInput(label, "cached", value, (watch.prefix, watch.state())), False, None, None
        if type(value) is types.FunctionType:
            if value.__globals__ is g:
                return GlobalInput(label, "callee", value, value), not value.__closure__, value, None
            name = f"{value.__module__}.{value.__qualname__}"
            return GlobalInput(label, "function", value, (name, _package_version(value.__module__))), True, None, None
        wrapped = getattr(value, "__wrapped__", None)
        if type(wrapped) is types.FunctionType and wrapped.__globals__ is g:  # a same-namespace lru_cache'd helper
            return GlobalInput(label, "callee", value, wrapped), True, wrapped, None
        qualname = getattr(value, "__qualname__", None)
        module = getattr(value, "__module__", None)
        if callable(value) and isinstance(qualname, str) and isinstance(module, str) and module != g.get("__name__"):
            # a C function or a library's callable object (np.sum): by name and version
            return (
                GlobalInput(label, "function", value, (f"{module}.{qualname}", _package_version(module))),
                True,
                None,
                None,
            )
        return self._data(label, value)

    def _data(self, label: str, value: Any) -> tuple[GlobalInput, bool, Any, tuple[object, ...] | None]:
        """A data value: by content, its digest kept while a frozen token says it cannot have changed."""
        token = frozen_token(value)
        if token is not None:
            return GlobalInput(label, "data", value, ("digest", _frozen_digest(value, token, label))), True, None, token
        return GlobalInput(label, "data", value, value), _stable(value), None, None


def _checker(lookups: list[tuple[dict[str, Any], str]], funcs: list[Any], snap: list[object]) -> Callable[[], bool]:
    """A compiled test that every watched name is bound to its snapshot object and no callee's code changed.

    One ``dict.get`` and one ``is`` per name, with no loop or list: the whole per-call check
    of a notebook function whose globals are all immutable.
    """
    env: dict[str, Any] = {"_M": _MISSING}
    terms: list[str] = []
    for i, ((d, name), value) in enumerate(zip(lookups, snap)):
        env[f"d{i}"], env[f"s{i}"] = d, value
        terms.append(f"d{i}.get({name!r}, _M) is s{i}")
    n, m = len(lookups), len(funcs)
    for j, f in enumerate(funcs):
        env[f"f{j}"], env[f"c{j}"], env[f"e{j}"] = f, snap[n + j], snap[n + m + j]
        terms.append(f"f{j}.__code__ is c{j} and f{j}.__defaults__ is e{j}")
    source = "def check():\n    return " + (" and ".join(terms) or "True") + "\n"
    exec(compile(source, "<memo globals check>", "exec"), env)
    check: Callable[[], bool] = env["check"]
    return check
