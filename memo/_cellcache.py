"""The ``%%cache`` cell magic: restore what a cell assigns (and shows) instead of running it again.

``%load_ext memo`` registers it. A cell is keyed on its code (parsed, so comments and
blank lines do not count) and on the content of every name it reads from the notebook
(hashed with :func:`hash_value`, like arguments); its result is the variables it
assigns (or only the named ones), the inputs it mutated in place, the deleted names,
and everything it showed (stdout, stderr, rich displays and the last expression's value).
Running it again with nothing changed restores all of that without running the cell and
says so in one line; a changed input or code runs it. Example::

    %%cache --ttl 3600
    df = load(PATH)            # reads PATH and load; sets df
    model = fit(df, alpha=ALPHA)
    model.score(df)            # shown again on a restore

Records are memo's own (``memo._serialize``: cloudpickle, checksummed, signed with the
configured secret), stored through the backend protocol under memo's key layout in the
namespace ``cells`` (function: the notebook's path, or ``__main__.cells``), so
``%cache_list``, ``%cache_clear --namespace cells`` and :mod:`memo.admin` see them. See
docs/jupyter.md for what it restores and what it cannot.
"""

from __future__ import annotations

import ast
import builtins
import sys
import time
from typing import Any, NamedTuple

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class

from memo import _config, _notebook  # noqa: F401  # _notebook: cell values keep notebook classes live
from memo._cellnames import CellNames, analyse
from memo._hashing import hash_value
from memo._identity import notebook_module, notebook_path
from memo._keys import check_segment, function_prefix, version_prefix
from memo._magicargs import arg, magic, parse
from memo._serialize import Entry, RecordError, UnverifiableRecord, loads_record, record_parts
from memo._summary import short_repr
from memo.exceptions import HashingError, MemoError

__all__ = ["CellMagics", "cell_function", "load_ipython_extension"]

