"""The key layout module: keys built by the decorator parse back into their parts."""

from __future__ import annotations

import pytest

import memo
from memo._keys import KeyParts, check_segment, function_prefix, is_memo_key, parse_key, safe_name, version_prefix


def test_a_cached_functions_key_parses_back_into_its_parts() -> None:
    """cache_key() of a decorated function splits into namespace, module.qualname, version and digest."""

    @memo.cache(namespace="etl", version="v2")
    def load(path: str) -> str:
        return path

    parts = parse_key(load.cache_key("a.csv"))
    assert parts is not None
    assert parts.namespace == "etl"
    assert parts.function == load.cache_name
    assert parts.version == "v2"
    assert len(parts.digest) == 32
    assert load.cache_key("a.csv").startswith(function_prefix("etl", load.cache_name))


def test_prefixes_compose_into_the_layout() -> None:
    """function_prefix + version_prefix + digest is a key of memo's layout, and nothing else parses."""
    key = version_prefix(function_prefix("ns", "mod.f"), "abc") + "0" * 32
    assert parse_key(key) == KeyParts("ns", "mod.f", "abc", "0" * 32)
    for foreign in ("session:123", "ns:mod.f:abc:xyz", "ns:f:abc:" + "0" * 32, b"ns:mod.f:abc:" + b"0" * 32, 7):
        assert not is_memo_key(foreign)


def test_segments_without_the_separator_only() -> None:
    """Namespaces and versions with ':' are refused with a message saying what to pass; names get it replaced."""
    assert check_segment("namespace", "etl") == "etl"
    for bad in ("", "a:b", None, 3):
        with pytest.raises(memo.ConfigurationError, match="without ':'"):
            check_segment("namespace", bad)
    assert safe_name("mod.<lambda>:x") == "mod.<lambda>_x"
