"""Process-wide defaults, backend URLs, the enable switch and the function registry."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from memo.exceptions import ConfigurationError

if TYPE_CHECKING:
    from memo._decorator import CachedFunction

__all__ = [
    "ON_ERROR_CHOICES",
    "clear",
    "configure",
    "disable",
    "disabled",
    "enable",
    "get_default_backend",
    "resolve_backend",
]

ON_ERROR_CHOICES = ("warn", "raise", "ignore")


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
        self.registry: weakref.WeakValueDictionary[str, CachedFunction[..., Any]] = weakref.WeakValueDictionary()


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
    """A backend object from a backend or a URL: memory, file, file:///dir, redis://..."""
    if not isinstance(spec, str):
        if spec is None:
            raise ConfigurationError("backend=None here: pass a backend object or a URL string")
        _check_backend_object(spec)
        return spec
    url = spec.strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else url.lower()
    if url.lower() == "memory" or scheme == "memory":
        from memo.backends.memory import MemoryBackend

        return MemoryBackend()
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

    Example::

        >>> memo.get_default_backend()
        MemoryBackend(max_entries=None, max_bytes=None)
    """
    backend = state.backend
    if backend is None:
        with state.lock:
            if state.backend is None:
                env = os.environ.get("MEMO_BACKEND", "").strip()
                state.backend = resolve_backend(env or "memory")
            backend = state.backend
    return backend


_UNSET: Any = object()


def configure(
    *,
    backend: Any = _UNSET,
    ttl: Any = _UNSET,
    on_error: Any = _UNSET,
    secret: Any = _UNSET,
) -> None:
    """Set process-wide defaults; functions decorated earlier pick them up on their next call.

    Example::

        memo.configure(backend="file", ttl=3600)   # or backend=memo.FileBackend("~/.cache/x")
    """
    with state.lock:
        if backend is not _UNSET:
            state.backend = None if backend is None else resolve_backend(backend)
        if ttl is not _UNSET:
            state.ttl = normalize_ttl(ttl)
        if on_error is not _UNSET:
            state.on_error = check_on_error(on_error)
        if secret is not _UNSET:
            state.secret = normalize_secret(secret)


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


def cached_functions() -> list[CachedFunction[..., Any]]:
    """Every live ``@memo.cache`` function, in name order (the magics and inspector use it).

    Example::

        for f in memo.cached_functions(): print(f.cache_name, f.cache_info())
    """
    return sorted(state.registry.values(), key=lambda f: f.cache_name)


def clear(namespace: str | None = None) -> int:
    """Clear every registered function's entries, or a whole namespace on every backend in use.

    With a namespace, entries of functions not registered in this process (an earlier
    kernel, another worker) are cleared too, by key prefix. Returns how many were deleted::

        memo.clear()                   # everything of this process's cached functions
        memo.clear(namespace="etl")    # the "etl" namespace, on the default and explicit backends
    """
    functions = cached_functions()
    if namespace is None:
        return sum(func.cache_clear() for func in functions)
    if not namespace or ":" in namespace:
        raise ConfigurationError(f"namespace={namespace!r}: pass a non-empty string without ':'")
    backends: dict[int, Any] = {}
    for candidate in [get_default_backend(), *(f._memo.opts.backend for f in functions)]:  # type: ignore[attr-defined]
        if candidate is not None and callable(getattr(candidate, "clear", None)):
            backends.setdefault(id(candidate), candidate)
    total = 0
    for backend in backends.values():
        result = backend.clear(f"{namespace}:")
        if isinstance(result, int):  # async-only value backends return a coroutine: not usable here
            total += result
        elif hasattr(result, "close"):
            result.close()
    return total
