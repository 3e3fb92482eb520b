"""``memo.admin``: functions, entries, info, delete and clear on memory, file and Redis."""

from __future__ import annotations

import gc
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import memo
from memo import admin
from memo._serialize import Entry, dumps_record

_DIGEST = "0" * 32


def _define(name: str, **options: Any) -> Any:
    """A cached function ``userpkg.mod.<name>`` (as if written in a module)."""
    namespace: dict[str, Any] = {"__name__": "userpkg.mod"}
    exec(f"def {name}(x):\n    return [x] * 8\n", namespace)
    return memo.cache(**options)(namespace[name])


@pytest.fixture(autouse=True)
def _collect() -> None:
    """Functions of earlier tests that are garbage leave the registry first."""
    gc.collect()


def _record(function: str, args: str = "x=1", expires: float | None = None, value: Any = 1) -> bytes:
    """A record as memo writes it, for a key set by hand."""
    entry = Entry(value, function, args, time.time(), expires, 0.5, "v1")
    entry.size = 3
    return dumps_record(entry)


class _Explodes:
    """A value whose unpickling raises (and leaves a trace), to prove a listing never unpickles."""

    trace: Path | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_explode, (str(self.trace),))


def _explode(trace: str) -> None:
    Path(trace).write_text("unpickled")
    raise RuntimeError("this value must never be unpickled by a listing")


def test_functions_lists_one_row_per_namespace_and_function(backend: Any) -> None:
    """functions() gives each (namespace, function) its versions, entry count, bytes and live stats."""
    f = _define("load", backend=backend, version="v1")
    g = _define("load", backend=backend, namespace="etl", version="v2")
    f(1), f(2), f(2), g(1)
    rows = admin.functions(backend)
    assert [(r.namespace, r.function, r.versions, r.entries) for r in rows] == [
        ("default", "userpkg.mod.load", ("v1",), 2),
        ("etl", "userpkg.mod.load", ("v2",), 1),
    ]
    assert all(r.bytes > 0 for r in rows)
    assert rows[0].stats is not None
    assert (rows[0].stats.hits, rows[0].stats.misses) == (1, 2)
    assert [r.namespace for r in admin.functions(backend, namespace="etl")] == ["etl"]


def test_functions_lists_entries_of_functions_no_longer_defined(backend: Any) -> None:
    """A function that is gone from this process still has its row, without stats."""
    f = _define("gone", backend=backend)
    f(1)
    del f
    gc.collect()
    (row,) = admin.functions(backend)
    assert (row.function, row.entries, row.stats) == ("userpkg.mod.gone", 1, None)


def test_a_registered_function_without_entries_is_listed_with_zero(backend: Any) -> None:
    """A function defined on this backend but never called is listed with 0 entries and its stats."""
    f = _define("idle", backend=backend)
    (row,) = admin.functions(backend)
    assert (row.function, row.entries, row.bytes, row.versions) == ("userpkg.mod.idle", 0, 0, ())
    assert row.stats == f.cache_info()


def test_entries_of_one_function_match_cache_entries(backend: Any) -> None:
    """entries(function=name) lists that function's entries only, as cache_entries() does, plus its names."""
    f = _define("load", backend=backend)
    other = _define("other", backend=backend)
    f(1), f(2), other(1)
    listed = admin.entries(backend, function="userpkg.mod.load")
    assert sorted(listed) == sorted(f.cache_entries())
    assert {(e.namespace, e.function, e.args) for e in listed} == {
        ("default", "userpkg.mod.load", "x=1"),
        ("default", "userpkg.mod.load", "x=2"),
    }
    assert {e.key for e in listed} == {f.cache_key(1), f.cache_key(2)}
    assert all(e.size > 0 and e.created > 0 and e.expires is None and e.version for e in listed)
    assert len(admin.entries(backend)) == 3


def test_entries_accepts_the_cached_function_itself(backend: Any) -> None:
    """entries(function=f) reads f's own backend and namespace, no backend argument needed."""
    f = _define("load", backend=backend, namespace="etl", ttl=60)
    _define("load", backend=backend)(1)
    f(1)
    (entry,) = admin.entries(function=f)
    assert (entry.key, entry.namespace) == (f.cache_key(1), "etl")
    assert entry.expires is not None
    assert entry.expires > time.time()


def test_entries_filters_by_namespace_and_version(backend: Any) -> None:
    """namespace= and version= narrow a listing to the matching keys."""
    _define("a", backend=backend, namespace="n1", version="v1")(1)
    _define("a", backend=backend, namespace="n2", version="v1")(1)
    _define("b", backend=backend, namespace="n2", version="v2")(1)
    assert {e.namespace for e in admin.entries(backend, namespace="n2")} == {"n2"}
    assert len(admin.entries(backend, namespace="n2")) == 2
    assert [e.function for e in admin.entries(backend, version="v2")] == ["userpkg.mod.b"]
    assert len(admin.entries(backend, function="userpkg.mod.a")) == 2


