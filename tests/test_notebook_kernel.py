"""The notebook edit table, each row in a real kernel (nbclient + ipykernel), editing cells between runs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nbclient")
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JPY_SESSION_NAME", "MEMO_BACKEND")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env["MEMO_CACHE_DIR"] = str(tmp / "cache")
    env.update(extra)
    return env


class Notebook:
    """A notebook in a live kernel: cells are added, edited and run one at a time, as a user does."""

    def __init__(self, tmp: Path, stack: ExitStack, **env: str) -> None:
        self.nb = nbformat.v4.new_notebook()
        self.client = NotebookClient(
            self.nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp)}}
        )
        stack.enter_context(self.client.setup_kernel(env=_env(tmp, **env), cwd=str(tmp)))

    def cell(self, source: str) -> int:
        """Add a cell (not run yet); its index."""
        self.nb.cells.append(nbformat.v4.new_code_cell(source))
        return len(self.nb.cells) - 1

    def rerun(self, index: int, source: str) -> str:
        """Edit a cell and run it again, as a user does; its stdout."""
        self.nb.cells[index].source = source
        return self.run(index)

    def run(self, index: int) -> str:
        """Run one cell; its stdout (an error in the cell fails the test)."""
        cell = self.client.execute_cell(self.nb.cells[index], index)
        return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")

    def ask(self, source: str) -> Any:
        """Run a new cell printing one JSON value; that value."""
        return json.loads(self.run(self.cell(f"import json as _j\nprint(_j.dumps({source}))")))


@pytest.fixture(scope="module")
def nb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook]:
    """One kernel for the module's tests (each test uses its own function names and backend)."""
    tmp = tmp_path_factory.mktemp("kernel")
    with ExitStack() as stack:
        yield Notebook(tmp, stack)


SETUP = "import memo\nB = memo.MemoryBackend()\ncalls = []\n"


def _load(name: str, body: str, comment: str = "") -> str:
    return f"@memo.cache(backend=B)\ndef {name}(x):\n    {comment}calls.append(x)\n    return {body}\n"


def _with_dependency(nb: Notebook, dependency: str, name: str, body: str, arg: int) -> tuple[int, int]:
    """Run SETUP, a ``dependency`` cell and a cached ``name`` whose ``body`` reads it; (its cell, a cell to call it).

    The call cell (not run yet) prints ``name(arg)`` and how many times the body ran.
    """
    nb.run(nb.cell(SETUP))
    cell = nb.cell(dependency)
    nb.run(cell)
    nb.run(nb.cell(_load(name, body)))
    return cell, nb.cell(f"print({name}({arg}), len(calls))")


def test_body_edit_recomputes(nb: Notebook) -> None:
    """Editing the function's body recomputes."""
    nb.run(nb.cell(SETUP))
    fn = nb.cell(_load("body", "x * 2"))
    use = nb.cell("print(body(3), len(calls))")
    nb.run(fn)
    assert nb.run(use).split() == ["6", "1"]
    assert nb.run(use).split() == ["6", "1"]
    nb.rerun(fn, _load("body", "x * 5"))
    assert nb.run(use).split() == ["15", "2"]


def test_comment_or_docstring_edit_hits(nb: Notebook) -> None:
    """Editing only a comment or the docstring keeps the entry: a hit."""
    nb.run(nb.cell(SETUP))
    fn = nb.cell(_load("commented", "x * 2"))
    use = nb.cell("print(commented(3), len(calls))")
    nb.run(fn)
    assert nb.run(use).split() == ["6", "1"]
    nb.rerun(fn, _load("commented", "x * 2", comment='"""Doubles x."""\n    # a comment\n    '))
    assert nb.run(use).split() == ["6", "1"]


def test_global_constant_edit_recomputes(nb: Notebook) -> None:
    """Editing a global constant the body reads (SCALE = 3) recomputes; the old value hits again."""
    const, use = _with_dependency(nb, "SCALE = 2", "scaled", "x * SCALE", 3)
    assert nb.run(use).split() == ["6", "1"]
    nb.rerun(const, "SCALE = 3")
    assert nb.run(use).split() == ["9", "2"]
    nb.rerun(const, "SCALE = 2")
    assert nb.run(use).split() == ["6", "2"]


