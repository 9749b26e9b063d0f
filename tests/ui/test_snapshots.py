"""SVG snapshots of the console (pytest-textual-snapshot), at 160x50 and 80x24.

Rendered from fixed model objects on the rendering stand-in (``tests/render_standin.py``), so
they are the same every run: no engine, no clock (ages are counted to ``render_standin.NOW``),
no cluster discovery. Update after a deliberate change of the look with
``pytest tests/ui/test_snapshots.py --snapshot-update`` and look at the new SVGs.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input
from render_standin import NOW, render_app

import carina_tui.core.models as models
import carina_tui.ui.panes.containers as containers_pane
import carina_tui.ui.panes.services as services_pane

SIZES = [(160, 50), (80, 24)]


class _FixedTime:
    @staticmethod
    def time() -> float:
        return NOW


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(models, "time", _FixedTime)
    monkeypatch.setattr(containers_pane, "time", _FixedTime)  # the Containers pane's own clock for its ages
    monkeypatch.setattr(services_pane, "time", _FixedTime)  # and the Services pane's


def settled(*keys: str):
    """Wait for the first snapshot and the workers, press ``keys``, wait again (posting's way)."""

    async def run_before(pilot) -> None:
        app = pilot.app
        for _ in range(100):
            if app.console_screen._loaded_once:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.6)  # the first Consul report is started half a second in
        await app.workers.wait_for_complete()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
            await app.workers.wait_for_complete()
        for field in app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor is there or not depending on the moment
        await pilot.pause()

    return run_before


SCREENS = {
    "console": (),
    "clusters": ("1", "z"),
    "networks": ("2", "z"),
    "containers": ("3", "z"),
    "system": ("4", "z"),
    "services": ("5", "z"),
    "tasks": ("5", "j", "enter"),  # web: a task in the history, one pending with its reason
    "create-service": ("5", "N"),
    "create-network": ("2", "n"),
    "run": ("3", "N"),
    "connect": ("3", "c"),
    "cleanup": ("3", "x"),
    "help": ("3", "question_mark"),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCREENS))
def test_snapshot(name, size, snap_compare):
    assert snap_compare(render_app(), terminal_size=size, run_before=settled(*SCREENS[name]))
