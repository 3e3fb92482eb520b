"""The three built-in backends: the shared contract, and the same decorator behaviour on each."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import memo
from memo.testing import BackendContract
from tests._helpers import Bomb


class TestMemoryContract(BackendContract):
    """MemoryBackend satisfies the storage protocol."""

    @pytest.fixture
    def backend(self) -> Any:
        return memo.MemoryBackend()


class TestFileContract(BackendContract):
    """FileBackend satisfies the storage protocol."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[Any]:
        b = memo.FileBackend(tmp_path / "c")
        yield b
        b.close()


class TestRedisContract(BackendContract):
    """RedisBackend on a real server satisfies the storage protocol."""

    @pytest.fixture
    def backend(self, redis_backend: Any) -> Any:
        return redis_backend


class TestRedisClusterContract(BackendContract):
    """RedisBackend on a real three-master cluster satisfies the storage protocol."""

    @pytest.fixture
    def backend(self, redis_cluster: str, redis_prefix: str) -> Iterator[Any]:
        b = memo.RedisBackend(redis_cluster, prefix=redis_prefix)
        yield b
        b.clear()
        b.close()


def test_none_results_are_cached(backend: Any) -> None:
    """A None result is stored and served as a hit on every backend."""
    calls: list[int] = []

    @memo.cache(backend=backend)
    def nothing(x: int) -> None:
        calls.append(x)

    assert nothing(1) is None
    assert nothing(1) is None
    assert calls == [1]


def test_ttl_through_the_decorator(backend: Any) -> None:
    """A ttl'd entry is recomputed after it expires, on every backend."""
    calls: list[int] = []

    @memo.cache(backend=backend, ttl=0.3)
    def v(x: int) -> int:
        calls.append(x)
        return x

    v(1)
    v(1)
    time.sleep(0.5)
    v(1)
    assert calls == [1, 1]


def test_entries_delete_clear_alike(backend: Any) -> None:
    """cache_entries, cache_delete and cache_clear behave the same on every backend."""

    @memo.cache(backend=backend, ttl=60)
    def v(x: int, tag: str = "t") -> list[int]:
        return [x] * 10

    v(1)
    v(2)
    entries = sorted(v.cache_entries(), key=lambda e: e.args)
    assert [e.args for e in entries] == ["x=1, tag='t'", "x=2, tag='t'"]
    assert all(e.size > 0 and e.expires is not None and e.key.startswith("default:") for e in entries)
    assert v.cache_delete(1) is True
    assert v.cache_delete(1) is False
    assert v.cache_clear() == 1
    assert v.cache_entries() == []


async def test_async_function_on_each_backend(backend: Any) -> None:
    """An async cached function hits on every backend through the native async twins."""
    calls: list[int] = []

    @memo.cache(backend=backend)
    async def v(x: int) -> dict[str, int]:
        calls.append(x)
        await asyncio.sleep(0)
        return {"x": x}

    assert await v(3) == {"x": 3}
    assert await v(3) == {"x": 3}
    assert calls == [3]
    assert await v.acache_clear() == 1
    await backend.aclose()


def test_foreign_redis_keys_survive_every_clear(redis_url: str, redis_prefix: str) -> None:
    """Keys outside memo's prefix, in the same db, survive cache_clear, memo.clear and backend.clear."""
    import redis

    raw = redis.Redis.from_url(redis_url)
    raw.set("foreign:key", b"keep")
    raw.set("memo-not-mine", b"keep")
    backend = memo.RedisBackend(redis_url, prefix=redis_prefix)

    @memo.cache(backend=backend)
    def v(x: int) -> int:
        return x

    v(1)
    v.cache_clear()
    memo.clear()
    memo.clear(namespace="default")
    backend.clear()
    assert raw.get("foreign:key") == b"keep"
    assert raw.get("memo-not-mine") == b"keep"
    raw.delete("foreign:key", "memo-not-mine")
    raw.close()
    backend.close()


def test_glob_characters_in_prefix_are_escaped(redis_url: str) -> None:
    """A prefix with glob characters clears only itself, not keys the pattern would match."""
    import redis

    raw = redis.Redis.from_url(redis_url)
    raw.set("memo-X:victim", b"keep")
    backend = memo.RedisBackend(redis_url, prefix="memo-?:")
    backend.set("k", b"v")
    assert backend.clear() == 1
    assert raw.get("memo-X:victim") == b"keep"
    raw.delete("memo-X:victim")
    raw.close()
    backend.close()


def test_foreign_file_in_cache_dir_survives_every_clear(tmp_path: Path) -> None:
    """A file memo did not write in its directory survives every clear."""
    directory = tmp_path / "c"
    backend = memo.FileBackend(directory)

    @memo.cache(backend=backend)
    def v(x: int) -> int:
        return x

    v(1)
    foreign = directory / "notes.txt"
    foreign.write_text("mine")
    v.cache_clear()
    memo.clear()
    backend.clear()
    assert foreign.read_text() == "mine"
    backend.close()


def _run(code: str, *args: str) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


