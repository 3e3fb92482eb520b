"""The %%cache cell magic through IPython's test shell: what it keys on, restores and refuses."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError
from IPython.core.getipython import get_ipython
from IPython.testing.globalipapp import start_ipython

import memo
from memo import admin
from memo._cellcache import NAMESPACE
from memo._cellnames import analyse


@pytest.fixture
def ip() -> Iterator[Any]:
    """IPython's test shell with memo loaded; the test's variables are removed after it."""
    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "memo")
    before = set(shell.user_ns)
    yield shell
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]
    gc.collect()


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """A file each run of a test cell appends one line to: how many times the body really ran."""
    return tmp_path / "runs.txt"


def _count(runs: Path) -> int:
    return len(runs.read_text().splitlines()) if runs.exists() else 0


def _tick(runs: Path) -> str:
    return f"open({str(runs)!r}, 'a').write('ran\\n')\n"


def _cell(ip: Any, line: str, body: str) -> Any:
    result = ip.run_cell(f"%%cache {line}\n{body}".replace("%%cache \n", "%%cache\n"))
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result


# -- analysis ---------------------------------------------------------------------------------


def test_analyse_reads_before_assignment_only() -> None:
    """A name bound by an earlier statement is not an input; one read first (or in place) is."""
    assert analyse("a = 1\nb = a + c") == (("c",), ("a", "b"))
    assert analyse("n = n + 1") == (("n",), ("n",))
    assert analyse("n += 1") == (("n",), ("n",))


def test_analyse_function_scopes() -> None:
    """A function's parameters and locals are not inputs; the globals its body reads are."""
    names = analyse("def f(x):\n    y = x * SCALE\n    return y\nout = f(2)")
    assert names == (("SCALE",), ("f", "out"))
    assert analyse("def g():\n    global total\n    total = 1\ng()").assigns == ("g", "total")
    assert analyse("squares = [i * i for i in data]").reads == ("data",)


def test_analyse_imports_and_classes() -> None:
    """Imports and class definitions bind names; class bodies' global reads are inputs."""
    assert analyse("import numpy as np\nfrom os import path") == ((), ("np", "path"))
    assert analyse("class K:\n    rate = RATE").reads == ("RATE",)


# -- restore and recompute --------------------------------------------------------------------


