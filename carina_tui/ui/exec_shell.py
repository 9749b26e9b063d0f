"""``e`` on a running container: a shell in it, in this very terminal.

1. Said at once, without asking the engine: a container that does not run, read-only mode (the
   guard's sentence). A protected container asks first, naming it and the rule that protects it;
   ``n`` does nothing at all.
2. The guard opens the shell (a fresh look, the audit line with the command, the permit) on
   the worker pool: it is one short request. The command: the ``[exec]`` line of the config for
   the container's image, else ``/bin/bash`` if the container has it, else ``/bin/sh``.
3. The console suspends (``App.suspend``) and the terminal is the container's: raw mode here, the
   bytes copied both ways by ``bridge`` on a thread of its own (``carina-exec:<container>``;
   a shell lasts as long as its user likes, so never on the pool), the size sent again on every
   SIGWINCH. When the shell ends (``exit``), the terminal is restored and the console comes back
   where it was, saying how the shell ended.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import termios
import threading
import tty

from rich.text import Text

from carina_tui.core.errors import CarinaError
from carina_tui.core.exec_models import command_for
from carina_tui.core.models import ContainerInfo
from carina_tui.runtime import start_loop
from carina_tui.ui.screens import ConfirmScreen

NOT_A_TERMINAL = ("A shell needs the console to run in a terminal, and this one has none (it runs headless); "
                  "nothing was opened.")


def open_shell(app, c: ContainerInfo) -> None:
    """The ``e`` key of the Containers pane."""
    if c.state != "running":
        app.notify(f"{c.qualified_name} is {c.state}: a shell runs only in a running container; start it with s "
                   "first.", title="Shell", severity="warning")
        return
    guard = app.session.guard
    refusal = guard.would_refuse("container.exec")  # read-only: said before anything is asked
    if refusal is not None:
        app.notify(refusal, title="Refused", severity="error")
        return
    if app.is_headless or not sys.__stdin__ or not sys.__stdin__.isatty():
        app.notify(NOT_A_TERMINAL, title="Shell", severity="error")
        return
    app.run_worker(_shell(app, c), group="exec", exclusive=True, exit_on_error=False)


async def _shell(app, c: ContainerInfo) -> None:
    guard = app.session.guard
    rule = guard.classify(c)
    if rule is not None:
        question = f"Open a shell in the protected container {c.qualified_name}?"
        detail = Text.assemble(
            (f"{c.qualified_name}", "bold"), f" is protected by the rule {rule.describe()}: the cluster needs it. "
            "A shell can change or stop what it runs. The command, you and the time are written to the audit log.")
        if not await app.push_screen_wait(ConfirmScreen(question, detail)):
            return
    choice = command_for(c, app.config.exec_commands)
    command = choice.command if choice is not None else None
    size = _terminal_size()
    try:
        shell = await asyncio.get_running_loop().run_in_executor(
            None, lambda: guard.open_shell(c, command, *size, term=os.environ.get("TERM", ""), confirmed=rule))
    except CarinaError as err:
        app.notify(str(err), title="Shell", severity="error")
        return
    shown = " ".join(shell.command)
    try:
        with app.suspend():
            banner = f"carina-tui: {shown} in {c.qualified_name}; exit returns to the console.\r\n".encode()
            bridge(shell, sys.__stdin__.fileno(), sys.__stderr__.fileno(), c.qualified_name, banner)
    except Exception as exc:  # noqa: BLE001 - SuspendNotSupported (headless), or a terminal that went away
        shell.close()
        name = type(exc).__name__
        app.notify(NOT_A_TERMINAL if name == "SuspendNotSupported" else f"The shell in {c.qualified_name} ended: "
                   f"{name}: {exc}.", title="Shell", severity="error")
        return
    code = await asyncio.get_running_loop().run_in_executor(None, shell.exit_code)
    ended = "it ended" if code is None else f"it ended with code {code}"
    app.notify(f"Back from the shell in {c.qualified_name}: {ended}.", title="Shell")


def _terminal_size() -> tuple[int, int]:
    try:
        size = os.get_terminal_size(sys.__stderr__.fileno())
    except (OSError, ValueError, AttributeError):
        return 24, 80
    return size.lines, size.columns


def bridge(shell, fd_in: int, fd_out: int, name: str, banner: bytes = b"") -> None:
    """The terminal is the shell's until it ends: raw mode on ``fd_in``, the bytes copied both ways on
    the thread ``carina-exec:<name>``, the size sent on SIGWINCH (caught here, on the main thread,
    and handed over through a pipe). Returns when the shell has ended, with the terminal as it was."""
    wake_read, wake_write = os.pipe()
    resized = threading.Event()
    saved = termios.tcgetattr(fd_in) if os.isatty(fd_in) else None

    def on_resize(signum, frame) -> None:
        resized.set()
        os.write(wake_write, b"w")

    def copy() -> None:
        try:
            _write_all(fd_out, banner + shell.buffered())
            while True:
                ready = select.select([fd_in, shell, wake_read], [], [])[0]
                if wake_read in ready:
                    os.read(wake_read, 512)
                    if resized.is_set():
                        resized.clear()
                        shell.resize(*_terminal_size())
                if shell in ready:
                    data = shell.read()
                    if not data:
                        return
                    _write_all(fd_out, data + shell.buffered())
                if fd_in in ready:
                    typed = os.read(fd_in, 4096)
                    if not typed:
                        return
                    shell.write(typed)
        except OSError:  # the engine closed the connection while we wrote, or the terminal went away
            return

    previous = signal.signal(signal.SIGWINCH, on_resize)
    try:
        if saved is not None:
            tty.setraw(fd_in)
        thread = start_loop(f"carina-exec:{name}", copy)
        while thread.is_alive():
            thread.join(0.2)  # a timeout, so that SIGWINCH's handler runs meanwhile
    finally:
        signal.signal(signal.SIGWINCH, previous)
        if saved is not None:
            termios.tcsetattr(fd_in, termios.TCSADRAIN, saved)
        shell.close()
        os.close(wake_read)
        os.close(wake_write)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]
