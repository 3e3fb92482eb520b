"""IPython magics: ``%cache_info``, ``%cache_list``, ``%cache_clear`` and ``%cache_inspect``.

Loaded by ``%load_ext memo`` (``memo.load_ipython_extension``); importing this module
imports IPython, so ``import memo`` never does. Everything here stands on
:mod:`memo.admin` and the live registry, never on the call path's internals, so the
magics see what any other process would see: entries written before a kernel restart can
be listed and cleared by name. Example::

    %load_ext memo
    %cache_info            # every cached function: hits, misses, entries, bytes, time saved
    %cache_list load       # the entries of `load`: arguments, size, age, expiry, compute time
    %cache_clear load      # "removed 3 entries of __main__.load"

A name is looked up in the notebook's namespace (a cached function, or a dotted path to
one), then among the live cached functions (``module.qualname`` or just ``qualname``),
then among the functions the backend holds entries for. An unknown name is a one-line
``UsageError``, never a traceback.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

import memo
from memo import _registry, admin
from memo._magicargs import arg, magic, parse

__all__ = ["MemoMagics", "Table", "load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%cache_*`` line magics on a shell (``%load_ext memo`` calls it).

    Example::

        from memo._ipython import load_ipython_extension
        load_ipython_extension(get_ipython())
    """
    ipython.register_magics(MemoMagics)


# -- formatting ------------------------------------------------------------------------


def _size(n: int) -> str:
    """Bytes for people: ``512 B``, ``1.5 KiB``, ``12.0 MiB``, ``3.2 GiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _span(seconds: float) -> str:
    """A short human duration: ``0.25 s``, ``12 s``, ``5 min``, ``3.0 h``, ``2.0 d``."""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _expires(expires: float | None, now: float) -> str:
    if expires is None:
        return "never"
    return f"in {_span(expires - now)}" if expires > now else "expired"


class Table:
    """A titled table that renders as HTML in Jupyter and as aligned text in a terminal.

    What the magics return; ``rows`` are lists of strings, one per column. Example::

        >>> t = Table("cached functions", ["function", "hits"], [["__main__.load", "3"]])
        >>> print(t)
        cached functions
        function       hits
        __main__.load     3
    """

    def __init__(
        self, title: str, columns: Sequence[str], rows: Iterable[Sequence[str]], notes: Sequence[str] = ()
    ) -> None:
        self.title = title
        self.columns = list(columns)
        self.rows = [list(r) for r in rows]
        self.notes = list(notes)

    def __str__(self) -> str:
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        numeric = [all(_is_number(row[i]) for row in self.rows) and bool(self.rows) for i in range(len(widths))]

        def line(cells: Sequence[str]) -> str:
            out = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
            return "  ".join(out).rstrip()

        lines = [self.title, line(self.columns), *(line(r) for r in self.rows)]
        if not self.rows:
            lines.append("(none)")
        return "\n".join([*lines, *self.notes])

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th style='text-align:left'>{esc(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{esc(cell)}</td>" for cell in row) + "</tr>"
            for row in self.rows
        )
        if not self.rows:
            body = f"<tr><td colspan='{len(self.columns)}'><i>none</i></td></tr>"
        notes = "".join(f"<pre>{esc(n)}</pre>" for n in self.notes)
        return (
            f"<div class='memo-table'><b>{esc(self.title)}</b>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}</div>"
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- name resolution -------------------------------------------------------------------


class _Target(NamedTuple):
    """One function a magic acts on: a live function object, or a name the backend holds."""

    label: str  # module.qualname (with "namespace/" ahead when not the default namespace)
    func: Any  # the cached function object, or None when known only from the backend
    name: str  # module.qualname as in keys
    namespace: str | None
    backend: Any  # where to look (None: the function's own backend, else the default)


def _label(namespace: str | None, name: str) -> str:
    return name if namespace in (None, "default") else f"{namespace}/{name}"


def _is_cached(obj: object) -> bool:
    return callable(obj) and isinstance(getattr(obj, "cache_name", None), str)


def _from_user_ns(user_ns: dict[str, Any], name: str) -> Any:
    """The cached function a dotted path names in the notebook's namespace, else None."""
    head, *rest = name.split(".")
    if head not in user_ns:
        return None
    obj = user_ns[head]
    for attr in rest:
        try:
            obj = getattr(obj, attr)
        except Exception:  # a property that raises is no cached function either
            return None
    return obj if _is_cached(obj) else None


def _matches(full: str, name: str) -> bool:
    return full == name or full.endswith("." + name)


def _backends_in_use() -> list[Any]:
    """The default backend and every explicit backend of a live function, once each."""
    found: dict[int, Any] = {}
    for backend in [memo.get_default_backend(), *(r.backend for r in _registry.registered())]:
        if backend is not None:
            found.setdefault(id(backend), backend)
    return list(found.values())


