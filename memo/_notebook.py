"""Results holding instances of notebook-defined classes come back as instances of the live class.

cloudpickle pickles a class defined in ``__main__`` (a notebook, a script) by value: read
back in a new kernel, its instances belong to a reconstructed copy, so ``isinstance(p,
Point)`` is false and the copy runs the methods it was pickled with. memo pickles such a
class as a reference *with* its by-value copy and a digest of its code (name, bases, the
code of its methods, its constant attributes: what ``_globals`` counts for a class). On
load, when ``__main__`` holds a class of that qualified name with the same digest, the
live class is used; otherwise (edited or not defined) the by-value copy, as before. A class
edited since is a new version of the functions that build it anyway (``_globals``), so
its old results are not served to code that reads the new class.
"""

from __future__ import annotations

import io
import pickle
import sys
from collections.abc import Callable
from typing import Any

from memo._serialize import use_pickler

__all__ = ["class_digest", "dumps", "live_class"]

_pickler: Any = None


def class_digest(cls: type) -> str:
    """A digest of a class's code: what ``_globals`` hashes for a notebook class read as a global."""
    from memo._globals import class_form
    from memo._hashing import hash_value

    return hash_value(class_form(cls))


def live_class(qualname: str, digest: str, by_value: bytes) -> type:
    """The live ``__main__`` class of that name when its code has that digest, else the pickled copy (unpickler)."""
    found: Any = sys.modules.get("__main__")
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if isinstance(found, type) and found.__module__ == "__main__":
        try:
            if class_digest(found) == digest:
                return found
        except Exception:  # a class memo cannot fingerprint: the pickled copy, as before
            pass
    cls: type = pickle.loads(by_value)
    return cls


def _make_pickler() -> Any:
    import cloudpickle

    class Pickler(cloudpickle.Pickler):  # type: ignore[misc]
        """cloudpickle, with ``__main__`` classes as references to the live class (copy included)."""

        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, type) and obj.__module__ == "__main__" and "<locals>" not in obj.__qualname__:
                try:
                    digest = class_digest(obj)
                except Exception:
                    return super().reducer_override(obj)
                return (live_class, (obj.__qualname__, digest, cloudpickle.dumps(obj, protocol=5)))
            return super().reducer_override(obj)

    return Pickler


def dumps(value: object, buffer_callback: Callable[[pickle.PickleBuffer], Any]) -> bytes:
    """``cloudpickle.dumps(value, protocol=5, buffer_callback=...)``, with live notebook classes (see above)."""
    global _pickler
    if _pickler is None:
        _pickler = _make_pickler()
    buf = io.BytesIO()
    _pickler(buf, protocol=5, buffer_callback=buffer_callback).dump(value)
    return buf.getvalue()


use_pickler(dumps)  # records of this process pickle through it from now on
