"""Driving the console with Pilot: start it on an engine, wait for what must show, fill forms.

Waiting is always a bounded loop on ``pilot.pause`` (never a fixed long sleep):
``wait_for`` returns as soon as the condition holds and fails the test with the
description when it has not held within the limit.
"""

from __future__ import annotations

import json
import time
from typing import Callable

from textual import events
from textual.keys import _character_to_key
from textual.widgets import Checkbox, Input, Select, SelectionList, Static

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.config import Config
from carina_tui.services.session import Session
from carina_tui.ui.app import CarinaApp
from carina_tui.ui.forms import FormScreen

SIZE = (160, 50)

# A command for containers to stop: sh as PID 1 ignores SIGTERM unless it traps it, and an
# untrapped one makes every stop wait out docker's 10 s grace.
TRAPPED = ("sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done")


def make_app(*endpoints: str, read_only: bool = False, name: str = "test", config: Config | None = None) -> CarinaApp:
    return CarinaApp(Session(ClusterSpec(name, "cli", tuple(endpoints)), read_only=read_only), config=config)


def sandbox_app(state) -> CarinaApp:
    """The console on a test sandbox (``harness.start_test_sandbox``), as ``--config --cluster`` opens it."""
    from carina_tui.core.config import load_config
    from carina_tui.gateways import discovery
    from carina_tui.services.targets import session_for

    config = load_config(state.config_file)
    spec = discovery.find(state.name, config)
    return CarinaApp(session_for(spec, config), config=config, discover=False)


def node_rows(app) -> dict[str, list[str]]:
    """The Clusters pane's node rows (name -> cells) of the cluster in use."""
    return {r[0].replace("└", "").strip(): r for r in row_texts(app.pane("clusters")) if r[0].startswith("  └")}


def all_nodes_up(app, count: int) -> bool:
    rows = node_rows(app)
    return len(rows) == count and all(r[2] == "yes" for r in rows.values())


async def wait_until(pilot, condition, timeout: float = 5.0, step: float = 0.05) -> bool:
    """Let the app run until ``condition()`` holds; False if it never did within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await pilot.pause(step)
    return bool(condition())


def row_texts(pane) -> list[list[str]]:
    """What the pane's table shows, row by row, as plain text."""
    table = pane.table
    out = []
    for row_index in range(table.row_count):
        cells = table.get_row_at(row_index)
        out.append([getattr(c, "plain", str(c)) for c in cells])
    return out


def names_shown(pane) -> set[str]:
    return {row[0] for row in row_texts(pane)}


async def wait_for(pilot, condition: Callable[[], object], what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Within {timeout:.0f} s: {what}")
        await pilot.pause(0.05)


async def started(pilot) -> CarinaApp:
    """The app once its first snapshot is on screen."""
    app = pilot.app
    await wait_for(pilot, lambda: app.console_screen._loaded_once, "the console loaded its first snapshot")
    return app


def notices(app: CarinaApp) -> str:
    """Every notification the console has shown, one a line."""
    return "\n".join(n.message for n in app._notifications)


def raised(app: CarinaApp, sentence: str) -> float:
    """When the toast saying ``sentence`` was raised (last: one said again is raised again in its
    place, ``CarinaApp._on_notify``); 0 when none shows it."""
    return max((n.raised_at for n in app._notifications if sentence in n.message), default=0.0)


def inspect_doc(engine, name: str) -> dict:
    """``docker inspect`` of one object, as the engine holds it."""
    return json.loads(engine.docker("inspect", name))[0]


def find(app: CarinaApp, pane: str, name: str):
    """The item named ``name`` in a pane (containers and networks), or None."""
    for item in app.pane(pane).items.values():
        if getattr(item, "name", None) == name:
            return item
    return None


async def shown(pilot, pane: str, name: str, what: str = "", timeout: float = 15.0):
    return await wait_for(pilot, lambda: find(pilot.app, pane, name), what or f"{name} shows in the {pane} pane",
                          timeout)


def cell(app: CarinaApp, pane: str, key: str, column: str) -> str:
    value = app.pane(pane).table.get_cell(key, column)
    return getattr(value, "plain", str(value))


async def select_row(pilot, pane: str, name: str) -> None:
    """Focus ``pane`` and put its cursor on the row of ``name``."""
    app = pilot.app
    item = await shown(pilot, pane, name)
    table = app.pane(pane).table
    table.focus()
    table.move_cursor(row=table.get_row_index(item.key))
    await pilot.pause()
    selected = app.pane(pane).selected
    # By key: the pane may hold a fresher look at the same object by now (a service whose tasks
    # moved on after a forced restart is a new item with the same key).
    assert selected is not None and selected.key == item.key, f"the cursor is on {selected!r}, not on {name}"


def form(app: CarinaApp) -> FormScreen:
    screen = app.screen
    assert isinstance(screen, FormScreen), f"a form is open, not {type(screen).__name__}"
    return screen


async def open_form(pilot, key: str, kind: type) -> FormScreen:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind), f"{key} opens {kind.__name__}")
    await settle_workers(pilot, "form-load")
    return form(pilot.app)