NAMESPACE = "cells"
_FORMAT = "memo-cell-1"  # in every key and payload: a new layout never reads an old one
_RESULT = "_memo_cell_result_"  # where the cell's last expression is put while it runs
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"  # a live widget cannot be replayed
_ABSENT = "<absent>"


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%%cache`` cell magic on a shell (``%load_ext memo`` calls it).

    Example::

        from memo._cellcache import load_ipython_extension
        load_ipython_extension(get_ipython())
    """
    ipython.register_magics(CellMagics)


# -- keys ---------------------------------------------------------------------------------


def cell_function(user_ns: dict[str, Any] | None = None) -> str:
    """The key's function part for this notebook's cells: ``<notebook>.cells``, else ``__main__.cells``.

    ``<notebook>`` is what a notebook-defined function's module is named
    (``memo._identity``: the notebook's stem and a digest of its path, found from VS Code's
    ``__vsc_ipynb_file__``, ipykernel's ``__session__`` or ``JPY_SESSION_NAME``), so two
    notebooks of one name in two folders never share cells. Example::

        >>> cell_function()
        'sales-3f0c9a1e.cells'
    """
    path = notebook_path(user_ns)
    return f"{notebook_module(path)}.cells" if path else "__main__.cells"


class _Plan(NamedTuple):
    key: str
    version: str
    inputs: dict[str, str]  # name -> digest of its value (or _ABSENT)
    names: CellNames


def _value_digest(user_ns: dict[str, Any], name: str) -> str:
    if name in user_ns:
        return hash_value(user_ns[name])
    return _ABSENT


def _notebook_reads(user_ns: dict[str, Any], name: str) -> list[str]:
    """The notebook names a function defined in the notebook may read: they are inputs too.

    A helper defined in an earlier cell is hashed by its code; the globals it reads are
    hashed here, so ``SCALE = 3`` followed by a re-run of a cell calling ``scale(x)`` runs
    the cell again. Taken from the code's names (attribute names included, so this can
    only add inputs, never miss one), transitively through the functions they name.
    """
    func = user_ns.get(name)
    code = getattr(func, "__code__", None)
    if code is None or getattr(func, "__module__", None) != user_ns.get("__name__", "__main__"):
        return []
    found: list[str] = []
    stack = [code]
    while stack:
        current = stack.pop()
        found.extend(n for n in current.co_names if n in user_ns)
        stack.extend(c for c in current.co_consts if hasattr(c, "co_names"))
    return found


def _plan(source: str, user_ns: dict[str, Any], hidden: dict[str, Any], wanted: list[str]) -> _Plan:
    """The cell's key: code version, then a digest of every input's value (HashingError: unkeyable)."""
    names = analyse(source)
    code = ast.dump(ast.parse(source))  # comments and layout do not count; names and constants do
    version = hash_value((_FORMAT, code, tuple(wanted)))[:16]
    inputs: dict[str, str] = {}
    pending = list(names.reads)
    while pending:
        name = pending.pop()
        if name in inputs or name == _RESULT or (name in hidden and user_ns.get(name) is hidden[name]):
            continue  # IPython's own objects (get_ipython, In, Out, exit): not the user's inputs
        if name not in user_ns and hasattr(builtins, name):
            continue
        try:
            inputs[name] = _value_digest(user_ns, name)
        except HashingError as exc:
            raise HashingError(f"input {name!r}: {exc}") from None
        pending.extend(_notebook_reads(user_ns, name))
    digest = hash_value((_FORMAT, version, sorted(inputs.items())))
    function = check_segment("function", cell_function(user_ns))
    return _Plan(version_prefix(function_prefix(NAMESPACE, function), version) + digest, version, inputs, names)


# -- running a cell while recording what it shows --------------------------------------


class _Tee:
    """A stream that writes through to the real one and records what went by."""

    def __init__(self, stream: Any, kind: str, outputs: list[Any]) -> None:
        self._stream, self._kind, self._outputs = stream, kind, outputs

    def write(self, text: str) -> int:
        if self._outputs and self._outputs[-1][0] == self._kind:
            self._outputs[-1][1].append(text)
        else:
            self._outputs.append((self._kind, [text]))
        return int(self._stream.write(text) or 0)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding...: the real stream's
        return getattr(self._stream, name)


class _LastExpression(ast.NodeTransformer):
    """Puts a cell's final expression into a variable, so the magic returns it as the cell's value."""

    def visit_Module(self, node: ast.Module) -> ast.Module:
        if node.body and isinstance(node.body[-1], ast.Expr):
            last = node.body[-1]
            store = ast.Assign(targets=[ast.Name(id=_RESULT, ctx=ast.Store())], value=last.value)
            node.body[-1] = ast.fix_missing_locations(ast.copy_location(store, last))
        return node


class _Run(NamedTuple):
    ok: bool
    outputs: list[Any]
    result: Any
    duration: float


def _run(shell: Any, cell: str) -> _Run:
    """Run the cell in the shell, showing its output as usual and recording it."""
    outputs: list[Any] = []
    publisher = shell.display_pub
    publish = publisher.publish
    own_publish = "publish" in vars(publisher)

    def recording_publish(data: dict[str, Any], metadata: dict[str, Any] | None = None, *a: Any, **kw: Any) -> Any:
        if not kw.get("update"):
            outputs.append(("display", dict(data), dict(metadata or {})))
        return publish(data, metadata, *a, **kw)

    quiet = cell.rstrip().endswith(";")
    transformer = _LastExpression()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(saved[0], "stdout", outputs), _Tee(saved[1], "stderr", outputs)
    publisher.publish = recording_publish
    if not quiet:
        shell.ast_transformers.append(transformer)
    hook = shell.displayhook
    outer = hook.exec_result  # the %%cache cell's own result: the nested run would take its place
    start = time.perf_counter()
    try:
        result = shell.run_cell(cell, store_history=False)
    finally:
        duration = time.perf_counter() - start
        hook.exec_result = outer
        sys.stdout, sys.stderr = saved
        if own_publish:
            publisher.publish = publish  # someone else's wrapper was there: put it back
        else:
            del publisher.publish  # the class's method shows through again
        if transformer in shell.ast_transformers:
            shell.ast_transformers.remove(transformer)
    value = shell.user_ns.pop(_RESULT, None)
    ok = result.error_before_exec is None and result.error_in_exec is None
    return _Run(ok, [_packed(o) for o in outputs], value, duration)


def _packed(output: Any) -> Any:
    if output[0] in ("stdout", "stderr"):
        return (output[0], "".join(output[1]))
    _, data, metadata = output
    if _WIDGET_MIME in data and len(data) > 1:  # the widget's model is gone on a restore: keep its fallback
        data = {k: v for k, v in data.items() if k != _WIDGET_MIME}
    return ("display", data, metadata)


def _replay(outputs: list[Any]) -> None:
    from IPython import display

    publish: Any = display.publish_display_data  # untyped in IPython

    for output in outputs:
        if output[0] == "stdout":
            sys.stdout.write(output[1])
        elif output[0] == "stderr":
            sys.stderr.write(output[1])
        else:
            publish(output[1], output[2] or None)


# -- the store ----------------------------------------------------------------------------

_backends: dict[str, Any] = {}  # URL -> backend, opened once per kernel (re-running a cell opens nothing new)


def _backend(url: str | None) -> Any:
    if url is None:
        return _config.get_default_backend()
    if url not in _backends:
        _backends[url] = _config.resolve_backend(url)
    return _backends[url]


def _objects(backend: Any) -> tuple[Any, Any]:
    """An object-keeping backend's (get_entry, set_entry), else (None, None).

    Such a backend (memory) lists entries from the entry objects it keeps, so a record is
    kept inside an entry carrying its metadata: listings show what the cell set, and the
    record's bytes, not live objects, are what a restore unpickles (a restored variable is
    never the cached object itself, so mutating it cannot corrupt the cache).
    """
    get_entry, set_entry = getattr(backend, "get_entry", None), getattr(backend, "set_entry", None)
    if getattr(backend, "stores_objects", False) and callable(get_entry) and callable(set_entry):
        return get_entry, set_entry
    return None, None


def _load(backend: Any, key: str, secret: bytes | None) -> Any:
    """The stored payload for ``key``, or None (absent, expired, damaged, signed by another key)."""
    get_entry, _ = _objects(backend)
    if get_entry is not None:
        entry = get_entry(key)
        data = None if entry is None else entry.value
        data = data if isinstance(data, bytes) else None
    else:
        data = backend.get(key)
    if data is None:
        return None
    try:
        payload = loads_record(data, secret, key).value
    except UnverifiableRecord:
        return None  # signed by a process with a secret this one lacks: not ours to judge or delete
    except RecordError:
        backend.delete(key)  # damaged, or not signed with our secret: never served, recomputed
        return None
    return payload if isinstance(payload, dict) and payload.get("format") == _FORMAT else None


def _unpicklable(values: dict[str, Any]) -> list[str]:
    """Which values cloudpickle refuses (asked only after the whole payload failed)."""
    import cloudpickle

    bad = []
    for name, value in values.items():
        try:
            cloudpickle.dumps(value, protocol=5)
        except Exception:
            bad.append(name)
    return bad


def _summary(plan: _Plan, saved: list[str]) -> str:
    reads = ", ".join(plan.inputs) or "nothing"
    return short_repr(f"reads {reads}; sets {', '.join(saved) or 'nothing'}", 120).strip("'\"")


def _say(text: str) -> None:
    print(f"[%%cache] {text}")


# -- the magic ------------------------------------------------------------------------------


@magics_class
class CellMagics(Magics):
    """memo's ``%%cache`` cell magic, registered by ``%load_ext memo``.

    Example::

        %%cache model
        model = fit(load(PATH))
    """

    @magic(
        cell_magic,
        arg("names", nargs="*", help="variables to keep (default: every name the cell assigns)"),
        arg("--backend", default=None, metavar="URL", help="backend URL (default: the configured backend)"),
        arg(
            "--ttl", type=float, default=None, metavar="S", help="seconds the result is kept (default: configured ttl)"
        ),
        arg("-f", "--force", action="store_true", help="run the cell and store its result even if cached"),
    )
    def cache(self, line: str, cell: str) -> Any:
        """Restore the cell's variables and output when its code and inputs are unchanged, else run it.

        ::

            %%cache --ttl 600 df
            df = expensive_load(PATH)
        """
        args = parse(self.cache, line)
        return _cell(self.shell, args, cell)


def _cell(shell: Any, args: Any, cell: str) -> Any:
    try:
        ttl = _config.normalize_ttl(args.ttl) if args.ttl is not None else _config.state.ttl
        backend = _backend(args.backend)
        secret = _config.current_secret()
    except MemoError as exc:
        raise UsageError(f"%%cache: {exc}") from None
    user_ns = shell.user_ns
    source = shell.transform_cell(cell)  # IPython syntax (!cmd, %magic) to Python
    plan: _Plan | None = None
    why = ""
    if not _config.state.enabled:
        why = "memo is disabled"
    else:
        try:
            plan = _plan(source, user_ns, getattr(shell, "user_ns_hidden", {}), list(args.names))
        except SyntaxError:
            plan = None  # the run shows the error as usual (and the cell fails)
        except HashingError as exc:
            why = f"not cached: {exc}"
    if plan is not None and not args.force:
        try:
            payload = _load(backend, plan.key, secret)
        except Exception as exc:  # an unreachable backend: run the cell, as a cached function would
            payload, why = None, f"backend failed ({type(exc).__name__}: {exc}); ran the cell without the cache"
        if payload is not None:
            return _restore(user_ns, payload)
    if why:
        _say(why)
    run = _run(shell, cell)
    if not run.ok:  # its traceback is shown; the %%cache cell must fail too, so a headless run stops
        raise UsageError("%%cache: the cell raised; nothing was stored")
    if plan is None or why or ttl == 0:
        return run.result
    _store(backend, secret, plan, args.names, run, ttl, shell)
    return run.result


def _restore(user_ns: dict[str, Any], payload: dict[str, Any]) -> Any:
    variables: dict[str, Any] = payload["variables"]
    user_ns.update(variables)
    for name in payload["deleted"]:
        user_ns.pop(name, None)
    names = ", ".join(variables) or "no variables"
    ago = time.time() - float(payload["created"])
    _say(f"restored {names} (cell ran {_ago(ago)} ago in {payload['duration']:.2f} s); the cell did not run")
    _replay(payload["outputs"])
    return payload["result"]


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _store(
    backend: Any, secret: bytes | None, plan: _Plan, wanted: list[str], run: _Run, ttl: float | None, shell: Any
) -> None:
    user_ns = shell.user_ns
    names = list(wanted) or [n for n in plan.names.assigns if n != _RESULT]
    for name, digest in plan.inputs.items():  # an input changed in place is part of the cell's effect
        if name not in names and name in user_ns:
            try:
                changed = hash_value(user_ns[name]) != digest
            except HashingError:
                changed = True
            if changed:
                names.append(name)
    variables = {n: user_ns[n] for n in names if n in user_ns}
    deleted = [n for n in names if n not in user_ns and n in plan.names.assigns]  # `del x`, not a typo'd name
    created = time.time()
    payload: dict[str, Any] = {
        "format": _FORMAT,
        "variables": variables,
        "deleted": deleted,
        "outputs": run.outputs,
        "result": run.result,
        "created": created,
        "duration": run.duration,
    }
    entry = Entry(
        payload,
        function=plan.key.split(":")[1],
        args=_summary(plan, list(variables)),
        created=created,
        expires=None if ttl is None else created + ttl,
        duration=run.duration,
        version=plan.version,
    )
    try:
        data = b"".join(record_parts(entry, secret, plan.key))
    except Exception:
        bad = _unpicklable(variables)
        if not bad and run.result is not None:
            # only the cell's value cannot be kept: keep how it displays instead (no Out[] on a restore)
            data_md = shell.display_formatter.format(run.result)
            payload["result"] = None
            payload["outputs"] = [*run.outputs, ("display", *data_md)]
            try:
                data = b"".join(record_parts(entry, secret, plan.key))
            except Exception:
                bad = ["(the cell's output)"]
        if bad:
            _say(f"not stored: {', '.join(bad)} cannot be pickled; name the variables to keep: %%cache x y")
            return
    _write(backend, plan.key, data, ttl, entry)


def _write(backend: Any, key: str, data: bytes, ttl: float | None, entry: Entry) -> None:
    _, set_entry = _objects(backend)
    try:
        if set_entry is not None:
            meta = Entry(data, entry.function, entry.args, entry.created, entry.expires, entry.duration, entry.version)
            set_entry(key, meta, ttl)
        else:
            backend.set(key, data, ttl)
    except Exception as exc:  # the cell ran and its variables are set: a failed write is only a note
        _say(f"not stored: the backend failed ({type(exc).__name__}: {exc})")
