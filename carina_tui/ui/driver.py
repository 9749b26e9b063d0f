"""The terminal driver: Textual's own, writing only the cells that change.

Over SSH every byte of a frame crosses the link, and Textual writes more than the screen needs:

- It writes whatever it repaints, whether or not the cells differ from what the terminal already
  shows. Right after the first frame it lays out and paints the whole screen twice more (the
  scroll bars, the screen's own refresh), changing 26 cells of 8,000 at 160x50.
- It writes every styled run as ``ESC[<style>m text ESC[0m``, and borders, table cells and
  padding come as many short runs of one style side by side: a border line of 160 cells is
  160 runs of one character, about 22 bytes each.

``CellDriver`` keeps a model of the terminal's cells (character, style, link), plays each write on
it, and writes only the cells that changed, in runs of one style (``merge_runs`` does the second
part alone where the model cannot follow). Whatever the model does not know for certain (an
escape it does not know, text beyond the screen, a new size, leaving the application mode) makes
it forget the screen: the write then goes out whole, and the next one is compared against it.
``forget()`` (the app's ``ctrl+l``) makes the next frame go out whole too.
"""

from __future__ import annotations

import os
import re

from rich.cells import cell_len
from textual.drivers.linux_driver import LinuxDriver

# One run as Textual's Strip.render writes it: a style, text without escapes, a reset.
_RUN = re.compile(r"\x1b\[([0-9;]+)m([^\x1b]*)\x1b\[0m")

# What Textual's updates are made of: a cursor move, a style, a link's start or end, a private
# mode (cursor shown or hidden, synchronized output, mouse...), the mouse pointer's shape, a new
# line, text.
_TOKEN = re.compile(r"\x1b\[(\d+);(\d+)H|\x1b\[([0-9;]*)m|(\x1b\]8;[^\x1b]*\x1b\\)|\x1b\[\?(\d+)[hl]|(\x1b\]22;[^\x07\x1b]*\x07)"
                    r"|(\n)|([^\x1b\n]+)")
_LINK_END = "\x1b]8;;\x1b\\"
# Private modes that change what the screen shows (the alternate screen): the model forgets.
_SCREEN_MODES = {"47", "1047", "1049"}
_ALT_SCREEN = "\x1b[?1049h"
# Unchanged cells between two changed ones are written again rather than moved over when there
# are at most this many: a cursor move costs about as much.
_GAP = 6


def merge_runs(data: str) -> str:
    """``data`` with each stretch of adjacent runs of one style written as a single run.

    Only runs that touch (nothing between one's reset and the next one's style) and have the
    same style are merged; everything else (cursor moves, links, other escapes, plain text) is
    kept as it is and where it is.
    """
    if "\x1b[0m" not in data:
        return data
    out: list[str] = []
    pos = 0  # where the text not yet copied begins
    style: str | None = None  # the style of the run being gathered
    texts: list[str] = []
    for run in _RUN.finditer(data):
        if run.start() != pos or run.group(1) != style:
            if style is not None:
                out.append(f"\x1b[{style}m{''.join(texts)}\x1b[0m")
            out.append(data[pos:run.start()])
            style, texts = run.group(1), []
        texts.append(run.group(2))
        pos = run.end()
    if style is not None:
        out.append(f"\x1b[{style}m{''.join(texts)}\x1b[0m")
    out.append(data[pos:])
    return "".join(out)


class _Unsure(Exception):
    """The write holds something the model cannot follow."""