async def settle_workers(pilot, *groups: str) -> None:
    """Wait until no worker of ``groups`` runs (the event followers never end: never wait for all)."""

    def idle():
        return not [w for w in pilot.app.workers if w.group in groups and not w.is_finished]

    await wait_for(pilot, idle, f"the {', '.join(groups)} workers finish")
    await pilot.pause()


async def burst(pilot, *keys: str, news: tuple = ()) -> None:
    """Send ``keys`` the way a fast typist's (or a paste over SSH) arrive: all in the app's
    queue at once. ``pilot.press`` waits for the app to go idle after each key, which hides
    every ordering problem between a key, the screen it opens and the keys after it.
    ``news``: messages that reach the console right behind the keys, while they are on their way."""
    app = pilot.app
    for key in keys:
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        event = events.Key(name, key if len(key) == 1 else None)
        event.set_sender(app)
        app.post_message(event)
    for message in news:
        app.console_screen.post_message(message)  # the engines' news goes to the console screen
    await pilot.pause()

def loop_threads(prefix: str = "carina-") -> list[str]:
    """Names of the live dedicated threads (``carina-events:<node>``, ``carina-logs:<name>``…)."""
    from carina_tui.runtime import loop_threads as live

    return sorted(t.name for t in live(prefix))


async def threads_end(pilot, prefix: str, timeout: float = 5.0) -> None:
    """Wait until no dedicated thread whose name starts with ``prefix`` is alive."""
    await wait_for(pilot, lambda: not loop_threads(prefix), f"the {prefix}* threads end", timeout)


async def type_text(pilot, field: str, text: str) -> None:
    """Focus a form's Input by tabbing to it, then type ``text`` key by key."""
    screen = form(pilot.app)
    widget = screen.query_one(f"#f-{field}", Input)
    for _ in range(30):
        if widget.has_focus:
            break
        await pilot.press("tab")
    assert widget.has_focus, f"tab reaches the {field} field"
    widget.value = ""
    await pilot.press(*text)
    assert widget.value == text


def set_fields(screen: FormScreen, **values) -> None:
    """Set fields directly (Selects, checkboxes, network lists) where typing is not the point."""
    for field, value in values.items():
        widget = screen.query_one(f"#f-{field}")
        if isinstance(widget, Input):
            widget.value = value
        elif isinstance(widget, Checkbox):
            widget.value = bool(value)
        elif isinstance(widget, Select):
            if value:
                widget.value = value
            else:
                widget.clear()
        elif isinstance(widget, SelectionList):
            widget.deselect_all()
            for v in value:
                widget.select(v)
        else:  # pragma: no cover - a field type the helper does not know
            raise AssertionError(f"cannot set {field} ({type(widget).__name__})")


def error_text(app: CarinaApp) -> str:
    return str(form(app).query_one("#form-error", Static).render())


async def submit(pilot) -> str:
    """ctrl+s, then wait until the form closed ("") or shows its sentence (returned)."""
    app = pilot.app
    screen = form(app)
    await pilot.press("ctrl+s")

    def settled():
        if app.screen is not screen:
            return "closed"
        return not screen.busy and error_text(app).strip()

    await wait_for(pilot, settled, "the form closes or says what is wrong", timeout=30)
    return "" if app.screen is not screen else error_text(app)
