"""The frame drawn before Textual loads (``ui/early.py``), in a real terminal on a real engine.

``carina-tui`` runs on a pseudo-terminal; everything it writes is read back and played on a model
of the terminal's cells (``ui.driver.Screen``). The early frame is what comes before Textual's
driver starts (``ESC[?1004h``, focus events, is its first write of its own); Textual's first frame
comes after. The early frame must show, in each cell it draws, what Textual then shows: Textual's
writes, sent as differences from it, must leave those cells alone (the scroll bar's column aside,
which Textual's second layout adds).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from carina_tui.ui import early
from carina_tui.ui.driver import Screen

REPO = Path(__file__).resolve().parents[2]
DRIVER_START = "\x1b[?1004h"
# What the model plays: cursor moves, styles, private modes (the rest, queries and the like, dropped).
_ESCAPE = re.compile(r"\x1b\[[0-9;?>$<=]*[A-Za-z~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[78=>]")
_KEPT = re.compile(r"\x1b\[\d+;\d+H|\x1b\[[0-9;]*m|\x1b\[\?\d+[hl]")


def playable(data: str) -> str:
    return _ESCAPE.sub(lambda m: m.group() if _KEPT.fullmatch(m.group()) and "?1049" not in m.group() else "", data)


def run_on_pty(argv: list[str], env: dict[str, str], size: tuple[int, int], until, timeout: float = 30.0) -> str:
    """Run ``argv`` on a new pseudo-terminal of ``size``; read what it writes until ``until(text)``,
    then press ``q`` and read on until it exits. Returns everything it wrote."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console
        os.chdir(REPO)
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    out = bytearray()
    deadline = time.monotonic() + timeout
    quit_sent = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child is gone (EIO)
                    break
                if not chunk:
                    break
                out += chunk
            if not quit_sent and until(out.decode(errors="replace")):
                os.write(fd, b"q")
                quit_sent = True
        else:
            pytest.fail(f"the console did not show what was waited for within {timeout:.0f} s: {out[-400:]!r}")
    finally:
        try:
            os.kill(pid, signal.SIGKILL) if not quit_sent else None
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, out[-600:]
    return out.decode()


def console_env(color: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTUAL", "COLORTERM", "NO_COLOR", "FORCE_COLOR"))}
    env["TERM"] = "xterm-256color"
    if color:
        env["COLORTERM"] = color
    return env


@pytest.mark.parametrize("size,color,named", [((160, 50), None, False), ((80, 24), "truecolor", False),
                                              ((120, 30), "truecolor", True)])
def test_the_early_frame_is_what_textuals_first_frame_shows(docker_host, scratch, size, color, named):
    """``named``: a cluster of the config, read-only (the header's dimmed address and red mark)."""
    running = scratch.run("web")
    scratch.exited("done", code=3)
    scratch.create("made")
    width, height = size
    x, y, w, h = early.containers_box(size)

    def first_frame_out(text: str) -> bool:
        # The footer (Textual's alone) is on the last line once its first frame is out.
        return DRIVER_START in text and "Quit" in text.split(DRIVER_START, 1)[1]

    argv = [sys.executable, "-m", "carina_tui", "--host", docker_host]
    if named:
        config = Path(os.environ["XDG_CONFIG_HOME"], "carina-tui", "clusters.toml")
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'[clusters.lab]\nendpoints = ["{docker_host}"]\n')
        argv = [sys.executable, "-m", "carina_tui", "--cluster", "lab", "--read-only"]
    data = run_on_pty(argv, console_env(color), size, first_frame_out)

    assert data.count("\x1b[?1049h") == 1  # the alternate screen is entered once (a second may clear it)
    before, after = data.split(DRIVER_START, 1)
    assert "\x1b[?1049h" in before, "no early frame was drawn"
    drawn = Screen(width, height)
    drawn.play(playable(before.split("\x1b[?1049h", 1)[1]))

    # What the early frame shows: the header and the Containers pane with the running one on top.
    lines = ["".join(c[0] if c else " " for c in row) for row in drawn.rows]
    assert lines[0].startswith(" carina-tui ") and docker_host in lines[0]
    if named:
        assert lines[0].startswith(" carina-tui   lab  ") and " READ-ONLY " in lines[0]
    assert re.search(r"\[3\] Containers \(\d+\)", lines[y])
    assert lines[y + 1][x + 2:].startswith("Name ") and "State ▲" in lines[y + 1]
    assert lines[y + 2][x + 2:].startswith(running)
    shown = [ln for ln in lines[y + 2:y + h - 1]]
    assert any(scratch.name("done") in ln and "exited" in ln for ln in shown)
    assert any(scratch.name("made") in ln and "created" in ln for ln in shown)

    # Every cell it drew is the one Textual shows: none of them is written again, but for the
    # scroll bar's column, which Textual adds after its first frame when the rows do not fit.
    exit_at = after.index("\x1b[?1049l")
    written: set[tuple[int, int]] = set()
    for move in re.finditer(r"\x1b\[(\d+);(\d+)H((?:\x1b\[[0-9;]*m|[^\x1b])*)", after[:exit_at]):
        row, col = int(move.group(1)) - 1, int(move.group(2)) - 1
        text = re.sub(r"\x1b\[[0-9;]*m", "", move.group(3))
        written.update((row, col + i) for i in range(len(text)))
    bar_column = x + w - 2
    again = sorted((r, c) for r, c in written if drawn.rows[r][c] is not None and c != bar_column)
    assert not again, f"Textual wrote these cells of the early frame again: {again[:10]}"

    final = Screen(width, height)
    final.play(playable(before.split("\x1b[?1049h", 1)[1]))
    final.play(playable(after[:exit_at]))
    assert all(final.rows[r][c] == drawn.rows[r][c] for r in range(height) for c in range(width)
               if drawn.rows[r][c] is not None and c != bar_column)


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
