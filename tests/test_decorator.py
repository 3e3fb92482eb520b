"""Behaviour of @memo.cache, each test run through both the sync and the async driver."""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from datetime import timedelta
from typing import Any

import pytest

import memo
from tests.conftest import Kind


def counter() -> tuple[list[Any], Any]:
    calls: list[Any] = []
    return calls, calls.append


def test_second_call_is_a_hit(kind: Kind) -> None:
    """The body runs once for repeated equal calls and the result is returned each time."""
    calls, record = counter()

    def add(x: int, y: int = 2) -> int:
        record((x, y))
        return x + y

    f = kind.make(add)
    assert kind.call(f, 1) == 3
    assert kind.call(f, 1) == 3
    assert calls == [(1, 2)]
    info = f.cache_info()
    assert (info.hits, info.misses, info.stores) == (1, 1, 1)


def test_binding_makes_spellings_one_entry(kind: Kind) -> None:
    """f(1), f(x=1), f(1, 2) and f(x=1, y=2) share one entry when y defaults to 2."""
    calls, record = counter()

    def add(x: int, y: int = 2) -> int:
        record(1)
        return x + y

    f = kind.make(add)
    for args, kwargs in [((1,), {}), ((), {"x": 1}), ((1, 2), {}), ((), {"x": 1, "y": 2}), ((), {"y": 2, "x": 1})]:
        assert kind.call(f, *args, **kwargs) == 3
    assert len(calls) == 1
    assert f.cache_key(1) == f.cache_key(x=1, y=2)


def test_kwargs_order_does_not_matter(kind: Kind) -> None:
    """**kwargs given in another order hit the same entry."""
    calls, record = counter()

    def g(**kw: int) -> int:
        record(kw)
        return sum(kw.values())

    f = kind.make(g)
    assert kind.call(f, a=1, b=2) == 3
    assert kind.call(f, b=2, a=1) == 3
    assert len(calls) == 1


def test_none_result_is_cached(kind: Kind) -> None:
    """A None result is a value, not a miss."""
    calls, record = counter()

    def nothing(x: int) -> None:
        record(x)

    f = kind.make(nothing)
    assert kind.call(f, 1) is None
    assert kind.call(f, 1) is None
    assert calls == [1]


def test_exceptions_are_not_cached(kind: Kind) -> None:
    """A raising body raises on every call and stores nothing."""
    calls, record = counter()

    def boom(x: int) -> int:
        record(x)
        raise ValueError("no")

    f = kind.make(boom)
    for _ in range(2):
        with pytest.raises(ValueError, match="no"):
            kind.call(f, 1)
    assert calls == [1, 1]
    assert f.cache_info().stores == 0


def test_memory_hit_returns_identical_object(kind: Kind) -> None:
    """The memory backend hands back the very object it cached (no pickling)."""

    def make(x: int) -> list[int]:
        return [x]

    f = kind.make(make)
    assert kind.call(f, 1) is kind.call(f, 1)


def test_ttl_expires(kind: Kind) -> None:
    """An entry older than ttl is recomputed; timedelta works like seconds."""
    calls, record = counter()

    def v(x: int) -> int:
        record(x)
        return x

    f = kind.make(v, ttl=timedelta(seconds=0.2))
    kind.call(f, 1)
    kind.call(f, 1)
    time.sleep(0.3)
    kind.call(f, 1)
    assert calls == [1, 1]


def test_ignore_leaves_parameter_out(kind: Kind) -> None:
    """Parameters named in ignore do not change the key."""
    calls, record = counter()

    def v(x: int, verbose: bool = False) -> int:
        record(x)
        return x

    f = kind.make(v, ignore=("verbose",))
    kind.call(f, 1, verbose=True)
    kind.call(f, 1, verbose=False)
    assert calls == [1]


def test_key_function_replaces_arguments(kind: Kind) -> None:
    """key= decides what is hashed: here only the user id, not the request object."""
    calls, record = counter()

    def handler(user: str, request: object) -> str:
        record(user)
        return user.upper()

    f = kind.make(handler, key=lambda user, request: user)
    assert kind.call(f, "ann", object()) == "ANN"
    assert kind.call(f, "ann", object()) == "ANN"
    assert kind.call(f, "bob", object()) == "BOB"
    assert calls == ["ann", "bob"]


def test_condition_controls_storing(kind: Kind) -> None:
    """condition(result) false means the result is returned but not stored."""
    calls, record = counter()

    def v(x: int) -> int:
        record(x)
        return x

    f = kind.make(v, condition=lambda r: r > 0)
    kind.call(f, 0)
    kind.call(f, 0)
    kind.call(f, 5)
    kind.call(f, 5)
    assert calls == [0, 0, 5]


