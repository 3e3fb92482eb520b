"""``memo.CacheInspector`` headless: widget state after refresh, filter and button clicks, on every backend."""

from __future__ import annotations

import gc
import html
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ipywidgets")

import memo
from memo import admin
from tests._servers import free_port


def _define(name: str, backend: Any, **options: Any) -> Any:
    """A cached function ``nbpkg.cells.<name>`` on ``backend`` (as if written in a module)."""
    namespace: dict[str, Any] = {"__name__": "nbpkg.cells"}
    exec(f"def {name}(x):\n    return [x] * 8\n", namespace)
    return memo.cache(backend=backend, **options)(namespace[name])


@pytest.fixture(autouse=True)
def _collect() -> None:
    """Functions of earlier tests that are garbage leave the registry first."""
    gc.collect()


def _texts(grid: Any) -> list[str]:
    """The cells of a GridBox as text (a button as its description, a checkbox as [ ] or [x])."""
    texts = []
    for c in grid.children:
        if hasattr(c, "on_click"):
            texts.append(c.description)
        elif isinstance(c.value, bool):  # a row's checkbox
            texts.append("[x]" if c.value else "[ ]")
        else:
            texts.append(html.unescape(re.sub("<[^>]+>", "", c.value)))
    return texts


def _filled(backend: Any) -> tuple[Any, Any]:
    """Two functions on ``backend``: load with 3 entries (one hit), parse with 1."""
    load, parse = _define("load", backend), _define("parse", backend)
    load(1), load(2), load(3), load(3), parse("a")
    return load, parse


def test_refresh_lists_functions_and_entries_with_live_hits(backend: Any) -> None:
    """After building, the tables hold one row per function (with live hits) and one per entry."""
    alive = _filled(backend)  # kept: the registry holds functions weakly, and live ones have hit counts
    inspector = memo.CacheInspector(backend)
    assert [(f.function, f.entries) for f in inspector.functions] == [("nbpkg.cells.load", 3), ("nbpkg.cells.parse", 1)]
    assert sorted(e.args for e in inspector.shown) == ["x='a'", "x=1", "x=2", "x=3"]
    assert set(inspector.selected) == {e.key for e in inspector.entries}
    assert set(inspector.clear_buttons) == {("default", "nbpkg.cells.load"), ("default", "nbpkg.cells.parse")}
    cells = _texts(inspector.function_table)
    row = cells[cells.index("nbpkg.cells.load") : cells.index("nbpkg.cells.load") + 8]
    assert row[1:3] == ["default", "3"]
    assert row[4:6] == ["1", "3"]  # hits, misses: live stats of the registered function
    assert row[7] == "Clear"
    assert "2 functions, 4 entries" in inspector.title.value
    assert alive[0].cache_info().hits == 1
    entry_cells = _texts(inspector.entry_table)
    assert entry_cells[:8] == ["", "function", "args", "size", "age", "expires", "compute time", "hits"]
    assert entry_cells[8 + 6].endswith(("µs", "ms", " s"))  # compute time
    assert "never" in entry_cells


def test_refresh_button_rereads_the_backend(backend: Any) -> None:
    """Entries written after the inspector was built appear when Refresh is clicked."""
    load, _ = _filled(backend)
    inspector = memo.CacheInspector(backend)
    load(40)
    assert len(inspector.entries) == 4
    inspector.refresh_button.click()
    assert len(inspector.entries) == 5
    assert "x=40" in _texts(inspector.entry_table)


def test_filter_narrows_both_tables_without_reading(backend: Any) -> None:
    """Typing in the filter keeps only functions or entries whose name or arguments contain the text."""
    _filled(backend)
    inspector = memo.CacheInspector(backend)
    inspector.filter.value = "PARSE"
    assert [e.function for e in inspector.shown] == ["nbpkg.cells.parse"]
    assert set(inspector.clear_buttons) == {("default", "nbpkg.cells.parse")}
    inspector.filter.value = "x=3"  # an argument, not a name
    assert [e.args for e in inspector.shown] == ["x=3"]
    assert inspector.clear_buttons == {}
    inspector.filter.value = ""
    assert len(inspector.shown) == 4


def test_delete_selected_deletes_only_the_ticked_entries(backend: Any) -> None:
    """Ticking two entries and clicking Delete selected deletes those two from the backend, no other."""
    load, _ = _filled(backend)
    inspector = memo.CacheInspector(backend)
    doomed = [e.key for e in inspector.shown if e.args in ("x=1", "x='a'")]
    for key in doomed:
        inspector.selected[key].value = True
    inspector.delete_button.click()
    left = {e.key for e in admin.entries(backend)}
    assert left.isdisjoint(doomed)
    assert len(left) == 2
    assert sorted(e.args for e in inspector.shown) == ["x=2", "x=3"]
    assert "deleted 2 of 2" in inspector.status.value
    misses = load.cache_info().misses
    load(1)
    assert load.cache_info().misses == misses + 1  # it was really gone


def test_ticks_survive_filtering_and_only_shown_ticked_rows_are_deleted(backend: Any) -> None:
    """A tick stays through filter changes and refreshes; Delete selected deletes ticked rows still shown."""
    _filled(backend)
    inspector = memo.CacheInspector(backend)
    by_args = {e.args: e.key for e in inspector.shown}
    inspector.selected[by_args["x=1"]].value = True
    inspector.selected[by_args["x='a'"]].value = True
    inspector.filter.value = "load"  # hides parse('a'), still ticked
    inspector.refresh_button.click()
    assert inspector.selected[by_args["x=1"]].value is True
    assert inspector.delete_selected() == 1
    assert "deleted 1 of 1 selected entry" in inspector.status.value
    inspector.filter.value = ""
    assert inspector.selected[by_args["x='a'"]].value is True
    assert {e.args for e in admin.entries(backend)} == {"x=2", "x=3", "x='a'"}


