"""Property tests: equal values give equal keys, different values (even by type only) differ."""

from __future__ import annotations

import enum
import os
import pickle
import struct
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memo
from tests._helpers import StrEnum

atoms = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.binary(max_size=8),
)
hashable = st.recursive(
    atoms,
    lambda inner: st.one_of(st.tuples(inner, inner), st.frozensets(atoms, max_size=4)),
    max_leaves=6,
)
values = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), inner, max_size=4),
        st.sets(hashable, max_size=4),
        st.frozensets(hashable, max_size=4),
    ),
    max_leaves=12,
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def strict_equal(a: Any, b: Any) -> bool:
    """Equality that also requires equal types everywhere and compares floats by bits."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):  # insertion order is content
        return strict_equal(list(a), list(b)) and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, (set, frozenset)):
        return len(a) == len(b) and all(any(strict_equal(x, y) for y in b) for x in a)
    return bool(a == b)


def _rebuilt(v: Any) -> Any:
    """An equal value built anew: containers copied, dicts in the same insertion order."""
    if isinstance(v, dict):
        return {k: _rebuilt(v[k]) for k in v}
    if isinstance(v, list):
        return [_rebuilt(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_rebuilt(x) for x in v)
    if isinstance(v, (set, frozenset)):
        return type(v)(_rebuilt(x) for x in v)
    return pickle.loads(pickle.dumps(v))


@SETTINGS
@given(values)
def test_equal_values_equal_keys(v: Any) -> None:
    """A value and an equal one rebuilt anew hash alike."""
    assert memo.hash_value(v) == memo.hash_value(_rebuilt(v))


def _reversed_dicts(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _reversed_dicts(v[k]) for k in reversed(list(v))}
    if isinstance(v, (list, tuple)):
        return type(v)(_reversed_dicts(x) for x in v)
    return v


@SETTINGS
@given(values)
def test_dict_order_is_content(v: Any) -> None:
    """A value with a dict reversed in insertion order hashes differently, unless it is strictly the same."""
    other = _reversed_dicts(v)
    if not strict_equal(v, other):
        assert memo.hash_value(v) != memo.hash_value(other)


@SETTINGS
@given(values, values)
def test_different_values_different_keys(a: Any, b: Any) -> None:
    """Values that are not strictly equal (types included) never share a digest."""
    if not strict_equal(a, b):
        assert memo.hash_value(a) != memo.hash_value(b)


@SETTINGS
@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_type_only_differences(n: int) -> None:
    """n, float(n), and bool (where equal) never collide; nor do a list and a tuple of it."""
    assert memo.hash_value(n) != memo.hash_value(float(n))
    assert memo.hash_value([n]) != memo.hash_value((n,))
    if n in (0, 1):
        assert memo.hash_value(n) != memo.hash_value(bool(n))


def test_digests_identical_in_another_process_with_another_seed() -> None:
    """A batch of generated values hashes identically in a process with another PYTHONHASHSEED."""
    batch: list[Any] = []

    @settings(max_examples=150, deadline=None, database=None)
    @given(values)
    def collect(v: Any) -> None:
        batch.append(v)

    collect()
    here = [memo.hash_value(v) for v in batch]
    code = "import pickle, sys, memo\n"
    code += "print(pickle.dumps([memo.hash_value(v) for v in pickle.load(sys.stdin.buffer)]).hex())"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(batch), env=env, capture_output=True, check=True
    )
    assert pickle.loads(bytes.fromhex(out.stdout.decode().strip())) == here


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


record_keys = st.one_of(
    st.lists(st.text(max_size=3), min_size=1, max_size=4, unique=True),
    st.lists(st.integers(-3, 3), min_size=1, max_size=4, unique=True),
    st.lists(st.sampled_from([0, 1, True, False, b"a", "a", 1.0]), min_size=1, max_size=3, unique_by=repr),
    st.lists(st.sampled_from([Color.RED, "red", "blue", Level.LOW, 1]), min_size=1, max_size=3, unique_by=repr),
)
# Mostly atoms (the table path), now and then a value that is equal to an atom but of
# another type, or no atom at all (the per-dict path).
record_values = st.one_of(
    atoms,
    atoms,
    atoms,
    st.sampled_from([Color.RED, Level.LOW, Decimal(1), Fraction(1, 2), bytearray(b"a"), 1j, 2.5 + 0j]),
    st.lists(atoms, max_size=2),
    st.dictionaries(st.text(max_size=2), atoms, max_size=3),
)


@st.composite
def record_lists(draw: st.DrawFn) -> Any:
    """Lists (or tuples) of flat dicts that mostly share one key set, in shuffled key orders."""
    keys = draw(record_keys)
    rows = draw(st.lists(st.lists(record_values, min_size=len(keys), max_size=len(keys)), min_size=2, max_size=5))
    out = []
    for row in rows:
        items = list(zip(keys, row))
        if draw(st.booleans()):
            items.reverse()
        if draw(st.integers(0, 9)) == 0:  # now and then a dict with a key more or fewer
            items = items[1:] if draw(st.booleans()) else [*items, (draw(st.text(max_size=2)), 0)]
        out.append(dict(items))
    return out if draw(st.booleans()) else tuple(out)


@SETTINGS
@given(record_lists())
def test_record_lists_hash_by_content(v: Any) -> None:
    """A list of flat dicts hashes like its copy, and unlike its rows in another key order."""
    assert memo.hash_value(v) == memo.hash_value(_rebuilt(v))
    other = _reversed_dicts(v)
    if not strict_equal(v, other):
        assert memo.hash_value(v) != memo.hash_value(other)


@SETTINGS
@given(record_lists(), record_lists())
def test_different_record_lists_differ(a: Any, b: Any) -> None:
    """Lists of flat dicts that are not strictly equal (key types included) never share a digest."""
    if not strict_equal(a, b):
        assert memo.hash_value(a) != memo.hash_value(b)
