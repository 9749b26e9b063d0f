"""The console in a real terminal, as a person runs it: a private tmux server, keys, the screen.

Shared by the tests that run ``carina-tui`` as a subprocess (quitting) and the
benchmarks (start-up, quit time). ``Tmux`` uses its own socket (``tmux -L``), so
nothing of the user's is touched; ``kill_server()`` removes it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class Tmux:
    """A private tmux server (its own socket), so nothing of the user's is touched."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.base = ["tmux", "-L", label, "-f", "/dev/null"]
        # A keeper session, so that no measurement pays for starting the server.
        self.run("new-session", "-d", "-s", "keep", "-x", "80", "-y", "24", "sleep 100000")

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:3])}: {done.stderr.strip()}")
        return done.stdout

    def capture(self, session: str) -> str:
        return subprocess.run([*self.base, "capture-pane", "-p", "-t", session],
                              capture_output=True, text=True).stdout

    def keys(self, session: str, *keys: str) -> None:
        self.run("send-keys", "-t", session, *keys)

    def record(self, session: str, path: Path) -> None:
        """Everything the pane's program writes from now on, raw, into ``path``. (What a program
        prints as it exits is there even when tmux shows a dead pane without it.)"""
        self.run("pipe-pane", "-o", "-t", session, f"cat >> {shlex.quote(str(path))}")

    def pane_pid(self, session: str) -> int:
        return int(self.run("list-panes", "-t", session, "-F", "#{pane_pid}").split()[0])

    def kill_session(self, session: str) -> None:
        self.run("kill-session", "-t", session, check=False)

    def kill_server(self) -> None:
        self.run("kill-server", check=False)
        # tmux leaves its socket file behind.
        folder = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (folder / self.label).unlink(missing_ok=True)


def wait_screen(tmux: Tmux, session: str, ok, timeout: float, step: float = 0.005) -> tuple[float | None, str]:
    """Poll capture-pane until ``ok(text)``; the moment it first held (perf_counter) and the text."""
    deadline = time.perf_counter() + timeout
    text = ""
    while time.perf_counter() < deadline:
        text = tmux.capture(session)
        if ok(text):
            return time.perf_counter(), text
        time.sleep(step)
    return None, text


def wait_settled(tmux: Tmux, session: str, quiet: float = 1.0, timeout: float = 8.0) -> None:
    """Until capture-pane has not changed for ``quiet`` seconds."""
    last, since = tmux.capture(session), time.perf_counter()
    deadline = since + timeout
    while time.perf_counter() < deadline:
        time.sleep(0.05)
        now = tmux.capture(session)
        if now != last:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since >= quiet:
            return


def console_command(args: list[str], stderr: Path | None = None) -> str:
    """A shell line that runs ``python -m carina_tui ARGS`` of this checkout as the pane's own process."""
    # COLUMNS/LINES (pytest sets them) would beat the terminal's own size.
    env = f"-u COLUMNS -u LINES PYTHONPATH={shlex.quote(str(REPO))} TERM=xterm-256color"
    argv = [sys.executable, "-m", "carina_tui", *args]
    tail = f" 2>{shlex.quote(str(stderr))}" if stderr else ""
    return f"cd {shlex.quote(str(REPO))} && exec env {env} {' '.join(shlex.quote(a) for a in argv)}{tail}"


def wait_output(path: Path, pattern: re.Pattern, timeout: float = 5.0) -> re.Match | None:
    """The first match of ``pattern`` in what ``Tmux.record`` wrote (escape sequences removed)."""
    deadline = time.monotonic() + timeout
    while True:
        text = _ESCAPES.sub("", path.read_text(errors="replace")) if path.exists() else ""
        found = pattern.search(text)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


_ESCAPES = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>NOM78])")


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie that tmux has not reaped yet has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone (even between open and read)
        return False


def seconds_to_exit(pid: int, since: float, timeout: float) -> float | None:
    """Seconds from ``since`` (perf_counter) until ``pid`` ended; None if it still runs after ``timeout``."""
    while alive(pid):
        if time.perf_counter() - since > timeout:
            return None
        time.sleep(0.005)
    return time.perf_counter() - since


def step(tmux: Tmux, session: str, keys: list[str], shows, what: str, timeout: float = 30) -> str:
    """Send ``keys`` (``-l`` first: literally), then wait until the screen ``shows``; its text."""
    tmux.keys(session, *keys)
    seen, text = wait_screen(tmux, session, shows, timeout, step=0.02)
    if seen is None:
        raise AssertionError(f"{what}: not within {timeout:.0f} s; the screen:\n{text}")
    return text


def filter_containers(tmux: Tmux, session: str, words: str) -> None:
    """``3``, ``/``, the words, enter: the Containers pane shows what matches."""
    step(tmux, session, ["3", "/"], lambda t: "filter (escape clears)" in t, "/ opens the filter")
    step(tmux, session, ["-l", words], lambda t: "filter: " + words[:8] in t, f"the filter {words!r} applies")
    tmux.keys(session, "Enter")
    # Enter hands the focus back to the table; a key sent at once can still reach the filter box
    # (keys typed while the focus moves: issue 10's other half). Nothing on screen tells, so wait.
    time.sleep(1.0)


def open_logs(tmux: Tmux, session: str, name: str, timeout: float = 30) -> str:
    """Filter the Containers pane to ``name``, open its logs (``l``) and wait until they follow."""
    filter_containers(tmux, session, name)
    tmux.keys(session, "l")
    seen, text = wait_screen(tmux, session, lambda t: "Logs of " in t and "following" in t, timeout, step=0.05)
    if seen is None:
        raise AssertionError(f"l did not open the logs of {name}; the screen:\n{text}")
    return text
