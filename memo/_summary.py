"""One-line summaries of argument values for entry metadata (never used for keys).

A summary costs O(1) in the size of the value: big containers and arrays are shown by
type and size (``list(len=100000)``, ``ndarray(float64, 1000x3)``, ``DataFrame(1000x10)``),
small ones item by item, and only scalars and objects of unknown shape are ``repr``-ed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["short_repr"]

_SCALARS = frozenset({int, float, complex, bool, type(None)})
_SMALL = 8  # containers with at most this many items are shown item by item
_DEPTH = 2  # nesting shown item by item; deeper containers are shown by size
_BIG_INT_BITS = 256


def short_repr(value: object, limit: int = 80) -> str:
    """A one-line summary of ``value`` of at most ``limit`` characters; never raises.

    Example::

        >>> short_repr(list(range(10**6)))
        'list(len=1000000)'
    """
    try:
        text = _summary(value, limit, 0)
    except Exception:
        text = f"<{_name(value)}>"
    return _fit(text, limit)


def _name(value: object) -> str:
    return getattr(type(value), "__name__", "object")


def _fit(text: str, limit: int) -> str:
    if "\n" in text or "\r" in text or "  " in text:
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def _summary(value: Any, limit: int, depth: int) -> str:
    t = type(value)
    if t in _SCALARS:
        if t is int and value.bit_length() > _BIG_INT_BITS:
            return f"int({value.bit_length()} bits)"
        return repr(value)
    if t is str or t is bytes or t is bytearray:
        if len(value) <= limit:
            return repr(value)
        suffix = f"...(len={len(value)})"
        room = max(8, limit - len(suffix))
        return repr(value[:room])[:room] + suffix
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and all(type(n) is int for n in shape) and not isinstance(value, type):
        if not shape:  # a numpy scalar or 0-d array: its repr is short
            return repr(value)
        dims = "x".join(map(str, shape))
        dtype = getattr(value, "dtype", None)
        return f"{_name(value)}({dims})" if dtype is None else f"{_name(value)}({dtype}, {dims})"
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return _container(value, limit, depth)
    fields = getattr(t, "__dataclass_fields__", None)
    if isinstance(fields, dict) and not isinstance(value, type):
        shown = [f for f in fields.values() if getattr(f, "repr", True) and _is_field(f)]
        return _items(_name(value) + "(", ")", [(f.name, getattr(value, f.name)) for f in shown], limit, depth)
    if callable(getattr(t, "__len__", None)):
        size = len(value)
        if size > _SMALL:
            return f"{_name(value)}(len={size})"
    return repr(value)


def _is_field(field: Any) -> bool:
    """True for a dataclass field proper (not a ClassVar or InitVar pseudo-field)."""
    kind = getattr(field, "_field_type", None)
    return kind is None or getattr(kind, "name", "_FIELD") == "_FIELD"


def _container(value: Any, limit: int, depth: int) -> str:
    name = _name(value)
    size = len(value)
    if size > _SMALL or depth >= _DEPTH:
        return f"{name}(len={size})"
    fields = getattr(type(value), "_fields", None)
    if isinstance(value, tuple) and isinstance(fields, tuple):  # a namedtuple
        return _items(name + "(", ")", list(zip(fields, value)), limit, depth)
    if isinstance(value, dict):
        body = _items("{", "}", [(_summary(k, limit, depth + 1), v) for k, v in value.items()], limit, depth, ": ")
    elif isinstance(value, list):
        body = _items("[", "]", [(None, v) for v in value], limit, depth)
    elif isinstance(value, tuple):
        body = _items("(", ",)" if size == 1 else ")", [(None, v) for v in value], limit, depth)
    elif not size:
        return f"{name}()"
    else:
        body = _items("{", "}", [(None, v) for v in value], limit, depth)
    exact = type(value) in (list, tuple, set, dict)
    return body if exact else f"{name}({body})"


def _items(open_: str, close: str, items: list[tuple[str | None, Any]], limit: int, depth: int, sep: str = "=") -> str:
    """``open_ a, name=b, ... close``; stops (with ``...``) once the text passes ``limit``."""
    parts: list[str] = []
    used = len(open_) + len(close)
    for label, item in items:
        if used > limit:
            parts.append("...")
            break
        text = _fit(_summary(item, limit, depth + 1), limit)
        part = text if label is None else f"{label}{sep}{text}"
        parts.append(part)
        used += len(part) + 2
    return open_ + ", ".join(parts) + close
