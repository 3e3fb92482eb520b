"""Warnings attributed to the user's line: the first frame outside memo, however deep the call path.

A fixed ``stacklevel`` is right for one path only: the same ``BackendWarning`` is raised
from the compiled wrapper, from a sync flow, from an async driver or from a listing, at
different depths. Python 3.12's ``skip_file_prefixes`` stops at the compiled wrapper
(``<memo wrapper>`` is not a file under memo), so memo counts its own frames itself.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["warn"]

_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_WRAPPER_FILE = "<memo wrapper>"  # the filename the compiled wrappers are given


def _ours(filename: str) -> bool:
    return filename.startswith(_HERE) or filename == _WRAPPER_FILE


def stacklevel() -> int:
    """The ``stacklevel`` that names the caller's first frame outside memo (from ``warn``'s caller)."""
    frame = sys._getframe(2)  # the caller of warn()
    level = 2
    while frame is not None and _ours(frame.f_code.co_filename):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` pointing at the user's line, not at memo's."""
    warnings.warn(message, category, stacklevel=stacklevel())