def test_disable_runs_the_body(kind: Kind) -> None:
    """memo.disabled() and memo.disable() bypass the cache entirely."""
    calls, record = counter()

    def v(x: int) -> int:
        record(x)
        return x

    f = kind.make(v)
    with memo.disabled():
        kind.call(f, 1)
        kind.call(f, 1)
    assert calls == [1, 1]
    memo.disable()
    kind.call(f, 1)
    memo.enable()
    kind.call(f, 1)
    kind.call(f, 1)
    assert calls == [1, 1, 1, 1]


def test_delete_clear_refresh_uncached(kind: Kind) -> None:
    """cache_delete drops one entry, cache_clear all, cache_refresh recomputes, uncached skips the cache."""
    calls, record = counter()

    def v(x: int) -> int:
        record(x)
        return x * 10

    f = kind.make(v)
    kind.call(f, 1)
    kind.call(f, 2)
    assert f.cache_delete(1) is True
    assert f.cache_delete(1) is False
    kind.call(f, 1)
    assert calls == [1, 2, 1]
    assert kind.refresh(f, 2) == 20
    assert calls == [1, 2, 1, 2]
    assert kind.call(f.uncached, 2) == 20
    assert calls == [1, 2, 1, 2, 2]
    assert f.cache_clear() == 2
    kind.call(f, 1)
    assert calls[-1] == 1


def test_cache_entries_report_metadata(kind: Kind) -> None:
    """cache_entries lists key, short args, size, created, expiry, duration and version."""

    def v(x: int, name: str = "n") -> list[int]:
        time.sleep(0.01)
        return [x] * 100

    f = kind.make(v, ttl=60)
    kind.call(f, 3)
    (entry,) = f.cache_entries()
    assert entry.key == f.cache_key(3)
    assert entry.args == "x=3, name='n'"
    assert entry.size > 100
    assert entry.duration >= 0.01
    assert entry.expires is not None
    assert entry.expires - entry.created == pytest.approx(60)
    assert entry.version in entry.key


def test_time_saved_sums_compute_time_of_hits(kind: Kind) -> None:
    """cache_info().time_saved adds the recorded compute time of every hit."""

    def v(x: int) -> int:
        time.sleep(0.05)
        return x

    f = kind.make(v)
    kind.call(f, 1)
    kind.call(f, 1)
    kind.call(f, 1)
    assert f.cache_info().time_saved >= 0.1


def test_namespace_and_module_clear(kind: Kind) -> None:
    """memo.clear(namespace=...) clears that namespace only; memo.clear() clears all."""
    calls, record = counter()

    def a(x: int) -> int:
        record(("a", x))
        return x

    def b(x: int) -> int:
        record(("b", x))
        return x

    fa = kind.make(a, namespace="etl")
    fb = kind.make(b, namespace="web")
    kind.call(fa, 1)
    kind.call(fb, 1)
    assert fa.cache_key(1).startswith("etl:")
    memo.clear(namespace="etl")
    kind.call(fa, 1)
    kind.call(fb, 1)
    assert calls == [("a", 1), ("b", 1), ("a", 1)]
    assert memo.clear() >= 2


def test_configure_applies_to_functions_decorated_earlier(kind: Kind) -> None:
    """backend=None is looked up per call, so configure() after decoration still applies."""

    def v(x: int) -> int:
        return x

    f = kind.make(v)
    kind.call(f, 1)
    other = memo.MemoryBackend()
    memo.configure(backend=other)
    kind.call(f, 1)
    assert list(other.keys()) == [f.cache_key(1)]
    assert memo.get_default_backend() is other


def test_wrapper_keeps_metadata(kind: Kind) -> None:
    """Signature, name, docstring, __wrapped__ and coroutine-ness are preserved."""

    def documented(x: int, *, flag: bool = False) -> int:
        """Doc here."""
        return x

    f = kind.make(documented)
    assert f.__name__ == "documented"
    assert inspect.signature(f) == inspect.signature(documented)
    assert f.__doc__ == "Doc here."
    assert inspect.iscoroutinefunction(f) is kind.is_async
    assert callable(f.__wrapped__)
    assert f in memo.cached_functions()


def test_version_pins_entries(kind: Kind) -> None:
    """A pinned version string appears in the key."""

    def v(x: int) -> int:
        return x

    assert ":v7:" in kind.make(v, version="v7").cache_key(1)


def test_bad_call_raises_type_error_like_the_function(kind: Kind) -> None:
    """Arguments that do not fit the signature raise TypeError, not a memo error."""

    def v(x: int) -> int:
        return x

    f = kind.make(v)
    with pytest.raises(TypeError):
        kind.call(f, 1, 2)


