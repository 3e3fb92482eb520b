"""Process-wide defaults, backend URLs and the enable switch (the function registry is ``_registry``)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from memo.exceptions import ConfigurationError

__all__ = [
    "ON_ERROR_CHOICES",
    "configure",
    "disable",
    "disabled",
    "enable",
    "get_default_backend",
    "resolve_backend",
]

ON_ERROR_CHOICES = ("warn", "raise", "ignore")
# Bounds of the memory backend memo makes from the "memory" URL (the default backend):
# least recently used entries go first past 100,000 entries or 1 GiB of estimated value size.
MEMORY_MAX_ENTRIES = 100_000
MEMORY_MAX_BYTES = 1 << 30


MAX_TTL = 100 * 365 * 24 * 3600  # seconds (100 years): stored as-is by every built-in backend
"""The longest TTL memo accepts; ``None`` means never expire."""

UNREAD: Any = type("Unread", (), {"__repr__": lambda self: "UNREAD"})()


class _State:
    """Mutable process defaults; read on every call, so reads must stay cheap."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.backend: Any = None  # resolved lazily from MEMO_BACKEND
        self.ttl: float | None = None
        self.on_error: str = "warn"
        self.secret: Any = UNREAD  # MEMO_SECRET is read on first use
        self.enabled: bool = os.environ.get("MEMO_DISABLE", "").strip().lower() not in ("1", "true", "yes", "on")
        # The default backend when memo made it from a URL (configure or MEMO_BACKEND): (spec, backend).
        # Only such a backend is reused for the same URL and closed when replaced.
        self.verbose: bool = False  # configure(verbose=...): functions without their own verbose= print a line per call
        self.made: tuple[tuple[str, str | None], Any] | None = None


state = _State()


