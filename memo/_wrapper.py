"""The compiled per-function wrappers of ``@memo.cache`` and their memory-hit fast path.

Each wrapper is compiled from one source template, so the sync and async ones mirror
each other; past the inline hit they hand over to the drivers in ``_drivers``.
"""

from __future__ import annotations

import functools
import sys
import time
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memo import _config
from memo._drivers import async_call, sync_flow
from memo._keymaker import KeyMaker
from memo._policy import KEPT_FOLD
from memo._store import Store
from memo._types import MISS
from memo._watch import UNSET as _UNSET

if TYPE_CHECKING:
    import inspect

    from memo._function import CachedState

__all__ = ["make_wrapper"]

# The wrappers come from one source text, so the sync and async ones mirror each other.
# ``{sig}`` is the function's own parameter list when it has no ``*args``/``**kwargs``
# (no packing of a tuple and a dict per call, defaults applied by the interpreter, a flat
# typed tuple), else the generic ``*args, **kwargs``. A hit on the current MemoryBackend
# is served inline: one lookup of the typed call in the function's slot map, then the
# slot's own checks (still held by the backend, owned by this call's backend, not
# expired) and the counters. Everything else goes through ``_enter`` and the drivers.
# ``{sync}`` first keeps the key's version and hidden inputs live (see ``_watch``): for a
# plain function it is one identity check of ``__code__``; with a closure, a bound
# ``__self__`` or a partial's args, a call of ``Watch.sync``.
_WRAPPER = """
def _memo_make(_memo_c, _memo_func, _memo_state, _memo_slots, _memo_probe, _memo_enter, _memo_call,
               _memo_monotonic, _memo_next, _memo_backend, _memo_type,
               _memo_Exception, _memo_w, _memo_src, _memo_code{cells}{defaults}):
    {async_}def _memo_wrapper({sig}):
        if _memo_state.enabled:{sync}
            _memo_typed = {probe}
            try:
                _memo_kept = _memo_slots[_memo_typed]
            except _memo_Exception:  # not seen yet, or an unhashable argument
                _memo_kept = None
            if _memo_kept is not None:
                # the slot, the entry it held, its hit counter, and the slot's fixed owner and expiry
                _memo_slot, _memo_entry, _memo_count, _memo_owner, _memo_expires = _memo_kept
                if (
                    _memo_slot.item is _memo_entry  # None once the backend dropped it, another entry once replaced
                    and _memo_owner is {backend}
                    and (_memo_expires is None or _memo_expires > _memo_monotonic())
                ):
                    _memo_slot.ref = True  # recency for a bounded backend's eviction (second chance)
                    _memo_next(_memo_count)  # Stats.keep: this slot's hits, summed when read
                    return _memo_entry.value
            _memo_args = {args}
            _memo_kwargs = {kwargs}
            _memo_key, _memo_store, _memo_entry, _memo_bound, _memo_looked = _memo_enter(
                _memo_c, _memo_typed, _memo_args, _memo_kwargs
            )
            if _memo_entry is not None:
                return _memo_entry.value
{miss}        return {await_}_memo_func({call})
    return _memo_wrapper
"""

# Past a miss: the async wrapper awaits its driver; the sync one drives the sync flow (a
# generator, see ``_drivers.sync_flow``) and calls the body itself, so a cold recursive
# call costs two Python frames per level, not three.
_ASYNC_MISS = """            return await _memo_call(
                _memo_c, _memo_key, _memo_store, _memo_args, _memo_kwargs, _memo_bound, _memo_looked
            )
"""
_SYNC_MISS = """            _memo_flow = _memo_call(
                _memo_c, _memo_key, _memo_store, _memo_args, _memo_kwargs, _memo_bound, _memo_looked
            )
            try:
                _memo_next(_memo_flow)
            except StopIteration as _memo_done:
                return _memo_done.value
            try:
                _memo_value = _memo_func(*_memo_args, **_memo_kwargs)
            except BaseException as _memo_exc:
                _memo_flow.throw(_memo_exc)
                raise
            try:
                _memo_flow.send(_memo_value)
            except StopIteration as _memo_done:
                return _memo_done.value
            raise RuntimeError("memo: the call flow asked for the body twice")
"""

_SLOTS_MAX = KEPT_FOLD  # Stats folds kept hit counters past twice this many
_compiled: dict[str, types.CodeType] = {}  # wrapper source -> its code, shared by functions of one shape

_GENERIC = {
    "sig": "*args, **kwargs",
    "probe": "_memo_probe(args, kwargs)",
    "args": "args",
    "kwargs": "kwargs",
    "call": "*args, **kwargs",
}


def _enter(
    c: CachedState, typed: tuple[Any, ...], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str, Store, Any, dict[str, Any] | None, bool]:
    """The wrappers' path past the slot map: (key, store, hit entry or None, bound arguments, looked).

    Finds the key (remembered, else computed and remembered; ``bound`` holds the arguments
    when computing it bound them, for the entry's description) and the store. A hit on a
    backend that offers slots (the ``SlotSource`` capability: MemoryBackend) is served here
    (I/O-free, so for both drivers) and its slot kept for the wrapper's next call; a miss
    there is passed on as ``looked`` so the driver does not read the key again; anything
    else goes to the driver.
    """
    fast = c.fast
    try:
        key = fast.get(typed)
    except Exception:  # an unhashable argument
        key = None
    remembered = key is not None
    bound = None
    if key is None:
        keys = c.keys
        digest, bound = keys.digest(args, kwargs)
        key = keys.watch.prefix + digest
        keys.remember(fast, typed, (*args, *kwargs.values()), key)
    store = c.store()
    if not store.slots:  # not a SlotSource (declared backend capability): the driver loads
        return key, store, None, bound, False
    entry = store.load(key, c.policy)
    if entry is MISS:
        return key, store, None, bound, True
    took: float = entry.duration
    c.stats.hit(took)
    if c.loud():  # printed here, and no slot kept: the inline hit cannot print
        c.say("hit, saved", took, args, kwargs, bound)
        return key, store, entry, bound, False
    slot = store.slot(key)
    if remembered and slot is not None and slot.item is entry:
        backend = store.backend  # the slot's owner: the template serves it only while this is the call's backend
        slots = c.slots
        if c.slots_owner is not backend or len(slots) >= _SLOTS_MAX:
            slots.clear()
            c.slots_owner = backend
        slots[typed] = (slot, entry, c.stats.keep(took), backend, slot.expires)
    return key, store, entry, bound, False