class Screen:
    """What the terminal shows, cell by cell: ``(text, style, link)``, ``text`` empty for the right
    half of a wide character, ``None`` for a cell not known."""

    def __init__(self, width: int, height: int) -> None:
        self.size = (width, height)
        self.rows: list[list[tuple[str, str, str] | None]] = [[None] * width for _ in range(height)]
        self.cursor: tuple[int, int] | None = None  # (y, x) after the last write; None: not known
        self.blank = True  # nothing known yet: a write goes out whole before it is played

    def play(self, data: str) -> tuple[str, str, dict[int, set[int]], bool]:
        """Apply ``data``; return the modes it set (before, after its cells), the cells that changed
        (row -> columns) and whether it ended by placing the cursor. Raises ``_Unsure`` (the model
        is then not to be trusted: forget it)."""
        width, height = self.size
        rows = self.rows
        changed: dict[int, set[int]] = {}
        modes_before: list[str] = []
        modes_after: list[str] = []
        y, x = self.cursor if self.cursor is not None else (-1, -1)
        style = link = ""
        placed = False
        pos = 0
        for token in _TOKEN.finditer(data):
            if token.start() != pos:
                raise _Unsure  # something between the tokens: not ours to read
            pos = token.end()
            move, col, sgr, osc, mode, pointer, newline, text = token.groups()
            placed = False
            if move is not None:
                y, x = int(move) - 1, int(col) - 1
                placed = True
            elif sgr is not None:
                style = "" if sgr in ("0", "") else f"{style};{sgr}" if style else sgr
            elif osc is not None:
                link = "" if osc == _LINK_END else osc
            elif mode is not None or pointer is not None:
                if mode in _SCREEN_MODES:
                    raise _Unsure
                (modes_after if changed else modes_before).append(token.group())
            elif newline:
                y = x = -1  # where a new line leaves the cursor depends on the terminal's settings
            else:
                if not 0 <= y < height or x < 0:
                    raise _Unsure
                row = rows[y]
                for char in text:
                    if " " <= char <= "~":
                        w = 1
                    elif char < " " or "\x7f" <= char <= "\x9f":
                        raise _Unsure  # a control character (a bell, a carriage return...)
                    else:
                        w = cell_len(char)
                    if w == 0:
                        if x == 0 or row[x - 1] is None:
                            raise _Unsure
                        joined = (row[x - 1][0] + char, *row[x - 1][1:])
                        row[x - 1] = joined
                        changed.setdefault(y, set()).add(x - 1)
                        continue
                    if x + w > width:
                        raise _Unsure  # past the right edge: the terminal would wrap or drop it
                    cell = (char, style, link)
                    if row[x] != cell or (w == 2 and row[x + 1] != ("", style, link)):
                        cols = changed.setdefault(y, set())
                        self._break_wide(row, x, cols)
                        row[x] = cell
                        cols.add(x)
                        if w == 2:
                            self._break_wide(row, x + 1, cols)
                            row[x + 1] = ("", style, link)
                            cols.add(x + 1)
                    x += w
        if pos != len(data) or style or link:
            raise _Unsure  # left unread, or a style or link left open for the next write
        self.cursor = (y, x) if y >= 0 and 0 <= x < width else None
        return "".join(modes_before), "".join(modes_after), changed, placed

    @staticmethod
    def _break_wide(row: list, x: int, cols: set[int]) -> None:
        """Writing over half of a wide character: the terminal blanks the other half; as what it
        shows there is not certain, that cell is no longer known."""
        old = row[x]
        if old is None:
            return
        if old[0] == "" and x > 0 and x - 1 not in cols:
            row[x - 1] = None
        elif old[0] != "" and x + 1 < len(row) and row[x + 1] is not None and row[x + 1][0] == "":
            row[x + 1] = None

    def render(self, changed: dict[int, set[int]]) -> str:
        """The terminal sequences that write the changed cells (each run of one style once)."""
        out: list[str] = []
        for y in sorted(changed):
            row = self.rows[y]
            for start, end in self._spans(row, sorted(changed[y])):
                out.append(f"\x1b[{y + 1};{start + 1}H")
                style = link = None
                texts: list[str] = []
                for cell in row[start:end + 1]:
                    if cell is None:
                        raise _Unsure  # a cell the terminal may show otherwise: write the frame whole
                    if (cell[1], cell[2]) != (style, link):
                        self._close(out, texts, style, link)
                        style, link, texts = cell[1], cell[2], []
                        if link:
                            out.append(link)
                    texts.append(cell[0])
                self._close(out, texts, style, link)
        return "".join(out)

    @staticmethod
    def _spans(row: list, cols: list[int]) -> list[tuple[int, int]]:
        """Changed columns as spans to write: whole wide characters, short known gaps filled in."""
        spans: list[list[int]] = []
        for x in cols:
            if spans and x - spans[-1][1] - 1 <= _GAP and all(c is not None for c in row[spans[-1][1] + 1:x]):
                spans[-1][1] = x
            else:
                spans.append([x, x])
        for span in spans:
            if row[span[0]][0] == "":
                span[0] -= 1  # the right half of a wide character: write the whole character
            if span[1] + 1 < len(row) and row[span[1] + 1] is not None and row[span[1] + 1][0] == "":
                span[1] += 1
        return [(start, end) for start, end in spans]

    @staticmethod
    def _close(out: list[str], texts: list[str], style: str | None, link: str | None) -> None:
        if not texts:
            return
        text = "".join(texts)
        out.append(f"\x1b[{style}m{text}\x1b[0m" if style else text)
        if link:
            out.append(_LINK_END)


