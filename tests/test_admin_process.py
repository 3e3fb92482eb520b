"""``memo.admin`` from a second process that never imported the cached functions (file and Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import memo
from memo._serialize import Entry, dumps_record

_CHILD = """
import json, sys
from memo import admin
url, op, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if op == "functions":
    rows = admin.functions(url, **kwargs)
    out = [[r.namespace, r.function, list(r.versions), r.entries, r.bytes, r.stats] for r in rows]
elif op == "entries":
    out = sorted([e.key, e.args, e.size, e.version, e.namespace, e.function] for e in admin.entries(url, **kwargs))
elif op == "info":
    s = admin.info(url, **kwargs)
    out = [s.entries, s.bytes, len(s.functions)]
elif op == "delete":
    out = admin.delete(url, kwargs["key"])
else:
    out = admin.clear(url, **kwargs)
leaked = sorted(m for m in sys.modules if m.startswith(("userpkg", "tests", "numpy", "pandas")))
print(json.dumps({"out": out, "leaked": leaked}))
"""


def _admin(url: str, op: str, **kwargs: Any) -> Any:
    """Run one admin call in a fresh interpreter that imports only memo.admin; its JSON answer."""
    env = {**os.environ, "PYTHONPATH": str(Path(memo.__file__).parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, url, op, json.dumps(kwargs)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["leaked"] == []  # the child never saw the functions' module (nor numpy/pandas)
    return answer["out"]


def _define(name: str, backend: str, **options: Any) -> Any:
    """A cached function ``userpkg.mod.<name>`` whose module no other process can import."""
    namespace: dict[str, Any] = {"__name__": "userpkg.mod"}
    exec(f"def {name}(x, scale=1):\n    return list(range(x * scale))\n", namespace)
    return memo.cache(backend=backend, **options)(namespace[name])


@pytest.fixture(params=["file", "redis"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A backend URL both processes open: a cache directory, or a Redis database of this test's own."""
    if request.param == "file":
        yield f"file://{tmp_path / 'shared'}"
        return
    server = request.getfixturevalue("redis_server")
    made = f"redis://127.0.0.1:{server.port}/7"
    backend = memo.RedisBackend(made)
    backend.clear()
    try:
        yield made
    finally:
        backend.clear()
        backend.close()


def _backend(url: str) -> Any:
    """The parent's own backend object for ``url`` (for raw writes and checks)."""
    from memo._config import resolve_backend

    return resolve_backend(url)


def _record(function: str, args: str, expires: float | None) -> bytes:
    entry = Entry([1, 2, 3], function, args, time.time(), expires, 0.25, "v1")
    entry.size = 3
    return dumps_record(entry)


def test_a_second_process_lists_functions_and_entries(url: str) -> None:
    """Another process sees each function's versions, counts, bytes and entries from the URL alone."""
    load = _define("load", url, version="v1")
    parse = _define("parse", url, namespace="etl", version="v2")
    load(3), load(4), parse(5)
    rows = _admin(url, "functions")
    assert [r[:4] for r in rows] == [
        ["default", "userpkg.mod.load", ["v1"], 2],
        ["etl", "userpkg.mod.parse", ["v2"], 1],
    ]
    assert all(r[4] > 0 and r[5] is None for r in rows)  # bytes from metadata; no live stats over there
    listed = _admin(url, "entries", function="userpkg.mod.load")
    assert listed == sorted(
        [load.cache_key(x), f"x={x}, scale=1", e.size, "v1", "default", "userpkg.mod.load"]
        for x, e in zip((3, 4), sorted(load.cache_entries(), key=lambda e: e.args), strict=True)
    )
    assert _admin(url, "info", namespace="etl")[0::2] == [1, 1]


def test_a_second_process_clears_one_function_and_keeps_foreign_keys(url: str) -> None:
    """clear(function=) from another process deletes that function's entries only; foreign keys stay."""
    backend = _backend(url)
    try:
        backend.set("default:userpkg.mod.load:notes", b"not memo's")
        backend.set("user-data", b"not memo's either")
        load, keep = _define("load", url), _define("keep", url)
        load(1), load(2), keep(1)
        assert _admin(url, "clear", function="userpkg.mod.load") == 2
        assert sorted(backend.keys()) == sorted(["default:userpkg.mod.load:notes", "user-data", keep.cache_key(1)])
        assert _admin(url, "delete", key=keep.cache_key(1)) is True
        keep(1)
        assert _admin(url, "clear") == 1
        assert sorted(backend.keys()) == ["default:userpkg.mod.load:notes", "user-data"]
    finally:
        backend.close()


def test_a_second_process_does_not_list_expired_records(url: str) -> None:
    """A record past its own expiry is not listed by another process, though the store holds it."""
    backend = _backend(url)
    try:
        backend.set(f"default:userpkg.mod.f:v1:{'1' * 32}", _record("userpkg.mod.f", "x=1", time.time() - 5))
        backend.set(f"default:userpkg.mod.f:v1:{'2' * 32}", _record("userpkg.mod.f", "x=2", time.time() + 60))
        assert [e[1] for e in _admin(url, "entries")] == ["x=2"]
    finally:
        backend.close()


def test_a_second_process_lists_a_value_it_could_not_unpickle(url: str) -> None:
    """A value whose class exists only in the writer is listed by another process: nothing is unpickled."""
    module = type(sys)("admin_writer_only")  # importable here only: the child's unpickling would fail
    exec("class Model:\n    pass\n", module.__dict__)
    sys.modules[module.__name__] = module
    backend = _backend(url)
    try:
        key = f"default:userpkg.mod.fit:v1:{'4' * 32}"
        entry = Entry(module.Model(), "userpkg.mod.fit", "x=3", time.time(), None, 1.0, "v1")
        entry.size = 10
        backend.set(key, dumps_record(entry))
        assert [e[:2] for e in _admin(url, "entries", function="userpkg.mod.fit")] == [[key, "x=3"]]
        assert _admin(url, "clear", function="userpkg.mod.fit") == 1
    finally:
        del sys.modules[module.__name__]
        backend.close()