def test_info_sums_entries_and_bytes(backend: Any) -> None:
    """info() totals the entries and bytes of its per-function rows."""
    f, g = _define("f", backend=backend), _define("g", backend=backend)
    f(1), f(2), g(1)
    summary = admin.info(backend)
    assert summary.entries == 3
    assert summary.bytes == sum(e.size for e in admin.entries(backend))
    assert [r.function for r in summary.functions] == ["userpkg.mod.f", "userpkg.mod.g"]
    assert admin.info(backend, function="userpkg.mod.g").entries == 1
    assert summary.backend == repr(backend)


def test_delete_removes_one_entry(backend: Any) -> None:
    """delete(backend, key) removes that entry and says whether it was there."""
    f = _define("f", backend=backend)
    f(1), f(2)
    assert admin.delete(backend, f.cache_key(1)) is True
    assert admin.delete(backend, f.cache_key(1)) is False
    assert [e.key for e in admin.entries(backend)] == [f.cache_key(2)]


def test_delete_refuses_a_key_outside_memos_layout(backend: Any) -> None:
    """delete() of another program's key raises ConfigurationError and leaves the key."""
    backend.set("user-data", b"keep")
    with pytest.raises(memo.ConfigurationError, match="not a memo key"):
        admin.delete(backend, "user-data")
    assert list(backend.keys()) == ["user-data"]


def test_clear_one_function_leaves_the_others(backend: Any) -> None:
    """clear(function=name) deletes that function's entries in every namespace, nothing else."""
    f, g, h = _define("f", backend=backend), _define("g", backend=backend), _define("f", backend=backend, namespace="x")
    f(1), f(2), g(1), h(1)
    assert admin.clear(backend, function="userpkg.mod.f") == 3
    assert [e.function for e in admin.entries(backend)] == ["userpkg.mod.g"]


def test_clear_by_namespace_version_or_function_object(backend: Any) -> None:
    """clear() narrows to a namespace, to one version, or to a cached function's own entries."""
    old = _define("f", backend=backend, version="v1")
    old(1)
    new = _define("f", backend=backend, version="v2")
    new(1), new(2)
    other = _define("g", backend=backend, namespace="etl")
    other(1)
    dropped = getattr(backend, "stores_objects", False)  # memory drops a replaced version's entries itself
    assert admin.clear(backend, function="userpkg.mod.f", version="v1") == (0 if dropped else 1)
    assert {e.version for e in admin.entries(backend, function=new)} == {"v2"}
    assert admin.clear(function=other) == 1
    assert admin.clear(backend, namespace="default") == 2
    assert admin.entries(backend) == []


def test_clear_everything_counts_each_entry(backend: Any) -> None:
    """clear(backend) deletes every memo entry and returns how many."""
    for name in ("a", "b", "c"):
        _define(name, backend=backend)(1)
    assert admin.clear(backend) == 3
    assert list(backend.keys()) == []


def test_clear_never_deletes_foreign_keys(backend: Any) -> None:
    """Keys outside memo's layout survive every clear, even under a function's prefix."""
    foreign = ["user-data", "a:b:c", "default:userpkg.mod.f:notes", f"default:userpkg.mod.f:v1:{_DIGEST}x"]
    for key in foreign:
        backend.set(key, b"keep")
    f = _define("f", backend=backend, version="v1")
    f(1), f(2)
    assert admin.clear(backend, function="userpkg.mod.f", version="v1") == 2
    f(1)
    assert admin.clear(backend, function="userpkg.mod.f") == 1
    f(1)
    assert admin.clear(backend, namespace="default") == 1
    f(1)
    assert admin.clear(backend) == 1
    assert sorted(backend.keys()) == sorted(foreign)
    assert admin.entries(backend) == []


