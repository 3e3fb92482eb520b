"""``f.cache_explain(*args, **kwargs)``: what a call's key is made of, each part with its digest.

A user who expected a hit and got a miss compares two explanations (or one with what they
changed): every argument, closure value, bound ``self``, global read and same-notebook
function called is listed with the digest memo hashed for it, next to the names left out
(``ignore=``) and the ones the body mutates (state). The magics show it for
``%cache_info -v f``.
"""

from __future__ import annotations

import html
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memo._hashing import hash_arguments
from memo._summary import short_repr

if TYPE_CHECKING:
    from memo._function import CachedState

__all__ = ["KeyExplanation", "KeyPart", "explain"]

_VALUE_MAX = 60


@dataclass(frozen=True)
class KeyPart:
    """One input of a key: its kind, its name, the digest hashed for it and a short view of its value.

    ``kind``: ``argument``, ``key()`` (a ``key=`` function's result), ``closure``, ``bound``
    (``self``, a partial's args), a global's kind (``data``, ``callee``, ``module``,
    ``class``, ``function``, ``cached``, ``self``), or ``ignored`` / ``state`` (left out,
    no digest). Example::

        KeyPart(kind="data", name="SCALE", digest="9f1c...", value="3")
    """

    kind: str
    name: str
    digest: str
    value: str


@dataclass(frozen=True)
class KeyExplanation:
    """What one call's key is made of (``f.cache_explain(*args, **kwargs)``); prints as a table.

    Example::

        >>> print(load.cache_explain(3))
        __main__.load  version 1a2b3c4d5e6f7a8b
        key default:__main__.load:1a2b3c4d5e6f7a8b:0c9d...
          argument  x       7f0e21c4a9d2  3
          data      SCALE   51c0d2e8f7a1  2
          callee    helper  e02d9c7b11aa  <function helper>

    Compare two explanations with :meth:`changed` to see why a call missed.
    """

    key: str
    function: str
    version: str
    parts: tuple[KeyPart, ...]

    def changed(self, other: KeyExplanation) -> list[str]:
        """Names whose digest differs between two explanations (or that only one of them has).

        Example::

            before = f.cache_explain(1); SCALE = 3; f.cache_explain(1).changed(before)  # ["SCALE"]
        """
        mine = {(p.kind, p.name): p.digest for p in self.parts}
        theirs = {(p.kind, p.name): p.digest for p in other.parts}
        names = [k[1] for k in mine if theirs.get(k) != mine[k]]
        names += [k[1] for k in theirs if k not in mine]
        if self.version != other.version:
            names.insert(0, "<code>")
        return names

    def __str__(self) -> str:
        lines = [f"{self.function}  version {self.version}", f"key {self.key}"]
        kind_w = max((len(p.kind) for p in self.parts), default=0)
        name_w = max((len(p.name) for p in self.parts), default=0)
        for p in self.parts:
            lines.append(f"  {p.kind:<{kind_w}}  {p.name:<{name_w}}  {p.digest[:12] or '-':<12}  {p.value}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(p.kind)}</td><td><code>{esc(p.name)}</code></td>"
            f"<td><code>{esc(p.digest[:12]) or '-'}</code></td><td>{esc(p.value)}</td></tr>"
            for p in self.parts
        )
        return (
            f"<div><b>{esc(self.function)}</b> version <code>{esc(self.version)}</code><br>"
            f"key <code>{esc(self.key)}</code>"
            "<table><thead><tr><th>kind</th><th>name</th><th>digest</th><th>value</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )


def _shown(value: object) -> str:
    if isinstance(value, types.ModuleType):
        return f"<module {value.__name__}>"
    if isinstance(value, type):
        return f"<class {value.__module__}.{value.__qualname__}>"
    if callable(value) and isinstance(getattr(value, "__qualname__", None), str):
        return f"<function {getattr(value, '__module__', '?')}.{value.__qualname__}>"  # type: ignore[attr-defined]
    return short_repr(value, _VALUE_MAX)


def explain(c: CachedState, args: tuple[Any, ...], kwargs: dict[str, Any]) -> KeyExplanation:
    """The :class:`KeyExplanation` of one call of the cached function whose state is ``c``."""
    keys = c.keys
    watch = keys.watch
    key = keys.key(args, kwargs)  # syncs the watch: the parts below are those of this key
    parts: list[KeyPart] = []
    ignore = set(c.opts.ignore)
    if c.opts.key is not None:
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
