"""Function identity: module, qualified name and a fingerprint of the code.

The fingerprint covers what the function *does* (bytecode, constants, names, nested
code objects) and leaves out what does not change behaviour (line numbers, comments,
whitespace, the docstring), so editing other code in a notebook cell keeps entries and
editing the function's own body makes a new version.
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any

import xxhash

__all__ = ["code_fingerprint", "function_identity"]


def _code_parts(code: types.CodeType, doc: str | None, out: list[bytes]) -> None:
    """Append the behaviour-bearing parts of a code object (recursively) to ``out``."""
    out.append(code.co_code)
    out.append(repr((code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount)).encode())
    out.append(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)).encode())
    out.append(str(code.co_flags).encode())
    consts = code.co_consts
    if consts and (consts[0] is None or (doc is not None and consts[0] == doc)):
        consts = consts[1:]  # the docstring slot: None when there is no docstring
    for const in consts:
        if isinstance(const, types.CodeType):
            out.append(b"<code>")
            _code_parts(const, None, out)
        elif isinstance(const, (frozenset, set)):
            out.append(repr(sorted(map(repr, const))).encode())
        else:
            out.append(type(const).__name__.encode() + b":" + repr(const).encode())
        out.append(b"\x00")


def code_fingerprint(func: Any) -> str:
    """A 16-hex-digit fingerprint of ``func``'s code, blind to comments and docstring."""
    code = getattr(func, "__code__", None)
    if code is None:
        return "0" * 16
    parts: list[bytes] = []
    _code_parts(code, getattr(func, "__doc__", None), parts)
    return xxhash.xxh3_64_hexdigest(b"\x01".join(parts))


def _notebook_name() -> str | None:
    """The running notebook's name, when the kernel can tell (JupyterLab, VS Code)."""
    main = sys.modules.get("__main__")
    vsc = getattr(main, "__vsc_ipynb_file__", None)
    path = vsc or os.environ.get("JPY_SESSION_NAME")
    if not path:
        return None
    name = os.path.splitext(os.path.basename(str(path)))[0]
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or None


def function_identity(func: Any) -> str:
    """``module.qualname`` of a function; ``__main__`` becomes the notebook's name."""
    module = getattr(func, "__module__", None) or "__unknown__"
    if module == "__main__" and "IPython" in sys.modules:
        module = _notebook_name() or module
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", "<anonymous>")
    return f"{module}.{qualname}".replace(":", "_")