def _function_rows(url: str | None) -> list[tuple[admin.FunctionInfo, Any]]:
    """Every function with entries (or live) on ``url``, else on each backend in use."""
    rows: list[tuple[admin.FunctionInfo, Any]] = []
    for backend in [url] if url else _backends_in_use():
        rows.extend((row, backend) for row in admin.functions(backend))
    return rows


def _resolve(magic: str, user_ns: dict[str, Any], name: str, url: str | None) -> list[_Target]:
    """The functions ``name`` stands for: notebook namespace, then live registry, then backend."""
    obj = _from_user_ns(user_ns, name)
    if obj is not None:
        reg = _registry.registration(getattr(obj, "__func__", obj))
        namespace = reg.namespace if reg else getattr(obj, "cache_namespace", None)
        return [_Target(_label(namespace, obj.cache_name), obj, obj.cache_name, namespace, url)]
    regs = [r for r in _registry.registered() if r.name == name] or [
        r for r in _registry.registered() if _matches(r.name, name)
    ]
    if regs:
        return [_Target(_label(r.namespace, r.name), r.func, r.name, r.namespace, url) for r in regs]
    rows = _function_rows(url)
    hits = [(r, b) for r, b in rows if r.function == name] or [(r, b) for r, b in rows if _matches(r.function, name)]
    if hits:
        return [_Target(_label(r.namespace, r.function), None, r.function, r.namespace, b) for r, b in hits]
    where = url or "the backends in use"
    raise UsageError(f"%{magic}: no cached function named {name!r} (not in the notebook, live, or on {where})")


def _targets(magic: str, user_ns: dict[str, Any], names: Sequence[str], url: str | None) -> list[_Target]:
    found: list[_Target] = []
    for name in names:
        for target in _resolve(magic, user_ns, name, url):
            if target not in found:
                found.append(target)
    return found


def _admin_function(target: _Target) -> tuple[Any, Any, str | None]:
    """(backend, function, namespace) arguments for :mod:`memo.admin` calls about ``target``."""
    if target.func is not None and target.backend is None:
        return None, target.func, None  # the function's own backend and namespace
    return target.backend, target.name, target.namespace


_T = TypeVar("_T")


def _guard(magic: str, action: Callable[[], _T]) -> _T:
    """Run ``action``; memo's own errors (a bad URL, an unreachable backend) become one line."""
    try:
        return action()
    except UsageError:
        raise
    except (memo.MemoError, OSError, ValueError) as exc:
        raise UsageError(f"%{magic}: {exc}") from None


# -- the magics ------------------------------------------------------------------------


@magics_class
class MemoMagics(Magics):
    """memo's line magics, registered by ``%load_ext memo``.

    Example::

        %cache_info -v load
        %cache_clear --namespace etl
    """

    def _user_ns(self) -> dict[str, Any]:
        shell: Any = self.shell
        return shell.user_ns  # type: ignore[no-any-return]

    @magic(
        line_magic,
        arg("names", nargs="*", help="cached functions (name, module.qualname); default: all"),
        arg("-v", "--verbose", action="store_true", help="also show what each key is made of"),
        arg("-b", "--backend", default=None, metavar="URL", help="backend URL to read (default: the backends in use)"),
    )
    def cache_info(self, line: str) -> Table:
        """Per cached function: hits, misses, entries, bytes and time saved (this process).

        ::

            %cache_info              # every function with entries, and every live one
            %cache_info -v load      # with load.cache_explain() where available
        """
        args = parse(self.cache_info, line)
        return _guard("cache_info", lambda: _info(self._user_ns(), args.names, args.backend, args.verbose))

    @magic(
        line_magic,
        arg("name", nargs="?", default=None, help="a cached function; default: every function"),
        arg("-b", "--backend", default=None, metavar="URL", help="backend URL to read (default: the backends in use)"),
    )
    def cache_list(self, line: str) -> Table:
        """The stored entries: function, arguments, size, age, expiry and compute time.

        ::

            %cache_list load
        """
        args = parse(self.cache_list, line)
        return _guard("cache_list", lambda: _list(self._user_ns(), args.name, args.backend))

    @magic(
        line_magic,
        arg("names", nargs="*", help="cached functions to clear (all their versions)"),
        arg("--all", action="store_true", help="clear every memo entry on the backends in use"),
        arg("--namespace", default=None, metavar="NS", help="clear one namespace (with names: only there)"),
        arg("-b", "--backend", default=None, metavar="URL", help="backend URL to clear (default: the backends in use)"),
    )
    def cache_clear(self, line: str) -> None:
        """Delete cached entries and say how many went.

        ::

            %cache_clear load parse    # every version of two functions
            %cache_clear --namespace etl
            %cache_clear --all
        """
        args = parse(self.cache_clear, line)
        for message in _guard("cache_clear", lambda: _clear(self._user_ns(), args)):
            print(message)

    @magic(line_magic)
    def cache_inspect(self, line: str) -> Any:
        """Show the cache inspector widget (functions, entries, delete and clear buttons).

        ::

            %cache_inspect
        """
        if line.strip():
            raise UsageError("%cache_inspect takes no arguments")
        try:
            from memo._widget import CacheInspector  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:
            raise UsageError(
                f"%cache_inspect: the inspector is not available ({exc}); pip install 'memo-cache[notebook]'"
            ) from None
        return CacheInspector()


