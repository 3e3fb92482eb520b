"""``memo.CacheInspector``: an ipywidgets table of a backend's cached functions and entries.

Everything it shows and does goes through :mod:`memo.admin` (list, delete, clear), so it
works on any backend admin can manage, from any process: memory (this kernel's), a file
cache or Redis, also for functions defined before a kernel restart. ipywidgets is
imported when an inspector is built, never at ``import memo``.
"""

from __future__ import annotations

import html
import importlib
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from memo import (
    ConfigurationError,
    EntryInfo,
    admin,
)  # public names only: the widget sits above admin, beside the magics

__all__ = ["CacheInspector"]

_ENTRY_COLUMNS = ("", "function", "args", "size", "age", "expires", "compute time", "hits")
_FUNCTION_COLUMNS = ("function", "namespace", "entries", "size", "hits", "misses", "time saved", "")


def _widgets() -> Any:
    """The ipywidgets module, imported on first use (it pulls in IPython and traitlets)."""
    try:
        return importlib.import_module("ipywidgets")
    except ImportError as exc:  # say which extra brings it, not just the module name
        raise ImportError("memo.CacheInspector needs ipywidgets: pip install 'memo-cache[notebook]'") from exc


def _size(n: int) -> str:
    """Bytes for a human: 512 B, 3.4 KiB, 12.0 MiB."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # unreachable: the loop returns at GiB


def _entries(n: int) -> str:
    """``1 entry``, ``3 entries``."""
    return f"{n} entry" if n == 1 else f"{n} entries"


def _span(seconds: float) -> str:
    """A duration for a human: 42 s, 7 min, 3 h, 2 d."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _duration(seconds: float) -> str:
    """A compute time: 850 µs, 12 ms, 1.52 s."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


class _Stats(NamedTuple):
    """A function's live counters in this process, where it is registered on the inspected backend."""

    hits: int
    misses: int
    time_saved: float


