"""Storage backends: memory (default), file (diskcache) and Redis, behind one protocol."""

from memo.backends._base import AsyncBackend, Backend, BaseBackend
from memo.backends.memory import MemoryBackend

__all__ = ["AsyncBackend", "Backend", "BaseBackend", "MemoryBackend"]
