"""The four panes of the main screen: clusters, networks, containers, system."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.binding import Binding

from carina_tui.core.models import ContainerInfo, NetworkInfo, age
from carina_tui.core.rules import Rule
from carina_tui.ui.tables import TablePane, state_text


class ClusterRow:
    """One row of the Clusters pane: an engine endpoint or a swarm node of the cluster in use."""

    __slots__ = ("key", "name", "endpoint", "tls", "reach", "version", "role", "nodes", "containers", "detail")

    def __init__(self, key, name, endpoint, tls, reach, version, role, nodes, containers, detail=None):
        self.key = key
        self.name = name
        self.endpoint = endpoint
        self.tls = tls
        self.reach = reach
        self.version = version
        self.role = role
        self.nodes = nodes
        self.containers = containers
        self.detail = detail


class ClustersPane(TablePane[ClusterRow]):
    TITLE = "Clusters"
    NUMBER = 1
    EMPTY = "Connecting…"
    COLUMNS = (
        ("name", "Node", None),
        ("reach", "Up", None),
        ("role", "Swarm", None),
        ("nodes", "Nodes", None),
        ("containers", "Ctrs", None),
        ("version", "Engine", None),
        ("tls", "TLS", None),
        ("endpoint", "Endpoint", None),
    )

    def cells(self, r: ClusterRow):
        reach = Text("yes", style="green") if r.reach == "yes" else Text(r.reach, style="bold red")
        return (r.name, reach, r.role, str(r.nodes), str(r.containers), r.version, r.tls, r.endpoint)


class NetworksPane(TablePane[NetworkInfo]):
    TITLE = "Networks"
    NUMBER = 2
    EMPTY = "No networks."
    SORT_COLUMN = "name"
    COLUMNS = (
        ("name", "Name", None),
        ("driver", "Driver", None),
        ("scope", "Scope", None),
        ("subnet", "Subnet", None),
        ("count", "Ctrs", None),
    )

    BINDINGS = [
        Binding("enter", "details", "Details", id="networks.details"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.counts: Counter[str] = Counter()

    def cells(self, n: NetworkInfo):
        return (n.name, n.driver, n.scope, n.subnets_text, str(self.counts.get(n.id, 0)))

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
            self.app.show_network(net)


class ContainersPane(TablePane[ContainerInfo]):
    TITLE = "Containers"
    NUMBER = 3
    EMPTY = "No containers."
    SORT_COLUMN = "name"
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
        Binding("enter", "details", "Details", id="containers.details"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.qualify = False  # node/name names, for clusters of several nodes

    def cells(self, c: ContainerInfo):
        name = c.qualified_name if self.qualify else c.name
        return (name, state_text(c.state), c.node, c.ports_text, c.networks_text, c.image, age(c.created))

    def action_details(self) -> None:
        c = self.selected
        if c is not None:
            self.app.show_container(c)


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
    SORT_COLUMN = "name"
    COLUMNS = (
        ("name", "Name", None),
        ("state", "State", None),
        ("node", "Node", None),
        ("rule", "Rule", None),
        ("image", "Image", None),
    )

    BINDINGS = [
        Binding("enter", "details", "Details", id="system.details"),
    ]

    def cells(self, r: ProtectedRow):
        c = r.container
        return (c.qualified_name if c.node else c.name, state_text(c.state), c.node, r.rule.describe(), c.image)

    def action_details(self) -> None:
        row = self.selected
        if row is not None:
            self.app.show_container(row.container)

