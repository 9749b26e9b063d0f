"""Pane 4, System: the protected containers (the Consul agents) and what Consul says."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from carina_tui.core.models import ContainerInfo, clock
from carina_tui.core.rules import Rule
from carina_tui.ui.messages import ActionRequested, DetailsRequested, RemoveRequested, post_from_thread
from carina_tui.ui.columns import state_text
from carina_tui.ui.tables import TablePane


class ProtectedRow:
    __slots__ = ("container", "rule")

    def __init__(self, container: ContainerInfo, rule: Rule) -> None:
        self.container = container
        self.rule = rule

    @property
    def key(self) -> str:
        return self.container.key

    def __eq__(self, other) -> bool:
        return isinstance(other, ProtectedRow) and (self.container, self.rule) == (other.container, other.rule)


@dataclass
class SystemReported(Message):
    report: object  # carina_tui.services.system_report.SystemReport


@dataclass
class ConsulChanged(Message):
    """Consul's health checks changed (from the watch's thread); the console asks for a new report."""


class SystemPane(TablePane[ProtectedRow]):
    """Its Consul work is its own: the report (a ``consul`` worker, on a snapshot the console
    takes on the main thread) and the watch on Consul's checks (``ConsulWatch``, a thread)."""

    TITLE = "System (protected)"
    EMPTY = "No protected containers on this cluster."
    SORTS = ("name", "state", "node", "rule", "image")
    DEFAULT_SORT = "name"
    KEEP = ("name", "state", "rule", "node")
    STALE_COLUMN = "state"
    COLUMNS = (
        ("name", "Name", None),
        ("state", "State", None),
        ("node", "Node", None),
        ("rule", "Rule", None),
        ("image", "Image", None),
    )

    BINDINGS = [
        Binding("enter", "details", "Details", id="system.details", show=False),
        Binding("s", "start", "Start agent", id="system.start"),
        Binding("d", "remove", "Remove (refused)", id="system.remove", show=False),
        Binding("K", "consul", "Consul members, checks and KV", id="system.consul"),
    ]
    MUTATING = frozenset({"start", "remove"})

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.report = None
        self._watch = None  # the ConsulWatch on the address the last report found
        self._watching = ""

    # -- Consul --------------------------------------------------------------------------------

    # A description of its own: Textual's default is the repr of the arguments, which for a
    # snapshot of 5,000 containers took 0.06 s of the main thread (profiled) each time.
    @work(thread=True, group="consul", exclusive=True, exit_on_error=False, description="the Consul report")
    def consul_report(self, session, snapshot) -> None:
        from carina_tui.services.system_report import build_report

        report = build_report(session, snapshot)
        if not get_current_worker().is_cancelled:
            self.post_message(SystemReported(report))

    @on(SystemReported)
    def _system_reported(self, message: SystemReported) -> None:
        if self._table is None:  # the pane is being taken down (the app is quitting)
            return
        report = message.report
        self.show_report(report)
        if report.address and report.address != self._watching:
            self._watching = report.address
            self._watch_consul(report.address)

    def _watch_consul(self, address: str) -> None:
        """Blocking queries on Consul's health checks, on a dedicated thread: a new report when they change."""
        from carina_tui.services.system_report import ConsulWatch, consul_token

        self.stop_watch()
        self._watching = address
        self._watch = ConsulWatch(address, consul_token(self.app.session),
                                  lambda: post_from_thread(self, ConsulChanged())).start()

    def stop_watch(self) -> None:
        """Stop watching (a cluster switch, quitting): the watch's socket is shut, its thread ends."""
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        self._watching = ""

    def on_unmount(self) -> None:  # (TablePane's runs too: Textual calls each class's handler)
        self.stop_watch()

    def show_report(self, report) -> None:
        """Warnings at the top; what Consul says in the subtitle (details with enter)."""
        from carina_tui.core.consul_models import ConsulSnapshot

        self.report = report
        if self._table is None:  # the pane is being taken down (the app is quitting)
            return
        found = self.query(".system-warnings")
        box = found.first(Static) if found else None
        if report.warnings:
            if box is None:
                # Made when there is something to say: the first screen does not need it.
                box = Static("", classes="system-warnings")
                self.mount(box, before=self._table)
            text = Text()
            for w in report.warnings:
                text.append("⚠ " if w.severity != "info" else "· ", style="bold red" if w.severity == "error" else "yellow")
                text.append(w.sentence + "\n")
            text.rstrip()
            box.update(text)
            box.display = True
        elif box is not None and box.display:
            box.display = False
        consul = report.consul
        if isinstance(consul, ConsulSnapshot):
            alive = sum(1 for m in consul.members if m.status == "alive")
            members = f"{alive}/{len(consul.members)} members alive"
            self._members = (members, time.time())
            subtitle = (f"consul {consul.agent.version} dc {consul.agent.datacenter} · leader "
                        f"{consul.leader or 'NONE'} · {members}")
            if report.unreachable:  # Consul notices a node that is gone only after a while
                subtitle += f" (stale: {', '.join(report.unreachable)} unreachable)"
        elif consul is not None:
            subtitle = "consul: not answering"
            members, when = getattr(self, "_members", ("", 0.0))
            if members:
                subtitle += f" · {members} at {clock(when)} (stale)"
        else:
            subtitle = ""
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle

    def endpoint_of(self, r: ProtectedRow) -> str:
        return r.container.endpoint

    def cells(self, r: ProtectedRow):
        c = r.container
        return (c.qualified_name if c.node else c.name, state_text(c.state), c.node, r.rule.describe(), c.image)

    def action_details(self) -> None:
        row = self.selected
        if row is not None:
            self.post_message(DetailsRequested(row.container))

    def action_consul(self) -> None:
        from carina_tui.ui.consul_view import consul_screen

        self.app.push_screen(consul_screen(self.report))

    def action_start(self) -> None:
        if (row := self.target()) is not None:
            self.post_message(ActionRequested("container.start", row.container))

    def action_remove(self) -> None:
        if (row := self.target()) is not None:
            self.post_message(RemoveRequested(row.container))
