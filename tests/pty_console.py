"""The console on a pseudo-terminal of our own: everything it writes, byte for byte, played on a
model of the terminal's cells (``ui.driver.Screen``).

Used by the tests of the frame drawn before Textual loads (``ui/early.py``): that frame is what
the console writes before Textual's driver starts (``ESC[?1004h``, focus events, is the driver's
first write of its own); Textual's frames come after.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time
from pathlib import Path

import pytest

from carina_tui.ui import early
from carina_tui.ui.driver import Screen

REPO = Path(__file__).resolve().parents[1]
DRIVER_START = "\x1b[?1004h"
# What the model plays: cursor moves, styles, private modes (the rest, queries and the like, dropped).
_ESCAPE = re.compile(r"\x1b\[[0-9;?>$<=]*[A-Za-z~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[78=>]")
_KEPT = re.compile(r"\x1b\[\d+;\d+H|\x1b\[[0-9;]*m|\x1b\[\?\d+[hl]")
_RUN_AT = re.compile(r"\x1b\[(\d+);(\d+)H((?:\x1b\[[0-9;]*m|[^\x1b])*)")
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def playable(data: str) -> str:
    return _ESCAPE.sub(lambda m: m.group() if _KEPT.fullmatch(m.group()) and "?1049" not in m.group() else "", data)


def console_env(color: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TEXTUAL", "COLORTERM", "NO_COLOR", "FORCE_COLOR")) and k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    if color:
        env["COLORTERM"] = color
    env.update(extra)
    return env


def run_on_pty(argv: list[str], env: dict[str, str], size: tuple[int, int], until, timeout: float = 30.0,
               stdout: str | None = None) -> str:
    """Run ``argv`` on a new pseudo-terminal of ``size`` (its standard output sent to the file
    ``stdout`` instead, when given); read what it writes until ``until(text)``, then press ``q`` and
    read on until it exits. Returns everything it wrote to the terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console
        os.chdir(REPO)
        if stdout is not None:
            os.dup2(os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    out = bytearray()
    deadline = time.monotonic() + timeout
    quit_sent = timed_out = False
    try:
        while True:
            if time.monotonic() > deadline:
                timed_out = True
                break
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
    finally:
        if os.waitpid(pid, os.WNOHANG) == (0, 0):  # still running: it has had its time
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        else:
            status = 0
        os.close(fd)
    if timed_out:
        pytest.fail(f"the console did not {'quit' if quit_sent else 'show what was waited for'} within "
                    f"{timeout:.0f} s: {bytes(out[-400:])!r}")
    assert os.waitstatus_to_exitcode(status) == 0, bytes(out[-600:])
    return out.decode()


def first_frame_out(text: str) -> bool:
    """Textual's first frame is out: the footer (Textual's alone) follows its driver's start."""
    return DRIVER_START in text and "Quit" in text.split(DRIVER_START, 1)[1]


def early_frame(data: str, size: tuple[int, int], laid_out: tuple[int, int] | None = None) -> Screen:
    """The cells the early frame drew (None elsewhere) on a terminal of ``size``, after checking
    that Textual, taking the terminal over, wrote none of them again (but the scroll bar's column,
    which its second layout adds when the rows do not fit) and that the screen then still shows
    them. ``laid_out``: the size both lay the screen out at, when not the terminal's (COLUMNS, LINES);
    the driver's model then starts blank, and Textual's first frame goes out whole."""
    width, height = size
    assert data.count("\x1b[?1049h") == 1  # the alternate screen is entered once (a second may clear it)
    before, after = data.split(DRIVER_START, 1)
    assert "\x1b[?1049h" in before, "no early frame was drawn"
    drawn_part = playable(before.split("\x1b[?1049h", 1)[1])
    drawn = Screen(width, height)
    drawn.play(drawn_part)

    x, _, w, _ = early.containers_box(laid_out or size)
    bar_column = x + w - 2
    textual = after[:after.index("\x1b[?1049l")]
    written: set[tuple[int, int]] = set()
    for move in _RUN_AT.finditer(textual):
        row, col = int(move.group(1)) - 1, int(move.group(2)) - 1
        written.update((row, col + i) for i in range(len(_SGR.sub("", move.group(3)))))
    final = Screen(width, height)
    final.play(drawn_part)
    final.play(playable(textual))
    again = sorted((r, c) for r, c in written if drawn.rows[r][c] is not None and c != bar_column)
    if again and laid_out in (None, size):  # (laid out at another size: its model starts blank, all is sent)
        row = again[0][0]
        pytest.fail(f"Textual wrote {len(again)} cells of the early frame again, from {again[0]}; that line "
                    f"was\n{lines_of(drawn)[row]!r}\nand is\n{lines_of(final)[row]!r}", pytrace=False)
    assert all(final.rows[r][c] == drawn.rows[r][c] for r in range(height) for c in range(width)
               if drawn.rows[r][c] is not None and c != bar_column)
    return drawn


def lines_of(screen: Screen) -> list[str]:
    return ["".join(c[0] if c else " " for c in row) for row in screen.rows]
