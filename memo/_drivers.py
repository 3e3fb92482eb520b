"""The two call drivers, a miss's way from lookup to stored result.

The sync driver is a generator flow (:func:`sync_flow`) that yields once when the body
must run: the compiled sync wrapper drives it inline and calls the body itself, so a
cold recursive call costs two Python frames per level. The async driver
(:func:`async_call`) awaits the body where the flow yields. Both take the same I/O-free
steps in the same order (``_flight``, ``_policy``, ``_results``, ``CachedState``); a
change to one is made to the other, and ``tests/test_drivers.py`` checks they stay twins.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from memo import _xflight
from memo._flight import ABANDONED, SOLO, Flights, computed, computing, reentrant
from memo._function import CachedState
from memo._results import fresh
from memo._store import OBJECT, Store
from memo._types import MISS

__all__ = ["async_call", "sync_call", "sync_flow"]


def _hit(
    c: CachedState, saved: float, args: tuple[Any, ...], kwargs: dict[str, Any], bound: dict[str, Any] | None
) -> None:
    """Count a hit that saved ``saved`` seconds, and print it when verbose: both drivers' hit step, I/O-free."""
    c.stats.hit(saved)
    if c.loud():
        c.say("hit, saved", saved, args, kwargs, bound)


def sync_call(
    c: CachedState,
    key: str,
    store: Store,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    bound: dict[str, Any] | None = None,
    looked: bool = False,
    refresh: bool = False,
) -> Any:
    """Run one sync call through :func:`sync_flow`, calling the body when the flow asks for it.

    The compiled sync wrapper drives the flow the same way inline, so a cold recursive
    call costs two Python frames per level (wrapper and body; the flow is suspended while
    the body runs), as deep as ``lru_cache`` goes before ``RecursionError``.
    """
    flow = sync_flow(c, key, store, args, kwargs, bound, looked, refresh)
    try:
        next(flow)
    except StopIteration as done:  # a hit: the body is not needed
        return done.value
    try:
        value = c.func(*args, **kwargs)
    except BaseException as exc:
        flow.throw(exc)  # the flow settles its waiters, releases its locks and re-raises
        raise
    try:
        flow.send(value)
    except StopIteration as done:
        return done.value
    raise RuntimeError("memo: the call flow asked for the body twice")  # pragma: no cover


def sync_flow(
    c: CachedState,
    key: str,
    store: Store,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    bound: dict[str, Any] | None = None,
    looked: bool = False,
    refresh: bool = False,
) -> Generator[None, Any, Any]:
    """The sync driver, as a generator: it yields once when the body must run and is sent its result.

    ``bound``: the arguments as binding them for the key left them (None: not bound);
    ``looked``: the wrapper already read ``key`` (an I/O-free memory lookup) and missed.
    """
    store.check_sync()
    seen = c.flights.completed
    entry = MISS if refresh or looked else store.load(key, c.policy)
    if entry is not MISS:
        _hit(c, entry.duration, args, kwargs, bound)
        return entry.value
    lead = c.opts.lock and not refresh and not reentrant(key)  # a re-entrant call computes at once
    flight, leader = c.flights.join(key) if lead else (None, True)
    while not leader:
        from concurrent.futures import TimeoutError as FuturesTimeout  # only followers get here

        try:
            value, duration = flight.result(timeout=c.opts.lock_timeout)  # type: ignore[union-attr]
        except ABANDONED:
            flight, leader = c.flights.join(key)
            continue
        except (FuturesTimeout, TimeoutError, SOLO):
            flight, leader = None, True  # waited long enough, or not a shareable result: compute alone
            break
        _hit(c, duration, args, kwargs, bound)
        return value
    xlock = token = None
    try:
        entry = store.load(key, c.policy) if flight is not None and seen != c.flights.completed else MISS
        if entry is MISS and flight is not None:
            xlock, entry = _xflight.acquire(store, key, c.opts.lock_timeout, c.policy)
        if entry is not MISS:
            Flights.settle(flight, (entry.value, entry.duration))  # type: ignore[arg-type]
            _hit(c, entry.duration, args, kwargs, bound)
            return entry.value
        c.stats.add(misses=1)
        token = computing(key) if c.opts.lock else None  # calls from the body on this key compute at once
        start = time.perf_counter()
        value = yield  # the caller runs the body (a frame fewer per recursive level)
        duration = time.perf_counter() - start
        value, keep = fresh(value, c, store.kind == OBJECT)  # used up: not kept; shared: protected
        if flight is not None:
            Flights.settle(flight, (value, duration), None if keep else SOLO())
        new = c.entry(value, duration, args, kwargs, bound) if keep else None
        if new is not None and store.save(key, new, c.ttl(), c.policy, xlock):
            c.stats.add(stores=1)
        if c.loud():
            c.say("refreshed, computed in" if refresh else "miss, computed in", duration, args, kwargs, bound)
        return value
    except BaseException as exc:
        if flight is not None:
            Flights.settle(flight, exc=exc)
        raise
    finally:
        computed(token)
        try:
            _xflight.release(xlock)
        finally:  # even if the release is interrupted
            if flight is not None:
                c.flights.leave(key, flight)


