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
    cached_functions,
    clear,
    configure,
    disable,
    disabled,
    enable,
    get_default_backend,
)
from memo._decorator import cache
from memo._function import CacheOptions
from memo._hashing import hash_value, register_hasher
from memo._types import AsyncCachedFunction, CachedFunction, CacheInfo, EntryInfo
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
    "CacheOptions",
    "CacheWriteWarning",
    "CachedFunction",
    "ConfigurationError",
    "EntryInfo",
    "FileBackend",
    "HashingError",
    "MemoError",
    "MemoWarning",
    "MemoryBackend",
    "RedisBackend",
    "SerializationError",
    "__version__",
    "cache",
    "cached_functions",
    "clear",
    "configure",
    "disable",
    "disabled",
    "enable",
    "get_default_backend",
    "hash_value",
    "register_hasher",
]

_LAZY = {"FileBackend": "memo.backends.file", "RedisBackend": "memo.backends.redis"}


def __getattr__(name: str) -> Any:
    """Import backends with optional or heavy dependencies only when first used."""
    if name == "testing":  # the contract suite imports pytest: load it only on request
        import importlib

        return importlib.import_module("memo.testing")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'memo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