class CacheInspector:
    """An interactive table of what a backend caches: functions, entries, filter, delete and clear.

    ``backend`` is what :mod:`memo.admin` takes: ``None`` for the configured default, a
    URL (``"file:///srv/cache"``, ``"redis://localhost:6379/0"``) or a backend object.
    The top table has one row per cached function (entries, bytes, and hits, misses and
    time saved when the function is live in this process), each with a **Clear** button;
    the bottom one has one row per entry (function, arguments summary, size, age, expiry,
    compute time, hits of its function) with a checkbox for **Delete selected**. The
    filter box narrows both tables to functions or arguments containing its text;
    **Refresh** re-reads the backend; **Clear all** deletes every memo entry in it.
    Values are never unpickled: the listing reads the records' metadata only. Display it
    as the last expression of a cell (or ``display(inspector)``). Example::

        import memo

        @memo.cache(backend="file:///tmp/demo-cache")
        def square(x: int) -> int:
            return x * x

        square(3)
        inspector = memo.CacheInspector("file:///tmp/demo-cache")
        inspector              # shows the tables in Jupyter, VS Code or voila
        inspector.filter.value = "square"
        inspector.clear_all_button.click()

    ``max_rows`` caps the entry rows drawn (a widget per cell): narrow with the filter to
    see the others.
    """

    def __init__(self, backend: object = None, *, max_rows: int = 200) -> None:
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise ConfigurationError(f"max_rows={max_rows!r}: pass a positive number of entry rows to draw")
        widgets = _widgets()
        self.backend = backend
        self.max_rows = max_rows
        self.functions: list[admin.FunctionInfo] = []
        """The function rows read at the last refresh (all of them, not only those shown)."""
        self.entries: list[EntryInfo] = []
        """The entries read at the last refresh (all of them, not only those shown)."""
        self.shown: list[EntryInfo] = []
        """The entries drawn now, in table order (filtered, at most ``max_rows``)."""
        self.selected: dict[str, Any] = {}
        """key -> the checkbox of each drawn entry row."""
        self.clear_buttons: dict[tuple[str, str], Any] = {}
        """(namespace, function) -> the Clear button of each drawn function row."""
        self._ticked: set[str] = set()  # ticks outlive a redraw (typing in the filter, a refresh)
        self._message = ("", False)  # the last action's report, and whether it is an error
        self._note = ""  # what the drawing says of itself (rows left out)
        # one layout object per kind of cell, shared: each Layout is a widget model of its own
        self._cell_layout = widgets.Layout(overflow="hidden", max_width="40em")
        self._box_layout = widgets.Layout(width="2em")

        self.filter = widgets.Text(
            placeholder="filter: function or arguments contain…",
            description="Filter",
            continuous_update=True,
            layout=widgets.Layout(width="22em"),
        )
        self.refresh_button = self._button("Refresh", "refresh", "memo-refresh", self._on_refresh)
        self.delete_button = self._button("Delete selected", "trash", "memo-delete-selected", self._on_delete)
        self.clear_all_button = self._button("Clear all", "times", "memo-clear-all", self._on_clear_all)
        self.clear_all_button.button_style = "danger"
        self.title = widgets.HTML()
        self.status = widgets.HTML()
        self.function_table = widgets.GridBox(
            layout=widgets.Layout(grid_template_columns="repeat(8, max-content)", grid_gap="2px 16px")
        )
        self.entry_table = widgets.GridBox(
            layout=widgets.Layout(
                grid_template_columns="2em max-content minmax(8em, max-content) repeat(5, max-content)",
                grid_gap="2px 16px",
            )
        )
        self.filter.observe(lambda _change: self._draw(), names="value")
        toolbar = widgets.HBox([self.filter, self.refresh_button, self.delete_button, self.clear_all_button])
        self.widget = widgets.VBox(
            [self.title, toolbar, self.status, self.function_table, self.entry_table],
            layout=widgets.Layout(width="100%"),
        )
        """The ipywidgets VBox holding it all (what is displayed)."""
        self.widget.add_class("memo-inspector")
        self.refresh()

    # -- display -------------------------------------------------------------------------

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        """Display as the widget itself (Jupyter, VS Code and voila ask objects for this)."""
        return self.widget._repr_mimebundle_(include=include, exclude=exclude)

    def __repr__(self) -> str:
        return f"CacheInspector(backend={self.backend!r}, {len(self.functions)} functions, {len(self.entries)} entries)"

    # -- actions (also what the buttons do) ----------------------------------------------

    def refresh(self) -> None:
        """Re-read the functions and entries from the backend and redraw. Example::

        inspector.refresh()
        """
        try:
            self.functions = admin.functions(self.backend)
            self.entries = admin.entries(self.backend)
        except Exception as exc:  # a callback's exception would vanish: show it in the widget
            self._say(f"could not read the backend: {type(exc).__name__}: {exc}", error=True)
            self._draw()
            return
        self._ticked &= {entry.key for entry in self.entries}
        self._say("")
        self._draw()

    def delete_selected(self) -> int:
        """Delete the entries whose boxes are ticked; how many were deleted. Example::

        inspector.selected[inspector.shown[0].key].value = True
        inspector.delete_selected()
        """
        keys = [key for key, box in self.selected.items() if box.value]
        if not keys:
            self._say("tick the entries to delete first")
            return 0
        self._ticked.difference_update(keys)
        deleted = self._act(lambda: sum(admin.delete(self.backend, key) for key in keys))
        if deleted is not None:
            self._say(f"deleted {deleted} of {len(keys)} selected {'entry' if len(keys) == 1 else 'entries'}")
        return deleted or 0

    def clear_function(self, function: str, namespace: str | None = None) -> int:
        """Delete every entry of one function (``module.qualname``), in one namespace or all. Example::

        inspector.clear_function("__main__.square")
        """
        cleared = self._act(lambda: admin.clear(self.backend, function=function, namespace=namespace))
        if cleared is not None:
            self._say(f"cleared {function}: {_entries(cleared)} deleted")
        return cleared or 0

    def clear_all(self) -> int:
        """Delete every memo entry in the backend (other programs' keys stay). Example::

        inspector.clear_all()
        """
        cleared = self._act(lambda: admin.clear(self.backend))
        if cleared is not None:
            self._say(f"cleared all: {_entries(cleared)} deleted")
        return cleared or 0

    def _act(self, action: Callable[[], int]) -> int | None:
        """Run a change, then refresh; None (and the error shown) when it failed."""
        try:
            done = int(action())
        except Exception as exc:  # shown in the widget: a button callback has nowhere to raise to
            self.refresh()
            self._say(f"failed: {type(exc).__name__}: {exc}", error=True)
            return None
        self.refresh()
        return done

    def _on_refresh(self, _button: Any) -> None:
        self.refresh()

    def _on_delete(self, _button: Any) -> None:
        self.delete_selected()

    def _on_clear_all(self, _button: Any) -> None:
        self.clear_all()

    # -- drawing -------------------------------------------------------------------------

    def _button(self, text: str, icon: str, css: str, handler: Callable[[Any], None]) -> Any:
        """A button with a stable CSS class (``css``) that front-end tests and styles can find."""
        widgets = _widgets()
        button = widgets.Button(description=text, icon=icon, layout=widgets.Layout(width="auto"))
        button.add_class(css)
        button.on_click(handler)
        return button

    def _say(self, message: str, error: bool = False) -> None:
        """Report an action (or clear the report with ``""``); the drawing's note stays beside it."""
        self._message = (message, error)
        self._show_status()

    def _show_status(self) -> None:
        message, error = self._message
        parts = [f'<span style="color:{"#b00020" if error else "inherit"}">{html.escape(message)}</span>']
        parts += [f'<span style="opacity:0.7">{html.escape(self._note)}</span>']
        self.status.value = " · ".join(part for part, text in zip(parts, (message, self._note)) if text)

    def _ticker(self, key: str) -> Callable[[Any], None]:
        """Remember a row's tick across redraws."""

        def tick(change: Any) -> None:
            if change["new"]:
                self._ticked.add(key)
            else:
                self._ticked.discard(key)

        return tick

    def _matches(self, *texts: str) -> bool:
        needle = self.filter.value.strip().lower()
        return not needle or any(needle in text.lower() for text in texts)

    def _stats(self) -> dict[tuple[str, str], _Stats]:
        return {
            (row.namespace, row.function): _Stats(row.stats.hits, row.stats.misses, row.stats.time_saved)
            for row in self.functions
            if row.stats is not None
        }

    def _draw(self) -> None:
        """Rebuild both tables from the last read, narrowed by the filter (no backend access)."""
        widgets = _widgets()
        stats = self._stats()
        total = sum(row.bytes for row in self.functions)
        self.title.value = (
            f"<b>memo cache</b> · {html.escape(self._backend_name())} · {len(self.functions)} functions, "
            f"{_entries(len(self.entries))}, {_size(total)}"
        )

        def cell(text: str, bold: bool = False) -> Any:
            shown = html.escape(text)
            # a long arguments summary is cut at the cell's edge (the tooltip shows it whole), not wrapped
            content = f"<b>{shown}</b>" if bold else shown
            return widgets.HTML(f'<span title="{shown}">{content}</span>', layout=self._cell_layout)

        replaced = [*self.function_table.children, *self.entry_table.children]

        function_cells = [cell(name, bold=True) for name in _FUNCTION_COLUMNS]
        self.clear_buttons = {}
        for row in self.functions:
            if not self._matches(row.function, row.namespace):
                continue
            live = stats.get((row.namespace, row.function))
            button = self._button("Clear", "times", "memo-clear-function", self._clearer(row))
            button.tooltip = f"delete every entry of {row.function} ({row.namespace})"
            self.clear_buttons[(row.namespace, row.function)] = button
            function_cells += [
                cell(row.function),
                cell(row.namespace),
                cell(str(row.entries)),
                cell(_size(row.bytes)),
                cell("—" if live is None else str(live.hits)),
                cell("—" if live is None else str(live.misses)),
                cell("—" if live is None else _duration(live.time_saved)),
                button,
            ]
        self.function_table.children = function_cells

        now = time.time()
        matching = [e for e in self.entries if self._matches(e.function, e.namespace, e.args)]
        matching.sort(key=lambda e: (e.function, e.namespace, e.created))  # keys are digests: no useful order
        self.shown = matching[: self.max_rows]
        entry_cells = [cell(name, bold=True) for name in _ENTRY_COLUMNS]
        self.selected = {}
        for entry in self.shown:
            box = widgets.Checkbox(value=entry.key in self._ticked, indent=False, layout=self._box_layout)
            box.add_class("memo-select")
            box.observe(self._ticker(entry.key), names="value")
            self.selected[entry.key] = box
            live = stats.get((entry.namespace, entry.function))
            expires = "never" if entry.expires is None else f"in {_span(entry.expires - now)}"
            entry_cells += [
                box,
                cell(entry.function),
                cell(entry.args),
                cell(_size(entry.size)),
                cell(_span(now - entry.created)),
                cell(expires),
                cell(_duration(entry.duration)),
                cell("—" if live is None else str(live.hits)),
            ]
        self.entry_table.children = entry_cells
        for old in replaced:  # drop the old cells' models from the kernel and the front end
            old.close()
        more = len(matching) > len(self.shown)
        self._note = f"showing {len(self.shown)} of {len(matching)} entries: narrow with the filter" if more else ""
        self._show_status()

    def _clearer(self, row: admin.FunctionInfo) -> Callable[[Any], None]:
        """The click handler of one function row's Clear button."""

        def clear(_button: Any) -> None:
            self.clear_function(row.function, row.namespace)

        return clear

    def _backend_name(self) -> str:
        if self.backend is None:
            return "default backend"
        return self.backend if isinstance(self.backend, str) else type(self.backend).__name__
