"""Call keys: bind a call's arguments and hash them, with a map that skips both on repeats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import inspect

from memo._hashing import hash_arguments
from memo._summary import short_repr
from memo._watch import Watch
from memo.exceptions import ConfigurationError

__all__ = ["KeyMaker"]

_DEFAULT_ATOMS = frozenset({int, float, str, bytes, bool, type(None)})
_NO_DEFAULT: Any = type("NoDefault", (), {})()
_FAST_MAX = 4096  # remembered calls per function; the map is emptied when full
_FAST_ATOM_LEN = 512  # longest str/bytes argument remembered
_ARG_MAX = 60  # characters shown per argument in entry metadata
_DESCRIBE_MAX = 200  # characters shown for all arguments


class KeyMaker:
    """Binds call arguments and hashes them into ``namespace:function:version:digest`` keys.

    Hits skip binding and hashing through a bounded map from a *typed tuple* of the call's
    arguments to its key. Only calls whose arguments are all exact atoms (``int``,
    ``float``, ``str``, ``bytes``, ``bool``, ``None``) are remembered, and never one with a
    zero or NaN float. The tuple holds each argument's exact type next to its value, so
    1, 1.0 and True never meet (their types differ), a subclass never matches an atom,
    and 0.0/-0.0/NaN (the floats ``==`` cannot tell apart or match) are never in the map,
    so a probe holding one finds nothing. A probe of other objects finds nothing either
    (its types tuple differs) and takes the full path; so does an equal call of another
    shape (kwargs in another order).
    """

    __slots__ = (
        "_fast",
        "_fast_ok",
        "_ignore",
        "_key_fn",
        "_params",
        "_positional",
        "_sig",
        "_var_kw",
        "func",
        "watch",
    )

    def __init__(self, func: Any, watch: Watch, ignore: tuple[str, ...], key_fn: Any) -> None:
        self.func = func
        self.watch = watch  # version and hidden inputs (closure, __self__, partial args), live
        import inspect  # here, not at import: it is ~10 ms of `import memo`

        self._sig = inspect.signature(func)
        self._ignore = frozenset(ignore)
        self._key_fn = key_fn
        defaults = [p.default for p in self._sig.parameters.values() if p.default is not p.empty]
        # The typed-call -> key memo is sound only when the key depends on the call alone.
        self._fast_ok = key_fn is None and all(type(d) in _DEFAULT_ATOMS for d in defaults)
        self._fast: dict[tuple[Any, ...], str] = {}
        watch.maps.append(self._fast)
        # A plain parameter list (no *args, **kwargs or positional-only) binds without inspect.
        params = list(self._sig.parameters.values())
        plain = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params)
        self._positional = tuple(p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD) if plain else None
        self._params = tuple((p.name, _NO_DEFAULT if p.default is p.empty else p.default) for p in params)
        self._var_kw = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)

    @property
    def signature(self) -> inspect.Signature:
        return self._sig

    @property
    def prefix(self) -> str:
        """``namespace:name:version:`` for the code in place now."""
        return self.watch.prefix

    @staticmethod
    def probe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """The typed tuple of a call as the generic ``*args, **kwargs`` wrapper sees it."""
        if not kwargs:
            return (tuple(map(type, args)), args)
        values = tuple(kwargs.values())
        return (tuple(map(type, args)), args, tuple(kwargs), tuple(map(type, values)), values)

    def remember(self, fast: dict[tuple[Any, ...], str], probe: tuple[Any, ...], values: Any, key: str) -> None:
        """Map ``probe`` to ``key`` in ``fast`` when every argument in ``values`` is a safe atom."""
        if not self._fast_ok:
            return
        for v in values:
            t = type(v)
            if t is float:
                if not v or v != v:  # 0.0, -0.0 and NaN: == cannot tell them apart or match them
                    return
            elif t is str or t is bytes:
                if len(v) > _FAST_ATOM_LEN:
                    return
            elif t is not int and t is not bool and v is not None:
                return
        if len(fast) >= _FAST_MAX:
            fast.clear()
        fast[probe] = key

    def check_ignore(self, ignore: tuple[str, ...]) -> None:
        params = self._sig.parameters
        free = self.watch.free_names()
        bound = tuple(n for n in self.watch.bound_names() if not n.startswith("<"))
        read = self.watch.global_names()
        unknown = [n for n in ignore if n not in params and n not in free and n not in bound and n not in read]
        if unknown:
            name = self.watch.target.name
            raise ConfigurationError(
                f"ignore={ignore!r}: {name} has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are {', '.join((*bound, *params)) or '(none)'}"
                + (f" and its closure variables {', '.join(free)}" if free else "")
            )

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Bound arguments with defaults applied; TypeError like a real call when they don't fit.

        The same mapping, in parameter order, as ``signature.bind`` plus ``apply_defaults``;
        plain parameter lists take a direct path, anything unusual (or wrong) goes to inspect.
        """
        positional = self._positional
        if positional is not None and len(args) <= len(positional):
            bound = dict(zip(positional, args))
            used = 0
            for name, default in self._params[len(args) :]:
                if name in kwargs:
                    bound[name] = kwargs[name]
                    used += 1
                elif default is not _NO_DEFAULT:
                    bound[name] = default
                else:
                    break  # a missing argument: inspect raises the TypeError
            else:
                if used == len(kwargs):  # else an unexpected or duplicated keyword
                    return bound
        full = self._sig.bind(*args, **kwargs)
        full.apply_defaults()
        return full.arguments

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The cache key of a call (for the code and hidden inputs in place now)."""
        return self.key_bound(args, kwargs)[0]

    def key_bound(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """The cache key of a call, and its bound arguments when finding the key bound them (else None)."""
        self.watch.sync()
        probe = self.probe(args, kwargs)
        try:
            found = self._fast.get(probe)
        except Exception:  # an unhashable argument: it cannot be remembered either
            digest, bound = self.digest(args, kwargs)
            return self.prefix + digest, bound
        if found is not None:
            return found, None
        digest, bound = self.digest(args, kwargs)
        key = self.prefix + digest
        self.remember(self._fast, probe, (*args, *kwargs.values()), key)
        return key, bound

    def digest(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The digest part of a key and the bound arguments (for :meth:`describe`); :attr:`watch` is synced."""
        items: list[tuple[str, object]]
        arguments = self.bind(args, kwargs)  # a call that does not fit the signature fails like the call
        if self._key_fn is not None:
            items = [("key()", self._key_fn(*args, **kwargs))]
        else:
            hashed = arguments
            var_kw = self._var_kw
            if var_kw is not None and len(arguments.get(var_kw) or ()) > 1:  # dict order counts, **kwargs order not
                hashed = {**arguments, var_kw: dict(sorted(arguments[var_kw].items()))}
            items = [(n, v) for n, v in hashed.items() if n not in self._ignore]
        digest = self.watch.digest
        if digest:  # closure values read, __self__, a partial's args: hashed by the watch
            items.append(("<state>", digest))
        return hash_arguments(items), arguments

    def describe(self, args: tuple[Any, ...], kwargs: dict[str, Any], bound: dict[str, Any] | None = None) -> str:
        """Short readable arguments for metadata (the inspector shows them).

        One line, at most 200 characters: ``df=DataFrame(1000x10), a=ndarray(float64, 1000x3),
        items=list(len=100000), n=3``. Big arguments are summarised by type and size, never
        ``repr``-ed whole (see ``_summary``), so describing costs nothing next to hashing.
        ``bound``: the arguments as :meth:`digest` bound them, when it did.
        """
        if bound is not None:  # bound already when the key was computed: not bound again
            arguments = bound
        else:
            try:
                arguments = self.bind(args, kwargs)
            except TypeError:
                return ""
        parts: list[str] = []
        used = 0
        for name, value in arguments.items():
            if name in self._ignore:
                continue
            if used > _DESCRIBE_MAX:
                break
            part = f"{name}={short_repr(value, _ARG_MAX)}"
            parts.append(part)
            used += len(part) + 2
        shown = ", ".join(parts)
        return shown if len(shown) <= _DESCRIBE_MAX else shown[: _DESCRIBE_MAX - 3] + "..."
