"""Per-function statistics and the failure policy: what a backend failure does to a call.

:class:`Stats` counts hits (an atomic ``itertools.count``), misses, errors and stores;
:class:`Policy` turns a backend or serialization failure into a warning (rate limited per
backend), an exception, or nothing, per ``on_error``.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING

from memo import _config
from memo._types import CacheInfo
from memo._userline import warn
from memo.exceptions import BackendError, BackendWarning, CacheWriteWarning, SerializationError

if TYPE_CHECKING:
    from memo._breaker import WarnClock

__all__ = ["KEPT_FOLD", "Policy", "Stats"]

_WARN_INTERVAL = 60.0
KEPT_FOLD = 4096  # the most memory slots a wrapper keeps (see Stats.keep)
_KEPT_FOLD = KEPT_FOLD


class Stats:
    """Counters behind :class:`CacheInfo`.

    The hit counter is an ``itertools.count`` (one atomic C call, exact under threads);
    the other counters change off the hot path and take a lock. ``time_saved`` is added
    without a lock to keep hits cheap, so two threads hitting in the same instant can
    rarely drop one hit's duration from it.

    Hits served inline by a compiled wrapper count on a counter of their own per kept
    memory slot (:meth:`keep`), paired with that entry's duration: the inline hit is one
    ``next()``, and hits and ``time_saved`` are summed when read. The newest
    ``2 * _KEPT_FOLD`` counters stay live (the wrapper's slot map holds at most
    ``_KEPT_FOLD``); older ones are folded into the totals.
    """

    __slots__ = ("_folded", "_hits", "errors", "kept", "lock", "misses", "stores", "time_saved")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._hits = itertools.count()
        self._folded = 0  # hits of folded kept counters
        self.kept: list[tuple[itertools.count[int], float]] = []
        self.misses = self.errors = self.stores = 0
        self.time_saved = 0.0

    def hit(self, duration: float) -> None:
        next(self._hits)
        self.time_saved += duration

    def keep(self, duration: float) -> itertools.count[int]:
        """A new hit counter for a kept slot whose entry took ``duration`` to compute."""
        counter = itertools.count()
        with self.lock:
            kept = self.kept
            if len(kept) >= 3 * _KEPT_FOLD:
                for old, took in kept[:_KEPT_FOLD]:
                    n = _count(old)
                    self._folded += n
                    self.time_saved += n * took
                del kept[:_KEPT_FOLD]
            kept.append((counter, duration))
        return counter

    @property
    def hits(self) -> int:
        """Hits so far (reads the counters without advancing them)."""
        with self.lock:
            return _count(self._hits) + self._folded + sum(_count(c) for c, _ in self.kept)

    def add(self, misses: int = 0, errors: int = 0, stores: int = 0) -> None:
        with self.lock:
            self.misses += misses
            self.errors += errors
            self.stores += stores

    def info(self) -> CacheInfo:
        hits = self.hits
        with self.lock:
            saved = self.time_saved + sum(_count(c) * took for c, took in self.kept)
            return CacheInfo(hits, self.misses, self.errors, self.stores, saved)


def _count(counter: itertools.count[int]) -> int:
    return int(repr(counter)[6:-1])  # "count(N)": read without advancing


class Policy:
    """What a backend failure does for one function: warn (rate limited), raise or ignore."""

    __slots__ = ("_on_error", "name", "stats", "write_warned")

    def __init__(self, name: str, on_error: str | None, stats: Stats) -> None:
        self.name = name
        self._on_error = on_error
        self.stats = stats
        self.write_warned = False

    @property
    def on_error(self) -> str:
        return self._on_error or _config.state.on_error

    def backend_failed(self, backend: object, op: str, exc: BaseException, clock: WarnClock) -> None:
        """Count a backend failure; raise BackendError, warn at most once a minute, or stay quiet.

        ``clock`` is the backend's warning clock (its Store owns it), shared by every function on it.
        """
        self.stats.add(errors=1)
        mode = self.on_error
        if mode == "raise":
            raise BackendError(f"{type(backend).__name__}.{op} failed for {self.name}: {exc!r}") from exc
        if mode == "warn":
            if not clock.due(_WARN_INTERVAL):
                return
            warn(
                f"memo: {type(backend).__name__}.{op} failed ({exc!r}); {self.name} ran without the cache. "
                "Further warnings for this backend are silenced for a minute.",
                BackendWarning,
            )

    def write_failed(self, exc: BaseException) -> None:
        """A result could not be serialized: raise (on_error='raise') or warn once per function."""
        if self.on_error == "raise":
            raise SerializationError(f"cannot store the result of {self.name}: {exc!r}") from exc
        if not self.write_warned:
            self.write_warned = True
            warn(
                f"memo: the result of {self.name} cannot be stored ({exc!r}); it is returned uncached. "
                "Return picklable values to cache them.",
                CacheWriteWarning,
            )
