"""``python -m memo``: the demo and the version, whatever the environment says."""

from __future__ import annotations

import os
import subprocess
import sys

import memo


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    return subprocess.run(
        [sys.executable, "-m", "memo", *args], capture_output=True, text=True, env={**clean, **env}, timeout=120
    )


def test_version_flag_prints_name_and_version() -> None:
    """``python -m memo --version`` prints ``memo <version>`` and exits 0."""
    out = _run("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"memo {memo.__version__}"


def test_version_command_still_works() -> None:
    """``python -m memo version`` prints the same line as ``--version``."""
    out = _run("version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"memo {memo.__version__}"


def test_demo_shows_a_miss_then_a_hit() -> None:
    """The demo labels the first call computed and the second a cache hit, and exits 0."""
    out = _run("demo")
    assert out.returncode == 0, out.stderr
    first, second = (line for line in out.stdout.splitlines() if "slow_square(12) = 144" in line)
    assert "computed" in first
    assert "cache hit" in second
    assert "hits=1 misses=1" in out.stdout


def test_demo_with_caching_disabled_says_so_and_exits_0() -> None:
    """Under MEMO_DISABLE=1 the demo says caching is disabled, labels no call a hit, and exits 0."""
    out = _run("demo", MEMO_DISABLE="1")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "caching is disabled" in out.stdout
    lines = [line for line in out.stdout.splitlines() if "slow_square(12) = 144" in line]
    assert len(lines) == 2
    assert all("hit" not in line for line in lines)