CROSS = """
import sys, memo
@memo.cache(backend=sys.argv[1], version="1")
def make(n):
    class Point:
        def __init__(self, x): self.x = x
        def norm(self): return abs(self.x)
    k = n + 1
    if sys.argv[2] == "consumer":
        raise SystemExit("body ran in the consumer: expected a hit")
    return {"point": Point(-n), "fn": lambda y: y * k}
r = make(4)
print(r["point"].norm(), r["fn"](2))
"""


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_cross_process_hit_with_local_classes_and_lambdas(kind: str, tmp_path: Path, request: Any) -> None:
    """A result holding a locally defined class and a lambda computed in one process is a hit in another."""
    if kind == "file":
        url = (tmp_path / "c").as_uri()
    else:
        url = request.getfixturevalue("redis_url")
        subprocess.run([sys.executable, "-c", f"import memo; memo.RedisBackend({url!r}).clear()"], check=True)
    assert _run(CROSS, url, "producer") == "4 10"
    assert _run(CROSS, url, "consumer") == "4 10"


def test_missing_redis_package_says_what_to_install() -> None:
    """Without redis installed, a redis URL raises ConfigurationError with the pip command."""
    code = "import sys; sys.modules['redis'] = None\nimport memo\ntry:\n    memo.RedisBackend('redis://x')\n"
    code += "except memo.ConfigurationError as e:\n    print(e)"
    assert "pip install 'memo-cache[redis]'" in _run(code)


def test_backend_urls_resolve(tmp_path: Path, redis_url: str) -> None:
    """memory, file:///dir and redis:// URLs make the matching backends; MEMO_BACKEND sets the default."""
    from memo._config import resolve_backend

    assert isinstance(resolve_backend("memory"), memo.MemoryBackend)
    fb = resolve_backend((tmp_path / "x").as_uri())
    assert isinstance(fb, memo.FileBackend)
    assert fb.directory == tmp_path / "x"
    assert isinstance(resolve_backend(redis_url), memo.RedisBackend)
    code = "import memo; print(type(memo.get_default_backend()).__name__)"
    env = dict(os.environ, MEMO_BACKEND=(tmp_path / "y").as_uri())
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "FileBackend"


def test_file_eviction_keeps_recently_read_entries(tmp_path: Path) -> None:
    """At size_limit, FileBackend evicts entries not read recently before ones just read."""
    backend = memo.FileBackend(tmp_path / "c", size_limit=2 * 2**20)
    backend._touch_every = 0.0  # refresh recency on every hit, to observe it in a test
    backend._cull_every = 0.0  # evict on every write
    payload = os.urandom(60 * 1024)
    for i in range(30):
        backend.set(f"k{i}", payload)
    time.sleep(0.01)
    assert backend.get("k0") == payload  # k0 becomes the most recently used of k0..k29
    for i in range(30, 40):
        backend.set(f"k{i}", payload)
    survivors = set(backend.keys())
    assert len(survivors) < 40, "the size limit must have evicted something"
    assert "k0" in survivors
    assert "k1" not in survivors
    backend.close()


def test_async_def_user_backend_serves_async_functions_only(tmp_path: Path) -> None:
    """A JSON-file backend with async get/set works for async def; a sync function gets ConfigurationError."""
    import json

    class JsonFileBackend:
        def __init__(self, path: Path) -> None:
            self.path = path

        def _load(self) -> dict[str, Any]:
            return json.loads(self.path.read_text()) if self.path.exists() else {}

        async def get(self, key: str) -> Any:
            return self._load().get(key)

        async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
            self.path.write_text(json.dumps({**self._load(), key: value}))

        async def delete(self, key: str) -> bool:
            data = self._load()
            found = data.pop(key, None) is not None
            self.path.write_text(json.dumps(data))
            return found

        async def clear(self, prefix: str = "") -> int:
            data = self._load()
            kept = {k: v for k, v in data.items() if not k.startswith(prefix)}
            self.path.write_text(json.dumps(kept))
            return len(data) - len(kept)

    backend = JsonFileBackend(tmp_path / "cache.json")
    calls: list[int] = []

    @memo.cache(backend=backend)
    async def item(x: int) -> dict[str, int]:
        calls.append(x)
        return {"x": x}

    async def twice() -> None:
        assert await item(5) == {"x": 5}
        assert await item(5) == {"x": 5}

    asyncio.run(twice())
    assert calls == [5]

    @memo.cache(backend=backend)
    def sync_item(x: int) -> int:
        return x

    with pytest.raises(memo.ConfigurationError, match="async"):
        sync_item(1)


