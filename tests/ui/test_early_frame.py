"""The frame drawn before Textual loads (``ui/early.py``), in a real terminal on a real engine.

``carina-tui`` runs on a pseudo-terminal (``pty_console``); what it writes before Textual's driver
starts is the early frame. It must show, in each cell it draws, what Textual then shows: Textual's
writes, sent as differences from it, must leave those cells alone.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
from pathlib import Path

import pytest
from pty_console import console_env, early_frame, first_frame_out, lines_of, run_on_pty
from rich.style import Style

from carina_tui.ui import early


@pytest.mark.parametrize("size,term,color,variant", [
    ((160, 50), "xterm-256color", None, ""),
    ((80, 24), "xterm-256color", "truecolor", ""),
    ((80, 24), "xterm-16color", None, ""),  # as the ssh benchmark's terminal
    ((120, 30), "xterm-256color", "truecolor", "named"),
    ((160, 50), "xterm-256color", None, "COLUMNS=120 LINES=40"),
    ((100, 30), "xterm-256color", None, "stdout elsewhere"),
    ((120, 30), "xterm-256color", None, "first page"),
    ((120, 30), "xterm-256color", None, "by its thread"),
])
def test_the_early_frame_is_what_textuals_first_frame_shows(docker_host, scratch, tmp_path, size, term, color, variant):
    """Variants: a cluster of the config, read-only (the header's dimmed address and red mark);
    the size the environment gives (shells export COLUMNS and LINES; Textual lays out at those);
    the standard output not the terminal (Textual draws on stderr and, as the size is read from
    stdout, lays out at 80x24: so does the frame); a long list, shown a first page first (the
    threshold lowered to 2 containers, as 2,001 would take long to make, and the rest of the list
    held back, so that what is compared is the first page on both sides); the frame drawn by its
    thread, the first snapshot not being in when it was started (it is drawn at once otherwise)."""
    running = scratch.run("web")
    scratch.exited("done", code=3)
    scratch.create("made")
    extra = dict(v.split("=") for v in variant.split()) if "=" in variant else {}
    laid_out = (int(extra["COLUMNS"]), int(extra["LINES"])) if extra else (80, 24) if variant == "stdout elsewhere" else size
    x, y, w, h = early.containers_box(laid_out)
    argv = [sys.executable, "-m", "carina_tui", "--host", docker_host]
    if variant == "first page":
        lowered = ("import sys; from carina_tui.gateways import head_start; head_start.WHOLE_AT_ONCE = 2; "
                   "head_start.FIRST_PAGE = 1; from carina_tui.ui.console_screen import ConsoleScreen; "
                   "ConsoleScreen._load_rest = lambda self: None; from carina_tui.cli import main; sys.exit(main())")
        argv = [sys.executable, "-c", lowered, "--host", docker_host]
    if variant == "by its thread":  # the snapshot not in when the frame is started: its thread draws it
        slow = ("import sys; from carina_tui.ui import early; from carina_tui.services.session import Session; "
                "wait = Session.wait_prefetch; Session.wait_prefetch = lambda self, timeout: None if timeout == early.HERE "
                "else wait(self, timeout); from carina_tui.cli import main; sys.exit(main())")
        argv = [sys.executable, "-c", slow, "--host", docker_host]
    if variant == "named":
        config = Path(os.environ["XDG_CONFIG_HOME"], "carina-tui", "clusters.toml")
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'[clusters.lab]\nendpoints = ["{docker_host}"]\n')
        argv = [sys.executable, "-m", "carina_tui", "--cluster", "lab", "--read-only"]
    data = run_on_pty(argv, console_env(color, TERM=term, **extra), size, first_frame_out,
                      stdout=str(tmp_path / "stdout") if variant == "stdout elsewhere" else None)

    lines = lines_of(early_frame(data, size, laid_out))
    # What the early frame shows: the header and the Containers pane with the running one on top.
    assert lines[0].startswith(" carina-tui ") and docker_host in lines[0]
    if variant == "named":
        assert lines[0].startswith(" carina-tui   lab  ") and " READ-ONLY " in lines[0]
    if variant == "first page":  # the newest running one, and the count the engine gave
        assert re.search(r"\[3\] Containers \(1 of \d+\) loading…", lines[y]), lines[y]
        assert lines[y + 2][x + 2:].startswith(running) and not lines[y + 3][x + 1:x + w - 1].strip()
        return
    assert re.search(r"\[3\] Containers \(\d+\)", lines[y])
    assert lines[y + 1][x + 2:].startswith("Name ") and "State ▲" in lines[y + 1]
    assert lines[y + 2][x + 2:].startswith(running)
    shown = lines[y + 2:y + h - 1]
    assert any(scratch.name("done") in ln and "exited" in ln for ln in shown)
    assert any(scratch.name("made") in ln and "created" in ln for ln in shown)


def test_a_terminal_the_frame_borrowed_is_given_back_when_textual_never_starts(docker_host, scratch):
    """An error between the early frame and Textual's start (a config line, an import): the
    alternate screen is left, the cursor shown, keys echoed again, as before the frame."""
    import argparse

    from carina_tui.services.targets import open_session

    scratch.run("web")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    settings = termios.tcgetattr(slave)
    session, _ = open_session(argparse.Namespace(host=docker_host, cluster=None, config=None, read_only=False))
    try:
        session.prefetch()
        frame = early.EarlyFrame(session, read_only=False, system="256", fd=slave)
        frame._run()  # (the thread's work, here in the test's thread)
        assert frame.drawn is not None
        quiet = termios.tcgetattr(slave)
        assert not quiet[3] & termios.ECHO and not quiet[3] & termios.ICANON and quiet[3] & termios.ISIG
        frame.close()
        assert termios.tcgetattr(slave) == settings
        assert frame.hand_over() == (None, None)  # closed: a driver starting later finds nothing
    finally:
        session.close()
    written = b""
    while select.select([master], [], [], 0.2)[0]:
        written += os.read(master, 65536)
    os.close(master)
    os.close(slave)
    text = written.decode()
    assert text.startswith("\x1b[?1049h\x1b[?25l") and scratch.name("web") in text
    assert text.endswith("\x1b[?25h\x1b[?1049l")


def test_the_colours_are_the_ones_textual_picks_for_the_terminal():
    """``early.color_system`` reads the environment as rich does for Textual's console."""
    from rich.console import Console

    cases = [{"TERM": "xterm-256color"}, {"TERM": "xterm"}, {"TERM": "xterm-256color", "COLORTERM": "truecolor"},
             {"TERM": "screen-16color"}, {"TERM": "xterm-kitty"}, {"TERM": "linux", "COLORTERM": "24bit"}]
    names = {"truecolor": "truecolor", "256": "256", "standard": "standard"}
    for env in cases:
        console = Console(force_terminal=True, _environ=env)
        assert early.color_system(env) == names[console.color_system], env
    assert early.color_system({"TERM": "dumb"}) is None
    assert early.color_system({"TERM": "xterm-256color", "NO_COLOR": "1"}) is None
    assert early.color_system({"TERM": "xterm", "TEXTUAL_COLOR_SYSTEM": "truecolor"}) == "truecolor"


def test_named_colours_are_textuals_ansi_theme():
    from rich.color import Color
    from textual._ansi_theme import DEFAULT_TERMINAL_THEME
    from textual.constants import DIM_FACTOR

    for name, value in early.ANSI.items():
        assert Color.parse(name).get_truecolor(DEFAULT_TERMINAL_THEME, foreground=True).hex == value
    assert early.DIM_FACTOR == DIM_FACTOR


def test_no_early_frame_where_it_could_not_be_drawn_as_textual_draws_it():
    """Not a terminal (here: pytest's captured output), another theme: Textual's frame alone."""
    from carina_tui.core.clusters import ClusterSpec
    from carina_tui.core.config import Config
    from carina_tui.services.session import Session

    session = Session(ClusterSpec(name="x", endpoints=("unix:///nowhere.sock",), source="cli"))
    assert early.EarlyFrame.start(session, Config(), read_only=False) is None  # stdout is not a tty here
    assert early._default_theme(Config())
    assert not early._default_theme(Config(theme="nord"))


@pytest.mark.parametrize("driver,closed", [(None, False), ("textual.drivers.headless_driver:HeadlessDriver", True)])
def test_only_the_cell_driver_takes_the_terminal_over_from_the_early_frame(monkeypatch, driver, closed):
    """Another driver (TEXTUAL_DRIVER) would keep the early frame's settings: the frame gives the
    terminal back before it starts."""
    from carina_tui.core.clusters import ClusterSpec
    from carina_tui.services.session import Session
    from carina_tui.ui.app import CarinaApp

    class Frame:
        closed = False

        def close(self):
            self.closed = True

    import textual.constants

    monkeypatch.setattr(textual.constants, "DRIVER", driver)  # (TEXTUAL_DRIVER, as read when Textual loads)
    frame = Frame()
    session = Session(ClusterSpec(name="x", endpoints=("unix:///nowhere.sock",), source="cli"))
    CarinaApp(session, early=frame)
    assert frame.closed is closed


def test_a_frame_the_terminal_would_not_take_is_not_handed_over_as_shown(docker_host, scratch):
    """A write that fails (here: a pipe nobody reads) leaves the driver nothing to trust; the
    settings from before are still handed over, or put back."""
    import argparse

    from carina_tui.services.targets import open_session

    scratch.run("web")
    master, slave = pty.openpty()
    settings = termios.tcgetattr(slave)
    read_end, write_end = os.pipe()
    os.close(read_end)
    session, _ = open_session(argparse.Namespace(host=docker_host, cluster=None, config=None, read_only=False))
    try:
        session.prefetch()
        frame = early.EarlyFrame(session, read_only=False, system="256", fd=write_end, keys=slave)
        frame._run()
        assert frame.drawn is None
        assert frame.hand_over() == (None, settings)
        termios.tcsetattr(slave, termios.TCSANOW, settings)  # (what the driver does at exit)
        again = early.EarlyFrame(session, read_only=False, system="256", fd=write_end, keys=slave)
        again._run()
        again.close()
        assert termios.tcgetattr(slave) == settings
    finally:
        session.close()
        for fd in (master, slave, write_end):
            os.close(fd)


async def test_the_table_styles_are_the_ones_textual_works_out():
    """The rows, the cursor, the header and the empty table's sentence, as Textual's CSS gives them
    for the focused Containers table in the default theme (the sentence shows only on an empty
    engine, which the tests' engines never are)."""
    from carina_tui.core.clusters import ClusterSpec
    from carina_tui.services.session import Session
    from carina_tui.ui.app import CarinaApp

    session = Session(ClusterSpec(name="x", endpoints=("unix:///nowhere.sock",), source="cli"))
    app = CarinaApp(session, discover=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#containers").table
        assert app.focused is table
        base = table.rich_style
        worked_out = {early.ROW: base}
        for component, ours in (("key-table--cursor", early.CURSOR), ("key-table--header", early.TABLE_HEADER),
                                ("key-table--empty", early.MUTED)):
            worked_out[ours] = base + table.get_component_rich_style(component)
        for ours, theirs in worked_out.items():
            mine = Style.parse(ours)
            assert (mine.color, mine.bgcolor, bool(mine.bold)) == (theirs.color, theirs.bgcolor, bool(theirs.bold)), ours
    session.close()
