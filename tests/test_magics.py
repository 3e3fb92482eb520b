"""The %cache_* line magics through IPython's test shell (IPython.testing.globalipapp)."""

from __future__ import annotations

import gc
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
from memo._ipython import Table


@pytest.fixture
def ip() -> Iterator[Any]:
    """IPython's test shell with memo's magics loaded and a clean namespace for the test's names."""
    shell = start_ipython() or get_ipython()  # the process-wide test shell (started on first use)
    shell.run_line_magic("load_ext", "memo")
    before = set(shell.user_ns)
    yield shell
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]
    gc.collect()  # the test's functions leave the registry


def _define(ip: Any, name: str = "double", options: str = "") -> Any:
    ip.run_cell(f"import memo\n@memo.cache({options})\ndef {name}(x):\n    return x * 2\n")
    return ip.user_ns[name]


def test_load_ext_registers_every_magic(ip: Any) -> None:
    """%load_ext memo registers the four line magics and the %%cache cell magic."""
    magics = ip.magics_manager.magics
    assert {"cache_info", "cache_list", "cache_clear", "cache_inspect"} <= set(magics["line"])
    assert "cache" in magics["cell"]


def test_cache_info_counts_hits_misses_entries(ip: Any) -> None:
    """%cache_info f shows this process's hits and misses and the backend's entries and bytes."""
    double = _define(ip)
    double(1), double(1), double(2)
    table = ip.run_line_magic("cache_info", "double")
    assert isinstance(table, Table)
    (row,) = table.rows
    assert row[:4] == ["__main__.double", "1", "2", "2"]
    assert row[4].endswith("B")


def test_cache_info_without_names_lists_every_function(ip: Any) -> None:
    """%cache_info alone lists every function with entries or live on the backends in use."""
    _define(ip, "first")(1)
    _define(ip, "second")
    labels = [r[0] for r in ip.run_line_magic("cache_info", "").rows]
    assert "__main__.first" in labels
    assert "__main__.second" in labels


def test_cache_info_verbose_shows_cache_explain(ip: Any) -> None:
    """%cache_info -v f adds f.cache_explain() when the function has it, and says so when not."""
    double = _define(ip)
    (shared,) = ip.run_line_magic("cache_info", "-v double").notes
    assert shared.startswith("__main__.double:\n__main__.double  version ")  # what every call's key shares
    del double.cache_explain
    assert "no key explanation" in "\n".join(ip.run_line_magic("cache_info", "-v double").notes)
    double.cache_explain = lambda: "x: 1 -> d2b566c9"
    (note,) = ip.run_line_magic("cache_info", "-v double").notes
    assert note == "__main__.double:\nx: 1 -> d2b566c9"


def test_cache_list_shows_entries(ip: Any) -> None:
    """%cache_list f lists each entry: function, arguments, size, age, expiry, compute time."""
    double = _define(ip, options="ttl=600")
    double(21)
    table = ip.run_line_magic("cache_list", "double")
    assert table.columns == ["function", "arguments", "size", "age", "expires", "compute time"]
    (row,) = table.rows
    assert row[0] == "__main__.double"
    assert row[1] == "x=21"
    assert row[4].startswith("in ")


