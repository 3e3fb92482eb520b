"""memo's key layout, written in one place: ``namespace:module.qualname:version:digest``.

Readable parts come first, so a function's entries share the prefix
``namespace:module.qualname:`` and one version's the prefix ``...:version:``; ``digest``
is 32 hex digits of xxh3-128 over the call's canonical arguments. No part but the
function name may be chosen freely, and none may hold the separator ``:``: names get it
replaced, user-given namespaces and versions are refused with it. Everything that builds,
checks or takes apart a key (the decorator, ``memo.clear``, the coming ``memo.admin``)
goes through here.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from memo.exceptions import ConfigurationError

__all__ = [
    "KeyParts",
    "check_segment",
    "function_prefix",
    "is_memo_key",
    "namespace_prefix",
    "parse_key",
    "safe_name",
    "version_prefix",
]

SEP = ":"
_LAYOUT = re.compile(r"([^:]+):([^:]*\.[^:]*):([^:]+):([0-9a-f]{32})")


class KeyParts(NamedTuple):
    """The four parts of a key of memo's layout."""

    namespace: str
    function: str
    version: str
    digest: str


def safe_name(text: str) -> str:
    """A function name as it appears in keys (a ``:`` would split it)."""
    return text.replace(SEP, "_")


def check_segment(option: str, text: object) -> str:
    """``text`` if it can be a key part (a non-empty string without ``:``), else ConfigurationError."""
    if not isinstance(text, str) or not text or SEP in text:
        raise ConfigurationError(f"{option}={text!r}: pass a non-empty string without ':'")
    return text


def namespace_prefix(namespace: str) -> str:
    """The prefix every key of one namespace shares: ``namespace:``."""
    return f"{namespace}{SEP}"


def function_prefix(namespace: str, name: str) -> str:
    """The prefix every key of one function shares, all versions: ``namespace:name:``."""
    return f"{namespace_prefix(namespace)}{name}{SEP}"


def version_prefix(prefix: str, version: str) -> str:
    """The prefix of one version's keys, from :func:`function_prefix`: ``namespace:name:version:``."""
    return f"{prefix}{version}{SEP}"


def parse_key(key: object) -> KeyParts | None:
    """The parts of a key of memo's layout, or None for anything else (a foreign key)."""
    if not isinstance(key, str):
        return None
    found = _LAYOUT.fullmatch(key)
    return None if found is None else KeyParts(*found.groups())


def is_memo_key(key: object) -> bool:
    """True when ``key`` has memo's layout; ``memo.clear()`` deletes only such keys."""
    return parse_key(key) is not None
