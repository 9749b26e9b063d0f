"""A pane that shows a keyed set of items in a DataTable and keeps it in step by row diffs.

Rows are added, updated (only the cells that differ) and removed by key inside
``batch_update``; the table is never cleared and refilled. The filter (``/``)
narrows the rows shown without touching the data behind them.
"""

from __future__ import annotations

from typing import Generic, Iterable, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.widgets import DataTable, Input, Static

from carina_tui.core.models import clock

T = TypeVar("T")
Cell = str | Text


class KeyTable(DataTable):
    """A DataTable with vi keys and row cursor, whose cells are always ``Text``.

    DataTable measures every cell of every new row by rendering it; with 1,000
    containers that was most of the first frame. Our cells are single-line
    ``Text``, so a column's content width is the widest plain text, which
    ``cell_len`` gives without rendering. (Relies on DataTable's
    ``_update_dimensions`` hook; textual is pinned below 9 in pyproject.)
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)

    def _update_dimensions(self, new_rows) -> None:
        columns = self.ordered_columns
        for row_key in new_rows:
            cells = self._data.get(row_key)
            if cells is None:
                continue
            for column in columns:
                value = cells.get(column.key)
                width = cell_len(value.plain if isinstance(value, Text) else str(value or ""))
                if width > column.content_width:
                    column.content_width = width
        data_width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(data_width + self._row_label_column_width, self._total_row_height + header)


class TablePane(Vertical, Generic[T]):
    """Base for the four panes: ``COLUMNS`` names the columns, ``cells`` renders one item."""

    COLUMNS: tuple[tuple[str, str, int | None], ...] = ()
    TITLE = ""
    NUMBER = 0
    EMPTY = "Nothing here yet."
    SORT_COLUMN: str | None = None
    STALE_COLUMN: str | None = None  # the cell that says "stale since" on rows of an engine that does not answer

    BINDINGS = [
        Binding("slash", "start_filter", "Filter", id="pane.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="pane.clear_filter"),
    ]

    MUTATING: frozenset[str] = frozenset()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items: dict[str, T] = {}
        self._shown: dict[str, tuple[Cell, ...]] = {}
        self.filter_text = ""
        self.stale: dict[str, float] = {}  # endpoint -> when it last answered

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        table = KeyTable(classes="pane-table")
        for key, label, width in self.COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table
        yield Static(self.EMPTY, classes="pane-empty")

    def on_mount(self) -> None:
        self._retitle()

    @property
    def table(self) -> KeyTable:
        return self.query_one(KeyTable)

    # -- what subclasses say ----------------------------------------------------------

    def cells(self, item: T) -> tuple[Cell, ...]:
        raise NotImplementedError

    def key_of(self, item: T) -> str:
        return item.key  # type: ignore[attr-defined]

    def endpoint_of(self, item: T) -> str:
        """The engine an item comes from ("" when it belongs to the whole cluster)."""
        return getattr(item, "endpoint", "")

    def search_text(self, item: T) -> str:
        return " ".join(c.plain if isinstance(c, Text) else str(c) for c in self.cells(item))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Mutating keys show as disabled in read-only mode (the guard refuses them anyway)."""
        if action in self.MUTATING and getattr(self.app, "read_only", False):
            return None
        return True

    # -- data in ----------------------------------------------------------------------

    def replace_all(self, items: Iterable[T]) -> None:
        self.items = {self.key_of(i): i for i in items}
        self._sync(None)

    def update_items(self, changed: Iterable[T], removed: Iterable[str] = ()) -> None:
        keys: set[str] = set()
        for item in changed:
            k = self.key_of(item)
            self.items[k] = item
            keys.add(k)
        for k in removed:
            if self.items.pop(k, None) is not None:
                keys.add(k)
        if keys:
            self._sync(keys)

    def remove_where(self, predicate) -> None:
        gone = [k for k, v in self.items.items() if predicate(v)]
        for k in gone:
            del self.items[k]
        if gone:
            self._sync(set(gone))

    def set_stale(self, stale: dict[str, float]) -> None:
        """Engines that do not answer, and when they last did: their rows stay, dimmed and marked."""
        if stale != self.stale:
            self.stale = dict(stale)
            self._sync(None)

    def _row(self, item: T) -> tuple[Text, ...]:
        cells = tuple(c if isinstance(c, Text) else Text(c) for c in self.cells(item))
        since = self.stale.get(self.endpoint_of(item)) if self.stale else None
        if since is None or self.STALE_COLUMN is None:
            return cells
        marked = [key for key, _, _ in self.COLUMNS].index(self.STALE_COLUMN)
        return tuple(Text(f"{c.plain} · stale since {clock(since)}" if i == marked else c.plain, style="dim")
                     for i, c in enumerate(cells))

    def rerender(self) -> None:
        """Recompute every row (for data derived from other panes); only diffs reach the screen."""
        self._sync(None)

    def visible(self, item: T) -> bool:
        if not self.filter_text:
            return True
        needle = self.filter_text.lower()
        return all(part in self.search_text(item).lower() for part in needle.split())

    def _sync(self, keys: set[str] | None) -> None:
        found = self.query(KeyTable)
        if not found:
            # The pane is being taken down (the app is quitting) while a worker's news
            # is still on its way: there is nothing left to draw it on.
            return
        table = found.first()
        if keys is None:
            order = list(self.items) + [k for k in self._shown if k not in self.items]
        else:
            # New rows go in the order of ``items`` (the order they were given in).
            order = [k for k in self.items if k in keys] + [k for k in keys if k not in self.items]
        added = False
        with self.app.batch_update():
            for k in order:
                item = self.items.get(k)
                old = self._shown.get(k)
                if item is None or not self.visible(item):
                    if old is not None:
                        table.remove_row(k)
                        del self._shown[k]
                    continue
                new = self._row(item)
                if old is None:
                    table.add_row(*new, key=k)
                    added = True
                elif old != new:
                    for (col, _, _), a, b in zip(self.COLUMNS, old, new):
                        if a != b:
                            table.update_cell(k, col, b)
                self._shown[k] = new
            if added and self.SORT_COLUMN:
                table.sort(self.SORT_COLUMN, key=_sort_key)
        self._retitle()

    def _retitle(self) -> None:
        shown, total = len(self._shown), len(self.items)
        count = f"{shown}/{total}" if self.filter_text else f"{total}"
        title = f"[{self.NUMBER}] {self.TITLE} ({count})"
        if self.filter_text:
            title += f" filter: {self.filter_text}"
        if self.border_title != title:
            self.border_title = title
        empty = self.query_one(".pane-empty", Static)
        want = not self._shown
        if empty.display != want:
            empty.display = want

    # -- selection --------------------------------------------------------------------

    @property
    def selected(self) -> T | None:
        table = self.table
        if not self._shown or table.cursor_row < 0 or table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except Exception:  # noqa: BLE001 - cursor outside the table after removals
            return None
        return self.items.get(key) if key is not None else None

    # -- filter -----------------------------------------------------------------------

    def action_start_filter(self) -> None:
        # The filter box is made on first use: four idle Inputs cost start-up time for nothing.
        found = self.query(".pane-filter")
        if found:
            box = found.first(Input)
            box.display = True
        else:
            box = Input(placeholder="filter (escape clears)", classes="pane-filter")
            self.mount(box, before=self.table)
        box.focus()

    def action_clear_filter(self) -> None:
        found = self.query(".pane-filter")
        box = found.first(Input) if found else None
        if box is not None and (self.filter_text or box.display):
            box.value = ""
            box.display = False
            self._set_filter("")
            self.table.focus()

    ENTER_ACTION = "details"

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        # The focused table consumes enter before the pane's binding sees it; its
        # RowSelected message is our cue to run the pane's enter action.
        event.stop()
        action = getattr(self, f"action_{self.ENTER_ACTION}", None)
        if action is not None:
            action()

    @on(Input.Changed, ".pane-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._set_filter(event.value.strip())

    @on(Input.Submitted, ".pane-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            event.input.display = False
        self.table.focus()

    def _set_filter(self, text: str) -> None:
        if text != self.filter_text:
            self.filter_text = text
            self._sync(None)


def _sort_key(value: Cell) -> str:
    return (value.plain if isinstance(value, Text) else str(value)).lower()


STATE_STYLES = {
    "running": "green",
    "exited": "red",
    "dead": "bold red",
    "created": "yellow",
    "paused": "magenta",
    "restarting": "cyan",
    "removing": "dim",
}


def state_text(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))

