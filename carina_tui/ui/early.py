"""The first frame, drawn before Textual has loaded: the header and the Containers pane.

Textual takes 0.2-0.25 s on this machine to import and to lay out its first frame, whatever the
app; the first snapshot (``Session.prefetch``, plain HTTP, its reads sent ahead by ``head_start``)
is in by then for a while. So, in a terminal, what the console's first frame will show in the
header and in the Containers pane is drawn from that snapshot, in the same cells and styles as
Textual will, as soon as it is in: by the caller when it is in within ``HERE`` (no import of
Textual's then competes for the interpreter), else by a thread of its own (``carina-early``).
Textual's first frame then finds those cells already right (``CellDriver`` is handed the cells
drawn, ``hand_over``, and sends only the others).

The same code decides what both draw: ``columns.py`` (the rows, their order, the column widths)
and ``header_parts`` (the header). The styles are those Textual computes for its default theme
(textual-dark); with another theme, no colour system, or anything else this frame does not know
how to draw as Textual would (a cluster colour, a screen under 40x12), it is not drawn and the
console starts as before. ``tests/ui/test_early_frame.py`` compares the two, cell by cell, in a
real terminal.

The terminal is put in the alternate screen with the cursor hidden and keys not echoed (they
wait, unread, for Textual; ``ctrl+c`` still stops the process); ``hand_over`` passes the
terminal's settings from before to the driver, which restores them at exit. Should Textual never
start (an error on the way), ``close`` puts the terminal back as it was.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (nothing here imports Textual, docker or rich at start-up)
    from carina_tui.core.clusters import ClusterSpec
    from carina_tui.core.config import Config
    from carina_tui.services.session import Session, Snapshot

CONTAINERS_NUMBER = 3  # its key and number (``ui/panes/__init__.py`` registers it as "3")
WAIT = 3.0  # seconds the thread waits for the first snapshot (Textual's own frame comes anyway)
HERE = 0.05  # seconds the caller waits (engines on unix sockets) to draw the frame itself, before its thread does
MIN_SIZE = (40, 12)
DEFAULT_THEMES = ("", "textual-dark")

# textual-dark, as Textual 8 renders the console (truecolor; a terminal of fewer colours gets them
# reduced the way Textual reduces them, by rich). Checked against Textual's own frame by the test.
SCREEN_BG = "#121212"
HEADER = "#e4e6e7 on #33424e"
HEADER_BG = "on #33424e"
BORDER = f"#fea62b on {SCREEN_BG}"  # the focused pane's (the Containers pane has the focus at start)
TITLE = f"bold #fea62b on {SCREEN_BG}"
TABLE_HEADER = "bold #e0e0e0 on #242f38"
ROW = "#e0e0e0 on #272727"
CURSOR = "bold #ddedf9 on #0178d4"
MUTED = "#a8a8a8 on #272727"  # (".key-table--empty" over the focused table)
# Textual shows the terminal's named colours as its ANSI theme's (Monokai) and dims by blending.
ANSI = {"black": "#1a1a1a", "red": "#f4005f", "green": "#98e024", "yellow": "#fd971f", "blue": "#9d65ff",
        "magenta": "#f4005f", "cyan": "#58d1eb", "white": "#c4c5b5"}
DIM_FACTOR = 0.66

_TERM_COLORS = {"kitty": "256", "256color": "256", "16color": "standard"}


def header_parts(spec: "ClusterSpec", *, read_only: bool, served: bool = False) -> list[tuple[str, str]]:
    """The header's text as (text, style) parts (the console's header shows these)."""
    parts = [(" carina-tui ", "bold reverse"), (f"  {spec.name}", "bold")]
    if tuple(spec.endpoints) != (spec.name,):  # --host URL: the cluster is named by its one URL
        parts.append((f"  {', '.join(spec.endpoints)}", "dim"))
    mark = " (served)" if served else ""  # carina-tui serve: the page says whether it can act
    if read_only:
        parts += [("  ", ""), (f" READ-ONLY{mark} ", "bold white on red")]
    elif served:
        parts += [("  ", ""), (" CHANGES ALLOWED (served) ", "bold black on yellow")]
    return parts


def color_system(environ=os.environ) -> str | None:
    """The colours Textual will use in this terminal (rich's detection, as Textual asks for it):
    "truecolor", "256", "standard", or None for none (or not known here: no early frame)."""
    chosen = environ.get("TEXTUAL_COLOR_SYSTEM", "auto")
    if chosen != "auto":
        return chosen if chosen in ("truecolor", "256", "standard") else None
    if environ.get("NO_COLOR") or environ.get("FORCE_COLOR") or environ.get("TTY_COMPATIBLE"):
        return None  # rich's other rules: not drawn here
    if environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return "truecolor"
    term = environ.get("TERM", "").strip().lower()
    if term in ("", "dumb", "unknown"):
        return None
    return _TERM_COLORS.get(term.rpartition("-")[2], "standard")


def split(total: int, weights: tuple[int, ...]) -> list[tuple[int, int]]:
    """(offset, length) of each of ``weights`` fr of ``total`` cells, as Textual resolves them."""
    unit = Fraction(total, sum(weights))
    offsets, at = [0], Fraction(0)
    for w in weights:
        at += unit * w
        offsets.append(at.__floor__())
    return [(a, b - a) for a, b in zip(offsets, offsets[1:])]


def containers_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the Containers pane's slot (``app.tcss``: left 2fr, right 3fr;
    on the right the Containers pane 3fr over the System pane 2fr; a header and a footer line)."""
    width, height = size
    _, (x, w) = split(width, (2, 3))
    (y, h), _ = split(height - 2, (3, 2))
    return x, y + 1, w, h


class Painter:
    """Rich styles for the frame, in the terminal's colours, each worked out once."""

    def __init__(self, system: str) -> None:
        from rich.color import ColorSystem
        from rich.style import Style

        self.Style = Style
        self.system = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT,
                       "standard": ColorSystem.STANDARD}[system]
        self._parsed: dict[str, object] = {}

    def style(self, spec: str):
        found = self._parsed.get(spec)
        if found is None:
            found = self._parsed[spec] = self.Style.parse(spec)
        return found

    def on(self, base: str, cell_style: str):
        """``cell_style`` (a state's colour, "dim"...) over ``base``, with Textual's colour rules."""
        from rich.color import Color

        style = self.style(base) + self.style(cell_style) if cell_style else self.style(base)
        color = style.color
        if color is not None and color.triplet is None and color.name in ANSI:
            style += self.Style(color=ANSI[color.name])
        bgcolor = style.bgcolor
        if bgcolor is not None and bgcolor.triplet is None and bgcolor.name in ANSI:
            style += self.Style(bgcolor=ANSI[bgcolor.name])
        if style.dim and style.color is not None and style.bgcolor is not None:
            fg, bg = style.color.triplet, style.bgcolor.triplet
            mixed = Color.from_rgb(*(b + (f - b) * DIM_FACTOR for f, b in zip(fg, bg)))
            style = style + self.Style.from_color(mixed, None) + self.Style(dim=False)
        return style

    def runs(self, segments: list[tuple[str, object]]) -> str:
        """``segments`` written as styled runs, side-by-side ones of one style as one."""
        out: list[str] = []
        text, style = "", None
        for piece, piece_style in segments:
            if piece_style == style:
                text += piece
                continue
            if text:
                out.append(style.render(text, color_system=self.system))
            text, style = piece, piece_style
        if text:
            out.append(style.render(text, color_system=self.system))
        return "".join(out)


