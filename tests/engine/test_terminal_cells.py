"""The console writes only the cells that change (ui/driver.py), and a real terminal shows the same.

The console runs in tmux on the test engine; keys move the cursor, filter, switch panes, open and
close the help, and the terminal is resized. Then the screen tmux shows (every cell with its
colours, ``capture-pane -e``) must be the one ``ctrl+l`` draws, which writes the whole screen
without comparing anything. tests/unit/test_driver.py plays the same on a terminal model.
"""

from __future__ import annotations

import os
import secrets

import pytest
from tmux_console import Tmux, console_command, step, wait_screen, wait_settled

STEP = 30.0  # a hang bound for each step on a loaded 2-core machine


@pytest.fixture
def tmux():
    server = Tmux(f"carina-c-{os.getpid()}-{secrets.token_hex(2)}")
    yield server
    server.kill_server()


def screen(tmux: Tmux) -> str:
    return tmux.run("capture-pane", "-e", "-p", "-t", "c")


def redrawn(tmux: Tmux, record) -> tuple[str, str, int]:
    """The screen now, the screen ``ctrl+l`` draws, and the bytes that redraw wrote."""
    wait_settled(tmux, "c", quiet=1.0, timeout=STEP)
    before, written = screen(tmux), record.stat().st_size
    tmux.keys("c", "C-l")
    wait_settled(tmux, "c", quiet=1.0, timeout=STEP)
    return before, screen(tmux), record.stat().st_size - written


def test_the_screen_written_cell_by_cell_is_the_one_a_whole_redraw_draws(docker_host, scratch, tmux, tmp_path):
    running = scratch.run("cells")
    scratch.exited("cells-old")
    record = tmp_path / "terminal.out"
    tmux.run("new-session", "-d", "-s", "c", "-x", "120", "-y", "32", console_command(["--host", docker_host]))
    tmux.record("c", record)
    seen, text = wait_screen(tmux, "c", lambda t: running in t, STEP, step=0.05)
    assert seen is not None, f"the console did not start; the screen:\n{text}"

    tmux.keys("c", "j", "j", "k")
    step(tmux, "c", ["/"], lambda t: "filter (escape clears)" in t, "/ opens the filter")
    step(tmux, "c", ["-l", "cells"], lambda t: "filter: cells" in t, "the filter applies")
    tmux.keys("c", "Enter")
    tmux.keys("c", "2", "3")
    step(tmux, "c", ["?"], lambda t: "Keys:" in t, "? opens the keys")
    before, after, redraw = redrawn(tmux, record)  # over a dimmed console
    assert after == before and "Keys:" in after
    assert redraw >= 120 * 32  # ctrl+l wrote the whole screen: at least a byte a cell
    step(tmux, "c", ["Escape"], lambda t: "Keys:" not in t, "escape closes them")
    before, after, redraw = redrawn(tmux, record)
    assert after == before
    assert redraw >= 120 * 32

    tmux.run("resize-window", "-t", "c", "-x", "100", "-y", "28")
    tmux.keys("c", "j", "1", "3")
    before, after, redraw = redrawn(tmux, record)
    assert after == before and running in after
    assert redraw >= 100 * 28
