"""Function identity: module, qualified name and a fingerprint of the code.

The fingerprint covers what the function *does* (bytecode, constants, names, nested
code objects) and leaves out what does not change behaviour (line numbers, comments,
whitespace, the docstring), so editing other code in a notebook cell keeps entries and
editing the function's own body makes a new version.
"""

from __future__ import annotations

import functools
import os
import sys
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import xxhash

from memo._keys import safe_name
from memo.exceptions import ConfigurationError

__all__ = [
    "Target",
    "check_identifiable",
    "code_fingerprint",
    "function_identity",
    "notebook_module",
    "notebook_path",
    "resolve",
    "target_version",
]

_fingerprints: dict[tuple[types.CodeType, str | None], str] = {}


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
    """A 16-hex-digit fingerprint of ``func``'s code, blind to comments and docstring.

    Remembered per (code object, docstring): hashing a function value or checking a
    version after ``__code__`` changed does not walk the bytecode again.
    """
    code = getattr(func, "__code__", None)
    if not isinstance(code, types.CodeType):
        return "0" * 16
    doc = getattr(func, "__doc__", None)
    memo_key = (code, doc if isinstance(doc, str) else None)
    found = _fingerprints.get(memo_key)
    if found is None:
        parts: list[bytes] = []
        _code_parts(code, memo_key[1], parts)
        found = xxhash.xxh3_64_hexdigest(b"\x01".join(parts))
        if len(_fingerprints) >= 4096:
            _fingerprints.clear()
        _fingerprints[memo_key] = found
    return found


def notebook_path(namespace: dict[str, Any] | None = None) -> str | None:
    """The running notebook's path, where the front end exposes it to the kernel, else None.

    Looked up in the notebook's own namespace first (VS Code's ``__vsc_ipynb_file__``;
    ``__session__``, which ipykernel copies from ``JPY_SESSION_NAME``), then in the
    environment (``JPY_SESSION_NAME``: JupyterLab, Notebook 7, or set by hand for a
    papermill/nbclient run, which start kernels without telling them the path).
    """
    main = sys.modules.get("__main__")
    for source in (namespace or {}, vars(main) if main is not None else {}):
        for name in ("__vsc_ipynb_file__", "__session__"):
            path = source.get(name)
            if isinstance(path, str) and path:
                return path
    if "IPython" in sys.modules:  # only a kernel's environment names its notebook
        path = os.environ.get("JPY_SESSION_NAME")
        if path:
            return path
    return None


def notebook_module(path: str) -> str:
    """The module part of a notebook function's name: the notebook's stem and a digest of its path.

    ``/home/ann/a/sales.ipynb`` -> ``sales-3f0c9a1e``: readable, and two notebooks with one
    stem in two folders never share entries. A valid key segment (no ``:``).
    """
    norm = os.path.normpath(path) if os.path.isabs(path) else path.replace("\\", "/")
    stem = os.path.splitext(os.path.basename(norm))[0]
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem) or "notebook"
    return f"{stem}-{xxhash.xxh3_64_hexdigest(norm.encode())[:8]}"


def function_identity(func: Any) -> str:
    """``module.qualname`` of a function; ``__main__`` becomes the notebook's stem and path digest."""
    module = getattr(func, "__module__", None) or "__unknown__"
    if module == "__main__":
        namespace = getattr(func, "__globals__", None)
        path = notebook_path(namespace if isinstance(namespace, dict) else None)
        if path:
            module = notebook_module(path)
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", "<anonymous>")
    return safe_name(f"{module}.{qualname}")


Getter = Callable[[], object]


class Target(NamedTuple):
    """What memo identifies a decorated callable by (see ``docs/identity.md``).

    ``name``: readable ``module.qualname`` (no ``:``). ``owners``: the functions whose live
    ``__code__`` makes the version (empty for C code). ``closure``: the function whose
    closure cells may be inputs. ``bound``: hidden inputs hashed like arguments on every
    call (a bound method's ``__self__``, a partial's args and keywords), as (label, getter).
    ``builtin``: C code, versioned by the Python and package version instead.
    """

    name: str
    owners: tuple[Any, ...]
    closure: Any
    bound: tuple[tuple[str, Getter], ...]
    builtin: bool


_BUILTIN_TYPES = (
    types.BuiltinFunctionType,
    types.MethodWrapperType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
)
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined in Python


def _first_param(func: Any) -> str:
    code = getattr(func, "__code__", None)
    if isinstance(code, types.CodeType) and code.co_argcount:
        return code.co_varnames[0]
    return "self"


def _constant(value: Any) -> Getter:
    return lambda: value


