"""The weak registry of the live ``@memo.cache`` functions of this process.

A function is registered when it is decorated and leaves when it is garbage. For each
one the registry records what management code needs, so nothing outside the decorator
reads a function's private state: its key prefix, the version it registered with and
its explicit backend (None: the configured default, looked up when used). It also
remembers the last version registered under each prefix, to drop the replaced code's
entries from an in-process backend when an edited function is decorated again.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any, NamedTuple

from memo import _config
from memo.backends._base import ObjectStore, declares

if TYPE_CHECKING:
    from memo._types import CachedFunction

__all__ = ["Registration", "cached_functions", "register", "registered", "registration", "sync_method"]


class Registration(NamedTuple):
    """What the registry knows of one live cached function."""

    func: CachedFunction[..., Any]
    namespace: str
    name: str  # module.qualname, as in keys
    prefix: str  # "namespace:module.qualname:"
    version: str  # the version it registered with (the code may have moved on since)
    backend: Any  # its explicit backend object, or None for the configured default


class _Slot:
    """A registration with a weak reference to its function (the registry never keeps one alive)."""

    __slots__ = ("backend", "name", "namespace", "prefix", "ref", "version")

    def __init__(self, func: Any, namespace: str, name: str, prefix: str, version: str, backend: Any) -> None:
        self.ref: weakref.ref[Any] = weakref.ref(func)
        self.namespace, self.name, self.prefix, self.version, self.backend = namespace, name, prefix, version, backend


_lock = threading.Lock()
_slots: dict[str, _Slot] = {}  # "namespace:module.qualname:" -> the function registered last under it
_versions: dict[str, str] = {}  # "namespace:module.qualname:" -> version registered last in this process
_pruned_at = 0  # live slots after the last prune: the next is due when the table has doubled
_by_func: weakref.WeakKeyDictionary[Any, _Slot] = weakref.WeakKeyDictionary()  # also replaced functions


def _prune() -> None:
    """Drop the slots of dead functions (call with ``_lock`` held).

    Done here rather than in a weakref callback: a callback runs wherever garbage
    collection happens, possibly inside this module's own locked sections.
    """
    global _pruned_at
    for prefix in [p for p, slot in _slots.items() if slot.ref() is None]:
        del _slots[prefix]
    _pruned_at = len(_slots)


def sync_method(backend: Any, name: str) -> Any:
    """``backend.<name>`` when it is a plain (not ``async def``) method, else None."""
    import inspect

    method = getattr(backend, name, None)
    return method if callable(method) and not inspect.iscoroutinefunction(method) else None


def register(
    func: CachedFunction[..., Any], namespace: str, name: str, prefix: str, version: str, backend: Any
) -> None:
    """Add a decorated function to the registry; drop its previous version's entries from memory.

    When a function registers under ``prefix`` (``namespace:module.qualname:``) with another
    version than the one registered before it (its code was edited and the cell re-run),
    the previous version's entries belong to replaced code. They are dropped from an
    in-process backend (the default memory backend, or the function's own memory
    backend), where nothing else would ever free them; persistent backends keep every
    version until ``cache_clear()``. (A still-referenced old function just recomputes.)
    """
    slot = _Slot(func, namespace, name, prefix, version, backend)
    with _lock:
        _slots[prefix] = slot
        _by_func[func] = slot
        if len(_slots) > 2 * _pruned_at + 64:
            _prune()
        previous, _versions[prefix] = _versions.get(prefix), version
    if previous is None or previous == version:
        return
    target = _config.state.backend if backend is None else backend
    clear_prefix = sync_method(target, "clear")
    if declares(target, ObjectStore) and target.stores_objects and clear_prefix is not None:
        clear_prefix(f"{prefix}{previous}:")


def registered() -> list[Registration]:
    """The live functions' registrations, in name order (then namespace)."""
    with _lock:
        _prune()
        slots = list(_slots.values())
    found = []
    for slot in slots:
        func = slot.ref()
        if func is not None:
            found.append(Registration(func, slot.namespace, slot.name, slot.prefix, slot.version, slot.backend))
    return sorted(found, key=lambda r: (r.name, r.namespace))


def registration(func: object) -> Registration | None:
    """The registration of a cached function object (also one replaced by a newer under its name)."""
    try:
        slot = _by_func.get(func)
    except TypeError:  # not weak-referenceable or not hashable: not a registered function
        return None
    if slot is None:
        return None
    return Registration(func, slot.namespace, slot.name, slot.prefix, slot.version, slot.backend)  # type: ignore[arg-type]


def cached_functions() -> list[CachedFunction[..., Any]]:
    """Every live ``@memo.cache`` function, in name order (the magics and inspector use it).

    Example::

        for f in memo.cached_functions(): print(f.cache_name, f.cache_info())
    """
    return [r.func for r in registered()]
