"""The magics and %%cache in a real Jupyter kernel (nbclient + ipykernel), across a kernel restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests._helpers import cell_text

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _execute(cells: list[str], workdir: Path) -> tuple[list[str], list[str]]:
    """Run the cells in a new kernel (its cwd ``workdir``); each cell's outputs as text, and as HTML."""
    nb = nbformat.v4.new_notebook()
    setup = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n%load_ext memo"
    nb.cells = [nbformat.v4.new_code_cell(source) for source in [setup, *cells]]
    for cell in nb.cells:
        if "no_such_function" in cell.source:  # expected to fail: nbclient records it and goes on
            cell.metadata["tags"] = ["raises-exception"]
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    return [cell_text(cell) for cell in nb.cells[1:]], [_html(cell) for cell in nb.cells[1:]]


def _html(cell: Any) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.get("outputs", []))


def _runs(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_magics_and_cell_cache_across_a_restart(tmp_path: Path) -> None:
    """Second call hits; %cache_clear removes; a new kernel on the same FileBackend lists, restores and clears."""
    cache = tmp_path / "cache"
    calls, cells = tmp_path / "calls.txt", tmp_path / "cells.txt"
    configure = f"import memo\nmemo.configure(backend={f'file://{cache}'!r})"
    define = (
        "@memo.cache\n"
        "def double(x):\n"
        f"    open({str(calls)!r}, 'a').write('ran\\n')\n"
        "    return x * 2\n"
        "double(2), double(2), double.cache_info().hits"
    )
    cached_cell = f"%%cache\nopen({str(cells)!r}, 'a').write('ran\\n')\ntotal = N * 10\nprint('total is', total)"

    first, html = _execute(
        [
            configure,
            define,
            "%cache_info double",
            "%cache_clear double",
            "double(3)",  # one entry left for the next kernel
            "N = 4",
            cached_cell,
            cached_cell,
            "N = 5",
            cached_cell,
            "total",
        ],
        tmp_path,
    )
    assert first[1] == "(4, 4, 1)"  # the second call was a hit
    assert "__main__.double" in first[2]
    assert "<table>" in html[2]  # Jupyter gets the HTML table, a terminal the text
    assert first[3].strip() == "removed 1 entry of __main__.double"
    assert _runs(calls) == 2
    assert first[6] == "total is 40\n"
    assert first[7].startswith("[%%cache] restored total")
    assert first[7].endswith("total is 40\n")  # the output is shown again
    assert first[9] == "total is 50\n"  # a changed input ran the cell
    assert first[10] == "50"
    assert _runs(cells) == 2

    second, _ = _execute(
        [
            configure,
            "%cache_list double",
            "N = 4",
            cached_cell,
            "total",
            "%cache_clear double",
            "%cache_list",
            "%cache_info no_such_function",
        ],
        tmp_path,
    )
    assert "__main__.double" in second[1]
    assert "x=3" in second[1]  # listed from the backend: double is not defined in this kernel
    assert second[3].startswith("[%%cache] restored total")
    assert second[4] == "40"
    assert _runs(cells) == 2  # restored across the restart, not run
    assert second[5].strip() == "removed 1 entry of __main__.double"
    assert "__main__.double" not in second[6]
    assert "cells/__main__.cells" in second[6]
    assert "no cached function named 'no_such_function'" in second[7]
    assert "Traceback" not in second[7]
    assert len(second[7].strip().splitlines()) == 1
