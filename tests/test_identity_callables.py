"""What a decorated callable is identified by: partials, bound methods, callable instances, wrappers.

Each test decorates two callables that must not share entries (or one whose code changes
under the decorator) and checks the results, never a hard-coded key.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest

import memo
from memo._identity import code_fingerprint


class Mul:
    """A callable instance whose state (``k``) decides its result."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.calls = 0

    def __call__(self, x: int) -> int:
        return self.k * x

    def times(self, x: int) -> int:
        return self.k * x


# -- item 1: partials and callable instances ------------------------------------------


def test_partials_of_one_function_do_not_share() -> None:
    """partial(pow, 2) and partial(pow, 3) each return their own results."""
    two = memo.cache(functools.partial(pow, 2))
    three = memo.cache(functools.partial(pow, 3))
    assert two(3) == 8
    assert three(3) == 27
    assert two.cache_key(3) != three.cache_key(3)


def test_partial_keywords_are_part_of_the_identity() -> None:
    """Partials that differ only in a bound keyword keep apart; equal partials share."""

    def scaled(x: int, scale: int = 1) -> int:
        return x * scale

    by2 = memo.cache(functools.partial(scaled, scale=2))
    by5 = memo.cache(functools.partial(scaled, scale=5))
    again = memo.cache(functools.partial(scaled, scale=2))
    assert (by2(3), by5(3)) == (6, 15)
    assert again(3) == 6
    assert again.cache_info().hits == 1  # same function, same bound keyword: the same entry


def test_partial_keyword_mutated_after_decoration_recomputes() -> None:
    """Changing a partial's keywords dict in place gives the new result, not the old one."""

    def scaled(x: int, scale: int = 1) -> int:
        return x * scale

    part = functools.partial(scaled, scale=2)
    cached = memo.cache(part)
    assert cached(3) == 6
    part.keywords["scale"] = 7
    assert cached(3) == 21


def test_partial_name_is_readable_and_versioned() -> None:
    """A partial is named after its function (no ':'), and its version is not all zeros."""
    cached = memo.cache(functools.partial(pow, 2))
    assert cached.cache_name == "functools.partial(builtins.pow)"
    assert ":" not in cached.cache_name
    assert cached._memo.version != "0" * 16  # type: ignore[attr-defined]


def test_partial_with_unhashable_argument_is_refused() -> None:
    """A partial binding a value memo cannot hash is refused at decoration, saying what to do."""
    import threading

    def use(lock: Any, x: int) -> int:
        return x

    with pytest.raises(memo.ConfigurationError, match="underlying function") as caught:
        memo.cache(functools.partial(use, threading.Lock()))
    assert "ignore=('<" not in str(caught.value)  # no suggestion memo would reject


def test_callable_instances_with_other_state_do_not_share() -> None:
    """Mul(2) and Mul(3) are different callables; a second Mul(2) shares Mul(2)'s entries."""
    two, three, two_again = memo.cache(Mul(2)), memo.cache(Mul(3)), memo.cache(Mul(2))
    assert (two(5), three(5)) == (10, 15)
    assert two_again(5) == 10
    assert two_again.cache_info().hits == 1
    assert ":" not in two.cache_name
    assert "Mul" in two.cache_name


def test_callable_instance_state_change_recomputes() -> None:
    """Changing a callable instance's state after decoration gives the new result."""
    inst = Mul(2)
    cached = memo.cache(inst)
    assert cached(5) == 10
    inst.k = 4
    assert cached(5) == 20


def test_callable_without_findable_code_is_refused_unless_versioned() -> None:
    """A callable whose code memo cannot find is refused; version= makes it acceptable."""

    class Adder:
        __call__ = functools.partialmethod(lambda self, y, x: x + y, 1)  # not a function memo can read

        def __init__(self) -> None:
            self.tag = "p"

    with pytest.raises(memo.ConfigurationError, match="version="):
        memo.cache(Adder())
    cached = memo.cache(version="1")(Adder())
    assert cached(2) == 3


# -- item 2: bound methods --------------------------------------------------------------


def test_bound_methods_of_different_instances_do_not_share() -> None:
    """memo.cache(Mul(1).times) and memo.cache(Mul(3).times) return their own results."""
    one, three = memo.cache(Mul(1).times), memo.cache(Mul(3).times)
    assert one(2) == 2
    assert three(2) == 6


def test_bound_methods_of_equal_instances_share() -> None:
    """Two instances with equal state are one input: the second bound method hits."""
    first, second = memo.cache(Mul(4).times), memo.cache(Mul(4).times)
    assert first(2) == 8
    assert second(2) == 8
    assert second.cache_info().hits == 1


def test_bound_method_self_mutation_recomputes() -> None:
    """__self__ is hashed per call: changing the instance gives the new result."""
    inst = Mul(2)
    cached = memo.cache(inst.times)
    assert cached(3) == 6
    assert cached(3) == 6
    inst.k = 10
    assert cached(3) == 30


def test_classmethod_binds_its_class() -> None:
    """A cached classmethod bound to a subclass does not share the base class's entries."""

    class Base:
        factor = 2

        @classmethod
        def make(cls, x: int) -> int:
            return cls.factor * x

    class Sub(Base):
        factor = 7

    base, sub = memo.cache(Base.make), memo.cache(Sub.make)
    assert base(3) == 6
    assert sub(3) == 21