def frame(snapshot: "Snapshot", spec: "ClusterSpec", *, read_only: bool, qualify: bool, size: tuple[int, int],
          system: str, now: float | None = None) -> str:
    """The header and the Containers pane as Textual's first frame shows them: cursor moves and
    styled runs (no mode changes)."""
    from rich.cells import cell_len, set_cell_size

    from carina_tui.ui import columns as cols

    paint = Painter(system)
    width, _ = size
    now = time.time() if now is None else now
    out: list[str] = []

    def line_at(y: int, x: int, segments: list) -> None:
        out.append(f"\x1b[{y + 1};{x + 1}H" + paint.runs(segments))

    # The header: its parts, then its background to the edge.
    header: list = []
    used = 0
    for text, style in header_parts(spec, read_only=read_only):
        text = set_cell_size(text, min(cell_len(text), width - used))
        header.append((text, paint.on(HEADER, style)))
        used += cell_len(text)
    if used < width:
        header.append((" " * (width - used), paint.style(HEADER_BG)))
    line_at(0, 0, header)

    # The rows: as the pane orders and shows them.
    items = sorted(snapshot.containers, key=cols.running_first)
    rows = [cols.container_cells(c, qualify=qualify, now=now) for c in items]
    keys = [k for k, _ in cols.CONTAINER_COLUMNS]
    labels = [cols.header_label(label, k == "state", False) for k, label in cols.CONTAINER_COLUMNS]
    natural = [cell_len(label) for label in labels]
    for cells in rows:
        for i, cell in enumerate(cells):
            w = cols.width(cell)
            if w > natural[i]:
                natural[i] = w

    x, y, w, h = containers_box(size)
    inner, lines = w - 2, h - 2
    widths, gap = cols.fit(natural, labels, cols.keep_order(keys, cols.CONTAINER_KEEP), keys.index("state"),
                           max(0, inner - 1))  # (a column for the scroll bar is always kept)
    title = cols.pane_title(CONTAINERS_NUMBER, cols.CONTAINERS_TITLE, shown=len(rows), total=len(rows),
                            expected=snapshot.expected if snapshot.partial else 0)

    border, titled = paint.style(BORDER), paint.style(TITLE)
    label = f" {title} "
    fill = inner - 1 - cell_len(label)
    if fill < 0:
        raise ValueError("title too long")  # (the caller draws nothing)
    line_at(y, x, [("╭─", border), (label, titled), ("─" * fill + "╮", border)])

    # Textual's first frame has no scroll bar yet (the second layout adds it): the rows go to the edge.
    table_width = inner
    row_style = paint.style(ROW)
    for line in range(lines):
        segments: list = [("│", border)]
        if line == 0:
            segments += _line(paint, labels, widths, gap, TABLE_HEADER, ROW, table_width)
        elif line - 1 < len(rows):
            style = CURSOR if line == 1 else ROW  # the cursor is on the first row
            segments += _line(paint, rows[line - 1], widths, gap, style, style, table_width)
        elif line == 1:
            empty = " No containers."
            segments += [(empty, paint.style(MUTED)), (" " * (table_width - len(empty)), row_style)]
        else:
            segments.append((" " * table_width, row_style))
        segments.append(("│", border))
        line_at(y + 1 + line, x, segments)
    line_at(y + h - 1, x, [("╰" + "─" * inner + "╯", border)])
    return "".join(out)


