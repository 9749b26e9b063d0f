"""A pane that shows a keyed set of items in a DataTable and keeps it in step by row diffs.

Rows are added, updated (only the cells that differ) and removed by key inside
``batch_update``; the table is never cleared and refilled. The filter (``/``)
narrows the rows shown without touching the data behind them.

The cursor follows its row, not its position: whatever rows come, go or get sorted,
it stays on the same key. When its row goes, it moves to the row that took its place
(or the one before, at the end) and, if the row is gone from the data (not only
filtered out), the console says so; an action key pressed just after such a move is
refused once, since the user aimed at the row that went.
"""

from __future__ import annotations

import time
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
    ALLOW_MAXIMIZE = True  # ``z`` zooms the pane (Textual maximizes only focusable widgets by default)

    # How long after the cursor moved by itself an action key is taken as aimed at the row that went.
    MOVED_GRACE = 2.0

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items: dict[str, T] = {}
        self._shown: dict[str, tuple[Cell, ...]] = {}
        self.filter_text = ""
        self._moved: tuple[float, str, str] | None = None  # (when, to which key, the sentence said)
        # Cells shown instead of the item's own while an action is under way: key -> (column, shown, covered)
        self._marks: dict[str, tuple[str, Text, Text | None]] = {}

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

    def mark(self, key: str, column: str, text: str) -> Text | None:
        """Show ``text`` in ``column`` of ``key``'s row ("stopping…") until the item's own cell there
        changes (the engine's news arrived), the row goes, or ``unmark``. Returns the mark's token."""
        if key not in self.items:
            return None
        shown = Text(text, style="italic yellow")
        self._marks[key] = (column, shown, None)
        self._sync({key})
        return shown

    def unmark(self, key: str, token: Text | None = None) -> None:
        """Show ``key``'s row as its item says again (only if ``token`` is still its mark, when given)."""
        mark = self._marks.get(key)
        if mark is None or (token is not None and mark[1] is not token):
            return
        del self._marks[key]
        if key in self.items:
            self._sync({key})

    def _marked(self, key: str, cells: tuple[Text, ...]) -> tuple[Text, ...]:
        column, shown, covered = self._marks[key]
        at = next(i for i, (col, _, _) in enumerate(self.COLUMNS) if col == column)
        if covered is None:
            self._marks[key] = (column, shown, cells[at])
        elif cells[at] != covered:
            del self._marks[key]  # the engine's news replaces the mark
            return cells
        return cells[:at] + (shown,) + cells[at + 1:]

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

    def _sync(self, keys: set[str] | None, *, relayout: bool = False) -> None:
        found = self.query(KeyTable)
        if not found:
            # The pane is being taken down (the app is quitting) while a worker's news
            # is still on its way: there is nothing left to draw it on.
            return
        table = found.first()
        held = self._cursor_key(table)
        instead: list[str] = []  # where the cursor goes if its row goes: after it, then before it

        def leaving(key: str) -> None:
            if key == held and not instead:
                order = [row.key.value for row in table.ordered_rows]
                at = order.index(key)
                instead.extend(order[at + 1:] + order[:at][::-1])

        held_name = self._row_name(held)
        if keys is None:
            order = list(self.items) + [k for k in self._shown if k not in self.items]
        else:
            # New rows go in the order of ``items`` (the order they were given in).
            order = [k for k in self.items if k in keys] + [k for k in keys if k not in self.items]
        added = False
        with self.app.batch_update():
            if relayout and self._shown:
                # The rows' order itself changed (panes without a sort column): lay them out again.
                if held is not None:
                    leaving(held)
                table.clear()
                self._shown = {}
            for k in order:
                item = self.items.get(k)
                old = self._shown.get(k)
                if item is None or not self.visible(item):
                    if old is not None:
                        leaving(k)
                        table.remove_row(k)
                        del self._shown[k]
                    if item is None:
                        self._marks.pop(k, None)
                    continue
                new = self._row(item)
                if k in self._marks:
                    new = self._marked(k, new)
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
            self._keep_cursor(table, held, held_name, instead)
        self._retitle()

    def _keep_cursor(self, table: KeyTable, held: str | None, held_name: str, instead: list[str]) -> None:
        """Put the cursor back on ``held``'s row; if it went, on the first of ``instead`` still shown."""
        if held is None:
            return
        if held in self._shown:
            at = table.get_row_index(held)
            if at != table.cursor_row:
                table.move_cursor(row=at)
            return
        to = next((k for k in instead if k in self._shown), None)
        if to is not None:
            table.move_cursor(row=table.get_row_index(to))
        if held in self.items or table.screen.focused is not table:
            return  # filtered out (the user's own doing), or a pane the user is not in
        if to is None:
            sentence = f"{held_name} is gone"
        else:
            sentence = f"{held_name} is gone; the cursor moved to {self._row_name(to)}"
            self._moved = (time.monotonic(), to, sentence)
        self.app.notify(sentence + ".", title="Cursor moved", severity="warning")

    @staticmethod
    def _cursor_key(table: KeyTable) -> str | None:
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except Exception:  # noqa: BLE001 - cursor outside the table
            return None

    def _row_name(self, key: str | None) -> str:
        """What the row of ``key`` shows in its first column (its name)."""
        cells = self._shown.get(key) if key is not None else None
        if not cells:
            return ""
        first = cells[0]
        return (first.plain if isinstance(first, Text) else str(first)).strip()

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
        key = self._cursor_key(self.table) if self._shown else None
        return self.items.get(key) if key is not None else None

    def target(self) -> T | None:
        """The item an action key acts on: the highlighted one, except just after the cursor
        moved by itself because its row went; then None, once, and the console says so."""
        item = self.selected
        moved, self._moved = self._moved, None
        if (item is not None and moved is not None and moved[1] == self.key_of(item)
                and time.monotonic() - moved[0] < self.MOVED_GRACE):
            self.app.notify(f"{moved[2]}: nothing was done; press the key again to act on {self._row_name(moved[1])}.",
                            title="Cursor moved", severity="warning")
            return None
        return item

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

