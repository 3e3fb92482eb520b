"""Storage backends: memory (default), file (diskcache) and Redis, behind one protocol.

The optional capabilities a backend may declare are importable from here (see
``docs/backends.md``)::

    from memo.backends import HeadReader, PartsWriter
"""

from memo.backends._base import (
    AsyncBackend,
    Backend,
    BaseBackend,
    CrossLock,
    HeadReader,
    HeadsReader,
    Locking,
    ObjectStore,
    PartsWriter,
    ReleasingWriter,
    Slot,
    SlotSource,
    TransientErrors,
)
from memo.backends.memory import MemoryBackend

__all__ = [
    "AsyncBackend",
    "Backend",
    "BaseBackend",
    "CrossLock",
    "HeadReader",
    "HeadsReader",
    "Locking",
    "MemoryBackend",
    "ObjectStore",
    "PartsWriter",
    "ReleasingWriter",
    "Slot",
    "SlotSource",
    "TransientErrors",
]
