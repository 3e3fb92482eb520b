"""Stored instances of ``__main__`` classes load as the live class when its code is unchanged, else as a copy."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from memo._notebook import class_digest
from memo._serialize import dumps_record, loads_record
from memo._types import Entry

POINT = '''
class Point:
    """A point."""
    def __init__(self, x):
        self.x = x
    def norm(self):
        return abs(self.x) * {k}
'''


def _define(monkeypatch: pytest.MonkeyPatch, k: int, doc: str = "") -> Any:
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec(POINT.format(k=k).replace("A point.", doc or "A point."), ns)
    monkeypatch.setattr(sys.modules["__main__"], "Point", ns["Point"], raising=False)
    return ns["Point"]


def test_unchanged_class_loads_as_the_live_class(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record holding Points loads them as instances of the Point now in __main__, same code."""
    _define(monkeypatch, 1)
    record = dumps_record(Entry([sys.modules["__main__"].Point(-2)]))
    live = _define(monkeypatch, 1, doc="Redefined, same code.")
    (p,) = loads_record(record).value
    assert type(p) is live
    assert p.norm() == 2


def test_edited_class_loads_as_its_pickled_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the live class's methods changed, the stored instance keeps the class it was stored with."""
    _define(monkeypatch, 1)
    record = dumps_record(Entry(sys.modules["__main__"].Point(-2)))
    live = _define(monkeypatch, 10)
    p = loads_record(record).value
    assert type(p) is not live
    assert p.norm() == 2


def test_class_digest_follows_code_not_position_or_docs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest ignores the docstring and line numbers and changes with a method's code."""
    a = _define(monkeypatch, 1)
    b = _define(monkeypatch, 1, doc="Other words.")
    c = _define(monkeypatch, 2)
    assert class_digest(a) == class_digest(b)
    assert class_digest(a) != class_digest(c)
