"""Argument hashing covers all state that can change a result (issue #15, items 3, 7 and 23)."""

from __future__ import annotations

import dataclasses
import enum
import os
import re
import subprocess
import sys
import threading
from collections import OrderedDict, defaultdict
from typing import Any

import pytest

import memo
from memo._hashing import _dumps

h = memo.hash_value


def test_bound_builtin_methods_hash_their_self() -> None:
    """`",".join` and `";".join`, `d1.get` and `d2.get` are different values."""
    assert h(",".join) != h(";".join)
    assert h({"a": 1}.get) != h({"a": 2}.get)
    assert h(",".join) == h(",".join)
    assert h(len) != h(",".join)


def test_functions_hash_their_defaults() -> None:
    """The `lambda x, n=n: ...` loop idiom gives one function per n, and keyword-only defaults count."""
    fns = [lambda x, n=n: x + n for n in range(3)]
    assert len({h(f) for f in fns}) == 3

    def kw(*, n: int = 1) -> int:
        return n

    other = kw.__kwdefaults__
    before = h(kw)
    kw.__kwdefaults__ = {"n": 2}
    assert h(kw) != before
    kw.__kwdefaults__ = other
    assert h(kw) == before


def test_functions_passed_as_arguments_recompute_per_default() -> None:
    """A cached function fed the loop-idiom lambdas returns each lambda's own result."""

    @memo.cache
    def apply(fn: Any, x: int) -> int:
        return int(fn(x))

    assert [apply(f, 10) for f in [lambda x, n=n: x + n for n in range(3)]] == [10, 11, 12]


def test_functions_hash_their_closure_values() -> None:
    """Closures over different values differ; over equal values they agree."""

    def make(n: Any) -> Any:
        return lambda x: x + n

    assert h(make(1)) != h(make(2))
    assert h(make([1, 2])) == h(make([1, 2]))


class Perm(enum.Flag):
    R = 4
    W = 2
    X = 1


def test_flags_hash_by_value() -> None:
    """Combined flags (nameless on 3.10) and undefined bits differ; equal flags agree."""
    combos = [Perm.R | Perm.W, Perm.R | Perm.X, Perm.W | Perm.X, Perm.R | Perm.W | Perm.X, Perm(0)]
    assert len({h(c) for c in combos}) == len(combos)
    assert h(Perm.R | Perm.W) == h(Perm.W | Perm.R)
    assert h(re.S | re.M) != h(re.S | re.I)
    assert h(re.S | re.M) == h(re.M | re.S)


def test_int_flags_with_undefined_bits_differ() -> None:
    """IntFlag values with bits no member defines hash by value, not by a shared ``None`` name."""

    class Bits(enum.IntFlag):
        A = 1

    assert h(Bits(8)) != h(Bits(16))
    assert h(Bits(8)) != h(8)


def test_set_of_digests_is_not_a_set_of_bytes() -> None:
    """A set of bytes equal to the digests of a mixed set's members does not share its key."""
    mixed = {1, "a"}
    import xxhash

    digests = {xxhash.xxh3_128_digest(_dumps(x)) for x in mixed}
    assert h(mixed) != h(digests)
    assert h(frozenset(mixed)) != h(frozenset(digests))


def test_defaultdict_factory_counts() -> None:
    """Two defaultdicts with equal items and different factories differ."""
    assert h(defaultdict(list, a=1)) != h(defaultdict(set, a=1))
    assert h(defaultdict(list, a=1)) == h(defaultdict(list, a=1))
    assert h(defaultdict(list, a=1)) != h({"a": 1})


def test_ordered_dict_order_counts() -> None:
    """OrderedDicts in another order differ (their == says so too)."""
    assert h(OrderedDict(a=1, b=2)) != h(OrderedDict(b=2, a=1))


def test_dict_insertion_order_counts() -> None:
    """A dict's insertion order is part of its content: a cached DataFrame(cols) keeps each caller's order."""
    assert h({"a": 1, "b": 2}) != h({"b": 2, "a": 1})
    assert h({"a": [1], "b": [2]}) != h({"b": [2], "a": [1]})
    assert h({(1,): 1, (2,): 2}) != h({(2,): 2, (1,): 1})
    assert h({"a": 1, "b": 2}) == h(dict([("a", 1), ("b", 2)]))

    @memo.cache
    def columns(cols: dict[str, list[int]]) -> list[str]:
        return list(cols)

    assert columns({"a": [1], "b": [2]}) == ["a", "b"]
    assert columns({"b": [2], "a": [1]}) == ["b", "a"]


