"""A pane that shows a keyed set of items in a line-rendered table and keeps it in step by key.

``KeyTable`` draws only the rows on screen (``render_line``): 1,000 or 20,000 rows cost
the same to draw, and a row costs a tuple of cells until it scrolls into view. Its
columns are as wide as the content it holds now (a width histogram per column), and
when they do not fit the pane the widest give way first (cut with "…"); a header is
never clipped.

``TablePane`` owns the items and decides what the table shows: rows are put, updated
(only when their cells differ) and dropped by key, never cleared and refilled; the
order comes from the sort column (``o`` cycles it, ``O`` reverses, the header marks it);
the filter (``/``) narrows the rows without touching the data behind them. A very large
change (the whole list of 20,000 containers) is applied a chunk per turn of the event
loop, so the cursor keeps answering while rows arrive.

The cursor follows its row, not its position: whatever rows come, go or get sorted,
it stays on the same key. When its row goes, it moves to the row that took its place
(or the one before, at the end) and, if the row is gone from the data (not only
filtered out), the console says so; an action key pressed just after such a move is
refused once, since the user aimed at the row that went.
"""

from __future__ import annotations

import asyncio
import time
from collections import namedtuple
from functools import lru_cache
from itertools import islice
from typing import Generic, Iterable, TypeVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from carina_tui.core.models import clock
from carina_tui.ui import columns as cols
from carina_tui.ui.columns import Cell, natural, plain

T = TypeVar("T")

# DataTable's names for what ``coordinate_to_cell_key`` returns (tests and callers read ``.row_key.value``).
_RowKey = namedtuple("_RowKey", "value")
CellKey = namedtuple("CellKey", "row_key column_key")

@lru_cache(maxsize=64)
def _style(style: str | Style) -> Style:
    return Style.parse(style) if isinstance(style, str) else style


