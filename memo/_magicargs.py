"""Typed helpers over IPython's ``magic_arguments`` (argparse for magics), shared by memo's magics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core import magic_arguments as _magic_arguments

__all__ = ["arg", "magic", "parse"]

_F = TypeVar("_F", bound=Callable[..., Any])
_MagicArgs: Any = _magic_arguments  # IPython's argparse decorators are untyped: used through Any


def arg(*names: str, **options: Any) -> Callable[[Any], Any]:
    """One ``magic_arguments.argument`` (an argparse option of a magic)."""
    return _MagicArgs.argument(*names, **options)  # type: ignore[no-any-return]


def magic(kind: Callable[..., Any], *arguments: Callable[[Any], Any]) -> Callable[[_F], _F]:
    """``@magic_arguments() @argument(...)... @line_magic`` as one typed decorator (help comes from the docstring)."""

    def decorate(func: _F) -> _F:
        wrapped: Any = kind(func)
        if arguments:
            for add in reversed(arguments):  # listed top to bottom, applied bottom-up like stacked decorators
                wrapped = add(wrapped)
            wrapped = _MagicArgs.magic_arguments()(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return decorate


def parse(magic: Any, line: str) -> Any:
    """The parsed arguments of a magic's line (a bad line is IPython's UsageError with the usage)."""
    return _MagicArgs.parse_argstring(magic, line)
