"""What the hashing engine says when it cannot hash a value (internal).

A refusal is raised deep inside the canonicaliser as :class:`Unhashable` (the value and
why); the engine turns it into a :class:`~memo.HashingError` that names the parameter (or
closure variable) and its type, and suggests only options memo accepts for that name.
"""

from __future__ import annotations

from memo.exceptions import HashingError

__all__ = ["Unhashable", "failed", "hashing_error", "type_name", "what"]

_CLOSURE_SUFFIX = " (closure variable)"


class Unhashable(Exception):
    """Internal: carries the offending value and why, to be turned into HashingError."""

    def __init__(self, value: object, why: str) -> None:
        super().__init__(why)
        self.value = value
        self.why = why


def type_name(t: type) -> str:
    """``module.qualname`` of a type, as hash forms and messages spell it."""
    return f"{t.__module__}.{t.__qualname__}"


def what(name: str) -> str:
    """``the value`` for ``hash_value``'s value, else ``argument 'name'``."""
    return "the value" if name == "value" else f"argument {name!r}"


def _advice(name: str, value: object) -> str:
    """What to do about a value memo cannot hash: only options memo accepts for ``name``."""
    var = name[: -len(_CLOSURE_SUFFIX)] if name.endswith(_CLOSURE_SUFFIX) else name
    hasher = f"memo.register_hasher({type(value).__name__}, fn) to say what its content is"
    if not var.isidentifier():  # hash_value's "value", a key= function's result
        return f"pass {hasher}"
    if var is name:
        return f"leave it out with ignore=({var!r},), or pass key= to say what to hash, or call {hasher}"
    return f"leave it out with ignore=({var!r},), or call {hasher}"


def hashing_error(name: str, exc: Unhashable) -> HashingError:
    """The HashingError for a value the canonicaliser refused."""
    tname = type_name(type(exc.value))
    return HashingError(
        f"cannot hash {what(name)} of type {tname}: {exc.why}. memo keys calls on "
        f"argument content; {_advice(name, exc.value)}."
    )


def failed(name: str, value: object, exc: BaseException) -> HashingError:
    """Any other failure while hashing ``value``, as a HashingError naming the parameter."""
    tname = type_name(type(value))
    return HashingError(
        f"cannot hash {what(name)} of type {tname}: hashing it failed ({type(exc).__name__}: {exc}). "
        f"memo keys calls on argument content; {_advice(name, value)}."
    )
