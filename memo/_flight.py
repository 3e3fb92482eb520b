"""In-process single flight: one leader per key computes, followers wait for its outcome.

Also the re-entrancy marks: a call from a body on the key that body is computing runs at
once instead of waiting for itself. (The cross-process half, a lock held in the backend,
is ``_xflight``.)
"""

from __future__ import annotations

import contextvars
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["ABANDONED", "SOLO", "Flights", "computed", "computing", "reentrant"]


class _Abandoned(Exception):
    """The leader of a flight went away (cancelled, interrupted): followers retry."""


class _Solo(Exception):
    """The leader's result is not for sharing (an iterator, a coroutine): followers compute their own."""


class Flights:
    """In-process single-flight: one leader per key computes, followers wait for its outcome.

    No lock is held while a body runs; the table's lock only guards join/leave. A forked
    child starts with empty tables and new locks: its parent's flights are led by threads
    the child does not have (see :func:`_reset_after_fork`).
    """

    __slots__ = ("__weakref__", "_flights", "_lock", "completed")

    def __init__(self) -> None:
        self._reset()
        self.completed = 0  # flights finished so far: a leader re-reads the cache if it moved
        _all_flights.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Future[Any]] = {}

    def join(self, key: str) -> tuple[Future[Any], bool]:
        """The flight for ``key`` and whether the caller leads it."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            from concurrent.futures import Future  # loaded on the first miss, not at import

            flight = Future()
            flight.set_running_or_notify_cancel()  # followers can never cancel it
            self._flights[key] = flight
            return flight, True

    def leave(self, key: str, flight: Future[Any]) -> None:
        """The leader is done with ``key``; a flight nobody resolved is abandoned."""
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
            self.completed += 1
        if not flight.done():
            flight.set_exception(_Abandoned())

    @staticmethod
    def settle(flight: Future[Any], value: Any = None, exc: BaseException | None = None) -> None:
        """Hand the leader's result (or exception) to the followers."""
        if flight.done():
            return
        if exc is None:
            flight.set_result(value)
        elif isinstance(exc, Exception):
            flight.set_exception(exc)
        else:  # cancellation or interrupt of the leader is not the followers' outcome
            flight.set_exception(_Abandoned())


ABANDONED = _Abandoned
SOLO = _Solo

_all_flights: weakref.WeakSet[Flights] = weakref.WeakSet()


def _reset_after_fork() -> None:
    """In a forked child: forget every in-process flight (its leaders stayed in the parent)."""
    for flights in list(_all_flights):
        flights._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)

# The keys whose bodies the current caller is running: per thread and per asyncio task
# (a task starts with a copy of its creator's context, so a task a body starts and awaits
# counts as that body). A call on one of these keys is re-entrant: it computes at once
# instead of waiting for its own flight or its own cross-process lock.
_computing: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("memo_computing", default=frozenset())


def reentrant(key: str) -> bool:
    """True when the current thread or task is already computing ``key`` (a call from its own body)."""
    return key in _computing.get()


def computing(key: str) -> contextvars.Token[frozenset[str]]:
    """Mark ``key`` as being computed by the current caller until :func:`computed`."""
    return _computing.set(_computing.get() | {key})


def computed(token: contextvars.Token[frozenset[str]] | None) -> None:
    """Undo :func:`computing` (nothing when ``token`` is None)."""
    if token is not None:
        _computing.reset(token)
