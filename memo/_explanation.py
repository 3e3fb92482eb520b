r"""What a call's key is made of, as a value: :class:`KeyExplanation` and its :class:`KeyPart`\s.

The types only (standard library, no memo imports), so the vocabulary can name them; the
builder is ``memo._explain.explain``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["KeyExplanation", "KeyPart"]


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
