"""The four panes of the main screen: clusters, networks, containers, system."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from carina_tui.core.models import ContainerInfo, NetworkInfo, age, clock
from carina_tui.core.rules import Rule
from carina_tui.ui.messages import ActionRequested, DetailsRequested, InspectRequested, RemoveRequested, SwitchRequested
from carina_tui.ui.tables import TablePane, natural, state_text


@dataclass(frozen=True)
class ClusterRow:
    """A row of the Clusters pane: a cluster the user has, or a node of the one in use."""

    key: str
    kind: str  # cluster | node
    name: str
    source: str = ""
    endpoint: str = ""
    tls: str = ""
    reach: str = ""
    version: str = ""
    role: str = ""
    nodes: str = ""
    containers: str = ""
    active: bool = False
    spec: object = field(default=None, compare=False)
    state: object = field(default=None, compare=False)


class ClustersPane(TablePane[ClusterRow]):
    TITLE = "Clusters"
    NUMBER = 1
    EMPTY = "Looking for clusters…"
    COLUMNS = (
        ("name", "Cluster / node", None),
        ("source", "Source", None),
        ("reach", "Up", None),
        ("role", "Swarm", None),
        ("nodes", "Nodes", None),
        ("containers", "Ctrs", None),
        ("version", "Engine", None),
        ("tls", "TLS", None),
        ("endpoint", "Endpoint", None),
    )
    KEEP = ("name", "reach", "containers", "version", "role", "nodes")

    BINDINGS = [
        Binding("enter", "open", "Switch to cluster / node details", id="clusters.open", show=False),
    ]
    ENTER_ACTION = "open"

    def cells(self, r: ClusterRow):
        if r.kind == "cluster":
            name = Text(("● " if r.active else "  ") + r.name, style="bold" if r.active else "")
        else:
            name = Text(f"  └ {r.name}")
        if r.reach in ("yes", ""):
            reach = Text(r.reach, style="green")
        elif r.reach in ("?", "…"):
            reach = Text(r.reach, style="dim")
        else:
            reach = Text(r.reach, style="bold red")
        return (name, r.source, reach, r.role, r.nodes, r.containers, r.version, r.tls, r.endpoint)

    def set_rows(self, rows: list[ClusterRow]) -> None:
        """The pane holds a handful of rows in a fixed order (each cluster, then its nodes), so
        it has no sort column. When that order changes (a switch, a new cluster) the rows are
        arranged again; otherwise only changed cells are updated."""
        keys = [r.key for r in rows]
        if keys != list(self.items):
            self.items = {r.key: r for r in rows}
            self._sync(None, relayout=True)  # in one step: the cursor stays on its row
        else:
            self.update_items(rows)

    def action_open(self) -> None:
        row = self.selected
        if row is None:
            return
        if row.kind == "cluster":
            self.post_message(SwitchRequested(row.spec))
        else:
            self.post_message(DetailsRequested(row))


class NetworksPane(TablePane[NetworkInfo]):
    TITLE = "Networks"
    NUMBER = 2
    EMPTY = "No networks."
    SORTS = ("name", "driver", "scope", "subnet", "count")
    DEFAULT_SORT = "name"
    KEEP = ("name", "driver", "count", "subnet")
    STALE_COLUMN = "name"
    COLUMNS = (
        ("name", "Name", None),
        ("driver", "Driver", None),
        ("scope", "Scope", None),
        ("subnet", "Subnet", None),
        ("count", "Ctrs", None),
    )

    BINDINGS = [
        Binding("enter", "details", "Details", id="networks.details", show=False),
        Binding("n", "create", "New network", id="networks.create"),
        Binding("c", "connect", "Connect container", id="networks.connect"),
        Binding("x", "disconnect", "Disconnect", id="networks.disconnect"),
        Binding("d", "remove", "Remove", id="networks.remove"),
        Binding("p", "prune", "Prune", id="networks.prune"),
    ]
    MUTATING = frozenset({"create", "connect", "disconnect", "remove", "prune"})

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.counts: Counter[str] = Counter()

    qualify = False  # node/name for a node's own (local) networks, in clusters of several nodes

    def cells(self, n: NetworkInfo):
        return (n.display_name(self.qualify), n.driver, n.scope, n.subnets_text, str(self.counts.get(n.id, 0)))

    def sort_key(self, n: NetworkInfo, column: str, cells):
        if column == "count":
            return (-self.counts.get(n.id, 0), natural(n.name))  # the busiest first
        return (super().sort_key(n, column, cells), natural(n.name))

    def endpoint_of(self, n: NetworkInfo) -> str:
        return "" if n.scope == "swarm" else n.endpoint  # one row for the whole swarm

    def set_counts(self, containers) -> None:
        counts: Counter[str] = Counter()
        for c in containers:
            for att in c.networks:
                counts[att.network_id or att.network] += 1
        if counts != self.counts:
            self.counts = counts
            self.rerender()

    def action_details(self) -> None:
        net = self.selected
        if net is not None:
            self.post_message(DetailsRequested(net))

    def action_create(self) -> None:
        from carina_tui.ui.forms import open_create_network

        open_create_network(self.app)

    def action_connect(self) -> None:
        if (net := self.target()) is not None:
            from carina_tui.ui.forms import open_connect

            open_connect(self.app, network=net)

    def action_disconnect(self) -> None:
        if (net := self.target()) is not None:
            from carina_tui.ui.forms import open_disconnect

            open_disconnect(self.app, net)

    def action_remove(self) -> None:
        if (net := self.target()) is not None:
            self.post_message(RemoveRequested(net))

    def action_prune(self) -> None:
        from carina_tui.ui.forms import open_prune

        open_prune(self.app)


class ContainersPane(TablePane[ContainerInfo]):
    TITLE = "Containers"
    NUMBER = 3
    EMPTY = "No containers."
    # Running first, then newest first, as `docker ps`; `o` moves on to the next column.
    SORTS = ("state", "node", "ports", "networks", "image", "age", "name")
    DEFAULT_SORT = "state"
    TICK = 60.0  # ages are redrawn once a minute, and only those that read differently
    # Narrow: the node goes first (a name says node/name on a cluster of several engines).
    KEEP = ("name", "state", "age", "image", "networks", "ports")
    STALE_COLUMN = "state"
    COLUMNS = (
        ("name", "Name", None),
        ("state", "State", None),
        ("node", "Node", None),
        ("ports", "Ports", None),
        ("networks", "Networks", None),
        ("image", "Image", None),
        ("age", "Age", None),
    )

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
        name = c.qualified_name if self.qualify else c.name
        return (name, state_text(c.state), c.node, c.ports_text if c.ports else "", c.networks_text, c.image,
                age(c.created, self.now()))

    def sort_key(self, c: ContainerInfo, column: str, cells):
        name = natural(c.name)
        if column == "state":
            return (c.state != "running", -c.created, name)
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


class SystemPane(TablePane[ProtectedRow]):
    TITLE = "System (protected)"
    NUMBER = 4
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

