"""The public surface: sorted __all__, docstrings with examples, light import."""

from __future__ import annotations

import subprocess
import sys

import memo


def test_all_is_sorted_and_resolves() -> None:
    """__all__ is sorted and every name in it exists."""
    assert list(memo.__all__) == sorted(memo.__all__)
    for name in memo.__all__:
        assert getattr(memo, name) is not None


def test_every_public_name_has_docstring_with_example() -> None:
    """Every public callable or class documents itself with an example."""
    for name in memo.__all__:
        obj = getattr(memo, name)
        if name.startswith("__"):
            continue
        doc = obj.__doc__ or ""
        assert doc.strip(), name
        assert "::" in doc or ">>>" in doc, f"{name} has no example"


def test_import_is_light() -> None:
    """import memo pulls in none of redis, IPython, ipywidgets, numpy, pandas, nor inspect, dataclasses, json."""
    code = (
        "import sys, memo; heavy = {'redis', 'IPython', 'ipywidgets', 'numpy', 'pandas', "
        "'inspect', 'dataclasses', 'json', 'asyncio', 'diskcache'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_demo_runs() -> None:
    """python -m memo demo shows a miss then a hit and exits 0."""
    out = subprocess.run([sys.executable, "-m", "memo", "demo"], capture_output=True, text=True, check=True)
    assert "hits=1 misses=1" in out.stdout