@pytest.fixture(params=["file", "redis"])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A backend that keeps records (bytes), where a record can be written by hand."""
    if request.param == "file":
        made = memo.FileBackend(tmp_path / "records")
        yield made
        made.close()
    else:
        yield request.getfixturevalue("redis_backend")


def test_expired_record_is_not_listed(records: Any) -> None:
    """A record whose own expiry has passed is not listed, though the store still holds it."""
    backend = records
    key = f"default:userpkg.mod.f:v1:{'1' * 32}"
    backend.set(key, _record("userpkg.mod.f", expires=time.time() - 1))
    backend.set(f"default:userpkg.mod.f:v1:{'2' * 32}", _record("userpkg.mod.f", "x=2", expires=time.time() + 60))
    assert [e.args for e in admin.entries(backend)] == ["x=2"]
    assert [r.entries for r in admin.functions(backend)] == [1]


def test_a_value_that_cannot_be_unpickled_is_still_listed(records: Any, tmp_path: Path) -> None:
    """Listings read metadata only: a record whose value would raise when unpickled is listed."""
    _Explodes.trace = tmp_path / "trace"
    key = f"default:userpkg.mod.f:v1:{'3' * 32}"
    records.set(key, _record("userpkg.mod.f", value=_Explodes()))
    with pytest.raises(RuntimeError):
        pickle.loads(pickle.dumps(_Explodes()))  # the value really explodes when unpickled
    _Explodes.trace.unlink()
    assert [(e.key, e.args) for e in admin.entries(records)] == [(key, "x=1")]
    assert admin.functions(records)[0].entries == 1
    assert not _Explodes.trace.exists()


def test_bad_arguments_say_what_to_pass() -> None:
    """A ':' in a segment, a name without module, a non-function or a non-backend raise ConfigurationError."""
    for kwargs, message in [
        ({"namespace": "a:b"}, "namespace='a:b'"),
        ({"version": ""}, "version=''"),
        ({"function": "mod.f:1"}, "function='mod.f:1'"),
        ({"function": "load"}, "module.qualname"),
        ({"function": len}, "@memo.cache function"),
        ({"function": 3}, "@memo.cache function"),
        ({"backend": 3}, "backend=3"),
        ({"backend": memo.MemoryBackend}, "backend object"),
        ({"backend": "ftp://x"}, "unknown backend"),
    ]:
        with pytest.raises(memo.ConfigurationError, match=message.replace("(", r"\(").replace(".", r"\.")):
            admin.clear(**kwargs)
        with pytest.raises(memo.ConfigurationError):
            admin.entries(**kwargs)


def test_backend_none_is_the_configured_default() -> None:
    """Without a backend, admin works on the default backend (and functions on it)."""
    f = _define("f")
    f(1)
    assert [e.key for e in admin.entries()] == [f.cache_key(1)]
    assert admin.clear() == 1
    assert admin.entries() == []


def test_a_url_names_the_backend(tmp_path: Path) -> None:
    """A file URL is resolved like backend= of the decorator and closed after use."""
    url = f"file://{tmp_path / 'urlcache'}"
    f = _define("f", backend=url)
    f(1)
    assert [e.key for e in admin.entries(url)] == [f.cache_key(1)]
    assert admin.clear(url, function="userpkg.mod.f") == 1


def test_the_configured_url_reuses_the_default_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Passing the URL the process is configured with works on the open default backend."""
    monkeypatch.setenv("MEMO_CACHE_DIR", str(tmp_path / "default"))
    memo.configure(backend="file")
    try:
        f = _define("f")
        f(1)
        rows = [r for r in admin.functions("file") if r.entries]  # module-level test functions have none
        assert [(r.function, r.stats) for r in rows] == [("userpkg.mod.f", f.cache_info())]
        assert len(admin.entries("file")) == 1
    finally:
        memo.configure(backend=None)


def test_async_only_backends_are_refused_with_a_reason() -> None:
    """A backend whose methods are all async cannot be managed from sync code: ConfigurationError."""

    class Values:
        async def get(self, key: str) -> Any: ...
        async def set(self, key: str, value: Any, ttl: float | None = None) -> None: ...
        async def delete(self, key: str) -> bool: ...
        async def keys(self, prefix: str = "") -> list[str]: ...
        async def clear(self, prefix: str = "") -> int: ...

    with pytest.raises(memo.ConfigurationError, match="has no sync"):
        admin.entries(Values())
    with pytest.raises(memo.ConfigurationError, match="has no sync"):
        admin.clear(Values())


def test_memo_admin_is_a_lazy_attribute() -> None:
    """memo.admin is the public module, loaded on first access, and import memo does not load it."""
    import subprocess
    import sys

    code = "import sys, memo; print('memo.admin' in sys.modules, memo.admin.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "memo.admin"]
    assert memo.admin is admin


def test_redis_get_heads_reads_many_heads_in_one_go(redis_backend: Any) -> None:
    """RedisBackend.get_heads gives each key's head as get_head does, None for a missing key."""
    keys = [f"default:userpkg.mod.f:v1:{i:032x}" for i in range(2500)]
    for key in keys[:3]:
        redis_backend.set(key, _record("userpkg.mod.f"))
    heads = redis_backend.get_heads([*keys[:3], "missing", *keys[3:]])
    assert heads[:3] == [redis_backend.get_head(k) for k in keys[:3]]
    assert heads[:3] == [redis_backend.get(k) for k in keys[:3]]  # records shorter than 64 KiB: whole
    assert heads[3:] == [None] * 2498