def test_cache_clear_says_what_it_removed(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """%cache_clear f deletes every entry of f and prints how many."""
    double = _define(ip)
    double(1), double(2)
    ip.run_line_magic("cache_clear", "double")
    assert capsys.readouterr().out.strip() == "removed 2 entries of __main__.double"
    assert double.cache_entries() == []
    assert double(1) == 2
    assert double.cache_info().misses == 3


def test_cache_clear_all_and_namespace(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """--namespace clears one namespace only; --all clears every memo entry."""
    _define(ip, "a", 'namespace="etl"')(1)
    _define(ip, "b")(1)
    ip.run_line_magic("cache_clear", "--namespace etl")
    assert capsys.readouterr().out.strip() == "removed 1 entry of namespace 'etl'"
    assert [e.function for e in admin.entries()] == ["__main__.b"]
    ip.run_line_magic("cache_clear", "--all")
    assert "removed 1 entry (every function)" in capsys.readouterr().out
    assert admin.entries() == []


def test_names_resolve_by_qualified_name_and_registry(ip: Any) -> None:
    """A name resolves as a notebook variable, a dotted path, or a live module.qualname."""
    double = _define(ip)
    double(3)
    ip.user_ns["holder"] = type("Holder", (), {"fn": double})
    assert ip.run_line_magic("cache_list", "holder.fn").rows[0][1] == "x=3"
    del ip.user_ns["double"]  # no longer a notebook name: found in the registry instead
    assert ip.run_line_magic("cache_list", "__main__.double").rows[0][1] == "x=3"


def test_functions_from_before_a_restart_are_found_on_the_backend(
    ip: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A function that is not live (written before a kernel restart) is listed and cleared via memo.admin."""
    backend = memo.FileBackend(tmp_path / "cache")
    memo.configure(backend=backend)
    namespace: dict[str, Any] = {"__name__": "oldnb"}
    exec("def load(x):\n    return x\n", namespace)
    memo.cache(namespace["load"])(7)
    del namespace
    gc.collect()
    assert not [f for f in memo.cached_functions() if f.cache_name == "oldnb.load"]
    (row,) = ip.run_line_magic("cache_info", "oldnb.load").rows
    assert row == ["oldnb.load", "-", "-", "1", row[4], "-"]
    assert ip.run_line_magic("cache_list", "load").rows[0][1] == "x=7"
    ip.run_line_magic("cache_clear", "oldnb.load")
    assert capsys.readouterr().out.strip() == "removed 1 entry of oldnb.load"
    assert admin.entries(backend) == []
    backend.close()


def test_backend_option_reads_another_store(ip: Any, tmp_path: Path) -> None:
    """-b URL lists and clears a backend other than the configured one."""
    url = f"file://{tmp_path / 'other'}"
    double = _define(ip, options=f"backend={url!r}")
    double(5)
    assert ip.run_line_magic("cache_list", f"-b {url}").rows[0][1] == "x=5"
    ip.run_line_magic("cache_clear", f"--all -b {url}")
    assert admin.entries(url) == []


def test_unknown_name_is_one_line_error(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown name is a one-line UsageError, not a traceback, for every magic."""
    for magic in ("cache_info", "cache_list", "cache_clear"):
        result = ip.run_cell(f"%{magic} no_such_function")
        assert isinstance(result.error_in_exec, UsageError)
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert f"%{magic}: no cached function named 'no_such_function'" in err
        assert len(err.strip().splitlines()) == 1


def test_cache_clear_without_target_is_usage_error(ip: Any) -> None:
    """%cache_clear with nothing to clear refuses instead of clearing everything."""
    with pytest.raises(UsageError, match="--all or --namespace"):
        ip.run_line_magic("cache_clear", "")


def test_table_renders_html_and_text() -> None:
    """A table is escaped HTML for Jupyter and aligned plain text for a terminal."""
    table = Table("t", ["function", "hits"], [["<f>", "3"], ["g", "12"]])
    html = table._repr_html_()
    assert "<table>" in html
    assert "&lt;f&gt;" in html
    assert "<f>" not in html
    assert str(table).splitlines() == ["t", "function  hits", "<f>          3", "g           12"]


def test_cache_inspect_shows_the_inspector(ip: Any) -> None:
    """%cache_inspect returns memo's CacheInspector widget for the cell to display."""
    assert isinstance(ip.run_line_magic("cache_inspect", ""), memo.CacheInspector)


def test_magics_stand_on_admin_and_public_names() -> None:
    """memo/_ipython.py imports nothing of memo but its public names, admin, the registry, the widget and _magicargs."""
    import ast

    import memo._ipython

    tree = ast.parse(Path(memo._ipython.__file__).read_text())
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            used |= {node.module} | {f"{node.module}.{a.name}" for a in node.names if node.module == "memo"}
        elif isinstance(node, ast.Import):
            used |= {a.name for a in node.names}
    ours = {m for m in used if m == "memo" or m.startswith("memo.")}
    assert ours <= {"memo", "memo.admin", "memo._registry", "memo._widget", "memo._magicargs"}, ours


def test_sizes_and_durations_read_for_people() -> None:
    """Sizes step through B, KiB, MiB, GiB; durations through s, min, h, d; expiry says never/in/expired."""
    from memo._ipython import _expires, _size, _span

    assert [_size(n) for n in (512, 1536, 12 * 2**20, 3 * 2**30)] == ["512 B", "1.5 KiB", "12.0 MiB", "3.0 GiB"]
    assert [_span(s) for s in (0.25, 4, 42, 300, 7200, 172800)] == [
        "0.25 s",
        "4.0 s",
        "42 s",
        "5 min",
        "2.0 h",
        "2.0 d",
    ]
    assert [_expires(e, 100.0) for e in (None, 130.0, 50.0)] == ["never", "in 30 s", "expired"]
