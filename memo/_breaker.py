"""Per-backend circuit breaker: after a failure, skip the backend for a growing pause.

While a backend is down, every call would otherwise wait for its own connect timeout.
The breaker opens on a failure for ``0.5 s``, doubling per consecutive failure up to
``5 s``; when the pause is over, one call probes the backend (half-open) while the
others keep skipping it, and the first success closes the breaker.

Only failures that say the backend as a whole is unreachable open it (:func:`is_transient`):
connection and timeout errors, socket-level ``OSError``s, and whatever a backend lists in
its optional ``transient_errors`` attribute. Anything else (a value the server refuses, a
key of a foreign type, a disk that is full) is one call's failure: the function's policy
reports it and the backend keeps serving every other call.
"""

from __future__ import annotations

import errno
import threading
import time

__all__ = ["Breaker", "WarnClock", "is_transient"]

_FIRST_PAUSE = 0.5
_MAX_PAUSE = 5.0
_PROBE = 2.0  # how long one half-open probe may take before another caller probes


class Breaker:
    """Failure count and the monotonic time before which the backend is skipped.

    One per backend object, owned by its :class:`~memo._store.Store`::

        breaker = Breaker()
        breaker.failed()
        breaker.allow()   # False for the next 0.5 s
    """

    __slots__ = ("_lock", "failures", "open_until")

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


class WarnClock:
    """When a backend's failures last warned, so they warn at most once per interval.

    One per backend object, owned by its Store and shared by every function on it::

        clock = WarnClock()
        clock.due(60.0), clock.due(60.0)   # (True, False)
    """

    __slots__ = ("_lock", "last")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last: float | None = None

    def due(self, interval: float) -> bool:
        """True (and the clock restarts) when no warning was given in the last ``interval`` seconds."""
        now = time.monotonic()
        with self._lock:
            if self.last is not None and now - self.last < interval:
                return False
            self.last = now
            return True


# errno values of socket-level failures: the network or the peer, not the request.
_NET_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ECONNREFUSED",
        "ECONNRESET",
        "ECONNABORTED",
        "EPIPE",
        "ETIMEDOUT",
        "EHOSTUNREACH",
        "EHOSTDOWN",
        "ENETUNREACH",
        "ENETDOWN",
        "ENETRESET",
        "ENOTCONN",
        "ESHUTDOWN",
        "EADDRNOTAVAIL",
    )
    if hasattr(errno, name)
)
# Exception class names (anywhere in the MRO) that mean "could not reach it in time":
# the builtins, asyncio's and concurrent.futures' TimeoutError on Python 3.10, socket's
# address errors, and the same names in client libraries (redis-py, requests...).
_NET_NAMES = frozenset({"ConnectionError", "TimeoutError", "gaierror", "herror"})


def is_transient(exc: BaseException, extra: tuple[type[BaseException], ...] = ()) -> bool:
    """True when ``exc`` says the backend is unreachable or slow (this opens the breaker).

    ``extra`` is the backend's own ``transient_errors``. Every other failure is deterministic:
    it belongs to the call that raised it, not to the backend::

        is_transient(ConnectionRefusedError())     # True
        is_transient(ValueError("too big"))        # False
    """
    if isinstance(exc, (ConnectionError, TimeoutError)) or (extra and isinstance(exc, extra)):
        return True
    if isinstance(exc, OSError) and exc.errno in _NET_ERRNOS:
        return True
    return any(cls.__name__ in _NET_NAMES for cls in type(exc).__mro__)
