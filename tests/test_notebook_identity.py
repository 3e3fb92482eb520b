"""Notebook identity: a notebook function is named after its notebook's path (stem plus path digest)."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from memo._identity import function_identity, notebook_module
from memo._keys import check_segment


def _nb_function(**names: str) -> Any:
    ns: dict[str, Any] = {"__name__": "__main__", **names}
    exec("def load(x):\n    return x\n", ns)
    return ns["load"]


@pytest.fixture(autouse=True)
def _no_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)


def test_vscode_path_in_the_notebook_namespace() -> None:
    """VS Code's __vsc_ipynb_file__ in the function's own globals names the notebook."""
    name = function_identity(_nb_function(__vsc_ipynb_file__="/work/a/sales.ipynb"))
    assert name == notebook_module("/work/a/sales.ipynb") + ".load"
    assert name.startswith("sales-")


def test_session_variable_from_ipykernel() -> None:
    """ipykernel's __session__ (copied from JPY_SESSION_NAME) names the notebook."""
    assert function_identity(_nb_function(__session__="b/sales.ipynb")) == notebook_module("b/sales.ipynb") + ".load"


def test_same_stem_two_folders_differ_same_path_agrees() -> None:
    """a/sales.ipynb and b/sales.ipynb get two names; one path always the same one."""
    a, b = notebook_module("/x/a/sales.ipynb"), notebook_module("/x/b/sales.ipynb")
    assert a != b
    assert notebook_module("/x/a/./sales.ipynb") == a
    assert a.split("-")[0] == b.split("-")[0] == "sales"


def test_names_are_valid_key_segments() -> None:
    """A Windows path, spaces or colons never put a ':' in a name."""
    for path in ("C:\\Users\\ann\\My Notebook.ipynb", "/tmp/a:b/c d.ipynb", "weird:name.ipynb"):
        name = function_identity(_nb_function(__vsc_ipynb_file__=path))
        assert check_segment("name", name) == name


def test_env_only_inside_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """JPY_SESSION_NAME counts only in a kernel (IPython loaded); a plain script keeps __main__."""
    monkeypatch.setenv("JPY_SESSION_NAME", "/n/etl.ipynb")
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert function_identity(_nb_function()) == "__main__.load"
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    assert function_identity(_nb_function()) == notebook_module("/n/etl.ipynb") + ".load"