def _line(paint: Painter, cells, widths: list[int], gap: int, base: str, fill: str, table_width: int) -> list:
    """One table line as ``KeyTable._line`` draws it: a pad, the cells (in ``base``, or a cell's own
    style over it) cut or padded to their widths with ``gap`` between, then ``fill`` to the
    table's width."""
    from rich.text import Text

    from carina_tui.ui import columns as cols

    style = paint.style(base)
    pad = gap // 2 or 1
    parts: list = [(" " * pad, style)]
    used = pad
    for cell, width in zip(cells, widths):
        if not width:
            continue  # left out: the pane is too narrow for it
        if used > pad:
            parts.append((" " * gap, style))
            used += gap
        cell_style = style
        if isinstance(cell, Text):
            if cell.style:
                cell_style = paint.on(base, str(cell.style))
            cell = cell.plain
        parts.append((cols.fit_text(cell, width), cell_style))
        used += width
    if used < table_width:
        parts.append((" " * (table_width - used), paint.style(fill)))
    return parts


class EarlyFrame:
    """The thread that draws the frame, and the terminal it borrows until Textual's driver takes it."""

    def __init__(self, session: "Session", *, read_only: bool, system: str, fd: int, keys: int | None = None) -> None:
        self.session = session
        self.read_only = read_only
        self.system = system
        self.fd = fd  # where it is drawn: where Textual's driver writes (stderr)
        self.keys = fd if keys is None else keys  # the terminal whose settings change: Textual's input (stdin)
        self._lock = threading.Lock()
        self._closed = False
        self._entered = False  # the terminal was switched to the alternate screen, keys not echoed
        self.drawn: tuple[tuple[int, int], str] | None = None  # (size, the cells written)
        self.saved_attrs: list | None = None  # the terminal's settings before the frame
        self._thread = threading.Thread(target=self._run, name="carina-early", daemon=True)

    @classmethod
    def start(cls, session: "Session", config: "Config", *, read_only: bool) -> "EarlyFrame | None":
        """Start the thread when this terminal and this console are ones the frame can be drawn
        for as Textual will draw them; else None."""
        try:
            fd, keys = sys.__stderr__.fileno(), sys.__stdin__.fileno()  # (Textual's driver: output, input)
            if not (os.isatty(fd) and os.isatty(keys)) or sys.platform == "win32":
                return None
            cols, lines = _screen_size()
        except (AttributeError, ValueError, OSError):
            return None
        system = color_system()
        if system is None or cols < MIN_SIZE[0] or lines < MIN_SIZE[1]:
            return None
        if session.spec.colour or session.spec.discover_nodes or not _default_theme(config):
            return None
        early = cls(session, read_only=read_only or session.read_only, system=system, fd=fd, keys=keys)
        # An engine on a unix socket answers within milliseconds (its reads went out ahead): wait for it
        # here. Another may take a while: Textual's imports go on meanwhile, the thread draws it.
        local = all(url.startswith("unix://") for url in session.spec.endpoints)
        _load_painting()  # meanwhile the engine answers (and Textual imports these anyway)
        snapshot = session.wait_prefetch(HERE if local else 0)
        if snapshot is not None:
            early._draw(snapshot)  # now, here: no import of Textual's competes with it for the interpreter
        else:
            early._thread.start()
        return early

    def _run(self) -> None:
        self._draw(self.session.wait_prefetch(WAIT))

    def _draw(self, snapshot: "Snapshot | None") -> None:
        if snapshot is None or not any(e.reachable for e in snapshot.engines):
            return  # nothing to show yet (or an error the console says): Textual's frame comes
        with self._lock:
            if self._closed:
                return
            try:
                size = _screen_size()
                cells = frame(snapshot, self.session.spec, read_only=self.read_only, qualify=self.session.multi_node,
                              size=size, system=self.system)
            except Exception:  # noqa: BLE001 - anything unexpected: no early frame, Textual's comes
                return
            self.saved_attrs = _quiet_keys(self.keys)
            self._entered = True
            if _write_all(self.fd, "\x1b[?1049h\x1b[?25l" + cells):
                self.drawn = (size, cells)  # (only what surely reached the terminal is handed over as shown)

    def hand_over(self) -> tuple[tuple[tuple[int, int], str] | None, list | None]:
        """Textual's driver takes the terminal: nothing more is drawn here (a frame being drawn is
        finished first). Returns, the first time only, what it finds: the frame drawn (its size and
        cells) or None, and the terminal's settings from before it (to restore at exit)."""
        with self._lock:
            if self._closed:
                return None, None
            self._closed = True
            return self.drawn, self.saved_attrs

    def close(self) -> None:
        """Textual never took the terminal (an error before it started): put it back as it was."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._entered:
                _write_all(self.fd, "\x1b[?25h\x1b[?1049l")
                _restore(self.keys, self.saved_attrs)


def _load_painting() -> None:
    """Import what ``frame`` paints with (rich's cells, styles and colours, the columns' rules)."""
    import rich.color  # noqa: F401
    import rich.style  # noqa: F401

    from carina_tui.ui import columns  # noqa: F401


def _screen_size() -> tuple[int, int]:
    """The size Textual lays its screen out at (``LinuxDriver._get_terminal_size``): ``COLUMNS`` and
    ``LINES`` when set, else the terminal's."""
    import shutil

    size = shutil.get_terminal_size()
    return size.columns or 80, size.lines or 25


def _default_theme(config: "Config") -> bool:
    """The console starts in Textual's default theme (``ui.keymap.kept_theme``'s rules; a palette
    choice Textual would not know is not the default either: no early frame then)."""
    from carina_tui.core.paths import palette_theme

    configured = config.theme or ""
    return (palette_theme(configured) or configured) in DEFAULT_THEMES


def _quiet_keys(fd: int) -> list | None:
    """Keys typed from now on are not echoed over the frame; they wait, unread, for Textual."""
    import termios

    try:
        before = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~(termios.ECHO | termios.ICANON)
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        return before
    except termios.error:
        return None


def _restore(fd: int, attrs: list | None) -> None:
    import termios

    if attrs is not None:
        try:
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        except termios.error:
            pass


def _write_all(fd: int, text: str) -> bool:
    """Write all of ``text``; False when the terminal would not take it (part may have gone)."""
    data = text.encode()
    while data:
        try:
            data = data[os.write(fd, data):]
        except InterruptedError:
            continue
        except OSError:
            return False
    return True