def resolve(func: Any, depth: int = 0) -> Target:
    """The :class:`Target` of ``func`` (see :func:`check_identifiable` for what is refused).

    Plain functions are themselves; a bound method is its function plus ``__self__``
    (a classmethod binds its class); a ``functools.partial`` is its function plus its args
    and keywords; a callable instance is its class's ``__call__`` plus the instance; a
    wrapper without code of its own (``functools.cache``, a jit dispatcher, a class-based
    decorator) is the function its ``__wrapped__`` leads to.
    """
    if depth > 32:
        raise ConfigurationError(f"@memo.cache cannot identify {func!r}: its __wrapped__ chain is too deep")
    if isinstance(func, functools.partial):
        inner = resolve(func.func, depth + 1)
        part = func
        args: Getter = lambda: part.args  # noqa: E731
        keywords: Getter = lambda: tuple(part.keywords.items())  # noqa: E731
        bound = (*inner.bound, ("<partial args>", args), ("<partial keywords>", keywords))
        return inner._replace(name=f"functools.partial({inner.name})", bound=bound)
    if isinstance(func, types.MethodType):
        inner = resolve(func.__func__, depth + 1)
        label = _first_param(func.__func__)
        return inner._replace(bound=((label, _constant(func.__self__)), *inner.bound))
    if isinstance(func, (staticmethod, classmethod)):
        return resolve(func.__func__, depth + 1)
    if isinstance(getattr(func, "__code__", None), types.CodeType):
        owners: tuple[Any, ...] = (func,)
        wrapped = getattr(func, "__wrapped__", None)
        if wrapped is not None and wrapped is not func:  # a decorator's wrapper: its body's code counts too
            try:
                owners += resolve(wrapped, depth + 1).owners
            except ConfigurationError:
                pass  # the wrapper's own code still identifies it
        return Target(function_identity(func), owners, func, (), False)
    if isinstance(func, _BUILTIN_TYPES):
        owner = getattr(func, "__self__", None)
        selves: tuple[tuple[str, Getter], ...] = ()
        if owner is not None and not isinstance(owner, types.ModuleType):
            selves = (("self", _constant(owner)),)
        module = getattr(func, "__module__", None) or getattr(getattr(func, "__objclass__", None), "__module__", None)
        qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", "")
        return Target(safe_name(f"{module or 'builtins'}.{qualname}"), (), None, selves, True)
    wrapped = getattr(func, "__wrapped__", None)
    if wrapped is not None and wrapped is not func:
        inner = resolve(wrapped, depth + 1)
        named = getattr(func, "__qualname__", None) and getattr(func, "__module__", None)
        return inner._replace(name=function_identity(func) if named else inner.name)
    cls = type(func)
    call = next((k.__dict__["__call__"] for k in cls.__mro__ if "__call__" in k.__dict__), None)
    if isinstance(call, types.FunctionType):
        inner = resolve(call, depth + 1)
        return inner._replace(bound=((_first_param(call), _constant(func)), *inner.bound))
    # An instance of a C type (operator.itemgetter(1), a ufunc) is C code; anything else
    # runs code memo cannot find: the caller refuses it unless a version= is pinned.
    name = safe_name(f"{cls.__module__}.{cls.__qualname__}")
    return Target(name, (), None, (("self", _constant(func)),), not cls.__flags__ & _HEAPTYPE)


def check_identifiable(func: Any, target: Target, version: str | None) -> None:
    """Refuse a callable whose code memo cannot find, unless ``version=`` is pinned."""
    if target.owners or target.builtin or version is not None:
        return
    raise ConfigurationError(
        f"@memo.cache cannot identify {func!r}: it has no Python code of its own, no __wrapped__ "
        "and its class's __call__ is not a Python function, so editing it could serve stale results. "
        "Decorate the underlying function, or pass version='1' (and change it whenever the "
        "callable's behaviour changes)."
    )


def target_version(target: Target) -> str:
    """The version from live code: the fingerprint of the owners' code (or of the C code's package)."""
    if len(target.owners) == 1:
        return code_fingerprint(target.owners[0])
    if target.owners:
        joined = "+".join(code_fingerprint(o) for o in target.owners)
        return xxhash.xxh3_64_hexdigest(joined.encode())
    if target.builtin:
        package = target.name.partition(".")[0]
        release = getattr(sys.modules.get(package), "__version__", None)
        tag = f"builtin {target.name} {sys.version_info[0]}.{sys.version_info[1]} {release}"
        return xxhash.xxh3_64_hexdigest(tag.encode())
    return "0" * 16
