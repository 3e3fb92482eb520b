"""Keys are deterministic, content-based and collision-free on the corpus."""

from __future__ import annotations

import enum
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections import OrderedDict
from typing import Any

import pytest

import memo
from tests._helpers import StrEnum

SCRIPT = """
import memo, dataclasses, enum, datetime, decimal, uuid, pathlib
@dataclasses.dataclass
class P:
    x: int
    y: list
class C(enum.Enum):
    A = 1
values = [
    {"b": 1, "a": [1, 2, {3, 4, 5}], "c": frozenset({"x", "y", "z"})},
    {"zeta", "alpha", "beta", "gamma"},
    P(1, [2, 3]), C.A, datetime.datetime(2024, 1, 2, 3, 4, 5), decimal.Decimal("1.5"),
    uuid.UUID(int=7), pathlib.PurePosixPath("/a/b"), (1.5, -0.0, float("nan"), b"\\x00"),
]
print([memo.hash_value(v) for v in values])
"""


def _run(seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return out.stdout


def test_keys_identical_across_hash_seeds() -> None:
    """Two processes with different PYTHONHASHSEEDs compute identical digests."""
    assert _run("1") == _run("4242")


def test_dict_insertion_order_and_sets() -> None:
    """Sets hash alike in any order; a dict's insertion order is part of its content."""
    assert memo.hash_value({3, 1, 2}) == memo.hash_value({1, 2, 3})
    assert memo.hash_value({"a": 1, "b": 2}) != memo.hash_value({"b": 2, "a": 1})
    assert memo.hash_value({1: "a", "x": 2}) != memo.hash_value({"x": 2, 1: "a"})
    assert memo.hash_value({1: "a", "x": 2}) == memo.hash_value({1: "a", "x": 2})


COLLISION_PAIRS: list[tuple[Any, Any]] = [
    (None, ""),
    ([1, 2], (1, 2)),
    (1, 1.0),
    (1, True),
    (1.0, True),
    (0.0, -0.0),
    ("1", 1),
    (b"a", "a"),
    (bytearray(b"a"), b"a"),
    ({1, 2}, frozenset({1, 2})),
    ({"a": 1}, [("a", 1)]),
    ({1: 2}, {"1": 2}),
    ([], ()),
    ([[]], [()]),
    ({}, set()),
    ("ab", ["a", "b"]),
]


@pytest.mark.parametrize(("a", "b"), COLLISION_PAIRS, ids=[f"{a!r}-vs-{b!r}" for a, b in COLLISION_PAIRS])
def test_values_str_prints_alike_get_different_keys(a: Any, b: Any) -> None:
    """Values that == or str() confuse never share a digest."""
    assert memo.hash_value(a) != memo.hash_value(b)


@pytest.mark.parametrize(
    "value",
    [threading.Lock(), (x for x in range(3)), object()],
    ids=["lock", "generator", "bare-object"],
)
def test_values_without_content_are_refused(value: Any) -> None:
    """Locks, generators and identity-only objects raise HashingError naming the parameter."""

    @memo.cache
    def f(conn: Any) -> int:
        return 1

    with pytest.raises(memo.HashingError, match=r"argument 'conn' of type .*ignore=\('conn',\)"):
        f(value)


def test_socket_and_file_are_refused(tmp_path: Any) -> None:
    """An open socket or file handle is not hashable content."""
    with socket.socket() as sock, pytest.raises(memo.HashingError):
        memo.hash_value(sock)
    with open(tmp_path / "x", "w") as fh, pytest.raises(memo.HashingError):
        memo.hash_value(fh)


def test_address_bearing_state_is_refused() -> None:
    """An object whose pickled state carries an address is refused, not keyed on it."""

    class Holder:
        def __init__(self) -> None:
            self.name = repr(object())

    with pytest.raises(memo.HashingError, match="address"):
        memo.hash_value(Holder())


def test_objects_hash_by_state() -> None:
    """Plain objects with equal state hash alike; different state differs."""

    class Cfg:
        def __init__(self, n: int) -> None:
            self.n = n

    assert memo.hash_value(Cfg(1)) == memo.hash_value(Cfg(1))
    assert memo.hash_value(Cfg(1)) != memo.hash_value(Cfg(2))


def test_recursive_structure_is_refused() -> None:
    """A list containing itself raises HashingError rather than recursing forever."""
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(memo.HashingError, match="itself"):
        memo.hash_value(loop)


def test_register_hasher() -> None:
    """A registered hasher decides the content of its type."""

    class Pt:
        def __init__(self, x: int, noise: object) -> None:
            self.x, self.noise = x, noise

    memo.register_hasher(Pt, lambda p: p.x)
    assert memo.hash_value(Pt(1, object())) == memo.hash_value(Pt(1, object()))
    assert memo.hash_value(Pt(1, None)) != memo.hash_value(Pt(2, None))


def test_closures_are_part_of_the_key() -> None:
    """Two closures over different values never share results."""

    def make(n: int) -> Any:
        @memo.cache
        def add(x: int) -> int:
            return x + n

        return add

    one, two = make(1), make(2)
    assert one(1) == 2
    assert two(1) == 3
    assert one.cache_key(1) != two.cache_key(1)


def test_nested_functions_of_same_name_differ() -> None:
    """Identity keeps <locals>, so same-named nested functions do not collide."""

    def outer_a() -> Any:
        @memo.cache
        def f(x: int) -> str:
            return "a"

        return f

    def outer_b() -> Any:
        @memo.cache
        def f(x: int) -> str:
            return "b"

        return f

    assert outer_a()(1) == "a"
    assert outer_b()(1) == "b"
    assert "<locals>" in outer_a().cache_key(1)


def test_code_edit_changes_version_but_comments_do_not() -> None:
    """The default version follows the code, not comments or docstrings."""
    from memo._identity import code_fingerprint

    ns: dict[str, Any] = {}
    exec("def f(x):\n    return x + 1\n", ns)
    a = code_fingerprint(ns["f"])
    exec('def f(x):\n    """doc"""\n    # comment\n\n    return x + 1\n', ns)
    b = code_fingerprint(ns["f"])
    exec("def f(x):\n    return x + 2\n", ns)
    c = code_fingerprint(ns["f"])
    assert a == b != c


class Color(StrEnum):
    RED = "red"
    OK = "ok"


class Level(enum.IntEnum):
    LOW = 1


def test_lists_of_flat_dicts() -> None:
    """A list of flat dicts keys on content: rows, key order, key types, list/tuple and the key set matter."""
    rows = [{"id": 1, "ok": True}, {"id": 2, "ok": False}]
    same = [{"id": 1, "ok": True}, {"id": 2, "ok": False}]
    assert memo.hash_value(rows) == memo.hash_value(same)
    different = [
        [{"ok": True, "id": 1}, {"id": 2, "ok": False}],  # one row's key order
        [{"ok": True, "id": 1}, {"ok": False, "id": 2}],  # every row's key order
        [{"id": 2, "ok": False}, {"id": 1, "ok": True}],  # row order
        [{"id": 1, "ok": True}, {"id": 2, "ok": 0}],  # a value's type
        [{"id": 1, "ok": True}, {"id": 2, "no": False}],  # a key
        [{"id": 1, "ok": True}, {"id": 2, "ok": False, "x": None}],  # a key more
        tuple(rows),
        [{1: "a"}, {1: "b"}],
        [{True: "a"}, {1: "b"}],  # True == 1 as a dict key, but a different key
        [{"id": 1, "ok": [True]}, {"id": 2, "ok": False}],  # not flat: the per-dict path
        [{"id": 1, "ok": True}, {"id": 2, "ok": None}],  # None in a bool column
        [{"id": 1, "ok": True}, {"id": 2.0, "ok": False}],  # 2.0 == 2, but a float
        [{"id": 1, "ok": True}, {"id": 2, "ok": False + 0j}],  # complex
        [{"id": Level.LOW, "ok": True}, {"id": 2, "ok": False}],  # IntEnum == 1
        [{"id": 1, "ok": "red"}, {"id": 2, "ok": "blue"}],
        [{"id": 1, "ok": Color.RED}, {"id": 2, "ok": "blue"}],  # StrEnum == "red"
        [{"id": 1, Color.OK: True}, {"id": 2, "ok": False}],  # a StrEnum key == "ok"
        [{"id": 1, "ok": True}, OrderedDict(id=2, ok=False)],  # a dict subclass among the rows
    ]
    digests = {memo.hash_value(v) for v in [rows, *different]}
    assert len(digests) == len(different) + 1


class _LyingMeta(type):
    """A metaclass whose classes claim to equal dict and str."""

    def __eq__(cls, other: object) -> bool:
        return other is dict or other is str or cls is other

    __hash__ = type.__hash__


class _LyingRow(metaclass=_LyingMeta):
    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __iter__(self) -> Any:
        return iter(["a"])

    def __getitem__(self, key: str) -> int:
        return 1


class _LyingStr(str, metaclass=_LyingMeta):
    pass


def test_lists_of_flat_dicts_are_not_fooled_by_other_values() -> None:
    """A class that claims to equal dict or str, or a PickleBuffer, among rows: no shared digest, or HashingError."""
    plain = memo.hash_value([{"a": 1}, {"a": 1}])
    with pytest.raises(memo.HashingError):
        memo.hash_value([{"a": 1}, _LyingRow()])
    assert memo.hash_value([{"a": 1}, {_LyingStr("a"): 1}]) != plain
    strided = pickle.PickleBuffer(memoryview(b"abcd")[::2])  # a buffer, hashed by its content and kind
    assert memo.hash_value([{"a": 1}, {"a": strided}]) != memo.hash_value([{"a": 1}, {"a": b"ac"}])
    assert memo.hash_value([{"a": 1}, {"a": strided}]) == memo.hash_value([{"a": 1}, {"a": pickle.PickleBuffer(b"ac")}])


def test_big_text_columns_are_checked_without_joining(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the join limit, str columns are checked value by value: same digests, same refusals."""
    from memo import _hash_rows

    rows = [{"name": "a", "n": 1}, {"name": "b", "n": 2}]
    nested = [{"name": "a", "n": 1}, {"name": {"y": 1, "x": 2}, "n": 2}]
    nested_other_order = [{"name": "a", "n": 1}, {"name": {"x": 2, "y": 1}, "n": 2}]
    before = [memo.hash_value(v) for v in (rows, nested, nested_other_order)]
    monkeypatch.setattr(_hash_rows, "_JOIN_MAX", 0)
    assert [memo.hash_value(v) for v in (rows, nested, nested_other_order)] == before
    assert len(set(before)) == 3


def test_complex_columns_take_the_table_path() -> None:
    """A column of complex numbers is hashed as a table (complex is an atom), and by value."""
    from memo._hash_rows import row_table

    rows = [{"z": 1 + 2j}, {"z": 3j}]
    assert row_table(rows) is not None
    assert memo.hash_value(rows) != memo.hash_value([{"z": 1 + 2j}, {"z": 3 + 0j}])


def test_lists_of_flat_dicts_with_keys_of_no_total_order() -> None:
    """Rows keyed by frozensets, NaN floats or plain enums hash by content (key order included), without error."""
    nan = float("nan")

    class Side(enum.Enum):
        LEFT = "l"
        RIGHT = "r"

    for a, b in [(frozenset({1}), frozenset({2})), (nan, 1.5), (Side.LEFT, Side.RIGHT), ((1, "x"), (1, 2))]:
        rows = [{a: 1, b: 2}, {a: 3, b: 4}]
        assert memo.hash_value(rows) == memo.hash_value([{a: 1, b: 2}, {a: 3, b: 4}])
        assert memo.hash_value(rows) != memo.hash_value([{b: 2, a: 1}, {b: 4, a: 3}])
        assert memo.hash_value(rows) != memo.hash_value([{a: 2, b: 1}, {a: 3, b: 4}])


def test_lists_of_flat_dicts_with_other_values() -> None:
    """A value that is no atom sends a list of dicts down the per-dict path: canonical, or refused."""

    class Point:
        def __init__(self, x: int, y: int, first: str) -> None:
            for name in (first, "y" if first == "x" else "x"):
                setattr(self, name, x if name == "x" else y)

    same = [
        ({"x": 1, "y": 2}, {"x": 1, "y": 2}),  # a dict after a number or a str
        ({"u", "v", "w"}, {"w", "v", "u"}),
        (Point(1, 2, "x"), Point(1, 2, "x")),
    ]
    other = [
        ({"x": 1, "y": 2}, {"y": 2, "x": 1}),  # dict order counts
        (Point(1, 2, "x"), Point(1, 2, "y")),  # so does the order of an object's __dict__
    ]
    for first in (0, "s", b"b"):
        for a, b in same:
            assert memo.hash_value([{"id": 1, "v": first}, {"id": 2, "v": a}]) == memo.hash_value(
                [{"id": 1, "v": first}, {"id": 2, "v": b}]
            )
        for a, b in other:
            assert memo.hash_value([{"id": 1, "v": first}, {"id": 2, "v": a}]) != memo.hash_value(
                [{"id": 1, "v": first}, {"id": 2, "v": b}]
            )
    with pytest.raises(memo.HashingError, match="lock"):
        memo.hash_value([{"id": 1, "v": 0}, {"id": 2, "v": threading.Lock()}])


def test_modules_hash_by_name() -> None:
    """A module (an argument, or captured by a closure) hashes by its name, not refused."""
    import json
    import pickle

    assert memo.hash_value(json) == memo.hash_value(json)
    assert memo.hash_value(json) != memo.hash_value(pickle)
    assert memo.hash_value(json) != memo.hash_value("json")

    def outer(mod: Any) -> Any:
        @memo.cache
        def dumps(x: int) -> Any:
            return mod.dumps(x)

        return dumps

    assert outer(json)(1) == "1"
    assert outer(pickle)(1) == pickle.dumps(1)


def test_dict_keys_are_type_exact() -> None:
    """Dicts whose keys compare equal across types ((0, 1) == (False, True) == (0.0, 1.0)) never share a digest."""
    forms = [
        {0: "a", 1: "b"},
        {1: "b", 0: "a"},
        {False: "a", True: "b"},
        {True: "b", False: "a"},
        {0.0: "a", 1.0: "b"},
        {0: "a", 1.0: "b"},
    ]
    assert len({memo.hash_value(d) for d in forms}) == len(forms)
