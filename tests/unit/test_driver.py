"""The driver leaves the terminal in the same state, cell for cell, as Textual's own output.

What is written is played on a small terminal model of the test's own (not the driver's) that
knows what Textual writes (cursor moves, styles, resets, links, modes, text, new lines) and fails on
anything else. Textual's writes and the driver's must give the same cells, each with its character,
style and link: for ``merge_runs`` (runs of one style written as one) on single frames, and for
``CellWriter`` (only the cells that change) over every update a real Textual app wrote while keys
moved a cursor, text changed, a wide character replaced narrow ones and the terminal was resized.
``tests/ui/test_terminal_bytes.py`` compares the screen in a real terminal (tmux).
"""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from carina_tui.ui.driver import CellWriter, merge_runs

_TOKEN = re.compile(r"\x1b\[\?\d+[hl]|\x1b\[(\d+);(\d+)H|\x1b\[([0-9;]*)m|\x1b\]8;[^;]*;([^\x1b]*)\x1b\\|(\n)|([^\x1b\n]+)")


def cells(data: str, grid: dict | None = None) -> dict[tuple[int, int], tuple[str, str, str]]:
    """(row, column) -> (character, style in force, link) after ``data`` is written on ``grid``
    (modes such as the cursor's are not cells: they are passed over)."""
    grid = {} if grid is None else grid
    y = x = 0
    style = link = ""
    pos = 0
    while pos < len(data):
        token = _TOKEN.match(data, pos)
        assert token is not None, f"the model does not know {data[pos:pos + 20]!r}"
        move, col, sgr, url, newline, text = token.groups()
        if move is not None:
            y, x = int(move) - 1, int(col) - 1
        elif sgr is not None:
            style = "" if sgr in ("0", "") else f"{style};{sgr}" if style else sgr
        elif url is not None:
            link = url
        elif newline:
            y, x = y + 1, 0
        elif text is not None:
            for char in text:
                grid[(y, x)] = (char, style, link)
                x += cell_len(char)
        pos = token.end()
    return grid


def same_screen(data: str) -> str:
    merged = merge_runs(data)
    assert cells(merged) == cells(data)
    return merged


class Sample(App):
    CSS = "Vertical { border: round $accent; } #plain { border: heavy red; height: 5; }"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]carina-tui[/b]  [link='https://example.com/x']a link[/link] and more", id="plain")
            yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "State", "Image")
        for i in range(30):
            table.add_row(f"web-{i}", "running" if i % 3 else "exited", "busybox 日本語 ✓" if i % 2 else "alpine")


@pytest.mark.parametrize("size", [(160, 50), (80, 24)])
async def test_a_textual_frame_is_the_same_screen_in_fewer_bytes(size) -> None:
    app = Sample()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        frame = app.screen._compositor.render_update(full=True).render_segments(app.console)
    merged = same_screen(frame)
    assert "\x1b]8;" in frame and "日本語" in frame  # the link and the wide characters are in what was compared
    touching = re.compile(r"\x1b\[([0-9;]+)m[^\x1b]*\x1b\[0m\x1b\[\1m")  # a run, then one of its style
    assert touching.search(frame) and not touching.search(merged)
    assert len(merged.encode()) < len(frame.encode())


@pytest.mark.parametrize("data", [
    "",  # nothing
    "\x1b[?25l\x1b[1;1H",  # escapes without a single run
    "\x1b[1;31ma\x1b[0m\x1b[1;31mb\x1b[0m\x1b[1;32mc\x1b[0m",  # two of one style, then another
    "\x1b[1;31ma\x1b[0mplain\x1b[1;31mb\x1b[0m",  # plain text between: not merged across it
    "\x1b[1;31ma\x1b[0m\x1b[2;1H\x1b[1;31mb\x1b[0m",  # a cursor move between: not merged across it
    "\x1b[31m\x1b[0m\x1b[31mx\x1b[0m\x1b[31m\x1b[0m",  # empty runs
    "\x1b]8;id=1;https://a\x1b\\\x1b[4ma\x1b[0m\x1b]8;;\x1b\\\x1b[4mb\x1b[0m",  # a link's run and the next
    "\x1b[7m日\x1b[0m\x1b[7m本\x1b[0m\n\x1b[7m語\x1b[0m",  # wide characters, a new line between
])
def test_edge_cases_keep_the_screen(data) -> None:
    same_screen(data)


def test_runs_of_one_style_become_one() -> None:
    data = "\x1b[1;1H" + "\x1b[38;5;239m─\x1b[0m" * 160 + "\x1b[1mTitle\x1b[0m"
    assert merge_runs(data) == "\x1b[1;1H\x1b[38;5;239m" + "─" * 160 + "\x1b[0m\x1b[1mTitle\x1b[0m"