def test_unhashable_self_error_suggests_an_accepted_ignore() -> None:
    """__self__ without content raises HashingError naming 'self'; ignore=('self',) is accepted."""

    class Service:
        __slots__ = ()

        def get(self, x: int) -> int:
            return x + 1

    cached = memo.cache(Service().get)
    with pytest.raises(memo.HashingError, match=r"ignore=\('self',\)"):
        cached(1)
    shared = memo.cache(ignore=("self",))(Service().get)
    assert shared(1) == 2
    assert shared(1) == 2
    assert shared.cache_info().hits == 1


# -- item 4: the version follows the live code ---------------------------------------------


def _replace_body(func: Any, source: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    func.__code__ = namespace[func.__name__].__code__


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_replacing_code_recomputes(is_async: bool) -> None:
    """After __code__ is replaced (IPython %autoreload), calls run the new code, also on memory hits."""
    prefix = "async " if is_async else ""
    namespace: dict[str, Any] = {}
    exec(f"{prefix}def body(x):\n    return x + 1\n", namespace)
    body = namespace["body"]
    cached = memo.cache(body)

    def call(x: int) -> Any:
        result = cached(x)
        return asyncio.run(result) if is_async else result

    assert call(1) == 2
    assert call(1) == 2  # a memory hit through the compiled wrapper
    old_key = cached.cache_key(1)
    _replace_body(body, f"{prefix}def body(x):\n    return x + 100\n")
    assert call(1) == 101
    assert cached.cache_key(1) != old_key
    assert cached._memo.version == code_fingerprint(body)  # type: ignore[attr-defined]


def test_pinned_version_ignores_code_replacement() -> None:
    """With version= the entries survive a code change, as documented."""

    def body(x: int) -> int:
        return x + 1

    cached = memo.cache(version="v1")(body)
    assert cached(1) == 2
    _replace_body(body, "def body(x):\n    return x + 100\n")
    assert cached(1) == 2


def test_cache_over_functools_cache_follows_wrapped_code() -> None:
    """@memo.cache over functools.cache versions the wrapped body and follows its live code."""

    def body(x: int) -> int:
        return x + 1

    inner = functools.cache(body)
    cached = memo.cache(inner)
    assert cached._memo.version == code_fingerprint(body)  # type: ignore[attr-defined]
    assert cached(1) == 2
    _replace_body(body, "def body(x):\n    return x + 100\n")
    inner.cache_clear()
    assert cached(1) == 101


def test_class_based_decorator_follows_wrapped() -> None:
    """A class-based decorator with __wrapped__ is identified by the function it wraps."""

    class Traced:
        def __init__(self, func: Any) -> None:
            functools.update_wrapper(self, func)
            self.func = func

        def __call__(self, *args: Any) -> Any:
            return self.func(*args)

    def first(x: int) -> int:
        return x + 1

    def second(x: int) -> int:
        return x + 2

    a, b = memo.cache(Traced(first)), memo.cache(Traced(second))
    assert (a(1), b(1)) == (2, 3)
    assert a.cache_name.endswith("first")
    assert b.cache_name.endswith("second")


def test_function_decorator_versions_include_the_wrapped_body() -> None:
    """Editing a body under a functools.wraps decorator changes the cached function's version."""

    def deco(func: Any) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any) -> Any:
            return func(*args)

        return wrapper

    def body(x: int) -> int:
        return x + 1

    cached = memo.cache(deco(body))
    assert cached(1) == 2
    before = cached._memo.version  # type: ignore[attr-defined]
    _replace_body(body, "def body(x):\n    return x + 100\n")
    assert cached(1) == 101
    assert cached._memo.version != before  # type: ignore[attr-defined]


# -- item 23: above @staticmethod / @classmethod --------------------------------------------


def test_cache_above_staticmethod() -> None:
    """@memo.cache over @staticmethod works from the class and from instances, one entry."""

    class Tools:
        calls = 0

        @memo.cache
        @staticmethod
        def double(x: int) -> int:
            Tools.calls += 1
            return 2 * x

    assert Tools.double(4) == 8
    assert Tools().double(4) == 8
    assert Tools.calls == 1
    assert Tools.double.cache_info().hits == 1


def test_cache_above_classmethod() -> None:
    """@memo.cache over @classmethod binds the class: a subclass gets its own entries."""

    class Base:
        factor = 2

        @memo.cache
        @classmethod
        def make(cls, x: int) -> int:
            return cls.factor * x

    class Sub(Base):
        factor = 5

    assert Base.make(3) == 6
    assert Base().make(3) == 6
    assert Sub.make(3) == 15
    assert Base.make.cache_info().hits == 1


def test_bound_c_method_hashes_its_object() -> None:
    """memo.cache({...}.get) follows the dict it is bound to; two dicts never share."""
    table = {"a": 1}
    get = memo.cache(table.get)
    other = memo.cache({"a": 5}.get)
    assert get("a") == 1
    assert other("a") == 5
    table["a"] = 2
    assert get("a") == 2
