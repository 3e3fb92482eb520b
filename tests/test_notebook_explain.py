"""``f.cache_explain``: every part of a key with its digest, readable as text and HTML, and what changed."""

from __future__ import annotations

import textwrap
from typing import Any

import memo


def _nb(src: str) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "__main__", "memo": memo, "B": memo.MemoryBackend()}
    exec(textwrap.dedent(src), ns)
    return ns


SRC = """
SCALE = 2
log = []
def helper(x):
    return x + 1
@memo.cache(backend=B, ignore=("verbose",))
def f(x, verbose=False):
    log.append(x)
    return helper(x) * SCALE
"""


def test_parts_name_every_input_with_its_digest() -> None:
    """Arguments, globals and callees are listed with digests; ignored and mutated names without."""
    f = _nb(SRC)["f"]
    e = f.cache_explain(1)
    assert e.key == f.cache_key(1)
    assert e.function == "__main__.f"
    parts = {(p.kind, p.name): p for p in e.parts}
    assert set(parts) == {
        ("argument", "x"),
        ("ignored", "verbose"),
        ("data", "SCALE"),
        ("callee", "helper"),
        ("state", "log"),
    }
    for kind in ("argument", "data", "callee"):
        assert len(next(p.digest for (k, _), p in parts.items() if k == kind)) == 32
    assert parts["ignored", "verbose"].digest == ""
    assert parts["state", "log"].digest == ""
    assert parts["data", "SCALE"].value == "2"


def test_changed_says_why_a_call_missed() -> None:
    """After rebinding a global, changed() names it; after editing the body, it names the code."""
    ns = _nb(SRC)
    before = ns["f"].cache_explain(1)
    ns["SCALE"] = 3
    assert ns["f"].cache_explain(1).changed(before) == ["SCALE"]
    assert ns["f"].cache_explain(2).changed(before) == ["x", "SCALE"]
    exec("def helper(x):\n    return x + 2\n", ns)
    assert "helper" in ns["f"].cache_explain(1).changed(before)
    exec("@memo.cache(backend=B)\ndef f(x, verbose=False):\n    return x\n", ns)
    assert ns["f"].cache_explain(1).changed(before)[0] == "<code>"


def test_text_and_html_views() -> None:
    """str() is a plain table; _repr_html_ is an escaped HTML table for notebooks."""
    e = _nb(SRC)["f"].cache_explain("<b>")
    text = str(e)
    assert text.splitlines()[0].startswith("__main__.f  version ")
    assert "SCALE" in text
    assert "helper" in text
    html = e._repr_html_()
    assert "<table>" in html
    assert "&lt;b&gt;" in html
    assert "<b>'" not in html


def test_closure_self_and_key_function() -> None:
    """Closure values, a bound method's self and a key= function's result are parts too."""
    scale = 4

    @memo.cache(backend=memo.MemoryBackend())
    def g(x: int) -> int:
        return x * scale

    assert [(p.kind, p.name) for p in g.cache_explain(1).parts] == [("argument", "x"), ("closure", "scale")]

    class Box:
        def __init__(self, v: int) -> None:
            self.v = v

        def get(self, x: int) -> int:
            return self.v + x

    bound = memo.cache(backend=memo.MemoryBackend())(Box(1).get)
    assert ("bound", "self") in [(p.kind, p.name) for p in bound.cache_explain(2).parts]

    @memo.cache(backend=memo.MemoryBackend(), key=lambda user, req: user)
    def h(user: str, req: object) -> str:
        return user

    assert [(p.kind, p.name) for p in h.cache_explain("ann", object()).parts] == [("key()", "key()")]


async def test_async_function_explains() -> None:
    """An async cached function has cache_explain too (a plain method, nothing to await)."""

    @memo.cache(backend=memo.MemoryBackend())
    async def a(x: int) -> int:
        return x

    assert a.cache_explain(1).key == a.cache_key(1)


def test_without_arguments_it_explains_what_every_key_shares() -> None:
    """cache_explain() on a function that needs arguments lists the shared parts; wrong arguments still raise."""
    import pytest

    ns = _nb(SRC)
    f = ns["f"]
    e = f.cache_explain()
    assert e.key == f.cache_key(1).rsplit(":", 1)[0] + ":<arguments>"
    shared = {(p.kind, p.name) for p in e.parts}
    assert shared == {("data", "SCALE"), ("callee", "helper"), ("ignored", "verbose"), ("state", "log")}
    ns["SCALE"] = 3
    assert f.cache_explain().changed(e) == ["SCALE"]
    with pytest.raises(TypeError):
        f.cache_explain(1, 2, 3)