def normalize_ttl(ttl: object, where: str = "ttl") -> float | None:
    """Seconds as a float, from seconds or a timedelta; ConfigurationError otherwise.

    0 means "do not store" (the result is computed and returned, never written); the
    largest accepted value is :data:`MAX_TTL` (100 years), which every built-in backend
    stores as given (Redis ``PX`` milliseconds, diskcache's float expiry time, monotonic
    arithmetic in memory). ``None`` means never expire.
    """
    if ttl is None:
        return None
    seconds: float
    datetime = sys.modules.get("datetime")  # a timedelta means datetime is loaded already
    if datetime is not None and isinstance(ttl, datetime.timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        seconds = float(ttl)
    else:
        raise ConfigurationError(
            f"{where}={ttl!r}: pass seconds as an int or float, a datetime.timedelta, or None to never expire"
        )
    if not seconds >= 0 or seconds == float("inf"):
        raise ConfigurationError(f"{where}={ttl!r}: must be a finite number of seconds >= 0 (None: never expire)")
    if seconds > MAX_TTL:
        hint = "pass None to never expire" if where == "ttl" else f"pass at most {MAX_TTL}"
        raise ConfigurationError(
            f"{where}={ttl!r}: longer than memo's maximum of {MAX_TTL} seconds (100 years), "
            f"the longest every backend can store; {hint}"
        )
    return seconds


def normalize_secret(secret: object, where: str = "secret") -> bytes | None:
    """The signing key as bytes (str is UTF-8 encoded); ``None`` for none.

    An empty or blank secret is refused rather than read as "no signing", so a secret
    that failed to reach the process (an unset variable expanded to "") never silently
    turns signing off.
    """
    if secret is None:
        return None
    if isinstance(secret, str):
        data = secret.encode()
    elif isinstance(secret, (bytes, bytearray)):
        data = bytes(secret)
    else:
        raise ConfigurationError(f"{where}: pass bytes or str, not {type(secret).__name__} (or set MEMO_SECRET)")
    if not data.strip():
        shown = "MEMO_SECRET is set but empty" if where == "MEMO_SECRET" else f"{where}={secret!r} is empty"
        raise ConfigurationError(
            f"{shown}: an empty secret would silently turn signing off. Set a real secret "
            "(e.g. python -c 'import secrets; print(secrets.token_hex(32))'), or "
            + ("unset MEMO_SECRET" if where == "MEMO_SECRET" else "pass None")
            + " to store unsigned records"
        )
    return data


def check_on_error(on_error: object) -> str:
    """Validate an ``on_error`` value."""
    if on_error not in ON_ERROR_CHOICES:
        raise ConfigurationError(f"on_error={on_error!r}: choose one of 'warn', 'raise' or 'ignore'")
    return str(on_error)


def resolve_backend(spec: object) -> Any:
    """A backend object from a backend or a URL: memory, file, file:///dir, redis://...

    ``"memory"`` makes a bounded :class:`MemoryBackend` (``MEMORY_MAX_ENTRIES`` entries,
    ``MEMORY_MAX_BYTES`` bytes; least recently used go first). Pass
    ``memo.MemoryBackend(max_entries=..., max_bytes=...)`` for other bounds, or none.
    """
    if not isinstance(spec, str):
        if spec is None:
            raise ConfigurationError("backend=None here: pass a backend object or a URL string")
        _check_backend_object(spec)
        return spec
    url = spec.strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else url.lower()
    if url.lower() == "memory" or scheme == "memory":
        from memo.backends.memory import MemoryBackend

        return MemoryBackend(max_entries=MEMORY_MAX_ENTRIES, max_bytes=MEMORY_MAX_BYTES)
    if url.lower() == "file" or scheme == "file":
        from urllib.parse import unquote, urlparse

        from memo.backends.file import FileBackend

        path = unquote(urlparse(url).path) if "://" in url else None
        return FileBackend(path or None)
    if scheme in ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster"):
        from memo.backends.redis import RedisBackend

        return RedisBackend(url)
    raise ConfigurationError(
        f"unknown backend {spec!r}: use 'memory', 'file', 'file:///absolute/dir', "
        "'redis://host:port/db', 'rediss://...', 'redis+cluster://host:port', or pass a backend object"
    )


def _check_backend_object(obj: object) -> None:
    if isinstance(obj, type):
        raise ConfigurationError(f"backend={obj.__name__}: pass an instance, e.g. backend={obj.__name__}()")
    missing = [m for m in ("get", "set", "delete") if not callable(getattr(obj, m, None))]
    if missing:
        raise ConfigurationError(
            f"backend {obj!r} lacks {', '.join(missing)}: a backend implements get/set/delete/clear/keys/close "
            "(subclass memo.BaseBackend) or is a URL string"
        )


def get_default_backend() -> Any:
    """The process default backend: ``configure(backend=...)``, else ``MEMO_BACKEND``, else memory.

    The default memory backend is bounded (100,000 entries, 1 GiB of values; least
    recently used go first). Example::

        >>> memo.get_default_backend()
        MemoryBackend(max_entries=100000, max_bytes=1073741824)
    """
    backend = state.backend
    if backend is None:
        with state.lock:
            if state.backend is None:
                _set_default(os.environ.get("MEMO_BACKEND", "").strip() or "memory")
            backend = state.backend
    return backend


def _set_default(spec: object) -> None:
    """Make ``spec`` the default backend (call with ``state.lock`` held).

    A URL already configured keeps its backend (re-running a notebook cell opens nothing
    new); a backend memo made from a URL is closed when another replaces it. A backend
    object the user passed in is never closed: they may still use it.
    """
    made = state.made
    if made is not None and made[1] is not state.backend:
        made = state.made = None  # the default was replaced without configure (tests do that)
    url = (spec.strip(), os.environ.get("MEMO_CACHE_DIR")) if isinstance(spec, str) else None
    if url is not None and made is not None and made[0] == url:
        return
    backend = None if spec is None else resolve_backend(spec)
    state.backend = backend
    state.made = None if url is None else (url, backend)
    if made is not None and made[1] is not backend:
        try:
            made[1].close()
        except Exception:  # a backend that fails to close must not break configure
            pass


_UNSET: Any = object()


def configure(
    *,
    backend: Any = _UNSET,
    ttl: Any = _UNSET,
    on_error: Any = _UNSET,
    secret: Any = _UNSET,
    verbose: Any = _UNSET,
) -> None:
    """Set process-wide defaults; functions decorated earlier pick them up on their next call.

    ``backend`` is a backend object or a URL (``None``: back to ``MEMO_BACKEND``, else
    memory). Configuring the URL already in use keeps that backend, so re-running a
    notebook cell opens nothing new; a backend memo made from a URL is closed when another
    replaces it (a backend object you passed in is never closed). Example::

        memo.configure(backend="file", ttl=3600)   # or backend=memo.FileBackend("~/.cache/x")
        memo.configure(verbose=True)   # one line per call: memo: load(path='a.csv') hit, saved 2.31 s
    """
    with state.lock:
        if backend is not _UNSET:
            _set_default(backend)
        if ttl is not _UNSET:
            state.ttl = normalize_ttl(ttl)
        if on_error is not _UNSET:
            state.on_error = check_on_error(on_error)
        if secret is not _UNSET:
            state.secret = normalize_secret(secret)
        if verbose is not _UNSET:
            if not isinstance(verbose, bool):
                raise ConfigurationError(f"verbose={verbose!r}: pass True or False")
            state.verbose = verbose
            function = sys.modules.get("memo._function")
            if verbose and function is not None:  # hits served inline cannot print: send them through _enter
                function.drop_inline_hits()


def current_secret() -> bytes | None:
    """The process signing key: ``configure(secret=...)``, else ``MEMO_SECRET`` (read once).

    A ``MEMO_SECRET`` that is set but empty raises ConfigurationError (on every call until fixed).
    """
    secret = state.secret
    if secret is UNREAD:
        secret = state.secret = normalize_secret(os.environ.get("MEMO_SECRET"), "MEMO_SECRET")
    return secret  # type: ignore[no-any-return]


def enable() -> None:
    """Turn caching back on after :func:`disable`.

    Example::

        memo.disable(); run_tests(); memo.enable()
    """
    state.enabled = True


def disable() -> None:
    """Turn caching off process-wide: every cached function just calls its body.

    Example::

        memo.disable()   # same as MEMO_DISABLE=1
    """
    state.enabled = False


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Context manager: caching off inside the block, restored after.

    Example::

        with memo.disabled():
            assert slow(1) == 2   # runs the body
    """
    previous = state.enabled
    state.enabled = False
    try:
        yield
    finally:
        state.enabled = previous
