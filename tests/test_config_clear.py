"""``memo.clear()``: every memo entry on the backends in use, including renamed or deleted functions'."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

import memo

_DIGEST = "0" * 32


def _define(name: str, **options: Any) -> Any:
    """A cached function named ``name``, as if written in a module (then renamed or deleted)."""
    namespace: dict[str, Any] = {"memo": memo, "__name__": "userpkg.mod"}
    exec(f"def {name}(x):\n    return x * 2\n", namespace)
    return memo.cache(**options)(namespace[name])


def _stale(name: str, *calls: int, **options: Any) -> str:
    """Cache some calls of a function, then drop it (renamed or deleted); its cache name."""
    func = _define(name, **options)
    for x in calls:
        func(x)
    cache_name: str = func.cache_name
    del func
    gc.collect()
    assert all(f.cache_name != cache_name for f in memo.cached_functions())
    return cache_name


@pytest.fixture(autouse=True)
def _no_leftover_functions() -> None:
    """Functions of earlier tests that are garbage already leave the registry first."""
    gc.collect()


def test_clear_removes_entries_of_a_deleted_function_on_the_default_backend() -> None:
    """memo.clear() also clears entries whose function is no longer registered (default backend)."""
    name = _stale("old_name", 1, 2)
    new = _define("new_name")
    new(1)
    backend = memo.get_default_backend()
    assert any(name in k for k in backend.keys())
    assert memo.clear() == 3
    assert list(backend.keys()) == []


def test_clear_removes_stale_entries_on_every_backend_a_function_uses(tmp_path: Path) -> None:
    """memo.clear() clears unregistered functions' entries on explicit backends of registered ones."""
    backend = memo.FileBackend(tmp_path / "c")
    _stale("gone", 1, backend=backend, namespace="etl")
    live = _define("live", backend=backend)
    live(1)
    assert len(list(backend.keys())) == 2
    assert memo.clear() == 2
    assert list(backend.keys()) == []
    backend.close()


def test_clear_keeps_keys_outside_memos_layout() -> None:
    """Keys that are not namespace:module.qualname:version:digest survive memo.clear()."""
    backend = memo.get_default_backend()
    foreign = [
        "user-data",
        "session:abc",
        "a:b:c",
        f"ns:mod.f:v1:{'z' * 32}",
        f"ns:mod.f:v1:{_DIGEST}x",
        f":m.f:v:{_DIGEST}",
        "default:userpkg.mod.f:notes",
    ]
    for key in foreign:
        backend.set(key, b"keep")
    f = _define("f")
    f(1)
    assert memo.clear() == 1
    assert sorted(backend.keys()) == sorted(foreign)


def test_clear_namespace_clears_its_whole_prefix_on_every_backend(tmp_path: Path) -> None:
    """memo.clear(namespace=ns) clears ns's entries of registered and unregistered functions alike."""
    backend = memo.FileBackend(tmp_path / "c")
    _stale("gone", 1, backend=backend, namespace="ns")
    keep = _define("keep", backend=backend, namespace="other")
    keep(1)
    assert memo.clear(namespace="ns") == 1
    assert [k.split(":")[0] for k in backend.keys()] == ["other"]
    backend.close()
