"""Property test over every supported kind of value: unequal values never share a key, equal ones do.

Each leaf below is a zero-argument builder; two calls build two *equal* values (fresh
objects), and no two leaves build equal values (each differs from every other in some
state a function could observe). Hypothesis nests leaves in lists, tuples, dicts (in
either key order) and sets, and compares trees: equal trees must give one digest,
unequal trees two.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memo


class Perm(enum.Flag):
    R = 4
    W = 2
    X = 1


class Mode(enum.IntFlag):
    A = 1


class Color(enum.Enum):
    RED = 1
    BLUE = 2


@dataclasses.dataclass
class Box:
    x: int
    label: str = dataclasses.field(default="", compare=False)

    def __post_init__(self) -> None:
        self.area = self.x * len(self.label)


def _adder(n: Any) -> Callable[[int], Any]:
    return lambda x: x + n


def _loop_lambdas() -> list[Callable[[int], int]]:
    return [lambda x, n=n: x + n for n in range(2)]  # the default-argument loop idiom


def _with_attrs(frame: pd.DataFrame, **attrs: Any) -> pd.DataFrame:
    frame.attrs.update(attrs)
    return frame


@memo.cache
def _cached_double(x: int) -> int:
    return 2 * x


@memo.cache
def _cached_triple(x: int) -> int:
    return 3 * x


_SHARED = {"k": 1}
_OTHER = {"k": 2}

# Hashable leaves (usable in sets and as dict keys) first, then the rest.
HASHABLE: list[Callable[[], Any]] = [
    lambda: 0,
    lambda: 1,
    lambda: True,
    lambda: 1.0,
    lambda: 0.0,
    lambda: -0.0,
    lambda: "1",
    lambda: b"1",
    lambda: None,
    lambda: (1, 2),
    lambda: frozenset({1, "a"}),
    lambda: Perm.R | Perm.W,
    lambda: Perm.R | Perm.X,
    lambda: Perm(0),
    lambda: Mode(8),
    lambda: Mode(16),
    lambda: Color.RED,
    lambda: re.S | re.M,
]
OTHERS: list[Callable[[], Any]] = [
    lambda: slice(1, 2),  # hashable only on 3.12+
    lambda: slice(1, None),
    lambda: [1, 2],
    lambda: {"a": 1, "b": 2},
    lambda: {"b": 2, "a": 1},
    lambda: OrderedDict(a=1, b=2),
    lambda: OrderedDict(b=2, a=1),
    lambda: defaultdict(list, a=1),
    lambda: defaultdict(set, a=1),
    lambda: {1, 2},
    lambda: Box(2, "ab"),
    lambda: Box(2, "abc"),
    lambda: ",".join,
    lambda: ";".join,
    lambda: _SHARED.get,
    lambda: _OTHER.get,
    lambda: _adder(1),
    lambda: _adder(2),
    lambda: _loop_lambdas()[0],
    lambda: _loop_lambdas()[1],
    lambda: _cached_double,
    lambda: _cached_triple,
    lambda: np.arange(4, dtype=np.int64),
    lambda: np.arange(4, dtype=np.int32),
    lambda: np.arange(4, dtype=np.int64).reshape(2, 2),
    lambda: np.array([0.0, -0.0]),
    lambda: np.array([0.0, 0.0]),
    lambda: np.ma.array([1, 2], mask=[0, 1], fill_value=7),
    lambda: np.ma.array([1, 2], mask=[0, 1], fill_value=9),
    lambda: pd.Series([1, 2], name="x"),
    lambda: pd.Series([1, 2], name="y"),
    lambda: pd.Series([-0.0, None], dtype="Float64"),
    lambda: pd.Series([0.0, None], dtype="Float64"),
    lambda: pd.Series([-0.0], dtype="double[pyarrow]"),
    lambda: pd.Series([0.0], dtype="double[pyarrow]"),
    lambda: pd.Series([1, "a"], dtype=object),
    lambda: pd.Series(["1", "a"], dtype=object),
    lambda: pd.DataFrame({"a": [1], "b": [2]}),
    lambda: pd.DataFrame({"b": [2], "a": [1]}),
    lambda: _with_attrs(pd.DataFrame({"a": [1], "b": [2]}), unit="m"),
    lambda: pa.table({"a": [1, 2]}),
    lambda: pa.table({"a": [1, 3]}),
]
LEAVES = HASHABLE + OTHERS

Tree = Any  # ("leaf", i) | ("list"|"tuple", [trees]) | ("dict", [(i, tree)]) | ("set", frozenset[i])

leaves = st.builds(lambda i: ("leaf", i), st.integers(0, len(LEAVES) - 1))
keys = st.integers(0, len(HASHABLE) - 1)
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda xs: ("list", tuple(xs)), st.lists(inner, max_size=3)),
        st.builds(lambda xs: ("tuple", tuple(xs)), st.lists(inner, max_size=3)),
        st.builds(
            lambda kv: ("dict", tuple(kv)), st.lists(st.tuples(keys, inner), max_size=3, unique_by=lambda p: p[0])
        ),
        st.builds(lambda xs: ("set", frozenset(xs)), st.frozensets(keys, max_size=3)),
    ),
    max_leaves=6,
)


def build(tree: Tree) -> Any:
    """A fresh value for ``tree``."""
    kind, body = tree
    if kind == "leaf":
        return LEAVES[body]()
    if kind == "list":
        return [build(t) for t in body]
    if kind == "tuple":
        return tuple(build(t) for t in body)
    if kind == "dict":
        return {HASHABLE[k](): build(t) for k, t in body}
    return {HASHABLE[k]() for k in body}


def _dict_keys_distinct(tree: Tree) -> bool:
    """Leaves 0/True/0.0/-0.0 (and 1/1.0) are equal dict keys and set members: keep trees where they never meet."""
    kind, body = tree
    if kind == "leaf":
        return True
    if kind in ("list", "tuple"):
        return all(map(_dict_keys_distinct, body))
    ids = [k for k, _ in body] if kind == "dict" else list(body)
    values = [HASHABLE[k]() for k in ids]
    if len(set(values)) != len(values):
        return False
    return kind == "set" or all(_dict_keys_distinct(t) for _, t in body)


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(trees)
def test_equal_values_share_a_key(tree: Tree) -> None:
    """Two values built alike (fresh objects, equal content) hash alike."""
    if _dict_keys_distinct(tree):
        assert memo.hash_value(build(tree)) == memo.hash_value(build(tree))


@SETTINGS
@given(trees, trees)
def test_unequal_values_never_share_a_key(a: Tree, b: Tree) -> None:
    """Two values built from different trees (any leaf, nesting, dict order or set member apart) differ."""
    if a != b and _dict_keys_distinct(a) and _dict_keys_distinct(b):
        assert memo.hash_value(build(a)) != memo.hash_value(build(b))


def test_every_leaf_differs_from_every_other() -> None:
    """The leaves themselves: pairwise different digests, and each stable across two builds."""
    digests = [memo.hash_value(make()) for make in LEAVES]
    assert digests == [memo.hash_value(make()) for make in LEAVES]
    assert len(set(digests)) == len(LEAVES)
