"""Function identity: notebook names replace __main__, and keys survive a kernel restart."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from memo._identity import code_fingerprint, function_identity


def _main_function() -> Any:
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec("def load(x):\n    return x\n", ns)
    return ns["load"]


def test_notebook_name_replaces_main(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a Jupyter kernel (JPY_SESSION_NAME set), a __main__ function is named after the notebook."""
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ann/work/Sales Analysis.ipynb")
    name = function_identity(_main_function())
    assert name.startswith("Sales_Analysis-")
    assert name.endswith(".load")


def test_vscode_notebook_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """VS Code's __vsc_ipynb_file__ names the notebook too."""
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setattr(sys.modules["__main__"], "__vsc_ipynb_file__", "/x/etl.ipynb", raising=False)
    name = function_identity(_main_function())
    assert name.startswith("etl-")
    assert name.endswith(".load")


def test_plain_script_keeps_main(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a kernel, __main__ stays __main__."""
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert function_identity(_main_function()) == "__main__.load"


CELL = """
import memo
{other}
@memo.cache
def load(x):
    return x * 2
print(load.cache_key(21))
"""


def test_key_stable_across_restarts_and_other_edits(tmp_path: Path) -> None:
    """Two fresh interpreters give the same key, even when other code in the cell changed."""
    runs = []
    for other in ("", "y = 1\n\ndef helper():\n    return 3\n"):
        code = CELL.format(other=other)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        runs.append(out.stdout.strip())
    assert runs[0] == runs[1]
    assert runs[0].startswith("default:__main__.load:")


def test_fingerprint_ignores_line_numbers() -> None:
    """Moving a function down the file (other code above it) keeps its fingerprint."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    exec("def f(x):\n    return x + 1\n", a)
    exec("\n\n\nz = 5\n\ndef f(x):\n    return x + 1\n", b)
    assert code_fingerprint(a["f"]) == code_fingerprint(b["f"])