def test_kwargs_order_is_normalised() -> None:
    """Only the order of **kwargs is normalised: f(a=1, b=2) and f(b=2, a=1) share an entry."""

    @memo.cache
    def f(**kw: int) -> list[str]:
        return sorted(kw)

    assert f.cache_key(a=1, b=2) == f.cache_key(b=2, a=1)
    assert f.cache_key(cols={"a": 1, "b": 2}) != f.cache_key(cols={"b": 2, "a": 1})


def test_records_key_order_counts() -> None:
    """Lists of flat dicts whose rows differ in key order are different inputs."""
    rows = [{"id": 1, "ok": True}, {"id": 2, "ok": False}]
    assert h(rows) != h([{"ok": True, "id": 1}, {"ok": False, "id": 2}])
    assert h(rows) != h([{"ok": True, "id": 1}, {"id": 2, "ok": False}])
    assert h(rows) == h([{"id": 1, "ok": True}, {"id": 2, "ok": False}])


@dataclasses.dataclass
class Scaled:
    x: int
    factor: int = dataclasses.field(default=1, compare=False)

    def __post_init__(self) -> None:
        self.cache: dict[str, int] = {"scaled": self.x * self.factor}


def test_dataclass_state_outside_fields_counts() -> None:
    """State set in __post_init__ or later, outside the compared fields, is part of the key."""
    assert h(Scaled(2, 1)) != h(Scaled(2, 3))
    a, b = Scaled(1), Scaled(1)
    assert h(a) == h(b)
    b.extra = 5  # type: ignore[attr-defined]
    assert h(a) != h(b)


def test_builtin_subclass_slots_count() -> None:
    """A list subclass's __slots__ values are part of its key."""

    class Tagged(list):  # type: ignore[type-arg]
        __slots__ = ("tag",)

    a, b = Tagged([1]), Tagged([1])
    a.tag, b.tag = "x", "y"
    assert h(a) != h(b)
    b.tag = "x"
    assert h(a) == h(b)


def test_bytearray_subclass_state_counts() -> None:
    """A bytearray subclass with attributes hashes its attributes, not only its bytes."""

    class Blob(bytearray):
        pass

    a, b = Blob(b"x"), Blob(b"x")
    a.kind, b.kind = 1, 2  # type: ignore[attr-defined]
    assert h(a) != h(b)
    assert h(Blob(b"x")) == h(Blob(b"x")) != h(bytearray(b"x"))


def test_slice_is_canonical_across_seeds() -> None:
    """A slice's digest (even of a set) is the same in processes with different PYTHONHASHSEEDs."""
    code = "import memo; print(memo.hash_value(slice(frozenset('abcdefgh'), 'x', None)))"
    outs = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        outs.add(run.stdout)
    assert len(outs) == 1
    assert h(slice(1, 2)) != h(slice(1, 3)) != h((1, 3, None))


def test_slice_of_unhashable_content_is_refused() -> None:
    """A slice holding a lock is refused like the lock itself."""
    with pytest.raises(memo.HashingError):
        h(slice(threading.Lock()))


def test_cached_function_is_an_input() -> None:
    """A @memo.cache function passed as an argument counts by identity, version and code."""

    @memo.cache
    def double(x: int) -> int:
        return 2 * x

    @memo.cache
    def triple(x: int) -> int:
        return 3 * x

    @memo.cache
    def apply(fn: Any, x: int) -> int:
        return int(fn(x))

    assert apply(double, 5) == 10
    assert apply(triple, 5) == 15
    assert apply(double, 5) == 10
    assert h(double) == h(double)
    assert h(double) != h(triple)


