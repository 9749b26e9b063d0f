"""``W``: the swarm's nodes and its networks' address use, with ``D`` drain and ``A`` activate.

Nodes: hostname, role, availability, status, engine version, leader (a manager's node list).
Networks: for each swarm network, the addresses its subnet has in use on every node (tasks,
attached containers, load balancer endpoints, virtual IPs), marked from 80 % with the sentence
that says what fails next. ``D``/``A`` ask first, then go through the guard
(``Guard.set_availability``), which refuses the last active manager and a node whose running
task is protected; the refusal's sentence is said here, and the view is read again.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from carina_tui.core.errors import CarinaError
from carina_tui.core.models import NodeInfo
from carina_tui.core.swarm_nodes import availability_sentence
from carina_tui.ui.screens import ConfirmScreen

QUESTIONS = {
    "drain": ("Drain node {}?", "Swarm stops its tasks there and starts them on other nodes, and schedules nothing "
                                "new there until it is activated (A). Containers started with docker run, such as "
                                "the Consul agent, keep running. The guard refuses the last active manager and a "
                                "node running a protected task."),
    "active": ("Activate node {}?", "Swarm may schedule tasks there again; tasks that moved away stay where they are."),
}


@dataclass
class SwarmRead(Message):
    nodes: tuple
    uses: dict


class SwarmScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("D", "availability('drain')", "Drain node", id="swarm.drain"),
        Binding("A", "availability('active')", "Activate node", id="swarm.activate"),
        Binding("r", "reload", "Refresh", id="swarm.refresh"),
        Binding("escape", "close", "Close", id="swarm.close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.nodes: tuple[NodeInfo, ...] = ()
        self.uses: dict = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box wide", id="swarm-box"):
            yield Static(Text("Swarm: nodes and overlay addresses", style="bold"), classes="modal-title")
            with VerticalScroll(id="swarm-body"):
                yield Static(Text("Nodes", style="bold"), classes="cleanup-heading")
                nodes = DataTable(id="swarm-nodes", cursor_type="row", classes="cleanup-table")
                for key, label in (("hostname", "Hostname"), ("role", "Role"), ("availability", "Availability"),
                                   ("status", "Status"), ("engine", "Engine"), ("leader", "Leader")):
                    nodes.add_column(label, key=key)
                yield nodes
                yield Static(Text("Swarm networks: addresses in use", style="bold"), classes="cleanup-heading")
                nets = DataTable(id="swarm-addresses", cursor_type="row", show_cursor=False, classes="cleanup-table")
                for key, label in (("network", "Network"), ("subnet", "Subnet"), ("used", "Used"),
                                   ("holders", "Held by")):
                    nets.add_column(label, key=key)
                yield nets
                yield Static("", id="swarm-warnings")
            yield Static("Reading the swarm…", classes="modal-hint", id="swarm-hint")

    def on_mount(self) -> None:
        self.query_one("#swarm-nodes", DataTable).focus()
        self.action_reload()

    def action_reload(self) -> None:
        self._read(self.app.session)

    @work(thread=True, group="swarm", exclusive=True, exit_on_error=False)
    def _read(self, session) -> None:
        from carina_tui.services.overlay import swarm_view

        nodes, uses = swarm_view(session)
        self.post_message(SwarmRead(nodes, uses))

    @on(SwarmRead)
    def _shown(self, message: SwarmRead) -> None:
        self.nodes, self.uses = message.nodes, message.uses
        table = self.query_one("#swarm-nodes", DataTable)
        cursor = table.cursor_row
        table.clear()
        for n in self.nodes:
            availability = Text(n.availability, style="bold yellow" if n.availability != "active" else "")
            table.add_row(n.hostname, n.role, availability, n.status, n.engine_version,
                          "leader" if n.leader else "", key=n.id)
        if self.nodes:
            table.move_cursor(row=min(cursor, len(self.nodes) - 1))
        nets = self.query_one("#swarm-addresses", DataTable)
        nets.clear()
        warnings = Text()
        for use in sorted(self.uses.values(), key=lambda u: u.network):
            nets.add_row(use.network, ", ".join(use.subnets),
                         Text(use.text, style="bold red" if use.warning else ""), use.breakdown, key=use.network_id)
            if use.warning:
                warnings.append(f"{use.warning}\n", style="red")
        self.query_one("#swarm-warnings", Static).update(warnings)
        self.query_one("#swarm-hint", Static).update(
            "D drains the node · A activates it · r reads again · escape closes" if self.nodes
            else "This cluster is not a swarm, or no manager answers · escape closes")

    @property
    def selected(self) -> NodeInfo | None:
        table = self.query_one("#swarm-nodes", DataTable)
        if not self.nodes or table.cursor_row >= len(self.nodes):
            return None
        return self.nodes[table.cursor_row]

    def action_availability(self, availability: str) -> None:
        node = self.selected
        if node is None:
            return
        self._check_first(self.app.session, node, availability)

    @work(thread=True, group="mutate", exit_on_error=False)
    def _check_first(self, session, node: NodeInfo, availability: str) -> None:
        """The guard's rules first (last active manager, a protected task): a change they refuse is
        refused at once, never confirmed and then refused."""
        try:
            session.guard.check_availability(node, availability)
        except CarinaError as err:
            self.app.call_from_thread(self.app.notify, str(err), title=err.title, severity="error", timeout=10)
            return
        self.app.call_from_thread(self._confirm, node, availability)

    def _confirm(self, node: NodeInfo, availability: str) -> None:
        question, detail = QUESTIONS[availability]

        def answered(yes: bool | None) -> None:
            if yes:
                self._set(self.app.session, node, availability)

        self.app.push_screen(ConfirmScreen(question.format(node.hostname), detail), answered)

    @work(thread=True, group="mutate", exit_on_error=False)
    def _set(self, session, node: NodeInfo, availability: str) -> None:
        try:
            after = session.guard.set_availability(node, availability)
        except CarinaError as err:
            self.app.call_from_thread(self.app.notify, str(err), title=err.title, severity="error", timeout=10)
        else:
            self.app.call_from_thread(self.app.notify, availability_sentence(after, availability), title="Swarm")
        self.app.call_from_thread(self.action_reload)

    def action_close(self) -> None:
        self.dismiss(None)
