"""The exceptions and warnings memo raises.

Every error memo raises derives from :class:`MemoError`; every warning from
:class:`MemoWarning`, so one ``except memo.MemoError`` or one warnings filter on
``memo.MemoWarning`` covers them all::

    import warnings, memo
    warnings.simplefilter("ignore", memo.MemoWarning)
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendWarning",
    "CacheWriteWarning",
    "ConfigurationError",
    "HashingError",
    "MemoError",
    "MemoWarning",
    "SerializationError",
]


class MemoError(Exception):
    """Base class of every error memo raises.

    Example::

        try:
            f(threading.Lock())
        except memo.MemoError as exc:
            print("memo refused the call:", exc)
    """


class ConfigurationError(MemoError, ValueError):
    """Bad options, an unknown backend URL or a missing optional dependency.

    Raised at decoration (or ``configure``) time, with a message that says what to do::

        memo.cache(ttl=-1)   # ConfigurationError: ttl must be >= 0 seconds ...
    """


class HashingError(MemoError, TypeError):
    """An argument has no deterministic content to hash (a lock, a socket, a generator).

    The message names the parameter and its type and suggests ``ignore=`` or ``key=``::

        @memo.cache(ignore=("conn",))
        def query(conn, sql): ...
    """


class SerializationError(MemoError):
    """A result could not be serialized; raised only with ``on_error="raise"``.

    Example::

        @memo.cache(on_error="raise", backend="file")
        def make_lock(): return threading.Lock()   # SerializationError
    """


class BackendError(MemoError):
    """A backend failed; raised only with ``on_error="raise"`` (chained with ``from``).

    Example::

        try:
            f(1)
        except memo.BackendError as exc:
            print("cache down:", exc.__cause__)
    """


class MemoWarning(UserWarning):
    """Base class of memo's warnings.

    Example::

        warnings.simplefilter("error", memo.MemoWarning)   # make them fail tests
    """


class CacheWriteWarning(MemoWarning):
    """A result was returned to the caller but not stored (e.g. it cannot be pickled).

    Issued at most once per function. Example::

        warnings.simplefilter("ignore", memo.CacheWriteWarning)
    """


class BackendWarning(MemoWarning):
    """The backend failed or is unreachable; the function ran without the cache.

    Issued at most once per backend per minute. Example::

        with warnings.catch_warnings(record=True) as caught: f(1)
    """
