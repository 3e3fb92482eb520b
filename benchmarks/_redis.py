"""The benchmarks' Redis server: the tests' helper (``tests/_servers.py``), so there is one way to start one.

Example (a benchmark run as ``python benchmarks/bench_x.py``)::

    from _redis import running_server

    with running_server() as server:
        rows = redis_rows(server.url)
"""

from __future__ import annotations

import sys
from pathlib import Path

# A script run as `python benchmarks/x.py` has only benchmarks/ on sys.path, and an
# installed memo does not ship tests/: the repository root makes `tests._servers` importable.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests._servers import free_port, running_server  # noqa: E402

__all__ = ["free_port", "running_server"]