def test_helper_redefinition_recomputes(nb: Notebook) -> None:
    """Redefining a helper the body calls recomputes."""
    helper, use = _with_dependency(nb, "def helper(x):\n    return x + 1\n", "uses_helper", "helper(x) * 10", 1)
    assert nb.run(use).split() == ["20", "1"]
    assert nb.run(use).split() == ["20", "1"]
    nb.rerun(helper, "def helper(x):\n    return x + 2\n")
    assert nb.run(use).split() == ["30", "2"]


def test_notebook_name_is_main_without_a_path(nb: Notebook) -> None:
    """Headless (no path from the front end), a notebook function is named __main__.name."""
    nb.run(nb.cell(SETUP + _load("named", "x")))
    assert nb.ask("named.cache_name") == "__main__.named"


def test_same_stem_in_two_folders_never_collides(tmp_path: Path) -> None:
    """Two notebooks with one stem in two folders (JPY_SESSION_NAME) get two names, valid key segments."""
    names = []
    for folder in ("a", "b"):
        with ExitStack() as stack:
            book = Notebook(tmp_path, stack, JPY_SESSION_NAME=str(tmp_path / folder / "sales.ipynb"))
            book.run(book.cell(SETUP + _load("load", "x")))
            names.append(book.ask("[load.cache_name, load.cache_key(1)]"))
    (a_name, a_key), (b_name, b_key) = names
    assert a_name.startswith("sales-")
    assert b_name.startswith("sales-")
    assert a_name != b_name
    from memo._keys import parse_key

    assert parse_key(a_key) is not None
    assert parse_key(b_key) is not None


PARAMS = "DATA = 'default'\n"
BODY = (
    "import memo\nB = memo.FileBackend(CACHE)\n"
    "@memo.cache(backend=B)\ndef load():\n    return DATA * 2\n"
    "print('RESULT', load())\n"
)


def test_two_papermill_runs_get_their_own_data(tmp_path: Path) -> None:
    """Two papermill runs of one notebook with different injected DATA, one shared FileBackend: each its own data."""
    papermill = pytest.importorskip("papermill")
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    source = tmp_path / "load.ipynb"
    nbformat.write(nb, source)
    outputs = []
    old = dict(os.environ)
    os.environ.update(_env(tmp_path))
    os.environ.pop("JPY_SESSION_NAME", None)
    try:
        for data in ("north", "south", "north"):
            out = tmp_path / f"out-{data}.ipynb"
            papermill.execute_notebook(
                str(source),
                str(out),
                parameters={"DATA": data, "CACHE": str(tmp_path / "shared")},
                kernel_name="python3",
                progress_bar=False,
                cwd=str(tmp_path),
            )
            done = nbformat.read(out, as_version=4)
            text = "".join(o.get("text", "") for c in done.cells for o in c.get("outputs", []))
            outputs.append(text.split("RESULT", 1)[1].strip())
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert outputs == ["northnorth", "southsouth", "northnorth"]


def test_two_notebooks_share_a_file_cache_without_mixing(tmp_path: Path) -> None:
    """Two notebooks define the same load() reading DATA, one FileBackend: each gets its own data."""
    results = []
    for data in ("alpha", "beta"):
        with ExitStack() as stack:
            book = Notebook(tmp_path, stack)
            book.run(book.cell(f"DATA = {data!r}\nCACHE = {str(tmp_path / 'shared')!r}\n" + BODY))
            results.append(book.ask("[load(), load.cache_info().misses]"))
    assert results == [["alphaalpha", 1], ["betabeta", 1]]


POINT = "class Point:\n    def __init__(self, x):\n        self.x = x\n"
POINT += "    def norm(self):\n        return abs(self.x) * {k}\n"
MAKE = "import memo\nB = memo.FileBackend({cache!r})\n@memo.cache(backend=B)\ndef make(x):\n    return Point(x)\n"


def test_notebook_class_results_are_live_class_instances_in_a_new_kernel(tmp_path: Path) -> None:
    """A cached Point comes back in a new kernel as an instance of the live Point; an edited Point recomputes."""
    seen = []
    for k in (1, 1, 7):
        with ExitStack() as stack:
            book = Notebook(tmp_path, stack)
            book.run(book.cell(POINT.format(k=k) + MAKE.format(cache=str(tmp_path / "shared"))))
            seen.append(book.ask("[isinstance(make(-3), Point), make(-3).norm(), make.cache_info().misses]"))
    assert seen == [[True, 3, 1], [True, 3, 0], [True, 21, 1]]
