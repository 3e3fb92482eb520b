"""Connections of :class:`memo.backends.redis.RedisBackend`: direct free lists and per-loop state.

A :class:`_Direct` keeps raw redis-py connections and runs one command (or a pipeline) on
them without redis-py's per-command machinery; :class:`_ADirect` is its asyncio twin for
one event loop. :class:`_Loop` is what one event loop uses, and closes its connections when
that loop shuts down its async generators (``asyncio.run`` and ``asyncio.Runner`` do).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

__all__ = ["_ADirect", "_Direct", "_InThread", "_Loop"]

_KEEP = 32  # idle direct connections kept per client
_BIG_SEND = 1 << 20  # a refused command this big: drop its connection (the server keeps its query buffer)


def _big(args: tuple[Any, ...]) -> bool:
    """True when a command carries a payload big enough that its connection should not be kept."""
    return sum(len(a) for a in args if isinstance(a, (bytes, bytearray, memoryview))) >= _BIG_SEND


def _refused_big(commands: tuple[tuple[Any, ...], ...], replies: list[Any]) -> bool:
    return any(isinstance(reply, Exception) and _big(cmd) for cmd, reply in zip(commands, replies))


class _Direct:
    """A free list of raw connections for one client's connection settings (sync)."""

    __slots__ = ("errors", "factory", "free", "pid")

    def __init__(self, factory: Callable[[], Any], errors: Any) -> None:
        self.factory = factory
        self.errors = errors  # redis.exceptions
        self.free: list[Any] = []
        self.pid = os.getpid()

    def _take(self) -> tuple[Any, bool]:
        if self.pid != os.getpid():  # forked: the parent's sockets are not ours to use
            self.free, self.pid = [], os.getpid()
        try:
            return self.free.pop(), True
        except IndexError:
            return self.factory(), False

    def _give(self, conn: Any) -> None:
        if len(self.free) < _KEEP:
            self.free.append(conn)
        else:
            conn.disconnect()

    def call(self, *args: Any) -> Any:
        """Run one command; a reused connection the server dropped is retried once, fresh."""
        conn, reused = self._take()
        while True:
            try:
                conn.send_command(*args)
                reply = conn.read_response()
            except self.errors.ResponseError:
                if _big(args):  # a refused big value stays in the server's query buffer: let it go
                    conn.disconnect()
                else:
                    self._give(conn)  # the reply was read in full: the connection is fine
                raise
            except self.errors.ConnectionError:
                conn.disconnect()
                if not reused:
                    raise
                conn, reused = self.factory(), False
                continue
            except BaseException:
                conn.disconnect()
                raise
            self._give(conn)
            return reply

    def pipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Send several commands in one write and read every reply (one round trip).

        Error replies come back in the list as exceptions, so one failed command never
        leaves the others' replies unread. A connection error is raised (not retried).
        """
        conn, _ = self._take()
        try:
            conn.send_packed_command(conn.pack_commands(commands))
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(conn.read_response())
                except self.errors.ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            conn.disconnect()
            raise
        if _refused_big(commands, replies):
            conn.disconnect()
        else:
            self._give(conn)
        return replies

    def close(self) -> None:
        free, self.free = self.free, []
        for conn in free:
            conn.disconnect()


class _ADirect(_Direct):
    """The asyncio twin of :class:`_Direct`, for one event loop."""

    __slots__ = ()

    async def _agive(self, conn: Any) -> None:
        if len(self.free) < _KEEP:
            self.free.append(conn)
        else:
            await conn.disconnect()

    async def acall(self, *args: Any) -> Any:
        """Async :meth:`_Direct.call`."""
        conn, reused = self._take()
        while True:
            try:
                await conn.send_command(*args)
                reply = await conn.read_response()
            except self.errors.ResponseError:
                if _big(args):  # a refused big value stays in the server's query buffer: let it go
                    await conn.disconnect()
                else:
                    await self._agive(conn)  # the reply was read in full: the connection is fine
                raise
            except self.errors.ConnectionError:
                await conn.disconnect(nowait=True)
                if not reused:
                    raise
                conn, reused = self.factory(), False
                continue
            except BaseException:  # cancelled mid-reply: the connection's state is unknown
                await conn.disconnect(nowait=True)
                raise
            await self._agive(conn)
            return reply

    async def apipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Async :meth:`_Direct.pipeline`."""
        conn, _ = self._take()
        try:
            await conn.send_packed_command(conn.pack_commands(commands))
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await conn.read_response())
                except self.errors.ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            await conn.disconnect(nowait=True)
            raise
        if _refused_big(commands, replies):
            await conn.disconnect()
        else:
            await self._agive(conn)
        return replies

    async def aclose(self) -> None:
        free, self.free = self.free, []
        for conn in free:
            await conn.disconnect()


class _InThread:
    """An async face for a sync client: each command runs in a worker thread."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call

    async def scan_iter(self, **kwargs: Any) -> AsyncIterator[Any]:
        for raw in await asyncio.to_thread(lambda: list(self._client.scan_iter(**kwargs))):
            yield raw


class _Loop:
    """What one event loop uses: its asyncio client and its direct connections.

    When the state owns its connections (``own``), :meth:`watch` ties them to the loop:
    an async generator, started in the loop and held here, whose ``finally`` closes them.
    ``asyncio.run``/``asyncio.Runner`` finish every live async generator of the loop
    (``loop.shutdown_asyncgens()``) before closing it, so the sockets are closed in the
    loop they belong to instead of being left to the garbage collector.
    """

    __slots__ = ("client", "closed", "direct", "own", "watcher")

    def __init__(self, client: Any, direct: _ADirect | None, own: bool = False) -> None:
        self.client = client
        self.direct = direct
        self.own = own
        self.closed = False
        self.watcher: AsyncGenerator[None, None] | None = None

    def watch(self) -> None:
        """Arrange for :meth:`aclose` when the running loop shuts down (call inside the loop)."""
        if not self.own:
            return
        watcher = _until_loop_end(self)
        step = watcher.asend(None)  # the loop's firstiter hook registers the generator now
        try:
            step.send(None)
        except StopIteration:
            pass  # parked at its ``yield``: the loop will finish it at shutdown
        self.watcher = watcher

    async def aclose(self) -> None:
        """Close the connections this state owns, once; a user's client is never closed."""
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            await watcher.aclose()  # runs its ``finally``: :meth:`_shutdown`
        else:
            await self._shutdown()

    async def _shutdown(self) -> None:
        if self.closed or not self.own:
            return
        self.closed = True
        direct, self.direct = self.direct, None
        if direct is not None:
            await direct.aclose()
        await self.client.aclose()


async def _until_loop_end(state: _Loop) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await state._shutdown()
