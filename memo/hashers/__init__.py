"""Hasher plug-ins for third-party libraries, one module per library, installed lazily.

Each plug-in (``memo/hashers/<library>.py``) has an ``install()`` that teaches memo its
library's types through :func:`memo.register_hasher`, the very call a user makes. This
package only maps each library's top-level module name to its plug-in and registers an
installer for it with the hashing engine; importing it imports no plug-in and no library.
The engine runs a plug-in's ``install()`` the first time a value whose type (or a base of
it) comes from that library is hashed. ``memo/__init__.py`` imports this package once.

Adding a library is one new file plus one line in :data:`PLUGINS`::

    # memo/hashers/polars.py
    from __future__ import annotations

    import polars as pl  # absolute: never this module

    from memo._hashing import register_hasher

    def install() -> None:
        register_hasher(pl.DataFrame, lambda df: df.to_arrow())  # hashed on by the engine
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from memo._hashing import register_lazy

__all__ = ["PLUGINS"]

PLUGINS: dict[str, str] = {
    "numpy": "memo.hashers.numpy",
    "pandas": "memo.hashers.pandas",
    "pyarrow": "memo.hashers.pyarrow",
}
"""Top-level module of a library -> the plug-in module whose ``install()`` teaches memo its types.

Example: ``PLUGINS["numpy"] == "memo.hashers.numpy"``; the key is what ``type(value).__module__``
starts with (``numpy.ma.core`` counts as ``numpy``).
"""


def _installer(plugin: str) -> Callable[[], None]:
    """An installer that imports ``plugin`` only when it runs, then calls its ``install()``."""

    def install() -> None:
        importlib.import_module(plugin).install()

    return install


for _library, _plugin in PLUGINS.items():
    register_lazy(_library, _installer(_plugin))
