"""Globals a notebook (``__main__``) function reads are part of its key: the read/mutate rules, in process."""

from __future__ import annotations

import textwrap
import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest

import memo
from memo._globals import frozen_token


def _nb() -> dict[str, Any]:
    """A fresh namespace that looks like a notebook's (module ``__main__``)."""
    ns: dict[str, Any] = {"__name__": "__main__", "memo": memo, "calls": [], "B": memo.MemoryBackend()}
    return ns


def run(ns: dict[str, Any], src: str) -> None:
    exec(textwrap.dedent(src), ns)


LOAD = """
@memo.cache(backend=B)
def load(x):
    calls.append(x)
    return x * SCALE
"""


def test_global_constant_rebound_recomputes() -> None:
    """Rebinding a global constant the body reads (SCALE = 3) recomputes; rebinding it back hits."""
    ns = _nb()
    run(ns, "SCALE = 2" + LOAD)
    assert ns["load"](5) == 10
    assert ns["load"](5) == 10
    ns["SCALE"] = 3
    assert ns["load"](5) == 15
    ns["SCALE"] = 2
    assert ns["load"](5) == 10
    assert ns["calls"] == [5, 5]


def test_comment_and_docstring_edit_hits() -> None:
    """Redefining the function with only a comment and docstring changed keeps its entries."""
    ns = _nb()
    run(ns, "SCALE = 2" + LOAD)
    ns["load"](1)
    run(ns, '@memo.cache(backend=B)\ndef load(x):\n    "Doc."\n    calls.append(x)  # note\n    return x * SCALE\n')
    assert ns["load"](1) == 2
    assert ns["calls"] == [1]


def test_helper_redefined_and_its_globals_recompute() -> None:
    """Redefining a helper the body calls, or a global only the helper reads, recomputes."""
    ns = _nb()
    run(
        ns,
        """
        OFFSET = 1
        def helper(x):
            return x + OFFSET
        @memo.cache(backend=B)
        def f(x):
            calls.append(x)
            return helper(x)
        """,
    )
    f = ns["f"]
    assert f(1) == 2
    assert f(1) == 2
    run(ns, "def helper(x):\n    return x + OFFSET + 100\n")
    assert f(1) == 102
    ns["OFFSET"] = 0
    assert f(1) == 101
    ns["helper"].__code__ = (lambda x: x * 1000).__code__  # what %autoreload does
    assert f(1) == 1000
    assert len(ns["calls"]) == 4


def test_mutated_global_is_state() -> None:
    """A global the body appends to (a log) is state: the next identical call still hits."""
    ns = _nb()
    run(
        ns,
        """
        log = []
        @memo.cache(backend=B)
        def g(x):
            log.append(x)
            return x + 1
        """,
    )
    assert ns["g"](1) == 2
    assert ns["log"] == [1]
    assert ns["g"](1) == 2
    assert ns["log"] == [1]


def test_mutable_global_mutated_elsewhere_recomputes() -> None:
    """A dict the body only reads, changed in place by another cell, recomputes."""
    ns = _nb()
    run(ns, 'CFG = {"k": 1}\n@memo.cache(backend=B)\ndef h():\n    calls.append(1)\n    return CFG["k"]\n')
    assert ns["h"]() == 1
    ns["CFG"]["k"] = 5
    assert ns["h"]() == 5
    assert ns["h"]() == 5
    assert len(ns["calls"]) == 2


def test_ignore_names_a_global() -> None:
    """ignore= accepts a global the body reads: it is left out of the key."""
    ns = _nb()
    run(ns, 'SCALE = 2\n@memo.cache(backend=B, ignore=("SCALE",))\ndef k(x):\n    return x * SCALE\n')
    assert ns["k"](1) == 2
    ns["SCALE"] = 3
    assert ns["k"](1) == 2


def test_unhashable_global_names_the_variable() -> None:
    """A global without content (a lock) raises HashingError naming the global and suggesting ignore=."""
    ns = _nb()
    ns["LOCK"] = threading.Lock()
    run(ns, "@memo.cache(backend=B)\ndef u(x):\n    with LOCK:\n        return x\n")
    with pytest.raises(memo.HashingError, match=r"global variable 'LOCK'.*ignore=\('LOCK',\)"):
        ns["u"](1)
    run(ns, '@memo.cache(backend=B, ignore="LOCK")\ndef u(x):\n    with LOCK:\n        return x\n')
    assert ns["u"](1) == 1