def _info(user_ns: dict[str, Any], names: Sequence[str], url: str | None, verbose: bool) -> Table:
    rows: list[list[str]] = []
    notes: list[str] = []
    if names:
        for target in _targets("cache_info", user_ns, names, url):
            backend, function, namespace = _admin_function(target)
            summary = admin.info(backend, function=function, namespace=namespace)
            stats = target.func.cache_info() if target.func is not None else None
            if stats is None:
                stats = next((r.stats for r in summary.functions if r.stats is not None), None)
            rows.append(_info_row(target.label, stats, summary.entries, summary.bytes))
            if verbose:
                notes.append(_explain(target))
    else:
        seen: set[tuple[str, str]] = set()
        for row, _ in _function_rows(url):
            if (row.namespace, row.function) in seen:
                continue
            seen.add((row.namespace, row.function))
            rows.append(_info_row(_label(row.namespace, row.function), row.stats, row.entries, row.bytes))
            if verbose:
                func = next((r.func for r in _registry.registered() if r.name == row.function), None)
                notes.append(_explain(_Target(row.function, func, row.function, row.namespace, None)))
    columns = ["function", "hits", "misses", "entries", "bytes", "time saved"]
    return Table("memo: cached functions", columns, rows, notes)


def _info_row(label: str, stats: memo.CacheInfo | None, entries: int, size: int) -> list[str]:
    if stats is None:  # known only from the backend (another process, or before a restart)
        return [label, "-", "-", str(entries), _size(size), "-"]
    return [label, str(stats.hits), str(stats.misses), str(entries), _size(size), _span(stats.time_saved)]


def _explain(target: _Target) -> str:
    explain = getattr(target.func, "cache_explain", None)
    if explain is None:
        why = "not live in this process" if target.func is None else "this memo cannot explain keys"
        return f"{target.label}: no key explanation ({why})"
    try:
        return f"{target.label}:\n{explain()}"
    except Exception as exc:  # a explanation needs arguments, or fails: say so in one line
        return f"{target.label}: cannot explain the key ({type(exc).__name__}: {exc})"


def _list(user_ns: dict[str, Any], name: str | None, url: str | None) -> Table:
    now = time.time()
    found: list[memo.EntryInfo] = []
    if name is None:
        for backend in [url] if url else _backends_in_use():
            found.extend(admin.entries(backend))
    else:
        for target in _targets("cache_list", user_ns, [name], url):
            backend, function, namespace = _admin_function(target)
            found.extend(admin.entries(backend, function=function, namespace=namespace))
    rows = [
        [
            _label(e.namespace, e.function),
            e.args,
            _size(e.size),
            _span(now - e.created),
            _expires(e.expires, now),
            _span(e.duration),
        ]
        for e in sorted(found, key=lambda e: (e.function, e.namespace, e.created))
    ]
    columns = ["function", "arguments", "size", "age", "expires", "compute time"]
    title = f"memo: {len(rows)} entr{'y' if len(rows) == 1 else 'ies'}" + (f" of {name}" if name else "")
    return Table(title, columns, rows)


def _entries_word(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"


def _clear(user_ns: dict[str, Any], args: Any) -> list[str]:
    url: str | None = args.backend
    where = f" from {url}" if url else ""
    if args.names:
        if args.all:
            raise UsageError("%cache_clear: pass names or --all, not both")
        messages = []
        for target in _targets("cache_clear", user_ns, args.names, url):
            backend, function, namespace = _admin_function(target)
            if args.namespace is not None:
                namespace = args.namespace
                function = target.name  # by name, so the namespace asked for wins over the function's own
                backend = backend if backend is not None or target.func is None else _own_backend(target.func)
            removed = admin.clear(backend, function=function, namespace=namespace)
            messages.append(f"removed {_entries_word(removed)} of {_label(namespace, target.name)}{where}")
        return messages
    if args.all:
        if args.namespace is not None:
            raise UsageError("%cache_clear: pass --all or --namespace, not both")
        removed = admin.clear(url) if url else memo.clear()
        return [f"removed {_entries_word(removed)} (every function){where or ' from the backends in use'}"]
    if args.namespace is not None:
        removed = admin.clear(url, namespace=args.namespace) if url else memo.clear(namespace=args.namespace)
        return [f"removed {_entries_word(removed)} of namespace {args.namespace!r}{where}"]
    raise UsageError("%cache_clear: name the functions to clear, or pass --all or --namespace NS")


def _own_backend(func: Any) -> Any:
    reg = _registry.registration(getattr(func, "__func__", func))
    return None if reg is None else reg.backend