def test_a_redraw_closes_the_replaced_cells(backend: Any) -> None:
    """Cells replaced by a redraw are closed, so typing in the filter does not pile up widget models."""
    _filled(backend)
    inspector = memo.CacheInspector(backend)
    old = [*inspector.function_table.children, *inspector.entry_table.children]
    inspector.filter.value = "parse"
    assert all(cell.comm is None for cell in old)
    assert all(cell.comm is not None for cell in inspector.entry_table.children)


def test_delete_with_nothing_selected_deletes_nothing(backend: Any) -> None:
    """Delete selected with no box ticked says so and leaves every entry."""
    _filled(backend)
    inspector = memo.CacheInspector(backend)
    assert inspector.delete_selected() == 0
    assert "tick" in inspector.status.value
    assert len(admin.entries(backend)) == 4


def test_clear_button_of_a_function_clears_that_function_only(backend: Any) -> None:
    """A function row's Clear button deletes all of its entries and keeps the other function's."""
    _filled(backend)
    inspector = memo.CacheInspector(backend)
    inspector.clear_buttons[("default", "nbpkg.cells.load")].click()
    assert [e.function for e in admin.entries(backend)] == ["nbpkg.cells.parse"]
    assert [e.function for e in inspector.shown] == ["nbpkg.cells.parse"]
    assert "cleared nbpkg.cells.load: 3 entries deleted" in inspector.status.value


def test_clear_all_button_empties_memo_keys_but_not_foreign_ones(backend: Any) -> None:
    """Clear all deletes every memo entry in the backend; another program's key stays."""
    _filled(backend)
    backend.set("someone:else", b"theirs")
    inspector = memo.CacheInspector(backend)
    inspector.clear_all_button.click()
    assert admin.entries(backend) == []
    assert inspector.entries == []
    assert inspector.shown == []
    assert backend.get("someone:else") is not None
    assert "4 entries deleted" in inspector.status.value


def test_default_backend_when_none(backend: Any) -> None:
    """CacheInspector() inspects the configured default backend."""
    memo.configure(backend=backend)
    _define("load", None)(7)
    inspector = memo.CacheInspector()
    assert [e.args for e in inspector.shown] == ["x=7"]
    inspector.clear_all_button.click()
    assert admin.entries(backend) == []


def test_a_file_url_from_another_process_lists_and_clears(tmp_path: Path) -> None:
    """An inspector on a file URL sees what another process wrote (no live stats) and clears it."""
    cache = tmp_path / "shared"
    code = f"import memo\n@memo.cache(backend={cache.as_uri()!r})\ndef far(x):\n    return x\nfar(1); far(2)\n"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
    url = cache.as_uri()
    inspector = memo.CacheInspector(url)
    assert [(f.function, f.entries, f.stats) for f in inspector.functions] == [("__main__.far", 2, None)]
    row = _texts(inspector.function_table)[8:16]
    assert row[4:7] == ["—", "—", "—"]  # not live in this process: no hit counts to show
    inspector.clear_buttons[("default", "__main__.far")].click()
    assert admin.entries(url) == []


def test_unreachable_backend_is_reported_in_the_widget() -> None:
    """A backend that cannot be read shows the error in the status line instead of raising."""
    pytest.importorskip("redis")
    url = f"redis://127.0.0.1:{free_port()}/0"
    inspector = memo.CacheInspector(url)
    assert "could not read the backend" in inspector.status.value
    assert inspector.entries == []
    inspector.clear_all_button.click()  # must not raise out of the callback either
    assert "failed" in inspector.status.value or "could not read" in inspector.status.value


def test_max_rows_caps_the_drawn_entries(backend: Any) -> None:
    """Only max_rows entry rows are drawn and the status says how many match."""
    load = _define("load", backend)
    for i in range(5):
        load(i)
    inspector = memo.CacheInspector(backend, max_rows=2)
    assert len(inspector.entries) == 5
    assert len(inspector.shown) == 2
    assert "showing 2 of 5" in inspector.status.value
    inspector.filter.value = "x=4"  # narrowed below the cap: the note goes
    assert [e.args for e in inspector.shown] == ["x=4"]
    assert "showing" not in inspector.status.value


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_max_rows_must_be_a_positive_int(bad: Any) -> None:
    """max_rows that is not a positive int is refused with a ConfigurationError naming it."""
    with pytest.raises(memo.ConfigurationError, match="max_rows"):
        memo.CacheInspector(max_rows=bad)


def test_displays_as_a_widget_view() -> None:
    """The inspector's display bundle is the ipywidgets view of its VBox (what Jupyter and voila render)."""
    inspector = memo.CacheInspector()
    bundle = inspector._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == inspector.widget.model_id
    assert "memo-inspector" in inspector.widget._dom_classes
    assert "CacheInspector(" in repr(inspector)


def test_import_memo_and_the_name_stay_light() -> None:
    """Touching memo.CacheInspector imports no ipywidgets; building one does."""
    code = (
        "import sys, memo; memo.CacheInspector; print('ipywidgets' in sys.modules); "
        "memo.CacheInspector(); print('ipywidgets' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