def test_cached_function_in_a_closure_is_an_input() -> None:
    """A cached function a closure captures is hashed by identity, not refused."""

    def make(k: int) -> Any:
        @memo.cache
        def scale(x: int) -> int:
            return k * x

        return scale

    two, three = make(2), make(3)
    assert h(two) != h(three)  # same identity and code, other closure values

    @memo.cache
    def use(x: int) -> int:
        return int(two(x))

    assert use(4) == 8


def test_hashing_error_suggestions_are_accepted() -> None:
    """Every ignore= name a HashingError suggests is one memo accepts, for arguments and closure variables."""
    lock = threading.Lock()

    def arg(conn: Any, x: int) -> int:
        return x

    def closure(x: int) -> int:
        return x if lock else 0

    for fn, call in ((arg, lambda f: f(lock, 1)), (closure, lambda f: f(1))):
        with pytest.raises(memo.HashingError) as info:
            call(memo.cache(fn))
        names = re.findall(r"ignore=\((.*?),\)", str(info.value))
        assert names, str(info.value)
        ignore = tuple(eval(n) for n in names)  # the suggested names, as Python literals
        assert call(memo.cache(ignore=ignore)(fn)) == 1


def test_any_hashing_failure_names_the_parameter() -> None:
    """An exception raised inside a hasher becomes a HashingError naming the parameter."""

    class Broken:
        pass

    def bad(_: Broken) -> object:
        raise ValueError("boom")

    memo.register_hasher(Broken, bad)

    @memo.cache
    def f(thing: Any) -> int:
        return 1

    with pytest.raises(memo.HashingError, match=r"'thing'.*boom"):
        f(Broken())


def test_lru_cached_functions_hash_the_function_they_wrap() -> None:
    """functools.lru_cache wrappers count by the wrapped function's code, closure and defaults, not a shared name."""
    import functools

    def make(n: int) -> Any:
        @functools.lru_cache
        def load(x: int) -> int:
            return x + n

        return load

    assert h(make(1)) != h(make(2))
    assert h(make(1)) == h(make(1))
    assert h(functools.lru_cache(lambda x: x + 1)) != h(functools.lru_cache(lambda x: x + 2))


def test_objects_pickled_by_a_name_that_leads_elsewhere_are_refused() -> None:
    """An object whose reduction is a global name that does not resolve to it is refused, not keyed on the name."""

    class Named:
        def __init__(self, n: int) -> None:
            self.n = n

        def __reduce__(self) -> str:
            return "Named"

    with pytest.raises(memo.HashingError, match="name"):
        h(Named(1))


def test_pass_through_value_that_cannot_be_pickled_names_the_parameter() -> None:
    """A datetime whose tzinfo cannot be pickled raises a HashingError naming the parameter."""
    import datetime

    class LockedZone(datetime.tzinfo):
        def __init__(self) -> None:
            self.lock = threading.Lock()

        def utcoffset(self, dt: Any) -> datetime.timedelta:
            return datetime.timedelta(0)

    @memo.cache
    def f(when: Any, n: int) -> int:
        return n

    with pytest.raises(memo.HashingError, match=r"argument 'when' of type datetime\.datetime"):
        f(datetime.datetime(2024, 1, 1, tzinfo=LockedZone()), 1)


def test_function_value_keys_on_what_it_reads_not_the_log_it_writes() -> None:
    """A function passed as a value keys on closure values it reads; a log it appends to is state, not input."""
    log: list[int] = []
    scale = {"k": 2}

    def body(x: int) -> int:
        log.append(x)
        return x * scale["k"]

    before = memo.hash_value(body)
    log.extend([1, 2, 3])
    assert memo.hash_value(body) == before  # the written log is not an input
    scale["k"] = 3
    assert memo.hash_value(body) != before  # a read value is


def test_bound_sink_method_is_state_but_bound_reader_is_input() -> None:
    """`log.append` keys on its owner's type only (a sink); `d.get` keys on the dict it reads."""
    a: list[int] = []
    b: list[int] = [1, 2]
    assert memo.hash_value(a.append) == memo.hash_value(b.append)
    assert memo.hash_value(a.append) != memo.hash_value(set().add)
    assert memo.hash_value({1: 2}.get) != memo.hash_value({1: 3}.get)
    assert memo.hash_value([1].pop) != memo.hash_value([2].pop)  # pop returns what the list holds
