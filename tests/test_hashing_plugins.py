"""Hasher plug-ins: the engine names no library, plug-ins install lazily through register_hasher."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import memo
import memo.hashers
from memo import _hash_lazy, _hashing

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ("_hashing.py", "_hash_buffers.py", "_hash_rows.py", "_hash_errors.py", "_hash_lazy.py")
# Libraries memo has or plans hashers for: the engine must spell none of them.
LIBRARIES = {"numpy", "pandas", "pyarrow", "polars", "torch", *memo.hashers.PLUGINS}
ALLOWED_THIRD_PARTY = {"xxhash"}  # a hard dependency of memo itself


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture
def lazy() -> Iterator[Callable[[str, Callable[[], None]], None]]:
    """register_lazy for a made-up library, undone afterwards (registry, pending installers, dispatch)."""
    registered_before = dict(_hashing._registry)
    names: list[str] = []

    def register(module: str, installer: Callable[[], None]) -> None:
        names.append(module)
        _hashing.register_lazy(module, installer)

    yield register
    for name in names:
        _hash_lazy._pending.pop(name, None)
    _hashing._registry.clear()
    _hashing._registry.update(registered_before)
    _hashing._dispatch.clear()


def _library_class(module: str, name: str, base: type = object) -> type:
    """A class that claims to come from ``module`` (a stand-in for a third-party library's type)."""

    def init(self: Any, value: int) -> None:
        self.value = value

    return type(name, (base,), {"__module__": module, "__qualname__": name, "__init__": init})


def test_plugins_register_through_the_public_register_hasher() -> None:
    """Each plug-in registers with the very function a user calls, memo.register_hasher."""
    import memo.hashers.numpy
    import memo.hashers.pandas

    assert memo.hashers.numpy.register_hasher is memo.register_hasher
    assert memo.hashers.pandas.register_hasher is memo.register_hasher
    code = (
        "import memo, memo._hashing as e, numpy as np; seen = []; real = e.register_hasher\n"
        "e.register_hasher = lambda cls, fn: (seen.append(cls.__name__), real(cls, fn))[1]\n"
        "memo.hash_value(np.arange(3)); print(sorted(seen))"
    )
    assert _run(code) == str(sorted(["ndarray", "memmap", "generic", "dtype"]))


def test_a_users_hasher_for_a_library_type_wins_whatever_the_order() -> None:
    """register_hasher(np.ndarray, fn) before any array was hashed is not overwritten by the plug-in."""
    code = (
        "import memo, numpy as np; a = np.arange(3)\n"
        "memo.register_hasher(np.ndarray, lambda x: 'mine')\n"
        "memo.hash_value(np.float64(1))  # the plug-in installs now, at the first numpy value\n"
        "print(memo.hash_value(a) == memo.hash_value(np.arange(4)))"
    )
    assert _run(code) == "True"


def test_lazy_installer_runs_once_and_only_for_its_library(lazy: Any) -> None:
    """An installer runs at the first value of its library, never for others, and once."""
    thing = _library_class("memo_fakelib.core", "Thing")
    runs: list[int] = []

    def install() -> None:
        runs.append(1)
        memo.register_hasher(thing, lambda t: t.value)

    lazy("memo_fakelib", install)
    for value in (1, "a", [1.5, {"k": (2, None)}], {3, 4}, memo.hash_value):
        memo.hash_value(value)
    assert runs == []
    first = memo.hash_value(thing(1))
    assert runs == [1]
    assert memo.hash_value(thing(1)) == first != memo.hash_value(thing(2))
    assert runs == [1]


def test_threads_meeting_a_library_together_wait_for_its_installer(lazy: Any) -> None:
    """A second thread hashing a library value while its installer runs waits, and gets the same digest."""
    thing = _library_class("memo_fakelib4", "Thing")
    runs: list[int] = []

    def install() -> None:
        runs.append(1)
        time.sleep(0.3)  # the other thread arrives meanwhile
        memo.register_hasher(thing, lambda t: ("content", t.value))

    lazy("memo_fakelib4", install)
    with ThreadPoolExecutor(2) as pool:
        digests = list(pool.map(lambda _: memo.hash_value(thing(1)), range(2)))
    assert runs == [1]
    assert digests[0] == digests[1] == memo.hash_value(thing(1))


def test_a_subclass_defined_elsewhere_installs_its_base_library(lazy: Any) -> None:
    """A user's subclass of a library type, hashed first, already gets the library's hasher."""
    base = _library_class("memo_fakelib2", "Base")
    sub = type("Sub", (base,), {})
    lazy("memo_fakelib2", lambda: memo.register_hasher(base, lambda b: ("content", b.value)))
    assert memo.hash_value(sub(1)) == memo.hash_value(sub(1)) != memo.hash_value(sub(2))
    assert _hashing._registry.get(base) is not None


def test_a_failing_installer_fails_every_value_alike(lazy: Any) -> None:
    """An installer that raises stays pending: each value of its library raises HashingError, none falls back."""
    broken = _library_class("memo_fakelib3", "Broken")
    runs: list[int] = []

    def install() -> None:
        runs.append(1)
        raise RuntimeError("plug-in bug")

    lazy("memo_fakelib3", install)
    for _ in range(2):
        with pytest.raises(memo.HashingError, match="plug-in bug"):
            memo.hash_value(broken(1))
    assert runs == [1, 1]


def test_numpy_subclass_hashes_the_same_whichever_value_came_first() -> None:
    """An ndarray subclass from a user module gets one digest whether or not a plain array was hashed before."""
    script = (
        "import memo, numpy as np\n"
        "class Tagged(np.ndarray): pass\n"
        "{first}"
        "print(memo.hash_value(np.arange(4).view(Tagged)))"
    )
    alone = _run(script.format(first=""))
    after_plain = _run(script.format(first="memo.hash_value(np.arange(2))\n"))
    assert alone == after_plain


def test_plain_values_install_nothing() -> None:
    """Hashing plain values and calling a cached function imports no library and no plug-in."""
    code = (
        "import sys, memo, memo._hash_lazy as e\n"
        "@memo.cache\ndef f(x): return x\n"
        "f(3); memo.hash_value([1, {'a': 2.0}, {3}, b'x', None])\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'memo.hashers.numpy', 'memo.hashers.pandas') if m in sys.modules),"
        " sorted(e._pending))"
    )
    assert _run(code) == "[] ['numpy', 'pandas', 'pyarrow']"


def test_a_numpy_value_installs_only_the_numpy_plugin() -> None:
    """The first array installs the numpy plug-in (once); pandas and its plug-in stay unloaded."""
    code = (
        "import sys, memo, memo._hash_lazy as e, numpy as np\n"
        "memo.hash_value(np.arange(3)); memo.hash_value(np.float32(2))\n"
        "print(sorted(m for m in ('pandas', 'memo.hashers.numpy', 'memo.hashers.pandas') if m in sys.modules),"
        " sorted(e._pending))"
    )
    assert _run(code) == "['memo.hashers.numpy'] ['pandas', 'pyarrow']"


def test_plugin_modules_do_not_shadow_their_libraries() -> None:
    """memo/hashers/numpy.py imports the real numpy (absolute import), not itself."""
    import numpy
    import pandas

    import memo.hashers.numpy
    import memo.hashers.pandas

    assert memo.hashers.numpy.np is numpy
    assert memo.hashers.pandas.pd is pandas
    assert memo.hashers.pandas.np is numpy


def test_every_plugin_has_an_install() -> None:
    """Every PLUGINS entry names an importable memo.hashers module with an install() callable."""
    import importlib

    for library, plugin in memo.hashers.PLUGINS.items():
        assert plugin == f"memo.hashers.{library}"
        assert callable(importlib.import_module(plugin).install)


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module)
    return roots


@pytest.mark.parametrize("name", ENGINE)
def test_engine_names_no_library_and_no_plugin(name: str) -> None:
    """The engine imports only the stdlib, xxhash and memo modules outside memo.hashers, and spells no library."""
    text = (ROOT / "memo" / name).read_text(encoding="utf-8")
    tree = ast.parse(text)
    for module in _imported_roots(tree):
        top = module.partition(".")[0]
        assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == "memo", module
        assert not module.startswith("memo.hashers"), module
    words: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            words.append(node.value)
        elif isinstance(node, ast.Name):
            words.append(node.id)
        elif isinstance(node, ast.Attribute):
            words.append(node.attr)
    for word in words:
        lowered = word.lower()
        hits = [lib for lib in LIBRARIES if lib in lowered] + (["hashers"] if "memo.hashers" in lowered else [])
        assert not hits, f"{name} names {hits} in {word[:80]!r}"
    spelled = re.compile(r"\b(np|pd|pa|pl)\.|" + "|".join(sorted(LIBRARIES)) + r"|memo\.hashers", re.IGNORECASE)
    found = [line for line in text.splitlines() if spelled.search(line)]  # comments included
    assert not found, f"{name}: {found}"