def test_runs_split_by_other_text_stay_apart() -> None:
    data = "\x1b[1ma\x1b[0m \x1b[1mb\x1b[0m"
    assert merge_runs(data) == data


class Changing(Sample):
    """The sample app, with a line of text that the test changes."""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static("status: starting", id="status")


async def test_only_changed_cells_are_written_and_the_screen_is_the_same() -> None:
    app = Changing()
    writes: list[tuple[str, tuple[int, int]]] = []  # what Textual would have written, and the size then

    def display(screen, renderable) -> None:  # App._display without a driver: the update's sequences
        if renderable is not None:
            data = renderable.render_segments(app.console)
            writes.append((data + f"\x1b[{app.cursor_position.y + 1};{app.cursor_position.x + 1}H", tuple(app.size)))

    app._display = display
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.query_one(DataTable).focus()
        for key in ["down"] * 5 + ["up", "pagedown", "end", "home"]:
            await pilot.press(key)
            await pilot.pause()
        status = app.query_one("#status", Static)
        for text in ["status: running", "status: 日本語 ✓ running", "status: [link='https://b.example']there[/link]", "ok"]:
            status.update(text)
            await pilot.pause()
        app.screen.refresh()  # a whole repaint of what the terminal already shows
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("down", "down")
        await pilot.pause()
    assert len(writes) > 10 and len({size for _, size in writes}) == 2
    writer = CellWriter()
    textual_screen: dict = {}
    driver_screen: dict = {}
    size = None
    sent = written = 0
    for data, now in writes:
        if now != size:  # a new size: the terminal is cleared (as Textual redraws it all)
            textual_screen.clear()
            driver_screen.clear()
            size = now
        out = writer.write(data, now)
        cells(data, textual_screen)
        cells(out, driver_screen)
        assert driver_screen == textual_screen
        written, sent = written + len(data.encode()), sent + len(out.encode())
    assert sent < written / 2  # the repaint and the unchanged cells of each update were not sent again


def test_what_the_model_cannot_follow_goes_out_whole() -> None:
    writer = CellWriter()
    first = "\x1b[1;1H\x1b[1mab\x1b[0m\x1b[1;1H"
    assert writer.write(first, (10, 2)) == first
    assert writer.write(first, (10, 2)) == "\x1b[1;1H"  # nothing changed: only the cursor is placed again
    unknown = ["\x1b[2J", "\x1b[?1049h", "\x1b[1;1H\x1b[1mab\x1b[0m\x07", "\x1b[1;9Habcd"]  # a clear, the alternate screen,
    for unknown in unknown:  # a bell after cells the terminal already shows, text past the edge
        assert writer.write(unknown, (10, 2)) == merge_runs(unknown)
        assert writer.write(first, (10, 2)) == first  # forgotten: the next frame goes out whole
    assert writer.write("\x1b]22;pointer\x07", (10, 2)) == "\x1b]22;pointer\x07"  # the mouse pointer's shape:
    assert writer.write(first, (10, 2)) == "\x1b[1;1H"  # passed on, and the screen is still known
    assert writer.write(first, (12, 2)) == first  # a new size: the same as forgotten
    assert writer.write(first, None) == first  # no terminal size: everything goes out
    writer.write(first, (10, 2))
    writer.forget()
    assert writer.write(first, (10, 2)) == first


async def test_the_first_frame_goes_out_before_the_model_plays_it(monkeypatch) -> None:
    """Playing a first frame on the model takes 3-5 ms at 160x50: the frame is handed to
    Textual's writer thread first, and played after (``CellWriter.settle``)."""
    from textual.drivers.linux_driver import LinuxDriver

    from carina_tui.ui import driver as cell_driver

    events: list[str] = []
    play = cell_driver.Screen.play

    def playing(screen, data):
        events.append("played")
        return play(screen, data)

    monkeypatch.setattr(cell_driver.Screen, "play", playing)
    monkeypatch.setattr(LinuxDriver, "write", lambda self, data: events.append(f"sent {data!r}"))
    monkeypatch.setattr(cell_driver.CellDriver, "_terminal_size", lambda self: (10, 2))
    driver = cell_driver.CellDriver(App())
    first = "\x1b[1;1H\x1b[1mab\x1b[0m\x1b[1;1H"
    driver.write(first)
    assert events == [f"sent {first!r}", "played"]
    driver.write("\x1b[1;1H\x1b[1mac\x1b[0m")  # the model knew the first frame: only the changed cell goes
    assert events[2] == "played" and len(events) == 4
    assert "c" in events[3] and "a" not in events[3]