class CellWriter:
    """What to write for each of Textual's writes, given the terminal's size: only what changes."""

    def __init__(self) -> None:
        self._screen: Screen | None = None
        self._unplayed: str | None = None  # a frame sent whole, not yet played on the model

    def forget(self) -> None:
        """Not trust what the terminal shows: the next write goes out whole."""
        self._screen = None
        self._unplayed = None

    def seed(self, size: tuple[int, int], cells: str) -> None:
        """The terminal, of ``size``, shows ``cells`` (written by someone else, in the form Textual
        writes: cursor moves and styled runs) and nothing known elsewhere."""
        screen = Screen(*size)
        try:
            screen.play(cells)
        except Exception:  # as in ``write``: not known, so the next frame goes out whole
            self.forget()
            return
        screen.cursor = None
        screen.blank = False
        self._screen, self._unplayed = screen, None

    def settle(self) -> None:
        """Play the frame last sent whole on the model. The driver calls this once that frame is
        on its way: the first frame goes out without waiting for it (3-5 ms at 160x50)."""
        data, self._unplayed = self._unplayed, None
        if data is None or self._screen is None:
            return
        try:
            self._screen.play(data)
            self._screen.blank = False
        except Exception:  # as in ``write``
            self._screen = None

    def write(self, data: str, size: tuple[int, int] | None) -> str:
        """``data`` as Textual wrote it for a terminal of ``size`` (None: not known) -> what to send."""
        self.settle()
        if size is None:
            self._screen = None
            return merge_runs(data)
        if self._screen is None or self._screen.size != size:
            self._screen = Screen(*size)  # a new size: what the terminal shows is not known
        screen = self._screen
        if screen.blank:  # the first frame (or the first after forgetting) goes out whole, at once
            self._unplayed = data
            return merge_runs(data)
        try:
            before, after, changed, placed = screen.play(data)
            out = before + screen.render(changed) + after
        except Exception:  # _Unsure, or a case the model gets wrong: it is forgotten, the write goes out whole
            self._screen = None
            return merge_runs(data)
        if placed and screen.cursor is not None:
            out += f"\x1b[{screen.cursor[0] + 1};{screen.cursor[1] + 1}H"  # the cursor stays where Textual put it
        return out


class CellDriver(LinuxDriver):
    """Textual's Linux driver, writing only the cells that change (``CellWriter``)."""

    takes_early_frame = True  # it takes the terminal over from ``ui/early.py`` (``start_application_mode``)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cells = CellWriter()
        self._early_on_screen = False  # ``ui/early.py`` drew a frame in the alternate screen already

    def forget(self) -> None:
        """Not trust what the terminal shows: the next frame goes out whole."""
        self._cells.forget()

    def write(self, data: str) -> None:
        if self._early_on_screen and _ALT_SCREEN in data:
            data = data.replace(_ALT_SCREEN, "")  # entering it again may clear it (xterm does)
        out = self._cells.write(data, self._terminal_size())
        if out:
            super().write(out)
        self._cells.settle()  # (after the write: Textual's writer thread sends it meanwhile)

    def _terminal_size(self) -> tuple[int, int] | None:
        try:
            size = os.get_terminal_size(self._file.fileno())
        except (AttributeError, ValueError, OSError):
            return None
        return size.columns, size.lines

    def start_application_mode(self) -> None:
        """As Textual's; when the app's early frame (``ui/early.py``) is on screen, the terminal
        stays in the alternate screen it is in, the settings restored at exit are those from before
        that frame, and the model starts from the cells it drew: Textual's first frame sends only
        what differs from them."""
        early = getattr(self._app, "early", None)
        drawn, attrs = early.hand_over() if early is not None else (None, None)
        self.forget()
        self._early_on_screen = drawn is not None
        try:
            super().start_application_mode()
        finally:
            self._early_on_screen = False
        if attrs is not None:
            self.attrs_before = attrs  # (the early frame had stopped the echo)
        if drawn is not None:
            size, cells = drawn
            if self._terminal_size() == size:
                self._cells.seed(size, cells)

    def stop_application_mode(self) -> None:
        self.forget()
        super().stop_application_mode()
