"""The read/mutate rule from bytecode: which closure and global names are inputs and which are state.

One table of bodies, checked on whichever interpreter runs the suite (CI: 3.10 to 3.13,
whose opcodes differ: LOAD_METHOD vs LOAD_ATTR, DUP_TOP_TWO vs COPY, PRECALL...).
"""

from __future__ import annotations

from typing import Any

import pytest

from memo._reads import reads_of

# (body of f, closure names read and never mutated, closure names mutated)
CASES: list[tuple[str, set[str], set[str]]] = [
    ("return a + b", {"a", "b"}, set()),
    ("return a['k'] + a.attr + len(b)", {"a", "b"}, set()),
    ("return a.get('k')", {"a"}, set()),
    ("a.append(x)\nreturn x", set(), {"a"}),
    ("a.b.add(x)\nreturn x", set(), {"a"}),
    ("a[x] = 1\nreturn b", {"b"}, {"a"}),
    ("a[x + 1] = b[x]\nreturn x", {"b"}, {"a"}),
    ("a[1:2] = []\nreturn x", set(), {"a"}),
    ("del a[x]\nreturn x", set(), {"a"}),
    ("a.b.c = x\nreturn x", set(), {"a"}),
    ("del a.b\nreturn x", set(), {"a"}),
    ("nonlocal a\na += 1\nreturn x", set(), {"a"}),
    ("nonlocal a\na = x\nreturn b", {"b"}, {"a"}),
    ("a[x] += 1\nreturn a[x]", set(), {"a"}),
    ("if x:\n    a.append(x)\nreturn b", {"b"}, {"a"}),
    ("out = {}\nout[a['k']] = 1\nreturn out", {"a"}, set()),
    ("return [y * a for y in range(x)]", {"a"}, set()),
    ("return (lambda y: y * a)(x)", {"a"}, set()),
    ("return sum(a[k] for k in b)", {"a", "b"}, set()),
    ("try:\n    return x / 0\nexcept ZeroDivisionError:\n    return a", {"a"}, set()),
    # Not recognised as mutation: the names stay inputs (recomputed, never stale).
    ("helper(a)\nreturn x", {"a"}, set()),
    ("items = a\nitems.append(x)\nreturn x", {"a"}, set()),
    ("a.get('k').append(x)\nreturn x", {"a"}, set()),
    ("getattr(a, 'items').append(x)\nreturn x", {"a"}, set()),
]


def _closure(body: str) -> Any:
    indented = "\n".join("        " + line for line in body.splitlines())
    source = f"def outer(a, b):\n    def f(x):\n{indented}\n    return f\n"
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    return namespace["outer"](1, 2)


@pytest.mark.parametrize(("body", "inputs", "mutated"), CASES, ids=[c[0].replace("\n", "; ") for c in CASES])
def test_closure_reads_and_mutations(body: str, inputs: set[str], mutated: set[str]) -> None:
    """Each body's closure names fall on the documented side of the read/mutate rule."""
    reads = reads_of(_closure(body).__code__)
    assert set(reads.free_inputs()) == inputs
    assert set(reads.free_mutated) == mutated


def test_globals_follow_the_same_rule() -> None:
    """Globals the body only reads are inputs; `global G; G += 1` and G.append make state."""
    namespace: dict[str, Any] = {}
    exec(
        "def f(x):\n    global COUNT\n    COUNT += 1\n    LOG.append(x)\n    return x * SCALE + len(TABLE)\n",
        namespace,
    )
    reads = reads_of(namespace["f"].__code__)
    assert set(reads.global_inputs()) == {"SCALE", "TABLE", "len"}
    assert set(reads.global_mutated) == {"COUNT", "LOG"}


def test_analysis_is_done_once_per_code_object() -> None:
    """The result is remembered per code object (functions sharing code share it)."""
    f = _closure("return a")
    assert reads_of(f.__code__) is reads_of(f.__code__)