def test_redis_user_clients_are_used_and_left_open(redis_url: str, redis_prefix: str) -> None:
    """client= takes a sync redis.Redis (async functions then run it in a thread) or an asyncio client."""
    import redis
    import redis.asyncio

    sync_client = redis.Redis.from_url(redis_url)
    backend = memo.RedisBackend(client=sync_client, prefix=redis_prefix)
    calls: list[int] = []

    @memo.cache(backend=backend)
    async def v(x: int) -> int:
        calls.append(x)
        return x

    @memo.cache(backend=backend)
    def s(x: int) -> int:
        calls.append(-x)
        return x

    assert asyncio.run(v(1)) == 1
    assert asyncio.run(v(1)) == 1
    assert s(2) == 2
    assert s(2) == 2
    assert calls == [1, -2]
    backend.close()
    assert sync_client.ping()  # the user's client stays open

    async def with_async_client() -> None:
        aclient = redis.asyncio.Redis.from_url(redis_url)
        abackend = memo.RedisBackend(client=aclient, prefix=redis_prefix)
        await abackend.aset("k", b"v", ttl=5)
        assert await abackend.aget("k") == b"v"
        assert await abackend.aclear() >= 1
        await abackend.aclose()
        assert await aclient.ping()
        await aclient.aclose()

    asyncio.run(with_async_client())
    sync_client.close()


def test_redis_async_clients_are_per_loop(redis_backend: Any) -> None:
    """Each event loop gets its own asyncio client; a backend keeps working across asyncio.run calls."""
    seen: list[Any] = []

    async def use(i: int) -> None:
        await redis_backend.aset(f"loop{i}", b"x")
        assert await redis_backend.aget(f"loop{i}") == b"x"
        seen.append(redis_backend._loop().client)
        await redis_backend.aclose()

    asyncio.run(use(1))
    asyncio.run(use(2))
    assert seen[0] is not seen[1]


def test_redis_dead_server_fails_fast() -> None:
    """A RedisBackend pointed at a port with no server raises within about a second."""
    import socket

    import redis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = memo.RedisBackend(f"redis://127.0.0.1:{port}/0")
    start = time.monotonic()
    with pytest.raises(redis.exceptions.ConnectionError):
        backend.get("k")
    assert time.monotonic() - start < 2.5
    backend.close()


def test_file_big_results_are_writable_and_outlive_their_entry(tmp_path: Path) -> None:
    """An 8 MiB array hit is equal and writable, writes do not reach the cache, and it survives cache_clear."""
    np = pytest.importorskip("numpy")
    backend = memo.FileBackend(tmp_path / "c")
    source = np.arange(2**20, dtype=np.float64)

    @memo.cache(backend=backend)
    def big(x: int) -> Any:
        return source * x

    big(2)
    hit = big(2)
    assert np.array_equal(hit, source * 2)
    assert hit.flags.writeable
    hit[0] = -1.0
    assert big(2)[0] == 0.0
    assert big.cache_clear() == 1
    assert hit[1] == 2.0
    assert hit[0] == -1.0
    backend.close()


def test_file_foreign_diskcache_entries_are_neither_listed_nor_unpickled(tmp_path: Path) -> None:
    """Entries diskcache pickled itself, non-str keys and str values in the directory are never touched."""
    import diskcache

    directory = tmp_path / "c"
    backend = memo.FileBackend(directory)
    backend.set("default:mine", b"x")
    marker = tmp_path / "exploded"
    foreign = diskcache.Cache(str(directory))
    foreign.set("default:pickled", Bomb(str(marker)))
    foreign.set(("tuple", "key"), b"x")
    foreign.set("default:text", "hello")
    assert sorted(backend.keys()) == ["default:mine"]
    assert backend.get("default:pickled") is None
    assert not marker.exists()
    assert backend.clear() == 1
    assert foreign.get(("tuple", "key")) == b"x"
    assert foreign.get("default:text") == "hello"
    assert "default:pickled" in foreign
    foreign.close()
    backend.close()


def test_file_keys_prefix_scan_handles_non_ascii(tmp_path: Path) -> None:
    """keys(prefix) finds exactly the keys under a non-ASCII prefix and nothing next to it."""
    backend = memo.FileBackend(tmp_path / "c")
    for key in ("ü:1", "ü:2", "ü;", "üx", "v", "\U0010ffff:a"):
        backend.set(key, b"x")
    assert sorted(backend.keys("ü:")) == ["ü:1", "ü:2"]
    assert list(backend.keys("\U0010ffff")) == ["\U0010ffff:a"]
    assert backend.clear("ü") == 4
    assert sorted(backend.keys()) == ["v", "\U0010ffff:a"]
    backend.close()


def test_redis_concurrent_threads_and_tasks_never_mix_replies(redis_backend: Any) -> None:
    """Many threads, and many tasks on one loop, each read back exactly their own values."""
    from concurrent.futures import ThreadPoolExecutor

    def worker(i: int) -> bool:
        ok = True
        for j in range(50):
            value = f"{i}:{j}".encode() * (1 + j % 7)
            redis_backend.set(f"t{i}", value)
            ok &= redis_backend.get(f"t{i}") == value
        return ok

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(worker, range(16)))

    async def task(i: int) -> bool:
        value = os.urandom(1 + i * 997)
        await redis_backend.aset(f"a{i}", value)
        return bool(await redis_backend.aget(f"a{i}") == value)

    async def main() -> list[bool]:
        try:
            return list(await asyncio.gather(*(task(i) for i in range(64))))
        finally:
            await redis_backend.aclose()

    assert all(asyncio.run(main()))
