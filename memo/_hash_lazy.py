"""Lazy installers: run a library's hasher plug-in the first time one of its types is met (internal).

The hashing engine calls :func:`install_pending` before it decides how to hash a type, and
before it records a ``register_hasher`` call; the plug-in package registers one installer
per library with :func:`register_lazy`. A library is named by its top-level module, so
nothing here imports or names one: the installer runs once the library is loaded anyway
(a value of it exists).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["install_pending", "register_lazy"]

_pending: dict[str, Callable[[], None]] = {}  # top-level module name -> installer not run yet
_installing: set[str] = set()  # modules whose installer is running (in the thread holding _lock)
_lock = threading.RLock()  # re-entrant: an installer's register_hasher calls come back in


def register_lazy(module: str, installer: Callable[[], None]) -> None:
    """Run ``installer`` once, the first time a type from top-level module ``module`` is hashed.

    The installer registers hashers with ``register_hasher``. It runs when a type whose
    ``__mro__`` holds a class of ``module`` is first hashed (or given a hasher), so a
    subclass defined elsewhere hashes the same whichever value came first, and nothing is
    imported before the library itself is::

        register_lazy("geo", install_geo_hashers)  # runs at the first geo.Point, say
    """
    _pending[module] = installer


def install_pending(t: type) -> None:
    """Run the installers not run yet of every top-level module in ``t``'s MRO."""
    if not _pending:
        return
    for base in t.__mro__:
        module = base.__module__
        root = module.partition(".")[0] if isinstance(module, str) else ""
        if root not in _pending:
            continue
        # An installer stays pending until it has run, and runs under the lock: another thread
        # that meets the library meanwhile waits, rather than pick (and cache) another form.
        with _lock:
            installer = _pending.get(root)
            if installer is None or root in _installing:  # installed meanwhile, or its own register_hasher
                continue
            _installing.add(root)
            try:
                installer()  # if it raises, it stays pending: every later value of the library fails alike
                del _pending[root]
            finally:
                _installing.discard(root)
