"""Usages mypy checks: the decorator keeps parameter and return types."""

from __future__ import annotations

import memo


@memo.cache
def add(x: int, y: int = 1) -> int:
    return x + y


@memo.cache(ttl=5, ignore=("verbose",))
async def fetch(item: str, verbose: bool = False) -> dict[str, str]:
    return {"item": item}


async def use() -> None:
    total: int = add(1, y=2)
    key: str = add.cache_key(1)
    info: memo.CacheInfo = add.cache_info()
    data: dict[str, str] = await fetch("a")
    deleted: bool = await fetch.acache_delete("a")
    cleared: int = await fetch.acache_clear()
    refreshed: dict[str, str] = await fetch.acache_refresh("a")
    print(total, key, info, data, deleted, cleared, refreshed)


def misuse() -> None:
    """Options are typed: a misspelt option or a wrong type is an error (strict mypy flags unused ignores)."""
    memo.cache(tll=5)  # type: ignore[call-overload]
    memo.cache(ttl="5")  # type: ignore[call-overload]
    memo.cache(on_error="loud")  # type: ignore[call-overload]
    memo.cache(ttl=5, ignore=("verbose",), namespace="etl", lock_timeout=1.5, on_error="raise")