async def async_call(
    c: CachedState,
    key: str,
    store: Store,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    bound: dict[str, Any] | None = None,
    looked: bool = False,
    refresh: bool = False,
) -> Any:
    import asyncio  # already loaded by the running loop; not imported at `import memo`

    seen = c.flights.completed
    entry = MISS if refresh or looked else await store.aload(key, c.policy)
    if entry is not MISS:
        _hit(c, entry.duration, args, kwargs, bound)
        return entry.value
    lead = c.opts.lock and not refresh and not reentrant(key)  # a re-entrant call computes at once
    flight, leader = c.flights.join(key) if lead else (None, True)
    while not leader:
        from concurrent.futures import TimeoutError as FuturesTimeout  # only followers get here

        try:
            value, duration = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(flight)), c.opts.lock_timeout)  # type: ignore[arg-type]
        except ABANDONED:
            flight, leader = c.flights.join(key)
            continue
        except (FuturesTimeout, TimeoutError, asyncio.TimeoutError, SOLO):
            flight, leader = None, True  # waited long enough, or not a shareable result: compute alone
            break
        _hit(c, duration, args, kwargs, bound)
        return value
    xlock = token = None
    try:
        entry = await store.aload(key, c.policy) if flight is not None and seen != c.flights.completed else MISS
        if entry is MISS and flight is not None:
            xlock, entry = await _xflight.aacquire(store, key, c.opts.lock_timeout, c.policy)
        if entry is not MISS:
            Flights.settle(flight, (entry.value, entry.duration))  # type: ignore[arg-type]
            _hit(c, entry.duration, args, kwargs, bound)
            return entry.value
        c.stats.add(misses=1)
        token = computing(key) if c.opts.lock else None  # calls from the body on this key compute at once
        start = time.perf_counter()
        value = await c.func(*args, **kwargs)
        duration = time.perf_counter() - start
        value, keep = fresh(value, c, store.kind == OBJECT)  # used up: not kept; shared: protected
        if flight is not None:
            Flights.settle(flight, (value, duration), None if keep else SOLO())
        new = c.entry(value, duration, args, kwargs, bound) if keep else None
        if new is not None and await store.asave(key, new, c.ttl(), c.policy, xlock):
            c.stats.add(stores=1)
        if c.loud():
            c.say("refreshed, computed in" if refresh else "miss, computed in", duration, args, kwargs, bound)
        return value
    except BaseException as exc:
        if flight is not None:
            Flights.settle(flight, exc=exc)
        raise
    finally:
        computed(token)
        try:
            await _xflight.arelease(xlock)
        finally:  # even if the release is interrupted
            if flight is not None:
                c.flights.leave(key, flight)
