"""What a computed result may be stored as, and how a stored object is handed out again.

Two kinds of result would make a cache hand out something other than what the body
returned:

* results used up by their first reader (awaitables, generators and other iterators):
  a second caller would get an awaited coroutine or an empty iterator. They are returned
  and never stored, with one :class:`memo.CacheWriteWarning` per function;
* mutable results of a backend that hands every hit the stored object
  (``MemoryBackend``): a caller's ``df["x"] = 0`` would change every later hit. numpy
  arrays are handed out as read-only views (a write raises), pandas DataFrames and Series
  as shallow copies (separate under copy-on-write). Other mutable results are shared,
  like ``functools.lru_cache`` shares them: don't modify them, or copy first.

numpy and pandas are looked up in ``sys.modules``, never imported here.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any

from memo._serialize import Entry
from memo._userline import warn
from memo.exceptions import CacheWriteWarning

__all__ = ["fresh", "shared_entry"]

# Result types that are certainly neither used up nor numpy/pandas objects: checked first.
_PLAIN = frozenset({int, float, str, bytes, bool, type(None), list, tuple, dict, set, frozenset, complex})
_warned: weakref.WeakSet[Any] = weakref.WeakSet()  # functions (their per-function state) warned
_warned_lock = threading.Lock()


def used_up(value: Any) -> str | None:
    """What kind of read-once object ``value`` is ("awaitable", "iterator"), or None."""
    if type(value) in _PLAIN:
        return None
    from collections.abc import AsyncIterator, Awaitable, Iterator

    if isinstance(value, Awaitable):
        return "awaitable"
    if isinstance(value, (Iterator, AsyncIterator)):
        return "iterator"
    return None


def fresh(value: Any, owner: Any, shares: bool) -> tuple[Any, bool]:
    """``(what the caller gets, whether it may be stored)`` for a value the body returned.

    ``owner`` is the function's state (its ``name`` is shown; it is warned about once);
    ``shares`` is true for a backend that hands every hit the stored object itself.
    """
    kind = used_up(value)
    if kind is not None:
        _warn_once(owner, kind, value)
        return value, False
    if shares and type(value) not in _PLAIN:
        np = sys.modules.get("numpy")
        if np is not None and isinstance(value, np.ndarray) and value.flags.writeable:
            view = value.view()  # the body's own array stays writable
            view.flags.writeable = False
            return view, True
    return value, True


def _warn_once(owner: Any, kind: str, value: Any) -> None:
    with _warned_lock:
        if owner in _warned:
            return
        _warned.add(owner)
    warn(
        f"memo: {owner.name} returned {type(value).__name__!r}, an {kind} that its first reader uses up; "
        "it is returned but never cached. Return a list, tuple or other value to cache the result "
        "(or decorate the async def itself, not a plain def wrapping it).",
        CacheWriteWarning,
    )


_VALUE = Entry.__dict__["value"]  # the slot behind Entry.value


class _CopyingEntry(Entry):
    """An entry holding a pandas object: every read of ``value`` is a new shallow copy.

    Under copy-on-write (pandas 3, or pandas 2 with ``mode.copy_on_write``) a copy shares
    the data until either side writes, so a caller's changes never reach the cache.
    """

    __slots__ = ()

    @property
    def value(self) -> Any:
        return _VALUE.__get__(self, Entry).copy(deep=False)

    @value.setter
    def value(self, value: Any) -> None:
        _VALUE.__set__(self, value)


def shared_entry(entry: Entry) -> Entry:
    """The entry to keep in a backend that hands every hit the stored object.

    A pandas DataFrame or Series is kept as its own shallow copy (so the first caller's
    object is not the cached one) in an entry whose reads copy again; anything else is
    kept as it is (numpy arrays are already read-only, see :func:`fresh`).
    """
    value = _VALUE.__get__(entry, Entry)
    if type(value) in _PLAIN:
        return entry
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(value, (pd.DataFrame, pd.Series)):
        return entry
    return _CopyingEntry(
        value.copy(deep=False),
        entry.function,
        entry.args,
        entry.created,
        entry.expires,
        entry.duration,
        entry.version,
        entry.size,
    )
