"""Keys ``6`` Images and ``7`` Volumes: each pane on a screen of its own over the console.

Until the console has slots for panes 5-7 (issue 11's pane registry), the Images and
Volumes panes take the whole terminal, so they read well at 80x24: ``6`` and ``7`` switch
between them, ``1``-``4`` go back to the console with that pane focused, ``q`` quits. The
console stays underneath and keeps following the engines; the pane takes the containers
it uses from the console's Containers pane.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from carina_tui.ui.storage_panes import ImagesPane, StoredPane, VolumesPane

PANES = {"images": ImagesPane, "volumes": VolumesPane}


class StorageScreen(Screen[None]):
    BINDINGS = [
        Binding("1", "console('clusters')", "Clusters", show=False, id="storage.clusters"),
        Binding("2", "console('networks')", "Networks", show=False, id="storage.networks"),
        Binding("3", "console('containers')", "Containers", show=False, id="storage.containers"),
        Binding("4", "console('system')", "System", show=False, id="storage.system"),
        Binding("6", "switch('images')", "Images", show=False, id="storage.images"),
        Binding("7", "switch('volumes')", "Volumes", show=False, id="storage.volumes"),
    ]

    def __init__(self, kind: str, containers) -> None:
        super().__init__()
        self.kind = kind
        self.containers = containers  # () -> the console's containers, as they are now

    def compose(self) -> ComposeResult:
        yield Static("carina-tui · 1-4 console · 6 Images · 7 Volumes", id="header")
        pane = PANES[self.kind](id=self.kind)
        pane.containers_source = self.containers
        yield pane
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(StoredPane).table.focus()

    def action_switch(self, kind: str) -> None:
        if kind != self.kind:
            self.app.switch_screen(StorageScreen(kind, self.containers))

    def action_console(self, pane: str) -> None:
        self.app.pop_screen()
        self.app.action_focus_pane(pane)


def show_storage(app, kind: str) -> None:
    """``6``/``7`` on the console."""
    containers = app.pane("containers")
    app.push_screen(StorageScreen(kind, lambda: list(containers.items.values())))