def test_module_function_not_tracked_unless_opted_in() -> None:
    """Outside __main__ globals are not inputs by default; track_globals=True opts a module in."""
    ns: dict[str, Any] = {"__name__": "mylib", "memo": memo, "B": memo.MemoryBackend()}
    run(ns, "SCALE = 2\n@memo.cache(backend=B)\ndef a(x):\n    return x * SCALE\n")
    run(ns, "@memo.cache(backend=B, track_globals=True)\ndef b(x):\n    return x * SCALE\n")
    assert (ns["a"](1), ns["b"](1)) == (2, 2)
    ns["SCALE"] = 3
    assert (ns["a"](1), ns["b"](1)) == (2, 3)
    with pytest.raises(memo.ConfigurationError, match="track_globals"):
        memo.cache(track_globals="yes")  # type: ignore[call-overload]


def test_track_globals_false_opts_out() -> None:
    """track_globals=False keeps a notebook function keyed on its arguments alone."""
    ns = _nb()
    run(ns, "SCALE = 2\n@memo.cache(backend=B, track_globals=False)\ndef c(x):\n    return x * SCALE\n")
    assert ns["c"](1) == 2
    ns["SCALE"] = 3
    assert ns["c"](1) == 2


def test_no_globals_keeps_the_cheap_path() -> None:
    """A notebook function reading only builtins and arguments watches no globals (hot path unchanged)."""
    ns = _nb()
    run(ns, "@memo.cache(backend=B)\ndef p(xs):\n    return len(xs)\n")
    assert ns["p"]._memo.keys.watch.globals is None
    run(ns, "@memo.cache(backend=B)\ndef q(x):\n    return x * SCALE\n")
    assert ns["q"]._memo.keys.watch.globals is not None


def test_modules_and_library_functions_count_by_name() -> None:
    """A module and a library function read as globals count by name and version: rebinding to another recomputes."""
    ns = _nb()
    ns["np"], ns["agg"] = np, np.sum
    run(ns, "@memo.cache(backend=B)\ndef s(x):\n    calls.append(x)\n    return float(agg(np.arange(x)))\n")
    assert ns["s"](4) == 6.0
    assert ns["s"](4) == 6.0
    ns["agg"] = np.max
    assert ns["s"](4) == 3.0
    assert len(ns["calls"]) == 2


def test_edited_class_is_a_new_version() -> None:
    """Redefining a notebook class the body builds with other method code recomputes; the same code hits."""
    ns = _nb()
    cls = (
        "class P:\n    def __init__(self, v):\n        self.v = v\n    def double(self):\n        return self.v * {n}\n"
    )
    body = "@memo.cache(backend=B)\ndef make(v):\n    calls.append(v)\n    return P(v).double()\n"
    run(ns, cls.format(n=2) + body)
    assert ns["make"](3) == 6
    run(ns, cls.format(n=2))
    assert ns["make"](3) == 6
    run(ns, cls.format(n=10))
    assert ns["make"](3) == 30
    assert ns["calls"] == [3, 3]


def test_cached_callee_edit_recomputes_caller() -> None:
    """A cached function calling another notebook cached function recomputes when the callee's global changes."""
    ns = _nb()
    run(
        ns,
        """
        STEP = 1
        @memo.cache(backend=B)
        def inner(x):
            return x + STEP
        @memo.cache(backend=B)
        def outer(x):
            calls.append(x)
            return inner(x) * 10
        """,
    )
    assert ns["outer"](1) == 20
    assert ns["outer"](1) == 20
    ns["STEP"] = 5
    assert ns["outer"](1) == 60
    assert ns["calls"] == [1, 1]


def test_recursive_notebook_function_hits() -> None:
    """A recursive notebook function (reading itself as a global) caches and hits."""
    ns = _nb()
    run(ns, "@memo.cache(backend=B)\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n")
    assert ns["fib"](60) == 1548008755920
    assert ns["fib"].cache_info().hits > 0


def test_read_only_array_digest_kept_and_writable_rehashed() -> None:
    """A read-only global array keeps its digest by identity; a writable one is rehashed and mutation recomputes."""
    ns = _nb()
    data = np.arange(10.0)
    ns["DATA"] = data
    run(ns, "@memo.cache(backend=B)\ndef total():\n    calls.append(1)\n    return float(DATA.sum())\n")
    assert ns["total"]() == 45.0
    data[0] = 100.0
    assert ns["total"]() == 145.0
    frozen = np.arange(4.0)
    frozen.flags.writeable = False
    assert frozen_token(frozen) is not None
    ns["DATA"] = frozen
    assert ns["total"]() == 6.0
    assert ns["total"]() == 6.0
    assert len(ns["calls"]) == 3


