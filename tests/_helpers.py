"""Small test helpers more than one test module needs: one definition each.

Example::

    from tests._helpers import Bomb, DictBackend, StrEnum, cell_text, lock_free
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Any

from memo._xflight import LEASE

if sys.version_info >= (3, 11):
    StrEnum = enum.StrEnum
else:  # enum.StrEnum is 3.11+: the same str-valued enum on 3.10

    class StrEnum(str, enum.Enum):
        pass


class Bomb:
    """Unpickling this writes a marker file: proof that a payload was unpickled.

    Example: ``pickle.loads(pickle.dumps(Bomb(str(marker))))`` creates ``marker``.
    """

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path(self.marker).write_text, ("unpickled",))


class DictBackend:
    """The bare storage protocol on a dict: get, set and delete, nothing else.

    Slotted and without ``__weakref__``, so a subclass with ``__slots__ = ()`` cannot be
    weakly referenced; mix in ``memo.BaseBackend`` for a weakly referenceable one.
    Example: ``class Plain(DictBackend, memo.BaseBackend): pass``.
    """

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self.data[key] = value

    def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None


def lock_free(backend: Any, key: str, lease: float = LEASE) -> bool:
    """True when a fresh locker can take ``key``'s cross-process lock now (it gives it straight back).

    Example: ``assert lock_free(memo.FileBackend(tmp_path), "k")``.
    """
    probe = backend.make_lock(key, lease)
    if not probe.try_acquire():
        return False
    probe.release()
    return True


def cell_text(cell: Any) -> str:
    """A notebook cell's outputs as text: streams, errors (name, value, traceback) and text/plain data."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif output.get("output_type") == "error":
            parts.append(f"{output['ename']}: {output['evalue']}\n" + "\n".join(output.get("traceback", [])))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)
