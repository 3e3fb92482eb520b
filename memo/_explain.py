"""``f.cache_explain(*args, **kwargs)``: what a call's key is made of, each part with its digest.

A user who expected a hit and got a miss compares two explanations (or one with what they
changed): every argument, closure value, bound ``self``, global read and same-notebook
function called is listed with the digest memo hashed for it, next to the names left out
(``ignore=``) and the ones the body mutates (state). The magics show it for
``%cache_info -v f``.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

from memo._explanation import KeyExplanation, KeyPart
from memo._hashing import hash_arguments
from memo._summary import short_repr

if TYPE_CHECKING:
    from memo._function import CachedState

__all__ = ["explain"]

_VALUE_MAX = 60


def _shown(value: object) -> str:
    if isinstance(value, types.ModuleType):
        return f"<module {value.__name__}>"
    if isinstance(value, type):
        return f"<class {value.__module__}.{value.__qualname__}>"
    if callable(value) and isinstance(getattr(value, "__qualname__", None), str):
        return f"<function {getattr(value, '__module__', '?')}.{value.__qualname__}>"  # type: ignore[attr-defined]
    return short_repr(value, _VALUE_MAX)


def explain(c: CachedState, args: tuple[Any, ...], kwargs: dict[str, Any]) -> KeyExplanation:
    """The :class:`KeyExplanation` of one call of the cached function whose state is ``c``.

    Without arguments, for a function that needs some, it explains what every call's key
    shares: the code's version, closure values, bound state, globals read and callees
    (``%cache_info -v f`` shows this).
    """
    keys = c.keys
    watch = keys.watch
    shared = False
    try:
        key = keys.key(args, kwargs)  # syncs the watch: the parts below are those of this key
    except TypeError:
        if args or kwargs:
            raise  # arguments that do not fit the signature: as the call itself would fail
        watch.sync()  # no arguments given to a function that needs some: what every call's key shares
        key, shared = watch.prefix + "<arguments>", True
    parts: list[KeyPart] = []
    ignore = set(c.opts.ignore)
    if shared:
        pass
    elif c.opts.key is not None:
        value = c.opts.key(*args, **kwargs)
        parts.append(KeyPart("key()", "key()", hash_arguments([("key()", value)]), short_repr(value, _VALUE_MAX)))
    else:
        for name, value in keys.bind(args, kwargs).items():
            if name in ignore:
                parts.append(KeyPart("ignored", name, "", short_repr(value, _VALUE_MAX)))
            else:
                parts.append(KeyPart("argument", name, hash_arguments([(name, value)]), short_repr(value, _VALUE_MAX)))
    for kind, name, value, digest in watch.explain():
        parts.append(KeyPart(kind, name, digest, _shown(value)))
    bound_names = {p.name for p in parts}
    for name in sorted(ignore - bound_names):
        parts.append(KeyPart("ignored", name, "", ""))
    for name in watch.state_names():
        parts.append(KeyPart("state", name, "", "mutated by the body: left out"))
    return KeyExplanation(key=key, function=c.name, version=watch.version, parts=tuple(parts))