def _signature_parts(func: Callable[..., Any], sig: inspect.Signature) -> tuple[dict[str, str], dict[str, Any]] | None:
    """Source parts of a wrapper with ``func``'s own parameters, or None to use ``*args, **kwargs``."""
    if type(func) is not types.FunctionType or hasattr(func, "__wrapped__") or hasattr(func, "__signature__"):
        return None
    params = list(sig.parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name.startswith("_memo_") for p in params):
        return None
    if len(params) > 64:
        return None
    parts: list[str] = []
    defaults: dict[str, Any] = {}
    positional: list[str] = []
    keyword: list[str] = []
    star = False
    for i, p in enumerate(params):
        text = p.name
        if p.default is not p.empty:
            defaults[f"_memo_d{i}"] = p.default
            text += f"=_memo_d{i}"
        if p.kind is p.KEYWORD_ONLY:
            if not star:
                parts.append("*")
                star = True
            keyword.append(p.name)
        else:
            positional.append(p.name)
        parts.append(text)
        if p.kind is p.POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind is not p.POSITIONAL_ONLY):
            parts.append("/")
    names = [p.name for p in params]
    source = {
        "sig": ", ".join(parts),
        "probe": "(" + "".join(f"_memo_type({n}), " for n in names) + "".join(f"{n}, " for n in names) + ")",
        "args": "(" + "".join(f"{n}, " for n in positional) + ")",
        "kwargs": "{" + ", ".join(f"{n!r}: {n}" for n in keyword) + "}",
        "call": ", ".join([*positional, *(f"{n}={n}" for n in keyword)]),
    }
    return source, defaults


def make_wrapper(c: CachedState, is_async: bool) -> Any:
    """Compile the wrapper of ``c.func`` from :data:`_WRAPPER`, calling its driver past a hit."""
    func = c.func
    found = _signature_parts(func, c.keys.signature)
    defaults: dict[str, Any] = {}
    if found is None:
        parts = _GENERIC
        c.fast = c.keys._fast  # the same typed tuples KeyMaker.key makes: they can share the map
    else:
        parts, defaults = found
    watch = c.keys.watch
    owners = watch.target.owners
    closure = getattr(watch.target.closure, "__closure__", None) or ()
    inline = not watch.target.bound and len(owners) == 1 and watch.target.closure is owners[0] and len(closure) <= 8
    cells = ""
    if closure and inline:  # one `is` per closure cell; Watch.sync only when one was rebound
        cells = "".join(f", _memo_k{i}, _memo_s{i}" for i in range(len(closure))) + ", _memo_ValueError"
        test = " or ".join(
            [
                "_memo_src.__code__ is not _memo_code",
                *(f"_memo_k{i}.cell_contents is not _memo_s{i}" for i in range(len(closure))),
            ]
        )
        sync = (
            f"\n            try:\n                if {test}:\n                    _memo_w.sync()"
            "\n            except _memo_ValueError:  # a closure cell not filled\n                _memo_w.sync()"
        )
    elif watch.has_inputs or len(owners) > 1:
        sync = "\n            _memo_w.sync()"
    elif owners and watch.pinned is None:
        sync = "\n            if _memo_src.__code__ is not _memo_code:\n                _memo_w.sync()"
    else:  # pinned version (or C code) and no hidden inputs: nothing besides the arguments can change
        sync = ""
    source = _WRAPPER.format(
        miss=_ASYNC_MISS if is_async else _SYNC_MISS,
        sync=sync,
        cells=cells,
        async_="async " if is_async else "",
        await_="await " if is_async else "",
        defaults="".join(f", {name}" for name in defaults),
        backend="_memo_state.backend" if c.opts.backend is None else "_memo_backend",
        **parts,
    )
    code = _compiled.get(source)
    if code is None:
        code = _compiled[source] = compile(source, "<memo wrapper>", "exec")
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    wrapper = namespace["_memo_make"](
        c,
        func,
        _config.state,
        c.slots,
        KeyMaker.probe,
        _enter,
        async_call if is_async else sync_flow,
        time.monotonic,
        next,
        c.opts.backend,
        type,
        Exception,
        watch,
        owners[0] if owners else None,
        watch.code,
        *([x for cell in closure for x in (cell, _UNSET)] + [ValueError] if cells else []),
        *defaults.values(),
    )
    own = wrapper.__code__
    own = own.replace(co_name=getattr(func, "__name__", own.co_name))  # error messages name the function
    if sys.version_info >= (3, 11):
        own = own.replace(co_qualname=getattr(func, "__qualname__", own.co_name))
    wrapper.__code__ = own
    if "_memo_code" in own.co_freevars:  # the code the inline check compares with, reset by Watch on a change
        watch.cells.append(wrapper.__closure__[own.co_freevars.index("_memo_code")])
    if cells:
        watch.snaps.append([wrapper.__closure__[own.co_freevars.index(f"_memo_s{i}")] for i in range(len(closure))])
        watch.publish()
    return functools.wraps(func)(wrapper)
