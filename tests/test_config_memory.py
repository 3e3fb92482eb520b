"""The default memory backend: bounded, and without the entries of a function's old versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import memo
from memo import _config


def _define(body: str, **options: Any) -> Any:
    """``userpkg.mod.area`` with the given body, as a cell re-run after an edit would define it."""
    namespace: dict[str, Any] = {"__name__": "userpkg.mod"}
    exec(f"def area(w, h):\n    return {body}\n", namespace)
    return memo.cache(**options)(namespace["area"])


def _versions(backend: Any, func: Any) -> set[str]:
    prefix = f"{func.cache_namespace}:{func.cache_name}:"
    return {k[len(prefix) :].split(":")[0] for k in backend.keys(prefix)}


def test_the_default_memory_backend_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without configuration, the default memory backend has an entry and a byte bound."""
    monkeypatch.delenv("MEMO_BACKEND", raising=False)
    monkeypatch.setattr(_config.state, "backend", None)
    backend = memo.get_default_backend()
    assert isinstance(backend.max_entries, int)
    assert isinstance(backend.max_bytes, int)


def test_the_memory_url_is_bounded() -> None:
    """configure(backend="memory") and backend="memory" make a bounded memory backend."""
    memo.configure(backend="memory")
    assert memo.get_default_backend().max_bytes is not None

    @memo.cache(backend="memory")
    def f(x: int) -> int:
        return x

    assert f._memo.opts.backend.max_entries is not None  # type: ignore[attr-defined]


def test_an_edited_function_drops_its_old_versions_entries_from_memory() -> None:
    """Redefining a function with new code drops the old version's entries on the memory backend."""
    backend = memo.get_default_backend()
    old = _define("w * h")
    old(2, 3)
    old(4, 5)
    new = _define("w * h  + 0")
    assert old.cache_key(2, 3) != new.cache_key(2, 3)
    assert _versions(backend, new) == set()
    assert new(2, 3) == 6
    assert _versions(backend, new) == {new.cache_key(2, 3).split(":")[2]}


def test_an_explicit_memory_backend_drops_old_versions_too() -> None:
    """An in-process memory backend passed to the decorator also loses the old version's entries."""
    backend = memo.MemoryBackend()
    _define("w * h", backend=backend)(2, 3)
    new = _define("h * w", backend=backend)
    assert _versions(backend, new) == set()


def test_a_persistent_backend_keeps_old_versions(tmp_path: Path) -> None:
    """On a file backend, old versions stay (until cache_clear) when the function is redefined."""
    backend = memo.FileBackend(tmp_path / "c")
    old = _define("w * h", backend=backend)
    old(2, 3)
    new = _define("h * w", backend=backend)
    new(2, 3)
    assert len(_versions(backend, new)) == 2
    backend.close()


def test_a_pinned_version_keeps_its_entries_across_edits() -> None:
    """With version= pinned, redefining the function keeps its entries on the memory backend."""
    backend = memo.get_default_backend()
    _define("w * h", version="v1")(2, 3)
    new = _define("h * w", version="v1")
    assert _versions(backend, new) == {"v1"}


def test_other_functions_entries_stay() -> None:
    """Dropping an old version touches only that function's entries."""
    backend = memo.get_default_backend()

    @memo.cache
    def other(x: int) -> int:
        return x

    other(1)
    _define("w * h")(2, 3)
    _define("h * w")
    assert list(backend.keys(f"default:{other.cache_name}:")) == [other.cache_key(1)]
