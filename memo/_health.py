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
import weakref
from typing import Any

__all__ = ["Breaker", "breaker_for", "is_transient"]

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


_breakers: dict[int, Breaker] = {}
_strong: dict[int, Any] = {}  # backends that cannot be weakly referenced, kept with their breaker
_lock = threading.Lock()
_STRONG_MAX = 256


def breaker_for(backend: Any) -> Breaker:
    """The breaker of one backend object: one per live object, dropped when the object dies."""
    key = id(backend)
    with _lock:
        found = _breakers.get(key)
        if found is not None:
            return found
        breaker = _breakers[key] = Breaker()
        try:
            weakref.finalize(backend, _breakers.pop, key, None)
        except TypeError:  # not weak-referenceable: keep it alive with its entry, in a bounded table
            if len(_strong) >= _STRONG_MAX:
                for old in list(_strong)[: _STRONG_MAX // 2]:
                    _strong.pop(old, None)
                    _breakers.pop(old, None)
            _strong[key] = backend
        return breaker


def breakers() -> int:
    """How many breakers exist (for tests): one per live backend that has been used."""
    return len(_breakers)
