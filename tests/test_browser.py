"""The inspector in a real browser: voila serves notebook 04, headless Debian Chromium clicks its buttons.

voila runs the notebook in a real kernel and renders its widgets as a page (no "run"
to click), on 127.0.0.1 with a fresh token and its own Jupyter dirs; Playwright drives
``/usr/bin/chromium`` (Debian's package, never a browser Playwright downloads). The
notebook fills a FileBackend in a temp dir given by ``MEMO_NOTEBOOK_CACHE``; the test
clicks "Clear" on one function, deletes one ticked entry, then "Clear all", and checks through ``memo.admin``
from this process that the backend lost exactly that. Without chromium, voila or
Playwright the test skips, except under ``CI=true``, where it fails.
Set ``MEMO_UPDATE_SCREENSHOT=1`` to write the page's screenshot to ``docs/inspector.png``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from memo import admin
from tests._servers import free_port, stop_process

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "04-magics-and-inspector.ipynb"
PORTS = range(18800, 18900)  # this suite's Jupyter server ports
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(what: str) -> None:
    """Fail under CI (the browser test must run there), skip elsewhere, saying what is missing."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what}: CI must run the browser test (.ci/run installs chromium and '.[test]')")
    pytest.skip(what)


def _chromium() -> str:
    """Debian's chromium binary."""
    for path in ("/usr/bin/chromium", shutil.which("chromium")):
        if path and os.access(path, os.X_OK):
            return path
    _missing("no /usr/bin/chromium (apt-get install -y chromium)")
    raise AssertionError("unreachable")


def _port() -> int:
    """A port of this suite's range free on 127.0.0.1 now."""
    try:
        return free_port(PORTS)
    except RuntimeError as exc:
        _missing(str(exc))
        raise AssertionError("unreachable") from exc


class Voila(NamedTuple):
    """A running voila server on notebook 04 and the file cache its kernel fills."""

    url: str
    cache: Path
    log: Path


@pytest.fixture
def voila(tmp_path: Path) -> Iterator[Voila]:
    """voila serving notebook 04 on 127.0.0.1 with a fresh token and its own Jupyter dirs; stopped after."""
    for module in ("voila", "ipykernel", "ipywidgets"):
        try:
            __import__(module)
        except ImportError:
            _missing(f"{module} is not installed (pip install -e '.[all,test]')")
    cache = tmp_path / "cache"
    home = tmp_path / "jupyter"
    env = dict(os.environ)
    env.update(
        MEMO_NOTEBOOK_CACHE=str(cache),
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_DATA_DIR=str(home / "data"),
        IPYTHONDIR=str(home / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    port, token = _port(), secrets.token_hex(16)
    log = tmp_path / "voila.log"
    args = [sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}"]
    args += ["--Voila.ip=127.0.0.1", f"--token={token}", "--show_tracebacks=True"]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                _missing(f"voila exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:  # listening is enough: voila runs the notebook when the page is asked for
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    _missing(f"voila did not answer within 60 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield Voila(f"http://127.0.0.1:{port}/?token={token}", cache, log)
    finally:
        stop_process(proc, timeout=10)


def _wait_for_status(page: Any, text: str) -> None:
    """Wait until the inspector's status line says ``text`` (the click's round trip to the kernel is done)."""
    page.locator(".memo-inspector").get_by_text(text).wait_for(timeout=30_000)


@pytest.mark.slow
def test_clear_buttons_in_a_real_browser_empty_the_backend(voila: Voila) -> None:
    """In Chromium, notebook 04's entries are listed; Clear, Delete selected and Clear all empty the cache."""
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(voila.url, timeout=120_000)
            clear_all = page.locator(".memo-inspector .memo-clear-all")
            try:  # voila runs the notebook, then draws its widgets
                clear_all.wait_for(timeout=120_000)
                page.locator(".memo-inspector").get_by_text("word_lengths", exact=False).first.wait_for()
            except Exception as exc:
                raise AssertionError(f"no inspector on the page; voila log:\n{voila.log.read_text()[-3000:]}") from exc
            url = voila.cache.as_uri()
            # by short name: how a notebook's module is named is the identity work's business
            functions = {(f.function.rsplit(".", 1)[1], f.entries) for f in admin.functions(url)}
            assert functions == {("slow_square", 4), ("word_lengths", 1)}
            shot = ROOT / "docs" / "inspector.png" if os.environ.get("MEMO_UPDATE_SCREENSHOT") else None
            page.locator(".memo-inspector").screenshot(path=str(shot or voila.cache.parent / "inspector.png"))

            row_clear = page.locator(".memo-inspector .memo-clear-function")
            assert row_clear.count() == 2
            row_clear.nth(1).click()  # rows are in name order: word_lengths is second
            _wait_for_status(page, "word_lengths: 1 entry deleted")
            assert [(f.function.rsplit(".", 1)[1], f.entries) for f in admin.functions(url)] == [("slow_square", 4)]

            page.locator(".memo-inspector .memo-select input").first.check()  # slow_square(x=0): rows by name, then age
            page.locator(".memo-inspector .memo-delete-selected").click()
            _wait_for_status(page, "deleted 1 of 1 selected entry")
            assert sorted(e.args for e in admin.entries(url)) == ["x=1", "x=2", "x=3"]

            clear_all.click()
            _wait_for_status(page, "cleared all: 3 entries deleted")
            assert admin.entries(url) == []
            assert admin.functions(url) == []
        finally:
            browser.close()


def test_a_missing_browser_fails_under_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the browser test lacks fails it under CI=true and only skips it on a developer's machine."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser test"):
        _missing("no chromium")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        _missing("no chromium")