def test_frozen_token_refuses_what_can_change() -> None:
    """Only content that cannot change keeps a token: a read-only view of a writable array does not."""
    base = np.arange(4.0)
    view = base.view()
    view.flags.writeable = False
    assert frozen_token(view) is None
    assert frozen_token(base) is None
    df = pd.DataFrame({"a": np.arange(3.0), "b": np.arange(3)})
    assert frozen_token(df) is None
    for block in df._mgr.blocks:
        array = block.values
        while isinstance(array, np.ndarray):  # read-only down to the memory's owner (pandas versions differ)
            array.flags.writeable = False
            array = array.base
    for axis in df.axes:  # and its labels (older pandas keep a column Index's values writable)
        labels = getattr(axis, "_data", None)
        if isinstance(labels, np.ndarray):
            labels.flags.writeable = False
    token = frozen_token(df)
    assert token is not None
    assert frozen_token(df) == token
    df.columns = ["x", "y"]
    assert frozen_token(df) != token
    assert frozen_token([1, 2]) is None


def test_code_replaced_to_read_globals_starts_watching() -> None:
    """A function first reading no globals, whose __code__ is replaced by code reading one, then follows it."""
    ns = _nb()
    run(ns, "SCALE = 2\n@memo.cache(backend=B)\ndef r(x):\n    calls.append(x)\n    return x\n")
    r = ns["r"]
    assert r(3) == 3
    run(ns, "def _new(x):\n    calls.append(x)\n    return x * SCALE\n")
    r.__wrapped__.__code__ = ns["_new"].__code__  # what %autoreload does
    assert r(3) == 6
    assert r(3) == 6
    ns["SCALE"] = 5
    assert r(3) == 15
    assert len(ns["calls"]) == 3


def test_concurrent_callers_see_a_rebind() -> None:
    """Threads calling while a global is rebound end up on the new value's key (no stale digest kept)."""
    ns = _nb()
    run(ns, "SCALE = 1\n@memo.cache(backend=B)\ndef t(x):\n    return x * SCALE\n")
    t = ns["t"]
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            t(2)

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        for scale in range(2, 60):
            ns["SCALE"] = scale
            assert t(2) == 2 * scale
    finally:
        stop.set()
        for w in workers:
            w.join()


def test_decorated_notebook_function_tracks_the_wrapped_body() -> None:
    """Under a notebook decorator (functools.wraps), the globals the wrapped body reads are inputs too."""
    ns = _nb()
    run(
        ns,
        """
        import functools
        SCALE = 2
        def logged(fn):
            @functools.wraps(fn)
            def inner(*a, **k):
                return fn(*a, **k)
            return inner
        @memo.cache(backend=B)
        @logged
        def w(x):
            calls.append(x)
            return x * SCALE
        """,
    )
    assert ns["w"](2) == 4
    assert ns["w"](2) == 4
    ns["SCALE"] = 3
    assert ns["w"](2) == 6
    assert len(ns["calls"]) == 2
    assert ("data", "SCALE") in [(p.kind, p.name) for p in ns["w"].cache_explain(2).parts]


async def test_async_notebook_function_follows_globals() -> None:
    """An async notebook function recomputes when a global it reads is rebound."""
    ns = _nb()
    run(ns, "SCALE = 2\n@memo.cache(backend=B)\nasync def a(x):\n    calls.append(x)\n    return x * SCALE\n")
    assert await ns["a"](2) == 4
    assert await ns["a"](2) == 4
    ns["SCALE"] = 4
    assert await ns["a"](2) == 8
    assert len(ns["calls"]) == 2


def test_global_dataframe_changed_in_place_recomputes() -> None:
    """A writable global DataFrame edited in place (df.loc[...] = v) recomputes; a read-only one keeps its digest."""
    ns = _nb()
    ns["DF"] = pd.DataFrame({"a": [1.0, 2.0]})
    run(ns, '@memo.cache(backend=B)\ndef total():\n    calls.append(1)\n    return float(DF["a"].sum())\n')
    assert ns["total"]() == 3.0
    ns["DF"].loc[0, "a"] = 10.0
    assert ns["total"]() == 12.0
    data = np.array([[1.0], [5.0]])
    data.flags.writeable = False
    ns["DF"] = pd.DataFrame(data, columns=["a"], copy=False)
    assert ns["total"]() == 6.0
    assert ns["total"]() == 6.0
    assert len(ns["calls"]) == 3


def test_read_only_global_is_hashed_once_while_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hits on a function reading a read-only global array do not hash its content again."""
    import memo._globals as g

    hashed: list[int] = []
    real = g.hash_arguments

    def counting(items: Any) -> str:
        items = list(items)
        hashed.extend(1 for _, v in items if isinstance(v, np.ndarray))
        return real(items)

    monkeypatch.setattr(g, "hash_arguments", counting)
    ns = _nb()
    data = np.arange(1000.0)
    data.flags.writeable = False
    ns["DATA"] = data
    run(ns, "@memo.cache(backend=B)\ndef m():\n    return float(DATA.mean())\n")
    for _ in range(5):
        assert ns["m"]() == 499.5
    assert hashed == [1]
