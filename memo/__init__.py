"""memo: content-hashed memoization for def and async def, in memory, on disk or in Redis.

Example::

    import memo

    @memo.cache
    def slow_square(x: int) -> int:
        return x * x

    slow_square(4)   # computes
    slow_square(4)   # served from the cache
    slow_square.cache_info()

``import memo`` imports none of redis, IPython, ipywidgets, numpy or pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import memo.hashers  # noqa: F401  # registers the numpy/pandas hashers to install lazily; imports neither
from memo._config import (
    configure,
    disable,
    disabled,
    enable,
    get_default_backend,
)
from memo._decorator import cache
from memo._hashing import hash_value, register_hasher
from memo._registry import cached_functions
from memo._types import AsyncCachedFunction, CachedFunction, CacheInfo, CacheOptions, EntryInfo
from memo.backends import AsyncBackend, Backend, BaseBackend, MemoryBackend
from memo.exceptions import (
    BackendError,
    BackendWarning,
    CacheWriteWarning,
    ConfigurationError,
    HashingError,
    MemoError,
    MemoWarning,
    SerializationError,
)

if TYPE_CHECKING:
    from memo import admin
    from memo._explanation import KeyExplanation, KeyPart
    from memo._widget import CacheInspector
    from memo.backends.file import FileBackend
    from memo.backends.redis import RedisBackend

__version__ = "0.1.0"

__all__ = [
    "AsyncBackend",
    "AsyncCachedFunction",
    "Backend",
    "BackendError",
    "BackendWarning",
    "BaseBackend",
    "CacheInfo",
    "CacheInspector",
    "CacheOptions",
    "CacheWriteWarning",
    "CachedFunction",
    "ConfigurationError",
    "EntryInfo",
    "FileBackend",
    "HashingError",
    "KeyExplanation",
    "KeyPart",
    "MemoError",
    "MemoWarning",
    "MemoryBackend",
    "RedisBackend",
    "SerializationError",
    "__version__",
    "admin",
    "cache",
    "cached_functions",
    "clear",
    "configure",
    "disable",
    "disabled",
    "enable",
    "get_default_backend",
    "hash_value",
    "load_ipython_extension",
    "register_hasher",
]


def clear(namespace: str | None = None) -> int:
    """Clear memo's entries on every backend in use, or one whole namespace; how many were deleted.

    The backends in use are the default one and every backend a registered function
    names. Without a namespace, every key of memo's layout
    (``namespace:module.qualname:version:digest``) on them goes, also those of functions
    renamed, deleted or defined in another process; other keys are never touched. With a
    namespace, every key under ``namespace:`` goes. For one backend, function or version,
    from any process, see :mod:`memo.admin`::

        memo.clear()                   # every memo entry on the backends in use
        memo.clear(namespace="etl")    # the "etl" namespace, on the default and explicit backends
    """
    from memo import admin

    return admin.clear_in_use(namespace)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext memo``: register the ``%cache_*`` line magics and the ``%%cache`` cell magic.

    IPython is imported here, on loading, never by ``import memo``. See docs/jupyter.md::

        %load_ext memo
        %cache_info
        %cache_clear load
    """
    from memo import _cellcache, _ipython

    _ipython.load_ipython_extension(ipython)
    _cellcache.load_ipython_extension(ipython)


_LAZY = {
    "CacheInspector": "memo._widget",  # its module imports ipywidgets only when an inspector is built
    "FileBackend": "memo.backends.file",
    "KeyExplanation": "memo._explanation",
    "KeyPart": "memo._explanation",
    "RedisBackend": "memo.backends.redis",
}


def __getattr__(name: str) -> Any:
    """Import backends with optional or heavy dependencies only when first used."""
    if name in ("testing", "admin"):  # testing imports pytest; admin is loaded when first managed
        import importlib

        return importlib.import_module(f"memo.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'memo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
