"""Former home of the I/O-free call steps, now in ``_types``, ``_policy``, ``_flight`` and ``_keymaker``.

Kept only while work started on the old layout is merged; nothing in memo imports it.
"""

from __future__ import annotations

from memo._flight import ABANDONED, SOLO, Flights, computed, computing, reentrant
from memo._keymaker import KeyMaker
from memo._policy import KEPT_FOLD as _KEPT_FOLD
from memo._policy import Policy, Stats
from memo._summary import short_repr
from memo._types import MISS, CacheInfo, EntryInfo, entry_from_meta, entry_info

__all__ = [
    "ABANDONED",
    "MISS",
    "SOLO",
    "_KEPT_FOLD",
    "CacheInfo",
    "EntryInfo",
    "Flights",
    "KeyMaker",
    "Policy",
    "Stats",
    "computed",
    "computing",
    "entry_from_meta",
    "entry_info",
    "reentrant",
    "short_repr",
]
