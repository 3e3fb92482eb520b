"""Per-backend circuit breaker: after a failure, skip the backend for a growing pause.

While a backend is down, every call would otherwise wait for its own connect timeout.
The breaker opens on a failure for ``0.5 s``, doubling per consecutive failure up to
``5 s``; when the pause is over, one call probes the backend (half-open) while the
others keep skipping it, and the first success closes the breaker.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

__all__ = ["Breaker", "breaker_for"]

_FIRST_PAUSE = 0.5
_MAX_PAUSE = 5.0
_PROBE = 2.0  # how long one half-open probe may take before another caller probes


class Breaker:
    """Failure count and the monotonic time before which the backend is skipped."""

    __slots__ = ("__weakref__", "_lock", "failures", "open_until")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.failures = 0
        self.open_until = 0.0

    def allow(self) -> bool:
        """True when the backend may be tried now: closed, or this caller is the one probe."""
        if not self.failures:
            return True
        now = time.monotonic()
        if now < self.open_until:
            return False
        with self._lock:
            if now < self.open_until:
                return False
            self.open_until = now + _PROBE  # the others skip while this probe runs
            return True

    def succeeded(self) -> None:
        """Close the breaker after a successful call."""
        if self.failures:
            with self._lock:
                self.failures = 0
                self.open_until = 0.0

    def failed(self) -> None:
        """Open (or keep open, longer) after a failure."""
        with self._lock:
            self.failures += 1
            pause = min(_FIRST_PAUSE * 2 ** (self.failures - 1), _MAX_PAUSE)
            self.open_until = time.monotonic() + pause


_breakers: dict[int, tuple[Any, Breaker]] = {}
_lock = threading.Lock()


def breaker_for(backend: Any) -> Breaker:
    """The breaker of one backend object (one per object, kept while it lives)."""
    key = id(backend)
    found = _breakers.get(key)
    if found is not None and _alive(found[0]) is backend:
        return found[1]
    with _lock:
        try:
            ref: Any = weakref.ref(backend)
        except TypeError:
            ref = backend  # not weak-referenceable: keep it (backends are long-lived anyway)
        breaker = Breaker()
        _breakers[key] = (ref, breaker)
        return breaker


def _alive(ref: Any) -> Any:
    return ref() if isinstance(ref, weakref.ref) else ref