def test_rerun_restores_without_running(ip: Any, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Re-running an unchanged cell restores its variables, does not run it, and says so in one line."""
    ip.user_ns["SCALE"] = 3
    body = _tick(runs) + "y = SCALE * 2\nz = [y] * 2\n"
    _cell(ip, "", body)
    assert _count(runs) == 1
    assert ip.user_ns["y"] == 6
    capsys.readouterr()
    del ip.user_ns["y"], ip.user_ns["z"]
    _cell(ip, "", body)
    assert _count(runs) == 1
    assert ip.user_ns["y"] == 6
    assert ip.user_ns["z"] == [6, 6]
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith("[%%cache] restored y, z")
    assert "did not run" in out[0]


def test_changed_input_recomputes(ip: Any, runs: Path) -> None:
    """A changed value of a name the cell reads runs the cell; the old value hits again."""
    ip.user_ns["SCALE"] = 3
    body = _tick(runs) + "y = SCALE * 2\n"
    _cell(ip, "", body)
    ip.user_ns["SCALE"] = 4
    _cell(ip, "", body)
    assert _count(runs) == 2
    assert ip.user_ns["y"] == 8
    ip.user_ns["SCALE"] = 3
    _cell(ip, "", body)
    assert _count(runs) == 2
    assert ip.user_ns["y"] == 6


def test_code_change_recomputes_comment_does_not(ip: Any, runs: Path) -> None:
    """Editing the code runs the cell; editing a comment or blank lines does not."""
    _cell(ip, "", _tick(runs) + "y = 1\n")
    _cell(ip, "", "# a comment\n" + _tick(runs) + "\ny = 1  # same code\n")
    assert _count(runs) == 1
    _cell(ip, "", _tick(runs) + "y = 2\n")
    assert _count(runs) == 2
    assert ip.user_ns["y"] == 2


def test_input_mutated_in_place_is_never_stale(ip: Any, runs: Path) -> None:
    """A cell that appends to an input list runs again (as plain Python would): the list changed."""
    ip.user_ns["items"] = []
    body = _tick(runs) + "items.append(1)\nn = len(items)\n"
    _cell(ip, "", body)
    _cell(ip, "", body)
    assert _count(runs) == 2
    assert ip.user_ns["items"] == [1, 1]
    assert ip.user_ns["n"] == 2


def test_mutated_input_is_restored_with_the_outputs(ip: Any, runs: Path) -> None:
    """Restoring a cell that mutated an input puts the input's after-state back too."""
    ip.user_ns["config"] = {"a": 1}
    body = _tick(runs) + "config['b'] = 2\ndone = True\n"
    _cell(ip, "", body)
    ip.user_ns["config"] = {"a": 1}  # as before the cell ran (e.g. the defining cell re-run)
    _cell(ip, "", body)
    assert _count(runs) == 1
    assert ip.user_ns["config"] == {"a": 1, "b": 2}


def test_output_and_value_are_replayed(ip: Any, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Printed text and rich displays are shown again on a restore; the last expression is the cell's value."""
    body = (
        _tick(runs) + "from IPython.display import display, HTML\nprint('hello')\ndisplay(HTML('<b>x</b>'))\n40 + 2\n"
    )
    shown: list[dict[str, Any]] = []
    publish = ip.display_pub.publish
    ip.display_pub.publish = lambda data, *a, **kw: (shown.append(data), publish(data, *a, **kw))
    try:
        first = _cell(ip, "", body)
        (displayed,) = shown  # the HTML object, in the formats this front end shows
        capsys.readouterr()
        again = _cell(ip, "", body)
    finally:
        del ip.display_pub.publish
    assert first.result == 42
    assert again.result == 42
    assert _count(runs) == 1
    assert "hello" in capsys.readouterr().out
    assert shown == [displayed, displayed]


def test_named_variables_only(ip: Any, runs: Path) -> None:
    """%%cache a b keeps only a and b; other names the cell sets are not restored."""
    body = _tick(runs) + "a = 1\nb = 2\nscratch = 3\n"
    _cell(ip, "a b", body)
    del ip.user_ns["a"], ip.user_ns["b"], ip.user_ns["scratch"]
    _cell(ip, "a b", body)
    assert _count(runs) == 1
    assert (ip.user_ns["a"], ip.user_ns["b"]) == (1, 2)
    assert "scratch" not in ip.user_ns


def test_force_runs_and_stores_again(ip: Any, runs: Path) -> None:
    """-f runs the cell even when cached."""
    _cell(ip, "", _tick(runs) + "y = 1\n")
    _cell(ip, "-f", _tick(runs) + "y = 1\n")
    assert _count(runs) == 2


def test_unhashable_input_runs_uncached(ip: Any, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An input without deterministic content is named in one line and the cell runs every time."""
    import threading

    ip.user_ns["guard"] = threading.Lock()
    body = _tick(runs) + "held = guard.locked()\n"
    _cell(ip, "", body)
    _cell(ip, "", body)
    assert _count(runs) == 2
    assert "not cached: input 'guard'" in capsys.readouterr().out


def test_unpicklable_variable_is_not_stored(ip: Any, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A variable that cannot be pickled: the cell's effects stay, nothing is stored, one line says why."""
    body = _tick(runs) + "import threading\nlock = threading.Lock()\n"
    _cell(ip, "", body)
    _cell(ip, "", body)
    assert _count(runs) == 2
    assert "not stored: lock cannot be pickled" in capsys.readouterr().out


def test_failing_cell_fails_and_stores_nothing(ip: Any, runs: Path) -> None:
    """A cell that raises makes the %%cache cell fail too, and nothing is stored."""
    body = _tick(runs) + "y = 1 / 0\n"
    with pytest.raises(UsageError, match="the cell raised"):
        _cell(ip, "", body)
    assert admin.entries(namespace=NAMESPACE) == []


def test_ttl_expires(ip: Any, runs: Path) -> None:
    """--ttl S keeps the result S seconds; after that the cell runs again."""
    body = _tick(runs) + "y = 1\n"
    _cell(ip, "--ttl 0.3", body)
    _cell(ip, "--ttl 0.3", body)
    assert _count(runs) == 1
    time.sleep(0.4)
    _cell(ip, "--ttl 0.3", body)
    assert _count(runs) == 2


def test_backend_url_and_admin_listing(ip: Any, runs: Path, tmp_path: Path) -> None:
    """--backend URL stores there, under memo's layout in namespace 'cells', listed by memo.admin."""
    url = f"file://{tmp_path / 'cells'}"
    ip.user_ns["SCALE"] = 2
    _cell(ip, f"--backend {url}", _tick(runs) + "y = SCALE\n")
    (entry,) = admin.entries(url, namespace=NAMESPACE)
    assert entry.function == "__main__.cells"
    assert entry.args == "reads SCALE; sets y"
    _cell(ip, f"--backend {url}", _tick(runs) + "y = SCALE\n")
    assert _count(runs) == 1
    assert admin.clear(url, namespace=NAMESPACE) == 1


def test_damaged_record_is_a_miss(ip: Any, runs: Path, tmp_path: Path) -> None:
    """A corrupted record is never unpickled: the cell runs again and stores a good one."""
    backend = memo.FileBackend(tmp_path / "cache")
    memo.configure(backend=backend)
    _cell(ip, "", _tick(runs) + "y = 1\n")
    (key,) = list(backend.keys(NAMESPACE + ":"))
    data = bytearray(backend.get(key) or b"")
    data[-1] ^= 0xFF
    backend.set(key, bytes(data))
    _cell(ip, "", _tick(runs) + "y = 1\n")
    assert _count(runs) == 2
    _cell(ip, "", _tick(runs) + "y = 1\n")
    assert _count(runs) == 2
    backend.close()


def test_disabled_memo_runs_the_cell(ip: Any, runs: Path) -> None:
    """With memo.disable() the cell always runs."""
    with memo.disabled():
        _cell(ip, "", _tick(runs) + "y = 1\n")
        _cell(ip, "", _tick(runs) + "y = 1\n")
    assert _count(runs) == 2


def test_global_read_by_an_earlier_cells_function_is_an_input(ip: Any, runs: Path) -> None:
    """A cell calling a notebook function runs again when a global that function reads changes."""
    ip.run_cell("SCALE = 3\ndef scale(x):\n    return x * SCALE\n")
    body = _tick(runs) + "y = scale(2)\n"
    _cell(ip, "", body)
    ip.run_cell("SCALE = 4")
    _cell(ip, "", body)
    assert _count(runs) == 2
    assert ip.user_ns["y"] == 8


def test_ipython_syntax_in_the_cell(ip: Any, runs: Path) -> None:
    """Magics and shell escapes inside the cell are fine: the cell is analysed as IPython runs it."""
    body = _tick(runs) + "%time y = 1\n"
    _cell(ip, "", body)
    _cell(ip, "", body)
    assert _count(runs) == 1
    assert ip.user_ns["y"] == 1


def test_syntax_error_fails_the_cell(ip: Any) -> None:
    """A cell that does not parse fails as usual and stores nothing."""
    with pytest.raises(UsageError, match="the cell raised"):
        _cell(ip, "", "y = (\n")
    assert admin.entries(namespace=NAMESPACE) == []


@pytest.mark.parametrize("kind", ["memory", "file", "redis"])
def test_restores_from_every_backend(ip: Any, runs: Path, kind: str, tmp_path: Path, request: Any) -> None:
    """A cell's result is stored and restored through each built-in backend's protocol."""
    if kind == "memory":
        memo.configure(backend=memo.MemoryBackend())
    elif kind == "file":
        memo.configure(backend=memo.FileBackend(tmp_path / "cache"))
    else:
        memo.configure(backend=request.getfixturevalue("redis_backend"))
    ip.user_ns["rows"] = list(range(10))
    body = _tick(runs) + "total = sum(rows)\nsquare = lambda v: v * v\n"
    _cell(ip, "", body)
    del ip.user_ns["total"], ip.user_ns["square"]
    _cell(ip, "", body)
    assert _count(runs) == 1
    assert ip.user_ns["total"] == 45
    assert ip.user_ns["square"](3) == 9  # a notebook lambda round-trips (cloudpickle)
    (entry,) = admin.entries(namespace=NAMESPACE)
    assert entry.args == "reads rows; sets square, total"


def test_records_are_signed_with_the_secret(ip: Any, runs: Path) -> None:
    """With a secret, a record is signed: another secret never restores it; no secret leaves it in place."""
    memo.configure(secret="first-secret")
    body = _tick(runs) + "y = 1\n"
    _cell(ip, "", body)
    memo.configure(secret="other-secret")
    _cell(ip, "", body)
    assert _count(runs) == 2  # a bad signature is a miss: run, and stored signed with the new secret
    _cell(ip, "", body)
    assert _count(runs) == 2
    memo.configure(secret=None)
    _cell(ip, "--ttl 0", body)  # unverifiable without a secret: run, nothing stored, nothing deleted
    assert _count(runs) == 3
    memo.configure(secret="other-secret")
    _cell(ip, "", body)
    assert _count(runs) == 3


def test_unpicklable_value_is_kept_as_its_display(ip: Any, runs: Path) -> None:
    """A cell whose last value cannot be pickled is stored with that value's display instead."""
    body = _tick(runs) + "import threading\ny = 1\nthreading.Lock()\n"
    assert _cell(ip, "", body).result is not None
    shown: list[dict[str, Any]] = []
    publish = ip.display_pub.publish
    ip.display_pub.publish = lambda data, *a, **kw: (shown.append(data), publish(data, *a, **kw))
    try:
        again = _cell(ip, "", body)
    finally:
        del ip.display_pub.publish
    assert _count(runs) == 1
    assert again.result is None
    assert any("lock object" in d.get("text/plain", "") for d in shown)


class _Down(memo.BaseBackend):
    """A backend whose every call fails as an unreachable server's would."""

    def get(self, key: str) -> bytes | None:
        raise ConnectionError("connection refused")

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        raise ConnectionError("connection refused")


def test_failing_backend_runs_the_cell(ip: Any, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A backend that fails: the cell runs every time, its variables are set, one line says why."""
    memo.configure(backend=_Down())
    _cell(ip, "", _tick(runs) + "y = 5\n")
    _cell(ip, "", _tick(runs) + "y = 5\n")
    assert _count(runs) == 2
    assert ip.user_ns["y"] == 5
    out = capsys.readouterr().out
    assert "backend failed (ConnectionError: connection refused)" in out


def test_cells_are_keyed_by_notebook_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cells' function names the notebook by stem and path digest, so same-named notebooks never share."""
    from memo._cellcache import cell_function
    from memo._keys import check_segment

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert cell_function({}) == "__main__.cells"
    first = cell_function({"__session__": "/work/a/sales.ipynb"})
    second = cell_function({"__session__": "/work/b/sales.ipynb"})
    assert first.startswith("sales-")
    assert second.startswith("sales-")
    assert first.endswith(".cells")
    assert first != second
    assert check_segment("function", cell_function({"__vsc_ipynb_file__": "C:/nb/x.ipynb"})).startswith("x-")


def test_comprehension_variables_are_not_notebook_names(ip: Any, runs: Path) -> None:
    """A comprehension's own variable is neither an input nor restored (nor deleted) on any Python."""
    assert analyse("w = [(y := q) for q in Q]") == (("Q",), ("w", "y"))
    ip.user_ns["i"] = 99
    body = _tick(runs) + "squares = [i * i for i in range(3)]\n"
    _cell(ip, "", body)
    _cell(ip, "", body)
    assert _count(runs) == 1
    assert ip.user_ns["i"] == 99
    assert ip.user_ns["squares"] == [0, 1, 4]


def test_deleted_names_are_deleted_again_unknown_names_left_alone(ip: Any, runs: Path) -> None:
    """A name the cell deletes is deleted on a restore; a named variable the cell never sets is left alone."""
    body = _tick(runs) + "scratch = 1\nkept = scratch + 1\ndel scratch\n"
    _cell(ip, "kept scratch typo", body)
    ip.user_ns["scratch"], ip.user_ns["typo"] = "stale", "mine"
    _cell(ip, "kept scratch typo", body)
    assert _count(runs) == 1
    assert ip.user_ns["kept"] == 2
    assert "scratch" not in ip.user_ns
    assert ip.user_ns["typo"] == "mine"
