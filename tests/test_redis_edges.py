"""Redis rough edges: decoding application clients, foreign keys, per-backend tables."""

from __future__ import annotations

import gc
from typing import Any

import memo
from memo import _health


class Plain(memo.BaseBackend):
    """A real (dict) backend with nothing else, made by the thousand below."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self.data[key] = value

    def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None


def test_breaker_table_does_not_outlive_its_backends() -> None:
    """20 000 short-lived backends leave no more breakers behind than backends still alive."""
    gc.collect()
    start = _health.breakers()
    alive: list[Any] = []
    for i in range(20_000):
        backend = Plain()
        _health.breaker_for(backend)
        alive.append(backend)
        if len(alive) > 50:
            alive.pop(0)
        if i % 7 == 0:
            alive.append([0] * (i % 13))  # other objects in between, so ids do not simply repeat
    del backend
    alive.clear()
    gc.collect()
    assert _health.breakers() <= start + 1


def test_breaker_survives_while_its_backend_lives() -> None:
    """A live backend keeps one breaker: an open breaker is not forgotten while it is in use."""
    backend = Plain()
    breaker = _health.breaker_for(backend)
    breaker.failed()
    gc.collect()
    assert _health.breaker_for(backend) is breaker
    assert not _health.breaker_for(backend).allow()