class KeyTable(ScrollView, can_focus=True):
    """Rows by key in a given order, drawn line by line; a row cursor with vi keys.

    The pane feeds it with ``put``/``drop``/``arrange`` and ends a batch with ``commit``,
    which refits the columns when their content widths changed and redraws only the
    lines on screen that changed. Offers the few DataTable methods callers use
    (``row_count``, ``cursor_row``, ``move_cursor``, ``get_row_at``, ``get_row_index``,
    ``get_cell``, ``coordinate_to_cell_key``).
    """

    COMPONENT_CLASSES = {"key-table--header", "key-table--cursor", "key-table--empty"}

    DEFAULT_CSS = """
    KeyTable {
        width: 1fr;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .key-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .key-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .key-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .key-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .key-table--empty {
            color: $text-muted;
        }
    }
    """

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("pageup", "cursor_page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "cursor_page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home", "cursor_to(0)", "First row", show=False, id="table.first"),
        Binding("end", "cursor_to(-1)", "Last row", show=False, id="table.last"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="table.left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="table.right"),
        Binding("enter", "select", "Select", show=False, id="table.select"),
    ]

    class RowSelected(Message):
        """Enter (or a click on the cursor's row): the pane runs its enter action."""

        def __init__(self, table: "KeyTable", key: str) -> None:
            super().__init__()
            self.table = table
            self.row_key = key

        @property
        def control(self) -> "KeyTable":
            return self.table

    GAP = cols.GAP  # the column rules (``columns.fit``) are shared with the frame drawn before Textual

    def __init__(self, columns: Iterable[tuple[str, str]], *, empty: str = "", keep: Iterable[str] = (),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.column_keys: list[str] = []
        self.labels: list[str] = []
        for key, label in columns:
            self.column_keys.append(key)
            self.labels.append(label)
        # The columns by importance, the first kept longest when the pane is narrow.
        self._keep = cols.keep_order(self.column_keys, tuple(keep))
        self.empty = empty
        self.rows: dict[str, tuple[Cell, ...]] = {}
        self.order: list[str] = []
        self._index: dict[str, int] | None = None
        self._hist: list[dict[int, int]] = [{} for _ in self.column_keys]
        self._natural: list[int] = [0] * len(self.column_keys)
        self._hist_dirty = True
        self._dirty: set[str] = set()
        self._reordered = True
        self._sorted: tuple[str, bool] | None = None
        self._widths: list[int] = []
        self._gap = self.GAP
        self._fitted_for: tuple | None = None
        self._cursor = 0
        self._styles: tuple[Style, Style, Style, Style] | None = None

    # -- data in (from the pane) -------------------------------------------------------

    def put(self, key: str, cells: tuple[Cell, ...]) -> None:
        """Add or replace a row's cells (it takes a place in the order with ``arrange``)."""
        old = self.rows.get(key)
        if old is not None:
            self._count(old, -1)
        self._count(cells, 1)
        self.rows[key] = cells
        self._dirty.add(key)

    def drop(self, key: str) -> None:
        old = self.rows.pop(key, None)
        if old is not None:
            self._count(old, -1)

    def arrange(self, order: list[str]) -> None:
        """The rows' order from now on: every key of ``rows``, once."""
        self.order = order
        self._index = None
        self._reordered = True

    def mark_sorted(self, column: str | None, reverse: bool = False) -> None:
        sorted_ = (column, reverse) if column is not None else None
        if sorted_ != self._sorted:
            self._sorted = sorted_
            self._hist_dirty = True  # the header's width may change with the mark

    def commit(self) -> None:
        """Show what was put, dropped and arranged: refit the columns if their content widths
        changed, then redraw the lines on screen that changed (nothing when nothing did)."""
        height = len(self.order) + 1
        refit = self._refit()
        width = self._total_width()
        if self.virtual_size != Size(width, height):
            self.virtual_size = Size(width, height)
        if self._cursor >= len(self.order):
            self._cursor = max(0, len(self.order) - 1)
        if refit or self._reordered:
            self.refresh()
        elif self._dirty:
            top = int(self.scroll_y)
            for line in range(top, min(len(self.order), top + self.size.height)):
                if self.order[line] in self._dirty:
                    self.refresh_line(line + 1)
        self._dirty.clear()
        self._reordered = False

    def _count(self, cells: tuple[Cell, ...], step: int) -> None:
        for hist, cell in zip(self._hist, cells):
            w = cols.width(cell)
            n = hist.get(w, 0) + step
            if n:
                hist[w] = n
            else:
                del hist[w]
        self._hist_dirty = True

    # -- columns ----------------------------------------------------------------------------

    def header_label(self, at: int) -> str:
        sorted_ = self._sorted
        return cols.header_label(self.labels[at], sorted_ is not None and sorted_[0] == self.column_keys[at],
                                 sorted_ is not None and sorted_[1])

    def _refit(self) -> bool:
        """Column widths for what the table holds now, in the width it has; True if they changed
        (nothing is fitted before the table has a size: ``on_resize`` does it then)."""
        if not self.size.width:
            return False
        if self._hist_dirty:
            self._hist_dirty = False
            self._natural = [max(cell_len(self.header_label(i)), max(h, default=0)) for i, h in enumerate(self._hist)]
        return self._fit()

    def _available(self) -> int:
        return max(0, self.size.width - self.styles.scrollbar_size_vertical)

    def _fit(self) -> bool:
        """Fit the natural widths into the width available (``columns.fit``: the widest give way
        first; the least important column is left out when the rest would be cut too far; ``z``
        zooms the pane to show all). True if the widths changed."""
        available = self._available()
        key = (available, tuple(self._natural), self._sorted)
        if key == self._fitted_for:
            return False
        self._fitted_for = key
        sorted_at = self.column_keys.index(self._sorted[0]) if self._sorted else -1
        labels = [self.header_label(i) for i in range(len(self.labels))]
        widths, gap = cols.fit(self._natural, labels, self._keep, sorted_at, available)
        changed = (widths, gap) != (self._widths, self._gap)
        self._widths, self._gap = widths, gap
        return changed

    def _total_width(self) -> int:
        return sum(self._widths) + self._gap * sum(1 for w in self._widths if w)

    def on_resize(self, event: events.Resize) -> None:
        if self._refit():
            self.virtual_size = Size(self._total_width(), len(self.order) + 1)
            self.refresh()
        self._scroll_to_cursor()

    # -- drawing ----------------------------------------------------------------------------

    def render_lines(self, crop):
        # The widget's styles, worked out once for all the lines of this pass.
        base = self.rich_style
        self._styles = (base, *(base + self.get_component_rich_style(name) for name in
                                ("key-table--header", "key-table--cursor", "key-table--empty")))
        try:
            return super().render_lines(crop)
        finally:
            self._styles = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        styles = self._styles
        if styles is None:  # a single line asked for outside a pass
            base = self.rich_style
            styles = (base, *(base + self.get_component_rich_style(name) for name in
                              ("key-table--header", "key-table--cursor", "key-table--empty")))
        base, header, cursor, empty = styles
        if not self._widths and self.column_keys:
            self._refit()  # the first frame, before on_resize
        if y == 0:
            strip = self._line([self.header_label(i) for i in range(len(self.labels))], header)
        else:
            at = scroll_y + y - 1
            if at < len(self.order):
                style = cursor if at == self._cursor else base
                return self._line(self.rows[self.order[at]], style).crop_extend(scroll_x, scroll_x + width, style)
            elif at == 0 and self.empty:
                strip = Strip([Segment(" " + self.empty, empty)])
            else:
                return Strip.blank(width, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _line(self, cells: Iterable[Cell], style: Style) -> Strip:
        gap = self._gap
        pad = Segment(" " * (gap // 2 or 1), style)
        between = Segment(" " * gap, style)
        segments: list[Segment] = [pad]
        for cell, width in zip(cells, self._widths):
            if not width:
                continue  # left out: the pane is too narrow for it
            if len(segments) > 1:
                segments.append(between)
            if isinstance(cell, Text) and not cell.spans:
                cell_style = style + _style(cell.style)
                cell = cell.plain
            elif isinstance(cell, Text):
                text = cell.copy()
                text.truncate(width, overflow="ellipsis", pad=True)
                segments.extend(Segment.apply_style(text.render(self.app.console), style))
                continue
            else:
                cell_style = style
            segments.append(Segment(cols.fit_text(cell, width), cell_style))
        return Strip(segments)

    # -- the cursor -------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.order)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_key(self) -> str | None:
        return self.order[self._cursor] if self._cursor < len(self.order) else None

    def index_of(self, key: str) -> int:
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.order)}
        return self._index[key]

    def move_cursor(self, *, row: int | None = None, column: int | None = None, animate: bool = False,
                    scroll: bool = True) -> None:
        if row is None or not self.order:
            return
        row = max(0, min(row, len(self.order) - 1))
        old, self._cursor = self._cursor, row
        if old != row:
            self.refresh_line(old + 1)
            self.refresh_line(row + 1)
        if scroll:
            self._scroll_to_cursor()

    def _view_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        if not self.order:
            return
        top, rows = int(self.scroll_y), self._view_rows()
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + rows:
            self.scroll_to(y=self._cursor - rows + 1, animate=False)

    def refresh_line(self, y: int) -> None:
        # Line 0 is the header, which does not scroll.
        top = int(self.scroll_y)
        if 1 <= y - top < self.size.height:
            super().refresh_line(y)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_cursor_page(self, pages: int) -> None:
        self.move_cursor(row=self._cursor + pages * self._view_rows())

    def action_cursor_to(self, row: int) -> None:
        self.move_cursor(row=row if row >= 0 else len(self.order) - 1)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    async def _on_click(self, event: events.Click) -> None:
        at = int(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= at < len(self.order):
            if at == self._cursor and event.chain > 1:
                self.action_select()
            self.move_cursor(row=at)

    # -- DataTable's reading methods --------------------------------------------------------

    def get_row_at(self, row_index: int) -> list[Text]:
        return [c if isinstance(c, Text) else Text(c) for c in self.rows[self.order[row_index]]]

    def get_row_index(self, key: str) -> int:
        return self.index_of(key)

    def get_cell(self, key: str, column: str) -> Text:
        cell = self.rows[key][self.column_keys.index(column)]
        return cell if isinstance(cell, Text) else Text(cell)

    def coordinate_to_cell_key(self, coordinate: tuple[int, int]) -> CellKey:
        row, column = coordinate
        return CellKey(_RowKey(self.order[row]), _RowKey(self.column_keys[column]))


class TablePane(Vertical, Generic[T]):
    """Base for the four panes: ``COLUMNS`` names the columns, ``cells`` renders one item."""

    COLUMNS: tuple[tuple[str, str, int | None], ...] = ()
    TITLE = ""
    NUMBER = 0
    EMPTY = "Nothing here yet."
    # The columns ``o`` cycles through (left to right) and the one sorted by at first; no
    # sorting when empty (the rows keep the order they were given in).
    SORTS: tuple[str, ...] = ()
    DEFAULT_SORT: str | None = None
    TICK: float | None = None  # seconds between redraws of time-dependent cells (ages)
    # The columns by importance (the rest follow in their order): in a pane too narrow for all,
    # the last are left out first.
    KEEP: tuple[str, ...] = ()
    # A large change is applied CHUNK rows per turn of the event loop, so that keys are answered
    # meanwhile; what is left goes in one turn once it takes less than BUDGET seconds at the pace
    # measured (5,000 rows: two turns, not three).
    CHUNK = 2000
    BUDGET = 0.03
    ALLOW_MAXIMIZE = True  # z: a container is not maximized by default (it cannot take focus)
    STALE_COLUMN: str | None = None  # the cell that says "stale since" on rows of an engine that does not answer

    BINDINGS = [
        Binding("slash", "start_filter", "Filter", id="pane.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="pane.clear_filter"),
        Binding("o", "sort_next", "Sort", show=False, id="pane.sort"),
        Binding("O", "sort_reverse", "Reverse sort", show=False, id="pane.sort_reverse"),
    ]

    MUTATING: frozenset[str] = frozenset()
    ALLOW_MAXIMIZE = True  # ``z`` zooms the pane (Textual maximizes only focusable widgets by default)

    # How long after the cursor moved by itself an action key is taken as aimed at the row that went.
    MOVED_GRACE = 2.0

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items: dict[str, T] = {}
        self.filter_text = ""
        self.expected: int | None = None  # while a first page is shown: how many the whole list holds
        self.sort_column = self.DEFAULT_SORT
        self.sort_reverse = False
        self._sort_keys: dict[str, tuple[T, object]] = {}  # key -> (the item it was made from, sort key)
        self._pending: dict[str, None] = {}  # keys still to apply (a large change, a chunk per turn)
        self._row_cost = 0.0  # seconds per row of the last large chunk applied (0: not measured yet)
        self._when_applied: list = []  # callbacks for when nothing is pending
        self._table: KeyTable | None = None
        self._moved: tuple[float, str, str] | None = None  # (when, to which key, the sentence said)
        # Cells shown instead of the item's own while an action is under way: key -> (column, shown, covered)
        self._marks: dict[str, tuple[str, Text, Text | None]] = {}

        self.stale: dict[str, float] = {}  # endpoint -> when it last answered

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self._table = KeyTable([(key, label) for key, label, _ in self.COLUMNS], empty=self.EMPTY,
                               keep=self.KEEP, classes="pane-table")
        self._table.mark_sorted(self.sort_column, self.sort_reverse)
        yield self._table

    def on_mount(self) -> None:
        self._retitle()
        if self.TICK:
            self.set_interval(self.TICK, self.tick)

    def on_unmount(self) -> None:
        self._table = None

    def on_worker_state_changed(self, event) -> None:
        """A failure in one of the pane's own workers, said as a notification."""
        from carina_tui.ui.screens import report_worker_error

        report_worker_error(self, event)

    def reload(self) -> None:
        """Read this pane's data again (r, an engine back, a cluster switch). The home panes get
        theirs from the console screen; a pane 5+ starts its own worker here (and in ``on_mount``)."""

    @property
    def table(self) -> KeyTable:
        return self.query_one(KeyTable)

    @property
    def _shown(self) -> dict[str, tuple[Cell, ...]]:
        """The rows the table shows now (after the filter), by key."""
        return self._table.rows if self._table is not None else {}

    # -- what subclasses say ----------------------------------------------------------

    def cells(self, item: T) -> tuple[Cell, ...]:
        raise NotImplementedError

    def key_of(self, item: T) -> str:
        return item.key  # type: ignore[attr-defined]

    def sort_key(self, item: T, column: str, cells: tuple[Cell, ...]) -> object:
        """Where ``item`` goes when sorted by ``column``: its cell there in natural order."""
        at = self._column_index(column)
        return natural(plain(cells[at]))

    def endpoint_of(self, item: T) -> str:
        """The engine an item comes from ("" when it belongs to the whole cluster)."""
        return getattr(item, "endpoint", "")

    def search_text(self, item: T) -> str:
        return " ".join(plain(c) for c in self.cells(item))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Mutating keys show as disabled in read-only mode (the guard refuses them anyway)."""
        if action in ("sort_next", "sort_reverse") and not self.SORTS:
            return False
        if action in self.MUTATING and getattr(self.app, "read_only", False):
            return None
        return True

    def _column_index(self, column: str) -> int:
        return next(i for i, (col, _, _) in enumerate(self.COLUMNS) if col == column)

    # -- data in ----------------------------------------------------------------------

    def replace_all(self, items: Iterable[T], *, expected: int | None = None) -> None:
        """``items`` from now on; ``expected``: how many there will be once the rest has come
        (a first page: the title says so)."""
        self.items = {self.key_of(i): i for i in items}
        self.expected = expected
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

    def _marked(self, key: str, cells: tuple[Cell, ...]) -> tuple[Cell, ...]:
        column, shown, covered = self._marks[key]
        at = self._column_index(column)
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

    def _row(self, item: T) -> tuple[Cell, ...]:
        """The cells of ``item``'s row as shown: its own, or dimmed and marked "stale since" when
        its engine does not answer."""
        cells = self.cells(item)
        since = self.stale.get(self.endpoint_of(item)) if self.stale else None
        if since is None or self.STALE_COLUMN is None:
            return cells
        marked = self._column_index(self.STALE_COLUMN)
        return tuple(Text(f"{plain(c)} · stale since {clock(since)}" if i == marked else plain(c), style="dim")
                     for i, c in enumerate(cells))

    def rerender(self) -> None:
        """Recompute every row (for data derived from other panes); only diffs reach the screen."""
        self._sync(None)

    def tick(self) -> None:
        """Time passed (``TICK``): rows whose time-dependent cells (ages) now read differently
        are redrawn; nothing else is written."""
        self.rerender()

    def visible(self, item: T) -> bool:
        if not self.filter_text:
            return True
        needle = self.filter_text.lower()
        return all(part in self.search_text(item).lower() for part in needle.split())

    def _sync(self, keys: set[str] | None, *, relayout: bool = False) -> None:
        """Bring the table in step with ``items`` for ``keys`` (None: every row).

        A change larger than ``CHUNK`` rows is applied a chunk now and a chunk per turn
        of the event loop after, so keys (``j``) are answered while it is applied."""
        table = self._table
        if table is None:
            # The pane is being taken down (the app is quitting) while a worker's news
            # is still on its way: there is nothing left to draw it on.
            return
        if keys is None:
            todo = list(self.items) + [k for k in table.rows if k not in self.items]
        else:
            # New rows go in the order of ``items`` (the order they were given in).
            todo = [k for k in self.items if k in keys] + [k for k in keys if k not in self.items]
        for k in todo:
            self._pending.pop(k, None)
        chunk = self._chunk(len(todo) + len(self._pending))
        if len(todo) > chunk:
            was_idle = not self._pending
            self._pending.update(dict.fromkeys(todo[chunk:]))
            todo = todo[:chunk]
            if was_idle:
                self.call_later(self._apply_pending)
        self._apply(todo, relayout)

    def _chunk(self, left: int) -> int:
        """Rows to apply in this turn, of the ``left`` to apply: CHUNK, or all of them when they are
        known to take less than BUDGET. (Each turn sorts all rows again and lays the screen out:
        5,000 rows in three turns took 0.05 s longer than in two.)"""
        if self._row_cost and left * self._row_cost <= self.BUDGET:
            return left
        return self.CHUNK

    async def _apply_pending(self) -> None:
        # One chunk per message: a key bubbling up through this pane meanwhile is queued before
        # the next chunk. The sleep lets the table's own task pass it on first.
        await asyncio.sleep(0)
        if self._table is None:
            return
        if self._pending:  # (a smaller change since may have taken the rest)
            todo = list(islice(self._pending, self._chunk(len(self._pending))))
            for k in todo:
                del self._pending[k]
            self._apply(todo, False)
        if self._pending:
            self.call_later(self._apply_pending)
        else:
            waiting, self._when_applied = self._when_applied, []
            for callback in waiting:
                callback()

    def when_applied(self, callback) -> None:
        """Call ``callback`` once every row handed over so far is in the table (now, if it is)."""
        if self._pending:
            self._when_applied.append(callback)
        else:
            callback()

    def _apply(self, todo: list[str], relayout: bool) -> None:
        table = self._table
        assert table is not None
        started = time.perf_counter()
        held = table.cursor_key
        held_name = self._row_name(held)
        old_order = table.order
        reorder = relayout
        rows = table.rows
        for k in todo:
            item = self.items.get(k)
            old = rows.get(k)
            if item is None or not self.visible(item):
                if old is not None:
                    table.drop(k)
                    self._sort_keys.pop(k, None)
                    reorder = True
                if item is None:
                    self._marks.pop(k, None)
                continue
            new = self._row(item)
            if k in self._marks:
                new = self._marked(k, new)
            if old is None:
                reorder = True
            if new != old:
                table.put(k, new)
            if self.sort_column is not None:
                cached = self._sort_keys.get(k)
                if cached is None or cached[0] is not item or new != old:
                    sort_key = self.sort_key(item, self.sort_column, new)
                    if cached is None or cached[1] != sort_key:
                        reorder = True
                    self._sort_keys[k] = (item, sort_key)
        if reorder:
            table.arrange(self._ordered(rows))
        table.commit()
        self._keep_cursor(table, held, held_name, old_order)
        self._retitle()
        if len(todo) >= 500:  # enough rows for a pace that means something
            self._row_cost = (time.perf_counter() - started) / len(todo)

    def _ordered(self, rows: dict[str, tuple[Cell, ...]]) -> list[str]:
        if self.sort_column is None:
            return [k for k in self.items if k in rows]
        keys = self._sort_keys
        return sorted(rows, key=lambda k: (keys[k][1], k), reverse=self.sort_reverse)

    def _keep_cursor(self, table: KeyTable, held: str | None, held_name: str, old_order: list[str]) -> None:
        """Put the cursor back on ``held``'s row; if it went, on the row that took its place
        (after it in the old order, else the nearest before it)."""
        if held is None:
            return
        rows = table.rows
        if held in rows:
            at = table.index_of(held)
            if at != table.cursor_row:
                table.move_cursor(row=at)
            return
        to = None
        if old_order:
            at = old_order.index(held) if held in old_order else 0
            to = next((k for k in old_order[at + 1:] if k in rows), None)
            if to is None:
                to = next((k for k in reversed(old_order[:at]) if k in rows), None)
        if to is not None:
            table.move_cursor(row=table.index_of(to))
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
        return table.cursor_key

    def _row_name(self, key: str | None) -> str:
        """What the row of ``key`` shows in its first column (its name)."""
        cells = self._shown.get(key) if key is not None else None
        if not cells:
            return ""
        return plain(cells[0]).strip()

    def _retitle(self) -> None:
        title = cols.pane_title(self.NUMBER, self.TITLE, shown=len(self._shown), total=len(self.items),
                                expected=self.expected or 0, pending=bool(self._pending),
                                filter_text=self.filter_text)
        if self.border_title != title:
            self.border_title = title

    # -- sorting ----------------------------------------------------------------------

    def action_sort_next(self) -> None:
        """``o``: sort by the next column to the right (wrapping round)."""
        if not self.SORTS:
            return
        at = self.SORTS.index(self.sort_column) if self.sort_column in self.SORTS else -1
        self.sort_by(self.SORTS[(at + 1) % len(self.SORTS)], False)

    def action_sort_reverse(self) -> None:
        """``O``: the same column, the other way round."""
        if self.SORTS:
            self.sort_by(self.sort_column or self.SORTS[0], not self.sort_reverse)

    def sort_by(self, column: str, reverse: bool = False) -> None:
        """Sort by ``column`` (one of ``SORTS``); the cursor stays on its row."""
        self.sort_column, self.sort_reverse = column, reverse
        self._sort_keys = {}
        table = self._table
        if table is None:
            return
        table.mark_sorted(column, reverse)
        for k, cells in table.rows.items():
            item = self.items[k]
            self._sort_keys[k] = (item, self.sort_key(item, column, cells))
        held = table.cursor_key
        table.arrange(self._ordered(table.rows))
        table.commit()
        self._keep_cursor(table, held, self._row_name(held), table.order)

    # -- selection --------------------------------------------------------------------

    @property
    def selected(self) -> T | None:
        key = self._table.cursor_key if self._table is not None else None
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

    async def action_start_filter(self) -> None:
        # The filter box is made on first use: four idle Inputs cost start-up time for nothing.
        found = self.query(".pane-filter")
        if found:
            box = found.first()
            box.display = True
        else:
            from textual.widgets import Input

            box = Input(placeholder="filter (escape clears)", classes="pane-filter")
            # Keys typed behind ``/`` come here; enter or escape among them hands the focus back
            # to the table in their turn (``TypeAheadApp``).
            box.takes_type_ahead = True
            box.leave_to = self.table
            await self.mount(box, before=self.table)
        # Focused now, not at the next idle (``Widget.focus``): the app is still in this key's
        # turn, so the keys typed behind ``/`` come back to it after the box has the focus.
        self.screen.set_focus(box)

    def action_clear_filter(self) -> None:
        found = self.query(".pane-filter")
        box = found.first() if found else None
        if box is not None and (self.filter_text or box.display):
            box.value = ""
            box.display = False
            self._set_filter("")
            self.screen.set_focus(self.table)

    ENTER_ACTION = "details"

    @on(KeyTable.RowSelected)
    def _row_chosen(self, event: KeyTable.RowSelected) -> None:
        event.stop()
        action = getattr(self, f"action_{self.ENTER_ACTION}", None)
        if action is not None:
            action()

    # The filter box's messages, by handler name: importing Input is left to the first ``/``.
    def on_input_changed(self, event) -> None:
        if event.input.has_class("pane-filter"):
            event.stop()
            self._set_filter(event.value.strip())

    def on_input_submitted(self, event) -> None:
        if event.input.has_class("pane-filter"):
            event.stop()
            if not event.value.strip():
                event.input.display = False
            if self.screen.focused is event.input:
                self.screen.set_focus(self.table)

    def _set_filter(self, text: str) -> None:
        if text != self.filter_text:
            self.filter_text = text
            self._sync(None)
