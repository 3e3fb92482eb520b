"""Every notebook in notebooks/ runs top to bottom on a fresh kernel and shows what it teaches.

Each ``notebooks/*.ipynb`` is executed with nbclient + ipykernel in its own working
directory and file cache (a new notebook is picked up by the glob). Cells are found by
their ids, and the outputs that carry the lesson are asserted: the second call is a hit,
an edited global recomputes, concurrent async callers compute once, listings show the
entries.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from memo import admin
from tests._helpers import cell_text

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

Outputs = dict[str, str]


def _execute(path: Path, workdir: Path) -> Outputs:
    """Run the notebook in a new kernel with ``workdir`` as its cwd; each code cell's text output by cell id."""
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    return {cell["id"]: cell_text(cell) for cell in book.cells if cell.cell_type == "code"}


def _check_quickstart(out: Outputs, cache: Path) -> None:
    assert "first call" in out["first-call"]
    assert "hits=1, misses=1" in out["second-call"]
    assert "x=4" in out["entries"]
    assert "slow_square(4) = 17" in out["after-edit"]  # the edited body ran: not the stale 16
    assert "hits=0, misses=1" in out["after-edit"]
    assert re.search(r"slow_square\(x=5\) miss, computed.*\n.*slow_square\(x=5\) hit, saved", out["verbose"])
    assert "deleted 2 entries" in out["clear"]


def _check_backends(out: Outputs, cache: Path) -> None:
    for cell in ("memory", "file", "redis"):
        assert "hits=1, misses=2" in out[cell], cell
        assert "cube: 2 entries" in out[cell], cell
    assert "cube', 2)]" in out["file-again"]  # a second backend object on the directory sees the entries
    for name in ("memory", "file", "redis"):
        assert f"{name}: cleared 2 entries" in out["clear"]


def _check_async(out: Outputs, cache: Path) -> None:
    assert "calls=1" in out["hit"]
    assert "10 results" in out["gather"]
    assert "calls=1" in out["gather"]
    assert "after refresh: calls = 1" in out["controls"]
    assert "deleted user 2: True" in out["controls"]


def _check_magics(out: Outputs, cache: Path) -> None:
    assert re.search(r"slow_square\s+1\s+4\s+4", out["cache-info"])
    assert "4 entries of slow_square" in out["cache-list"]
    assert "module  time" in out["cache-info-verbose"]
    assert out["cell-cache-first"].strip() == "total: 14"
    assert "[%%cache] restored squares, total" in out["cell-cache-again"]  # the copy did not run
    assert "removed 1 entry" in out["cache-clear-cells"]
    functions = {(f.function.rsplit(".", 1)[1], f.entries) for f in admin.functions(cache.as_uri())}
    assert functions == {("slow_square", 4), ("word_lengths", 1)}  # the cells namespace went, the rest stayed


def _check_data_science(out: Outputs, cache: Path) -> None:
    assert out["first-run"].count("miss, computed") == 4
    assert "miss" not in out["second-run"]
    assert out["second-run"].count("hit, saved") == 4
    assert "changed: ['CLIP']" in out["edit-global"]
    after = out["after-edit"]
    assert "load_data(n_rows=20000, seed=0) hit" in after  # does not read CLIP
    assert "features(frame=DataFrame(20000x21)) miss" in after  # reads CLIP: recomputed, not stale
    assert after.count("score(") == after.count("miss, computed") - 1  # and so are the scores built on it
    assert "miss" not in out["revert"]  # CLIP set back: the earlier results are found again
    assert "data      CLIP" in out["explain"]
    assert "callee    interactions" in out["explain"]
    functions = {f.function: f.entries for f in admin.functions(cache.as_uri())}
    assert functions == {"__main__.load_data": 1, "__main__.features": 2, "__main__.score": 4}


CHECKS: dict[str, Callable[[Outputs, Path], None]] = {
    "01-quickstart": _check_quickstart,
    "02-backends": _check_backends,
    "03-async": _check_async,
    "04-magics-and-inspector": _check_magics,
    "05-data-science": _check_data_science,
}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_a_fresh_kernel_and_teaches_its_lesson(
    path: Path, tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook runs top to bottom without an error and its key outputs say what its text promises."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MEMO_CACHE_DIR", str(cache))  # 05's memo.configure(backend="file")
    monkeypatch.setenv("MEMO_NOTEBOOK_CACHE", str(cache))  # 04's FileBackend
    monkeypatch.setenv("MEMO_REDIS_URL", redis_url)  # 02 uses the test's server instead of starting one
    monkeypatch.delenv("MEMO_BACKEND", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = _execute(path, tmp_path)
    check = CHECKS.get(path.stem)
    if check is not None:
        check(out, cache)


def test_every_notebook_is_checked_listed_and_committed_without_outputs() -> None:
    """Each notebook has output checks here, a line in notebooks/README.md, and no stored outputs."""
    readme = (ROOT / "notebooks" / "README.md").read_text()
    assert {p.stem for p in NOTEBOOKS} == set(CHECKS)
    for path in NOTEBOOKS:
        assert f"({path.name})" in readme, path.name
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert not cell.outputs, f"{path.name}: clear its outputs"
                assert cell.execution_count is None, f"{path.name}: clear its outputs"


@pytest.mark.slow
def test_the_data_science_notebook_is_all_hits_in_a_new_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """05's promise: run it again after a kernel restart and its pipeline is served from the file cache."""
    monkeypatch.setenv("MEMO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MEMO_BACKEND", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    path = ROOT / "notebooks" / "05-data-science.ipynb"
    first = _execute(path, tmp_path)
    again = _execute(path, tmp_path)
    assert first["first-run"].count("miss, computed") == 4
    assert "miss" not in again["first-run"]
    assert again["first-run"].count("hit, saved") == 4