def test_direct_def_fast_path_keeps_type_distinctions() -> None:
    """The raw-call key shortcut still tells 1, 1.0, True, 0.0 and -0.0 apart."""
    calls: list[object] = []

    @memo.cache
    def ident(x: object, k: int = 3) -> object:
        calls.append(x)
        return x

    for value in (1, 1.0, True, 0.0, -0.0, "1", b"1", None):
        assert repr(ident(value)) == repr(value)
        assert repr(ident(value)) == repr(value)
    assert len(calls) == 8
    assert ident.cache_key(2.0, k=3) == ident.cache_key(2.0)


async def test_async_controls() -> None:
    """acache_delete, acache_clear and acache_refresh work from inside a running loop."""
    calls: list[int] = []

    @memo.cache
    async def v(x: int) -> int:
        calls.append(x)
        return x

    await v(1)
    await v(1)
    assert await v.acache_delete(1) is True
    assert await v.acache_refresh(1) == 1
    assert await v.acache_clear() == 1
    assert calls == [1, 1]


def test_sync_function_works_inside_running_loop() -> None:
    """A sync cached function called from a coroutine never calls asyncio.run."""

    @memo.cache
    def v(x: int) -> int:
        return x + 1

    async def main() -> int:
        return v(1) + v(1)

    assert asyncio.run(main()) == 4


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": -1}, "ttl"),
        ({"ttl": "soon"}, "ttl"),
        ({"ignore": ("nope",)}, "no parameter 'nope'"),
        ({"key": 3}, "not callable"),
        ({"condition": "x"}, "not callable"),
        ({"backend": "ftp://x"}, "unknown backend"),
        ({"backend": memo.MemoryBackend}, "pass an instance"),
        ({"on_error": "explode"}, "on_error"),
        ({"namespace": "a:b"}, "namespace"),
        ({"lock_timeout": -5}, "lock_timeout"),
    ],
)
def test_bad_options_fail_at_decoration(options: dict[str, Any], message: str) -> None:
    """Bad options raise ConfigurationError naming the problem, when decorating."""

    def v(x: int) -> int:
        return x

    with pytest.raises(memo.ConfigurationError, match=message):
        memo.cache(**options)(v)


def test_generators_and_classes_are_refused() -> None:
    """Generator functions, async generators and classes cannot be cached."""

    def gen() -> Any:
        yield 1

    async def agen() -> Any:
        yield 1

    for target in (gen, agen, int, functools.partial):
        with pytest.raises(memo.ConfigurationError, match="cannot"):
            memo.cache(target)


def _bind_cases() -> list[tuple[Any, tuple[Any, ...], dict[str, Any]]]:
    def plain(a: int, b: int = 2, *, c: int = 3, d: int) -> None: ...

    def posonly(a: int, /, b: int = 2) -> None: ...

    def star(a: int, *rest: int, k: int = 1, **more: int) -> None: ...

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((1,), {"d": 4}),
        ((1, 5), {"d": 4, "c": 0}),
        ((), {"d": 4, "a": 1}),
        ((1,), {}),  # missing d
        ((1, 2, 3), {"d": 4}),  # too many positionals
        ((1,), {"a": 1, "d": 4}),  # a twice
        ((1,), {"d": 4, "e": 5}),  # unexpected keyword
    ]
    cases: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = [(plain, a, k) for a, k in calls]
    cases += [(posonly, (1,), {}), (posonly, (), {"a": 1}), (star, (1, 2, 3), {"x": 1}), (star, (), {"a": 1, "k": 2})]
    return cases


@pytest.mark.parametrize(("func", "args", "kwargs"), _bind_cases())
def test_binding_matches_inspect(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """KeyMaker.bind gives inspect's bound arguments (same order) or raises the same TypeError."""
    import inspect

    from memo._identity import resolve
    from memo._keymaker import KeyMaker
    from memo._watch import Watch

    maker = KeyMaker(func, Watch(resolve(func), "p:", None, frozenset()), (), None)
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
    except TypeError as exc:
        expected = str(exc)
    else:
        expected = ""
    if expected:
        with pytest.raises(TypeError) as info:
            maker.bind(args, kwargs)
        assert str(info.value) == expected
        return
    bound.apply_defaults()
    assert list(maker.bind(args, kwargs).items()) == list(bound.arguments.items())


def test_an_unknown_option_is_refused_with_a_suggestion() -> None:
    """A misspelt option raises TypeError naming the closest option and listing all of them."""
    with pytest.raises(TypeError, match=r"unknown option 'tll' \(did you mean 'ttl'\?\).*lock_timeout"):
        memo.cache(tll=5)  # type: ignore[call-overload]


def test_every_declared_option_is_documented_on_cache() -> None:
    """The one declaration of the options (CacheOptions) and cache's docstring name the same options."""
    import re

    from memo._function import OPTION_NAMES

    documented = set(re.findall(r"``([a-z_]+)(?:\(result\))?``:", memo.cache.__doc__ or ""))
    assert documented == set(OPTION_NAMES) == set(memo.CacheOptions.__annotations__)
