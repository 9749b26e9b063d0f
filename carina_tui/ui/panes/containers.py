"""Pane 3, Containers: every container of the cluster."""

from __future__ import annotations

import time

from textual.binding import Binding

from carina_tui.core.models import ContainerInfo
from carina_tui.ui.columns import (CONTAINER_COLUMNS, CONTAINER_KEEP, CONTAINERS_TITLE, container_cells, natural,
                                   running_first)
from carina_tui.ui.messages import ActionRequested, DetailsRequested, InspectRequested, RemoveRequested
from carina_tui.ui.tables import TablePane


class ContainersPane(TablePane[ContainerInfo]):
    TITLE = CONTAINERS_TITLE
    EMPTY = "No containers."
    # Running first, then newest first, as `docker ps`; `o` moves on to the next column.
    SORTS = ("state", "node", "ports", "networks", "image", "age", "name")
    DEFAULT_SORT = "state"
    TICK = 60.0  # ages are redrawn once a minute, and only those that read differently
    # Narrow: the node goes first (a name says node/name on a cluster of several engines).
    KEEP = CONTAINER_KEEP
    STALE_COLUMN = "state"
    COLUMNS = tuple((key, label, None) for key, label in CONTAINER_COLUMNS)  # (shared with ui/early.py)

    BINDINGS = [
        Binding("enter", "details", "Details", id="containers.details", show=False),
        Binding("N", "run", "Run container", id="containers.run"),
        Binding("c", "connect", "Connect to network", id="containers.connect", show=False),
        Binding("s", "start_stop", "Start/stop", id="containers.start_stop"),
        Binding("R", "restart", "Restart", id="containers.restart", show=False),
        Binding("d", "remove", "Remove", id="containers.remove", show=False),
        Binding("l", "logs", "Logs", id="containers.logs"),
        Binding("e", "shell", "Shell", id="containers.shell", show=False),
        Binding("t", "stats", "Stats", id="containers.stats", show=False),
        Binding("i", "inspect", "Inspect", id="containers.inspect", show=False),
        Binding("x", "cleanup", "Clean up exited", id="containers.cleanup"),
    ]
    MUTATING = frozenset({"run", "connect", "start_stop", "restart", "remove", "cleanup"})

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.qualify = False  # node/name names, for clusters of several nodes
        self.now = time.time  # the clock the ages are read from

    def cells(self, c: ContainerInfo):
        return container_cells(c, qualify=self.qualify, now=self.now())

    def sort_key(self, c: ContainerInfo, column: str, cells):
        if column == "state":
            return running_first(c)
        name = natural(c.name)
        if column == "age":
            return (-c.created, name)  # the youngest first
        if column == "name":
            return (name, natural(c.node))
        return (super().sort_key(c, column, cells), name)

    def visible(self, c: ContainerInfo) -> bool:
        """The filter understands node=, name=, label=, until= besides free words (see core.planner)."""
        if not self.filter_text:
            return True
        from carina_tui.ui.cleanup_screen import pane_shows

        return pane_shows(self, c)

    def action_details(self) -> None:
        c = self.selected
        if c is not None:
            self.post_message(DetailsRequested(c))

    def action_run(self) -> None:
        from carina_tui.ui.forms import open_run

        open_run(self.app)

    def action_connect(self) -> None:
        if (c := self.target()) is not None:
            from carina_tui.ui.forms import open_connect

            open_connect(self.app, container=c)

    def action_start_stop(self) -> None:
        if (c := self.target()) is not None:
            self.post_message(ActionRequested("start_stop", c))

    def action_restart(self) -> None:
        if (c := self.target()) is not None:
            self.post_message(ActionRequested("container.restart", c))

    def action_remove(self) -> None:
        if (c := self.target()) is not None:
            self.post_message(RemoveRequested(c))

    def action_logs(self) -> None:
        if (c := self.selected) is not None:
            from carina_tui.ui.logs import LogScreen

            self.app.push_screen(LogScreen(self.app.session, c))

    def action_inspect(self) -> None:
        if (c := self.selected) is not None:
            self.post_message(InspectRequested(c))

    def action_shell(self) -> None:
        if (c := self.target()) is not None:
            from carina_tui.ui.exec_shell import open_shell

            open_shell(self.app, c)

    def action_stats(self) -> None:
        from carina_tui.ui.stats_view import toggle_stats

        toggle_stats(self)

    def action_cleanup(self) -> None:
        from carina_tui.ui.cleanup_screen import open_cleanup

        open_cleanup(self.app, self)
