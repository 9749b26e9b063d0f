"""Helpers for driving the real console with Pilot."""

from __future__ import annotations

import time

from carina_tui.core.clusters import ClusterSpec
from carina_tui.session import Session
from carina_tui.ui.app import CarinaApp


def make_app(*endpoints: str, read_only: bool = False, name: str = "test") -> CarinaApp:
    return CarinaApp(Session(ClusterSpec(name, "cli", tuple(endpoints)), read_only=read_only))


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

